import t from 'tap';
import type { Node, Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import type { AutoScalingGroup } from '../cloud/types.js';
import { deployment, group, virtualCluster } from './vcluster.testutil.js';

const MIN = 60_000;

t.test('scale-down keeps a node whose pod is not safe to evict, and one a PodDisruptionBudget protects', async (t) => {
  const vc = await virtualCluster();
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  // A group the autoscaler does not manage, with room for one more pod, and three autoscaled nodes.
  await vc.apply(`
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: base}
spec: {minSize: 1, maxSize: 1, launchTemplate: {instanceType: m5.xlarge}, availabilityZones: [us-east-1a]}
---
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: workers}
spec:
  tags: {k8s.io/cluster-autoscaler/enabled: "true"}
  minSize: 0
  maxSize: 5
  desiredCapacity: 3
  launchTemplate: {instanceType: m5.xlarge, nodeLabels: {pool: workers}}
  availabilityZones: [us-east-1a]
`);
  await vc.run(3 * MIN);
  // One pod per node (required anti-affinity), preferring the workers' nodes.
  const spread = `, annotations: {}}
    spec:
      affinity:
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution: [{weight: 100, preference: {matchExpressions: [{key: pool, operator: In, values: [workers]}]}}]
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: {matchLabels: {spread: x}}, topologyKey: kubernetes.io/hostname}]
      containers:
      - {name: c, image: nginx, resources: {requests: {cpu: 500m, memory: 1Gi}}}
`;
  const dep = (name: string, ann: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}, spread: x}${spread.replace('{}', ann)}`;
  await vc.apply(dep('pinned', '{cluster-autoscaler.kubernetes.io/safe-to-evict: "false"}') + '---' + dep('guarded', '{}') + '---' + dep('free', '{}'));
  await vc.apply(`
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: guarded}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: guarded}}
`);
  await vc.run(MIN);
  const where = async () => {
    const nodes = new Map((await c.list<Node>(Kinds.Node)).items.map((n) => [n.metadata.name!, n.metadata.labels?.pool ?? 'base']));
    const out: Record<string, string> = {};
    for (const p of (await c.list<Pod>(Kinds.Pod)).items) if (p.status?.phase === 'Running') out[p.metadata.labels!.app!] = nodes.get(p.spec.nodeName!) ?? '?';
    return out;
  };
  t.same(await where(), { pinned: 'workers', guarded: 'workers', free: 'workers' }, 'each pod on its own workers node');
  await vc.run(15 * MIN);
  t.same(await where(), { pinned: 'workers', guarded: 'workers', free: 'base' }, 'only the free pod moved (to the base node)');
  t.equal((await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'workers')).spec.desiredCapacity, 2, 'one workers node removed');
});

t.test('expanders: least-waste picks the group that fits the pods best; priority follows the ConfigMap', async (t) => {
  const vc = await virtualCluster({ autoscaling: { nodeAutoscaler: { expanders: ['priority', 'least-waste'] } } });
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  const g0 = (name: string, type: string) => group(name, type).replace('minSize: 1', 'minSize: 0');
  await vc.apply(g0('big', 'm5.4xlarge') + '---' + g0('small', 'm5.large'));
  // One 1.5-cpu pod: an m5.large (1930m) wastes less than an m5.4xlarge.
  await vc.apply(deployment('one', 1, '1500m'));
  await vc.run(20_000);
  t.equal((await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'small')).spec.desiredCapacity, 1, 'least-waste: small grew');
  t.equal((await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'big')).spec.desiredCapacity, 0);
  await vc.apply(`
apiVersion: v1
kind: ConfigMap
metadata: {name: cluster-autoscaler-priority-expander, namespace: kube-system}
data:
  priorities: |-
    50:
      - ^big$
    10:
      - .*
`);
  await vc.run(3 * MIN);
  await vc.apply(deployment('two', 1, '1500m'));
  await vc.run(20_000);
  t.equal((await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'big')).spec.desiredCapacity, 1, 'priority: big grew');
});
