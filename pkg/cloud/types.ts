/**
 * The shapes of the simulated account's kinds: `ec2.berth.dev/v1` Instance and InstanceType,
 * `autoscaling.berth.dev/v1` AutoScalingGroup; the labels, annotations and finalizer they use;
 * instance ids.
 */
import { randomBytes } from 'node:crypto';
import type { KubeObject, Taint } from '../api/types.js';
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
  /** The Node registered for this instance, while it is running. */
  nodeName?: string;
  /** The type's On-Demand price, USD per hour (billed only while running). */
  hourlyPrice?: number;
  /** EC2's reason text, e.g. `User initiated (2026-01-01 00:05:00 GMT)`; '' when none. */
  stateTransitionReason?: string;
}

/** `ec2.berth.dev/v1 Instance`, cluster-scoped, named by its instance id. */
export interface Instance extends KubeObject {
  spec: InstanceSpec;
  status?: InstanceStatus;
}

export interface LaunchTemplate {
  instanceType: string;
  nodeLabels?: Record<string, string>;
  nodeTaints?: Taint[];
}

export interface AutoScalingGroupSpec {
  minSize: number;
  maxSize: number;
  /** Defaults to minSize. minSize ≤ desiredCapacity ≤ maxSize. The `scale` subresource writes it. */
  desiredCapacity?: number;
  launchTemplate: LaunchTemplate;
  /** Zones to launch into, in order of preference for ties. */
  availabilityZones: string[];
}

export type LifecycleState = 'Pending' | 'InService' | 'Terminating';
export type HealthStatus = 'Healthy' | 'Unhealthy';

export interface GroupInstance {
  instanceId: string;
  availabilityZone: string;
  lifecycleState: LifecycleState;
  instanceType: string;
  healthStatus: HealthStatus;
}

export interface AutoScalingGroupStatus {
  /** Instances counting toward the desired capacity: Pending and InService. */
  currentCapacity: number;
  desiredCapacity: number;
  instances: GroupInstance[];
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
