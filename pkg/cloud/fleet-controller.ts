/**
 * `ec2.berth.dev/v1 Fleet`: EC2 Fleet (CreateFleet) — one request across several instance types,
 * Availability Zones and both purchase options, with the allocation strategies of fleet.ts.
 *
 * - `type: instant` launches the target capacity once and records what it launched; nothing is
 *   replaced (EC2 returns the instances synchronously and forgets the request).
 * - `type: maintain` (EC2's default) keeps `onDemandTargetCapacity` On-Demand and the rest Spot:
 *   an instance that terminates (a Spot interruption, a failure) is replaced, picking the pool by
 *   the strategy at that moment; extra capacity is terminated, newest first.
 *
 * Instances carry the label `ec2.berth.dev/fleet-id` and a controller ownerReference to the
 * Fleet, so deleting the Fleet terminates them (DeleteFleets with TerminateInstances).
 * Each instance counts one unit of capacity (weighted capacity is not simulated).
 */
import { isAlreadyExists, isNotFound } from '../api/errors.js';
import { controllerRef, deepEqual, ownerRef } from '../api/meta.js';
import type { KubeObject, Taint } from '../api/types.js';
import { parseTime } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import type { KindRef } from '../client/types.js';
import type { Controller, Manager, ReconcileContext, Reconciler } from '../runtime/manager.js';
import { controllerFor } from '../runtime/manager.js';
import type { Catalog } from './catalog.js';
import { allocateFleet, pickOnDemandPool, pickSpotPool, poolKey, poolsOf, type Placement } from './fleet.js';
import type { SpotMarket } from './spot-market.js';
import { newInstanceId, type Instance, type OnDemandAllocationStrategy, type SpotAllocationStrategy } from './types.js';
import type { LocalView } from './view.js';

export const FleetKind: KindRef = { apiVersion: 'ec2.berth.dev/v1', kind: 'Fleet' };
/** Label on a fleet's instances: the fleet's name. */
export const FLEET_LABEL = 'ec2.berth.dev/fleet-id';

export interface FleetSpec {
  /** `maintain` (default) or `instant`. */
  type?: 'maintain' | 'instant';
  /** The instance types, in priority order (the prioritized On-Demand strategy follows it). */
  overrides: { instanceType: string }[];
  availabilityZones: string[];
  targetCapacitySpecification: {
    totalTargetCapacity: number;
    /** Default 0: the rest is Spot. */
    onDemandTargetCapacity?: number;
  };
  spotOptions?: { allocationStrategy?: SpotAllocationStrategy; instancePoolsToUseCount?: number; maxPrice?: string };
  onDemandOptions?: { allocationStrategy?: OnDemandAllocationStrategy };
  /** Labels and taints the instances' Nodes register with (berth's addition). */
  nodeLabels?: Record<string, string>;
  nodeTaints?: Taint[];
}

export interface FleetStatus {
  fleetState?: 'active';
  /** `fulfilled`, or `pending_fulfillment` while short of the target (no pool under the maximum price). */
  activityStatus?: 'fulfilled' | 'pending_fulfillment';
  fulfilledCapacity?: number;
  fulfilledOnDemandCapacity?: number;
  instances?: { instanceId: string; instanceType: string; availabilityZone: string; lifecycle: 'on-demand' | 'spot' }[];
}

export interface Fleet extends KubeObject {
  spec: FleetSpec;
  status?: FleetStatus;
}

export class FleetController implements Reconciler {
  constructor(
    private readonly opts: { catalog: Catalog; market: SpotMarket; random: () => number },
    private readonly instances: LocalView<Instance>,
  ) {
    instances.informer.cache.addIndex(FLEET_LABEL, (i) => {
      const f = i.metadata.labels?.[FLEET_LABEL];
      return f ? [f] : [];
    });
  }

  static install(mgr: Manager, opts: { catalog: Catalog; market: SpotMarket; random: () => number }, instances: LocalView<Instance>): Controller {
    return controllerFor(mgr, FleetKind).named('ec2-fleet').owns(Kinds.Instance).complete(new FleetController(opts, instances));
  }

  async reconcile(ctx: ReconcileContext, name: string): Promise<void> {
    const fleet = await ctx.client.tryGet<Fleet>(FleetKind, name);
    if (!fleet || fleet.metadata.deletionTimestamp) return;
    const s = fleet.spec;
    const now = ctx.clock.now();
    const members = this.instances.list((i) => controllerRef(i)?.uid === fleet.metadata.uid, { name: FLEET_LABEL, value: name });
    const total = s.targetCapacitySpecification.totalTargetCapacity;
    const odTarget = Math.min(total, s.targetCapacitySpecification.onDemandTargetCapacity ?? 0);
    const maxPrice = s.spotOptions?.maxPrice !== undefined ? Number(s.spotOptions.maxPrice) : undefined;
    const isSpot = (i: Instance): boolean => i.spec.instanceMarketOptions?.marketType === 'spot';
    // Capacity that counts: not asked to terminate, not stopped or going.
    const isLive = (i: Instance): boolean => i.spec.state !== 'terminated' && !i.metadata.deletionTimestamp && !['shutting-down', 'terminated', 'stopping', 'stopped'].includes(i.status?.state ?? '');
    let launched: Placement[] = [];

    if ((s.type ?? 'maintain') === 'instant') {
      // Launched once (status.instances is set from then on); afterwards only the status follows.
      if (!fleet.status?.instances) launched = allocateFleet(
        {
          instanceTypes: s.overrides.map((o) => o.instanceType),
          availabilityZones: s.availabilityZones,
          totalTargetCapacity: total,
          onDemandTargetCapacity: odTarget,
          ...(s.spotOptions?.allocationStrategy ? { spotAllocationStrategy: s.spotOptions.allocationStrategy } : {}),
          ...(s.onDemandOptions?.allocationStrategy ? { onDemandAllocationStrategy: s.onDemandOptions.allocationStrategy } : {}),
          ...(s.spotOptions?.instancePoolsToUseCount ? { spotInstancePools: s.spotOptions.instancePoolsToUseCount } : {}),
          ...(maxPrice !== undefined ? { spotMaxPrice: maxPrice } : {}),
        },
        this.opts.market,
        this.opts.catalog,
        now,
      );
    } else {
      const live = members.filter(isLive);
      const od = live.filter((i) => !isSpot(i));
      const spot = live.filter(isSpot);
      const newestFirst = (a: Instance, b: Instance): number => parseTime(b.metadata.creationTimestamp) - parseTime(a.metadata.creationTimestamp) || (a.metadata.name! < b.metadata.name! ? 1 : -1);
      for (const v of [...od.sort(newestFirst).slice(0, Math.max(0, od.length - odTarget)), ...spot.sort(newestFirst).slice(0, Math.max(0, spot.length - (total - odTarget)))]) {
        await ctx.client.patch(Kinds.Instance, v.metadata.name!, undefined, 'merge', { spec: { state: 'terminated' } }).catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      }
      const pools = poolsOf(s.overrides.map((o) => o.instanceType), s.availabilityZones);
      const zoneCount = new Map<string, number>();
      for (const i of od) zoneCount.set(i.spec.availabilityZone, (zoneCount.get(i.spec.availabilityZone) ?? 0) + 1);
      for (let n = od.length; n < odTarget; n++) {
        const zone = [...s.availabilityZones].sort((a, b) => (zoneCount.get(a) ?? 0) - (zoneCount.get(b) ?? 0) || s.availabilityZones.indexOf(a) - s.availabilityZones.indexOf(b))[0]!;
        const p = pickOnDemandPool(s.onDemandOptions?.allocationStrategy ?? 'lowest-price', pools.filter((x) => x.availabilityZone === zone), this.opts.catalog);
        if (!p) break;
        zoneCount.set(zone, (zoneCount.get(zone) ?? 0) + 1);
        launched.push({ ...p, market: 'on-demand' });
      }
      const placed = new Map<string, number>();
      for (const i of spot) {
        const k = poolKey({ instanceType: i.spec.instanceType, availabilityZone: i.spec.availabilityZone, priority: 0 });
        placed.set(k, (placed.get(k) ?? 0) + 1);
      }
      for (let n = spot.length; n < total - odTarget; n++) {
        const p = pickSpotPool(s.spotOptions?.allocationStrategy ?? 'lowest-price', pools, this.opts.market, now, placed, s.spotOptions?.instancePoolsToUseCount ?? 1, (x) => maxPrice ?? this.opts.catalog.get(x.instanceType)?.onDemandUsdPerHour ?? Infinity);
        if (!p) break;
        placed.set(poolKey(p), (placed.get(poolKey(p)) ?? 0) + 1);
        launched.push({ ...p, market: 'spot' });
      }
    }

    const created: Instance[] = [];
    for (const p of launched) created.push(await this.launch(ctx, fleet, p));
    const all = [...members.filter(isLive), ...created];
    const status: FleetStatus = {
      fleetState: 'active',
      activityStatus: all.length >= total ? 'fulfilled' : 'pending_fulfillment',
      fulfilledCapacity: all.length,
      fulfilledOnDemandCapacity: all.filter((i) => !isSpot(i)).length,
      instances: all
        .map((i) => ({ instanceId: i.metadata.name!, instanceType: i.spec.instanceType, availabilityZone: i.spec.availabilityZone, lifecycle: isSpot(i) ? ('spot' as const) : ('on-demand' as const) }))
        .sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1)),
    };
    if (deepEqual(status, fleet.status)) return;
    const obj: Fleet = { ...fleet, metadata: { ...fleet.metadata }, status };
    delete obj.metadata.resourceVersion;
    try {
      await ctx.client.updateStatus(obj);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async launch(ctx: ReconcileContext, fleet: Fleet, p: Placement): Promise<Instance> {
    const s = fleet.spec;
    for (let attempt = 0; ; attempt++) {
      const inst: Instance = {
        apiVersion: Kinds.Instance.apiVersion,
        kind: Kinds.Instance.kind,
        metadata: { name: newInstanceId(this.opts.random), labels: { [FLEET_LABEL]: fleet.metadata.name! }, ownerReferences: [ownerRef(fleet)] },
        spec: {
          instanceType: p.instanceType,
          availabilityZone: p.availabilityZone,
          state: 'running',
          ...(p.market === 'spot' ? { instanceMarketOptions: { marketType: 'spot' as const, ...(s.spotOptions?.maxPrice ? { spotOptions: { maxPrice: s.spotOptions.maxPrice } } : {}) } } : {}),
          ...(s.nodeLabels ? { nodeLabels: { ...s.nodeLabels } } : {}),
          ...(s.nodeTaints?.length ? { nodeTaints: s.nodeTaints.map((t) => ({ ...t })) } : {}),
        },
      };
      try {
        const out = await ctx.client.create(inst);
        this.instances.wrote(out);
        ctx.recorder.event(fleet, 'Normal', 'Launching', `Launching ${p.market === 'spot' ? 'Spot' : 'On-Demand'} ${p.instanceType} in ${p.availabilityZone}: ${out.metadata.name}`);
        return out;
      } catch (e) {
        if (isAlreadyExists(e) && attempt < 3) continue;
        throw e;
      }
    }
  }
}
