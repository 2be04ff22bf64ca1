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
 * 4. `columnPlan`: column generation over node patterns from the greedy plan, then rounding (or,
 *    for a few hundred pods, the MILP over the generated patterns); it keeps the greedy plan
 *    unless it finds a cheaper one.
 *
 * Bounds: `lowerBound` (aggregate) is loose on the real catalogue: it buys cpu on t4g.nano
 * (1.93 cores for $0.0042/h with 0.11 GiB allocatable memory), capacity no pod can use, so a
 * good plan sits ~1.5× above it. `fitBound` covers each pod only with offerings it fits on alone,
 * a valid and much tighter bound (10,000 pods over 400 types: $243.7/h against $166.1/h; the plan
 * costs $249.6/h). What gap remains against it is mostly its own integrality gap on small nodes.
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
  solve(problem: string, options?: Record<string, unknown>): { Status: string; ObjectiveValue: number; Rows: { Name: string; Dual?: number }[]; Columns?: Record<string, { Name: string; Primal: number }> };
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
 * The fit-aware LP relaxation: as `lowerBound`, but each group's requests are covered only by
 * offerings it may run on and fits on alone (a pod cannot use capacity spread over nodes it does
 * not fit, e.g. a t4g.nano's cpu when its 0.11 GiB allocatable memory is smaller than any pod's
 * request). It is the LP relaxation of the assignment MILP (`optimal`) aggregated per offering:
 *
 *   min Σ_o price_o·x_o  s.t.  Σ_o a_go ≥ count_g (every group),
 *   Σ_g cpu_g·a_go ≤ cpu_o·x_o, likewise memory and pod slots (every offering), x, a ≥ 0,
 *   a_go = 0 where group g may not run on, or does not fit on, offering o.
 *
 * So it is a valid lower bound on any plan's cost (USD per hour), at least as tight as the
 * aggregate bound. Returns the cost, `nodes[o]` (x_o, fractional nodes of offering o, by
 * offering index), `assign[o][g]` (a_go, pods of group g on offering o) and `worth[g]` (the dual of
 * group g's cover row: USD per hour one more pod of g would cost). Infinity cost, empty
 * solution, when some group fits nowhere.
 */
export async function fitBound(groups: readonly PodGroup[], offerings: readonly Offering[]): Promise<FitBound> {
  const empty: FitBound = { cost: Infinity, nodes: new Map(), assign: new Map(), worth: groups.map(() => 0) };
  if (!groups.some((g) => g.count > 0)) return { ...empty, cost: 0 };
  const cand = prune(groups, offerings);
  const GiB = 1024 ** 3;
  const fits = (g: PodGroup, o: number): boolean => {
    const x = offerings[o]!;
    return g.compatible(o) && x.cpu >= g.cpu && x.memory >= g.memory && x.pods >= 1;
  };
  const obj: string[] = [];
  const rows: string[] = [];
  const cover: string[][] = groups.map(() => []);
  for (const o of cand) {
    const x = offerings[o]!;
    const gs = groups.map((g, gi) => (g.count > 0 && fits(g, o) ? gi : -1)).filter((gi) => gi >= 0);
    if (!gs.length) continue;
    obj.push(`${fmt(x.price)} x${o}`);
    for (const gi of gs) cover[gi]!.push(`a${o}_${gi}`);
    rows.push(` c${o}: ` + gs.map((gi) => `${fmt(groups[gi]!.cpu / 1000)} a${o}_${gi}`).join(' + ') + ` - ${fmt(x.cpu / 1000)} x${o} <= 0`);
    rows.push(` m${o}: ` + gs.map((gi) => `${fmt(groups[gi]!.memory / GiB)} a${o}_${gi}`).join(' + ') + ` - ${fmt(x.memory / GiB)} x${o} <= 0`);
    rows.push(` p${o}: ` + gs.map((gi) => `a${o}_${gi}`).join(' + ') + ` - ${x.pods} x${o} <= 0`);
  }
  for (let gi = 0; gi < groups.length; gi++) {
    if (groups[gi]!.count <= 0) continue;
    if (!cover[gi]!.length) return empty;
    rows.push(` g${gi}: ${cover[gi]!.join(' + ')} >= ${groups[gi]!.count}`);
  }
  const r = (await highs()).solve(['Minimize', ` obj: ${obj.join(' + ')}`, 'Subject To', ...rows, 'End'].join('\n'), QUIET);
  if (r.Status !== 'Optimal') return empty;
  const nodes = new Map<number, number>();
  const assign = new Map<number, number[]>();
  for (const c of Object.values(r.Columns ?? {})) {
    if (!(c.Primal > 1e-9)) continue;
    if (c.Name[0] === 'x') nodes.set(Number(c.Name.slice(1)), c.Primal);
    else {
      const [o, gi] = c.Name.slice(1).split('_').map(Number) as [number, number];
      let l = assign.get(o);
      if (!l) assign.set(o, (l = groups.map(() => 0)));
      l[gi] = c.Primal;
    }
  }
  const worth = groups.map((_, gi) => Math.abs(r.Rows.find((x) => x.Name === `g${gi}`)?.Dual ?? 0));
  return { cost: r.ObjectiveValue, nodes, assign, worth };
}

/** `fitBound`'s result: cost (USD per hour), the LP's fractional nodes and pods per offering index, each group's dual worth (USD per hour per pod). */
export interface FitBound {
  cost: number;
  nodes: Map<number, number>;
  assign: Map<number, number[]>;
  worth: number[];
}

/**
 * Plans nodes for the groups (see the module comment). `duals` come from lowerBound; without
 * them each resource is valued at the cheapest price per unit among the offerings. `worth`
 * (USD per hour per pod of each group, e.g. `fitBound`'s duals) raises a pod's worth further.
 */
export function plan(groups: readonly PodGroup[], offerings: readonly Offering[], opts: { limits?: Limits; duals?: { cpu: number; memory: number; pods: number }; worth?: number[] } = {}): Plan {
  // Small problems are worth several fill orders (most valuable, most cpu, most memory first); the cheapest plan wins.
  const total = groups.reduce((s, g) => s + g.count, 0);
  const orders: FillOrder[] = total <= 2000 ? ['worth', 'cpu', 'memory'] : ['worth'];
  let best: Plan | undefined;
  const left = (x: Plan): number => x.unplaced.reduce((a, b) => a + b, 0);
  const consider = (p: Plan): void => {
    if (!best || left(p) < left(best) || (left(p) === left(best) && p.hourlyCost < best.hourlyCost - 1e-12)) best = p;
  };
  for (const order of orders) consider(planOnce(groups, offerings, opts, order));
  // Small problems also try without the LP's prices (each resource at its cheapest unit price):
  // the LP values cpu at what burstable types charge, which can steer the greedy wrong.
  if (total <= 2000 && opts.duals) for (const order of orders) consider(planOnce(groups, offerings, { ...opts, duals: undefined }, order));
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
      for (const order of orders) {
        const only = planOnce(groups, offerings, opts, order, o);
        if (!left(only)) consider(only);
      }
    }
  }
  return best!;
}

type FillOrder = 'worth' | 'cpu' | 'memory';

function planOnce(groups: readonly PodGroup[], offerings: readonly Offering[], opts: { limits?: Limits; duals?: { cpu: number; memory: number; pods: number }; worth?: number[] }, fillOrder: FillOrder, only?: number): Plan {
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
    const lp = Math.max(duals!.cpu * g.cpu + duals!.memory * g.memory + duals!.pods, opts.worth?.[gi] ?? 0);
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

  rightSize(nodes, groups, offerings, cand);
  let cost = 0;
  for (const n of nodes) cost += offerings[n.offering]!.price;
  return { nodes, hourlyCost: cost, unplaced: rem };
}

/** Right-sizing: moves each node to the cheapest offering among `cand` that holds its pods (cached by contents). */
function rightSize(nodes: PlannedNode[], groups: readonly PodGroup[], offerings: readonly Offering[], cand: readonly number[]): void {
  const G = groups.length;
  const cache = new Map<string, number>();
  for (const n of nodes) {
    const key = `${n.offering}|${n.counts.join(',')}`;
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
      for (const o of cand) {
        const x = offerings[o]!;
        if (x.price >= offerings[to]!.price || x.cpu < cpu || x.memory < mem || x.pods < pods) continue;
        if (n.counts.some((c, g) => c > 0 && !groups[g]!.compatible(o))) continue;
        to = o;
      }
      cache.set(key, to);
    }
    n.offering = to;
  }
}

/**
 * Column generation over node patterns (Gilmore–Gomory, as for cutting stock), then rounding:
 * 1. The master LP: min Σ_p price_p·y_p such that Σ_p n_pg·y_p ≥ count_g for every group, over
 *    patterns p (an offering and how many pods of each group one node of it holds), y ≥ 0. It
 *    starts from the patterns of `start` (a feasible plan), so it is always feasible.
 * 2. Pricing: with the master's duals π_g (USD per hour per pod of g), for each offering the
 *    pattern of most worth Σ π_g·n_g that fits (a three-resource knapsack, solved greedily in
 *    several density orders, then with each group's count fixed at its largest values and the
 *    rest filled greedily); patterns worth more than their price join the master, until none
 *    does or `rounds` have run.
 * 3. Integer plan: with few pods (`total ≤ 400`) the master over the generated patterns is
 *    solved as a MILP (HiGHS, `milpSeconds`); otherwise each y_p is floored and the pods left
 *    over are planned greedily. Every node is then right-sized.
 * `rounds` defaults to 12, 3 above 2,000 pods; above `maxPods` (default: no limit) it returns
 * `start` untouched (masterCost NaN).
 * Returns the plan (or `start` when it is not beaten) and the master LP's cost.
 */
export async function columnPlan(groups: readonly PodGroup[], offerings: readonly Offering[], start: Plan, opts: { rounds?: number; milpSeconds?: number; duals?: { cpu: number; memory: number; pods: number }; maxPods?: number } = {}): Promise<{ plan: Plan; masterCost: number }> {
  const G = groups.length;
  const total = groups.reduce((s, g) => s + g.count, 0);
  if (!total || start.unplaced.some((u) => u > 0)) return { plan: start, masterCost: NaN };
  if (total > (opts.maxPods ?? Infinity)) return { plan: start, masterCost: NaN };
  // Large batches gain most in the first rounds (10,000 pods over 400 types, seed 2: $549.67/h
  // greedy, $537.21/h after 3 rounds): fewer rounds keep planning well under a second.
  const rounds = opts.rounds ?? (total > 2000 ? 3 : 12);
  const cand = prune(groups, offerings);
  const compat = cand.map((o) => groups.map((g) => g.compatible(o)));
  const patterns: PlannedNode[] = [];
  const seen = new Set<string>();
  const addPattern = (p: PlannedNode): boolean => {
    const k = `${p.offering}|${p.counts.join(',')}`;
    if (seen.has(k)) return false;
    seen.add(k);
    patterns.push({ offering: p.offering, counts: [...p.counts] });
    return true;
  };
  for (const n of start.nodes) addPattern(n);
  const solver = await highs();
  const master = (integer: boolean): { y: number[]; duals: number[]; cost: number } | undefined => {
    const lines = ['Minimize', ' obj: ' + patterns.map((p, i) => `${fmt(offerings[p.offering]!.price)} y${i}`).join(' + '), 'Subject To'];
    for (let g = 0; g < G; g++) {
      if (!groups[g]!.count) continue;
      const terms = patterns.map((p, i) => (p.counts[g]! > 0 ? `${p.counts[g]} y${i}` : '')).filter(Boolean);
      lines.push(` g${g}: ${terms.join(' + ')} >= ${groups[g]!.count}`);
    }
    if (integer) lines.push('General', ...patterns.map((_, i) => ` y${i}`));
    lines.push('End');
    const r = solver.solve(lines.join('\n'), integer ? { ...QUIET, time_limit: opts.milpSeconds ?? 10, mip_max_nodes: 60, mip_rel_gap: 1e-4 } : QUIET);
    if (r.Status !== 'Optimal' && !(integer && /limit/i.test(r.Status))) return undefined;
    const y = patterns.map((_, i) => r.Columns?.[`y${i}`]?.Primal ?? 0);
    const duals = groups.map((_, g) => Math.abs(r.Rows.find((x) => x.Name === `g${g}`)?.Dual ?? 0));
    return { y, duals, cost: r.ObjectiveValue };
  };
  let lp = master(false);
  if (!lp) return { plan: start, masterCost: NaN };
  const counts = new Int32Array(G);
  const order = groups.map((_, g) => g);
  for (let round = 0; round < rounds; round++) {
    const pi = lp.duals;
    const found: { p: PlannedNode; gain: number }[] = [];
    for (let ci = 0; ci < cand.length; ci++) {
      const x = offerings[cand[ci]!]!;
      let best: PlannedNode | undefined;
      let bestWorth = x.price * (1 + 1e-7);
      let densityBest = 0;
      /**
       * Fills `counts` greedily in `by` order (leaving `skip` alone) from room of `cpu` millicores,
       * `mem` bytes and `slots` pods: each group as many as fit. Returns the worth (duals) added.
       */
      const fillGreedy = (by: readonly number[], skip: number, cpu: number, mem: number, slots: number): number => {
        let worth = 0;
        for (const g of by) {
          const q = groups[g]!;
          if (g === skip || !compat[ci]![g] || pi[g]! <= 0 || slots <= 0) continue;
          let n = Math.min(q.count, slots);
          if (q.cpu > 0) n = Math.min(n, Math.floor(cpu / q.cpu));
          if (q.memory > 0) n = Math.min(n, Math.floor(mem / q.memory));
          if (n <= 0) continue;
          counts[g] = n;
          cpu -= n * q.cpu;
          mem -= n * q.memory;
          slots -= n;
          worth += n * pi[g]!;
        }
        return worth;
      };
      // Densities: worth per dominant share, per cpu share, per memory share, per pod slot.
      for (const dens of [0, 1, 2, 3]) {
        const d = (g: number): number => {
          const q = groups[g]!;
          const sc = q.cpu / x.cpu;
          const sm = q.memory / x.memory;
          const sp = 1 / x.pods;
          const size = dens === 0 ? Math.max(sc, sm, sp) : dens === 1 ? sc + sp * 1e-3 : dens === 2 ? sm + sp * 1e-3 : sp + (sc + sm) * 1e-3;
          return pi[g]! / Math.max(size, 1e-12);
        };
        order.sort((a, b) => d(b) - d(a));
        counts.fill(0);
        const worth = fillGreedy(order, -1, x.cpu, x.memory, x.pods);
        densityBest = Math.max(densityBest, worth);
        if (worth > bestWorth) {
          bestWorth = worth;
          best = { offering: cand[ci]!, counts: Array.from(counts) };
        }
      }
      // Local search: fix one group's count at each of its largest values (and half), fill the
      // rest by dominant-share density; catches the trade-offs a single density order misses.
      // Large problems search only offerings the density orders found nearly worth their price.
      if (total > 2000 && densityBest < x.price * 0.97) {
        if (best) found.push({ p: best, gain: bestWorth / x.price });
        continue;
      }
      const dom = (g: number): number => pi[g]! / Math.max(groups[g]!.cpu / x.cpu, groups[g]!.memory / x.memory, 1 / x.pods, 1e-12);
      const byDom = groups.map((_, g) => g).sort((a, b) => dom(b) - dom(a));
      for (let g0 = 0; g0 < G; g0++) {
        const q0 = groups[g0]!;
        if (!compat[ci]![g0] || pi[g0]! <= 0) continue;
        let maxN = Math.min(q0.count, x.pods);
        if (q0.cpu > 0) maxN = Math.min(maxN, Math.floor(x.cpu / q0.cpu));
        if (q0.memory > 0) maxN = Math.min(maxN, Math.floor(x.memory / q0.memory));
        const tries = new Set<number>([Math.floor(maxN / 2)]);
        for (let k = maxN; k >= Math.max(0, maxN - 7); k--) tries.add(k);
        for (const k of tries) {
          counts.fill(0);
          counts[g0] = k;
          const worth = k * pi[g0]! + fillGreedy(byDom, g0, x.cpu - k * q0.cpu, x.memory - k * q0.memory, x.pods - k);
          if (worth > bestWorth) {
            bestWorth = worth;
            best = { offering: cand[ci]!, counts: Array.from(counts) };
          }
        }
      }
      if (best) found.push({ p: best, gain: bestWorth / x.price });
    }
    found.sort((a, b) => b.gain - a.gain);
    let added = 0;
    for (const f of found) {
      if (added >= 40) break;
      if (addPattern(f.p)) added++;
    }
    if (!added) break;
    const next = master(false);
    if (!next) break;
    lp = next;
  }
  let nodes: PlannedNode[] = [];
  let rem = groups.map((g) => g.count);
  const integral = total <= 400 ? master(true) : undefined;
  const y = integral ? integral.y : lp.y.map((v) => Math.floor(v + 1e-6));
  patterns.forEach((p, i) => {
    for (let k = 0; k < Math.round(y[i]!); k++) {
      // Covering rows allow surplus: take only the pods still to place.
      const c = p.counts.map((n, g) => Math.min(n, rem[g]!));
      if (!c.some((n) => n > 0)) break;
      c.forEach((n, g) => (rem[g]! -= n));
      nodes.push({ offering: p.offering, counts: c });
    }
  });
  if (rem.some((r) => r > 0)) {
    const rest = planOnce(groups.map((g, gi) => ({ ...g, count: rem[gi]! })), offerings, { duals: opts.duals, worth: lp.duals }, 'worth');
    nodes = nodes.concat(rest.nodes);
    rem = rest.unplaced;
  }
  rightSize(nodes, groups, offerings, cand);
  const cost = nodes.reduce((s, n) => s + offerings[n.offering]!.price, 0);
  const better = !rem.some((r) => r > 0) && cost < start.hourlyCost - 1e-9;
  return { plan: better ? { nodes, hourlyCost: cost, unplaced: rem } : start, masterCost: lp.cost };
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
