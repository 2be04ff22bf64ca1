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
import { installAutoscaling, type AutoscalingOptions } from '../autoscaling/install.js';
import { installCloud, type CloudOptions } from '../cloud/index.js';
import { installAdmission } from '../admission/index.js';
import { installControllers, type BuiltinControllerOptions } from '../controllers/index.js';
import { Manager } from '../runtime/manager.js';
import type { LeaderElectionOptions } from '../runtime/leaderelection.js';
import { silentLogger, type Logger } from '../runtime/logger.js';
import { installScheduler, type Scheduler, type SchedulerOptions } from '../scheduler/index.js';
import { installElb, type ElbOptions } from '../elb/index.js';
import { installEks } from '../eks/index.js';
import type { Backend } from '../storage/types.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import type { Transport } from '../client/types.js';

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
      // Nodes that a remote `berth agent` registered (labelled node.berth.dev/agent) are that agent's to run.
      const agent = new NodeAgent(mgr, { nodeSelector: '!node.berth.dev/agent', ...opts.agent, runtimes: [...(opts.agent?.runtimes ?? []), ...(docker ? [docker] : [])] });
      mgr.add(agent);
      api.logs.current = agent;
      api.exec.current = agent;
      if (docker) api.routes.push(imageImportRoutes(docker));
      api.exec.current = agent;
      handles.agent = agent;
    },
  },
  { name: 'aws', install: async ({ api, mgr, opts, handles }) => void (handles.aws = await installAws(api, mgr, opts.aws)) },
  // Services (Endpoints, EndpointSlices), load balancers with real listeners, pod autoscaling.
  { name: 'elb', install: ({ api, mgr, opts, handles }) => void (handles.elb = installElb(api, mgr, opts.elb)) },
  // Node autoscaling: Cluster Autoscaler over labelled Auto Scaling groups, Karpenter's NodePools, scaling policies.
  { name: 'autoscaling', install: async ({ api, mgr, opts, handles }) => void (handles.autoscaling = await installAutoscaling(api, mgr, { ...opts.autoscaling, ...(opts.cloud?.catalog ? { catalog: opts.cloud.catalog } : {}) })) },
  // The EKS flavour: Fargate profiles, the fargate-scheduler (one Fargate node per pod) and `GET /billing/v1/fargate`.
  { name: 'eks', install: ({ api, mgr, handles }) => void (handles.eks = installEks(api, mgr)) },
];

export type Component = string;
export const ALL_COMPONENTS: Component[] = COMPONENTS.map((c) => c.name);

/** The process roles `berth server --components` accepts (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet). */
export const ROLES = ['apiserver', 'controllers', 'scheduler', 'agent', 'all'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Maps process roles to components: `scheduler` and `agent` are themselves, `controllers` is every
 * other component (workload controllers, the simulated cloud, AWS services, load balancers,
 * autoscaling), `all` is everything including the API server. Throws RangeError for an unknown role.
 */
export function componentsForRoles(roles: string[]): { apiserver: boolean; components: Component[] } {
  for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) throw new RangeError(`unknown component "${r}": choose from ${ROLES.join(', ')}`);
  const all = roles.includes('all');
  const components = ALL_COMPONENTS.filter((c) => all || (c === 'scheduler' || c === 'agent' ? roles.includes(c) : roles.includes('controllers')));
  return { apiserver: all || roles.includes('apiserver'), components };
}

export interface ControlPlaneOptions {
  backend: Backend;
  clock: Clock;
  log?: Logger;
  /** Which components run in this process (default: all). The others' kinds, hooks and routes are still served. */
  components?: Component[];
  /**
   * Run the components against another process's API server over this transport
   * (`berth server --components scheduler --server URL`), with the same client code as in process.
   * The local API server then only holds the kinds' definitions; `backend` is unused.
   */
  remote?: Transport;
  cloud?: CloudOptions;
  agent?: AgentOptions;
  /** The Docker engine the agent's Docker runtime uses (none: every node is simulated). */
  docker?: { host?: string; dataDir: string; pullTimeoutSeconds?: number };
  scheduler?: SchedulerOptions;
  /** Options of the built-in controllers (the node lifecycle controller's grace period). */
  controllers?: BuiltinControllerOptions;
  /** SQS, SNS and Lambda (pkg/aws). */
  aws?: AwsOptions;
  /** The node autoscaler, Karpenter and scaling policies (pkg/autoscaling/install.ts). */
  autoscaling?: AutoscalingOptions;
  /** Services, load balancers and pod autoscaling (pkg/elb). */
  elb?: ElbOptions;
  /**
   * Run the components only while this process holds the Lease (`kube-system/<name>`), so that
   * several servers on one shared store (etcd) never act twice. Default off: one process owns its store.
   */
  leaderElection?: LeaderElectionOptions;
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
  /**
   * Settles when the components stop: resolves after `stop`, rejects with LeaderElectionLostError
   * (code `LeaderElectionLost`) when another process took the Lease — a server should then exit,
   * as kube-controller-manager does.
   */
  done(): Promise<void>;
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
  const api = await createApiServer({ backend: opts.remote ? new MemoryBackend() : opts.backend, clock: opts.clock, ...(opts.random ? { random: opts.random } : {}) });
  const client = new Client(opts.remote ?? api.transport);
  const mgr = new Manager({ client, clock: opts.clock, log, ...(opts.leaderElection ? { leaderElection: opts.leaderElection } : {}) });
  // Components that run elsewhere still install their API side here (kinds, defaulting, admission,
  // tables, routes), with their runnables on a manager that never starts.
  const inert = new Manager({ client, clock: opts.clock, log });
  const handles: Record<string, unknown> = {};
  for (const c of COMPONENTS) {
    if (components.has(c.name)) await c.install({ api, mgr, opts, handles });
    else if (!opts.remote) await c.install({ api, mgr: inert, opts, handles: {} });
  }
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
    done: () => running ?? Promise.resolve(),
    async start() {
      if (components.size === 0) {
        isReady = true; // an API server alone: nothing to run
        return;
      }
      running = mgr.start(ac.signal);
      await mgr.waitForSync(ac.signal);
      isReady = true;
    },
    async stop() {
      isReady = false;
      ac.abort();
      await running?.catch(() => undefined);
      if (!opts.remote) await opts.backend.close();
    },
  };
}
