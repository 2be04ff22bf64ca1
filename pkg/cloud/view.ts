/**
 * An informer's cache with this process's own writes laid over it until the informer has caught
 * up with them. A controller that creates an Instance and reconciles again before the watch has
 * delivered it would otherwise launch twice, or hand out one IP address twice. Each write is
 * remembered with its resourceVersion (the store's global revision) and forgotten as soon as the
 * informer has seen an event at or past that revision: from then on the cache shows it, or
 * something newer.
 */
import { objectKeyOf } from '../api/meta.js';
import type { KubeObject } from '../api/types.js';
import type { Informer } from '../client/informer.js';

interface Write<T> {
  /** The object as written, or undefined for a deletion. */
  obj: T | undefined;
  rv: number;
}

export class LocalView<T extends KubeObject> {
  private readonly writes = new Map<string, Write<T>>();

  constructor(readonly informer: Informer<T>) {}

  /** Records an object as the API returned it from a create, update or patch. */
  wrote(obj: T): void {
    this.record(objectKeyOf(obj), obj, Number(obj.metadata.resourceVersion));
  }

  /** Records a deletion, with the object the API returned from the delete. */
  deleted(obj: KubeObject): void {
    this.record(objectKeyOf(obj), undefined, Number(obj.metadata.resourceVersion));
  }

  private record(key: string, obj: T | undefined, rv: number): void {
    if (!Number.isFinite(rv)) return;
    const prev = this.writes.get(key);
    if (prev && prev.rv > rv) return;
    this.writes.set(key, { obj, rv });
  }

  /** Drops writes the informer has caught up with. */
  private prune(): void {
    if (this.writes.size === 0) return;
    const seen = Number(this.informer.lastSyncResourceVersion() || 0);
    for (const [k, w] of this.writes) if (w.rv <= seen) this.writes.delete(k);
  }

  /** The object under `key` as far as this process knows. */
  get(key: string): T | undefined {
    this.prune();
    const w = this.writes.get(key);
    return w ? w.obj : this.informer.cache.get(key);
  }

  /**
   * Objects for which `match` is true: from the cache (through `index`/`value` when given, else
   * all of it) with this process's newer writes in their place.
   */
  list(match: (o: T) => boolean = () => true, index?: { name: string; value: string }): T[] {
    this.prune();
    const base = index ? this.informer.cache.byIndex(index.name, index.value) : this.informer.cache.list();
    const out: T[] = [];
    for (const o of base) {
      const key = objectKeyOf(o);
      const w = this.writes.get(key);
      if (w) continue;
      if (match(o)) out.push(o);
    }
    for (const w of this.writes.values()) if (w.obj && match(w.obj)) out.push(w.obj);
    return out;
  }

  /** Writes not yet seen by the informer (for tests). */
  get pendingWrites(): number {
    this.prune();
    return this.writes.size;
  }
}
