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
 * Two tables, written in one transaction per write:
 * - `log`: append-only, one row per revision (the write's type, key, new and previous value);
 *   it is what watches replay, and old rows are compacted away past `historyLimit`;
 * - `kv`: the current value of every live key, so `get` and `list` never scan history.
 *
 * Durability: WAL with `synchronous=NORMAL` makes a committed transaction survive the process
 * being killed (the write is in the OS before the call returns); it may not survive power loss
 * (https://www.sqlite.org/pragma.html#pragma_synchronous). better-sqlite3 is synchronous, so a
 * write's promise resolves only after its commit.
 */
export class SqliteBackend implements Backend {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly hub: EventHub;
  private readonly historyLimit: number;
  private revision: number;
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
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        create_revision INTEGER NOT NULL,
        mod_revision INTEGER NOT NULL
      ) WITHOUT ROWID;
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
    return this.revision;
  }

  async compactedRevision(): Promise<number> {
    return this.compacted;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.check();
    return this.stmt.get.get(key) as KeyValue | undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.check();
    const end = prefixEnd(prefix);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    const fetch = limit > 0 ? limit + 1 : -1;
    const rows = (
      opts.startAfter !== undefined && opts.startAfter >= prefix ? this.stmt.listAfter.all(opts.startAfter, end, fetch) : this.stmt.listFrom.all(prefix, end, fetch)
    ) as KeyValue[];
    const more = limit > 0 && rows.length > limit;
    if (more) rows.length = limit;
    return { items: rows, revision: this.revision, more };
  }

  async count(prefix: string): Promise<number> {
    this.check();
    return (this.stmt.count.get(prefix, prefixEnd(prefix)) as { n: number }).n;
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.check();
    const rev = this.revision + 1;
    this.txCreate(key, value, rev);
    this.revision = rev;
    this.afterWrite({ type: 'create', key, value, revision: rev });
    return { key, value, revision: rev, createRevision: rev };
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KeyValue> {
    this.check();
    const rev = this.revision + 1;
    const cur = this.txUpdate(key, value, rev, expectedRevision);
    this.revision = rev;
    this.afterWrite({ type: 'update', key, value, prevValue: cur.value, revision: rev });
    return { key, value, revision: rev, createRevision: cur.createRevision };
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    this.check();
    const rev = this.revision + 1;
    const cur = this.txDelete(key, rev, expectedRevision);
    this.revision = rev;
    this.afterWrite({ type: 'delete', key, value: cur.value, prevValue: cur.value, revision: rev });
    return { key, value: cur.value, revision: rev, createRevision: cur.createRevision };
  }

  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<StorageEvent> {
    this.check();
    return this.hub.subscribe(prefix, fromRevision, this.revision, signal, (p, after, upTo) => {
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
    this.closed = true;
    this.hub.closeAll();
    this.db.close();
  }

  private tx(fn: () => void): void {
    this.db.transaction(fn)();
  }

  private afterWrite(ev: StorageEvent): void {
    this.hub.publish(ev);
    if (++this.writesSinceCompaction >= this.compactEvery) {
      this.writesSinceCompaction = 0;
      const upTo = this.revision - this.historyLimit;
      if (upTo > this.compacted) {
        // Keep the newest row so the revision counter survives a restart.
        this.tx(() => {
          this.stmt.compact.run(upTo);
          this.stmt.setMeta.run('compacted', upTo);
          this.stmt.setMeta.run('revision', this.revision);
        });
        this.compacted = upTo;
      }
    }
  }

  private check(): void {
    if (this.closed) throw new ClosedError();
  }
}

/** The smallest string greater than every string starting with `prefix`. */
function prefixEnd(prefix: string): string {
  return prefix + '\uffff';
}
