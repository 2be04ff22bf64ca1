/**
 * The all-in-one control plane: one process holding the API server, the workload controllers,
 * the scheduler, the node agent (every simulated node's kubelet) and the simulated EC2 account,
 * all talking through the in-process transport. `berth server` puts the HTTP API in front of it;
 * `berth simulate` and the integration tests run it on a virtual clock.
 */
import { createApiServer, type ApiServer } from '../apiserver/index.js';
import { NodeAgent, type AgentOptions } from '../agent/index.js';
import { Client } from '../client/client.js';
import type { Clock } from '../clock/clock.js';
import { installCloud, type CloudOptions } from '../cloud/index.js';
import { installControllers } from '../controllers/index.js';
import { Manager } from '../runtime/manager.js';
import { silentLogger, type Logger } from '../runtime/logger.js';
import { Scheduler, type SchedulerOptions } from '../scheduler/index.js';
import type { Backend } from '../storage/types.js';

/** What a component's installer gets: the API server (to add kinds, hooks, tables, routes) and the manager. */
export interface InstallContext {
  api: ApiServer;
  mgr: Manager;
  opts: ControlPlaneOptions;
  /** Components may keep handles here for others and for tests (the scheduler, the agent). */
  handles: Record<string, unknown>;
}

/**
 * The components of the control plane, in installation order, as data: a name and an installer.
 * `berth server --components` picks among these names.
 */
export const COMPONENTS: { name: string; install: (ctx: InstallContext) => void | Promise<void> }[] = [
  { name: 'cloud', install: ({ api, mgr, opts }) => installCloud(api, mgr, opts.cloud) },
  { name: 'controllers', install: ({ mgr }) => installControllers(mgr) },
  {
    name: 'scheduler',
    install: ({ mgr, opts, handles }) => {
      const scheduler = new Scheduler(mgr, opts.scheduler);
      mgr.add(scheduler);
      handles.scheduler = scheduler;
    },
  },
  {
    name: 'agent',
    install: ({ api, mgr, opts, handles }) => {
      const agent = new NodeAgent(mgr, opts.agent);
      mgr.add(agent);
      api.logs.current = agent;
      handles.agent = agent;
    },
  },
];

export type Component = string;
export const ALL_COMPONENTS: Component[] = COMPONENTS.map((c) => c.name);

export interface ControlPlaneOptions {
  backend: Backend;
  clock: Clock;
  log?: Logger;
  /** Which components run in this process (default: all). */
  components?: Component[];
  cloud?: CloudOptions;
  agent?: AgentOptions;
  scheduler?: SchedulerOptions;
  /** Uniform [0, 1) source for object UIDs and generateName suffixes (default: secure random); `berth simulate` seeds it. */
  random?: () => number;
}

export interface ControlPlane {
  api: ApiServer;
  client: Client;
  mgr: Manager;
  clock: Clock;
  scheduler?: Scheduler;
  agent?: NodeAgent;
  /** What components left for others: `handles.scheduler`, `handles.agent`, … */
  handles: Record<string, unknown>;
  /** True once every informer has listed and the components are running. */
  ready(): boolean;
  /** Starts the components; resolves when they are running. */
  start(): Promise<void>;
  /** Stops the components and closes the store (every acknowledged write is already durable). */
  stop(): Promise<void>;
}

/** Assembles the control plane over a storage backend. Nothing runs until `start`. */
export async function createControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const components = new Set(opts.components ?? ALL_COMPONENTS);
  for (const c of components) {
    if (!COMPONENTS.some((x) => x.name === c)) throw new Error(`unknown component "${c}": choose from ${ALL_COMPONENTS.join(', ')}`);
  }
  const log = opts.log ?? silentLogger();
  const api = await createApiServer({ backend: opts.backend, clock: opts.clock, ...(opts.random ? { random: opts.random } : {}) });
  const client = new Client(api.transport);
  const mgr = new Manager({ client, clock: opts.clock, log });
  const handles: Record<string, unknown> = {};
  for (const c of COMPONENTS) if (components.has(c.name)) await c.install({ api, mgr, opts, handles });
  const scheduler = handles.scheduler as Scheduler | undefined;
  const agent = handles.agent as NodeAgent | undefined;
  const ac = new AbortController();
  let running: Promise<void> | undefined;
  let isReady = false;
  return {
    api,
    client,
    mgr,
    clock: opts.clock,
    ...(scheduler ? { scheduler } : {}),
    ...(agent ? { agent } : {}),
    handles,
    ready: () => isReady,
    async start() {
      running = mgr.start(ac.signal);
      await mgr.waitForSync(ac.signal);
      isReady = true;
    },
    async stop() {
      isReady = false;
      ac.abort();
      await running;
      await opts.backend.close();
    },
  };
}
