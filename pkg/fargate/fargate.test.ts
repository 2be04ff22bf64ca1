import t from 'tap';
import { makePod } from '../testing/builders.js';
import { capacityProvisioned, fargateBilledSeconds, fargateCost, fargateData, fargateHourlyPrice, fargatePodRequests, fargatePodSize, fargateSizes, isValidFargateSize, parseFargateSize } from './fargate.js';

t.test('the valid sizes are the documented table', async (t) => {
  const sizes = fargateSizes();
  const mem = (v: number) => sizes.filter((s) => s.vcpu === v).map((s) => s.memoryGB);
  t.same(mem(0.25), [0.5, 1, 2]);
  t.same(mem(0.5), [1, 2, 3, 4]);
  t.same(mem(1), [2, 3, 4, 5, 6, 7, 8]);
  t.equal(mem(2).length, 13); // 4..16
  t.equal(mem(4).length, 23); // 8..30
  t.same(mem(8), [16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60]);
  t.same(mem(16), [32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120]);
  t.ok(isValidFargateSize(2, 9));
  t.notOk(isValidFargateSize(1, 9));
  t.notOk(isValidFargateSize(8, 18));
  t.match(fargateData().source.sizes, /fargate-pod-configuration/);
});

t.test('EKS sizing: max(init, sum of containers) + 256 MiB, rounded up to the next combination', async (t) => {
  // The EKS docs' example: 1 vCPU and 8 GB requested; +256 MB makes 8.25 GB; no 1 vCPU / 9 GB size exists, so 2 vCPU / 9 GB.
  const docs = fargatePodSize(makePod('docs').req({ cpu: '1', memory: '8Gi' }).obj());
  t.same(docs, { vcpu: 2, memoryGB: 9 });
  t.equal(capacityProvisioned(docs), '2vCPU 9GB');
  // No requests: the smallest size.
  t.same(fargatePodSize(makePod('none').obj()), { vcpu: 0.25, memoryGB: 0.5 });
  t.equal(capacityProvisioned({ vcpu: 0.25, memoryGB: 0.5 }), '0.25vCPU 0.5GB');
  // 256Mi of requests + 256 MiB overhead = exactly 0.5 GB.
  t.same(fargatePodSize(makePod('half').req({ cpu: '250m', memory: '256Mi' }).obj()), { vcpu: 0.25, memoryGB: 0.5 });
  // Two app containers add up (0.5 vCPU, 1.5 GiB + 0.25 = 1.75 GB → 0.5 vCPU / 2 GB) …
  const two = makePod('two').req({ cpu: '250m', memory: '1Gi' }).container('side', { cpu: '250m', memory: '512Mi' }).obj();
  t.same(fargatePodRequests(two), { cpuMillis: 500, memoryBytes: (1536 + 256) * 1024 * 1024 });
  t.same(fargatePodSize(two), { vcpu: 0.5, memoryGB: 2 });
  // … and a larger init container wins per resource (cpu from init, memory from the apps).
  const init = makePod('init').req({ cpu: '250m', memory: '3Gi' }).init('migrate', { cpu: '1500m', memory: '1Gi' }).obj();
  t.same(fargatePodSize(init), { vcpu: 2, memoryGB: 4 });
  // Limits count when no requests are given (requests default to limits).
  t.same(fargatePodSize(makePod('lim').lim({ cpu: '4', memory: '30Gi' }).obj()), { vcpu: 8, memoryGB: 32 });
  // 8 vCPU memory goes in 4 GB steps: 17 GiB + 256 MiB → 20 GB.
  t.same(fargatePodSize(makePod('big').req({ cpu: '8', memory: '17Gi' }).obj()), { vcpu: 8, memoryGB: 20 });
  t.throws(() => fargatePodSize(makePod('huge').req({ cpu: '16', memory: '120Gi' }).obj()), { name: 'FargateSizeError', message: /largest is 16 vCPU \/ 120 GB/ });
  t.throws(() => fargatePodSize(makePod('cpu').req({ cpu: '17' }).obj()), { name: 'FargateSizeError' });
});

t.test('billing: per second, one-minute minimum, at the us-east-1 prices', async (t) => {
  t.equal(fargateBilledSeconds(0), 60);
  t.equal(fargateBilledSeconds(20_000), 60);
  t.equal(fargateBilledSeconds(60_001), 61);
  t.equal(fargateBilledSeconds(600_000), 600);
  // 2 vCPU × $0.04048 + 9 GB × $0.004445 = $0.08096 + $0.040005 = $0.120965 per hour; ten minutes is a sixth: $0.0201608…
  t.ok(Math.abs(fargateCost({ vcpu: 2, memoryGB: 9 }, 600_000) - 0.120965 / 6) < 1e-12);
  // 0.25 vCPU / 0.5 GB for 10 s bills one minute: (0.01012 + 0.0022225) / 60.
  t.ok(Math.abs(fargateCost({ vcpu: 0.25, memoryGB: 0.5 }, 10_000) - 0.0123425 / 60) < 1e-12);
});

t.test('ECS task-level sizes: "<cpu units>/<memory MiB>", only the valid combinations', async (t) => {
  t.same(parseFargateSize('256/512'), { vcpu: 0.25, memoryGB: 0.5 });
  t.same(parseFargateSize('1024/2048'), { vcpu: 1, memoryGB: 2 });
  t.same(parseFargateSize(' 16384 / 122880 '), { vcpu: 16, memoryGB: 120 });
  t.throws(() => parseFargateSize('1024'), { name: 'FargateSizeError', message: /"1024" is not "<cpu units>\/<memory MiB>"/ });
  t.throws(() => parseFargateSize('1 vCPU/2 GB'), { name: 'FargateSizeError' });
  t.throws(() => parseFargateSize('256/4096'), { message: /4096 MiB is not a valid memory size for 0.25 vCPU \(256 CPU units\); valid: 512, 1024, 2048 MiB/ });
  t.throws(() => parseFargateSize('8192/18432'), { message: /valid: 16384, 20480, 24576/ });
  t.throws(() => parseFargateSize('3072/8192'), { message: /3072 CPU units is not a Fargate size/ });
});

t.test('Fargate Spot rates: about 67 % off, from the data file', async (t) => {
  const d = fargateData();
  const s = { vcpu: 2, memoryGB: 4 };
  t.equal(fargateHourlyPrice(s, d, 'FARGATE_SPOT'), 2 * 0.01334053 + 4 * 0.00146489);
  t.equal(fargateHourlyPrice(s, d, 'FARGATE'), fargateHourlyPrice(s, d));
  const off = 1 - fargateHourlyPrice(s, d, 'FARGATE_SPOT') / fargateHourlyPrice(s, d);
  t.ok(off > 0.66 && off <= d.prices.spotMaxDiscount, `${(off * 100).toFixed(1)} % off, at most the documented 70 %`);
  // Per second with the one-minute minimum, at the Spot rate: 30 s bills 60 s.
  t.equal(fargateCost(s, 30_000, d, 'FARGATE_SPOT'), ((2 * 0.01334053 + 4 * 0.00146489) * 60) / 3600);
});
