/**
 * The simulated AWS account: the EC2 instance-type catalogue, Instances with EC2's lifecycle that
 * register Nodes while running (and keep them NotReady while stopped), Spot Instances with a
 * seeded market and interruptions, Dedicated Instances and Dedicated Hosts, Auto Scaling groups
 * with mixed instances policies, and billing: a usage ledger, Reserved Instances, Savings Plans,
 * and the bill (`costReport`, `GET /billing/v1/cost`). `installCloud` adds the kinds' hooks and
 * tables to an API server, seeds the catalogue as InstanceType objects and registers the
 * controllers on a Manager:
 *
 * ```ts
 * const api = await createApiServer({ backend, clock });
 * const mgr = new Manager({ client: new Client(api.transport), clock });
 * await installCloud(api, mgr, { bootDelaySeconds: 30 });
 * await mgr.start(signal);
 * ```
 */
import type { ApiServer } from '../apiserver/index.js';
import { Kinds } from '../client/client.js';
import type { Instance as InstanceObject } from './types.js';
import type { Manager } from '../runtime/manager.js';
import { AllocationController } from './allocation.js';
import { AutoScalingGroupController } from './asg-controller.js';
import { BILLING_GROUP } from './billing-types.js';
import { catalog as defaultCatalog, type Catalog } from './catalog.js';
import { costRoute, ensureMarketSeed, spotPriceHistoryRoute } from './cost.js';
import { DedicatedHostController } from './host-controller.js';
import { FleetController } from './fleet-controller.js';
import { InstanceController } from './instance-controller.js';
import { seedInstanceTypes } from './instancetypes.js';
import { Ledger } from './ledger.js';
import { isBilled } from './lifecycle.js';
import { DEFAULT_CLUSTER_CIDR, DEFAULT_REGION, parseCidr, REGIONS, type Region } from './network.js';
import { CloudNodeLifecycleController } from './node-lifecycle.js';
import { SpotMarket } from './spot-market.js';
import { autoScalingGroupTable, dedicatedHostTable, fleetTable, instanceTable, instanceTypeTable, reservedInstanceTable, savingsPlanTable, usageRecordTable } from './tables.js';
import { AUTOSCALING_GROUP, EC2_GROUP, secureRandom } from './types.js';
import { autoScalingGroupHooks, dedicatedHostHooks, fleetHooks, instanceHooks, reservedInstanceHooks, savingsPlanHooks, usageRecordHooks } from './validation.js';
import { LocalView } from './view.js';
import { CLOUD_RESOURCES } from './resources.js';

export * from './catalog.js';
export * from './allocatable.js';
export * from './lifecycle.js';
export * from './network.js';
export * from './scaling.js';
export * from './types.js';
export { parseCsv, parseCsvRecords, CsvError } from './csv.js';
export { instanceTypeObject, instanceTypeLabels, seedInstanceTypes, familyGeneration, type InstanceTypeSpec, type InstanceTypeObject } from './instancetypes.js';
export { InstanceController, nodeForInstance, userInitiated, isSpot, tenancyOf, SPOT_TERMINATION_REASON, SPOT_SHUTDOWN_REASON, INTERNAL_ERROR_REASON, type InstanceControllerOptions } from './instance-controller.js';
export { AutoScalingGroupController, classifyInstance, groupInstanceTypes, type AutoScalingGroupControllerOptions } from './asg-controller.js';
export { autoScalingGroupNameErrors, groupBehaviourErrors, MAX_GROUP_NAME_LENGTH } from './validation.js';
export { instanceHooks, autoScalingGroupHooks, dedicatedHostHooks, fleetHooks, reservedInstanceHooks, savingsPlanHooks, usageRecordHooks, validateTaints, unsupportedInstanceType, newHostId, type HookOptions } from './validation.js';
export { instanceTable, instanceTypeTable, autoScalingGroupTable, dedicatedHostTable, fleetTable, reservedInstanceTable, savingsPlanTable, usageRecordTable, formatHourlyPrice, formatMemoryMiB, termState } from './tables.js';
export { LocalView } from './view.js';
export { CLOUD_RESOURCES } from './resources.js';
export * from './billing-types.js';
export * from './pricing.js';
export * from './families.js';
export { hashUnit } from './hash.js';
export { SpotMarket, INTERRUPTION_BANDS, SPOT_NOTICE_MS, REBALANCE_LEAD_MAX_MS, type SpotInterruptionPlan, type InterruptionBand } from './spot-market.js';
export { computeBill, IDLE, UNALLOCATED, MINIMUM_BILLED_MS, SPOT_FREE_INTERRUPTION_MS, type CostReport, type CostLine, type InstanceCostLine, type BillInput } from './bill.js';
export { costReport, costRoute, spotPriceHistoryRoute, spotPriceHistory, ensureMarketSeed, readMarketSeed, parseDurationMs, parseTimeArgument, TimeArgumentError, MARKET_CONFIGMAP, type CostReportOptions, type SpotPricePoint } from './cost.js';
export { interruptSpot, failInstance, choose } from './actions.js';
export { Ledger, usageRecordName } from './ledger.js';
export { AllocationController, podShares, podRequestTotals, workloadKey } from './allocation.js';
export { CloudNodeLifecycleController, NODE_TAINTS, CORDONED_ANNOTATION } from './node-lifecycle.js';
export { DedicatedHostController, hostFamily } from './host-controller.js';
export { FleetController, FleetKind, FLEET_LABEL, type Fleet, type FleetSpec, type FleetStatus } from './fleet-controller.js';
export { allocateFleet, onDemandCount, pickOnDemandPool, pickSpotPool, poolsOf, type FleetRequest, type Placement, type Pool } from './fleet.js';

/** Options of installCloud; every one has a default. */
export interface CloudOptions {
  /**
   * pending → running, seconds of cluster time, the same for every launch. Default: per
   * instance family, with jitter (families.ts: 35–120 s, +300 s for bare metal, ±20 %).
   */
  bootDelaySeconds?: number;
  /** stopping → stopped, seconds (default 10; AWS gives no figure). */
  stopDelaySeconds?: number;
  /** shutting-down → terminated, seconds (default 5; AWS gives no figure). */
  terminateDelaySeconds?: number;
  /** How long terminated instances stay visible, seconds (default 3600, as EC2 shows them for about an hour). */
  terminatedRetentionSeconds?: number;
  /** The region simulated (default and only: us-east-1). */
  region?: Region;
  /**
   * Random numbers in [0, 1) (default: crypto). They give instance and host ids, and — drawn once
   * and then kept in the store (ConfigMap kube-system/berth-ec2-spot-market), so a restart
   * keeps it — the seed of the Spot market's prices and interruptions and of boot-delay jitter.
   * Pass `seededRandom(n)` for a repeatable simulation: one seed decides everything.
   */
  random?: () => number;
  /** False: EC2 never interrupts Spot Instances on its own, only when asked (interruptSpot). Default true. */
  spotInterruptions?: boolean;
  /** Where Node pod CIDRs come from, a /24 per node (default 10.244.0.0/16). */
  clusterCidr?: string;
  /** The instance-type catalogue (default: the repository's data/ec2-instance-types.csv). */
  catalog?: Catalog;
  /**
   * Auto Scaling groups follow the target groups they list (`targetGroups`, `healthCheckType:
   * ELB`). Needs the `elb.berth.dev` TargetGroup kind served by the API; the control plane sets it.
   * Default false: groups ignore `targetGroups`.
   */
  targetGroups?: boolean;
}

/** Thrown by installCloud for an option out of range. */
export class CloudOptionsError extends Error {
  readonly code = 'InvalidCloudOptions';
  constructor(message: string) {
    super(message);
    this.name = 'CloudOptionsError';
  }
}

/** The options with their defaults filled in and checked. Throws CloudOptionsError. */
export function resolveCloudOptions(opts: CloudOptions = {}) {
  const seconds = (name: keyof CloudOptions, v: unknown, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new CloudOptionsError(`${name} must be a number of seconds ≥ 0, got ${String(v)}`);
    return v;
  };
  const region = opts.region ?? DEFAULT_REGION;
  if (!(region in REGIONS)) throw new CloudOptionsError(`region must be one of ${Object.keys(REGIONS).join(', ')}, got ${String(region)}`);
  const clusterCidr = opts.clusterCidr ?? DEFAULT_CLUSTER_CIDR;
  try {
    if (parseCidr(clusterCidr).prefix > 24) throw new Error('too small');
  } catch {
    throw new CloudOptionsError(`clusterCidr must be an IPv4 CIDR of /24 or larger, got ${clusterCidr}`);
  }
  return {
    fixedBoot: opts.bootDelaySeconds !== undefined,
    bootMs: seconds('bootDelaySeconds', opts.bootDelaySeconds, 30) * 1000,
    spotInterruptions: opts.spotInterruptions ?? true,
    stopMs: seconds('stopDelaySeconds', opts.stopDelaySeconds, 10) * 1000,
    terminateMs: seconds('terminateDelaySeconds', opts.terminateDelaySeconds, 5) * 1000,
    retentionMs: seconds('terminatedRetentionSeconds', opts.terminatedRetentionSeconds, 3600) * 1000,
    region,
    random: opts.random ?? secureRandom,
    clusterCidr,
    catalog: opts.catalog ?? defaultCatalog(),
  };
}

/** What installCloud set up, for callers that want to reach the controllers (tests, simulations). */
export interface CloudHandle {
  instances: InstanceController;
  autoScalingGroups: AutoScalingGroupController;
  catalog: Catalog;
  /** The Spot market (its seed is the one kept in the store). */
  market: SpotMarket;
  ledger: Ledger;
}

/**
 * Installs the simulated AWS account: the kinds (Instance, InstanceType, DedicatedHost, Fleet,
 * AutoScalingGroup, UsageRecord, ReservedInstance, SavingsPlan) with their defaulting,
 * validation and tables; the catalogue as InstanceType objects (idempotent); the Spot market's
 * seed (created once); the bill's route (`GET /billing/v1/cost`); and on `mgr` the Instance,
 * Dedicated Host, EC2 Fleet, Auto Scaling group, cloud node lifecycle and billing allocation
 * controllers.
 * Throws CloudOptionsError.
 */
export async function installCloud(api: ApiServer, mgr: Manager, opts: CloudOptions = {}): Promise<void> {
  await installCloudWithHandle(api, mgr, opts);
}

/** installCloud, returning the controllers it registered. */
export async function installCloudWithHandle(api: ApiServer, mgr: Manager, opts: CloudOptions = {}): Promise<CloudHandle> {
  const o = resolveCloudOptions(opts);
  const now = (): number => mgr.clock.now();
  const hookOpts = { catalog: o.catalog, region: o.region, random: o.random };
  for (const r of CLOUD_RESOURCES) if (!api.registry.get(r.group, r.version, r.resource)) api.registry.add(r);
  api.store.setHooks(EC2_GROUP, 'Instance', instanceHooks(hookOpts));
  api.store.setHooks(EC2_GROUP, 'DedicatedHost', dedicatedHostHooks(hookOpts));
  api.store.setHooks(EC2_GROUP, 'Fleet', fleetHooks(hookOpts));
  api.store.setHooks(AUTOSCALING_GROUP, 'AutoScalingGroup', autoScalingGroupHooks(hookOpts));
  api.store.setHooks(BILLING_GROUP, 'ReservedInstance', reservedInstanceHooks({ ...hookOpts, now }));
  api.store.setHooks(BILLING_GROUP, 'SavingsPlan', savingsPlanHooks({ ...hookOpts, now }));
  api.store.setHooks(BILLING_GROUP, 'UsageRecord', usageRecordHooks());
  api.tables.set(EC2_GROUP, 'InstanceType', instanceTypeTable);
  api.tables.set(EC2_GROUP, 'Instance', instanceTable);
  api.tables.set(EC2_GROUP, 'DedicatedHost', dedicatedHostTable);
  api.tables.set(EC2_GROUP, 'Fleet', fleetTable);
  api.tables.set(AUTOSCALING_GROUP, 'AutoScalingGroup', autoScalingGroupTable);
  api.tables.set(BILLING_GROUP, 'ReservedInstance', reservedInstanceTable);
  api.tables.set(BILLING_GROUP, 'SavingsPlan', savingsPlanTable);
  api.tables.set(BILLING_GROUP, 'UsageRecord', usageRecordTable);
  await seedInstanceTypes(api, o.catalog);
  const seed = await ensureMarketSeed(api, o.random);
  const market = new SpotMarket(seed, o.catalog);
  api.routes.push(costRoute(api, mgr.clock, o.catalog), spotPriceHistoryRoute(mgr.clock, market, o.catalog, REGIONS[o.region].zones));

  // One view of the instance cache, shared, so each controller sees the other's writes at once.
  const view = new LocalView(mgr.informer<InstanceObject>(Kinds.Instance));
  const ledger = new Ledger(mgr);
  const instances = InstanceController.install(
    mgr,
    {
      catalog: o.catalog,
      region: o.region,
      timings: { bootMs: o.bootMs, stopMs: o.stopMs, terminateMs: o.terminateMs },
      fixedBoot: o.fixedBoot,
      retentionMs: o.retentionMs,
      clusterCidr: o.clusterCidr,
      market,
      seed,
      spotInterruptions: o.spotInterruptions,
      ledger,
    },
    view,
  ).reconciler;
  const autoScalingGroups = AutoScalingGroupController.install(mgr, { random: o.random, catalog: o.catalog, market, targetGroups: opts.targetGroups === true }, view).reconciler;
  DedicatedHostController.install(mgr, { catalog: o.catalog, region: o.region, ledger });
  FleetController.install(mgr, { catalog: o.catalog, market, random: o.random }, view);
  CloudNodeLifecycleController.install(mgr);
  AllocationController.install(mgr, o.catalog);
  return { instances, autoScalingGroups, catalog: o.catalog, market, ledger };
}

/**
 * What a fleet costs right now: the sum of `status.hourlyPrice` over the instances that are
 * running, USD per hour (EC2 bills only running instances; [2] in AWS-SEMANTICS.md), rounded to
 * 1e-9 USD so binary floating point does not show (3 × 0.096 is 0.288, not 0.28800000000000003).
 */
export function fleetCost(instances: readonly InstanceObject[]): number {
  let total = 0;
  for (const i of instances) if (isBilled(i.status?.state)) total += i.status?.hourlyPrice ?? 0;
  return Math.round(total * 1e9) / 1e9;
}
