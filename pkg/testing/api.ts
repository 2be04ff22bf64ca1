/**
 * An in-process API server for tests: memory (or SQLite) store, the in-process transport, a
 * Client and a Manager, with a virtual or real clock. Components under test are added to the
 * manager by the test itself; `startTestCluster` (cluster.ts) starts the whole control plane.
 */
import { createApiServer, type ApiServer } from '../apiserver/index.js';
import { Client } from '../client/client.js';
import { RealClock, VirtualClock, type Clock } from '../clock/clock.js';
import { Manager } from '../runtime/manager.js';
import { createLogger } from '../runtime/logger.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import type { Backend } from '../storage/types.js';

export interface TestApi {
  api: ApiServer;
  client: Client;
  mgr: Manager;
  clock: Clock;
  /** Starts the manager (informers, then runnables). */
  start(): Promise<void>;
  /** Stops the manager and closes the store. */
  stop(): Promise<void>;
}

export interface TestApiOptions {
  /** A VirtualClock for deterministic tests (default: real time). */
  clock?: Clock;
  backend?: Backend;
}

export async function startTestApi(opts: TestApiOptions = {}): Promise<TestApi> {
  const clock = opts.clock ?? new RealClock();
  const backend = opts.backend ?? new MemoryBackend();
  const api = await createApiServer({ backend, clock });
  const client = new Client(api.transport);
  const mgr = new Manager({ client, clock, log: createLogger() });
  const ac = new AbortController();
  let running: Promise<void> | undefined;
  return {
    api,
    client,
    mgr,
    clock,
    async start() {
      running = mgr.start(ac.signal);
      await mgr.waitForSync();
    },
    async stop() {
      ac.abort();
      await running;
      await backend.close();
    },
  };
}

/** Polls `fn` until it returns a truthy value or `ms` of real time pass; returns the value or throws with `what`. */
export async function eventually<T>(fn: () => T | Promise<T>, what: string, ms = 10_000, clock?: VirtualClock): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    if (clock) await clock.advance(100);
    else await new Promise((r) => setTimeout(r, 20));
  }
}
