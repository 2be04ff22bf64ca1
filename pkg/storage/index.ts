/**
 * Storage: the Backend contract and its implementations. `openBackend` picks one from a
 * connection string, as kine does: `memory`, `sqlite` (at `<dataDir>/state.db`), or
 * `sqlite:///path/to/file.db`.
 */
import { join } from 'node:path';
import { MemoryBackend } from './memory/memory.js';
import { SqliteBackend } from './sqlite/sqlite.js';
import { EtcdBackend } from './etcd/etcd.js';
import type { Backend } from './types.js';

export * from './types.js';
export { MemoryBackend } from './memory/memory.js';
export { SqliteBackend } from './sqlite/sqlite.js';
export { EtcdBackend } from './etcd/etcd.js';
export { EventHub } from './hub.js';

/** Thrown when a `--store` value names no known backend. */
export class UnknownStoreError extends Error {
  readonly code = 'UnknownStore';
  constructor(spec: string) {
    super(`unknown store "${spec}": use memory, sqlite, sqlite:///path/to/state.db or etcd://host:port[,host:port…]`);
    this.name = 'UnknownStoreError';
  }
}

/** Options of `openBackend` that only some stores use. */
export interface OpenBackendOptions {
  /** Prepended to every etcd key (`--etcd-prefix`). */
  etcdPrefix?: string;
}

/**
 * Opens the backend a `--store` flag names. `dataDir` is where `sqlite` keeps `state.db`;
 * `etcd://h1:p1,h2:p2` names the client endpoints of an etcd v3 cluster (http). Throws
 * UnknownStoreError.
 */
export function openBackend(spec: string, dataDir: string, opts: OpenBackendOptions = {}): Backend {
  if (spec === 'memory') return new MemoryBackend({ groupCommit: true });
  if (spec.startsWith('etcd://')) {
    const hosts = spec.slice('etcd://'.length).split(',').map((h) => h.trim()).filter(Boolean);
    if (hosts.length === 0 || hosts.some((h) => !/^[^\s/:]+:\d+$/.test(h))) throw new UnknownStoreError(spec);
    return new EtcdBackend({ endpoints: hosts.map((h) => `http://${h}`), ...(opts.etcdPrefix ? { prefix: opts.etcdPrefix } : {}) });
  }
  if (spec === 'sqlite') return new SqliteBackend({ path: join(dataDir, 'state.db') });
  if (spec.startsWith('sqlite://')) return new SqliteBackend({ path: spec.slice('sqlite://'.length) });
  throw new UnknownStoreError(spec);
}
