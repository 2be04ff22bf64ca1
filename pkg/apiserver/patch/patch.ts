/**
 * The three patch formats of the Kubernetes API
 * (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/):
 * JSON Patch (RFC 6902, through fast-json-patch), JSON merge patch (RFC 7386) and strategic
 * merge patch, with its patch merge keys and the directives `$patch`, `$retainKeys`,
 * `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`
 * (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md).
 */
import jsonpatch from 'fast-json-patch';
import { badRequest } from '../../api/errors.js';
import { clone, deepEqual, isObject } from '../../api/meta.js';

/**
 * Applies an RFC 6902 JSON Patch to a copy of `doc`.
 * Throws a 422-free BadRequest StatusError naming the failing operation (as Kubernetes answers).
 */
export function applyJsonPatch<T>(doc: T, ops: unknown): T {
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  try {
    const errors = jsonpatch.validate(ops as jsonpatch.Operation[], doc as object);
    if (errors) throw errors;
    return jsonpatch.applyPatch(clone(doc) as object, ops as jsonpatch.Operation[], false, true).newDocument as T;
  } catch (e) {
    const err = e as { name?: string; message?: string; operation?: { op?: string; path?: string } };
    if (err.operation?.op === 'test') throw badRequest(`the server rejected our request due to an error in our request: testing value ${err.operation.path} failed`);
    const what = err.message?.split('\n')[0] ?? String(e);
    throw badRequest(`the server rejected our request due to an error in our request: ${what}`);
  }
}

/** RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/**
 * How a list field merges under a strategic merge patch. Context-free by field name, which holds
 * for every built-in kind: `ports` merges on `containerPort` in a container and on `port` in a
 * Service (told apart by the items' own fields).
 */
interface ListStrategy {
  /** The merge key for lists of objects; absent for lists of primitives merged as sets. */
  key?: string;
}

const LIST_STRATEGIES: Record<string, ListStrategy> = {
  containers: { key: 'name' },
  initContainers: { key: 'name' },
  ephemeralContainers: { key: 'name' },
  volumes: { key: 'name' },
  volumeMounts: { key: 'mountPath' },
  volumeDevices: { key: 'devicePath' },
  env: { key: 'name' },
  imagePullSecrets: { key: 'name' },
  hostAliases: { key: 'ip' },
  topologySpreadConstraints: { key: 'topologyKey' },
  resourceClaims: { key: 'name' },
  schedulingGates: { key: 'name' },
  conditions: { key: 'type' },
  addresses: { key: 'type' },
  ownerReferences: { key: 'uid' },
  podIPs: { key: 'ip' },
  hostIPs: { key: 'ip' },
  ports: { key: 'port' },
  // A ServiceAccount's secrets; the webhooks of Mutating/ValidatingWebhookConfigurations.
  secrets: { key: 'name' },
  webhooks: { key: 'name' },
  finalizers: {},
  podCIDRs: {},
};

function strategyFor(field: string, items: unknown[]): ListStrategy | undefined {
  const s = LIST_STRATEGIES[field];
  if (field === 'ports') {
    return items.some((i) => isObject(i) && 'containerPort' in i) ? { key: 'containerPort' } : s;
  }
  return s;
}

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

/**
 * Applies a strategic merge patch to a copy of `original`. Throws BadRequest for a malformed
 * directive.
 */
export function applyStrategicMergePatch(original: unknown, patch: unknown): unknown {
  if (!isObject(patch)) throw badRequest('the body of a strategic merge patch must be a JSON object');
  return mergeMap(isObject(original) ? original : {}, patch);
}

function mergeMap(original: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> | undefined {
  const directive = patch[DIRECTIVE];
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(patch)) if (k !== DIRECTIVE) out[k] = stripDirectives(v);
    return out;
  }
  if (directive !== undefined && directive !== 'merge') throw badRequest(`Unknown patch type: ${String(directive)}`);

  let out: Record<string, unknown> = { ...original };
  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw badRequest('$retainKeys must be a list of field names');
    const keep = new Set(retain.map(String));
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }

  const orders: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === DIRECTIVE || k === RETAIN_KEYS) continue;
    if (k.startsWith(SET_ORDER)) {
      if (!Array.isArray(v)) throw badRequest(`${k} must be a list`);
      orders[k.slice(SET_ORDER.length)] = v;
      continue;
    }
    if (k.startsWith(DELETE_FROM)) {
      const field = k.slice(DELETE_FROM.length);
      if (!Array.isArray(v)) throw badRequest(`${k} must be a list`);
      const cur = out[field];
      if (Array.isArray(cur)) out[field] = cur.filter((x) => !v.some((d) => JSON.stringify(d) === JSON.stringify(x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const cur = out[k];
    if (isObject(v)) {
      const merged = mergeMap(isObject(cur) ? cur : {}, v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else if (Array.isArray(v)) {
      out[k] = mergeList(k, Array.isArray(cur) ? cur : [], v);
    } else {
      out[k] = v;
    }
  }
  for (const [field, order] of Object.entries(orders)) {
    const list = out[field];
    if (!Array.isArray(list)) continue;
    const before = Array.isArray(original[field]) ? (original[field] as unknown[]) : [];
    out[field] = orderLike(list, order, before, strategyFor(field, [...list, ...order])?.key);
  }
  return out;
}

/**
 * Merges a patch list into the original list of field `field`. As apimachinery's strategicpatch
 * mergeSlice: lists without a merge strategy are replaced; primitives merge as a set; objects
 * merge on the merge key, `{$patch: delete}` items remove every original item with that key and a
 * `{$patch: replace}` item makes the rest of the patch the whole list. The result is ordered as
 * Kubernetes orders it: the patch's items in the patch's order, the items only the server has in
 * their original order, interleaved by their original positions (`normalizeElementOrder`).
 */
function mergeList(field: string, original: unknown[], patch: unknown[]): unknown[] {
  const strategy = strategyFor(field, [...original, ...patch]);
  if (!strategy) return patch.map(stripDirectives);
  // A `{$patch: replace}` element replaces the whole list with the other elements.
  if (patch.some((p) => isObject(p) && p[DIRECTIVE] === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p[DIRECTIVE] === 'replace')).map(stripDirectives);
  }
  if (strategy.key === undefined) {
    // A set of primitives: the union, without duplicates.
    const merged: unknown[] = [];
    for (const x of [...original, ...patch]) if (!merged.some((m) => JSON.stringify(m) === JSON.stringify(x))) merged.push(x);
    return orderLike(merged, patch, original, undefined);
  }
  const key = strategy.key;
  let out = original.map((o) => (isObject(o) ? { ...o } : o));
  const items: unknown[] = [];
  for (const p of patch) {
    if (!isObject(p)) throw badRequest(`${field}: a list with the merge key ${key} must hold objects, not ${JSON.stringify(p)}`);
    if (!(key in p)) throw badRequest(`map: ${JSON.stringify(p)} does not contain declared merge key: ${key}`);
    if (p[DIRECTIVE] === 'delete') {
      out = out.filter((o) => !(isObject(o) && deepEqual(o[key], p[key])));
      continue;
    }
    items.push(p);
    const idx = out.findIndex((o) => isObject(o) && deepEqual(o[key], p[key]));
    if (idx >= 0) {
      const merged = mergeMap(out[idx] as Record<string, unknown>, p);
      if (merged === undefined) out.splice(idx, 1);
      else out[idx] = merged;
    } else {
      out.push(stripDirectives(p));
    }
  }
  return orderLike(out, items, original, key);
}

/**
 * Orders a merged list as apimachinery's strategicpatch does (partitionMapsByPresentInList, then
 * normalizeElementOrder and mergeSortedSlice): the items named in `order` (the patch list or a
 * `$setElementOrder` list) sorted by it, the others (server-only) sorted by `serverOrder` (the
 * original list), then merged: a server-only item goes before the next named item only when both
 * are in the original list and it came first there.
 */
function orderLike(merged: unknown[], order: unknown[], serverOrder: unknown[], key: string | undefined): unknown[] {
  const id = (x: unknown): string => JSON.stringify(key !== undefined && isObject(x) ? x[key] : x);
  const rankIn = (list: unknown[]): Map<string, number> => {
    const m = new Map<string, number>();
    list.forEach((x, i) => {
      if (!m.has(id(x))) m.set(id(x), i);
    });
    return m;
  };
  const patchRank = rankIn(order);
  const serverRank = rankIn(serverOrder);
  const byRank = (rank: Map<string, number>) => (a: unknown, b: unknown) => (rank.get(id(a)) ?? Infinity) - (rank.get(id(b)) ?? Infinity);
  const named = merged.filter((x) => patchRank.has(id(x))).sort(byRank(patchRank));
  const serverOnly = merged.filter((x) => !patchRank.has(id(x))).sort(byRank(serverRank));
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < named.length) {
    if (j >= named.length) out.push(serverOnly[i++]);
    else if (i >= serverOnly.length) out.push(named[j++]);
    else {
      const l = serverRank.get(id(serverOnly[i]));
      const r = serverRank.get(id(named[j]));
      if (l !== undefined && r !== undefined && l < r) out.push(serverOnly[i++]);
      else out.push(named[j++]);
    }
  }
  return out;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(SET_ORDER) || k.startsWith(DELETE_FROM)) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

/**
 * A three-way JSON merge patch, as `kubectl apply` computes for kinds without a strategic
 * schema: fields set in `modified` that differ from `current` are set; fields that were in
 * `original` (the last-applied configuration) and are gone from `modified` are deleted (`null`).
 * Fields only `current` has (set by the server or by others) are left alone.
 */
export function threeWayMergePatch(original: unknown, modified: unknown, current: unknown): Record<string, unknown> {
  const o = isObject(original) ? original : {};
  const m = isObject(modified) ? modified : {};
  const c = isObject(current) ? current : {};
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (!(k in m) && k in c) out[k] = null;
  for (const [k, v] of Object.entries(m)) {
    const cur = c[k];
    if (isObject(v) && isObject(cur)) {
      const sub = threeWayMergePatch(o[k], v, cur);
      if (Object.keys(sub).length) out[k] = sub;
    } else if (!deepEqual(cur, v)) {
      out[k] = clone(v);
    }
  }
  return out;
}

/** Applies a patch of the given type (`apply` merges like a merge patch here: used for views such as Scale). */
export function applyPatchOfType(type: 'json' | 'merge' | 'strategic' | 'apply', doc: unknown, body: unknown): unknown {
  switch (type) {
    case 'json':
      return applyJsonPatch(doc, body);
    case 'strategic':
      return applyStrategicMergePatch(doc, body);
    default:
      return applyMergePatch(doc, body);
  }
}
