/**
 * DaemonSets in virtual time with the scheduler and node agent. Expected behaviour from
 * https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/ and
 * https://kubernetes.io/docs/tasks/manage-daemon/update-daemon-set/.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { isPodAvailable } from '../../api/podutil.js';
import type { KubeObject, Node, Pod } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import { simNode, virtualCluster, type VirtualCluster } from '../testcluster.js';
import type { DaemonSet } from '../types.js';
import { shouldRun } from './daemonset.js';

const CORPUS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/corpus');

function ds(name: string, extra: Partial<DaemonSet['spec']> = {}, image = 'agent:v1'): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'default' },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'a', image }] } }, ...extra },
  };
}

const getDs = (c: VirtualCluster, name: string, ns = 'default'): Promise<DaemonSet> => c.client.get<DaemonSet>(Kinds.DaemonSet, name, ns);
const nodeOf = (p: Pod): string | undefined => p.spec.nodeName;

t.test('the corpus fluentd DaemonSet runs one pod on each node whose taints it tolerates', async (t) => {
  const nodes = [
    simNode('n1', 1),
    simNode('n2', 2, {}, [{ key: 'node-role.kubernetes.io/master', effect: 'NoSchedule' }]),
    simNode('n3', 3, {}, [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]),
  ];
  const c = await virtualCluster(t, { nodes });
  const [doc] = parseAllDocuments(readFileSync(`${CORPUS}/k8s-website/daemonset.yaml`, 'utf8')).map((d) => d.toJS() as KubeObject);
  await c.client.create(doc!);
  const status = await c.until(async () => {
    const d = await getDs(c, 'fluentd-elasticsearch', 'kube-system');
    return d.status?.numberReady === 2 ? d.status : undefined;
  }, 'two ready daemon pods', 30_000);
  t.match(status, { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 0, numberReady: 2, updatedNumberScheduled: 2, numberAvailable: 2 });
  const pods = await c.pods('kube-system', 'name=fluentd-elasticsearch');
  t.same(pods.map(nodeOf).sort(), ['n1', 'n2'], 'not on n3 (dedicated=gpu:NoSchedule is not tolerated)');
  const p = pods[0]!;
  t.match(p.metadata.name, /^fluentd-elasticsearch-[a-z0-9]{5}$/);
  t.same(p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeOf(p)] }] }] }, 'pinned to its node through affinity');
  const tol = (p.spec.tolerations ?? []).map((x) => `${x.key}:${x.effect}${x.tolerationSeconds !== undefined ? `:${x.tolerationSeconds}` : ''}`);
  for (const want of ['node-role.kubernetes.io/master:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/disk-pressure:NoSchedule', 'node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/pid-pressure:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']) {
    t.ok(tol.includes(want), `daemon toleration ${want}`);
  }
  t.ok(p.metadata.labels?.['controller-revision-hash'], 'labelled with its revision');
  t.equal(p.metadata.labels?.['pod-template-generation'], '1');

  // A node joins: it gets a daemon pod. A node goes: its pod goes.
  await c.client.create(simNode('n4', 4) as KubeObject);
  await c.until(async () => (await c.pods('kube-system', 'name=fluentd-elasticsearch')).some((x) => nodeOf(x) === 'n4' && x.status?.phase === 'Running'), 'a pod on the new node');
  await c.client.delete(Kinds.Node, 'n1');
  await c.until(async () => !(await c.pods('kube-system', 'name=fluentd-elasticsearch')).some((x) => nodeOf(x) === 'n1'), 'the pod of the removed node to go', 60_000);
  t.equal((await getDs(c, 'fluentd-elasticsearch', 'kube-system')).status?.desiredNumberScheduled, 2);
});

t.test('nodeSelector limits the nodes; a NoExecute taint it does not tolerate evicts its pod', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1', 1, { disk: 'ssd' }), simNode('n2', 2, { disk: 'hdd' }), simNode('n3', 3, { disk: 'ssd' })] });
  const d = ds('ssd-agent');
  d.spec.template.spec.nodeSelector = { disk: 'ssd' };
  await c.client.create(d);
  await c.until(async () => (await getDs(c, 'ssd-agent')).status?.numberReady === 2, 'two ready');
  t.same((await c.pods('default', 'app=ssd-agent')).map(nodeOf).sort(), ['n1', 'n3']);
  await c.client.patch(Kinds.Node, 'n3', undefined, 'merge', { spec: { taints: [{ key: 'maintenance', effect: 'NoExecute' }] } });
  await c.until(async () => (await c.pods('default', 'app=ssd-agent')).every((p) => nodeOf(p) !== 'n3'), 'the pod on n3 to go', 60_000);
  t.equal((await getDs(c, 'ssd-agent')).status?.desiredNumberScheduled, 1);
  // A NoSchedule taint lets a running daemon pod stay (shouldContinueRunning).
  const n1 = await c.client.get<Node>(Kinds.Node, 'n1');
  t.equal(shouldRun(d, { ...n1, spec: { ...n1.spec, taints: [{ key: 'x', effect: 'NoSchedule' }] } }), 'keep');
});

t.test('rolling update with maxUnavailable 1 replaces one node at a time', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1', 1), simNode('n2', 2), simNode('n3', 3)] });
  await c.client.create(ds('roll', { minReadySeconds: 5 }));
  await c.until(async () => (await getDs(c, 'roll')).status?.numberAvailable === 3, 'three available', 30_000);
  await c.client.patch(Kinds.DaemonSet, 'roll', 'default', 'json', [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'agent:v2' }]);
  let fewest = 3;
  await c.until(async () => {
    const pods = (await c.pods('default', 'app=roll')).filter((p) => !p.metadata.deletionTimestamp);
    fewest = Math.min(fewest, pods.filter((p) => isPodAvailable(p, 5, c.clock.now())).length);
    const s = (await getDs(c, 'roll')).status;
    return s?.updatedNumberScheduled === 3 && s.numberAvailable === 3 && pods.every((p) => p.spec.containers[0]!.image === 'agent:v2');
  }, 'the update to finish', 120_000, 250);
  t.equal(fewest, 2, 'never more than one node without an available pod');
});

t.test('rolling update with maxSurge 1 starts the new pod before the old one goes', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1', 1), simNode('n2', 2)] });
  await c.client.create(ds('surge', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }));
  await c.until(async () => (await getDs(c, 'surge')).status?.numberAvailable === 2, 'two available', 30_000);
  await c.client.patch(Kinds.DaemonSet, 'surge', 'default', 'json', [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'agent:v2' }]);
  let fewest = 2;
  let most = 0;
  await c.until(async () => {
    const pods = (await c.pods('default', 'app=surge')).filter((p) => !p.metadata.deletionTimestamp);
    fewest = Math.min(fewest, pods.filter((p) => isPodAvailable(p, 0, c.clock.now())).length);
    most = Math.max(most, pods.length);
    return pods.length === 2 && pods.every((p) => p.spec.containers[0]!.image === 'agent:v2' && p.status?.phase === 'Running');
  }, 'the update to finish', 120_000, 250);
  t.equal(fewest, 2, 'availability never drops');
  t.equal(most, 3, 'one surge pod at a time');
});
