import t from 'tap';
import { compareValues, naturalCompare, parseSortBy, sortObjects } from './sortby.js';

t.test('relaxed JSONPath as kubectl takes it', async (t) => {
  t.same(parseSortBy('.metadata.name'), ['metadata', 'name']);
  t.same(parseSortBy('metadata.name'), ['metadata', 'name']);
  t.same(parseSortBy('{.spec.containers[0].image}'), ['spec', 'containers', 0, 'image']);
  t.same(parseSortBy(".metadata.labels['app.kubernetes.io/name']"), ['metadata', 'labels', 'app.kubernetes.io/name']);
  t.throws(() => parseSortBy('.a[x]'), { message: /unexpected path string "\.a\[x\]"/ });
  t.throws(() => parseSortBy('{}'), { message: /unexpected path string/ });
});

t.test('values compare as kubectl sorts them', async (t) => {
  t.ok(naturalCompare('web-2', 'web-10') < 0, 'digit runs as numbers');
  t.ok(naturalCompare('a', 'b') < 0);
  t.equal(naturalCompare('x1', 'x1'), 0);
  t.ok(compareValues('500m', '2') < 0, 'quantities by value');
  t.ok(compareValues('1Gi', '512Mi') > 0, '1Gi after 512Mi');
  t.ok(compareValues(3, 20) < 0, 'numbers');
  t.ok(compareValues(undefined, 'a') < 0, 'missing first');
  t.ok(compareValues('2026-01-01T00:00:09Z', '2026-01-01T00:00:10Z') < 0, 'timestamps');
  const items = [{ n: 'c', r: 10 }, { n: 'a', r: 2 }, { n: 'b' }, { n: 'd', r: 2 }];
  t.same(sortObjects(items, '.r').map((i) => i.n), ['b', 'a', 'd', 'c'], 'stable, missing first, numeric');
  t.throws(() => sortObjects(items, '.x'), { message: 'couldn\'t find any field with path "{.x}" in the list of objects' });
  t.same(sortObjects([], '.x'), [], 'nothing to sort is no error');
});
