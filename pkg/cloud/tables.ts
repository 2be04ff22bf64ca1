/**
 * `kubectl get` columns for the simulated account's kinds (wide-only columns at priority 1).
 */
import { age, col, type TablePrinter } from '../apiserver/tables.js';
import type { KubeObject } from '../api/types.js';
import type { AutoScalingGroup, Instance } from './types.js';
import type { InstanceTypeSpec } from './instancetypes.js';
import type { DedicatedHost, ReservedInstance, SavingsPlan, UsageRecord } from './billing-types.js';
import type { Fleet } from './fleet-controller.js';
import { TERM_SECONDS } from './pricing.js';

/** A price as `$0.0960/h` (USD per hour, four decimals as AWS's price list shows them). */
export function formatHourlyPrice(usdPerHour: number | undefined): string {
  return usdPerHour === undefined || !Number.isFinite(usdPerHour) ? '' : `$${usdPerHour.toFixed(4)}/h`;
}

/** Memory in GiB, exact to two decimals as EC2 lists it: 8192 → `8Gi`, 15616 → `15.25Gi`, 512 → `0.5Gi`. */
export function formatMemoryMiB(mib: number): string {
  return `${Number((mib / 1024).toFixed(2))}Gi`;
}

/** NAME VCPU MEMORY GPUS MAX-PODS PRICE; wide: FAMILY CATEGORY ARCH NETWORK. */
export const instanceTypeTable: TablePrinter = {
  columns: [
    col('VCPU', 'Default vCPUs.', 0, 'integer'),
    col('Memory', 'Memory (binary units).'),
    col('GPUs', 'NVIDIA GPUs.', 0, 'integer'),
    col('Max-Pods', 'Pods the EKS AMI allows (ENIs × (IPv4 per ENI − 1) + 2).', 0, 'integer'),
    col('Price', 'On-Demand price, USD per hour, us-east-1 Linux.'),
    col('Family', 'Instance family.', 1),
    col('Category', 'Instance category.', 1),
    col('Arch', 'Processor architecture.', 1),
    col('Network', 'Network performance.', 1),
  ],
  cells: (o: KubeObject) => {
    const s = (o.spec ?? {}) as Partial<InstanceTypeSpec>;
    const network = s.networkPerformance || (s.networkBaselineMbps ? `${s.networkBaselineMbps / 1000} Gigabit baseline` : '');
    return [
      s.vcpu ?? 0,
      s.memoryMiB !== undefined ? formatMemoryMiB(s.memoryMiB) : '',
      s.gpuCount ?? 0,
      s.maxPods ?? 0,
      formatHourlyPrice(s.onDemandUsdPerHour),
      s.family ?? '',
      s.category ?? '',
      s.arch ?? '',
      network,
    ];
  },
};

/** NAME INSTANCE-TYPE ZONE STATE PRIVATE-IP AGE; wide: NODE PRICE LAUNCH-TIME LIFECYCLE TENANCY. */
export const instanceTable: TablePrinter = {
  columns: [
    col('Instance-Type', 'The instance type.'),
    col('Zone', 'The Availability Zone.'),
    col('State', 'The current state.'),
    col('Private-IP', 'The primary private IPv4 address.'),
    col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
    col('Node', 'The Node registered for the instance.', 1),
    col('Price', 'On-Demand price, USD per hour (billed while running).', 1),
    col('Launch-Time', 'When the instance last launched.', 1, 'string'),
    col('Lifecycle', 'spot, or on-demand.', 1),
    col('Tenancy', 'default, dedicated or host.', 1),
  ],
  cells: (o: KubeObject, now: number) => {
    const i = o as Instance;
    return [
      i.spec?.instanceType ?? '',
      i.spec?.availabilityZone ?? '',
      i.status?.state ?? 'pending',
      i.status?.privateIpAddress ?? '<none>',
      age(o, now),
      i.status?.nodeName ?? '<none>',
      formatHourlyPrice(i.status?.hourlyPrice),
      i.status?.launchTime ?? '<none>',
      i.spec?.instanceMarketOptions?.marketType === 'spot' ? 'spot' : 'on-demand',
      i.spec?.tenancy ?? 'default',
    ];
  },
};

/** NAME MIN DESIRED MAX INSTANCES INSTANCE-TYPE AGE; wide: ZONES. INSTANCES is InService/desired. */
export const autoScalingGroupTable: TablePrinter = {
  columns: [
    col('Min', 'Minimum size.', 0, 'integer'),
    col('Desired', 'Desired capacity.', 0, 'integer'),
    col('Max', 'Maximum size.', 0, 'integer'),
    col('Instances', 'Instances in service / desired capacity.'),
    col('Instance-Type', 'The launch template\'s instance type.'),
    col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
    col('Zones', 'Availability Zones.', 1),
  ],
  cells: (o: KubeObject, now: number) => {
    const g = o as AutoScalingGroup;
    const desired = g.spec?.desiredCapacity ?? g.spec?.minSize ?? 0;
    const inService = (g.status?.instances ?? []).filter((i) => i.lifecycleState === 'InService').length;
    return [g.spec?.minSize ?? 0, desired, g.spec?.maxSize ?? 0, `${inService}/${desired}`, g.spec?.launchTemplate?.instanceType ?? '', age(o, now), (g.spec?.availabilityZones ?? []).join(',')];
  },
};

/** `active` within the term, `retired` after it, `payment-pending` before it starts (EC2's RI states). */
export function termState(startText: string | undefined, term: '1yr' | '3yr' | undefined, now: number): string {
  const start = Date.parse(startText ?? '');
  if (Number.isNaN(start)) return '<unknown>';
  if (now < start) return 'payment-pending';
  return now < start + TERM_SECONDS[term ?? '1yr'] * 1000 ? 'active' : 'retired';
}

/** NAME FAMILY ZONE STATE INSTANCES VCPUS-FREE PRICE AGE; wide: AUTO-PLACEMENT SIZED-AS. */
export const dedicatedHostTable: TablePrinter = {
  columns: [
    col('Family', 'The instance family (or type) the host runs.'),
    col('Zone', 'The Availability Zone.'),
    col('State', 'available, or released.'),
    col('Instances', 'Instances placed on the host.', 0, 'integer'),
    col('VCPUs-Free', 'vCPUs left / the host\'s vCPUs.'),
    col('Price', 'USD per hour while allocated.'),
    col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
    col('Auto-Placement', 'on: instances without a host id may land here.', 1),
    col('Sized-As', 'The type whose vCPUs and price the host is modelled on.', 1),
  ],
  cells: (o: KubeObject, now: number) => {
    const h = o as DedicatedHost;
    const p = h.status?.hostProperties;
    return [
      h.spec?.instanceType ?? h.spec?.instanceFamily ?? '',
      h.spec?.availabilityZone ?? '',
      h.status?.state ?? 'pending',
      h.status?.instances?.length ?? 0,
      p ? `${h.status?.availableCapacity?.availableVCpus ?? p.totalVCpus}/${p.totalVCpus}` : '',
      formatHourlyPrice(h.status?.hourlyPrice),
      age(o, now),
      h.spec?.autoPlacement ?? 'off',
      p?.sizedAs ?? '',
    ];
  },
};

/** NAME INSTANCE-TYPE COUNT SCOPE TERM OFFERING STATE START; wide: ZONE CLASS TENANCY. */
export const reservedInstanceTable: TablePrinter = {
  columns: [
    col('Instance-Type', 'The reserved instance type.'),
    col('Count', 'Instances reserved.', 0, 'integer'),
    col('Scope', 'Region (size-flexible) or Availability Zone.'),
    col('Term', '1yr or 3yr.'),
    col('Offering', 'No Upfront, Partial Upfront or All Upfront.'),
    col('State', 'payment-pending, active or retired.'),
    col('Start', 'When the term starts.', 0, 'string'),
    col('Zone', 'The zone of a zonal reservation.', 1),
    col('Class', 'standard or convertible.', 1),
    col('Tenancy', 'default or dedicated.', 1),
  ],
  cells: (o: KubeObject, now: number) => {
    const r = o as ReservedInstance;
    const s = r.spec ?? ({} as ReservedInstance['spec']);
    return [s.instanceType ?? '', s.instanceCount ?? 0, s.scope ?? 'Region', s.term ?? '1yr', s.offeringType ?? 'No Upfront', termState(s.start, s.term, now), s.start ?? '', s.availabilityZone ?? '<none>', s.offeringClass ?? 'standard', s.instanceTenancy ?? 'default'];
  },
};

/** NAME TYPE COMMITMENT TERM PAYMENT FAMILY STATE START. */
export const savingsPlanTable: TablePrinter = {
  columns: [
    col('Type', 'Compute or EC2Instance.'),
    col('Commitment', 'USD per hour, paid every hour of the term.'),
    col('Term', '1yr or 3yr.'),
    col('Payment', 'No Upfront, Partial Upfront or All Upfront.'),
    col('Family', 'The family of an EC2 Instance plan.'),
    col('State', 'queued, active or retired.'),
    col('Start', 'When the term starts.', 0, 'string'),
  ],
  cells: (o: KubeObject, now: number) => {
    const p = o as SavingsPlan;
    const s = p.spec ?? ({} as SavingsPlan['spec']);
    const state = termState(s.start, s.term, now);
    return [s.savingsPlanType ?? '', formatHourlyPrice(Number(s.commitment)), s.term ?? '1yr', s.paymentOption ?? 'No Upfront', s.ec2InstanceFamily ?? '<any>', state === 'payment-pending' ? 'queued' : state, s.start ?? ''];
  },
};

/** NAME RESOURCE PURCHASE-OPTION INSTANCE-TYPE TENANCY START END REASON; wide: ZONE GROUP RATE. */
export const usageRecordTable: TablePrinter = {
  columns: [
    col('Resource', 'The instance or Dedicated Host.'),
    col('Purchase-Option', 'on-demand or spot.'),
    col('Instance-Type', 'The instance type.'),
    col('Tenancy', 'default, dedicated or host.'),
    col('Start', 'When the billable interval began.', 0, 'string'),
    col('End', 'When it ended; <open> while it runs.', 0, 'string'),
    col('Reason', 'Why it ended.'),
    col('Zone', 'The Availability Zone.', 1),
    col('Group', 'The Auto Scaling group.', 1),
    col('Rate', 'The rate billed before Reserved Instances and Savings Plans.', 1),
  ],
  cells: (o: KubeObject) => {
    const r = o as UsageRecord;
    const s = r.spec ?? ({} as UsageRecord['spec']);
    return [s.resourceId ?? '', s.purchaseOption ?? '', s.instanceType ?? '', s.tenancy ?? '', s.start ?? '', s.end ?? '<open>', s.endReason ?? '', s.availabilityZone ?? '', s.autoScalingGroup ?? '<none>', formatHourlyPrice(s.rateUsdPerHour)];
  },
};

/** NAME TYPE TARGET ON-DEMAND FULFILLED STATUS AGE; wide: TYPES ZONES SPOT-STRATEGY. */
export const fleetTable: TablePrinter = {
  columns: [
    col('Type', 'maintain or instant.'),
    col('Target', 'Total target capacity.', 0, 'integer'),
    col('On-Demand', 'On-Demand target capacity.', 0, 'integer'),
    col('Fulfilled', 'Instances launched and live.', 0, 'integer'),
    col('Status', 'fulfilled or pending_fulfillment.'),
    col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
    col('Types', 'The instance types.', 1),
    col('Zones', 'The Availability Zones.', 1),
    col('Spot-Strategy', 'The Spot allocation strategy.', 1),
  ],
  cells: (o: KubeObject, now: number) => {
    const f = o as Fleet;
    const t = f.spec?.targetCapacitySpecification;
    return [f.spec?.type ?? 'maintain', t?.totalTargetCapacity ?? 0, t?.onDemandTargetCapacity ?? 0, f.status?.fulfilledCapacity ?? 0, f.status?.activityStatus ?? '', age(o, now), (f.spec?.overrides ?? []).map((x) => x.instanceType).join(','), (f.spec?.availabilityZones ?? []).join(','), f.spec?.spotOptions?.allocationStrategy ?? 'lowest-price'];
  },
};
