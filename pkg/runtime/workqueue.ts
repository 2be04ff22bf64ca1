/**
 * A rate-limited work queue with client-go's semantics: a key is queued at most once; a key
 * being processed that is added again is processed again after `done`; rate-limited re-adds
 * wait the longer of a per-key exponential back-off (5 ms doubling to 1000 s) and an overall
 * token bucket (10 per second, burst 100) — client-go's `DefaultControllerRateLimiter`
 * (k8s.io/client-go/util/workqueue/default_rate_limiters.go: `MaxOf(
 * ItemExponentialFailureRateLimiter(5ms, 1000s), BucketRateLimiter{rate.NewLimiter(10, 100)})`).
 * Plain `add` and `addAfter` are not rate limited, as in client-go. All on the injected clock so
 * simulations stay deterministic.
 */
import type { Clock } from '../clock/clock.js';

export interface WorkQueueOptions {
  /** First retry delay in ms (default 5). */
  baseDelayMs?: number;
  /** Longest retry delay in ms (default 1,000,000). */
  maxDelayMs?: number;
  /**
   * Rate-limited re-adds allowed per second across all keys (default 10, client-go's); `Infinity`
   * turns the overall bucket off (the node agent's pod workers, like the kubelet's, have only the
   * per-key back-off).
   */
  overallQps?: number;
  /** Rate-limited re-adds allowed at once before the overall rate applies (default 100). */
  overallBurst?: number;
}

/**
 * A token bucket as golang.org/x/time/rate's `Limiter.Reserve()` sees it: `burst` tokens at the
 * start, refilled at `qps` per second up to `burst`; every reservation takes one token, going
 * into debt when there is none, and waits until the debt is repaid.
 */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  /**
   * @param qps tokens added per second (> 0; `Infinity` never delays)
   * @param burst the bucket's size, tokens (≥ 1)
   */
  constructor(
    readonly qps: number,
    readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes a token at `now` (ms); returns the ms to wait before acting on it (0 when one was there). */
  reserve(now: number): number {
    if (this.qps === Infinity) return 0;
    if (this.last !== undefined && now > this.last) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    if (this.last === undefined || now > this.last) this.last = now;
    this.tokens -= 1;
    // Whole ms, rounding up (less a hair of float error, so 95.00000001 is 95).
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps - 1e-6);
  }
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private qhead = 0;
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Keys waiting for a timer: when the add is due (cluster ms) and how to cancel it. */
  private readonly delayed = new Map<string, { at: number; cancel: () => void }>();
  private readonly waiters: (() => void)[] = [];
  private shutDown = false;
  private readonly base: number;
  private readonly max: number;
  private readonly bucket: TokenBucket;

  constructor(
    private readonly clock: Clock,
    opts: WorkQueueOptions = {},
  ) {
    this.base = opts.baseDelayMs ?? 5;
    this.max = opts.maxDelayMs ?? 1_000_000;
    this.bucket = new TokenBucket(opts.overallQps ?? 10, opts.overallBurst ?? 100);
  }

  /** Number of keys waiting (not counting delayed or in-flight ones). */
  get length(): number {
    return this.queue.length - this.qhead;
  }

  add(key: string): void {
    if (this.shutDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    const w = this.waiters.shift();
    if (w) w();
  }

  /**
   * Adds `key` after `ms` of cluster time. If the key is already waiting, the sooner of the two
   * adds wins (client-go's delaying queue keeps the earlier ready time).
   */
  addAfter(key: string, ms: number): void {
    if (this.shutDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const waiting = this.delayed.get(key);
    if (waiting && waiting.at <= at) return;
    waiting?.cancel();
    const cancel = this.clock.setTimer(ms, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { at, cancel });
  }

  /**
   * Re-adds after the longer of this key's next back-off delay and the overall bucket's wait (a
   * token is taken either way, as client-go's MaxOfRateLimiter asks every limiter).
   */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.max(Math.min(this.max, this.base * 2 ** n), this.bucket.reserve(this.clock.now()));
    this.delayed.get(key)?.cancel();
    this.delayed.delete(key);
    this.addAfter(key, delay);
  }

  /** Clears a key's back-off after it succeeded. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** How many times a key has failed in a row. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key, waiting if none; undefined once shut down. */
  async get(): Promise<string | undefined> {
    while (this.length === 0) {
      if (this.shutDown) return undefined;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const key = this.queue[this.qhead++]!;
    if (this.qhead > 1024 && this.qhead * 2 > this.queue.length) {
      this.queue.splice(0, this.qhead);
      this.qhead = 0;
    }
    this.queued.delete(key);
    this.processing.add(key);
    return key;
  }

  /** Marks a key finished; if it was added while in flight, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /**
   * Accepts keys again after `shutdown` (a controller starting a new term of leadership); keys
   * added while shut down were dropped, so the caller resyncs.
   */
  reopen(): void {
    this.shutDown = false;
  }

  /** Stops accepting keys and cancels delayed adds; `get` drains what is queued, then returns undefined. */
  shutdown(): void {
    this.shutDown = true;
    for (const d of this.delayed.values()) d.cancel();
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}
