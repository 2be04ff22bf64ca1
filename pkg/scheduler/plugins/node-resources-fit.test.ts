import t from 'tap';
import { makeNode, makePod } from '../../testing/builders.js';
import { SchedulerConfigError } from '../framework/framework.js';
import { nodeInfo, runFilter, runScore } from '../test-helpers.js';
import { NodeResourcesFit } from './node-resources-fit.js';
import { inTreeRegistry } from './registry.js';

const node = (r: Record<string, string | number> = {}) => makeNode('n1').capacity({ cpu: '4', memory: '16Gi', ...r }).obj();

t.test('Filter: room for the effective request, in kube-scheduler words', async (t) => {
  const fit = new NodeResourcesFit();
  const cases = [
    // 4000m − 3000m = 1000m left
    { name: 'fits in what is left', pod: makePod('p').req({ cpu: '500m' }).obj(), node: node(), on: [makePod('a').req({ cpu: '3' }).obj()], want: [] },
    { name: 'exactly what is left fits', pod: makePod('p').req({ cpu: '1' }).obj(), node: node(), on: [makePod('a').req({ cpu: '3' }).obj()], want: [] },
    { name: 'one millicore too many', pod: makePod('p').req({ cpu: '1001m' }).obj(), node: node(), on: [makePod('a').req({ cpu: '3' }).obj()], want: ['Insufficient cpu'] },
    // 16Gi − 10Gi = 6Gi left; 1500m > 1000m and 8Gi > 6Gi: every insufficient resource is named
    {
      name: 'cpu and memory both short',
      pod: makePod('p').req({ cpu: '1500m', memory: '8Gi' }).obj(),
      node: node(),
      on: [makePod('a').req({ cpu: '3', memory: '10Gi' }).obj()],
      want: ['Insufficient cpu', 'Insufficient memory'],
    },
    { name: 'a best-effort pod fits a full node', pod: makePod('p').obj(), node: node(), on: [makePod('a').req({ cpu: '4', memory: '16Gi' }).obj()], want: [] },
    { name: 'pods allocatable reached', pod: makePod('p').obj(), node: node({ pods: '2' }), on: [makePod('a').obj(), makePod('b').obj()], want: ['Too many pods'] },
    { name: 'Too many pods comes first', pod: makePod('p').req({ cpu: '5' }).obj(), node: node({ pods: '1' }), on: [makePod('a').obj()], want: ['Too many pods', 'Insufficient cpu'] },
    { name: 'no GPU on the node', pod: makePod('p').req({ 'nvidia.com/gpu': 1 }).obj(), node: node(), on: [], want: ['Insufficient nvidia.com/gpu'] },
    {
      name: 'GPUs taken',
      pod: makePod('p').req({ 'nvidia.com/gpu': 1 }).obj(),
      node: node({ 'nvidia.com/gpu': 1 }),
      on: [makePod('a').req({ 'nvidia.com/gpu': 1 }).obj()],
      want: ['Insufficient nvidia.com/gpu'],
    },
    { name: 'a free GPU', pod: makePod('p').req({ 'nvidia.com/gpu': 1 }).obj(), node: node({ 'nvidia.com/gpu': 2 }), on: [makePod('a').req({ 'nvidia.com/gpu': 1 }).obj()], want: [] },
    { name: 'ephemeral-storage', pod: makePod('p').req({ 'ephemeral-storage': '20Gi' }).obj(), node: node({ 'ephemeral-storage': '10Gi' }), on: [], want: ['Insufficient ephemeral-storage'] },
    // app 1 cpu, but the init container needs 3 while 4 − 2 = 2 are left
    { name: 'the init container decides', pod: makePod('p').req({ cpu: '1' }).init('setup', { cpu: '3' }).obj(), node: node(), on: [makePod('a').req({ cpu: '2' }).obj()], want: ['Insufficient cpu'] },
    // 1 cpu + 1 cpu sidecar = 2 cpu; 4 − 2.5 = 1.5 left
    { name: 'a sidecar adds up', pod: makePod('p').req({ cpu: '1' }).init('proxy', { cpu: '1' }, true).obj(), node: node(), on: [makePod('a').req({ cpu: '2500m' }).obj()], want: ['Insufficient cpu'] },
    // 900m + 200m overhead = 1100m > 1000m left
    {
      name: 'overhead counts',
      pod: makePod('p').req({ cpu: '900m' }).spec((s) => (s.overhead = { cpu: '200m' })).obj(),
      node: node(),
      on: [makePod('a').req({ cpu: '3' }).obj()],
      want: ['Insufficient cpu'],
    },
    // the node's existing pod counts its overhead too: 3 + 0.5 = 3.5 → 500m left
    {
      name: 'overhead of pods on the node counts',
      pod: makePod('p').req({ cpu: '600m' }).obj(),
      node: node(),
      on: [makePod('a').req({ cpu: '3' }).spec((s) => (s.overhead = { cpu: '500m' })).obj()],
      want: ['Insufficient cpu'],
    },
    // pod-level 500m replaces the 2 cpu the containers ask for
    {
      name: 'pod-level requests replace the container sum',
      pod: makePod('p').req({ cpu: '2' }).spec((s) => (s.resources = { requests: { cpu: '500m' } })).obj(),
      node: node(),
      on: [makePod('a').req({ cpu: '3' }).obj()],
      want: [],
    },
    { name: 'allocatable, not capacity', pod: makePod('p').req({ cpu: '3900m' }).obj(), node: makeNode('n1').capacity({ cpu: '4', memory: '16Gi' }).allocatable({ cpu: '3800m', memory: '15Gi' }).obj(), on: [], want: ['Insufficient cpu'] },
  ];
  for (const c of cases) {
    const s = runFilter(fit, c.pod, nodeInfo(c.node, ...c.on));
    t.same(s.reasons, c.want, c.name);
    t.equal(s.code, c.want.length ? 'Unschedulable' : 'Success', `${c.name}: code`);
  }
});

t.test('Score: MostAllocated packs, LeastAllocated spreads', async (t) => {
  // n1 already runs a 2-cpu pod without a memory request (counted as 200Mi for scoring); n2 is empty.
  const full = nodeInfo(makeNode('n1').capacity({ cpu: '4', memory: '16Gi' }).obj(), makePod('a').req({ cpu: '2' }).obj());
  const empty = nodeInfo(makeNode('n2').capacity({ cpu: '4', memory: '16Gi' }).obj());
  const pod = makePod('p').req({ cpu: '1', memory: '1Gi' }).obj();
  // MostAllocated, n1: cpu 3000/4000 → 75; memory (200Mi + 1024Mi)/16384Mi → 7.47 → 7; (75 + 7)/2 = 41
  //                n2: cpu 1000/4000 → 25; memory 1024/16384 → 6.25 → 6; (25 + 6)/2 = 15
  t.same(runScore(new NodeResourcesFit(), pod, [full, empty]), [41, 15], 'MostAllocated (default)');
  // LeastAllocated, n1: cpu 25; memory (16384 − 1224)/16384 → 92.5 → 92; (25 + 92)/2 = 58
  //                 n2: cpu 75; memory 15360/16384 → 93.75 → 93; (75 + 93)/2 = 84
  t.same(runScore(new NodeResourcesFit({ scoringStrategy: { type: 'LeastAllocated' } }), pod, [full, empty]), [58, 84], 'LeastAllocated');
  // cpu only, weight 1: n1 75, n2 25
  t.same(runScore(new NodeResourcesFit({ scoringStrategy: { resources: [{ name: 'cpu', weight: 1 }] } }), pod, [full, empty]), [75, 25], 'cpu only');
  // A best-effort pod counts 100m and 200Mi: n1 cpu 2100/4000 → 52, memory 400Mi/16Gi → 2 → 27; n2 cpu 2, memory 1 → 1
  t.same(runScore(new NodeResourcesFit(), makePod('be').obj(), [full, empty]), [27, 1], 'best-effort pods count the defaults');
});

t.test('arguments are checked when the plugin is built', async (t) => {
  const factory = inTreeRegistry().get(NodeResourcesFit.name)!;
  t.throws(() => factory({ scoringStrategy: { type: 'Random' } }), /not supported/);
  t.throws(() => factory({ scoringStrategy: { type: 'RequestedToCapacityRatio' } }), /shape must have at least one point/);
  t.throws(() => factory({ scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape: [{ utilization: 50, score: 5 }, { utilization: 40, score: 10 }] } } }), /greater than the previous/);
  t.throws(() => factory({ scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape: [{ utilization: 0, score: 11 }] } } }), /score must be an integer in 0..10/);
  t.throws(() => factory({ scoringStrategy: { resources: [{ name: 'cpu', weight: 0 }] } }), /weight/);
  t.throws(() => factory({ scoringStrategy: { resources: [] } }), /empty/);
  t.ok(factory(undefined) instanceof NodeResourcesFit);
  t.equal(new SchedulerConfigError('x').code, 'InvalidSchedulerConfig');
});
