/**
 * The provisioning planner: for pending pods (grouped by shape and constraints) and the offerings
 * a NodePool allows (instance type × capacity type × zone, with price and allocatable), the set of
 * new nodes of lowest total hourly cost that holds them all, within the pool's limits.
 *
 * Bin packing with a choice of bin types is NP-hard; berth plans in three steps:
 * 1. The LP relaxation (`lowerBound`): the cheapest fractional mix of offerings covering the total
 *    cpu, memory and pod-slot requests, solved with HiGHS. Its dual prices value each resource in
 *    USD per hour, so each pod has a worth: what the cheapest fractional capacity would charge for it.
 * 2. Greedy by cost efficiency: each round fills every offering with the remaining pods (most
 *    valuable first, only pods it may hold) and keeps the one with the lowest price per worth
 *    packed, committing as many identical nodes as the remaining pods allow.
 * 3. Right-sizing: each planned node is swapped for the cheapest offering that holds its pods.
 *
 * `optimal` solves the exact MILP (nodes as slots per offering) for small instances, to measure
 * the planner against.
 */
import highsLoader from 'highs';

/** Something a node can be launched as: USD per hour, and allocatable cpu (millicores), memory (bytes) and pod slots. */
export interface Offering {
  instanceType: string;
  capacityType: 'on-demand' | 'spot';
  zone: string;
  price: number;
  cpu: number;
  memory: number;
  pods: number;
  /** vCPUs, for NodePool `limits.cpu` (capacity, not allocatable). */
  vcpu: number;
  /** Memory capacity in bytes, for NodePool `limits.memory`. */
  memoryCapacity: number;
}

/** Pods of one shape and one set of constraints: `compatible[o]` says whether offering `o` may hold them. */
export interface PodGroup {
  key: string;
  cpu: number;
  memory: number;
  count: number;
  compatible: (o: number) => boolean;
}

export interface PlannedNode {
  offering: number;
  /** Pods of each group on it (same order as the groups). */
  counts: number[];
}

export interface Plan {
  nodes: PlannedNode[];
  hourlyCost: number;
  /** Pods left unplaced per group (no compatible offering, or the limits). */
  unplaced: number[];
}

/** NodePool `limits`: the most vCPUs and memory (bytes) all its nodes may have. */
export interface Limits {
  cpu?: number;
  memory?: number;
}

/** What berth uses of the `highs` package's one-shot API (CPLEX LP text in, solution out). */
export interface HighsSolver {
  solve(problem: string, options?: Record<string, unknown>): { Status: string; ObjectiveValue: number; Rows: { Name: string; Dual?: number }[] };
}
let solver: Promise<HighsSolver> | undefined;
/** The HiGHS solver (WebAssembly), loaded once per process. */
export function highs(): Promise<HighsSolver> {
  solver ??= (highsLoader as unknown as () => Promise<HighsSolver>)();
  return solver;
}
/** Quiet: HiGHS logs to the console by default, and the log costs more than a small solve. */
const QUIET = { output_flag: false };

/**
 * The LP relaxation: min Σ price_o·x_o such that Σ cpu_o·x_o ≥ Σ cpu, likewise memory and pod
 * slots, x ≥ 0. Returns its cost (USD per hour) and the duals (USD per hour per millicore, per
 * byte, per pod slot). Infinity when the offerings cannot cover the requests.
 */
export async function lowerBound(groups: readonly PodGroup[], offerings: readonly Offering[]): Promise<{ cost: number; duals: { cpu: number; memory: number; pods: number } }> {
  let cpu = 0;
  let mem = 0;
  let pods = 0;
  for (const g of groups) {
    cpu += g.cpu * g.count;
    mem += g.memory * g.count;
    pods += g.count;
  }
  if (pods === 0) return { cost: 0, duals: { cpu: 0, memory: 0, pods: 0 } };
  // A dominated offering (no cheaper, no bigger in any resource) never helps the LP either.
  const all = offerings;
  offerings = prune([{ key: '', cpu: 0, memory: 0, count: 1, compatible: () => true }], all).map((o) => all[o]!);
  // Scale to keep coefficients near 1: cores, GiB.
  const GiB = 1024 ** 3;
  const lines = ['Minimize', ' obj: ' + offerings.map((o, i) => `${fmt(o.price)} x${i}`).join(' + '), 'Subject To'];
  lines.push(' cpu: ' + offerings.map((o, i) => `${fmt(o.cpu / 1000)} x${i}`).join(' + ') + ` >= ${fmt(cpu / 1000)}`);
  lines.push(' mem: ' + offerings.map((o, i) => `${fmt(o.memory / GiB)} x${i}`).join(' + ') + ` >= ${fmt(mem / GiB)}`);
  lines.push(' pods: ' + offerings.map((o, i) => `${fmt(o.pods)} x${i}`).join(' + ') + ` >= ${pods}`);
  lines.push('End');
  const r = (await highs()).solve(lines.join('\n'), QUIET);
  if (r.Status !== 'Optimal') return { cost: Infinity, duals: { cpu: 0, memory: 0, pods: 0 } };
  const dual = (name: string): number => Math.abs(r.Rows.find((x) => x.Name === name)?.Dual ?? 0);
  return { cost: r.ObjectiveValue, duals: { cpu: dual('cpu') / 1000, memory: dual('mem') / GiB, pods: dual('pods') } };
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(12).replace(/\.?0+$/, '');
}

/** Offerings no other compatible-with-the-same-pods offering beats (at most the price, at least every resource). */
export function prune(groups: readonly PodGroup[], offerings: readonly Offering[]): number[] {
  const sig = offerings.map((_, o) => groups.map((g) => (g.compatible(o) ? '1' : '0')).join(''));
  const bySig = new Map<string, number[]>();
  offerings.forEach((_, o) => {
    if (!sig[o]!.includes('1')) return;
    const l = bySig.get(sig[o]!);
    if (l) l.push(o);
    else bySig.set(sig[o]!, [o]);
  });
  const keep: number[] = [];
  for (const list of bySig.values()) {
    list.sort((a, b) => offerings[a]!.price - offerings[b]!.price);
    const kept: number[] = [];
    for (const o of list) {
      const x = offerings[o]!;
      if (kept.some((k) => { const y = offerings[k]!; return y.price <= x.price && y.cpu >= x.cpu && y.memory >= x.memory && y.pods >= x.pods; })) continue;
      kept.push(o);
    }
    keep.push(...kept);
  }
  return keep.sort((a, b) => a - b);
}

/**
 * Plans nodes for the groups (see the module comment). `duals` come from lowerBound; without
 * them each resource is valued at the cheapest price per unit among the offerings.
 */
export function plan(groups: readonly PodGroup[], offerings: readonly Offering[], opts: { limits?: Limits; duals?: { cpu: number; memory: number; pods: number } } = {}): Plan {
  // Small problems are worth several fill orders (most valuable, most cpu, most memory first); the cheapest plan wins.
  const total = groups.reduce((s, g) => s + g.count, 0);
  const orders: FillOrder[] = total <= 2000 ? ['worth', 'cpu', 'memory'] : ['worth'];
  let best: Plan | undefined;
  const left = (x: Plan): number => x.unplaced.reduce((a, b) => a + b, 0);
  const consider = (p: Plan): void => {
    if (!best || left(p) < left(best) || (left(p) === left(best) && p.hourlyCost < best.hourlyCost - 1e-12)) best = p;
  };
  for (const order of orders) consider(planOnce(groups, offerings, opts, order));
  // Small problems also try each of the offerings the greedy plans used, alone (a uniform fleet
  // sometimes packs better than the greedy mix): the cheapest plan wins, so a pool never costs
  // more than its best single type among them.
  if (total <= 2000) {
    const used = new Set<number>();
    for (const n of best!.nodes) used.add(n.offering);
    for (const o of prune(groups, offerings).slice(0, 400)) {
      if (used.size >= 24) break;
      used.add(o);
    }
    for (const o of used) {
      const only = planOnce(groups, offerings, opts, 'worth', o);
      if (!left(only)) consider(only);
    }
  }
  return best!;
}

type FillOrder = 'worth' | 'cpu' | 'memory';

function planOnce(groups: readonly PodGroup[], offerings: readonly Offering[], opts: { limits?: Limits; duals?: { cpu: number; memory: number; pods: number } }, fillOrder: FillOrder, only?: number): Plan {
  const G = groups.length;
  const cand = only !== undefined ? [only] : prune(groups, offerings);
  const rem = groups.map((g) => g.count);
  let duals = opts.duals;
  if (!duals || duals.cpu + duals.memory + duals.pods <= 0) {
    let c = Infinity;
    let m = Infinity;
    for (const o of cand) {
      const x = offerings[o]!;
      if (x.cpu > 0) c = Math.min(c, x.price / x.cpu);
      if (x.memory > 0) m = Math.min(m, x.price / x.memory);
    }
    duals = { cpu: Number.isFinite(c) ? c : 0, memory: Number.isFinite(m) ? m : 0, pods: 0 };
  }
  // A pod's worth: the larger of what the LP's prices charge for its requests and what the
  // cheapest offering that may hold it charges for the share of it the pod takes (its dominant
  // share: cpu, memory or a pod slot). The LP prices alone can value cpu at a burstable nano's
  // price that no real pod can use, as those nodes hold no memory.
  const worth = groups.map((g, gi) => {
    let share = Infinity;
    for (const o of cand) {
      if (!groups[gi]!.compatible(o)) continue;
      const x = offerings[o]!;
      if (x.cpu < g.cpu || x.memory < g.memory || x.pods < 1) continue;
      share = Math.min(share, x.price * Math.max(x.cpu > 0 ? g.cpu / x.cpu : 0, x.memory > 0 ? g.memory / x.memory : 0, 1 / x.pods));
    }
    const lp = duals!.cpu * g.cpu + duals!.memory * g.memory + duals!.pods;
    return Math.max(Number.isFinite(share) ? share : 0, lp) + 1e-12;
  });
  const key = (i: number): number => (fillOrder === 'worth' ? worth[i]! : fillOrder === 'cpu' ? groups[i]!.cpu : groups[i]!.memory);
  const order = groups.map((_, i) => i).sort((a, b) => key(b) - key(a) || worth[b]! - worth[a]!);
  const compat: Uint8Array[] = cand.map((o) => Uint8Array.from(groups, (g) => (g.compatible(o) ? 1 : 0)));
  const limits = opts.limits ?? {};
  let usedVcpu = 0;
  let usedMem = 0;
  const nodes: PlannedNode[] = [];
  const fill = new Int32Array(G);
  const bestFill = new Int32Array(G);

  const fillOffering = (ci: number): number => {
    const o = offerings[cand[ci]!]!;
    const ok = compat[ci]!;
    let cpu = o.cpu;
    let mem = o.memory;
    let slots = o.pods;
    let value = 0;
    fill.fill(0);
    for (const g of order) {
      if (!ok[g] || rem[g]! === 0 || slots <= 0) continue;
      const p = groups[g]!;
      let n = Math.min(rem[g]!, slots);
      if (p.cpu > 0) n = Math.min(n, Math.floor(cpu / p.cpu));
      if (p.memory > 0) n = Math.min(n, Math.floor(mem / p.memory));
      if (n <= 0) continue;
      fill[g] = n;
      cpu -= n * p.cpu;
      mem -= n * p.memory;
      slots -= n;
      value += n * worth[g]!;
    }
    return value;
  };

  for (;;) {
    let left = 0;
    for (let g = 0; g < G; g++) left += rem[g]!;
    if (!left) break;
    let best = -1;
    let bestScore = Infinity;
    for (let ci = 0; ci < cand.length; ci++) {
      const o = offerings[cand[ci]!]!;
      if (limits.cpu !== undefined && usedVcpu + o.vcpu > limits.cpu) continue;
      if (limits.memory !== undefined && usedMem + o.memoryCapacity > limits.memory) continue;
      const v = fillOffering(ci);
      if (v <= 0) continue;
      const score = o.price / v;
      if (score < bestScore - 1e-15 || (Math.abs(score - bestScore) <= 1e-15 && o.price < offerings[cand[best]!]!.price)) {
        bestScore = score;
        best = ci;
        bestFill.set(fill);
      }
    }
    if (best < 0) break;
    const o = offerings[cand[best]!]!;
    let k = Infinity;
    for (let g = 0; g < G; g++) if (bestFill[g]! > 0) k = Math.min(k, Math.floor(rem[g]! / bestFill[g]!));
    if (limits.cpu !== undefined && o.vcpu > 0) k = Math.min(k, Math.floor((limits.cpu - usedVcpu) / o.vcpu));
    if (limits.memory !== undefined && o.memoryCapacity > 0) k = Math.min(k, Math.floor((limits.memory - usedMem) / o.memoryCapacity));
    k = Math.max(1, k);
    for (let n = 0; n < k; n++) nodes.push({ offering: cand[best]!, counts: Array.from(bestFill) });
    for (let g = 0; g < G; g++) rem[g]! -= k * bestFill[g]!;
    usedVcpu += k * o.vcpu;
    usedMem += k * o.memoryCapacity;
  }

  // Right-size: the cheapest offering holding each node's pods (cached by contents).
  const cache = new Map<string, number>();
  for (const n of nodes) {
    const key = n.counts.join(',');
    let to = cache.get(key);
    if (to === undefined) {
      to = n.offering;
      let cpu = 0;
      let mem = 0;
      let pods = 0;
      for (let g = 0; g < G; g++) {
        cpu += n.counts[g]! * groups[g]!.cpu;
        mem += n.counts[g]! * groups[g]!.memory;
        pods += n.counts[g]!;
      }
      for (let ci = 0; ci < cand.length; ci++) {
        const o = offerings[cand[ci]!]!;
        if (o.price >= offerings[to]!.price || o.cpu < cpu || o.memory < mem || o.pods < pods) continue;
        if (n.counts.some((c, g) => c > 0 && !compat[ci]![g])) continue;
        to = cand[ci]!;
      }
      cache.set(key, to);
    }
    n.offering = to;
  }
  let cost = 0;
  for (const n of nodes) cost += offerings[n.offering]!.price;
  return { nodes, hourlyCost: cost, unplaced: rem };
}

/**
 * The exact optimum by MILP (HiGHS branch and bound): per pruned offering, slots for as many
 * nodes as could pay off against `upperBound` (a known plan's cost), a binary per slot, an integer
 * count per group and slot, capacity rows per slot and a cover row per group. Returns the cost
 * and whether it was proven optimal within `timeLimitSeconds`.
 */
export async function optimal(groups: readonly PodGroup[], offerings: readonly Offering[], upperBound: number, timeLimitSeconds = 60): Promise<{ cost: number; proven: boolean; status: string }> {
  const cand = prune(groups, offerings);
  const total = groups.reduce((s, g) => s + g.count, 0);
  const obj: string[] = [];
  const rows: string[] = [];
  const bin: string[] = [];
  const ints: string[] = [];
  const bounds: string[] = [];
  const cover: string[][] = groups.map(() => []);
  const GiB = 1024 ** 3;
  for (const o of cand) {
    const x = offerings[o]!;
    const slots = Math.min(total, Math.floor(upperBound / x.price + 1e-9));
    for (let k = 0; k < slots; k++) {
      const z = `z${o}_${k}`;
      obj.push(`${fmt(x.price)} ${z}`);
      bin.push(z);
      const terms = groups.map((g, gi) => (g.compatible(o) ? gi : -1)).filter((gi) => gi >= 0);
      if (!terms.length) continue;
      const a = (gi: number): string => `a${o}_${k}_${gi}`;
      for (const gi of terms) {
        ints.push(a(gi));
        bounds.push(` 0 <= ${a(gi)} <= ${groups[gi]!.count}`);
        cover[gi]!.push(a(gi));
      }
      rows.push(` c${o}_${k}: ` + terms.map((gi) => `${fmt(groups[gi]!.cpu / 1000)} ${a(gi)}`).join(' + ') + ` - ${fmt(x.cpu / 1000)} ${z} <= 0`);
      rows.push(` m${o}_${k}: ` + terms.map((gi) => `${fmt(groups[gi]!.memory / GiB)} ${a(gi)}`).join(' + ') + ` - ${fmt(x.memory / GiB)} ${z} <= 0`);
      rows.push(` p${o}_${k}: ` + terms.map((gi) => a(gi)).join(' + ') + ` - ${x.pods} ${z} <= 0`);
      if (k > 0) rows.push(` s${o}_${k}: z${o}_${k} - z${o}_${k - 1} <= 0`);
    }
  }
  groups.forEach((g, gi) => {
    if (cover[gi]!.length) rows.push(` g${gi}: ${cover[gi]!.join(' + ')} >= ${g.count}`);
  });
  const lp = ['Minimize', ` obj: ${obj.join(' + ')}`, 'Subject To', ...rows, 'Bounds', ...bounds, 'General', ...ints.map((v) => ` ${v}`), 'Binary', ...bin.map((v) => ` ${v}`), 'End'].join('\n');
  const r = (await highs()).solve(lp, { ...QUIET, time_limit: timeLimitSeconds, mip_rel_gap: 1e-6 });
  return { cost: r.Status === 'Optimal' || r.Status === 'Time limit reached' ? r.ObjectiveValue : Infinity, proven: r.Status === 'Optimal', status: r.Status };
}
