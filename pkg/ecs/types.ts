/**
 * The ECS flavour's kinds, `ecs.berth.dev/v1` (Amazon ECS API, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/):
 *
 * | kind | scope | object name | ECS |
 * | --- | --- | --- | --- |
 * | Cluster | cluster | the cluster name | API_Cluster |
 * | TaskDefinition | cluster | `taskDefinitionObjectName(family, revision)`: `nginx-1`; a family that is not a DNS label is lower-cased, `_` → `-`, and a 6-hex hash of the family added (`My_App` → `my-app-3f2a9c-1`) | API_TaskDefinition |
 * | Service | namespaced (the namespace its tasks' Pods run in) | the service name | API_Service |
 * | Task | namespaced | the 32-hex task id | API_Task |
 * | ContainerInstance | cluster | the Node's name | API_ContainerInstance |
 * | CapacityProvider | cluster | the provider name (FARGATE and FARGATE_SPOT are built in, never stored) | API_CapacityProvider |
 *
 * A TaskDefinition's `spec` is the RegisterTaskDefinition request exactly as the AWS CLI takes it
 * (`family`, `containerDefinitions`, `cpu`, `memory`, `networkMode`, …; keys berth does not model,
 * such as `logConfiguration` or `secrets`, are kept as given), and its `status` what ECS adds
 * (`taskDefinitionArn`, `revision`, `status`, `registeredAt`, `compatibilities`, `requiresAttributes`).
 *
 * Units: cpu in CPU units (1024 per vCPU), memory in MiB, as ECS.
 */
import { createHash } from 'node:crypto';
import { defineResource, type ResourceInfo } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';

export const ECS_GROUP = 'ecs.berth.dev';
export const ECS_API_VERSION = `${ECS_GROUP}/v1`;
/** The simulated account and region every ARN names. */
export const ECS_ACCOUNT = '000000000000';
export const ECS_REGION = 'us-east-1';

/** Labels and annotations on a task's Pod (see /tmp/berth-team/ECS-CONTRACT.md, "A task's Pod"). */
export const CLUSTER_LABEL = 'ecs.berth.dev/cluster';
export const TASK_ID_LABEL = 'ecs.berth.dev/task-id';
export const GROUP_LABEL = 'ecs.berth.dev/group';
export const SERVICE_LABEL = 'ecs.berth.dev/service';
/** Task label: the numeric part of the service deployment id (`ecs-svc/1234…` → `1234…`). */
export const DEPLOYMENT_LABEL = 'ecs.berth.dev/deployment';
/** Task and TaskDefinition label: the family (sanitized like a group). */
export const FAMILY_LABEL = 'ecs.berth.dev/family';
/** TaskDefinition label: its revision (the name's numeric suffix). */
export const REVISION_LABEL = 'ecs.berth.dev/revision';
export const PLACEMENT_STRATEGY_ANNOTATION = 'ecs.berth.dev/placement-strategy';
export const PLACEMENT_CONSTRAINTS_ANNOTATION = 'ecs.berth.dev/placement-constraints';
export const CAPACITY_PROVIDER_ANNOTATION = 'ecs.berth.dev/capacity-provider';
/** `"<cpu units>/<memory MiB>"`: a Fargate task's task-level size. */
export const FARGATE_SIZE_ANNOTATION = 'ecs.berth.dev/fargate-size';
/** Finalizer on a Service: its tasks are stopped and its targets deregistered before it goes. */
export const SERVICE_FINALIZER = 'ecs.berth.dev/service';

export const FARGATE = 'FARGATE';
export const FARGATE_SPOT = 'FARGATE_SPOT';
export const FARGATE_PROVIDERS = [FARGATE, FARGATE_SPOT] as const;

export type LaunchType = 'EC2' | 'FARGATE' | 'EXTERNAL';
export const LAUNCH_TYPES: readonly LaunchType[] = ['EC2', 'FARGATE', 'EXTERNAL'];
export type NetworkMode = 'bridge' | 'host' | 'awsvpc' | 'none';
export const NETWORK_MODES: readonly NetworkMode[] = ['bridge', 'host', 'awsvpc', 'none'];

export interface PortMapping {
  containerPort?: number;
  hostPort?: number;
  protocol?: 'tcp' | 'udp';
  name?: string;
  [k: string]: unknown;
}

/** One ContainerDefinition (API_ContainerDefinition): the keys berth reads; the rest are kept. */
export interface ContainerDefinition {
  name: string;
  image: string;
  /** CPU units (1024 = one vCPU); 0 or absent: none reserved. */
  cpu?: number;
  /** Hard limit, MiB. */
  memory?: number;
  /** Soft limit (the reservation), MiB. */
  memoryReservation?: number;
  /** Default true. */
  essential?: boolean;
  portMappings?: PortMapping[];
  command?: string[];
  entryPoint?: string[];
  environment?: { name: string; value: string }[];
  workingDir?: string;
  dockerLabels?: Record<string, string>;
  [k: string]: unknown;
}

export interface PlacementStrategy {
  type: 'binpack' | 'spread' | 'random';
  field?: string;
}
export interface PlacementConstraint {
  type: 'distinctInstance' | 'memberOf';
  expression?: string;
}
export interface CapacityProviderStrategyItem {
  capacityProvider: string;
  /** Tasks that go to this provider first (0–100000, at most one item with a base); default 0. */
  base?: number;
  /** Relative share after the bases (0–1000); default 0. */
  weight?: number;
}

export interface TaskDefinitionSpec {
  family: string;
  containerDefinitions: ContainerDefinition[];
  /** Task-level CPU units as the API takes them: `"256"`, `"1 vCPU"`, `"0.25 vcpu"` (a number is accepted too). */
  cpu?: string | number;
  /** Task-level memory, MiB as the API takes it: `"512"`, `"1 GB"`, `"0.5GB"` (a number is accepted too). */
  memory?: string | number;
  networkMode?: NetworkMode;
  requiresCompatibilities?: LaunchType[];
  placementConstraints?: { type: 'memberOf'; expression?: string }[];
  volumes?: unknown[];
  [k: string]: unknown;
}

export interface TaskDefinition extends KubeObject {
  spec: TaskDefinitionSpec;
  status?: {
    taskDefinitionArn?: string;
    revision?: number;
    status?: 'ACTIVE' | 'INACTIVE' | 'DELETE_IN_PROGRESS';
    registeredAt?: string;
    deregisteredAt?: string;
    /** The launch types the definition is valid for (EC2 always; FARGATE when it qualifies). */
    compatibilities?: LaunchType[];
  };
}

export interface ClusterSpec {
  /** Auto Scaling group providers and FARGATE / FARGATE_SPOT associated with the cluster (PutClusterCapacityProviders). */
  capacityProviders?: string[];
  defaultCapacityProviderStrategy?: CapacityProviderStrategyItem[];
  settings?: { name: string; value: string }[];
  tags?: { key: string; value: string }[];
  [k: string]: unknown;
}
export interface Cluster extends KubeObject {
  spec: ClusterSpec;
  status?: {
    clusterArn?: string;
    status?: 'ACTIVE' | 'INACTIVE';
    registeredContainerInstancesCount?: number;
    runningTasksCount?: number;
    pendingTasksCount?: number;
    activeServicesCount?: number;
  };
}

export interface ManagedScaling {
  status?: 'ENABLED' | 'DISABLED';
  /** Percent of the group's capacity the tasks should use, 1–100 (default 100). */
  targetCapacity?: number;
  /** Instances per scale-out/in step, at least (default 1) and at most (default 10000). */
  minimumScalingStepSize?: number;
  maximumScalingStepSize?: number;
  /** Seconds a new instance counts as warming up (default 300). */
  instanceWarmupPeriod?: number;
}
export interface CapacityProvider extends KubeObject {
  spec: {
    autoScalingGroupProvider: {
      /** The group's ARN (`arn:aws:autoscaling:…:autoScalingGroupName/<name>`) or its name. */
      autoScalingGroupArn: string;
      managedScaling?: ManagedScaling;
      managedTerminationProtection?: 'ENABLED' | 'DISABLED';
      managedDraining?: 'ENABLED' | 'DISABLED';
    };
    tags?: { key: string; value: string }[];
  };
  status?: {
    capacityProviderArn?: string;
    status?: 'ACTIVE' | 'INACTIVE';
    updateStatus?: string;
    /** The last CapacityProviderReservation computed, percent. */
    capacityProviderReservation?: number;
    /** Instances needed (M) and running (N) when it was computed. */
    instancesNeeded?: number;
    instancesRunning?: number;
    /** RFC 3339: since when the metric has been below the target (scale-in waits 15 minutes). */
    belowTargetSince?: string;
    lastScalingTime?: string;
  };
}

export interface DeploymentCircuitBreaker {
  enable: boolean;
  rollback: boolean;
}
export interface DeploymentConfiguration {
  /** Percent of desiredCount that must stay RUNNING during a deployment (default 100; ECS rounds the count up). */
  minimumHealthyPercent?: number;
  /** Percent of desiredCount that may run or be pending during a deployment (default 200; ECS rounds the count down). */
  maximumPercent?: number;
  deploymentCircuitBreaker?: DeploymentCircuitBreaker;
}
export interface ServiceLoadBalancer {
  targetGroupArn?: string;
  loadBalancerName?: string;
  containerName: string;
  containerPort: number;
}

export interface ServiceSpec {
  cluster: string;
  /** The TaskDefinition object's name (resolved from `family`, `family:revision` or an ARN at creation). */
  taskDefinition: string;
  desiredCount: number;
  launchType?: LaunchType;
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  deploymentConfiguration?: DeploymentConfiguration;
  placementStrategy?: PlacementStrategy[];
  placementConstraints?: PlacementConstraint[];
  loadBalancers?: ServiceLoadBalancer[];
  schedulingStrategy?: 'REPLICA' | 'DAEMON';
  healthCheckGracePeriodSeconds?: number;
  /** Bumped by `update-service --force-new-deployment`: a new deployment with the same settings. */
  deploymentNonce?: number;
  [k: string]: unknown;
}

export type RolloutState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
export interface ServiceDeployment {
  /** `ecs-svc/` and 19 digits. */
  id: string;
  status: 'PRIMARY' | 'ACTIVE' | 'INACTIVE';
  taskDefinition: string;
  /** Hash of the settings the deployment runs (task definition, launch type, strategy, placement, nonce). */
  configHash: string;
  desiredCount: number;
  pendingCount: number;
  runningCount: number;
  failedTasks: number;
  rolloutState: RolloutState;
  rolloutStateReason: string;
  createdAt: string;
  updatedAt: string;
  launchType?: LaunchType;
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  /** RFC 3339: since when it has run desiredCount tasks with no other deployment left (completion waits STABILIZATION_MS). */
  stableSince?: string;
}
export interface ServiceEvent {
  id: string;
  createdAt: string;
  message: string;
}
export interface Service extends KubeObject {
  spec: ServiceSpec;
  status?: {
    serviceArn?: string;
    status?: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
    runningCount?: number;
    pendingCount?: number;
    deployments?: ServiceDeployment[];
    /** Newest first, at most 100 (as DescribeServices shows them). */
    events?: ServiceEvent[];
    /** The task definition of the last deployment that COMPLETED: where a circuit breaker rolls back to. */
    lastCompletedTaskDefinition?: string;
    steady?: boolean;
  };
}

export type TaskStatus = 'PROVISIONING' | 'PENDING' | 'ACTIVATING' | 'RUNNING' | 'DEACTIVATING' | 'STOPPING' | 'DEPROVISIONING' | 'STOPPED';
export type StopCode = 'TaskFailedToStart' | 'EssentialContainerExited' | 'UserInitiated' | 'ServiceSchedulerInitiated' | 'SpotInterruption' | 'TerminationNotice';

export interface TaskSpec {
  cluster: string;
  /** The TaskDefinition object's name. */
  taskDefinition: string;
  launchType?: LaunchType;
  /** The capacity provider the task was placed with (FARGATE, FARGATE_SPOT or an Auto Scaling group provider). */
  capacityProvider?: string;
  group: string;
  startedBy?: string;
  placementStrategy?: PlacementStrategy[];
  placementConstraints?: PlacementConstraint[];
  desiredStatus: 'RUNNING' | 'STOPPED';
  /** Set with desiredStatus STOPPED by whoever stops the task. */
  stoppedReason?: string;
  stopCode?: StopCode;
}
export interface TaskContainer {
  name: string;
  lastStatus: 'PENDING' | 'RUNNING' | 'STOPPED';
  exitCode?: number;
  reason?: string;
}
export interface Task extends KubeObject {
  spec: TaskSpec;
  status?: {
    taskArn?: string;
    lastStatus?: TaskStatus;
    containers?: TaskContainer[];
    /** Task-level CPU units and memory MiB reserved (as DescribeTasks' `cpu` and `memory`). */
    cpu?: string;
    memory?: string;
    /** The ContainerInstance (Node name) it runs on, EC2 only. */
    containerInstance?: string;
    /** Host ports it holds on that instance (tcp). */
    hostPorts?: number[];
    createdAt?: string;
    startedAt?: string;
    stoppingAt?: string;
    stoppedAt?: string;
    stoppedReason?: string;
    stopCode?: StopCode;
    /** True once it has been RUNNING (a task that stops before never "started"). */
    everRunning?: boolean;
    /** Why it is not placed yet: the scheduler's message on its Pod (`0/3 nodes are available: …`), while PROVISIONING. */
    placementMessage?: string;
    /** True once its Pod was created (a Pod missing after that means it was deleted from under the task). */
    podCreated?: boolean;
  };
}

export interface ResourceAmount {
  name: 'CPU' | 'MEMORY' | 'PORTS' | 'PORTS_UDP';
  type: 'INTEGER' | 'STRINGSET';
  integerValue?: number;
  stringSetValue?: string[];
}
export interface ContainerInstance extends KubeObject {
  spec: {
    cluster: string;
    /** The EC2 instance id (from the Node's provider ID). */
    ec2InstanceId: string;
    /** ACTIVE or DRAINING (`update-container-instances-state`); default ACTIVE. */
    status?: 'ACTIVE' | 'DRAINING';
  };
  status?: {
    containerInstanceArn?: string;
    status?: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
    agentConnected?: boolean;
    registeredResources?: ResourceAmount[];
    remainingResources?: ResourceAmount[];
    runningTasksCount?: number;
    pendingTasksCount?: number;
    registeredAt?: string;
    capacityProviderName?: string;
    attributes?: { name: string; value?: string }[];
  };
}

export const CLUSTER_RESOURCE: ResourceInfo = defineResource({ gv: ECS_API_VERSION, resource: 'clusters', kind: 'Cluster', ns: false, short: ['ecscluster'], cat: ['ecs'], sub: ['status'] });
export const TASK_DEFINITION_RESOURCE: ResourceInfo = defineResource({ gv: ECS_API_VERSION, resource: 'taskdefinitions', kind: 'TaskDefinition', ns: false, short: ['td'], cat: ['ecs'] });
/** `berth get services` is the core Service (kubectl's priority); ECS services are `ecsservices`, `ecssvc` or `services.ecs.berth.dev`. */
export const SERVICE_RESOURCE: ResourceInfo = defineResource({ gv: ECS_API_VERSION, resource: 'services', kind: 'Service', ns: true, short: ['ecsservices', 'ecsservice', 'ecssvc'], cat: ['ecs'], sub: ['status'], generation: true });
export const TASK_RESOURCE: ResourceInfo = defineResource({ gv: ECS_API_VERSION, resource: 'tasks', kind: 'Task', ns: true, short: ['ecstask'], cat: ['ecs'], sub: ['status'], fields: ['spec.cluster', 'spec.desiredStatus'] });
export const CONTAINER_INSTANCE_RESOURCE: ResourceInfo = defineResource({ gv: ECS_API_VERSION, resource: 'containerinstances', kind: 'ContainerInstance', ns: false, short: ['ci'], cat: ['ecs'], sub: ['status'] });
export const CAPACITY_PROVIDER_RESOURCE: ResourceInfo = defineResource({ gv: ECS_API_VERSION, resource: 'capacityproviders', kind: 'CapacityProvider', ns: false, short: ['cp'], cat: ['ecs'], sub: ['status'] });
export const ECS_RESOURCES: ResourceInfo[] = [CLUSTER_RESOURCE, TASK_DEFINITION_RESOURCE, SERVICE_RESOURCE, TASK_RESOURCE, CONTAINER_INSTANCE_RESOURCE, CAPACITY_PROVIDER_RESOURCE];

export const EcsKinds = {
  Cluster: { apiVersion: ECS_API_VERSION, kind: 'Cluster' },
  TaskDefinition: { apiVersion: ECS_API_VERSION, kind: 'TaskDefinition' },
  Service: { apiVersion: ECS_API_VERSION, kind: 'Service' },
  Task: { apiVersion: ECS_API_VERSION, kind: 'Task' },
  ContainerInstance: { apiVersion: ECS_API_VERSION, kind: 'ContainerInstance' },
  CapacityProvider: { apiVersion: ECS_API_VERSION, kind: 'CapacityProvider' },
} as const;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** True if `s` is usable as-is as an object name here (a DNS-1123 label, ≤ 63 characters). */
export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

/**
 * The TaskDefinition object name of `family:revision`: `<family>-<revision>` when the family is a
 * DNS label of at most 50 characters; otherwise the family lower-cased with every other character
 * `-`, cut to 40, plus `-` and 6 hex digits of SHA-256 of the family (so `Web` and `web` differ).
 */
export function taskDefinitionObjectName(family: string, revision: number): string {
  if (isDnsLabel(family) && family.length <= 50) return `${family}-${revision}`;
  const base = family.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '') || 'td';
  const h = createHash('sha256').update(family).digest('hex').slice(0, 6);
  return `${base}-${h}-${revision}`;
}

/** A label value for `s`: every character not allowed replaced by `.`, at most 63, alphanumeric at both ends. */
export function sanitizeLabelValue(s: string): string {
  let v = s.replace(/[^A-Za-z0-9_.-]/g, '.').slice(0, 63);
  v = v.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  return v;
}

export function clusterArn(cluster: string): string {
  return `arn:aws:ecs:${ECS_REGION}:${ECS_ACCOUNT}:cluster/${cluster}`;
}
export function taskDefinitionArn(family: string, revision: number): string {
  return `arn:aws:ecs:${ECS_REGION}:${ECS_ACCOUNT}:task-definition/${family}:${revision}`;
}
export function serviceArn(cluster: string, service: string): string {
  return `arn:aws:ecs:${ECS_REGION}:${ECS_ACCOUNT}:service/${cluster}/${service}`;
}
export function taskArn(cluster: string, id: string): string {
  return `arn:aws:ecs:${ECS_REGION}:${ECS_ACCOUNT}:task/${cluster}/${id}`;
}
export function containerInstanceArn(cluster: string, id: string): string {
  return `arn:aws:ecs:${ECS_REGION}:${ECS_ACCOUNT}:container-instance/${cluster}/${id}`;
}
export function capacityProviderArn(name: string): string {
  return `arn:aws:ecs:${ECS_REGION}:${ECS_ACCOUNT}:capacity-provider/${name}`;
}

/** The last path segment of an ARN (`…:cluster/web` → `web`, `…:task/c/abc` → `abc`), or the string itself. */
export function arnName(s: string): string {
  if (!s.startsWith('arn:')) return s;
  const res = s.split(':').slice(5).join(':');
  return res.split('/').at(-1)!;
}

/** A container instance's 32-hex id, stable for a node (from its uid). */
export function containerInstanceId(nodeUid: string): string {
  return createHash('sha256').update(nodeUid).digest('hex').slice(0, 32);
}

/** The ECS service group of a service's tasks. */
export function serviceGroup(service: string): string {
  return `service:${service}`;
}
