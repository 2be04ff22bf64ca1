/**
 * The Kubernetes documentation's own scheduling examples (../shared/corpus/k8s-website), run
 * through berth's scheduler on the clusters the documentation describes; each pod must land where
 * the documentation says Kubernetes puts it.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { getCondition } from '../api/meta.js';
import type { Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { eventually, makeNode, makePod, startTestApi } from '../testing/index.js';
import { installScheduler } from './install.js';

const CORPUS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/corpus/k8s-website');
const manifest = (file: string): Pod => parseAllDocuments(readFileSync(resolve(CORPUS, file), 'utf8'))[0]!.toJS() as Pod;

async function cluster(t: { teardown(fn: () => unknown): void }) {
  const clock = new VirtualClock();
  const api = await startTestApi({ clock });
  await installScheduler(api.api, api.mgr, { batchThreshold: Infinity });
  await api.start();
  t.teardown(() => api.stop());
  const c = api.client;
  const get = (name: string) => c.get<Pod>(Kinds.Pod, name, 'default');
  return {
    c,
    get,
    bound: (name: string) => eventually(async () => (await get(name)).spec.nodeName, `pod ${name} bound`, 10_000, clock),
    condition: (name: string) => eventually(async () => getCondition((await get(name)).status?.conditions, 'PodScheduled'), `pod ${name} condition`, 10_000, clock),
  };
}

t.test('two-constraints.yaml: zone and node spread leave only node4', async (t) => {
  // https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/#example-multiple-topologyspreadconstraints
  // Zone A: node1, node2; zone B: node3, node4; one foo=bar pod on each of node1, node2, node3.
  const k = await cluster(t);
  for (const [n, zone] of [['node1', 'zoneA'], ['node2', 'zoneA'], ['node3', 'zoneB'], ['node4', 'zoneB']] as const) {
    await k.c.create(makeNode(n).capacity({ cpu: '4', memory: '8Gi' }).label('zone', zone).label('node', n).obj());
  }
  for (const n of ['node1', 'node2', 'node3']) await k.c.create(makePod(`existing-${n}`).label('foo', 'bar').node(n).obj());
  await k.c.create(manifest('two-constraints.yaml'));
  t.equal(await k.bound('mypod'), 'node4', 'zone B has fewer pods, and node4 none');
});

t.test('pod-with-toleration.yaml: only the taint it tolerates is open to it', async (t) => {
  // https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/
  const k = await cluster(t);
  await k.c.create(makeNode('node1').capacity({ cpu: '4', memory: '8Gi' }).taint({ key: 'key1', value: 'value1', effect: 'NoSchedule' }).obj());
  await k.c.create(makeNode('node2').capacity({ cpu: '4', memory: '8Gi' }).taint({ key: 'example-key', value: 'anything', effect: 'NoSchedule' }).obj());
  await k.c.create(manifest('pod-with-toleration.yaml'));
  t.equal(await k.bound('nginx'), 'node2', 'Exists tolerates example-key whatever its value');
});

t.test('extended-resource-pod.yaml: 3 of 4 dongles; a second pod asking for 2 stays Pending', async (t) => {
  // https://kubernetes.io/docs/tasks/configure-pod-container/extended-resource/
  const k = await cluster(t);
  await k.c.create(makeNode('node1').capacity({ cpu: '4', memory: '8Gi', 'example.com/dongle': '4' }).obj());
  await k.c.create(makeNode('node2').capacity({ cpu: '4', memory: '8Gi' }).obj());
  await k.c.create(manifest('extended-resource-pod.yaml'));
  t.equal(await k.bound('extended-resource-demo'), 'node1', 'only node1 has dongles');
  const second = manifest('extended-resource-pod.yaml');
  second.metadata.name = 'extended-resource-demo-2';
  second.spec.containers[0]!.resources = { requests: { 'example.com/dongle': '2' }, limits: { 'example.com/dongle': '2' } };
  await k.c.create(second);
  const cond = await k.condition('extended-resource-demo-2');
  t.equal(cond.status, 'False');
  t.match(cond.message, /^0\/2 nodes are available: 2 Insufficient example\.com\/dongle\./, 'as the documentation shows');
});
