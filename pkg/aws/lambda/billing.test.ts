import t from 'tap';
import { billedDurationMs, invocationCost, lambdaUsageCost, UsageLedger } from './billing.js';

t.test('billed duration rounds up to 1 ms', async (t) => {
  t.equal(billedDurationMs(120), 120);
  t.equal(billedDurationMs(120.01), 121);
  t.equal(billedDurationMs(0), 1, 'at least 1 ms');
});

t.test('1,000 invocations of 120 ms at 512 MB', async (t) => {
  // 1000 × 0.120 s × 0.5 GB = 60 GB-s; 60 × $0.0000166667 = $0.001000002; 1000 × $0.0000002 = $0.0002.
  // Total $0.001200002 = 12,000,020 × 1e-10 USD (exact in integers of 1e-10 USD).
  const expectedE10 = 60n * 166_667n + 1000n * 2_000n;
  t.equal(expectedE10, 12_000_020n);
  const ledger = new UsageLedger();
  for (let i = 0; i < 1000; i++) ledger.add(1_000 + i * 200, 120, 512);
  const cost = ledger.cost(0, 1e12);
  t.equal(cost.toFixed(12), '0.001200002000');
  t.ok(Math.abs(cost - Number(expectedE10) / 1e10) < 1e-18);
  t.equal(lambdaUsageCost(1000, 1000 * 120 * 512), cost);
  // One invocation: 0.12 × 0.5 × 0.0000166667 + 0.0000002 = 0.000001200002.
  t.equal(invocationCost(120, 512).toFixed(15), '0.000001200002000');
});

t.test('the ledger answers by start time, half-open [from, to)', async (t) => {
  const l = new UsageLedger();
  l.add(3000, 100, 128);
  l.add(1000, 100, 128);
  l.add(2000, 100, 128);
  t.same(l.usage(1000, 3000), { requests: 2, mbMs: 2 * 100 * 128 });
  t.same(l.usage(3000, 3001), { requests: 1, mbMs: 100 * 128 });
  t.same(l.usage(0, 1000), { requests: 0, mbMs: 0 });
  for (let i = 0; i < 5000; i++) l.add(10_000 + i, 1, 128);
  t.equal(l.size, 5003, 'grows past its first capacity');
});
