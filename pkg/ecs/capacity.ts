/**
 * Capacity providers: choosing each task's provider from a capacity provider strategy, and the
 * managed scaling of an Auto Scaling group provider.
 *
 * **Strategy** (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-capacity-providers.html,
 * API_CapacityProviderStrategyItem): the provider with a `base` gets tasks until it runs `base`
 * of them; after that tasks go by `weight` (a provider of weight 0 gets none past its base). berth
 * makes the weighted split exact and deterministic: each next task goes to the provider whose
 * share would stay lowest, i.e. minimising (tasks above its base + 1) / weight; ties go to the
 * larger weight, then the earlier item. So weights 1 and 3 give 1 task in 4 to the first.
 * Without a launch type or strategy, the cluster's default strategy is used; without one, EC2.
 *
 * **Managed scaling** (https://aws.amazon.com/blogs/containers/deep-dive-on-amazon-ecs-cluster-auto-scaling/,
 * API_ManagedScaling): every minute (ECS publishes the metric each minute) the controller computes
 * CapacityProviderReservation = M / N × 100, where N is the group's instances (pending or in
 * service) and M the instances needed: those running at least one of the provider's tasks, plus
 * those the PROVISIONING tasks would go to (packed first fit, largest memory first, into the room
 * the group's instances have left — a booting instance offers its type's whole allocatable),
 * plus the new instances of the launch template's type they would still need. N = 0 and M > 0 gives 200; N = M = 0 gives 100. Target tracking to
 * `targetCapacity`: above it the group's desired capacity goes at once to ceil(M × 100 /
 * targetCapacity), the step bounded by minimumScalingStepSize / maximumScalingStepSize and the
 * group's maxSize; below it for 15 consecutive minutes (target tracking's scale-in alarm) the
 * group shrinks towards that value, never below minSize, and only by idle instances (those with
 * no task), which go first (TerminateInstanceInAutoScalingGroup-style).
 */
import { isNotFound } from '../api/errors.js';
import { deepEqual } from '../api/meta.js';
import type { Node } from '../api/types.js';
import { resourceAmount } from '../api/quantity.js';
import { nodeAllocatable } from '../cloud/allocatable.js';
import { catalog } from '../cloud/catalog.js';
import { GROUP_NAME_LABEL, SCALING_CAUSE_ANNOTATION, TERMINATE_FIRST_ANNOTATION, type AutoScalingGroup } from '../cloud/types.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import { controllerFor, type Controller, type Manager, type ReconcileContext, type Reconciler, type Result } from '../runtime/manager.js';
import { asgNameOf } from './task-controller.js';
import { unitsToMillicores } from './taskdef.js';
import { EcsKinds, FARGATE_PROVIDERS, type CapacityProvider, type CapacityProviderStrategyItem, type Cluster, type LaunchType, type Task } from './types.js';

/** How often managed scaling evaluates, ms of cluster time (the metric's one-minute period). */
export const MANAGED_SCALING_PERIOD_MS = 60_000;
/** How long the reservation must stay below target before scaling in, ms (15 one-minute datapoints). */
export const SCALE_IN_AFTER_MS = 15 * 60_000;

/**
 * Which provider the next task goes to, given how many tasks (of the service, or of this
 * run-task call) each provider already has. Throws Error for a strategy no task can use.
 */
export function chooseProvider(strategy: CapacityProviderStrategyItem[], counts: Map<string, number>): string {
  for (const it of strategy) if ((it.base ?? 0) > (counts.get(it.capacityProvider) ?? 0)) return it.capacityProvider;
  let best: CapacityProviderStrategyItem | undefined;
  let bestScore = Infinity;
  for (const it of strategy) {
    const w = it.weight ?? 0;
    if (w <= 0) continue;
    const above = Math.max(0, (counts.get(it.capacityProvider) ?? 0) - (it.base ?? 0));
    const score = (above + 1) / w;
    if (score < bestScore - 1e-12 || (Math.abs(score - bestScore) <= 1e-12 && w > (best?.weight ?? 0))) {
      best = it;
      bestScore = score;
    }
  }
  if (!best) throw new Error('the capacity provider strategy has no provider with a weight above 0');
  return best.capacityProvider;
}

/** Providers for `n` new tasks, one by one from `counts` (which is not changed). */
export function splitByStrategy(strategy: CapacityProviderStrategyItem[], n: number, counts: Map<string, number> = new Map()): string[] {
  const c = new Map(counts);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = chooseProvider(strategy, c);
    c.set(p, (c.get(p) ?? 0) + 1);
    out.push(p);
  }
  return out;
}

/**
 * How a new task is launched: an explicit launch type; else the given strategy; else the
 * cluster's default strategy; else launch type EC2.
 */
export function launchPlan(cluster: Cluster | undefined, launchType: LaunchType | undefined, strategy: CapacityProviderStrategyItem[] | undefined): { launchType?: LaunchType; strategy?: CapacityProviderStrategyItem[] } {
  if (launchType) return { launchType };
  if (strategy?.length) return { strategy };
  const def = cluster?.spec.defaultCapacityProviderStrategy;
  if (def?.length) return { strategy: def };
  return { launchType: 'EC2' };
}

/**
 * Packs `tasks` (CPU units, memory MiB) first fit, largest memory first, into the free room of
 * `bins` (existing or booting instances: millicores and MiB left), then into new instances of
 * size `fresh`. Returns which bins received tasks and how many new instances were needed (a task
 * larger than `fresh` is skipped: more instances of this type would not help it).
 */
export function instancesFor(tasks: { cpu: number; memory: number }[], bins: { cpuMillis: number; memMiB: number }[], fresh: { cpuMillis: number; memMiB: number }): { used: boolean[]; extra: number } {
  const free = bins.map((b) => ({ ...b }));
  const used = bins.map(() => false);
  const added: { cpuMillis: number; memMiB: number }[] = [];
  for (const t of [...tasks].sort((a, b) => b.memory - a.memory || b.cpu - a.cpu)) {
    const need = { cpu: unitsToMillicores(t.cpu), mem: t.memory };
    const fit = (b: { cpuMillis: number; memMiB: number }): boolean => b.cpuMillis >= need.cpu && b.memMiB >= need.mem;
    const i = free.findIndex(fit);
    const bin = i >= 0 ? free[i] : added.find(fit);
    if (bin) {
      bin.cpuMillis -= need.cpu;
      bin.memMiB -= need.mem;
      if (i >= 0) used[i] = true;
      continue;
    }
    if (need.cpu > fresh.cpuMillis || need.mem > fresh.memMiB) continue;
    added.push({ cpuMillis: fresh.cpuMillis - need.cpu, memMiB: fresh.memMiB - need.mem });
  }
  return { used, extra: added.length };
}

/** Managed scaling of Auto Scaling group capacity providers (see the file comment). Keys are provider names. */
export class CapacityProviderController implements Reconciler {
  private readonly providers: Informer<CapacityProvider>;
  private readonly clusters: Informer<Cluster>;
  private readonly tasks: Informer<Task>;
  private readonly nodes: Informer<Node>;
  private readonly asgs: Informer<AutoScalingGroup>;

  constructor(mgr: Manager) {
    this.providers = mgr.informer<CapacityProvider>(EcsKinds.CapacityProvider);
    this.clusters = mgr.informer<Cluster>(EcsKinds.Cluster);
    this.tasks = mgr.informer<Task>(EcsKinds.Task);
    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.asgs = mgr.informer<AutoScalingGroup>(Kinds.AutoScalingGroup);
  }

  static installWith(mgr: Manager): Controller {
    const r = new CapacityProviderController(mgr);
    return controllerFor(mgr, EcsKinds.CapacityProvider)
      .named('ecs-capacity-provider')
      .watches(EcsKinds.Task, (t) => {
        const cp = (t as Task).spec?.capacityProvider;
        return cp && !FARGATE_PROVIDERS.includes(cp as never) ? [cp] : [];
      })
      .complete(r);
  }

  async reconcile(ctx: ReconcileContext, name: string): Promise<Result | void> {
    const cp = this.providers.cache.get(name);
    if (!cp || cp.metadata.deletionTimestamp) return;
    const now = ctx.clock.now();
    const asgName = asgNameOf(cp.spec.autoScalingGroupProvider.autoScalingGroupArn);
    const asg = this.asgs.cache.get(asgName);
    const st = { ...(cp.status ?? {}) };
    st.status ??= 'ACTIVE';
    const ms = cp.spec.autoScalingGroupProvider.managedScaling;
    if (!asg) {
      st.updateStatus = 'UPDATE_FAILED';
      await this.writeStatus(ctx, cp, st);
      return { requeueAfter: MANAGED_SCALING_PERIOD_MS };
    }
    st.updateStatus = 'UPDATE_COMPLETE';
    const members = (asg.status?.instances ?? []).filter((i) => i.lifecycleState !== 'Terminating');
    const N = members.length;
    const nodes = this.nodes.cache.list().filter((n) => n.metadata.labels?.[GROUP_NAME_LABEL] === asgName && !n.metadata.deletionTimestamp);
    const instanceOfNode = (n: Node): string | undefined => n.spec?.providerID?.split('/').at(-1);
    const nodeByInstance = new Map(nodes.map((n) => [instanceOfNode(n) ?? '', n]));
    const tasks = this.tasks.cache.list().filter((t) => t.spec.capacityProvider === name && t.status?.lastStatus !== 'STOPPED' && t.spec.desiredStatus === 'RUNNING');
    const busyNodes = new Set(tasks.map((t) => t.status?.containerInstance).filter((x): x is string => !!x));
    const provisioning = tasks.filter((t) => (t.status?.lastStatus ?? 'PROVISIONING') === 'PROVISIONING');
    const type = catalog().get(asg.spec.launchTemplate.instanceType);
    const alloc = type ? nodeAllocatable(type) : undefined;
    const fresh = alloc ? { cpuMillis: alloc.cpuMillicores, memMiB: Math.floor(alloc.memoryBytes / 1048576) } : { cpuMillis: 0, memMiB: 0 };
    // Where the PROVISIONING tasks would go: the room left on the group's instances (a booting
    // one, with no Node yet, offers its whole type), then new instances of the type.
    const bins: { cpuMillis: number; memMiB: number }[] = [];
    const binBusy: boolean[] = [];
    for (const i of members) {
      const n = nodeByInstance.get(i.instanceId);
      if (!n) {
        bins.push({ ...fresh });
        binBusy.push(false);
        continue;
      }
      const on = tasks.filter((t) => t.status?.containerInstance === n.metadata.name);
      const cpu = resourceAmount('cpu', (n.status?.allocatable?.cpu ?? '0') as string);
      const mem = Math.floor(resourceAmount('memory', (n.status?.allocatable?.memory ?? '0') as string) / 1048576);
      bins.push({ cpuMillis: cpu - on.reduce((x, t) => x + unitsToMillicores(Number(t.status?.cpu ?? 0)), 0), memMiB: mem - on.reduce((x, t) => x + Number(t.status?.memory ?? 0), 0) });
      binBusy.push(busyNodes.has(n.metadata.name!));
    }
    const fit = instancesFor(
      provisioning.map((t) => ({ cpu: Number(t.status?.cpu ?? 0), memory: Number(t.status?.memory ?? 0) })),
      bins,
      fresh,
    );
    const M = binBusy.filter((b, i) => b || fit.used[i]).length + fit.extra;
    const cpr = N === 0 ? (M > 0 ? 200 : 100) : Math.round((M / N) * 100);
    st.capacityProviderReservation = cpr;
    st.instancesNeeded = M;
    st.instancesRunning = N;
    if (ms?.status !== 'DISABLED' && ms) {
      const target = ms.targetCapacity ?? 100;
      const minStep = ms.minimumScalingStepSize ?? 1;
      const maxStep = ms.maximumScalingStepSize ?? 10000;
      const want = Math.ceil((M * 100) / target);
      const desired = asg.spec.desiredCapacity ?? asg.spec.minSize;
      if (cpr > target) {
        delete st.belowTargetSince;
        const step = Math.min(maxStep, Math.max(minStep, want - N));
        const next = Math.min(asg.spec.maxSize, N + step);
        if (next > desired) {
          await this.setDesired(ctx, asgName, next, [], `ECS managed scaling of capacity provider ${name}: CapacityProviderReservation ${cpr} above target ${target} (M=${M}, N=${N})`);
          st.lastScalingTime = new Date(now).toISOString();
        }
      } else if (cpr < target) {
        st.belowTargetSince ??= new Date(now).toISOString();
        if (now - Date.parse(st.belowTargetSince) >= SCALE_IN_AFTER_MS) {
          const idle = members.filter((i) => {
            const n = nodeByInstance.get(i.instanceId);
            return n && !busyNodes.has(n.metadata.name!) && i.lifecycleState === 'InService';
          });
          const step = Math.min(maxStep, Math.max(minStep, N - want), idle.length, N - asg.spec.minSize);
          if (step > 0 && desired > N - step) {
            await this.setDesired(ctx, asgName, N - step, idle.slice(0, step).map((i) => i.instanceId), `ECS managed scaling of capacity provider ${name}: CapacityProviderReservation ${cpr} below target ${target} for 15 minutes (M=${M}, N=${N})`);
            st.lastScalingTime = new Date(now).toISOString();
            delete st.belowTargetSince;
          }
        }
      } else delete st.belowTargetSince;
    }
    await this.writeStatus(ctx, cp, st);
    return { requeueAfter: MANAGED_SCALING_PERIOD_MS };
  }

  private async setDesired(ctx: ReconcileContext, asg: string, n: number, terminateFirst: string[], cause: string): Promise<void> {
    try {
      await ctx.client.modify<AutoScalingGroup>(Kinds.AutoScalingGroup, asg, undefined, (g) => {
        if (g.spec.desiredCapacity === n) return undefined;
        g.spec.desiredCapacity = n;
        const ann = (g.metadata.annotations ??= {});
        ann[SCALING_CAUSE_ANNOTATION] = cause;
        if (terminateFirst.length) ann[TERMINATE_FIRST_ANNOTATION] = terminateFirst.join(',');
        return g;
      });
      ctx.log.info({ asg, desiredCapacity: n }, cause);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async writeStatus(ctx: ReconcileContext, cp: CapacityProvider, st: NonNullable<CapacityProvider['status']>): Promise<void> {
    if (deepEqual(st, cp.status ?? {})) return;
    try {
      await ctx.client.modify<CapacityProvider>(EcsKinds.CapacityProvider, cp.metadata.name!, undefined, (o) => ({ ...o, status: st }), { status: true });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Clusters using this provider (for status and tables). */
  clustersOf(name: string): string[] {
    return this.clusters.cache
      .list()
      .filter((c) => c.spec.capacityProviders?.includes(name))
      .map((c) => c.metadata.name!);
  }
}
