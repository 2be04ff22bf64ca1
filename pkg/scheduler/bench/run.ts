/**
 * The scheduler benchmark: generates a cluster and workload (generate.ts), places every pod
 * through the real scheduler code in-process — berth's batch placement, or the kube-scheduler
 * baseline (baseline.ts) over the same compiled plugins and cluster state — checks the result
 * (validate.ts), and reports the figures the issue names.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ClusterState } from '../framework/cluster.js';
import { placeBatch, type BatchItem } from '../framework/batch.js';
import { Framework } from '../framework/framework.js';
import { defaultProfile, inTreeRegistry } from '../plugins/registry.js';
import { placeKubeBaseline } from './baseline.js';
import { generate, type BenchSpec, type GeneratedCluster } from './generate.js';
import { validatePlacement } from './validate.js';

export type Algorithm = 'berth' | 'kube-baseline';

export interface BenchOptions extends BenchSpec {
  /** Default `berth`. */
  algorithm?: Algorithm;
  /** Return each pod's node index as `placement` (for tests; -1 for an unplaced pod). */
  keepPlacement?: boolean;
  /**
   * Place a warm-up workload first (default true): the same algorithm and workload kind on a
   * cluster of 1/WARMUP_DIVISOR the nodes and pods, generated from another seed, in a fresh
   * cluster state, and thrown away. A scheduler is a long-running process: only the first batch it
   * ever places pays for V8 compiling the scheduler code, and benchmark tools (JMH, Criterion, Go's
   * testing.B) leave that warm-up out of the figure. `false` measures a cold process.
   */
  warmup?: boolean;
}

/** The warm-up workload is the measured one divided by this (nodes and pods, at least 1 each). */
export const WARMUP_DIVISOR = 20;

/** What a run reports (`berth bench scheduler` prints it as JSON). Times in seconds, memory in bytes. */
export interface BenchResult {
  algorithm: Algorithm;
  workload: string;
  nodes: number;
  pods: number;
  placed: number;
  unschedulable: number;
  /** Placement time: from every pod pending (not yet read into classes) to every pod decided (generation and checking excluded). */
  seconds: number;
  podsPerSecond: number;
  /**
   * CPU time (user + system) of the process over the same span as `seconds` (pods read into
   * classes, session, placement), and pods per CPU second: on a shared machine wall time includes
   * time other processes had the cores; CPU time does not (it does include the runtime's garbage
   * collection threads).
   */
  cpuSeconds: number;
  podsPerCpuSecond: number;
  /** Nodes holding at least one pod. */
  nodesUsed: number;
  /** Max over cpu, memory and pods of the fewest nodes of this fleet whose allocatable holds the placed pods' total requests. */
  lowerBoundNodes: number;
  /** The process's peak resident set, and that divided by the pods. */
  peakRssBytes: number;
  bytesPerPod: number;
  /** The independent check of the placement (validate.ts). */
  valid: boolean;
  violations: string[];
  seed: number;
  fill: number;
  fillActual: number;
  sizeScale: number;
  instanceTypes: string[];
  /** The warm-up placed before the measured one (see BenchOptions.warmup), with its own time; null when there was none. */
  warmup: { nodes: number; pods: number; seed: number; seconds: number } | null;
  /** Distinct pod templates (Deployments), and berth's placement steps (one or more replicas on one node). */
  templates: number;
  placementSteps?: number;
  /** With `keepPlacement`: pod p (in creation order) is on node index `placement[p]` (generation order), -1 if unplaced. */
  placement?: number[];
}

/** A full garbage collection, where the runtime allows one to be asked for (Node: `--expose-gc`, switched on here). */
function collectGarbage(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // Not available: the timed part then includes whatever collection falls in it.
  }
}

/** A timed placement: each pod's node slot, the order pods were placed in, times in seconds. */
interface Placement {
  g: GeneratedCluster;
  node: Int32Array;
  order: Int32Array;
  seconds: number;
  cpuSeconds: number;
  steps: number | undefined;
}

/** Runs one benchmark (after its warm-up, see BenchOptions.warmup). Throws BenchSpecError for a bad specification. */
export function runSchedulerBench(opts: BenchOptions): BenchResult {
  const algorithm = opts.algorithm ?? 'berth';
  if (algorithm !== 'berth' && algorithm !== 'kube-baseline') throw new Error(`unknown algorithm "${String(algorithm)}": berth or kube-baseline`);
  let warmup: BenchResult['warmup'] = null;
  if (opts.warmup !== false) {
    const spec = { ...opts, nodes: Math.max(1, Math.round(opts.nodes / WARMUP_DIVISOR)), pods: Math.max(1, Math.round(opts.pods / WARMUP_DIVISOR)), seed: (opts.seed + 1) >>> 0 };
    warmup = { nodes: spec.nodes, pods: spec.pods, seed: spec.seed, seconds: Number(place(spec, algorithm).seconds.toFixed(4)) };
  }
  return report(opts, algorithm, place(opts, algorithm), warmup);
}

/** Generates the cluster and workload of `opts` and places it with `algorithm`, timing the placement. */
function place(opts: BenchOptions, algorithm: Algorithm): Placement {
  const g = generate(opts);
  const cluster = new ClusterState();
  for (const n of g.nodes) cluster.setNode(n);
  void cluster.order; // sorted once, outside the timed part, as a live scheduler's cache would be
  const fw = new Framework(defaultProfile(), inTreeRegistry());
  const node = new Int32Array(opts.pods).fill(-1);
  let order: Int32Array;
  let steps: number | undefined;
  collectGarbage(); // the generator's garbage is not the placement's cost
  // The timed part is everything the scheduler does for the batch, for either algorithm: reading
  // the pending pods into pod classes, the session, and the placement itself. CPU time is the
  // process's (every thread: the runtime's garbage collection included).
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const classes = g.templates.map((t) => cluster.classes.intern(t));
  const session = cluster.beginSession();
  if (algorithm === 'berth') {
    const items: BatchItem[] = classes.map((pod, k) => ({ pod, count: g.counts[k]! }));
    const next = Int32Array.from(g.firstPod);
    order = new Int32Array(opts.pods);
    let placedSoFar = 0;
    const outcome = placeBatch(fw, cluster, session, items, {
      place: (item, slot, k) => {
        cluster.addPods(items[item]!.pod, slot, k);
        const from = next[item]!;
        node.fill(slot, from, from + k);
        for (let p = from; p < from + k; p++) order[placedSoFar++] = p;
        next[item] = from + k;
      },
    });
    order = order.subarray(0, placedSoFar);
    steps = outcome.steps;
  } else {
    node.set(placeKubeBaseline(fw, cluster, session, classes, g.templateOf));
    order = new Int32Array(opts.pods);
    let k = 0;
    for (let p = 0; p < node.length; p++) if (node[p]! >= 0) order[k++] = p;
    order = order.subarray(0, k);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  cluster.endSession();
  return { g, node, order, seconds, cpuSeconds, steps };
}

/** Checks a placement and puts its figures together. */
function report(opts: BenchOptions, algorithm: Algorithm, { g, node, order, seconds, cpuSeconds, steps }: Placement, warmup: BenchResult['warmup']): BenchResult {
  // Slots are node indexes: nodes were added in generation order to an empty state.
  const check = validatePlacement(g, node, order);
  let placed = 0;
  const used = new Uint8Array(g.nodes.length);
  for (let p = 0; p < node.length; p++) {
    if (node[p]! < 0) continue;
    placed++;
    used[node[p]!] = 1;
  }
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  return {
    algorithm,
    workload: opts.workload,
    nodes: opts.nodes,
    pods: opts.pods,
    placed,
    unschedulable: opts.pods - placed,
    seconds: Number(seconds.toFixed(4)),
    podsPerSecond: Math.round(opts.pods / Math.max(seconds, 1e-9)),
    cpuSeconds: Number(cpuSeconds.toFixed(4)),
    podsPerCpuSecond: Math.round(opts.pods / Math.max(cpuSeconds, 1e-9)),
    nodesUsed: used.reduce((s, u) => s + u, 0),
    lowerBoundNodes: lowerBoundNodes(g, node),
    peakRssBytes,
    bytesPerPod: Math.round(peakRssBytes / Math.max(1, opts.pods)),
    valid: check.valid,
    violations: check.violations,
    seed: opts.seed,
    fill: opts.fill ?? 0.85,
    fillActual: g.fillActual,
    sizeScale: g.sizeScale,
    instanceTypes: g.instanceTypes,
    warmup,
    templates: g.templates.length,
    ...(steps !== undefined ? { placementSteps: steps } : {}),
    ...(opts.keepPlacement ? { placement: Array.from(node) } : {}),
  };
}

/**
 * The fewest nodes of the fleet that could hold the placed pods' total requests, per resource
 * (cpu, memory, pods) — the largest nodes first — and the max over resources. For a fleet of one
 * instance type it is `max over resources of ceil(total requested / allocatable)`.
 */
export function lowerBoundNodes(g: GeneratedCluster, node: Int32Array): number {
  const cluster = new ClusterState();
  for (const n of g.nodes) cluster.setNode(n);
  const total = { cpu: 0, memory: 0, pods: 0 };
  const classes = g.templates.map((t) => cluster.classes.intern(t));
  for (let p = 0; p < node.length; p++) {
    if (node[p]! < 0) continue;
    const c = classes[g.templateOf[p]!]!;
    total.cpu += c.cpu;
    total.memory += c.memory;
    total.pods += 1;
  }
  let bound = 0;
  for (const [r, col] of [
    ['cpu', cluster.allocCpu],
    ['memory', cluster.allocMemory],
    ['pods', cluster.allocPods],
  ] as const) {
    const caps = Array.from(col.subarray(0, g.nodes.length)).sort((a, b) => b - a);
    let sum = 0;
    let k = 0;
    while (sum < total[r] && k < caps.length) sum += caps[k++]!;
    bound = Math.max(bound, k);
  }
  return bound;
}
