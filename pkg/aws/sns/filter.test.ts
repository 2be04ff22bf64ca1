import t from 'tap';
import { filterAccepts, filterPolicyErrors, matchesAttributes, matchesBody, type SnsAttribute } from './filter.js';
import { AWS_MANAGED_RETRY, HTTP_DEFAULT_RETRY, retryDelaySeconds } from './engine.js';

const s = (v: string): SnsAttribute => ({ Type: 'String', Value: v });
const n = (v: number): SnsAttribute => ({ Type: 'Number', Value: String(v) });
const arr = (v: unknown[]): SnsAttribute => ({ Type: 'String.Array', Value: JSON.stringify(v) });

// [policy, attributes, expected] — cases from the SNS Developer Guide's filter policy examples.
const cases: [string, Record<string, unknown>, Record<string, SnsAttribute>, boolean][] = [
  ['exact string', { store: ['example_corp'] }, { store: s('example_corp') }, true],
  ['exact string, other value', { store: ['example_corp'] }, { store: s('other') }, false],
  ['missing key fails', { store: ['example_corp'] }, {}, false],
  ['OR within a key', { event: ['order_placed', 'order_cancelled'] }, { event: s('order_cancelled') }, true],
  ['AND across keys', { store: ['a'], event: ['x'] }, { store: s('a'), event: s('y') }, false],
  ['prefix', { customer_interests: [{ prefix: 'bas' }] }, { customer_interests: s('baseball') }, true],
  ['suffix', { f: [{ suffix: '.png' }] }, { f: s('cat.png') }, true],
  ['equals-ignore-case', { f: [{ 'equals-ignore-case': 'ORDER' }] }, { f: s('order') }, true],
  ['anything-but value', { f: [{ 'anything-but': 'x' }] }, { f: s('y') }, true],
  ['anything-but list hit', { f: [{ 'anything-but': ['x', 'y'] }] }, { f: s('y') }, false],
  ['anything-but prefix', { f: [{ 'anything-but': { prefix: 'test-' } }] }, { f: s('test-1') }, false],
  ['anything-but needs the key', { f: [{ 'anything-but': 'x' }] }, {}, false],
  ['numeric range in', { price: [{ numeric: ['>', 0, '<=', 150] }] }, { price: n(100) }, true],
  ['numeric range out', { price: [{ numeric: ['>', 0, '<=', 150] }] }, { price: n(151) }, false],
  ['numeric equals', { price: [{ numeric: ['=', 3.5] }] }, { price: n(3.5) }, true],
  ['numeric literal', { price: [100] }, { price: n(100) }, true],
  ['numeric does not match a string', { price: [{ numeric: ['>', 0] }] }, { price: s('5') }, false],
  ['exists true', { f: [{ exists: true }] }, { f: s('any') }, true],
  ['exists false', { f: [{ exists: false }] }, {}, true],
  ['exists false, present', { f: [{ exists: false }] }, { f: s('x') }, false],
  ['String.Array: any element', { sports: ['rugby'] }, { sports: arr(['soccer', 'rugby']) }, true],
  ['String.Array: none', { sports: ['rugby'] }, { sports: arr(['soccer']) }, false],
  ['cidr', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: s('10.0.0.255') }, true],
  ['cidr outside', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: s('10.0.1.1') }, false],
  ['$or', { $or: [{ a: ['1'] }, { b: ['2'] }] }, { b: s('2') }, true],
];

t.test('filter policies on message attributes', async (t) => {
  for (const [name, policy, attrs, want] of cases) t.equal(matchesAttributes(policy, attrs), want, name);
});

t.test('filter policies on the message body', async (t) => {
  const body = { order: { region: 'eu-west-1', total: 120, items: ['a', 'b'] }, status: 'paid' };
  t.ok(matchesBody({ order: { region: [{ prefix: 'eu-' }] } }, body), 'nested key');
  t.ok(matchesBody({ order: { total: [{ numeric: ['>=', 100] }] }, status: ['paid'] }, body));
  t.ok(matchesBody({ order: { items: ['b'] } }, body), 'array values match any element');
  t.notOk(matchesBody({ order: { region: ['us-east-1'] } }, body));
  t.notOk(matchesBody({ missing: [{ exists: true }] }, body));
  t.notOk(filterAccepts({ a: ['x'] }, 'MessageBody', {}, 'not json'), 'a body that is not JSON matches nothing');
  t.ok(filterAccepts(undefined, undefined, {}, 'anything'), 'no policy accepts all');
});

t.test('invalid policies are refused with a reason', async (t) => {
  t.match(filterPolicyErrors({ a: 'x' }), [/must be a list/]);
  t.match(filterPolicyErrors({ a: [] }), [/empty arrays/]);
  t.match(filterPolicyErrors({ a: [{ numeric: ['>', 'x'] }] }), [/numeric/]);
  t.match(filterPolicyErrors({ a: [{ regex: 'x' }] }), [/unrecognized match type/]);
  t.same(filterPolicyErrors({ a: ['x', 1, null, { prefix: 'p' }] }), []);
});

t.test('delivery retry schedules', async (t) => {
  // HTTP default: 3 retries 20 s apart, then none.
  t.same([0, 1, 2, 3].map((i) => retryDelaySeconds(HTTP_DEFAULT_RETRY, i)), [20, 20, 20, undefined]);
  // AWS-managed (SQS, Lambda): 3 immediate, 2 at 1 s, 10 backing off to 20 s, then 100,000 at 20 s: 100,015 in all.
  const d = (i: number) => retryDelaySeconds(AWS_MANAGED_RETRY, i);
  t.same([d(0), d(1), d(2), d(3), d(4)], [0, 0, 0, 1, 1]);
  t.equal(d(14), 20, 'the last backoff retry reaches maxDelayTarget');
  t.ok(d(5)! >= 1 && d(5)! <= d(10)! && d(10)! <= 20, 'backoff grows');
  t.equal(d(100_014), 20);
  t.equal(d(100_015), undefined);
});
