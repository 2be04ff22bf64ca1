import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Node, Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { catalog } from '../cloud/catalog.js';
import type { Instance } from '../cloud/types.js';
import { virtualCluster } from '../nodeautoscaler/vcluster.testutil.js';
import { offeringOf } from './bench.js';
import { highs, plan, type PodGroup } from './planner.js';
import { KarpenterKinds, type NodeClaim, type NodePool } from './types.js';

const MIN = 60_000;
const CORPUS = join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/corpus/karpenter/general-purpose.yaml');
const GiB = 1024 ** 3;

const deployment = (name: string, replicas: number, cpu: string, memory: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - {name: c, image: nginx, resources: {requests: {cpu: "${cpu}", memory: ${memory}}}}
`;

/** USD per hour of the running instances. */
async function hourly(c: import('../client/client.js').Client): Promise<number> {
  return (await c.list<Instance>(Kinds.Instance)).items.filter((i) => i.status?.state === 'running').reduce((s, i) => s + (i.status?.hourlyPrice ?? 0), 0);
}

t.test('the corpus NodePool applies unchanged, provisions a cheap mix for pending pods, and consolidation lowers the cost', async (t) => {
  // Load the solver (WebAssembly, real time) before virtual time starts, so a loaded machine cannot race it.
  await highs();
  const vc = await virtualCluster();
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await vc.apply(readFileSync(CORPUS, 'utf8'));
  t.equal((await c.list(KarpenterKinds.NodePool)).items.length, 1, 'NodePool general-purpose');
  t.equal((await c.list(KarpenterKinds.EC2NodeClass)).items.length, 1, 'EC2NodeClass default');

  // A mixed workload: compute-heavy and memory-heavy pods.
  await vc.apply(deployment('cpu', 20, '2', '2Gi') + '---' + deployment('mem', 20, '500m', '14Gi'));
  const running = async () => (await c.list<Pod>(Kinds.Pod)).items.filter((p) => p.status?.phase === 'Running').length;
  const took = await vc.until(async () => (await running()) === 40, 10 * MIN);
  t.ok(took >= 0, `all 40 pods running after ${took / 1000} virtual s`);
  const claims = (await c.list<NodeClaim>(KarpenterKinds.NodeClaim)).items;
  t.ok(claims.length > 0, `${claims.length} NodeClaims`);
  const nodes = (await c.list<Node>(Kinds.Node)).items;
  await vc.run(10_000);
  const pool = await c.get<NodePool>(KarpenterKinds.NodePool, 'general-purpose');
  t.equal(pool.status?.resources?.nodes, String(nodes.length), 'NodePool status.resources counts its nodes');
  const vcpus = nodes.reduce((s, n) => s + Number(n.status?.capacity?.cpu ?? 0), 0);
  t.equal(pool.status?.resources?.cpu, String(vcpus), `status.resources.cpu is the nodes' ${vcpus} vCPUs`);
  t.equal(pool.status?.conditions?.find((x) => x.type === 'Ready')?.status, 'True', 'NodePool Ready');
  t.equal(pool.status?.conditions?.find((x) => x.type === 'NodeClassReady')?.status, 'True');
  for (const n of nodes) {
    const l = n.metadata.labels ?? {};
    t.match(l['karpenter.k8s.aws/instance-category'], /^[cmr]$/, `${n.metadata.name} is c, m or r`);
    t.ok(Number(l['karpenter.k8s.aws/instance-generation']) > 2, 'generation > 2');
    t.equal(l['kubernetes.io/arch'], 'amd64');
    t.equal(l['karpenter.sh/capacity-type'], 'on-demand');
    t.equal(l['karpenter.sh/nodepool'], 'general-purpose');
  }
  const cost = await hourly(c);
  // The cheapest single-type group for the same pods (any allowed type), by the same packing rules.
  const cat = catalog();
  const allowed = cat.list().filter((x) => ['c', 'm', 'r'].includes(x.family.replace(/\d.*$/, '')) && Number(x.family.match(/\d+/)?.[0] ?? 0) > 2 && x.arch !== 'arm64');
  const groups: PodGroup[] = [
    { key: 'cpu', cpu: 2000, memory: 2 * GiB, count: 20, compatible: () => true },
    { key: 'mem', cpu: 500, memory: 14 * GiB, count: 20, compatible: () => true },
  ];
  let single = Infinity;
  for (const x of allowed) {
    const p = plan(groups, [offeringOf(x)]);
    if (!p.unplaced.some((u) => u > 0)) single = Math.min(single, p.hourlyCost);
  }
  // The 40 pods reach the provisioner in one batch and are planned together; the nominations
  // keep the scheduler to the planned packing, so no second round adds nodes.
  t.ok(cost < single, `NodePool mix $${cost.toFixed(4)}/h is cheaper than the best single-type group $${single.toFixed(4)}/h`);
  const pods = (await c.list<Pod>(Kinds.Pod)).items;
  t.ok(pods.some((p) => p.status?.nominatedNodeName), 'pods were nominated to the nodes planned for them');
  t.ok(cost < single * 1.15, `NodePool mix $${cost.toFixed(4)}/h within 15 % of the best single-type group`);

  // Scale down: consolidation removes or replaces the emptied nodes.
  await c.patch(Kinds.Deployment, 'cpu', 'default', 'merge', { spec: { replicas: 4 } });
  await c.patch(Kinds.Deployment, 'mem', 'default', 'merge', { spec: { replicas: 4 } });
  await vc.run(15 * MIN);
  const after = await hourly(c);
  t.ok(after < cost * 0.5, `consolidation: $${cost.toFixed(4)}/h → $${after.toFixed(4)}/h`);
  t.equal(await running(), 8, 'the 8 pods still run');
});

t.test('do-not-disrupt keeps an under-used node', async (t) => {
  const vc = await virtualCluster();
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await vc.apply(readFileSync(CORPUS, 'utf8'));
  // One pod per node (required anti-affinity on the hostname).
  await vc.apply(
    deployment('a', 4, '1', '1Gi').replace(
      '      containers:',
      '      affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: {matchLabels: {app: a}}, topologyKey: kubernetes.io/hostname}]}}\n      containers:',
    ),
  );
  await vc.until(async () => (await c.list<Pod>(Kinds.Pod)).items.filter((p) => p.status?.phase === 'Running').length === 4, 15 * MIN);
  const nodes = (await c.list<Node>(Kinds.Node)).items;
  t.equal(nodes.length, 4, 'four nodes');
  for (const n of nodes) await c.patch(Kinds.Node, n.metadata.name!, undefined, 'merge', { metadata: { annotations: { 'karpenter.sh/do-not-disrupt': 'true' } } });
  const before = await hourly(c);
  await c.patch(Kinds.Deployment, 'a', 'default', 'merge', { spec: { replicas: 1 } });
  await vc.run(10 * MIN);
  t.equal((await c.list<Node>(Kinds.Node)).items.length, 4, 'no node disrupted');
  t.equal(await hourly(c), before, 'the same hourly cost');
  // Without the annotation, the three empty nodes go.
  for (const n of nodes) await c.patch(Kinds.Node, n.metadata.name!, undefined, 'merge', { metadata: { annotations: { 'karpenter.sh/do-not-disrupt': null } } });
  await vc.run(10 * MIN);
  t.equal((await c.list<Node>(Kinds.Node)).items.length, 1, 'the empty nodes were consolidated away');
});

t.test('multi-node consolidation: three nodes whose pods fit nowhere else go at once for one node cheaper than the three (Karpenter\'s binary search over the candidates)', async (t) => {
  await highs();
  const vc = await virtualCluster();
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await vc.apply(`
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: pair}
spec:
  template:
    spec:
      requirements:
      - {key: node.kubernetes.io/instance-type, operator: In, values: [m5.xlarge, c5.2xlarge]}
      - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
  # The default budget (10% of 3 nodes: 1) lets one node go at a time; all three may go here.
  disruption: {consolidationPolicy: WhenEmptyOrUnderutilized, consolidateAfter: 0s, budgets: [{nodes: "100%"}]}
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default}
spec:
  role: KarpenterNodeRole-berth
  amiSelectorTerms: [{alias: al2023@latest}]
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: berth}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: berth}}]
`);
  // One 2.5-core pod at a time: each gets its own m5.xlarge (4 vCPU, $0.192/hour), the cheapest
  // node for one. No pod fits beside another (1.4 cores left), and no type cheaper than an
  // m5.xlarge holds one, so no single node can go or be replaced. Two or three together fit a
  // c5.2xlarge (8 vCPU, $0.34/hour): cheaper than two m5.xlarge ($0.384), and than three.
  const running = async () => (await c.list<Pod>(Kinds.Pod)).items.filter((p) => p.status?.phase === 'Running').length;
  for (const [k, name] of ['a', 'b', 'c'].entries()) {
    await vc.apply(deployment(name, 1, '2500m', '1Gi'));
    t.ok((await vc.until(async () => (await running()) === k + 1, 10 * MIN)) >= 0, `pod ${name} running`);
  }
  const types = async () => (await c.list<Node>(Kinds.Node)).items.map((n) => n.metadata.labels?.['node.kubernetes.io/instance-type']).sort();
  t.same(await types(), ['m5.xlarge', 'm5.xlarge', 'm5.xlarge'], 'three m5.xlarge nodes');
  const before = await hourly(c);
  const took = await vc.until(async () => JSON.stringify(await types()) === JSON.stringify(['c5.2xlarge']) && (await running()) === 3, 20 * MIN);
  t.ok(took >= 0, `the three nodes were replaced by one c5.2xlarge, the pods running on it, after ${took / 1000} virtual s`);
  const after = await hourly(c);
  t.ok(after < before, `hourly cost ${after.toFixed(3)} < ${before.toFixed(3)} USD`);
  const events = (await c.list<{ reason?: string; message?: string } & import('../api/types.js').KubeObject>(Kinds.Event)).items;
  t.ok(events.some((e) => e.reason === 'DisruptionLaunching' && /replacing 3 nodes/.test(e.message ?? '')), 'the NodeClaims say three nodes were replaced together');
});
