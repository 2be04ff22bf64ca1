/**
 * Storage: the Backend contract and its implementations. `openBackend` picks one from a
 * connection string, as kine does: `memory`, `sqlite` (at `<dataDir>/state.db`), or
 * `sqlite:///path/to/file.db`.
 */
import { join } from 'node:path';
import { MemoryBackend } from './memory/memory.js';
import { SqliteBackend } from './sqlite/sqlite.js';
import type { Backend } from './types.js';

export * from './types.js';
export { MemoryBackend } from './memory/memory.js';
export { SqliteBackend } from './sqlite/sqlite.js';
export { EventHub } from './hub.js';

/** Thrown when a `--store` value names no known backend. */
export class UnknownStoreError extends Error {
  readonly code = 'UnknownStore';
  constructor(spec: string) {
    super(`unknown store "${spec}": use memory, sqlite or sqlite:///path/to/state.db`);
    this.name = 'UnknownStoreError';
  }
}

/**
 * Opens the backend a `--store` flag names. `dataDir` is where `sqlite` keeps `state.db`.
 * Throws UnknownStoreError.
 */
export function openBackend(spec: string, dataDir: string): Backend {
  if (spec === 'memory') return new MemoryBackend();
  if (spec === 'sqlite') return new SqliteBackend({ path: join(dataDir, 'state.db') });
  if (spec.startsWith('sqlite://')) return new SqliteBackend({ path: spec.slice('sqlite://'.length) });
  throw new UnknownStoreError(spec);
}
