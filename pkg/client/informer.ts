/**
 * Informers: list, then watch, keeping a local cache of one kind's objects and telling handlers
 * about each change, as client-go's shared informers do. A watch that ends is resumed from the
 * last resourceVersion; a `410 Expired` re-lists (with back-off if it keeps happening, so a
 * compacted store cannot put the informer in a tight loop).
 */
import { StatusError } from '../api/errors.js';
import { objectKeyOf } from '../api/meta.js';
import type { KubeObject, WatchEvent } from '../api/types.js';
import type { Client } from './client.js';
import type { KindRef } from './types.js';

export interface EventHandler<T extends KubeObject> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  /** `obj` is the last state seen; after a re-list it may be a tombstone of an object missed while disconnected. */
  delete?(obj: T): void;
}

/**
 * A map of `namespace/name` to object, with secondary indexes. Objects are shared with the
 * watch that delivered them: read-only.
 */
export class ObjectCache<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexFns = new Map<string, (o: T) => string[]>();
  private readonly indexes = new Map<string, Map<string, Map<string, T>>>();

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  getByName(name: string, namespace?: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  get size(): number {
    return this.items.size;
  }

  /**
   * Adds an index: `fn` gives the index values of an object (e.g. its node name). Adding a name
   * that exists already keeps the first definition (caches are shared between controllers).
   */
  addIndex(name: string, fn: (o: T) => string[]): void {
    if (this.indexFns.has(name)) return; // shared informers: the first definition of a name wins
    this.indexFns.set(name, fn);
    const idx = new Map<string, Map<string, T>>();
    this.indexes.set(name, idx);
    for (const [k, o] of this.items) for (const v of fn(o)) addTo(idx, v, k, o);
  }

  /** Objects whose index `name` has `value`. */
  byIndex(name: string, value: string): T[] {
    const m = this.indexes.get(name)?.get(value);
    return m ? [...m.values()] : [];
  }

  /** Number of objects whose index `name` has `value`. */
  countByIndex(name: string, value: string): number {
    return this.indexes.get(name)?.get(value)?.size ?? 0;
  }

  /** Stores an object; returns the previous one. */
  set(obj: T): T | undefined {
    const key = objectKeyOf(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexFns) for (const v of fn(obj)) addTo(this.indexes.get(name)!, v, key, obj);
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexFns) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(obj)) {
        const m = idx.get(v);
        m?.delete(key);
        if (m && m.size === 0) idx.delete(v);
      }
    }
  }
}

function addTo<T>(idx: Map<string, Map<string, T>>, v: string, key: string, o: T): void {
  let m = idx.get(v);
  if (!m) idx.set(v, (m = new Map()));
  m.set(key, o);
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** One kind's list-and-watch loop and cache. Start it with `start(signal)`; it runs until aborted. */
export class Informer<T extends KubeObject = KubeObject> {
  readonly cache = new ObjectCache<T>();
  private readonly handlers: EventHandler<T>[] = [];
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private lastRv = '';
  private handlerErrors = 0;

  constructor(
    readonly client: Client,
    readonly ref: KindRef,
    readonly opts: InformerOptions = {},
  ) {}

  /** Adds a handler; objects already cached are replayed to it as adds. */
  on(h: EventHandler<T>): void {
    this.handlers.push(h);
    if (h.add) for (const o of this.cache.list()) h.add(o);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** The resourceVersion of the newest event seen. */
  lastSyncResourceVersion(): string {
    return this.lastRv;
  }

  /** Resolves once the first list has been cached. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => reject(signal.reason ?? new Error('aborted')), { once: true });
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    let failures = 0;
    const baseOpts = {
      ...(this.opts.namespace ? { namespace: this.opts.namespace } : {}),
      ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
      ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}),
    };
    while (!signal.aborted) {
      try {
        const list = await this.client.list<T>(this.ref, baseOpts);
        this.replace(list.items);
        this.lastRv = list.metadata.resourceVersion ?? '';
        if (!this.synced) {
          this.synced = true;
          for (const w of this.syncWaiters.splice(0)) w();
        }
        // Watch, resuming from the last version whenever a stream ends.
        while (!signal.aborted) {
          const events = await this.client.watch(this.ref, { ...baseOpts, resourceVersion: this.lastRv, allowWatchBookmarks: true }, signal);
          for await (const ev of events) {
            this.apply(ev);
            failures = 0;
          }
        }
      } catch (e) {
        if (signal.aborted) return;
        failures++;
        const expired = e instanceof StatusError && (e.code === 410 || e.reason === 'Expired');
        // An expired version re-lists at once the first time; repeated failures back off.
        const delay = expired && failures === 1 ? 0 : Math.min(30_000, 200 * 2 ** Math.min(failures, 8));
        if (delay) await sleepReal(delay, signal);
      }
    }
  }

  private apply(ev: WatchEvent): void {
    const obj = ev.object as T;
    if (obj.metadata?.resourceVersion) this.lastRv = obj.metadata.resourceVersion;
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const old = this.cache.set(obj);
        if (old) this.notify((h) => h.update?.(old, obj));
        else this.notify((h) => h.add?.(obj));
        break;
      }
      case 'DELETED': {
        const old = this.cache.delete(objectKeyOf(obj));
        this.notify((h) => h.delete?.(obj ?? old));
        break;
      }
      default:
        break;
    }
  }

  /** Calls every handler; one that throws is reported and does not stop the others or the watch. */
  private notify(fn: (h: EventHandler<T>) => void): void {
    for (const h of this.handlers) {
      try {
        fn(h);
      } catch (e) {
        this.handlerErrors++;
        if (this.handlerErrors <= 10) process.emitWarning(`informer ${this.ref.kind}: a handler threw: ${(e as Error).message}`);
      }
    }
  }

  /** Replaces the cache with a fresh list, telling handlers what changed since. */
  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKeyOf(obj);
      seen.add(key);
      const old = this.cache.set(obj);
      if (!old) this.notify((h) => h.add?.(obj));
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.notify((h) => h.update?.(old, obj));
    }
    for (const key of this.cache.keys()) {
      if (seen.has(key)) continue;
      const old = this.cache.delete(key)!;
      this.notify((h) => h.delete?.(old));
    }
  }
}

function sleepReal(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
