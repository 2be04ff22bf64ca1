/**
 * Mixed instances: an Auto Scaling group with a mixed instances policy, and EC2 Fleets (instant
 * and maintain), through the API with the controllers on a virtual clock.
 */
import t from 'tap';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { startTestApi } from '../testing/api.js';
import { FleetKind, installCloudWithHandle, onDemandCount, seededRandom, type AutoScalingGroup, type Fleet, type Instance } from './index.js';

async function setup(t: { teardown(fn: () => unknown): void }) {
  const clock = new VirtualClock();
  const h = await startTestApi({ clock });
  const cloud = await installCloudWithHandle(h.api, h.mgr, { random: seededRandom(21), bootDelaySeconds: 30, spotInterruptions: false });
  await h.start();
  t.teardown(() => h.stop());
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 60; i++) await clock.advance(0);
  };
  const live = async (label: string): Promise<Instance[]> => (await h.client.list<Instance>(Kinds.Instance, { labelSelector: label })).items.filter((i) => i.spec.state !== 'terminated' && i.status?.state !== 'terminated' && i.status?.state !== 'shutting-down');
  return { ...h, clock, cloud, settle, live };
}

const isSpot = (i: Instance): boolean => i.spec.instanceMarketOptions?.marketType === 'spot';

t.test('an Auto Scaling group with a mixed instances policy', async (t) => {
  const s = await setup(t);
  const types = ['m5.large', 'm5a.large', 'm6i.large'];
  await s.client.create<AutoScalingGroup>({
    apiVersion: 'autoscaling.berth.dev/v1',
    kind: 'AutoScalingGroup',
    metadata: { name: 'mixed' },
    spec: {
      minSize: 0,
      maxSize: 20,
      desiredCapacity: 10,
      launchTemplate: { instanceType: 'm5.large' },
      mixedInstancesPolicy: {
        launchTemplate: { overrides: types.map((instanceType) => ({ instanceType })) },
        instancesDistribution: { onDemandBaseCapacity: 2, onDemandPercentageAboveBaseCapacity: 25, spotAllocationStrategy: 'price-capacity-optimized' },
      },
      availabilityZones: ['us-east-1a', 'us-east-1b'],
    },
  });
  await s.settle();
  let insts = await s.live('autoscaling.berth.dev/group-name=mixed');
  t.equal(insts.length, 10);
  // 2 base + ceil(25 % of 8) = 4 On-Demand, 6 Spot.
  t.equal(insts.filter((i) => !isSpot(i)).length, onDemandCount(10, { onDemandBaseCapacity: 2, onDemandPercentageAboveBaseCapacity: 25 }));
  t.equal(insts.filter((i) => !isSpot(i)).length, 4);
  t.ok(insts.filter((i) => !isSpot(i)).every((i) => i.spec.instanceType === 'm5.large'), 'On-Demand prioritized: the first override');
  t.ok(insts.every((i) => types.includes(i.spec.instanceType)));
  t.same([...new Set(insts.map((i) => i.spec.availabilityZone))].sort(), ['us-east-1a', 'us-east-1b'], 'zones balanced');
  t.equal(insts.filter((i) => i.spec.availabilityZone === 'us-east-1a').length, 5);
  const g = await s.client.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'mixed');
  t.equal(g.status!.instances.filter((i) => i.instanceLifecycle === 'spot').length, 6);

  // Scale in to 4: 2 + ceil(25 % of 2) = 3 On-Demand, 1 Spot: the Spot Instances above their share go first.
  await s.client.patch(Kinds.AutoScalingGroup, 'mixed', undefined, 'merge', { spec: { desiredCapacity: 4 } });
  await s.settle();
  insts = await s.live('autoscaling.berth.dev/group-name=mixed');
  t.equal(insts.length, 4);
  t.equal(insts.filter((i) => !isSpot(i)).length, 3, 'On-Demand kept (its share rose by rounding up: 4 → 3)');
  t.equal(insts.filter(isSpot).length, 1);
});

t.test('an instant EC2 Fleet launches once; a maintain fleet replaces what terminates', async (t) => {
  const s = await setup(t);
  const spec = (type: 'instant' | 'maintain') => ({
    type,
    overrides: [{ instanceType: 'c5.large' }, { instanceType: 'c6i.large' }, { instanceType: 'c5a.large' }],
    availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    targetCapacitySpecification: { totalTargetCapacity: 5, onDemandTargetCapacity: 1 },
    spotOptions: { allocationStrategy: 'capacity-optimized' as const },
  });
  await s.client.create<Fleet>({ apiVersion: FleetKind.apiVersion, kind: FleetKind.kind, metadata: { name: 'once' }, spec: spec('instant') });
  await s.client.create<Fleet>({ apiVersion: FleetKind.apiVersion, kind: FleetKind.kind, metadata: { name: 'keep' }, spec: spec('maintain') });
  await s.settle();
  for (const name of ['once', 'keep']) {
    const f = await s.client.get<Fleet>(FleetKind, name);
    t.match(f.status, { fleetState: 'active', activityStatus: 'fulfilled', fulfilledCapacity: 5, fulfilledOnDemandCapacity: 1 }, name);
    t.equal(f.status!.instances!.filter((i) => i.lifecycle === 'spot').length, 4);
  }
  await s.clock.advance(30_000);
  await s.settle();
  const victims = [...(await s.live('ec2.berth.dev/fleet-id=once')), ...(await s.live('ec2.berth.dev/fleet-id=keep'))].filter(isSpot).filter((_, i) => i % 4 === 0);
  t.equal(victims.length, 2);
  for (const v of victims) await s.client.patch(Kinds.Instance, v.metadata.name!, undefined, 'merge', { metadata: { annotations: { 'ec2.berth.dev/send-spot-interruption': 'test' } } });
  await s.settle();
  await s.clock.advance(120_000);
  await s.settle();
  t.equal((await s.live('ec2.berth.dev/fleet-id=once')).length, 4, 'instant: the interrupted one is not replaced');
  t.equal((await s.live('ec2.berth.dev/fleet-id=keep')).length, 5, 'maintain: replaced');
  t.match((await s.client.get<Fleet>(FleetKind, 'once')).status, { fulfilledCapacity: 4 });
  await t.rejects(s.client.create<Fleet>({ apiVersion: FleetKind.apiVersion, kind: FleetKind.kind, metadata: { name: 'bad' }, spec: { ...spec('maintain'), targetCapacitySpecification: { totalTargetCapacity: 2, onDemandTargetCapacity: 3 } } }), {
    code: 422,
    message: /spec\.targetCapacitySpecification\.onDemandTargetCapacity: Invalid value: 3: must be a whole number from 0 to totalTargetCapacity/,
  });
});
