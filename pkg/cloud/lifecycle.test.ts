import t from 'tap';
import { advanceLifecycle, STATE_CODES, type LifecycleTimings } from './lifecycle.js';

const T: LifecycleTimings = { bootMs: 30_000, stopMs: 10_000, terminateMs: 5_000 };

t.test('state codes are EC2s', async (t) => {
  t.same(STATE_CODES, { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 });
});

t.test('pending waits for the boot delay, then runs', async (t) => {
  t.same(advanceLifecycle({ state: 'pending', since: 0 }, 'running', 29_999, T), { steps: [], current: { state: 'pending', since: 0 }, wakeAt: 30_000 });
  const r = advanceLifecycle({ state: 'pending', since: 0 }, 'running', 30_000, T);
  t.same(r.current, { state: 'running', since: 30_000 });
  t.equal(r.wakeAt, undefined);
  t.same(advanceLifecycle({ state: 'pending', since: 0 }, 'running', 45_000, T).current, { state: 'running', since: 30_000 }, 'a late look: running since the boot finished');
});

t.test('stop and start', async (t) => {
  const stop = advanceLifecycle({ state: 'running', since: 0 }, 'stopped', 100_000, T);
  t.same(stop.steps, [{ to: { state: 'stopping', since: 100_000 }, requested: true }]);
  t.equal(stop.wakeAt, 110_000);
  t.same(advanceLifecycle({ state: 'stopping', since: 100_000 }, 'stopped', 110_000, T).current, { state: 'stopped', since: 110_000 });
  const start = advanceLifecycle({ state: 'stopped', since: 110_000 }, 'running', 200_000, T);
  t.same(start.current, { state: 'pending', since: 200_000 });
  t.equal(start.wakeAt, 230_000);
});

t.test('terminate from every state', async (t) => {
  for (const state of ['pending', 'running', 'stopped'] as const) {
    const r = advanceLifecycle({ state, since: 0 }, 'terminated', 1_000, T);
    t.same(r.current, { state: 'shutting-down', since: 1_000 }, state);
    t.equal(r.wakeAt, 6_000);
  }
  // stopping finishes first: stopped at 10 s, then shutting-down at once, terminated 5 s later.
  const s = advanceLifecycle({ state: 'stopping', since: 0 }, 'terminated', 20_000, T);
  t.same(
    s.steps.map((x) => x.to),
    [
      { state: 'stopped', since: 10_000 },
      { state: 'shutting-down', since: 20_000 },
    ],
  );
  t.same(advanceLifecycle({ state: 'shutting-down', since: 0 }, 'terminated', 5_000, T).current, { state: 'terminated', since: 5_000 });
  t.same(advanceLifecycle({ state: 'terminated', since: 0 }, 'running', 99_000, T), { steps: [], current: { state: 'terminated', since: 0 } }, 'terminated is final');
});

t.test('a stop asked while pending waits for the boot', async (t) => {
  const r = advanceLifecycle({ state: 'pending', since: 0 }, 'stopped', 31_000, T);
  t.same(
    r.steps.map((x) => x.to.state),
    ['running', 'stopping'],
  );
  t.equal(r.wakeAt, 41_000);
});
