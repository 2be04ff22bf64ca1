/** `clone` copies exactly what a JSON round trip would, without sharing anything with its input. */
import t from 'tap';
import { clone } from './meta.js';

t.test('clone equals JSON.parse(JSON.stringify(v)) and shares nothing', async (t) => {
  const cases: unknown[] = [
    { a: 1, b: undefined, c: [undefined, () => 1, NaN, -0, Infinity, Symbol('s')], d: new Date(0), e: { f: null, g: 'x' }, 2: 1, 1: 2, h: true },
    [1, { x: undefined }, [[]]],
    'text',
    5,
    null,
    { toJSON: () => ({ z: 1 }) },
    { metadata: { labels: { app: 'web' }, ownerReferences: [{ uid: 'u', controller: true }] }, spec: { containers: [{ name: 'c', resources: { requests: { cpu: '10m' } } }] } },
  ];
  for (const c of cases) t.equal(JSON.stringify(clone(c)), JSON.stringify(JSON.parse(JSON.stringify(c))));
  t.same(Object.keys(clone({ b: 1, a: 2, 10: 3, 2: 4 })), ['2', '10', 'b', 'a'], 'key order as JSON');
  t.ok(Object.is(clone(-0), 0), '-0 becomes 0, as through JSON');
  t.equal(clone(undefined), undefined);
  const src = { m: { l: { a: 'b' } }, list: [{ x: 1 }] };
  const copy = clone(src);
  copy.m.l.a = 'changed';
  copy.list[0]!.x = 2;
  t.same(src, { m: { l: { a: 'b' } }, list: [{ x: 1 }] }, 'the copy shares no object with its source');
  class P {
    own = 1;
  }
  (P.prototype as unknown as { inherited: number }).inherited = 2;
  t.same(clone(new P()), { own: 1 }, 'inherited properties are left out, as by JSON');
});
