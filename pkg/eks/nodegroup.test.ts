import t from 'tap';
import type { Node } from '../api/types.js';
import { Kinds } from '../client/client.js';
import type { AutoScalingGroup } from '../cloud/types.js';
import { virtualCluster } from '../nodeautoscaler/vcluster.testutil.js';
import { NodegroupKind, nodegroupAsgName, type Nodegroup } from './nodegroup.js';

const MIN = 60_000;

t.test('a managed node group is backed by an Auto Scaling group as in EKS, with its labels, taints, tags and status', async (t) => {
  const vc = await virtualCluster({ components: ['cloud', 'controllers', 'scheduler', 'agent', 'eks'] });
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await vc.apply(`
apiVersion: eks.berth.dev/v1
kind: Nodegroup
metadata: {name: workers}
spec:
  clusterName: prod
  scalingConfig: {minSize: 1, maxSize: 4, desiredSize: 2}
  instanceTypes: [m5.large]
  labels: {team: web}
  taints: [{key: dedicated, value: web, effect: NO_SCHEDULE}]
  amiType: AL2023_x86_64_STANDARD
  diskSize: 50
`);
  const ng = await c.get<Nodegroup>(NodegroupKind, 'workers');
  const name = nodegroupAsgName(ng);
  t.match(name, /^eks-workers-[0-9a-f-]{36}$/, 'the group is named eks-<nodegroup>-<uuid>');
  const ready = async () => (await c.list<Node>(Kinds.Node)).items.filter((n) => n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
  t.ok((await vc.until(async () => (await ready()).length === 2, 10 * MIN)) >= 0, 'two nodes Ready');
  const asg = await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, name);
  t.same([asg.spec.minSize, asg.spec.desiredCapacity, asg.spec.maxSize], [1, 2, 4]);
  t.equal(asg.spec.tags?.['eks:nodegroup-name'], 'workers');
  t.equal(asg.spec.tags?.['eks:cluster-name'], 'prod');
  t.equal(asg.spec.tags?.['k8s.io/cluster-autoscaler/enabled'], 'true', 'tagged for Cluster Autoscaler auto-discovery');
  t.equal(asg.spec.tags?.['kubernetes.io/cluster/prod'], 'owned');
  t.equal(asg.metadata.ownerReferences?.[0]?.name, 'workers', 'owned by the node group');
  for (const n of await ready()) {
    t.equal(n.metadata.labels?.['eks.amazonaws.com/nodegroup'], 'workers');
    t.equal(n.metadata.labels?.['eks.amazonaws.com/capacityType'], 'ON_DEMAND');
    t.equal(n.metadata.labels?.team, 'web');
    t.same(n.spec?.taints?.find((x) => x.key === 'dedicated'), { key: 'dedicated', value: 'web', effect: 'NoSchedule' }, 'EKS effect NO_SCHEDULE is NoSchedule');
  }
  await vc.run(10_000);
  const st = (await c.get<Nodegroup>(NodegroupKind, 'workers')).status!;
  t.equal(st.status, 'ACTIVE');
  t.same(st.resources?.autoScalingGroups, [{ name }]);
  t.same(st.health?.issues, []);
  t.equal(st.readyNodes, 2);

  // A new desiredSize reaches the group.
  await c.patch(NodegroupKind, 'workers', undefined, 'merge', { spec: { scalingConfig: { minSize: 1, maxSize: 4, desiredSize: 3 } } });
  t.ok((await vc.until(async () => (await ready()).length === 3, 10 * MIN)) >= 0, 'three nodes after desiredSize 3');
  t.equal((await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, name)).spec.desiredCapacity, 3);

  // Deleting the node group deletes its group and instances.
  await c.delete(NodegroupKind, 'workers');
  t.ok((await vc.until(async () => !(await c.tryGet(Kinds.AutoScalingGroup, name)), 10 * MIN)) >= 0, 'the group goes with the node group');
});

t.test('Spot node groups: price-capacity-optimized with Capacity Rebalancing; bad sizes refused; an unknown type is a health issue', async (t) => {
  const vc = await virtualCluster({ components: ['cloud', 'controllers', 'eks'] });
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await vc.apply(`
apiVersion: eks.berth.dev/v1
kind: Nodegroup
metadata: {name: spot}
spec:
  instanceTypes: [c5.large, c5a.large, m5.large]
  capacityType: SPOT
`);
  const ng = await c.get<Nodegroup>(NodegroupKind, 'spot');
  await vc.run(5000);
  const asg = await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, nodegroupAsgName(ng));
  t.same([asg.spec.minSize, asg.spec.desiredCapacity, asg.spec.maxSize], [1, 2, 2], "EKS's default scaling config");
  t.equal(asg.spec.capacityRebalance, true);
  t.equal(asg.spec.mixedInstancesPolicy?.instancesDistribution?.spotAllocationStrategy, 'price-capacity-optimized');
  t.equal(asg.spec.mixedInstancesPolicy?.instancesDistribution?.onDemandPercentageAboveBaseCapacity, 0);
  t.same(asg.spec.mixedInstancesPolicy?.launchTemplate?.overrides?.map((o) => o.instanceType), ['c5.large', 'c5a.large', 'm5.large']);
  t.equal(asg.spec.launchTemplate.nodeLabels?.['eks.amazonaws.com/capacityType'], 'SPOT');

  await t.rejects(c.create({ apiVersion: NodegroupKind.apiVersion, kind: 'Nodegroup', metadata: { name: 'bad' }, spec: { scalingConfig: { minSize: 0, maxSize: 3, desiredSize: 5 } } }), { code: 422, message: /spec\.scalingConfig\.desiredSize: Invalid value: 5: must be between minSize \(0\) and maxSize \(3\)/ });
  await t.rejects(c.create({ apiVersion: NodegroupKind.apiVersion, kind: 'Nodegroup', metadata: { name: 'bad' }, spec: { taints: [{ key: 'a', effect: 'NoSchedule' }] } }), { code: 422, message: /spec\.taints\[0\]\.effect: Unsupported value: "NoSchedule"/ });

  await c.create({ apiVersion: NodegroupKind.apiVersion, kind: 'Nodegroup', metadata: { name: 'odd' }, spec: { instanceTypes: ['zz9.huge'] } });
  await vc.run(5000);
  const odd = await c.get<Nodegroup>(NodegroupKind, 'odd');
  t.equal(odd.status?.status, 'CREATING');
  t.equal(odd.status?.health?.issues[0]?.code, 'AutoScalingGroupInvalidConfiguration');
  t.match(odd.status?.health?.issues[0]?.message, /zz9\.huge/);
});
