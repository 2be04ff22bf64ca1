/**
 * EC2 Fleet and Auto Scaling mixed-instances allocation, as pure functions: how many instances
 * are On-Demand, and which pool (instance type × Availability Zone) each new instance goes to
 * under the allocation strategies of EC2 Fleet and EC2 Auto Scaling ([13][14] in
 * AWS-SEMANTICS.md; EC2 User Guide, "Allocation strategies for Spot Instances"):
 *
 * - Spot `lowest-price`: the cheapest pools, spread over `spotInstancePools` of them;
 * - Spot `capacity-optimized`: the pool with the most spare capacity;
 * - Spot `price-capacity-optimized`: among the pools with high spare capacity (within 20 % of the
 *   best), the cheapest — AWS's recommended strategy;
 * - On-Demand `prioritized`: the overrides in order; `lowest-price`: the cheapest type.
 *
 * Each instance placed in this allocation lowers its pool's spare capacity a little (a pool is
 * not bottomless), so capacity-optimized requests spread once a pool's lead is used up.
 */
import type { Catalog } from './catalog.js';
import type { SpotMarket } from './spot-market.js';
import type { InstancesDistribution, OnDemandAllocationStrategy, SpotAllocationStrategy } from './types.js';

/** A pool a fleet may launch into. */
export interface Pool {
  instanceType: string;
  availabilityZone: string;
  /** The override's position: lower is preferred (prioritized strategies, ties). */
  priority: number;
}

/** Where one instance goes. */
export interface Placement extends Pool {
  market: 'on-demand' | 'spot';
}

/** Spare capacity one instance takes from its pool in the model. */
const CAPACITY_PER_INSTANCE = 0.02;
/** price-capacity-optimized considers the pools within this fraction of the best capacity. */
const HIGH_CAPACITY_BAND = 0.8;

function key(p: Pool): string {
  return `${p.instanceType}/${p.availabilityZone}`;
}

/**
 * How many of `total` instances are On-Demand: the base capacity, then the percentage of the rest,
 * rounded up (in favour of On-Demand).
 */
export function onDemandCount(total: number, d: InstancesDistribution = {}): number {
  const base = Math.min(total, d.onDemandBaseCapacity ?? 0);
  const pct = d.onDemandPercentageAboveBaseCapacity ?? 100;
  return base + Math.ceil(((total - base) * pct) / 100 - 1e-9);
}

/** Picks the pool for one On-Demand instance. */
export function pickOnDemandPool(strategy: OnDemandAllocationStrategy, pools: readonly Pool[], catalog: Catalog): Pool | undefined {
  const price = (p: Pool): number => catalog.get(p.instanceType)?.onDemandUsdPerHour ?? Infinity;
  let best: Pool | undefined;
  for (const p of pools) {
    if (!best) best = p;
    else if (strategy === 'lowest-price' ? price(p) < price(best) || (price(p) === price(best) && p.priority < best.priority) : p.priority < best.priority) best = p;
  }
  return best;
}

/**
 * Picks the pool for one Spot Instance at time `now`. `placed` counts instances already in each
 * pool (this allocation's and, for lowest-price spreading, the group's); `poolsCount` is
 * lowest-price's `spotInstancePools`.
 */
export function pickSpotPool(strategy: SpotAllocationStrategy, pools: readonly Pool[], market: SpotMarket, now: number, placed: ReadonlyMap<string, number>, poolsCount = 2, maxPrice?: (p: Pool) => number): Pool | undefined {
  const candidates = pools.filter((p) => !maxPrice || market.price(p.instanceType, p.availabilityZone, now) <= maxPrice(p));
  if (!candidates.length) return undefined;
  const price = (p: Pool): number => market.price(p.instanceType, p.availabilityZone, now);
  const capacity = (p: Pool): number => market.capacity(p.instanceType, p.availabilityZone, now) - CAPACITY_PER_INSTANCE * (placed.get(key(p)) ?? 0);
  const byPrice = (a: Pool, b: Pool): number => price(a) - price(b) || a.priority - b.priority || (key(a) < key(b) ? -1 : 1);
  if (strategy === 'lowest-price') {
    const cheapest = [...candidates].sort(byPrice).slice(0, Math.max(1, Math.min(20, poolsCount)));
    // Spread across them: the one with the fewest instances, the cheaper on ties.
    return cheapest.reduce((best, p) => ((placed.get(key(p)) ?? 0) < (placed.get(key(best)) ?? 0) ? p : best));
  }
  const byCapacity = (a: Pool, b: Pool): number => capacity(b) - capacity(a) || byPrice(a, b);
  const ranked = [...candidates].sort(byCapacity);
  if (strategy === 'capacity-optimized') return ranked[0];
  // The band below the best pool's spare capacity; the model's spare capacity goes below zero once
  // many instances sit in every pool, and the band must then still hold the best pool.
  const top = capacity(ranked[0]!);
  const floor = top - Math.abs(top) * (1 - HIGH_CAPACITY_BAND);
  return ranked.filter((p) => capacity(p) >= floor).sort(byPrice)[0];
}

/** The pools of a set of instance types in a set of zones, in override order. */
export function poolsOf(instanceTypes: readonly string[], zones: readonly string[]): Pool[] {
  const out: Pool[] = [];
  instanceTypes.forEach((instanceType, priority) => {
    for (const availabilityZone of zones) out.push({ instanceType, availabilityZone, priority });
  });
  return out;
}

/** An EC2 Fleet request of type `instant`: launch `totalTargetCapacity` instances now, across the pools. */
export interface FleetRequest {
  instanceTypes: string[];
  availabilityZones: string[];
  totalTargetCapacity: number;
  /** How many of them On-Demand (default 0: the rest is Spot). */
  onDemandTargetCapacity?: number;
  spotAllocationStrategy?: SpotAllocationStrategy;
  onDemandAllocationStrategy?: OnDemandAllocationStrategy;
  spotInstancePools?: number;
  /** USD per hour. */
  spotMaxPrice?: number;
}

/** Where each instance of an instant fleet goes. Spot Instances for which no pool is under the maximum price are left out. */
export function allocateFleet(req: FleetRequest, market: SpotMarket, catalog: Catalog, now: number): Placement[] {
  const pools = poolsOf(req.instanceTypes, req.availabilityZones);
  const od = Math.min(req.totalTargetCapacity, req.onDemandTargetCapacity ?? 0);
  const out: Placement[] = [];
  const placed = new Map<string, number>();
  const zoneCount = new Map<string, number>();
  for (let i = 0; i < od; i++) {
    // On-Demand: balance zones, then the strategy within the zone.
    const zone = [...req.availabilityZones].sort((a, b) => (zoneCount.get(a) ?? 0) - (zoneCount.get(b) ?? 0) || req.availabilityZones.indexOf(a) - req.availabilityZones.indexOf(b))[0]!;
    const p = pickOnDemandPool(req.onDemandAllocationStrategy ?? 'lowest-price', pools.filter((x) => x.availabilityZone === zone), catalog);
    if (!p) break;
    zoneCount.set(zone, (zoneCount.get(zone) ?? 0) + 1);
    out.push({ ...p, market: 'on-demand' });
  }
  for (let i = od; i < req.totalTargetCapacity; i++) {
    const p = pickSpotPool(req.spotAllocationStrategy ?? 'price-capacity-optimized', pools, market, now, placed, req.spotInstancePools ?? 2, req.spotMaxPrice !== undefined ? () => req.spotMaxPrice! : (x) => catalog.get(x.instanceType)?.onDemandUsdPerHour ?? Infinity);
    if (!p) break;
    placed.set(key(p), (placed.get(key(p)) ?? 0) + 1);
    out.push({ ...p, market: 'spot' });
  }
  return out;
}

export { key as poolKey };
