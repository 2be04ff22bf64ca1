/**
 * Leader election on a virtual clock, with client-go's default timings (lease 15 s, renew
 * deadline 10 s, retry 2 s; https://kubernetes.io/docs/concepts/architecture/leases/#leader-election).
 */
import t from 'tap';
import { getEventListeners } from 'node:events';
import { VirtualClock } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import { startTestApi } from '../testing/api.js';
import { LeaderElector } from './leaderelection.js';
import { controllerFor, Manager } from './manager.js';

interface LeaseSpec {
  holderIdentity?: string;
  renewTime?: string;
  leaseTransitions?: number;
  leaseDurationSeconds?: number;
}

t.test('acquire, renew every 2 s, take over an expired Lease, lose leadership to a takeover', async (t) => {
  const clock = new VirtualClock();
  const c = await startTestApi({ clock });
  await c.start();
  t.teardown(() => c.stop());
  const a = new LeaderElector(c.client, clock, { name: 'ctl', namespace: 'default', identity: 'a' });
  t.ok(await a.tryAcquireOrRenew(), 'a creates the Lease');
  const b = new LeaderElector(c.client, clock, { name: 'ctl', namespace: 'default', identity: 'b' });
  t.notOk(await b.tryAcquireOrRenew(), 'b cannot take a Lease renewed 0 s ago');
  await clock.advance(14_000);
  t.notOk(await b.tryAcquireOrRenew(), 'nor 14 s later (lease 15 s)');
  await clock.advance(1_000);
  t.ok(await b.tryAcquireOrRenew(), 'at 15 s it has expired: b takes it');
  const lease = await c.client.get(Kinds.Lease, 'ctl', 'default');
  t.match(lease.spec as LeaseSpec, { holderIdentity: 'b', leaseTransitions: 1, leaseDurationSeconds: 15 });
  t.match((lease.spec as LeaseSpec).renewTime, /^2026-01-01T00:00:15\.000000Z$/, 'MicroTime');

  t.throws(() => new LeaderElector(c.client, clock, { name: 'x', leaseDurationSeconds: 5, renewDeadlineSeconds: 10 }), { name: 'RangeError' });
});

t.test('a manager that loses its Lease stops its controllers, campaigns again, and restarts them', async (t) => {
  const clock = new VirtualClock();
  const c = await startTestApi({ clock });
  await c.start();
  t.teardown(() => c.stop());
  for (const name of ['a', 'b']) await c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: {} });
  const mgr = new Manager({ client: c.client, clock, leaderElection: { name: 'mgr', namespace: 'default', identity: 'm1' } });
  let runs = 0;
  let running = false;
  let leading: AbortSignal | undefined;
  mgr.add({ name: 'work', start: async (signal) => {
    runs++;
    running = true;
    leading = signal;
    await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
    running = false;
  } });
  const reconciled: string[] = [];
  controllerFor(mgr, Kinds.ConfigMap).complete({ reconcile: async (_ctx, key) => void reconciled.push(key) });
  const ac = new AbortController();
  let settled = false;
  const done = mgr.start(ac.signal).finally(() => (settled = true));
  await clock.advance(100);
  t.ok(mgr.isLeader() && running, 'leading, runnable running');
  t.same(reconciled.sort(), ['default/a', 'default/b'], 'the controller reconciled every ConfigMap');
  const listeners = getEventListeners(leading!, 'abort').length;
  await clock.advance(6_000);
  t.ok((Date.parse(((await c.client.get(Kinds.Lease, 'mgr', 'default')).spec as LeaseSpec).renewTime!) - Date.UTC(2026, 0, 1, 0, 0, 6)) >= 0, 'renewed on the retry period');
  // Work while leading adds no abort listeners: the set is one per runnable (and the elector's own), not per reconcile.
  for (const name of ['c', 'd', 'e']) await c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: {} });
  await clock.advance(2_000);
  t.equal(reconciled.length, 5);
  t.equal(getEventListeners(leading!, 'abort').length, listeners, `abort listeners on the term's signal stay at ${listeners}`);

  // Another candidate takes the Lease: the runnables stop, the manager keeps running as a candidate.
  await c.client.patch(Kinds.Lease, 'mgr', 'default', 'merge', { spec: { holderIdentity: 'intruder', renewTime: ((await c.client.get(Kinds.Lease, 'mgr', 'default')).spec as LeaseSpec).renewTime } });
  await clock.advance(2_100);
  t.notOk(mgr.isLeader(), 'no longer leading');
  t.notOk(running, 'the runnable was stopped');
  t.notOk(settled, 'the manager did not stop');
  await c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'f', namespace: 'default' }, data: {} });
  await clock.advance(1_000);
  t.notOk(reconciled.includes('default/f'), 'a follower reconciles nothing');

  // The intruder never renews: after the lease duration (15 s) the manager takes it back and restarts everything.
  reconciled.length = 0;
  await clock.advance(16_000);
  t.ok(mgr.isLeader() && running, 'leading again, runnable running again');
  t.equal(runs, 2, 'started once per term');
  t.same(reconciled.sort(), ['default/a', 'default/b', 'default/c', 'default/d', 'default/e', 'default/f'], 'the restarted controller resynced every ConfigMap');
  t.match((await c.client.get(Kinds.Lease, 'mgr', 'default')).spec as LeaseSpec, { holderIdentity: 'm1', leaseTransitions: 1 }, 'taken back from the intruder (whose patch did not count a transition)');
  ac.abort();
  await done;
  t.notOk(running);
});
