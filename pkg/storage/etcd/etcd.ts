import { Etcd3, type IOptions } from 'etcd3';
import {
  ClosedError,
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionMismatchError,
  StorageError,
  type Backend,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type StorageEvent,
} from '../types.js';

/** How an EtcdBackend reaches its cluster and how much history it keeps. */
export interface EtcdBackendOptions {
  /** Client URLs of the members, e.g. `['http://127.0.0.1:2379']`. */
  endpoints: string[];
  /**
   * Prepended to every key (kube-apiserver's `--etcd-prefix`), so several clusters can share one
   * etcd. Default `''`: berth's keys already begin with `/registry/`.
   */
  prefix?: string;
  /**
   * Revisions kept for watch resumption: once the store is this many revisions past its last
   * compaction, it compacts to `current - historyLimit`, and older watches get CompactedError
   * (`410 Expired`). Default 10,000. kube-apiserver compacts on a timer (5 min); berth compacts by
   * count so that the window means the same on every store.
   */
  historyLimit?: number;
  /** Per-call deadline in milliseconds (default 5,000); a call past it rejects. Watches have none. */
  timeoutMs?: number;
}

/**
 * The Backend contract on etcd v3, as kube-apiserver uses it
 * (https://etcd.io/docs/v3.4/learning/api/): etcd's own revision is the resourceVersion, a create
 * is a transaction on `create_revision == 0`, a compare-and-swap update or delete is a transaction
 * on `mod_revision`, watches are etcd watches from `fromRevision + 1` with previous values, and
 * compaction makes old revisions unwatchable. Several berth servers may share one cluster: every
 * write is linearizable through raft, and each server's watches see every other server's writes.
 *
 * Errors: the StorageError family of `../types.ts`; a lost cluster rejects with the client's
 * error (`GRPCUnavailableError`, …), which the API server reports as 500/503.
 */
export class EtcdBackend implements Backend {
  readonly kind = 'etcd';
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly historyLimit: number;
  private compacted = 0;
  private compacting: Promise<void> | undefined;
  private closed = false;
  private readonly cancels = new Set<() => void>();

  constructor(opts: EtcdBackendOptions) {
    if (opts.endpoints.length === 0) throw new Error('etcd: no endpoints');
    const options: IOptions = {
      hosts: opts.endpoints,
      // The deadline is per unary call. A watch is one long-lived stream: with a deadline it was cut
      // every 5 s, and its events then stalled until the client's reconnect caught up.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + (opts.timeoutMs ?? 5_000) }),
    };
    this.client = new Etcd3(options);
    this.prefix = opts.prefix ?? '';
    this.historyLimit = opts.historyLimit ?? 10_000;
  }

  async currentRevision(): Promise<number> {
    this.check();
    const r = await this.client.kv.range({ key: this.k('/'), count_only: true });
    return Number(r.header.revision);
  }

  async compactedRevision(): Promise<number> {
    this.check();
    await this.compacting;
    return this.compacted;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.check();
    const r = await this.client.kv.range({ key: this.k(key) });
    const kv = r.kvs[0];
    return kv ? this.fromKv(kv) : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.check();
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const from = opts.startAfter !== undefined && opts.startAfter >= prefix ? opts.startAfter + '\0' : prefix;
    const r = await this.client.kv.range({
      key: this.k(from),
      range_end: prefixEnd(this.k(prefix)),
      limit: limit ? limit + 1 : 0,
      sort_order: 'Ascend',
      sort_target: 'Key',
    });
    const items = r.kvs.map((kv) => this.fromKv(kv));
    const more = limit > 0 && items.length > limit;
    if (more) items.length = limit;
    return { items, revision: Number(r.header.revision), more };
  }

  async count(prefix: string): Promise<number> {
    this.check();
    const r = await this.client.kv.range({ key: this.k(prefix), range_end: prefixEnd(this.k(prefix)), count_only: true });
    return Number(r.count);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.check();
    const k = this.k(key);
    const r = await this.client.kv.txn({
      compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: k, value: Buffer.from(value) } }],
    });
    if (!r.succeeded) throw new KeyExistsError(key);
    const revision = Number(r.header.revision);
    this.afterWrite(revision);
    return { key, value, revision, createRevision: revision };
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KeyValue> {
    this.check();
    const k = this.k(key);
    const r = await this.client.kv.txn({
      compare: [
        expectedRevision === undefined
          ? { key: k, target: 'Create', result: 'Greater', create_revision: 0 }
          : { key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision },
      ],
      success: [{ request_put: { key: k, value: Buffer.from(value), prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!r.succeeded) throw this.mismatch(key, expectedRevision, r.responses[0]?.response_range.kvs[0]);
    const revision = Number(r.header.revision);
    const prev = r.responses[0]!.response_put.prev_kv;
    this.afterWrite(revision);
    return { key, value, revision, createRevision: prev ? Number(prev.create_revision) : revision };
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    this.check();
    const k = this.k(key);
    const r = await this.client.kv.txn({
      compare: [
        expectedRevision === undefined
          ? { key: k, target: 'Create', result: 'Greater', create_revision: 0 }
          : { key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision },
      ],
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!r.succeeded) throw this.mismatch(key, expectedRevision, r.responses[0]?.response_range.kvs[0]);
    const revision = Number(r.header.revision);
    const prev = r.responses[0]!.response_delete_range.prev_kvs[0]!;
    this.afterWrite(revision);
    return { key, value: prev.value.toString(), revision, createRevision: Number(prev.create_revision) };
  }

  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<StorageEvent> {
    this.check();
    if (fromRevision < this.compacted) throw new CompactedError(fromRevision, this.compacted);
    const queue = new EventQueue();
    const builder = this.client
      .watch()
      .prefix(this.k(prefix))
      .withPreviousKV()
      .startRevision(String(fromRevision + 1));
    let cancel = (): void => queue.end();
    const stop = (): void => {
      this.cancels.delete(stop);
      cancel();
    };
    this.cancels.add(stop);
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    if (!signal.aborted) {
      builder.create().then(
        (w) => {
          cancel = () => {
            queue.end();
            void w.cancel().catch(() => undefined);
          };
          if (signal.aborted || this.closed) cancel();
          w.on('put', (kv, prev) => {
            const revision = Number(kv.mod_revision);
            queue.push({
              type: kv.version === '1' ? 'create' : 'update',
              key: this.unk(kv.key),
              value: kv.value.toString(),
              ...(prev && kv.version !== '1' ? { prevValue: prev.value.toString() } : {}),
              revision,
            });
          });
          w.on('delete', (kv, prev) => {
            const value = prev ? prev.value.toString() : '';
            queue.push({ type: 'delete', key: this.unk(kv.key), value, prevValue: value, revision: Number(kv.mod_revision) });
          });
          w.on('error', (err: Error) => {
            if (/compacted/i.test(err.message)) {
              queue.fail(new CompactedError(fromRevision, Math.max(this.compacted, fromRevision + 1)));
            } else queue.fail(err);
          });
        },
        (err: Error) => queue.fail(/compacted/i.test(err.message) ? new CompactedError(fromRevision, this.compacted) : err),
      );
    }
    return queue;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stop of [...this.cancels]) stop();
    await this.compacting?.catch(() => undefined);
    this.client.close();
  }

  /** Compacts once the store is `historyLimit` revisions past its last compaction. */
  private afterWrite(revision: number): void {
    if (revision - this.compacted <= 2 * this.historyLimit || this.compacting) return;
    const target = revision - this.historyLimit;
    this.compacting = this.client.kv
      .compact({ revision: target, physical: false })
      .then(
        () => {
          this.compacted = Math.max(this.compacted, target);
        },
        (err: Error) => {
          // Another server compacted past it already: the window is at least that old.
          if (/compacted/i.test(err.message)) this.compacted = Math.max(this.compacted, target);
        },
      )
      .finally(() => {
        this.compacting = undefined;
      });
  }

  private mismatch(key: string, expected: number | undefined, current: { mod_revision: string } | undefined): StorageError {
    if (!current) return new KeyNotFoundError(key);
    return new RevisionMismatchError(key, expected ?? 0, Number(current.mod_revision));
  }

  private fromKv(kv: { key: Buffer; value: Buffer; mod_revision: string; create_revision: string }): KeyValue {
    return { key: this.unk(kv.key), value: kv.value.toString(), revision: Number(kv.mod_revision), createRevision: Number(kv.create_revision) };
  }

  private k(key: string): Buffer {
    return Buffer.from(this.prefix + key);
  }

  private unk(key: Buffer): string {
    return key.toString().slice(this.prefix.length);
  }

  private check(): void {
    if (this.closed) throw new ClosedError();
  }
}

/** The smallest key greater than every key beginning with `prefix` (etcd's `range_end`). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** An async iterable fed by callbacks: events in order, then the end or an error. */
class EventQueue implements AsyncIterable<StorageEvent> {
  private readonly items: StorageEvent[] = [];
  private waiting: ((r: IteratorResult<StorageEvent>) => void) | undefined;
  private failWaiting: ((e: Error) => void) | undefined;
  private done = false;
  private error: Error | undefined;

  push(ev: StorageEvent): void {
    if (this.done) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = this.failWaiting = undefined;
      w({ value: ev, done: false });
    } else this.items.push(ev);
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = this.failWaiting = undefined;
      w({ value: undefined, done: true });
    }
  }

  fail(err: Error): void {
    if (this.done) return;
    this.error = err;
    this.done = true;
    if (this.failWaiting) {
      const f = this.failWaiting;
      this.waiting = this.failWaiting = undefined;
      f(err);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<StorageEvent> {
    return {
      next: () => {
        const ev = this.items.shift();
        if (ev) return Promise.resolve({ value: ev, done: false });
        if (this.error) return Promise.reject(this.error);
        if (this.done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiting = resolve;
          this.failWaiting = reject;
        });
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
