/**
 * Resources the API server computes instead of storing, and the Eviction subresource:
 *
 * - `pods/<name>/eviction` (policy/v1 Eviction,
 *   https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/): deletes a pod unless
 *   that would take its PodDisruptionBudget below what it allows (`status.disruptionsAllowed`,
 *   kept by the disruption controller), answering 429 as Kubernetes does.
 * - `metrics.k8s.io/v1beta1` NodeMetrics and PodMetrics (what metrics-server serves for
 *   `kubectl top`), from a `PodMetricsSource`.
 * - `authorization.k8s.io/v1` SelfSubjectAccessReview and SelfSubjectRulesReview (`kubectl auth
 *   can-i`), and `authentication.k8s.io/v1` SelfSubjectReview (`kubectl auth whoami`). berth has no
 *   authentication or RBAC yet: every request is allowed, and the reviews say so.
 */
import { rfc3339 } from '../clock/clock.js';
import { badRequest, conflict, internalError, notFound, StatusError } from '../api/errors.js';
import { selectorFromLabelSelector, parseSelector, SelectorError } from '../api/labels.js';
import { clone } from '../api/meta.js';
import { formatCpu, resourceAmount } from '../api/quantity.js';
import { defineResource, type ResourceInfo, type ResourceRegistry } from '../api/resources.js';
import type { KubeObject, LabelSelector, Pod } from '../api/types.js';
import type { DeleteOptions, ObjectStore } from './store.js';

/** A container's resource usage: cpu in millicores, memory in bytes. */
export interface ContainerUsage {
  name: string;
  cpuMillicores: number;
  memoryBytes: number;
}

/** Where `kubectl top` numbers come from: a runtime's view of what a pod's containers use. */
export interface PodMetricsSource {
  /** Usage of each running container of the pod; undefined when the pod runs nothing (no metrics, as metrics-server). */
  podUsage(pod: Pod): ContainerUsage[] | undefined;
}

/** The window each sample covers, as metrics-server reports it. */
const WINDOW = '30s';

/** Resources served here; added to the registry by `createApiServer`. */
export const VIRTUAL_RESOURCES: ResourceInfo[] = [
  defineResource({ gv: 'metrics.k8s.io/v1beta1', resource: 'nodes', kind: 'NodeMetrics', ns: false, verbs: ['get', 'list'] }),
  defineResource({ gv: 'metrics.k8s.io/v1beta1', resource: 'pods', kind: 'PodMetrics', ns: true, verbs: ['get', 'list'] }),
  defineResource({ gv: 'authorization.k8s.io/v1', resource: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', ns: false, verbs: ['create'] }),
  defineResource({ gv: 'authorization.k8s.io/v1', resource: 'selfsubjectrulesreviews', kind: 'SelfSubjectRulesReview', ns: false, verbs: ['create'] }),
  defineResource({ gv: 'authentication.k8s.io/v1', resource: 'selfsubjectreviews', kind: 'SelfSubjectReview', ns: false, verbs: ['create'] }),
].map((r) => ({ ...r, virtual: true }));

/** The user every request acts as until berth has authentication. */
export const BERTH_USER = { username: 'berth-admin', groups: ['system:masters', 'system:authenticated'] };
const ALLOWED_REASON = 'berth has no authorization configured: every request is allowed';

/** POST to a create-only virtual resource: the review with its status filled in. */
export function createVirtual(r: ResourceInfo, body: unknown): KubeObject {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
  const obj = clone(body) as KubeObject;
  obj.apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
  obj.kind = r.kind;
  obj.metadata = { ...(obj.metadata ?? {}), creationTimestamp: null as unknown as string };
  switch (r.kind) {
    case 'SelfSubjectAccessReview': {
      const spec = (obj.spec ?? {}) as { resourceAttributes?: unknown; nonResourceAttributes?: unknown };
      if (!spec.resourceAttributes && !spec.nonResourceAttributes) throw badRequest('SelfSubjectAccessReview: exactly one of spec.resourceAttributes or spec.nonResourceAttributes must be set');
      obj.status = { allowed: true, reason: ALLOWED_REASON };
      return obj;
    }
    case 'SelfSubjectRulesReview':
      obj.status = {
        resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        incomplete: false,
      };
      return obj;
    case 'SelfSubjectReview':
      obj.status = { userInfo: BERTH_USER };
      return obj;
  }
  throw badRequest(`${r.resource} cannot be created`);
}

/** GET on metrics.k8s.io: one NodeMetrics/PodMetrics, or a list. Throws NotFound. */
export async function serveMetrics(store: ObjectStore, registry: ResourceRegistry, source: PodMetricsSource | undefined, r: ResourceInfo, namespace: string | undefined, name: string | undefined, labelSelector: string | undefined): Promise<object> {
  const now = rfc3339(store.clock.now());
  let selector;
  try {
    selector = parseSelector(labelSelector);
  } catch (e) {
    if (e instanceof SelectorError) throw badRequest(`unable to parse requirement: ${e.message}`);
    throw e;
  }
  const podsInfo = registry.get('', 'v1', 'pods')!;
  const usageOf = (pod: Pod): ContainerUsage[] | undefined => (source ? source.podUsage(pod) : undefined);
  const fmt = (cpu: number, mem: number): Record<string, string> => ({ cpu: formatCpu(cpu), memory: `${Math.ceil(mem / 1024)}Ki` });
  if (r.kind === 'PodMetrics') {
    const pods = name ? [await store.get(podsInfo, namespace, name)] : (await store.list(podsInfo, namespace)).items;
    const items: object[] = [];
    for (const p of pods as Pod[]) {
      if (!name && !selector.matches(p.metadata.labels)) continue;
      const usage = usageOf(p);
      if (!usage) {
        if (name) throw new StatusError(404, 'NotFound', `podmetrics.metrics.k8s.io "${namespace}/${name}" not found`, { name, group: 'metrics.k8s.io', kind: 'pods' });
        continue;
      }
      const m = { name: p.metadata.name, namespace: p.metadata.namespace, creationTimestamp: now, ...(p.metadata.labels ? { labels: p.metadata.labels } : {}) };
      items.push({ kind: 'PodMetrics', apiVersion: 'metrics.k8s.io/v1beta1', metadata: m, timestamp: now, window: WINDOW, containers: usage.map((c) => ({ name: c.name, usage: fmt(c.cpuMillicores, c.memoryBytes) })) });
    }
    return name ? items[0]! : { kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items };
  }
  // NodeMetrics: the sum over the pods running on each node.
  const nodesInfo = registry.get('', 'v1', 'nodes')!;
  const nodes = name ? [await store.get(nodesInfo, undefined, name).catch(() => { throw new StatusError(404, 'NotFound', `nodemetrics.metrics.k8s.io "${name}" not found`, { name, group: 'metrics.k8s.io', kind: 'nodes' }); })] : (await store.list(nodesInfo, undefined)).items;
  const byNode = new Map<string, { cpu: number; mem: number }>();
  for (const p of (await store.list(podsInfo, undefined)).items as Pod[]) {
    const node = p.spec?.nodeName;
    if (!node) continue;
    const usage = usageOf(p);
    if (!usage) continue;
    const t = byNode.get(node) ?? { cpu: 0, mem: 0 };
    for (const c of usage) {
      t.cpu += c.cpuMillicores;
      t.mem += c.memoryBytes;
    }
    byNode.set(node, t);
  }
  const items: object[] = [];
  for (const n of nodes) {
    if (!name && !selector.matches(n.metadata.labels)) continue;
    const ready = ((n.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    if (!ready && !name) continue;
    const t = byNode.get(n.metadata.name!) ?? { cpu: 0, mem: 0 };
    items.push({ kind: 'NodeMetrics', apiVersion: 'metrics.k8s.io/v1beta1', metadata: { name: n.metadata.name, creationTimestamp: now, ...(n.metadata.labels ? { labels: n.metadata.labels } : {}) }, timestamp: now, window: WINDOW, usage: fmt(t.cpu, t.mem) });
  }
  return name ? items[0]! : { kind: 'NodeMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items };
}

/**
 * Requests-based usage: each running container uses what it requests (cpu in millicores, memory
 * in bytes; nothing requested counts as 0). A stand-in until a runtime models load.
 */
export function requestsUsage(pod: Pod): ContainerUsage[] | undefined {
  const statuses = pod.status?.containerStatuses ?? [];
  const running = pod.spec?.containers?.filter((c) => statuses.some((s) => s.name === c.name && s.state?.running));
  if (!running?.length) return undefined;
  return running.map((c) => ({
    name: c.name,
    cpuMillicores: c.resources?.requests?.cpu !== undefined ? resourceAmount('cpu', c.resources.requests.cpu) : 0,
    memoryBytes: c.resources?.requests?.memory !== undefined ? resourceAmount('memory', c.resources.requests.memory) : 0,
  }));
}

/** The PodDisruptionBudget fields eviction reads and writes. */
interface Pdb extends KubeObject {
  spec?: { selector?: LabelSelector };
  status?: { disruptionsAllowed?: number; currentHealthy?: number; desiredHealthy?: number; observedGeneration?: number; disruptedPods?: Record<string, string> };
}

/**
 * Evicts a pod (POST `pods/<name>/eviction`): a pod that is not running, or covered by no
 * PodDisruptionBudget, is deleted; with one budget, its `disruptionsAllowed` must be above 0 and
 * is taken down by one (the pod is recorded in `status.disruptedPods`) before the delete.
 * Throws NotFound, TooManyRequests (429, the budget would be violated), InternalError (more
 * than one budget), as pkg/registry/core/pod/storage/eviction.go.
 */
export async function evictPod(store: ObjectStore, registry: ResourceRegistry, namespace: string, name: string, eviction: unknown): Promise<object> {
  const ev = (eviction ?? {}) as { metadata?: { name?: string }; deleteOptions?: Omit<DeleteOptions, 'dryRun'> & { dryRun?: string[] } };
  if (ev.metadata?.name && ev.metadata.name !== name) throw badRequest(`name in URL does not match name in Eviction object`);
  const podsInfo = registry.get('', 'v1', 'pods')!;
  const pod = (await store.get(podsInfo, namespace, name)) as Pod;
  const dryRun = (ev.deleteOptions?.dryRun ?? []).includes('All');
  const del: DeleteOptions = {
    ...(ev.deleteOptions?.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: ev.deleteOptions.gracePeriodSeconds } : {}),
    ...(ev.deleteOptions?.preconditions ? { preconditions: ev.deleteOptions.preconditions } : {}),
    ...(dryRun ? { dryRun: true } : {}),
  };
  const success = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
  const phase = pod.status?.phase;
  if (pod.metadata.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending') {
    await store.delete(podsInfo, namespace, name, del);
    return success;
  }
  const pdbInfo = registry.get('policy', 'v1', 'poddisruptionbudgets');
  const pdbs = pdbInfo
    ? ((await store.list(pdbInfo, namespace)).items as Pdb[]).filter((b) => {
        try {
          const sel = selectorFromLabelSelector(b.spec?.selector);
          return !sel.empty && sel.matches(pod.metadata.labels);
        } catch {
          return false;
        }
      })
    : [];
  if (pdbs.length > 1) throw internalError('This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
  if (pdbs.length === 1) {
    for (let attempt = 0; ; attempt++) {
      const pdb = (await store.get(pdbInfo!, namespace, pdbs[0]!.metadata.name!)) as Pdb;
      const st = pdb.status ?? {};
      const violation = (message: string): StatusError => new StatusError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", { causes: [{ reason: 'DisruptionBudget', message }] });
      if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 1)) throw violation(`The disruption budget ${pdb.metadata.name} is still being processed by the server.`);
      const allowed = st.disruptionsAllowed ?? 0;
      if (allowed < 0) throw new StatusError(403, 'Forbidden', 'pdb disruptions allowed is negative', { causes: [{ reason: 'DisruptionBudget', message: 'pdb disruptions allowed is negative' }] });
      if (allowed === 0) throw violation(`The disruption budget ${pdb.metadata.name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`);
      if (dryRun) break;
      const next = clone(pdb);
      next.status = { ...st, disruptionsAllowed: allowed - 1, disruptedPods: { ...(st.disruptedPods ?? {}), [name]: rfc3339(store.clock.now()) } };
      try {
        await store.update(pdbInfo!, namespace, pdb.metadata.name!, next, { subresource: 'status', fieldManager: 'berth-eviction' });
        break;
      } catch (e) {
        if (e instanceof StatusError && e.reason === 'Conflict' && attempt < 5) continue;
        throw e;
      }
    }
  }
  try {
    await store.delete(podsInfo, namespace, name, del);
  } catch (e) {
    if (e instanceof StatusError && e.reason === 'NotFound') throw notFound('pods', name);
    if (e instanceof StatusError && e.reason === 'Conflict') throw conflict('pods', name, undefined, e.message);
    throw e;
  }
  return success;
}
