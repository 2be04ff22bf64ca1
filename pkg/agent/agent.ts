/**
 * The node agent: one process playing the kubelet of every node it serves
 * (https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/). For each served
 * Node it reports status (Ready only while the node's container runtime is healthy) and renews
 * the node Lease; each Pod bound to one is synced by that node's container runtime
 * (`runtime.ts`): the simulated one, which plays the pod lifecycle stages (`stages.ts`) on the
 * injected clock, or Docker, which runs real containers (`runtimes/docker/`). A node's runtime is
 * its `node.berth.dev/runtime` label, else the agent's default. The agent serves `kubectl logs`
 * and `kubectl exec` from the pod's runtime.
 *
 * Level-based: every pod or node change (and every timer) only queues a key; reconciling a key
 * looks at the whole current object and decides. Timers never change anything themselves.
 *
 * Wiring:
 * ```ts
 * const agent = new NodeAgent(mgr, { runtime: 'docker', runtimes: [new DockerRuntime({ ... })] });
 * mgr.add(agent);
 * api.logs.current = agent; // GET pods/<name>/log reads the pod's runtime
 * api.exec.current = agent; // and pods/<name>/exec runs commands in it (pods/<name>/attach attaches)
 * ```
 */
import type { ExecStreams, LogOptions, PodExecSource, PodLogSource } from '../apiserver/app.js';
import { badRequest, isConflict, isNotFound } from '../api/errors.js';
import { parseSelector, type Selector } from '../api/labels.js';
import { clone, objectKeyOf } from '../api/meta.js';
import type { KubeObject, Node, Pod } from '../api/types.js';
import { rfc3339Micro, type Clock } from '../clock/clock.js';
import { Kinds, type Client } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Logger } from '../runtime/logger.js';
import type { Manager, Runnable } from '../runtime/manager.js';
import { WorkQueue } from '../runtime/workqueue.js';
import { PodCidrAllocator } from './ipam.js';
import { CONTAINER_RUNTIME_VERSION, desiredNodeStatus, KUBELET_PORT, internalIP, lastReported, nodeLease, NODE_LEASE_DURATION_SECONDS, NODE_LEASE_NAMESPACE } from './nodestatus.js';
import { ContainerCreating, isTerminalPhase, PodInitializing, statusOf, waitingStatus } from './podstatus.js';
import { RUNTIME_LABEL, type ContainerRuntime, type PodSyncContext, type RuntimeHealth } from './runtime.js';
import { SimRuntime } from './runtimes/sim.js';
import { defaultStages } from './stages.js';
import type { AgentOptions } from './types.js';
import { findContainer, seededRandom } from './util.js';

export { sampleDelay } from './util.js';

/** Name of the pod cache index by `spec.nodeName` the agent adds. */
export const POD_NODE_INDEX = 'agent/spec.nodeName';

/** The cloud provider's taint on a Node whose instance is shut down (https://kubernetes.io/docs/reference/labels-annotations-taints/). */
export const SHUTDOWN_TAINT = 'node.cloudprovider.kubernetes.io/shutdown';

/**
 * Wake-ups by due time: keys due at the same ms share one clock timer. A timer only queues its
 * keys for a reconcile. With 10,000 jittered pods this sets hundreds of timers rather than
 * thousands, which is what a virtual clock pays for (it settles after each timer).
 */
export class Wakeups {
  private readonly buckets = new Map<number, { keys: Set<string>; cancel: () => void }>();
  private readonly due = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly fire: (key: string) => void,
  ) {}

  /** When `key` is due, if it is. */
  dueAt(key: string): number | undefined {
    return this.due.get(key);
  }

  /** Wakes `key` at `at` (ms since the epoch), replacing any earlier wake-up of it. */
  set(key: string, at: number): void {
    const cur = this.due.get(key);
    if (cur === at) return;
    if (cur !== undefined) this.cancel(key);
    let b = this.buckets.get(at);
    if (!b) {
      const keys = new Set<string>();
      const cancel = this.clock.setTimer(at - this.clock.now(), () => {
        this.buckets.delete(at);
        for (const k of keys) {
          this.due.delete(k);
          this.fire(k);
        }
      });
      this.buckets.set(at, (b = { keys, cancel }));
    }
    b.keys.add(key);
    this.due.set(key, at);
  }

  cancel(key: string): void {
    const at = this.due.get(key);
    if (at === undefined) return;
    this.due.delete(key);
    const b = this.buckets.get(at)!;
    b.keys.delete(key);
    if (b.keys.size === 0) {
      b.cancel();
      this.buckets.delete(at);
    }
  }

  cancelAll(): void {
    for (const b of this.buckets.values()) b.cancel();
    this.buckets.clear();
    this.due.clear();
  }
}

/** What the agent knows of a node it serves. */
interface NodeState {
  name: string;
  uid: string;
  recorder: EventRecorder;
  cidr: string | undefined;
  ipam: PodCidrAllocator | undefined;
  /** The runtime the node's pods run on; undefined when its label names one this agent does not have. */
  runtime: ContainerRuntime | undefined;
  /** The runtime's health at the last node reconcile. */
  health: RuntimeHealth | undefined;
  /** When status was last written (ms); NaN before the first write. */
  reportedAt: number;
  /** The resourceVersion of our last status write (the cache may lag behind it). */
  writtenRv: number;
  lease: KubeObject | undefined;
  leaseDueAt: number;
}

/** What the agent knows of a pod on a node it serves. */
interface PodState {
  key: string;
  uid: string;
  nodeName: string;
  /** The runtime that synced it. */
  runtime: ContainerRuntime;
  writtenRv: number;
}

function rvOf(obj: KubeObject): number {
  const n = Number(obj.metadata.resourceVersion);
  return Number.isFinite(n) ? n : 0;
}

export class NodeAgent implements Runnable, PodLogSource, PodExecSource {
  readonly name = 'node-agent';
  /** The simulated container runtime (its container instances and logs). */
  readonly runtime: SimRuntime;
  /** Every runtime the agent has, by name; `sim` always. */
  readonly runtimes = new Map<string, ContainerRuntime>();
  /** The runtime of nodes without a `node.berth.dev/runtime` label. */
  readonly defaultRuntime: string;
  private readonly client: Client;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly selector: Selector;
  private readonly heartbeatMs: number;
  /** The port the served nodes report as their kubelet endpoint. */
  private readonly kubeletPort: number;
  private readonly reportMs: number;
  private readonly events: boolean;
  private readonly random: () => number;
  private readonly workers: number;
  private readonly podInformer: Informer<Pod>;
  private readonly nodeInformer: Informer<Node>;
  private readonly podQueue: WorkQueue;
  private readonly nodeQueue: WorkQueue;
  private readonly nodes = new Map<string, NodeState>();
  private readonly pods = new Map<string, PodState>();
  private readonly podWakeups: Wakeups;
  private readonly nodeWakeups: Wakeups;

  /** Throws RangeError for options out of range, SelectorError for a bad `nodeSelector`. */
  constructor(
    private readonly mgr: Manager,
    opts: AgentOptions = {},
  ) {
    this.client = mgr.client;
    this.clock = mgr.clock;
    this.log = mgr.log.child({ component: 'node-agent' });
    this.selector = parseSelector(opts.nodeSelector);
    const stages = opts.stages ?? defaultStages();
    const names = new Set(stages.map((s) => s.name));
    if (names.size !== stages.length) throw new RangeError('stage names must be unique');
    const hb = opts.heartbeatSeconds ?? 10;
    if (!(hb >= 0) || !Number.isFinite(hb)) throw new RangeError(`heartbeatSeconds must be a number >= 0, got ${hb}`);
    this.heartbeatMs = hb * 1000;
    this.kubeletPort = opts.kubeletPort ?? KUBELET_PORT;
    const report = opts.nodeStatusReportSeconds ?? 300;
    if (!(report > 0) || !Number.isFinite(report)) throw new RangeError(`nodeStatusReportSeconds must be a number > 0, got ${report}`);
    this.reportMs = report * 1000;
    this.events = opts.events ?? true;
    this.random = opts.random ?? seededRandom();
    this.workers = opts.workers ?? 16;
    if (!(this.workers >= 1)) throw new RangeError(`workers must be at least 1, got ${this.workers}`);
    this.runtime = new SimRuntime({ clock: this.clock, log: this.log, stages, random: this.random });
    this.runtimes.set(this.runtime.name, this.runtime);
    for (const r of opts.runtimes ?? []) this.runtimes.set(r.name, r);
    this.defaultRuntime = opts.runtime ?? 'sim';
    if (!this.runtimes.has(this.defaultRuntime)) throw new RangeError(`runtime "${this.defaultRuntime}" is not among the agent's runtimes (${[...this.runtimes.keys()].join(', ')})`);
    // The kubelet's pod workers back off per pod with no overall bucket (pkg/kubelet/pod_workers.go).
    this.podQueue = new WorkQueue(this.clock, { overallQps: Infinity });
    this.nodeQueue = new WorkQueue(this.clock, { overallQps: Infinity });
    this.podWakeups = new Wakeups(this.clock, (key) => this.podQueue.add(key));
    this.nodeWakeups = new Wakeups(this.clock, (key) => this.nodeQueue.add(key));

    this.nodeInformer = mgr.informer<Node>(Kinds.Node);
    this.podInformer = mgr.informer<Pod>(Kinds.Pod);
    this.podInformer.cache.addIndex(POD_NODE_INDEX, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));

    this.nodeInformer.on({
      add: (n) => this.nodeChanged(undefined, n),
      update: (o, n) => this.nodeChanged(o, n),
      delete: (n) => this.nodeChanged(n, undefined),
    });
    const podChanged = (p: Pod): void => {
      const key = objectKeyOf(p);
      if (this.pods.has(key) || (p.spec?.nodeName && this.serves(this.nodeInformer.cache.get(p.spec.nodeName)))) this.podQueue.add(key);
    };
    this.podInformer.on({ add: podChanged, update: (_, p) => podChanged(p), delete: podChanged });
  }

  /**
   * True if the agent serves this node: it matches the selector and its machine is on. A Node
   * tainted `node.cloudprovider.kubernetes.io/shutdown` (its instance is stopped) has no kubelet
   * running, so nothing reports its status or runs its pods until the taint goes.
   */
  serves(node: Node | undefined): boolean {
    return !!node && this.selector.matches(node.metadata.labels) && !node.spec?.taints?.some((t) => t.key === SHUTDOWN_TAINT);
  }

  /** Names of the nodes the agent serves now. */
  servedNodes(): string[] {
    return [...this.nodes.keys()];
  }

  async start(signal: AbortSignal): Promise<void> {
    const stop = (): void => {
      this.podQueue.shutdown();
      this.nodeQueue.shutdown();
      this.podWakeups.cancelAll();
      this.nodeWakeups.cancelAll();
    };
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    for (const r of this.runtimes.values()) {
      r.start(signal, {
        podChanged: (key) => {
          if (this.pods.has(key)) this.podQueue.add(key);
        },
        healthChanged: () => {
          for (const ns of this.nodes.values()) if (ns.runtime === r) this.nodeQueue.add(ns.name);
        },
      });
    }
    const loop = async (queue: WorkQueue, reconcile: (key: string) => Promise<void>): Promise<void> => {
      for (;;) {
        const key = await queue.get();
        if (key === undefined) return;
        try {
          await reconcile(key);
          queue.forget(key);
        } catch (e) {
          if (!signal.aborted) {
            this.log.debug({ key, err: (e as Error).message }, 'reconcile failed; will retry');
            queue.addRateLimited(key);
          }
        } finally {
          queue.done(key);
        }
      }
    };
    const nodeWorkers = Math.max(1, Math.ceil(this.workers / 4));
    await Promise.all([
      ...Array.from({ length: this.workers }, () => loop(this.podQueue, (k) => this.reconcilePod(k))),
      ...Array.from({ length: nodeWorkers }, () => loop(this.nodeQueue, (k) => this.reconcileNode(k))),
    ]);
  }

  // ---------------------------------------------------------------------------------------------
  // Nodes

  private nodeChanged(old: Node | undefined, cur: Node | undefined): void {
    const name = (cur ?? old)!.metadata.name!;
    const was = this.nodes.has(name);
    const now = this.serves(cur);
    if (!was && !now) return;
    this.nodeQueue.add(name);
    // Pods care about the node only when it starts or stops being served, or its pod network or runtime changes.
    if (was !== now || !old || !cur || old.spec?.podCIDR !== cur.spec?.podCIDR || internalIP(old) !== internalIP(cur) || old.metadata.labels?.[RUNTIME_LABEL] !== cur.metadata.labels?.[RUNTIME_LABEL]) {
      for (const p of this.podInformer.cache.byIndex(POD_NODE_INDEX, name)) this.podQueue.add(objectKeyOf(p));
    }
  }

  /** The state of a served node, created on first use; undefined if the node is not served. */
  private nodeState(name: string): NodeState | undefined {
    const node = this.nodeInformer.cache.get(name);
    if (!this.serves(node)) return undefined;
    let ns = this.nodes.get(name);
    if (ns && ns.uid !== node!.metadata.uid) {
      this.forgetNode(ns);
      ns = undefined;
    }
    if (!ns) {
      ns = {
        name,
        uid: node!.metadata.uid ?? '',
        recorder: this.mgr.recorder('kubelet', name),
        cidr: undefined,
        ipam: undefined,
        runtime: undefined,
        health: undefined,
        reportedAt: lastReported(node!),
        writtenRv: 0,
        lease: undefined,
        leaseDueAt: this.clock.now(),
      };
      this.nodes.set(name, ns);
    }
    const cidr = node!.spec?.podCIDR;
    if (ns.cidr !== cidr) {
      ns.cidr = cidr;
      ns.ipam = undefined;
      if (cidr) {
        try {
          ns.ipam = new PodCidrAllocator(cidr);
        } catch (e) {
          this.log.warn({ node: name, err: (e as Error).message }, 'cannot allocate pod IPs');
        }
      }
      // Addresses pods already show (the agent restarted, or the range was just set) stay theirs.
      if (ns.ipam) {
        for (const p of this.podInformer.cache.byIndex(POD_NODE_INDEX, name)) {
          if (p.status?.podIP && !isTerminalPhase(p) && !p.spec.hostNetwork) ns.ipam.adopt(p.metadata.uid!, p.status.podIP);
        }
      }
    }
    ns.runtime = this.runtimeFor(node!);
    return ns;
  }

  /** The runtime a node's label (or the default) names, if the agent has it. */
  private runtimeFor(node: Node | undefined): ContainerRuntime | undefined {
    return this.runtimes.get(node?.metadata.labels?.[RUNTIME_LABEL] ?? this.defaultRuntime);
  }

  /** Whether the node's runtime can run pods: its own check, or why the node has none. */
  private async healthOf(node: Node, ns: NodeState): Promise<RuntimeHealth> {
    if (ns.runtime) return ns.runtime.health();
    const want = node.metadata.labels?.[RUNTIME_LABEL] ?? this.defaultRuntime;
    return { ready: false, message: `container runtime is down: this node asks for runtime "${want}" (label ${RUNTIME_LABEL}), which the agent does not run (it has ${[...this.runtimes.keys()].join(', ')})` };
  }

  private forgetNode(ns: NodeState): void {
    this.nodeWakeups.cancel(ns.name);
    this.nodes.delete(ns.name);
    for (const r of this.runtimes.values()) r.forgetNode(ns.name);
    for (const p of this.podInformer.cache.byIndex(POD_NODE_INDEX, ns.name)) this.podQueue.add(objectKeyOf(p));
  }

  private async reconcileNode(name: string): Promise<void> {
    const node = this.nodeInformer.cache.get(name);
    const known = this.nodes.get(name);
    if (!this.serves(node)) {
      if (known) this.forgetNode(known);
      return;
    }
    const ns = this.nodeState(name)!;
    const health = await this.healthOf(node!, ns);
    if (ns.health && ns.health.ready !== health.ready) {
      this.log.warn({ node: name, ready: health.ready, ...(health.ready ? {} : { why: health.message }) }, 'container runtime health changed');
      // Pods that failed while the runtime was down are waiting out a back-off: look at them now.
      for (const p of this.podInformer.cache.byIndex(POD_NODE_INDEX, name)) this.podQueue.add(objectKeyOf(p));
    }
    ns.health = health;
    if (health.ready && ns.runtime?.cleanup) {
      const live = new Set<string>();
      for (const p of this.podInformer.cache.byIndex(POD_NODE_INDEX, name)) live.add(p.metadata.uid!);
      await ns.runtime.cleanup(name, live).catch((e: Error) => this.log.warn({ node: name, err: e.message }, 'container cleanup failed; will try again'));
    }
    const now = this.clock.now();
    if (rvOf(node!) >= ns.writtenRv) {
      const { status, changed } = desiredNodeStatus(node!, now, { version: ns.runtime?.version() ?? CONTAINER_RUNTIME_VERSION, health, images: ns.runtime?.nodeImages?.(name) }, this.kubeletPort);
      if (changed || !(now < ns.reportedAt + this.reportMs)) {
        const written = await this.client.updateStatus<Node>({ ...node!, metadata: { ...node!.metadata }, status });
        ns.writtenRv = rvOf(written);
        ns.reportedAt = now;
      }
    }
    if (this.heartbeatMs > 0 && !(now < ns.leaseDueAt)) {
      await this.renewLease(ns, node!, now);
      ns.leaseDueAt = now + this.heartbeatMs;
    }
    const next = Math.min(Number.isNaN(ns.reportedAt) ? now : ns.reportedAt + this.reportMs, this.heartbeatMs > 0 ? ns.leaseDueAt : Infinity);
    this.nodeWakeups.set(ns.name, next);
  }

  /** Renews the node's Lease, creating it if missing, as kubelet's node lease controller does. */
  private async renewLease(ns: NodeState, node: Node, now: number): Promise<void> {
    if (ns.lease) {
      const next = clone(ns.lease);
      (next.spec as Record<string, unknown>).renewTime = rfc3339Micro(now);
      try {
        ns.lease = await this.client.update(next);
        return;
      } catch (e) {
        if (!isConflict(e) && !isNotFound(e)) throw e;
        ns.lease = undefined;
      }
    }
    const cur = await this.client.tryGet(Kinds.Lease, ns.name, NODE_LEASE_NAMESPACE);
    if (!cur) {
      // AlreadyExists (someone created it since) throws: the retry finds and renews it.
      ns.lease = await this.client.create(nodeLease(node, now));
      return;
    }
    const next = clone(cur);
    next.spec = { ...(cur.spec as Record<string, unknown>), holderIdentity: ns.name, leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS, renewTime: rfc3339Micro(now) };
    ns.lease = await this.client.update(next);
  }

  // ---------------------------------------------------------------------------------------------
  // Pods

  private async forgetPod(ps: PodState): Promise<void> {
    this.podWakeups.cancel(ps.key);
    this.pods.delete(ps.key);
    this.nodes.get(ps.nodeName)?.ipam?.release(ps.uid);
    await ps.runtime.forgetPod(ps.uid, ps.key);
  }

  private async reconcilePod(key: string): Promise<void> {
    const cached = this.podInformer.cache.get(key);
    let ps = this.pods.get(key);
    const nodeName = cached?.spec?.nodeName;
    const ns = nodeName ? this.nodeState(nodeName) : undefined;
    if (ps && (!cached || !ns || cached.metadata.uid !== ps.uid || nodeName !== ps.nodeName || ns.runtime !== ps.runtime)) {
      await this.forgetPod(ps);
      ps = undefined;
    }
    if (!cached || !ns?.runtime) return;
    if (ps && rvOf(cached) < ps.writtenRv) return; // our own newer write is on its way through the watch
    if (!ps) {
      ps = { key, uid: cached.metadata.uid!, nodeName: nodeName!, runtime: ns.runtime, writtenRv: 0 };
      this.pods.set(key, ps);
    }
    await ns.runtime.syncPod(cached, this.syncContext(ns, ps));
  }

  /** What a runtime may do for one pod: write its status, delete it, record events, set its wake-up. */
  private syncContext(ns: NodeState, ps: PodState): PodSyncContext {
    const node = this.nodeInformer.cache.get(ns.name)!;
    return {
      key: ps.key,
      node,
      hostIP: internalIP(node),
      ipam: ns.ipam,
      now: () => this.clock.now(),
      event: (pod, type, reason, message) => {
        if (!this.events) return;
        ns.recorder.event(this.podInformer.cache.get(ps.key) ?? pod, type, reason, message);
      },
      writeStatus: async (pod) => {
        const written = await this.client.updateStatus<Pod>(pod);
        ps.writtenRv = rvOf(written);
        return written;
      },
      deletePod: async (pod) => {
        await this.client.deleteIfExists(Kinds.Pod, pod.metadata.name!, pod.metadata.namespace, { gracePeriodSeconds: 0, preconditions: { uid: ps.uid } });
      },
      wakeAt: (at) => this.podWakeups.set(ps.key, at),
      cancelWake: () => this.podWakeups.cancel(ps.key),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Logs

  /** The runtime that runs (or would run) a pod: its node's, else the default. */
  private runtimeOfPod(pod: Pod): ContainerRuntime {
    const ps = this.pods.get(objectKeyOf(pod));
    if (ps && ps.uid === pod.metadata.uid) return ps.runtime;
    return this.runtimeFor(this.nodeInformer.cache.get(pod.spec.nodeName ?? '')) ?? this.runtime;
  }

  /**
   * A container's log from the pod's runtime, with the kubelet's checks and wording
   * (pkg/kubelet/kubelet_pods.go validateContainerLogStatus) and the API server's for an unknown
   * container. Throws BadRequest StatusErrors.
   */
  async logs(obj: KubeObject, container: string, opts: LogOptions, signal: AbortSignal): Promise<AsyncIterable<string> | string> {
    const pod = obj as Pod;
    const podName = pod.metadata.name!;
    const found = findContainer(pod, container);
    if (!found) throw badRequest(`container ${container} is not valid for pod ${podName}`);
    if (!pod.spec.nodeName) return '';
    const hasInit = (pod.spec.initContainers ?? []).length > 0;
    const list = found.app ? pod.status?.containerStatuses : pod.status?.initContainerStatuses;
    const s = statusOf(list, container) ?? waitingStatus(found.c, hasInit ? PodInitializing : ContainerCreating);
    const q = `container "${container}" in pod "${podName}"`;
    const lastTerm = s.lastState?.terminated as { containerID?: string } | undefined;
    const term = s.state?.terminated as { containerID?: string } | undefined;
    let which: 'state' | 'lastState';
    if (opts.previous) {
      if (!lastTerm?.containerID) throw badRequest(`previous terminated ${q} not found`);
      which = 'lastState';
    } else if (s.state?.running) which = 'state';
    else if (term) {
      if (term.containerID) which = 'state';
      else if (lastTerm?.containerID) which = 'lastState';
      else throw badRequest(`${q} is terminated`);
    } else if (lastTerm) {
      if (!lastTerm.containerID) throw badRequest(`${q} is terminated`);
      which = 'lastState';
    } else if (s.state?.waiting) {
      throw badRequest(`${q} is waiting to start: ${(s.state.waiting.reason as string | undefined) ?? ContainerCreating}`);
    } else throw badRequest(`${q} is waiting to start - no logs yet`);
    return this.runtimeOfPod(pod).readLog(pod, found.c, s, which, found.app, opts, signal);
  }

  // ---------------------------------------------------------------------------------------------
  // Exec

  /**
   * Runs a command in a running container of the pod through its runtime (`kubectl exec`,
   * `berth exec`); resolves with the exit code. Throws BadRequest StatusErrors with the API
   * server's and kubelet's wording: an unknown container, one that is not running, a runtime
   * that runs no commands.
   */
  async exec(obj: KubeObject, container: string, command: string[], io: ExecStreams, signal: AbortSignal): Promise<number> {
    const pod = obj as Pod;
    const podName = pod.metadata.name!;
    const found = findContainer(pod, container);
    if (!found) throw badRequest(`container ${container} is not valid for pod ${podName}`);
    if (!command.length) throw badRequest('you must specify at least one command for the container');
    const list = found.app ? pod.status?.containerStatuses : pod.status?.initContainerStatuses;
    const s = statusOf(list, container);
    if (!s?.state?.running || !s.containerID) throw badRequest(`container not found ("${container}"): it is not running in pod ${podName}`);
    const runtime = this.runtimeOfPod(pod);
    if (!runtime.exec) throw badRequest(`the ${runtime.name} runtime of node ${pod.spec.nodeName} cannot run commands in containers`);
    return runtime.exec(pod, found.c, s, command, io, signal);
  }

  /**
   * Attaches to the main process of a running container through its runtime (`kubectl attach`,
   * `kubectl run -i`): resolves when it ends or the client goes. Throws BadRequest StatusErrors as
   * `exec` does; a completed pod's container is "not running".
   */
  async attach(obj: KubeObject, container: string, io: ExecStreams, signal: AbortSignal): Promise<void> {
    const pod = obj as Pod;
    const podName = pod.metadata.name!;
    const found = findContainer(pod, container);
    if (!found) throw badRequest(`container ${container} is not valid for pod ${podName}`);
    const list = found.app ? pod.status?.containerStatuses : pod.status?.initContainerStatuses;
    const s = statusOf(list, container);
    if (!s?.state?.running || !s.containerID) throw badRequest(`container not found ("${container}"): it is not running in pod ${podName}`);
    const runtime = this.runtimeOfPod(pod);
    if (!runtime.attach) throw badRequest(`the ${runtime.name} runtime of node ${pod.spec.nodeName} cannot attach to containers`);
    return runtime.attach(pod, found.c, s, io, signal);
  }
}
