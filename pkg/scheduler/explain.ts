/**
 * Explanations of scheduling decisions that outlive the scheduler process. The scheduler sends
 * one with each bind, as an annotation of the Binding, which the API server copies onto the pod
 * (as Kubernetes' `assignPod` does): no extra write. `berth explain pod NAME` reads it back from
 * any process. Pods that could not be scheduled are explained by their `PodScheduled` condition
 * and `FailedScheduling` events instead, which carry the per-reason node counts.
 *
 * The annotation is compact JSON (`Explanation`): the chosen node, the top-scoring nodes with
 * each plugin's weighted score, and how many nodes each filter reason rejected.
 */
import { countReasons, type ScheduleResult } from './framework/cycle.js';

/** The pod annotation holding the explanation of its placement. */
export const EXPLAIN_ANNOTATION = 'scheduler.berth.dev/explain';

/** How many top-scoring nodes an explanation keeps (the chosen node is always kept too). */
export const EXPLAIN_TOP_NODES = 5;

/** A node's row: its total and, per plugin (in `Explanation.plugins` order), its normalized score × weight. */
export interface ExplainedNode {
  node: string;
  total: number;
  scores: number[];
}

export interface Explanation {
  /** Format version. */
  v: 1;
  /** The node chosen. */
  node: string;
  /** The profile (`spec.schedulerName`) that decided. */
  scheduler: string;
  /** `cycle`: the per-pod cycle ranked every feasible node; `batch`: batch placement took the first fit in packing order. */
  mode: 'cycle' | 'batch';
  /** Nodes in the cluster, and how many passed every filter. */
  nodes: number;
  feasible: number;
  /** Score plugins that ran, and their profile weights. */
  plugins: string[];
  weights: number[];
  /** Best totals first (ties by name); the chosen node is included even if it ranks lower. */
  top: ExplainedNode[];
  /** Nodes rejected, by reason (a node short of two resources counts under both). */
  rejected: Record<string, number>;
  /** Pods placed together on the node by the same batch step (batch mode). */
  pods?: number;
}

/** Builds the explanation of a successful attempt. */
export function explanationOf(result: ScheduleResult, scheduler: string, mode: 'cycle' | 'batch', pods?: number): Explanation {
  const rejected: Record<string, number> = {};
  for (const [reason, n] of countReasons(result.rejected).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) rejected[reason] = n;
  const s = result.scores;
  const feasible = s ? s.nodes.length : result.nodeName ? 1 : 0;
  const e: Explanation = { v: 1, node: result.nodeName ?? '', scheduler, mode, nodes: result.numAllNodes, feasible, plugins: s?.plugins ?? [], weights: s?.weights ?? [], top: [], rejected };
  if (pods !== undefined && pods > 1) e.pods = pods;
  if (!s) {
    if (result.nodeName) e.top.push({ node: result.nodeName, total: 0, scores: [] });
    return e;
  }
  const idx = s.nodes.map((_, k) => k).sort((a, b) => s.totals[b]! - s.totals[a]! || (s.nodes[a]! < s.nodes[b]! ? -1 : 1));
  const keep = idx.slice(0, EXPLAIN_TOP_NODES);
  const chosen = s.nodes.indexOf(e.node);
  if (chosen >= 0 && !keep.includes(chosen)) keep.push(chosen);
  for (const k of keep) e.top.push({ node: s.nodes[k]!, total: round(s.totals[k]!), scores: s.byPlugin.map((col) => round(col[k]!)) });
  return e;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The annotation value (compact JSON). */
export function encodeExplanation(e: Explanation): string {
  return JSON.stringify(e);
}

/** Thrown when an explanation annotation cannot be read. */
export class ExplanationError extends Error {
  readonly code = 'InvalidExplanation';
  constructor(message: string) {
    super(message);
    this.name = 'ExplanationError';
  }
}

/** Parses an annotation value. Throws ExplanationError for something that is not an explanation. */
export function decodeExplanation(value: string): Explanation {
  let e: unknown;
  try {
    e = JSON.parse(value);
  } catch (err) {
    throw new ExplanationError(`annotation ${EXPLAIN_ANNOTATION} is not JSON: ${(err as Error).message}`);
  }
  const x = e as Partial<Explanation>;
  if (!x || typeof x !== 'object' || x.v !== 1 || typeof x.node !== 'string' || !Array.isArray(x.top) || !Array.isArray(x.plugins)) {
    throw new ExplanationError(`annotation ${EXPLAIN_ANNOTATION} is not a version 1 explanation`);
  }
  return x as Explanation;
}
