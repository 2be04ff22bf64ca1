/**
 * The ECS flavour (`ecs.berth.dev/v1`): clusters, task definitions, services, tasks, container
 * instances and capacity providers (types.ts), validated as ECS validates them (taskdef.ts,
 * validate.ts), run by berth's one scheduler through the Pods the task controller makes
 * (task-controller.ts), the service scheduler (service-controller.ts), container instances
 * (instance-controller.ts) and managed scaling (capacity.ts). `berth ecs …` (cli.ts) takes the
 * AWS CLI's JSON.
 *
 * ```ts
 * installEcs(api, mgr);   // the control plane's `ecs` component, after cloud (Auto Scaling groups) and elb
 * ```
 */
import type { ApiServer } from '../apiserver/index.js';
import { age, col } from '../apiserver/tables.js';
import { isNotFound } from '../api/errors.js';
import { deepEqual } from '../api/meta.js';
import type { Informer } from '../client/informer.js';
import { controllerFor, type Manager, type ReconcileContext, type Reconciler } from '../runtime/manager.js';
import { CapacityProviderController } from './capacity.js';
import { ContainerInstanceController } from './instance-controller.js';
import { ServiceController } from './service-controller.js';
import { TaskController } from './task-controller.js';
import {
  ECS_GROUP,
  ECS_RESOURCES,
  EcsKinds,
  SERVICE_LABEL,
  capacityProviderArn,
  clusterArn,
  type CapacityProvider,
  type Cluster,
  type ContainerInstance,
  type ResourceAmount,
  type Service,
  type Task,
  type TaskDefinition,
} from './types.js';
import {
  defaultCapacityProvider,
  defaultService,
  defaultTask,
  defaultTaskDefinition,
  validateCapacityProvider,
  validateCluster,
  validateService,
  validateTask,
  validateTaskDefinition,
} from './validate.js';

export * from './types.js';
export * from './taskdef.js';
export * from './validate.js';
export { chooseProvider, splitByStrategy, launchPlan, instancesFor, CapacityProviderController } from './capacity.js';
export { ServiceController, circuitBreakerThreshold, deploymentBounds, targetGroupNameOf } from './service-controller.js';
export { TaskController, podForTask, isFargateTask, STOP_REASONS } from './task-controller.js';
export { ContainerInstanceController, registeredResources, RESERVED_PORTS } from './instance-controller.js';

/** Keeps each Cluster's status: ARN, counts of container instances, tasks and services. Keys are cluster names. */
class ClusterStatusController implements Reconciler {
  private readonly clusters: Informer<Cluster>;
  private readonly cis: Informer<ContainerInstance>;
  private readonly tasks: Informer<Task>;
  private readonly services: Informer<Service>;
  constructor(mgr: Manager) {
    this.clusters = mgr.informer<Cluster>(EcsKinds.Cluster);
    this.cis = mgr.informer<ContainerInstance>(EcsKinds.ContainerInstance);
    this.tasks = mgr.informer<Task>(EcsKinds.Task);
    this.services = mgr.informer<Service>(EcsKinds.Service);
  }
  async reconcile(ctx: ReconcileContext, name: string): Promise<void> {
    const c = this.clusters.cache.get(name);
    if (!c) return;
    const tasks = this.tasks.cache.list().filter((t) => t.spec.cluster === name && t.status?.lastStatus !== 'STOPPED');
    const running = tasks.filter((t) => t.status?.lastStatus === 'RUNNING').length;
    const st: NonNullable<Cluster['status']> = {
      clusterArn: clusterArn(name),
      status: 'ACTIVE',
      registeredContainerInstancesCount: this.cis.cache.list().filter((x) => x.spec.cluster === name).length,
      runningTasksCount: running,
      pendingTasksCount: tasks.length - running,
      activeServicesCount: this.services.cache.list().filter((s) => s.spec.cluster === name && !s.metadata.deletionTimestamp).length,
    };
    if (deepEqual(st, c.status ?? {})) return;
    try {
      await ctx.client.modify<Cluster>(EcsKinds.Cluster, name, undefined, (o) => ({ ...o, status: st }), { status: true });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

const list = (xs: string[] | undefined): string => (xs?.length ? xs.join(',') : '<none>');

/**
 * Registers the ECS kinds, their defaulting and validation, `kubectl get` tables, and the
 * controllers (tasks, services, container instances, managed scaling, cluster status). The
 * AutoScalingGroup kind must be served already (the cloud component), and TargetGroup (elb) for
 * services with load balancers.
 */
export function installEcs(api: ApiServer, mgr: Manager): void {
  for (const r of ECS_RESOURCES) if (!api.registry.get(r.group, r.version, r.resource)) api.registry.add(r);
  api.store.setHooks(ECS_GROUP, 'TaskDefinition', { default: defaultTaskDefinition, validate: validateTaskDefinition });
  api.store.setHooks(ECS_GROUP, 'Service', { default: defaultService, validate: validateService });
  api.store.setHooks(ECS_GROUP, 'Task', { default: defaultTask, validate: validateTask });
  api.store.setHooks(ECS_GROUP, 'Cluster', { validate: validateCluster });
  api.store.setHooks(ECS_GROUP, 'CapacityProvider', { default: defaultCapacityProvider, validate: validateCapacityProvider });

  api.tables.set(ECS_GROUP, 'Cluster', {
    columns: [col('Status'), col('Instances', 'registered container instances'), col('Running'), col('Pending'), col('Services'), col('Capacity-Providers'), col('Age')],
    cells: (o, now) => {
      const c = o as Cluster;
      return [c.status?.status ?? 'ACTIVE', c.status?.registeredContainerInstancesCount ?? 0, c.status?.runningTasksCount ?? 0, c.status?.pendingTasksCount ?? 0, c.status?.activeServicesCount ?? 0, list(c.spec.capacityProviders), age(o, now)];
    },
  });
  api.tables.set(ECS_GROUP, 'TaskDefinition', {
    columns: [col('Family'), col('Revision'), col('Status'), col('Network-Mode'), col('CPU', 'task-level CPU units'), col('Memory', 'task-level memory, MiB'), col('Compatibilities'), col('Containers', '', 1), col('Age')],
    cells: (o, now) => {
      const td = o as TaskDefinition;
      return [td.spec.family, td.status?.revision ?? '', td.status?.status ?? 'ACTIVE', td.spec.networkMode ?? 'bridge', td.spec.cpu ?? '<none>', td.spec.memory ?? '<none>', list(td.status?.compatibilities), (td.spec.containerDefinitions ?? []).map((c) => c.name).join(','), age(o, now)];
    },
  });
  api.tables.set(ECS_GROUP, 'Service', {
    columns: [col('Cluster'), col('Task-Definition'), col('Desired'), col('Running'), col('Pending'), col('Status'), col('Rollout', 'the PRIMARY deployment\'s rolloutState'), col('Launch', 'launch type or capacity provider strategy', 1), col('Age')],
    cells: (o, now) => {
      const s = o as Service;
      const p = s.status?.deployments?.find((d) => d.status === 'PRIMARY');
      return [s.spec.cluster, s.spec.taskDefinition, s.spec.desiredCount, s.status?.runningCount ?? 0, s.status?.pendingCount ?? 0, s.status?.status ?? 'ACTIVE', p?.rolloutState ?? '<none>', s.spec.launchType ?? (s.spec.capacityProviderStrategy ?? []).map((i) => i.capacityProvider).join(',') ?? '', age(o, now)];
    },
  });
  api.tables.set(ECS_GROUP, 'Task', {
    columns: [col('Cluster'), col('Task-Definition'), col('Last-Status'), col('Desired-Status'), col('Group'), col('Launch', 'launch type or capacity provider'), col('Container-Instance', '', 1), col('Stopped-Reason', '', 1), col('Age')],
    cells: (o, now) => {
      const t = o as Task;
      return [t.spec.cluster, t.spec.taskDefinition, t.status?.lastStatus ?? 'PROVISIONING', t.spec.desiredStatus, t.spec.group, t.spec.capacityProvider ?? t.spec.launchType ?? 'EC2', t.status?.containerInstance ?? '<none>', t.status?.stoppedReason ?? '<none>', age(o, now)];
    },
  });
  api.tables.set(ECS_GROUP, 'ContainerInstance', {
    columns: [col('Cluster'), col('Instance-Id'), col('Status'), col('Running'), col('Pending'), col('CPU', 'remaining/registered CPU units'), col('Memory', 'remaining/registered MiB'), col('Capacity-Provider', '', 1), col('Age')],
    cells: (o, now) => {
      const c = o as ContainerInstance;
      const amt = (xs: ResourceAmount[] | undefined, n: string): number | string => xs?.find((r) => r.name === n)?.integerValue ?? '?';
      return [
        c.spec.cluster,
        c.spec.ec2InstanceId,
        c.status?.status ?? 'ACTIVE',
        c.status?.runningTasksCount ?? 0,
        c.status?.pendingTasksCount ?? 0,
        `${amt(c.status?.remainingResources, 'CPU')}/${amt(c.status?.registeredResources, 'CPU')}`,
        `${amt(c.status?.remainingResources, 'MEMORY')}/${amt(c.status?.registeredResources, 'MEMORY')}`,
        c.status?.capacityProviderName ?? '<none>',
        age(o, now),
      ];
    },
  });
  api.tables.set(ECS_GROUP, 'CapacityProvider', {
    columns: [col('Auto-Scaling-Group'), col('Managed-Scaling'), col('Target-Capacity', 'percent'), col('Reservation', 'CapacityProviderReservation, percent'), col('Age')],
    cells: (o, now) => {
      const cp = o as CapacityProvider;
      const ms = cp.spec.autoScalingGroupProvider.managedScaling;
      return [cp.spec.autoScalingGroupProvider.autoScalingGroupArn, ms?.status ?? 'DISABLED', ms?.targetCapacity ?? '', cp.status?.capacityProviderReservation ?? '<none>', age(o, now)];
    },
  });

  TaskController.installWith(mgr);
  ServiceController.installWith(mgr);
  ContainerInstanceController.installWith(mgr);
  CapacityProviderController.installWith(mgr);
  controllerFor(mgr, EcsKinds.Cluster)
    .named('ecs-cluster')
    .watches(EcsKinds.ContainerInstance, (c) => [(c as ContainerInstance).spec.cluster])
    .watches(EcsKinds.Task, (t) => [(t as Task).spec.cluster])
    .watches(EcsKinds.Service, (s) => [(s as Service).spec.cluster])
    .complete(new ClusterStatusController(mgr));
}

export { SERVICE_LABEL, capacityProviderArn };
