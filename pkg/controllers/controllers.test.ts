import t, { type Test } from 'tap';
import type { Deployment, KubeObject, Pod, ReplicaSet } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { rfc3339 } from '../clock/clock.js';
import { eventually, startTestApi, type TestApi } from '../testing/api.js';
import { installControllers, podsToDelete, resolveIntOrPercent, fenceposts, templateHash } from './index.js';
import { makePod } from '../testing/builders.js';

function deployment(name: string, replicas: number, image = 'nginx:1.14.2', extra: Partial<Deployment['spec']> = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image }] } },
      ...extra,
    },
  };
}

async function cluster(t: Test): Promise<TestApi> {
  const c = await startTestApi();
  installControllers(c.mgr);
  await c.start();
  t.teardown(() => c.stop());
  return c;
}

/** Plays the kubelet: marks every pod of the namespace Running and Ready. */
async function readyAll(c: TestApi): Promise<number> {
  const pods = (await c.client.list<Pod>(Kinds.Pod, { namespace: 'default' })).items;
  let n = 0;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) {
      await c.client.delete(Kinds.Pod, p.metadata.name!, 'default', { gracePeriodSeconds: 0 }).catch(() => undefined);
      continue;
    }
    if (p.status?.phase === 'Running') continue;
    const now = rfc3339(c.clock.now());
    await c.client
      .updateStatus({ ...p, status: { ...p.status, phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] } } as KubeObject)
      .catch(() => undefined);
    n++;
  }
  return n;
}

const podsOf = async (c: TestApi, app: string): Promise<Pod[]> => (await c.client.list<Pod>(Kinds.Pod, { namespace: 'default', labelSelector: `app=${app}` })).items;

t.test('a Deployment creates a ReplicaSet and its pods, and scales them', async (t) => {
  const c = await cluster(t);
  await c.client.create(deployment('web', 3));
  const rs = await eventually(async () => {
    const list = (await c.client.list<ReplicaSet>(Kinds.ReplicaSet, { namespace: 'default' })).items;
    return list.length === 1 ? list[0] : undefined;
  }, 'a ReplicaSet');
  t.match(rs.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]+$/, 'named <deployment>-<pod-template-hash>');
  t.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
  t.equal(rs.metadata.ownerReferences?.[0]?.kind, 'Deployment');
  await eventually(async () => (await podsOf(c, 'web')).length === 3, '3 pods');
  const pods = await podsOf(c, 'web');
  t.ok(pods.every((p) => p.metadata.name!.startsWith(`${rs.metadata.name}-`)), 'pods are named after the ReplicaSet');
  t.ok(pods.every((p) => p.metadata.labels?.['pod-template-hash'] === rs.metadata.labels?.['pod-template-hash']));

  await c.client.patch(Kinds.Deployment, 'web', 'default', 'merge', { spec: { replicas: 5 } });
  await eventually(async () => (await podsOf(c, 'web')).filter((p) => !p.metadata.deletionTimestamp).length === 5, '5 pods');
  await c.client.patch(Kinds.Deployment, 'web', 'default', 'merge', { spec: { replicas: 1 } });
  await eventually(async () => (await podsOf(c, 'web')).length === 1, 'scaled down to 1 pod');

  await readyAll(c);
  const d = await eventually(async () => {
    const d = await c.client.get<Deployment>(Kinds.Deployment, 'web', 'default');
    return d.status?.availableReplicas === 1 && d.status.updatedReplicas === 1 ? d : undefined;
  }, 'status counts');
  t.equal(d.status?.observedGeneration, d.metadata.generation);
  t.equal(d.status?.conditions?.find((x) => x.type === 'Available')?.status, 'True');
  t.equal(d.status?.conditions?.find((x) => x.type === 'Progressing')?.reason, 'NewReplicaSetAvailable');
});

t.test('a changed template rolls out within maxSurge and maxUnavailable', async (t) => {
  const c = await cluster(t);
  await c.client.create(deployment('api', 4, 'api:v1'));
  await eventually(async () => (await podsOf(c, 'api')).length === 4, '4 pods');
  await readyAll(c);
  await eventually(async () => (await c.client.get<Deployment>(Kinds.Deployment, 'api', 'default')).status?.availableReplicas === 4, 'available');

  await c.client.patch(Kinds.Deployment, 'api', 'default', 'strategic', { spec: { template: { spec: { containers: [{ name: 'web', image: 'api:v2' }] } } } });
  // 25% of 4: maxSurge 1, maxUnavailable 1 → never more than 5 pods, never fewer than 3 available.
  let maxPods = 0;
  for (let i = 0; i < 200; i++) {
    const pods = (await podsOf(c, 'api')).filter((p) => !p.metadata.deletionTimestamp);
    maxPods = Math.max(maxPods, pods.length);
    await readyAll(c);
    const d = await c.client.get<Deployment>(Kinds.Deployment, 'api', 'default');
    const s = d.status ?? {};
    if (s.updatedReplicas === 4 && s.replicas === 4 && s.availableReplicas === 4 && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const pods = (await podsOf(c, 'api')).filter((p) => !p.metadata.deletionTimestamp);
  t.equal(pods.length, 4);
  t.ok(pods.every((p) => p.spec.containers[0]!.image === 'api:v2'), 'every pod runs the new image');
  t.ok(maxPods <= 5, `never more than replicas + maxSurge pods (saw ${maxPods})`);
  const sets = (await c.client.list<ReplicaSet>(Kinds.ReplicaSet, { namespace: 'default' })).items;
  t.equal(sets.length, 2, 'the old ReplicaSet is kept for history');
  const byRev = Object.fromEntries(sets.map((s) => [s.metadata.annotations?.['deployment.kubernetes.io/revision'], s.spec.replicas]));
  t.same(byRev, { '1': 0, '2': 4 });
  const d = await c.client.get<Deployment>(Kinds.Deployment, 'api', 'default');
  t.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
});

t.test('deleting a Deployment removes its ReplicaSets and pods (background cascading)', async (t) => {
  const c = await cluster(t);
  await c.client.create(deployment('gone', 2));
  await eventually(async () => (await podsOf(c, 'gone')).length === 2, '2 pods');
  await c.client.delete(Kinds.Deployment, 'gone', 'default');
  await eventually(async () => (await c.client.list(Kinds.ReplicaSet, { namespace: 'default' })).items.length === 0, 'ReplicaSets collected');
  await eventually(async () => (await podsOf(c, 'gone')).length === 0, 'pods collected');
  t.pass('everything owned by the Deployment is gone');
});

t.test('orphan propagation keeps the dependents and removes their owner reference', async (t) => {
  const c = await cluster(t);
  await c.client.create(deployment('keep', 1));
  await eventually(async () => (await c.client.list(Kinds.ReplicaSet, { namespace: 'default' })).items.length === 1, 'a ReplicaSet');
  await c.client.delete(Kinds.Deployment, 'keep', 'default', { propagationPolicy: 'Orphan' });
  await eventually(async () => !(await c.client.tryGet(Kinds.Deployment, 'keep', 'default')), 'the Deployment is gone');
  const rs = (await c.client.list<ReplicaSet>(Kinds.ReplicaSet, { namespace: 'default' })).items;
  t.equal(rs.length, 1, 'the ReplicaSet stays');
  t.same(rs[0]!.metadata.ownerReferences ?? [], [], 'without an owner reference');
});

t.test('foreground propagation deletes dependents before the owner', async (t) => {
  const c = await cluster(t);
  await c.client.create(deployment('fg', 1));
  await eventually(async () => (await podsOf(c, 'fg')).length === 1, 'a pod');
  const marked = await c.client.delete(Kinds.Deployment, 'fg', 'default', { propagationPolicy: 'Foreground' });
  t.ok(marked.metadata.deletionTimestamp, 'the owner is marked for deletion');
  t.ok(marked.metadata.finalizers?.includes('foregroundDeletion'));
  await eventually(async () => !(await c.client.tryGet(Kinds.Deployment, 'fg', 'default')), 'the Deployment goes once its dependents are gone');
  t.equal((await c.client.list(Kinds.ReplicaSet, { namespace: 'default' })).items.length, 0);
});

t.test('a ReplicaSet adopts a matching orphan pod and counts it', async (t) => {
  const c = await cluster(t);
  await c.client.create(makePod('stray').label('app', 'rs1').obj());
  await c.client.create({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'rs1', namespace: 'default' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'rs1' } }, template: { metadata: { labels: { app: 'rs1' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  } as ReplicaSet);
  await eventually(async () => (await podsOf(c, 'rs1')).length === 2, '2 pods');
  await new Promise((r) => setTimeout(r, 100));
  const pods = await podsOf(c, 'rs1');
  t.equal(pods.length, 2, 'only one new pod: the orphan was adopted');
  const stray = pods.find((p) => p.metadata.name === 'stray');
  t.equal(stray?.metadata.ownerReferences?.[0]?.name, 'rs1');
});

t.test('a namespace being deleted empties, then goes', async (t) => {
  const c = await cluster(t);
  await c.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp' } });
  await c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'tmp' }, data: { a: '1' } });
  await c.client.delete(Kinds.Namespace, 'tmp');
  const ns = await c.client.get(Kinds.Namespace, 'tmp');
  t.equal((ns.status as { phase: string }).phase, 'Terminating');
  await t.rejects(c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late', namespace: 'tmp' } }), { code: 403 });
  await eventually(async () => !(await c.client.tryGet(Kinds.Namespace, 'tmp')), 'namespace gone');
  t.equal(await c.client.tryGet(Kinds.ConfigMap, 'cfg', 'tmp'), undefined);
});

t.test('pods on a node that is gone are collected', async (t) => {
  const c = await cluster(t);
  await c.client.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} });
  await c.client.create(makePod('on-n1').node('n1').obj());
  await c.client.delete(Kinds.Node, 'n1');
  await eventually(async () => !(await c.client.tryGet(Kinds.Pod, 'on-n1', 'default')), 'orphaned pod deleted');
  t.pass();
});

t.test('scale-down order and rolling-update arithmetic', async (t) => {
  // Unassigned before assigned, Pending before Running, not ready before ready, newest first.
  const running = makePod('running').node('n').phase('Running').obj();
  running.status!.conditions = [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }];
  const pending = makePod('pending').node('n').phase('Pending').obj();
  const unassigned = makePod('unassigned').obj();
  const notReady = makePod('not-ready').node('n').phase('Running').obj();
  t.same(
    podsToDelete([running, notReady, pending, unassigned], 4).map((p) => p.metadata.name),
    ['unassigned', 'pending', 'not-ready', 'running'],
  );
  // 25% of 10 → surge ceil(2.5) = 3, unavailable floor(2.5) = 2.
  t.equal(resolveIntOrPercent('25%', 10, true), 3);
  t.equal(resolveIntOrPercent('25%', 10, false), 2);
  const d = deployment('x', 1, 'x', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } });
  t.same(fenceposts(d), { maxSurge: 0, maxUnavailable: 1 }, 'both zero: one may be unavailable');
  const tpl = deployment('x', 1).spec.template;
  t.equal(templateHash(tpl), templateHash(JSON.parse(JSON.stringify(tpl))), 'hash is stable');
  t.not(templateHash(tpl), templateHash(deployment('x', 1, 'other').spec.template));
});
