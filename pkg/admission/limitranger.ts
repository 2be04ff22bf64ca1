/**
 * LimitRanger admission (https://kubernetes.io/docs/concepts/policy/limit-range/ and
 * plugin/pkg/admission/limitranger): in a namespace with LimitRanges,
 *
 * - a new pod's containers (and init containers) that state no limit or request of a resource get
 *   the `default` limit and `defaultRequest` of every `Container` limit, and the pod is annotated
 *   `kubernetes.io/limit-ranger: LimitRanger plugin set: cpu request for container nginx; …`;
 * - then every container must fall within `min` (its request) and `max` (its limit), and within
 *   `maxLimitRequestRatio`; a `Pod` limit applies the same to the sums over its containers, a
 *   `PersistentVolumeClaim` limit to a claim's storage request. A violation is 403 Forbidden with
 *   Kubernetes's wording, e.g. `pods "web" is forbidden: maximum cpu usage per Container is 1, but limit is 2`.
 *
 * LimitRange objects are defaulted as the API server does (SetDefaults_LimitRangeItem): a `max`
 * becomes the `default` limit when none is given, a `default` limit the `defaultRequest`, and a
 * `min` the `defaultRequest`.
 */
import { qosClass } from '../api/defaults.js';
import { forbidden, fieldInvalid, type FieldError } from '../api/errors.js';
import { formatAmount, isQuantity, QUANTITY_FORMAT_ERROR, resourceAmount } from '../api/quantity.js';
import type { ResourceInfo } from '../api/resources.js';
import type { Container, KubeObject, Pod, ResourceList } from '../api/types.js';
import { validateObjectMeta } from '../api/validation.js';
import type { AdmissionPlugin, AdmissionRequest, ObjectStore } from '../apiserver/store.js';
import type { LimitRange, LimitRangeItem } from '../controllers/types.js';
import { podAmounts } from './usage.js';

export const LIMIT_RANGER_ANNOTATION = 'kubernetes.io/limit-ranger';

/** LimitRange defaulting, in place (SetDefaults_LimitRangeItem for `Container` items). */
export function defaultLimitRange(obj: KubeObject): void {
  const spec = obj.spec as LimitRange['spec'] | undefined;
  for (const item of spec?.limits ?? []) {
    if (item.type !== 'Container') continue;
    item.default ??= {};
    item.defaultRequest ??= {};
    for (const [k, v] of Object.entries(item.max ?? {})) item.default[k] ??= v;
    for (const [k, v] of Object.entries(item.default)) item.defaultRequest[k] ??= v;
    for (const [k, v] of Object.entries(item.min ?? {})) item.defaultRequest[k] ??= v;
  }
}

/** LimitRange validation: known types and quantities that parse. */
export function validateLimitRange(obj: KubeObject): FieldError[] {
  const out = validateObjectMeta(obj.metadata, true);
  const limits = (obj.spec as LimitRange['spec'] | undefined)?.limits ?? [];
  limits.forEach((item, i) => {
    if (!['Container', 'Pod', 'PersistentVolumeClaim'].includes(item.type)) {
      out.push({ type: 'FieldValueNotSupported', field: `spec.limits[${i}].type`, detail: `Unsupported value: ${JSON.stringify(item.type)}: supported values: "Container", "Pod", "PersistentVolumeClaim"` });
    }
    for (const f of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'] as const) {
      for (const [k, v] of Object.entries(item[f] ?? {})) if (!isQuantity(v)) out.push(fieldInvalid(`spec.limits[${i}].${f}[${k}]`, v, QUANTITY_FORMAT_ERROR));
    }
  });
  return out;
}

const fmt = (name: string, amount: number): string => formatAmount(name === 'cpu' ? 'cpu' : name === 'memory' || name === 'ephemeral-storage' || name === 'storage' ? 'memory' : name, amount);

/** Applies a Container item's defaults to one container; returns what was set (`cpu request`). */
function defaultContainer(c: Container, item: LimitRangeItem): string[] {
  const set: string[] = [];
  const res = (c.resources ??= {});
  for (const [k, v] of Object.entries(item.default ?? {})) {
    if (res.limits?.[k] === undefined) {
      (res.limits ??= {})[k] = v;
      set.push(`${k} limit`);
    }
  }
  for (const [k, v] of Object.entries(item.defaultRequest ?? {})) {
    if (res.requests?.[k] === undefined) {
      (res.requests ??= {})[k] = v;
      set.push(`${k} request`);
    }
  }
  return set;
}

/** The min/max/ratio violations of requests and limits (given as integer amounts) against one item. */
export function violations(kind: string, item: LimitRangeItem, requests: Map<string, number>, limits: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(item.min ?? {})) {
    const min = resourceAmount(k, v);
    const req = requests.get(k);
    const lim = limits.get(k);
    if (req === undefined) out.push(`minimum ${k} usage per ${kind} is ${fmt(k, min)}.  No request is specified`);
    else if (req < min) out.push(`minimum ${k} usage per ${kind} is ${fmt(k, min)}, but request is ${fmt(k, req)}`);
    if (lim !== undefined && lim < min) out.push(`minimum ${k} usage per ${kind} is ${fmt(k, min)}, but limit is ${fmt(k, lim)}`);
  }
  for (const [k, v] of Object.entries(item.max ?? {})) {
    const max = resourceAmount(k, v);
    const lim = limits.get(k);
    if (lim === undefined) out.push(`maximum ${k} usage per ${kind} is ${fmt(k, max)}.  No limit is specified`);
    else if (lim > max) out.push(`maximum ${k} usage per ${kind} is ${fmt(k, max)}, but limit is ${fmt(k, lim)}`);
  }
  for (const [k, v] of Object.entries(item.maxLimitRequestRatio ?? {})) {
    const ratio = resourceAmount('ratio', v);
    const req = requests.get(k);
    const lim = limits.get(k);
    if (req === undefined || lim === undefined) continue;
    const actual = req === 0 ? Infinity : lim / req;
    if (actual > ratio) out.push(`${k} max limit to request ratio per ${kind} is ${v}, but provided ratio is ${actual.toFixed(6)}`);
  }
  return out;
}

function amounts(list: ResourceList | undefined): Map<string, number> {
  return new Map(Object.entries(list ?? {}).map(([k, v]) => [k, resourceAmount(k, v)]));
}

export class LimitRangerAdmission implements AdmissionPlugin {
  readonly name = 'LimitRanger';

  constructor(private readonly store: ObjectStore) {}

  private get info(): ResourceInfo {
    return this.store.registry.get('', 'v1', 'limitranges')!;
  }

  private async ranges(req: AdmissionRequest): Promise<LimitRange[]> {
    return (await req.store.cachedList(this.info, req.namespace)) as LimitRange[];
  }

  private applies(req: AdmissionRequest): boolean {
    if (req.operation !== 'CREATE' || !req.namespace || !req.object || req.subresource) return false;
    return req.resource.group === '' && (req.resource.kind === 'Pod' || req.resource.kind === 'PersistentVolumeClaim');
  }

  async admit(req: AdmissionRequest): Promise<void> {
    if (!this.applies(req) || req.resource.kind !== 'Pod') return;
    const pod = req.object as Pod;
    const set: string[] = [];
    for (const lr of await this.ranges(req)) {
      for (const item of lr.spec?.limits ?? []) {
        if (item.type !== 'Container') continue;
        for (const c of [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])]) {
          for (const what of defaultContainer(c, item)) set.push(`${what} for ${(pod.spec.initContainers ?? []).includes(c) ? 'init container' : 'container'} ${c.name}`);
        }
      }
    }
    if (!set.length) return;
    pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${set.join('; ')}` };
    // The QoS class follows the resources as admitted (Kubernetes computes it after mutating admission).
    pod.status = { ...(pod.status ?? {}), qosClass: qosClass(pod.spec) };
  }

  async validate(req: AdmissionRequest): Promise<void> {
    if (!this.applies(req)) return;
    const errors: string[] = [];
    for (const lr of await this.ranges(req)) {
      for (const item of lr.spec?.limits ?? []) {
        if (req.resource.kind === 'Pod') {
          const pod = req.object as Pod;
          if (item.type === 'Container') {
            for (const c of [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])]) {
              errors.push(...violations('Container', item, amounts(c.resources?.requests), amounts(c.resources?.limits)));
            }
          } else if (item.type === 'Pod') {
            errors.push(...violations('Pod', item, podAmounts(pod, 'requests'), podAmounts(pod, 'limits')));
          }
        } else if (item.type === 'PersistentVolumeClaim') {
          const requests = amounts((req.object!.spec as { resources?: { requests?: ResourceList } } | undefined)?.resources?.requests);
          const claimLimits = amounts((req.object!.spec as { resources?: { limits?: ResourceList } } | undefined)?.resources?.limits);
          for (const [k, v] of Object.entries(item.min ?? {})) {
            const r = requests.get(k);
            if (r === undefined) errors.push(`minimum ${k} usage per PersistentVolumeClaim is ${fmt(k, resourceAmount(k, v))}.  No request is specified`);
            else if (r < resourceAmount(k, v)) errors.push(`minimum ${k} usage per PersistentVolumeClaim is ${fmt(k, resourceAmount(k, v))}, but request is ${fmt(k, r)}`);
          }
          for (const [k, v] of Object.entries(item.max ?? {})) {
            const r = requests.get(k) ?? claimLimits.get(k);
            if (r !== undefined && r > resourceAmount(k, v)) errors.push(`maximum ${k} usage per PersistentVolumeClaim is ${fmt(k, resourceAmount(k, v))}, but request is ${fmt(k, r)}`);
          }
        }
      }
    }
    if (errors.length) throw forbidden(req.resource.resource, req.name, errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`);
  }
}
