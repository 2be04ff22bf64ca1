/**
 * Namespace deletion in virtual time: Terminating until empty, with the deletion conditions
 * Kubernetes reports (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/,
 * pkg/controller/namespace/deletion).
 */
import t from 'tap';
import type { Condition, KubeObject } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import { virtualCluster } from '../testcluster.js';

t.test('a namespace with content held by a finalizer stays Terminating and says why', async (t) => {
  const c = await virtualCluster(t, { run: false, controllers: ['namespace', 'garbagecollector'] });
  await c.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  await c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: 'team', finalizers: ['example.com/hold'] } } as KubeObject);
  await c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'free', namespace: 'team' } } as KubeObject);
  await c.client.delete(Kinds.Namespace, 'team');
  await c.advance(2000);
  const ns = await c.client.get(Kinds.Namespace, 'team');
  const conds = Object.fromEntries(((ns.status as { conditions: Condition[] }).conditions ?? []).map((x) => [x.type, [x.status, x.reason, x.message]]));
  t.equal((ns.status as { phase: string }).phase, 'Terminating');
  t.same(conds.NamespaceContentRemaining, ['True', 'SomeResourcesRemain', 'Some resources are remaining: configmaps has 1 resource instances']);
  t.same(conds.NamespaceFinalizersRemaining, ['True', 'SomeFinalizersRemain', 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances']);
  t.same(conds.NamespaceDeletionContentFailure, ['False', 'ContentDeleted', 'All content successfully deleted, may be waiting on finalization']);
  t.equal(await c.client.tryGet(Kinds.ConfigMap, 'free', 'team'), undefined, 'content without finalizers is gone');
  await c.client.patch(Kinds.ConfigMap, 'held', 'team', 'merge', { metadata: { finalizers: null } });
  await c.until(async () => !(await c.client.tryGet(Kinds.Namespace, 'team')), 'the namespace to go', 10_000);
  t.pass();
});
