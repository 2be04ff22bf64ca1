/**
 * Defaulting and validation of the simulated account's kinds, as KindHooks: every bad input is a
 * 422 Invalid with Kubernetes-style field causes
 * (`spec.desiredCapacity: Invalid value: 12: must be between minSize (1) and maxSize (10)`).
 * The rules are EC2's and EC2 Auto Scaling's where they have one (noted beside each).
 */
import { fieldDuplicate, fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../api/errors.js';
import type { KindHooks } from '../api/hooks.js';
import { isObject } from '../api/meta.js';
import type { KubeObject } from '../api/types.js';
import { labelValueErrors, qualifiedNameErrors, validateLabels, validateObjectMeta } from '../api/validation.js';
import type { Catalog } from './catalog.js';
import { regionZones, type Region } from './network.js';
import { DESIRED_STATES, INSTANCE_ID_RE, newInstanceId, type AutoScalingGroup, type Instance } from './types.js';

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
      if (old && isObject(old.spec)) out.push(...instanceUpdateErrors(obj as Instance, old as Instance));
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
      const out = validateObjectMeta(obj.metadata, false);
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
      }
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
