/**
 * Event expiry: kube-apiserver stores Events with a time to live (`--event-ttl`, one hour by
 * default, https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/),
 * so they do not pile up. berth's stores have no TTLs, so this sweeper deletes Events whose last
 * occurrence is older than the TTL, on the injected clock.
 *
 * It lists the Events when it sweeps (once a minute) rather than keeping an informer: a watch
 * decoded and cached every Event as it was written (half of a busy cluster's writes are Events),
 * to be looked at once a minute.
 */
import { isNotFound } from '../../api/errors.js';
import type { Event } from '../../api/types.js';
import { parseTime } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import type { Manager, Runnable } from '../../runtime/manager.js';

export interface EventTtlOptions {
  /** How long an Event lives after it last occurred, ms (default one hour). */
  ttlMs?: number;
  /** How often to sweep, ms of cluster time (default one minute). */
  intervalMs?: number;
}

/** When an Event last occurred, ms: lastTimestamp, else eventTime, else its creation. */
export function lastOccurrence(e: Event): number {
  for (const t of [e.lastTimestamp, e.eventTime ?? undefined, e.metadata.creationTimestamp]) {
    const ms = parseTime(t ?? undefined);
    if (!Number.isNaN(ms)) return ms;
  }
  return NaN;
}

export class EventTtlController implements Runnable {
  readonly name = 'event-ttl';
  private readonly ttlMs: number;
  private readonly intervalMs: number;

  constructor(
    private readonly mgr: Manager,
    opts: EventTtlOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 60 * 60 * 1000;
    this.intervalMs = opts.intervalMs ?? 60 * 1000;
  }

  static install(mgr: Manager, opts?: EventTtlOptions): EventTtlController {
    const c = new EventTtlController(mgr, opts);
    mgr.add(c);
    return c;
  }

  /** Deletes every expired Event now; returns how many went. */
  async sweep(): Promise<number> {
    const cutoff = this.mgr.clock.now() - this.ttlMs;
    let n = 0;
    for (const e of (await this.mgr.client.list<Event>(Kinds.Event)).items) {
      const at = lastOccurrence(e);
      if (Number.isNaN(at) || at > cutoff) continue;
      try {
        await this.mgr.client.delete(Kinds.Event, e.metadata.name!, e.metadata.namespace, { preconditions: { uid: e.metadata.uid! } });
        n++;
      } catch (err) {
        if (!isNotFound(err) && !(err instanceof Error && /Precondition|Conflict/.test(err.message))) throw err;
      }
    }
    return n;
  }

  async start(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.mgr.clock.sleep(this.intervalMs, signal);
      } catch {
        return;
      }
      try {
        await this.sweep();
      } catch (e) {
        this.mgr.log.debug({ err: (e as Error).message }, 'event sweep failed; will retry');
      }
    }
  }
}
