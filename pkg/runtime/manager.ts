/**
 * The controller runtime, shaped like controller-runtime: a Manager owns shared informers and
 * Runnables; a controller is built with `controllerFor(mgr, Kind).owns(Child).complete(reconciler)`
 * and reconciles keys from a work queue. Reconcilers are level-based: they look at the whole
 * current state for a key, never at "the event" that woke them.
 */
import { setMaxListeners } from 'node:events';
import { controllerRef, objectKeyOf } from '../api/meta.js';
import type { KubeObject } from '../api/types.js';
import type { Clock } from '../clock/clock.js';
import type { Client } from '../client/client.js';
import { Informer, type InformerOptions } from '../client/informer.js';
import type { KindRef } from '../client/types.js';
import { EventRecorder } from './events.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { WorkQueue } from './workqueue.js';
import { LeaderElector, type LeaderElectionOptions } from './leaderelection.js';

/** Every long-running part: runs until `signal` aborts, then resolves. */
export interface Runnable {
  readonly name?: string;
  /**
   * With leader election on, whether this runs only while the manager leads (default true, as
   * controller-runtime's `NeedLeaderElection`). Informers always run.
   */
  readonly needLeaderElection?: boolean;
  /**
   * Runs until `signal` aborts. With leader election on, a runnable that needs it is started once
   * per term of leadership: after it lost the Lease and its previous `start` resolved, the manager
   * calls `start` again when it leads again, so such a runnable must be restartable (a Controller
   * is: it reopens its queue and resyncs every key of its primary informer).
   */
  start(signal: AbortSignal): Promise<void>;
}

/** What a reconcile returns: nothing (done), or when to look again. */
export interface Result {
  /** Look again after this many ms of cluster time. */
  requeueAfter?: number;
  /** Look again after the key's back-off delay. */
  requeue?: boolean;
}

export interface ReconcileContext {
  client: Client;
  clock: Clock;
  log: Logger;
  recorder: EventRecorder;
  signal: AbortSignal;
}

/** Reconciles one key (`namespace/name`). Throwing retries with back-off. */
export interface Reconciler {
  reconcile(ctx: ReconcileContext, key: string): Promise<Result | void>;
}

export interface ManagerOptions {
  client: Client;
  clock: Clock;
  log?: Logger;
  /** Shown as the `source.component` of events when a controller gives none. */
  component?: string;
  /**
   * Run the runnables only while this manager holds a Lease (leader election, for controllers
   * run as several replicas). Informers run regardless, so a new leader starts with warm caches.
   * Losing the Lease stops the runnables and campaigns again (LeaderElector.runTerms); the
   * manager keeps running.
   */
  leaderElection?: LeaderElectionOptions;
}

/**
 * Owns informers (one per kind and options, shared) and runnables. `start` runs informers
 * first, waits for their caches, then starts the rest.
 */
export class Manager {
  readonly client: Client;
  readonly clock: Clock;
  readonly log: Logger;
  private readonly informers = new Map<string, Informer>();
  private readonly runnables: Runnable[] = [];
  private started = false;
  private startSignal: AbortSignal | undefined;
  private readonly running: Promise<void>[] = [];
  /** The leader-only runnables of the current term of leadership. */
  private termRuns: Promise<void>[] = [];
  /** The leader elector, when leader election is on. */
  readonly elector: LeaderElector | undefined;
  /** Aborts when leadership ends; set while leading. */
  private leaderSignal: AbortSignal | undefined;

  constructor(opts: ManagerOptions) {
    this.client = opts.client;
    this.clock = opts.clock;
    this.log = opts.log ?? silentLogger();
    this.elector = opts.leaderElection ? new LeaderElector(opts.client, opts.clock, opts.leaderElection, this.log) : undefined;
  }

  /** True when this manager may run its controllers: it leads, or leader election is off. */
  isLeader(): boolean {
    return !this.elector || this.elector.isLeader();
  }

  /** The shared informer for a kind (created on first use). */
  informer<T extends KubeObject = KubeObject>(ref: KindRef, opts: InformerOptions = {}): Informer<T> {
    const key = `${ref.apiVersion}/${ref.kind}?${opts.namespace ?? ''}&${opts.labelSelector ?? ''}&${opts.fieldSelector ?? ''}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer(this.client, ref, opts);
      this.informers.set(key, inf);
      if (this.started) this.running.push(this.run({ name: `informer ${key}`, start: (s) => inf!.start(s) }, this.startSignal!));
    }
    return inf as unknown as Informer<T>;
  }

  /** An event recorder reporting as `component`. */
  recorder(component: string, host?: string): EventRecorder {
    return new EventRecorder(this.client, this.clock, component, this.log, host);
  }

  add(r: Runnable): void {
    this.runnables.push(r);
    if (!this.started) return;
    if (this.elector && r.needLeaderElection !== false) {
      if (this.leaderSignal && !this.leaderSignal.aborted) this.termRuns.push(this.run(r, this.leaderSignal));
    } else this.running.push(this.run(r, this.startSignal!));
  }

  /** Resolves once every informer created so far has listed. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
  }

  /**
   * Runs everything until `signal` aborts; resolves when all have stopped. With leader election,
   * leader-only runnables run in terms (see `Runnable.start`); losing the Lease does not end this.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.started) throw new Error('manager already started');
    this.started = true;
    this.startSignal = signal;
    // Every informer, watch and controller listens for the one abort.
    setMaxListeners(0, signal);
    for (const [key, inf] of this.informers) this.running.push(this.run({ name: `informer ${key}`, start: (s) => inf.start(s) }, signal));
    try {
      await this.waitForSync(signal);
    } catch {
      // aborted before sync
    }
    if (!this.elector) {
      for (const r of this.runnables) this.running.push(this.run(r, signal));
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await Promise.allSettled(this.running);
      return;
    }
    // Leader election: runnables that need it start once the Lease is held, stop if it is lost,
    // and start again in the next term; informers and the other runnables keep running.
    for (const r of this.runnables) if (r.needLeaderElection === false) this.running.push(this.run(r, signal));
    try {
      await this.elector.runTerms(signal, async (leading) => {
        // One abort listener per runnable started in this term (and per worker pool), a set
        // bounded by the runnables: see the listener count test in leaderelection.test.ts.
        setMaxListeners(0, leading);
        this.leaderSignal = leading;
        this.termRuns = this.runnables.filter((r) => r.needLeaderElection !== false).map((r) => this.run(r, leading));
        await new Promise<void>((resolve) => {
          if (leading.aborted) resolve();
          else leading.addEventListener('abort', () => resolve(), { once: true });
        });
        // The term ends once every leader-only runnable has returned.
        await Promise.allSettled(this.termRuns);
        this.termRuns = [];
        this.leaderSignal = undefined;
      });
    } finally {
      await Promise.allSettled(this.running);
    }
  }

  private async run(r: Runnable, signal: AbortSignal): Promise<void> {
    try {
      await r.start(signal);
    } catch (e) {
      if (!signal.aborted) this.log.error({ err: e, runnable: r.name }, 'runnable failed');
    }
  }
}

/** Maps an event on a watched object to the keys to reconcile. */
export type MapFunc = (obj: KubeObject) => string[];

/**
 * Builds a controller: `controllerFor(mgr, Kinds.Deployment).named('deployment')
 * .owns(Kinds.ReplicaSet).complete(reconciler)`.
 */
export class ControllerBuilder {
  private name = '';
  private workers = 1;
  private readonly secondary: { ref: KindRef; map: MapFunc; opts?: InformerOptions }[] = [];

  constructor(
    private readonly mgr: Manager,
    private readonly forRef: KindRef,
    private readonly forOpts: InformerOptions = {},
  ) {}

  named(name: string): this {
    this.name = name;
    return this;
  }

  /** Reconciles the controlling owner (of kind `forRef`) when an owned object changes. */
  owns(ref: KindRef): this {
    this.secondary.push({
      ref,
      map: (o) => {
        const c = controllerRef(o);
        if (!c || c.kind !== this.forRef.kind || c.apiVersion.split('/')[0] !== this.forRef.apiVersion.split('/')[0]) return [];
        return [o.metadata.namespace ? `${o.metadata.namespace}/${c.name}` : c.name];
      },
    });
    return this;
  }

  /** Reconciles the keys `map` returns when an object of `ref` changes. */
  watches(ref: KindRef, map: MapFunc, opts?: InformerOptions): this {
    this.secondary.push({ ref, map, ...(opts ? { opts } : {}) });
    return this;
  }

  /** Number of reconciles running at once (different keys only). */
  concurrency(n: number): this {
    this.workers = n;
    return this;
  }

  complete(reconciler: Reconciler): Controller {
    const primary = this.mgr.informer(this.forRef, this.forOpts);
    const c = new Controller(this.mgr, this.name || this.forRef.kind.toLowerCase(), reconciler, this.workers, primary);
    primary.on({ add: (o) => c.enqueue(objectKeyOf(o)), update: (_, o) => c.enqueue(objectKeyOf(o)), delete: (o) => c.enqueue(objectKeyOf(o)) });
    for (const w of this.secondary) {
      const inf = this.mgr.informer(w.ref, w.opts ?? {});
      const push = (o: KubeObject): void => {
        for (const k of w.map(o)) c.enqueue(k);
      };
      inf.on({
        add: push,
        update: (old, o) => {
          push(old);
          push(o);
        },
        delete: push,
      });
    }
    this.mgr.add(c);
    return c;
  }
}

/** Starts building a controller for a kind. */
export function controllerFor(mgr: Manager, ref: KindRef, opts?: InformerOptions): ControllerBuilder {
  return new ControllerBuilder(mgr, ref, opts);
}

/**
 * A running controller: a work queue and workers calling the reconciler. Restartable: each
 * `start` reopens the queue and queues every object of the primary informer, as
 * controller-runtime's Kind source replays the cache to a newly started controller; so a leader
 * that lost its Lease and leads again looks at everything afresh (level-based).
 */
export class Controller implements Runnable {
  readonly queue: WorkQueue;

  constructor(
    private readonly mgr: Manager,
    readonly name: string,
    private readonly reconciler: Reconciler,
    private readonly workers: number,
    /** The informer of the reconciled kind, replayed into the queue on every start. */
    private readonly primary?: Informer,
  ) {
    this.queue = new WorkQueue(mgr.clock);
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  async start(signal: AbortSignal): Promise<void> {
    const ctx: ReconcileContext = {
      client: this.mgr.client,
      clock: this.mgr.clock,
      log: this.mgr.log.child({ controller: this.name }),
      recorder: this.mgr.recorder(`${this.name}-controller`),
      signal,
    };
    if (signal.aborted) return;
    this.queue.reopen();
    signal.addEventListener('abort', () => this.queue.shutdown(), { once: true });
    for (const o of this.primary?.cache.list() ?? []) this.enqueue(objectKeyOf(o));
    const worker = async (): Promise<void> => {
      for (;;) {
        const key = await this.queue.get();
        if (key === undefined) return;
        if (signal.aborted) {
          // Stopped (leadership lost): leave the rest of the queue; the next start resyncs.
          this.queue.done(key);
          return;
        }
        try {
          const res = await this.reconciler.reconcile(ctx, key);
          if (res?.requeueAfter !== undefined) {
            this.queue.forget(key);
            this.queue.addAfter(key, res.requeueAfter);
          } else if (res?.requeue) {
            this.queue.addRateLimited(key);
          } else {
            this.queue.forget(key);
          }
        } catch (e) {
          if (!signal.aborted) {
            ctx.log.debug({ key, err: (e as Error).message }, 'reconcile failed; will retry');
            this.queue.addRateLimited(key);
          }
        } finally {
          this.queue.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: this.workers }, worker));
  }
}
