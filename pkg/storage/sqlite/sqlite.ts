import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { EventHub } from '../hub.js';
import {
  ClosedError,
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionMismatchError,
  type Backend,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type StorageEvent,
} from '../types.js';

export interface SqliteBackendOptions {
  /** Database file; created with its folder if missing. `:memory:` works for tests. */
  path: string;
  /** Revisions of history kept in the log for watch resumption (default 100,000). */
  historyLimit?: number;
  /** Events kept in memory for fast watch resumption (default 10,000). */
  memoryHistoryLimit?: number;
}

const TYPE_CODE = { create: 0, update: 1, delete: 2 } as const;
const TYPE_NAME = ['create', 'update', 'delete'] as const;

/**
 * A Backend on SQLite (better-sqlite3 v12), in WAL mode.
 *
 * Two tables, written together:
 * - `log`: append-only, one row per revision (the write's type, key, new and previous value);
 *   it is what watches replay, and old rows are compacted away past `historyLimit`;
 * - `kv`: the current value of every live key, so `get` and `list` never scan history. A rowid
 *   table with an index on `key`: objects are kilobytes of JSON, and a WITHOUT ROWID table keeps
 *   only ~1 KiB of a row in its b-tree page and the rest in overflow pages, which made every
 *   update rewrite several pages (https://www.sqlite.org/withoutrowid.html, section 4: WITHOUT
 *   ROWID suits small rows). Files made before keep their WITHOUT ROWID `kv`, which works the same.
 *
 * Group commit: writes issued in the same turn of the event loop share one transaction. The
 * first opens it (`BEGIN IMMEDIATE`); each write runs at once inside it (its compare-and-swap
 * checks see the writes before it, and a failing write rolls back only itself, through a
 * savepoint); a `setImmediate` commits them all. A write's promise resolves, and its watch event
 * is published, only after that commit; reads (`get`, `list`, `count`) wait for an open batch to
 * commit, so no one ever sees a write that is not yet durable. If the commit fails, every write of
 * the batch rejects and the revision counter goes back.
 *
 * Durability: WAL with `synchronous=NORMAL` makes a committed transaction survive the process
 * being killed (the write is in the OS before the call returns); it may not survive power loss
 * (https://www.sqlite.org/pragma.html#pragma_synchronous).
 */
export class SqliteBackend implements Backend {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly hub: EventHub;
  private readonly historyLimit: number;
  /** The revision of the last write, committed or in the open batch. */
  private revision: number;
  /** The revision of the last committed write: what readers and watchers see. */
  private committedRevision: number;
  /** The open group-commit transaction, if writes are waiting for their commit. */
  private batch: Batch | undefined;
  private compacted: number;
  private writesSinceCompaction = 0;
  private readonly compactEvery: number;
  private closed = false;
  private readonly stmt: ReturnType<SqliteBackend['prepare']>;

  constructor(opts: SqliteBackendOptions) {
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    // A 64 MiB page cache (SQLite's default is 2 MiB): the hot pages of `kv` and the tail of `log`
    // stay in memory rather than being re-read from the OS on every get, list and commit.
    this.db.pragma('cache_size = -65536');
    // Checkpoint the WAL into the database every 10,000 pages (~40 MiB) rather than SQLite's
    // default 1,000: a page written many times between checkpoints is copied once, and the
    // checkpoints' fsyncs are fewer. Commits of a write-heavy mix (pods updated, events created)
    // spent about a third less time.
    this.db.pragma('wal_autocheckpoint = 10000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        create_revision INTEGER NOT NULL,
        mod_revision INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS log (
        revision INTEGER PRIMARY KEY,
        type INTEGER NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        prev_value TEXT
      );
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    this.historyLimit = opts.historyLimit ?? 100_000;
    this.compactEvery = Math.min(1000, this.historyLimit);
    this.hub = new EventHub(opts.memoryHistoryLimit ?? Math.min(10_000, this.historyLimit));
    this.stmt = this.prepare();
    const maxLog = (this.stmt.maxRevision.get() as { r: number | null }).r ?? 0;
    const metaRev = (this.stmt.getMeta.get('revision') as { value: number } | undefined)?.value ?? 0;
    this.revision = Math.max(maxLog, metaRev);
    this.committedRevision = this.revision;
    this.compacted = (this.stmt.getMeta.get('compacted') as { value: number } | undefined)?.value ?? 0;
    const st = this.stmt;
    // Transactions compiled once: better-sqlite3 wraps each in BEGIN/COMMIT.
    this.txCreate = this.db.transaction((key: string, value: string, rev: number) => {
      if (st.get.get(key)) throw new KeyExistsError(key);
      st.insertKv.run(key, value, rev, rev);
      st.insertLog.run(rev, TYPE_CODE.create, key, value, null);
    });
    this.txUpdate = this.db.transaction((key: string, value: string, rev: number, expected: number | undefined): KeyValue => {
      const cur = st.get.get(key) as KeyValue | undefined;
      if (!cur) throw new KeyNotFoundError(key);
      if (expected !== undefined && expected !== cur.revision) throw new RevisionMismatchError(key, expected, cur.revision);
      st.updateKv.run(value, rev, key);
      st.insertLog.run(rev, TYPE_CODE.update, key, value, cur.value);
      return cur;
    });
    this.txDelete = this.db.transaction((key: string, rev: number, expected: number | undefined): KeyValue => {
      const cur = st.get.get(key) as KeyValue | undefined;
      if (!cur) throw new KeyNotFoundError(key);
      if (expected !== undefined && expected !== cur.revision) throw new RevisionMismatchError(key, expected, cur.revision);
      st.deleteKv.run(key);
      st.insertLog.run(rev, TYPE_CODE.delete, key, cur.value, cur.value);
      return cur;
    });
  }

  private readonly txCreate: (key: string, value: string, rev: number) => void;
  private readonly txUpdate: (key: string, value: string, rev: number, expected: number | undefined) => KeyValue;
  private readonly txDelete: (key: string, rev: number, expected: number | undefined) => KeyValue;

  private prepare() {
    const db = this.db;
    return {
      get: db.prepare('SELECT key, value, create_revision AS createRevision, mod_revision AS revision FROM kv WHERE key = ?'),
      listFrom: db.prepare('SELECT key, value, create_revision AS createRevision, mod_revision AS revision FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?'),
      listAfter: db.prepare('SELECT key, value, create_revision AS createRevision, mod_revision AS revision FROM kv WHERE key > ? AND key < ? ORDER BY key LIMIT ?'),
      count: db.prepare('SELECT count(*) AS n FROM kv WHERE key >= ? AND key < ?'),
      insertKv: db.prepare('INSERT INTO kv (key, value, create_revision, mod_revision) VALUES (?, ?, ?, ?)'),
      updateKv: db.prepare('UPDATE kv SET value = ?, mod_revision = ? WHERE key = ?'),
      deleteKv: db.prepare('DELETE FROM kv WHERE key = ?'),
      insertLog: db.prepare('INSERT INTO log (revision, type, key, value, prev_value) VALUES (?, ?, ?, ?, ?)'),
      maxRevision: db.prepare('SELECT max(revision) AS r FROM log'),
      replay: db.prepare('SELECT revision, type, key, value, prev_value AS prevValue FROM log WHERE revision > ? AND revision <= ? AND key >= ? AND key < ? ORDER BY revision'),
      compact: db.prepare('DELETE FROM log WHERE revision <= ?'),
      getMeta: db.prepare('SELECT value FROM meta WHERE name = ?'),
      setMeta: db.prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value'),
    };
  }

  async currentRevision(): Promise<number> {
    return this.committedRevision;
  }

  async compactedRevision(): Promise<number> {
    return this.compacted;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    if (this.batch) await this.settled();
    this.check();
    return this.stmt.get.get(key) as KeyValue | undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    if (this.batch) await this.settled();
    this.check();
    const end = prefixEnd(prefix);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    const fetch = limit > 0 ? limit + 1 : -1;
    const rows = (
      opts.startAfter !== undefined && opts.startAfter >= prefix ? this.stmt.listAfter.all(opts.startAfter, end, fetch) : this.stmt.listFrom.all(prefix, end, fetch)
    ) as KeyValue[];
    const more = limit > 0 && rows.length > limit;
    if (more) rows.length = limit;
    return { items: rows, revision: this.committedRevision, more };
  }

  async count(prefix: string): Promise<number> {
    if (this.batch) await this.settled();
    this.check();
    return (this.stmt.count.get(prefix, prefixEnd(prefix)) as { n: number }).n;
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.check();
    const b = this.openBatch();
    const rev = this.revision + 1;
    this.txCreate(key, value, rev);
    this.added(b, { type: 'create', key, value, revision: rev });
    await b.done;
    return { key, value, revision: rev, createRevision: rev };
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KeyValue> {
    this.check();
    const b = this.openBatch();
    const rev = this.revision + 1;
    const cur = this.txUpdate(key, value, rev, expectedRevision);
    this.added(b, { type: 'update', key, value, prevValue: cur.value, revision: rev });
    await b.done;
    return { key, value, revision: rev, createRevision: cur.createRevision };
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    this.check();
    const b = this.openBatch();
    const rev = this.revision + 1;
    const cur = this.txDelete(key, rev, expectedRevision);
    this.added(b, { type: 'delete', key, value: cur.value, prevValue: cur.value, revision: rev });
    await b.done;
    return { key, value: cur.value, revision: rev, createRevision: cur.createRevision };
  }

  /** The open batch, opening one (and scheduling its commit) if none is. */
  private openBatch(): Batch {
    if (this.batch) return this.batch;
    this.db.exec('BEGIN IMMEDIATE');
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    done.catch(() => undefined); // a batch whose writes all failed has no one waiting on it
    const b: Batch = { done, resolve, reject, events: [] };
    this.batch = b;
    setImmediate(() => this.commit(b));
    return b;
  }

  /** A write of the open batch succeeded (in its savepoint): count it, keep its event for after the commit. */
  private added(b: Batch, ev: StorageEvent): void {
    this.revision = ev.revision;
    b.events.push(ev);
    this.writesSinceCompaction++;
  }

  /** Commits the batch, then publishes its events and resolves its writes; on failure rolls back and rejects them. */
  private commit(b: Batch): void {
    if (this.batch !== b) return; // committed already (by close)
    this.batch = undefined;
    let compactedTo: number | undefined;
    try {
      if (this.writesSinceCompaction >= this.compactEvery) {
        this.writesSinceCompaction = 0;
        const upTo = this.revision - this.historyLimit;
        if (upTo > this.compacted) {
          // Keep the newest row so the revision counter survives a restart.
          this.stmt.compact.run(upTo);
          this.stmt.setMeta.run('compacted', upTo);
          this.stmt.setMeta.run('revision', this.revision);
          compactedTo = upTo;
        }
      }
      this.db.exec('COMMIT');
    } catch (e) {
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch {
        // the connection is gone; the writes are lost either way
      }
      this.revision = this.committedRevision;
      b.reject(e as Error);
      return;
    }
    this.committedRevision = this.revision;
    if (compactedTo !== undefined) this.compacted = compactedTo;
    for (const ev of b.events) this.hub.publish(ev);
    b.resolve();
  }

  /** Resolves once no batch is open (its writes committed or failed). */
  private async settled(): Promise<void> {
    while (this.batch) await this.batch.done.catch(() => undefined);
  }

  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<StorageEvent> {
    this.check();
    // Replay reads the log only up to the committed revision: rows of an open batch are not yet durable.
    return this.hub.subscribe(prefix, fromRevision, this.committedRevision, signal, (p, after, upTo) => {
      if (after < this.compacted) throw new CompactedError(after, this.compacted);
      const rows = this.stmt.replay.all(after, upTo, p, prefixEnd(p)) as { revision: number; type: number; key: string; value: string; prevValue: string | null }[];
      return rows.map((r) => {
        const ev: StorageEvent = { type: TYPE_NAME[r.type]!, key: r.key, value: r.value, revision: r.revision };
        if (r.prevValue !== null) ev.prevValue = r.prevValue;
        return ev;
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.batch) this.commit(this.batch);
    this.closed = true;
    this.hub.closeAll();
    this.db.close();
  }

  private check(): void {
    if (this.closed) throw new ClosedError();
  }
}

/** Writes sharing one transaction, committed together. */
interface Batch {
  /** Settles when the transaction commits (resolves) or fails (rejects). */
  done: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
  /** The batch's events, in revision order, published after the commit. */
  events: StorageEvent[];
}

/** The smallest string greater than every string starting with `prefix`. */
function prefixEnd(prefix: string): string {
  return prefix + '\uffff';
}
