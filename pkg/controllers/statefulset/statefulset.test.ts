/**
 * StatefulSets in virtual time with the scheduler and node agent (a pod is Running and Ready 1 s
 * after it is bound). Expected behaviour from
 * https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/ and the tutorial
 * https://kubernetes.io/docs/tutorials/stateful-application/basic-stateful-set/.
 */
import t from 'tap';
import type { KubeObject, Pod } from '../../api/types.js';
import { parseTime } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import { simNode, virtualCluster, type VirtualCluster } from '../testcluster.js';
import type { PersistentVolumeClaim, StatefulSet } from '../types.js';

/** The `web` StatefulSet of the basic-stateful-set tutorial. */
function web(replicas: number, extra: Partial<StatefulSet['spec']> = {}, image = 'registry.k8s.io/nginx-slim:0.24'): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      serviceName: 'nginx',
      replicas,
      selector: { matchLabels: { app: 'nginx' } },
      template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image, ports: [{ containerPort: 80, name: 'web' }] }] } },
      volumeClaimTemplates: [{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      ...extra,
    },
  };
}

const live = async (c: VirtualCluster): Promise<Pod[]> => (await c.pods('default', 'app=nginx')).filter((p) => !p.metadata.deletionTimestamp);
const names = (ps: Pod[]): string[] => ps.map((p) => p.metadata.name!).sort();
const getSet = (c: VirtualCluster): Promise<StatefulSet> => c.client.get<StatefulSet>(Kinds.StatefulSet, 'web', 'default');
const readyAll = (c: VirtualCluster, n: number) => async (): Promise<boolean> => {
  const s = await getSet(c);
  return s.status?.readyReplicas === n && s.status.replicas === n;
};

t.test('OrderedReady: web-0, web-1, web-2 created in order, each after its predecessor is Ready, with their claims', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(web(3));
  await c.advance(0);
  t.same(names(await live(c)), ['web-0'], 'only web-0 at first');
  await c.until(readyAll(c, 3), 'three ready replicas', 30_000, 250);
  const pods = (await live(c)).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  t.same(names(pods), ['web-0', 'web-1', 'web-2']);
  const created = pods.map((p) => parseTime(p.metadata.creationTimestamp));
  t.ok(created[1]! - created[0]! >= 1000 && created[2]! - created[1]! >= 1000, 'each waited for the previous to be Ready (1 s)');
  const p1 = pods[1]!;
  t.equal(p1.spec.hostname, 'web-1');
  t.equal(p1.spec.subdomain, 'nginx');
  t.equal(p1.metadata.labels?.['statefulset.kubernetes.io/pod-name'], 'web-1');
  t.equal(p1.metadata.labels?.['apps.kubernetes.io/pod-index'], '1');
  t.match(p1.metadata.labels?.['controller-revision-hash'], /^web-[a-z0-9]+$/);
  t.same((p1.spec.volumes as unknown[]).find((v) => (v as { name: string }).name === 'www'), { name: 'www', persistentVolumeClaim: { claimName: 'www-web-1' } });
  const claims = (await c.client.list<PersistentVolumeClaim>(Kinds.PersistentVolumeClaim, { namespace: 'default' })).items;
  t.same(claims.map((x) => x.metadata.name).sort(), ['www-web-0', 'www-web-1', 'www-web-2'], 'one claim per pod, stored');
  t.same(claims[0]!.metadata.labels, { app: 'nginx' });
  t.same(claims[0]!.spec?.resources, { requests: { storage: '1Gi' } });
  const s = await getSet(c);
  t.equal(s.status?.currentRevision, s.status?.updateRevision);
  const revs = (await c.client.list(Kinds.ControllerRevision, { namespace: 'default' })).items as (KubeObject & { revision: number })[];
  t.same(revs.map((r) => [r.metadata.name, r.revision]), [[s.status?.updateRevision, 1]], 'the template is kept as revision 1');

  // Scale down: the highest ordinal goes first, the next only once it is gone.
  await c.client.patch(Kinds.StatefulSet, 'web', 'default', 'merge', { spec: { replicas: 1 } });
  await c.advance(0);
  const terminating = (await c.pods('default', 'app=nginx')).filter((p) => p.metadata.deletionTimestamp).map((p) => p.metadata.name);
  t.same(terminating, ['web-2'], 'web-2 is deleted first, alone');
  await c.until(async () => names(await c.pods('default', 'app=nginx')).join() === 'web-0', 'only web-0 left', 60_000);
  t.equal((await c.client.list(Kinds.PersistentVolumeClaim, { namespace: 'default' })).items.length, 3, 'claims are retained by default');
});

t.test('Parallel pod management creates every pod at once', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(web(3, { podManagementPolicy: 'Parallel' }));
  await c.advance(0);
  t.same(names(await live(c)), ['web-0', 'web-1', 'web-2']);
});

t.test('a partitioned rolling update replaces only ordinals at or above the partition, highest first', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(web(4, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }));
  await c.until(readyAll(c, 4), 'four ready replicas', 30_000, 250);
  const before = (await getSet(c)).status!.currentRevision!;
  await c.client.patch(Kinds.StatefulSet, 'web', 'default', 'json', [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.k8s.io/nginx-slim:0.21' }]);
  const order: string[] = [];
  const s = await c.until(async () => {
    for (const p of await c.pods('default', 'app=nginx')) if (p.metadata.deletionTimestamp && !order.includes(p.metadata.name!)) order.push(p.metadata.name!);
    const x = await getSet(c);
    return x.status?.updatedReplicas === 2 && x.status.readyReplicas === 4 ? x : undefined;
  }, 'two updated pods', 60_000, 250);
  t.same(order, ['web-3', 'web-2'], 'web-3 then web-2');
  t.equal(s.status?.currentRevision, before, 'the current revision stays while pods below the partition run it');
  t.not(s.status?.updateRevision, before);
  const images = Object.fromEntries((await live(c)).map((p) => [p.metadata.name, p.spec.containers[0]!.image]));
  t.same(images, { 'web-0': 'registry.k8s.io/nginx-slim:0.24', 'web-1': 'registry.k8s.io/nginx-slim:0.24', 'web-2': 'registry.k8s.io/nginx-slim:0.21', 'web-3': 'registry.k8s.io/nginx-slim:0.21' });

  await c.client.patch(Kinds.StatefulSet, 'web', 'default', 'merge', { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } });
  const done = await c.until(async () => {
    const x = await getSet(c);
    return x.status?.updatedReplicas === 4 && x.status.readyReplicas === 4 && x.status.currentRevision === x.status.updateRevision ? x : undefined;
  }, 'all updated', 60_000, 250);
  t.equal(done.status?.currentReplicas, 4);
});

t.test('OnDelete updates a pod only when it is deleted', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(web(2, { updateStrategy: { type: 'OnDelete' } }));
  await c.until(readyAll(c, 2), 'two ready replicas', 30_000, 250);
  await c.client.patch(Kinds.StatefulSet, 'web', 'default', 'json', [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:new' }]);
  await c.advance(10_000);
  t.ok((await live(c)).every((p) => p.spec.containers[0]!.image !== 'nginx:new'), 'nothing replaced by itself');
  await c.client.delete(Kinds.Pod, 'web-1', 'default');
  const p = await c.until(async () => (await live(c)).find((x) => x.metadata.name === 'web-1' && x.spec.containers[0]!.image === 'nginx:new'), 'web-1 recreated from the new template', 60_000);
  t.ok(p);
});

t.test('whenDeleted: Delete removes the claims with the StatefulSet', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(web(2, { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } }));
  await c.until(readyAll(c, 2), 'two ready replicas', 30_000, 250);
  await c.client.delete(Kinds.StatefulSet, 'web', 'default');
  await c.until(async () => (await c.client.list(Kinds.PersistentVolumeClaim, { namespace: 'default' })).items.length === 0, 'claims deleted', 60_000);
  await c.until(async () => (await c.pods('default', 'app=nginx')).length === 0, 'pods deleted', 60_000);
  t.pass();
});
