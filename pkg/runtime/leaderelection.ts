/**
 * Leader election through a `coordination.k8s.io/v1` Lease, as client-go's leaderelection
 * package does it (https://kubernetes.io/docs/concepts/architecture/leases/#leader-election):
 * candidates try to acquire the Lease every `retryPeriod`; the holder renews it every
 * `retryPeriod` and gives up leadership if it has not renewed within `renewDeadline`; a Lease not
 * renewed for `leaseDuration` may be taken over. Defaults are Kubernetes's: lease 15 s, renew
 * deadline 10 s, retry 2 s. Times are on the injected clock; `renewTime` and `acquireTime` are
 * MicroTime (RFC 3339 with microseconds).
 *
 * ```
 *  candidate ──(lease free or expired: acquire)──▶ leader ──(no renewal within renewDeadline,
 *      ▲  └─(held by another, not expired: wait retryPeriod)─┘      or another holder took it)──┐
 *      └──────────────(runTerms: the term has stopped; campaign again)──────────────────────┘
 * ```
 *
 * kube-controller-manager and kube-scheduler exit when they lose their Lease (klog.Fatalf in
 * OnStoppedLeading) and rely on a supervisor to restart them as candidates. A berth server may
 * host the API server in the same process, so `runTerms` stops only the leader's work (the
 * "term") and campaigns again, keeping everything else running.
 */
import { isAlreadyExists, isConflict, isNotFound } from '../api/errors.js';
import { clone } from '../api/meta.js';
import type { KubeObject } from '../api/types.js';
import { parseTime, rfc3339Micro, type Clock } from '../clock/clock.js';
import { Kinds, type Client } from '../client/client.js';
import type { Logger } from './logger.js';

export interface LeaderElectionOptions {
  /** The Lease's name (one per controller set, e.g. `website-operator`). */
  name: string;
  /** The Lease's namespace (default `kube-system`). */
  namespace?: string;
  /** Who this candidate is (default: `<hostname>_<random>`, as controller-runtime). */
  identity?: string;
  /** Seconds a Lease is valid after its last renewal (default 15). */
  leaseDurationSeconds?: number;
  /** Seconds the leader keeps trying to renew before giving up (default 10). */
  renewDeadlineSeconds?: number;
  /** Seconds between attempts to acquire or renew (default 2). */
  retryPeriodSeconds?: number;
  /** Give the Lease up when stopped, so another candidate takes over at once (default true). */
  releaseOnCancel?: boolean;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** One candidate for a Lease. */
export class LeaderElector {
  readonly identity: string;
  readonly namespace: string;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private lease: KubeObject | undefined;
  private leading = false;

  /** Throws RangeError unless leaseDuration > renewDeadline > retryPeriod > 0, as client-go requires. */
  constructor(
    private readonly client: Client,
    private readonly clock: Clock,
    readonly opts: LeaderElectionOptions,
    private readonly log?: Logger,
  ) {
    this.namespace = opts.namespace ?? 'kube-system';
    this.identity = opts.identity ?? `${process.env.HOSTNAME ?? 'berth'}_${Math.random().toString(36).slice(2, 10)}`;
    this.leaseMs = (opts.leaseDurationSeconds ?? 15) * 1000;
    this.renewDeadlineMs = (opts.renewDeadlineSeconds ?? 10) * 1000;
    this.retryMs = (opts.retryPeriodSeconds ?? 2) * 1000;
    if (!(this.leaseMs > this.renewDeadlineMs)) throw new RangeError('leaseDuration must be greater than renewDeadline');
    if (!(this.renewDeadlineMs > this.retryMs) || !(this.retryMs > 0)) throw new RangeError('renewDeadline must be greater than retryPeriod, and retryPeriod greater than 0');
  }

  /** True while this candidate holds the Lease. */
  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until it holds the Lease, then calls `onStartedLeading` with a signal that aborts
   * when leadership is lost or `signal` aborts, and keeps renewing. Resolves when leadership is
   * lost (true) or `signal` aborts (false).
   */
  async run(signal: AbortSignal, onStartedLeading: (leading: AbortSignal) => void): Promise<boolean> {
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) {
      await this.sleep(this.retryMs, signal);
    }
    if (signal.aborted) return false;
    this.leading = true;
    this.log?.info({ lease: `${this.namespace}/${this.opts.name}`, identity: this.identity }, 'acquired leader lease');
    const leading = new AbortController();
    const onAbort = (): void => leading.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    onStartedLeading(leading.signal);
    let lastRenew = this.clock.now();
    let lost = false;
    while (!signal.aborted) {
      await this.sleep(this.retryMs, signal);
      if (signal.aborted) break;
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (e) {
        this.log?.debug({ err: (e as Error).message }, 'lease renewal failed');
      }
      if (ok) lastRenew = this.clock.now();
      else if (this.clock.now() - lastRenew >= this.renewDeadlineMs || (this.lease && holder(this.lease) !== this.identity)) {
        lost = true;
        break;
      }
    }
    this.leading = false;
    signal.removeEventListener('abort', onAbort);
    leading.abort();
    if (!lost && this.opts.releaseOnCancel !== false) await this.release().catch(() => undefined);
    if (lost) this.log?.warn({ lease: `${this.namespace}/${this.opts.name}` }, 'leader election lost');
    return lost;
  }

  /** One attempt (tryAcquireOrRenew): true if this candidate holds the Lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const nowText = rfc3339Micro(now);
    const leaseSeconds = Math.round(this.leaseMs / 1000);
    let cur: KubeObject | undefined;
    try {
      cur = await this.client.get(Kinds.Lease, this.opts.name, this.namespace);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (!cur) {
      try {
        this.lease = await this.client.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.namespace },
          spec: { holderIdentity: this.identity, leaseDurationSeconds: leaseSeconds, acquireTime: nowText, renewTime: nowText, leaseTransitions: 0 },
        });
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    }
    this.lease = cur;
    const spec = (cur.spec ?? {}) as LeaseSpec;
    const held = !!spec.holderIdentity && spec.holderIdentity !== this.identity;
    const renewedAt = parseTime(spec.renewTime);
    const expires = renewedAt + (spec.leaseDurationSeconds ?? leaseSeconds) * 1000;
    if (held && !Number.isNaN(renewedAt) && expires > now) return false;
    const next = clone(cur);
    const mine = spec.holderIdentity === this.identity;
    next.spec = {
      ...spec,
      holderIdentity: this.identity,
      leaseDurationSeconds: leaseSeconds,
      renewTime: nowText,
      acquireTime: mine ? (spec.acquireTime ?? nowText) : nowText,
      leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
    };
    try {
      this.lease = await this.client.update(next);
      return true;
    } catch (e) {
      if (isConflict(e) || isNotFound(e)) return false;
      throw e;
    }
  }

  /** Gives the Lease up (holder cleared, duration 1 s) so that another candidate can take it. */
  async release(): Promise<void> {
    if (!this.lease || holder(this.lease) !== this.identity) return;
    const next = clone(this.lease);
    next.spec = { ...(next.spec as LeaseSpec), holderIdentity: '', leaseDurationSeconds: 1, renewTime: rfc3339Micro(this.clock.now()) };
    try {
      this.lease = await this.client.update(next);
    } catch (e) {
      if (!isConflict(e) && !isNotFound(e)) throw e;
    }
  }

  /**
   * Leads repeatedly until `signal` aborts: campaigns, runs `term(leading)` while it holds the
   * Lease, and when leadership is lost waits for the term to settle (every piece of leader-only
   * work has stopped, so two terms never overlap in one process) and campaigns again. `term` must
   * resolve once `leading` aborts. If a term fails while leading, leadership is given up (the Lease
   * released) and the returned promise rejects with the term's error; it resolves when `signal`
   * aborts.
   */
  async runTerms(signal: AbortSignal, term: (leading: AbortSignal) => Promise<void>): Promise<void> {
    let terms = 0;
    while (!signal.aborted) {
      const giveUp = new AbortController();
      const stop = (): void => giveUp.abort();
      signal.addEventListener('abort', stop, { once: true });
      let running: Promise<void> | undefined;
      let failure: { err: unknown } | undefined;
      const lost = await this.run(giveUp.signal, (leading) => {
        terms++;
        running = term(leading).catch((err: unknown) => {
          if (leading.aborted) {
            this.log?.warn({ err: (err as Error).message }, 'leader term failed while stopping');
            return;
          }
          failure = { err };
          giveUp.abort();
        });
      });
      signal.removeEventListener('abort', stop);
      await running;
      if (failure) throw failure.err;
      if (!lost) return;
      this.log?.warn({ lease: `${this.namespace}/${this.opts.name}`, identity: this.identity, terms }, 'leader work stopped; campaigning again');
    }
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return this.clock.sleep(ms, signal).catch(() => undefined);
  }
}

function holder(lease: KubeObject): string | undefined {
  return (lease.spec as LeaseSpec | undefined)?.holderIdentity;
}
