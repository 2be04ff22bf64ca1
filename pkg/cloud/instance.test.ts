import t from 'tap';
import type { Node } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { startTestApi } from '../testing/api.js';
import { fleetCost, installCloudWithHandle, seededRandom, type CloudOptions, type Instance } from './index.js';

const ID = 'i-0123456789abcdef0';
const ID2 = 'i-0fedcba9876543210';

async function setup(t: { teardown(fn: () => unknown): void }, opts: CloudOptions = {}) {
  const clock = new VirtualClock();
  const h = await startTestApi({ clock });
  // A fixed 30 s boot keeps the arithmetic simple (the default is per family, with jitter).
  const cloud = await installCloudWithHandle(h.api, h.mgr, { random: seededRandom(7), bootDelaySeconds: 30, ...opts });
  await h.start();
  t.teardown(() => h.stop());
  /** Lets every reconcile triggered so far finish, without moving the clock. */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 40; i++) await clock.advance(0);
  };
  const get = (name = ID) => h.client.tryGet<Instance>(Kinds.Instance, name);
  const node = (name: string) => h.client.tryGet<Node>(Kinds.Node, name);
  const patchSpec = (spec: Partial<Instance['spec']>, name = ID) => h.client.patch(Kinds.Instance, name, undefined, 'merge', { spec });
  return { ...h, clock, cloud, settle, get, node, patchSpec, t0: clock.now() };
}

function instance(name: string, spec: Partial<Instance['spec']> = {}): Instance {
  return { apiVersion: 'ec2.berth.dev/v1', kind: 'Instance', metadata: { name }, spec: { instanceType: 'm5.xlarge', availabilityZone: 'us-east-1a', ...spec } };
}

t.test('launch: pending for exactly the boot delay, then running with its Node', async (t) => {
  const s = await setup(t);
  await s.client.create(instance(ID, { nodeLabels: { team: 'web' }, nodeTaints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }));
  await s.settle();
  let inst = (await s.get())!;
  t.match(inst.status, { state: 'pending', stateCode: 0, privateIpAddress: '10.0.0.4', privateDnsName: 'ip-10-0-0-4.ec2.internal', hourlyPrice: 0.192, launchTime: '2026-01-01T00:00:00Z', stateTransitionReason: '' });
  t.same(inst.spec.state, 'running', 'spec.state defaults to running');
  t.same(inst.metadata.finalizers, ['ec2.berth.dev/terminate-instance']);
  t.equal(await s.node('ip-10-0-0-4.ec2.internal'), undefined, 'no Node while pending');
  t.equal(fleetCost([inst]), 0, 'pending is not billed');

  await s.clock.advance(29_999);
  await s.settle();
  t.equal((await s.get())!.status!.state, 'pending', 'still pending 1 ms before the boot delay');
  t.equal(await s.node('ip-10-0-0-4.ec2.internal'), undefined);

  await s.clock.advance(1);
  await s.settle();
  inst = (await s.get())!;
  t.match(inst.status, { state: 'running', stateCode: 16, nodeName: 'ip-10-0-0-4.ec2.internal' });
  const node = (await s.node('ip-10-0-0-4.ec2.internal'))!;
  t.ok(node, 'the Node appears at exactly 30 s');
  t.match(node.metadata.labels, {
    'node.kubernetes.io/instance-type': 'm5.xlarge',
    'topology.kubernetes.io/zone': 'us-east-1a',
    'topology.kubernetes.io/region': 'us-east-1',
    'kubernetes.io/hostname': 'ip-10-0-0-4.ec2.internal',
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'eks.amazonaws.com/capacityType': 'ON_DEMAND',
    team: 'web',
  });
  t.same(node.spec, { providerID: `aws:///us-east-1a/${ID}`, podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'], taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
  t.same(node.status!.capacity, { cpu: '4', 'ephemeral-storage': '20Gi', memory: '16Gi', pods: '58' });
  t.same(node.status!.allocatable, { cpu: '3920m', 'ephemeral-storage': '17Gi', memory: '15391Mi', pods: '58' });
  t.same(node.status!.addresses, [
    { type: 'InternalIP', address: '10.0.0.4' },
    { type: 'InternalDNS', address: 'ip-10-0-0-4.ec2.internal' },
    { type: 'Hostname', address: 'ip-10-0-0-4.ec2.internal' },
  ]);
  t.equal(node.status!.conditions, undefined, 'Ready is the node agent’s to set');
  t.equal(fleetCost([inst]), 0.192, 'USD per hour while running');
});

t.test('stop, start, terminate, and an hour later the entry is gone', async (t) => {
  const s = await setup(t);
  await s.client.create(instance(ID));
  await s.settle();
  await s.clock.advance(30_000);
  await s.settle();
  const dns = 'ip-10-0-0-4.ec2.internal';
  t.ok(await s.node(dns));

  await s.clock.advance(60_000);
  await s.patchSpec({ state: 'stopped' });
  await s.settle();
  t.match((await s.get())!.status, { state: 'stopping', stateCode: 64, stateTransitionReason: 'User initiated (2026-01-01 00:01:30 GMT)' });
  // As in EKS, the Node stays while the instance is stopped, with the cloud provider's shutdown
  // taint (kube-controller-manager marks it NotReady: see nodes.test.ts).
  let node = (await s.node(dns))!;
  t.ok(node, 'the Node stays when the instance stops');
  t.same(node.spec.taints, [{ key: 'node.cloudprovider.kubernetes.io/shutdown', effect: 'NoSchedule', timeAdded: '2026-01-01T00:01:30Z' }]);
  await s.clock.advance(10_000);
  await s.settle();
  const stopped = (await s.get())!;
  t.match(stopped.status, { state: 'stopped', stateCode: 80, privateIpAddress: '10.0.0.4', nodeName: dns });
  t.equal(fleetCost([stopped]), 0, 'stopped is not billed');

  // While stopped, the instance type may change; the price follows on the next start.
  await s.patchSpec({ instanceType: 'm5.large', state: 'running' });
  await s.settle();
  t.match((await s.get())!.status, { state: 'pending', launchTime: '2026-01-01T00:01:40Z', hourlyPrice: 0.096, privateIpAddress: '10.0.0.4' });
  await s.clock.advance(30_000);
  await s.settle();
  node = (await s.node(dns))!;
  t.equal(node.metadata.labels!['node.kubernetes.io/instance-type'], 'm5.large', 'registered again as the new type, same address');
  t.same(node.spec.taints, undefined, 'running again: the shutdown and unreachable taints are gone');

  await s.patchSpec({ state: 'terminated' });
  await s.settle();
  t.match((await s.get())!.status, { state: 'shutting-down', stateCode: 32 });
  t.equal(await s.node(dns), undefined);
  await s.clock.advance(5_000);
  await s.settle();
  const done = (await s.get())!;
  t.match(done.status, { state: 'terminated', stateCode: 48 });
  t.same(done.metadata.finalizers ?? [], [], 'nothing left to guard');

  await s.clock.advance(3_600_000 - 1);
  await s.settle();
  t.ok(await s.get(), 'visible for an hour');
  await s.clock.advance(1);
  await s.settle();
  t.equal(await s.get(), undefined, 'then deleted');
});

t.test('a terminate asked while pending does not wait for the boot', async (t) => {
  const s = await setup(t);
  await s.client.create(instance(ID));
  await s.settle();
  await s.clock.advance(10_000);
  await s.patchSpec({ state: 'terminated' });
  await s.settle();
  t.equal((await s.get())!.status!.state, 'shutting-down');
  await s.clock.advance(5_000);
  await s.settle();
  t.equal((await s.get())!.status!.state, 'terminated', 'terminated at 15 s, not after the 30 s boot timer');
  t.equal(await s.node('ip-10-0-0-4.ec2.internal'), undefined, 'never registered');
});

t.test('deleting through the API terminates first, then the object goes', async (t) => {
  const s = await setup(t);
  await s.client.create(instance(ID));
  await s.settle();
  await s.clock.advance(30_000);
  await s.settle();
  await s.client.delete(Kinds.Instance, ID);
  await s.settle();
  const deleting = (await s.get())!;
  t.ok(deleting.metadata.deletionTimestamp, 'held by the finalizer');
  t.equal(deleting.status!.state, 'shutting-down');
  t.equal(await s.node('ip-10-0-0-4.ec2.internal'), undefined);
  await s.clock.advance(5_000);
  await s.settle();
  t.equal(await s.get(), undefined, 'gone once terminated');
});

t.test('back-to-back launches get distinct addresses and pod CIDRs; a deleted Node comes back', async (t) => {
  const s = await setup(t, { bootDelaySeconds: 0 });
  await s.client.create(instance(ID));
  await s.client.create(instance(ID2));
  await s.client.create(instance('i-0aaaaaaaaaaaaaaaa', { availabilityZone: 'us-east-1b', instanceType: 'm6g.large' }));
  await s.settle();
  const a = (await s.get(ID))!.status!;
  const b = (await s.get(ID2))!.status!;
  const c = (await s.get('i-0aaaaaaaaaaaaaaaa'))!.status!;
  t.same([a.privateIpAddress, b.privateIpAddress, c.privateIpAddress], ['10.0.0.4', '10.0.0.5', '10.0.16.4']);
  const cidrs = await Promise.all([a, b, c].map(async (x) => (await s.node(x.privateDnsName!))!.spec.podCIDR));
  t.same(new Set(cidrs).size, 3, `distinct pod CIDRs ${cidrs.join(' ')}`);
  t.equal((await s.node(c.privateDnsName!))!.metadata.labels!['kubernetes.io/arch'], 'arm64');

  await s.client.delete(Kinds.Node, a.privateDnsName!);
  await s.settle();
  t.match(await s.node(a.privateDnsName!), { spec: { providerID: `aws:///us-east-1a/${ID}` } }, 'a running instance registers again');
});

t.test('validation', async (t) => {
  const s = await setup(t);
  await t.rejects(s.client.create(instance(ID, { instanceType: 'm5.huge' })), {
    code: 422,
    message: /spec\.instanceType: Unsupported value: "m5\.huge": supported values for family m5: "m5\.large"/,
  });
  await t.rejects(s.client.create(instance(ID, { instanceType: 'zz9.large' })), { code: 422, message: /not one of the 260 instance types/ });
  await t.rejects(s.client.create(instance(ID, { availabilityZone: 'us-west-2a' })), {
    code: 422,
    message: /spec\.availabilityZone: Unsupported value: "us-west-2a": supported values: "us-east-1a", .*"us-east-1f"/,
  });
  await t.rejects(s.client.create(instance('web-1')), { code: 422, message: /metadata\.name: Invalid value: "web-1": must be an instance id/ });
  await t.rejects(s.client.create(instance(ID, { state: 'paused' as never })), { code: 422, message: /spec\.state: Unsupported value: "paused"/ });
  await t.rejects(s.client.create(instance(ID, { nodeTaints: [{ key: 'x', effect: 'Sometimes' as never }] })), { code: 422, message: /spec\.nodeTaints\[0\]\.effect: Unsupported value/ });
  await t.rejects(s.client.create(instance(ID, { nodeLabels: { 'bad key!': 'x' } })), { code: 422, message: /spec\.nodeLabels/ });

  const named = await s.client.create<Instance>({ apiVersion: 'ec2.berth.dev/v1', kind: 'Instance', metadata: { generateName: 'i-' }, spec: { instanceType: 'm5.large', availabilityZone: 'us-east-1c' } });
  t.match(named.metadata.name, /^i-0[0-9a-f]{16}$/, 'generateName: i- gives an instance id');

  await s.client.create(instance(ID));
  await s.settle();
  await t.rejects(s.patchSpec({ availabilityZone: 'us-east-1b' }), { code: 422, message: /spec\.availabilityZone: Invalid value: "us-east-1b": field is immutable/ });
  await t.rejects(s.patchSpec({ instanceType: 'm5.large' }), { code: 422, message: /spec\.instanceType: Forbidden: the instance type can be changed only while the instance is stopped \(it is pending\)/ });
  await s.patchSpec({ state: 'terminated' });
  await t.rejects(s.patchSpec({ state: 'running' }), { code: 422, message: /a terminated instance cannot be started or stopped again/ });
});

t.test('tables', async (t) => {
  const s = await setup(t);
  await s.client.create(instance(ID));
  await s.settle();
  const r = await s.client.info(Kinds.Instance);
  const table = (await s.client.transport.table(r, undefined, undefined, {})) as { columnDefinitions: { name: string; priority: number }[]; rows: { cells: unknown[] }[] };
  t.same(
    table.columnDefinitions.map((c) => c.name),
    ['Name', 'Instance-Type', 'Zone', 'State', 'Private-IP', 'Age', 'Node', 'Price', 'Launch-Time', 'Lifecycle', 'Tenancy'],
  );
  t.same(table.rows[0]!.cells, [ID, 'm5.xlarge', 'us-east-1a', 'pending', '10.0.0.4', '0s', '<none>', '$0.1920/h', '2026-01-01T00:00:00Z', 'on-demand', 'default']);
});

t.test('options are checked', async (t) => {
  const clock = new VirtualClock();
  const h = await startTestApi({ clock });
  t.teardown(() => h.stop());
  await t.rejects(installCloudWithHandle(h.api, h.mgr, { bootDelaySeconds: -1 }), { code: 'InvalidCloudOptions' });
  await t.rejects(installCloudWithHandle(h.api, h.mgr, { clusterCidr: '10.0.0.0/28' }), { code: 'InvalidCloudOptions' });
  await t.rejects(installCloudWithHandle(h.api, h.mgr, { region: 'eu-west-1' as never }), { code: 'InvalidCloudOptions' });
});
