/**
 * ResourceQuota admission (https://kubernetes.io/docs/concepts/policy/resource-quotas/ and
 * plugin/pkg/admission/resourcequota): a create or update that would take a namespace's usage of
 * a resource past a quota's `spec.hard` is refused with 403 Forbidden and Kubernetes's message,
 *
 * `pods "web-x" is forbidden: exceeded quota: compute, requested: requests.cpu=2, used: requests.cpu=3, limited: requests.cpu=4`
 *
 * listing only the exceeded resources, sorted. A quota on cpu or memory requests or limits also
 * requires every container to state them (`failed quota: compute: must specify limits.cpu for: nginx`).
 *
 * Usage is counted from the stored objects at the moment of the request, plus the writes this
 * plugin has admitted that the listing does not show yet, so two concurrent creates cannot both
 * take the last unit. Quota scopes: `Terminating`, `NotTerminating`, `BestEffort`,
 * `NotBestEffort`, and `scopeSelector` on `PriorityClass`; a quota with scopes counts pods only.
 */
import { forbidden } from '../api/errors.js';
import type { ResourceInfo } from '../api/resources.js';
import type { KubeObject, Pod } from '../api/types.js';
import { qosClass } from '../api/defaults.js';
import type { AdmissionPlugin, AdmissionRequest, CommitEvent, ObjectStore } from '../apiserver/store.js';
import { parseTime } from '../clock/clock.js';
import type { ResourceQuota } from '../controllers/types.js';
import { amountOf, contributes, formatQuota, missingContainerResources, rawUsageOf, usageOf, type Usage } from './usage.js';

/** In-flight writes stay in the ledger at most this long (real ms) if they never commit. */
const PENDING_TTL_MS = 30_000;

interface Pending {
  namespace: string;
  resource: string;
  key: string;
  delta: Usage;
  at: number;
  /** The quotas whose scopes selected the object. */
  quotas: Set<string>;
}

/** What quota scopes look at on a pod. */
export interface PodFacts {
  phase?: string;
  /** ms since the epoch; NaN if not being deleted. */
  deletedAt: number;
  graceSeconds: number;
  terminating: boolean;
  bestEffort: boolean;
  priorityClass?: string;
}

export function podFacts(pod: Pod): PodFacts {
  return {
    ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
    deletedAt: parseTime(pod.metadata.deletionTimestamp),
    graceSeconds: pod.metadata.deletionGracePeriodSeconds ?? 0,
    terminating: pod.spec.activeDeadlineSeconds !== undefined && pod.spec.activeDeadlineSeconds !== null,
    bestEffort: qosClass(pod.spec) === 'BestEffort',
    ...(pod.spec.priorityClassName ? { priorityClass: pod.spec.priorityClassName } : {}),
  };
}

/** True if the quota's scopes select an object (`pod` facts for pods; a quota with scopes selects pods only). */
export function scopesSelect(q: ResourceQuota, pod: PodFacts | undefined): boolean {
  const scopes = q.spec?.scopes ?? [];
  const selector = q.spec?.scopeSelector?.matchExpressions ?? [];
  if (!scopes.length && !selector.length) return true;
  if (!pod) return false;
  const check = (scope: string, operator = 'Exists', values: string[] = []): boolean => {
    switch (scope) {
      case 'Terminating':
        return pod.terminating;
      case 'NotTerminating':
        return !pod.terminating;
      case 'BestEffort':
        return pod.bestEffort;
      case 'NotBestEffort':
        return !pod.bestEffort;
      case 'PriorityClass': {
        const pc = pod.priorityClass;
        if (operator === 'Exists') return !!pc;
        if (operator === 'DoesNotExist') return !pc;
        if (operator === 'In') return !!pc && values.includes(pc);
        if (operator === 'NotIn') return !pc || !values.includes(pc);
        return false;
      }
      default:
        return false;
    }
  };
  return scopes.every((s) => check(s)) && selector.every((e) => check(e.scopeName, e.operator, e.values));
}

/** True if the quota's scopes select the object of resource `r`. */
export function quotaSelects(q: ResourceQuota, r: Pick<ResourceInfo, 'group' | 'kind'>, obj: KubeObject): boolean {
  return scopesSelect(q, r.group === '' && r.kind === 'Pod' ? podFacts(obj as Pod) : undefined);
}

/** True if a pod no longer counts (finished, or deleted past its grace period) at `now`. */
function podGone(f: PodFacts, now: number): boolean {
  if (f.phase === 'Succeeded' || f.phase === 'Failed') return true;
  return !Number.isNaN(f.deletedAt) && now > f.deletedAt + f.graceSeconds * 1000;
}

interface Item {
  rv: number;
  deleted: boolean;
  usage: Usage;
  pod?: PodFacts;
}

interface Table {
  items: Map<string, Item>;
  /** The sum of what live objects use (not deleted, pods not finished), for quotas without scopes. */
  total: Usage;
  /** Pods being deleted, which stop counting once their grace period is over. */
  deleting: Set<string>;
  /** Commits seen while the first list was in flight, applied after it. */
  buffer: CommitEvent[] | undefined;
  ready: Promise<void>;
}

/**
 * What every object of a namespace uses, per resource, kept from the store's commits after one
 * first list, so that admission does not re-read a namespace on every write. Commits may be
 * told out of order; each object keeps the newest resourceVersion seen (deletions too).
 */
export class UsageIndex {
  private readonly tables = new Map<string, Table>();

  constructor(store: ObjectStore) {
    store.onCommit((e) => this.observe(e));
  }

  private observe(e: CommitEvent): void {
    const ns = e.object.metadata.namespace;
    if (!ns) return;
    const t = this.tables.get(`${ns}|${e.resource.group}/${e.resource.resource}`);
    if (!t) return;
    if (t.buffer) t.buffer.push(e);
    else apply(t, e.resource, e.object, e.type === 'DELETED');
  }

  /** The namespace's objects of resource `r` (listed once, then kept current). */
  async table(store: ObjectStore, namespace: string, r: ResourceInfo): Promise<Table> {
    const key = `${namespace}|${r.group}/${r.resource}`;
    let t = this.tables.get(key);
    if (!t) {
      const fresh: Table = { items: new Map(), total: new Map(), deleting: new Set(), buffer: [], ready: Promise.resolve() };
      fresh.ready = (async () => {
        try {
          const l = await store.list(r, namespace);
          for (const o of l.items) apply(fresh, r, o, false);
          const buffered = fresh.buffer ?? [];
          fresh.buffer = undefined;
          for (const e of buffered) apply(fresh, e.resource, e.object, e.type === 'DELETED');
        } catch (err) {
          this.tables.delete(key);
          throw err;
        }
      })();
      this.tables.set(key, (t = fresh));
    }
    await t.ready;
    return t;
  }
}

/** Whether an item counts toward `total` (finished pods never count again). */
const live = (i: Item): boolean => !i.deleted && !(i.pod && (i.pod.phase === 'Succeeded' || i.pod.phase === 'Failed'));

function addTo(total: Usage, u: Usage, sign: 1 | -1): void {
  for (const [k, v] of u) total.set(k, (total.get(k) ?? 0) + sign * v);
}

function apply(t: Table, r: Pick<ResourceInfo, 'group' | 'resource' | 'kind'>, o: KubeObject, deleted: boolean): void {
  const name = o.metadata.name!;
  const rv = Number(o.metadata.resourceVersion);
  const cur = t.items.get(name);
  if (cur && cur.rv >= rv) return;
  const pod = r.group === '' && r.kind === 'Pod' ? podFacts(o as Pod) : undefined;
  const next: Item = { rv, deleted, usage: deleted ? new Map() : rawUsageOf(r, o), ...(pod ? { pod } : {}) };
  if (cur && live(cur)) addTo(t.total, cur.usage, -1);
  if (live(next)) addTo(t.total, next.usage, 1);
  t.items.set(name, next);
  if (live(next) && pod && !Number.isNaN(pod.deletedAt)) t.deleting.add(name);
  else t.deleting.delete(name);
}

function sub(a: Usage, b: Usage): Usage {
  const out: Usage = new Map(a);
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) - v);
  return out;
}

function pretty(names: string[], amounts: (n: string) => number): string {
  return names.map((n) => `${n}=${formatQuota(n, amounts(n))}`).join(',');
}

/**
 * The usage of every resource `hard` names in a namespace, counted from `list` (which returns a
 * kind's objects in the namespace and the list's resourceVersion); `revisions` gives, for each
 * resource counted (`group/resource`), the resourceVersion of its list.
 */
export async function namespaceUsage(
  q: ResourceQuota,
  resources: ResourceInfo[],
  list: (r: ResourceInfo) => Promise<{ items: KubeObject[]; resourceVersion: number }>,
  now: number,
): Promise<{ used: Map<string, number>; revisions: Map<string, number> }> {
  const hard = Object.keys(q.spec?.hard ?? {});
  const used = new Map<string, number>(hard.map((h) => [h, 0]));
  const revisions = new Map<string, number>();
  for (const r of resources) {
    const id = `${r.group}/${r.resource}`;
    if (revisions.has(id) || !r.namespaced || !contributes(r, hard)) continue;
    const { items, resourceVersion } = await list(r);
    revisions.set(id, resourceVersion);
    for (const o of items) {
      if (!quotaSelects(q, r, o)) continue;
      for (const [k, v] of usageOf(r, o, now)) if (used.has(k)) used.set(k, used.get(k)! + v);
    }
  }
  return { used, revisions };
}

export class ResourceQuotaAdmission implements AdmissionPlugin {
  readonly name = 'ResourceQuota';
  private readonly pending: Pending[] = [];

  private readonly index: UsageIndex;

  constructor(private readonly store: ObjectStore) {
    this.index = new UsageIndex(store);
    // A committed write is in the usage index from now on: its reservation is no longer needed.
    store.onCommit((e) => {
      if (!this.pending.length) return;
      const key = `${e.resource.group}/${e.resource.resource}/${e.object.metadata.namespace}/${e.object.metadata.name}`;
      for (let i = this.pending.length - 1; i >= 0; i--) if (this.pending[i]!.key === key) this.pending.splice(i, 1);
    });
  }

  private get quotaInfo(): ResourceInfo {
    return this.store.registry.get('', 'v1', 'resourcequotas')!;
  }

  async validate(req: AdmissionRequest): Promise<void> {
    if (req.operation === 'DELETE' || !req.namespace || !req.object) return;
    if (req.subresource && req.subresource !== 'scale') return;
    const r = req.resource;
    if (!r.namespaced) return;
    const quotas = ((await req.store.cachedList(this.quotaInfo, req.namespace)) as ResourceQuota[]).filter((q) => Object.keys(q.spec?.hard ?? {}).length);
    if (!quotas.length) return;
    const now = req.store.clock.now();
    const obj = req.object;
    const delta = req.oldObject ? sub(usageOf(r, obj, now), usageOf(r, req.oldObject, now)) : usageOf(r, obj, now);
    if (![...delta.values()].some((v) => v > 0)) return;
    const resources = req.store.registry.all();
    const key = `${r.group}/${r.resource}/${req.namespace}/${req.name}`;
    this.expire();
    const selected = [...quotas].filter((q) => quotaSelects(q, r, obj)).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
    if (r.group === '' && r.kind === 'Pod' && req.operation === 'CREATE') {
      for (const q of selected) {
        const missing = missingContainerResources(obj as Pod, Object.keys(q.spec!.hard!));
        if (missing) throw forbidden(r.resource, req.name, `failed quota: ${q.metadata.name}: ${missing}`);
      }
    }
    // Read the usage tables first (this may await), then count, check and reserve with no await
    // in between, so that concurrent requests see each other's reservations.
    const tables = new Map<string, Table>();
    const seen = new Set<string>();
    for (const q of selected) {
      const hard = Object.keys(q.spec!.hard!);
      for (const x of resources) {
        const id = `${x.group}/${x.resource}`;
        if (seen.has(id) || !x.namespaced || !contributes(x, hard)) continue;
        seen.add(id);
        tables.set(id, await this.index.table(req.store, req.namespace, x));
      }
    }
    let counted = false;
    for (const q of selected) {
      const hard = q.spec!.hard!;
      const names = Object.keys(hard).filter((h) => (delta.get(h) ?? 0) > 0);
      if (!names.length) continue;
      counted = true;
      const used = new Map<string, number>(names.map((n) => [n, 0]));
      const add = (u: Usage, sign: 1 | -1 = 1): void => {
        for (const [k, v] of u) if (used.has(k)) used.set(k, used.get(k)! + sign * v);
      };
      const scoped = (q.spec?.scopes ?? []).length > 0 || (q.spec?.scopeSelector?.matchExpressions ?? []).length > 0;
      for (const [id, t] of tables) {
        if (!contributesId(id, resources, Object.keys(hard))) continue;
        if (!scoped) {
          // The running total, less pods whose deletion grace period has passed.
          add(t.total);
          for (const name of t.deleting) {
            const item = t.items.get(name)!;
            if (podGone(item.pod!, now)) add(item.usage, -1);
          }
          continue;
        }
        for (const item of t.items.values()) {
          if (!live(item) || (item.pod && podGone(item.pod, now)) || !scopesSelect(q, item.pod)) continue;
          add(item.usage);
        }
      }
      for (const p of this.pending) if (p.namespace === req.namespace && p.key !== key && p.quotas.has(q.metadata.name!)) add(p.delta);
      const exceeded = names.filter((n) => used.get(n)! + delta.get(n)! > amountOf(n, hard[n]!)).sort();
      if (exceeded.length) {
        throw forbidden(
          r.resource,
          req.name,
          `exceeded quota: ${q.metadata.name}, requested: ${pretty(exceeded, (n) => delta.get(n)!)}, used: ${pretty(exceeded, (n) => used.get(n)!)}, limited: ${pretty(exceeded, (n) => amountOf(n, hard[n]!))}`,
        );
      }
    }
    if (!req.dryRun && counted) this.pending.push({ namespace: req.namespace, resource: `${r.group}/${r.resource}`, key, delta, at: Date.now(), quotas: new Set(selected.map((q) => q.metadata.name!)) });
  }

  private expire(): void {
    const cutoff = Date.now() - PENDING_TTL_MS;
    for (let i = this.pending.length - 1; i >= 0; i--) if (this.pending[i]!.at < cutoff) this.pending.splice(i, 1);
  }
}

/** True if the resource `group/resource` counts toward any of `hard`. */
function contributesId(id: string, resources: ResourceInfo[], hard: string[]): boolean {
  const r = resources.find((x) => `${x.group}/${x.resource}` === id);
  return !!r && contributes(r, hard);
}
