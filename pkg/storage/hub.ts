import { CompactedError, WatchOverflowError, type StorageEvent } from './types.js';

/**
 * In-process event fan-out for the single-writer stores (memory, SQLite): every committed write
 * is `publish`ed once; each watcher gets the events under its prefix through its own queue.
 * The hub also keeps the most recent `historyLimit` events so a watch can resume from a recent
 * revision without touching the store.
 *
 * Hot path: `publish` is one loop over watchers with a `startsWith`; nothing is copied.
 */
export class EventHub {
  private readonly history: StorageEvent[] = [];
  private head = 0; // index of the oldest retained event in `history` (a ring by slicing)
  private readonly watchers = new Set<Watcher>();

  /**
   * @param historyLimit events kept for replay (default 10,000).
   * @param maxQueue events a slow watcher may have pending before it is ended with WatchOverflowError (default 1,000,000).
   */
  constructor(
    readonly historyLimit = 10_000,
    readonly maxQueue = 1_000_000,
  ) {}

  /** Revision of the oldest event the hub can replay, minus one; events after it are all kept. */
  oldestReplayable(): number | undefined {
    const first = this.history[this.head];
    return first ? first.revision - 1 : undefined;
  }

  publish(ev: StorageEvent): void {
    this.history.push(ev);
    if (this.history.length - this.head > this.historyLimit) {
      this.head++;
      // Reclaim the dead prefix now and then, so the array does not grow without bound.
      if (this.head > 4096 && this.head > this.history.length / 2) {
        this.history.splice(0, this.head);
        this.head = 0;
      }
    }
    for (const w of this.watchers) {
      if (ev.key.startsWith(w.prefix)) w.push(ev);
    }
  }

  /**
   * Events under `prefix` after `fromRevision`: replayed from the hub's history when it reaches
   * back that far, else from `replay` (a store read of its own log), then live.
   * `replay` is called synchronously with the revision range (exclusive, inclusive] it must cover;
   * it throws CompactedError if the store no longer has it.
   */
  subscribe(
    prefix: string,
    fromRevision: number,
    currentRevision: number,
    signal: AbortSignal,
    replay?: (prefix: string, after: number, upTo: number) => StorageEvent[],
  ): AsyncIterable<StorageEvent> {
    const w = new Watcher(prefix, this.maxQueue);
    const oldest = this.oldestReplayable();
    if (fromRevision < currentRevision) {
      if (oldest !== undefined && fromRevision >= oldest) {
        for (let i = this.head; i < this.history.length; i++) {
          const ev = this.history[i]!;
          if (ev.revision > fromRevision && ev.key.startsWith(prefix)) w.push(ev);
        }
      } else if (replay) {
        for (const ev of replay(prefix, fromRevision, currentRevision)) w.push(ev);
      } else {
        throw new CompactedError(fromRevision, oldest ?? currentRevision);
      }
    }
    this.watchers.add(w);
    const stop = (): void => {
      this.watchers.delete(w);
      w.end();
    };
    w.onClose = () => this.watchers.delete(w);
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    return w;
  }

  /** Ends every watch (store closing). */
  closeAll(): void {
    for (const w of this.watchers) w.end();
    this.watchers.clear();
  }
}

/** One watcher's queue, consumed as an async iterable. */
class Watcher implements AsyncIterable<StorageEvent> {
  private queue: StorageEvent[] = [];
  private qhead = 0;
  private wake: (() => void) | undefined;
  private done = false;
  private error: Error | undefined;
  /** Called when the consumer stops iterating, so the hub forgets the watcher. */
  onClose: (() => void) | undefined;

  constructor(
    readonly prefix: string,
    private readonly maxQueue: number,
  ) {}

  push(ev: StorageEvent): void {
    if (this.done) return;
    if (this.queue.length - this.qhead >= this.maxQueue) {
      this.error = new WatchOverflowError();
      this.end();
      return;
    }
    this.queue.push(ev);
    const w = this.wake;
    if (w) {
      this.wake = undefined;
      w();
    }
  }

  end(): void {
    this.done = true;
    const w = this.wake;
    if (w) {
      this.wake = undefined;
      w();
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StorageEvent> {
    try {
      yield* this.drain();
    } finally {
      this.done = true;
      this.onClose?.();
    }
  }

  private async *drain(): AsyncGenerator<StorageEvent> {
    for (;;) {
      while (this.qhead < this.queue.length) {
        const ev = this.queue[this.qhead++]!;
        if (this.qhead > 1024 && this.qhead * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.qhead);
          this.qhead = 0;
        }
        yield ev;
      }
      if (this.done) {
        if (this.error) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
