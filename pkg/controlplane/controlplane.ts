/**
 * The all-in-one control plane: one process holding the API server, the workload controllers,
 * the scheduler, the node agent (every simulated node's kubelet) and the simulated EC2 account,
 * all talking through the in-process transport. `berth server` puts the HTTP API in front of it;
 * `berth simulate` and the integration tests run it on a virtual clock.
 */
import { createApiServer, type ApiServer } from '../apiserver/index.js';
import { DockerRuntime, imageImportRoutes, NodeAgent, type AgentOptions } from '../agent/index.js';
import { Client } from '../client/client.js';
import type { Clock } from '../clock/clock.js';
import { installAws, type AwsOptions } from '../aws/index.js';
import { installCloud, type CloudOptions } from '../cloud/index.js';
import { installAdmission } from '../admission/index.js';
import { installControllers, type BuiltinControllerOptions } from '../controllers/index.js';
import { Manager } from '../runtime/manager.js';
import { silentLogger, type Logger } from '../runtime/logger.js';
import { installScheduler, type Scheduler, type SchedulerOptions } from '../scheduler/index.js';
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
  {
    name: 'controllers',
    // The quota and limit-range admission plugins go with the controllers that keep quota status.
    install: ({ api, mgr, opts }) => {
      installAdmission(api);
      installControllers(mgr, undefined, opts.controllers);
    },
  },
  {
    name: 'scheduler',
    // The scheduler, and pod priority on the API server (admission, the system PriorityClasses).
    install: async ({ api, mgr, opts, handles }) => {
      handles.scheduler = await installScheduler(api, mgr, opts.scheduler);
    },
  },
  {
    name: 'agent',
    install: ({ api, mgr, opts, handles }) => {
      // With Docker configured, nodes can run real containers (all of them with `agent.runtime: docker`, else those labelled so).
      const docker = opts.docker ? new DockerRuntime({ ...opts.docker, client: mgr.client, clock: mgr.clock, log: mgr.log.child({ component: 'docker-runtime' }) }) : undefined;
      const agent = new NodeAgent(mgr, { ...opts.agent, runtimes: [...(opts.agent?.runtimes ?? []), ...(docker ? [docker] : [])] });
      mgr.add(agent);
      api.logs.current = agent;
      api.exec.current = agent;
      if (docker) api.routes.push(imageImportRoutes(docker));
      api.exec.current = agent;
      handles.agent = agent;
    },
  },
  { name: 'aws', install: async ({ api, mgr, opts, handles }) => void (handles.aws = await installAws(api, mgr, opts.aws)) },
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
  /** The Docker engine the agent's Docker runtime uses (none: every node is simulated). */
  docker?: { host?: string; dataDir: string; pullTimeoutSeconds?: number };
  scheduler?: SchedulerOptions;
  /** Options of the built-in controllers (the node lifecycle controller's grace period). */
  controllers?: BuiltinControllerOptions;
  /** SQS, SNS and Lambda (pkg/aws). */
  aws?: AwsOptions;
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
