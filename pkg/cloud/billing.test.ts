/**
 * Bills computed by hand and compared to the cent (and, where the arithmetic is exact, to the
 * micro-dollar): the scenarios of issue 5, played through the API with the real controllers on
 * a VirtualClock. The clock starts at 2026-01-01T00:00:00Z; instances boot in a fixed 30 s so a
 * run's start is easy to place.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { SqliteBackend } from '../storage/index.js';
import { makePod } from '../testing/builders.js';
import { startTestApi } from '../testing/api.js';
import { BillingKinds, costReport, installCloudWithHandle, interruptSpot, seededRandom, type CloudOptions, type DedicatedHost, type Instance, type UsageRecord } from './index.js';
import type { Backend } from '../storage/types.js';

const T0 = Date.UTC(2026, 0, 1);
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const M5_LARGE = 0.096;

async function setup(t: { teardown(fn: () => unknown): void }, opts: CloudOptions & { backend?: Backend; clock?: VirtualClock } = {}) {
  const clock = opts.clock ?? new VirtualClock(T0);
  const h = await startTestApi({ clock, ...(opts.backend ? { backend: opts.backend } : {}) });
  const cloud = await installCloudWithHandle(h.api, h.mgr, { random: seededRandom(11), bootDelaySeconds: 30, spotInterruptions: false, ...opts });
  await h.start();
  let stopped = false;
  t.teardown(() => (stopped ? undefined : h.stop()));
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 40; i++) await clock.advance(0);
  };
  /** Moves the clock to T0 + ms and lets everything due happen. */
  const at = async (ms: number): Promise<void> => {
    await clock.advanceTo(T0 + ms);
    await settle();
  };
  const create = async (name: string, spec: Partial<Instance['spec']> = {}): Promise<void> => {
    await h.client.create<Instance>({ apiVersion: 'ec2.berth.dev/v1', kind: 'Instance', metadata: { name }, spec: { instanceType: 'm5.large', availabilityZone: 'us-east-1a', ...spec } });
    await settle();
  };
  const setState = async (name: string, state: 'running' | 'stopped' | 'terminated'): Promise<void> => {
    await h.client.patch(Kinds.Instance, name, undefined, 'merge', { spec: { state } });
    await settle();
  };
  const get = (name: string) => h.client.get<Instance>(Kinds.Instance, name);
  const bill = (from = T0, to = clock.now()) => costReport(h.client, from, to);
  const stop = async (): Promise<void> => {
    stopped = true;
    await h.stop();
  };
  return { ...h, clock, cloud, settle, at, create, setState, get, bill, stop };
}

const I1 = 'i-0000000000000a001';
const I2 = 'i-0000000000000a002';
const I3 = 'i-0000000000000a003';

t.test('an m5.large running 90 s: per second', async (t) => {
  const s = await setup(t);
  await s.create(I1); // pending at 0:00:00, running at 0:00:30
  await s.at(30 * SEC + 90 * SEC);
  await s.setState(I1, 'terminated'); // shutting-down at 0:02:00: 90 s of running
  await s.at(10 * MIN);
  const b = await s.bill();
  // 90 s × $0.096/h = 0.096 × 90 / 3600 = $0.0024
  t.equal(b.totalUSD, 0.0024);
  t.same(b.byPurchaseOption, { 'on-demand': 0.0024, spot: 0, reserved: 0, 'savings-plan': 0, 'dedicated-host': 0 });
  t.match(b.byInstanceType['m5.large'], { usd: 0.0024, instanceHours: 0.025, effectiveUSDPerHour: 0.096 });
  t.match(b.byInstance[I1], { usd: 0.0024, purchaseOption: 'on-demand', tenancy: 'default', availabilityZone: 'us-east-1a' });
  t.equal(b.onDemandEquivalentUSD, 0.0024);
  const recs = (await s.client.list<UsageRecord>(BillingKinds.UsageRecord)).items;
  t.same(
    recs.map((r) => [r.spec.resourceId, r.spec.startMs - T0, r.spec.endMs! - T0, r.spec.endReason]),
    [[I1, 30 * SEC, 120 * SEC, 'terminated']],
    'the ledger: one interval, from running to shutting-down, in cluster ms',
  );
});

t.test('started twice for 10 s each: two 60-second minimums', async (t) => {
  const s = await setup(t);
  await s.create(I1); // running at 0:00:30
  await s.at(40 * SEC);
  await s.setState(I1, 'stopped'); // stopping at 0:00:40 (10 s run), stopped at 0:00:50
  await s.at(60 * SEC);
  await s.setState(I1, 'running'); // pending at 0:01:00, running at 0:01:30
  await s.at(100 * SEC);
  await s.setState(I1, 'terminated'); // shutting-down at 0:01:40 (10 s run)
  await s.at(10 * MIN);
  const b = await s.bill();
  // Each start bills at least 60 s: 2 × 60 s × $0.096/h = 0.096 × 120 / 3600 = $0.0032
  t.equal(b.totalUSD, 0.0032);
  t.equal(b.byPurchaseOption['on-demand'], 0.0032);
  t.equal(Math.round(b.instanceHours * 3600), 20, 'but only 20 s were used');
});

t.test('stopped for an hour between runs: nothing billed while stopped', async (t) => {
  const s = await setup(t);
  await s.create(I1); // running at 0:00:30
  await s.at(30 * SEC + 30 * MIN);
  await s.setState(I1, 'stopped'); // 30 min run; stopped at 0:30:40
  await s.at(30 * SEC + 30 * MIN + 10 * SEC + HOUR);
  t.equal((await s.get(I1)).status!.state, 'stopped');
  await s.setState(I1, 'running'); // pending at 1:30:40, running at 1:31:10
  await s.at(30 * SEC + 30 * MIN + 10 * SEC + HOUR + 30 * SEC + 30 * MIN);
  await s.setState(I1, 'terminated'); // second 30 min run ends at 2:01:10
  await s.at(3 * HOUR);
  const b = await s.bill();
  // 30 min + 30 min = 1 h × $0.096/h = $0.096; the hour stopped, the boot and the stop cost nothing.
  t.equal(b.totalUSD, 0.096);
  t.equal(b.instanceHours, 1);
  const bySince = await s.bill(T0 + HOUR + 31 * MIN + 10 * SEC);
  t.equal(bySince.totalUSD, 0.048, 'since the second start: half of it');
});

t.test('a regional Reserved Instance for one m5.xlarge covers two m5.large running together', async (t) => {
  const s = await setup(t);
  await s.client.create<KubeObject>({
    apiVersion: 'billing.berth.dev/v1',
    kind: 'ReservedInstance',
    metadata: { name: 'ri-m5-xlarge' },
    spec: { instanceType: 'm5.xlarge', instanceCount: 1, scope: 'Region', term: '1yr', offeringClass: 'standard', offeringType: 'No Upfront', start: '2026-01-01T01:00:00Z' },
  });
  await s.at(HOUR - 30 * SEC);
  await s.create(I1, { availabilityZone: 'us-east-1a' });
  await s.create(I2, { availabilityZone: 'us-east-1b' }); // both running from 1:00:00
  await s.at(3 * HOUR);
  await s.setState(I1, 'terminated');
  await s.setState(I2, 'terminated'); // both stop running at 3:00:00
  await s.at(4 * HOUR);
  const b = await s.bill(T0 + HOUR, T0 + 3 * HOUR);
  // The RI's rate: m5.xlarge $0.192/h × (1 − 37.5 %) = $0.12/h, billed every hour: 2 h × $0.12 = $0.24.
  // Capacity per clock-hour: 8 units (xlarge) × 3600 s; two m5.large use 2 × 4 units × 3600 s: all covered.
  t.equal(b.totalUSD, 0.24);
  t.same(b.byPurchaseOption, { 'on-demand': 0, spot: 0, reserved: 0.24, 'savings-plan': 0, 'dedicated-host': 0 });
  t.equal(b.onDemandEquivalentUSD, 0.384, '2 × 2 h × $0.096');
  t.equal(b.savingsUSD, 0.144);
  t.match(b.byInstance[I1], { usd: 0.12 }, 'each m5.large carries half of the reservation');
  t.match(b.commitments, [{ id: 'ri-m5-xlarge', kind: 'ReservedInstance', usd: 0.24, usedUSD: 0.24, utilization: 1 }]);
  // Billed whether used or not: the hour after both stopped still costs $0.12.
  const after = await s.bill(T0 + 3 * HOUR, T0 + 4 * HOUR);
  t.equal(after.totalUSD, 0.12);
  t.equal(after.unallocatedUSD, 0.12, 'unused reservation: tied to no instance');
});

t.test('a Savings Plan smaller than the usage: the rest is On-Demand', async (t) => {
  const s = await setup(t);
  await s.client.create<KubeObject>({
    apiVersion: 'billing.berth.dev/v1',
    kind: 'SavingsPlan',
    metadata: { name: 'sp-compute' },
    spec: { savingsPlanType: 'Compute', commitment: '0.05', term: '1yr', paymentOption: 'No Upfront', start: '2026-01-01T00:00:00Z' },
  });
  await s.at(HOUR - 30 * SEC);
  await s.create(I1);
  await s.create(I2); // two m5.large running 1:00–2:00
  await s.at(2 * HOUR);
  await s.setState(I1, 'terminated');
  await s.setState(I2, 'terminated');
  const b = await s.bill(T0 + HOUR, T0 + 2 * HOUR);
  // Compute SP, 1 yr No Upfront, m series: 28 % off → $0.096 × 0.72 = $0.06912/h per m5.large.
  // The usage at plan rates: 2 × 0.06912 = $0.13824 > the $0.05 commitment, so the commitment is
  // used up: it covers 0.05 / 0.13824 of the usage; the rest, 0.192 × (1 − 0.05/0.13824) =
  // $0.122555…, is On-Demand. Total 0.05 + 0.1225555… = $0.1725555…
  const od = 0.192 * (1 - 0.05 / 0.13824);
  t.equal(b.byPurchaseOption['savings-plan'], 0.05);
  t.ok(Math.abs(b.byPurchaseOption['on-demand'] - od) < 1e-9, `on-demand ${b.byPurchaseOption['on-demand']} ≈ ${od}`);
  t.equal(Math.round(b.totalUSD * 100) / 100, 0.17, 'to the cent: $0.17');
  t.ok(Math.abs(b.totalUSD - (0.05 + od)) < 1e-9);
  t.match(b.commitments, [{ id: 'sp-compute', kind: 'SavingsPlan', usd: 0.05, usedUSD: 0.05, utilization: 1 }]);
  // An hour with no usage: the commitment is still paid, all of it unused.
  const idle = await s.bill(T0, T0 + HOUR - 30 * SEC);
  t.ok(Math.abs(idle.byPurchaseOption['savings-plan'] - (0.05 * (HOUR - 30 * SEC)) / HOUR) < 1e-9, 'accrued hour by hour, used or not');
  t.equal(idle.unallocatedUSD, idle.byPurchaseOption['savings-plan']);
});

t.test('a Spot Instance EC2 interrupts after 37 minutes costs nothing; one you stop pays its seconds', async (t) => {
  const s = await setup(t);
  await s.at(HOUR - 30 * SEC);
  await s.create(I1, { instanceMarketOptions: { marketType: 'spot' } });
  await s.create(I2, { instanceMarketOptions: { marketType: 'spot' } }); // running from 1:00:00
  t.match((await s.get(I1)).status, { instanceLifecycle: 'spot' });
  // The notice at 1:35:00, two minutes before EC2 acts: the instance has run 37 min when it is interrupted.
  await s.at(HOUR + 35 * MIN);
  await s.client.patch(Kinds.Instance, I1, undefined, 'merge', { metadata: { annotations: { 'ec2.berth.dev/send-spot-interruption': 'test' } } });
  await s.settle();
  t.match((await s.get(I1)).status, { state: 'running', spotInterruption: { action: 'terminate', noticeTime: '2026-01-01T01:35:00.000000Z', time: '2026-01-01T01:37:00.000000Z' } });
  await s.at(HOUR + 37 * MIN);
  t.match((await s.get(I1)).status, { state: 'shutting-down', stateReason: { code: 'Server.SpotInstanceTermination' } });
  await s.setState(I2, 'terminated'); // the user ends the other one at 1:37:00
  await s.at(2 * HOUR);
  const b = await s.bill();
  // EC2 interrupted I1 in its first hour: no charge (Linux). I2, stopped by its user: the Spot
  // price in effect (constant within the clock-hour) × 37 min.
  const price = s.cloud.market.price('m5.large', 'us-east-1a', T0 + HOUR);
  t.ok(price > 0 && price < M5_LARGE * 0.6, `the Spot price ${price} is well below On-Demand`);
  t.equal(b.byInstance[I1]!.usd, 0, 'interrupted by EC2 within the first hour: free');
  t.equal(b.byInstance[I2]!.usd, Math.round(((price * 37) / 60) * 1e9) / 1e9);
  t.equal(b.byPurchaseOption.spot, b.byInstance[I2]!.usd);
  t.equal(b.totalUSD, b.byInstance[I2]!.usd);
  t.equal(b.onDemandEquivalentUSD, Math.round(2 * ((M5_LARGE * 37) / 60) * 1e9) / 1e9);
  const rec = (await s.client.list<UsageRecord>(BillingKinds.UsageRecord)).items.find((r) => r.spec.resourceId === I1)!;
  t.match(rec.spec, { purchaseOption: 'spot', endReason: 'spot-interruption', endMs: T0 + HOUR + 37 * MIN });
  // The same interruption after more than an hour is charged for the seconds used.
  const later = await setup(t);
  await later.create(I3, { instanceMarketOptions: { marketType: 'spot' } }); // running 0:00:30
  await later.at(30 * SEC + HOUR + 10 * MIN);
  t.same(await interruptSpot(later.client, 1, seededRandom(1)), [I3]);
  await later.settle();
  await later.at(30 * SEC + HOUR + 12 * MIN);
  const lb = await later.bill();
  const m = later.cloud.market;
  // 0:00:30–1:00:00 (59.5 min) at the first hour's price, 1:00:00–1:12:30 (12.5 min) at the second's.
  const expected = (m.price('m5.large', 'us-east-1a', T0) * 59.5) / 60 + (m.price('m5.large', 'us-east-1a', T0 + HOUR) * 12.5) / 60;
  t.ok(Math.abs(lb.byPurchaseOption.spot - expected) < 1e-9, `interrupted after 72 min: ${lb.byPurchaseOption.spot} = ${expected}`);
});

t.test('a Dedicated Host with three instances: the host is billed, not the instances', async (t) => {
  const s = await setup(t);
  await s.at(HOUR - MIN);
  const host = await s.client.create<DedicatedHost>({ apiVersion: 'ec2.berth.dev/v1', kind: 'DedicatedHost', metadata: { generateName: 'h-' }, spec: { instanceFamily: 'm5', availabilityZone: 'us-east-1a', autoPlacement: 'on' } });
  await s.settle(); // allocated at 0:59:00
  const hostId = host.metadata.name!;
  t.match(hostId, /^h-0[0-9a-f]{16}$/);
  for (const id of [I1, I2, I3]) await s.create(id, { tenancy: 'host' }); // running from 0:59:30
  for (const id of [I1, I2, I3]) t.equal((await s.get(id)).status!.hostId, hostId, `${id} placed on the host`);
  let h = await s.client.get<DedicatedHost>(BillingKinds.DedicatedHost, hostId);
  // m5 hosts are sized as m5.24xlarge: 96 vCPUs, $4.608 × 1.1 = $5.0688/h.
  t.match(h.status, { state: 'available', hourlyPrice: 5.0688, hostProperties: { totalVCpus: 96, sizedAs: 'm5.24xlarge' }, availableCapacity: { availableVCpus: 90 } });
  t.equal(h.status!.instances!.length, 3);
  await s.client.delete(BillingKinds.DedicatedHost, hostId);
  await s.settle();
  h = await s.client.get<DedicatedHost>(BillingKinds.DedicatedHost, hostId);
  t.ok(h.metadata.deletionTimestamp && h.status!.state === 'available', 'a host with running instances is not released');
  await s.at(HOUR + 29 * MIN + 30 * SEC);
  for (const id of [I1, I2, I3]) await s.setState(id, 'terminated'); // shutting-down at 1:29:30
  t.ok(await s.client.tryGet(BillingKinds.DedicatedHost, hostId), 'still allocated while its instances shut down');
  await s.at(HOUR + 29 * MIN + 35 * SEC); // terminated 5 s later: the release goes through
  t.equal(await s.client.tryGet(BillingKinds.DedicatedHost, hostId), undefined, 'released once no instance runs on it');
  await s.at(3 * HOUR);
  const b = await s.bill();
  // The host from 0:59:00 to 1:29:35 = 30 min 35 s = 1835 s: $5.0688 × 1835 / 3600 = $2.58374…
  t.equal(b.byPurchaseOption['dedicated-host'], Math.round(((5.0688 * 1835) / 3600) * 1e9) / 1e9);
  t.equal(Math.round(b.totalUSD * 100) / 100, 2.58, 'to the cent: $2.58');
  t.equal(b.totalUSD, b.byPurchaseOption['dedicated-host'], 'the three instances cost nothing themselves');
  t.same([b.byInstance[I1]!.usd, b.byInstance[I2]!.usd, b.byInstance[I3]!.usd], [0, 0, 0]);
  t.equal(b.onDemandEquivalentUSD, Math.round(3 * M5_LARGE * 0.5 * 1e9) / 1e9, 'they ran 30 min each: $0.144 On-Demand');
});

t.test('a Dedicated Host for exactly one hour costs its hourly rate', async (t) => {
  const s = await setup(t);
  const host = await s.client.create<DedicatedHost>({ apiVersion: 'ec2.berth.dev/v1', kind: 'DedicatedHost', metadata: { generateName: 'h-' }, spec: { instanceFamily: 'm5', availabilityZone: 'us-east-1a', autoPlacement: 'on' } });
  await s.settle();
  for (const id of [I1, I2, I3]) await s.create(id, { tenancy: 'host' });
  await s.at(30 * MIN);
  for (const id of [I1, I2, I3]) await s.setState(id, 'terminated');
  await s.at(HOUR);
  await s.client.delete(BillingKinds.DedicatedHost, host.metadata.name!);
  await s.settle();
  await s.at(2 * HOUR);
  const b = await s.bill();
  // Allocated 0:00:00, released 1:00:00: one host-hour of m5 = $5.0688, whatever ran on it.
  t.equal(b.totalUSD, 5.0688);
  t.same(b.byPurchaseOption, { 'on-demand': 0, spot: 0, reserved: 0, 'savings-plan': 0, 'dedicated-host': 5.0688 });
  t.match(b.byDedicatedHost[host.metadata.name!], { usd: 5.0688, hostHours: 1, instanceFamily: 'm5' });
});

t.test('host affinity: a restart goes back to its host if there is room, else moves; with affinity host it waits', async (t) => {
  const s = await setup(t);
  const newHost = async (): Promise<string> => {
    const h = await s.client.create<DedicatedHost>({ apiVersion: 'ec2.berth.dev/v1', kind: 'DedicatedHost', metadata: { generateName: 'h-' }, spec: { instanceFamily: 'm5', availabilityZone: 'us-east-1a', autoPlacement: 'on' } });
    await s.settle();
    return h.metadata.name!;
  };
  const hostOf = async (id: string): Promise<string | undefined> => (await s.get(id)).status!.hostId;
  const h1 = await newHost(); // 96 vCPUs: two m5.12xlarge (48 each) fill it
  const [A, Z, B, C] = ['i-0000000000000b001', 'i-0000000000000b002', 'i-0000000000000b003', 'i-0000000000000b004'];
  await s.create(A, { instanceType: 'm5.12xlarge', tenancy: 'host' });
  await s.create(Z, { instanceType: 'm5.12xlarge', tenancy: 'host', affinity: 'host' });
  t.same([await hostOf(A), await hostOf(Z)], [h1, h1]);
  await s.at(MIN);
  await s.setState(A, 'stopped');
  await s.setState(Z, 'stopped');
  await s.at(2 * MIN); // both stopped: the host has room again
  await s.create(B, { instanceType: 'm5.12xlarge', tenancy: 'host' });
  await s.create(C, { instanceType: 'm5.12xlarge', tenancy: 'host' });
  t.same([await hostOf(B), await hostOf(C)], [h1, h1], 'the new instances fill the host');
  const h2 = await newHost();
  await s.setState(A, 'running');
  t.match((await s.get(A)).status, { state: 'pending', hostId: h2 }, 'no affinity: started on the host with room');
  await s.setState(Z, 'running');
  t.match((await s.get(Z)).status, { state: 'stopped', hostId: h1 }, 'affinity host: not started while its host is full');
  const events = (await s.client.list<KubeObject & { reason?: string; message?: string; involvedObject?: { name?: string } }>(Kinds.Event, { namespace: 'default' })).items;
  t.ok(
    events.some((e) => e.involvedObject?.name === Z && e.reason === 'InsufficientHostCapacity' && e.message === `Insufficient capacity on the Dedicated Host ${h1} to start m5.12xlarge.`),
    'a Warning says why',
  );
  await s.setState(B, 'terminated'); // at 0:02:00; room on h1 once B has shut down, at 0:02:05
  await s.at(3 * MIN - SEC);
  t.match((await s.get(Z)).status, { state: 'stopped' }, 'the start is tried again a minute after it was refused…');
  await s.at(3 * MIN);
  t.match((await s.get(Z)).status, { state: 'pending', hostId: h1 }, '…and then goes through, on its own host');
});

t.test('Dedicated Instances: the Dedicated rate and the per-Region fee', async (t) => {
  const s = await setup(t);
  await s.at(HOUR - 30 * SEC);
  await s.create(I1, { tenancy: 'dedicated' }); // running 1:00–2:00
  await s.at(2 * HOUR);
  await s.setState(I1, 'terminated');
  const b = await s.bill(T0 + HOUR, T0 + 2 * HOUR);
  // $0.096 × 1.1 = $0.1056 for the hour, plus $2 for the hour a Dedicated Instance ran in the Region.
  t.equal(b.totalUSD, 2.1056);
  t.match(b.byInstance[I1], { usd: 0.1056, tenancy: 'dedicated' });
  t.equal(b.unallocatedUSD, 2);
});

t.test('by namespace and workload: a pod’s share of its node by requests', async (t) => {
  const s = await setup(t);
  await s.at(HOUR - 30 * SEC);
  await s.create(I1);
  await s.at(HOUR); // running from 1:00:00
  const node = (await s.get(I1)).status!.nodeName!;
  await s.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  // m5.large allocatable: 1930m cpu, 7518Mi memory. Half of each: a share of 0.5.
  const pod = makePod('web-abc12-xyz', 'shop').req({ cpu: '965m', memory: '3759Mi' }).node(node).label('pod-template-hash', 'abc12').obj();
  pod.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc12', uid: 'u1', controller: true }];
  await s.client.create(pod);
  await s.settle();
  await s.at(HOUR + 30 * MIN);
  await s.client.delete(Kinds.Pod, 'web-abc12-xyz', 'shop', { gracePeriodSeconds: 0 });
  await s.settle();
  await s.at(2 * HOUR);
  await s.setState(I1, 'terminated');
  await s.at(3 * HOUR);
  const b = await s.bill();
  // $0.096 for the hour; the pod held half the node for half the hour: 0.096 × 0.5 × 0.5 = $0.024.
  t.equal(b.totalUSD, 0.096);
  t.match(b.byNamespace, { shop: { usd: 0.024 }, __idle__: { usd: 0.072 } });
  t.match(b.byWorkload, { 'shop/deployment/web': { usd: 0.024, instanceHours: 0.25 } });
});

t.test('the ledger survives a restart: the bill is the same', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'berth-bill-')), 'state.db');
  const clock = new VirtualClock(T0);
  const a = await setup(t, { backend: new SqliteBackend({ path }), clock });
  await a.create(I1); // running 0:00:30
  await a.at(30 * SEC + 20 * MIN);
  await a.stop();
  await clock.advanceTo(T0 + 30 * SEC + 40 * MIN); // 20 min more while nothing runs: EC2 keeps running it
  const b = await setup(t, { backend: new SqliteBackend({ path }), clock });
  await b.settle();
  await b.at(30 * SEC + HOUR);
  await b.setState(I1, 'terminated');
  await b.at(2 * HOUR);
  const bill = await b.bill();
  t.equal(bill.totalUSD, 0.096, 'one hour of m5.large, across the restart');
  t.equal((await b.client.list(BillingKinds.UsageRecord)).items.length, 1, 'one interval, kept by the store');
});
