/**
 * The admission read cache (ObjectStore.cachedList/cachedGet): what it returns follows every
 * committed write of the resource, so a namespace being deleted refuses new objects at once and
 * a LimitRange created after pods were admitted applies to the next pod.
 */
import t from 'tap';
import { VirtualClock } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import { startTestApi } from '../testing/api.js';
import type { KubeObject } from '../api/types.js';

const cm = (name: string, namespace: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace } }) as KubeObject;

t.test('cached lists follow commits: new, changed and terminating namespaces; new objects of a cached resource', async (t) => {
  const h = await startTestApi({ clock: new VirtualClock() });
  t.teardown(() => h.stop());
  const store = h.api.store;
  const namespaces = store.registry.get('', 'v1', 'namespaces')!;
  const limitRanges = store.registry.get('', 'v1', 'limitranges')!;

  await t.rejects(h.client.create(cm('a', 'team')), { code: 404 }, 'no namespace yet (and the miss is cached)');
  await h.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team', finalizers: ['example.com/hold'] } } as KubeObject);
  await h.client.create(cm('a', 'team'));
  t.equal((await store.cachedGet(namespaces, undefined, 'team'))?.metadata.name, 'team', 'the created namespace is seen');

  t.same(await store.cachedList(limitRanges, 'team'), []);
  await h.client.create({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'lr', namespace: 'team' }, spec: { limits: [{ type: 'Container', default: { cpu: '1' } }] } } as KubeObject);
  t.same((await store.cachedList(limitRanges, 'team')).map((o) => o.metadata.name), ['lr'], 'a commit of the resource re-reads it');

  await h.client.delete(Kinds.Namespace, 'team');
  await t.rejects(h.client.create(cm('b', 'team')), { code: 403, reason: 'Forbidden' }, 'a terminating namespace refuses new objects at once');
});
