/**
 * The API layer's object store: Kubernetes REST semantics over a storage Backend. Both the HTTP
 * routes and the in-process client call it, so a controller in the same process and kubectl over
 * HTTP see exactly the same behaviour: defaulting, validation, admission, resourceVersion and
 * generation, finalizers and graceful deletion, selectors, pagination, and watch.
 */
import type { Clock } from '../clock/clock.js';
import { rfc3339 } from '../clock/clock.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  forbidden,
  invalid,
  namespaceTerminating,
  notFound,
  StatusError,
  unsupportedMediaType,
  internalError,
  fieldRequired,
  type FieldError,
} from '../api/errors.js';
import { hooksKey, type KindHooks } from '../api/hooks.js';
import { parseSelector, Selector, SelectorError } from '../api/labels.js';
import { clone, deepEqual, newUid, randomSuffix } from '../api/meta.js';
import { groupVersion, objectKey, resourcePrefix, type ResourceInfo, type ResourceRegistry } from '../api/resources.js';
import type { KubeList, KubeObject, WatchEvent } from '../api/types.js';
import { CompactedError, KeyExistsError, KeyNotFoundError, RevisionMismatchError, type Backend, type KeyValue, type StorageEvent } from '../storage/types.js';
import { matchesFields, parseFieldSelector, type FieldRequirement } from './fieldselector.js';
import { checkTypes } from './fieldvalidation.js';
import { FieldManager } from './managedfields.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch/patch.js';
import { omitEmptyStatus, schemaNodeFor } from './schema.js';

/** What an admission plugin sees. `store` lets it read other objects (never write). */
export interface AdmissionRequest {
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  resource: ResourceInfo;
  subresource?: string;
  namespace?: string;
  name: string;
  /** The object being written (mutable in the `admit` phase). Absent on DELETE. */
  object?: KubeObject;
  oldObject?: KubeObject;
  store: ObjectStore;
  dryRun: boolean;
  /**
   * Where a plugin puts warnings for the client (the HTTP layer sends each as a `Warning: 299 -`
   * header, as kube-apiserver does with an admission response's `warnings`); absent when the
   * caller does not collect them.
   */
  warnings?: string[];
  /** Where a plugin puts annotations for the request's audit event (`key` → value); absent when not collected. */
  auditAnnotations?: Record<string, string>;
}

/**
 * An admission plugin (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/):
 * `admit` may change the object, `validate` may only reject it by throwing a StatusError.
 */
export interface AdmissionPlugin {
  readonly name: string;
  admit?(req: AdmissionRequest): void | Promise<void>;
  validate?(req: AdmissionRequest): void | Promise<void>;
}

/** The warning and audit-annotation collectors of a write, as AdmissionRequest fields. */
function admissionOut(opts: WriteOptions): Pick<AdmissionRequest, 'warnings' | 'auditAnnotations'> {
  return { ...(opts.warnings ? { warnings: opts.warnings } : {}), ...(opts.auditAnnotations ? { auditAnnotations: opts.auditAnnotations } : {}) };
}

/** Something that happened to an object, told to `onCommit` listeners after it is stored. */
export interface CommitEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: ResourceInfo;
  object: KubeObject;
  oldObject?: KubeObject;
}

export interface StoreOptions {
  backend: Backend;
  registry: ResourceRegistry;
  clock: Clock;
  /** Defaulting and validation per kind, keyed `group/Kind`. */
  hooks: Map<string, KindHooks>;
  /** Admission plugins in order; mutating phases run first, then validating ones. */
  admission?: AdmissionPlugin[];
  /**
   * Uniform [0, 1) source for `metadata.uid` and `generateName` suffixes (default: the system's
   * secure generator). `berth simulate` passes a seeded one so a run repeats exactly.
   */
  random?: () => number;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  /** `status` or `scale` for subresource writes. */
  subresource?: string;
  /** Writes by berth itself (the catalogue loader) may touch read-only kinds. */
  system?: boolean;
  /** `Strict`, `Warn` or `Ignore` (`fieldValidation`); recorded for the caller. */
  fieldValidation?: string;
  /** Server-side apply: take fields other managers own. */
  force?: boolean;
  /**
   * The manager recorded in `metadata.managedFields` when `fieldManager` is not set (the HTTP
   * layer passes the User-Agent's product, as Kubernetes does).
   */
  defaultFieldManager?: string;
  /** Internal: the body's `metadata.managedFields` are already final (server-side apply made them). */
  keepManagedFields?: boolean;
  /** Collects admission warnings (see AdmissionRequest.warnings); filled in place. */
  warnings?: string[];
  /** Collects audit annotations from admission (see AdmissionRequest.auditAnnotations); filled in place. */
  auditAnnotations?: Record<string, string>;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Start after this revision; absent or `0`: send the current objects as ADDED first. */
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /** Send current objects as ADDED, then a BOOKMARK marked `k8s.io/initial-events-end`. */
  sendInitialEvents?: boolean;
  /** Interval between BOOKMARK events when asked for, ms of real time (default 60 s). */
  bookmarkIntervalMs?: number;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** The media type of each patch type, as clients send it. */
export const PATCH_CONTENT_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

/** Finalizers the garbage collector acts on (metav1.FinalizerOrphanDependents, FinalizerDeleteDependents). */
export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

const MAX_PATCH_RETRIES = 5;

interface Decoded {
  obj: KubeObject;
}

/**
 * Kubernetes object semantics over a Backend. Every method throws StatusError for what a client
 * did wrong (NotFound, AlreadyExists, Conflict, Invalid, BadRequest, Forbidden, Expired).
 */
export class ObjectStore {
  readonly backend: Backend;
  readonly registry: ResourceRegistry;
  readonly clock: Clock;
  private readonly hooks: Map<string, KindHooks>;
  private readonly admission: AdmissionPlugin[];
  private readonly random: (() => number) | undefined;
  /** Keeps `metadata.managedFields` and does server-side apply. */
  readonly fields: FieldManager;
  private readonly commitListeners = new Set<(e: CommitEvent) => void | Promise<void>>();
  /** One decoded object per stored event, shared by every in-process watcher (read-only). */
  private readonly eventObjects = new WeakMap<StorageEvent, Decoded>();

  constructor(opts: StoreOptions) {
    this.backend = opts.backend;
    this.registry = opts.registry;
    this.clock = opts.clock;
    this.hooks = opts.hooks;
    this.admission = opts.admission ?? [];
    this.random = opts.random;
    this.fields = new FieldManager(schemaNodeFor, () => rfc3339(this.clock.now()));
  }

  /** Adds an admission plugin at the end of the chain. */
  addAdmission(p: AdmissionPlugin): void {
    this.admission.push(p);
  }

  /** Adds defaulting/validation for a kind. */
  setHooks(group: string, kind: string, hooks: KindHooks): void {
    this.hooks.set(hooksKey(group, kind), hooks);
  }

  /** Listens to every committed write (after storage); awaited before the write returns. */
  onCommit(fn: (e: CommitEvent) => void | Promise<void>): () => void {
    this.commitListeners.add(fn);
    return () => this.commitListeners.delete(fn);
  }

  /** Runs the commit listeners in order; synchronous ones cost no promise (this runs on every write). */
  private committed(e: CommitEvent): Promise<void> | undefined {
    this.invalidateCached(e.resource);
    const it = this.commitListeners.values();
    for (let n = it.next(); !n.done; n = it.next()) {
      const r = n.value(e);
      if (r) return this.committedRest(r, it, e);
    }
    return undefined;
  }

  private async committedRest(first: Promise<void>, it: Iterator<(e: CommitEvent) => void | Promise<void>>, e: CommitEvent): Promise<void> {
    await first;
    for (let n = it.next(); !n.done; n = it.next()) await n.value(e);
  }

  // ---------------------------------------------------------------------------------------------
  // Cached reads for admission (what kube-apiserver's admission plugins read from informers)

  /** `group/resource|namespace` → the objects of a cached list (read-only, shared). */
  private readonly listCache = new Map<string, KubeObject[]>();
  /** `group/resource` → bumped by every commit of that resource while it has cached lists. */
  private readonly cacheGen = new Map<string, number>();

  /**
   * The objects of resource `r` in `namespace` (all namespaces when undefined), read once and
   * re-read after any write to that resource commits through this store: kube-apiserver's
   * ResourceQuota, LimitRanger and NamespaceLifecycle admission read these from informers rather
   * than from storage on every request. The objects are shared: callers must not change them.
   * On etcd, where several servers share the store and another's commits never reach this one,
   * every call reads the store.
   */
  async cachedList(r: ResourceInfo, namespace: string | undefined): Promise<readonly KubeObject[]> {
    // On etcd other servers write too, and their commits do not pass through this store: read the store.
    if (this.backend.kind === 'etcd') return (await this.list(r, namespace)).items;
    const id = `${r.group}/${r.resource}`;
    const key = `${id}|${namespace ?? ''}`;
    const hit = this.listCache.get(key);
    if (hit) return hit;
    if (!this.cacheGen.has(id)) this.cacheGen.set(id, 0);
    const gen = this.cacheGen.get(id);
    const { items } = await this.list(r, namespace);
    // A write of this resource committed while the list was read: do not keep what may predate it.
    if (this.cacheGen.get(id) === gen) this.listCache.set(key, items);
    return items;
  }

  /** Each cached list by object name. */
  private readonly cachedByName = new WeakMap<readonly KubeObject[], Map<string, KubeObject>>();

  /** One object as `cachedList` sees it (read-only, shared), or undefined. */
  async cachedGet(r: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const all = await this.cachedList(r, r.namespaced ? namespace : undefined);
    let byName = this.cachedByName.get(all);
    if (!byName) this.cachedByName.set(all, (byName = new Map(all.map((o) => [o.metadata.name!, o]))));
    return byName.get(name);
  }

  private invalidateCached(r: ResourceInfo): void {
    if (this.cacheGen.size === 0) return;
    const id = `${r.group}/${r.resource}`;
    const gen = this.cacheGen.get(id);
    if (gen === undefined) return;
    this.cacheGen.set(id, gen + 1);
    for (const key of this.listCache.keys()) if (key.startsWith(`${id}|`)) this.listCache.delete(key);
  }

  // ---------------------------------------------------------------------------------------------
  // Encoding

  private encode(obj: KubeObject): string {
    const rv = obj.metadata.resourceVersion;
    delete obj.metadata.resourceVersion;
    const s = JSON.stringify(obj);
    if (rv !== undefined) obj.metadata.resourceVersion = rv;
    return s;
  }

  private decode(kv: KeyValue): KubeObject {
    const obj = JSON.parse(kv.value) as KubeObject;
    obj.metadata.resourceVersion = String(kv.revision);
    return obj;
  }

  private decodeEvent(ev: StorageEvent): KubeObject {
    let d = this.eventObjects.get(ev);
    if (!d) {
      const obj = JSON.parse(ev.value) as KubeObject;
      obj.metadata.resourceVersion = String(ev.revision);
      d = { obj };
      this.eventObjects.set(ev, d);
    }
    return d.obj;
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  /** One object. Throws NotFound. */
  async get(r: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    const kv = await this.backend.get(objectKey(r, namespace, name));
    if (!kv) throw notFound(r.resource, name, r.group || undefined);
    return this.withType(r, this.decode(kv));
  }

  /** One object, or undefined. */
  async tryGet(r: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const kv = await this.backend.get(objectKey(r, namespace, name));
    return kv ? this.withType(r, this.decode(kv)) : undefined;
  }

  /** Objects of a resource, in one namespace or all (`namespace` undefined), filtered and paged. */
  async list(r: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList> {
    const labels = compileLabels(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector, r);
    const prefix = r.namespaced && namespace ? `${resourcePrefix(r)}${namespace}/` : resourcePrefix(r);
    let startAfter: string | undefined;
    let listRv: number | undefined;
    let before = 0;
    if (opts.continue) {
      const c = decodeContinue(opts.continue);
      startAfter = c.start;
      listRv = c.rv;
      before = c.n ?? 0;
      // The token pins the list to its first page's revision; once that is compacted the pages
      // no longer make one consistent list (Kubernetes's ResourceExpired for continue tokens).
      if (c.rv < (await this.backend.compactedRevision())) {
        throw expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const items: KubeObject[] = [];
    let more = false;
    let lastKey: string | undefined;
    let revision = 0;
    const filtering = !labels.empty || fields.length > 0;
    for (;;) {
      const page = await this.backend.list(prefix, { limit: limit ? (filtering ? Math.max(limit, 500) : limit) : 0, ...(startAfter !== undefined ? { startAfter } : {}) });
      revision = page.revision;
      for (const kv of page.items) {
        if (limit && items.length >= limit) {
          more = true;
          break;
        }
        lastKey = kv.key;
        const obj = this.decode(kv);
        if (filtering && !(labels.matches(obj.metadata.labels) && matchesFields(this.withType(r, obj), fields))) continue;
        items.push(this.withType(r, obj));
      }
      if (more || !page.more) {
        if (!more && page.more) more = true;
        break;
      }
      if (limit && items.length >= limit) {
        more = true;
        break;
      }
      startAfter = page.items.at(-1)!.key;
    }
    const rv = listRv ?? revision;
    const meta: KubeList['metadata'] = { resourceVersion: String(rv) };
    if (more && lastKey !== undefined) {
      meta.continue = encodeContinue(rv, lastKey, before + items.length);
      // How many items the next pages hold, when no selector filters them (as Kubernetes).
      if (!filtering) meta.remainingItemCount = Math.max(0, (await this.backend.count(prefix)) - before - items.length);
    }
    return { apiVersion: groupVersion(r), kind: r.listKind, metadata: meta, items };
  }

  private withType(r: ResourceInfo, obj: KubeObject): KubeObject {
    // A kind served in versions with different schemas is stored in one of them and converted.
    if (r.conversion) return r.conversion.fromStorage(obj);
    // A custom resource is served under each served version of its CRD from one stored copy, its
    // apiVersion rewritten (the "None" conversion strategy). Decoded watch objects are shared
    // between watchers, so the rewrite is a shallow copy.
    if (r.crd && obj.apiVersion && obj.apiVersion !== groupVersion(r)) return { ...obj, apiVersion: groupVersion(r) };
    if (!obj.apiVersion) obj.apiVersion = groupVersion(r);
    if (!obj.kind) obj.kind = r.kind;
    return obj;
  }

  // ---------------------------------------------------------------------------------------------
  // Create

  /** Creates an object. Throws AlreadyExists, Invalid, BadRequest, NotFound (namespace), Forbidden. */
  async create(r: ResourceInfo, namespace: string | undefined, input: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    if (r.readOnly && !opts.system) throw forbidden(r.resource, input?.metadata?.name ?? '', `${r.resource} are read-only: they come from berth's catalogue`);
    const obj = this.toStored(r, this.checkBody(r, namespace, input));
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + (this.random ? randomSuffix(5, this.random) : randomSuffix());
    if (!meta.name) throw invalid(r.kind, '', [fieldRequired('metadata.name', 'name or generateName is required')], r.group || undefined);
    if (r.namespaced) await this.checkNamespace(r, meta.namespace!, meta.name);
    meta.uid = newUid(this.random);
    meta.creationTimestamp = rfc3339(this.clock.now());
    meta.generation = 1;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (r.subresources.includes('status') && !KEEP_STATUS_ON_CREATE.has(r.kind)) delete obj.status;
    this.defaultAndValidate(r, obj);
    if (!opts.keepManagedFields) this.fields.recordWrite(r, undefined, obj, input.metadata?.managedFields, opts);
    await this.runAdmission({ operation: 'CREATE', resource: r, namespace: meta.namespace, name: meta.name, object: obj, store: this, dryRun: !!opts.dryRun, ...admissionOut(opts) });
    omitEmptyStatus(obj, schemaNodeFor(r));
    if (opts.dryRun) return this.withType(r, obj);
    const key = objectKey(r, meta.namespace, meta.name);
    let kv: KeyValue;
    try {
      kv = await this.backend.create(key, this.encode(obj));
    } catch (e) {
      if (e instanceof KeyExistsError) {
        if (input.metadata?.generateName && !input.metadata.name) return this.create(r, namespace, input, opts);
        throw alreadyExists(r.resource, meta.name, r.group || undefined);
      }
      throw e;
    }
    obj.metadata.resourceVersion = String(kv.revision);
    await this.committed({ type: 'ADDED', resource: r, object: obj });
    return this.withType(r, obj);
  }

  /** The body in its stored version (unchanged unless the kind has `conversion`). */
  private toStored(r: ResourceInfo, obj: KubeObject): KubeObject {
    return r.conversion ? r.conversion.toStorage(obj) : obj;
  }

  /** Type and namespace checks shared by create and update; returns a copy to work on. */
  private checkBody(r: ResourceInfo, namespace: string | undefined, input: KubeObject): KubeObject {
    if (!input || typeof input !== 'object' || Array.isArray(input)) throw badRequest('the request body must be a JSON object');
    const obj = clone(input);
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) throw badRequest('metadata must be an object');
    const gv = groupVersion(r);
    if (obj.apiVersion !== undefined && obj.apiVersion !== gv) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${gv})`);
    }
    if (obj.kind !== undefined && obj.kind !== r.kind) throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${r.kind})`);
    // Values of the wrong JSON type are refused before anything defaults or validates them.
    checkTypes(r, obj);
    obj.apiVersion = gv;
    obj.kind = r.kind;
    if (r.namespaced) {
      const ns = namespace ?? obj.metadata.namespace;
      if (!ns) throw badRequest('the namespace of the object must be set');
      if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== '' && obj.metadata.namespace !== ns) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = ns;
    } else {
      delete obj.metadata.namespace;
    }
    return obj;
  }

  /** NamespaceLifecycle: the namespace must exist and not be terminating. */
  private async checkNamespace(r: ResourceInfo, namespace: string, name: string): Promise<void> {
    const nsInfo = this.registry.get('', 'v1', 'namespaces')!;
    const ns = await this.cachedGet(nsInfo, undefined, namespace);
    if (!ns) throw notFound('namespaces', namespace);
    if (ns.metadata.deletionTimestamp) throw namespaceTerminating(namespace, r.resource, name);
  }

  private defaultAndValidate(r: ResourceInfo, obj: KubeObject, old?: KubeObject): void {
    const h = this.hooks.get(hooksKey(r.group, r.kind));
    h?.default?.(obj);
    let errors: FieldError[];
    try {
      errors = h?.validate ? h.validate(obj, old) : defaultValidate(obj);
    } catch (e) {
      if (e instanceof StatusError) throw e;
      throw internalError(`validating ${r.kind}: ${(e as Error).message}`);
    }
    if (errors.length) throw invalid(r.kind, obj.metadata.name ?? '', errors, r.group || undefined);
  }

  private async runAdmission(req: AdmissionRequest): Promise<void> {
    for (const p of this.admission) if (p.admit) await p.admit(req);
    for (const p of this.admission) if (p.validate) await p.validate(req);
  }

  // ---------------------------------------------------------------------------------------------
  // Update

  /**
   * Replaces an object (PUT), or its `status` with `opts.subresource = 'status'`. A
   * `metadata.resourceVersion` in the body must match (Conflict otherwise). Removing the last
   * finalizer of an object being deleted deletes it. A write that changes nothing is not stored.
   */
  async update(r: ResourceInfo, namespace: string | undefined, name: string, input: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    if (r.readOnly && !opts.system) throw forbidden(r.resource, name, `${r.resource} are read-only: they come from berth's catalogue`);
    const key = objectKey(r, namespace, name);
    const kv = await this.backend.get(key);
    if (!kv) throw notFound(r.resource, name, r.group || undefined);
    return this.updateFrom(r, namespace, name, kv, input, opts);
  }

  private async updateFrom(r: ResourceInfo, namespace: string | undefined, name: string, kv: KeyValue, input: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    if (!r.conversion) return this.updateStored(r, namespace, name, kv, input, opts);
    return this.withType(r, await this.updateStored(r, namespace, name, kv, input, opts));
  }

  /** An update worked out on the stored form (the same as the served one unless the kind has `conversion`). */
  private async updateStored(r: ResourceInfo, namespace: string | undefined, name: string, kv: KeyValue, input: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    const current = r.conversion ? this.decode(kv) : this.withType(r, this.decode(kv));
    const obj = this.toStored(r, this.checkBody(r, namespace, input));
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    obj.metadata.name = name;
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) throw conflict(r.resource, name, r.group || undefined);

    let next: KubeObject;
    if (opts.subresource === 'status') {
      next = clone(current);
      next.status = obj.status;
      // A status write may also carry metadata a controller owns (conditions are in status).
    } else {
      next = obj;
      if (r.subresources.includes('status')) {
        if (current.status === undefined) delete next.status;
        else next.status = current.status;
      }
      const m = next.metadata;
      const c = current.metadata;
      m.uid = c.uid;
      m.creationTimestamp = c.creationTimestamp;
      if (c.deletionTimestamp) {
        m.deletionTimestamp = c.deletionTimestamp;
        if (c.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = c.deletionGracePeriodSeconds;
      } else {
        delete m.deletionTimestamp;
        delete m.deletionGracePeriodSeconds;
      }
      if (m.generateName === undefined && c.generateName !== undefined) m.generateName = c.generateName;
    }
    next.metadata.generation = current.metadata.generation ?? 1;
    if (specChanged(r, current, next)) next.metadata.generation += 1;
    next.metadata.resourceVersion = current.metadata.resourceVersion!;

    if (opts.subresource !== 'status') this.defaultAndValidate(r, next, current);
    if (!opts.keepManagedFields) this.fields.recordWrite(r, current, next, opts.subresource === 'status' ? undefined : obj.metadata.managedFields, opts);
    await this.runAdmission({ operation: 'UPDATE', resource: r, namespace: next.metadata.namespace, name, object: next, oldObject: current, store: this, dryRun: !!opts.dryRun, ...(opts.subresource ? { subresource: opts.subresource } : {}), ...admissionOut(opts) });

    // A Pod in graceful termination goes only when its node's kubelet deletes it with grace 0, not
    // on a status write (Kubernetes's shouldDeleteDuringUpdate: grace period nil or 0 only).
    const graceful = r.kind === 'Pod' && r.group === '' && (current.metadata.deletionGracePeriodSeconds ?? 0) > 0;
    if (current.metadata.deletionTimestamp && !graceful && !(next.metadata.finalizers ?? []).length && !(r.kind === 'Namespace' && nsFinalizers(next).length)) {
      // The last finalizer is gone: the object goes.
      if (opts.dryRun) return next;
      return this.removeNow(r, kv.key, current, Number(current.metadata.resourceVersion));
    }
    omitEmptyStatus(next, schemaNodeFor(r));
    if (deepEqual(next, current)) return current;
    if (opts.dryRun) return next;
    let out: KeyValue;
    try {
      out = await this.backend.update(kv.key, this.encode(next), kv.revision);
    } catch (e) {
      if (e instanceof RevisionMismatchError) throw conflict(r.resource, name, r.group || undefined);
      if (e instanceof KeyNotFoundError) throw notFound(r.resource, name, r.group || undefined);
      throw e;
    }
    next.metadata.resourceVersion = String(out.revision);
    await this.committed({ type: 'MODIFIED', resource: r, object: next, oldObject: current });
    return next;
  }

  // ---------------------------------------------------------------------------------------------
  // Patch

  /**
   * Patches an object (or its status/scale subresource through `opts.subresource`). Retries on a
   * concurrent write unless the patch itself names a resourceVersion. `apply` creates a missing
   * object. Throws UnsupportedMediaType for a strategic patch of a custom resource.
   */
  async patch(r: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    if (type === 'strategic' && r.crd) throw unsupportedMediaType('application/strategic-merge-patch+json');
    const key = objectKey(r, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.backend.get(key);
      if (!kv) {
        if (type === 'apply') return this.createFromApply(r, namespace, name, body, opts);
        throw notFound(r.resource, name, r.group || undefined);
      }
      const current = this.withType(r, this.decode(kv));
      const base = current;
      let patched: KubeObject;
      switch (type) {
        case 'json':
          patched = applyJsonPatch(base, body);
          break;
        case 'merge':
          patched = applyMergePatch(base, body) as KubeObject;
          break;
        case 'strategic':
          patched = applyStrategicMergePatch(base, body) as KubeObject;
          break;
        case 'apply':
          patched = this.fields.apply(r, current, this.appliedConfig(r, name, body), opts);
          break;
      }
      // A patch that turned metadata into something else reads as Kubernetes's decoding error.
      if (patched && typeof patched === 'object' && (typeof patched.metadata !== 'object' || patched.metadata === null || Array.isArray(patched.metadata))) checkTypes(r, patched);
      if (!patched || typeof patched !== 'object' || !patched.metadata || typeof patched.metadata !== 'object' || Array.isArray(patched.metadata)) throw badRequest('the patch produced an object without metadata');
      const pinned = patched.metadata.resourceVersion !== undefined && patched.metadata.resourceVersion !== current.metadata.resourceVersion;
      if (!pinned) patched.metadata.resourceVersion = current.metadata.resourceVersion!;
      try {
        return await this.updateFrom(r, namespace, name, kv, patched, type === 'apply' ? { ...opts, keepManagedFields: true } : opts);
      } catch (e) {
        if (!pinned && e instanceof StatusError && e.reason === 'Conflict' && e.status.details?.causes?.[0]?.reason !== 'FieldManagerConflict' && attempt < MAX_PATCH_RETRIES) continue;
        throw e;
      }
    }
  }

  /**
   * A server-side apply body, checked: an object of this resource's apiVersion and kind whose
   * name, if given, is the one on the URL. Throws BadRequest.
   */
  private appliedConfig(r: ResourceInfo, name: string, body: unknown): KubeObject {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the applied configuration must be an object');
    const applied = body as KubeObject;
    if (applied.apiVersion !== groupVersion(r)) {
      throw badRequest(applied.apiVersion === undefined ? 'apiVersion must be set in the applied configuration' : `the API version in the data (${applied.apiVersion}) does not match the expected API version (${groupVersion(r)})`);
    }
    if (applied.kind !== r.kind) throw badRequest(applied.kind === undefined ? 'kind must be set in the applied configuration' : `the kind in the data (${applied.kind}) does not match the expected kind (${r.kind})`);
    if (applied.metadata !== undefined && (typeof applied.metadata !== 'object' || applied.metadata === null)) throw badRequest('metadata must be an object');
    if (applied.metadata?.name !== undefined && applied.metadata.name !== name) {
      throw badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`);
    }
    checkTypes(r, applied);
    return applied;
  }

  private async createFromApply(r: ResourceInfo, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions): Promise<KubeObject> {
    const obj = this.fields.apply(r, undefined, this.appliedConfig(r, name, body), opts);
    obj.metadata.name = name;
    return this.create(r, namespace, obj, { ...opts, keepManagedFields: true });
  }

  // ---------------------------------------------------------------------------------------------
  // Binding

  /**
   * Binds a Pod to a node (`POST pods/<name>/binding`), as the scheduler does: sets
   * `spec.nodeName` and the `PodScheduled=True` condition in one write, and copies the Binding's
   * `annotations` onto the pod (Kubernetes' `assignPod` in pkg/registry/core/pod/storage).
   * Throws NotFound, or Conflict when the pod is already bound or being deleted.
   */
  async bind(namespace: string, name: string, nodeName: string, uid?: string, annotations?: Record<string, string>): Promise<KubeObject> {
    const r = this.registry.get('', 'v1', 'pods')!;
    const key = objectKey(r, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.backend.get(key);
      if (!kv) throw notFound('pods', name);
      const pod = this.withType(r, this.decode(kv));
      const spec = pod.spec as { nodeName?: string };
      if (uid && pod.metadata.uid !== uid) throw conflict('pods', name, undefined, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata.uid}`);
      if (pod.metadata.deletionTimestamp) throw conflict('pods', name, undefined, 'pod is being deleted, cannot be assigned to a host');
      if (spec.nodeName) throw conflict('pods', name, undefined, `pod ${name} is already assigned to node "${spec.nodeName}"`);
      const next = clone(pod);
      (next.spec as { nodeName?: string }).nodeName = nodeName;
      if (annotations && Object.keys(annotations).length) next.metadata.annotations = { ...next.metadata.annotations, ...annotations };
      const status = (next.status ??= {}) as { conditions?: { type: string; status: string; lastProbeTime?: null; lastTransitionTime?: string; reason?: string; message?: string }[] };
      const conds = (status.conditions ??= []).filter((c) => c.type !== 'PodScheduled');
      conds.unshift({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(this.clock.now()) });
      status.conditions = conds;
      try {
        const out = await this.backend.update(key, this.encode(next), kv.revision);
        next.metadata.resourceVersion = String(out.revision);
      } catch (e) {
        if (e instanceof RevisionMismatchError && attempt < MAX_PATCH_RETRIES) continue;
        if (e instanceof RevisionMismatchError) throw conflict('pods', name);
        throw e;
      }
      await this.committed({ type: 'MODIFIED', resource: r, object: next, oldObject: pod });
      return next;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Delete

  /**
   * Deletes an object. Returns it as it was when deleted, or with `deletionTimestamp` set when its
   * deletion waits on finalizers (Foreground and Orphan propagation add them) or, for a Pod on a
   * node, on its graceful termination (the node agent then deletes it with grace 0).
   * Throws NotFound, Conflict (preconditions).
   */
  async delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    if (r.readOnly) throw forbidden(r.resource, name, `${r.resource} are read-only: they come from berth's catalogue`);
    const key = objectKey(r, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.backend.get(key);
      if (!kv) throw notFound(r.resource, name, r.group || undefined);
      const current = this.withType(r, this.decode(kv));
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== current.metadata.uid) {
        throw conflict(r.resource, name, r.group || undefined, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
        throw conflict(r.resource, name, r.group || undefined, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
      }
      await this.runAdmission({ operation: 'DELETE', resource: r, namespace, name, oldObject: current, store: this, dryRun: !!opts.dryRun });
      if (opts.dryRun) return current;
      try {
        if (r.conversion) return this.withType(r, await this.deleteOnce(r, kv, this.decode(kv), opts));
        return await this.deleteOnce(r, kv, current, opts);
      } catch (e) {
        if (e instanceof StatusError && e.reason === 'Conflict' && attempt < MAX_PATCH_RETRIES && !pre?.resourceVersion) continue;
        throw e;
      }
    }
  }

  private async deleteOnce(r: ResourceInfo, kv: KeyValue, current: KubeObject, opts: DeleteOptions): Promise<KubeObject> {
    const now = this.clock.now();
    const next = clone(current);
    const m = next.metadata;
    const finalizers = new Set(m.finalizers ?? []);
    const policy = opts.propagationPolicy;
    if (policy === 'Foreground') {
      finalizers.delete(FINALIZER_ORPHAN);
      finalizers.add(FINALIZER_FOREGROUND);
    } else if (policy === 'Orphan') {
      finalizers.delete(FINALIZER_FOREGROUND);
      finalizers.add(FINALIZER_ORPHAN);
    } else if (policy === 'Background' && !current.metadata.deletionTimestamp) {
      finalizers.delete(FINALIZER_ORPHAN);
      finalizers.delete(FINALIZER_FOREGROUND);
    }

    if (r.kind === 'Namespace' && r.group === '') {
      if (!m.deletionTimestamp) {
        m.deletionTimestamp = rfc3339(now);
        m.deletionGracePeriodSeconds = 0;
        ((next.status ??= {}) as { phase?: string }).phase = 'Terminating';
        if (finalizers.size) m.finalizers = [...finalizers];
        return this.writeDeleting(r, kv, next, current);
      }
      if (nsFinalizers(next).length || finalizers.size) return current;
      return this.removeNow(r, kv.key, current, kv.revision);
    }

    // A Pod running on a node terminates gracefully: the node agent stops its containers.
    if (r.kind === 'Pod' && r.group === '') {
      const spec = current.spec as { nodeName?: string; terminationGracePeriodSeconds?: number };
      const phase = (current.status as { phase?: string } | undefined)?.phase;
      const grace = opts.gracePeriodSeconds ?? (m.deletionGracePeriodSeconds !== undefined ? m.deletionGracePeriodSeconds : (spec.terminationGracePeriodSeconds ?? 30));
      const running = spec.nodeName && phase !== 'Succeeded' && phase !== 'Failed';
      if (running && grace > 0) {
        const deadline = rfc3339(now + grace * 1000);
        if (m.deletionTimestamp && Date.parse(m.deletionTimestamp) <= Date.parse(deadline) && sameSet(finalizers, current.metadata.finalizers)) return current;
        m.deletionTimestamp = deadline;
        m.deletionGracePeriodSeconds = grace;
        if (finalizers.size) m.finalizers = [...finalizers];
        else delete m.finalizers;
        return this.writeDeleting(r, kv, next, current);
      }
    }

    if (finalizers.size) {
      if (!m.deletionTimestamp) {
        m.deletionTimestamp = rfc3339(now);
        m.deletionGracePeriodSeconds = opts.gracePeriodSeconds ?? 0;
      }
      m.finalizers = [...finalizers];
      if (deepEqual(next, current)) return current;
      return this.writeDeleting(r, kv, next, current);
    }
    return this.removeNow(r, kv.key, current, kv.revision);
  }

  private async writeDeleting(r: ResourceInfo, kv: KeyValue, next: KubeObject, current: KubeObject): Promise<KubeObject> {
    let out: KeyValue;
    try {
      out = await this.backend.update(kv.key, this.encode(next), kv.revision);
    } catch (e) {
      if (e instanceof RevisionMismatchError) throw conflict(r.resource, next.metadata.name!, r.group || undefined);
      if (e instanceof KeyNotFoundError) throw notFound(r.resource, next.metadata.name!, r.group || undefined);
      throw e;
    }
    next.metadata.resourceVersion = String(out.revision);
    await this.committed({ type: 'MODIFIED', resource: r, object: next, oldObject: current });
    return next;
  }

  private async removeNow(r: ResourceInfo, key: string, current: KubeObject, revision: number): Promise<KubeObject> {
    let out: KeyValue;
    try {
      out = await this.backend.delete(key, revision);
    } catch (e) {
      if (e instanceof RevisionMismatchError) throw conflict(r.resource, current.metadata.name!, r.group || undefined);
      if (e instanceof KeyNotFoundError) throw notFound(r.resource, current.metadata.name!, r.group || undefined);
      throw e;
    }
    const gone = clone(current);
    gone.metadata.resourceVersion = String(out.revision);
    await this.committed({ type: 'DELETED', resource: r, object: gone });
    return gone;
  }

  /** Deletes every object a list would return. Returns what was deleted or marked for deletion. */
  async deleteCollection(r: ResourceInfo, namespace: string | undefined, list: ListOptions, opts: DeleteOptions = {}): Promise<KubeList> {
    const items = (await this.list(r, namespace, { ...list, limit: 0 })).items;
    const out: KubeObject[] = [];
    for (const item of items) {
      try {
        out.push(await this.delete(r, item.metadata.namespace, item.metadata.name!, opts));
      } catch (e) {
        if (!(e instanceof StatusError && e.reason === 'NotFound')) throw e;
      }
    }
    return { apiVersion: groupVersion(r), kind: r.listKind, metadata: { resourceVersion: String(await this.backend.currentRevision()) }, items: out };
  }

  // ---------------------------------------------------------------------------------------------
  // Watch

  /**
   * Watch events for a resource (in one namespace or all), filtered by selectors. An object that
   * stops matching a selector arrives as DELETED, one that starts matching as ADDED, as the
   * Kubernetes watch cache does. Objects are shared between watchers: treat them as read-only.
   * Throws Expired (410) when `resourceVersion` is older than the compaction window.
   */
  async watch(r: ResourceInfo, namespace: string | undefined, opts: WatchOptions, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>> {
    const labels = compileLabels(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector, r);
    const prefix = r.namespaced && namespace ? `${resourcePrefix(r)}${namespace}/` : resourcePrefix(r);
    const rvText = opts.resourceVersion;
    if (rvText !== undefined && rvText !== '' && !/^\d+$/.test(rvText)) throw badRequest(`invalid resource version: ${rvText}`);
    // With sendInitialEvents the caller says whether it wants the current objects first (the
    // watch-list protocol); without it, an unset or "0" resourceVersion means it does.
    const initial = opts.sendInitialEvents ?? (rvText === undefined || rvText === '' || rvText === '0');
    const matches = (o: KubeObject): boolean => labels.matches(o.metadata.labels) && matchesFields(o, fields);

    let from: number;
    const initialObjects: KubeObject[] = [];
    if (initial) {
      // A consistent snapshot: list, then watch from the list's revision.
      const page = await this.backend.list(prefix);
      from = page.revision;
      for (const kv of page.items) {
        const o = this.withType(r, this.decode(kv));
        if (matches(o)) initialObjects.push(o);
      }
    } else {
      from = Number(rvText);
    }
    let events: AsyncIterable<StorageEvent>;
    try {
      events = this.backend.watch(prefix, from, signal);
    } catch (e) {
      if (e instanceof CompactedError) throw expired(`too old resource version: ${from} (${e.compacted})`);
      throw e;
    }
    return this.streamEvents(r, opts, events, from, initialObjects, matches, labels, fields);
  }

  private async *streamEvents(
    r: ResourceInfo,
    opts: WatchOptions,
    events: AsyncIterable<StorageEvent>,
    from: number,
    initialObjects: KubeObject[],
    matches: (o: KubeObject) => boolean,
    labels: Selector,
    fields: FieldRequirement[],
  ): AsyncGenerator<WatchEvent> {
    for (const o of initialObjects) yield { type: 'ADDED', object: o };
    if (opts.sendInitialEvents && opts.allowWatchBookmarks) {
      yield { type: 'BOOKMARK', object: bookmark(r, String(from), true) };
    }
    let lastRv = from;
    let bookmarkTimer: NodeJS.Timeout | undefined;
    const bookmarks: WatchEvent[] = [];
    let wakeBookmark: (() => void) | undefined;
    let bookmarkDue: Promise<'bookmark'> | undefined;
    if (opts.allowWatchBookmarks) {
      bookmarkTimer = setInterval(() => {
        bookmarks.push({ type: 'BOOKMARK', object: bookmark(r, String(lastRv), false) });
        wakeBookmark?.();
      }, opts.bookmarkIntervalMs ?? 60_000);
      bookmarkTimer.unref?.();
    }
    try {
      const iter = events[Symbol.asyncIterator]();
      let pending: Promise<IteratorResult<StorageEvent>> | undefined;
      for (;;) {
        pending ??= iter.next();
        let next: IteratorResult<StorageEvent>;
        if (bookmarkTimer) {
          // One wake-up promise until the timer fires, not one per event.
          bookmarkDue ??= new Promise<'bookmark'>((res) => (wakeBookmark = () => res('bookmark')));
          const won = await Promise.race([pending, bookmarkDue]);
          while (bookmarks.length) yield bookmarks.shift()!;
          if (won === 'bookmark') {
            bookmarkDue = undefined;
            continue;
          }
          next = won;
        } else {
          next = await pending;
        }
        pending = undefined;
        if (next.done) return;
        const ev = next.value;
        lastRv = ev.revision;
        const obj = this.withType(r, this.decodeEvent(ev));
        if (ev.type === 'delete') {
          if (matches(obj)) yield { type: 'DELETED', object: obj };
          continue;
        }
        const now = matches(obj);
        if (ev.type === 'create') {
          if (now) yield { type: 'ADDED', object: obj };
          continue;
        }
        let before = true;
        if (!labels.empty || fields.length) {
          const prev = this.withType(r, JSON.parse(ev.prevValue!) as KubeObject);
          before = matches(prev);
          if (before && !now) {
            prev.metadata.resourceVersion = String(ev.revision);
            yield { type: 'DELETED', object: prev };
            continue;
          }
        }
        if (now) yield { type: before ? 'MODIFIED' : 'ADDED', object: obj };
      }
    } catch (e) {
      if (e instanceof CompactedError) throw expired(`too old resource version: ${from} (${e.compacted})`);
      throw e;
    } finally {
      if (bookmarkTimer) clearInterval(bookmarkTimer);
    }
  }

  /** The store's current revision. */
  async currentRevision(): Promise<number> {
    return this.backend.currentRevision();
  }
}

/** Kinds whose status a client may set on create (nodes register with their capacity). */
const KEEP_STATUS_ON_CREATE = new Set(['Node', 'Namespace', 'Event', 'Lease', 'PersistentVolume', 'PersistentVolumeClaim', 'CustomResourceDefinition']);

function nsFinalizers(ns: KubeObject): string[] {
  return ((ns.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []) as string[];
}

function sameSet(a: Set<string>, b: string[] | undefined): boolean {
  const bs = new Set(b ?? []);
  if (a.size !== bs.size) return false;
  for (const x of a) if (!bs.has(x)) return false;
  return true;
}

/**
 * Whether a write changes what `metadata.generation` counts: everything but metadata and status
 * (for kinds without a status subresource, status changes count too, as for CRDs).
 */
function specChanged(r: ResourceInfo, a: KubeObject, b: KubeObject): boolean {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (k === 'metadata' || k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && r.subresources.includes('status')) continue;
    if (!deepEqual(a[k], b[k])) return true;
  }
  return false;
}

/** Validation for kinds with no hooks of their own: just the object's metadata. */
function defaultValidate(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (!obj.metadata.name) errs.push(fieldRequired('metadata.name'));
  return errs;
}

function compileLabels(s: string | undefined): Selector {
  try {
    return parseSelector(s);
  } catch (e) {
    if (e instanceof SelectorError) throw badRequest(`unable to parse requirement: ${e.message}`);
    throw e;
  }
}

function bookmark(r: ResourceInfo, rv: string, initialEnd: boolean): KubeObject {
  const metadata: KubeObject['metadata'] = { resourceVersion: rv };
  if (initialEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
  return { apiVersion: groupVersion(r), kind: r.kind, metadata };
}

/** A continue token: the list's revision, the last key served, and how many items were served before (`n`). */
function encodeContinue(rv: number, start: string, n: number): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start, n })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string; n?: number } {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { rv: number; start: string; n?: number };
    if (typeof c.rv !== 'number' || typeof c.start !== 'string' || (c.n !== undefined && typeof c.n !== 'number')) throw new Error('bad token');
    return c;
  } catch {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}
