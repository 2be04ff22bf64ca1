/**
 * Controller expectations (pkg/controller/controller_utils.go ControllerExpectations): after a
 * controller creates or deletes N objects for a key, it waits until its informer has seen those N
 * adds or deletes before acting on that key again, so a stale cache never makes it create twice.
 * Expectations expire after five minutes of cluster time, as Kubernetes's do.
 */
import type { Clock } from '../clock/clock.js';

const TTL_MS = 5 * 60 * 1000;

interface Expectation {
  adds: number;
  deletes: number;
  /** uids of pods awaited as deleted, so a delete is counted once. */
  deleting: Set<string>;
  at: number;
}

export class Expectations {
  private readonly byKey = new Map<string, Expectation>();

  constructor(private readonly clock: Clock) {}

  /** Records that `adds` creations and the deletion of `deleteUids` are under way for `key`. */
  expect(key: string, adds: number, deleteUids: string[] = []): void {
    this.byKey.set(key, { adds, deletes: deleteUids.length, deleting: new Set(deleteUids), at: this.clock.now() });
  }

  /** The informer saw an object of `key` created. */
  observedAdd(key: string): void {
    const e = this.byKey.get(key);
    if (e && e.adds > 0) e.adds--;
  }

  /** The informer saw the object `uid` of `key` deleted (or marked for deletion). */
  observedDelete(key: string, uid: string): void {
    const e = this.byKey.get(key);
    if (e && e.deleting.delete(uid)) e.deletes--;
  }

  /** A create that failed will never be observed. */
  lowerAdds(key: string, n: number): void {
    const e = this.byKey.get(key);
    if (e) e.adds = Math.max(0, e.adds - n);
  }

  /** True when nothing is awaited for `key` (or what was awaited has expired). */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    if ((e.adds <= 0 && e.deletes <= 0) || this.clock.now() - e.at > TTL_MS) {
      this.byKey.delete(key);
      return true;
    }
    return false;
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}
