/**
 * Time, injected everywhere it matters, so the same code runs in real time, scaled time
 * (`--time-scale 60`: one real second is one cluster minute) and virtual time (simulation and
 * tests: no real sleeps).
 *
 * All times are milliseconds: `now()` is cluster time since the Unix epoch.
 */
export interface Clock {
  /** Cluster time now, in ms since the epoch. */
  now(): number;
  /**
   * Calls `fn` once after `ms` of cluster time. Returns a cancel function.
   * Timers due at the same time fire in the order they were set.
   */
  setTimer(ms: number, fn: () => void): () => void;
  /** Resolves after `ms` of cluster time, or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Sleep in terms of `setTimer`, shared by every clock. */
function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const onAbort = (): void => {
      cancel();
      reject(signal!.reason ?? new Error('aborted'));
    };
    const cancel = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** setTimeout's largest delay (2^31 − 1 ms, about 24.8 days); Node fires a longer one after 1 ms. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * A real timer of `delayMs` (wall milliseconds) that may be longer than setTimeout allows: it
 * waits in steps of at most MAX_TIMEOUT_MS. Returns its cancel function.
 */
function longTimeout(delayMs: number, fn: () => void): () => void {
  let h: NodeJS.Timeout;
  const arm = (left: number): void => {
    h = setTimeout(left > MAX_TIMEOUT_MS ? () => arm(left - MAX_TIMEOUT_MS) : fn, Math.min(Math.max(0, left), MAX_TIMEOUT_MS));
    h.unref?.();
  };
  arm(delayMs);
  return () => clearTimeout(h);
}

/** Wall-clock time. */
export class RealClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimer(ms: number, fn: () => void): () => void {
    return longTimeout(ms, fn);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }
}

/**
 * Real time sped up by `scale`: cluster time starts at the wall clock's now (or where a previous
 * run left it) and runs `scale` times faster. A 30 s boot delay takes 0.5 real seconds at scale 60.
 * Cluster time then runs ahead of the wall clock: clients that compute ages from their own clock
 * (kubectl describe) see timestamps in their future.
 * Throws RangeError for a scale that is not a positive finite number.
 */
export class ScaledClock implements Clock {
  private readonly realStart = Date.now();
  private readonly clusterStart: number;

  /**
   * @param scale cluster seconds per real second.
   * @param startAt cluster time at construction, ms (default: the wall clock's now); a restarted
   *   server passes the cluster time it had reached, so time never runs backwards.
   */
  constructor(
    readonly scale: number,
    startAt?: number,
  ) {
    if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`time scale must be a positive number, got ${scale}`);
    this.clusterStart = startAt ?? this.realStart;
  }

  now(): number {
    return this.clusterStart + (Date.now() - this.realStart) * this.scale;
  }

  setTimer(ms: number, fn: () => void): () => void {
    return longTimeout(ms / this.scale, fn);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }
}

interface VirtualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Virtual time: it moves only when told to (`advance`, `advanceTo`, `runUntil`). Timers fire in
 * time order, in the order set when due together. Used by `berth simulate` and by tests.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  // A binary min-heap on (at, seq).
  private readonly heap: VirtualTimer[] = [];

  /** @param start the initial time in ms since the epoch (default 2026-01-01T00:00:00Z). */
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer: VirtualTimer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /** The time of the next pending timer, if any. */
  nextTimerAt(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.at;
  }

  /** Number of pending timers. */
  pendingTimers(): number {
    this.dropCancelled();
    return this.heap.filter((x) => !x.cancelled).length;
  }

  /**
   * Moves time forward to `target`, firing due timers in order; between timers it lets promise
   * continuations and I/O callbacks run (`settle`), so work a timer starts finishes before the
   * clock moves on.
   */
  async advanceTo(target: number, settle: () => Promise<void> = settleMicrotasks): Promise<void> {
    await settle();
    for (;;) {
      this.dropCancelled();
      const next = this.heap[0];
      if (!next || next.at > target) break;
      this.pop();
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = Math.max(this.t, target);
    await settle();
  }

  /** Moves time forward by `ms`. */
  advance(ms: number, settle?: () => Promise<void>): Promise<void> {
    return this.advanceTo(this.t + ms, settle);
  }

  private dropCancelled(): void {
    while (this.heap.length && this.heap[0]!.cancelled) this.pop();
  }

  private push(x: VirtualTimer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): VirtualTimer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Lets pending promise continuations and immediate callbacks run: a few macrotask turns. */
export async function settleMicrotasks(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/** RFC 3339 with seconds precision in UTC, as Kubernetes writes timestamps: `2026-11-29T14:00:00Z`. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** RFC 3339 with microseconds (`MicroTime`, used by Leases and events.k8s.io). */
export function rfc3339Micro(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Parses an RFC 3339 timestamp to ms since the epoch; NaN if absent or malformed. */
export function parseTime(s: string | undefined | null): number {
  return s ? Date.parse(s) : NaN;
}

/**
 * A duration as kubectl prints ages (`HumanDuration` in k8s.io/apimachinery/pkg/util/duration):
 * 45s, 3m20s, 12m, 5h10m, 30h, 3d4h, 45d, 2y30d, 9y.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}
