/**
 * The ECS service scheduler (REPLICA strategy), level-based, keyed by `namespace/name` of
 * `ecs.berth.dev/v1 Service`. Its rules are ECS's
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html,
 * API_DeploymentConfiguration, API_Deployment, deployment-circuit-breaker.html):
 *
 * - **Deployments.** Each distinct set of task settings (task definition, launch type or
 *   capacity provider strategy, placement, `update-service --force-new-deployment`) is a
 *   deployment `ecs-svc/<19 digits>`; the newest is PRIMARY, older ones with tasks left are
 *   ACTIVE; one with no tasks left is dropped. rolloutState is IN_PROGRESS until the PRIMARY runs
 *   desiredCount tasks and no other deployment has any (COMPLETED), or the circuit breaker trips (FAILED).
 * - **Rolling update.** With D = desiredCount, at most floor(D × maximumPercent / 100) tasks run
 *   or are pending, and at least ceil(D × minimumHealthyPercent / 100) RUNNING tasks are kept:
 *   the PRIMARY starts tasks up to the upper limit, and old tasks stop while the RUNNING count
 *   stays at or above the lower one (old tasks not yet RUNNING can always stop).
 * - **Circuit breaker.** With `deploymentCircuitBreaker.enable`, tasks of the PRIMARY that stop
 *   failed (an essential container exited, or they failed to start) count as failed; at
 *   min(max(10, ceil(0.5 × D)), 200) of them the deployment is FAILED (the developer guide's
 *   bounds; the API reference's ServiceDeploymentCircuitBreaker page gives 3 as the minimum) and
 *   no more of its tasks start; with `rollback`, the service goes back to the task definition of
 *   the last COMPLETED deployment, as a new deployment.
 * - **Completion.** The PRIMARY is COMPLETED once it has run desiredCount tasks, with no other
 *   deployment left, for STABILIZATION_MS (60 s); the service is then in a steady state.
 * - **Load balancers.** Each RUNNING task is registered in the service's target groups
 *   (`elb.berth.dev/v1 TargetGroup` named by the ARN's `targetgroup/<name>/…`, in the service's
 *   namespace) as the target `<task pod name>:<port>` — the container port, or the fixed host
 *   port in bridge mode — and deregistered once it stops running (ECS deregisters first and
 *   waits out the deregistration delay before stopping a task; berth stops and deregisters together).
 * - **Events** as DescribeServices shows them, newest first, at most 100:
 *   `(service web) has started 2 tasks: (task 1a2b…) (task 3c4d…).`, `(service web) has stopped
 *   1 running tasks: (task …).`, `(service web) (deployment ecs-svc/…) deployment completed.`,
 *   `(service web) has reached a steady state.`, `(service web) was unable to place a task because
 *   no container instance met all of its requirements. Reason: <the scheduler's message>` (not for
 *   tasks waiting on a capacity provider, which scales out for them), circuit breaker and rollback messages.
 * - **Deletion.** A Service carries a finalizer: deleting it (DRAINING) stops every task and
 *   deregisters its targets; once every task is STOPPED it goes, and its tasks with it (they are
 *   owned by it; ECS would keep showing them STOPPED for an hour).
 */
import { createHash, randomBytes } from 'node:crypto';
import { isAlreadyExists, isNotFound } from '../api/errors.js';
import { deepEqual, ownerRef } from '../api/meta.js';
import type { Informer } from '../client/informer.js';
import { TargetGroupKind, type TargetGroup } from '../elb/api.js';
import { controllerFor, type Controller, type Manager, type ReconcileContext, type Reconciler, type Result } from '../runtime/manager.js';
import { chooseProvider, launchPlan } from './capacity.js';
import { networkModeOf } from './taskdef.js';
import {
  DEPLOYMENT_LABEL,
  EcsKinds,
  FAMILY_LABEL,
  SERVICE_FINALIZER,
  SERVICE_LABEL,
  arnName,
  sanitizeLabelValue,
  serviceArn,
  serviceGroup,
  type Cluster,
  type Service,
  type ServiceDeployment,
  type ServiceEvent,
  type Task,
  type TaskDefinition,
} from './types.js';

/** The most events a service keeps (DescribeServices shows the 100 newest). */
export const MAX_SERVICE_EVENTS = 100;
/**
 * How long the PRIMARY must run desiredCount tasks, with no other deployment left, before its
 * rollout is COMPLETED, ms of cluster time: berth's stand-in for ECS's stabilization checks, so a
 * task whose essential container exits soon after starting keeps the deployment IN_PROGRESS
 * (and counts towards the circuit breaker) instead of completing it.
 */
export const STABILIZATION_MS = 60_000;
/** How often a service is looked at even when nothing changes, ms of cluster time. */
export const SERVICE_RESYNC_MS = 30_000;

/** The circuit breaker's failed-task threshold for a desired count: min(max(10, ceil(0.5 × D)), 200). */
export function circuitBreakerThreshold(desiredCount: number): number {
  return Math.min(Math.max(10, Math.ceil(0.5 * desiredCount)), 200);
}

/** The rolling-update bounds for a desired count: [ceil(D × min / 100), floor(D × max / 100)]. */
export function deploymentBounds(desired: number, minimumHealthyPercent: number, maximumPercent: number): { minHealthy: number; maxTotal: number } {
  return { minHealthy: Math.ceil((desired * minimumHealthyPercent) / 100), maxTotal: Math.floor((desired * maximumPercent) / 100) };
}

/** A hash of the settings a deployment runs; a new value starts a new deployment. */
export function configHash(spec: Service['spec']): string {
  const key = { td: spec.taskDefinition, lt: spec.launchType ?? null, cps: spec.capacityProviderStrategy ?? null, ps: spec.placementStrategy ?? null, pc: spec.placementConstraints ?? null, n: spec.deploymentNonce ?? 0 };
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
}

/** A new 32-hex task id. */
export function newTaskId(): string {
  return randomBytes(16).toString('hex');
}

const live = (t: Task): boolean => t.spec.desiredStatus === 'RUNNING' && t.status?.lastStatus !== 'STOPPED';
const FAILED_CODES = new Set(['EssentialContainerExited', 'TaskFailedToStart']);

/** The service scheduler (see the file comment). */
export class ServiceController implements Reconciler {
  private readonly services: Informer<Service>;
  private readonly tasks: Informer<Task>;
  private readonly tds: Informer<TaskDefinition>;
  private readonly clusters: Informer<Cluster>;
  /** Tasks this process created or stopped that the cache may not show yet, by service key. */
  private readonly created = new Map<string, Map<string, Task>>();
  private readonly stopped = new Set<string>();

  constructor(private readonly mgr: Manager) {
    this.services = mgr.informer<Service>(EcsKinds.Service);
    this.tasks = mgr.informer<Task>(EcsKinds.Task);
    this.tds = mgr.informer<TaskDefinition>(EcsKinds.TaskDefinition);
    this.clusters = mgr.informer<Cluster>(EcsKinds.Cluster);
    this.tasks.cache.addIndex('ecs-service', (t) => (t.metadata.labels?.[SERVICE_LABEL] ? [`${t.metadata.namespace}/${t.metadata.labels[SERVICE_LABEL]}`] : []));
  }

  static installWith(mgr: Manager): Controller {
    return controllerFor(mgr, EcsKinds.Service)
      .named('ecs-service')
      .watches(EcsKinds.Task, (t) => (t.metadata.labels?.[SERVICE_LABEL] ? [`${t.metadata.namespace}/${t.metadata.labels[SERVICE_LABEL]}`] : []))
      .complete(new ServiceController(mgr));
  }

  /** The service's tasks: the cache's, plus those created here that it does not show yet; stops made here applied. */
  private tasksOf(key: string): Task[] {
    const cached = this.tasks.cache.byIndex('ecs-service', key);
    const names = new Set(cached.map((t) => t.metadata.name!));
    const mine = this.created.get(key);
    if (mine) for (const n of [...mine.keys()]) if (names.has(n)) mine.delete(n);
    const all = [...cached, ...(mine ? [...mine.values()] : [])];
    return all.map((t) => {
      const k = `${t.metadata.namespace}/${t.metadata.name}`;
      if (!this.stopped.has(k)) return t;
      if (t.spec.desiredStatus === 'STOPPED') {
        this.stopped.delete(k);
        return t;
      }
      return { ...t, spec: { ...t.spec, desiredStatus: 'STOPPED' as const } };
    });
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const svc = this.services.cache.get(key);
    if (!svc) {
      this.created.delete(key);
      return;
    }
    const ns = svc.metadata.namespace!;
    const name = svc.metadata.name!;
    const deleting = !!svc.metadata.deletionTimestamp;
    if (!deleting && !svc.metadata.finalizers?.includes(SERVICE_FINALIZER)) {
      await ctx.client.modify<Service>(EcsKinds.Service, name, ns, (o) => {
        if (o.metadata.finalizers?.includes(SERVICE_FINALIZER)) return undefined;
        o.metadata.finalizers = [...(o.metadata.finalizers ?? []), SERVICE_FINALIZER];
        return o;
      });
      return;
    }
    const now = ctx.clock.now();
    const iso = new Date(now).toISOString();
    const st = structuredClone(svc.status ?? {});
    const events: ServiceEvent[] = st.events ?? [];
    const prefix = `(service ${name})`;
    const event = (message: string): void => {
      events.unshift({ id: randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'), createdAt: iso, message });
    };
    st.serviceArn ??= serviceArn(svc.spec.cluster, name);
    st.status = deleting ? 'DRAINING' : 'ACTIVE';
    const D = deleting ? 0 : svc.spec.desiredCount;
    const deployments: ServiceDeployment[] = st.deployments ?? [];
    const hash = configHash(svc.spec);
    let primary = deployments.find((d) => d.status === 'PRIMARY');
    if (!deleting && (!primary || primary.configHash !== hash)) {
      if (primary) primary.status = 'ACTIVE';
      const id = `ecs-svc/${String(now).padStart(13, '0')}${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
      primary = {
        id,
        status: 'PRIMARY',
        taskDefinition: svc.spec.taskDefinition,
        configHash: hash,
        desiredCount: D,
        pendingCount: 0,
        runningCount: 0,
        failedTasks: 0,
        rolloutState: 'IN_PROGRESS',
        rolloutStateReason: 'ECS deployment in progress.',
        createdAt: iso,
        updatedAt: iso,
        ...(svc.spec.launchType ? { launchType: svc.spec.launchType } : {}),
        ...(svc.spec.capacityProviderStrategy ? { capacityProviderStrategy: svc.spec.capacityProviderStrategy } : {}),
      };
      deployments.unshift(primary);
      st.steady = false;
    }
    const depNum = (d: ServiceDeployment): string => d.id.replace('ecs-svc/', '');
    const tasks = this.tasksOf(key);
    const liveTasks = tasks.filter(live);
    const ofDep = (d: ServiceDeployment, xs: Task[]): Task[] => xs.filter((t) => t.metadata.labels?.[DEPLOYMENT_LABEL] === depNum(d));
    const dc = svc.spec.deploymentConfiguration ?? {};
    const cb = dc.deploymentCircuitBreaker;
    let rollbackTo: string | undefined;

    if (primary) {
      primary.desiredCount = D;
      // Circuit breaker: failed tasks of the PRIMARY.
      const failed = ofDep(primary, tasks).filter((t) => t.status?.lastStatus === 'STOPPED' && FAILED_CODES.has(t.status.stopCode ?? '')).length;
      primary.failedTasks = Math.max(primary.failedTasks, failed);
      if (cb?.enable && primary.rolloutState === 'IN_PROGRESS' && primary.failedTasks >= circuitBreakerThreshold(D)) {
        primary.rolloutState = 'FAILED';
        primary.rolloutStateReason = 'ECS deployment circuit breaker: tasks failed to start.';
        primary.updatedAt = iso;
        event(`${prefix} (deployment ${primary.id}) deployment failed: tasks failed to start.`);
        const back = st.lastCompletedTaskDefinition;
        if (cb.rollback && back && back !== primary.taskDefinition) {
          rollbackTo = back;
          event(`${prefix} (deployment ${primary.id}) deployment failed: rolling back to the last completed task definition ${back}.`);
        }
      }
    }

    const { minHealthy, maxTotal } = deploymentBounds(D, dc.minimumHealthyPercent ?? 100, dc.maximumPercent ?? 200);
    const toStop: Task[] = [];
    const started: Task[] = [];
    if (primary && !rollbackTo) {
      const mine = ofDep(primary, liveTasks);
      const old = liveTasks.filter((t) => !mine.includes(t));
      // Scale in the PRIMARY past D: not-yet-running tasks first, then the newest.
      if (mine.length > D) {
        const order = [...mine].sort((a, b) => Number(a.status?.lastStatus === 'RUNNING') - Number(b.status?.lastStatus === 'RUNNING') || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
        toStop.push(...order.slice(0, mine.length - D));
      }
      // Start PRIMARY tasks up to maximumPercent.
      const failedDeployment = primary.rolloutState === 'FAILED';
      if (!failedDeployment && !deleting) {
        const need = D - mine.length;
        const room = maxTotal - (liveTasks.length - toStop.length);
        const n = Math.max(0, Math.min(need, room));
        if (n > 0) started.push(...(await this.startTasks(ctx, svc, primary, mine, n)));
      }
      // Stop old tasks, keeping minimumHealthyPercent RUNNING.
      let running = liveTasks.filter((t) => t.status?.lastStatus === 'RUNNING' && !toStop.includes(t)).length;
      const oldOrder = [...old].sort((a, b) => Number(a.status?.lastStatus === 'RUNNING') - Number(b.status?.lastStatus === 'RUNNING'));
      for (const t of oldOrder) {
        if (t.status?.lastStatus !== 'RUNNING') toStop.push(t);
        else if (running - 1 >= minHealthy) {
          toStop.push(t);
          running--;
        }
      }
    } else if (deleting) toStop.push(...liveTasks);
    if (rollbackTo) {
      await ctx.client.modify<Service>(EcsKinds.Service, name, ns, (o) => (o.spec.taskDefinition === rollbackTo ? undefined : { ...o, spec: { ...o.spec, taskDefinition: rollbackTo } }));
    }
    if (toStop.length) {
      const reason = `Scaling activity initiated by (deployment ${primary?.id ?? 'ecs-svc/deleted'})`;
      for (const t of toStop) await this.stopTask(ctx, t, reason);
      event(`${prefix} has stopped ${toStop.length} running tasks: ${toStop.map((t) => `(task ${t.metadata.name})`).join(' ')}.`);
    }
    if (started.length) event(`${prefix} has started ${started.length} tasks: ${started.map((t) => `(task ${t.metadata.name})`).join(' ')}.`);
    // A task the scheduler cannot place: ECS's event, once per distinct reason in a row.
    const unplaced = liveTasks.find((t) => t.status?.lastStatus === 'PROVISIONING' && t.status.placementMessage && !t.spec.capacityProvider);
    if (unplaced) {
      const msg = `${prefix} was unable to place a task because no container instance met all of its requirements. Reason: ${unplaced.status!.placementMessage}`;
      if (events[0]?.message !== msg) event(msg);
    }

    // Counts, completion, steady state.
    const after = this.tasksOf(key).filter(live);
    const stopping = new Set(toStop.map((t) => t.metadata.name));
    const counted = after.filter((t) => !stopping.has(t.metadata.name));
    for (const d of deployments) {
      const xs = ofDep(d, counted);
      const running = xs.filter((t) => t.status?.lastStatus === 'RUNNING').length;
      const pending = xs.length - running;
      if (running !== d.runningCount || pending !== d.pendingCount) d.updatedAt = iso;
      d.runningCount = running;
      d.pendingCount = pending;
    }
    const kept = deployments.filter((d) => d.status === 'PRIMARY' || ofDep(d, after).length > 0);
    const stable = !!primary && kept.length === 1 && primary.runningCount === D && primary.pendingCount === 0;
    let wait: number | undefined;
    if (primary && stable) primary.stableSince ??= iso;
    else if (primary) delete primary.stableSince;
    if (primary && stable && primary.rolloutState === 'IN_PROGRESS') wait = Date.parse(primary.stableSince!) + STABILIZATION_MS - now;
    if (primary && stable && primary.rolloutState === 'IN_PROGRESS' && wait! <= 0) {
      wait = undefined;
      primary.rolloutState = 'COMPLETED';
      primary.rolloutStateReason = 'ECS deployment completed.';
      primary.updatedAt = iso;
      st.lastCompletedTaskDefinition = primary.taskDefinition;
      event(`${prefix} (deployment ${primary.id}) deployment completed.`);
    }
    st.deployments = kept;
    st.runningCount = counted.filter((t) => t.status?.lastStatus === 'RUNNING').length;
    st.pendingCount = counted.length - st.runningCount;
    const steady = !deleting && stable && primary!.rolloutState !== 'IN_PROGRESS';
    if (steady && !st.steady) event(`${prefix} has reached a steady state.`);
    st.steady = steady;
    st.events = events.slice(0, MAX_SERVICE_EVENTS);

    await this.syncTargets(ctx, svc, this.tasksOf(key), deleting, event);
    st.events = events.slice(0, MAX_SERVICE_EVENTS);

    if (!deepEqual(st, svc.status ?? {})) {
      try {
        await ctx.client.modify<Service>(EcsKinds.Service, name, ns, (o) => (o.metadata.uid === svc.metadata.uid ? { ...o, status: st } : undefined), { status: true });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (deleting && this.tasksOf(key).every((t) => t.status?.lastStatus === 'STOPPED')) {
      await ctx.client.modify<Service>(EcsKinds.Service, name, ns, (o) => {
        if (!o.metadata.finalizers?.includes(SERVICE_FINALIZER)) return undefined;
        o.metadata.finalizers = o.metadata.finalizers.filter((f) => f !== SERVICE_FINALIZER);
        return o;
      });
      this.created.delete(key);
      return;
    }
    return { requeueAfter: wait !== undefined && wait > 0 ? Math.min(wait, SERVICE_RESYNC_MS) : SERVICE_RESYNC_MS };
  }

  private async startTasks(ctx: ReconcileContext, svc: Service, d: ServiceDeployment, mine: Task[], n: number): Promise<Task[]> {
    const ns = svc.metadata.namespace!;
    const key = `${ns}/${svc.metadata.name}`;
    const td = this.tds.cache.get(d.taskDefinition);
    const plan = launchPlan(this.clusters.cache.get(svc.spec.cluster), svc.spec.launchType, svc.spec.capacityProviderStrategy);
    const counts = new Map<string, number>();
    for (const t of mine) if (t.spec.capacityProvider) counts.set(t.spec.capacityProvider, (counts.get(t.spec.capacityProvider) ?? 0) + 1);
    const out: Task[] = [];
    for (let i = 0; i < n; i++) {
      let provider: string | undefined;
      if (plan.strategy) {
        provider = chooseProvider(plan.strategy, counts);
        counts.set(provider, (counts.get(provider) ?? 0) + 1);
      }
      const id = newTaskId();
      const task: Task = {
        apiVersion: EcsKinds.Task.apiVersion,
        kind: 'Task',
        metadata: {
          name: id,
          namespace: ns,
          labels: { [SERVICE_LABEL]: svc.metadata.name!, [DEPLOYMENT_LABEL]: d.id.replace('ecs-svc/', ''), ...(td ? { [FAMILY_LABEL]: sanitizeLabelValue(td.spec.family) } : {}) },
          ownerReferences: [ownerRef(svc)],
        },
        spec: {
          cluster: svc.spec.cluster,
          taskDefinition: d.taskDefinition,
          ...(plan.launchType ? { launchType: plan.launchType } : {}),
          ...(provider ? { capacityProvider: provider } : {}),
          group: serviceGroup(svc.metadata.name!),
          startedBy: d.id,
          ...(svc.spec.placementStrategy?.length ? { placementStrategy: svc.spec.placementStrategy } : {}),
          ...(svc.spec.placementConstraints?.length ? { placementConstraints: svc.spec.placementConstraints } : {}),
          desiredStatus: 'RUNNING',
        },
      };
      try {
        const made = await ctx.client.create<Task>(task);
        if (!this.created.has(key)) this.created.set(key, new Map());
        this.created.get(key)!.set(id, made);
        out.push(made);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
    return out;
  }

  private async stopTask(ctx: ReconcileContext, t: Task, reason: string): Promise<void> {
    this.stopped.add(`${t.metadata.namespace}/${t.metadata.name}`);
    try {
      await ctx.client.modify<Task>(EcsKinds.Task, t.metadata.name!, t.metadata.namespace, (o) =>
        o.spec.desiredStatus === 'STOPPED' ? undefined : { ...o, spec: { ...o.spec, desiredStatus: 'STOPPED', stopCode: 'ServiceSchedulerInitiated', stoppedReason: reason } },
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Registers the service's RUNNING tasks in its target groups and deregisters the rest (see the file comment). */
  private async syncTargets(ctx: ReconcileContext, svc: Service, tasks: Task[], deleting: boolean, event: (m: string) => void): Promise<void> {
    const lbs = svc.spec.loadBalancers ?? [];
    if (!lbs.length) return;
    const ns = svc.metadata.namespace!;
    const ours = new Set(tasks.map((t) => t.metadata.name!));
    const isTaskId = (id: string): boolean => /^[0-9a-f]{32}$/.test(id);
    for (const lb of lbs) {
      const tgName = lb.targetGroupArn ? targetGroupNameOf(lb.targetGroupArn) : lb.loadBalancerName!;
      const want = deleting
        ? []
        : tasks
            .filter((t) => t.spec.desiredStatus === 'RUNNING' && t.status?.lastStatus === 'RUNNING')
            .flatMap((t) => {
              const td = this.tds.cache.get(t.spec.taskDefinition);
              const c = td?.spec.containerDefinitions.find((x) => x.name === lb.containerName);
              const pm = c?.portMappings?.find((p) => p.containerPort === lb.containerPort);
              if (!td || !pm) return [];
              const port = networkModeOf(td.spec) === 'bridge' && pm.hostPort ? pm.hostPort : lb.containerPort;
              return [{ id: t.metadata.name!, port }];
            });
      try {
        await ctx.client.modify<TargetGroup>(TargetGroupKind, tgName, ns, (tg) => {
          const others = (tg.spec.targets ?? []).filter((x) => !(ours.has(x.id) || (isTaskId(x.id) && !this.tasks.cache.get(`${ns}/${x.id}`))));
          const next = [...others, ...want];
          if (deepEqual(next, tg.spec.targets ?? [])) return undefined;
          return { ...tg, spec: { ...tg.spec, targets: next } };
        });
      } catch (e) {
        if (isNotFound(e) || (e as { code?: number }).code === 404) {
          const msg = `(service ${svc.metadata.name}) failed to register targets in (target-group ${lb.targetGroupArn ?? tgName}): the target group does not exist in namespace ${ns}.`;
          if (!(svc.status?.events ?? []).some((x) => x.message === msg)) event(msg);
        } else throw e;
      }
    }
  }

  /** For tests and tables: the cluster informer's view. */
  get manager(): Manager {
    return this.mgr;
  }
}

/** The target group name of `arn:aws:elasticloadbalancing:…:targetgroup/<name>/<id>`, or the string itself. */
export function targetGroupNameOf(arnOrName: string): string {
  const m = /targetgroup\/([^/]+)/.exec(arnOrName);
  return m ? m[1]! : arnName(arnOrName);
}
