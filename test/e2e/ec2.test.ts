/**
 * End to end: the built `berth server` in scaled time (20×), driven by the built `berth ec2` and
 * `berth cost` and the real kubectl. Instances launch, stop (their Node goes NotReady and stays),
 * start again and terminate; the bill matches the ledger to the nano-dollar.
 */
import t from 'tap';
import { startServer, waitFor } from './harness.js';

interface Usage {
  spec: { resourceId: string; startMs: number; endMs?: number; rateUsdPerHour: number };
}

t.test('berth ec2 and berth cost against the built server', async (t) => {
  const s = await startServer({ timeScale: 20, bootDelay: 30 });
  t.teardown(() => s.stop());
  const json = (args: string[]): any => {
    const r = s.berth(args);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const run = json(['ec2', 'run-instances', '--instance-type', 'c5.large', '--count', '2', '-o', 'json']);
  const ids: string[] = run.Instances.map((i: { InstanceId: string }) => i.InstanceId);
  t.equal(ids.length, 2);
  // One CLI run per poll for all the instances (each run is a Node.js start, slow on a loaded machine).
  const states = (which: string[]): string[] => {
    const out = json(['ec2', 'describe-instances', ...which, '-o', 'json']) as { Reservations: { Instances: { InstanceId: string; State: { Name: string } }[] }[] };
    const by = new Map(out.Reservations.flatMap((r) => r.Instances).map((i) => [i.InstanceId, i.State.Name]));
    return which.map((id) => by.get(id) ?? 'missing');
  };
  const state = (id: string): string => states([id])[0]!;
  await waitFor(() => states(ids).every((st) => st === 'running'), 'both running', 30_000);
  const node = json(['ec2', 'describe-instances', ids[0]!, '-o', 'json']).Reservations[0].Instances[0].PrivateDnsName as string;
  await waitFor(() => s.kubectl(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout === 'True', 'the Node Ready', 30_000);

  t.equal(s.berth(['ec2', 'stop-instances', ids[0]!]).code, 0);
  await waitFor(() => state(ids[0]!) === 'stopped', 'stopped', 30_000);
  // The Node stays, NotReady once the 40 s node-monitor grace period (2 s real at 20×) has passed.
  await waitFor(() => s.kubectl(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout === 'Unknown', 'the Node NotReady', 30_000);
  t.match(s.kubectl(['get', 'node', node, '-o', 'jsonpath={.spec.taints[*].key}']).stdout, /node\.cloudprovider\.kubernetes\.io\/shutdown/);
  t.equal(s.berth(['ec2', 'start-instances', ids[0]!]).code, 0);
  await waitFor(() => s.kubectl(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout === 'True', 'Ready again', 30_000);
  t.equal(s.berth(['ec2', 'terminate-instances', ...ids]).code, 0);
  await waitFor(() => states(ids).every((st) => st === 'terminated'), 'terminated', 30_000);

  // The bill is the ledger's intervals at $0.085/h, each billed for at least 60 s. In scaled time
  // on a loaded machine a run can be shorter than that (the first run of ids[0] lasts only until
  // its Node is seen Ready, a second or two of real time), so the minimum is applied here too.
  const ledger = JSON.parse(s.kubectl(['get', 'usagerecords', '-o', 'json']).stdout).items as Usage[];
  t.equal(ledger.length, 3, 'three runs: two, then the restarted one');
  t.ok(
    ledger.every((r) => r.spec.endMs !== undefined && r.spec.endMs > r.spec.startMs),
    'every run is closed',
  );
  const expected = ledger.reduce((sum, r) => sum + (Math.max(60_000, r.spec.endMs! - r.spec.startMs) / 3_600_000) * r.spec.rateUsdPerHour, 0);
  const bill = json(['cost', '-o', 'json']);
  t.ok(Math.abs(bill.totalUSD - expected) < 1e-8, `cost ${bill.totalUSD} = ledger ${expected} (runs of ${ledger.map((r) => (r.spec.endMs! - r.spec.startMs) / 1000).join(', ')} s)`);
  t.same(Object.keys(bill.byPurchaseOption), ['on-demand', 'spot', 'reserved', 'savings-plan', 'dedicated-host']);
  t.equal(bill.byInstanceType['c5.large'].usd, bill.totalUSD);
  const raw = JSON.parse(s.kubectl(['get', '--raw', '/billing/v1/cost']).stdout);
  t.equal(raw.totalUSD, bill.totalUSD, 'kubectl get --raw /billing/v1/cost: the same bill');
  const human = s.berth(['cost']);
  t.match(human.stdout, /^Bill from .* \(cluster time\)\nTotal \$/);
});
