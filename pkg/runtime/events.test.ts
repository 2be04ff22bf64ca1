/**
 * The event recorder's correlation, as client-go's EventCorrelator: repeats fold into `count`,
 * similar events (one object, type and reason, many messages) are aggregated from the 10th
 * distinct message, and each object gets a burst of 25 events then one per 5 minutes.
 */
import t from 'tap';
import { VirtualClock } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import { startTestApi } from '../testing/api.js';
import type { Event, KubeObject } from '../api/types.js';

t.test('similar events aggregate, repeats count, and an object gets 25 events then one per 5 minutes', async (t) => {
  const clock = new VirtualClock();
  const h = await startTestApi({ clock });
  t.teardown(() => h.stop());
  const rs = (await h.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner', namespace: 'default' } } as KubeObject)) as KubeObject;
  const rec = h.mgr.recorder('replicaset-controller');
  const events = async (): Promise<Event[]> => (await h.client.list(Kinds.Event, { namespace: 'default' })).items as Event[];

  // Three identical events: one Event, count 3.
  for (let i = 0; i < 3; i++) await rec.write(rs, 'Warning', 'FailedCreate', 'quota exceeded');
  let evs = await events();
  t.equal(evs.length, 1);
  t.equal(evs[0]!.count, 3, 'repeats fold into count');

  // 100 similar events: 9 on their own, then one aggregate that the rest update, within the burst of 25.
  for (let i = 0; i < 100; i++) await rec.write(rs, 'Normal', 'SuccessfulCreate', `Created pod: p${i}`);
  evs = (await events()).filter((e) => e.reason === 'SuccessfulCreate');
  t.equal(evs.length, 10, '9 single events and one aggregate');
  const agg = evs.find((e) => e.message!.startsWith('(combined from similar events): '))!;
  t.ok(agg, 'the aggregate says it combines similar events');
  // 3 tokens went to the repeats, 9 to p0…p8, 1 to the aggregate's creation (p9): its patches for p10…p21 took the other 12.
  t.equal(agg.count, 13, 'the aggregate counts what the spam filter let through');
  t.equal(agg.message, '(combined from similar events): Created pod: p21', 'the aggregate carries the last message let through');

  // Out of tokens: nothing more about this object until 5 minutes have passed.
  await rec.write(rs, 'Normal', 'Other', 'dropped');
  t.notOk((await events()).some((e) => e.reason === 'Other'), 'over the burst, events are dropped');
  await clock.advance(300_000);
  await rec.write(rs, 'Normal', 'Other', 'after five minutes');
  t.ok((await events()).some((e) => e.reason === 'Other'), 'one token back after 300 s');

  // Another object has its own allowance.
  const other = (await h.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other', namespace: 'default' } } as KubeObject)) as KubeObject;
  await rec.write(other, 'Normal', 'Synced', 'ok');
  t.ok((await events()).some((e) => e.involvedObject.name === 'other'));
});
