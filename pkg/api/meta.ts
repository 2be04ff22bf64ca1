import { randomUUID, randomInt } from 'node:crypto';
import type { Condition, KubeObject, OwnerReference } from './types.js';

/**
 * A new object UID (RFC 4122 v4), as Kubernetes assigns. With `random` (uniform in [0, 1), e.g. a
 * seeded generator for `berth simulate`) the 122 random bits come from it, so runs repeat;
 * without it they come from the system's secure generator.
 */
export function newUid(random?: () => number): string {
  if (!random) return randomUUID();
  let hex = '';
  for (let i = 0; i < 16; i++) {
    let b = Math.min(255, Math.floor(random() * 256));
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    if (i === 8) b = (b & 0x3f) | 0x80; // RFC 4122 variant
    hex += b.toString(16).padStart(2, '0');
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// k8s.io/apimachinery/pkg/util/rand: no vowels, no look-alike digits, so names never spell words.
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `n` random characters from Kubernetes's generateName alphabet. */
export function randomSuffix(n = 5, random: () => number = () => randomInt(NAME_ALPHABET.length) / NAME_ALPHABET.length): string {
  let s = '';
  for (let i = 0; i < n; i++) s += NAME_ALPHABET[Math.floor(random() * NAME_ALPHABET.length)];
  return s;
}

/** `namespace/name`, or `name` for cluster-scoped objects: the key of caches and work queues. */
export function objectKeyOf(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name!;
}

/** Splits a cache key back into namespace and name. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** The owner reference marked `controller: true`, if any. */
export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((o) => o.controller);
}

/** An owner reference to `owner` with controller and blockOwnerDeletion set, as controllers write. */
export function ownerRef(owner: KubeObject, controller = true): OwnerReference {
  return {
    apiVersion: owner.apiVersion!,
    kind: owner.kind!,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller,
    blockOwnerDeletion: true,
  };
}

/** The condition of `type` in a conditions list. */
export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Sets a condition in place, keeping `lastTransitionTime` when the status does not change.
 * Returns true if anything changed.
 */
export function setCondition(list: Condition[], next: Condition, now: string): boolean {
  const i = list.findIndex((c) => c.type === next.type);
  if (i < 0) {
    list.push({ ...next, lastTransitionTime: next.lastTransitionTime ?? now });
    return true;
  }
  const cur = list[i]!;
  const transition = cur.status !== next.status;
  const merged: Condition = { ...cur, ...next, lastTransitionTime: transition ? (next.lastTransitionTime ?? now) : cur.lastTransitionTime! };
  if (JSON.stringify(merged) === JSON.stringify(cur)) return false;
  list[i] = merged;
  return true;
}

/**
 * A deep copy of a JSON-shaped value, equal to `JSON.parse(JSON.stringify(v))`: object keys whose
 * value is undefined, a function or a symbol are left out (in arrays they become null), non-finite
 * numbers become null, and objects with `toJSON` (Date) go through JSON. A recursive copy rather
 * than the JSON round trip: ~6× faster on a Pod, and every write clones its body.
 */
export function clone<T>(v: T): T {
  return v === undefined ? v : (copyJson(v) as T);
}

function copyJson(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) {
    if (typeof v === 'number') return Number.isFinite(v) ? (v === 0 ? 0 : v) : null;
    return v;
  }
  if (Array.isArray(v)) {
    const n = v.length;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const x: unknown = v[i];
      out[i] = x === undefined || typeof x === 'function' || typeof x === 'symbol' ? null : copyJson(x);
    }
    return out;
  }
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return JSON.parse(JSON.stringify(v)) as unknown;
  const out: Record<string, unknown> = {};
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    out[k] = copyJson(x);
  }
  return out;
}

/** Structural equality of JSON-shaped values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  // Counted with for…in rather than filtered key arrays: this runs on every write and reconcile.
  let n = 0;
  for (const k in ao) {
    if (!hasOwn(ao, k)) continue;
    const x = ao[k];
    if (x === undefined) continue;
    n++;
    if (!deepEqual(x, hasOwn(bo, k) ? bo[k] : undefined)) return false;
  }
  let m = 0;
  for (const k in bo) if (hasOwn(bo, k) && bo[k] !== undefined) m++;
  return n === m;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** True for a plain JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * JSON with object keys sorted at every level (as Go's encoding/json writes maps), so equal values
 * serialize identically whatever their key order.
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
