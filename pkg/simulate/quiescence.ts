/**
 * Knowing when the simulated cluster has nothing left to do at the current virtual instant, so the
 * clock may jump to the next timer.
 *
 * With the memory store every component's work is a chain of promise continuations: a write
 * resolves at once, the store's watch hub queues the event for each watcher, the informers'
 * async iterators pick it up, handlers queue keys, work-queue waiters wake, reconcilers read and
 * write. None of that waits for I/O or a real timer, so it all runs before the event loop's next
 * `setImmediate` turn — except work that itself yields with `setImmediate` (the scheduler does,
 * every 16 attempts, so watch events are not starved).
 *
 * So the check is: let a `setImmediate` turn pass, and count the store calls made during it
 * (every read and write goes through the Backend, which `ActivityBackend` counts). The cluster is
 * quiescent when two turns in a row made no store call, none is in flight, and the scheduler's
 * active queue is empty. Two quiet turns rather than one, so work that yields with `setImmediate`
 * and registered its turn after ours still gets to run (and be seen) before we call it quiet.
 */
import type { Backend, KeyValue, ListOptions, ListResult, StorageEvent } from '../storage/types.js';

/**
 * A Backend that forwards every call to another and counts them: `ops` (calls started) and
 * `inFlight` (calls whose promise has not settled). Watches are passed through untouched.
 */
export class ActivityBackend implements Backend {
  /** Store calls started since creation. */
  ops = 0;
  /** Store calls not yet settled. */
  inFlight = 0;

  constructor(private readonly inner: Backend) {}

  get kind(): string {
    return this.inner.kind;
  }

  private async track<T>(p: Promise<T>): Promise<T> {
    this.ops++;
    this.inFlight++;
    try {
      return await p;
    } finally {
      this.inFlight--;
    }
  }

  currentRevision(): Promise<number> {
    return this.track(this.inner.currentRevision());
  }
  compactedRevision(): Promise<number> {
    return this.track(this.inner.compactedRevision());
  }
  get(key: string): Promise<KeyValue | undefined> {
    return this.track(this.inner.get(key));
  }
  list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    return this.track(this.inner.list(prefix, opts));
  }
  count(prefix: string): Promise<number> {
    return this.track(this.inner.count(prefix));
  }
  create(key: string, value: string): Promise<KeyValue> {
    return this.track(this.inner.create(key, value));
  }
  update(key: string, value: string, expectedRevision?: number): Promise<KeyValue> {
    return this.track(this.inner.update(key, value, expectedRevision));
  }
  delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    return this.track(this.inner.delete(key, expectedRevision));
  }
  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<StorageEvent> {
    return this.inner.watch(prefix, fromRevision, signal);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Thrown when the cluster keeps working at one instant without end (components fighting over an object). */
export class NoQuiescenceError extends Error {
  readonly code = 'NoQuiescence';
  constructor(message: string) {
    super(message);
    this.name = 'NoQuiescenceError';
  }
}

/** Quiet turns in a row that make the cluster quiescent. */
const QUIET_TURNS = 2;

/** Turns at one instant after which settling gives up (a livelock, not a busy cluster: 10,000 pods take about a thousand). */
export const MAX_SETTLE_TURNS = 1_000_000;

const turn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Returns `settle()`: resolves once the cluster is quiescent (see above), with the number of
 * turns it took. `busy` says whether some component still holds work the store counter cannot
 * see (the scheduler's active queue). Throws NoQuiescenceError after MAX_SETTLE_TURNS turns.
 */
export function quiescence(backend: ActivityBackend, busy: () => boolean = () => false): () => Promise<number> {
  return async () => {
    let quiet = 0;
    for (let turns = 1; ; turns++) {
      const before = backend.ops;
      await turn();
      if (backend.ops === before && backend.inFlight === 0 && !busy()) {
        if (++quiet >= QUIET_TURNS) return turns;
      } else {
        quiet = 0;
      }
      if (turns >= MAX_SETTLE_TURNS) {
        throw new NoQuiescenceError(`the cluster did not settle: components were still reading and writing after ${MAX_SETTLE_TURNS} turns at one instant (${backend.ops} store calls so far)`);
      }
    }
  };
}
