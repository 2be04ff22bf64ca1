/**
 * Helpers for the scheduler's unit tests: run one plugin the way a cycle would.
 */
import type { Node, Pod } from '../api/types.js';
import { CycleState } from './framework/cycle-state.js';
import { NodeInfo, newPodInfo } from './framework/node-info.js';
import { Status } from './framework/status.js';
import type { FilterPlugin, ScorePlugin } from './framework/types.js';

/** A NodeInfo for `node` with `pods` counted on it (their `spec.nodeName` is set to the node). */
export function nodeInfo(node: Node, ...pods: Pod[]): NodeInfo {
  return new NodeInfo(
    node,
    pods.map((p) => newPodInfo({ ...p, spec: { ...p.spec, nodeName: node.metadata.name! } })),
  );
}

/** PreFilter then Filter, as a cycle runs them; a skipped plugin passes. */
export function runFilter(plugin: FilterPlugin, pod: Pod, ni: NodeInfo): Status {
  const state = new CycleState();
  const pre = plugin.preFilter?.(state, pod);
  if (pre?.isSkip()) return Status.success();
  if (pre && !pre.isSuccess()) return pre;
  return plugin.filter(state, pod, ni);
}

/** PreScore, Score and NormalizeScore over `nodes`; undefined if the plugin skips the pod. */
export function runScore(plugin: ScorePlugin, pod: Pod, nodes: NodeInfo[]): number[] | undefined {
  const state = new CycleState();
  const pre = plugin.preScore?.(state, pod, nodes);
  if (pre?.isSkip()) return undefined;
  const scores = nodes.map((ni) => plugin.score(state, pod, ni));
  plugin.normalizeScores?.(state, pod, scores);
  return scores;
}
