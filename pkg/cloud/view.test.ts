import t from 'tap';
import type { KubeObject } from '../api/types.js';
import { ObjectCache, type Informer } from '../client/informer.js';
import { LocalView } from './view.js';

function fakeInformer() {
  const state = { seen: 0 };
  const inf = { cache: new ObjectCache<KubeObject>(), lastSyncResourceVersion: () => String(state.seen) } as unknown as Informer<KubeObject>;
  return { inf, state };
}

const obj = (name: string, rv: number, extra: Record<string, unknown> = {}): KubeObject => ({ metadata: { name, resourceVersion: String(rv) }, ...extra });

t.test('own writes show until the informer has caught up', async (t) => {
  const { inf, state } = fakeInformer();
  const view = new LocalView(inf);
  inf.cache.set(obj('a', 1));
  state.seen = 1;
  view.wrote(obj('b', 2));
  view.wrote(obj('a', 3, { v: 'new' }));
  t.same(view.list().map((o) => o.metadata.name).sort(), ['a', 'b'], 'b not yet in the cache');
  t.same(view.get('a'), obj('a', 3, { v: 'new' }), 'the newer write wins over the cache');
  view.deleted(obj('a', 4));
  t.same(view.list().map((o) => o.metadata.name), ['b'], 'a deletion hides the cached object');
  t.equal(view.get('a'), undefined);

  // The informer catches up to revision 3: the writes at 2 and 3 are dropped, the deletion at 4 stays.
  inf.cache.set(obj('b', 2));
  inf.cache.set(obj('a', 3, { v: 'new' }));
  state.seen = 3;
  t.equal(view.pendingWrites, 1);
  t.equal(view.get('a'), undefined);
  inf.cache.delete('a');
  state.seen = 4;
  t.equal(view.pendingWrites, 0);
  t.same(view.list().map((o) => o.metadata.name), ['b']);
  view.wrote(obj('b', 1));
  t.equal(view.pendingWrites, 0, 'a write older than what the informer saw is ignored');
});

t.test('filters and indexes', async (t) => {
  const { inf } = fakeInformer();
  inf.cache.addIndex('zone', (o) => [String(o.zone)]);
  inf.cache.set(obj('a', 1, { zone: 'x' }));
  inf.cache.set(obj('b', 2, { zone: 'y' }));
  const view = new LocalView(inf);
  view.wrote(obj('c', 3, { zone: 'x' }));
  t.same(view.list((o) => o.zone === 'x', { name: 'zone', value: 'x' }).map((o) => o.metadata.name), ['a', 'c']);
});
