/**
 * The simulated AWS account: the EC2 instance-type catalogue, Instances with EC2's lifecycle that
 * register Nodes while running, and Auto Scaling groups. `installCloud` adds the kinds' hooks and
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
import { AutoScalingGroupController } from './asg-controller.js';
import { catalog as defaultCatalog, type Catalog } from './catalog.js';
import { InstanceController } from './instance-controller.js';
import { seedInstanceTypes } from './instancetypes.js';
import { isBilled } from './lifecycle.js';
import { DEFAULT_CLUSTER_CIDR, DEFAULT_REGION, parseCidr, REGIONS, type Region } from './network.js';
import { autoScalingGroupTable, instanceTable, instanceTypeTable } from './tables.js';
import { AUTOSCALING_GROUP, EC2_GROUP, secureRandom } from './types.js';
import { autoScalingGroupHooks, instanceHooks } from './validation.js';
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
export { InstanceController, nodeForInstance, userInitiated, type InstanceControllerOptions } from './instance-controller.js';
export { AutoScalingGroupController, classifyInstance, type AutoScalingGroupControllerOptions } from './asg-controller.js';
export { instanceHooks, autoScalingGroupHooks, validateTaints, unsupportedInstanceType, type HookOptions } from './validation.js';
export { instanceTable, instanceTypeTable, autoScalingGroupTable, formatHourlyPrice, formatMemoryMiB } from './tables.js';
export { LocalView } from './view.js';
export { CLOUD_RESOURCES } from './resources.js';

/** Options of installCloud; every one has a default. */
export interface CloudOptions {
  /** pending → running, seconds of cluster time (default 30). */
  bootDelaySeconds?: number;
  /** stopping → stopped, seconds (default 10; AWS gives no figure). */
  stopDelaySeconds?: number;
  /** shutting-down → terminated, seconds (default 5; AWS gives no figure). */
  terminateDelaySeconds?: number;
  /** How long terminated instances stay visible, seconds (default 3600, as EC2 shows them for about an hour). */
  terminatedRetentionSeconds?: number;
  /** The region simulated (default and only: us-east-1). */
  region?: Region;
  /** Random numbers in [0, 1) for instance ids; pass `seededRandom(n)` for repeatable simulations (default: crypto). */
  random?: () => number;
  /** Where Node pod CIDRs come from, a /24 per node (default 10.244.0.0/16). */
  clusterCidr?: string;
  /** The instance-type catalogue (default: the repository's data/ec2-instance-types.csv). */
  catalog?: Catalog;
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
    bootMs: seconds('bootDelaySeconds', opts.bootDelaySeconds, 30) * 1000,
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
}

/**
 * Installs the simulated EC2 account: Instance and AutoScalingGroup defaulting and validation,
 * tables for the three kinds, the catalogue as InstanceType objects (idempotent), and the
 * Instance and Auto Scaling group controllers on `mgr`. Throws CloudOptionsError.
 */
export async function installCloud(api: ApiServer, mgr: Manager, opts: CloudOptions = {}): Promise<void> {
  await installCloudWithHandle(api, mgr, opts);
}

/** installCloud, returning the controllers it registered. */
export async function installCloudWithHandle(api: ApiServer, mgr: Manager, opts: CloudOptions = {}): Promise<CloudHandle> {
  const o = resolveCloudOptions(opts);
  const hookOpts = { catalog: o.catalog, region: o.region, random: o.random };
  for (const r of CLOUD_RESOURCES) if (!api.registry.get(r.group, r.version, r.resource)) api.registry.add(r);
  api.store.setHooks(EC2_GROUP, 'Instance', instanceHooks(hookOpts));
  api.store.setHooks(AUTOSCALING_GROUP, 'AutoScalingGroup', autoScalingGroupHooks(hookOpts));
  api.tables.set(EC2_GROUP, 'InstanceType', instanceTypeTable);
  api.tables.set(EC2_GROUP, 'Instance', instanceTable);
  api.tables.set(AUTOSCALING_GROUP, 'AutoScalingGroup', autoScalingGroupTable);
  await seedInstanceTypes(api, o.catalog);

  // One view of the instance cache, shared, so each controller sees the other's writes at once.
  const view = new LocalView(mgr.informer<InstanceObject>(Kinds.Instance));
  const instances = InstanceController.install(
    mgr,
    { catalog: o.catalog, region: o.region, timings: { bootMs: o.bootMs, stopMs: o.stopMs, terminateMs: o.terminateMs }, retentionMs: o.retentionMs, clusterCidr: o.clusterCidr },
    view,
  ).reconciler;
  const autoScalingGroups = AutoScalingGroupController.install(mgr, { random: o.random }, view).reconciler;
  return { instances, autoScalingGroups, catalog: o.catalog };
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
