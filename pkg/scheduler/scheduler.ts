/**
 * The scheduler: takes pending pods from the queue, runs their profile's plugins over the cluster
 * state, assumes each placed pod on its node in its cache and binds it through the API, as
 * kube-scheduler's `scheduleOne` (pkg/scheduler/schedule_one.go).
 *
 * A pod is the scheduler's when it has no `spec.nodeName`, is not being deleted, is in phase
 * Pending and names (in `spec.schedulerName`) one of the scheduler's profiles; pods naming another
 * scheduler are left alone. On success the pod is bound — the Binding carries the explanation
 * annotation (`scheduler.berth.dev/explain`), which the API server copies onto the pod — and a
 * Normal `Scheduled` event recorded; on failure its `PodScheduled` condition is set to False with
 * kube-scheduler's message (`0/3 nodes are available: 3 Insufficient cpu.`) and a Warning
 * `FailedScheduling` event says the same. A pod that fits nowhere may preempt lower-priority pods
 * (see preemption.ts): they are deleted gracefully and the pod is nominated to their node.
 *
 * When many pods are ready at once (`batchThreshold`, default 32), they are placed as a batch
 * (framework/batch.ts): grouped into classes, largest first, first fit over a capacity index —
 * tighter packing and far less work than one full cycle each. One pod at a time otherwise.
 *
 * Attempts (cycle or batch) are synchronous, so no watch event can change the cache in the middle
 * of one; binds and status writes run in the background while the next pods are tried, and a
 * failed bind forgets the assumed pod and retries it.
 */
import { isNotFound } from '../api/errors.js';
import { controllerRef, deepEqual, getCondition, objectKeyOf, setCondition } from '../api/meta.js';
import type { KubeObject, Node, Pod } from '../api/types.js';
import { rfc3339, type Clock } from '../clock/clock.js';
import { Kinds, type Client } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Logger } from '../runtime/logger.js';
import type { Manager, Runnable } from '../runtime/manager.js';
import { SchedulerCache } from './cache/cache.js';
import { placeBatch, type BatchItem } from './framework/batch.js';
import type { ClusterState } from './framework/cluster.js';
import { scheduleCompiled, type ScheduleResult } from './framework/cycle.js';
import { Framework, SchedulerConfigError, type CompiledPod } from './framework/framework.js';
import type { PodClass } from './framework/pod-class.js';
import { effectiveTaints } from './framework/taints.js';
import { encodeExplanation, explanationOf, EXPLAIN_ANNOTATION } from './explain.js';
import { DEFAULT_SCHEDULER_NAME, defaultProfile, inTreeRegistry } from './plugins/registry.js';
import { defaultSelector, type SelectingObject } from './plugins/pod-topology-spread.js';
import { findPreemption, type DisruptionBudget } from './preemption.js';
import { SchedulingQueue, type QueuedPodInfo } from './queue/scheduling-queue.js';
import type { SchedulerOptions, SchedulerStats, SchedulingAttempt } from './types.js';

/** Attempts between turns of the event loop, so watch events and timers are not starved. */
const ATTEMPTS_PER_TURN = 16;

interface Nominated {
  cls: PodClass;
  node: string;
  priority: number;
}

export class Scheduler implements Runnable {
  readonly name = 'scheduler';
  private readonly client: Client;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly frameworks = new Map<string, Framework>();
  private readonly recorders = new Map<string, EventRecorder>();
  private readonly cache = new SchedulerCache();
  private readonly queue: SchedulingQueue;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  /** PodDisruptionBudgets, which preemption prefers not to violate. */
  private readonly budgets: Informer<DisruptionBudget & KubeObject>;
  private readonly attempts = new Map<string, SchedulingAttempt>();
  private readonly explainCapacity: number;
  private readonly batchThreshold: number;
  private readonly batchSize: number;
  private readonly background = new Set<Promise<void>>();
  /** Pending pods nominated to a node by preemption: their room there is held for them. */
  private readonly nominated = new Map<string, Nominated>();
  private readonly counters: SchedulerStats = { attempts: 0, scheduled: 0, unschedulable: 0, batches: 0, batchedPods: 0, preemptions: 0, schedulingMs: 0 };
  private classesAtSweep = 0;

  /** Registers with the manager's pod, node and namespace informers. Throws SchedulerConfigError for invalid profiles, RangeError for bad options. */
  constructor(mgr: Manager, opts: SchedulerOptions = {}) {
    this.client = mgr.client;
    this.clock = mgr.clock;
    this.log = mgr.log.child({ component: 'scheduler' });
    const registry = opts.registry ?? inTreeRegistry();
    const profiles = opts.profiles ?? [defaultProfile()];
    if (profiles.length === 0) throw new SchedulerConfigError('at least one profile is needed');
    for (const p of profiles) {
      if (this.frameworks.has(p.schedulerName)) throw new SchedulerConfigError(`two profiles serve scheduler "${p.schedulerName}"`);
      this.frameworks.set(p.schedulerName, new Framework(p, registry));
      this.recorders.set(p.schedulerName, mgr.recorder(p.schedulerName));
    }
    this.explainCapacity = opts.explainCapacity ?? 1024;
    if (!Number.isInteger(this.explainCapacity) || this.explainCapacity < 0) throw new RangeError(`explainCapacity must be a non-negative integer, got ${opts.explainCapacity}`);
    this.batchThreshold = opts.batchThreshold ?? 32;
    if (!(this.batchThreshold >= 2)) throw new RangeError(`batchThreshold must be at least 2 (Infinity turns batches off), got ${opts.batchThreshold}`);
    this.batchSize = opts.batchSize ?? 10_000;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 2) throw new RangeError(`batchSize must be an integer ≥ 2, got ${opts.batchSize}`);
    this.queue = new SchedulingQueue(this.clock, opts);

    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.budgets = mgr.informer<DisruptionBudget & KubeObject>(Kinds.PodDisruptionBudget);
    const namespaces = mgr.informer<KubeObject>(Kinds.Namespace);
    const cluster = this.cache.cluster;
    // PodTopologySpread's default constraints select by the pods' owners (defaultSelector): the
    // informers are only needed when a profile applies them.
    if ([...this.frameworks.values()].some((fw) => fw.readsOwners)) {
      const services = mgr.informer<SelectingObject & KubeObject>(Kinds.Service);
      const owners = new Map<string, Informer<SelectingObject & KubeObject>>([Kinds.ReplicaSet, Kinds.StatefulSet].map((k) => [`${k.apiVersion}/${k.kind}`, mgr.informer<SelectingObject & KubeObject>(k)]));
      cluster.ownerSelector = (pod) => {
        const ref = controllerRef(pod);
        const owner = ref ? owners.get(`${ref.apiVersion}/${ref.kind}`)?.cache.getByName(ref.name, pod.metadata.namespace ?? 'default') : undefined;
        return defaultSelector(pod, services.cache.list(), owner);
      };
    }
    namespaces.on({
      add: (ns) => void cluster.namespaceLabels.set(ns.metadata.name!, ns.metadata.labels ?? {}),
      update: (_old, ns) => void cluster.namespaceLabels.set(ns.metadata.name!, ns.metadata.labels ?? {}),
      delete: (ns) => void cluster.namespaceLabels.delete(ns.metadata.name!),
    });
    this.nodes.on({
      add: (node) => {
        this.cache.setNode(node);
        this.queue.moveAllToActiveOrBackoff();
      },
      update: (old, node) => {
        this.cache.setNode(node);
        if (schedulingPropertiesChanged(old, node)) this.queue.moveAllToActiveOrBackoff();
      },
      delete: (node) => this.cache.removeNode(node.metadata.name!),
    });
    this.pods.on({
      add: (pod) => this.onPod(undefined, pod),
      update: (old, pod) => this.onPod(old, pod),
      delete: (pod) => this.onPodDelete(pod),
    });
  }

  /** The last attempt to schedule a pod (`namespace/name`), if it is remembered. */
  explain(podKey: string): SchedulingAttempt | undefined {
    return this.attempts.get(podKey);
  }

  /** Pods waiting in each part of the scheduling queue. */
  pending(): { active: number; backoff: number; unschedulable: number } {
    return this.queue.pending();
  }

  /** Counters since start, and the time spent deciding (ms, attempts and batches only: not binds or status writes). */
  stats(): SchedulerStats {
    return { ...this.counters };
  }

  /** The cluster state the scheduler decides on (read-only for callers). */
  get cluster(): ClusterState {
    return this.cache.cluster;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    signal.addEventListener('abort', () => this.queue.close(), { once: true });
    try {
      await Promise.all([this.pods.waitForSync(signal), this.nodes.waitForSync(signal)]);
    } catch {
      return; // aborted before the caches filled
    }
    let sinceTurn = 0;
    for (;;) {
      const qp = await this.queue.pop();
      if (!qp) break;
      const t0 = performance.now();
      const more = this.queue.pending().active + 1 >= this.batchThreshold ? this.queue.popReady(this.batchSize - 1) : [];
      if (more.length) {
        this.scheduleBatch([qp, ...more]);
        sinceTurn = ATTEMPTS_PER_TURN;
      } else {
        this.scheduleOne(qp);
        sinceTurn++;
      }
      this.counters.schedulingMs += performance.now() - t0;
      this.sweepClasses();
      if (sinceTurn >= ATTEMPTS_PER_TURN) {
        sinceTurn = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    await Promise.allSettled(this.background);
  }

  private onPod(old: Pod | undefined, pod: Pod): void {
    const key = objectKeyOf(pod);
    if (occupiesNode(pod)) {
      this.queue.delete(pod);
      this.nominated.delete(key);
      this.cache.addPod(pod);
    } else if (old && occupiesNode(old)) {
      // It finished: its room on the node is free.
      if (this.cache.removePod(key)) this.queue.moveAllToActiveOrBackoff();
    } else if (isPending(pod) && this.frameworks.has(schedulerNameOf(pod))) {
      const nn = pod.status?.nominatedNodeName;
      if (nn) this.nominated.set(key, { cls: this.cache.cluster.classes.intern(pod), node: nn, priority: pod.spec.priority ?? 0 });
      else this.nominated.delete(key);
      this.queue.update(old, pod);
    } else {
      this.nominated.delete(key);
      this.queue.delete(pod);
    }
  }

  private onPodDelete(pod: Pod): void {
    const key = objectKeyOf(pod);
    this.queue.delete(pod);
    this.attempts.delete(key);
    this.nominated.delete(key);
    if (this.cache.removePod(key)) this.queue.moveAllToActiveOrBackoff();
  }

  /** The framework for a popped pod, or undefined (and the pod dropped) if it is no longer ours to place. */
  private claim(qp: QueuedPodInfo): Framework | undefined {
    const fw = this.frameworks.get(schedulerNameOf(qp.pod));
    const current = this.pods.cache.get(qp.key);
    // The queue may hold a pod that has since been bound, deleted or replaced.
    if (!fw || !current || current.metadata.uid !== qp.pod.metadata.uid || !isPending(current) || this.cache.isAssumed(qp.key)) {
      this.queue.done(qp.key);
      return undefined;
    }
    return fw;
  }

  /**
   * Holds the room of nominated pods (`status.nominatedNodeName`, set by preemption) of at least
   * `minPriority`, other than those in `except`, by counting them on their nodes; returns the undo.
   */
  private reserveNominated(except: ReadonlySet<string>, minPriority: number): () => void {
    const cluster = this.cache.cluster;
    const held: [PodClass, number][] = [];
    for (const [key, n] of this.nominated) {
      if (except.has(key) || n.priority < minPriority) continue;
      const i = cluster.indexOf(n.node);
      if (i < 0) continue;
      cluster.addPods(n.cls, i, 1);
      held.push([n.cls, i]);
    }
    return () => {
      for (const [cls, i] of held) cluster.removePods(cls, i, 1);
    };
  }

  private scheduleOne(qp: QueuedPodInfo): void {
    const fw = this.claim(qp);
    if (!fw) return;
    const cluster = this.cache.cluster;
    const pod = qp.pod;
    const cls = cluster.classes.intern(pod);
    const session = cluster.beginSession();
    const release = this.reserveNominated(new Set([qp.key]), cls.priority);
    let result: ScheduleResult;
    let cp: CompiledPod | undefined;
    try {
      cp = fw.compile(cls, cluster, session);
      result = scheduleCompiled(fw, cp, cluster, session, { explain: true });
    } catch (e) {
      result = { numAllNodes: cluster.nodeCount, visited: 0, rejected: [], failure: { reason: 'SchedulerError', message: (e as Error).message ?? String(e) } };
    }
    let preemption: { node?: string; victims?: { key: string; pod: Pod }[]; message?: string } = {};
    if (result.failure?.reason === 'Unschedulable' && cp && fw.preemption) {
      preemption = findPreemption(cp, this.cache, result.rejected, pod.status?.nominatedNodeName, this.clock.now(), this.budgets.cache.list());
    }
    release();
    cluster.endSession();
    this.counters.attempts++;
    this.remember(qp, fw, result);
    if (result.nodeName) {
      this.assumeAndBind(fw, qp, result.nodeName, encodeExplanation(explanationOf(result, fw.schedulerName, 'cycle')), cls);
      return;
    }
    this.fail(fw, qp, result, preemption);
  }

  private scheduleBatch(qps: QueuedPodInfo[]): void {
    const byFramework = new Map<Framework, QueuedPodInfo[]>();
    for (const qp of qps) {
      const fw = this.claim(qp);
      if (!fw) continue;
      let l = byFramework.get(fw);
      if (!l) byFramework.set(fw, (l = []));
      l.push(qp);
    }
    const cluster = this.cache.cluster;
    for (const [fw, group] of byFramework) {
      this.counters.batches++;
      this.counters.batchedPods += group.length;
      const keys = new Set(group.map((q) => q.key));
      const byClass = new Map<PodClass, QueuedPodInfo[]>();
      for (const qp of group) {
        const cls = cluster.classes.intern(qp.pod);
        let l = byClass.get(cls);
        if (!l) byClass.set(cls, (l = []));
        l.push(qp);
      }
      const items: BatchItem[] = [...byClass].map(([pod, l]) => ({ pod, count: l.length }));
      const lists = [...byClass.values()];
      const taken = lists.map(() => 0);
      const session = cluster.beginSession();
      const release = this.reserveNominated(keys, -Infinity);
      const placed: { qp: QueuedPodInfo; cls: PodClass; node: string; explanation: string; result: ScheduleResult }[] = [];
      let leftovers: { items: number[]; compiled: CompiledPod[] };
      try {
        const outcome = placeBatch(
          fw,
          cluster,
          session,
          items,
          {
            place: (item, node, k, mode, why) => {
              const nodeName = cluster.names[node]!;
              const result: ScheduleResult = why ?? { numAllNodes: cluster.nodeCount, visited: 0, rejected: [], node, nodeName };
              const explanation = encodeExplanation(explanationOf(result, fw.schedulerName, mode, k));
              for (let n = 0; n < k; n++) {
                const qp = lists[item]![taken[item]!++]!;
                cluster.addPods(items[item]!.pod, node, 1);
                placed.push({ qp, cls: items[item]!.pod, node: nodeName, explanation, result });
              }
            },
          },
          { explain: true },
        );
        leftovers = { items: outcome.unplaced.map((n, k) => (n > 0 ? k : -1)).filter((k) => k >= 0), compiled: outcome.compiled };
      } finally {
        // The batch counted its pods in the cluster directly; hand them to the cache as assumed.
        for (const p of placed) cluster.removePods(p.cls, cluster.indexOf(p.node), 1);
        release();
        cluster.endSession();
      }
      for (const p of placed) {
        this.counters.attempts++;
        this.remember(p.qp, fw, p.result);
        this.assumeAndBind(fw, p.qp, p.node, p.explanation, p.cls);
      }
      // Pods left over get a full cycle each: the exact failure message, and a chance to preempt.
      for (const item of leftovers.items) for (let k = taken[item]!; k < lists[item]!.length; k++) this.scheduleOne(lists[item]![k]!);
    }
  }

  private assumeAndBind(fw: Framework, qp: QueuedPodInfo, nodeName: string, explanation: string, cls?: PodClass): void {
    const assumed: Pod = { ...qp.pod, spec: { ...qp.pod.spec, nodeName } };
    this.cache.assumePod(assumed, cls);
    this.nominated.delete(qp.key);
    this.queue.done(qp.key);
    this.counters.scheduled++;
    this.inBackground(this.bind(fw, qp, assumed, explanation));
  }

  private fail(fw: Framework, qp: QueuedPodInfo, result: ScheduleResult, preemption: { node?: string; victims?: { key: string; pod: Pod }[]; message?: string }): void {
    const { reason } = result.failure!;
    let message = result.failure!.message;
    if (preemption.message) message += ` ${preemption.message}`;
    this.counters.unschedulable++;
    this.log.debug({ pod: qp.key, reason, message }, 'pod not scheduled');
    if (reason === 'Unschedulable') this.queue.addUnschedulable(qp);
    else this.queue.addBackoff(qp);
    let nominate: string | undefined;
    if (preemption.node && preemption.victims?.length) {
      nominate = preemption.node;
      this.counters.preemptions++;
      this.nominated.set(qp.key, { cls: this.cache.cluster.classes.intern(qp.pod), node: nominate, priority: qp.pod.spec.priority ?? 0 });
      this.inBackground(this.evict(fw, qp.pod, nominate, preemption.victims));
    }
    this.inBackground(this.reportFailure(fw, qp.pod, reason, message, nominate));
  }

  /** Deletes preemption victims (gracefully), marking each with the DisruptionTarget condition and a Preempted event. */
  private async evict(fw: Framework, preemptor: Pod, node: string, victims: { key: string; pod: Pod }[]): Promise<void> {
    const recorder = this.recorders.get(fw.schedulerName)!;
    await Promise.all(
      victims.map(async ({ pod }) => {
        const { name, namespace, uid } = pod.metadata;
        recorder.event(pod, 'Normal', 'Preempted', `Preempted by pod ${preemptor.metadata.uid ?? `${preemptor.metadata.namespace}/${preemptor.metadata.name}`} on node ${node}`);
        try {
          await this.client.modify<Pod>(
            Kinds.Pod,
            name!,
            namespace,
            (cur) => {
              if (cur.metadata.uid !== uid) return undefined;
              const status = (cur.status ??= {});
              const changed = setCondition((status.conditions ??= []), { type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler', message: `${fw.schedulerName}: preempting to accommodate a higher priority pod` }, rfc3339(this.clock.now()));
              return changed ? cur : undefined;
            },
            { status: true },
          );
          await this.client.delete(Kinds.Pod, name!, namespace, { preconditions: uid ? { uid } : undefined });
        } catch (e) {
          if (!isNotFound(e)) this.log.warn({ pod: `${namespace}/${name}`, err: (e as Error).message }, 'could not preempt pod');
        }
      }),
    );
  }

  private async bind(fw: Framework, qp: QueuedPodInfo, assumed: Pod, explanation: string): Promise<void> {
    const { namespace, name, uid } = assumed.metadata;
    const nodeName = assumed.spec.nodeName!;
    try {
      await this.client.bind(namespace!, name!, nodeName, uid, { annotations: { [EXPLAIN_ANNOTATION]: explanation } });
    } catch (e) {
      this.cache.forgetPod(qp.key);
      this.queue.moveAllToActiveOrBackoff(); // the room it held is free again
      if (isNotFound(e)) return;
      this.queue.addBackoff(qp);
      await this.reportFailure(fw, qp.pod, 'SchedulerError', `Binding rejected: ${(e as Error).message}`);
      return;
    }
    this.log.debug({ pod: qp.key, node: nodeName }, 'pod bound');
    this.recorders.get(fw.schedulerName)!.event(assumed, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${nodeName}`);
  }

  /** A FailedScheduling event, and the PodScheduled=False condition (and nominated node) if they say something new. */
  private async reportFailure(fw: Framework, pod: Pod, reason: 'Unschedulable' | 'SchedulerError', message: string, nominatedNodeName?: string): Promise<void> {
    this.recorders.get(fw.schedulerName)!.event(pod, 'Warning', 'FailedScheduling', message);
    const cached = this.pods.cache.get(objectKeyOf(pod));
    if (!cached || cached.metadata.uid !== pod.metadata.uid || cached.spec.nodeName) return;
    const c = getCondition(cached.status?.conditions, 'PodScheduled');
    if (c?.status === 'False' && c.reason === reason && c.message === message && (!nominatedNodeName || cached.status?.nominatedNodeName === nominatedNodeName)) return;
    try {
      await this.client.modify<Pod>(
        Kinds.Pod,
        pod.metadata.name!,
        pod.metadata.namespace,
        (cur) => {
          if (cur.metadata.uid !== pod.metadata.uid || cur.spec.nodeName) return undefined;
          const status = (cur.status ??= {});
          const conditions = (status.conditions ??= []);
          let changed = setCondition(conditions, { type: 'PodScheduled', status: 'False', reason, message, lastProbeTime: null }, rfc3339(this.clock.now()));
          if (nominatedNodeName && status.nominatedNodeName !== nominatedNodeName) {
            status.nominatedNodeName = nominatedNodeName;
            changed = true;
          }
          return changed ? cur : undefined;
        },
        { status: true },
      );
    } catch (e) {
      if (!isNotFound(e)) this.log.warn({ pod: objectKeyOf(pod), err: (e as Error).message }, 'could not update the PodScheduled condition');
    }
  }

  private remember(qp: QueuedPodInfo, fw: Framework, result: ScheduleResult): void {
    if (this.explainCapacity === 0) return;
    this.attempts.delete(qp.key);
    this.attempts.set(qp.key, {
      ...result,
      pod: qp.key,
      ...(qp.pod.metadata.uid ? { uid: qp.pod.metadata.uid } : {}),
      schedulerName: fw.schedulerName,
      time: this.clock.now(),
      attempt: qp.attempts,
    });
    if (this.attempts.size > this.explainCapacity) this.attempts.delete(this.attempts.keys().next().value!);
  }

  /** Forgets pod classes nothing refers to any more, when the table has doubled since the last sweep. */
  private sweepClasses(): void {
    const table = this.cache.cluster.classes;
    if (table.size < 2 * this.classesAtSweep + 64) return;
    const nominated = new Set([...this.nominated.values()].map((n) => n.cls));
    table.sweep((c) => nominated.has(c));
    this.classesAtSweep = table.size;
  }

  private inBackground(p: Promise<void>): void {
    const tracked: Promise<void> = p
      .catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'scheduler background write failed'))
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }
}

function schedulerNameOf(pod: Pod): string {
  return pod.spec.schedulerName || DEFAULT_SCHEDULER_NAME;
}

/** Bound to a node and not finished: it holds room there. */
function occupiesNode(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return !!pod.spec.nodeName && phase !== 'Succeeded' && phase !== 'Failed';
}

/** Waiting for a node: none assigned, not being deleted, phase Pending. */
function isPending(pod: Pod): boolean {
  return !pod.spec.nodeName && !pod.metadata.deletionTimestamp && (pod.status?.phase ?? 'Pending') === 'Pending';
}

/** True if a node changed in what filters look at (so parked pods may now fit), not just a heartbeat. */
function schedulingPropertiesChanged(old: Node, node: Node): boolean {
  return (
    !!old.spec?.unschedulable !== !!node.spec?.unschedulable ||
    !deepEqual(old.metadata.labels, node.metadata.labels) ||
    !deepEqual(effectiveTaints(old), effectiveTaints(node)) ||
    !deepEqual(old.status?.allocatable ?? old.status?.capacity, node.status?.allocatable ?? node.status?.capacity)
  );
}

