/**
 * `berth bench provisioner --pods P --instance-types all|N [--seed S] [--json FILE]`: plans
 * capacity for P generated pending pods over the instance-type catalogue (On-Demand, one zone)
 * with the provisioner's planner (planner.ts) and reports, as JSON:
 * - `seconds`: wall time of planning (the aggregate LP whose prices value pods, the greedy plan,
 *   column generation), `podsPerSecond`; the fit-aware bound, only reported, is not timed;
 * - `hourlyCost`: the plan's cost, USD per hour;
 * - `lowerBoundHourlyCost`: the LP relaxation the issue names (planner.ts `lowerBound`): the
 *   cheapest fractional mix of types covering the total requests in every resource (cpu, memory,
 *   pod slots), and `costToLowerBound`. Over the real catalogue it buys cpu on t4g.nano (1.93
 *   cores for $0.0042/h, but 0.11 GiB allocatable memory, smaller than any pod here asks):
 *   capacity no pod can use, so no plan comes near it (10,000 pods over 400 types: $166/h);
 * - `fitLowerBoundHourlyCost`: a tighter relaxation that is still a valid bound (planner.ts
 *   `fitBound`): each pod's requests covered only by types it fits on alone ($244/h for the same
 *   run), and `costToFitLowerBound`;
 * - `masterLpHourlyCost`: the column-generation master LP (an estimate of the tighter
 *   configuration-LP bound; see the field);
 * - `optimalHourlyCost` (P ≤ 200): the exact MILP optimum from HiGHS (`optimalProven` false when
 *   its time limit stopped it first: then it is the best integer solution found).
 *
 * `--instance-types N` beyond the catalogue's size adds synthetic types derived from its families
 * and sizes (an intermediate size between two real sizes of one family, at the interpolated
 * price), as Karpenter's own scheduling benchmark runs over 400 types.
 */
import { writeFileSync } from 'node:fs';

import { resourceAmount } from '../api/quantity.js';
import { nodeResources } from '../cloud/allocatable.js';
import { catalog as defaultCatalog, type Catalog, type InstanceTypeInfo } from '../cloud/catalog.js';
import { seededRandom } from '../clock/random.js';
import { CliError } from '../cli/errors.js';
import type { IO } from '../cli/types.js';
import { columnPlan, fitBound, highs, lowerBound, optimal, plan, type Offering, type PodGroup } from './planner.js';

export interface ProvisionerBenchResult {
  benchmark: 'provisioner';
  pods: number;
  instanceTypes: number;
  syntheticInstanceTypes: number;
  seed: number;
  podShapes: number;
  nodes: number;
  seconds: number;
  podsPerSecond: number;
  hourlyCost: number;
  lowerBoundHourlyCost: number;
  /** hourlyCost / lowerBoundHourlyCost. */
  costToLowerBound: number;
  fitLowerBoundHourlyCost: number;
  /** hourlyCost / fitLowerBoundHourlyCost. */
  costToFitLowerBound: number;
  /**
   * The column-generation master LP over the node patterns it generated (planner.ts
   * `columnPlan`): the configuration LP's value if pricing found every improving pattern. Pricing
   * is heuristic, so this is an estimate of the configuration-LP bound, not a proven one; where it
   * sits well above `fitLowerBoundHourlyCost`, the gap is the fit-aware LP's own (fractional pods on
   * small nodes), not the plan's.
   */
  /** null when column generation did not run. */
  masterLpHourlyCost: number | null;
  optimalHourlyCost?: number;
  optimalProven?: boolean;
  optimalSeconds?: number;
  /** hourlyCost / optimalHourlyCost. */
  costToOptimal?: number;
  unplacedPods: number;
}

const GiB = 1024 ** 3;

/** The offering of a catalogue type: allocatable as the EKS AMI leaves it, On-Demand price. */
export function offeringOf(t: InstanceTypeInfo, zone = 'us-east-1a', capacityType: Offering['capacityType'] = 'on-demand', price = t.onDemandUsdPerHour): Offering {
  const { allocatable } = nodeResources(t);
  return {
    instanceType: t.name,
    capacityType,
    zone,
    price,
    cpu: resourceAmount('cpu', allocatable.cpu!),
    memory: resourceAmount('memory', allocatable.memory!),
    pods: resourceAmount('pods', allocatable.pods!),
    vcpu: t.vcpu,
    memoryCapacity: t.memoryMiB * 1024 * 1024,
  };
}

/** `n` instance types: the catalogue (all of it, or its n cheapest-first sample), then synthetic ones. */
export function benchTypes(cat: Catalog, n: number | 'all'): { types: InstanceTypeInfo[]; synthetic: number } {
  const real = cat.list().filter((t) => t.onDemandUsdPerHour > 0);
  if (n === 'all' || n === real.length) return { types: real, synthetic: 0 };
  if (n < real.length) {
    // An even sample across the catalogue, so small N still spans families and sizes.
    const step = real.length / n;
    return { types: Array.from({ length: n }, (_, i) => real[Math.floor(i * step)]!), synthetic: 0 };
  }
  const out = [...real];
  const byFamily = new Map<string, InstanceTypeInfo[]>();
  for (const t of real) {
    if (!byFamily.has(t.family)) byFamily.set(t.family, []);
    byFamily.get(t.family)!.push(t);
  }
  const pairs: [InstanceTypeInfo, InstanceTypeInfo][] = [];
  for (const list of byFamily.values()) {
    list.sort((a, b) => a.vcpu - b.vcpu);
    for (let i = 0; i + 1 < list.length; i++) pairs.push([list[i]!, list[i + 1]!]);
  }
  let k = 0;
  while (out.length < n && pairs.length) {
    const [a, b] = pairs[k % pairs.length]!;
    const round = Math.floor(k / pairs.length) + 1;
    const f = round / (round + 1);
    const mix = (x: number, y: number): number => x + (y - x) * f;
    out.push({
      ...a,
      name: `${a.family}.synth${round}-${a.size}`,
      size: `synth${round}-${a.size}`,
      vcpu: Math.max(1, Math.round(mix(a.vcpu, b.vcpu))),
      memoryMiB: Math.round(mix(a.memoryMiB, b.memoryMiB)),
      maxPods: Math.round(mix(a.maxPods, b.maxPods)),
      onDemandUsdPerHour: Math.round(mix(a.onDemandUsdPerHour, b.onDemandUsdPerHour) * 1e4) / 1e4,
    });
    k++;
  }
  return { types: out, synthetic: out.length - real.length };
}

/**
 * `count` pods in a dozen shapes drawn from `seed`: cpu from 100m to 4 cores, memory from
 * 0.5 to 8 GiB per core, as a mixed cluster's Deployments.
 */
export function benchPods(count: number, seed: number): PodGroup[] {
  const rnd = seededRandom(seed);
  const cpus = [100, 250, 500, 750, 1000, 1500, 2000, 4000];
  const memPerCore = [0.5, 1, 2, 4, 8];
  const shapes = 12;
  const groups: PodGroup[] = [];
  for (let i = 0; i < shapes; i++) {
    const cpu = cpus[Math.floor(rnd() * cpus.length)]!;
    const memory = Math.max(64 * 1024 * 1024, Math.round(((cpu / 1000) * memPerCore[Math.floor(rnd() * memPerCore.length)]! * GiB) / (64 * 1024 * 1024)) * 64 * 1024 * 1024);
    groups.push({ key: `shape-${i}`, cpu, memory, count: 0, compatible: () => true });
  }
  for (let p = 0; p < count; p++) groups[Math.floor(rnd() * shapes)]!.count++;
  return groups.filter((g) => g.count > 0);
}

/** Runs the benchmark. Throws CliError for bad flags. */
export async function runProvisionerBench(opts: { pods: number; instanceTypes: number | 'all'; seed: number; optimalTimeLimitSeconds?: number; catalog?: Catalog }): Promise<ProvisionerBenchResult> {
  const cat = opts.catalog ?? defaultCatalog();
  const { types, synthetic } = benchTypes(cat, opts.instanceTypes);
  const offerings = types.map((t) => offeringOf(t));
  const groups = benchPods(opts.pods, opts.seed);
  // The solver's WebAssembly loads once per process (a controller keeps it): not part of planning.
  const solver = await highs();
  solver.solve('Minimize\n obj: x\nSubject To\n c: x >= 1\nEnd', { output_flag: false }); // warm the WebAssembly up
  const start = performance.now();
  const lb = await lowerBound(groups, offerings);
  const greedy = plan(groups, offerings, { duals: lb.duals });
  const cg = await columnPlan(groups, offerings, greedy, { duals: lb.duals });
  const p = cg.plan;
  const seconds = (performance.now() - start) / 1000;
  // The fit-aware bound is reported, not used by the plan: outside the timing.
  const fit = await fitBound(groups, offerings);
  const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;
  const result: ProvisionerBenchResult = {
    benchmark: 'provisioner',
    pods: opts.pods,
    instanceTypes: types.length,
    syntheticInstanceTypes: synthetic,
    seed: opts.seed,
    podShapes: groups.length,
    nodes: p.nodes.length,
    seconds: round(seconds, 4),
    podsPerSecond: Math.round(opts.pods / Math.max(seconds, 1e-9)),
    hourlyCost: round(p.hourlyCost),
    lowerBoundHourlyCost: round(lb.cost),
    costToLowerBound: round(p.hourlyCost / lb.cost),
    fitLowerBoundHourlyCost: round(fit.cost),
    costToFitLowerBound: round(p.hourlyCost / fit.cost),
    masterLpHourlyCost: Number.isFinite(cg.masterCost) ? round(cg.masterCost) : null,
    unplacedPods: p.unplaced.reduce((a, b) => a + b, 0),
  };
  if (opts.pods <= 200 && opts.pods > 0) {
    const t0 = performance.now();
    const opt = await optimal(groups, offerings, p.hourlyCost, opts.optimalTimeLimitSeconds ?? 60);
    result.optimalHourlyCost = round(Math.min(opt.cost, p.hourlyCost));
    result.optimalProven = opt.proven;
    result.optimalSeconds = round((performance.now() - t0) / 1000, 2);
    result.costToOptimal = round(p.hourlyCost / result.optimalHourlyCost);
  }
  return result;
}

/** `berth bench provisioner`'s flags as commander hands them over. */
export interface BenchProvisionerFlags {
  pods?: string;
  instanceTypes?: string;
  seed?: string;
  json?: string;
}

/** The CLI entry: parses flags, runs, prints JSON (and writes `--json FILE`). Throws CliError. */
export async function runBenchProvisioner(io: IO, flags: BenchProvisionerFlags): Promise<ProvisionerBenchResult> {
  const int = (name: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!/^\d+$/.test(v.trim())) throw new CliError(`--${name} must be a non-negative integer, got "${v}"`);
    return Number(v);
  };
  const pods = int('pods', flags.pods, 10_000);
  const it = flags.instanceTypes ?? 'all';
  const instanceTypes = it === 'all' ? 'all' : int('instance-types', it, 0);
  if (instanceTypes === 0) throw new CliError('--instance-types must be "all" or a positive integer');
  const result = await runProvisionerBench({ pods, instanceTypes, seed: int('seed', flags.seed, 1) });
  const text = `${JSON.stringify(result, null, 2)}\n`;
  io.stdout(text);
  if (flags.json) {
    try {
      writeFileSync(flags.json, text);
    } catch (e) {
      throw new CliError(`cannot write --json ${flags.json}: ${(e as Error).message}`);
    }
  }
  return result;
}


