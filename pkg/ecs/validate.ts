/**
 * Defaulting and validation of the ECS kinds, as the API server's per-kind hooks. Rules and
 * defaults are ECS's (API reference pages cited at each function); field paths are the object's
 * (`spec.deploymentConfiguration.maximumPercent`).
 */
import type { FieldError } from '../api/errors.js';
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired } from '../api/errors.js';
import { deepEqual } from '../api/meta.js';
import type { KubeObject } from '../api/types.js';
import { compatibilitiesOf, defaultTaskDefinitionSpec, validateTaskDefinitionSpec } from './taskdef.js';
import {
  FAMILY_LABEL,
  FARGATE_PROVIDERS,
  LAUNCH_TYPES,
  REVISION_LABEL,
  sanitizeLabelValue,
  taskDefinitionArn,
  taskDefinitionObjectName,
  type CapacityProvider,
  type CapacityProviderStrategyItem,
  type Cluster,
  type PlacementConstraint,
  type PlacementStrategy,
  type Service,
  type Task,
  type TaskDefinition,
} from './types.js';

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * TaskDefinition defaults: the request's (defaultTaskDefinitionSpec), the family and revision
 * labels (the revision read from the name's `-<n>` suffix when not labelled), and the status ECS
 * reports (`taskDefinitionArn`, `revision`, `status: ACTIVE`, `compatibilities`).
 */
export function defaultTaskDefinition(obj: KubeObject): void {
  const td = obj as TaskDefinition;
  if (!td.spec || typeof td.spec !== 'object') return;
  defaultTaskDefinitionSpec(td.spec);
  const labels = (td.metadata.labels ??= {});
  if (!labels[REVISION_LABEL]) {
    const m = /-(\d+)$/.exec(td.metadata.name ?? '');
    if (m) labels[REVISION_LABEL] = String(Number(m[1]));
  }
  if (typeof td.spec.family === 'string' && td.spec.family) labels[FAMILY_LABEL] = sanitizeLabelValue(td.spec.family);
  const revision = Number(labels[REVISION_LABEL]);
  if (Number.isInteger(revision) && revision > 0 && typeof td.spec.family === 'string') {
    td.status = {
      ...(td.status ?? {}),
      taskDefinitionArn: taskDefinitionArn(td.spec.family, revision),
      revision,
      status: td.status?.status ?? 'ACTIVE',
      compatibilities: compatibilitiesOf(td.spec),
    };
  }
}

/**
 * TaskDefinition validation: the request (validateTaskDefinitionSpec, paths under `spec.`), the
 * name `taskDefinitionObjectName(family, revision)`, and immutability: a registered revision's
 * spec never changes (register a new revision instead; DeregisterTaskDefinition only sets
 * `status.status: INACTIVE`). https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html
 */
export function validateTaskDefinition(obj: KubeObject, old?: KubeObject): FieldError[] {
  const td = obj as TaskDefinition;
  const out = validateTaskDefinitionSpec(td.spec, 'spec.');
  const revision = Number(td.metadata.labels?.[REVISION_LABEL]);
  if (!Number.isInteger(revision) || revision < 1) {
    out.push(fieldRequired(`metadata.labels[${REVISION_LABEL}]`, 'the revision: name the object <family>-<revision> (e.g. web-1) or label it; `berth ecs register-task-definition` picks the next revision for you'));
  } else if (typeof td.spec?.family === 'string' && !out.length && td.metadata.name !== taskDefinitionObjectName(td.spec.family, revision)) {
    out.push(fieldInvalid('metadata.name', td.metadata.name, `family ${td.spec.family} revision ${revision} must be named ${taskDefinitionObjectName(td.spec.family, revision)}`));
  }
  if (old) {
    const o = old as TaskDefinition;
    if (!deepEqual(o.spec, td.spec)) out.push(fieldForbidden('spec', 'a task definition revision is immutable: register a new revision of the family instead'));
    if (o.status?.status === 'INACTIVE' && td.status?.status === 'ACTIVE') out.push(fieldForbidden('status.status', 'a deregistered (INACTIVE) revision cannot be made ACTIVE again'));
  }
  return out;
}

/**
 * A capacity provider strategy (API_CapacityProviderStrategyItem): 1–20 items, provider names
 * unique, base 0–100000 on at most one item, weight 0–1000 with at least one weight above 0.
 */
export function validateStrategy(items: CapacityProviderStrategyItem[] | undefined, path: string): FieldError[] {
  if (items === undefined) return [];
  if (!Array.isArray(items)) return [fieldInvalid(path, items, 'must be a list of {capacityProvider, base, weight}')];
  const out: FieldError[] = [];
  if (items.length > 20) out.push(fieldInvalid(path, `${items.length} items`, 'must have at most 20 items'));
  const seen = new Set<string>();
  let bases = 0;
  items.forEach((it, i) => {
    const p = `${path}[${i}]`;
    if (!it || typeof it.capacityProvider !== 'string' || !it.capacityProvider) return void out.push(fieldRequired(`${p}.capacityProvider`));
    if (seen.has(it.capacityProvider)) out.push(fieldInvalid(`${p}.capacityProvider`, it.capacityProvider, 'a capacity provider may appear only once in a strategy'));
    seen.add(it.capacityProvider);
    if (it.base !== undefined && (!isInt(it.base) || it.base < 0 || it.base > 100000)) out.push(fieldInvalid(`${p}.base`, it.base, 'must be between 0 and 100000'));
    if (it.base) bases++;
    if (it.weight !== undefined && (!isInt(it.weight) || it.weight < 0 || it.weight > 1000)) out.push(fieldInvalid(`${p}.weight`, it.weight, 'must be between 0 and 1000'));
  });
  if (bases > 1) out.push(fieldInvalid(path, '', 'only one capacity provider in a strategy can have a base'));
  if (items.length && !items.some((i) => (i?.weight ?? 0) > 0)) out.push(fieldInvalid(path, '', 'at least one capacity provider must have a weight greater than 0'));
  if (items.some((i) => FARGATE_PROVIDERS.includes(i?.capacityProvider as never)) && items.some((i) => i && !FARGATE_PROVIDERS.includes(i.capacityProvider as never))) {
    out.push(fieldInvalid(path, '', 'a strategy cannot mix Fargate (FARGATE, FARGATE_SPOT) and Auto Scaling group capacity providers'));
  }
  return out;
}

/** Placement strategies (API_PlacementStrategy): binpack on cpu|memory, spread on a field, random; at most 5. */
export function validatePlacementStrategy(items: PlacementStrategy[] | undefined, path: string): FieldError[] {
  if (items === undefined) return [];
  if (!Array.isArray(items)) return [fieldInvalid(path, items, 'must be a list of {type, field}')];
  const out: FieldError[] = [];
  if (items.length > 5) out.push(fieldInvalid(path, `${items.length} items`, 'must have at most 5 items'));
  items.forEach((s, i) => {
    const p = `${path}[${i}]`;
    if (!s || !['binpack', 'spread', 'random'].includes(s.type)) return void out.push(fieldNotSupported(`${p}.type`, s?.type, ['binpack', 'spread', 'random']));
    if (s.type === 'binpack' && !['cpu', 'memory', 'CPU', 'MEMORY'].includes(s.field ?? '')) out.push(fieldNotSupported(`${p}.field`, s.field ?? '', ['cpu', 'memory']));
    if (s.type === 'spread' && !s.field) out.push(fieldRequired(`${p}.field`, 'spread needs a field: instanceId, host or attribute:<name>'));
  });
  return out;
}

/** Placement constraints (API_PlacementConstraint): distinctInstance (no expression) or memberOf with an expression; at most 10. */
export function validatePlacementConstraints(items: PlacementConstraint[] | undefined, path: string): FieldError[] {
  if (items === undefined) return [];
  if (!Array.isArray(items)) return [fieldInvalid(path, items, 'must be a list of {type, expression}')];
  const out: FieldError[] = [];
  if (items.length > 10) out.push(fieldInvalid(path, `${items.length} items`, 'must have at most 10 items'));
  items.forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!c || !['distinctInstance', 'memberOf'].includes(c.type)) return void out.push(fieldNotSupported(`${p}.type`, c?.type, ['distinctInstance', 'memberOf']));
    if (c.type === 'memberOf' && !c.expression) out.push(fieldRequired(`${p}.expression`, 'memberOf needs a cluster query language expression'));
    if (c.type === 'distinctInstance' && c.expression) out.push(fieldInvalid(`${p}.expression`, c.expression, 'distinctInstance takes no expression'));
  });
  return out;
}

/** Service defaults (API_DeploymentConfiguration): minimumHealthyPercent 100, maximumPercent 200, circuit breaker off; schedulingStrategy REPLICA. */
export function defaultService(obj: KubeObject): void {
  const s = obj as Service;
  if (!s.spec || typeof s.spec !== 'object') return;
  s.spec.schedulingStrategy ??= 'REPLICA';
  const dc = (s.spec.deploymentConfiguration ??= {});
  dc.minimumHealthyPercent ??= 100;
  dc.maximumPercent ??= 200;
  dc.deploymentCircuitBreaker ??= { enable: false, rollback: false };
}

/**
 * Service validation (API_CreateService): cluster and taskDefinition required; desiredCount an
 * integer ≥ 0; minimumHealthyPercent 0–100 and maximumPercent ≥ 100 … and above it;
 * launchType and capacityProviderStrategy are exclusive; DAEMON is not simulated.
 */
export function validateService(obj: KubeObject): FieldError[] {
  const s = obj as Service;
  const out: FieldError[] = [];
  if (!s.spec || typeof s.spec !== 'object') return [fieldRequired('spec')];
  if (!s.spec.cluster) out.push(fieldRequired('spec.cluster'));
  if (!s.spec.taskDefinition) out.push(fieldRequired('spec.taskDefinition'));
  if (!isInt(s.spec.desiredCount) || s.spec.desiredCount < 0) out.push(fieldInvalid('spec.desiredCount', s.spec.desiredCount, 'must be an integer of at least 0'));
  if (s.spec.launchType !== undefined && !LAUNCH_TYPES.includes(s.spec.launchType)) out.push(fieldNotSupported('spec.launchType', s.spec.launchType, [...LAUNCH_TYPES]));
  if (s.spec.launchType && s.spec.capacityProviderStrategy?.length) out.push(fieldInvalid('spec.capacityProviderStrategy', '', 'specify either a launchType or a capacityProviderStrategy, not both'));
  if (s.spec.schedulingStrategy === 'DAEMON') out.push(fieldNotSupported('spec.schedulingStrategy', 'DAEMON', ['REPLICA']));
  const dc = s.spec.deploymentConfiguration ?? {};
  const min = dc.minimumHealthyPercent ?? 100;
  const max = dc.maximumPercent ?? 200;
  if (!isInt(min) || min < 0 || min > 100) out.push(fieldInvalid('spec.deploymentConfiguration.minimumHealthyPercent', min, 'must be between 0 and 100'));
  if (!isInt(max) || max < 100) out.push(fieldInvalid('spec.deploymentConfiguration.maximumPercent', max, 'must be at least 100'));
  else if (isInt(min) && max <= min && !(min === 0 && max === 100)) out.push(fieldInvalid('spec.deploymentConfiguration.maximumPercent', max, `must be greater than minimumHealthyPercent (${min})`));
  const cb = dc.deploymentCircuitBreaker;
  if (cb && (typeof cb.enable !== 'boolean' || typeof cb.rollback !== 'boolean')) out.push(fieldInvalid('spec.deploymentConfiguration.deploymentCircuitBreaker', cb, 'enable and rollback must both be true or false'));
  out.push(...validateStrategy(s.spec.capacityProviderStrategy, 'spec.capacityProviderStrategy'));
  out.push(...validatePlacementStrategy(s.spec.placementStrategy, 'spec.placementStrategy'));
  out.push(...validatePlacementConstraints(s.spec.placementConstraints, 'spec.placementConstraints'));
  (s.spec.loadBalancers ?? []).forEach((lb, i) => {
    const p = `spec.loadBalancers[${i}]`;
    if (!lb.targetGroupArn && !lb.loadBalancerName) out.push(fieldRequired(`${p}.targetGroupArn`));
    if (!lb.containerName) out.push(fieldRequired(`${p}.containerName`));
    if (!isInt(lb.containerPort) || lb.containerPort < 1 || lb.containerPort > 65535) out.push(fieldInvalid(`${p}.containerPort`, lb.containerPort, 'must be between 1 and 65535'));
  });
  return out;
}

/** Task validation: cluster, taskDefinition, group, desiredStatus RUNNING | STOPPED (a STOPPED task never runs again). */
export function validateTask(obj: KubeObject, old?: KubeObject): FieldError[] {
  const t = obj as Task;
  const out: FieldError[] = [];
  if (!t.spec || typeof t.spec !== 'object') return [fieldRequired('spec')];
  if (!t.spec.cluster) out.push(fieldRequired('spec.cluster'));
  if (!t.spec.taskDefinition) out.push(fieldRequired('spec.taskDefinition'));
  if (!['RUNNING', 'STOPPED'].includes(t.spec.desiredStatus)) out.push(fieldNotSupported('spec.desiredStatus', t.spec.desiredStatus, ['RUNNING', 'STOPPED']));
  if (t.spec.launchType !== undefined && !LAUNCH_TYPES.includes(t.spec.launchType)) out.push(fieldNotSupported('spec.launchType', t.spec.launchType, [...LAUNCH_TYPES]));
  out.push(...validatePlacementStrategy(t.spec.placementStrategy, 'spec.placementStrategy'));
  out.push(...validatePlacementConstraints(t.spec.placementConstraints, 'spec.placementConstraints'));
  if (old && (old as Task).spec.desiredStatus === 'STOPPED' && t.spec.desiredStatus === 'RUNNING') out.push(fieldForbidden('spec.desiredStatus', 'a stopped task cannot be started again: run a new task'));
  if (old && (old as Task).spec.taskDefinition !== t.spec.taskDefinition) out.push(fieldForbidden('spec.taskDefinition', 'immutable'));
  return out;
}

/** Task defaults: desiredStatus RUNNING, group `family:<family>` is set by whoever creates it. */
export function defaultTask(obj: KubeObject): void {
  const t = obj as Task;
  if (t.spec && typeof t.spec === 'object') t.spec.desiredStatus ??= 'RUNNING';
}

/** Cluster validation (API_PutClusterCapacityProviders): the default strategy uses only the cluster's providers. */
export function validateCluster(obj: KubeObject): FieldError[] {
  const c = obj as Cluster;
  const out: FieldError[] = [];
  const cps = c.spec?.capacityProviders ?? [];
  if (!Array.isArray(cps)) return [fieldInvalid('spec.capacityProviders', cps, 'must be a list of names')];
  out.push(...validateStrategy(c.spec?.defaultCapacityProviderStrategy, 'spec.defaultCapacityProviderStrategy'));
  (c.spec?.defaultCapacityProviderStrategy ?? []).forEach((it, i) => {
    if (it?.capacityProvider && !cps.includes(it.capacityProvider)) out.push(fieldInvalid(`spec.defaultCapacityProviderStrategy[${i}].capacityProvider`, it.capacityProvider, `not associated with the cluster (capacityProviders: ${cps.join(', ') || 'none'})`));
  });
  return out;
}

/** CapacityProvider defaults (API_ManagedScaling): status ENABLED when given, targetCapacity 100, steps 1 and 10000, warm-up 300 s. */
export function defaultCapacityProvider(obj: KubeObject): void {
  const cp = obj as CapacityProvider;
  const ms = cp.spec?.autoScalingGroupProvider?.managedScaling;
  if (!ms) return;
  ms.status ??= 'ENABLED';
  ms.targetCapacity ??= 100;
  ms.minimumScalingStepSize ??= 1;
  ms.maximumScalingStepSize ??= 10000;
  ms.instanceWarmupPeriod ??= 300;
}

/**
 * CapacityProvider validation (API_CreateCapacityProvider, API_ManagedScaling): a name not
 * starting with aws, ecs or fargate; an Auto Scaling group; targetCapacity 1–100; step sizes
 * 1–10000 with minimum ≤ maximum; instanceWarmupPeriod 0–10000 s.
 */
export function validateCapacityProvider(obj: KubeObject): FieldError[] {
  const cp = obj as CapacityProvider;
  const out: FieldError[] = [];
  if (/^(aws|ecs|fargate)/i.test(cp.metadata.name ?? '')) out.push(fieldInvalid('metadata.name', cp.metadata.name, 'a capacity provider name cannot start with aws, ecs or fargate'));
  const g = cp.spec?.autoScalingGroupProvider;
  if (!g?.autoScalingGroupArn) return [...out, fieldRequired('spec.autoScalingGroupProvider.autoScalingGroupArn')];
  const ms = g.managedScaling;
  if (ms) {
    const p = 'spec.autoScalingGroupProvider.managedScaling';
    if (ms.status !== undefined && ms.status !== 'ENABLED' && ms.status !== 'DISABLED') out.push(fieldNotSupported(`${p}.status`, ms.status, ['ENABLED', 'DISABLED']));
    if (ms.targetCapacity !== undefined && (!isInt(ms.targetCapacity) || ms.targetCapacity < 1 || ms.targetCapacity > 100)) out.push(fieldInvalid(`${p}.targetCapacity`, ms.targetCapacity, 'must be between 1 and 100'));
    for (const f of ['minimumScalingStepSize', 'maximumScalingStepSize'] as const) {
      if (ms[f] !== undefined && (!isInt(ms[f]) || ms[f]! < 1 || ms[f]! > 10000)) out.push(fieldInvalid(`${p}.${f}`, ms[f], 'must be between 1 and 10000'));
    }
    if (isInt(ms.minimumScalingStepSize) && isInt(ms.maximumScalingStepSize) && ms.minimumScalingStepSize > ms.maximumScalingStepSize) out.push(fieldInvalid(`${p}.minimumScalingStepSize`, ms.minimumScalingStepSize, `must not exceed maximumScalingStepSize (${ms.maximumScalingStepSize})`));
    if (ms.instanceWarmupPeriod !== undefined && (!isInt(ms.instanceWarmupPeriod) || ms.instanceWarmupPeriod < 0 || ms.instanceWarmupPeriod > 10000)) out.push(fieldInvalid(`${p}.instanceWarmupPeriod`, ms.instanceWarmupPeriod, 'must be between 0 and 10000 seconds'));
  }
  return out;
}
