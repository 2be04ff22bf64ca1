/**
 * A rate-limited work queue with client-go's semantics: a key is queued at most once; a key
 * being processed that is added again is processed again after `done`; failures back off
 * exponentially per key (5 ms doubling to 1000 s, as client-go's default controller rate limiter),
 * on the injected clock so simulations stay deterministic.
 */
import type { Clock } from '../clock/clock.js';

export interface WorkQueueOptions {
  /** First retry delay in ms (default 5). */
  baseDelayMs?: number;
  /** Longest retry delay in ms (default 1,000,000). */
  maxDelayMs?: number;
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

  constructor(
    private readonly clock: Clock,
    opts: WorkQueueOptions = {},
  ) {
    this.base = opts.baseDelayMs ?? 5;
    this.max = opts.maxDelayMs ?? 1_000_000;
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

  /** Re-adds after this key's next back-off delay. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.max, this.base * 2 ** n);
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

  shutdown(): void {
    this.shutDown = true;
    for (const d of this.delayed.values()) d.cancel();
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}
