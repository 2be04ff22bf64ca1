/**
 * The all-in-one control plane: one process holding the API server, the workload controllers,
 * the scheduler, the node agent (every simulated node's kubelet) and the simulated EC2 account,
 * all talking through the in-process transport. `berth server` puts the HTTP API in front of it;
 * `berth simulate` and the integration tests run it on a virtual clock.
 */
import { createApiServer, type ApiServer } from '../apiserver/index.js';
import { DockerRuntime, imageImportRoutes, KubeletProxy, NodeAgent, type AgentOptions } from '../agent/index.js';
import { Client } from '../client/client.js';
import type { Clock } from '../clock/clock.js';
import { installAws, type AwsOptions } from '../aws/index.js';
import { installAutoscaling, type AutoscalingOptions } from '../autoscaling/install.js';
import { installCloud, type CloudOptions } from '../cloud/index.js';
import { installAdmission } from '../admission/index.js';
import { installControllers, type BuiltinControllerOptions } from '../controllers/index.js';
import { Manager } from '../runtime/manager.js';
import { LeaderElector, type LeaderElectionOptions } from '../runtime/leaderelection.js';
import { silentLogger, type Logger } from '../runtime/logger.js';
import { installScheduler, type Scheduler, type SchedulerOptions } from '../scheduler/index.js';
import { installElb, type ElbOptions } from '../elb/index.js';
import { installEks } from '../eks/index.js';
import { installEcs } from '../ecs/index.js';
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
  // Every control plane serves the elb kinds (installed below), so groups may follow target groups.
  { name: 'cloud', install: ({ api, mgr, opts }) => installCloud(api, mgr, { ...opts.cloud, targetGroups: true }) },
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
      // Pods of a remote agent's nodes are proxied to its kubelet endpoint; the others go to this agent.
      const kubelets = new KubeletProxy(mgr.client, agent);
      api.logs.current = kubelets;
      api.exec.current = kubelets;
      if (docker) api.routes.push(imageImportRoutes(docker));
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
  // The ECS flavour: task definitions, services, tasks (each backed by one Pod), container instances, capacity providers.
  { name: 'ecs', install: ({ api, mgr }) => installEcs(api, mgr) },
];

export type Component = string;
export const ALL_COMPONENTS: Component[] = COMPONENTS.map((c) => c.name);

/**
 * Components that serve API requests rather than reconcile (SQS, SNS and Lambda behind the API
 * server's port): with leader election they run in every process that has them, outside the
 * leader's term, as every kube-apiserver replica serves requests.
 */
export const API_SIDE_COMPONENTS: ReadonlySet<Component> = new Set(['aws']);

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
   * Each term of leadership builds the components afresh (their own manager, informers and state,
   * talking to this process's API server in process, or to `remote`) and stops them when the
   * Lease is lost; the API server and the API-side components keep serving, and the process
   * campaigns again (see createControlPlane).
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
   * Settles when the components stop: resolves after `stop`; rejects if they failed. Losing the
   * Lease does not settle it: the leader's components stop and the process campaigns again.
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
  if (opts.leaderElection && [...components].some((c) => !API_SIDE_COMPONENTS.has(c))) return leaderElectedControlPlane(opts, components);
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

/**
 * The control plane with leader election (client-go's leaderelection, re-entering candidacy):
 * `base` holds the API server (every component's kinds, hooks, tables and routes) and the
 * API-side components, and runs always; the other components form the leader's term, built anew
 * by createControlPlane (without election) on each acquisition over the base's in-process
 * transport (or `remote`), and stopped when the Lease is lost. While leading, the API server's
 * logs, exec and metrics sources are the term's (its node agent, its application model); while
 * following, they are the base's own.
 */
async function leaderElectedControlPlane(opts: ControlPlaneOptions, components: Set<Component>): Promise<ControlPlane> {
  const election = opts.leaderElection!;
  const { leaderElection: _omit, ...plain } = opts;
  const base = await createControlPlane({ ...plain, components: [...components].filter((c) => API_SIDE_COMPONENTS.has(c)) });
  const elected = [...components].filter((c) => !API_SIDE_COMPONENTS.has(c));
  const log = opts.log ?? silentLogger();
  const elector = new LeaderElector(base.client, opts.clock, election, log);
  const own = { logs: base.api.logs.current, exec: base.api.exec.current, metrics: base.api.metrics.current };
  let term: ControlPlane | undefined;
  const ac = new AbortController();
  let running: Promise<void> | undefined;
  let isReady = false;
  const runTerm = async (leading: AbortSignal): Promise<void> => {
    const cp = await createControlPlane({ ...plain, components: elected, remote: opts.remote ?? base.api.transport });
    if (leading.aborted) return;
    term = cp;
    try {
      await cp.start();
      if (!leading.aborted) {
        if (cp.api.logs.current) base.api.logs.current = cp.api.logs.current;
        if (cp.api.exec.current) base.api.exec.current = cp.api.exec.current;
        if (cp.api.metrics.current) base.api.metrics.current = cp.api.metrics.current;
        await new Promise<void>((resolve) => {
          if (leading.aborted) resolve();
          else leading.addEventListener('abort', () => resolve(), { once: true });
          // A component failing ends the term early, and with it the leadership.
          cp.done().then(resolve, resolve);
        });
      }
    } finally {
      base.api.logs.current = own.logs;
      base.api.exec.current = own.exec;
      base.api.metrics.current = own.metrics;
      term = undefined;
      await cp.stop();
    }
    // cp.done() settled while still leading: a component failed.
    if (!leading.aborted) await cp.done();
    if (!leading.aborted) throw new Error('the control plane components stopped while leading');
  };
  return {
    api: base.api,
    client: base.client,
    mgr: base.mgr,
    clock: opts.clock,
    get scheduler() {
      return term?.scheduler;
    },
    get agent() {
      return term?.agent;
    },
    get handles() {
      return { ...base.handles, ...(term?.handles ?? {}) };
    },
    ready: () => isReady,
    done: () => running ?? Promise.resolve(),
    async start() {
      await base.start();
      running = elector.runTerms(ac.signal, runTerm);
      isReady = true;
    },
    async stop() {
      isReady = false;
      ac.abort();
      await running?.catch(() => undefined);
      await base.stop();
    },
  };
}
