/**
 * The kube-scheduler baseline makes kube-scheduler's choices: it is checked against a plain
 * reference of `schedulePod` written straight from schedule_one.go — every filter through
 * `CompiledPod.fits`, a rotating start, `numFeasibleNodesToFind` feasible nodes, MostAllocated over
 * them, first best on a tie — on clusters with taints, node selectors, anti-affinity and spread
 * (the `mixed` workload), where the baseline's shortcut (per-node filters only, for pods whose
 * class-scope filters pass every node class) must not change a single choice.
 */
import t from 'tap';
import { ClusterState } from '../framework/cluster.js';
import { Framework } from '../framework/framework.js';
import { NodeResourcesFit } from '../plugins/node-resources-fit.js';
import { defaultProfile, inTreeRegistry } from '../plugins/registry.js';
import { numFeasibleNodesToFind, placeKubeBaseline } from './baseline.js';
import { generate, type BenchSpec } from './generate.js';

t.test('numFeasibleNodesToFind follows kube-scheduler: all below 100 nodes, then max(5, 50 − n/125)% with a floor of 100', async (t) => {
  t.equal(numFeasibleNodesToFind(50), 50, 'fewer than 100 nodes: every node');
  t.equal(numFeasibleNodesToFind(100), 100, '100 nodes: 50% is 50, raised to the floor of 100');
  t.equal(numFeasibleNodesToFind(1000), 420, '1,000 nodes: 50 − 8 = 42%');
  t.equal(numFeasibleNodesToFind(5000), 500, '5,000 nodes: 50 − 40 = 10%');
  t.equal(numFeasibleNodesToFind(10_000), 500, '10,000 nodes: the 5% minimum');
});

/** kube-scheduler's schedulePod, one pod at a time, straight from the framework's CompiledPod. */
function reference(spec: BenchSpec): Int32Array {
  const g = generate(spec);
  const cluster = new ClusterState();
  for (const n of g.nodes) cluster.setNode(n);
  const fw = new Framework(defaultProfile(), inTreeRegistry());
  const fit = new NodeResourcesFit();
  const classes = g.templates.map((tpl) => cluster.classes.intern(tpl));
  const session = cluster.beginSession();
  const order = cluster.order;
  const want = numFeasibleNodesToFind(order.length);
  const out = new Int32Array(g.templateOf.length).fill(-1);
  let start = 0;
  for (let p = 0; p < g.templateOf.length; p++) {
    const pod = classes[g.templateOf[p]!]!;
    const cp = fw.compile(pod, cluster, session); // fresh each pod: nothing carried over
    if (!cp.usable) continue;
    const feasible: number[] = [];
    let visited = 0;
    while (visited < order.length && feasible.length < want) {
      const i = order[(start + visited) % order.length]!;
      visited++;
      if (cp.fits(i)) feasible.push(i);
    }
    start = (start + visited) % order.length;
    if (feasible.length === 0) continue;
    const scorer = fit.compileScore(pod, cluster);
    let best = feasible[0]!;
    for (const i of feasible) if (scorer.score(i) > scorer.score(best)) best = i;
    cluster.addPods(pod, best, 1);
    out[p] = best;
  }
  cluster.endSession();
  return out;
}

function baseline(spec: BenchSpec): Int32Array {
  const g = generate(spec);
  const cluster = new ClusterState();
  for (const n of g.nodes) cluster.setNode(n);
  const fw = new Framework(defaultProfile(), inTreeRegistry());
  const classes = g.templates.map((tpl) => cluster.classes.intern(tpl));
  const session = cluster.beginSession();
  const out = placeKubeBaseline(fw, cluster, session, classes, g.templateOf);
  cluster.endSession();
  return out;
}

for (const spec of [
  { nodes: 300, pods: 3000, workload: 'resources', seed: 3 },
  { nodes: 300, pods: 3000, workload: 'mixed', seed: 5 },
  { nodes: 150, pods: 2500, workload: 'mixed', seed: 11, fill: 0.97 },
] as BenchSpec[]) {
  t.test(`the baseline places every pod where kube-scheduler's algorithm does (${spec.workload}, ${spec.nodes} nodes, ${spec.pods} pods)`, async (t) => {
    const want = reference(spec);
    const got = baseline(spec);
    let differ = 0;
    for (let p = 0; p < want.length; p++) if (want[p] !== got[p]) differ++;
    t.equal(differ, 0, 'the same node for every pod');
    const placed = got.reduce((s, x) => s + (x >= 0 ? 1 : 0), 0);
    t.ok(placed > spec.pods / 2, `most pods placed (${placed})`);
    if (spec.workload === 'mixed') {
      const g = generate(spec);
      const tainted = new Set(g.nodes.flatMap((n, i) => ((n.spec?.taints?.length ?? 0) > 0 ? [i] : [])));
      t.ok(tainted.size > 0, 'the fleet has tainted nodes, so some pods take the full filter path');
    }
  });
}
