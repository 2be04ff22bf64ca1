/**
 * The scheduling framework's extension points, in kube-scheduler's shape
 * (https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/): a plugin
 * implements the small interfaces it needs. Filter and Score plugins are pure functions of
 * (cycle state, pod, node info): they never call the API, never keep per-pod state in
 * themselves, and answer "does not fit" with a Status, not an exception.
 *
 * One scheduling cycle:
 * ```
 *  PreFilter (once) ─▶ Filter (per node) ─▶ PreScore (once) ─▶ Score (per feasible node)
 *       ─▶ NormalizeScore (once per plugin) ─▶ pick the best ─▶ Reserve (assume) ─▶ Bind
 * ```
 * Reserve and Bind are the scheduler's own steps (the cache assumes the pod; the client binds).
 */
import type { Pod } from '../../api/types.js';
import type { CycleState } from './cycle-state.js';
import type { NodeInfo } from './node-info.js';
import type { Status } from './status.js';

/** kube-scheduler's `MaxNodeScore`: every Score plugin's normalized scores lie in [0, 100]. */
export const MAX_NODE_SCORE = 100;

export interface Plugin {
  /** The plugin's registry name (each class also has it as `static readonly name`). */
  readonly name: string;
}

export interface FilterPlugin extends Plugin {
  /**
   * Runs once per pod before any Filter; may work out per-pod state into `state`. A rejection
   * fails the pod on every node at once; `Status.skip()` skips this plugin's Filter for the pod.
   */
  preFilter?(state: CycleState, pod: Pod): Status;
  /** Whether the pod may run on the node: success, or a rejection with its reasons. */
  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status;
}

export interface ScorePlugin extends Plugin {
  /** Runs once per pod before Score, with the feasible nodes; `Status.skip()` skips Score. */
  preScore?(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): Status;
  /** The node's raw score for the pod (higher is better). */
  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number;
  /** Rescales the raw scores of all feasible nodes, in place, into [0, MAX_NODE_SCORE]. */
  normalizeScores?(state: CycleState, pod: Pod, scores: number[]): void;
}

/** Builds a plugin from its arguments (a profile's `pluginArgs[name]`, possibly undefined). */
export type PluginFactory = (args: unknown) => Plugin;

/** Plugin factories by name. */
export type Registry = ReadonlyMap<string, PluginFactory>;

/** A score plugin and its weight in a profile. */
export interface ScoreSpec {
  name: string;
  /** A positive integer; the plugin's normalized score is multiplied by it. */
  weight: number;
}

/**
 * A scheduling profile, as data (kube-scheduler's `KubeSchedulerProfile`): which plugins run,
 * in which order, with which weights. A pod picks its profile by `spec.schedulerName`.
 */
export interface Profile {
  /** The `spec.schedulerName` this profile serves, and the component its events report as. */
  schedulerName: string;
  /** Filter plugins in the order they run: cheap and selective ones first, since a node stops at its first rejection. */
  filters: string[];
  scores: ScoreSpec[];
  /** Arguments by plugin name, handed to the plugin's factory. */
  pluginArgs?: Record<string, unknown>;
}
