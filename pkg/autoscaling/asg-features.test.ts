import t from 'tap';
import { Kinds } from '../client/client.js';
import { PROTECTED_FROM_SCALE_IN_ANNOTATION, type AutoScalingGroup, type Instance } from '../cloud/types.js';
import { virtualCluster, type VirtualCluster } from '../nodeautoscaler/vcluster.testutil.js';

const MIN = 60_000;
const asg = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'autoscaling.berth.dev/v1',
  kind: 'AutoScalingGroup',
  metadata: { name },
  spec: { minSize: 0, maxSize: 10, launchTemplate: { instanceType: 'm5.large' }, availabilityZones: ['us-east-1a'], ...spec },
});

async function cluster(t: { teardown(fn: () => unknown): void }): Promise<VirtualCluster> {
  const vc = await virtualCluster({ components: ['cloud', 'controllers'] });
  t.teardown(() => vc.stop());
  return vc;
}

const live = async (vc: VirtualCluster, group: string): Promise<Instance[]> =>
  (await vc.cp.client.list<Instance>(Kinds.Instance, { labelSelector: `autoscaling.berth.dev/group-name=${group}` })).items.filter((i) => i.spec.state !== 'terminated' && i.status?.state !== 'terminated');

t.test('a group name longer than 63 characters is refused with the reason', async (t) => {
  const vc = await cluster(t);
  const long = 'a'.repeat(64);
  await t.rejects(vc.cp.client.create(asg(long, { desiredCapacity: 0 })), { code: 422, message: /must be no more than 63 characters \(it is 64\).*autoscaling\.berth\.dev\/group-name.*EC2 Auto Scaling itself allows 255/ });
  await vc.cp.client.create(asg('b'.repeat(63), { desiredCapacity: 1 }));
  await vc.run(2 * MIN);
  t.equal((await live(vc, 'b'.repeat(63))).length, 1, 'a 63-character name launches');
  await t.rejects(vc.cp.client.create(asg('c', { minSize: 2, maxSize: 3, desiredCapacity: 4 })), { code: 422, message: /desiredCapacity.*between minSize \(2\) and maxSize \(3\)/ });
  await t.rejects(vc.cp.client.create(asg('d', { terminationPolicies: ['Newest'] })), { code: 422 });
  await t.rejects(vc.cp.client.create(asg('e', { tags: { 'aws:x': 'y' } })), { code: 422 });
});

t.test('termination policies, scale-in protection, health-check grace period and AZ rebalancing', async (t) => {
  const vc = await cluster(t);
  const c = vc.cp.client;
  await c.create(asg('old', { desiredCapacity: 1, terminationPolicies: ['OldestInstance'] }));
  await vc.run(5 * MIN);
  const first = (await live(vc, 'old'))[0]!.metadata.name!;
  await c.patch(Kinds.AutoScalingGroup, 'old', undefined, 'merge', { spec: { desiredCapacity: 2 } });
  await vc.run(5 * MIN);
  await c.patch(Kinds.AutoScalingGroup, 'old', undefined, 'merge', { spec: { desiredCapacity: 1 } });
  await vc.run(MIN);
  const left = await live(vc, 'old');
  t.equal(left.length, 1);
  t.not(left[0]!.metadata.name, first, 'OldestInstance: the first instance went');

  // Protection: the protected instance survives a scale-in to 1.
  await c.create(asg('prot', { desiredCapacity: 3 }));
  await vc.run(3 * MIN);
  const members = await live(vc, 'prot');
  const keep = members[0]!.metadata.name!;
  await c.patch(Kinds.Instance, keep, undefined, 'merge', { metadata: { annotations: { [PROTECTED_FROM_SCALE_IN_ANNOTATION]: 'true' } } });
  await c.patch(Kinds.AutoScalingGroup, 'prot', undefined, 'merge', { spec: { desiredCapacity: 1 } });
  await vc.run(MIN);
  t.same((await live(vc, 'prot')).map((i) => i.metadata.name), [keep], 'the protected instance stays');
  const g = await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'prot');
  t.ok(g.status?.instances.find((i) => i.instanceId === keep)?.protectedFromScaleIn, 'status shows the protection');
  t.match(g.status?.activities?.at(-1)?.description ?? '', /^Terminating EC2 instance: i-0/);

  // Grace period: a stopped instance launched less than 10 minutes ago is not replaced yet.
  await c.create(asg('grace', { desiredCapacity: 1, healthCheckGracePeriod: 600 }));
  await vc.run(2 * MIN);
  const inst = (await live(vc, 'grace'))[0]!.metadata.name!;
  await c.patch(Kinds.Instance, inst, undefined, 'merge', { spec: { state: 'stopped' } });
  await vc.run(3 * MIN);
  t.same((await live(vc, 'grace')).map((i) => i.metadata.name), [inst], 'within the grace period: not replaced');
  await vc.run(8 * MIN);
  const now = (await live(vc, 'grace')).map((i) => i.metadata.name);
  t.ok(now.length === 1 && now[0] !== inst, 'after the grace period: replaced');

  // Rebalancing: a zone added to a group of 4 in one zone ends 2 and 2.
  await c.create(asg('zones', { desiredCapacity: 4 }));
  await vc.run(3 * MIN);
  await c.patch(Kinds.AutoScalingGroup, 'zones', undefined, 'merge', { spec: { availabilityZones: ['us-east-1a', 'us-east-1b'] } });
  await vc.run(15 * MIN);
  const zones = (await live(vc, 'zones')).map((i) => i.spec.availabilityZone).sort();
  t.same(zones, ['us-east-1a', 'us-east-1a', 'us-east-1b', 'us-east-1b'], 'rebalanced across the zones');
  const za = await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'zones');
  t.ok(za.status?.activities?.some((a) => /to balance instances in zones/.test(a.cause)), 'the activity says why');
});
