import t from 'tap';
import type { Pod } from '../api/types.js';
import { makePod } from '../testing/builders.js';
import { podLimits, podRequests } from './podresources.js';
import { addQty, canonical, milliValue, parseQty, qtyString, unitValue, type QtyList } from './quantity.js';

t.test('canonical forms, as resource.Quantity.String() prints them', async (t) => {
  const cases: [string | number, string][] = [
    ['500m', '500m'],
    ['0.5', '500m'],
    ['1', '1'],
    [2, '2'],
    ['1500m', '1500m'],
    ['2000m', '2'],
    ['1Gi', '1Gi'],
    ['1024Mi', '1Gi'],
    ['1536Mi', '1536Mi'],
    ['8023820Ki', '8023820Ki'],
    ['18242267924', '18242267924'],
    ['100M', '100M'],
    ['1500000', '1500k'],
    ['1e3', '1e3'],
    ['0', '0'],
    ['100Mi', '100Mi'],
    ['512', '512'],
    ['1Ki', '1Ki'],
    ['1000Ki', '1000Ki'],
    ['0.1', '100m'],
    ['1n', '1n'],
  ];
  for (const [input, want] of cases) t.equal(canonical(input), want, `${input}`);
  t.equal(canonical('abc'), 'abc', 'not a quantity: shown as written');
});

t.test('sums keep the first non-zero operand format', async (t) => {
  const sum = addQty(addQty(undefined, parseQty('64Mi')!), parseQty('64Mi')!);
  t.equal(qtyString(sum), '128Mi');
  const cpu = addQty(parseQty('250m')!, parseQty('750m')!);
  t.equal(qtyString(cpu), '1');
  t.equal(milliValue(parseQty('0.25')), 250);
  t.equal(unitValue(parseQty('1Ki')), 1024);
  t.equal(unitValue(parseQty('1.5')), 2, 'whole units round up');
});

const text = (l: QtyList): Record<string, string> => Object.fromEntries([...l].map(([k, v]) => [k, qtyString(v)]));

t.test('effective pod requests: app containers, init containers, sidecars, pod level, overhead', async (t) => {
  const cases: { name: string; pod: Pod; requests: Record<string, string>; limits?: Record<string, string> }[] = [
    {
      // 250m + 250m = 500m
      name: 'app containers add up',
      pod: makePod('a').req({ cpu: '250m', memory: '64Mi' }).container('b', { cpu: '250m', memory: '64Mi' }).obj(),
      requests: { cpu: '500m', memory: '128Mi' },
    },
    {
      // max(app 100m, init 1) = 1
      name: 'an init container larger than the app wins',
      pod: makePod('a').req({ cpu: '100m' }).init('i', { cpu: '1' }).obj(),
      requests: { cpu: '1' },
    },
    {
      // The init container runs first, alone: peak 250m. Then the sidecar runs beside the app:
      // 100m + 200m = 300m. max(300m, 250m) = 300m.
      name: 'a sidecar runs beside the app containers',
      pod: makePod('a').req({ cpu: '100m' }).init('i', { cpu: '250m' }).init('s', { cpu: '200m' }, true).obj(),
      requests: { cpu: '300m' },
    },
    {
      // sidecar 200m first, then init 250m beside it: peak 450m; app 100m + sidecar 200m = 300m; max = 450m
      name: 'an init container after a sidecar runs beside it',
      pod: makePod('a').req({ cpu: '100m' }).init('s', { cpu: '200m' }, true).init('i', { cpu: '250m' }).obj(),
      requests: { cpu: '450m' },
    },
    {
      // pod level replaces cpu and memory: 1 and 100Mi; overhead adds 100m → 1100m
      name: 'pod-level requests replace the containers, overhead is added',
      pod: { ...makePod('a').req({ cpu: '500m', memory: '50Mi' }).obj(), spec: { ...makePod('a').req({ cpu: '500m', memory: '50Mi' }).obj().spec, resources: { requests: { cpu: '1', memory: '100Mi' } }, overhead: { cpu: '100m' } } },
      requests: { cpu: '1100m', memory: '100Mi' },
    },
    {
      name: 'limits: overhead only on limits that are set',
      pod: { ...makePod('a').lim({ cpu: '500m' }).obj(), spec: { ...makePod('a').lim({ cpu: '500m' }).obj().spec, overhead: { cpu: '100m', memory: '10Mi' } } },
      requests: { cpu: '100m', memory: '10Mi' },
      limits: { cpu: '600m' },
    },
  ];
  for (const c of cases) {
    t.same(text(podRequests(c.pod)), c.requests, `${c.name}: requests`);
    if (c.limits) t.same(text(podLimits(c.pod)), c.limits, `${c.name}: limits`);
  }
});
