/**
 * `berth apply`: kubectl's client-side apply, made all-or-nothing.
 *
 *   read every document ──▶ map each kind (discovery) ──▶ dry-run each on the server
 *        │ syntax error           │ unknown kind               │ any error
 *        ▼                        ▼                            ▼
 *   nothing applied          nothing applied              nothing applied
 *
 * Only when every document maps and passes its server-side dry run is anything written: each
 * object is created with the `kubectl.kubernetes.io/last-applied-configuration` annotation, or
 * patched with a three-way JSON merge patch (last applied, this document, the live object).
 * Documents whose namespace or CustomResourceDefinition an earlier document creates cannot be
 * dry-run before that document is applied; they are checked when written. If a write still fails,
 * apply stops there and says exactly which documents were and were not applied.
 */
import { StatusError } from '../api/errors.js';
import { canonicalJson, clone, deepEqual, isObject } from '../api/meta.js';
import { parseApiVersion, UnknownResourceError, type ResourceInfo } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import { threeWayMergePatch } from '../apiserver/patch/patch.js';
import { CliError, errorLine, ReportedError, statusLine } from './errors.js';
import { readManifests, type ManifestDoc } from './manifest.js';
import { kindPrefix } from './printers.js';
import type { Session } from './session.js';
import type { IO } from './types.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export interface ApplyOptions {
  filename: string[];
  recursive?: boolean;
  /** `none` (default), `server` or `client`. */
  dryRun?: string;
}

/** One document on its way to the server. */
interface Planned {
  doc: ManifestDoc;
  /** Resolved now, or when applied for a kind an earlier CRD document defines. */
  r?: ResourceInfo;
  /** Why the server-side dry run is skipped: the namespace or CRD comes from an earlier document. */
  deferred?: 'namespace' | 'crd';
  /** Scope when `r` is not known yet (from the CRD document). */
  namespaced: boolean;
  /** `kind.group` as printed before `/name`. */
  prefix: string;
  name: string;
  namespace?: string;
  /** The object to send: the document with its namespace and the last-applied annotation. */
  obj: KubeObject;
}

type Outcome = 'created' | 'configured' | 'unchanged';

export async function runApply(s: Session, io: IO, opts: ApplyOptions): Promise<void> {
  const dryRun = opts.dryRun ?? 'none';
  if (!['none', 'server', 'client'].includes(dryRun)) throw new CliError(`Invalid dry-run value (${dryRun}). Must be "none", "server", or "client".`);
  if (!opts.filename.length) throw new CliError('must specify one of -f and -k');
  const docs = await readManifests(opts.filename, !!opts.recursive, io);
  if (!docs.length) throw new CliError('no objects passed to apply');

  // Error lines by document index, printed in document order.
  const errors: [number, string][] = [];
  const planned: Planned[] = [];
  for (let i = 0; i < docs.length; i++) {
    const lines: string[] = [];
    const p = await plan(s, docs, i, dryRun === 'server', lines);
    for (const l of lines) errors.push([i, l]);
    if (p) planned.push(p);
  }

  // Dry-run every document that can be checked before anything is written.
  const dryRunResults = new Map<Planned, Outcome>();
  if (dryRun !== 'client') {
    for (const p of planned) {
      if (p.deferred || !p.r) continue;
      try {
        dryRunResults.set(p, await applyOne(s, io, p, p.r, true));
      } catch (e) {
        if (!(e instanceof StatusError)) throw e;
        errors.push([docs.indexOf(p.doc), validationLine(p, e)]);
      }
    }
  }
  if (errors.length) {
    errors.sort((a, b) => a[0] - b[0]);
    for (const [, line] of errors) io.stderr(`${line}\n`);
    throw new ReportedError(1);
  }

  if (dryRun === 'server') {
    for (const p of planned) io.stdout(`${p.prefix}/${p.name} ${dryRunResults.get(p) ?? 'created'} (server dry run)\n`);
    return;
  }
  if (dryRun === 'client') {
    for (const p of planned) {
      let outcome: Outcome = 'created';
      if (p.r) {
        const live = await getLive(s, p.r, p.namespace, p.name);
        if (live) outcome = Object.keys(computePatch(p.obj, live)).length ? 'configured' : 'unchanged';
      }
      io.stdout(`${p.prefix}/${p.name} ${outcome} (dry run)\n`);
    }
    return;
  }

  // Write, in document order.
  for (let i = 0; i < planned.length; i++) {
    const p = planned[i]!;
    try {
      const r = p.r ?? (await s.client.info(refOf(p.doc.obj)));
      if (!p.r) fixScope(p, r, s);
      const outcome = await applyOne(s, io, p, r, false);
      io.stdout(`${p.prefix}/${p.name} ${outcome}\n`);
    } catch (e) {
      // Whatever stopped it (the server's refusal, a lost connection), say what was written.
      if (e instanceof StatusError) io.stderr(`${statusLine(e, `error when applying "${p.doc.file}"`)}\n`);
      else if (e instanceof UnknownResourceError) io.stderr(`error: ${mappingError(p.doc, e.message)}\n`);
      else io.stderr(`${errorLine(e)}\n`);
      const files = [...new Set(planned.map((x) => x.doc.file))].join(', ');
      const rest = planned.slice(i).map((x) => `${x.prefix}/${x.name}`).join(', ');
      io.stderr(`applied ${i} of ${planned.length} documents from ${files}; not applied: ${rest}\n`);
      throw new ReportedError(1);
    }
  }
}

/** Checks and resolves one document; records an error line and returns undefined if it cannot be applied. */
async function plan(s: Session, docs: ManifestDoc[], i: number, serverDryRun: boolean, errors: string[]): Promise<Planned | undefined> {
  const doc = docs[i]!;
  const obj = doc.obj;
  if (!isObject(obj)) {
    errors.push(`error: ${doc.file}:${doc.line}: error validating data: the document is not an object`);
    return undefined;
  }
  const missing = [...(typeof obj.apiVersion === 'string' && obj.apiVersion ? [] : ['apiVersion not set']), ...(typeof obj.kind === 'string' && obj.kind ? [] : ['kind not set'])];
  if (missing.length) {
    errors.push(`error: ${doc.file}:${doc.line}: error validating data: [${missing.join(', ')}]`);
    return undefined;
  }
  if (!isObject(obj.metadata)) obj.metadata = {};
  const name = obj.metadata.name;
  if (typeof name !== 'string' || !name) {
    errors.push(`error: ${doc.file}:${doc.line}: ${obj.kind} "" is invalid: metadata.name: Required value: apply needs a name (generateName is not supported)`);
    return undefined;
  }

  let r: ResourceInfo | undefined;
  let namespaced: boolean;
  let deferred: Planned['deferred'];
  try {
    r = await s.client.info(refOf(obj));
    namespaced = r.namespaced;
  } catch (e) {
    if (!(e instanceof UnknownResourceError)) throw e;
    const crd = serverDryRun ? undefined : definingCrd(docs.slice(0, i), obj);
    if (!crd) {
      errors.push(`error: ${mappingError(doc, e.message)}`);
      return undefined;
    }
    namespaced = crd.namespaced;
    deferred = 'crd';
  }

  let namespace: string | undefined;
  if (namespaced) {
    const own = typeof obj.metadata.namespace === 'string' && obj.metadata.namespace ? obj.metadata.namespace : undefined;
    if (own && s.namespaceExplicit && own !== s.namespace) {
      errors.push(`error: the namespace from the provided object "${own}" does not match the namespace "${s.namespace}". You must pass '--namespace=${own}' to perform this operation.`);
      return undefined;
    }
    namespace = own ?? s.namespace;
    // Only a namespace that does not exist yet makes the dry run impossible.
    if (!deferred && !serverDryRun && docs.slice(0, i).some((d) => isNamespaceDoc(d.obj, namespace!)) && !(await namespaceExists(s, namespace))) deferred = 'namespace';
  }

  const { group } = parseApiVersion(obj.apiVersion!);
  const sent = clone(obj);
  if (namespaced) sent.metadata.namespace = namespace;
  setLastApplied(sent, sent);
  return {
    doc,
    ...(r ? { r } : {}),
    ...(deferred ? { deferred } : {}),
    namespaced,
    prefix: kindPrefix({ kind: obj.kind!, group }),
    name,
    ...(namespace ? { namespace } : {}),
    obj: sent,
  };
}

/** For a kind resolved only at write time: its scope may differ from what the CRD document said. */
function fixScope(p: Planned, r: ResourceInfo, s: Session): void {
  if (r.namespaced && !p.namespace) {
    p.namespace = s.namespace;
    p.obj.metadata.namespace = s.namespace;
  }
  if (!r.namespaced) {
    delete p.namespace;
    delete p.obj.metadata.namespace;
  }
  setLastApplied(p.obj, p.obj);
}

/**
 * Creates or patches one object (a server-side dry run with `dryRun`). Returns what happened.
 * Throws StatusError.
 */
async function applyOne(s: Session, io: IO, p: Planned, r: ResourceInfo, dryRun: boolean): Promise<Outcome> {
  const t = s.client.transport;
  const live = await getLive(s, r, p.namespace, p.name);
  if (!live) {
    await t.create(r, p.namespace, p.obj, { dryRun, fieldManager: 'kubectl-client-side-apply', fieldValidation: 'Strict' });
    return 'created';
  }
  if (!dryRun && live.metadata.annotations?.[LAST_APPLIED] === undefined) {
    io.stderr(
      `Warning: resource ${r.resource}/${p.name} is missing the ${LAST_APPLIED} annotation which is required by berth apply. berth apply should only be used on resources created declaratively by berth apply. The missing annotation will be patched automatically.\n`,
    );
  }
  const patch = computePatch(p.obj, live);
  if (Object.keys(patch).length === 0) return 'unchanged';
  await t.patch(r, p.namespace, p.name, 'merge', patch, { dryRun, fieldManager: 'kubectl-client-side-apply', fieldValidation: 'Strict' });
  return 'configured';
}

async function getLive(s: Session, r: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
  try {
    return await s.client.transport.get(r, namespace, name);
  } catch (e) {
    if (e instanceof StatusError && e.reason === 'NotFound') return undefined;
    throw e;
  }
}

/**
 * Sets the last-applied annotation as kubectl writes it (GetModifiedConfiguration): the object to
 * send, namespace included, without that annotation (an empty `annotations: {}` stays), as compact
 * JSON with sorted keys — so `berth apply` and `kubectl apply` can follow each other without
 * reporting a change that is not one.
 */
export function setLastApplied(target: KubeObject, doc: KubeObject): void {
  const given = clone(doc);
  given.metadata = { ...(given.metadata ?? {}), annotations: { ...(given.metadata?.annotations ?? {}) } };
  delete given.metadata.annotations![LAST_APPLIED];
  target.metadata.annotations = { ...(target.metadata.annotations ?? {}), [LAST_APPLIED]: canonicalJson(given) };
}

/**
 * The merge patch that takes `live` to what `modified` asks for: kubectl's three-way patch
 * (fields removed since the last apply are deleted, fields others set are kept). A list is sent
 * whole (merge-patch semantics) only if it really changed: element by element, ignoring fields
 * the server filled in, so re-applying the same file is `unchanged`.
 */
export function computePatch(modified: KubeObject, live: KubeObject): Record<string, unknown> {
  const original = parseLastApplied(live);
  const patch = threeWayMergePatch(original ?? {}, modified, live);
  pruneUnchanged(patch, original, modified, live);
  return patch;
}

function parseLastApplied(live: KubeObject): unknown {
  const text = live.metadata.annotations?.[LAST_APPLIED];
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function pruneUnchanged(patch: Record<string, unknown>, original: unknown, modified: unknown, live: unknown): void {
  const o = isObject(original) ? original : {};
  const m = isObject(modified) ? modified : {};
  const c = isObject(live) ? live : {};
  for (const k of Object.keys(patch)) {
    const pv = patch[k];
    if (Array.isArray(pv) && Array.isArray(m[k]) && Array.isArray(c[k])) {
      if (listUnchanged(o[k], m[k] as unknown[], c[k] as unknown[])) delete patch[k];
    } else if (isObject(pv) && isObject(m[k])) {
      pruneUnchanged(pv, o[k], m[k], c[k]);
      if (Object.keys(pv).length === 0 && isObject(c[k])) delete patch[k];
    }
  }
}

function listUnchanged(original: unknown, modified: unknown[], live: unknown[]): boolean {
  if (modified.length !== live.length) return false;
  const o = Array.isArray(original) ? original : [];
  for (let i = 0; i < modified.length; i++) {
    const mi = modified[i];
    const ci = live[i];
    if (isObject(mi) && isObject(ci)) {
      const oi = isObject(o[i]) ? o[i] : {};
      const sub = threeWayMergePatch(oi, mi, ci);
      pruneUnchanged(sub, oi, mi, ci);
      if (Object.keys(sub).length) return false;
    } else if (!deepEqual(mi, ci)) {
      return false;
    }
  }
  return true;
}

function refOf(obj: KubeObject): { apiVersion: string; kind: string } {
  return { apiVersion: obj.apiVersion!, kind: obj.kind! };
}

async function namespaceExists(s: Session, name: string): Promise<boolean> {
  return (await s.client.tryGet({ apiVersion: 'v1', kind: 'Namespace' }, name)) !== undefined;
}

function isNamespaceDoc(obj: KubeObject, name: string): boolean {
  return obj?.apiVersion === 'v1' && obj.kind === 'Namespace' && obj.metadata?.name === name;
}

/** The CRD document (earlier in this invocation) that defines `obj`'s kind, with its scope. */
function definingCrd(earlier: ManifestDoc[], obj: KubeObject): { namespaced: boolean } | undefined {
  const { group, version } = parseApiVersion(obj.apiVersion!);
  for (const d of earlier) {
    const o = d.obj;
    if (o?.kind !== 'CustomResourceDefinition' || !String(o.apiVersion ?? '').startsWith('apiextensions.k8s.io/')) continue;
    const spec = o.spec as { group?: string; scope?: string; names?: { kind?: string }; versions?: { name?: string; served?: boolean }[] } | undefined;
    if (spec?.group !== group || spec.names?.kind !== obj.kind) continue;
    if (!(spec.versions ?? []).some((v) => v.name === version && v.served !== false)) continue;
    return { namespaced: spec.scope !== 'Cluster' };
  }
  return undefined;
}

/** kubectl's message for a kind discovery does not know. */
function mappingError(doc: ManifestDoc, why: string): string {
  const ns = typeof doc.obj.metadata?.namespace === 'string' ? doc.obj.metadata.namespace : '';
  return `resource mapping not found for name: "${doc.obj.metadata?.name ?? ''}" namespace: "${ns}" from "${doc.file}": ${why}\nensure CRDs are installed first`;
}

/**
 * A failed dry run: an Invalid error points at the line of the first offending field it can find
 * in the document (else the document's first line); other errors read as kubectl prints them.
 */
function validationLine(p: Planned, e: StatusError): string {
  const causes = e.status.details?.causes ?? [];
  if (e.reason !== 'Invalid' || !causes.length) return statusLine(e, `error when applying "${p.doc.file}"`);
  let line: number | undefined;
  for (const c of causes) {
    if (c.field) line = p.doc.lineOf(c.field);
    if (line !== undefined) break;
  }
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message ?? ''}` : (c.message ?? '')));
  const what = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return `error: ${p.doc.file}:${line ?? p.doc.line}: ${p.doc.obj.kind} "${p.name}" is invalid: ${what}`;
}
