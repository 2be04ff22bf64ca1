/**
 * The node agent's public types: options, and the shape of a pod lifecycle stage.
 *
 * Stages follow KWOK's (https://kwok.sigs.k8s.io/docs/user/stages-configuration/): fake pod
 * behaviour is data, an ordered list of `{selector, delay with jitter, status change}` played by
 * one controller on an injected clock. Here the selector is a `match` function and the change is
 * an `apply` function that edits a draft of the pod's status.
 */
import type { Node, Pod } from '../api/types.js';
import type { ContainerRuntime } from './runtime.js';

/**
 * How long after a stage starts matching a pod it is applied, in ms of cluster time:
 * uniform in `[ms - jitterMs, ms + jitterMs]`, then clamped to `[0, maxMs]`. With the agent's
 * `random` returning 0.5 the delay is exactly `ms`.
 */
export interface StageDelay {
  /** Base delay, ms. */
  ms: number;
  /** Spread either side of `ms`, ms (default 0). */
  jitterMs?: number;
  /** Upper bound, ms (default none). */
  maxMs?: number;
}

/** What a stage's `apply` may ask for besides its status change. */
export interface StageResult {
  /** Delete the pod with `gracePeriodSeconds: 0` (its containers are stopped). */
  delete?: boolean;
}

/** Facts and effects a stage works with. Effects (events, runtime changes) take hold when the stage's status write succeeds. */
export interface StageContext {
  /** Cluster time now, ms since the epoch. */
  readonly now: number;
  /** When this stage started matching the pod, ms since the epoch (for durations such as image pulls). */
  readonly since: number;
  /** The Node the pod is bound to; read-only. */
  readonly node: Node;
  /** The node's InternalIP (its first address if it has none), if it has any address. */
  readonly hostIP: string | undefined;
  /** The agent's uniform [0, 1) random source (seeded: simulations replay). */
  random(): number;
  /**
   * The pod's IP from the node's `spec.podCIDR`, reserved for it (the same address on every
   * call); undefined when the node has no podCIDR or every address is taken.
   */
  podIP(): string | undefined;
  /** True if `podIP()` would give an address. */
  podIPAvailable(): boolean;
  /** True if the node had this image when the stage began (an earlier container pulled it), so no pull is needed. */
  hasImage(image: string): boolean;
  /**
   * Starts a new instance of container `name` in the simulated runtime (writing its first log
   * lines) and returns the ids to show in its status. `restartCount` numbers the instance.
   */
  startContainer(name: string, restartCount: number): { containerID: string; imageID: string };
  /**
   * Ends the running instance of container `name`: `signal` true for a stop by SIGTERM (the
   * simulated program exits at once with `exitCode`), false for the program finishing by itself.
   */
  stopContainer(name: string, exitCode: number, signal: boolean): void;
  /** When the current instance of container `name` started (ms), from the runtime, else its status; undefined if not started. */
  startedAt(name: string): number | undefined;
  /** When the last instance of container `name` finished (ms), from the runtime, else its status. */
  finishedAt(name: string): number | undefined;
  /**
   * Whether the program of container `name`'s current instance (the one its status shows
   * running) has ended by itself (a `stdinOnce` container's input closed); absent: never.
   */
  programEnded?(name: string): boolean;
  /** Records a kubelet event about the pod (`source.component: kubelet`, host = node); nothing when events are off. */
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/**
 * One step of the simulated pod lifecycle. The agent finds the first stage (in list order) whose
 * `match` holds for the pod as it is now; when that stage starts matching it calls `begin` and
 * picks its delay; when the delay is over it calls `apply` on a private copy of the pod and writes
 * the status if it changed. Then it looks again: the pod, changed, matches the next stage.
 */
export interface Stage {
  /** Unique name (`pod-start`), shown in logs and tests. */
  readonly name: string;
  /** Whether the stage applies to the pod as it is now. Pure: no effects. */
  match(pod: Pod, ctx: StageContext): boolean;
  /** The delay, fixed or worked out from the pod (run times, back-off, grace periods). */
  readonly delay: StageDelay | ((pod: Pod, ctx: StageContext) => StageDelay);
  /** Called once when the stage starts matching, before the delay (events such as `Pulling`, `Killing`). */
  begin?(pod: Pod, ctx: StageContext): void;
  /**
   * Edits `pod.status` (a private copy; the pod's `metadata` and `spec` are shared with the
   * informer cache and must not be changed) and may ask for more.
   */
  apply(pod: Pod, ctx: StageContext): StageResult | void;
}

export interface AgentOptions {
  /** Label selector of the nodes this agent serves (`node.berth.dev/agent=sim`); default: every node. */
  nodeSelector?: string;
  /** The pod lifecycle, in match order (default `defaultStages()`). */
  stages?: Stage[];
  /** Seconds of cluster time between Lease renewals (default 10, as kubelet's `nodeLeaseDurationSeconds / 4`); 0 disables Leases. */
  heartbeatSeconds?: number;
  /**
   * The TCP port its nodes report as `status.daemonEndpoints.kubeletEndpoint.Port` (default
   * 10250, kubelet's): a remote `berth agent` reports the port of its kubelet endpoint
   * (pkg/agent/kubeletserver.ts), where API servers proxy logs and exec.
   */
  kubeletPort?: number;
  /**
   * Seconds of cluster time after which node status is written even if nothing changed
   * (kubelet's `nodeStatusReportFrequency`, default 300). Changes are written at once.
   */
  nodeStatusReportSeconds?: number;
  /** Record kubelet events (Pulling, Pulled, Created, Started, Killing, BackOff); default true. */
  events?: boolean;
  /** Uniform [0, 1) source for delay jitter (default: a PRNG with a fixed seed, so runs replay). */
  random?: () => number;
  /** Pods reconciled at once (default 16). */
  workers?: number;
  /** Runtimes besides the simulated one (which the agent always has), e.g. a `DockerRuntime`. */
  runtimes?: ContainerRuntime[];
  /** The runtime of nodes without a `node.berth.dev/runtime` label: `sim` (default) or the name of one of `runtimes`. */
  runtime?: string;
}
