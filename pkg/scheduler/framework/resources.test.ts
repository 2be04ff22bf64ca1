import t from 'tap';
import { makePod } from '../../testing/builders.js';
import { nonZeroRequests, podRequests } from './resources.js';

const Mi = 2 ** 20;
const Gi = 2 ** 30;

t.test('podRequests: containers, init containers, sidecars, overhead, pod-level resources', async (t) => {
  const cases = [
    { name: 'one container: millicores and bytes', pod: makePod('p').req({ cpu: '500m', memory: '1Gi' }).obj(), want: { cpu: 500, memory: Gi } },
    { name: 'no requests: nothing', pod: makePod('p').obj(), want: {} },
    {
      name: 'app containers add up',
      // 500m + 250m = 750m; 1Gi + 512Mi
      pod: makePod('p').req({ cpu: '500m', memory: '1Gi' }).container('b', { cpu: '250m', memory: '512Mi' }).obj(),
      want: { cpu: 750, memory: Gi + 512 * Mi },
    },
    {
      name: 'init containers run one at a time: the largest, if larger than the app sum',
      // app: cpu 2 + 1 = 3, memory 1G + 1G = 2G; init peak: cpu 2, memory 3G → cpu 3, memory 3G
      pod: makePod('p').req({ cpu: '2', memory: '1G' }).container('c2', { cpu: '1', memory: '1G' }).init('i1', { cpu: '2', memory: '1G' }).init('i2', { cpu: '2', memory: '3G' }).obj(),
      want: { cpu: 3000, memory: 3e9 },
    },
    {
      name: 'sidecars add to the app sum and run beside later init containers',
      // app 700m; sidecar A 100m; init B 800m; sidecar C 200m; init D 600m
      // init phase: A 100, B 100+800=900, C 100+200=300, D 300+600=900 → peak 900
      // steady: 700 + 100 + 200 = 1000 → max(1000, 900) = 1000m
      pod: makePod('p').req({ cpu: '700m' }).init('a', { cpu: '100m' }, true).init('b', { cpu: '800m' }).init('c', { cpu: '200m' }, true).init('d', { cpu: '600m' }).obj(),
      want: { cpu: 1000 },
    },
    {
      name: 'an init container after a sidecar runs beside it',
      // steady: 1 + 0.5 = 1.5 cpu; init phase: sidecar 0.5, then 0.5 + 2 = 2.5 → 2500m
      pod: makePod('p').req({ cpu: '1' }).init('proxy', { cpu: '500m' }, true).init('migrate', { cpu: '2' }).obj(),
      want: { cpu: 2500 },
    },
    {
      name: 'an init container before a sidecar does not',
      // steady: 1 + 0.5 = 1.5; init phase: 2, then sidecar 0.5 → peak 2 → 2000m
      pod: makePod('p').req({ cpu: '1' }).init('migrate', { cpu: '2' }).init('proxy', { cpu: '500m' }, true).obj(),
      want: { cpu: 2000 },
    },
    {
      name: 'overhead is added on top',
      // 500m + 250m overhead; 1Gi + 120Mi
      pod: makePod('p').req({ cpu: '500m', memory: '1Gi' }).spec((s) => (s.overhead = { cpu: '250m', memory: '120Mi' })).obj(),
      want: { cpu: 750, memory: Gi + 120 * Mi },
    },
    {
      name: 'pod-level requests replace the container sum for cpu and memory only, then overhead',
      // containers: cpu 500m + 500m, memory 1Gi, 1 GPU; pod level: cpu 2, ephemeral-storage ignored (not a pod-level resource)
      // → cpu 2000 + 100m overhead = 2100, memory 1Gi (containers), gpu 1
      pod: makePod('p')
        .req({ cpu: '500m', memory: '1Gi', 'nvidia.com/gpu': '1' })
        .container('b', { cpu: '500m' })
        .spec((s) => {
          s.resources = { requests: { cpu: '2', 'ephemeral-storage': '1Gi' } };
          s.overhead = { cpu: '100m' };
        })
        .obj(),
      want: { cpu: 2100, memory: Gi, 'nvidia.com/gpu': 1 },
    },
    {
      name: 'extended resources and ephemeral-storage are counted too',
      pod: makePod('p').req({ 'nvidia.com/gpu': 2, 'ephemeral-storage': '10Gi' }).obj(),
      want: { 'nvidia.com/gpu': 2, 'ephemeral-storage': 10 * Gi },
    },
  ];
  for (const c of cases) t.same(podRequests(c.pod), c.want, c.name);
});

t.test('nonZeroRequests: the scoring defaults of 100m and 200Mi per container', async (t) => {
  const cases = [
    { name: 'best-effort pod', pod: makePod('p').obj(), want: { cpu: 100, memory: 200 * Mi } },
    { name: 'requests as given', pod: makePod('p').req({ cpu: '2', memory: '1Gi' }).obj(), want: { cpu: 2000, memory: Gi } },
    {
      name: 'each container missing a request gets the default',
      // cpu: 500 + 100 (default for b) = 600; memory: 200Mi + 200Mi
      pod: makePod('p').req({ cpu: '500m' }).container('b').obj(),
      want: { cpu: 600, memory: 400 * Mi },
    },
    {
      name: 'with pod-level requests, only a resource requested nowhere gets the default',
      // cpu from the pod level; memory requested nowhere → 200Mi
      pod: makePod('p').spec((s) => (s.resources = { requests: { cpu: '1' } })).obj(),
      want: { cpu: 1000, memory: 200 * Mi },
    },
  ];
  for (const c of cases) t.same(nonZeroRequests(c.pod), c.want, c.name);
});
