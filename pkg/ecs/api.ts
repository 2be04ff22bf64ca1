/**
 * The ECS API's operations over berth's objects, as `berth ecs …` calls them: each takes the
 * request JSON the AWS CLI takes (keys as in the ECS API reference,
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Operations.html) and returns the
 * response JSON the AWS CLI prints. Services and tasks live in `namespace` (the CLI's `-n`).
 *
 * Errors are EcsError: `code` is ECS's exception (`ClientException`, `InvalidParameterException`,
 * `ClusterNotFoundException`, `ServiceNotFoundException`, `ServiceNotActiveException`) or
 * `ParamValidation` for what the AWS CLI itself refuses (an unknown key, a wrong type); the
 * message names the field path and, when the request came from a file, the file.
 */
import { isAlreadyExists, isNotFound, type FieldError } from '../api/errors.js';
import type { Client } from '../client/client.js';
import { launchPlan, splitByStrategy } from './capacity.js';
import { newTaskId, targetGroupNameOf } from './service-controller.js';
import { compatibilitiesOf, parseTaskCpu, parseTaskMemory, taskReservation, unknownKeys, unknownTaskDefinitionKeys, validateTaskDefinitionSpec, defaultTaskDefinitionSpec } from './taskdef.js';
import {
  CLUSTER_LABEL,
  EcsKinds,
  FAMILY_LABEL,
  FARGATE_PROVIDERS,
  REVISION_LABEL,
  SERVICE_LABEL,
  arnName,
  capacityProviderArn,
  clusterArn,
  isDnsLabel,
  sanitizeLabelValue,
  serviceArn,
  taskArn,
  taskDefinitionArn,
  taskDefinitionObjectName,
  type CapacityProvider,
  type CapacityProviderStrategyItem,
  type Cluster,
  type ContainerInstance,
  type LaunchType,
  type Service,
  type Task,
  type TaskDefinition,
  type TaskContainer,
  type TaskDefinitionSpec,
} from './types.js';
import { validateCapacityProvider, validateCluster, validatePlacementConstraints, validatePlacementStrategy, validateService, validateStrategy, defaultService } from './validate.js';

/** An ECS API error, as the AWS CLI reports it: `An error occurred (<code>) when calling the <Operation> operation: <message>`. */
export class EcsError extends Error {
  constructor(
    readonly code: string,
    readonly operation: string,
    message: string,
  ) {
    super(code === 'ParamValidation' ? `Parameter validation failed:\n${message}` : `An error occurred (${code}) when calling the ${operation} operation: ${message}`);
    this.name = 'EcsError';
  }
}

type Json = Record<string, unknown>;

function fieldMessage(errs: FieldError[], file?: string): string {
  return errs.map((e) => `${file ? `${file}: ` : ''}${e.field}: ${e.detail}`).join('\n');
}

function checkKeys(op: string, input: Json, allowed: readonly string[]): void {
  const bad = unknownKeys(input, allowed, '');
  if (bad.length) throw new EcsError('ParamValidation', op, bad.join('\n'));
}

function str(op: string, input: Json, key: string, required = false): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) {
    if (required) throw new EcsError('ParamValidation', op, `Missing required parameter in input: "${key}"`);
    return undefined;
  }
  if (typeof v !== 'string') throw new EcsError('ParamValidation', op, `Invalid type for parameter ${key}, value: ${JSON.stringify(v)}, type: ${typeof v}, valid types: string`);
  return v;
}

function int(op: string, input: Json, key: string): number | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new EcsError('ParamValidation', op, `Invalid type for parameter ${key}, value: ${JSON.stringify(v)}, type: ${typeof v}, valid types: integer`);
  return v;
}

const iso = (s: string | undefined): string | undefined => s;

// ---------------------------------------------------------------- task definitions

/** Every revision of a family, oldest first. */
export async function familyRevisions(client: Client, family: string): Promise<TaskDefinition[]> {
  const all = (await client.list<TaskDefinition>(EcsKinds.TaskDefinition, { labelSelector: `${FAMILY_LABEL}=${sanitizeLabelValue(family)}` })).items;
  return all.filter((t) => t.spec.family === family).sort((a, b) => (a.status?.revision ?? 0) - (b.status?.revision ?? 0));
}

/**
 * The TaskDefinition `ref` names: `family` (its latest ACTIVE revision), `family:revision`, or
 * an ARN `arn:aws:ecs:…:task-definition/family:revision`. Throws EcsError ClientException.
 */
export async function resolveTaskDefinition(client: Client, ref: string, op: string): Promise<TaskDefinition> {
  const s = ref.startsWith('arn:') ? ref.slice(ref.indexOf('task-definition/') + 'task-definition/'.length) : ref;
  const [family, rev] = s.split(':') as [string, string | undefined];
  if (rev !== undefined) {
    const n = Number(rev);
    const td = Number.isInteger(n) && n > 0 ? await client.tryGet<TaskDefinition>(EcsKinds.TaskDefinition, taskDefinitionObjectName(family, n)) : undefined;
    if (!td || td.spec.family !== family) throw new EcsError('ClientException', op, `Unable to describe task definition. (task definition ${ref} does not exist)`);
    return td;
  }
  const active = (await familyRevisions(client, family)).filter((t) => t.status?.status !== 'INACTIVE');
  if (!active.length) throw new EcsError('ClientException', op, `Unable to describe task definition. (no ACTIVE revision of family ${family}: register one with berth ecs register-task-definition)`);
  return active.at(-1)!;
}

/** A TaskDefinition as DescribeTaskDefinition / RegisterTaskDefinition return it. */
export function taskDefinitionJson(td: TaskDefinition): Json {
  return {
    taskDefinitionArn: td.status?.taskDefinitionArn ?? taskDefinitionArn(td.spec.family, td.status?.revision ?? 0),
    ...td.spec,
    revision: td.status?.revision,
    status: td.status?.status ?? 'ACTIVE',
    compatibilities: td.status?.compatibilities ?? compatibilitiesOf(td.spec),
    registeredAt: td.status?.registeredAt ?? td.metadata.creationTimestamp,
    registeredBy: 'arn:aws:iam::000000000000:root',
  };
}

/**
 * RegisterTaskDefinition: validates the request (unknown keys as the AWS CLI refuses them, then
 * ECS's rules with field paths, naming `file` when given) and stores revision N+1 of the family
 * as the TaskDefinition `taskDefinitionObjectName(family, N+1)`. Returns `{taskDefinition}`.
 */
export async function registerTaskDefinition(client: Client, input: Json, file?: string): Promise<Json> {
  const op = 'RegisterTaskDefinition';
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new EcsError('ParamValidation', op, `${file ? `${file}: ` : ''}the input must be a JSON object`);
  const unknown = unknownTaskDefinitionKeys(input);
  if (unknown.length) throw new EcsError('ParamValidation', op, unknown.map((m) => (file ? `${file}: ${m}` : m)).join('\n'));
  const spec = structuredClone(input) as TaskDefinitionSpec;
  const errs = validateTaskDefinitionSpec(spec);
  if (errs.length) throw new EcsError('ClientException', op, fieldMessage(errs, file));
  defaultTaskDefinitionSpec(spec);
  for (let attempt = 0; attempt < 5; attempt++) {
    const revs = await familyRevisions(client, spec.family);
    const revision = (revs.at(-1)?.status?.revision ?? 0) + 1;
    try {
      const td = await client.create<TaskDefinition>({
        apiVersion: EcsKinds.TaskDefinition.apiVersion,
        kind: 'TaskDefinition',
        metadata: { name: taskDefinitionObjectName(spec.family, revision), labels: { [REVISION_LABEL]: String(revision), [FAMILY_LABEL]: sanitizeLabelValue(spec.family) } },
        spec,
      });
      return { taskDefinition: taskDefinitionJson(td) };
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
  throw new EcsError('ClientException', op, `another registration of family ${spec.family} kept taking the next revision; try again`);
}

/** DeregisterTaskDefinition: the revision becomes INACTIVE (new tasks cannot use it by family name). */
export async function deregisterTaskDefinition(client: Client, input: Json): Promise<Json> {
  const op = 'DeregisterTaskDefinition';
  checkKeys(op, input, ['taskDefinition']);
  const ref = str(op, input, 'taskDefinition', true)!;
  if (!ref.includes(':')) throw new EcsError('ClientException', op, 'The specified task definition identifier is invalid. Specify a valid revision.');
  const td = await resolveTaskDefinition(client, ref, op);
  const out = await client.modify<TaskDefinition>(EcsKinds.TaskDefinition, td.metadata.name!, undefined, (o) => ({ ...o, status: { ...o.status, status: 'INACTIVE' } }));
  return { taskDefinition: taskDefinitionJson(out ?? td) };
}

// ---------------------------------------------------------------- clusters and capacity providers

async function getCluster(client: Client, ref: string | undefined, op: string): Promise<Cluster> {
  const name = arnName(ref ?? 'default');
  const c = await client.tryGet<Cluster>(EcsKinds.Cluster, name);
  if (!c) throw new EcsError('ClusterNotFoundException', op, `Cluster not found. (${name}: create it with berth ecs create-cluster --cluster-name ${name})`);
  return c;
}

function clusterJson(c: Cluster): Json {
  return {
    clusterArn: clusterArn(c.metadata.name!),
    clusterName: c.metadata.name,
    status: 'ACTIVE',
    registeredContainerInstancesCount: c.status?.registeredContainerInstancesCount ?? 0,
    runningTasksCount: c.status?.runningTasksCount ?? 0,
    pendingTasksCount: c.status?.pendingTasksCount ?? 0,
    activeServicesCount: c.status?.activeServicesCount ?? 0,
    statistics: [],
    tags: c.spec.tags ?? [],
    settings: c.spec.settings ?? [{ name: 'containerInsights', value: 'disabled' }],
    capacityProviders: c.spec.capacityProviders ?? [],
    defaultCapacityProviderStrategy: c.spec.defaultCapacityProviderStrategy ?? [],
  };
}

async function checkProviders(client: Client, op: string, names: string[]): Promise<void> {
  for (const n of names) {
    if (FARGATE_PROVIDERS.includes(n as never)) continue;
    if (!(await client.tryGet(EcsKinds.CapacityProvider, n))) throw new EcsError('InvalidParameterException', op, `The specified capacity provider ${n} does not exist (create it with berth ecs create-capacity-provider).`);
  }
}

/** CreateCluster: `{clusterName, capacityProviders, defaultCapacityProviderStrategy, tags, settings}` → `{cluster}`. */
export async function createCluster(client: Client, input: Json): Promise<Json> {
  const op = 'CreateCluster';
  checkKeys(op, input, ['clusterName', 'tags', 'settings', 'configuration', 'capacityProviders', 'defaultCapacityProviderStrategy', 'serviceConnectDefaults']);
  const name = str(op, input, 'clusterName') ?? 'default';
  if (!isDnsLabel(name)) throw new EcsError('InvalidParameterException', op, `clusterName "${name}": berth keeps a cluster as an object named after it, so use up to 63 lower-case letters, digits and hyphens`);
  const spec: Cluster['spec'] = {
    ...(input.capacityProviders ? { capacityProviders: input.capacityProviders as string[] } : {}),
    ...(input.defaultCapacityProviderStrategy ? { defaultCapacityProviderStrategy: input.defaultCapacityProviderStrategy as CapacityProviderStrategyItem[] } : {}),
    ...(input.tags ? { tags: input.tags as Cluster['spec']['tags'] } : {}),
    ...(input.settings ? { settings: input.settings as Cluster['spec']['settings'] } : {}),
  };
  const c: Cluster = { apiVersion: EcsKinds.Cluster.apiVersion, kind: 'Cluster', metadata: { name }, spec };
  const errs = validateCluster(c);
  if (errs.length) throw new EcsError('InvalidParameterException', op, fieldMessage(errs));
  await checkProviders(client, op, spec.capacityProviders ?? []);
  const existing = await client.tryGet<Cluster>(EcsKinds.Cluster, name);
  if (existing) return { cluster: clusterJson(existing) }; // CreateCluster is idempotent on the name
  return { cluster: clusterJson(await client.create<Cluster>(c)) };
}

/** DescribeClusters: `{clusters: [names]}` → `{clusters, failures}`. */
export async function describeClusters(client: Client, input: Json): Promise<Json> {
  const op = 'DescribeClusters';
  checkKeys(op, input, ['clusters', 'include']);
  const names = ((input.clusters as string[] | undefined) ?? ['default']).map(arnName);
  const clusters: Json[] = [];
  const failures: Json[] = [];
  for (const n of names) {
    const c = await client.tryGet<Cluster>(EcsKinds.Cluster, n);
    if (c) clusters.push(clusterJson(c));
    else failures.push({ arn: clusterArn(n), reason: 'MISSING' });
  }
  return { clusters, failures };
}

/** ListClusters → `{clusterArns}`. */
export async function listClusters(client: Client, input: Json): Promise<Json> {
  checkKeys('ListClusters', input, ['nextToken', 'maxResults']);
  return { clusterArns: (await client.list<Cluster>(EcsKinds.Cluster)).items.map((c) => clusterArn(c.metadata.name!)) };
}

/**
 * DeleteCluster: refused while the cluster has services (ClusterContainsServicesException),
 * container instances (ClusterContainsContainerInstancesException) or running tasks
 * (ClusterContainsTasksException), as ECS refuses it → `{cluster}` with status INACTIVE.
 */
export async function deleteCluster(client: Client, input: Json): Promise<Json> {
  const op = 'DeleteCluster';
  checkKeys(op, input, ['cluster']);
  const c = await getCluster(client, str(op, input, 'cluster', true), op);
  const name = c.metadata.name!;
  const services = (await client.list<Service>(EcsKinds.Service)).items.filter((x) => x.spec.cluster === name);
  if (services.length) throw new EcsError('ClusterContainsServicesException', op, 'The Cluster cannot be deleted while Services are active.');
  if ((await instancesOf(client, name)).length) throw new EcsError('ClusterContainsContainerInstancesException', op, 'The Cluster cannot be deleted while Container Instances are active or draining.');
  const tasks = (await client.list<Task>(EcsKinds.Task)).items.filter((t) => t.spec.cluster === name && t.status?.lastStatus !== 'STOPPED');
  if (tasks.length) throw new EcsError('ClusterContainsTasksException', op, 'The Cluster cannot be deleted while Tasks are active.');
  await client.delete(EcsKinds.Cluster, name);
  return { cluster: { ...clusterJson(c), status: 'INACTIVE' } };
}

/** PutClusterCapacityProviders: replaces the cluster's providers and default strategy → `{cluster}`. */
export async function putClusterCapacityProviders(client: Client, input: Json): Promise<Json> {
  const op = 'PutClusterCapacityProviders';
  checkKeys(op, input, ['cluster', 'capacityProviders', 'defaultCapacityProviderStrategy']);
  const c = await getCluster(client, str(op, input, 'cluster', true), op);
  if (!Array.isArray(input.capacityProviders)) throw new EcsError('ParamValidation', op, 'Missing required parameter in input: "capacityProviders"');
  if (!Array.isArray(input.defaultCapacityProviderStrategy)) throw new EcsError('ParamValidation', op, 'Missing required parameter in input: "defaultCapacityProviderStrategy"');
  const next: Cluster = { ...c, spec: { ...c.spec, capacityProviders: input.capacityProviders as string[], defaultCapacityProviderStrategy: input.defaultCapacityProviderStrategy as CapacityProviderStrategyItem[] } };
  const errs = validateCluster(next);
  if (errs.length) throw new EcsError('InvalidParameterException', op, fieldMessage(errs));
  await checkProviders(client, op, next.spec.capacityProviders ?? []);
  return { cluster: clusterJson(await client.update<Cluster>(next)) };
}

function capacityProviderJson(cp: CapacityProvider): Json {
  return {
    capacityProviderArn: capacityProviderArn(cp.metadata.name!),
    name: cp.metadata.name,
    status: cp.status?.status ?? 'ACTIVE',
    autoScalingGroupProvider: cp.spec.autoScalingGroupProvider,
    updateStatus: cp.status?.updateStatus ?? 'CREATE_COMPLETE',
    tags: cp.spec.tags ?? [],
  };
}

/** CreateCapacityProvider: `{name, autoScalingGroupProvider: {autoScalingGroupArn, managedScaling, …}}` → `{capacityProvider}`. */
export async function createCapacityProvider(client: Client, input: Json): Promise<Json> {
  const op = 'CreateCapacityProvider';
  checkKeys(op, input, ['name', 'autoScalingGroupProvider', 'tags', 'cluster', 'managedInstancesProvider']);
  const name = str(op, input, 'name', true)!;
  if (!isDnsLabel(name)) throw new EcsError('InvalidParameterException', op, `name "${name}": berth keeps a capacity provider as an object named after it, so use up to 63 lower-case letters, digits and hyphens`);
  const asgp = input.autoScalingGroupProvider as CapacityProvider['spec']['autoScalingGroupProvider'] | undefined;
  if (!asgp || typeof asgp !== 'object') throw new EcsError('ParamValidation', op, 'Missing required parameter in input: "autoScalingGroupProvider"');
  const bad = unknownKeys(asgp, ['autoScalingGroupArn', 'managedScaling', 'managedTerminationProtection', 'managedDraining'], 'autoScalingGroupProvider');
  bad.push(...unknownKeys(asgp.managedScaling, ['status', 'targetCapacity', 'minimumScalingStepSize', 'maximumScalingStepSize', 'instanceWarmupPeriod'], 'autoScalingGroupProvider.managedScaling'));
  if (bad.length) throw new EcsError('ParamValidation', op, bad.join('\n'));
  const cp: CapacityProvider = { apiVersion: EcsKinds.CapacityProvider.apiVersion, kind: 'CapacityProvider', metadata: { name }, spec: { autoScalingGroupProvider: asgp, ...(input.tags ? { tags: input.tags as CapacityProvider['spec']['tags'] } : {}) } };
  const errs = validateCapacityProvider(cp);
  if (errs.length) throw new EcsError('InvalidParameterException', op, fieldMessage(errs));
  const group = asgp.autoScalingGroupArn.includes('autoScalingGroupName/') ? asgp.autoScalingGroupArn.split('autoScalingGroupName/')[1]! : asgp.autoScalingGroupArn;
  if (!(await client.tryGet({ apiVersion: 'autoscaling.berth.dev/v1', kind: 'AutoScalingGroup' }, group))) throw new EcsError('InvalidParameterException', op, `The specified Auto Scaling group ${group} does not exist.`);
  try {
    return { capacityProvider: capacityProviderJson(await client.create<CapacityProvider>(cp)) };
  } catch (e) {
    if (isAlreadyExists(e)) throw new EcsError('ClientException', op, `The specified capacity provider already exists: ${name}`);
    throw e;
  }
}

/** DescribeCapacityProviders: the stored ones plus FARGATE and FARGATE_SPOT, which always exist. */
export async function describeCapacityProviders(client: Client, input: Json): Promise<Json> {
  checkKeys('DescribeCapacityProviders', input, ['capacityProviders', 'include', 'maxResults', 'nextToken', 'cluster']);
  const stored = (await client.list<CapacityProvider>(EcsKinds.CapacityProvider)).items.map(capacityProviderJson);
  const builtin = FARGATE_PROVIDERS.map((n) => ({ capacityProviderArn: capacityProviderArn(n), name: n, status: 'ACTIVE', tags: [] }));
  const want = input.capacityProviders as string[] | undefined;
  return { capacityProviders: [...builtin, ...stored].filter((c) => !want || want.includes(c.name as string)) };
}

// ---------------------------------------------------------------- services

const SERVICE_KEYS = [
  'cluster', 'serviceName', 'taskDefinition', 'availabilityZoneRebalancing', 'loadBalancers', 'serviceRegistries', 'desiredCount', 'clientToken',
  'launchType', 'capacityProviderStrategy', 'platformVersion', 'role', 'deploymentConfiguration', 'placementConstraints', 'placementStrategy',
  'networkConfiguration', 'healthCheckGracePeriodSeconds', 'schedulingStrategy', 'deploymentController', 'tags', 'enableECSManagedTags',
  'propagateTags', 'enableExecuteCommand', 'serviceConnectConfiguration', 'volumeConfigurations', 'vpcLatticeConfigurations',
];

async function findService(client: Client, ns: string, cluster: string, ref: string, op: string): Promise<Service> {
  const s = await client.tryGet<Service>(EcsKinds.Service, arnName(ref), ns);
  if (!s || s.spec.cluster !== cluster) throw new EcsError('ServiceNotFoundException', op, `Service not found. (${arnName(ref)} in cluster ${cluster}, namespace ${ns})`);
  return s;
}

/** A Service as DescribeServices returns it. */
export async function serviceJson(client: Client, s: Service): Promise<Json> {
  const tdArn = async (name: string): Promise<string> => (await client.tryGet<TaskDefinition>(EcsKinds.TaskDefinition, name))?.status?.taskDefinitionArn ?? name;
  const deployments = [];
  for (const d of s.status?.deployments ?? []) {
    deployments.push({
      id: d.id,
      status: d.status,
      taskDefinition: await tdArn(d.taskDefinition),
      desiredCount: d.desiredCount,
      pendingCount: d.pendingCount,
      runningCount: d.runningCount,
      failedTasks: d.failedTasks,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      ...(d.launchType ? { launchType: d.launchType } : {}),
      ...(d.capacityProviderStrategy ? { capacityProviderStrategy: d.capacityProviderStrategy } : {}),
      rolloutState: d.rolloutState,
      rolloutStateReason: d.rolloutStateReason,
    });
  }
  const { cluster, taskDefinition, deploymentNonce: _n, ...rest } = s.spec;
  return {
    serviceArn: serviceArn(cluster, s.metadata.name!),
    serviceName: s.metadata.name,
    clusterArn: clusterArn(cluster),
    loadBalancers: [],
    serviceRegistries: [],
    ...rest,
    status: s.metadata.deletionTimestamp ? 'DRAINING' : (s.status?.status ?? 'ACTIVE'),
    runningCount: s.status?.runningCount ?? 0,
    pendingCount: s.status?.pendingCount ?? 0,
    taskDefinition: await tdArn(taskDefinition),
    deployments,
    events: s.status?.events ?? [],
    createdAt: s.metadata.creationTimestamp,
    createdBy: 'arn:aws:iam::000000000000:root',
  };
}

function validateStrategyInputs(op: string, input: Json): void {
  const errs = [
    ...validateStrategy(input.capacityProviderStrategy as CapacityProviderStrategyItem[] | undefined, 'capacityProviderStrategy'),
    ...validatePlacementStrategy(input.placementStrategy as never, 'placementStrategy'),
    ...validatePlacementConstraints(input.placementConstraints as never, 'placementConstraints'),
  ];
  if (errs.length) throw new EcsError('InvalidParameterException', op, fieldMessage(errs));
}

/** Checks the task definition can run with the launch type / providers asked (Fargate needs FARGATE compatibility). */
async function checkLaunch(client: Client, op: string, cluster: Cluster, td: TaskDefinition, launchType: LaunchType | undefined, strategy: CapacityProviderStrategyItem[] | undefined): Promise<void> {
  const plan = launchPlan(cluster, launchType, strategy);
  const fargate = plan.launchType === 'FARGATE' || (plan.strategy ?? []).some((i) => FARGATE_PROVIDERS.includes(i.capacityProvider as never));
  if (fargate && !(td.status?.compatibilities ?? compatibilitiesOf(td.spec)).includes('FARGATE')) {
    throw new EcsError('InvalidParameterException', op, `Task definition does not support launch_type FARGATE. (${td.spec.family}:${td.status?.revision} needs networkMode awsvpc and a valid Fargate cpu/memory)`);
  }
  for (const it of plan.strategy ?? []) {
    if (!(cluster.spec.capacityProviders ?? []).includes(it.capacityProvider)) {
      throw new EcsError('InvalidParameterException', op, `The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again. (${it.capacityProvider}: berth ecs put-cluster-capacity-providers)`);
    }
  }
  if (plan.strategy) await checkProviders(client, op, plan.strategy.map((i) => i.capacityProvider));
}

/** CreateService → `{service}`. The Service object is named after `serviceName`, in namespace `ns`. */
export async function createService(client: Client, ns: string, input: Json, file?: string): Promise<Json> {
  const op = 'CreateService';
  const unknown = unknownKeys(input, SERVICE_KEYS, '');
  if (unknown.length) throw new EcsError('ParamValidation', op, unknown.map((m) => (file ? `${file}: ${m}` : m)).join('\n'));
  const name = str(op, input, 'serviceName', true)!;
  if (!isDnsLabel(name)) throw new EcsError('InvalidParameterException', op, `serviceName "${name}": berth keeps a service as an object named after it, so use up to 63 lower-case letters, digits and hyphens`);
  const cluster = await getCluster(client, str(op, input, 'cluster'), op);
  const td = await resolveTaskDefinition(client, str(op, input, 'taskDefinition', true)!, op);
  validateStrategyInputs(op, input);
  const launchType = str(op, input, 'launchType') as LaunchType | undefined;
  const cps = input.capacityProviderStrategy as CapacityProviderStrategyItem[] | undefined;
  await checkLaunch(client, op, cluster, td, launchType, cps);
  const desired = int(op, input, 'desiredCount') ?? (input.schedulingStrategy === 'DAEMON' ? 0 : 1);
  const { cluster: _c, serviceName: _s, taskDefinition: _t, desiredCount: _d, clientToken: _ct, ...rest } = input;
  const svc: Service = {
    apiVersion: EcsKinds.Service.apiVersion,
    kind: 'Service',
    metadata: { name, namespace: ns, labels: { [CLUSTER_LABEL]: cluster.metadata.name! } },
    spec: { ...(rest as Partial<Service['spec']>), cluster: cluster.metadata.name!, taskDefinition: td.metadata.name!, desiredCount: desired },
  };
  defaultService(svc);
  const errs = validateService(svc);
  if (errs.length) throw new EcsError('InvalidParameterException', op, fieldMessage(errs.map((e) => ({ ...e, field: e.field.replace(/^spec\./, '') })), file));
  for (const lb of svc.spec.loadBalancers ?? []) {
    const c = td.spec.containerDefinitions.find((x) => x.name === lb.containerName);
    if (!c?.portMappings?.some((p) => p.containerPort === lb.containerPort)) throw new EcsError('InvalidParameterException', op, `The container ${lb.containerName} did not have a container port ${lb.containerPort} defined.`);
    if (lb.targetGroupArn && !(await client.tryGet({ apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' }, targetGroupNameOf(lb.targetGroupArn), ns))) {
      throw new EcsError('InvalidParameterException', op, `Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions. (target group ${targetGroupNameOf(lb.targetGroupArn)} does not exist in namespace ${ns})`);
    }
  }
  const existing = await client.tryGet<Service>(EcsKinds.Service, name, ns);
  if (existing && !existing.metadata.deletionTimestamp) throw new EcsError('InvalidParameterException', op, `Creation of service was not idempotent. (service ${name} already exists in namespace ${ns}, cluster ${existing.spec.cluster})`);
  const made = await client.create<Service>(svc);
  return { service: await serviceJson(client, made) };
}

/** DescribeServices: `{cluster, services}` → `{services, failures}`. */
export async function describeServices(client: Client, ns: string, input: Json): Promise<Json> {
  const op = 'DescribeServices';
  checkKeys(op, input, ['cluster', 'services', 'include']);
  const cluster = await getCluster(client, str(op, input, 'cluster'), op);
  const services: Json[] = [];
  const failures: Json[] = [];
  for (const ref of (input.services as string[] | undefined) ?? []) {
    const s = await client.tryGet<Service>(EcsKinds.Service, arnName(ref), ns);
    if (s && s.spec.cluster === cluster.metadata.name) services.push(await serviceJson(client, s));
    else failures.push({ arn: serviceArn(cluster.metadata.name!, arnName(ref)), reason: 'MISSING' });
  }
  return { services, failures };
}

/** ListServices: `{cluster}` → `{serviceArns}`. */
export async function listServices(client: Client, ns: string, input: Json): Promise<Json> {
  const op = 'ListServices';
  checkKeys(op, input, ['cluster', 'launchType', 'schedulingStrategy', 'maxResults', 'nextToken', 'resourceManagementType']);
  const cluster = await getCluster(client, str(op, input, 'cluster'), op);
  const items = (await client.list<Service>(EcsKinds.Service, { namespace: ns })).items.filter((s) => s.spec.cluster === cluster.metadata.name);
  return { serviceArns: items.map((s) => serviceArn(s.spec.cluster, s.metadata.name!)) };
}

/**
 * UpdateService: `desiredCount`, `taskDefinition`, `forceNewDeployment`, deployment
 * configuration, strategies, placement, load balancers → `{service}`. A change of anything but
 * desiredCount starts a new deployment (the service controller's rule).
 */
export async function updateService(client: Client, ns: string, input: Json): Promise<Json> {
  const op = 'UpdateService';
  checkKeys(op, input, [
    'cluster', 'service', 'desiredCount', 'taskDefinition', 'capacityProviderStrategy', 'deploymentConfiguration', 'availabilityZoneRebalancing', 'networkConfiguration',
    'placementConstraints', 'placementStrategy', 'platformVersion', 'forceNewDeployment', 'healthCheckGracePeriodSeconds', 'deploymentController', 'enableExecuteCommand',
    'enableECSManagedTags', 'loadBalancers', 'propagateTags', 'serviceRegistries', 'serviceConnectConfiguration', 'volumeConfigurations', 'vpcLatticeConfigurations',
  ]);
  const cluster = await getCluster(client, str(op, input, 'cluster'), op);
  const svc = await findService(client, ns, cluster.metadata.name!, str(op, input, 'service', true)!, op);
  if (svc.metadata.deletionTimestamp) throw new EcsError('ServiceNotActiveException', op, 'Service was not ACTIVE.');
  validateStrategyInputs(op, input);
  const spec = { ...svc.spec };
  const desired = int(op, input, 'desiredCount');
  if (desired !== undefined) spec.desiredCount = desired;
  const tdRef = str(op, input, 'taskDefinition');
  if (tdRef) {
    const td = await resolveTaskDefinition(client, tdRef, op);
    await checkLaunch(client, op, cluster, td, spec.launchType, (input.capacityProviderStrategy as CapacityProviderStrategyItem[] | undefined) ?? spec.capacityProviderStrategy);
    spec.taskDefinition = td.metadata.name!;
  }
  for (const k of ['capacityProviderStrategy', 'placementConstraints', 'placementStrategy', 'loadBalancers', 'networkConfiguration', 'healthCheckGracePeriodSeconds'] as const) {
    if (input[k] !== undefined) (spec as Record<string, unknown>)[k] = input[k];
  }
  if (input.capacityProviderStrategy !== undefined) delete spec.launchType;
  if (input.deploymentConfiguration !== undefined) spec.deploymentConfiguration = { ...spec.deploymentConfiguration, ...(input.deploymentConfiguration as object) };
  if (input.forceNewDeployment === true) spec.deploymentNonce = (spec.deploymentNonce ?? 0) + 1;
  const next: Service = { ...svc, spec };
  defaultService(next);
  const errs = validateService(next);
  if (errs.length) throw new EcsError('InvalidParameterException', op, fieldMessage(errs.map((e) => ({ ...e, field: e.field.replace(/^spec\./, '') }))));
  const out = await client.update<Service>(next);
  return { service: await serviceJson(client, out) };
}

/**
 * DeleteService: refused while desiredCount > 0 unless `force` (ECS: "The service cannot be
 * stopped while it is scaled above 0"); the service goes DRAINING, its tasks stop, then it is gone.
 */
export async function deleteService(client: Client, ns: string, input: Json): Promise<Json> {
  const op = 'DeleteService';
  checkKeys(op, input, ['cluster', 'service', 'force']);
  const cluster = await getCluster(client, str(op, input, 'cluster'), op);
  let svc = await findService(client, ns, cluster.metadata.name!, str(op, input, 'service', true)!, op);
  if (svc.spec.desiredCount > 0 && input.force !== true) throw new EcsError('InvalidParameterException', op, 'The service cannot be stopped while it is scaled above 0. (set --desired-count 0 with update-service first, or pass --force)');
  if (input.force === true && svc.spec.desiredCount > 0) svc = await client.update<Service>({ ...svc, spec: { ...svc.spec, desiredCount: 0 } });
  await client.delete(EcsKinds.Service, svc.metadata.name!, ns);
  const after = (await client.tryGet<Service>(EcsKinds.Service, svc.metadata.name!, ns)) ?? svc;
  const json = await serviceJson(client, after);
  return { service: { ...json, status: 'DRAINING' } };
}

// ---------------------------------------------------------------- tasks

const RUN_TASK_KEYS = [
  'capacityProviderStrategy', 'cluster', 'count', 'enableECSManagedTags', 'enableExecuteCommand', 'group', 'launchType', 'networkConfiguration', 'overrides',
  'placementConstraints', 'placementStrategy', 'platformVersion', 'propagateTags', 'referenceId', 'startedBy', 'tags', 'taskDefinition', 'clientToken', 'volumeConfigurations',
];

/** A Task as DescribeTasks returns it. */
export async function taskJson(client: Client, t: Task, tdCache = new Map<string, TaskDefinition | undefined>()): Promise<Json> {
  if (!tdCache.has(t.spec.taskDefinition)) tdCache.set(t.spec.taskDefinition, await client.tryGet<TaskDefinition>(EcsKinds.TaskDefinition, t.spec.taskDefinition));
  const td = tdCache.get(t.spec.taskDefinition);
  const st = t.status ?? {};
  const arn = taskArn(t.spec.cluster, t.metadata.name!);
  let ci: ContainerInstance | undefined;
  if (st.containerInstance) ci = await client.tryGet<ContainerInstance>(EcsKinds.ContainerInstance, st.containerInstance);
  const cds = td?.spec.containerDefinitions ?? [];
  return {
    taskArn: arn,
    clusterArn: clusterArn(t.spec.cluster),
    taskDefinitionArn: td?.status?.taskDefinitionArn ?? t.spec.taskDefinition,
    ...(ci?.status?.containerInstanceArn ? { containerInstanceArn: ci.status.containerInstanceArn } : {}),
    lastStatus: st.lastStatus ?? 'PROVISIONING',
    desiredStatus: t.spec.desiredStatus,
    cpu: st.cpu ?? (td ? String(parseTaskCpu(td.spec.cpu) ?? taskReservation(td.spec).cpu) : undefined),
    memory: st.memory ?? (td ? String(parseTaskMemory(td.spec.memory) ?? taskReservation(td.spec).memory) : undefined),
    containers: (st.containers ?? cds.map((c): TaskContainer => ({ name: c.name, lastStatus: 'PENDING' }))).map((c) => ({
      taskArn: arn,
      name: c.name,
      image: cds.find((x) => x.name === c.name)?.image,
      lastStatus: c.lastStatus,
      ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
      ...(c.reason ? { reason: c.reason } : {}),
      networkInterfaces: [],
    })),
    ...(t.spec.startedBy ? { startedBy: t.spec.startedBy } : {}),
    group: t.spec.group,
    ...(t.spec.launchType ? { launchType: t.spec.launchType } : {}),
    ...(t.spec.capacityProvider ? { capacityProviderName: t.spec.capacityProvider } : {}),
    createdAt: iso(st.createdAt ?? t.metadata.creationTimestamp),
    ...(st.startedAt ? { startedAt: st.startedAt } : {}),
    ...(st.stoppingAt ? { stoppingAt: st.stoppingAt } : {}),
    ...(st.stoppedAt ? { stoppedAt: st.stoppedAt } : {}),
    ...(st.stoppedReason ? { stoppedReason: st.stoppedReason } : {}),
    ...(st.stopCode ? { stopCode: st.stopCode } : {}),
    version: 1,
    tags: [],
  };
}

/**
 * RunTask: `count` (1–10) tasks of a task definition in a cluster, with a launch type or a
 * capacity provider strategy (else the cluster's default, else EC2) split by base and weight,
 * placement strategy and constraints, and `group` (default `family:<family>`). EC2 in a cluster
 * with no container instances returns a failure, as ECS does. → `{tasks, failures}`.
 */
export async function runTask(client: Client, ns: string, input: Json, file?: string): Promise<Json> {
  const op = 'RunTask';
  const unknown = unknownKeys(input, RUN_TASK_KEYS, '');
  if (unknown.length) throw new EcsError('ParamValidation', op, unknown.map((m) => (file ? `${file}: ${m}` : m)).join('\n'));
  const cluster = await getCluster(client, str(op, input, 'cluster'), op);
  const td = await resolveTaskDefinition(client, str(op, input, 'taskDefinition', true)!, op);
  const count = int(op, input, 'count') ?? 1;
  if (count < 1 || count > 10) throw new EcsError('InvalidParameterException', op, 'count must be between 1 and 10.');
  validateStrategyInputs(op, input);
  const launchType = str(op, input, 'launchType') as LaunchType | undefined;
  if (launchType && input.capacityProviderStrategy) throw new EcsError('InvalidParameterException', op, 'Specifying both a launch type and capacity provider strategy is not supported.');
  const cps = input.capacityProviderStrategy as CapacityProviderStrategyItem[] | undefined;
  await checkLaunch(client, op, cluster, td, launchType, cps);
  const plan = launchPlan(cluster, launchType, cps);
  if (plan.launchType === 'EC2') {
    const cis = (await client.list<ContainerInstance>(EcsKinds.ContainerInstance)).items.filter((c) => c.spec.cluster === cluster.metadata.name);
    if (!cis.length) return { tasks: [], failures: [{ reason: 'No Container Instances were found in your cluster.' }] };
  }
  const providers = plan.strategy ? splitByStrategy(plan.strategy, count) : [];
  const group = str(op, input, 'group') ?? `family:${td.spec.family}`;
  const cache = new Map<string, TaskDefinition | undefined>([[td.metadata.name!, td]]);
  const tasks: Json[] = [];
  for (let i = 0; i < count; i++) {
    const id = newTaskId();
    const task: Task = {
      apiVersion: EcsKinds.Task.apiVersion,
      kind: 'Task',
      metadata: { name: id, namespace: ns, labels: { [FAMILY_LABEL]: sanitizeLabelValue(td.spec.family), [CLUSTER_LABEL]: sanitizeLabelValue(cluster.metadata.name!) } },
      spec: {
        cluster: cluster.metadata.name!,
        taskDefinition: td.metadata.name!,
        ...(plan.launchType ? { launchType: plan.launchType } : {}),
        ...(providers[i] ? { capacityProvider: providers[i] } : {}),
        group,
        ...(str(op, input, 'startedBy') ? { startedBy: input.startedBy as string } : {}),
        ...(Array.isArray(input.placementStrategy) && input.placementStrategy.length ? { placementStrategy: input.placementStrategy as Task['spec']['placementStrategy'] } : {}),
        ...(Array.isArray(input.placementConstraints) && input.placementConstraints.length ? { placementConstraints: input.placementConstraints as Task['spec']['placementConstraints'] } : {}),
        desiredStatus: 'RUNNING',
      },
    };
    tasks.push(await taskJson(client, await client.create<Task>(task), cache));
  }
  return { tasks, failures: [] };
}

async function findTask(client: Client, ns: string, cluster: string, ref: string): Promise<Task | undefined> {
  const t = await client.tryGet<Task>(EcsKinds.Task, arnName(ref), ns);
  return t && t.spec.cluster === cluster ? t : undefined;
}

/** StopTask: `{cluster, task, reason}` → `{task}`; stoppedReason is `reason` or "Task stopped by user". */
export async function stopTask(client: Client, ns: string, input: Json): Promise<Json> {
  const op = 'StopTask';
  checkKeys(op, input, ['cluster', 'task', 'reason']);
  const cluster = await getCluster(client, str(op, input, 'cluster'), op);
  const ref = str(op, input, 'task', true)!;
  const t = await findTask(client, ns, cluster.metadata.name!, ref);
  if (!t) throw new EcsError('InvalidParameterException', op, `The referenced task was not found. (${arnName(ref)})`);
  const reason = str(op, input, 'reason');
  const out = await client.modify<Task>(EcsKinds.Task, t.metadata.name!, ns, (o) =>
    o.spec.desiredStatus === 'STOPPED' ? undefined : { ...o, spec: { ...o.spec, desiredStatus: 'STOPPED', stopCode: 'UserInitiated', stoppedReason: reason || 'Task stopped by user' } },
  );
  return { task: await taskJson(client, out ?? t) };
}

/** ListTasks: `{cluster, serviceName, family, desiredStatus (default RUNNING), startedBy, containerInstance, launchType}` → `{taskArns}`. */
export async function listTasks(client: Client, ns: string, input: Json): Promise<Json> {
  const op = 'ListTasks';
  checkKeys(op, input, ['cluster', 'containerInstance', 'family', 'nextToken', 'maxResults', 'startedBy', 'serviceName', 'desiredStatus', 'launchType']);
  const cluster = await getCluster(client, str(op, input, 'cluster'), op);
  const desired = str(op, input, 'desiredStatus') ?? 'RUNNING';
  if (!['RUNNING', 'PENDING', 'STOPPED'].includes(desired)) throw new EcsError('InvalidParameterException', op, `desiredStatus must be RUNNING, PENDING or STOPPED, not ${desired}`);
  const svc = str(op, input, 'serviceName');
  const family = str(op, input, 'family');
  const startedBy = str(op, input, 'startedBy');
  const ci = str(op, input, 'containerInstance');
  const lt = str(op, input, 'launchType');
  const items = (await client.list<Task>(EcsKinds.Task, { namespace: ns, ...(svc ? { labelSelector: `${SERVICE_LABEL}=${arnName(svc)}` } : {}) })).items.filter(
    (t) =>
      t.spec.cluster === cluster.metadata.name &&
      (desired === 'STOPPED' ? t.spec.desiredStatus === 'STOPPED' : t.spec.desiredStatus === 'RUNNING') &&
      (!family || t.metadata.labels?.[FAMILY_LABEL] === sanitizeLabelValue(family)) &&
      (!startedBy || t.spec.startedBy === startedBy) &&
      (!lt || (t.spec.launchType ?? (t.spec.capacityProvider && FARGATE_PROVIDERS.includes(t.spec.capacityProvider as never) ? 'FARGATE' : 'EC2')) === lt) &&
      (!ci || t.status?.containerInstance === arnName(ci) || t.status?.containerInstance === ci),
  );
  return { taskArns: items.map((t) => taskArn(t.spec.cluster, t.metadata.name!)) };
}

/** DescribeTasks: `{cluster, tasks}` → `{tasks, failures}` (a missing task is a MISSING failure). */
export async function describeTasks(client: Client, ns: string, input: Json): Promise<Json> {
  const op = 'DescribeTasks';
  checkKeys(op, input, ['cluster', 'tasks', 'include']);
  const cluster = await getCluster(client, str(op, input, 'cluster'), op);
  if (!Array.isArray(input.tasks) || !input.tasks.length) throw new EcsError('ParamValidation', op, 'Missing required parameter in input: "tasks"');
  const tasks: Json[] = [];
  const failures: Json[] = [];
  const cache = new Map<string, TaskDefinition | undefined>();
  for (const ref of input.tasks as string[]) {
    const t = await findTask(client, ns, cluster.metadata.name!, ref);
    if (t) tasks.push(await taskJson(client, t, cache));
    else failures.push({ arn: ref.startsWith('arn:') ? ref : taskArn(cluster.metadata.name!, ref), reason: 'MISSING' });
  }
  return { tasks, failures };
}

// ---------------------------------------------------------------- container instances

function containerInstanceJson(ci: ContainerInstance): Json {
  return {
    containerInstanceArn: ci.status?.containerInstanceArn,
    ec2InstanceId: ci.spec.ec2InstanceId,
    ...(ci.status?.capacityProviderName ? { capacityProviderName: ci.status.capacityProviderName } : {}),
    version: 1,
    versionInfo: { agentVersion: '1.88.0', agentHash: 'berth', dockerVersion: 'DockerVersion: 25.0.8' },
    remainingResources: ci.status?.remainingResources ?? [],
    registeredResources: ci.status?.registeredResources ?? [],
    status: ci.spec.status === 'DRAINING' ? 'DRAINING' : (ci.status?.status ?? 'ACTIVE'),
    agentConnected: ci.status?.agentConnected ?? false,
    runningTasksCount: ci.status?.runningTasksCount ?? 0,
    pendingTasksCount: ci.status?.pendingTasksCount ?? 0,
    attributes: ci.status?.attributes ?? [],
    registeredAt: ci.status?.registeredAt,
    tags: [],
  };
}

async function instancesOf(client: Client, cluster: string): Promise<ContainerInstance[]> {
  return (await client.list<ContainerInstance>(EcsKinds.ContainerInstance)).items.filter((c) => c.spec.cluster === cluster);
}

/** ListContainerInstances: `{cluster, status}` → `{containerInstanceArns}`. */
export async function listContainerInstances(client: Client, input: Json): Promise<Json> {
  const op = 'ListContainerInstances';
  checkKeys(op, input, ['cluster', 'filter', 'nextToken', 'maxResults', 'status']);
  const cluster = await getCluster(client, str(op, input, 'cluster'), op);
  const status = str(op, input, 'status');
  const items = (await instancesOf(client, cluster.metadata.name!)).filter((c) => !status || (c.status?.status ?? 'ACTIVE') === status);
  return { containerInstanceArns: items.map((c) => c.status?.containerInstanceArn ?? c.metadata.name) };
}

/** DescribeContainerInstances: by ARN, 32-hex id, EC2 instance id or Node name → `{containerInstances, failures}`. */
export async function describeContainerInstances(client: Client, input: Json): Promise<Json> {
  const op = 'DescribeContainerInstances';
  checkKeys(op, input, ['cluster', 'containerInstances', 'include']);
  const cluster = await getCluster(client, str(op, input, 'cluster'), op);
  const all = await instancesOf(client, cluster.metadata.name!);
  const refs = (input.containerInstances as string[] | undefined) ?? [];
  const containerInstances: Json[] = [];
  const failures: Json[] = [];
  for (const ref of refs) {
    const id = arnName(ref);
    const ci = all.find((c) => c.metadata.name === ref || c.spec.ec2InstanceId === ref || c.status?.containerInstanceArn === ref || arnName(c.status?.containerInstanceArn ?? '') === id);
    if (ci) containerInstances.push(containerInstanceJson(ci));
    else failures.push({ arn: ref, reason: 'MISSING' });
  }
  return { containerInstances, failures };
}

/** UpdateContainerInstancesState: `{cluster, containerInstances, status: ACTIVE|DRAINING}`. */
export async function updateContainerInstancesState(client: Client, input: Json): Promise<Json> {
  const op = 'UpdateContainerInstancesState';
  checkKeys(op, input, ['cluster', 'containerInstances', 'status']);
  const status = str(op, input, 'status', true);
  if (status !== 'ACTIVE' && status !== 'DRAINING') throw new EcsError('InvalidParameterException', op, `status must be ACTIVE or DRAINING, not ${status}`);
  const d = await describeContainerInstances(client, { ...(input.cluster !== undefined ? { cluster: input.cluster } : {}), containerInstances: input.containerInstances });
  const out: Json[] = [];
  const all = await instancesOf(client, arnName(str(op, input, 'cluster') ?? 'default'));
  for (const c of d.containerInstances as Json[]) {
    const ci = all.find((x) => x.status?.containerInstanceArn === c.containerInstanceArn)!;
    const next = await client.modify<ContainerInstance>(EcsKinds.ContainerInstance, ci.metadata.name!, undefined, (o) => ({ ...o, spec: { ...o.spec, status } }));
    out.push(containerInstanceJson(next ?? ci));
  }
  return { containerInstances: out, failures: d.failures };
}

export { isNotFound };
