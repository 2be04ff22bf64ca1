/**
 * The Auto Scaling group controller: keeps `spec.desiredCapacity` healthy, non-terminating
 * instances of the launch template in the group's zones, as EC2 Auto Scaling does.
 *
 * - Too few: launch, each into the zone with the fewest instances (scaling.ts).
 * - Too many: terminate by the Default termination policy (scaling.ts, [19] in AWS-SEMANTICS.md).
 * - An instance that is stopping or stopped is unhealthy (the default EC2 health check "checks that
 *   the instance is running", EC2 Auto Scaling User Guide, "About the health checks for your Auto
 *   Scaling group"), and one in a zone the group no longer lists is out of place: both are
 *   terminated and replaced at once ([15] in AWS-SEMANTICS.md: unhealthy instances are replaced).
 *   EC2's AZ rebalancing of a group that is merely uneven is not modelled.
 *
 * With a mixed instances policy the group keeps `onDemandBaseCapacity` plus
 * `onDemandPercentageAboveBaseCapacity` of the rest On-Demand (rounded up) and the others Spot,
 * picks each new instance's zone first (balance) and then its type by the market's allocation
 * strategy (fleet.ts), and on scale-in terminates from the market above its share first.
 *
 * Target groups (`targetGroups`, EC2 Auto Scaling's load balancer attachment): the target group
 * controller (pkg/elb) registers each running instance of the group on the target group's port.
 * With `healthCheckType: ELB` an instance a target group reports `unhealthy` is unhealthy too, and
 * replaced once the grace period has passed. An instance the group terminates while it has target
 * groups is first taken out of service (annotation `autoscaling.berth.dev/draining-since`): the
 * target groups deregister it and drain it, and the group terminates it once none of them lists it
 * any more, or when the longest deregistration delay has passed ("Add an Elastic Load Balancing
 * health check to your Auto Scaling group" and "Use Elastic Load Balancing to distribute incoming
 * application traffic in your Auto Scaling group", EC2 Auto Scaling User Guide: instances are
 * deregistered and connection draining completes before they terminate).
 *
 * Capacity Rebalancing (`capacityRebalance: true`): a Spot Instance EC2 has sent a rebalance
 * recommendation (`status.rebalanceRecommendationTime`, or an interruption notice) stops counting
 * toward the desired capacity, so a replacement is launched while it still runs; once the
 * replacements are in service it is terminated ("Capacity Rebalancing to handle Amazon EC2 Spot
 * Interruptions", EC2 Auto Scaling User Guide: launch first, then terminate). The group may go
 * above its maximum for this by up to 10 % of it (at least one instance), as AWS allows.
 *
 * Instances carry the label `autoscaling.berth.dev/group-name` and a controller ownerReference to
 * the group; the label goes onto their Nodes too. Termination is a change of the instance's
 * `spec.state`, so the Instance stays visible (terminated) for an hour, as in EC2.
 *
 * Level-based: each reconcile looks at the group and all its instances. The instance cache is
 * read through a LocalView, so a reconcile that follows this controller's own launches sees them
 * even before the watch has delivered them.
 */
import { isAlreadyExists, isNotFound } from '../api/errors.js';
import { controllerRef, deepEqual, ownerRef } from '../api/meta.js';
import type { KubeObject } from '../api/types.js';
import { parseTime, rfc3339 } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import type { Controller, Manager, ReconcileContext, Reconciler } from '../runtime/manager.js';
import { controllerFor } from '../runtime/manager.js';
import type { Catalog } from './catalog.js';
import { onDemandCount, pickOnDemandPool, pickSpotPool, poolKey, type Pool } from './fleet.js';
import { launchZones, terminationOrder, type Member } from './scaling.js';
import type { SpotMarket } from './spot-market.js';
import {
  DRAINING_SINCE_ANNOTATION,
  GROUP_NAME_LABEL,
  launchTemplateNodeLabels,
  MAX_ACTIVITIES,
  PROTECTED_FROM_SCALE_IN_ANNOTATION,
  SCALING_CAUSE_ANNOTATION,
  TERMINATE_FIRST_ANNOTATION,
  type ScalingActivity,
  newInstanceId,
  type AutoScalingGroup,
  type AutoScalingGroupStatus,
  type GroupInstance,
  type HealthStatus,
  type Instance,
  type LifecycleState,
  targetGroupKey,
} from './types.js';
import { LocalView } from './view.js';

/** The index of the instance cache by group name. */
const GROUP_INDEX = GROUP_NAME_LABEL;

/** berth's TargetGroup kind (pkg/elb), read here through the API only. */
export const TARGET_GROUP_KIND = { apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' } as const;

/** What the group reads of a TargetGroup: its targets' health (pkg/elb/api.ts writes it). */
interface TargetGroupHealth extends KubeObject {
  spec?: { attributes?: Record<string, string> };
  status?: { targets?: { id: string; state: string }[] };
}

export interface AutoScalingGroupControllerOptions {
  /** Random numbers for instance ids. */
  random: () => number;
  /** For mixed instances policies: prices and the Spot market. */
  catalog?: Catalog;
  market?: SpotMarket;
  /** Follow the groups' target groups (the TargetGroup kind must be served); default false. */
  targetGroups?: boolean;
}

/** The types a group launches: the mixed policy's overrides, else the launch template's type. */
export function groupInstanceTypes(asg: AutoScalingGroup): string[] {
  const o = asg.spec.mixedInstancesPolicy?.launchTemplate?.overrides?.map((x) => x.instanceType) ?? [];
  return o.length ? o : [asg.spec.launchTemplate.instanceType];
}

/** How a group sees one of its instances. */
interface Classified {
  inst: Instance;
  /** Undefined once the instance is terminated (it has left the group). */
  lifecycle?: LifecycleState;
  health: HealthStatus;
  /** Unhealthy by its target groups' health checks (healthCheckType ELB). */
  elb?: boolean;
}

/** An instance's place in its group: gone once terminated; Terminating from the moment termination is asked. */
export function classifyInstance(inst: Instance): { lifecycle?: LifecycleState; health: HealthStatus } {
  const st = inst.status?.state;
  const health: HealthStatus = st === 'stopping' || st === 'stopped' || (inst.spec.state === 'stopped' && st !== undefined) ? 'Unhealthy' : 'Healthy';
  if (st === 'terminated') return { health };
  if (inst.metadata.deletionTimestamp || inst.spec.state === 'terminated' || st === 'shutting-down' || inst.metadata.annotations?.[DRAINING_SINCE_ANNOTATION]) return { lifecycle: 'Terminating', health };
  if (st === undefined || st === 'pending') return { lifecycle: 'Pending', health };
  return { lifecycle: 'InService', health };
}

/** True if the instance no longer matches the group's launch template (the policy's "outdated launch template"). */
function outdated(inst: Instance, asg: AutoScalingGroup): boolean {
  const lt = asg.spec.launchTemplate;
  const labels = { ...(inst.spec.nodeLabels ?? {}) };
  delete labels[GROUP_NAME_LABEL];
  return !groupInstanceTypes(asg).includes(inst.spec.instanceType) || !deepEqual(labels, launchTemplateNodeLabels(lt)) || !deepEqual(inst.spec.nodeTaints ?? [], lt.nodeTaints ?? []);
}

export class AutoScalingGroupController implements Reconciler {
  readonly instances: LocalView<Instance>;

  constructor(
    mgr: Manager,
    private readonly opts: AutoScalingGroupControllerOptions,
    instances?: LocalView<Instance>,
  ) {
    this.instances = instances ?? new LocalView(mgr.informer<Instance>(Kinds.Instance));
    this.instances.informer.cache.addIndex(GROUP_INDEX, (i) => {
      const g = i.metadata.labels?.[GROUP_NAME_LABEL];
      return g ? [g] : [];
    });
    this.targetGroups = opts.targetGroups ? mgr.informer<TargetGroupHealth>(TARGET_GROUP_KIND) : { cache: { get: () => undefined } };
  }

  /** The target groups' cache (none without `opts.targetGroups`: every lookup misses). */
  private readonly targetGroups: { cache: { get(key: string): TargetGroupHealth | undefined } };

  /** Registers the controller: groups, and the instances they own. */
  static install(mgr: Manager, opts: AutoScalingGroupControllerOptions, instances?: LocalView<Instance>): { controller: Controller; reconciler: AutoScalingGroupController } {
    const reconciler = new AutoScalingGroupController(mgr, opts, instances);
    const groups = mgr.informer<AutoScalingGroup>(Kinds.AutoScalingGroup);
    groups.cache.addIndex('targetGroup', (g) => (g.spec.targetGroups ?? []).map(targetGroupKey));
    const builder = controllerFor(mgr, Kinds.AutoScalingGroup).named('autoscaling-group').owns(Kinds.Instance);
    // A target group's health or its draining targets changed: the groups attached to it look again.
    if (opts.targetGroups) builder.watches(TARGET_GROUP_KIND, (tg) => groups.cache.byIndex('targetGroup', `${tg.metadata.namespace}/${tg.metadata.name}`).map((g) => g.metadata.name!));
    const controller = builder.complete(reconciler);
    return { controller, reconciler };
  }

  async reconcile(ctx: ReconcileContext, name: string): Promise<{ requeueAfter?: number } | void> {
    const asg = await ctx.client.tryGet<AutoScalingGroup>(Kinds.AutoScalingGroup, name);
    if (!asg) return this.deleteOrphans(ctx, name);
    // A group being deleted only waits: the garbage collector (or deleteOrphans) ends its instances.
    if (asg.metadata.deletionTimestamp) return;
    const now = ctx.clock.now();
    const zones = asg.spec.availabilityZones;
    const desired = asg.spec.desiredCapacity ?? asg.spec.minSize;
    const activities: ScalingActivity[] = [];
    this.activities = activities;
    this.unhealthy = new Map();
    this.cause = { asg, desired, counted: 0, now };
    const graceMs = (asg.spec.healthCheckGracePeriod ?? 0) * 1000;
    let requeueAfter: number | undefined;

    const counting: Instance[] = [];
    const replace: Instance[] = [];
    const drain = this.draining(asg, now);
    for (const c of this.members(asg)) {
      if (c.lifecycle === 'Terminating' && c.inst.spec.state !== 'terminated' && c.inst.metadata.annotations?.[DRAINING_SINCE_ANNOTATION]) {
        // Taken out of service: terminated once its target groups have drained it.
        const wait = drain(c.inst);
        if (wait <= 0) await this.terminate(ctx, asg, c.inst, true);
        else requeueAfter = Math.min(requeueAfter ?? Infinity, wait);
        continue;
      }
      if (c.lifecycle === undefined || c.lifecycle === 'Terminating') continue;
      let unhealthy = c.health === 'Unhealthy';
      // The health-check grace period: an instance that launched less than that long ago is not yet checked.
      const launched = parseTime(c.inst.status?.launchTime);
      if (unhealthy && graceMs > 0 && !Number.isNaN(launched) && now - launched < graceMs) {
        unhealthy = false;
        requeueAfter = Math.min(requeueAfter ?? Infinity, launched + graceMs - now);
      }
      if (unhealthy || !zones.includes(c.inst.spec.availabilityZone)) {
        replace.push(c.inst);
        if (unhealthy) this.unhealthy.set(c.inst.metadata.name!, c.elb ? 'ELB' : 'EC2');
      } else counting.push(c.inst);
    }
    const isSpot = (i: Instance): boolean => i.spec.instanceMarketOptions?.marketType === 'spot';
    // Capacity Rebalancing: at-risk Spot Instances leave the count; they go once their replacements serve.
    const rebalanceVictims: Instance[] = [];
    if (asg.spec.capacityRebalance) {
      const atRisk = counting.filter((i) => isSpot(i) && (i.status?.spotInterruption || parseTime(i.status?.rebalanceRecommendationTime) <= now));
      if (atRisk.length) {
        const others = counting.filter((i) => !atRisk.includes(i));
        const serving = others.filter((i) => classifyInstance(i).lifecycle === 'InService').length;
        const go = Math.min(atRisk.length, Math.max(0, serving + atRisk.length - desired));
        rebalanceVictims.push(...atRisk.slice(0, go));
        // Replacements beyond the maximum: at most 10 % of it (at least one).
        const room = asg.spec.maxSize + Math.max(1, Math.floor(asg.spec.maxSize / 10)) - counting.length;
        const keep = atRisk.slice(go);
        // Those still waiting count while no room is left for their replacement.
        const uncounted = Math.min(keep.length, Math.max(0, room));
        counting.splice(0, counting.length, ...others, ...keep.slice(uncounted));
        if (uncounted > 0 || go > 0) this.cause.rebalanceRecommendation = true;
      }
    }
    this.cause.counted = counting.length;

    const mixed = asg.spec.mixedInstancesPolicy;
    const dist = mixed?.instancesDistribution ?? {};
    const odTarget = mixed ? onDemandCount(desired, dist) : desired;
    const victims = [...replace, ...rebalanceVictims];
    let launches = 0;
    if (counting.length > desired) {
      const types = groupInstanceTypes(asg);
      const lowestPrice = dist.onDemandAllocationStrategy === 'lowest-price' || dist.spotAllocationStrategy === 'lowest-price';
      const allocationRank = (i: Instance): number => (lowestPrice ? (this.opts.catalog?.get(i.spec.instanceType)?.onDemandUsdPerHour ?? 0) : types.indexOf(i.spec.instanceType));
      const member = (i: Instance): Member => ({ instanceId: i.metadata.name!, zone: i.spec.availabilityZone, launchTime: parseTime(i.status?.launchTime), outdated: outdated(i, asg), allocationRank: allocationRank(i) });
      const byId = new Map(counting.map((i) => [i.metadata.name!, i]));
      let excess = counting.length - desired;
      // TerminateInstanceInAutoScalingGroup: the instances asked for go first, whatever the policy.
      const first = new Set((asg.metadata.annotations?.[TERMINATE_FIRST_ANNOTATION] ?? '').split(',').map((x) => x.trim()));
      for (const i of counting) {
        if (excess > 0 && first.has(i.metadata.name!)) {
          victims.push(i);
          excess--;
        }
      }
      // Instances protected from scale-in are never picked by the policy.
      const pickable = counting.filter((i) => !victims.includes(i) && i.metadata.annotations?.[PROTECTED_FROM_SCALE_IN_ANNOTATION] !== 'true');
      excess = Math.min(excess, pickable.length);
      // The market above its share goes first (all one market without a mixed policy).
      const od = pickable.filter((i) => !isSpot(i));
      const spot = pickable.filter(isSpot);
      const fromOd = Math.min(excess, Math.max(0, od.length - odTarget), od.length);
      const fromSpot = Math.min(excess - fromOd, spot.length);
      const rest = excess - fromOd - fromSpot;
      for (const [pool, n] of [
        [od, fromOd + rest],
        [spot, fromSpot],
      ] as const) {
        if (n > 0) for (const m of terminationOrder(zones, pool.map(member), n, now, asg.spec.terminationPolicies)) victims.push(byId.get(m.instanceId)!);
      }
    } else {
      launches = desired - counting.length;
      // AZ rebalancing: a group at its size with every instance in service but zones uneven by more
      // than one launches one in the smallest zone first; the next reconcile's scale-in then
      // terminates one from the largest (EC2 Auto Scaling launches before it terminates).
      if (launches === 0 && replace.length === 0 && counting.every((i) => classifyInstance(i).lifecycle === 'InService') && desired < asg.spec.maxSize + Math.max(1, Math.floor(asg.spec.maxSize / 10))) {
        const counts = zones.map((z) => counting.filter((i) => i.spec.availabilityZone === z).length);
        if (counting.length && Math.max(...counts) - Math.min(...counts) > 1) {
          launches = 1;
          this.cause.rebalance = true;
        }
      }
    }

    for (const v of victims) await this.terminate(ctx, asg, v);
    const staying = counting.filter((i) => !victims.includes(i));
    let odCount = staying.filter((i) => !isSpot(i)).length;
    const placed = new Map<string, number>();
    for (const i of staying) {
      if (!isSpot(i)) continue;
      const k = poolKey({ instanceType: i.spec.instanceType, availabilityZone: i.spec.availabilityZone, priority: 0 });
      placed.set(k, (placed.get(k) ?? 0) + 1);
    }
    for (const zone of launchZones(zones, staying.map((i) => ({ zone: i.spec.availabilityZone })), launches)) {
      if (!mixed) {
        await this.launch(ctx, asg, zone, asg.spec.launchTemplate.instanceType, false);
        continue;
      }
      const pools: Pool[] = groupInstanceTypes(asg).map((instanceType, priority) => ({ instanceType, availabilityZone: zone, priority }));
      const market = this.opts.market;
      const catalog = this.opts.catalog;
      let pick: Pool | undefined;
      let spot = false;
      if (odCount < odTarget || !market || !catalog) {
        pick = catalog ? pickOnDemandPool(dist.onDemandAllocationStrategy ?? 'prioritized', pools, catalog) : pools[0];
        odCount++;
      } else {
        const max = dist.spotMaxPrice !== undefined ? Number(dist.spotMaxPrice) : undefined;
        pick = pickSpotPool(dist.spotAllocationStrategy ?? 'lowest-price', pools, market, now, placed, dist.spotInstancePools ?? 2, (p) => max ?? catalog.get(p.instanceType)?.onDemandUsdPerHour ?? Infinity);
        spot = true;
        if (!pick) {
          ctx.recorder.event(asg, 'Warning', 'FailedLaunch', `Launching a new EC2 instance failed: no Spot pool in ${zone} at or under the maximum price`);
          continue;
        }
      }
      if (!pick) continue;
      placed.set(poolKey(pick), (placed.get(poolKey(pick)) ?? 0) + 1);
      await this.launch(ctx, asg, zone, pick.instanceType, spot);
    }

    await this.writeStatus(ctx, asg, desired, activities);
    return requeueAfter !== undefined ? { requeueAfter } : undefined;
  }

  /** The activities of the reconcile in progress, and what their causes quote. */
  private activities: ScalingActivity[] = [];
  /** Instances of the reconcile in progress replaced as unhealthy, and by which health check. */
  private unhealthy = new Map<string, 'EC2' | 'ELB'>();
  private cause: { asg: AutoScalingGroup; desired: number; counted: number; now: number; rebalance?: boolean; rebalanceRecommendation?: boolean } | undefined;

  /** AWS's wording of why an activity happened. */
  private causeText(launch: boolean, unhealthy?: 'EC2' | 'ELB'): string {
    const c = this.cause!;
    const at = `At ${rfc3339(c.now).replace(/\.\d+Z$/, 'Z')}`;
    const why = c.asg.metadata.annotations?.[SCALING_CAUSE_ANNOTATION];
    if (unhealthy === 'ELB') return `${at} an instance was taken out of service in response to an ELB system health check failure.`;
    if (unhealthy) return `${at} an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.`;
    if (c.rebalanceRecommendation) return `${at} an instance was ${launch ? 'launched' : 'taken out of service'} in response to an EC2 instance rebalance recommendation.`;
    if (c.rebalance) return `${at} instances were launched to balance instances in zones ${c.asg.spec.availabilityZones.join(' ')} with other zones.`;
    const change = launch ? `increasing the capacity from ${c.counted} to ${c.desired}` : `shrinking the capacity from ${c.counted} to ${c.desired}`;
    // As AWS's activity history: the trigger's sentence (from whoever changed the desired capacity), then the group's.
    return `${why ? `${why} ` : ''}${at} an instance was ${launch ? 'started' : 'taken out of service'} in response to a difference between desired and actual capacity, ${change}.`;
  }

  private record(description: string, cause: string, statusCode: ScalingActivity['statusCode']): void {
    this.activities.push({ description, cause, startTime: rfc3339(this.cause!.now), statusCode });
  }

  /**
   * The group's instances (owned by this very group), with their lifecycle and health; with
   * `healthCheckType: ELB`, an instance some target group reports `unhealthy` is Unhealthy.
   */
  private members(asg: AutoScalingGroup): Classified[] {
    const uid = asg.metadata.uid;
    const owned = this.instances.list((i) => controllerRef(i)?.uid === uid && i.metadata.labels?.[GROUP_NAME_LABEL] === asg.metadata.name, { name: GROUP_INDEX, value: asg.metadata.name! });
    const elb = asg.spec.healthCheckType === 'ELB' ? this.elbUnhealthy(asg) : undefined;
    return owned.map((inst) => {
      const c: Classified = { inst, ...classifyInstance(inst) };
      if (elb?.has(inst.metadata.name!) && c.health === 'Healthy' && c.lifecycle === 'InService') {
        c.health = 'Unhealthy';
        c.elb = true;
      }
      return c;
    });
  }

  /** Instance ids some target group of the group reports `unhealthy`. */
  private elbUnhealthy(asg: AutoScalingGroup): Set<string> {
    const out = new Set<string>();
    for (const r of asg.spec.targetGroups ?? []) for (const t of this.targetGroups.cache.get(targetGroupKey(r))?.status?.targets ?? []) if (t.state === 'unhealthy') out.add(t.id);
    return out;
  }

  /**
   * For the group's draining instances: ms still to wait before one may terminate (≤ 0: now).
   * Done when no target group lists it any more; at the latest after the longest deregistration
   * delay (default 300 s) from when it was taken out of service.
   */
  private draining(asg: AutoScalingGroup, now: number): (inst: Instance) => number {
    const tgs = (asg.spec.targetGroups ?? []).map((r) => this.targetGroups.cache.get(targetGroupKey(r)));
    const delayMs = Math.max(0, ...tgs.map((tg) => (tg ? Number(tg.spec?.attributes?.['deregistration_delay.timeout_seconds'] ?? 300) * 1000 : 0)));
    return (inst) => {
      const id = inst.metadata.name!;
      const since = parseTime(inst.metadata.annotations?.[DRAINING_SINCE_ANNOTATION]);
      const listed = tgs.some((tg) => tg?.status?.targets?.some((t) => t.id === id));
      if (!listed || Number.isNaN(since)) return 0;
      return Math.max(1, since + delayMs - now);
    };
  }

  private async launch(ctx: ReconcileContext, asg: AutoScalingGroup, zone: string, instanceType: string, spot: boolean): Promise<void> {
    const lt = asg.spec.launchTemplate;
    const maxPrice = asg.spec.mixedInstancesPolicy?.instancesDistribution?.spotMaxPrice;
    const group = asg.metadata.name!;
    for (let attempt = 0; ; attempt++) {
      const id = newInstanceId(this.opts.random);
      const inst: Instance = {
        apiVersion: Kinds.Instance.apiVersion,
        kind: Kinds.Instance.kind,
        metadata: {
          name: id,
          labels: { [GROUP_NAME_LABEL]: group },
          ownerReferences: [ownerRef(asg)],
          ...(asg.spec.newInstancesProtectedFromScaleIn ? { annotations: { [PROTECTED_FROM_SCALE_IN_ANNOTATION]: 'true' } } : {}),
        },
        spec: {
          instanceType,
          availabilityZone: zone,
          state: 'running',
          ...(spot ? { instanceMarketOptions: { marketType: 'spot' as const, ...(maxPrice !== undefined ? { spotOptions: { maxPrice: String(maxPrice) } } : {}) } } : {}),
          nodeLabels: { ...launchTemplateNodeLabels(lt), [GROUP_NAME_LABEL]: group },
          ...(lt.nodeTaints?.length ? { nodeTaints: lt.nodeTaints.map((t) => ({ ...t })) } : {}),
        },
      };
      try {
        this.instances.wrote(await ctx.client.create(inst));
        ctx.recorder.event(asg, 'Normal', 'Launching', `Launching a new EC2 instance: ${id}${spot ? ` (Spot, ${instanceType})` : asg.spec.mixedInstancesPolicy ? ` (On-Demand, ${instanceType})` : ''}`);
        this.record(`Launching a new EC2 instance: ${id}`, this.causeText(true), 'Successful');
        return;
      } catch (e) {
        // A clash of random ids: draw another.
        if (isAlreadyExists(e) && attempt < 3) continue;
        ctx.recorder.event(asg, 'Warning', 'FailedLaunch', `Launching a new EC2 instance failed: ${(e as Error).message}`);
        this.record(`Launching a new EC2 instance. Status Reason: ${(e as Error).message}`, this.causeText(true), 'Failed');
        throw e;
      }
    }
  }

  /**
   * Terminates an instance; one of a group with target groups that is still running is only taken
   * out of service (draining) first, and `drained` terminates it once its target groups let it go.
   */
  private async terminate(ctx: ReconcileContext, asg: AutoScalingGroup, inst: Instance, drained = false): Promise<void> {
    const id = inst.metadata.name!;
    const drain = !drained && this.opts.targetGroups === true && !!asg.spec.targetGroups?.length && inst.status?.state === 'running';
    try {
      const patch = drain ? { metadata: { annotations: { [DRAINING_SINCE_ANNOTATION]: rfc3339(this.cause!.now) } } } : { spec: { state: 'terminated' } };
      const out = await ctx.client.patch<Instance>(Kinds.Instance, id, undefined, 'merge', patch);
      this.instances.wrote(out);
      if (drained) return; // its activity was recorded when it was taken out of service
      ctx.recorder.event(asg, 'Normal', 'Terminating', `Terminating EC2 instance: ${id}${drain ? ' (waiting for its target groups to drain it)' : ''}`);
      this.record(`Terminating EC2 instance: ${id}`, this.causeText(false, this.unhealthy.get(id) ?? (classifyInstance(inst).health === 'Unhealthy' ? 'EC2' : undefined)), 'Successful');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Writes the status whole when it changed. This controller is its only writer. */
  private async writeStatus(ctx: ReconcileContext, asg: AutoScalingGroup, desired: number, activities: ScalingActivity[] = []): Promise<void> {
    const instances: GroupInstance[] = [];
    for (const c of this.members(asg)) {
      if (!c.lifecycle) continue;
      instances.push({
        instanceId: c.inst.metadata.name!,
        availabilityZone: c.inst.spec.availabilityZone,
        lifecycleState: c.lifecycle,
        instanceType: c.inst.spec.instanceType,
        healthStatus: c.health,
        ...(c.inst.spec.instanceMarketOptions?.marketType === 'spot' ? { instanceLifecycle: 'spot' as const } : {}),
        ...(c.inst.metadata.annotations?.[PROTECTED_FROM_SCALE_IN_ANNOTATION] === 'true' ? { protectedFromScaleIn: true } : {}),
      });
    }
    instances.sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
    const status: AutoScalingGroupStatus = {
      currentCapacity: instances.filter((i) => i.lifecycleState !== 'Terminating').length,
      desiredCapacity: desired,
      instances,
    };
    const history = [...(asg.status?.activities ?? []), ...activities].slice(-MAX_ACTIVITIES);
    if (history.length) status.activities = history;
    if (deepEqual(status, asg.status)) return;
    const obj: AutoScalingGroup = { ...asg, metadata: { ...asg.metadata }, status };
    delete obj.metadata.resourceVersion;
    try {
      await ctx.client.updateStatus(obj);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /**
   * The group is gone: delete the instances it controlled (each terminates through its
   * finalizer), as a forced DeleteAutoScalingGroup does. Reads the API, not the cache, so an
   * instance the garbage collector has just released (orphan deletion) is left alone.
   */
  private async deleteOrphans(ctx: ReconcileContext, name: string): Promise<void> {
    const list = await ctx.client.list<Instance>(Kinds.Instance, { labelSelector: `${GROUP_NAME_LABEL}=${name}` });
    for (const inst of list.items) {
      const c = controllerRef(inst);
      if (!c || c.kind !== 'AutoScalingGroup' || c.name !== name || inst.metadata.deletionTimestamp) continue;
      try {
        const out = await ctx.client.delete(Kinds.Instance, inst.metadata.name!, undefined, { preconditions: { uid: inst.metadata.uid! } });
        if (out.metadata.deletionTimestamp) this.instances.wrote(out as Instance);
        else this.instances.deleted(out);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }
}
