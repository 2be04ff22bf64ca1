/**
 * Leader election on a virtual clock, with client-go's default timings (lease 15 s, renew
 * deadline 10 s, retry 2 s; https://kubernetes.io/docs/concepts/architecture/leases/#leader-election).
 */
import t from 'tap';
import { VirtualClock } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import { startTestApi } from '../testing/api.js';
import { LeaderElector } from './leaderelection.js';
import { Manager } from './manager.js';

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

  // A manager leading with the Lease runs its runnables; when another takes the Lease it stops them and start() rejects.
  const mgr = new Manager({ client: c.client, clock, leaderElection: { name: 'mgr', namespace: 'default', identity: 'm1' } });
  let running = false;
  mgr.add({ name: 'work', start: async (signal) => {
    running = true;
    await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
    running = false;
  } });
  const ac = new AbortController();
  const outcome = mgr.start(ac.signal).then(() => undefined, (e: unknown) => e);
  await clock.advance(100);
  t.ok(mgr.isLeader() && running, 'leading, runnable running');
  await clock.advance(6_000);
  t.ok((Date.parse(((await c.client.get(Kinds.Lease, 'mgr', 'default')).spec as LeaseSpec).renewTime!) - Date.UTC(2026, 0, 1, 0, 0, 21)) >= 0, 'renewed on the retry period');
  await c.client.patch(Kinds.Lease, 'mgr', 'default', 'merge', { spec: { holderIdentity: 'intruder' } });
  await clock.advance(2_100);
  t.match(await outcome, { code: 'LeaderElectionLost', message: 'leader election lost: lease mgr' });
  t.notOk(running, 'the runnable was stopped');
  ac.abort();
  t.throws(() => new LeaderElector(c.client, clock, { name: 'x', leaseDurationSeconds: 5, renewDeadlineSeconds: 10 }), { name: 'RangeError' });
});
