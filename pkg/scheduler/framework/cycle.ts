/**
 * One scheduling attempt for one pod over a snapshot of nodes, as kube-scheduler's
 * `schedulePod` (pkg/scheduler/schedule_one.go): PreFilter, Filter every node, PreScore and Score
 * the feasible ones, pick the best. Pure: it reads the snapshot and writes nothing; the
 * scheduler assumes and binds what it returns.
 */
import type { Pod } from '../../api/types.js';
import { CycleState } from './cycle-state.js';
import type { Framework } from './framework.js';
import type { NodeInfo } from './node-info.js';
import type { Code, Status } from './status.js';
import type { FilterPlugin } from './types.js';

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
  byPlugin: number[][];
}

/**
 * The outcome of an attempt. Exactly one of `nodeName` and `failure` is set.
 * `reason` is the PodScheduled condition's: `Unschedulable` when the pod fits nowhere,
 * `SchedulerError` when a plugin failed.
 */
export interface ScheduleResult {
  nodeName?: string;
  failure?: { reason: 'Unschedulable' | 'SchedulerError'; message: string };
  /** Nodes in the snapshot. */
  numAllNodes: number;
  /** Every rejected node, in snapshot order. */
  rejected: NodeRejection[];
  /** The feasible nodes' scores; absent when one node (or none) was feasible: there was nothing to rank. */
  scores?: ScoreTable;
}

/**
 * kube-scheduler's `FitError.Error()` (pkg/scheduler/framework/types.go): each node's reasons are
 * counted, rendered as `<count> <reason>`, sorted as strings (so the count is part of the
 * order) and joined with `, `:
 * `0/12 nodes are available: 4 node(s) had untolerated taint {dedicated: gpu}, 8 Insufficient cpu.`
 */
export function fitErrorMessage(numAllNodes: number, rejected: readonly { reasons: readonly string[] }[]): string {
  const counts = new Map<string, number>();
  for (const r of rejected) for (const reason of r.reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  const parts = [...counts].map(([reason, n]) => `${n} ${reason}`).sort(byCodeUnit);
  return `0/${numAllNodes} nodes are available:${parts.length ? ` ${parts.join(', ')}.` : ''}`;
}

// Go's sort.Strings order (bytewise), not localeCompare.
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Runs one attempt for `pod` over `nodes` with the plugins of `fw`. */
export function schedulePod(fw: Framework, pod: Pod, nodes: readonly NodeInfo[]): ScheduleResult {
  const result: ScheduleResult = { numAllNodes: nodes.length, rejected: [] };
  if (nodes.length === 0) {
    result.failure = { reason: 'Unschedulable', message: NO_NODES_AVAILABLE };
    return result;
  }
  const state = new CycleState();

  const active: FilterPlugin[] = [];
  for (const p of fw.filterPlugins) {
    const s = p.preFilter ? p.preFilter(state, pod) : undefined;
    if (!s || s.isSuccess()) active.push(p);
    else if (s.isRejected()) {
      // Every node fails with the PreFilter's reasons; the message names them once.
      for (const ni of nodes) result.rejected.push({ node: ni.name, plugin: p.name, code: s.code, reasons: s.reasons });
      result.failure = { reason: 'Unschedulable', message: `0/${nodes.length} nodes are available: ${s.message()}.` };
      return result;
    } else if (!s.isSkip()) return failed(result, `running PreFilter plugin "${p.name}": ${s.message()}`);
  }

  const feasible: NodeInfo[] = [];
  for (const ni of nodes) {
    let fits = true;
    for (const p of active) {
      const s = p.filter(state, pod, ni);
      if (s.isSuccess()) continue;
      if (!s.isRejected()) return failed(result, `running "${p.name}" filter plugin: ${s.message()}`);
      result.rejected.push({ node: ni.name, plugin: p.name, code: s.code, reasons: s.reasons });
      fits = false;
      break;
    }
    if (fits) feasible.push(ni);
  }

  if (feasible.length === 0) {
    result.failure = { reason: 'Unschedulable', message: fitErrorMessage(nodes.length, result.rejected) };
    return result;
  }
  if (feasible.length === 1) {
    result.nodeName = feasible[0]!.name;
    return result;
  }

  const table: ScoreTable = { nodes: feasible.map((ni) => ni.name), totals: new Array<number>(feasible.length).fill(0), plugins: [], byPlugin: [] };
  const totals = table.totals;
  for (const { plugin, weight } of fw.scorePlugins) {
    const s: Status | undefined = plugin.preScore?.(state, pod, feasible);
    if (s?.isSkip()) continue;
    if (s && !s.isSuccess()) return failed(result, `running PreScore plugin "${plugin.name}": ${s.message()}`);
    const scores = feasible.map((ni) => plugin.score(state, pod, ni));
    plugin.normalizeScores?.(state, pod, scores);
    for (let i = 0; i < scores.length; i++) {
      scores[i]! *= weight;
      totals[i]! += scores[i]!;
    }
    table.plugins.push(plugin.name);
    table.byPlugin.push(scores);
  }

  // The highest total wins; ties go to the node whose name sorts first, so runs repeat exactly
  // (kube-scheduler picks among ties at random).
  let best = 0;
  for (let i = 1; i < feasible.length; i++) {
    if (totals[i]! > totals[best]! || (totals[i] === totals[best] && feasible[i]!.name < feasible[best]!.name)) best = i;
  }
  result.nodeName = feasible[best]!.name;
  result.scores = table;
  return result;
}

function failed(result: ScheduleResult, message: string): ScheduleResult {
  result.failure = { reason: 'SchedulerError', message };
  return result;
}
