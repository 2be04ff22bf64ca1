/**
 * The shapes of the simulated account's kinds: `ec2.berth.dev/v1` Instance and InstanceType,
 * `autoscaling.berth.dev/v1` AutoScalingGroup; the labels, annotations and finalizer they use;
 * instance ids.
 */
import { randomBytes } from 'node:crypto';
import type { KubeObject, Taint } from '../api/types.js';
import { RUNTIME_LABEL, type RuntimeName } from '../agent/runtime.js';
import type { InstanceState } from './lifecycle.js';

export const EC2_GROUP = 'ec2.berth.dev';
export const AUTOSCALING_GROUP = 'autoscaling.berth.dev';

/** Label on an Auto Scaling group's instances and on their Nodes: the group's name. */
export const GROUP_NAME_LABEL = 'autoscaling.berth.dev/group-name';
/**
 * Finalizer that makes deleting an Instance through the API terminate it first
 * (shutting-down → terminated, its Node removed), then let the object go.
 */
export const INSTANCE_FINALIZER = 'ec2.berth.dev/terminate-instance';

/** Well-known Node labels (https://kubernetes.io/docs/reference/labels-annotations-taints/) and EKS's capacity type. */
export const NODE_LABELS = {
  instanceType: 'node.kubernetes.io/instance-type',
  zone: 'topology.kubernetes.io/zone',
  region: 'topology.kubernetes.io/region',
  hostname: 'kubernetes.io/hostname',
  os: 'kubernetes.io/os',
  arch: 'kubernetes.io/arch',
  capacityType: 'eks.amazonaws.com/capacityType',
} as const;

/** What the user asks of an instance: `spec.state` is the desired state, not the current one. */
export type DesiredState = 'running' | 'stopped' | 'terminated';

/**
 * EC2's tenancies (`Placement.Tenancy`): shared hardware, single-tenant hardware billed per
 * instance (Dedicated Instances), or a Dedicated Host billed per host ([12] in AWS-SEMANTICS.md).
 */
export type Tenancy = 'default' | 'dedicated' | 'host';
export const TENANCIES: readonly Tenancy[] = ['default', 'dedicated', 'host'];

/** How a purchase is billed, in berth's bills: the keys of `CostReport.byPurchaseOption`. */
export type PurchaseOption = 'on-demand' | 'spot' | 'reserved' | 'savings-plan' | 'dedicated-host';
export const PURCHASE_OPTIONS: readonly PurchaseOption[] = ['on-demand', 'spot', 'reserved', 'savings-plan', 'dedicated-host'];

/** What EC2 does to an interrupted Spot Instance (`SpotMarketOptions.InstanceInterruptionBehavior`; hibernate is not simulated). */
export type InterruptionBehavior = 'terminate' | 'stop';

/** EC2 RunInstances' `InstanceMarketOptions`: present with `marketType: spot` for a Spot Instance. */
export interface InstanceMarketOptions {
  marketType: 'spot';
  spotOptions?: {
    /** The most you will pay, USD per hour, as EC2 takes it (a decimal string); default the On-Demand price. */
    maxPrice?: string;
    /** Default terminate. */
    instanceInterruptionBehavior?: InterruptionBehavior;
  };
}

/**
 * Annotation that makes the instance fail as hardware does: EC2 shuts it down and terminates it
 * (StateReason `Server.InternalError`); `berth simulate`'s `fail-instance` sets it.
 */
export const FAIL_INSTANCE_ANNOTATION = 'ec2.berth.dev/simulate-failure';

/** Annotation asking EC2 to interrupt a Spot Instance now (what AWS FIS's `aws:ec2:send-spot-instance-interruptions` does); its value is any text (who asked). */
export const SEND_SPOT_INTERRUPTION_ANNOTATION = 'ec2.berth.dev/send-spot-interruption';

export const DESIRED_STATES: readonly DesiredState[] = ['running', 'stopped', 'terminated'];

export interface InstanceSpec {
  /** An instance type of the catalogue (`m5.large`). Can change only while the instance is stopped. */
  instanceType: string;
  /** A zone of the region (`us-east-1a`). Immutable. */
  availabilityZone: string;
  /** Desired state (default `running`). `terminated` is final. */
  state?: DesiredState;
  /** Labels copied onto the instance's Node when it registers. */
  nodeLabels?: Record<string, string>;
  /** Taints the Node registers with (`--register-with-taints`). */
  nodeTaints?: Taint[];
  /** The AMI (`ami-…`); informational. */
  imageId?: string;
  /** Spot, or absent for On-Demand. Immutable. */
  instanceMarketOptions?: InstanceMarketOptions;
  /** Default `default`. Immutable. */
  tenancy?: Tenancy;
  /** With tenancy `host`: the Dedicated Host (`h-…`) to launch on; without it EC2 picks a host with auto-placement on. */
  hostId?: string;
  /** With tenancy `host`: `host` makes a restart go back to the same host; `default` (default) lets it move. */
  affinity?: 'default' | 'host';
}

/** EC2's `StateReason`: why an instance changed state (`Server.SpotInstanceTermination`, `Client.UserInitiatedShutdown`, …). */
export interface StateReason {
  code: string;
  message: string;
}

/** The Spot interruption EC2 has announced for an instance (the instance metadata's `spot/instance-action`). */
export interface SpotInterruption {
  /** `terminate` or `stop`. */
  action: InterruptionBehavior;
  /** When the notice was given, RFC 3339. */
  noticeTime: string;
  /** When EC2 acts: two minutes after the notice, RFC 3339. */
  time: string;
}

export interface InstanceStatus {
  /** The current state (see lifecycle.ts for the machine). */
  state?: InstanceState;
  /** EC2's state code: pending 0, running 16, shutting-down 32, terminated 48, stopping 64, stopped 80. */
  stateCode?: number;
  /** When the instance last entered `pending` (launch, or start after a stop), RFC 3339. */
  launchTime?: string;
  /** When the instance entered its current state, RFC 3339 with microseconds (cluster time). */
  stateTransitionTime?: string;
  /** Kept through stop and start, as EC2 keeps the primary private address. */
  privateIpAddress?: string;
  /** `ip-10-0-1-23.ec2.internal`; also the Node's name. */
  privateDnsName?: string;
  /** The Node registered for this instance: from its first run until it terminates (NotReady while stopped). */
  nodeName?: string;
  /**
   * The rate this launch is billed at before Reserved Instances and Savings Plans, USD per hour
   * (billed only while running): the On-Demand price, the Dedicated Instance price, the Spot
   * price when it last started (it moves: the bill uses the market's prices), or 0 on a
   * Dedicated Host (the host is billed).
   */
  hourlyPrice?: number;
  /** EC2's reason text, e.g. `User initiated (2026-01-01 00:05:00 GMT)`; '' when none. */
  stateTransitionReason?: string;
  /** Why the last state change happened, when EC2 says (`Server.SpotInstanceTermination`). */
  stateReason?: StateReason;
  /** `spot` for a Spot Instance (EC2's `InstanceLifecycle`); absent for On-Demand. */
  instanceLifecycle?: 'spot';
  /** The boot delay drawn for the current launch, seconds (pending → running). */
  bootSeconds?: number;
  /** The Dedicated Host the instance is placed on (tenancy host). */
  hostId?: string;
  /** When EC2 recommended rebalancing this Spot Instance away (at elevated risk of interruption), RFC 3339. */
  rebalanceRecommendationTime?: string;
  /** The interruption EC2 announced for this Spot Instance. */
  spotInterruption?: SpotInterruption;
}

/** `ec2.berth.dev/v1 Instance`, cluster-scoped, named by its instance id. */
export interface Instance extends KubeObject {
  spec: InstanceSpec;
  status?: InstanceStatus;
}

export interface LaunchTemplate {
  /** The type to launch; with a mixed instances policy, the default when the policy's overrides give none. */
  instanceType: string;
  nodeLabels?: Record<string, string>;
  nodeTaints?: Taint[];
  /**
   * The container runtime of the group's nodes: `sim` (simulated) or `docker` (real containers);
   * copied onto each Node as the `node.berth.dev/runtime` label the node agent reads. Absent: the
   * server's default (`berth server --runtime`).
   */
  containerRuntime?: RuntimeName;
}

/** The labels a launch template puts on its nodes: `nodeLabels`, and the runtime label for `containerRuntime`. */
export function launchTemplateNodeLabels(lt: LaunchTemplate): Record<string, string> {
  return { ...(lt.nodeLabels ?? {}), ...(lt.containerRuntime ? { [RUNTIME_LABEL]: lt.containerRuntime } : {}) };
}

/** Spot allocation strategies of EC2 Auto Scaling and EC2 Fleet ([13][14] in AWS-SEMANTICS.md). */
export type SpotAllocationStrategy = 'lowest-price' | 'capacity-optimized' | 'price-capacity-optimized';
export const SPOT_ALLOCATION_STRATEGIES: readonly SpotAllocationStrategy[] = ['lowest-price', 'capacity-optimized', 'price-capacity-optimized'];
/** On-Demand allocation strategies: the overrides' order (priority), or the cheapest type first. */
export type OnDemandAllocationStrategy = 'prioritized' | 'lowest-price';
export const ON_DEMAND_ALLOCATION_STRATEGIES: readonly OnDemandAllocationStrategy[] = ['prioritized', 'lowest-price'];

/**
 * EC2 Auto Scaling's `InstancesDistribution` (API_InstancesDistribution, [14]): how many instances
 * are On-Demand and how each market picks its pools. Defaults are EC2 Auto Scaling's.
 */
export interface InstancesDistribution {
  /** Default `prioritized`. */
  onDemandAllocationStrategy?: OnDemandAllocationStrategy;
  /** The first instances, always On-Demand (default 0). */
  onDemandBaseCapacity?: number;
  /** Percent On-Demand of the capacity above the base, 0–100 (default 100). */
  onDemandPercentageAboveBaseCapacity?: number;
  /** Default `lowest-price`. */
  spotAllocationStrategy?: SpotAllocationStrategy;
  /** With lowest-price: across how many of the cheapest pools Spot Instances are spread, 1–20 (default 2). */
  spotInstancePools?: number;
  /** The most to pay for Spot, USD per hour (a decimal string); default the On-Demand price. */
  spotMaxPrice?: string;
}

/** EC2 Auto Scaling's `MixedInstancesPolicy`: several types, and a mix of On-Demand and Spot. */
export interface MixedInstancesPolicy {
  launchTemplate?: {
    /** The types to choose among, in priority order. Weighted capacity is not simulated: each instance counts 1. */
    overrides?: { instanceType: string }[];
  };
  instancesDistribution?: InstancesDistribution;
}

export interface AutoScalingGroupSpec {
  minSize: number;
  maxSize: number;
  /** Defaults to minSize. minSize ≤ desiredCapacity ≤ maxSize. The `scale` subresource writes it. */
  desiredCapacity?: number;
  launchTemplate: LaunchTemplate;
  /** Several types and Spot; without it every instance is the launch template's type, On-Demand. */
  mixedInstancesPolicy?: MixedInstancesPolicy;
  /** Zones to launch into, in order of preference for ties. */
  availabilityZones: string[];
  /**
   * Seconds after an instance launches before a failed health check can replace it (default 0,
   * as through the API; the console's default is 300; [16] in AWS-SEMANTICS.md).
   */
  healthCheckGracePeriod?: number;
  /**
   * `EC2` (default): an instance is unhealthy when it is not running. `ELB`: also when any of the
   * group's `targetGroups` reports its target `unhealthy` ("Health checks for instances in an Auto
   * Scaling group", EC2 Auto Scaling User Guide). Either way a failure within
   * `healthCheckGracePeriod` of the launch is ignored.
   */
  healthCheckType?: HealthCheckType;
  /**
   * The target groups the group's instances are registered with (EC2 Auto Scaling's
   * `TargetGroupARNs`): berth TargetGroups of `targetType: instance`, by name and namespace
   * (default `default`). Each running instance is a target on the group's `spec.port`; an instance
   * the group terminates is first deregistered, and terminated when its target groups have
   * drained it (their deregistration delay), as EC2 Auto Scaling waits for connection draining.
   */
  targetGroups?: TargetGroupRef[];
  /** Seconds a simple scaling policy waits after a scaling activity (default 300; [15]). */
  defaultCooldown?: number;
  /** Seconds a new instance takes to warm up before its metrics count, for target tracking and step policies (default: unset, the policy's own or 300). */
  defaultInstanceWarmup?: number;
  /** Which instances go first on scale-in, in order (default `[Default]`; [19]). */
  terminationPolicies?: TerminationPolicy[];
  /** New instances are launched protected from scale-in (default false). */
  newInstancesProtectedFromScaleIn?: boolean;
  /** Capacity Rebalancing: replace a Spot Instance EC2 recommends rebalancing, launching the replacement first ([22]). */
  capacityRebalance?: boolean;
  /**
   * The group's AWS tags (keys 1–128 characters, values 0–256; any characters but the `aws:`
   * prefix). Unlike labels they take keys such as `k8s.io/cluster-autoscaler/enabled`, the tag
   * Cluster Autoscaler's auto-discovery looks for.
   */
  tags?: Record<string, string>;
}

/** The health checks a group acts on: EC2 status, or EC2 status and its target groups' (ELB). */
export type HealthCheckType = 'EC2' | 'ELB';
export const HEALTH_CHECK_TYPES: readonly HealthCheckType[] = ['EC2', 'ELB'];

/** A berth TargetGroup (`elb.berth.dev/v1`), by name and namespace (default `default`). */
export interface TargetGroupRef {
  name: string;
  namespace?: string;
}

/** `namespace/name` of a group's target group reference. */
export function targetGroupKey(r: TargetGroupRef): string {
  return `${r.namespace ?? 'default'}/${r.name}`;
}

/**
 * Instance annotation, RFC 3339: when its group took it out of service to terminate it while it
 * is still registered with the group's target groups. It stays running (Terminating) until they
 * have drained it, then the group terminates it.
 */
export const DRAINING_SINCE_ANNOTATION = 'autoscaling.berth.dev/draining-since';

/** EC2 Auto Scaling's termination policies ([19] in AWS-SEMANTICS.md). */
export type TerminationPolicy = 'Default' | 'AllocationStrategy' | 'OldestLaunchTemplate' | 'OldestInstance' | 'NewestInstance' | 'ClosestToNextInstanceHour';
export const TERMINATION_POLICIES: readonly TerminationPolicy[] = ['Default', 'AllocationStrategy', 'OldestLaunchTemplate', 'OldestInstance', 'NewestInstance', 'ClosestToNextInstanceHour'];

/**
 * Instance annotation `"true"`: the instance is protected from scale-in (SetInstanceProtection).
 * A group never picks it when it lowers its capacity; it is still replaced when unhealthy.
 */
export const PROTECTED_FROM_SCALE_IN_ANNOTATION = 'autoscaling.berth.dev/protected-from-scale-in';
/**
 * Group annotation, a comma-separated list of instance ids: TerminateInstanceInAutoScalingGroup
 * with ShouldDecrementDesiredCapacity. When the group has more instances than it wants, these go
 * first, whatever the termination policy. Write it in the same update that lowers
 * `desiredCapacity`, so the group never sees one without the other.
 */
export const TERMINATE_FIRST_ANNOTATION = 'autoscaling.berth.dev/terminate-first';
/**
 * Group annotation: why `desiredCapacity` last changed, written by whoever changes it (a scaling
 * policy, a scheduled action, the node autoscaler); the group's activity history quotes it as the cause.
 */
export const SCALING_CAUSE_ANNOTATION = 'autoscaling.berth.dev/scaling-cause';

/** One entry of a group's activity history, as EC2 Auto Scaling's DescribeScalingActivities. */
export interface ScalingActivity {
  /** `Launching a new EC2 instance: i-0…` or `Terminating EC2 instance: i-0…`. */
  description: string;
  /** `At 2026-01-01T00:00:00Z an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 1 to 3.` */
  cause: string;
  /** RFC 3339, cluster time. */
  startTime: string;
  statusCode: 'Successful' | 'Failed' | 'InProgress';
}

/** How many activities a group's status keeps (the newest). */
export const MAX_ACTIVITIES = 50;

export type LifecycleState = 'Pending' | 'InService' | 'Terminating';
export type HealthStatus = 'Healthy' | 'Unhealthy';

export interface GroupInstance {
  instanceId: string;
  availabilityZone: string;
  lifecycleState: LifecycleState;
  instanceType: string;
  healthStatus: HealthStatus;
  /** `spot` for a Spot Instance; absent for On-Demand. */
  instanceLifecycle?: 'spot';
  /** True when the instance is protected from scale-in. */
  protectedFromScaleIn?: boolean;
}

export interface AutoScalingGroupStatus {
  /** Instances counting toward the desired capacity: Pending and InService. */
  currentCapacity: number;
  desiredCapacity: number;
  instances: GroupInstance[];
  /** The newest scaling activities, oldest first (at most MAX_ACTIVITIES). */
  activities?: ScalingActivity[];
}

/** `autoscaling.berth.dev/v1 AutoScalingGroup`, cluster-scoped. */
export interface AutoScalingGroup extends KubeObject {
  spec: AutoScalingGroupSpec;
  status?: AutoScalingGroupStatus;
}

/** An instance id: `i-` and 17 lowercase hex digits (EC2's long id format). */
export const INSTANCE_ID_RE = /^i-[0-9a-f]{17}$/;

/** Uniform random numbers in [0, 1) from the system's secure generator. */
export function secureRandom(): number {
  return randomBytes(6).readUIntBE(0, 6) / 2 ** 48;
}

/**
 * A new instance id from `random` (deterministic in simulations): `i-0` and 16 hex digits —
 * EC2's ids are 17 hex digits, and the ones it hands out today start with 0.
 */
export function newInstanceId(random: () => number = secureRandom): string {
  let s = 'i-0';
  for (let i = 0; i < 16; i++) s += Math.min(15, Math.floor(random() * 16)).toString(16);
  return s;
}

export { seededRandom } from '../clock/random.js';
