import t from 'tap';
import { catalog } from '../cloud/catalog.js';
import { benchPods, benchTypes, offeringOf, runProvisionerBench } from './bench.js';
import { columnPlan, fitBound, lowerBound, optimal, plan, type PodGroup } from './planner.js';
import { parseKarpenterDuration, requirementsMatch } from './types.js';

const GiB = 1024 ** 3;
const cat = catalog();
const offerings = cat.list().map((x) => offeringOf(x));

t.test('a plan holds every pod, on nodes whose allocatable covers what they hold', async (t) => {
  const groups = benchPods(500, 3);
  const lb = await lowerBound(groups, offerings);
  const p = plan(groups, offerings, { duals: lb.duals });
  t.same(p.unplaced, groups.map(() => 0), 'nothing left over');
  const placed = groups.map(() => 0);
  for (const n of p.nodes) {
    const o = offerings[n.offering]!;
    let cpu = 0;
    let mem = 0;
    let pods = 0;
    n.counts.forEach((c, g) => {
      cpu += c * groups[g]!.cpu;
      mem += c * groups[g]!.memory;
      pods += c;
      placed[g]! += c;
    });
    if (cpu > o.cpu || mem > o.memory || pods > o.pods) t.fail(`${o.instanceType} over-full`);
  }
  t.same(placed, groups.map((g) => g.count));
  t.ok(p.hourlyCost >= lb.cost - 1e-9, `plan $${p.hourlyCost.toFixed(3)} ≥ bound $${lb.cost.toFixed(3)}`);
});

t.test('constraints and limits: incompatible offerings are never used; limits cap the plan', async (t) => {
  const onlyM5 = (o: number): boolean => offerings[o]!.instanceType.startsWith('m5.');
  const groups: PodGroup[] = [{ key: 'a', cpu: 1000, memory: GiB, count: 30, compatible: onlyM5 }];
  const p = plan(groups, offerings);
  t.ok(p.nodes.every((n) => onlyM5(n.offering)), 'only m5 types');
  const capped = plan(groups, offerings, { limits: { cpu: 8 } });
  t.ok(capped.nodes.reduce((s, n) => s + offerings[n.offering]!.vcpu, 0) <= 8, 'at most 8 vCPUs');
  t.ok(capped.unplaced[0]! > 0, 'the rest stay pending');
});

// The target: within 1.02 × the optimum where the MILP proves one (small instances over
// 40 types; seed 6 is one where column generation improves on the greedy plan, 1.758 → 1.634).
t.test('small instances: within 2 % of the proven MILP optimum', async (t) => {
  const few = benchTypes(cat, 40).types.map((x) => offeringOf(x));
  const cases: [string, PodGroup[]][] = [
    ['two shapes', [
      { key: 'a', cpu: 1500, memory: 3 * GiB, count: 7, compatible: () => true },
      { key: 'b', cpu: 250, memory: 6 * GiB, count: 5, compatible: () => true },
    ]],
    ['24 pods, seed 3', benchPods(24, 3)],
    ['24 pods, seed 6', benchPods(24, 6)],
  ];
  for (const [name, groups] of cases) {
    const lb = await lowerBound(groups, few);
    const greedy = plan(groups, few, { duals: lb.duals });
    const { plan: p } = await columnPlan(groups, few, greedy, { duals: lb.duals });
    t.ok(p.hourlyCost <= greedy.hourlyCost + 1e-9, `${name}: column generation never does worse than the greedy plan`);
    const opt = await optimal(groups, few, p.hourlyCost, 60);
    t.ok(opt.proven, `${name}: optimum proven (${opt.status})`);
    t.ok(p.hourlyCost <= opt.cost * 1.02 + 1e-9, `${name}: plan $${p.hourlyCost.toFixed(4)} vs optimum $${opt.cost.toFixed(4)}`);
  }
});

t.test('the fit-aware LP bound: never above a plan, never below the aggregate bound', async (t) => {
  const types = benchTypes(cat, 400).types.map((x) => offeringOf(x));
  const groups = benchPods(3000, 4);
  const agg = await lowerBound(groups, types);
  const fit = await fitBound(groups, types);
  const p = plan(groups, types, { duals: agg.duals });
  t.ok(fit.cost >= agg.cost - 1e-6, `fit-aware $${fit.cost.toFixed(2)} ≥ aggregate $${agg.cost.toFixed(2)}`);
  t.ok(p.hourlyCost >= fit.cost - 1e-6, `plan $${p.hourlyCost.toFixed(2)} ≥ fit-aware bound`);
  t.ok(p.hourlyCost <= fit.cost * 1.05, `plan within 5 % of the fit-aware bound (${(p.hourlyCost / fit.cost).toFixed(4)})`);
  // Every pod's share lands on offerings it fits on.
  for (const [o, a] of fit.assign) a.forEach((n, g) => n > 1e-9 && t.ok(types[o]!.cpu >= groups[g]!.cpu && types[o]!.memory >= groups[g]!.memory, 'fits') );
});

t.test('the benchmark reports the issue\'s keys', async (t) => {
  const r = await runProvisionerBench({ pods: 2000, instanceTypes: 400, seed: 2 });
  for (const k of ['seconds', 'podsPerSecond', 'hourlyCost', 'lowerBoundHourlyCost']) t.type((r as unknown as Record<string, unknown>)[k], 'number', k);
  t.equal(r.instanceTypes, 400);
  t.ok(r.syntheticInstanceTypes > 0);
  t.equal(r.unplacedPods, 0);
  t.equal(r.optimalHourlyCost, undefined, 'no MILP above 200 pods');
});

t.test('requirements and durations', async (t) => {
  const labels = { 'karpenter.k8s.aws/instance-generation': '5', 'karpenter.k8s.aws/instance-category': 'm' };
  t.ok(requirementsMatch([{ key: 'karpenter.k8s.aws/instance-generation', operator: 'Gt', values: ['2'] }], labels));
  t.notOk(requirementsMatch([{ key: 'karpenter.k8s.aws/instance-category', operator: 'In', values: ['c', 'r'] }], labels));
  t.ok(requirementsMatch([{ key: 'karpenter.k8s.aws/instance-category', operator: 'NotIn', values: ['t'] }], labels));
  t.equal(parseKarpenterDuration('1h30m', 0), 5_400_000);
  t.equal(parseKarpenterDuration('Never', 0), Infinity);
  t.throws(() => parseKarpenterDuration('soon', 0));
});
