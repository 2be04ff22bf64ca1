/**
 * The scheduling framework's extension points, in kube-scheduler's shape
 * (https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/), compiled:
 * a plugin's PreFilter and PreScore run once per pod class and return a small object whose
 * per-node method (the Filter or Score) reads the cluster state's columns. The per-node methods are
 * the hot path — plain loops over typed arrays, no allocation — and the same compiled objects
 * serve the per-pod cycle, berth's batch placement, the kube-scheduler baseline of the benchmark,
 * preemption and explanations.
 *
 * One scheduling cycle:
 * ```
 *  compileFilter (PreFilter, once per class) ─▶ fits(i) (Filter, per node)
 *      ─▶ compileScore (PreScore, once) ─▶ score(i) (Score, per feasible node)
 *      ─▶ normalize (NormalizeScore, once per plugin) ─▶ pick the best ─▶ Reserve (assume) ─▶ Bind
 * ```
 * Plugins never call the API, never keep per-pod state in themselves, and answer "does not fit"
 * with a Status, not an exception.
 */
import type { ClusterState, Session } from './cluster.js';
import type { PodClass } from './pod-class.js';
import type { Status } from './status.js';

/** kube-scheduler's `MaxNodeScore`: every Score plugin's normalized scores lie in [0, 100]. */
export const MAX_NODE_SCORE = 100;

export interface Plugin {
  /** The plugin's registry name (each class also has it as `static readonly name`). */
  readonly name: string;
  /**
   * True if the plugin reads a pod's owners' selector (`ClusterState.ownerSelector`), as
   * PodTopologySpread's default constraints do: batch placement then never merges owned pods'
   * classes into one group.
   */
  readonly readsOwners?: boolean;
}

/** A pod's resource request as NodeResourcesFit checks it (millicores, bytes, bytes; extended as counts). */
export interface ResourceRequest {
  readonly cpu: number;
  readonly memory: number;
  readonly ephemeralStorage: number;
  readonly extended: readonly (readonly [string, number])[];
}

/**
 * A Filter compiled for one pod class.
 *
 * `scope: 'class'` promises the verdict depends only on the node's class (its labels other than
 * the hostname, its taints and `spec.unschedulable`) and on the pod's static fields (node
 * selector, node affinity, tolerations, node name — `PodClass.staticKey`): the framework then
 * evaluates it on one node of each class, once for all pods sharing those fields, and reuses the
 * answer. `scope: 'node'` filters are asked for every node.
 */
export interface NodeFilter {
  readonly scope: 'class' | 'node';
  /** True if node slot `i` passes. Hot: no allocation. */
  fits(i: number): boolean;
  /** Why node `i` fails (only asked for a node `fits` rejected). */
  status(i: number): Status;
  /** Set by NodeResourcesFit: the request it checks, so batch placement can search its capacity index. */
  readonly request?: ResourceRequest;
}

export interface FilterPlugin extends Plugin {
  /**
   * True if `compileFilter`'s result depends only on the pod's static fields (`PodClass.staticKey`:
   * node selector, node affinity, tolerations, node name) and the nodes: the framework then
   * compiles it once for all pod classes sharing those fields in a session.
   */
  readonly staticOnly?: boolean;
  /**
   * PreFilter: compiles the pod class's constraint against the cluster. Returns null when the
   * plugin has nothing to check for this pod (kube's Skip), a NodeFilter, or a Status: a rejection
   * that holds for every node, or an error. Watchers it needs go on `session`.
   */
  compileFilter(pod: PodClass, cluster: ClusterState, session: Session): NodeFilter | Status | null;
}

/** A Score compiled for one pod class over a set of feasible nodes. */
export interface NodeScorer {
  /** The raw score of node slot `i` (higher is better). */
  score(i: number): number;
  /** NormalizeScore: rescales the raw scores of the feasible nodes (in `feasible` order), in place, into [0, MAX_NODE_SCORE]. */
  normalize?(scores: Float64Array): void;
}

export interface ScorePlugin extends Plugin {
  /**
   * PreScore: compiles scoring for the pod class over `feasible` (node slots that passed every
   * filter). Returns null to skip (the plugin is left out of the score table), a NodeScorer, or an
   * error Status.
   */
  compileScore(pod: PodClass, cluster: ClusterState, feasible: Int32Array, session: Session): NodeScorer | Status | null;
  /**
   * True if the plugin would give every node the same score for pods of this class, so it cannot
   * change a choice: batch placement may then ignore it. Absent means "it may prefer some nodes".
   */
  neutral?(pod: PodClass, cluster: ClusterState): boolean;
  /**
   * True for scores that only favour fuller nodes (MostAllocated, an increasing
   * RequestedToCapacityRatio shape): batch placement's first-fit packing serves that intent.
   */
  readonly packing?: boolean;
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
  /** Whether a pod that fits nowhere may preempt lower-priority pods (DefaultPreemption; default true). */
  preemption?: boolean;
  /** Arguments by plugin name, handed to the plugin's factory. */
  pluginArgs?: Record<string, unknown>;
}
