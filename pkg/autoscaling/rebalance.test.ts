import t from 'tap';
import { Kinds } from '../client/client.js';
import { SEND_SPOT_INTERRUPTION_ANNOTATION, type AutoScalingGroup, type Instance } from '../cloud/types.js';
import { virtualCluster, type VirtualCluster } from '../nodeautoscaler/vcluster.testutil.js';

const MIN = 60_000;
const spotGroup = (name: string, capacityRebalance: boolean) => ({
  apiVersion: 'autoscaling.berth.dev/v1',
  kind: 'AutoScalingGroup',
  metadata: { name },
  spec: {
    minSize: 0,
    maxSize: 4,
    desiredCapacity: 2,
    capacityRebalance,
    launchTemplate: { instanceType: 'm5.large' },
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    mixedInstancesPolicy: {
      launchTemplate: { overrides: [{ instanceType: 'm5.large' }, { instanceType: 'm5a.large' }] },
      instancesDistribution: { onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0, spotAllocationStrategy: 'capacity-optimized' },
    },
  },
});

const live = async (vc: VirtualCluster, group: string): Promise<Instance[]> =>
  (await vc.cp.client.list<Instance>(Kinds.Instance, { labelSelector: `autoscaling.berth.dev/group-name=${group}` })).items.filter((i) => i.spec.state !== 'terminated' && i.status?.state !== 'terminated');

t.test('Capacity Rebalancing launches a replacement before the at-risk Spot Instance goes; without it the group waits for the interruption', async (t) => {
  // EC2's own Spot interruptions are off: the only one is the notice the test sends (as AWS FIS does: rebalance recommendation and notice at once, the interruption two minutes later).
  const vc = await virtualCluster({ components: ['cloud', 'controllers'] });
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await c.create(spotGroup('rebal', true));
  await c.create(spotGroup('plain', false));
  await vc.run(3 * MIN);
  for (const g of ['rebal', 'plain']) t.equal((await live(vc, g)).filter((i) => i.status?.state === 'running').length, 2, `${g}: two Spot Instances running`);
  const victim = (await live(vc, 'rebal'))[0]!.metadata.name!;
  const other = (await live(vc, 'plain'))[0]!.metadata.name!;
  for (const id of [victim, other]) await c.patch(Kinds.Instance, id, undefined, 'merge', { metadata: { annotations: { [SEND_SPOT_INTERRUPTION_ANNOTATION]: '' } } });
  await vc.run(5000);
  const during = await live(vc, 'rebal');
  t.equal(during.length, 3, 'a replacement was launched at once, the at-risk instance still runs');
  t.ok(during.some((i) => i.metadata.name === victim), 'the at-risk instance is still there');
  t.equal((await live(vc, 'plain')).length, 2, 'without Capacity Rebalancing no replacement yet');
  // The replacement boots (60 s) before the two-minute interruption: then the group terminates the at-risk one itself.
  await vc.run(90_000);
  const after = await live(vc, 'rebal');
  t.equal(after.length, 2, 'back to two');
  t.notOk(after.some((i) => i.metadata.name === victim), 'the at-risk instance was terminated');
  t.ok(after.every((i) => i.status?.state === 'running'), 'both running');
  const g = await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'rebal');
  const acts = g.status?.activities ?? [];
  t.ok(acts.some((a) => a.description.startsWith('Launching') && /rebalance recommendation/.test(a.cause)), 'the launch cites the rebalance recommendation');
  t.ok(acts.some((a) => a.description === `Terminating EC2 instance: ${victim}` && /rebalance recommendation/.test(a.cause)), 'so does the termination');
  // The plain group replaces its instance only after EC2 interrupted it.
  await vc.run(3 * MIN);
  const plain = await live(vc, 'plain');
  t.equal(plain.length, 2, 'the plain group is back to two after the interruption');
  t.notOk(plain.some((i) => i.metadata.name === other));
});
