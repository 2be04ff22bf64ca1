/**
 * The container runtime interface of the node agent: what a node's pods run on. The agent keeps
 * the kubelet's node side (status, Lease, which pods are whose) and hands each pod on a served
 * node to that node's runtime, chosen by the node's `node.berth.dev/runtime` label (or the
 * agent's default):
 *
 * - `sim` (`runtimes/sim.ts`): no processes; the pod lifecycle is played from stages on the
 *   injected clock. Thousands of nodes.
 * - `docker` (`runtimes/docker/`): each container is a real Docker container, run through
 *   dockerode, with the kubelet's restart, probe and termination behaviour.
 *
 * A runtime is level-based like everything else: `syncPod` looks at the pod as it is now and at
 * what runs, acts, writes the status through the context, and asks to be woken when time alone
 * will change something (a back-off ends, a probe is due).
 */
import type { Container, ContainerStatus, Node, Pod } from '../api/types.js';
import type { ExecStreams, LogOptions } from '../apiserver/app.js';
import type { PodCidrAllocator } from './ipam.js';

/**
 * Node label naming the runtime a node's pods run on: `sim` or `docker`. Nodes without it use
 * the agent's default (`berth server --runtime`). An Auto Scaling group sets it on its nodes from
 * `spec.launchTemplate.containerRuntime`.
 */
export const RUNTIME_LABEL = 'node.berth.dev/runtime';

/** Names of the runtimes berth has. */
export const RUNTIME_NAMES = ['sim', 'docker'] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

/** Whether a runtime can run pods now; when not, the node reports Ready=False with `message`. */
export type RuntimeHealth = { ready: true } | { ready: false; message: string };

/** What the agent lets a runtime do for one pod during `syncPod`. */
export interface PodSyncContext {
  /** `namespace/name` of the pod. */
  readonly key: string;
  /** The Node the pod is bound to (read-only, from the informer cache). */
  readonly node: Node;
  /** The node's InternalIP (its first address if it has none). */
  readonly hostIP: string | undefined;
  /** Pod IPs of the node's `spec.podCIDR`, when it has one. */
  readonly ipam: PodCidrAllocator | undefined;
  /** Cluster time now, ms since the epoch. */
  now(): number;
  /** Records a kubelet event about the pod (`source.component: kubelet`, host = node); nothing when events are off. */
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** Writes `pod.status` (the status subresource) and returns the pod as written. Throws StatusError (Conflict, NotFound). */
  writeStatus(pod: Pod): Promise<Pod>;
  /** Deletes the pod now (grace period 0, only this uid), as the kubelet does once its containers have stopped. */
  deletePod(pod: Pod): Promise<void>;
  /** Reconciles the pod again at `at` (cluster ms), replacing an earlier wake-up. */
  wakeAt(at: number): void;
  /** Cancels the pending wake-up, if any. */
  cancelWake(): void;
}

/** Which run of a container a log read wants: the current one (`state`) or the one before (`lastState`). */
export type LogInstance = 'state' | 'lastState';

/** Hooks the agent gives a runtime for work it notices by itself (a container exited, the engine came back). */
export interface RuntimeHooks {
  /** Reconcile the pod `namespace/name` soon. */
  podChanged(key: string): void;
  /** Reconcile every node on this runtime (its health changed) and their pods. */
  healthChanged(): void;
}

/** An entry of `node.status.images` (`v1.ContainerImage`): the image's references and, when known, its size in bytes. */
export interface NodeImage {
  names: string[];
  sizeBytes?: number;
}

export interface ContainerRuntime {
  /** The value of the `node.berth.dev/runtime` label that picks this runtime. */
  readonly name: RuntimeName;
  /** `status.nodeInfo.containerRuntimeVersion` of its nodes (`berth-sim://1.0`, `docker://20.10.24`). */
  version(): string;
  /**
   * The images pulled on node `nodeName`, for `status.images` (the scheduler's ImageLocality
   * reads them). Absent when the runtime cannot tell.
   */
  nodeImages?(nodeName: string): NodeImage[];
  /** Starts background work (engine event streams); stops when `signal` aborts. */
  start(signal: AbortSignal, hooks: RuntimeHooks): void;
  /** Whether pods can run now. Cheap to call: a remote check is cached. */
  health(): Promise<RuntimeHealth>;
  /** Brings the pod's containers in line with its spec and writes its status; level-based. Throws to be retried with back-off. */
  syncPod(pod: Pod, ctx: PodSyncContext): Promise<void>;
  /** The pod is gone (or left a served node): stop and remove whatever it still runs. */
  forgetPod(uid: string, key: string): Promise<void>;
  /** A node is no longer served. */
  forgetNode(name: string): void;
  /**
   * Removes what runs on the node for pods not in `liveUids` (pods deleted while the agent was
   * away). Called with every node reconcile while the runtime is healthy; may do nothing for a while.
   */
  cleanup?(nodeName: string, liveUids: Set<string>): Promise<void>;
  /**
   * The log of one run of a container, whose status the agent has checked (kubelet's
   * validateContainerLogStatus): text, or with `follow` a stream until it stops or `signal`
   * aborts. Throws StatusError (BadRequest) when that run's log is gone.
   */
  readLog(pod: Pod, container: Container, status: ContainerStatus, which: LogInstance, app: boolean, opts: LogOptions, signal: AbortSignal): Promise<string | AsyncIterable<string>>;
  /**
   * Runs `command` in the running container `container` of the pod with its standard streams on
   * `io`; resolves with the command's exit code. Absent when the runtime cannot run commands.
   */
  exec?(pod: Pod, container: Container, status: ContainerStatus, command: string[], io: ExecStreams, signal: AbortSignal): Promise<number>;
  /**
   * Attaches to the main process of the running container `container` (`kubectl attach`): its
   * output from now on to `io.stdout`, `io.stdin` to its input when the container has
   * `stdin: true`; resolves when the process ends or `signal` aborts. Absent when the runtime
   * cannot attach.
   */
  attach?(pod: Pod, container: Container, status: ContainerStatus, io: ExecStreams, signal: AbortSignal): Promise<void>;
}
