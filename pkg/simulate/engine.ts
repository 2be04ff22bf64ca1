/**
 * The simulation engine: the real control plane (`createControlPlane`: API layer, controllers,
 * scheduler, node agent, simulated EC2) on the memory store and a VirtualClock, driven as a
 * discrete-event simulation.
 *
 * ```
 *   apply manifests at time zero ─▶ settle
 *          │
 *          ▼
 *   ┌─▶ next instant T = min(next timer, next event, next hourly sample, end)
 *   │   fire every timer due at T ─▶ settle ─▶ sample (on the hour) ─▶ events at T ─▶ settle
 *   └── until T is the end and no timer is due at it
 * ```
 *
 * "Settle" means the cluster has nothing left to do at this instant (quiescence.ts); only then
 * does the clock jump. Every random choice comes from the seed: object UIDs and generated names
 * (the API server), instance ids and boot jitter (the cloud), stage delays (the agent) and the
 * instances events pick, each from its own stream, so the same seed gives the same run and the
 * same summary, byte for byte.
 */
import { StatusError } from '../api/errors.js';
import { UnknownResourceError, type ResourceInfo } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import type { AgentOptions } from '../agent/index.js';
import { rfc3339, VirtualClock } from '../clock/clock.js';
import { seededRandom } from '../clock/random.js';
import type { Client } from '../client/client.js';
import { PURCHASE_OPTIONS, type CloudOptions } from '../cloud/index.js';
import type { BuiltinControllerOptions } from '../controllers/index.js';
import type { ManifestDoc } from '../cli/manifest.js';
import { kindPrefix } from '../cli/printers.js';
import { createControlPlane } from '../controlplane/index.js';
import type { SchedulerOptions } from '../scheduler/index.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import { applyDocs } from './apply.js';
import { simulatedAccount, type CostReport, type SimulatedAccount } from './cloud.js';
import { formatDuration } from './duration.js';
import { describeEvent, describeProfile, EventsFileError, LOAD_TARGET_KINDS, type LoadEvent, type SimEvent } from './events.js';
import { FunctionLoad, functionLoadSummary, LoadRecorder, type FunctionLoadSummary, type LoadSummary } from './load.js';
import type { AwsHandle } from '../aws/index.js';
import { lambdaCostReport, type LambdaCostReport } from '../aws/lambda/cost.js';
import { allServicesUSD } from '../cli/cost.js';
import { fargateCostFromApi, type FargateCostReport } from '../eks/cost.js';
import type { FargateScheduler } from '../eks/fargate-controller.js';
import type { ElbHandle, LoadBalancer, Service } from '../elb/index.js';
import { Observer, round, type DurationStats } from './observer.js';
import { ActivityBackend, quiescence } from './quiescence.js';

/** 2026-01-01T00:00:00Z: time zero of every simulation, on a clock hour so hourly billing lines up. */
export const SIMULATION_START = Date.UTC(2026, 0, 1);

const HOUR_MS = 3_600_000;

/**
 * The node agent's options for simulations. The kubelet's heartbeats are what a long simulation
 * would spend its time on (a Lease renewal every 10 s is 8,640 writes per node per day), and
 * they only tell the node lifecycle controller the kubelet is alive — which, in a simulation,
 * it always is: the cloud marks a stopped or failed instance's Node itself, at once.
 * - `heartbeatSeconds: 0`: no node Lease renewals;
 * - `nodeStatusReportSeconds: 3600`: an unchanged node status (whose Ready heartbeat the node
 *   lifecycle controller also reads) is re-sent hourly rather than every 5 minutes; a change is
 *   still written at once;
 * and SIMULATION_CONTROLLER_DEFAULTS stretches the node-monitor grace period to match.
 * Override them with `SimulationInput.agent`.
 */
export const SIMULATION_AGENT_DEFAULTS: AgentOptions = { heartbeatSeconds: 0, nodeStatusReportSeconds: 3600 };

/**
 * The built-in controllers' options for simulations: the node lifecycle controller waits two
 * hourly status reports (7,200 s, not 40 s) before it calls a silent node Unknown.
 */
export const SIMULATION_CONTROLLER_DEFAULTS: BuiltinControllerOptions = { nodelifecycle: { gracePeriodSeconds: 7200 } };

/**
 * The cloud's options for simulations: pod CIDRs from 10.240.0.0/12, a /24 per node for up to
 * 4,096 nodes (the server's default, 10.244.0.0/16, has room for 256, and a node without a pod
 * CIDR cannot start pods). Override with `SimulationInput.cloud`.
 */
export const SIMULATION_CLOUD_DEFAULTS: CloudOptions = { clusterCidr: '10.240.0.0/12' };

export interface SimulationInput {
  /** Applied in order at time zero. */
  manifests: ManifestDoc[];
  /** Timed events, sorted by `at` (as parseEvents returns them). */
  events?: SimEvent[];
  /** How long to simulate, ms of virtual time. */
  durationMs: number;
  /** Seeds every random choice (default 1). */
  seed?: number;
  /** Called as virtual time moves (elapsed and total ms), for a progress bar; never changes the run. */
  onProgress?: (elapsedMs: number, durationMs: number) => void;
  /** Overrides of SIMULATION_AGENT_DEFAULTS and the agent's other options (its `random` comes from the seed). */
  agent?: AgentOptions;
  /** Cloud options (its `random` comes from the seed). */
  cloud?: CloudOptions;
  scheduler?: SchedulerOptions;
  /** Overrides of SIMULATION_CONTROLLER_DEFAULTS. */
  controllers?: BuiltinControllerOptions;
}

/** One hourly row of the timeline: the state at `time` and the cost of the hour (or part) before it. */
export interface TimelineRow {
  /** Hours since time zero (fractional for a last, partial row). */
  hour: number;
  /** RFC 3339. */
  time: string;
  nodes: number;
  /** Pods in phase Running. */
  pods: number;
  /** Pods in phase Pending (unscheduled or starting). */
  pendingPods: number;
  /** The bill of the hour ending at `time`, USD. */
  costUSD: number;
}

/** What an event did. */
export interface EventOutcome {
  /** When, as written (`2h`). */
  at: string;
  action: SimEvent['action'];
  /** `scale deployment/web to 40`. */
  event: string;
  /** What happened: `deployment.apps/web scaled`, `interrupted 3 Spot instances`. */
  result: string;
}

/**
 * The summary of a run. Everything in it follows from the inputs and the seed (no wall-clock
 * figures), so the same inputs give the same JSON byte for byte.
 */
export interface SimulationSummary {
  seed: number;
  durationSeconds: number;
  /** Time zero and the end, RFC 3339 (virtual). */
  start: string;
  end: string;
  /**
   * The bill for the whole run (`berth cost -o json`'s shape): EC2 in the totals, and Lambda's
   * requests and GB-seconds under `lambda` (pkg/aws/lambda/billing.ts: $0.20 per 1M requests,
   * $0.0000166667 per GB-second of billed duration; no free tier) when the aws component runs;
   * Fargate's runs under `fargate` (`GET /billing/v1/fargate`'s shape: EKS Fargate-profile pods and
   * ECS tasks on FARGATE / FARGATE_SPOT that started in the run, per second with a one-minute
   * minimum, On-Demand and Spot apart; not in the EC2 totals); `allServicesUSD` is EC2's
   * `totalUSD` plus both.
   */
  cost: CostReport & { lambda?: LambdaCostReport; fargate?: FargateCostReport; allServicesUSD: number };
  /** Running instance time, hours. */
  instanceHours: number;
  /** Node objects: the most at once, the time-weighted average over the run, and at the end. */
  nodes: { peak: number; average: number; final: number };
  pods: { created: number; peakRunning: number; running: number; pendingAtEnd: number; deletedWhilePending: number };
  /**
   * Seconds each pod spent in phase Pending: from its creation until it first left Pending
   * (Running, or Succeeded/Failed without being seen Running) — scheduling, instance boot if it
   * waited for capacity, image pull and container start. Pods still Pending at the end count with
   * the time they have waited so far; pods deleted while Pending are left out (their wait ended
   * without a start). Nearest-rank percentiles; null when no pod was created.
   */
  podPendingSeconds: DurationStats;
  /** Seconds from creation until bound to a node (the `PodScheduled` condition), same rules. */
  podSchedulingSeconds: DurationStats;
  /** Spot interruptions (by events and by the Spot market). */
  interruptions: number;
  /** Instances failed by `fail-instance` events. */
  instanceFailures: number;
  events: EventOutcome[];
  timeline: TimelineRow[];
  /** What `load` events did, per target group (load.ts); empty without them. */
  load: LoadSummary[];
  /** What `load` events on Lambda functions did, per function (load.ts); empty without them. */
  invocations: FunctionLoadSummary[];
}

/** Thrown when an event cannot be carried out (its target does not exist, …); names the events file, entry and time. */
export class SimulationEventError extends EventsFileError {}

/** An independent seed per named stream, so adding draws to one component does not shift the others. */
export function streamSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (Math.floor(seed / 4294967296) >>> 0), 0x01000193);
  return h >>> 0;
}

/** Runs a simulation to the end and returns its summary. Throws ApplyError, SimulationEventError, NoQuiescenceError. */
export async function runSimulation(input: SimulationInput): Promise<SimulationSummary> {
  const seed = input.seed ?? 1;
  const rng = (name: string): (() => number) => seededRandom(streamSeed(seed, name));
  const clock = new VirtualClock(SIMULATION_START);
  const t0 = clock.now();
  const end = t0 + input.durationMs;
  const backend = new ActivityBackend(new MemoryBackend());
  const cp = await createControlPlane({
    backend,
    clock,
    random: rng('api'),
    cloud: { ...SIMULATION_CLOUD_DEFAULTS, ...input.cloud, random: rng('cloud') },
    agent: { ...SIMULATION_AGENT_DEFAULTS, ...input.agent, random: rng('agent') },
    controllers: { ...SIMULATION_CONTROLLER_DEFAULTS, ...input.controllers },
    ...(input.scheduler ? { scheduler: input.scheduler } : {}),
    // Load balancers route in virtual time (no sockets); `handles.elb.load(...)` replays a load profile.
    elb: { virtual: true },
  });
  const observer = new Observer(cp.mgr, clock, t0);
  const account: SimulatedAccount = simulatedAccount(cp.mgr, cp.client, (cp.handles.eks as { scheduler?: FargateScheduler } | undefined)?.scheduler);
  const scheduler = cp.scheduler;
  const settle = quiescence(backend, () => (scheduler ? scheduler.pending().active > 0 : false));
  const eventRandom = rng('events');
  const events = input.events ?? [];
  const outcomes: EventOutcome[] = [];
  const timeline: TimelineRow[] = [];
  let failures = 0;
  const loads = new LoadRecorder(t0);
  const aws = cp.handles.aws as AwsHandle | undefined;
  const loadCtx: LoadContext = { loads, functions: new Map(), elb: cp.handles.elb as ElbHandle | undefined, aws, clock, now: () => clock.now() };

  await cp.start();
  try {
    await settle();
    await applyDocs(cp.client, input.manifests);
    await settle();
    await preflight(cp.client, events);

    let ei = 0;
    let nextSample = Math.min(t0 + HOUR_MS, end);
    let lastSample = t0;
    const noSettle = (): Promise<void> => Promise.resolve();
    for (;;) {
      const timerAt = clock.nextTimerAt() ?? Infinity;
      const eventAt = ei < events.length ? t0 + events[ei]!.at : Infinity;
      const target = Math.min(timerAt, eventAt, nextSample, end);
      // Every timer due at `target`, then one settle for all the work they started.
      await clock.advanceTo(target, noSettle);
      await settle();
      if (clock.now() === nextSample && nextSample > lastSample) {
        const c = observer.counts();
        const bill = await account.costReport(lastSample, nextSample);
        timeline.push({ hour: round((nextSample - t0) / HOUR_MS, 4), time: rfc3339(nextSample), ...c, costUSD: bill.totalUSD });
        lastSample = nextSample;
        nextSample = Math.min(nextSample + HOUR_MS, end);
      }
      while (ei < events.length && t0 + events[ei]!.at <= clock.now()) {
        const e = events[ei++]!;
        const result = await runEvent(cp.client, account, e, eventRandom, loadCtx);
        if (e.action === 'fail-instance') failures += result.count;
        outcomes.push({ at: formatDuration(e.at), action: e.action, event: describeEvent(e), result: result.text });
        await settle();
      }
      input.onProgress?.(clock.now() - t0, input.durationMs);
      if (clock.now() >= end && ei >= events.length && !((clock.nextTimerAt() ?? Infinity) <= end)) break;
    }

    loads.stop();
    for (const ds of loadCtx.functions.values()) ds.at(-1)?.stop();
    const cost: SimulationSummary['cost'] = { ...(await account.costReport(t0, end)), allServicesUSD: 0 };
    if (aws) cost.lambda = lambdaCostReport(aws.lambda.ledger, t0, end);
    if (cp.handles.eks) cost.fargate = await fargateCostFromApi(cp.client, t0, end, end);
    cost.allServicesUSD = allServicesUSD(cost.totalUSD, cost.lambda, cost.fargate);
    const pods = observer.podStats();
    const { pending, scheduling, ...podCounts } = pods;
    return {
      seed,
      durationSeconds: input.durationMs / 1000,
      start: rfc3339(t0),
      end: rfc3339(end),
      cost,
      instanceHours: cost.instanceHours,
      nodes: observer.nodeStats(),
      pods: podCounts,
      podPendingSeconds: pending,
      podSchedulingSeconds: scheduling,
      interruptions: account.interruptions(),
      instanceFailures: failures,
      events: outcomes,
      timeline,
      load: loads.summary(),
      invocations: [...loadCtx.functions].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([name, ds]) => functionLoadSummary(`function/${name}`, ds)),
    };
  } finally {
    await cp.stop();
  }
}

/** Checks, once the time-zero manifests are in, that every scale and delete target names a kind the server knows (and can scale). */
async function preflight(client: Client, events: SimEvent[]): Promise<void> {
  const crdLater = events.some((e) => e.action === 'apply' && e.docs.some((d) => d.obj?.kind === 'CustomResourceDefinition'));
  for (const e of events) {
    if (e.action !== 'scale' && e.action !== 'delete') continue;
    let r: ResourceInfo;
    try {
      r = await client.resolve(e.target.slice(0, e.target.indexOf('/')));
    } catch (err) {
      if (err instanceof UnknownResourceError) {
        if (crdLater) continue; // may be defined by a CustomResourceDefinition an apply event adds
        throw eventError(e, `target: ${err.message}`);
      }
      throw err;
    }
    if (e.action === 'scale' && !r.subresources.includes('scale')) throw eventError(e, `target: ${r.resource} cannot be scaled: the server has no scale subresource for them`);
  }
}

function eventError(e: SimEvent, what: string): SimulationEventError {
  return new SimulationEventError(`${e.source.file}:${e.source.line}: event ${e.source.index} (${e.action}) at ${formatDuration(e.at)}: ${what}`);
}

/** Carries out one event. Throws SimulationEventError when it cannot be. */
/** What a `load` event needs: the load balancers' data plane (virtual) and the recorder. */
interface LoadContext {
  loads: LoadRecorder;
  /** Drivers of function loads, by function name (the last one is running). */
  functions: Map<string, FunctionLoad[]>;
  elb: ElbHandle | undefined;
  aws: AwsHandle | undefined;
  clock: VirtualClock;
  now: () => number;
}

async function runEvent(client: Client, account: SimulatedAccount, e: SimEvent, random: () => number, load: LoadContext): Promise<{ text: string; count: number }> {
  try {
    switch (e.action) {
      case 'apply': {
        const lines = await applyDocs(client, e.docs);
        return { text: lines.join('; '), count: lines.length };
      }
      case 'scale': {
        const { r, name, namespace } = await target(client, e.target, e.namespace);
        if (!r.subresources.includes('scale')) throw eventError(e, `target: ${r.resource} cannot be scaled`);
        const scale = (await client.transport.get(r, namespace, name, 'scale')) as KubeObject & { spec?: { replicas?: number } };
        const next: KubeObject = { ...scale, metadata: { ...scale.metadata, resourceVersion: '' }, spec: { ...(scale.spec ?? {}), replicas: e.replicas } };
        await client.transport.update(r, namespace, name, next, { subresource: 'scale' });
        return { text: `${kindPrefix(r)}/${name} scaled from ${scale.spec?.replicas ?? 0} to ${e.replicas}`, count: 1 };
      }
      case 'delete': {
        const { r, name, namespace } = await target(client, e.target, e.namespace);
        await client.transport.delete(r, namespace, name, { propagationPolicy: 'Background' });
        return { text: `${kindPrefix(r)}/${name} deleted`, count: 1 };
      }
      case 'interrupt-spot': {
        const ids = await account.interruptSpot(e.fraction, random);
        // Fargate Spot tasks too (ECS's FARGATE_SPOT): the same share, their two-minute warning now.
        const tasks = await account.interruptFargateSpot(e.fraction, random);
        const fargateText = tasks.length ? ` and to ${tasks.length} Fargate Spot task${tasks.length === 1 ? '' : 's'}: ${tasks.join(', ')}` : '';
        return { text: `sent interruption notices to ${ids.length} Spot instance${ids.length === 1 ? '' : 's'}${ids.length ? `: ${ids.join(', ')}` : ''}${fargateText}`, count: ids.length + tasks.length };
      }
      case 'fail-instance': {
        const ids = await account.failInstance(e.count, random);
        const n = ids.length;
        return { text: `failed ${n} instance${n === 1 ? '' : 's'}${n ? `: ${ids.join(', ')}` : ''}${n < e.count ? ` (only ${n} running)` : ''}`, count: n };
      }
      case 'load':
        return await startLoad(client, e, load);
    }
  } catch (err) {
    if (err instanceof SimulationEventError) throw err;
    if (err instanceof StatusError) throw eventError(e, err.message);
    if (err instanceof UnknownResourceError) throw eventError(e, `target: ${err.message}`);
    if (err instanceof Error && err.name === 'ApplyError') throw eventError(e, err.message);
    throw err;
  }
}

/**
 * Starts a `load` event's profile on the target group its target names: a Service of type
 * LoadBalancer's (`<service>-<port>`), a LoadBalancer listener's, or a TargetGroup. Throws
 * SimulationEventError when the target does not exist or does not say which port.
 */
async function startLoad(client: Client, e: LoadEvent, ctx: LoadContext): Promise<{ text: string; count: number }> {
  const i = e.target.indexOf('/');
  const kind = LOAD_TARGET_KINDS[e.target.slice(0, i).toLowerCase()]!;
  const name = e.target.slice(i + 1);
  if (kind === 'function') {
    if (!ctx.aws) throw eventError(e, 'target: the aws component (Lambda) is not running in this simulation');
    await client.get({ apiVersion: 'lambda.berth.dev/v1', kind: 'Function' }, name);
    const drivers = ctx.functions.get(name) ?? [];
    drivers.at(-1)?.stop();
    const d = new FunctionLoad(ctx.clock, ctx.aws.lambda, name, e.profile);
    d.start();
    drivers.push(d);
    ctx.functions.set(name, drivers);
    return { text: `${describeProfile(e.profile)} as invocations of function ${name}`, count: 1 };
  }
  if (!ctx.elb?.plane) throw eventError(e, 'load: the elb component is not running in this simulation');
  const namespace = e.namespace ?? 'default';
  const pickPort = (ports: number[], what: string): number => {
    if (e.port !== undefined) {
      if (!ports.includes(e.port)) throw eventError(e, `port: ${what} has no port ${e.port} (ports: ${ports.join(', ') || 'none'})`);
      return e.port;
    }
    if (ports.length !== 1) throw eventError(e, `port: required: ${what} has ports ${ports.join(', ') || 'none'}`);
    return ports[0]!;
  };
  let tg: string;
  if (kind === 'service') {
    const svc = await client.get<Service>({ apiVersion: 'v1', kind: 'Service' }, name, namespace);
    if (svc.spec.type !== 'LoadBalancer') throw eventError(e, `target: service/${name} is of type ${svc.spec.type ?? 'ClusterIP'}: a load event needs a Service of type LoadBalancer (it has the load balancer)`);
    tg = `${name}-${pickPort((svc.spec.ports ?? []).map((p) => p.port), `service/${name}`)}`;
  } else if (kind === 'loadbalancer') {
    const lb = await client.get<LoadBalancer>({ apiVersion: 'elb.berth.dev/v1', kind: 'LoadBalancer' }, name, namespace);
    const port = pickPort(lb.spec.listeners.map((l) => l.port), `loadbalancer/${name}`);
    tg = lb.spec.listeners.find((l) => l.port === port)!.targetGroupName;
  } else {
    await client.get({ apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' }, name, namespace);
    tg = name;
  }
  const key = `${namespace}/${tg}`;
  const driver = ctx.elb.load(key, e.profile, { tickMs: 1000 });
  ctx.loads.add(e.target, namespace, tg, ctx.elb.plane.group(key), driver, ctx.now);
  return { text: `${describeProfile(e.profile)} to target group ${tg}`, count: 1 };
}

async function target(client: Client, t: string, ns: string | undefined): Promise<{ r: ResourceInfo; name: string; namespace: string | undefined }> {
  const i = t.indexOf('/');
  const r = await client.resolve(t.slice(0, i));
  return { r, name: t.slice(i + 1), namespace: r.namespaced ? (ns ?? 'default') : undefined };
}

/** Every purchase option with its amount (0 when absent), in the issue's order. */
export function purchaseOptionRows(cost: CostReport): [string, number][] {
  return PURCHASE_OPTIONS.map((k) => [k, cost.byPurchaseOption[k] ?? 0]);
}
