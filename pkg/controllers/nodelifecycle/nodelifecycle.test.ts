/**
 * Node lifecycle and taint-based eviction in virtual time. A node's kubelet is "stopped" by
 * labelling the node so the node agent no longer serves it: its Lease stops being renewed.
 * Expected behaviour from https://kubernetes.io/docs/concepts/architecture/nodes/#node-controller
 * (40 s grace period) and
 * https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions
 * (pods tolerate not-ready/unreachable for 300 s by default).
 */
import t from 'tap';
import type { Node, Pod } from '../../api/types.js';
import { parseTime } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import { makePod } from '../../testing/builders.js';
import { simNode, virtualCluster } from '../testcluster.js';
import type { Lease } from '../types.js';
import { readinessTaints } from './nodelifecycle.js';
import { evictionTime } from './tainteviction.js';

const ready = (n: Node): { status?: string; reason?: string; message?: string } | undefined => n.status?.conditions?.find((c) => c.type === 'Ready');

t.test('a node whose kubelet stops heartbeating goes Unknown after 40 s, is tainted, and its pods are evicted after their tolerationSeconds', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1', 1), simNode('n2', 2)], controllers: ['nodelifecycle', 'tainteviction'], scheduler: false, agentNodeSelector: 'kubelet!=stopped' });
  const pod = (name: string, tolerations: Pod['spec']['tolerations'] = []): Pod => {
    const p = makePod(name).node('n2').obj();
    delete p.metadata.uid;
    p.spec.tolerations = tolerations;
    return p;
  };
  await c.client.create(pod('short', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }]));
  await c.client.create(pod('default'));
  await c.client.create(pod('forever', [{ operator: 'Exists', effect: 'NoExecute' }]));
  await c.until(async () => (await c.pods()).filter((p) => p.status?.phase === 'Running').length === 3, 'three running pods');
  const defaults = (await c.client.get<Pod>(Kinds.Pod, 'default', 'default')).spec.tolerations;
  t.match(defaults, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', tolerationSeconds: 300 }, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', tolerationSeconds: 300 }], 'DefaultTolerationSeconds');
  await c.advance(60_000);
  t.equal(ready(await c.client.get<Node>(Kinds.Node, 'n2'))?.status, 'True', 'healthy while the Lease is renewed every 10 s');

  // Stop n2's kubelet.
  await c.client.patch(Kinds.Node, 'n2', undefined, 'merge', { metadata: { labels: { kubelet: 'stopped' } } });
  await c.advance(0);
  const lastRenew = parseTime((await c.client.get<Lease>(Kinds.Lease, 'n2', 'kube-node-lease')).spec?.renewTime);
  await c.advance(lastRenew + 39_000 - c.clock.now());
  t.equal(ready(await c.client.get<Node>(Kinds.Node, 'n2'))?.status, 'True', 'still Ready 39 s after the last renewal');
  await c.advance(2_000);
  const n2 = await c.client.get<Node>(Kinds.Node, 'n2');
  t.match(ready(n2), { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
  t.equal(n2.status?.conditions?.find((x) => x.type === 'MemoryPressure')?.status, 'Unknown');
  t.same(n2.spec.taints?.map((x) => `${x.key}:${x.effect}`), ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
  const tainted = parseTime(n2.spec.taints![1]!.timeAdded);
  t.equal(ready(await c.client.get<Node>(Kinds.Node, 'n1'))?.status, 'True', 'n1 is unaffected');
  t.equal((await c.client.get<Pod>(Kinds.Pod, 'default', 'default')).status?.conditions?.find((x) => x.type === 'Ready')?.status, 'False', 'its pods are marked not Ready');

  const deletedAt = async (name: string): Promise<number> => parseTime((await c.client.get<Pod>(Kinds.Pod, name, 'default')).metadata.deletionTimestamp);
  await c.advance(tainted + 59_000 - c.clock.now());
  t.ok(Number.isNaN(await deletedAt('short')), 'the 60 s pod stays for 59 s');
  await c.advance(2_000);
  const short = await c.client.get<Pod>(Kinds.Pod, 'short', 'default');
  t.ok(short.metadata.deletionTimestamp, 'then it is deleted (it stays Terminating: its kubelet is gone)');
  t.match(short.status?.conditions?.find((x) => x.type === 'DisruptionTarget'), { status: 'True', reason: 'DeletionByTaintManager' });
  await c.advance(tainted + 299_000 - c.clock.now());
  t.ok(Number.isNaN(await deletedAt('default')), 'the default 300 s: not yet at 299 s');
  await c.advance(2_000);
  t.ok(!Number.isNaN(await deletedAt('default')), 'deleted at 300 s');
  t.ok(Number.isNaN(await deletedAt('forever')), 'a toleration without tolerationSeconds keeps the pod');

  // The kubelet comes back: Ready again, taints removed.
  await c.client.patch(Kinds.Node, 'n2', undefined, 'merge', { metadata: { labels: { kubelet: null } } });
  const back = await c.until(async () => {
    const n = await c.client.get<Node>(Kinds.Node, 'n2');
    return ready(n)?.status === 'True' && !(n.spec.taints ?? []).length ? n : undefined;
  }, 'n2 Ready and untainted', 60_000);
  t.ok(back);
});

t.test('taints follow the Ready condition; eviction time is the shortest matching toleration', async (t) => {
  t.same(readinessTaints({ type: 'Ready', status: 'True' }, 'T'), []);
  t.same(readinessTaints({ type: 'Ready', status: 'False' }, 'T').map((x) => `${x.key}:${x.effect}`), ['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute']);
  t.same(readinessTaints(undefined, 'T').map((x) => x.key), ['node.kubernetes.io/unreachable', 'node.kubernetes.io/unreachable']);
  const taint = { key: 'k', effect: 'NoExecute' as const, timeAdded: '2026-01-01T00:00:00Z' };
  const t0 = Date.parse(taint.timeAdded);
  t.equal(evictionTime([], [taint], t0 + 5), t0 + 5, 'untolerated: now');
  t.equal(evictionTime([{ key: 'k', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }, { operator: 'Exists', tolerationSeconds: 10 }], [taint], t0), t0 + 10_000, 'the shortest of the matching tolerations');
  t.equal(evictionTime([{ key: 'k', operator: 'Exists' }], [taint], t0), undefined, 'for ever');
  t.equal(evictionTime([], [{ key: 'k', effect: 'NoSchedule' }], t0), undefined, 'NoSchedule taints do not evict');
});
