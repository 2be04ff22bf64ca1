/**
 * Server-side apply and field management
 * (https://kubernetes.io/docs/reference/using-api/server-side-apply/), after
 * sigs.k8s.io/structured-merge-diff: every write records which manager set which fields in
 * `metadata.managedFields` (`fieldsV1` path tries); an apply merges the applied configuration
 * into the live object along the schema (associative lists by their keys, sets by value, atomic
 * lists and `x-kubernetes-map-type: atomic` structs whole), removes the fields the applier set
 * before and no longer sets (unless another manager owns them), and refuses to change a field
 * another manager owns (409 Conflict, causes of reason `FieldManagerConflict`) unless forced.
 */
import { badRequest, StatusError } from '../api/errors.js';
import { clone, deepEqual, isObject } from '../api/meta.js';
import type { KubeObject } from '../api/types.js';
import type { SchemaNode } from './schema.js';

/** `metav1.ManagedFieldsEntry`. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion?: string;
  /** RFC 3339. */
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/**
 * A set of field paths as a trie whose keys are `fieldsV1` path elements: `f:<field>`,
 * `k:<json of the item's keys>`, `v:<json value>`, `i:<index>`. `own` marks the node itself as a
 * member (`"."` in fieldsV1, or an empty leaf).
 */
export class FieldSet {
  own = false;
  readonly children = new Map<string, FieldSet>();

  child(key: string): FieldSet {
    let c = this.children.get(key);
    if (!c) {
      c = new FieldSet();
      this.children.set(key, c);
    }
    return c;
  }

  get empty(): boolean {
    if (this.own) return false;
    for (const c of this.children.values()) if (!c.empty) return false;
    return true;
  }

  /** Adds every member of `o`. */
  union(o: FieldSet): this {
    if (o.own) this.own = true;
    for (const [k, c] of o.children) this.child(k).union(c);
    return this;
  }

  /** A copy without the members of `o` (their subtrees stay). */
  minus(o: FieldSet): FieldSet {
    const out = new FieldSet();
    out.own = this.own && !o.own;
    for (const [k, c] of this.children) {
      const oc = o.children.get(k);
      const r = oc ? c.minus(oc) : c.copy();
      if (!r.empty) out.children.set(k, r);
    }
    return out;
  }

  /** A copy without the members of `o` and everything beneath them. */
  minusSubtrees(o: FieldSet): FieldSet {
    if (o.own) return new FieldSet();
    const out = new FieldSet();
    out.own = this.own;
    for (const [k, c] of this.children) {
      const oc = o.children.get(k);
      const r = oc ? c.minusSubtrees(oc) : c.copy();
      if (!r.empty) out.children.set(k, r);
    }
    return out;
  }

  /** Members in both, as paths. */
  intersection(o: FieldSet, prefix: string[] = [], out: string[][] = []): string[][] {
    if (this.own && o.own) out.push(prefix);
    for (const [k, c] of this.children) {
      const oc = o.children.get(k);
      if (oc) c.intersection(oc, [...prefix, k], out);
    }
    return out;
  }

  /** True if the set has any member at or beneath `path`. */
  hasWithin(path: string[]): boolean {
    let n: FieldSet | undefined = this;
    for (const p of path) {
      n = n.children.get(p);
      if (!n) return false;
    }
    return !n.empty;
  }

  /** Every member path. */
  paths(prefix: string[] = [], out: string[][] = []): string[][] {
    if (this.own) out.push(prefix);
    for (const [k, c] of this.children) c.paths([...prefix, k], out);
    return out;
  }

  copy(): FieldSet {
    return new FieldSet().union(this);
  }

  static fromPaths(paths: string[][]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: string[]): void {
    let n: FieldSet = this;
    for (const p of path) n = n.child(p);
    n.own = true;
  }

  /** The `fieldsV1` JSON form. */
  toFieldsV1(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (this.own && this.children.size) out['.'] = {};
    for (const [k, c] of [...this.children].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!c.empty) out[k] = c.toFieldsV1();
    }
    return out;
  }

  /** Reads `fieldsV1`. Throws BadRequest for a malformed trie. */
  static fromFieldsV1(v: unknown): FieldSet {
    const s = new FieldSet();
    if (v === undefined || v === null) return s;
    if (!isObject(v)) throw badRequest('metadata.managedFields[].fieldsV1 must be an object');
    const keys = Object.keys(v);
    if (keys.length === 0) s.own = true;
    for (const [k, c] of Object.entries(v)) {
      if (k === '.') s.own = true;
      else if (!/^[fkvi]:/.test(k)) throw badRequest(`metadata.managedFields[].fieldsV1: invalid path element "${k}"`);
      else s.children.set(k, FieldSet.fromFieldsV1(c));
    }
    return s;
  }
}

/** A path as structured-merge-diff prints it: `.spec.containers[name="nginx"].image`. */
export function formatPath(path: string[]): string {
  return path
    .map((e) => {
      const body = e.slice(2);
      switch (e[0]) {
        case 'f':
          return `.${body}`;
        case 'k': {
          const keys = JSON.parse(body) as Record<string, unknown>;
          return `[${Object.entries(keys)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(',')}]`;
        }
        case 'v':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}

/** Keys whose absence in an associative list item means this default (the OpenAPI `default`, as for `protocol`). */
const KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' };

function itemKey(item: unknown, keys: string[]): string {
  const o: Record<string, unknown> = {};
  for (const k of [...keys].sort()) {
    const v = isObject(item) ? item[k] : undefined;
    o[k] = v === undefined ? (KEY_DEFAULTS[k] ?? null) : v;
  }
  return `k:${JSON.stringify(o)}`;
}

const valueKey = (v: unknown): string => `v:${JSON.stringify(v)}`;

/**
 * The fields a value sets (structured-merge-diff's ToFieldSet): scalars, atomic lists and atomic
 * maps are members; items of associative lists and sets are members and are walked into; map
 * entries and empty or null struct fields are members; struct fields holding objects are walked.
 */
export function toFieldSet(value: unknown, node: SchemaNode, into: FieldSet = new FieldSet()): FieldSet {
  walkSet(value, node, into);
  return into;
}

function walkSet(value: unknown, node: SchemaNode, set: FieldSet): void {
  if (Array.isArray(value)) {
    const lt = node.listType;
    if (lt === 'atomic') {
      set.own = true;
      return;
    }
    for (const item of value) {
      const c = set.child(lt === 'map' ? itemKey(item, node.listMapKeys) : valueKey(item));
      c.own = true;
      if (lt === 'map') walkSet(item, node.items, c);
    }
    return;
  }
  if (isObject(value)) {
    if (node.atomicMap) {
      set.own = true;
      return;
    }
    const isMap = node.shape === 'map';
    for (const [k, v] of Object.entries(value)) {
      const child = node.field(k) ?? node;
      const c = set.child(`f:${k}`);
      if (v === null || (isObject(v) && Object.keys(v).length === 0) || isMap) c.own = true;
      if (isObject(v) || Array.isArray(v)) walkSet(v, child, c);
      else c.own = true;
    }
    return;
  }
  set.own = true;
}

/** What changed between two versions of a value, as field sets. */
export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** Compares two values along the schema (structured-merge-diff's Compare). */
export function compare(oldV: unknown, newV: unknown, node: SchemaNode): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  walkCompare(oldV, newV, node, c.added, c.modified, c.removed);
  return c;
}

function walkCompare(a: unknown, b: unknown, node: SchemaNode, added: FieldSet, modified: FieldSet, removed: FieldSet): void {
  if (isObject(a) && isObject(b) && !node.atomicMap) {
    const isMap = node.shape === 'map';
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const child = node.field(k) ?? node;
      const key = `f:${k}`;
      const av = a[k];
      const bv = b[k];
      if (av === undefined) {
        const s = added.child(key);
        walkSet(bv, child, s);
        // A field that appears holding a map (labels, annotations, data) is itself added, as
        // structured-merge-diff records it ("." in fieldsV1); a struct is only walked.
        if (isMap || child.shape === 'map' || bv === null || (isObject(bv) && !Object.keys(bv).length)) s.own = true;
      } else if (bv === undefined) {
        removed.child(key).own = true;
      } else if (!deepEqual(av, bv)) {
        walkCompare(av, bv, child, added.child(key), modified.child(key), removed.child(key));
      }
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && node.listType !== 'atomic') {
    const lt = node.listType;
    const keyOf = (x: unknown): string => (lt === 'map' ? itemKey(x, node.listMapKeys) : valueKey(x));
    const am = new Map(a.map((x) => [keyOf(x), x] as const));
    const bm = new Map(b.map((x) => [keyOf(x), x] as const));
    for (const [k, bv] of bm) {
      const av = am.get(k);
      if (av === undefined) {
        const s = added.child(k);
        s.own = true;
        if (lt === 'map') walkSet(bv, node.items, s);
      } else if (lt === 'map' && !deepEqual(av, bv)) {
        walkCompare(av, bv, node.items, added.child(k), modified.child(k), removed.child(k));
      }
    }
    for (const k of am.keys()) if (!bm.has(k)) removed.child(k).own = true;
    return;
  }
  if (!deepEqual(a, b)) modified.own = true;
}

/** Merges an applied configuration into a live value along the schema. */
export function mergeApplied(live: unknown, applied: unknown, node: SchemaNode): unknown {
  if (isObject(applied) && isObject(live) && !node.atomicMap) {
    const out: Record<string, unknown> = { ...live };
    for (const [k, v] of Object.entries(applied)) {
      if (v === null) delete out[k];
      else out[k] = mergeApplied(live[k], v, node.field(k) ?? node);
    }
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(live) && node.listType !== 'atomic') {
    const lt = node.listType;
    const keyOf = (x: unknown): string => (lt === 'map' ? itemKey(x, node.listMapKeys) : valueKey(x));
    const appliedBy = new Map(applied.map((x) => [keyOf(x), x] as const));
    const out: unknown[] = [];
    const seen = new Set<string>();
    for (const x of live) {
      const k = keyOf(x);
      seen.add(k);
      const ap = appliedBy.get(k);
      out.push(ap === undefined ? x : lt === 'map' ? mergeApplied(x, ap, node.items) : x);
    }
    for (const [k, x] of appliedBy) if (!seen.has(k)) out.push(clone(x));
    return out;
  }
  return clone(applied);
}

/** Removes the members of `remove` from a value (fields, list items, set values), in place where it can. */
export function removeFields(value: unknown, remove: FieldSet, node: SchemaNode): unknown {
  if (remove.own) return undefined;
  // A list or map emptied by the removal goes too, as Go's omitempty drops it in Kubernetes.
  if (isObject(value)) {
    const out: Record<string, unknown> = { ...value };
    for (const [k, sub] of remove.children) {
      if (!k.startsWith('f:')) continue;
      const name = k.slice(2);
      if (!(name in out)) continue;
      const before = out[name];
      const r = removeFields(before, sub, node.field(name) ?? node);
      if (r === undefined || (emptied(before, r) && name !== 'metadata')) delete out[name];
      else out[name] = r;
    }
    return out;
  }
  if (Array.isArray(value) && node.listType !== 'atomic') {
    const lt = node.listType;
    const out: unknown[] = [];
    for (const x of value) {
      const k = lt === 'map' ? itemKey(x, node.listMapKeys) : valueKey(x);
      const sub = remove.children.get(k);
      if (!sub) out.push(x);
      else if (!sub.own && lt === 'map') out.push(removeFields(x, sub, node.items));
    }
    return out;
  }
  return value;
}

function emptied(before: unknown, after: unknown): boolean {
  if (Array.isArray(before) && Array.isArray(after)) return before.length > 0 && after.length === 0;
  if (isObject(before) && isObject(after)) return Object.keys(before).length > 0 && Object.keys(after).length === 0;
  return false;
}

/** One manager's entry, decoded. `key` identifies it (manager, operation, subresource; and apiVersion for updates). */
export interface ManagerFields {
  entry: ManagedFieldsEntry;
  set: FieldSet;
}

function managerKey(e: Pick<ManagedFieldsEntry, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify([e.manager, e.operation, e.operation === 'Apply' ? '' : (e.apiVersion ?? ''), e.subresource ?? '']);
}

/** Decodes `metadata.managedFields`. Throws BadRequest for a malformed entry. */
export function decodeManagedFields(entries: unknown): Map<string, ManagerFields> {
  const out = new Map<string, ManagerFields>();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw badRequest('metadata.managedFields must be a list');
  for (const [i, e] of entries.entries()) {
    if (!isObject(e)) throw badRequest(`metadata.managedFields[${i}] must be an object`);
    const entry = e as unknown as ManagedFieldsEntry;
    if (entry.operation !== 'Apply' && entry.operation !== 'Update') throw badRequest(`metadata.managedFields[${i}].operation: must be Apply or Update`);
    if (entry.fieldsType !== undefined && entry.fieldsType !== 'FieldsV1') throw badRequest(`metadata.managedFields[${i}].fieldsType: must be FieldsV1`);
    const set = FieldSet.fromFieldsV1(entry.fieldsV1);
    const key = managerKey(entry);
    const prev = out.get(key);
    if (prev) prev.set.union(set);
    else out.set(key, { entry: { ...entry }, set });
  }
  return out;
}

/** Encodes managers back into `metadata.managedFields`, dropping empty ones; Apply entries first, then by time. */
export function encodeManagedFields(managers: Map<string, ManagerFields>): ManagedFieldsEntry[] {
  const out: ManagedFieldsEntry[] = [];
  for (const m of managers.values()) {
    if (m.set.empty) continue;
    const { manager, operation, apiVersion, time, subresource } = m.entry;
    out.push({ manager, operation, ...(apiVersion ? { apiVersion } : {}), ...(time ? { time } : {}), fieldsType: 'FieldsV1', fieldsV1: m.set.toFieldsV1(), ...(subresource ? { subresource } : {}) });
  }
  return out;
}

/**
 * Fields no manager owns (structured-merge-diff's stripMeta, plus the part a subresource resets):
 * identity and server-set metadata, and status for writes to the main resource of a kind with a
 * status subresource (spec and everything else for status writes).
 */
export function stripUnmanaged(set: FieldSet, subresource: string | undefined, hasStatus: boolean): FieldSet {
  const out = set.copy();
  out.children.delete('f:apiVersion');
  out.children.delete('f:kind');
  const meta = out.children.get('f:metadata');
  if (meta) {
    meta.own = false;
    for (const f of ['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'generation', 'managedFields', 'resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generateName']) meta.children.delete(`f:${f}`);
    if (meta.empty) out.children.delete('f:metadata');
  }
  if (subresource === 'status') {
    for (const k of [...out.children.keys()]) if (k !== 'f:status') out.children.delete(k);
  } else if (hasStatus) {
    out.children.delete('f:status');
  }
  out.own = false;
  return out;
}

/** The conflict error Kubernetes answers (k8s.io/apiserver fieldmanager NewConflictError). */
export function conflictError(conflicts: { manager: ManagedFieldsEntry; path: string[] }[]): StatusError {
  const printManager = (m: ManagedFieldsEntry): string => {
    let s = JSON.stringify(m.manager);
    if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
    if (m.operation === 'Update') s += ` using ${m.apiVersion ?? ''}`;
    return s;
  };
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: formatPath(c.path) }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0]!.manager)}: ${formatPath(conflicts[0]!.path)}`;
  } else {
    const by = new Map<string, { m: ManagedFieldsEntry; paths: string[] }>();
    for (const c of conflicts) {
      const k = printManager(c.manager);
      const e = by.get(k) ?? { m: c.manager, paths: [] };
      e.paths.push(formatPath(c.path));
      by.set(k, e);
    }
    const lines: string[] = [];
    for (const k of [...by.keys()].sort()) {
      lines.push(`conflicts with ${k}:`);
      for (const p of by.get(k)!.paths) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}

export interface ApplyInput {
  /** The live object (undefined when the apply creates it). */
  live: KubeObject | undefined;
  /** The applied configuration, already checked for apiVersion/kind/name. */
  applied: KubeObject;
  manager: string;
  apiVersion: string;
  force: boolean;
  subresource?: string;
  hasStatus: boolean;
  node: SchemaNode;
  /** RFC 3339 time for the entry. */
  now: string;
}

/**
 * Server-side apply: the merged object, with its `metadata.managedFields` updated. Throws the
 * 409 conflict error when the applied configuration changes fields other managers own and
 * `force` is false.
 */
export function apply(input: ApplyInput): KubeObject {
  const { live, manager, apiVersion, force, subresource, hasStatus, node, now } = input;
  const applied = clone(input.applied);
  // What the applier may set: status is reset on the main resource, everything else on status.
  if (subresource === 'status') {
    for (const k of Object.keys(applied)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(k)) delete applied[k];
  } else if (hasStatus) {
    delete applied.status;
  }
  const appliedSet = stripUnmanaged(toFieldSet(applied, node), subresource, hasStatus);
  const managers = decodeManagedFields(live?.metadata.managedFields);
  const key = managerKey({ manager, operation: 'Apply', subresource });
  const prev = managers.get(key)?.set ?? new FieldSet();

  const base = live ?? ({ metadata: {} } as KubeObject);
  const appliedBody = clone(applied);
  const meta = { ...(appliedBody.metadata ?? {}) };
  for (const f of ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds']) delete meta[f];
  appliedBody.metadata = meta;
  let merged = mergeApplied(base, appliedBody, node) as KubeObject;

  // Conflicts: fields the apply changes that another manager owns.
  const changed = compare(base, merged, node);
  const changedSet = stripUnmanaged(changed.modified.union(changed.removed), subresource, hasStatus);
  const conflicts: { manager: ManagedFieldsEntry; path: string[] }[] = [];
  for (const [k, m] of managers) {
    if (k === key) continue;
    for (const p of changedSet.intersection(m.set)) conflicts.push({ manager: m.entry, path: p });
  }
  if (conflicts.length && !force) throw conflictError(conflicts);
  if (conflicts.length) {
    const taken = FieldSet.fromPaths(conflicts.map((c) => c.path));
    for (const [k, m] of managers) if (k !== key) m.set = m.set.minus(taken);
  }

  // Fields this manager applied before and no longer does go, unless someone else owns them.
  const dropped = prev.minus(appliedSet);
  if (!dropped.empty) {
    const others = new FieldSet();
    for (const [k, m] of managers) if (k !== key) others.union(m.set);
    // A path the applied configuration still reaches into (a map it now sets entries of, rather
    // than owning whole) stays; so does anything another manager owns.
    const removable = FieldSet.fromPaths(dropped.paths().filter((p) => !others.hasWithin(p) && !appliedSet.hasWithin(p)));
    if (!removable.empty) merged = removeFields(merged, removable, node) as KubeObject;
  }

  managers.set(key, { entry: { manager, operation: 'Apply', apiVersion, time: now, ...(subresource ? { subresource } : {}) }, set: appliedSet });
  // Fields that changed value now belong to the applier only (others keep what is still theirs).
  merged.metadata = { ...merged.metadata };
  const entries = encodeManagedFields(managers);
  if (entries.length) merged.metadata.managedFields = entries;
  else delete merged.metadata.managedFields;
  return merged;
}

export interface UpdateInput {
  old: KubeObject | undefined;
  next: KubeObject;
  manager: string;
  apiVersion: string;
  subresource?: string;
  hasStatus: boolean;
  node: SchemaNode;
  now: string;
}

/**
 * Records a non-apply write (create, update, patch) in `next.metadata.managedFields`: the fields
 * it added or changed become the manager's (an `Update` entry) and leave other managers; removed
 * fields leave every manager. Mutates `next`.
 */
export function recordUpdate(input: UpdateInput): void {
  const { old, next, manager, apiVersion, subresource, hasStatus, node, now } = input;
  const managers = decodeManagedFields(old?.metadata.managedFields);
  const cmp = compare(old ?? { metadata: {} }, next, node);
  const changed = stripUnmanaged(cmp.added.union(cmp.modified), subresource, hasStatus);
  const removed = stripUnmanaged(cmp.removed, subresource, hasStatus);
  const key = managerKey({ manager, operation: 'Update', apiVersion, subresource });
  for (const [k, m] of managers) {
    let s = m.set.minusSubtrees(removed);
    if (k !== key) s = s.minus(changed);
    m.set = s;
  }
  if (!changed.empty) {
    const cur = managers.get(key);
    const set = (cur?.set ?? new FieldSet()).union(changed);
    managers.set(key, { entry: { manager, operation: 'Update', apiVersion, time: now, ...(subresource ? { subresource } : {}) }, set });
  }
  const entries = encodeManagedFields(managers);
  if (entries.length) next.metadata.managedFields = entries;
  else delete next.metadata.managedFields;
}

/**
 * The default field manager of a request without `fieldManager`: its User-Agent up to the first
 * `/` (k8s.io/apiserver prefixFromUserAgent), at most 128 characters.
 */
export function managerFromUserAgent(ua: string | undefined): string | undefined {
  if (!ua) return undefined;
  const i = ua.indexOf('/');
  const s = (i >= 0 ? ua.slice(0, i) : ua).slice(0, 128);
  return s || undefined;
}

/** What the store tells the field manager about a write. */
export interface FieldManagerWrite {
  /** `fieldManager` of the request. */
  fieldManager?: string;
  /** The manager to record when the request names none (its User-Agent's product; HTTP only). */
  defaultFieldManager?: string;
  subresource?: string;
  force?: boolean;
}

/**
 * Keeps `metadata.managedFields` for the object store. Writes that name a manager (every HTTP
 * request does, by `fieldManager` or User-Agent) are recorded; in-process writes without one
 * (controllers) are recorded as `berth` only on objects that already carry managed fields, so
 * the objects controllers make and churn (Pods, ReplicaSets) pay nothing for it.
 */
export class FieldManager {
  constructor(
    /** The schema of a kind (cached by the caller). */
    private readonly node: (r: { group: string; version: string; kind: string }) => SchemaNode,
    private readonly now: () => string,
  ) {}

  /**
   * Sets `next.metadata.managedFields` for a create (`old` undefined) or update. `requested` is
   * what the request body said: managed fields a client sets explicitly are kept as given (so
   * kubectl can migrate client-side apply ownership); `[{}]` strips them; `[]` or the current
   * ones leave them to be tracked.
   */
  recordWrite(r: { group: string; version: string; kind: string; subresources: string[] }, old: KubeObject | undefined, next: KubeObject, requested: unknown, w: FieldManagerWrite): void {
    const current = old?.metadata.managedFields;
    if (Array.isArray(requested) && requested.length > 0 && !deepEqual(requested, current)) {
      if (requested.every((e) => isObject(e) && Object.keys(e).length === 0)) {
        delete next.metadata.managedFields;
        return;
      }
      decodeManagedFields(requested); // validates
      next.metadata.managedFields = requested as unknown[];
      return;
    }
    if (current === undefined) delete next.metadata.managedFields;
    else next.metadata.managedFields = current;
    const manager = w.fieldManager ?? w.defaultFieldManager;
    if (!manager && !(Array.isArray(current) && current.length)) return;
    recordUpdate({
      old,
      next,
      manager: manager ?? 'berth',
      apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
      ...(w.subresource ? { subresource: w.subresource } : {}),
      hasStatus: r.subresources.includes('status'),
      node: this.node(r),
      now: this.now(),
    });
  }

  /** Server-side apply of `applied` onto `live` (undefined: the apply creates it). See `apply`. */
  apply(r: { group: string; version: string; kind: string; subresources: string[] }, live: KubeObject | undefined, applied: KubeObject, w: FieldManagerWrite): KubeObject {
    if (!w.fieldManager) throw badRequest('PATCH requests with content type application/apply-patch+yaml must set the fieldManager query parameter');
    let base = live;
    // An object nobody has managed yet: what it holds belongs to "before-first-apply", so an
    // apply that changes it conflicts, as in Kubernetes.
    if (live && !(Array.isArray(live.metadata.managedFields) && live.metadata.managedFields.length)) {
      base = clone(live);
      const set = stripUnmanaged(toFieldSet(live, this.node(r)), w.subresource, r.subresources.includes('status'));
      base.metadata.managedFields = set.empty ? [] : [{ manager: 'before-first-apply', operation: 'Update', apiVersion: r.group ? `${r.group}/${r.version}` : r.version, fieldsType: 'FieldsV1', fieldsV1: set.toFieldsV1() }];
    }
    return apply({
      live: base,
      applied,
      manager: w.fieldManager,
      apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
      force: !!w.force,
      ...(w.subresource === 'status' ? { subresource: 'status' } : {}),
      hasStatus: r.subresources.includes('status'),
      node: this.node(r),
      now: this.now(),
    });
  }
}
