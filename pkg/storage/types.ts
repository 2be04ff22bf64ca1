/**
 * The storage Backend contract (kine-like). Keys look like `/registry/<group>/<resource>/<ns>/<name>`.
 * One global revision counts every write; it is the `resourceVersion` clients see. Values are
 * opaque strings (the API layer stores JSON).
 *
 * Guarantees every implementation gives (the shared contract suite checks them):
 * - revisions strictly increase, one per successful write, across all keys;
 * - `update`/`delete` with an expected revision fail with RevisionMismatchError if the key moved;
 * - `watch(prefix, r)` delivers every write under `prefix` with revision > r, in order, then live
 *   ones, with no gap and no duplicate; if r is older than the compaction window it throws
 *   CompactedError (the API server turns that into `410 Expired`);
 * - a write whose promise resolved survives the process being killed (SQLite, etcd).
 */

/** One stored key at its latest revision. */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the last write to this key (its `resourceVersion`). */
  revision: number;
  /** Revision at which the key was created. */
  createRevision: number;
}

/** A change seen by a watch. */
export interface StorageEvent {
  type: 'create' | 'update' | 'delete';
  key: string;
  /** New value; for `delete`, the value the key had when deleted. */
  value: string;
  /** The value before this write (updates and deletes). */
  prevValue?: string;
  revision: number;
}

export interface ListOptions {
  /** At most this many items; `more` says whether others follow. 0 or absent: no limit. */
  limit?: number;
  /** Only keys strictly greater than this one (the continue position of a paginated list). */
  startAfter?: string;
}

export interface ListResult {
  items: KeyValue[];
  /** The store's revision when the list was read. */
  revision: number;
  /** True if `limit` cut the list short. */
  more: boolean;
}

/** The storage interface every store implements: memory, SQLite, etcd. */
export interface Backend {
  /** `memory`, `sqlite` or `etcd`. */
  readonly kind: string;
  /** The revision of the latest write (0 for an empty store). */
  currentRevision(): Promise<number>;
  /** The oldest revision a watch may still start from; older ones are compacted. */
  compactedRevision(): Promise<number>;
  get(key: string): Promise<KeyValue | undefined>;
  /** Keys beginning with `prefix`, in key order. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Number of keys beginning with `prefix`. */
  count(prefix: string): Promise<number>;
  /** Creates a key. Throws KeyExistsError. */
  create(key: string, value: string): Promise<KeyValue>;
  /**
   * Replaces a key's value. With `expectedRevision`, only if the key is still at that revision
   * (compare-and-swap), else RevisionMismatchError. Throws KeyNotFoundError if absent.
   */
  update(key: string, value: string, expectedRevision?: number): Promise<KeyValue>;
  /** Deletes a key, optionally only at `expectedRevision`. Returns the deleted value with the delete's revision. Throws KeyNotFoundError, RevisionMismatchError. */
  delete(key: string, expectedRevision?: number): Promise<KeyValue>;
  /**
   * Events under `prefix` with revision > `fromRevision`, in order, then live ones until `signal`
   * aborts. Throws CompactedError at once if `fromRevision` is older than the window.
   */
  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<StorageEvent>;
  /** Flushes and releases the store. Writes after close fail. */
  close(): Promise<void>;
}

/** Base of the storage errors; `code` is stable. */
export class StorageError extends Error {
  constructor(
    readonly code: 'KeyExists' | 'KeyNotFound' | 'RevisionMismatch' | 'Compacted' | 'Closed' | 'WatchOverflow',
    message: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

/** Thrown when creating a key that exists. */
export class KeyExistsError extends StorageError {
  constructor(readonly key: string) {
    super('KeyExists', `key exists: ${key}`);
  }
}

/** Thrown when reading-for-write a key that does not exist. */
export class KeyNotFoundError extends StorageError {
  constructor(readonly key: string) {
    super('KeyNotFound', `key not found: ${key}`);
  }
}

/** Thrown when a compare-and-swap finds the key at another revision. */
export class RevisionMismatchError extends StorageError {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super('RevisionMismatch', `key ${key} is at revision ${actual}, not ${expected}`);
  }
}

/** Thrown when a watch starts before the compaction window. */
export class CompactedError extends StorageError {
  constructor(
    readonly requested: number,
    readonly compacted: number,
  ) {
    super('Compacted', `too old resource version: ${requested} (${compacted})`);
  }
}

/** Thrown into a watch whose consumer fell too far behind; the consumer should re-list. */
export class WatchOverflowError extends StorageError {
  constructor() {
    super('WatchOverflow', 'watch consumer fell too far behind');
  }
}

/** Thrown by any call on a closed store. */
export class ClosedError extends StorageError {
  constructor() {
    super('Closed', 'storage is closed');
  }
}
