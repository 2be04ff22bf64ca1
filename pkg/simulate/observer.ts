/**
 * What `berth simulate` measures while the cluster runs, from the control plane's own shared
 * informers (no extra watches): Nodes over time, each Pod's way from creation to Running, and
 * hourly samples for the timeline.
 *
 * The informers deliver every change at the virtual instant it is written (the engine lets the
 * cluster settle before the clock moves), so `clock.now()` in a handler is the time of the change,
 * to the millisecond — finer than the second-precision timestamps in the objects.
 */
import type { Node, Pod } from '../api/types.js';
import type { Clock } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import type { Manager } from '../runtime/manager.js';

/** Where a pod is in its life, as counted by the observer. */
type PodBucket = 'pending' | 'running' | 'done';

interface PodTrack {
  created: number;
  scheduled?: number;
  bucket: PodBucket;
}

/** Nearest-rank percentile (`p` in 0–100) of ascending `sorted`; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (!sorted.length) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

/** Percentiles of a set of durations, seconds (ms precision). */
export interface DurationStats {
  /** How many durations. */
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

function stats(ms: number[]): DurationStats {
  const s = ms.map((x) => x / 1000).sort((a, b) => a - b);
  return { count: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.length ? s[s.length - 1]! : null };
}

export class Observer {
  private nodes = 0;
  private peakNodes = 0;
  /** ∫ nodes dt since the start, node-ms. */
  private nodeMs = 0;
  private lastNodeChange: number;
  private readonly pods = new Map<string, PodTrack>();
  private running = 0;
  private pending = 0;
  private peakPods = 0;
  private created = 0;
  /** Creation → left phase Pending (Running, or finished without being seen Running), ms. */
  private readonly pendingMs: number[] = [];
  /** Creation → bound to a node, ms. */
  private readonly schedulingMs: number[] = [];
  private deletedWhilePending = 0;

  constructor(
    mgr: Manager,
    private readonly clock: Clock,
    private readonly start: number,
  ) {
    this.lastNodeChange = start;
    const nodes = mgr.informer<Node>(Kinds.Node);
    nodes.on({ add: () => this.nodeCount(+1), delete: () => this.nodeCount(-1) });
    const pods = mgr.informer<Pod>(Kinds.Pod);
    pods.on({ add: (p) => this.pod(p), update: (_, p) => this.pod(p), delete: (p) => this.podGone(p) });
  }

  private nodeCount(delta: number): void {
    const now = this.clock.now();
    this.nodeMs += this.nodes * (now - this.lastNodeChange);
    this.lastNodeChange = now;
    this.nodes += delta;
    if (this.nodes > this.peakNodes) this.peakNodes = this.nodes;
  }

  private pod(p: Pod): void {
    const uid = p.metadata.uid!;
    const now = this.clock.now();
    let t = this.pods.get(uid);
    if (!t) {
      t = { created: now, bucket: 'pending' };
      this.pods.set(uid, t);
      this.created++;
      this.pending++;
    }
    if (t.scheduled === undefined && p.spec?.nodeName) {
      t.scheduled = now;
      this.schedulingMs.push(now - t.created);
    }
    const phase = p.status?.phase;
    const bucket: PodBucket = phase === 'Running' ? 'running' : phase === 'Succeeded' || phase === 'Failed' ? 'done' : 'pending';
    if (bucket === t.bucket) return;
    if (t.bucket === 'pending') {
      this.pendingMs.push(now - t.created);
      this.pending--;
    } else if (t.bucket === 'running') this.running--;
    if (bucket === 'running') this.running++;
    t.bucket = bucket;
    if (this.running > this.peakPods) this.peakPods = this.running;
  }

  private podGone(p: Pod): void {
    const uid = p.metadata.uid!;
    const t = this.pods.get(uid);
    if (!t) return;
    if (t.bucket === 'pending') {
      this.pending--;
      this.deletedWhilePending++;
    } else if (t.bucket === 'running') this.running--;
    this.pods.delete(uid);
  }

  /** Nodes, running pods and pending pods now. */
  counts(): { nodes: number; pods: number; pendingPods: number } {
    return { nodes: this.nodes, pods: this.running, pendingPods: this.pending };
  }

  /** The summary's `nodes`: peak, time-weighted average over [start, now] and final count. */
  nodeStats(): { peak: number; average: number; final: number } {
    const now = this.clock.now();
    const total = this.nodeMs + this.nodes * (now - this.lastNodeChange);
    const span = now - this.start;
    return { peak: this.peakNodes, average: span > 0 ? round(total / span, 3) : this.nodes, final: this.nodes };
  }

  /** The summary's pod figures. Pods still Pending now count with the time they have waited so far. */
  podStats(): { created: number; peakRunning: number; running: number; pendingAtEnd: number; deletedWhilePending: number; pending: DurationStats; scheduling: DurationStats } {
    const now = this.clock.now();
    const pendingMs = [...this.pendingMs];
    const schedulingMs = [...this.schedulingMs];
    for (const t of this.pods.values()) {
      if (t.bucket === 'pending') pendingMs.push(now - t.created);
      if (t.scheduled === undefined && t.bucket === 'pending') schedulingMs.push(now - t.created);
    }
    return {
      created: this.created,
      peakRunning: this.peakPods,
      running: this.running,
      pendingAtEnd: this.pending,
      deletedWhilePending: this.deletedWhilePending,
      pending: stats(pendingMs),
      scheduling: stats(schedulingMs),
    };
  }
}

/** Rounds to `digits` decimal places. */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
