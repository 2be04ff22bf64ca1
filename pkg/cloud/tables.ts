/**
 * `kubectl get` columns for the simulated account's kinds (wide-only columns at priority 1).
 */
import { age, col, type TablePrinter } from '../apiserver/tables.js';
import type { KubeObject } from '../api/types.js';
import type { AutoScalingGroup, Instance } from './types.js';
import type { InstanceTypeSpec } from './instancetypes.js';

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

/** NAME INSTANCE-TYPE ZONE STATE PRIVATE-IP AGE; wide: NODE PRICE LAUNCH-TIME. */
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
