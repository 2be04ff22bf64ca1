/**
 * `berth ec2 …`, `berth cost` and `berth get instancetypes --min-vcpu` against a server running
 * the simulated cloud on a virtual clock, over HTTP as a user runs them.
 */
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiServer } from '../apiserver/index.js';
import { installCloudWithHandle, seededRandom, type Instance } from '../cloud/index.js';
import { Client, Kinds } from '../client/client.js';
import { renderKubeconfig } from '../client/kubeconfig.js';
import { VirtualClock } from '../clock/clock.js';
import { Manager } from '../runtime/manager.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import { runCli } from './program.js';
import type { IO } from './types.js';

const T0 = Date.UTC(2026, 0, 1);
const clock = new VirtualClock(T0);
const backend = new MemoryBackend();
const api = await createApiServer({ backend, clock });
const client = new Client(api.transport);
const mgr = new Manager({ client, clock });
await installCloudWithHandle(api, mgr, { random: seededRandom(5), bootDelaySeconds: 30, spotInterruptions: false });
const ac = new AbortController();
const running = mgr.start(ac.signal);
await mgr.waitForSync();
const app = api.http();
const url = await app.listen({ port: 0, host: '127.0.0.1' });
const dir = mkdtempSync(join(tmpdir(), 'berth-ec2-'));
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(kubeconfig, renderKubeconfig(url));
t.teardown(async () => {
  await app.close();
  ac.abort();
  await running;
  await backend.close();
});

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: IO = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stdin: async () => '', env: { KUBECONFIG: kubeconfig, HOME: dir } };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}
const settle = async (): Promise<void> => {
  for (let i = 0; i < 40; i++) await clock.advance(0);
};
const at = async (ms: number): Promise<void> => {
  await clock.advanceTo(T0 + ms);
  await settle();
};

t.test('get instancetypes: -l family=c is the c series; --min-vcpu and --min-memory filter', async (t) => {
  let r = await run(['get', 'instancetypes', '-l', 'family=c', '-o', 'name']);
  t.equal(r.code, 0, r.stderr);
  const names = r.stdout.trim().split('\n').map((l) => l.replace('instancetype.ec2.berth.dev/', ''));
  t.ok(names.length > 40, `${names.length} c types`);
  t.ok(names.every((n) => /^c\d/.test(n)), 'all of them c5, c6g, c7i…');
  t.ok(names.includes('c5.large') && names.includes('c7g.xlarge'));
  r = await run(['get', 'instancetypes', '-l', 'family=c', '--min-vcpu', '8', '-o', 'name']);
  const big = r.stdout.trim().split('\n').map((l) => l.replace('instancetype.ec2.berth.dev/', ''));
  t.notOk(big.includes('c5.xlarge'), 'c5.xlarge has 4 vCPUs');
  t.ok(big.includes('c5.2xlarge'), 'c5.2xlarge has 8');
  r = await run(['get', 'instancetypes', '-l', 'instance-family=m5', '--min-vcpu', '8', '--min-memory', '64Gi']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^NAME\s+VCPU\s+MEMORY/);
  const rows = r.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0]);
  t.same(rows.sort(), ['m5.12xlarge', 'm5.16xlarge', 'm5.24xlarge', 'm5.4xlarge', 'm5.8xlarge', 'm5.metal'], 'the table keeps its columns and loses the small sizes');
  r = await run(['get', 'pods', '--min-vcpu', '8']);
  t.equal(r.code, 1);
  t.match(r.stderr, /--min-vcpu applies to instancetypes only/);
  r = await run(['get', 'it', '--min-memory', 'lots']);
  t.match(r.stderr, /invalid argument "lots" for "--min-memory"/);
});

t.test('run, describe, stop, start and terminate instances; the bill', async (t) => {
  let r = await run(['ec2', 'run-instances', '--instance-type', 'c5.large', '--count', '2', '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { ReservationId: string; OwnerId: string; Instances: { InstanceId: string; InstanceType: string; State: { Code: number; Name: string }; Placement: { AvailabilityZone: string; Tenancy: string } }[] };
  t.equal(res.Instances.length, 2);
  t.match(res.Instances[0], { InstanceType: 'c5.large', State: { Code: 0, Name: 'pending' }, Placement: { AvailabilityZone: 'us-east-1a', Tenancy: 'default' } });
  const [a, b] = res.Instances.map((i) => i.InstanceId) as [string, string];
  t.match(a, /^i-0[0-9a-f]{16}$/);
  await settle();
  await at(30_000); // both running

  r = await run(['ec2', 'describe-instances', a, '-o', 'json']);
  const d = JSON.parse(r.stdout) as { Reservations: { Instances: Record<string, unknown>[] }[] };
  t.match(d.Reservations[0]!.Instances[0], { InstanceId: a, State: { Code: 16, Name: 'running' }, PrivateIpAddress: /^10\.0\.0\.\d+$/, PrivateDnsName: /^ip-10-0-0-\d+\.ec2\.internal$/, LaunchTime: '2026-01-01T00:00:00Z' });
  r = await run(['ec2', 'describe-instances']);
  t.match(r.stdout, /^INSTANCE-ID\s+INSTANCE-TYPE\s+ZONE\s+STATE\s+LIFECYCLE\s+TENANCY/);
  t.match(r.stdout, new RegExp(`${a}\\s+c5\\.large\\s+us-east-1a\\s+running\\s+on-demand\\s+default`));

  r = await run(['ec2', 'stop-instances', a, '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { StoppingInstances: [{ InstanceId: a, CurrentState: { Code: 64, Name: 'stopping' }, PreviousState: { Code: 16, Name: 'running' } }] });
  await settle();
  r = await run(['ec2', 'start-instances', a]);
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`IncorrectInstanceState: The instance '${a}' is not in a state from which it can be started`));
  await at(60_000); // stopped
  r = await run(['ec2', 'start-instances', '--instance-ids', a]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`${a}\\s+stopped\\s+pending`));
  r = await run(['ec2', 'terminate-instances', a, b]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`${b}\\s+running\\s+shutting-down`));
  r = await run(['ec2', 'stop-instances', 'i-0000000000000dead']);
  t.match(r.stderr, /InvalidInstanceID.NotFound: The instance ID 'i-0000000000000dead' does not exist/);
  await at(2 * 60_000);

  r = await run(['cost', '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  const bill = JSON.parse(r.stdout) as { totalUSD: number; byPurchaseOption: Record<string, number>; byInstanceType: Record<string, { usd: number }> };
  // a ran 0:00:30–0:00:30 (stopped at once: 0 s, billed the 60 s minimum); b 0:00:30–0:01:00 (30 s, billed 60 s).
  // c5.large is $0.085/h: 2 × 60 s × 0.085 / 3600 = $0.0028333…
  t.equal(bill.totalUSD, Math.round(((2 * 60 * 0.085) / 3600) * 1e9) / 1e9);
  t.same(Object.keys(bill.byPurchaseOption), ['on-demand', 'spot', 'reserved', 'savings-plan', 'dedicated-host']);
  t.equal(bill.byInstanceType['c5.large']!.usd, bill.totalUSD);
  r = await run(['cost']);
  t.match(r.stdout, /^Bill from 2026-01-01T00:00:30Z to 2026-01-01T00:02:00Z \(cluster time\)\nTotal \$0\.0028 for 0\.01 instance-hours/);
  t.match(r.stdout, /PURCHASE-OPTION\s+USD\non-demand\s+\$0\.0028\nspot\s+\$0\.0000/);
  t.match(r.stdout, /INSTANCE-TYPE\s+INSTANCE-HOURS\s+USD\s+EFFECTIVE\/H\s+ON-DEMAND-EQUIVALENT\nc5\.large\s+0\.01\s+\$0\.0028/);
  r = await run(['cost', '--since', '30s', '-o', 'json']);
  t.equal(JSON.parse(r.stdout).totalUSD, 0, 'nothing ran in the last 30 s');
  r = await run(['cost', '--since', 'yesterday']);
  t.equal(r.code, 1);
  t.match(r.stderr, /invalid duration "yesterday"/);
});

t.test('Spot, dedicated and host tenancy; Dedicated Hosts; the Spot market', async (t) => {
  let r = await run(['ec2', 'run-instances', '--instance-type', 'm5.large', '--spot', '--placement', 'AvailabilityZone=us-east-1b', '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  const spot = (JSON.parse(r.stdout) as { Instances: { InstanceId: string; InstanceLifecycle?: string }[] }).Instances[0]!;
  t.equal(spot.InstanceLifecycle, 'spot');
  await settle();
  r = await run(['ec2', 'run-instances', '--instance-type', 'm5.large', '--tenancy', 'host']);
  t.equal(r.code, 0, r.stderr);
  await settle();
  const noHost = (await client.list<Instance>(Kinds.Instance)).items.find((i) => i.spec.tenancy === 'host')!;
  t.match(noHost.status, { state: 'terminated', stateReason: { code: 'Client.InsufficientHostCapacity' } }, 'no Dedicated Host: the launch fails');

  r = await run(['ec2', 'allocate-hosts', '--instance-family', 'm5', '--availability-zone', 'us-east-1a', '--auto-placement', 'on', '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  const hostId = (JSON.parse(r.stdout) as { HostIds: string[] }).HostIds[0]!;
  await settle();
  r = await run(['ec2', 'run-instances', '--instance-type', 'm5.xlarge', '--tenancy', 'host', '-o', 'json']);
  const onHost = (JSON.parse(r.stdout) as { Instances: { InstanceId: string }[] }).Instances[0]!.InstanceId;
  await settle();
  r = await run(['ec2', 'describe-hosts', '-o', 'json']);
  t.match(JSON.parse(r.stdout), { Hosts: [{ HostId: hostId, State: 'available', HostProperties: { InstanceFamily: 'm5', TotalVCpus: 96 }, AvailableCapacity: { AvailableVCpus: 92 }, Instances: [{ InstanceId: onHost, InstanceType: 'm5.xlarge' }] }] });
  r = await run(['ec2', 'release-hosts', hostId]);
  t.equal(r.code, 1);
  t.match(r.stderr, /Client.InvalidHost.Occupied: Dedicated host h-\w+ cannot be released as it is occupied by 1 instance\(s\)/);
  r = await run(['ec2', 'run-instances', '--instance-type', 'm5.large', '--spot', '--tenancy', 'dedicated']);
  t.equal(r.code, 1);
  t.match(r.stderr, /spec\.tenancy: Forbidden: Spot Instances run with default tenancy/);

  r = await run(['ec2', 'describe-spot-price-history', '--instance-types', 'm5.large', '--availability-zone', 'us-east-1b', '--start-time', '2025-12-31T12:00:00Z', '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  const h = (JSON.parse(r.stdout) as { SpotPriceHistory: { SpotPrice: string; Timestamp: string; InstanceType: string }[] }).SpotPriceHistory;
  t.ok(h.length >= 1);
  t.ok(h.every((p) => Number(p.SpotPrice) < 0.096 * 0.6 && p.InstanceType === 'm5.large'), 'well below $0.096 On-Demand');
  t.ok(h.every((p, i) => i === 0 || p.Timestamp <= h[i - 1]!.Timestamp), 'newest first');

  await at(10 * 60_000);
  r = await run(['ec2', 'stop-instances', spot.InstanceId]);
  t.equal(r.code, 1, 'EC2 cannot stop a one-time Spot Instance');
  t.match(r.stderr, /one-time Spot Instance request/);
  r = await run(['ec2', 'send-spot-interruption', spot.InstanceId]);
  t.equal(r.code, 0, r.stderr);
  await settle();
  r = await run(['ec2', 'describe-instances', spot.InstanceId, '-o', 'json']);
  t.match(JSON.parse(r.stdout).Reservations[0].Instances[0], { State: { Name: 'running' } });
  await at(12 * 60_000);
  r = await run(['ec2', 'describe-instances', spot.InstanceId, '-o', 'json']);
  t.match(JSON.parse(r.stdout).Reservations[0].Instances[0], { State: { Name: 'shutting-down' }, StateReason: { Code: 'Server.SpotInstanceTermination' }, InstanceLifecycle: 'spot' });
  r = await run(['cost', '-o', 'json']);
  const bill = JSON.parse(r.stdout) as { byInstance: Record<string, { usd: number }>; byPurchaseOption: Record<string, number> };
  t.equal(bill.byInstance[spot.InstanceId]!.usd, 0, 'interrupted by EC2 within its first hour: free');
  t.ok(bill.byPurchaseOption['dedicated-host'] > 0, 'the host is billed');
});

t.test('create-fleet: an instant fleet answers with its instances', async (t) => {
  const r = await run(['ec2', 'create-fleet', '--instance-types', 'c5.large,c6i.large', '--target-capacity', '3', '--on-demand-target-capacity', '1', '--availability-zones', 'us-east-1a,us-east-1b', '--spot-allocation-strategy', 'price-capacity-optimized', '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { FleetId: string; Instances: { Lifecycle: string; InstanceIds: string[]; InstanceType: string }[] };
  t.match(out.FleetId, /^fleet-/);
  const count = (l: string): number => out.Instances.filter((i) => i.Lifecycle === l).reduce((n, i) => n + i.InstanceIds.length, 0);
  t.same([count('on-demand'), count('spot')], [1, 2]);
  const bad = await run(['ec2', 'create-fleet', '--instance-types', 'c5.huge', '--target-capacity', '1']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /spec\.overrides\[0\]\.instanceType: Unsupported value: "c5\.huge"/);
});
