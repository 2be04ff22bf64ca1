/**
 * Defaulting and validation of the simulated account's kinds, as KindHooks: every bad input is a
 * 422 Invalid with Kubernetes-style field causes
 * (`spec.desiredCapacity: Invalid value: 12: must be between minSize (1) and maxSize (10)`).
 * The rules are EC2's and EC2 Auto Scaling's where they have one (noted beside each).
 */
import { fieldDuplicate, fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../api/errors.js';
import { RUNTIME_NAMES } from '../agent/runtime.js';
import type { KindHooks } from '../api/hooks.js';
import { deepEqual, isObject } from '../api/meta.js';
import type { KubeObject } from '../api/types.js';
import { labelValueErrors, qualifiedNameErrors, validateLabels, validateObjectMeta } from '../api/validation.js';
import type { Catalog } from './catalog.js';
import { regionZones, type Region } from './network.js';
import { HOST_ID_RE, type DedicatedHostSpec, type ReservedInstanceSpec, type SavingsPlanSpec } from './billing-types.js';
import { OFFERING_CLASSES, PAYMENT_OPTIONS, RESERVED_TERMS, SAVINGS_PLAN_TYPES } from './pricing.js';
import { DESIRED_STATES, GROUP_NAME_LABEL, HEALTH_CHECK_TYPES, INSTANCE_ID_RE, TERMINATION_POLICIES, newInstanceId, ON_DEMAND_ALLOCATION_STRATEGIES, SPOT_ALLOCATION_STRATEGIES, TENANCIES, type AutoScalingGroup, type Instance } from './types.js';

const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];

/**
 * The error for an instance type the catalogue does not have. Listing all 260 would drown the
 * message, so it lists the sizes of the same family, or the families when the family is unknown.
 */
export function unsupportedInstanceType(field: string, value: unknown, cat: Catalog): FieldError {
  const name = typeof value === 'string' ? value : '';
  const family = name.split('.')[0] ?? '';
  const sameFamily = cat.filter({ family }).map((t) => t.name);
  const hint = sameFamily.length
    ? `supported values for family ${family}: ${sameFamily.map((s) => `"${s}"`).join(', ')}`
    : `not one of the ${cat.size} instance types of families ${cat.families().join(', ')} (kubectl get instancetypes)`;
  return { type: 'FieldValueNotSupported', field, detail: `Unsupported value: ${JSON.stringify(value ?? null)}: ${hint}` };
}

/** Errors of a Kubernetes taint list (core/v1 validation.validateNodeTaints): key, value, effect, no duplicate key+effect. */
export function validateTaints(taints: unknown, path: string): FieldError[] {
  if (taints === undefined || taints === null) return [];
  if (!Array.isArray(taints)) return [fieldInvalid(path, taints, 'must be a list of taints')];
  const out: FieldError[] = [];
  const seen = new Set<string>();
  taints.forEach((t: unknown, i) => {
    const p = `${path}[${i}]`;
    if (!isObject(t)) {
      out.push(fieldInvalid(p, t, 'must be a taint: {key, value, effect}'));
      return;
    }
    const key = t.key;
    if (typeof key !== 'string' || key === '') out.push(fieldRequired(`${p}.key`));
    else for (const e of qualifiedNameErrors(key)) out.push(fieldInvalid(`${p}.key`, key, e));
    if (t.value !== undefined && t.value !== null) {
      if (typeof t.value !== 'string') out.push(fieldInvalid(`${p}.value`, t.value, 'must be a string'));
      else for (const e of labelValueErrors(t.value)) out.push(fieldInvalid(`${p}.value`, t.value, e));
    }
    if (t.effect === undefined || t.effect === '') out.push(fieldRequired(`${p}.effect`));
    else if (typeof t.effect !== 'string' || !TAINT_EFFECTS.includes(t.effect)) out.push(fieldNotSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
    const id = `${String(key)}:${String(t.effect)}`;
    if (seen.has(id)) out.push(fieldDuplicate(p, `taint key "${String(key)}" with effect "${String(t.effect)}"`));
    seen.add(id);
  });
  return out;
}

function validateNodeLabels(labels: unknown, path: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (!isObject(labels)) return [fieldInvalid(path, labels, 'must be a map of label keys to values')];
  return validateLabels(labels as Record<string, string>, path);
}

function validateZone(zone: unknown, path: string, zones: readonly string[]): FieldError[] {
  if (zone === undefined || zone === null || zone === '') return [fieldRequired(path)];
  if (typeof zone !== 'string' || !zones.includes(zone)) return [fieldNotSupported(path, zone, [...zones])];
  return [];
}

function validateInstanceType(t: unknown, path: string, cat: Catalog): FieldError[] {
  if (t === undefined || t === null || t === '') return [fieldRequired(path)];
  if (typeof t !== 'string' || !cat.has(t)) return [unsupportedInstanceType(path, t, cat)];
  return [];
}

export interface HookOptions {
  catalog: Catalog;
  region: Region;
  /** Random numbers for ids given to instances created with `generateName: i-`. */
  random: () => number;
}

/**
 * Instance hooks. Defaults `spec.state` to running; an Instance created with `generateName: i-`
 * gets an instance id as its name. Validates:
 * - the name is an instance id (`i-` + 17 hex digits);
 * - the instance type is in the catalogue, the zone in the region, labels and taints well-formed;
 * - on update: the zone never changes; the type changes only while the instance is stopped (EC2
 *   ModifyInstanceAttribute needs a stopped instance); a terminated instance stays terminated
 *   (EC2 cannot start it again).
 */
export function instanceHooks(o: HookOptions): KindHooks {
  const zones = regionZones(o.region);
  return {
    default(obj: KubeObject): void {
      const m = obj.metadata;
      // On create the store has removed resourceVersion and filled name from generateName.
      if (m.resourceVersion === undefined && m.generateName === 'i-' && !INSTANCE_ID_RE.test(m.name ?? '')) m.name = newInstanceId(o.random);
      if (isObject(obj.spec) && (obj.spec.state === undefined || obj.spec.state === null)) obj.spec.state = 'running';
    },
    validate(obj: KubeObject, old?: KubeObject): FieldError[] {
      const out = validateObjectMeta(obj.metadata, false).filter((e) => e.field !== 'metadata.name');
      const name = obj.metadata.name ?? '';
      if (!name) out.push(fieldRequired('metadata.name', 'name or generateName is required'));
      else if (!INSTANCE_ID_RE.test(name)) out.push(fieldInvalid('metadata.name', name, 'must be an instance id: "i-" followed by 17 lowercase hexadecimal digits (create with generateName: i- to get one)'));
      if (!isObject(obj.spec)) return [...out, fieldRequired('spec')];
      const spec = obj.spec as Partial<Instance['spec']>;
      out.push(...validateInstanceType(spec.instanceType, 'spec.instanceType', o.catalog));
      out.push(...validateZone(spec.availabilityZone, 'spec.availabilityZone', zones));
      if (spec.state !== undefined && !DESIRED_STATES.includes(spec.state)) out.push(fieldNotSupported('spec.state', spec.state, [...DESIRED_STATES]));
      out.push(...validateNodeLabels(spec.nodeLabels, 'spec.nodeLabels'));
      out.push(...validateTaints(spec.nodeTaints, 'spec.nodeTaints'));
      if (spec.imageId !== undefined && (typeof spec.imageId !== 'string' || !/^ami-[0-9a-f]{8}([0-9a-f]{9})?$/.test(spec.imageId))) {
        out.push(fieldInvalid('spec.imageId', spec.imageId, 'must be an AMI id: "ami-" followed by 8 or 17 lowercase hexadecimal digits'));
      }
      out.push(...instancePlacementErrors(spec));
      if (old && isObject(old.spec)) out.push(...instanceUpdateErrors(obj as Instance, old as Instance), ...instancePlacementUpdateErrors(obj as Instance, old as Instance));
      return out;
    },
  };
}

function instanceUpdateErrors(obj: Instance, old: Instance): FieldError[] {
  const out: FieldError[] = [];
  const current = old.status?.state;
  if (obj.spec.availabilityZone !== old.spec.availabilityZone) out.push(fieldInvalid('spec.availabilityZone', obj.spec.availabilityZone, 'field is immutable'));
  if (obj.spec.instanceType !== old.spec.instanceType && current !== undefined && current !== 'stopped') {
    out.push(fieldForbidden('spec.instanceType', `the instance type can be changed only while the instance is stopped (it is ${current})`));
  }
  const wasTerminated = old.spec.state === 'terminated' || current === 'shutting-down' || current === 'terminated';
  // Only a change is refused: an Instance deleted through the API terminates with spec.state left as it was.
  if (wasTerminated && obj.spec.state !== old.spec.state && obj.spec.state !== 'terminated') {
    out.push(fieldInvalid('spec.state', obj.spec.state, 'a terminated instance cannot be started or stopped again'));
  }
  return out;
}

/** AutoScalingGroup hooks: desiredCapacity defaults to minSize; the rules are EC2 Auto Scaling's (CreateAutoScalingGroup). */
export function autoScalingGroupHooks(o: HookOptions): KindHooks {
  const zones = regionZones(o.region);
  return {
    default(obj: KubeObject): void {
      const spec = obj.spec;
      if (!isObject(spec)) return;
      if ((spec.desiredCapacity === undefined || spec.desiredCapacity === null) && typeof spec.minSize === 'number') spec.desiredCapacity = spec.minSize;
    },
    validate(obj: KubeObject): FieldError[] {
      const out = [...validateObjectMeta(obj.metadata, false), ...autoScalingGroupNameErrors(obj.metadata.name)];
      if (!isObject(obj.spec)) return [...out, fieldRequired('spec')];
      const spec = obj.spec as Partial<AutoScalingGroup['spec']>;
      const size = (field: 'minSize' | 'maxSize' | 'desiredCapacity'): number | undefined => {
        const v = spec[field];
        const path = `spec.${field}`;
        if (v === undefined || v === null) {
          out.push(fieldRequired(path));
          return undefined;
        }
        if (typeof v !== 'number' || !Number.isInteger(v)) {
          out.push(fieldInvalid(path, v, 'must be an integer'));
          return undefined;
        }
        if (v < 0) {
          out.push(fieldInvalid(path, v, 'must be greater than or equal to 0'));
          return undefined;
        }
        return v;
      };
      const min = size('minSize');
      const max = size('maxSize');
      const desired = size('desiredCapacity');
      if (min !== undefined && max !== undefined && max < min) {
        out.push(fieldInvalid('spec.maxSize', max, `must be greater than or equal to minSize (${min})`));
      } else if (min !== undefined && max !== undefined && desired !== undefined && (desired < min || desired > max)) {
        out.push(fieldInvalid('spec.desiredCapacity', desired, `must be between minSize (${min}) and maxSize (${max})`));
      }
      const lt = spec.launchTemplate;
      if (!isObject(lt)) {
        out.push(fieldRequired('spec.launchTemplate'));
      } else {
        out.push(...validateInstanceType(lt.instanceType, 'spec.launchTemplate.instanceType', o.catalog));
        out.push(...validateNodeLabels(lt.nodeLabels, 'spec.launchTemplate.nodeLabels'));
        out.push(...validateTaints(lt.nodeTaints, 'spec.launchTemplate.nodeTaints'));
        if (lt.containerRuntime !== undefined && !(RUNTIME_NAMES as readonly unknown[]).includes(lt.containerRuntime)) out.push(fieldNotSupported('spec.launchTemplate.containerRuntime', lt.containerRuntime, [...RUNTIME_NAMES]));
      }
      out.push(...mixedInstancesPolicyErrors(spec.mixedInstancesPolicy, o.catalog));
      out.push(...groupBehaviourErrors(spec));
      const az = spec.availabilityZones;
      if (az === undefined || az === null || (Array.isArray(az) && az.length === 0)) {
        out.push(fieldRequired('spec.availabilityZones', 'at least one Availability Zone'));
      } else if (!Array.isArray(az)) {
        out.push(fieldInvalid('spec.availabilityZones', az, 'must be a list of Availability Zones'));
      } else {
        const seen = new Set<unknown>();
        az.forEach((z: unknown, i) => {
          out.push(...validateZone(z, `spec.availabilityZones[${i}]`, zones));
          if (seen.has(z)) out.push(fieldDuplicate(`spec.availabilityZones[${i}]`, z));
          seen.add(z);
        });
      }
      return out;
    },
  };
}

/** Errors of a group's health-check, cooldown, warmup, termination and protection settings (CreateAutoScalingGroup's ranges). */
export function groupBehaviourErrors(spec: Partial<AutoScalingGroup['spec']>): FieldError[] {
  const out: FieldError[] = [];
  for (const f of ['healthCheckGracePeriod', 'defaultCooldown', 'defaultInstanceWarmup'] as const) {
    const v = spec[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2147483647) out.push(fieldInvalid(`spec.${f}`, v, 'must be a whole number of seconds from 0 to 2147483647'));
  }
  if (spec.healthCheckType !== undefined && spec.healthCheckType !== null) out.push(...enumErrors(spec.healthCheckType, 'spec.healthCheckType', HEALTH_CHECK_TYPES));
  const tgs = spec.targetGroups as unknown;
  if (tgs !== undefined && tgs !== null) {
    if (!Array.isArray(tgs)) out.push(fieldInvalid('spec.targetGroups', tgs, 'must be a list of {name, namespace} TargetGroup references'));
    else {
      const seen = new Set<string>();
      tgs.forEach((r: unknown, i) => {
        const path = `spec.targetGroups[${i}]`;
        if (!isObject(r) || typeof r.name !== 'string' || !r.name) return void out.push(fieldRequired(`${path}.name`, 'the TargetGroup the instances are registered with'));
        if (r.namespace !== undefined && (typeof r.namespace !== 'string' || !r.namespace)) out.push(fieldInvalid(`${path}.namespace`, r.namespace, 'must be a namespace name'));
        const key = `${(r.namespace as string | undefined) ?? 'default'}/${r.name}`;
        if (seen.has(key)) out.push(fieldDuplicate(path, key));
        seen.add(key);
      });
    }
  }
  const tp = spec.terminationPolicies as unknown;
  if (tp !== undefined && tp !== null) {
    if (!Array.isArray(tp)) out.push(fieldInvalid('spec.terminationPolicies', tp, `must be a list of ${TERMINATION_POLICIES.join(', ')}`));
    else tp.forEach((p: unknown, i) => out.push(...enumErrors(p, `spec.terminationPolicies[${i}]`, TERMINATION_POLICIES)));
  }
  const tags = spec.tags as unknown;
  if (tags !== undefined && tags !== null) {
    if (!isObject(tags)) out.push(fieldInvalid('spec.tags', tags, 'must be a map of tag keys to values'));
    else
      for (const [k, v] of Object.entries(tags)) {
        // EC2 Auto Scaling's Tag: Key 1–128, Value 0–256, and the aws: prefix is reserved.
        if (k.length < 1 || k.length > 128) out.push(fieldInvalid(`spec.tags[${k}]`, k, 'a tag key must be 1 to 128 characters'));
        else if (k.toLowerCase().startsWith('aws:')) out.push(fieldInvalid(`spec.tags[${k}]`, k, 'tag keys starting with "aws:" are reserved for AWS'));
        if (typeof v !== 'string' || v.length > 256) out.push(fieldInvalid(`spec.tags[${k}]`, v, 'a tag value must be a string of at most 256 characters'));
      }
  }
  for (const f of ['newInstancesProtectedFromScaleIn', 'capacityRebalance'] as const) {
    const v = spec[f];
    if (v !== undefined && v !== null && typeof v !== 'boolean') out.push(fieldInvalid(`spec.${f}`, v, 'must be true or false'));
  }
  return out;
}

/** The longest Auto Scaling group name berth accepts: a Kubernetes label value's limit (see autoScalingGroupNameErrors). */
export const MAX_GROUP_NAME_LENGTH = 63;

/**
 * Errors of an Auto Scaling group's name beyond the object-name rules. EC2 Auto Scaling allows
 * 1–255 characters, ASCII 33–126, no colon (CreateAutoScalingGroup, `AutoScalingGroupName`).
 * berth copies the name into the label `autoscaling.berth.dev/group-name` of every instance and
 * Node of the group, and a Kubernetes label value is at most 63 characters, so a longer name
 * would make every launch fail: it is refused here, at once, with the reason.
 */
export function autoScalingGroupNameErrors(name: unknown): FieldError[] {
  if (typeof name !== 'string' || name === '') return [];
  const out: FieldError[] = [];
  if (name.length > MAX_GROUP_NAME_LENGTH) {
    out.push(
      fieldInvalid(
        'metadata.name',
        name,
        `must be no more than ${MAX_GROUP_NAME_LENGTH} characters (it is ${name.length}): berth puts the group name in the label ${GROUP_NAME_LABEL} on each of its instances and Nodes, and a label value is at most ${MAX_GROUP_NAME_LENGTH} characters (EC2 Auto Scaling itself allows 255)`,
      ),
    );
  } else {
    for (const e of labelValueErrors(name)) out.push(fieldInvalid('metadata.name', name, `must be a valid label value, as it becomes the value of ${GROUP_NAME_LABEL}: ${e}`));
  }
  return out;
}

/** Errors of an Instance's purchase and placement fields (market options, tenancy, host). */
export function instancePlacementErrors(spec: Partial<Instance['spec']>): FieldError[] {
  const out: FieldError[] = [];
  const m = spec.instanceMarketOptions;
  if (m !== undefined && m !== null) {
    if (!isObject(m)) out.push(fieldInvalid('spec.instanceMarketOptions', m, 'must be {marketType: spot, spotOptions: {…}}'));
    else {
      if (m.marketType !== 'spot') out.push(fieldNotSupported('spec.instanceMarketOptions.marketType', m.marketType, ['spot']));
      const so = m.spotOptions;
      if (so !== undefined && so !== null) {
        if (!isObject(so)) out.push(fieldInvalid('spec.instanceMarketOptions.spotOptions', so, 'must be {maxPrice, instanceInterruptionBehavior}'));
        else {
          if (so.maxPrice !== undefined && !(typeof so.maxPrice === 'string' && /^\d+(\.\d+)?$/.test(so.maxPrice) && Number(so.maxPrice) > 0.001)) {
            out.push(fieldInvalid('spec.instanceMarketOptions.spotOptions.maxPrice', so.maxPrice, 'must be a price in USD per hour written as a decimal string greater than 0.001 ("0.05")'));
          }
          if (so.instanceInterruptionBehavior !== undefined && !['terminate', 'stop'].includes(so.instanceInterruptionBehavior as string)) {
            out.push(fieldNotSupported('spec.instanceMarketOptions.spotOptions.instanceInterruptionBehavior', so.instanceInterruptionBehavior, ['terminate', 'stop']));
          }
        }
      }
    }
  }
  const tenancy = spec.tenancy ?? 'default';
  if (!TENANCIES.includes(tenancy)) out.push(fieldNotSupported('spec.tenancy', spec.tenancy, [...TENANCIES]));
  if (tenancy !== 'default' && m) out.push(fieldForbidden('spec.tenancy', `Spot Instances run with default tenancy in berth (got ${tenancy})`));
  if (spec.hostId !== undefined) {
    if (typeof spec.hostId !== 'string' || !HOST_ID_RE.test(spec.hostId)) out.push(fieldInvalid('spec.hostId', spec.hostId, 'must be a host id: "h-" followed by 17 lowercase hexadecimal digits'));
    if (tenancy !== 'host') out.push(fieldForbidden('spec.hostId', 'a host id needs tenancy host'));
  }
  if (spec.affinity !== undefined) {
    if (!['default', 'host'].includes(spec.affinity)) out.push(fieldNotSupported('spec.affinity', spec.affinity, ['default', 'host']));
    if (tenancy !== 'host') out.push(fieldForbidden('spec.affinity', 'affinity needs tenancy host'));
  }
  return out;
}

/** Errors of a change to an Instance's purchase and placement fields. */
export function instancePlacementUpdateErrors(obj: Instance, old: Instance): FieldError[] {
  const out: FieldError[] = [];
  if (!deepEqual(obj.spec.instanceMarketOptions, old.spec.instanceMarketOptions)) out.push(fieldInvalid('spec.instanceMarketOptions', obj.spec.instanceMarketOptions ?? null, 'field is immutable'));
  if ((obj.spec.tenancy ?? 'default') !== (old.spec.tenancy ?? 'default')) out.push(fieldInvalid('spec.tenancy', obj.spec.tenancy ?? 'default', 'field is immutable'));
  if (obj.spec.hostId !== old.spec.hostId) out.push(fieldInvalid('spec.hostId', obj.spec.hostId ?? null, 'field is immutable'));
  // EC2 cannot stop a Spot Instance of a one-time request (RunInstances makes one-time requests).
  if (old.spec.instanceMarketOptions?.marketType === 'spot' && obj.spec.state === 'stopped' && old.spec.state !== 'stopped') {
    out.push(fieldForbidden('spec.state', `You can't stop the Spot Instance '${obj.metadata.name}' because it is associated with a one-time Spot Instance request. You can only stop Spot Instances associated with persistent Spot Instance requests.`));
  }
  return out;
}

/** Whether an RFC 3339 time field is well formed. */
function timeErrors(v: unknown, path: string): FieldError[] {
  if (v === undefined || v === null) return [];
  if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) return [fieldInvalid(path, v, 'must be an RFC 3339 time ("2026-01-01T00:00:00Z")')];
  return [];
}

function enumErrors(v: unknown, path: string, allowed: readonly string[]): FieldError[] {
  return v === undefined || v === null || allowed.includes(v as string) ? [] : [fieldNotSupported(path, v, [...allowed])];
}

/** Hooks shared by the billing kinds and hosts: their spec cannot change after creation. */
function immutableSpec(obj: KubeObject, old: KubeObject | undefined): FieldError[] {
  return old && !deepEqual(obj.spec, old.spec) ? [fieldForbidden('spec', 'field is immutable after creation (EC2 does not modify purchases in place)')] : [];
}

/**
 * ReservedInstance hooks: defaults (Region scope, standard, No Upfront, 1yr, default tenancy,
 * start now) and validation against the catalogue; the spec is immutable.
 */
export function reservedInstanceHooks(o: HookOptions & { now: () => number }): KindHooks {
  const zones = regionZones(o.region);
  return {
    default(obj) {
      const s = obj.spec;
      if (!isObject(s)) return;
      s.scope ??= 'Region';
      s.offeringClass ??= 'standard';
      s.offeringType ??= 'No Upfront';
      s.term ??= '1yr';
      s.instanceTenancy ??= 'default';
      if (obj.metadata.resourceVersion === undefined) s.start ??= new Date(o.now()).toISOString();
    },
    validate(obj, old) {
      const out = validateObjectMeta(obj.metadata, false);
      if (!isObject(obj.spec)) return [...out, fieldRequired('spec')];
      const s = obj.spec as Partial<ReservedInstanceSpec>;
      out.push(...validateInstanceType(s.instanceType, 'spec.instanceType', o.catalog));
      if (!(typeof s.instanceCount === 'number' && Number.isInteger(s.instanceCount) && s.instanceCount > 0)) out.push(fieldInvalid('spec.instanceCount', s.instanceCount ?? null, 'must be a positive integer'));
      out.push(...enumErrors(s.scope, 'spec.scope', ['Region', 'Availability Zone']));
      if (s.scope === 'Availability Zone') out.push(...validateZone(s.availabilityZone, 'spec.availabilityZone', zones));
      else if (s.availabilityZone !== undefined) out.push(fieldForbidden('spec.availabilityZone', 'only a zonal reservation (scope "Availability Zone") has a zone'));
      out.push(...enumErrors(s.offeringClass, 'spec.offeringClass', OFFERING_CLASSES));
      out.push(...enumErrors(s.offeringType, 'spec.offeringType', PAYMENT_OPTIONS));
      out.push(...enumErrors(s.term, 'spec.term', RESERVED_TERMS));
      out.push(...enumErrors(s.instanceTenancy, 'spec.instanceTenancy', ['default', 'dedicated']));
      out.push(...timeErrors(s.start, 'spec.start'));
      out.push(...immutableSpec(obj, old));
      return out;
    },
  };
}

/** SavingsPlan hooks: defaults (1yr, No Upfront, us-east-1, start now) and validation; the spec is immutable. */
export function savingsPlanHooks(o: HookOptions & { now: () => number }): KindHooks {
  return {
    default(obj) {
      const s = obj.spec;
      if (!isObject(s)) return;
      s.term ??= '1yr';
      s.paymentOption ??= 'No Upfront';
      s.region ??= o.region;
      if (obj.metadata.resourceVersion === undefined) s.start ??= new Date(o.now()).toISOString();
    },
    validate(obj, old) {
      const out = validateObjectMeta(obj.metadata, false);
      if (!isObject(obj.spec)) return [...out, fieldRequired('spec')];
      const s = obj.spec as Partial<SavingsPlanSpec>;
      if (s.savingsPlanType === undefined) out.push(fieldRequired('spec.savingsPlanType'));
      else out.push(...enumErrors(s.savingsPlanType, 'spec.savingsPlanType', SAVINGS_PLAN_TYPES));
      const c = typeof s.commitment === 'string' && /^\d+(\.\d+)?$/.test(s.commitment) ? Number(s.commitment) : s.commitment;
      if (s.commitment === undefined) out.push(fieldRequired('spec.commitment', 'USD per hour'));
      else if (!(typeof c === 'number' && Number.isFinite(c) && c >= 0.001)) out.push(fieldInvalid('spec.commitment', s.commitment, 'must be USD per hour of at least 0.001, a number or a decimal string ("0.05")'));
      out.push(...enumErrors(s.term, 'spec.term', RESERVED_TERMS));
      out.push(...enumErrors(s.paymentOption, 'spec.paymentOption', PAYMENT_OPTIONS));
      if (s.savingsPlanType === 'EC2Instance') {
        if (!s.ec2InstanceFamily) out.push(fieldRequired('spec.ec2InstanceFamily', 'an EC2 Instance Savings Plan covers one family'));
        else if (!o.catalog.families().includes(s.ec2InstanceFamily)) out.push(fieldNotSupported('spec.ec2InstanceFamily', s.ec2InstanceFamily, o.catalog.families()));
      } else if (s.ec2InstanceFamily !== undefined) out.push(fieldForbidden('spec.ec2InstanceFamily', 'only EC2Instance plans are tied to a family'));
      out.push(...enumErrors(s.region, 'spec.region', [o.region]));
      out.push(...timeErrors(s.start, 'spec.start'));
      out.push(...immutableSpec(obj, old));
      return out;
    },
  };
}

/** A new host id: `h-0` and 16 hex digits. */
export function newHostId(random: () => number): string {
  return `h-${newInstanceId(random).slice(2)}`;
}

/** DedicatedHost hooks: `generateName: h-` gives a host id; a family or a type of the catalogue, a zone; immutable spec. */
export function dedicatedHostHooks(o: HookOptions): KindHooks {
  const zones = regionZones(o.region);
  return {
    default(obj) {
      const m = obj.metadata;
      if (m.resourceVersion === undefined && m.generateName === 'h-' && !HOST_ID_RE.test(m.name ?? '')) m.name = newHostId(o.random);
      if (isObject(obj.spec)) obj.spec.autoPlacement ??= 'off';
    },
    validate(obj, old) {
      const out = validateObjectMeta(obj.metadata, false).filter((e) => e.field !== 'metadata.name');
      const name = obj.metadata.name ?? '';
      if (!name) out.push(fieldRequired('metadata.name', 'name or generateName is required'));
      else if (!HOST_ID_RE.test(name)) out.push(fieldInvalid('metadata.name', name, 'must be a host id: "h-" followed by 17 lowercase hexadecimal digits (create with generateName: h- to get one)'));
      if (!isObject(obj.spec)) return [...out, fieldRequired('spec')];
      const s = obj.spec as Partial<DedicatedHostSpec>;
      if ((s.instanceFamily === undefined) === (s.instanceType === undefined)) out.push(fieldRequired('spec.instanceFamily', 'give exactly one of instanceFamily and instanceType'));
      if (s.instanceFamily !== undefined && !o.catalog.families().includes(s.instanceFamily)) out.push(fieldNotSupported('spec.instanceFamily', s.instanceFamily, o.catalog.families()));
      if (s.instanceType !== undefined) out.push(...validateInstanceType(s.instanceType, 'spec.instanceType', o.catalog));
      out.push(...validateZone(s.availabilityZone, 'spec.availabilityZone', zones));
      out.push(...enumErrors(s.autoPlacement, 'spec.autoPlacement', ['on', 'off']));
      const was = (old?.spec ?? {}) as Partial<DedicatedHostSpec>;
      if (old && (s.instanceFamily !== was.instanceFamily || s.instanceType !== was.instanceType || s.availabilityZone !== was.availabilityZone)) {
        out.push(fieldForbidden('spec', 'the family, type and zone of a host are fixed when it is allocated'));
      }
      return out;
    },
  };
}

/** UsageRecord hooks: a record's facts never change; only its end may be written, once. */
export function usageRecordHooks(): KindHooks {
  return {
    validate(obj, old) {
      if (!old) return [];
      const a = { ...(obj.spec as object) } as Record<string, unknown>;
      const b = { ...(old.spec as object) } as Record<string, unknown>;
      const wasOpen = b.endMs === undefined;
      for (const k of ['endMs', 'end', 'endReason']) {
        if (wasOpen) delete a[k];
        if (wasOpen) delete b[k];
      }
      return deepEqual(a, b) ? [] : [fieldForbidden('spec', 'a usage record is the ledger: only its end may be written, once')];
    },
  };
}

/** Errors of an Auto Scaling group's mixed instances policy. */
export function mixedInstancesPolicyErrors(p: unknown, cat: Catalog): FieldError[] {
  if (p === undefined || p === null) return [];
  const path = 'spec.mixedInstancesPolicy';
  if (!isObject(p)) return [fieldInvalid(path, p, 'must be {launchTemplate: {overrides}, instancesDistribution}')];
  const out: FieldError[] = [];
  const lt = p.launchTemplate;
  if (lt !== undefined && lt !== null) {
    const ov = isObject(lt) ? lt.overrides : undefined;
    if (ov !== undefined && !Array.isArray(ov)) out.push(fieldInvalid(`${path}.launchTemplate.overrides`, ov, 'must be a list of {instanceType}'));
    else if (Array.isArray(ov)) {
      if (ov.length > 40) out.push(fieldInvalid(`${path}.launchTemplate.overrides`, ov.length, 'at most 40 overrides'));
      const seen = new Set<unknown>();
      ov.forEach((x: unknown, i) => {
        const t = isObject(x) ? x.instanceType : undefined;
        out.push(...validateInstanceType(t, `${path}.launchTemplate.overrides[${i}].instanceType`, cat));
        if (seen.has(t)) out.push(fieldDuplicate(`${path}.launchTemplate.overrides[${i}].instanceType`, t));
        seen.add(t);
      });
    }
  }
  const d = p.instancesDistribution;
  if (d !== undefined && d !== null) {
    if (!isObject(d)) return [...out, fieldInvalid(`${path}.instancesDistribution`, d, 'must be an object')];
    const dp = `${path}.instancesDistribution`;
    out.push(...enumErrors(d.onDemandAllocationStrategy, `${dp}.onDemandAllocationStrategy`, ON_DEMAND_ALLOCATION_STRATEGIES));
    out.push(...enumErrors(d.spotAllocationStrategy, `${dp}.spotAllocationStrategy`, SPOT_ALLOCATION_STRATEGIES));
    const int = (v: unknown, field: string, min: number, max: number): void => {
      if (v === undefined || v === null) return;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) out.push(fieldInvalid(`${dp}.${field}`, v, `must be an integer from ${min} to ${max}`));
    };
    int(d.onDemandBaseCapacity, 'onDemandBaseCapacity', 0, 100_000);
    int(d.onDemandPercentageAboveBaseCapacity, 'onDemandPercentageAboveBaseCapacity', 0, 100);
    int(d.spotInstancePools, 'spotInstancePools', 1, 20);
    if (d.spotMaxPrice !== undefined && !(typeof d.spotMaxPrice === 'string' && /^\d+(\.\d+)?$/.test(d.spotMaxPrice))) out.push(fieldInvalid(`${dp}.spotMaxPrice`, d.spotMaxPrice, 'must be a price in USD per hour written as a decimal string ("0.05")'));
  }
  return out;
}

/** Fleet hooks: EC2 CreateFleet's rules for the fields berth simulates. */
export function fleetHooks(o: HookOptions): KindHooks {
  const zones = regionZones(o.region);
  return {
    default(obj) {
      if (isObject(obj.spec)) obj.spec.type ??= 'maintain';
    },
    validate(obj, old) {
      const out = validateObjectMeta(obj.metadata, false);
      if (!isObject(obj.spec)) return [...out, fieldRequired('spec')];
      const s = obj.spec as Record<string, unknown>;
      out.push(...enumErrors(s.type, 'spec.type', ['maintain', 'instant']));
      const ov = s.overrides;
      if (!Array.isArray(ov) || !ov.length) out.push(fieldRequired('spec.overrides', 'at least one {instanceType}'));
      else ov.forEach((x: unknown, i) => out.push(...validateInstanceType(isObject(x) ? x.instanceType : undefined, `spec.overrides[${i}].instanceType`, o.catalog)));
      const az = s.availabilityZones;
      if (!Array.isArray(az) || !az.length) out.push(fieldRequired('spec.availabilityZones', 'at least one Availability Zone'));
      else az.forEach((z: unknown, i) => out.push(...validateZone(z, `spec.availabilityZones[${i}]`, zones)));
      const t = s.targetCapacitySpecification;
      if (!isObject(t)) out.push(fieldRequired('spec.targetCapacitySpecification'));
      else {
        const total = t.totalTargetCapacity;
        if (!(typeof total === 'number' && Number.isInteger(total) && total >= 0 && total <= 1000)) out.push(fieldInvalid('spec.targetCapacitySpecification.totalTargetCapacity', total ?? null, 'must be a whole number from 0 to 1000'));
        const od = t.onDemandTargetCapacity;
        if (od !== undefined && !(typeof od === 'number' && Number.isInteger(od) && od >= 0 && (typeof total !== 'number' || od <= total))) {
          out.push(fieldInvalid('spec.targetCapacitySpecification.onDemandTargetCapacity', od, 'must be a whole number from 0 to totalTargetCapacity'));
        }
      }
      const so = s.spotOptions;
      if (isObject(so)) {
        out.push(...enumErrors(so.allocationStrategy, 'spec.spotOptions.allocationStrategy', SPOT_ALLOCATION_STRATEGIES));
        if (so.instancePoolsToUseCount !== undefined && !(Number.isInteger(so.instancePoolsToUseCount) && (so.instancePoolsToUseCount as number) >= 1 && (so.instancePoolsToUseCount as number) <= 20)) {
          out.push(fieldInvalid('spec.spotOptions.instancePoolsToUseCount', so.instancePoolsToUseCount, 'must be a whole number from 1 to 20'));
        }
        if (so.maxPrice !== undefined && !(typeof so.maxPrice === 'string' && /^\d+(\.\d+)?$/.test(so.maxPrice))) out.push(fieldInvalid('spec.spotOptions.maxPrice', so.maxPrice, 'must be a price in USD per hour written as a decimal string ("0.05")'));
      }
      const odo = s.onDemandOptions;
      if (isObject(odo)) out.push(...enumErrors(odo.allocationStrategy, 'spec.onDemandOptions.allocationStrategy', ON_DEMAND_ALLOCATION_STRATEGIES));
      out.push(...validateNodeLabels(s.nodeLabels, 'spec.nodeLabels'));
      out.push(...validateTaints(s.nodeTaints, 'spec.nodeTaints'));
      if (old && (old.spec as Record<string, unknown> | undefined)?.type !== s.type) out.push(fieldInvalid('spec.type', s.type, 'field is immutable'));
      return out;
    },
  };
}
