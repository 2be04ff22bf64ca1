/**
 * Deployment rollouts in virtual time, pods run by the scheduler and the node agent (a pod is
 * Ready 1 s after it is bound). Expected behaviour from
 * https://kubernetes.io/docs/concepts/workloads/controllers/deployment/.
 */
import t from 'tap';
import type { Deployment, Pod, ReplicaSet } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import { simNode, virtualCluster, type VirtualCluster } from '../testcluster.js';

function deployment(name: string, replicas: number, extra: Partial<Deployment['spec']> = {}, image = 'nginx:1.14.2'): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image }] } }, ...extra },
  };
}

const get = (c: VirtualCluster, name: string): Promise<Deployment> => c.client.get<Deployment>(Kinds.Deployment, name, 'default');
const progressing = (d: Deployment): { status?: string; reason?: string; message?: string } | undefined => d.status?.conditions?.find((x) => x.type === 'Progressing');
const sets = async (c: VirtualCluster): Promise<ReplicaSet[]> => (await c.client.list<ReplicaSet>(Kinds.ReplicaSet, { namespace: 'default' })).items;
const rev = (rs: ReplicaSet): string | undefined => rs.metadata.annotations?.['deployment.kubernetes.io/revision'];

t.test('minReadySeconds: pods count as available only after being Ready that long', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(deployment('slowready', 3, { minReadySeconds: 10 }));
  const ready = await c.until(async () => {
    const d = await get(c, 'slowready');
    return d.status?.readyReplicas === 3 ? d : undefined;
  }, 'three ready replicas', 10_000, 250);
  t.equal(ready.status?.availableReplicas ?? 0, 0, 'ready but not yet available');
  const sinceReady = c.clock.now();
  const avail = await c.until(async () => {
    const d = await get(c, 'slowready');
    return d.status?.availableReplicas === 3 ? d : undefined;
  }, 'three available replicas', 20_000, 250);
  const waited = c.clock.now() - sinceReady;
  t.ok(waited >= 9_000 && waited <= 11_000, `available about 10 s after ready (${waited} ms)`);
  t.equal(avail.status?.conditions?.find((x) => x.type === 'Available')?.status, 'True');
  // A later change of minReadySeconds reaches the ReplicaSet.
  await c.client.patch(Kinds.Deployment, 'slowready', 'default', 'merge', { spec: { minReadySeconds: 3 } });
  await c.until(async () => (await sets(c))[0]?.spec.minReadySeconds === 3, 'the ReplicaSet to follow');
});

t.test('progressDeadlineSeconds: a rollout that makes no progress is reported as failed', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  // No node has this label: the pods stay Pending and the rollout cannot progress.
  const d = deployment('stuck', 2, { progressDeadlineSeconds: 30 });
  d.spec.template.spec.nodeSelector = { disk: 'ssd' };
  await c.client.create(d);
  await c.advance(20_000);
  t.equal(progressing(await get(c, 'stuck'))?.status, 'True', 'still progressing before the deadline');
  const failed = await c.until(async () => {
    const x = await get(c, 'stuck');
    return progressing(x)?.reason === 'ProgressDeadlineExceeded' ? x : undefined;
  }, 'the progress deadline', 30_000, 1000);
  const rs = (await sets(c))[0]!;
  t.match(progressing(failed), { status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rs.metadata.name}" has timed out progressing.` });
});

t.test('revision history and rollback as kubectl rollout undo does it', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  const d = deployment('app', 2);
  d.metadata.annotations = { 'kubernetes.io/change-cause': 'first' };
  await c.client.create(d);
  const complete = async (revision: string): Promise<Deployment> =>
    c.until(async () => {
      const x = await get(c, 'app');
      return x.metadata.annotations?.['deployment.kubernetes.io/revision'] === revision && progressing(x)?.reason === 'NewReplicaSetAvailable' && x.status?.updatedReplicas === 2 && x.status.replicas === 2 ? x : undefined;
    }, `revision ${revision} rolled out`, 120_000, 1000);
  await complete('1');
  await c.client.patch(Kinds.Deployment, 'app', 'default', 'strategic', {
    metadata: { annotations: { 'kubernetes.io/change-cause': 'kubectl set image deployment/app web=nginx:1.16.1' } },
    spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.16.1' }] } } },
  });
  await complete('2');
  const history = await sets(c);
  t.same(history.map((rs) => [rev(rs), rs.metadata.annotations?.['kubernetes.io/change-cause']]).sort(), [
    ['1', 'first'],
    ['2', 'kubectl set image deployment/app web=nginx:1.16.1'],
  ], 'each ReplicaSet keeps the change cause of its revision (what rollout history prints)');

  // kubectl rollout undo (pkg/polymorphichelpers/rollback.go): the revision-1 ReplicaSet's template
  // without the hash label and its annotations, written back with a JSON patch.
  const live = await get(c, 'app');
  const target = history.find((rs) => rev(rs) === '1')!;
  const template = JSON.parse(JSON.stringify(target.spec.template)) as ReplicaSet['spec']['template'];
  delete template.metadata!.labels!['pod-template-hash'];
  const skip = ['kubectl.kubernetes.io/last-applied-configuration', 'deployment.kubernetes.io/revision', 'deployment.kubernetes.io/revision-history', 'deployment.kubernetes.io/desired-replicas', 'deployment.kubernetes.io/max-replicas', 'deprecated.deployment.rollback.to'];
  const annotations: Record<string, string> = {};
  for (const k of skip) if (live.metadata.annotations?.[k] !== undefined) annotations[k] = live.metadata.annotations[k]!;
  for (const [k, v] of Object.entries(target.metadata.annotations ?? {})) if (!skip.includes(k)) annotations[k] = v;
  await c.client.patch(Kinds.Deployment, 'app', 'default', 'json', [
    { op: 'replace', path: '/spec/template', value: template },
    { op: 'replace', path: '/metadata/annotations', value: annotations },
  ]);
  await complete('3');
  const after = await sets(c);
  t.equal(after.length, 2, 'no new ReplicaSet: the old one is new again');
  const back = after.find((rs) => rs.metadata.uid === target.metadata.uid)!;
  t.equal(rev(back), '3', 'it takes the next revision');
  t.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1', 'and remembers its old one');
  t.equal(back.spec.replicas, 2);
  const pods = (await c.pods('default', 'app=app')).filter((p) => !p.metadata.deletionTimestamp);
  t.ok(pods.length === 2 && pods.every((p) => p.spec.containers[0]!.image === 'nginx:1.14.2'), 'pods run the first image again');
  t.equal((await get(c, 'app')).metadata.annotations?.['kubernetes.io/change-cause'], 'first');
});

t.test('a paused Deployment does not roll out until resumed', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(deployment('p', 2));
  await c.until(async () => (await get(c, 'p')).status?.availableReplicas === 2, 'available');
  await c.client.patch(Kinds.Deployment, 'p', 'default', 'merge', { spec: { paused: true } });
  await c.client.patch(Kinds.Deployment, 'p', 'default', 'strategic', { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.16.1' }] } } } });
  await c.advance(30_000);
  t.equal((await sets(c)).length, 1, 'no new ReplicaSet while paused');
  t.match(progressing(await get(c, 'p')), { status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' });
  await c.client.patch(Kinds.Deployment, 'p', 'default', 'merge', { spec: { paused: false } });
  await c.until(async () => (await sets(c)).length === 2, 'the rollout to start');
  const done = await c.until(async () => {
    const x = await get(c, 'p');
    return progressing(x)?.reason === 'NewReplicaSetAvailable' && x.status?.updatedReplicas === 2 ? x : undefined;
  }, 'the rollout to finish', 120_000, 1000);
  t.equal(done.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
});

t.test('Recreate: every old pod is gone before the new ReplicaSet makes any', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(deployment('rc', 3, { strategy: { type: 'Recreate' } }));
  await c.until(async () => (await get(c, 'rc')).status?.availableReplicas === 3, 'three available');
  // Every pod event from here on, in order: never an old and a new pod in existence at once.
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const live = new Map<string, string>();
  let overlap = '';
  let newestFirstSeenWith = -1;
  const events = await c.client.watch(Kinds.Pod, { namespace: 'default', labelSelector: 'app=rc', resourceVersion: '0' }, ac.signal);
  const following = (async () => {
    for await (const ev of events) {
      const p = ev.object as Pod;
      if (ev.type === 'DELETED') live.delete(p.metadata.name!);
      else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') live.set(p.metadata.name!, p.spec.containers[0]!.image ?? '');
      const images = new Set(live.values());
      if (images.has('nginx:1.16.1') && newestFirstSeenWith < 0) newestFirstSeenWith = live.size;
      if (images.size > 1 && !overlap) overlap = [...live].map(([n, i]) => `${n}=${i}`).join(' ');
    }
  })().catch(() => undefined);
  await c.client.patch(Kinds.Deployment, 'rc', 'default', 'strategic', { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.16.1' }] } } } });
  const done = await c.until(async () => {
    const d = await get(c, 'rc');
    return d.status?.observedGeneration === 2 && d.status.updatedReplicas === 3 && d.status.availableReplicas === 3 && d.status.replicas === 3 ? d : undefined;
  }, 'the recreate rollout', 120_000, 250);
  ac.abort();
  await following;
  t.equal(overlap, '', 'an old and a new pod never existed at once (terminating old pods included)');
  t.equal(newestFirstSeenWith, 1, 'the first new pod came when no old pod was left');
  t.equal(done.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  const rs = await sets(c);
  t.same(rs.map((r) => `${rev(r)}:${r.spec.replicas}`).sort(), ['1:0', '2:3'], 'the old ReplicaSet scaled to 0, the new one to 3');
});
