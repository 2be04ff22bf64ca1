/**
 * Container instances: an EC2 instance's Node registered to an ECS cluster.
 *
 * **How an instance joins a cluster.** A Node belongs to ECS cluster C when it carries the label
 * `ecs.berth.dev/cluster: C` (what the ECS agent's `ECS_CLUSTER=C` does on a real instance). It
 * gets it either
 * - from its Auto Scaling group's launch template (`spec.launchTemplate.nodeLabels:
 *   {ecs.berth.dev/cluster: C}`) — a user's own group; or
 * - from this controller, when the Node's group (`autoscaling.berth.dev/group-name`) is the group
 *   of an Auto Scaling group capacity provider associated with cluster C
 *   (`put-cluster-capacity-providers`): the controller labels the Node.
 *
 * For each such Node it keeps a `ContainerInstance` (named after the Node) with ECS's view
 * (API_ContainerInstance, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerInstance.html):
 * registeredResources CPU = the instance's vCPUs × 1024 units, MEMORY = the Node's allocatable
 * memory in MiB (what is left after the OS and agent reserve theirs), PORTS = the ports the ECS
 * agent reserves (22, 2375, 2376, 51678, 51679), PORTS_UDP = none; remainingResources = those less
 * what the non-stopped tasks on it reserve (their task-level or summed container cpu and memory,
 * and their fixed host ports); runningTasksCount and pendingTasksCount; status ACTIVE, or
 * DRAINING when `spec.status` says so (then its service tasks are stopped so their services
 * replace them elsewhere, and the Node is tainted `ecs.berth.dev/draining:NoSchedule`);
 * `agentConnected` follows the Node's Ready condition. A Node that goes (instance terminated) or
 * loses the label deregisters its container instance.
 */
import { isAlreadyExists, isNotFound } from '../api/errors.js';
import { deepEqual } from '../api/meta.js';
import type { Node } from '../api/types.js';
import { resourceAmount } from '../api/quantity.js';
import { GROUP_NAME_LABEL } from '../cloud/types.js';
import { ecsAttributes } from './placement/attributes.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import { controllerFor, type Controller, type Manager, type ReconcileContext, type Reconciler, type Result } from '../runtime/manager.js';
import { asgNameOf } from './task-controller.js';
import {
  CLUSTER_LABEL,
  EcsKinds,
  SERVICE_LABEL,
  containerInstanceArn,
  containerInstanceId,
  type CapacityProvider,
  type Cluster,
  type ContainerInstance,
  type ResourceAmount,
  type Task,
} from './types.js';

/** Ports the ECS agent reserves on every container instance (ECS_RESERVED_PORTS' default). */
export const RESERVED_PORTS = ['22', '2375', '2376', '51678', '51679'];
/** The taint on a DRAINING container instance's Node. */
export const DRAINING_TAINT = { key: 'ecs.berth.dev/draining', effect: 'NoSchedule' as const };

/** The EC2 instance id in a Node's provider ID (`aws:///us-east-1a/i-0…`), or the Node's name. */
export function instanceIdOf(n: Node): string {
  return n.spec?.providerID?.split('/').at(-1) || n.metadata.name!;
}

/** Registered resources of a Node, ECS units: CPU units, MEMORY MiB, PORTS, PORTS_UDP. */
export function registeredResources(n: Node): ResourceAmount[] {
  const cpu = resourceAmount('cpu', (n.status?.capacity?.cpu ?? '0') as string);
  const mem = resourceAmount('memory', (n.status?.allocatable?.memory ?? n.status?.capacity?.memory ?? '0') as string);
  return [
    { name: 'CPU', type: 'INTEGER', integerValue: Math.round((cpu / 1000) * 1024) },
    { name: 'MEMORY', type: 'INTEGER', integerValue: Math.floor(mem / 1048576) },
    { name: 'PORTS', type: 'STRINGSET', stringSetValue: [...RESERVED_PORTS] },
    { name: 'PORTS_UDP', type: 'STRINGSET', stringSetValue: [] },
  ];
}

/** The container instance controller (see the file comment). Keys are Node names. */
export class ContainerInstanceController implements Reconciler {
  private readonly nodes: Informer<Node>;
  private readonly cis: Informer<ContainerInstance>;
  private readonly tasks: Informer<Task>;
  private readonly providers: Informer<CapacityProvider>;
  private readonly clusters: Informer<Cluster>;

  constructor(mgr: Manager) {
    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.cis = mgr.informer<ContainerInstance>(EcsKinds.ContainerInstance);
    this.tasks = mgr.informer<Task>(EcsKinds.Task);
    this.providers = mgr.informer<CapacityProvider>(EcsKinds.CapacityProvider);
    this.clusters = mgr.informer<Cluster>(EcsKinds.Cluster);
    this.tasks.cache.addIndex('ecs-instance', (t) => (t.status?.containerInstance ? [t.status.containerInstance] : []));
  }

  static installWith(mgr: Manager): Controller {
    const r = new ContainerInstanceController(mgr);
    const allNodes = (): string[] => r.nodes.cache.list().map((n) => n.metadata.name!);
    return controllerFor(mgr, Kinds.Node)
      .named('ecs-container-instance')
      .watches(EcsKinds.ContainerInstance, (c) => [c.metadata.name!])
      .watches(EcsKinds.Task, (t) => ((t as Task).status?.containerInstance ? [(t as Task).status!.containerInstance!] : []))
      .watches(EcsKinds.CapacityProvider, allNodes)
      .watches(EcsKinds.Cluster, allNodes)
      .complete(r);
  }

  /** The cluster a Node's group joins through a capacity provider, if any. */
  private clusterByProvider(n: Node): { cluster: string; provider: string } | undefined {
    const g = n.metadata.labels?.[GROUP_NAME_LABEL];
    if (!g) return undefined;
    for (const cp of this.providers.cache.list()) {
      if (asgNameOf(cp.spec.autoScalingGroupProvider.autoScalingGroupArn) !== g) continue;
      const c = this.clusters.cache.list().find((x) => x.spec.capacityProviders?.includes(cp.metadata.name!));
      if (c) return { cluster: c.metadata.name!, provider: cp.metadata.name! };
    }
    return undefined;
  }

  async reconcile(ctx: ReconcileContext, name: string): Promise<Result | void> {
    const node = this.nodes.cache.get(name);
    const ci = this.cis.cache.get(name);
    const viaProvider = node ? this.clusterByProvider(node) : undefined;
    if (node && viaProvider && !node.metadata.labels?.[CLUSTER_LABEL] && !node.metadata.deletionTimestamp) {
      try {
        await ctx.client.patch(Kinds.Node, name, undefined, 'merge', { metadata: { labels: { [CLUSTER_LABEL]: viaProvider.cluster } } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return;
    }
    const cluster = node && !node.metadata.deletionTimestamp ? node.metadata.labels?.[CLUSTER_LABEL] : undefined;
    if (!cluster || (ci && ci.spec.cluster !== cluster)) {
      if (ci) await ctx.client.deleteIfExists(EcsKinds.ContainerInstance, name);
      if (!cluster) return;
    }
    const n = node!;
    let cur = ci && ci.spec.cluster === cluster ? ci : undefined;
    if (!cur) {
      try {
        cur = await ctx.client.create<ContainerInstance>({
          apiVersion: EcsKinds.ContainerInstance.apiVersion,
          kind: 'ContainerInstance',
          metadata: { name, labels: { [CLUSTER_LABEL]: cluster } },
          spec: { cluster, ec2InstanceId: instanceIdOf(n), status: 'ACTIVE' },
        });
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        return { requeue: true };
      }
    }
    const draining = cur.spec.status === 'DRAINING';
    const tasks = this.tasks.cache.byIndex('ecs-instance', name).filter((t) => t.status?.lastStatus !== 'STOPPED');
    const reg = registeredResources(n);
    const used = { cpu: 0, mem: 0, ports: new Set<string>() };
    for (const t of tasks) {
      used.cpu += Number(t.status?.cpu ?? 0);
      used.mem += Number(t.status?.memory ?? 0);
      for (const p of t.status?.hostPorts ?? []) used.ports.add(String(p));
    }
    const remaining: ResourceAmount[] = reg.map((r) =>
      r.name === 'CPU'
        ? { ...r, integerValue: r.integerValue! - used.cpu }
        : r.name === 'MEMORY'
          ? { ...r, integerValue: r.integerValue! - used.mem }
          : r.name === 'PORTS'
            ? { ...r, stringSetValue: [...new Set([...r.stringSetValue!, ...used.ports])] }
            : r,
    );
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const running = tasks.filter((t) => t.status?.lastStatus === 'RUNNING').length;
    const st: NonNullable<ContainerInstance['status']> = {
      ...(cur.status ?? {}),
      containerInstanceArn: containerInstanceArn(cluster, containerInstanceId(n.metadata.uid ?? name)),
      status: draining ? 'DRAINING' : 'ACTIVE',
      agentConnected: ready,
      registeredResources: reg,
      remainingResources: remaining,
      runningTasksCount: running,
      pendingTasksCount: tasks.length - running,
      registeredAt: cur.status?.registeredAt ?? cur.metadata.creationTimestamp ?? new Date(ctx.clock.now()).toISOString(),
      ...(viaProvider ? { capacityProviderName: viaProvider.provider } : {}),
      // The same attributes the placement plugin matches (pkg/ecs/placement), as DescribeContainerInstances lists them.
      attributes: Object.entries(ecsAttributes(n)).map(([name, value]) => ({ name, value })),
    };
    if (!deepEqual(st, cur.status ?? {})) {
      try {
        await ctx.client.modify<ContainerInstance>(EcsKinds.ContainerInstance, name, undefined, (o) => ({ ...o, status: st }), { status: true });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    // Draining: taint the Node and stop its service tasks (their services start replacements elsewhere).
    const tainted = (n.spec?.taints ?? []).some((t) => t.key === DRAINING_TAINT.key);
    if (draining !== tainted) {
      const taints = (n.spec?.taints ?? []).filter((t) => t.key !== DRAINING_TAINT.key);
      if (draining) taints.push(DRAINING_TAINT);
      await ctx.client.patch(Kinds.Node, name, undefined, 'merge', { spec: { taints } });
    }
    if (draining) {
      for (const t of tasks) {
        if (!t.metadata.labels?.[SERVICE_LABEL] || t.spec.desiredStatus === 'STOPPED') continue;
        await ctx.client.modify<Task>(EcsKinds.Task, t.metadata.name!, t.metadata.namespace, (o) =>
          o.spec.desiredStatus === 'STOPPED' ? undefined : { ...o, spec: { ...o.spec, desiredStatus: 'STOPPED', stopCode: 'ServiceSchedulerInitiated', stoppedReason: 'Container instance is being drained' } },
        );
      }
    }
  }
}
