import t from 'tap';
import { VirtualClock } from '../../clock/clock.js';
import { makePod } from '../../testing/builders.js';
import { SchedulingQueue } from './scheduling-queue.js';

/** Pops what is ready now, without waiting. */
async function drain(q: SchedulingQueue): Promise<string[]> {
  const out: string[] = [];
  while (q.pending().active > 0) out.push((await q.pop())!.key);
  return out;
}

t.test('activeQ: higher priority first, then first in', async (t) => {
  const clock = new VirtualClock();
  const q = new SchedulingQueue(clock);
  q.add(makePod('low').obj());
  await clock.advance(1);
  q.add(makePod('high').priority(1000).obj());
  q.add(makePod('low2').obj());
  q.add(makePod('high2').priority(1000).obj());
  t.same(await drain(q), ['default/high', 'default/high2', 'default/low', 'default/low2']);
});

t.test('back-off: 1 s doubling to 10 s after each failed attempt, on the clock', async (t) => {
  const clock = new VirtualClock();
  const q = new SchedulingQueue(clock);
  q.add(makePod('p').obj());
  const expected = [1000, 2000, 4000, 8000, 10_000, 10_000];
  for (const backoff of expected) {
    const qp = (await q.pop())!;
    q.addBackoff(qp);
    t.same(q.pending(), { active: 0, backoff: 1, unschedulable: 0 }, `attempt ${qp.attempts}: backing off`);
    await clock.advance(backoff - 1);
    t.equal(q.pending().active, 0, `attempt ${qp.attempts}: not before ${backoff} ms`);
    await clock.advance(1);
    t.equal(q.pending().active, 1, `attempt ${qp.attempts}: back after ${backoff} ms`);
  }
});

t.test('unschedulable pods wait for a cluster change', async (t) => {
  const clock = new VirtualClock();
  const q = new SchedulingQueue(clock);
  q.add(makePod('p').obj());
  q.addUnschedulable((await q.pop())!);
  t.same(q.pending(), { active: 0, backoff: 0, unschedulable: 1 });
  await clock.advance(60_000);
  t.equal(q.pending().unschedulable, 1, 'no blind retries');
  q.moveAllToActiveOrBackoff();
  t.same(q.pending(), { active: 1, backoff: 0, unschedulable: 0 }, 'back-off long over: straight to activeQ');

  q.addUnschedulable((await q.pop())!);
  await clock.advance(500);
  q.moveAllToActiveOrBackoff();
  t.same(q.pending(), { active: 0, backoff: 1, unschedulable: 0 }, 'still backing off (2 s after the second attempt)');
  await clock.advance(1500);
  t.equal(q.pending().active, 1);
});

t.test('unschedulable pods are retried after 5 minutes anyway', async (t) => {
  const clock = new VirtualClock();
  const q = new SchedulingQueue(clock);
  q.add(makePod('a').obj());
  q.addUnschedulable((await q.pop())!);
  await clock.advance(60_000);
  q.add(makePod('b').obj());
  q.addUnschedulable((await q.pop())!);
  await clock.advance(240_000 - 1);
  t.equal(q.pending().unschedulable, 2);
  await clock.advance(1);
  t.same(q.pending(), { active: 1, backoff: 0, unschedulable: 1 }, 'a, parked 5 min ago');
  await clock.advance(60_000);
  t.same(q.pending(), { active: 2, backoff: 0, unschedulable: 0 }, 'then b');
});

t.test('a change during an attempt sends the pod to back-off, not to the parking lot', async (t) => {
  const clock = new VirtualClock();
  const q = new SchedulingQueue(clock);
  q.add(makePod('p').obj());
  const qp = (await q.pop())!;
  q.moveAllToActiveOrBackoff(); // a node was added while p was being tried
  q.addUnschedulable(qp);
  t.same(q.pending(), { active: 0, backoff: 1, unschedulable: 0 });

  q.add(makePod('r').obj());
  await clock.advance(1000);
  await drain(q);
  const pod = makePod('s').obj();
  q.add(pod);
  const qs = (await q.pop())!;
  q.update(pod, makePod('s').nodeSelector({ disk: 'ssd' }).obj()); // the pod itself changed meanwhile
  q.addUnschedulable(qs);
  t.equal(q.pending().unschedulable, 0);
});

t.test('updates: status-only changes leave a parked pod parked; others wake it', async (t) => {
  const clock = new VirtualClock();
  const q = new SchedulingQueue(clock);
  const pod = makePod('p').obj();
  q.add(pod);
  q.addUnschedulable((await q.pop())!);
  const withStatus = { ...pod, metadata: { ...pod.metadata, resourceVersion: '9' }, status: { phase: 'Pending' as const, conditions: [{ type: 'PodScheduled', status: 'False' as const }] } };
  q.update(pod, withStatus);
  t.equal(q.pending().unschedulable, 1, 'status only');
  q.update(withStatus, makePod('p').label('tier', 'web').obj());
  t.same(q.pending(), { active: 0, backoff: 1, unschedulable: 0 }, 'labels changed: tried again after its back-off');
});

t.test('deleted pods leave, in flight or queued; close ends pop', async (t) => {
  const clock = new VirtualClock();
  const q = new SchedulingQueue(clock);
  const pod = makePod('p').obj();
  q.add(pod);
  const qp = (await q.pop())!;
  q.delete(pod);
  q.addUnschedulable(qp);
  t.same(q.pending(), { active: 0, backoff: 0, unschedulable: 0 }, 'deleted while being tried');
  q.add(makePod('x').obj());
  q.delete(makePod('x').obj());
  t.equal(q.pending().active, 0);
  const waiting = q.pop();
  q.close();
  t.equal(await waiting, undefined);
});

t.test('durations are checked', async (t) => {
  t.throws(() => new SchedulingQueue(new VirtualClock(), { podInitialBackoffMs: -1 }), { name: 'RangeError', message: /podInitialBackoffMs/ });
});
