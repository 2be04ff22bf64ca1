import t from 'tap';
import type { Pod } from '../../api/types.js';
import { makeNode, makePod } from '../../testing/builders.js';
import { defaultProfile, inTreeRegistry, kubeSchedulerProfile } from '../plugins/registry.js';
import { clusterOf, nodeInfo } from '../test-helpers.js';
import { ClusterState } from './cluster.js';
import { fitErrorMessage, NO_NODES_AVAILABLE, schedulePod } from './cycle.js';
import { Framework } from './framework.js';
import { defaultNormalizeScore } from './normalize.js';
import { Status } from './status.js';
import type { FilterPlugin, PluginFactory, Profile } from './types.js';

const fw = new Framework(defaultProfile(), inTreeRegistry());
const gpuTaint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' as const };

t.test('fitErrorMessage: reasons counted per node, rendered and sorted as kube-scheduler does', async (t) => {
  const rej = (n: number, ...reasons: string[]) => Array.from({ length: n }, () => ({ reasons }));
  t.equal(fitErrorMessage(3, rej(3, 'Insufficient cpu')), '0/3 nodes are available: 3 Insufficient cpu.');
  t.equal(
    fitErrorMessage(12, [...rej(8, 'Insufficient cpu'), ...rej(4, 'node(s) had untolerated taint {dedicated: gpu}')]),
    '0/12 nodes are available: 4 node(s) had untolerated taint {dedicated: gpu}, 8 Insufficient cpu.',
  );
  // A node short of two resources counts once under each.
  t.equal(fitErrorMessage(2, rej(2, 'Insufficient cpu', 'Insufficient memory')), '0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.');
  // "10 …" sorts before "2 …": the count is part of the string sorted (Go's sort.Strings).
  t.equal(
    fitErrorMessage(12, [...rej(2, 'Insufficient cpu'), ...rej(10, 'Insufficient memory')]),
    '0/12 nodes are available: 10 Insufficient memory, 2 Insufficient cpu.',
  );
});

t.test('schedulePod: a node counts only its first failing filter', async (t) => {
  // n1 is tainted and too small: only the taint (TaintToleration runs before NodeResourcesFit) counts.
  const nodes = clusterOf(
    nodeInfo(makeNode('n1').capacity({ cpu: '1' }).taint(gpuTaint).obj()),
    nodeInfo(makeNode('n2').capacity({ cpu: '1' }).obj()),
    nodeInfo(makeNode('n3').capacity({ cpu: '1' }).unschedulable().obj()),
  );
  const r = schedulePod(fw, makePod('p').req({ cpu: '2' }).obj(), nodes);
  t.equal(r.nodeName, undefined);
  t.same(r.failure, {
    reason: 'Unschedulable',
    message: '0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable.',
  });
  t.same(
    r.rejected.map((x) => [x.node, x.plugin]),
    [
      ['n1', 'TaintToleration'],
      ['n2', 'NodeResourcesFit'],
      ['n3', 'NodeUnschedulable'],
    ],
  );
});

t.test('schedulePod: MostAllocated picks the fullest node; ties go to the first name', async (t) => {
  const n = (name: string, ...pods: Pod[]) => nodeInfo(makeNode(name).capacity({ cpu: '4', memory: '16Gi' }).obj(), ...pods);
  const pod = makePod('p').req({ cpu: '1', memory: '1Gi' }).obj();
  const r = schedulePod(fw, pod, clusterOf(n('a'), n('b', makePod('x').req({ cpu: '2', memory: '4Gi' }).obj()), n('c')));
  t.equal(r.nodeName, 'b');
  // b: cpu 3000/4000 → 75, memory 5Gi/16Gi → 31; (75 + 31)/2 = 53. a, c: cpu 25, memory 6 → 15.
  // TaintToleration: no taints anywhere, every node 100 × 3. NodeAffinity: skipped (no preferences).
  t.same(r.scores, {
    nodes: ['a', 'b', 'c'],
    totals: [315, 353, 315],
    plugins: ['TaintToleration', 'NodeResourcesFit'],
    weights: [3, 1],
    byPlugin: [
      [300, 300, 300],
      [15, 53, 15],
    ],
  });
  t.equal(schedulePod(fw, pod, clusterOf(n('c'), n('a'))).nodeName, 'a', 'a tie goes to the name that sorts first');
});

t.test("kubeSchedulerProfile: kube-scheduler's own scores (LeastAllocated + BalancedAllocation) spread instead", async (t) => {
  const kube = new Framework(kubeSchedulerProfile('kube'), inTreeRegistry());
  const n = (name: string, ...pods: Pod[]) => nodeInfo(makeNode(name).capacity({ cpu: '4', memory: '16Gi' }).obj(), ...pods);
  const pod = makePod('p').req({ cpu: '1', memory: '1Gi' }).obj();
  const r = schedulePod(kube, pod, clusterOf(n('a'), n('b', makePod('x').req({ cpu: '2', memory: '4Gi' }).obj())));
  t.equal(r.nodeName, 'a');
  // LeastAllocated, integer arithmetic as in kube-scheduler: a: cpu (4000−1000)·100/4000 = 75,
  // memory 15Gi·100/16Gi = 93, mean (75 + 93)/2 = 84. b: cpu 1000·100/4000 = 25, memory 11·100/16 = 68, mean 46.
  // BalancedAllocation 100·(1 − |cpu − memory fraction|/2): a: 1 − |0.25 − 0.0625|/2 → 90; b: 1 − |0.75 − 0.3125|/2 → 78.
  t.same(r.scores, {
    nodes: ['a', 'b'],
    totals: [474, 424],
    plugins: ['TaintToleration', 'NodeResourcesFit', 'NodeResourcesBalancedAllocation'],
    weights: [3, 1, 1],
    byPlugin: [
      [300, 300],
      [84, 46],
      [90, 78],
    ],
  });
});

t.test('schedulePod: one feasible node needs no scoring; no nodes at all', async (t) => {
  const r = schedulePod(fw, makePod('p').req({ cpu: '3' }).obj(), clusterOf(nodeInfo(makeNode('small').capacity({ cpu: '2' }).obj()), nodeInfo(makeNode('big').capacity({ cpu: '4' }).obj())));
  t.equal(r.nodeName, 'big');
  t.equal(r.scores, undefined);
  t.same(schedulePod(fw, makePod('p').obj(), new ClusterState()).failure, { reason: 'Unschedulable', message: NO_NODES_AVAILABLE });
});

t.test('schedulePod: PreFilter rejections and plugin errors', async (t) => {
  const rejecting: PluginFactory = () =>
    ({
      name: 'Gate',
      compileFilter: () => Status.unschedulableAndUnresolvable('pod is gated'),
    }) satisfies FilterPlugin;
  const failing: PluginFactory = () => ({ name: 'Broken', compileFilter: () => Status.error(new Error('boom')) }) satisfies FilterPlugin;
  const registry = new Map([...inTreeRegistry(), ['Gate', rejecting], ['Broken', failing]]);
  const nodes = clusterOf(nodeInfo(makeNode('n1').obj()), nodeInfo(makeNode('n2').obj()));
  const gated = schedulePod(new Framework({ schedulerName: 's', filters: ['Gate'], scores: [] }, registry), makePod('p').obj(), nodes);
  t.same(gated.failure, { reason: 'Unschedulable', message: '0/2 nodes are available: pod is gated.' });
  t.equal(gated.rejected.length, 2, 'every node carries the PreFilter status');
  const broken = schedulePod(new Framework({ schedulerName: 's', filters: ['Broken'], scores: [] }, registry), makePod('p').obj(), nodes);
  t.same(broken.failure, { reason: 'SchedulerError', message: 'running PreFilter plugin "Broken": boom' });
});

t.test('Framework: profiles are checked when built', async (t) => {
  const registry = inTreeRegistry();
  const bad: [string, Profile, RegExp][] = [
    ['unknown plugin', { schedulerName: 's', filters: ['Nope'], scores: [] }, /unknown plugin "Nope"/],
    ['score-only plugin as a filter', { schedulerName: 's', filters: ['NodeResourcesBalancedAllocation'], scores: [] }, /not a filter plugin/],
    ['filter-only plugin as a score', { schedulerName: 's', filters: [], scores: [{ name: 'NodeName', weight: 1 }] }, /not a score plugin/],
    ['zero weight', { schedulerName: 's', filters: [], scores: [{ name: 'NodeResourcesFit', weight: 0 }] }, /positive integer weight/],
    ['duplicate filter', { schedulerName: 's', filters: ['NodeName', 'NodeName'], scores: [] }, /listed twice/],
    ['bad plugin args', { schedulerName: 's', filters: ['NodeResourcesFit'], scores: [], pluginArgs: { NodeResourcesFit: { scoringStrategy: { type: 'Random' } } } }, /plugin "NodeResourcesFit": scoring strategy/],
    ['no name', { schedulerName: '', filters: [], scores: [] }, /schedulerName/],
  ];
  for (const [name, profile, message] of bad) t.throws(() => new Framework(profile, registry), { code: 'InvalidSchedulerConfig', message }, name);
  const f = new Framework(defaultProfile(), registry);
  t.same(
    f.filterPlugins.map((p) => p.name),
    ['NodeUnschedulable', 'NodeName', 'TaintToleration', 'NodeAffinity', 'EcsPlacement', 'NodePorts', 'NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity'],
  );
  t.equal(f.scorePlugins.find((s) => s.plugin.name === 'NodeResourcesFit')!.plugin, f.filterPlugins[6], 'one instance per plugin');
});

t.test('defaultNormalizeScore', async (t) => {
  const run = (scores: number[], reverse: boolean) => {
    defaultNormalizeScore(100, reverse, scores);
    return scores;
  };
  t.same(run([2, 1, 0], false), [100, 50, 0], 'scaled to the maximum');
  t.same(run([3, 1, 0], false), [100, 33, 0], '100/3 truncates');
  t.same(run([2, 1, 0], true), [0, 50, 100], 'reversed');
  t.same(run([0, 0], true), [100, 100], 'all zero, reversed: all best');
  t.same(run([0, 0], false), [0, 0], 'all zero: unchanged');
});
