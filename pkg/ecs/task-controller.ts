/**
 * The task controller: every ECS Task is backed by exactly one Pod of the same name and
 * namespace, which it owns (see /tmp/berth-team/ECS-CONTRACT.md), and its status follows that Pod
 * as ECS's task lifecycle (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html):
 *
 * - PROVISIONING: the Pod exists but no node (container instance, Fargate node) has it yet — ECS
 *   shows this while a capacity provider brings up capacity;
 * - PENDING: bound to a node, containers not all running;
 * - RUNNING: the Pod is Running;
 * - STOPPING: the task was asked to stop (stop-task, the service scheduler) or an essential
 *   container exited, and its Pod is being deleted;
 * - STOPPED: the Pod is gone or finished, with `stopCode` and `stoppedReason`:
 *   `EssentialContainerExited` "Essential container in task exited", `UserInitiated` "Task
 *   stopped by user" (or stop-task's `--reason`), `ServiceSchedulerInitiated` "Scaling activity
 *   initiated by (deployment ecs-svc/…)", `SpotInterruption` "Your Spot Task was interrupted."
 *   (the fargate-scheduler fails a FARGATE_SPOT task's Pod with reason `SpotInterrupted`),
 *   `TerminationNotice` when the Pod went from under the task (its instance drained or terminated).
 *
 * The Pod has `restartPolicy: Never` (ECS does not restart a task's containers); when any
 * essential container exits the whole task stops. Stopped tasks stay visible for an hour of
 * cluster time, as ECS shows them ("at least one hour"), then are deleted.
 *
 * Simulated programs: container `dockerLabels` whose keys start with `sim.berth.dev/` (e.g.
 * `sim.berth.dev/run-seconds`, `sim.berth.dev/exit-code`) become Pod annotations, so a task
 * definition can say how long its (simulated) containers run and how they exit.
 */
import { isAlreadyExists, isConflict, isNotFound } from '../api/errors.js';
import { deepEqual, ownerRef } from '../api/meta.js';
import type { Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import { controllerFor, type Controller, type Manager, type ReconcileContext, type Reconciler, type Result } from '../runtime/manager.js';
import { networkModeOf, parseTaskCpu, parseTaskMemory, podContainers, taskReservation } from './taskdef.js';
import {
  CAPACITY_PROVIDER_ANNOTATION,
  CLUSTER_LABEL,
  EcsKinds,
  FAMILY_LABEL,
  FARGATE_PROVIDERS,
  FARGATE_SIZE_ANNOTATION,
  GROUP_LABEL,
  PLACEMENT_CONSTRAINTS_ANNOTATION,
  PLACEMENT_STRATEGY_ANNOTATION,
  SERVICE_LABEL,
  TASK_ID_LABEL,
  sanitizeLabelValue,
  taskArn,
  type CapacityProvider,
  type PlacementConstraint,
  type PlacementStrategy,
  type Task,
  type TaskContainer,
  type TaskDefinition,
} from './types.js';
import { FARGATE_SCHEDULER } from '../eks/types.js';
import { GROUP_NAME_LABEL } from '../cloud/types.js';

/** How long a STOPPED task stays before it is deleted, ms of cluster time. */
export const STOPPED_TASK_TTL_MS = 60 * 60_000;

export const STOP_REASONS = {
  essential: 'Essential container in task exited',
  user: 'Task stopped by user',
  podGone: 'Task stopped because its Pod was deleted (instance drained or terminated, or a Fargate Spot interruption)',
  noTaskDefinition: 'Task definition not found',
} as const;

/**
 * The placement strategy of a service's task when the service names none: spread over
 * `attribute:ecs.availability-zone` ("For tasks running as part of an Amazon ECS service, the task
 * placement strategy is spread using the attribute:ecs.availability-zone",
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-strategies.html).
 * Standalone tasks have no default.
 */
export const SERVICE_DEFAULT_PLACEMENT_STRATEGY: PlacementStrategy[] = [{ type: 'spread', field: 'attribute:ecs.availability-zone' }];

/** True if the task runs on Fargate: launch type FARGATE or a FARGATE / FARGATE_SPOT capacity provider. */
export function isFargateTask(t: Task): boolean {
  return t.spec.launchType === 'FARGATE' || FARGATE_PROVIDERS.includes(t.spec.capacityProvider as never);
}

/**
 * The Pod a task runs as (the contract's shape): labels cluster, task id, group, service, family;
 * annotations group, placement strategy and constraints (the task's and the task definition's
 * memberOf constraints) as ECS JSON, capacity provider, Fargate size; `restartPolicy: Never`;
 * EC2: `nodeSelector` on the cluster label (and the Auto Scaling group of an ASG capacity
 * provider); Fargate: `schedulerName: fargate-scheduler`. Owned by the task.
 */
export function podForTask(task: Task, td: TaskDefinition, providers: Map<string, CapacityProvider> = new Map()): Pod {
  const labels: Record<string, string> = {
    [CLUSTER_LABEL]: sanitizeLabelValue(task.spec.cluster),
    [TASK_ID_LABEL]: task.metadata.name!,
    [GROUP_LABEL]: sanitizeLabelValue(task.spec.group),
    [FAMILY_LABEL]: sanitizeLabelValue(td.spec.family),
    ...(task.metadata.labels?.[SERVICE_LABEL] ? { [SERVICE_LABEL]: task.metadata.labels[SERVICE_LABEL] } : {}),
  };
  const constraints: PlacementConstraint[] = [...(task.spec.placementConstraints ?? []), ...((td.spec.placementConstraints ?? []) as PlacementConstraint[])];
  const annotations: Record<string, string> = { [GROUP_LABEL]: task.spec.group };
  const strategy = task.spec.placementStrategy?.length ? task.spec.placementStrategy : task.spec.group.startsWith('service:') ? SERVICE_DEFAULT_PLACEMENT_STRATEGY : undefined;
  if (strategy) annotations[PLACEMENT_STRATEGY_ANNOTATION] = JSON.stringify(strategy);
  if (constraints.length) annotations[PLACEMENT_CONSTRAINTS_ANNOTATION] = JSON.stringify(constraints);
  if (task.spec.capacityProvider) annotations[CAPACITY_PROVIDER_ANNOTATION] = task.spec.capacityProvider;
  for (const c of td.spec.containerDefinitions ?? []) {
    for (const [k, v] of Object.entries(c.dockerLabels ?? {})) if (k.startsWith('sim.berth.dev/')) annotations[k] = String(v);
  }
  const fargate = isFargateTask(task);
  if (fargate) {
    const r = taskReservation(td.spec);
    annotations[FARGATE_SIZE_ANNOTATION] = `${parseTaskCpu(td.spec.cpu) ?? r.cpu}/${parseTaskMemory(td.spec.memory) ?? r.memory}`;
  }
  const asg = task.spec.capacityProvider ? providers.get(task.spec.capacityProvider)?.spec.autoScalingGroupProvider.autoScalingGroupArn : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: task.metadata.name!, namespace: task.metadata.namespace!, labels, annotations, ownerReferences: [ownerRef(task)] },
    spec: {
      containers: podContainers(td.spec),
      restartPolicy: 'Never',
      ...(fargate
        ? { schedulerName: FARGATE_SCHEDULER }
        : { nodeSelector: { [CLUSTER_LABEL]: sanitizeLabelValue(task.spec.cluster), ...(asg ? { [GROUP_NAME_LABEL]: asgNameOf(asg) } : {}) } }),
      ...(networkModeOf(td.spec) === 'host' ? { hostNetwork: true } : {}),
    },
  } as Pod;
}

/** The group name of `arn:aws:autoscaling:…:autoScalingGroupName/<name>`, or the string itself. */
export function asgNameOf(arnOrName: string): string {
  const i = arnOrName.indexOf('autoScalingGroupName/');
  return i >= 0 ? arnOrName.slice(i + 'autoScalingGroupName/'.length) : arnOrName;
}

function finished(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** The task's containers as ECS shows them, from the Pod's container statuses. */
export function taskContainers(td: TaskDefinition | undefined, pod: Pod | undefined, stopped: boolean): TaskContainer[] {
  const cds = td?.spec.containerDefinitions ?? [];
  const podNames = td ? podContainers(td.spec).map((c) => c.name) : [];
  return cds.map((c, i): TaskContainer => {
    const cs = pod?.status?.containerStatuses?.find((s) => s.name === podNames[i]);
    const term = (cs?.state?.terminated ?? (stopped ? cs?.lastState?.terminated : undefined)) as { exitCode?: number; reason?: string } | undefined;
    if (term) return { name: c.name, lastStatus: 'STOPPED', ...(typeof term.exitCode === 'number' ? { exitCode: term.exitCode } : {}), ...(term.reason ? { reason: String(term.reason) } : {}) };
    if (stopped) return { name: c.name, lastStatus: 'STOPPED' };
    if (cs?.state?.running) return { name: c.name, lastStatus: 'RUNNING' };
    return { name: c.name, lastStatus: 'PENDING' };
  });
}

/** The task controller (see the file comment). Keys are `namespace/name` of Tasks. */
export class TaskController implements Reconciler {
  private readonly tasks: Informer<Task>;
  private readonly pods: Informer<Pod>;
  private readonly tds: Informer<TaskDefinition>;
  private readonly providers: Informer<CapacityProvider>;

  constructor(mgr: Manager) {
    this.tasks = mgr.informer<Task>(EcsKinds.Task);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.tds = mgr.informer<TaskDefinition>(EcsKinds.TaskDefinition);
    this.providers = mgr.informer<CapacityProvider>(EcsKinds.CapacityProvider);
  }

  static installWith(mgr: Manager): Controller {
    return controllerFor(mgr, EcsKinds.Task).named('ecs-task').owns(Kinds.Pod).concurrency(4).complete(new TaskController(mgr));
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const task = this.tasks.cache.get(key);
    if (!task || task.metadata.deletionTimestamp) return;
    const now = ctx.clock.now();
    const iso = new Date(now).toISOString();
    const ns = task.metadata.namespace!;
    const name = task.metadata.name!;
    let pod = this.pods.cache.get(key);
    if (pod && pod.metadata.ownerReferences?.[0]?.uid !== task.metadata.uid) pod = undefined; // another task's of the same name
    const td = this.tds.cache.get(task.spec.taskDefinition);
    const st = { ...(task.status ?? {}) };
    st.taskArn ??= taskArn(task.spec.cluster, name);
    st.createdAt ??= task.metadata.creationTimestamp ?? iso;
    st.lastStatus ??= 'PROVISIONING';
    if (td) {
      const r = taskReservation(td.spec);
      st.cpu ??= String(parseTaskCpu(td.spec.cpu) ?? r.cpu);
      st.memory ??= String(parseTaskMemory(td.spec.memory) ?? r.memory);
      if (!isFargateTask(task) && r.hostPorts.length) st.hostPorts ??= r.hostPorts.filter((p) => p.protocol === 'tcp').map((p) => p.port);
    }
    let requeue: number | undefined;

    if (st.lastStatus === 'STOPPED') {
      if (pod && !pod.metadata.deletionTimestamp) await this.deletePod(ctx, pod);
      const left = Date.parse(st.stoppedAt ?? iso) + STOPPED_TASK_TTL_MS - now;
      if (left <= 0) {
        try {
          await ctx.client.delete(EcsKinds.Task, name, ns, { preconditions: { uid: task.metadata.uid! } });
        } catch (e) {
          if (!(isNotFound(e) || isConflict(e))) throw e;
        }
        return;
      }
      return { requeueAfter: left };
    }

    const stop = (code: NonNullable<typeof st.stopCode>, reason: string): void => {
      st.stopCode ??= code;
      st.stoppedReason ??= reason;
      st.stoppingAt ??= iso;
    };
    if (task.spec.desiredStatus === 'STOPPED') stop(task.spec.stopCode ?? 'UserInitiated', task.spec.stoppedReason ?? STOP_REASONS.user);

    if (!st.stopCode) {
      if (!pod) {
        const created = st.podCreated || st.lastStatus !== 'PROVISIONING';
        if (created) {
          const live = await ctx.client.tryGet<Pod>(Kinds.Pod, name, ns);
          if (live && live.metadata.ownerReferences?.[0]?.uid === task.metadata.uid) pod = live;
          else stop(st.everRunning ? 'TerminationNotice' : 'TaskFailedToStart', STOP_REASONS.podGone);
        } else if (!td) {
          stop('TaskFailedToStart', `${STOP_REASONS.noTaskDefinition}: ${task.spec.taskDefinition}`);
        } else {
          const providers = new Map(this.providers.cache.list().map((p) => [p.metadata.name!, p]));
          try {
            pod = await ctx.client.create<Pod>(podForTask(task, td, providers));
            st.podCreated = true;
          } catch (e) {
            if ((e as { code?: number }).code === 422) {
              // A definition the Pod cannot express (e.g. two container names equal once lower-cased): the task cannot start.
              stop('TaskFailedToStart', `CannotCreateContainerError: ${(e as Error).message}`);
            } else if (isAlreadyExists(e)) {
              pod = await ctx.client.tryGet<Pod>(Kinds.Pod, name, ns);
              st.podCreated = true;
            } else throw e;
          }
        }
      }
      if (pod && !st.stopCode) {
        const names = td ? podContainers(td.spec).map((c) => c.name) : [];
        const essentialExited = (td?.spec.containerDefinitions ?? []).some((c, i) => c.essential !== false && pod!.status?.containerStatuses?.some((s) => s.name === names[i] && s.state?.terminated));
        if (pod.status?.phase === 'Failed' && pod.status.reason === 'SpotInterrupted') stop('SpotInterruption', pod.status.message ?? 'Your Spot Task was interrupted.');
        else if (essentialExited || finished(pod)) stop('EssentialContainerExited', STOP_REASONS.essential);
        else if (pod.metadata.deletionTimestamp) stop(st.everRunning ? 'TerminationNotice' : 'TaskFailedToStart', STOP_REASONS.podGone);
        else if (pod.status?.phase === 'Running') {
          st.lastStatus = 'RUNNING';
          st.everRunning = true;
          st.startedAt ??= iso;
        } else st.lastStatus = pod.spec.nodeName ? 'PENDING' : 'PROVISIONING';
        const unscheduled = pod.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False');
        if (st.lastStatus === 'PROVISIONING' && unscheduled?.message) st.placementMessage = unscheduled.message;
        else delete st.placementMessage;
      }
    }

    if (st.stopCode) {
      if (pod && !finished(pod) && !pod.metadata.deletionTimestamp) await this.deletePod(ctx, pod);
      const gone = !pod || finished(pod);
      if (gone) {
        st.lastStatus = 'STOPPED';
        st.stoppedAt ??= iso;
        requeue = STOPPED_TASK_TTL_MS;
        if (pod) await this.deletePod(ctx, pod);
      } else st.lastStatus = 'STOPPING';
    }
    if (pod?.spec.nodeName && !isFargateTask(task)) st.containerInstance = pod.spec.nodeName;
    st.containers = taskContainers(td, pod, st.lastStatus === 'STOPPED');
    if (!deepEqual(st, task.status ?? {})) {
      try {
        await ctx.client.modify<Task>(EcsKinds.Task, name, ns, (o) => (o.metadata.uid === task.metadata.uid ? { ...o, status: st } : undefined), { status: true });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return requeue !== undefined ? { requeueAfter: requeue } : undefined;
  }

  private async deletePod(ctx: ReconcileContext, pod: Pod): Promise<void> {
    if (pod.metadata.deletionTimestamp) return;
    try {
      await ctx.client.delete(Kinds.Pod, pod.metadata.name!, pod.metadata.namespace, { preconditions: { uid: pod.metadata.uid! } });
    } catch (e) {
      if (!(isNotFound(e) || isConflict(e))) throw e;
    }
  }
}
