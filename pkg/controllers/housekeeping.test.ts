import t from 'tap';
import type { Event } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { rfc3339, VirtualClock } from '../clock/clock.js';
import { eventually, startTestApi } from '../testing/api.js';
import { EventTtlController } from './eventttl/eventttl.js';
import { ServiceAccountController } from './serviceaccount/serviceaccount.js';

t.test('every namespace gets a default ServiceAccount, and gets it back if deleted', async (t) => {
  const c = await startTestApi();
  ServiceAccountController.install(c.mgr);
  await c.start();
  t.teardown(() => c.stop());
  const sa = { apiVersion: 'v1', kind: 'ServiceAccount' };
  await eventually(() => c.client.tryGet(sa, 'default', 'kube-system'), 'kube-system/default');
  await c.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
  await eventually(() => c.client.tryGet(sa, 'default', 'team-a'), 'team-a/default');
  await c.client.delete(sa, 'default', 'team-a');
  await eventually(() => c.client.tryGet(sa, 'default', 'team-a'), 'recreated');
  t.pass('created and recreated');
});

t.test('events expire an hour after they last occurred', async (t) => {
  const clock = new VirtualClock();
  const c = await startTestApi({ clock });
  const ttl = EventTtlController.install(c.mgr);
  await c.start();
  t.teardown(() => c.stop());
  const event = (name: string, lastMs: number): Event => ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' },
    reason: 'Test',
    message: name,
    type: 'Normal',
    count: 1,
    firstTimestamp: rfc3339(lastMs - 1000),
    lastTimestamp: rfc3339(lastMs),
  });
  const now = clock.now();
  await c.client.create(event('old', now - 61 * 60_000));
  await c.client.create(event('recent', now - 59 * 60_000));
  t.equal(await ttl.sweep(), 1, 'one expired');
  t.equal(await c.client.tryGet(Kinds.Event, 'old', 'default'), undefined);
  t.ok(await c.client.tryGet(Kinds.Event, 'recent', 'default'));
  // Two minutes later the other one is past the hour too: the periodic sweep (every minute) takes it.
  await clock.advance(2 * 60_000);
  await eventually(async () => !(await c.client.tryGet(Kinds.Event, 'recent', 'default')), 'swept on schedule', 5000, clock);
  t.pass();
});
