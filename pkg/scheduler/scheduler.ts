/**
 * The scheduler: takes pending pods from the queue one at a time, runs their profile's plugins
 * over a snapshot of the nodes, assumes the pod on the chosen node in its cache and binds it
 * through the API, as kube-scheduler's `scheduleOne` (pkg/scheduler/schedule_one.go).
 *
 * A pod is the scheduler's when it has no `spec.nodeName`, is not being deleted, is in phase
 * Pending and names (in `spec.schedulerName`) one of the scheduler's profiles; pods naming another
 * scheduler are left alone. On success the pod is bound and a Normal `Scheduled` event recorded;
 * on failure its `PodScheduled` condition is set to False with kube-scheduler's message
 * (`0/3 nodes are available: 3 Insufficient cpu.`) and a Warning `FailedScheduling` event says
 * the same.
 *
 * The attempt itself (snapshot, filter, score, assume) is synchronous, so no watch event can
 * change the cache in the middle of it; the bind and the status write run in the background
 * while the next pod is tried, and a failed bind forgets the assumed pod and retries it.
 */
import { isNotFound } from '../api/errors.js';
import { deepEqual, getCondition, objectKeyOf, setCondition } from '../api/meta.js';
import type { Node, Pod } from '../api/types.js';
import { rfc3339, type Clock } from '../clock/clock.js';
import { Kinds, type Client } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Logger } from '../runtime/logger.js';
import type { Manager, Runnable } from '../runtime/manager.js';
import { SchedulerCache } from './cache/cache.js';
import { Snapshot } from './cache/snapshot.js';
import { schedulePod, type ScheduleResult } from './framework/cycle.js';
import { Framework, SchedulerConfigError } from './framework/framework.js';
import { effectiveTaints } from './framework/taints.js';
import { DEFAULT_SCHEDULER_NAME, defaultProfile, inTreeRegistry } from './plugins/registry.js';
import { SchedulingQueue, type QueuedPodInfo } from './queue/scheduling-queue.js';
import type { SchedulerOptions, SchedulingAttempt } from './types.js';

/** Attempts between turns of the event loop, so watch events and timers are not starved. */
const ATTEMPTS_PER_TURN = 16;

export class Scheduler implements Runnable {
  readonly name = 'scheduler';
  private readonly client: Client;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly frameworks = new Map<string, Framework>();
  private readonly recorders = new Map<string, EventRecorder>();
  private readonly cache = new SchedulerCache();
  private readonly snapshot = new Snapshot();
  private readonly queue: SchedulingQueue;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly attempts = new Map<string, SchedulingAttempt>();
  private readonly explainCapacity: number;
  private readonly background = new Set<Promise<void>>();

  /** Registers with the manager's pod and node informers. Throws SchedulerConfigError for invalid profiles, RangeError for bad durations. */
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
    this.queue = new SchedulingQueue(this.clock, opts);

    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
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
      this.scheduleOne(qp);
      if (++sinceTurn >= ATTEMPTS_PER_TURN) {
        sinceTurn = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    await Promise.allSettled(this.background);
  }

  private onPod(old: Pod | undefined, pod: Pod): void {
    if (occupiesNode(pod)) {
      this.queue.delete(pod);
      this.cache.addPod(pod);
    } else if (old && occupiesNode(old)) {
      // It finished: its room on the node is free.
      if (this.cache.removePod(objectKeyOf(pod))) this.queue.moveAllToActiveOrBackoff();
    } else if (isPending(pod) && this.frameworks.has(schedulerNameOf(pod))) {
      this.queue.update(old, pod);
    } else {
      this.queue.delete(pod);
    }
  }

  private onPodDelete(pod: Pod): void {
    const key = objectKeyOf(pod);
    this.queue.delete(pod);
    this.attempts.delete(key);
    if (this.cache.removePod(key)) this.queue.moveAllToActiveOrBackoff();
  }

  private scheduleOne(qp: QueuedPodInfo): void {
    const pod = qp.pod;
    const fw = this.frameworks.get(schedulerNameOf(pod));
    const current = this.pods.cache.get(qp.key);
    // The queue may hold a pod that has since been bound, deleted or replaced.
    if (!fw || !current || current.metadata.uid !== pod.metadata.uid || !isPending(current) || this.cache.isAssumed(qp.key)) {
      this.queue.done(qp.key);
      return;
    }
    this.cache.updateSnapshot(this.snapshot);
    let result: ScheduleResult;
    try {
      result = schedulePod(fw, pod, this.snapshot.nodes);
    } catch (e) {
      result = { numAllNodes: this.snapshot.nodes.length, rejected: [], failure: { reason: 'SchedulerError', message: (e as Error).message ?? String(e) } };
    }
    this.remember(qp, fw, result);

    if (result.nodeName) {
      const assumed: Pod = { ...pod, spec: { ...pod.spec, nodeName: result.nodeName } };
      this.cache.assumePod(assumed);
      this.queue.done(qp.key);
      this.inBackground(this.bind(fw, qp, assumed));
      return;
    }
    const { reason, message } = result.failure!;
    this.log.debug({ pod: qp.key, reason, message }, 'pod not scheduled');
    if (reason === 'Unschedulable') this.queue.addUnschedulable(qp);
    else this.queue.addBackoff(qp);
    this.inBackground(this.reportFailure(fw, pod, reason, message));
  }

  private async bind(fw: Framework, qp: QueuedPodInfo, assumed: Pod): Promise<void> {
    const { namespace, name, uid } = assumed.metadata;
    const nodeName = assumed.spec.nodeName!;
    try {
      await this.client.bind(namespace!, name!, nodeName, uid);
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

  /** A FailedScheduling event, and the PodScheduled=False condition if it says something new. */
  private async reportFailure(fw: Framework, pod: Pod, reason: 'Unschedulable' | 'SchedulerError', message: string): Promise<void> {
    this.recorders.get(fw.schedulerName)!.event(pod, 'Warning', 'FailedScheduling', message);
    const cached = this.pods.cache.get(objectKeyOf(pod));
    if (!cached || cached.metadata.uid !== pod.metadata.uid || cached.spec.nodeName) return;
    const c = getCondition(cached.status?.conditions, 'PodScheduled');
    if (c?.status === 'False' && c.reason === reason && c.message === message) return;
    try {
      await this.client.modify<Pod>(
        Kinds.Pod,
        pod.metadata.name!,
        pod.metadata.namespace,
        (cur) => {
          if (cur.metadata.uid !== pod.metadata.uid || cur.spec.nodeName) return undefined;
          const status = (cur.status ??= {});
          const conditions = (status.conditions ??= []);
          const changed = setCondition(conditions, { type: 'PodScheduled', status: 'False', reason, message, lastProbeTime: null }, rfc3339(this.clock.now()));
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
