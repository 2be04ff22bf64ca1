/**
 * The target group engine on a virtual clock: target states and health check thresholds, fail
 * open, round robin shares, least outstanding requests, slow start, and the deregistration delay
 * ending early when nothing is in flight.
 */
import t from 'tap';
import { VirtualClock } from '../clock/clock.js';
import { DEFAULT_TARGET_GROUP, matches, TargetGroupEngine, type CheckResult, type TargetSpec } from './targetgroup.js';
import { parseSeriesCsv, rateAt } from './load.js';

const spec = (id: string): TargetSpec => ({ key: `${id}:80`, id, port: 80 });

function engine(status: Map<string, number>, clock: VirtualClock): TargetGroupEngine {
  return new TargetGroupEngine('g', clock, { healthCheck: async (tt): Promise<CheckResult> => (status.has(tt.id) ? { status: status.get(tt.id)! } : { error: 'connect' }) });
}

const stateOf = (g: TargetGroupEngine): Record<string, string> => Object.fromEntries(g.list().map((x) => [x.spec.id, x.state]));

t.test('no load balancer forwards to the group: its targets are unused, not checked, and get nothing; a listener puts them in service', async (t) => {
  const clock = new VirtualClock();
  let checks = 0;
  const g = new TargetGroupEngine('g', clock, { healthCheck: async (): Promise<CheckResult> => (checks++, { status: 200 }) });
  g.setInUse(false);
  g.setTargets([spec('a')]);
  await clock.advance(120_000);
  t.same(stateOf(g), { a: 'unused' });
  t.equal(g.list()[0]!.reason, 'Target.NotInUse');
  t.equal(checks, 0, 'an unused target is not health checked');
  t.equal(g.pick(), undefined, 'and takes no request, even failing open');
  g.setInUse(true);
  t.same(stateOf(g), { a: 'initial' }, 'a listener forwards to the group: the target starts initial');
  await clock.advance(1);
  t.same(stateOf(g), { a: 'healthy' });
  g.setInUse(false);
  t.same(stateOf(g), { a: 'unused' }, 'the listener goes: unused again');
  g.close();
});

t.test('health states follow AWS thresholds: one pass to start, 2 failures out, 5 passes back', async (t) => {
  const clock = new VirtualClock();
  const status = new Map([
    ['a', 200],
    ['b', 200],
  ]);
  const g = engine(status, clock);
  g.setTargets([spec('a'), spec('b')]);
  t.same(stateOf(g), { a: 'initial', b: 'initial' });
  await clock.advance(1);
  t.same(stateOf(g), { a: 'healthy', b: 'healthy' }, 'one passing check after registration');
  status.set('b', 500);
  await clock.advance(30_000);
  t.equal(stateOf(g).b, 'healthy', 'one failure is not enough');
  await clock.advance(30_000);
  t.equal(stateOf(g).b, 'unhealthy', 'two failures in a row (unhealthy threshold 2)');
  t.equal(g.list().find((x) => x.spec.id === 'b')!.reason, 'Target.ResponseCodeMismatch');
  for (let i = 0; i < 6; i++) t.equal(g.pick()?.spec.id, 'a', 'only the healthy target gets requests', { diagnostic: false });
  status.set('b', 200);
  await clock.advance(4 * 30_000);
  t.equal(stateOf(g).b, 'unhealthy', 'four passes are not enough');
  await clock.advance(30_000);
  t.equal(stateOf(g).b, 'healthy', 'five passes in a row (healthy threshold 5)');
  status.set('a', 503);
  status.set('b', 503);
  await clock.advance(60_000);
  t.same(stateOf(g), { a: 'unhealthy', b: 'unhealthy' });
  const seen = new Set([g.pick()!.spec.id, g.pick()!.spec.id]);
  t.same([...seen].sort(), ['a', 'b'], 'every target unhealthy: fail open to all of them');
  g.close();
});

t.test('round robin gives exact shares; least outstanding requests avoids the busy target', async (t) => {
  const clock = new VirtualClock();
  const g = engine(new Map([['a', 200], ['b', 200], ['c', 200]]), clock);
  g.setTargets([spec('a'), spec('b'), spec('c')]);
  await clock.advance(1);
  const n: Record<string, number> = {};
  for (let i = 0; i < 300; i++) {
    const x = g.pick()!;
    n[x.spec.id] = (n[x.spec.id] ?? 0) + 1;
    g.done(x, 200, 5);
  }
  t.same(n, { a: 100, b: 100, c: 100 });
  g.configure({ ...DEFAULT_TARGET_GROUP, algorithm: 'least_outstanding_requests' });
  const busy = g.pick()!; // left in flight
  const next = [g.pick()!, g.pick()!];
  t.notOk(next.includes(busy), 'the two next requests go to the idle targets');
  t.equal(g.totals().activeConnections, 3);
  g.close();
});

t.test('deregistration drains, ending early once nothing is in flight', async (t) => {
  const clock = new VirtualClock();
  const g = engine(new Map([['a', 200], ['b', 200]]), clock);
  g.setTargets([spec('a'), spec('b')]);
  await clock.advance(1);
  let inflight = g.pick()!;
  if (inflight.spec.id !== 'a') {
    g.done(inflight, 200, 1);
    inflight = g.pick()!;
  }
  t.equal(inflight.spec.id, 'a');
  g.setTargets([spec('b')]);
  t.equal(stateOf(g).a, 'draining');
  for (let i = 0; i < 4; i++) {
    const x = g.pick()!;
    t.equal(x.spec.id, 'b', 'no new requests to a draining target', { diagnostic: false });
    g.done(x, 200, 1);
  }
  await clock.advance(100_000);
  t.equal(stateOf(g).a, 'draining', 'still draining with a request in flight');
  g.done(inflight, 200, 100_000);
  t.notOk('a' in stateOf(g), 'gone as soon as the last request ended, before the 300 s delay');
  // Idle: deregistration completes at once.
  g.setTargets([]);
  t.same(g.list().map((x) => x.state), [], 'an idle target leaves immediately');
  g.close();
});

t.test('slow start ramps a new target up linearly', async (t) => {
  const clock = new VirtualClock();
  const g = engine(new Map([['a', 200], ['b', 200]]), clock);
  g.setTargets([spec('a')]);
  await clock.advance(1);
  g.configure({ ...DEFAULT_TARGET_GROUP, slowStartSeconds: 100 });
  g.setTargets([spec('a'), spec('b')]);
  await clock.advance(1);
  const share = (): number => {
    let b = 0;
    for (let i = 0; i < 1000; i++) {
      const x = g.pick()!;
      if (x.spec.id === 'b') b++;
      g.done(x, 200, 1);
    }
    return b / 1000;
  };
  const early = share();
  await clock.advance(50_000);
  const mid = share();
  await clock.advance(60_000);
  const late = share();
  t.ok(early < 0.05, `just healthy: ${early}`);
  t.ok(mid > 0.25 && mid < 0.4, `halfway: ${mid} (weight 0.5 of 1.5)`);
  t.ok(Math.abs(late - 0.5) < 0.02, `after slow start: ${late}`);
  g.close();
});

t.test('matchers and load profiles', async (t) => {
  t.ok(matches('200', 200));
  t.ok(matches('200-299', 204));
  t.ok(matches('200,302', 302));
  t.notOk(matches('200', 503));
  t.equal(rateAt({ type: 'steps', steps: [{ atSeconds: 0, rps: 5 }, { atSeconds: 60, rps: 50 }] }, 61), 50);
  const daily = { type: 'daily' as const, minRps: 10, maxRps: 110, peakHour: 14 };
  t.equal(Math.round(rateAt(daily, 14 * 3600)), 110);
  t.equal(Math.round(rateAt(daily, 2 * 3600)), 10);
  const series = parseSeriesCsv('seconds,rps\n0,10\n100,30\n');
  t.equal(rateAt(series, 50), 20);
  t.throws(() => parseSeriesCsv('0,10\n5,x\n', 'load.csv'), { message: 'load.csv:2: expected "seconds,requests per second", got "5,x"' });
});
