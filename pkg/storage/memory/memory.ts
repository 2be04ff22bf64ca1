import { EventHub } from '../hub.js';
import {
  ClosedError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionMismatchError,
  type Backend,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type StorageEvent,
} from '../types.js';

export interface MemoryBackendOptions {
  /** Events kept for watch resumption; older revisions give CompactedError. Default 10,000. */
  historyLimit?: number;
  /**
   * Group commit, as the SQLite store does it: writes issued in one turn of the event loop are
   * acknowledged together on the next (`setImmediate`), and only then published to watchers;
   * reads and `currentRevision` wait for an open batch, so no one sees a write before it is
   * acknowledged. Watchers then get a turn's writes as one burst, and controllers reconcile once
   * per burst rather than once per write. Off by default (unit tests and `berth simulate` settle
   * a write within microtasks); `openBackend('memory')`, the server's store, turns it on.
   */
  groupCommit?: boolean;
}

/** Writes acknowledged together (group commit). */
interface Batch {
  events: StorageEvent[];
  done: Promise<void>;
  resolve: () => void;
}

/**
 * A Backend held in process memory: a Map of keys plus, per collection (`/registry/<group>/<resource>/`),
 * a key array for prefix lists, sorted when read.
 * Nothing survives the process. The default store of `berth simulate` and of unit tests.
 */
export class MemoryBackend implements Backend {
  readonly kind = 'memory';
  private readonly data = new Map<string, KeyValue>();
  /** Collection prefix → its keys in sorted order, kept sorted by binary insertion. */
  private readonly collections = new Map<string, string[]>();
  /**
   * Collections whose keys were appended out of order since they were last read: a create appends
   * (a sorted insert moved every later key, O(n) per create in a collection of 50,000 Events)
   * and the next list or delete sorts.
   */
  private readonly unsorted = new Set<string[]>();
  /** The revision of the last write, acknowledged or in the open batch. */
  private revision = 0;
  /** The revision of the last acknowledged write: what readers and watchers see. */
  private committedRevision = 0;
  private closed = false;
  private readonly hub: EventHub;
  private readonly groupCommit: boolean;
  private batch: Batch | undefined;

  constructor(opts: MemoryBackendOptions = {}) {
    this.hub = new EventHub(opts.historyLimit ?? 10_000);
    this.groupCommit = !!opts.groupCommit;
  }

  async currentRevision(): Promise<number> {
    while (this.batch) await this.batch.done;
    return this.committedRevision;
  }

  async compactedRevision(): Promise<number> {
    while (this.batch) await this.batch.done;
    return this.hub.oldestReplayable() ?? this.committedRevision;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    while (this.batch) await this.batch.done;
    this.check();
    return this.data.get(key);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    while (this.batch) await this.batch.done;
    this.check();
    const items: KeyValue[] = [];
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    let more = false;
    outer: for (const keys of this.keysUnder(prefix)) {
      const from = opts.startAfter !== undefined && opts.startAfter >= prefix ? upperBound(keys, opts.startAfter) : lowerBound(keys, prefix);
      for (let i = from; i < keys.length; i++) {
        const k = keys[i]!;
        if (!k.startsWith(prefix)) break;
        if (items.length >= limit) {
          more = true;
          break outer;
        }
        items.push(this.data.get(k)!);
      }
    }
    return { items, revision: this.committedRevision, more };
  }

  async count(prefix: string): Promise<number> {
    while (this.batch) await this.batch.done;
    this.check();
    let n = 0;
    for (const keys of this.keysUnder(prefix)) for (let i = lowerBound(keys, prefix); i < keys.length && keys[i]!.startsWith(prefix); i++) n++;
    return n;
  }

  /** The sorted key arrays that may hold keys under `prefix`, in key order. */
  private keysUnder(prefix: string): string[][] {
    const c = collectionOf(prefix);
    // A prefix that names a collection (or something inside one) lives in that collection alone.
    if (c.endsWith('/')) return [this.sorted(this.collections.get(c) ?? [])];
    return [...this.collections.keys()]
      .filter((name) => name.startsWith(prefix))
      .sort()
      .map((name) => this.sorted(this.collections.get(name)!));
  }

  /** `keys` in order: a collection appended to out of order is sorted when next read (TimSort: ~linear when nearly sorted). */
  private sorted(keys: string[]): string[] {
    if (this.unsorted.delete(keys)) keys.sort();
    return keys;
  }

  private keysOf(key: string): string[] {
    const c = collectionOf(key);
    let keys = this.collections.get(c);
    if (!keys) this.collections.set(c, (keys = []));
    return keys;
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.check();
    if (this.data.has(key)) throw new KeyExistsError(key);
    const rev = ++this.revision;
    const kv: KeyValue = { key, value, revision: rev, createRevision: rev };
    this.data.set(key, kv);
    const keys = this.keysOf(key);
    if (keys.length && keys[keys.length - 1]! > key) this.unsorted.add(keys);
    keys.push(key);
    await this.publish({ type: 'create', key, value, revision: rev });
    return kv;
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KeyValue> {
    this.check();
    const cur = this.data.get(key);
    if (!cur) throw new KeyNotFoundError(key);
    if (expectedRevision !== undefined && expectedRevision !== cur.revision) throw new RevisionMismatchError(key, expectedRevision, cur.revision);
    const rev = ++this.revision;
    const kv: KeyValue = { key, value, revision: rev, createRevision: cur.createRevision };
    this.data.set(key, kv);
    await this.publish({ type: 'update', key, value, prevValue: cur.value, revision: rev });
    return kv;
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    this.check();
    const cur = this.data.get(key);
    if (!cur) throw new KeyNotFoundError(key);
    if (expectedRevision !== undefined && expectedRevision !== cur.revision) throw new RevisionMismatchError(key, expectedRevision, cur.revision);
    const rev = ++this.revision;
    this.data.delete(key);
    const keys = this.sorted(this.keysOf(key));
    keys.splice(lowerBound(keys, key), 1);
    await this.publish({ type: 'delete', key, value: cur.value, prevValue: cur.value, revision: rev });
    return { key, value: cur.value, revision: rev, createRevision: cur.createRevision };
  }

  /** Publishes a write's event: at once, or with its batch on the next turn (group commit). */
  private publish(ev: StorageEvent): Promise<void> | undefined {
    if (!this.groupCommit) {
      this.committedRevision = ev.revision;
      this.hub.publish(ev);
      return undefined;
    }
    let b = this.batch;
    if (!b) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      b = this.batch = { events: [], done, resolve };
      const open = b;
      setImmediate(() => this.commit(open));
    }
    b.events.push(ev);
    return b.done;
  }

  /** Acknowledges a batch: its writes become visible, its events go to watchers in revision order. */
  private commit(b: Batch): void {
    if (this.batch !== b) return;
    this.batch = undefined;
    this.committedRevision = b.events[b.events.length - 1]!.revision;
    for (const ev of b.events) this.hub.publish(ev);
    b.resolve();
  }

  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<StorageEvent> {
    this.check();
    return this.hub.subscribe(prefix, fromRevision, this.committedRevision, signal);
  }

  async close(): Promise<void> {
    if (this.batch) this.commit(this.batch);
    this.closed = true;
    this.hub.closeAll();
  }

  private check(): void {
    if (this.closed) throw new ClosedError();
  }
}

/**
 * The collection a key or prefix belongs to: its first four `/`-separated parts
 * (`/registry/apps/deployments/`), or the whole string when it is shorter.
 */
function collectionOf(key: string): string {
  let slashes = 0;
  for (let i = 0; i < key.length; i++) {
    if (key.charCodeAt(i) === 47 && ++slashes === 4) return key.slice(0, i + 1);
  }
  return key;
}

/** First index whose key is ≥ `k`. */
export function lowerBound(a: string[], k: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is > `k`. */
export function upperBound(a: string[], k: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
