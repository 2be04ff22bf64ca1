/**
 * The scheduling queue, as kube-scheduler's PriorityQueue (pkg/scheduler/backend/queue;
 * https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/#scheduling-cycle-binding-cycle):
 *
 * ```
 *   new pod ──▶ activeQ ──pop──▶ attempt ──┬─ scheduled ─▶ (gone: done)
 *                 ▲  ▲                     ├─ error ─────────────────────────┐
 *                 │  │                     └─ unschedulable ─▶ unschedulable │
 *                 │  │                                          pods (parked) │
 *                 │  │   cluster change (node added or updated, pod removed)  │
 *                 │  │   or parked 5 min ◀────────────────────────┘           │
 *                 │  └── back-off over ◀── backoffQ ◀── still backing off ◀───┘
 *                 └───────── back-off already over
 * ```
 *
 * activeQ pops the highest `spec.priority` first, then the pod that entered the queue first.
 * A pod's back-off after its n-th attempt is 1 s × 2^(n−1), at most 10 s, counted from the end of
 * that attempt. Unschedulable pods wait for a cluster change rather than retrying blindly; a
 * change seen *during* a pod's attempt sends it to back-off instead of parking, so it is not lost.
 * All timing runs on the injected Clock.
 */
import { deepEqual, objectKeyOf } from '../../api/meta.js';
import type { Pod } from '../../api/types.js';
import type { Clock } from '../../clock/clock.js';
import { KeyedHeap } from './heap.js';

export interface QueueOptions {
  /** Back-off after a pod's first failed attempt, in ms (default 1000, kube-scheduler's `podInitialBackoffSeconds`). */
  podInitialBackoffMs?: number;
  /** The longest back-off, in ms (default 10000, `podMaxBackoffSeconds`). */
  podMaxBackoffMs?: number;
  /** The longest an unschedulable pod stays parked before it is tried again anyway, in ms (default 300000, `podMaxInUnschedulablePodsDuration`). */
  podMaxInUnschedulablePodsMs?: number;
}

/** A pod in the queue, with its attempt history. */
export interface QueuedPodInfo {
  /** `namespace/name`. */
  readonly key: string;
  /** The newest version of the pod the queue has heard of. */
  pod: Pod;
  /** Cluster time in ms when it last entered the queue: on arrival, and at the end of each failed attempt. */
  timestamp: number;
  /** Attempts started so far. */
  attempts: number;
  /** Arrival order, the last tie-breaker. */
  readonly seq: number;
}

interface InFlight {
  qp: QueuedPodInfo;
  /** The scheduling cycle the attempt belongs to. */
  cycle: number;
  /** The pod changed in a way that may make it schedulable while it was being tried. */
  updated: boolean;
  deleted: boolean;
}

export class SchedulingQueue {
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private readonly maxUnschedulable: number;
  private readonly activeQ = new KeyedHeap<QueuedPodInfo>(byPriorityThenTime);
  private readonly backoffQ: KeyedHeap<QueuedPodInfo>;
  /** Parked pods in the order they were parked (so the oldest is first). */
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly waiters: (() => void)[] = [];
  private seq = 0;
  private cycle = 0;
  /** The cycle during which the cluster last changed in a way that may help unschedulable pods. */
  private moveRequestCycle = -1;
  private cancelBackoffTimer: (() => void) | undefined;
  private backoffTimerAt = Infinity;
  private cancelFlushTimer: (() => void) | undefined;
  private closed = false;

  /** Throws RangeError for negative or non-finite durations. */
  constructor(
    private readonly clock: Clock,
    opts: QueueOptions = {},
  ) {
    this.initialBackoff = duration('podInitialBackoffMs', opts.podInitialBackoffMs ?? 1000);
    this.maxBackoff = duration('podMaxBackoffMs', opts.podMaxBackoffMs ?? 10_000);
    this.maxUnschedulable = duration('podMaxInUnschedulablePodsMs', opts.podMaxInUnschedulablePodsMs ?? 300_000);
    this.backoffQ = new KeyedHeap<QueuedPodInfo>((a, b) => this.backoffExpiry(a) < this.backoffExpiry(b) || (this.backoffExpiry(a) === this.backoffExpiry(b) && a.seq < b.seq));
  }

  /** Pods waiting in each part of the queue (not counting one being tried). */
  pending(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.activeQ.size, backoff: this.backoffQ.size, unschedulable: this.unschedulable.size };
  }

  /** A new pending pod. A pod the queue already holds is updated instead. */
  add(pod: Pod): void {
    const key = objectKeyOf(pod);
    if (this.inFlight.has(key) || this.activeQ.has(key) || this.backoffQ.has(key) || this.unschedulable.has(key)) {
      this.update(undefined, pod);
      return;
    }
    this.toActive({ key, pod, timestamp: this.clock.now(), attempts: 0, seq: this.seq++ });
  }

  /**
   * A pending pod changed. A parked pod whose change may make it schedulable (anything but its
   * status and bookkeeping metadata) goes back to be tried; an unknown pod is added.
   */
  update(oldPod: Pod | undefined, pod: Pod): void {
    const key = objectKeyOf(pod);
    const changed = !oldPod || isPodUpdated(oldPod, pod);
    const f = this.inFlight.get(key);
    if (f) {
      f.qp.pod = pod;
      f.updated ||= changed;
      return;
    }
    const active = this.activeQ.get(key);
    if (active) {
      active.pod = pod;
      this.activeQ.push(key, active);
      return;
    }
    const backingOff = this.backoffQ.get(key);
    if (backingOff) {
      backingOff.pod = pod;
      return;
    }
    const parked = this.unschedulable.get(key);
    if (parked) {
      parked.pod = pod;
      if (changed) {
        this.unschedulable.delete(key);
        this.toBackoffOrActive(parked);
      }
      return;
    }
    this.toActive({ key, pod, timestamp: this.clock.now(), attempts: 0, seq: this.seq++ });
  }

  /** A pod is gone, bound, or no longer pending: it leaves the queue. */
  delete(pod: Pod): void {
    const key = objectKeyOf(pod);
    const f = this.inFlight.get(key);
    if (f) f.deleted = true;
    this.activeQ.delete(key);
    this.backoffQ.delete(key);
    this.unschedulable.delete(key);
  }

  /** The next pod to try, waiting for one; undefined once closed. The pod is in flight until `done`, `addUnschedulable` or `addBackoff`. */
  async pop(): Promise<QueuedPodInfo | undefined> {
    while (this.activeQ.size === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.closed) return undefined;
    const qp = this.activeQ.pop()!;
    qp.attempts++;
    this.cycle++;
    this.inFlight.set(qp.key, { qp, cycle: this.cycle, updated: false, deleted: false });
    return qp;
  }

  /**
   * Up to `max` pods already waiting in activeQ, taken at once without waiting (for batch
   * placement); each is in flight, as `pop` leaves it, in one shared scheduling cycle.
   */
  popReady(max: number): QueuedPodInfo[] {
    const out: QueuedPodInfo[] = [];
    if (this.closed || this.activeQ.size === 0 || max <= 0) return out;
    this.cycle++;
    while (out.length < max && this.activeQ.size > 0) {
      const qp = this.activeQ.pop()!;
      qp.attempts++;
      this.inFlight.set(qp.key, { qp, cycle: this.cycle, updated: false, deleted: false });
      out.push(qp);
    }
    return out;
  }

  /** The attempt placed the pod: it leaves the queue. */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  /**
   * The attempt found no node. The pod is parked until the cluster changes, unless it changed
   * (or the cluster did) while it was being tried: then it backs off and is tried again.
   */
  addUnschedulable(qp: QueuedPodInfo): void {
    this.requeue(qp, true);
  }

  /** The attempt failed (a plugin error, a failed bind): the pod backs off and is tried again. */
  addBackoff(qp: QueuedPodInfo): void {
    this.requeue(qp, false);
  }

  /**
   * Something changed that may let parked pods fit (a node added or updated, a pod removed from a
   * node): every parked pod goes to back-off, or straight to activeQ if its back-off is over.
   */
  moveAllToActiveOrBackoff(): void {
    this.moveRequestCycle = this.cycle;
    if (this.unschedulable.size === 0) return;
    const parked = [...this.unschedulable.values()];
    this.unschedulable.clear();
    this.cancelFlushTimer?.();
    this.cancelFlushTimer = undefined;
    for (const qp of parked) this.toBackoffOrActive(qp);
  }

  /** Stops the queue: `pop` returns undefined, timers are cancelled. */
  close(): void {
    this.closed = true;
    this.cancelBackoffTimer?.();
    this.cancelFlushTimer?.();
    for (const w of this.waiters.splice(0)) w();
  }

  /** `initial × 2^(attempts−1)`, capped at the maximum; 0 before any attempt. */
  private backoffDuration(attempts: number): number {
    if (attempts === 0) return 0;
    return Math.min(this.maxBackoff, this.initialBackoff * 2 ** Math.min(attempts - 1, 30));
  }

  private backoffExpiry(qp: QueuedPodInfo): number {
    return qp.timestamp + this.backoffDuration(qp.attempts);
  }

  private requeue(qp: QueuedPodInfo, unschedulable: boolean): void {
    const f = this.inFlight.get(qp.key);
    this.inFlight.delete(qp.key);
    if (this.closed || f?.deleted) return;
    if (this.activeQ.has(qp.key) || this.backoffQ.has(qp.key) || this.unschedulable.has(qp.key)) return;
    qp.timestamp = this.clock.now();
    if (unschedulable && f && !f.updated && this.moveRequestCycle < f.cycle) {
      this.unschedulable.set(qp.key, qp);
      this.armFlushTimer();
    } else {
      this.toBackoffOrActive(qp);
    }
  }

  private toBackoffOrActive(qp: QueuedPodInfo): void {
    if (this.backoffExpiry(qp) > this.clock.now()) {
      this.backoffQ.push(qp.key, qp);
      this.armBackoffTimer();
    } else {
      this.toActive(qp);
    }
  }

  private toActive(qp: QueuedPodInfo): void {
    if (this.closed) return;
    this.activeQ.push(qp.key, qp);
    this.waiters.shift()?.();
  }

  /** One timer, for the earliest back-off to end. */
  private armBackoffTimer(): void {
    const head = this.backoffQ.peek();
    if (!head) return;
    const at = this.backoffExpiry(head);
    if (this.cancelBackoffTimer && this.backoffTimerAt <= at) return;
    this.cancelBackoffTimer?.();
    this.backoffTimerAt = at;
    this.cancelBackoffTimer = this.clock.setTimer(at - this.clock.now(), () => {
      this.cancelBackoffTimer = undefined;
      this.backoffTimerAt = Infinity;
      const now = this.clock.now();
      for (let qp = this.backoffQ.peek(); qp && this.backoffExpiry(qp) <= now; qp = this.backoffQ.peek()) this.toActive(this.backoffQ.pop()!);
      this.armBackoffTimer();
    });
  }

  /** One timer, for the oldest parked pod to reach the maximum wait. */
  private armFlushTimer(): void {
    if (this.cancelFlushTimer || this.closed) return;
    const oldest = this.unschedulable.values().next().value;
    if (!oldest) return;
    this.cancelFlushTimer = this.clock.setTimer(oldest.timestamp + this.maxUnschedulable - this.clock.now(), () => {
      this.cancelFlushTimer = undefined;
      const now = this.clock.now();
      for (const [key, qp] of this.unschedulable) {
        if (qp.timestamp + this.maxUnschedulable > now) break;
        this.unschedulable.delete(key);
        this.toBackoffOrActive(qp);
      }
      this.armFlushTimer();
    });
  }
}

/** Higher `spec.priority` first, then earlier into the queue, then arrival order. */
function byPriorityThenTime(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
  const pa = a.pod.spec.priority ?? 0;
  const pb = b.pod.spec.priority ?? 0;
  if (pa !== pb) return pa > pb;
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp;
  return a.seq < b.seq;
}

/** True if a pod changed in more than its status and bookkeeping metadata (kube-scheduler's `isPodUpdated`). */
function isPodUpdated(oldPod: Pod, pod: Pod): boolean {
  const strip = (p: Pod): unknown => ({ ...p, status: undefined, metadata: { ...p.metadata, resourceVersion: undefined, generation: undefined, managedFields: undefined } });
  return !deepEqual(strip(oldPod), strip(pod));
}

function duration(name: string, ms: number): number {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`${name} must be a non-negative number of ms, got ${ms}`);
  return ms;
}
