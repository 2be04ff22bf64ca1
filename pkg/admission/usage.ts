/**
 * What an object uses of a ResourceQuota (the quota evaluators of pkg/quota/v1/evaluator/core;
 * https://kubernetes.io/docs/concepts/policy/resource-quotas/). Amounts are integers: cpu in
 * millicores, memory and storage in bytes, counts as counts.
 *
 * - Pods (unless Succeeded or Failed, or deleted and past their grace period): `pods`,
 *   `count/pods`, `requests.cpu` (also `cpu`), `requests.memory` (also `memory`),
 *   `requests.ephemeral-storage` (also `ephemeral-storage`), `limits.*`, and `requests.<name>` for
 *   extended resources. A pod's amount of a resource is the larger of the sum over its app
 *   containers (plus sidecars) and the largest init container, plus `overhead`; pod-level
 *   `resources` win when set.
 * - Services: `services`, `services.loadbalancers`, `services.nodeports`.
 * - PersistentVolumeClaims: `persistentvolumeclaims`, `requests.storage`, and per storage class
 *   `<class>.storageclass.storage.k8s.io/requests.storage` and `…/persistentvolumeclaims`.
 * - ConfigMaps, Secrets, ReplicationControllers, ResourceQuotas: their plain counts.
 * - Every kind: `count/<resource>.<group>` (`count/deployments.apps`, `count/pods`).
 */
import { formatAmount, resourceAmount } from '../api/quantity.js';
import type { ResourceInfo } from '../api/resources.js';
import type { Container, KubeObject, Pod, ResourceList } from '../api/types.js';
import { parseTime } from '../clock/clock.js';

export type Usage = Map<string, number>;

/** The unit family of a quota resource name: `requests.cpu`, `limits.cpu` and `cpu` are millicores. */
export function baseResource(name: string): string {
  if (name.startsWith('requests.') || name.startsWith('limits.')) return name.slice(name.indexOf('.') + 1);
  const j = name.indexOf('/requests.');
  return j >= 0 ? name.slice(j + '/requests.'.length) : name;
}

/** A quota quantity as an integer of its unit family. Throws QuantityError. */
export function amountOf(name: string, q: string | number): number {
  return resourceAmount(baseResource(name) === 'cpu' ? 'cpu' : 'other', q);
}

/** An amount printed as Kubernetes prints quantities (`500m`, `2`, `1Gi`). */
export function formatQuota(name: string, amount: number): string {
  const base = baseResource(name);
  if (base === 'cpu') return formatAmount('cpu', amount);
  if (base === 'memory' || base === 'ephemeral-storage' || base === 'storage' || base.startsWith('hugepages-')) return formatAmount('memory', amount);
  return String(amount);
}

function addList(into: Map<string, number>, list: ResourceList | undefined): void {
  for (const [k, v] of Object.entries(list ?? {})) into.set(k, (into.get(k) ?? 0) + resourceAmount(k, v));
}

function maxList(into: Map<string, number>, list: ResourceList | undefined): void {
  for (const [k, v] of Object.entries(list ?? {})) into.set(k, Math.max(into.get(k) ?? 0, resourceAmount(k, v)));
}

/** A pod's effective requests or limits per resource (PodRequests / PodLimits in resourcehelper). */
export function podAmounts(pod: Pod, which: 'requests' | 'limits'): Map<string, number> {
  const podLevel = pod.spec.resources?.[which];
  const out = new Map<string, number>();
  const containers = pod.spec.containers ?? [];
  const inits = pod.spec.initContainers ?? [];
  const sidecars = inits.filter((c) => c.restartPolicy === 'Always');
  for (const c of [...containers, ...sidecars]) addList(out, c.resources?.[which]);
  // A regular init container runs alone (with the sidecars started before it).
  const initMax = new Map<string, number>();
  const running = new Map<string, number>();
  for (const c of inits) {
    if (c.restartPolicy === 'Always') {
      addList(running, c.resources?.[which]);
      continue;
    }
    const peak = new Map(running);
    addList(peak, c.resources?.[which]);
    for (const [k, v] of peak) initMax.set(k, Math.max(initMax.get(k) ?? 0, v));
  }
  for (const [k, v] of initMax) out.set(k, Math.max(out.get(k) ?? 0, v));
  if (podLevel) for (const [k, v] of Object.entries(podLevel)) out.set(k, resourceAmount(k, v));
  addList(out, pod.spec.overhead);
  return out;
}

/** True if a pod no longer counts against quota (QuotaV1Pod): finished, or deleted past its grace period. */
export function podDone(pod: Pod, now: number): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return true;
  const del = parseTime(pod.metadata.deletionTimestamp);
  if (!Number.isNaN(del)) {
    const grace = (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
    return now > del + grace;
  }
  return false;
}

/** The `count/<resource>.<group>` name of a resource (`count/pods` for the core group). */
export function countName(r: Pick<ResourceInfo, 'group' | 'resource'>): string {
  return r.group ? `count/${r.resource}.${r.group}` : `count/${r.resource}`;
}

/** Everything `obj` (of resource `r`) uses, by quota resource name. */
export function usageOf(r: Pick<ResourceInfo, 'group' | 'resource' | 'kind'>, obj: KubeObject, now: number): Usage {
  if (r.group === '' && r.kind === 'Pod' && podDone(obj as Pod, now)) return new Map();
  return rawUsageOf(r, obj);
}

/** What `obj` uses while it counts (for a pod: while it runs), by quota resource name. */
export function rawUsageOf(r: Pick<ResourceInfo, 'group' | 'resource' | 'kind'>, obj: KubeObject): Usage {
  const u: Usage = new Map();
  const core = r.group === '';
  if (core && r.kind === 'Pod') {
    const pod = obj as Pod;
    u.set('pods', 1);
    u.set('count/pods', 1);
    const req = podAmounts(pod, 'requests');
    const lim = podAmounts(pod, 'limits');
    for (const [k, v] of req) {
      u.set(`requests.${k}`, v);
      if (k === 'cpu' || k === 'memory' || k === 'ephemeral-storage') u.set(k, v);
    }
    for (const [k, v] of lim) if (k === 'cpu' || k === 'memory' || k === 'ephemeral-storage') u.set(`limits.${k}`, v);
    return u;
  }
  u.set(countName(r), 1);
  if (!core) return u;
  switch (r.kind) {
    case 'Service': {
      const spec = (obj.spec ?? {}) as { type?: string; ports?: unknown[] };
      u.set('services', 1);
      if (spec.type === 'LoadBalancer') u.set('services.loadbalancers', 1);
      if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') u.set('services.nodeports', (spec.ports ?? []).length);
      break;
    }
    case 'PersistentVolumeClaim': {
      const spec = (obj.spec ?? {}) as { storageClassName?: string; resources?: { requests?: ResourceList } };
      const storage = spec.resources?.requests?.storage;
      const bytes = storage === undefined ? 0 : resourceAmount('storage', storage);
      u.set('persistentvolumeclaims', 1);
      u.set('requests.storage', bytes);
      if (spec.storageClassName) {
        u.set(`${spec.storageClassName}.storageclass.storage.k8s.io/requests.storage`, bytes);
        u.set(`${spec.storageClassName}.storageclass.storage.k8s.io/persistentvolumeclaims`, 1);
      }
      break;
    }
    case 'ConfigMap':
      u.set('configmaps', 1);
      break;
    case 'Secret':
      u.set('secrets', 1);
      break;
    case 'ReplicationController':
      u.set('replicationcontrollers', 1);
      break;
    case 'ResourceQuota':
      u.set('resourcequotas', 1);
      break;
    default:
      break;
  }
  return u;
}

/** The resources a quota on these names must look at: which resource kinds contribute. */
export function contributes(r: Pick<ResourceInfo, 'group' | 'resource' | 'kind'>, hard: string[]): boolean {
  const count = countName(r);
  return hard.some((h) => {
    if (h === count) return true;
    if (r.group !== '') return false;
    switch (r.kind) {
      case 'Pod':
        return h === 'pods' || h === 'cpu' || h === 'memory' || h === 'ephemeral-storage' || h.startsWith('requests.') || h.startsWith('limits.');
      case 'Service':
        return h.startsWith('services');
      case 'PersistentVolumeClaim':
        return h === 'persistentvolumeclaims' || h === 'requests.storage' || h.includes('.storageclass.storage.k8s.io/');
      case 'ConfigMap':
        return h === 'configmaps';
      case 'Secret':
        return h === 'secrets';
      case 'ReplicationController':
        return h === 'replicationcontrollers';
      case 'ResourceQuota':
        return h === 'resourcequotas';
      default:
        return false;
    }
  });
}

/**
 * Resources of `hard` a pod's containers must state (the quota pod evaluator's Constraints):
 * `must specify limits.cpu for: nginx; requests.memory for: nginx`, or undefined.
 */
export function missingContainerResources(pod: Pod, hard: string[]): string | undefined {
  const validation = new Set(['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']);
  const required = hard.filter((h) => validation.has(h));
  if (!required.length) return undefined;
  const missing = new Map<string, Set<string>>();
  const check = (c: Container): void => {
    for (const name of required) {
      const [which, res] = name.includes('.') ? (name.split('.') as ['requests' | 'limits', string]) : (['requests', name] as const);
      if (c.resources?.[which]?.[res] === undefined) {
        const set = missing.get(name) ?? new Set<string>();
        set.add(c.name);
        missing.set(name, set);
      }
    }
  };
  for (const c of pod.spec.containers ?? []) check(c);
  for (const c of pod.spec.initContainers ?? []) check(c);
  if (!missing.size) return undefined;
  return `must specify ${[...missing.keys()]
    .sort()
    .map((k) => `${k} for: ${[...missing.get(k)!].sort().join(',')}`)
    .join('; ')}`;
}
