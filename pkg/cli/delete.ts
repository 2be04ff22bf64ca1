/**
 * `berth delete`: by manifest (`-f`), by name, by selector or `--all`; then, like kubectl, waits
 * until the objects are gone (`--wait=false` to return at once).
 */
import { isNotFound, StatusError } from '../api/errors.js';
import { UnknownResourceError, type ResourceInfo } from '../api/resources.js';
import type { DeleteOptions as ApiDeleteOptions } from '../client/types.js';
import { resolveArgs } from './args.js';
import { CliError, errorLine, ReportedError, statusLine } from './errors.js';
import { readManifests } from './manifest.js';
import { kindPrefix, qualifiedResource } from './printers.js';
import type { Session } from './session.js';
import type { IO } from './types.js';

export interface DeleteOptions {
  filename?: string[];
  recursive?: boolean;
  selector?: string;
  all?: boolean;
  allNamespaces?: boolean;
  cascade?: string;
  gracePeriod?: number;
  force?: boolean;
  wait?: boolean;
  /** A Go duration (`30s`, `5m`); 0 means the default of five minutes. */
  timeout?: string;
  ignoreNotFound?: boolean;
}

interface Target {
  r: ResourceInfo;
  namespace?: string;
  name: string;
  /** The manifest that named it (for `error when deleting "FILE"`). */
  file?: string;
}

const DEFAULT_WAIT_MS = 5 * 60_000;

export async function runDelete(s: Session, io: IO, args: string[], opts: DeleteOptions): Promise<void> {
  const propagationPolicy = cascadePolicy(opts.cascade);
  let grace = opts.gracePeriod ?? -1;
  if (opts.force && grace < 0) grace = 0;
  if (grace === 0 && !opts.force) grace = 1; // as kubectl: immediate deletion needs --force
  const timeoutMs = parseDuration(opts.timeout ?? '0s') || DEFAULT_WAIT_MS;

  const errors: string[] = [];
  const targets: Target[] = [];
  if (opts.filename?.length) {
    if (args.length) throw new CliError('when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well');
    for (const doc of await readManifests(opts.filename, !!opts.recursive, io)) {
      const o = doc.obj;
      if (!o?.apiVersion || !o.kind || !o.metadata?.name) {
        errors.push(`error: ${doc.file}:${doc.line}: the document needs apiVersion, kind and metadata.name`);
        continue;
      }
      let r: ResourceInfo;
      try {
        r = await s.client.info({ apiVersion: o.apiVersion, kind: o.kind });
      } catch (e) {
        if (!(e instanceof UnknownResourceError)) throw e;
        errors.push(`error: resource mapping not found for name: "${o.metadata.name}" namespace: "${o.metadata.namespace ?? ''}" from "${doc.file}": ${e.message}\nensure CRDs are installed first`);
        continue;
      }
      targets.push({ r, ...(r.namespaced ? { namespace: o.metadata.namespace || s.namespace } : {}), name: o.metadata.name, file: doc.file });
    }
  } else {
    const reqs = await resolveArgs(s.client, args, 'You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   \'-f rsrc.yaml\'\n   \'--filename=rsrc.json\'\n   \'<resource> <name>\'\n   \'<resource>\'');
    for (const q of reqs) {
      if (q.names.length) {
        if (opts.selector || opts.all) throw new CliError('name cannot be provided when a selector is specified');
        for (const name of q.names) targets.push({ r: q.r, ...(q.r.namespaced ? { namespace: s.namespace } : {}), name });
        continue;
      }
      if (!opts.selector && !opts.all) throw new CliError('resource(s) were provided, but no name was specified');
      const ns = q.r.namespaced ? (opts.allNamespaces ? undefined : s.namespace) : undefined;
      const list = await s.client.transport.list(q.r, ns, opts.selector ? { labelSelector: opts.selector } : {});
      for (const o of list.items) targets.push({ r: q.r, ...(q.r.namespaced ? { namespace: o.metadata.namespace } : {}), name: o.metadata.name! });
    }
    if (!targets.length && (opts.selector || opts.all)) {
      io.stderr('No resources found\n');
      return;
    }
  }

  if (opts.force) io.stderr('Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n');
  const deleted: (Target & { uid?: string })[] = [];
  const body: ApiDeleteOptions = { propagationPolicy, ...(grace >= 0 ? { gracePeriodSeconds: grace } : {}) };
  for (const t of targets) {
    try {
      const gone = await s.client.transport.delete(t.r, t.namespace, t.name, body);
      io.stdout(`${kindPrefix(t.r)} "${t.name}" deleted\n`);
      deleted.push({ ...t, ...(gone?.metadata?.uid ? { uid: gone.metadata.uid } : {}) });
    } catch (e) {
      if (e instanceof StatusError && isNotFound(e)) {
        if (opts.ignoreNotFound) continue;
        errors.push(statusLine(e, t.file ? `error when deleting "${t.file}"` : undefined));
        continue;
      }
      if (e instanceof StatusError) {
        errors.push(statusLine(e, t.file ? `error when deleting "${t.file}"` : undefined));
        continue;
      }
      throw e;
    }
  }

  if (opts.wait !== false && deleted.length) {
    try {
      await waitGone(s, deleted, timeoutMs, io.signal);
    } catch (e) {
      errors.push(errorLine(e));
    }
  }
  for (const e of errors) io.stderr(`${e}\n`);
  if (errors.length) throw new ReportedError(1);
}

function cascadePolicy(c: string | undefined): NonNullable<ApiDeleteOptions['propagationPolicy']> {
  switch ((c ?? 'background').toLowerCase()) {
    case 'background':
    case 'true':
      return 'Background';
    case 'foreground':
      return 'Foreground';
    case 'orphan':
    case 'false':
      return 'Orphan';
    default:
      throw new CliError(`invalid cascade value (${c}). Must be "background", "foreground", or "orphan".`);
  }
}

/** Go durations: `90s`, `5m`, `1h30m`, `250ms`; a bare number is seconds. Throws CliError. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of t.matchAll(re)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    consumed += m[0].length;
  }
  if (consumed !== t.length || !t.length) throw new CliError(`invalid duration "${text}": use a number with a unit, such as 30s or 5m`);
  return total;
}

function humanMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m0s`;
  return `${ms / 1000}s`;
}

/** Polls until every object is gone (or replaced by a new one of the same name). Throws CliError on timeout. */
async function waitGone(s: Session, targets: (Target & { uid?: string })[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...targets];
  let delay = 50;
  for (;;) {
    const still: typeof pending = [];
    for (const t of pending) {
      try {
        const o = await s.client.transport.get(t.r, t.namespace, t.name);
        if (!t.uid || o.metadata.uid === t.uid) still.push(t);
      } catch (e) {
        if (!(e instanceof StatusError && isNotFound(e))) throw e;
      }
    }
    pending = still;
    if (!pending.length) return;
    if (signal?.aborted) return;
    if (Date.now() >= deadline) {
      const t = pending[0]!;
      let why = '';
      try {
        const o = await s.client.transport.get(t.r, t.namespace, t.name);
        const f = o.metadata.finalizers ?? [];
        if (f.length) why = `; it is held by finalizers [${f.join(', ')}]`;
        else if (o.metadata.deletionTimestamp) why = '; it is still terminating';
      } catch {
        // gone meanwhile
      }
      const names = pending.map((p) => `${qualifiedResource(p.r)}/${p.name}`).join(', ');
      throw new CliError(`timed out waiting for the deletion of ${names} after ${humanMs(timeoutMs)}${why} (use --timeout to wait longer, or --wait=false not to wait)`);
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 2, 1000);
  }
}
