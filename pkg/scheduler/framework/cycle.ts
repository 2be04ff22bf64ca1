/**
 * One scheduling attempt for one pod, as kube-scheduler's `schedulePod`
 * (pkg/scheduler/schedule_one.go): PreFilter, Filter the nodes, PreScore and Score the feasible
 * ones, pick the best. It reads the cluster state and writes nothing; the caller reserves (assumes)
 * and binds what it returns. By default every node is filtered (berth wants the tightest packing
 * and a full explanation); `numFeasibleNodesToFind` and `start` give kube-scheduler's sampling.
 */
import type { Pod } from '../../api/types.js';
import type { ClusterState, Session } from './cluster.js';
import type { CompiledPod, Framework } from './framework.js';
import { PodClass } from './pod-class.js';
import { Status, type Code } from './status.js';

/** kube-scheduler's `ErrNoNodesAvailable`: the message when the cluster has no nodes at all. */
export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/** A node a filter rejected: the first plugin that did, and its reasons. */
export interface NodeRejection {
  node: string;
  plugin: string;
  code: Code;
  reasons: readonly string[];
}

/**
 * The scores of the feasible nodes, by column: `nodes[i]` scored `totals[i]` in all, of which
 * `byPlugin[p][i]` came from `plugins[p]` (its normalized score times its weight). Plugins that
 * skipped the pod are absent.
 */
export interface ScoreTable {
  nodes: string[];
  totals: number[];
  plugins: string[];
  /** The profile weight of each plugin in `plugins`. */
  weights: number[];
  byPlugin: number[][];
}

/**
 * The outcome of an attempt. Exactly one of `nodeName` and `failure` is set.
 * `reason` is the PodScheduled condition's: `Unschedulable` when the pod fits nowhere,
 * `SchedulerError` when a plugin failed.
 */
export interface ScheduleResult {
  nodeName?: string;
  /** The chosen node's slot in the cluster state. */
  node?: number;
  failure?: { reason: 'Unschedulable' | 'SchedulerError'; message: string };
  /** Nodes in the cluster. */
  numAllNodes: number;
  /** Nodes filtered (fewer than all when sampling stopped early). */
  visited: number;
  /** Every rejected node, in the order visited (empty when not explaining a successful attempt). */
  rejected: NodeRejection[];
  /** The feasible nodes' scores; absent when one node (or none) was feasible: there was nothing to rank. */
  scores?: ScoreTable;
}

export interface ScheduleOptions {
  /** Stop filtering once this many nodes are feasible (kube-scheduler's `numFeasibleNodesToFind`; default: all nodes). */
  numFeasibleNodesToFind?: number;
  /** Where in the name-sorted node order the scan starts (kube-scheduler's `nextStartNodeIndex`; default 0). */
  start?: number;
  /** Record every rejection and the score table (default true); a failure always records rejections. */
  explain?: boolean;
}

/**
 * kube-scheduler's `FitError.Error()` (pkg/scheduler/framework/types.go): each node's reasons are
 * counted, rendered as `<count> <reason>`, sorted as strings (so the count is part of the
 * order) and joined with `, `:
 * `0/12 nodes are available: 4 node(s) had untolerated taint {dedicated: gpu}, 8 Insufficient cpu.`
 */
export function fitErrorMessage(numAllNodes: number, rejected: readonly { reasons: readonly string[] }[]): string {
  const parts = countReasons(rejected).map(([reason, n]) => `${n} ${reason}`).sort(byCodeUnit);
  return `0/${numAllNodes} nodes are available:${parts.length ? ` ${parts.join(', ')}.` : ''}`;
}

/** How many nodes gave each reason. */
export function countReasons(rejected: readonly { reasons: readonly string[] }[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of rejected) for (const reason of r.reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts];
}

// Go's sort.Strings order (bytewise), not localeCompare.
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Runs one attempt for `pod` (a Pod or its class) with the plugins of `fw`. */
export function schedulePod(fw: Framework, pod: Pod | PodClass, cluster: ClusterState, opts: ScheduleOptions = {}): ScheduleResult {
  const cls = pod instanceof PodClass ? pod : cluster.classes.intern(pod);
  const own = !cluster.session;
  const session = cluster.session ?? cluster.beginSession();
  try {
    return scheduleCompiled(fw, fw.compile(cls, cluster, session), cluster, session, opts);
  } finally {
    if (own) cluster.endSession();
  }
}

/** Every node's rejection for a compiled pod that fits nowhere (for the failure message and preemption). */
export function rejectionsOf(cp: CompiledPod, cluster: ClusterState): NodeRejection[] {
  const out: NodeRejection[] = [];
  for (const i of cluster.order) {
    if (cp.rejectedAll) {
      out.push({ node: cluster.names[i]!, plugin: cp.rejectedAll.plugin, code: cp.rejectedAll.status.code, reasons: cp.rejectedAll.status.reasons });
      continue;
    }
    const f = cp.firstFailure(i);
    if (f) out.push({ node: cluster.names[i]!, plugin: f.plugin, code: f.status.code, reasons: f.status.reasons });
  }
  return out;
}

/** `schedulePod` for a pod already compiled in `session`. */
export function scheduleCompiled(fw: Framework, cp: CompiledPod, cluster: ClusterState, session: Session, opts: ScheduleOptions = {}): ScheduleResult {
  const n = cluster.nodeCount;
  const result: ScheduleResult = { numAllNodes: n, visited: 0, rejected: [] };
  if (n === 0) {
    result.failure = { reason: 'Unschedulable', message: NO_NODES_AVAILABLE };
    return result;
  }
  if (cp.error) return failed(result, cp.error);
  if (cp.rejectedAll) {
    result.rejected = rejectionsOf(cp, cluster);
    result.visited = n;
    result.failure = { reason: 'Unschedulable', message: `0/${n} nodes are available: ${cp.rejectedAll.status.message()}.` };
    return result;
  }
  const explain = opts.explain ?? true;
  const want = Math.min(n, opts.numFeasibleNodesToFind ?? n);
  const start = opts.start ?? 0;
  const order = cluster.order;
  const feasible: number[] = [];
  let v = 0;
  for (; v < n && feasible.length < want; v++) {
    const i = order[(start + v) % n]!;
    if (cp.fits(i)) feasible.push(i);
    else if (explain) {
      const f = cp.firstFailure(i)!;
      result.rejected.push({ node: cluster.names[i]!, plugin: f.plugin, code: f.status.code, reasons: f.status.reasons });
    }
  }
  result.visited = v;
  if (feasible.length === 0) {
    if (!explain) result.rejected = rejectionsOf(cp, cluster);
    result.failure = { reason: 'Unschedulable', message: fitErrorMessage(n, result.rejected) };
    return result;
  }
  if (feasible.length === 1) {
    result.node = feasible[0]!;
    result.nodeName = cluster.names[result.node]!;
    return result;
  }
  const scored = scoreNodes(fw, cp, cluster, session, Int32Array.from(feasible));
  if (scored instanceof Status) return failed(result, scored.message());
  const best = bestOf(scored, cluster);
  result.node = feasible[best]!;
  result.nodeName = cluster.names[result.node]!;
  if (explain) result.scores = scored;
  return result;
}

/** The index in `table` of the highest total; ties go to the node whose name sorts first, so runs repeat exactly (kube-scheduler picks among ties at random). */
export function bestOf(table: ScoreTable, cluster: ClusterState): number {
  const { totals } = table;
  const rank = cluster.rank;
  const slots = table.nodes.map((name) => cluster.indexOf(name));
  let best = 0;
  for (let k = 1; k < totals.length; k++) {
    if (totals[k]! > totals[best]! || (totals[k] === totals[best] && rank[slots[k]!]! < rank[slots[best]!]!)) best = k;
  }
  return best;
}

/** Runs every score plugin of `fw` over `feasible`: the score table, or the Status of a plugin that failed. */
export function scoreNodes(fw: Framework, cp: CompiledPod, cluster: ClusterState, session: Session, feasible: Int32Array): ScoreTable | Status {
  const table: ScoreTable = { nodes: Array.from(feasible, (i) => cluster.names[i]!), totals: new Array<number>(feasible.length).fill(0), plugins: [], weights: [], byPlugin: [] };
  for (const { plugin, weight } of fw.scorePlugins) {
    let scorer;
    try {
      scorer = plugin.compileScore(cp.pod, cluster, feasible, session);
    } catch (e) {
      scorer = Status.error(e);
    }
    if (scorer === null) continue;
    if (scorer instanceof Status) return Status.error(`running PreScore plugin "${plugin.name}": ${scorer.message()}`);
    const raw = new Float64Array(feasible.length);
    for (let k = 0; k < feasible.length; k++) raw[k] = scorer.score(feasible[k]!);
    scorer.normalize?.(raw);
    const scores = Array.from(raw, (s) => s * weight);
    for (let k = 0; k < scores.length; k++) table.totals[k] += scores[k]!;
    table.plugins.push(plugin.name);
    table.weights.push(weight);
    table.byPlugin.push(scores);
  }
  return table;
}

function failed(result: ScheduleResult, message: string): ScheduleResult {
  result.failure = { reason: 'SchedulerError', message };
  return result;
}
