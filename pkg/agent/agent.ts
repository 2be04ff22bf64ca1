/**
 * The node agent: one process playing the kubelet of every simulated node it serves
 * (https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/). For each served
 * Node it reports status and renews the node Lease; for each Pod bound to one it plays the pod
 * lifecycle stages (`stages.ts`) on the injected clock over a simulated container runtime, and it
 * serves `kubectl logs` from that runtime.
 *
 * Level-based: every pod or node change (and every timer) only queues a key; reconciling a key
 * looks at the whole current object and decides. Timers never change anything themselves.
 *
 * Wiring:
 * ```ts
 * const agent = new NodeAgent(mgr);
 * mgr.add(agent);
 * api.logs.current = agent; // GET pods/<name>/log reads the simulated runtime
 * ```
 */
import type { LogOptions, PodLogSource } from '../apiserver/app.js';
import { badRequest, isConflict, isNotFound } from '../api/errors.js';
import { parseSelector, type Selector } from '../api/labels.js';
import { clone, deepEqual, objectKeyOf } from '../api/meta.js';
import type { Container, KubeObject, Node, Pod } from '../api/types.js';
import { parseTime, rfc3339Micro, type Clock } from '../clock/clock.js';
import { Kinds, type Client } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Logger } from '../runtime/logger.js';
import type { Manager, Runnable } from '../runtime/manager.js';
import { WorkQueue } from '../runtime/workqueue.js';
import { PodCidrAllocator } from './ipam.js';
import { desiredNodeStatus, internalIP, lastReported, nodeLease, NODE_LEASE_DURATION_SECONDS, NODE_LEASE_NAMESPACE } from './nodestatus.js';
import { ContainerCreating, isTerminalPhase, PodInitializing, statusOf, waitingStatus } from './podstatus.js';
import { containerIdFor, SimRuntime } from './runtimes/sim.js';
import { defaultStages } from './stages.js';
import type { AgentOptions, Stage, StageContext, StageDelay } from './types.js';
import { imageIdOf, normalizeImage, seededRandom } from './util.js';

/** Name of the pod cache index by `spec.nodeName` the agent adds. */
export const POD_NODE_INDEX = 'agent/spec.nodeName';

/** Most stages applied to one pod in one reconcile (a guard against stages that never settle). */
const MAX_STEPS = 32;

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
  /** Images on the node (normalized reference → when pulled, ms). */
  images: Map<string, number>;
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
  /** The stage waiting for its delay: since when it matched and when it is due (ms). */
  pending: { stage: string; since: number; dueAt: number } | undefined;
  writtenRv: number;
}

/** Samples a stage delay: uniform in [ms − jitter, ms + jitter], clamped to [0, maxMs], whole ms. */
export function sampleDelay(d: StageDelay, random: () => number): number {
  const j = d.jitterMs ?? 0;
  let ms = d.ms + (j > 0 ? (2 * random() - 1) * j : 0);
  ms = Math.max(0, ms);
  if (d.maxMs !== undefined) ms = Math.min(ms, Math.max(0, d.maxMs));
  return Math.round(ms);
}

function rvOf(obj: KubeObject): number {
  const n = Number(obj.metadata.resourceVersion);
  return Number.isFinite(n) ? n : 0;
}

/** The container named `name` in the pod's spec, and whether it is an app container. */
function findContainer(pod: Pod, name: string): { c: Container; app: boolean } | undefined {
  const app = pod.spec.containers.find((c) => c.name === name);
  if (app) return { c: app, app: true };
  const init = pod.spec.initContainers?.find((c) => c.name === name);
  if (init) return { c: init, app: false };
  const eph = (pod.spec.ephemeralContainers as Container[] | undefined)?.find((c) => c.name === name);
  return eph ? { c: eph, app: false } : undefined;
}

export class NodeAgent implements Runnable, PodLogSource {
  readonly name = 'node-agent';
  /** The simulated container runtime (container instances and logs). */
  readonly runtime = new SimRuntime();
  private readonly client: Client;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly selector: Selector;
  private readonly stages: Stage[];
  private readonly heartbeatMs: number;
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
    this.stages = opts.stages ?? defaultStages();
    const names = new Set(this.stages.map((s) => s.name));
    if (names.size !== this.stages.length) throw new RangeError('stage names must be unique');
    const hb = opts.heartbeatSeconds ?? 10;
    if (!(hb >= 0) || !Number.isFinite(hb)) throw new RangeError(`heartbeatSeconds must be a number >= 0, got ${hb}`);
    this.heartbeatMs = hb * 1000;
    const report = opts.nodeStatusReportSeconds ?? 300;
    if (!(report > 0) || !Number.isFinite(report)) throw new RangeError(`nodeStatusReportSeconds must be a number > 0, got ${report}`);
    this.reportMs = report * 1000;
    this.events = opts.events ?? true;
    this.random = opts.random ?? seededRandom();
    this.workers = opts.workers ?? 16;
    if (!(this.workers >= 1)) throw new RangeError(`workers must be at least 1, got ${this.workers}`);
    this.podQueue = new WorkQueue(this.clock);
    this.nodeQueue = new WorkQueue(this.clock);
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

  /** True if the agent serves this node. */
  serves(node: Node | undefined): boolean {
    return !!node && this.selector.matches(node.metadata.labels);
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
    // Pods care about the node only when it starts or stops being served, or its pod network changes.
    if (was !== now || !old || !cur || old.spec?.podCIDR !== cur.spec?.podCIDR || internalIP(old) !== internalIP(cur)) {
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
        images: new Map(),
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
    return ns;
  }

  private forgetNode(ns: NodeState): void {
    this.nodeWakeups.cancel(ns.name);
    this.nodes.delete(ns.name);
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
    const now = this.clock.now();
    if (rvOf(node!) >= ns.writtenRv) {
      const { status, changed } = desiredNodeStatus(node!, now);
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

  private forgetPod(ps: PodState): void {
    this.podWakeups.cancel(ps.key);
    this.pods.delete(ps.key);
    this.nodes.get(ps.nodeName)?.ipam?.release(ps.uid);
    this.runtime.release(ps.uid, this.clock.now());
  }

  private async reconcilePod(key: string): Promise<void> {
    const cached = this.podInformer.cache.get(key);
    let ps = this.pods.get(key);
    const nodeName = cached?.spec?.nodeName;
    const ns = nodeName ? this.nodeState(nodeName) : undefined;
    if (ps && (!cached || !ns || cached.metadata.uid !== ps.uid || nodeName !== ps.nodeName)) {
      this.forgetPod(ps);
      ps = undefined;
    }
    if (!cached || !ns) return;
    let pod: Pod = cached;
    if (ps && rvOf(pod) < ps.writtenRv) return; // our own newer write is on its way through the watch
    if (!ps) {
      ps = { key, uid: pod.metadata.uid!, nodeName: nodeName!, pending: undefined, writtenRv: 0 };
      this.pods.set(key, ps);
    }
    for (let step = 0; step < MAX_STEPS; step++) {
      const now = this.clock.now();
      if (isTerminalPhase(pod)) ns.ipam?.release(ps.uid);
      else if (pod.status?.podIP && ns.ipam && !pod.spec.hostNetwork && ns.ipam.addressOf(ps.uid) === undefined) ns.ipam.adopt(ps.uid, pod.status.podIP);

      const effects: (() => void)[] = [];
      const probe = this.context(ns, pod, ps.pending?.since ?? now, effects);
      const stage = this.stages.find((s) => s.match(pod, probe));
      if (!stage) {
        this.clearPending(ps);
        return;
      }
      if (ps.pending?.stage !== stage.name) {
        this.clearPending(ps);
        const ctx = this.context(ns, pod, now, effects);
        const d = typeof stage.delay === 'function' ? stage.delay(pod, ctx) : stage.delay;
        ps.pending = { stage: stage.name, since: now, dueAt: now + sampleDelay(d, this.random) };
        stage.begin?.(pod, ctx);
        for (const fx of effects.splice(0)) fx();
      }
      let dueAt = ps.pending.dueAt;
      const deadline = parseTime(pod.metadata.deletionTimestamp);
      if (!Number.isNaN(deadline)) dueAt = Math.min(dueAt, deadline);
      if (now < dueAt) {
        this.podWakeups.set(key, dueAt);
        return;
      }

      // Stages edit only the status: the rest of the draft is shared with the cache, read-only.
      const draft: Pod = { ...pod, status: clone(pod.status) ?? {} };
      const ctx = this.context(ns, draft, ps.pending.since, effects);
      const result = stage.apply(draft, ctx) ?? {};
      if (result.delete) {
        for (const fx of effects.splice(0)) fx();
        ps.pending = undefined;
        await this.client.deleteIfExists(Kinds.Pod, pod.metadata.name!, pod.metadata.namespace, { gracePeriodSeconds: 0, preconditions: { uid: ps.uid } });
        return;
      }
      if (deepEqual(draft.status, pod.status)) {
        for (const fx of effects.splice(0)) fx();
        this.log.debug({ pod: key, stage: stage.name }, 'stage matched but changed nothing');
        return;
      }
      const written: Pod = await this.client.updateStatus<Pod>(draft);
      ps.writtenRv = rvOf(written);
      ps.pending = undefined;
      for (const fx of effects.splice(0)) fx();
      pod = written;
    }
    this.log.warn({ pod: key }, `more than ${MAX_STEPS} stages in one go; looking again later`);
    this.podQueue.addAfter(key, 1000);
  }

  private clearPending(ps: PodState): void {
    ps.pending = undefined;
    this.podWakeups.cancel(ps.key);
  }

  /** A stage's view of the world for one pod; effects are queued in `effects` and run once the status write succeeds. */
  private context(ns: NodeState, pod: Pod, since: number, effects: (() => void)[]): StageContext {
    const now = this.clock.now();
    const uid = pod.metadata.uid!;
    const node = this.nodeInformer.cache.get(ns.name)!;
    const runtime = this.runtime;
    const times = (name: string): { started?: string; finished?: string } => {
      const s = statusOf(pod.status?.containerStatuses, name) ?? statusOf(pod.status?.initContainerStatuses, name);
      const term = (s?.state?.terminated ?? s?.lastState?.terminated) as { startedAt?: string; finishedAt?: string } | undefined;
      return { started: (s?.state?.running?.startedAt as string | undefined) ?? term?.startedAt, finished: term?.finishedAt };
    };
    return {
      now,
      since,
      node,
      hostIP: internalIP(node),
      random: this.random,
      podIP: () => ns.ipam?.allocate(uid),
      podIPAvailable: () => !!ns.ipam?.canAllocate(uid),
      hasImage: (image) => {
        const t = ns.images.get(normalizeImage(image));
        return t !== undefined && t <= since;
      },
      startContainer: (name, restartCount) => {
        const found = findContainer(pod, name);
        if (!found) throw new RangeError(`pod ${objectKeyOf(pod)} has no container ${name}`);
        effects.push(() => {
          runtime.start(pod, found.c, restartCount, now, found.app);
          const image = normalizeImage(found.c.image);
          if (!ns.images.has(image)) ns.images.set(image, now);
        });
        return { containerID: containerIdFor(uid, name, restartCount), imageID: imageIdOf(found.c.image) };
      },
      stopContainer: (name, exitCode, signal) => {
        effects.push(() => runtime.stop(uid, name, exitCode, signal, now));
      },
      startedAt: (name) => {
        const inst = runtime.current(uid, name);
        if (inst) return inst.startedAt;
        const t = parseTime(times(name).started);
        return Number.isNaN(t) ? undefined : t;
      },
      finishedAt: (name) => {
        const inst = runtime.current(uid, name);
        if (inst?.finishedAt !== undefined) return inst.finishedAt;
        const t = parseTime(times(name).finished);
        return Number.isNaN(t) ? undefined : t;
      },
      event: (type, reason, message) => {
        if (!this.events) return;
        const ref = this.podInformer.cache.get(objectKeyOf(pod)) ?? pod;
        effects.push(() => ns.recorder.event(ref, type, reason, message));
      },
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Logs

  /**
   * A container's log from the simulated runtime, with the kubelet's checks and wording
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
    const inst = this.runtime.instanceFor(pod, found.c, s, which, found.app);
    if (!inst) throw badRequest(`${q} is waiting to start - no logs yet`);
    return this.runtime.read(inst, opts, this.clock.now(), signal);
  }
}
