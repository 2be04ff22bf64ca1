/**
 * `berth get`: the server's Tables printed as kubectl prints them, or the objects as JSON, YAML
 * or names; `-w` follows a watch.
 */
import { isNotFound, StatusError } from '../api/errors.js';
import { groupVersion } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import { resolveArgs, type ResourceRequest } from './args.js';
import { CliError, errorLine, ReportedError } from './errors.js';
import { parseQty, unitValue } from './quantity.js';
import { sortObjects } from './sortby.js';
import { asList, hideManagedFields, kindPrefix, TablePrinter, toJson, toYaml, type ServerTable } from './printers.js';
import type { Session } from './session.js';
import type { IO } from './types.js';
import { watchTables } from './watch.js';

export interface GetOptions {
  output?: string;
  allNamespaces?: boolean;
  selector?: string;
  fieldSelector?: string;
  showLabels?: boolean;
  /** Leave out the header line of tables (`--no-headers`). */
  noHeaders?: boolean;
  /** Order the objects by this field path (`--sort-by .metadata.creationTimestamp`, see sortby.ts). */
  sortBy?: string;
  watch?: boolean;
  /** Instance types only: at least this many vCPUs (`--min-vcpu 8`). */
  minVcpu?: string;
  /** Instance types only: at least this much memory, a quantity (`--min-memory 16Gi`). */
  minMemory?: string;
}

/** The `--min-vcpu`/`--min-memory` filter of instance types, or undefined without either. Throws CliError. */
function instanceTypeFilter(reqs: ResourceRequest[], opts: GetOptions): ((o: KubeObject) => boolean) | undefined {
  if (opts.minVcpu === undefined && opts.minMemory === undefined) return undefined;
  const flag = opts.minVcpu !== undefined ? '--min-vcpu' : '--min-memory';
  if (reqs.some((q) => q.r.group !== 'ec2.berth.dev' || q.r.resource !== 'instancetypes')) throw new CliError(`${flag} applies to instancetypes only (berth get instancetypes ${flag} …)`);
  const vcpu = opts.minVcpu === undefined ? 0 : Number(opts.minVcpu);
  if (!Number.isInteger(vcpu) || vcpu < 0) throw new CliError(`invalid argument "${opts.minVcpu}" for "--min-vcpu" flag: a whole number of vCPUs`);
  let mib = 0;
  if (opts.minMemory !== undefined) {
    const q = parseQty(opts.minMemory);
    if (!q) throw new CliError(`invalid argument "${opts.minMemory}" for "--min-memory" flag: a quantity such as 16Gi or 512Mi`);
    mib = unitValue(q) / 2 ** 20;
  }
  return (o) => {
    const spec = (o.spec ?? {}) as { vcpu?: number; memoryMiB?: number };
    return (spec.vcpu ?? 0) >= vcpu && (spec.memoryMiB ?? 0) >= mib;
  };
}

const OUTPUTS = ['', 'wide', 'json', 'yaml', 'name'];

/** Checks an `-o` value. Throws CliError. */
export function checkOutput(output: string | undefined, allowed = OUTPUTS): string {
  const o = output ?? '';
  if (!allowed.includes(o)) {
    throw new CliError(`unable to match a printer suitable for the output format "${o}", allowed formats are: ${allowed.filter(Boolean).join(',')}`);
  }
  return o;
}

export async function runGet(s: Session, io: IO, args: string[], opts: GetOptions): Promise<void> {
  const output = checkOutput(opts.output);
  const reqs = await resolveArgs(s.client, args, 'You must specify the type of resource to get. Use "berth api-resources" for a complete list of supported resources.');
  const named = reqs.some((q) => q.names.length > 0);
  if (named && opts.selector) throw new CliError('name cannot be provided when a selector is specified');
  if (named && opts.allNamespaces) throw new CliError('a resource cannot be retrieved by name across all namespaces');
  const ns = opts.allNamespaces ? undefined : s.namespace;
  const keep = instanceTypeFilter(reqs, opts);
  if (keep && opts.watch) throw new CliError('--min-vcpu and --min-memory do not combine with --watch');
  if (opts.watch) return watch(s, io, reqs, ns, output, opts);
  const errors: unknown[] = [];
  let wrote = false;

  if (output === 'json' || output === 'yaml' || output === 'name') {
    const items: KubeObject[] = [];
    const names: string[] = [];
    // One name of one kind prints the object itself; anything else a List.
    const single = reqs.length === 1 && reqs[0]!.names.length === 1;
    for (const q of reqs) {
      const objects = await objectsOf(s, q, ns, opts, errors);
      for (const o of opts.sortBy ? sortObjects(objects, opts.sortBy) : objects) {
        if (keep && !keep(o)) continue;
        items.push({ ...hideManagedFields(o), apiVersion: o.apiVersion ?? groupVersion(q.r), kind: o.kind ?? q.r.kind });
        names.push(`${kindPrefix(q.r)}/${o.metadata.name}\n`);
      }
    }
    if (output === 'name') {
      if (names.length) io.stdout(names.join(''));
    } else if (!single || items.length === 1) {
      const payload = single ? items[0] : asList(items);
      io.stdout(output === 'json' ? toJson(payload) : toYaml(payload));
    }
  } else {
    const withKind = reqs.length > 1;
    for (const q of reqs) {
      const printer = new TablePrinter({
        wide: output === 'wide',
        withNamespace: !!opts.allNamespaces && q.r.namespaced,
        showLabels: !!opts.showLabels,
        noHeaders: !!opts.noHeaders,
        ...(withKind ? { kindPrefix: kindPrefix(q.r) } : {}),
      });
      const t = await tableOf(s, q, ns, opts, errors);
      if (opts.sortBy) await sortRows(s, q, ns, opts, t);
      if (keep) {
        // The table's rows carry only metadata: the spec decides, by name.
        const names = new Set((await objectsOf(s, q, ns, opts, [])).filter(keep).map((o) => o.metadata.name));
        t.rows = t.rows.filter((row) => names.has(String(row.cells[0])));
      }
      const text = printer.print(t);
      if (text) {
        io.stdout(wrote ? `\n${text}` : text);
        wrote = true;
      }
    }
    if (!wrote && errors.length === 0) noResources(io, reqs, opts, s.namespace);
  }
  for (const e of errors) io.stderr(`${errorLine(e)}\n`);
  if (errors.length) throw new ReportedError(1);
}

/** `No resources found in default namespace.`, or without the namespace for cluster-wide asks. */
export function noResources(io: IO, reqs: ResourceRequest[], opts: { allNamespaces?: boolean }, ns: string): void {
  const namespaced = !opts.allNamespaces && reqs.every((q) => q.r.namespaced);
  io.stderr(namespaced ? `No resources found in ${ns} namespace.\n` : 'No resources found\n');
}

async function tableOf(s: Session, q: ResourceRequest, ns: string | undefined, opts: GetOptions, errors: unknown[]): Promise<ServerTable> {
  const namespace = q.r.namespaced ? ns : undefined;
  if (!q.names.length) {
    return (await s.client.transport.table(q.r, namespace, undefined, selectors(opts))) as ServerTable;
  }
  let merged: ServerTable | undefined;
  for (const name of q.names) {
    try {
      const t = (await s.client.transport.table(q.r, namespace ?? (q.r.namespaced ? s.namespace : undefined), name, {})) as ServerTable;
      if (!merged) merged = t;
      else merged.rows.push(...t.rows);
    } catch (e) {
      if (e instanceof StatusError && isNotFound(e)) errors.push(e);
      else throw e;
    }
  }
  return merged ?? { kind: 'Table', apiVersion: 'meta.k8s.io/v1', columnDefinitions: [], rows: [] };
}

/**
 * Orders a table's rows by `--sort-by`: the rows carry only metadata, so the objects are listed
 * too and sorted, and the rows follow them (matched by namespace and name).
 */
async function sortRows(s: Session, q: ResourceRequest, ns: string | undefined, opts: GetOptions, t: ServerTable): Promise<void> {
  if (!t.rows.length) return;
  const order = new Map<string, number>();
  sortObjects(await objectsOf(s, q, ns, opts, []), opts.sortBy!).forEach((o, i) => order.set(`${o.metadata.namespace ?? ''}/${o.metadata.name}`, i));
  const nameIdx = t.columnDefinitions.findIndex((c) => c.format === 'name');
  const rank = (row: ServerTable['rows'][number]): number => order.get(`${row.object?.metadata?.namespace ?? (q.r.namespaced ? (ns ?? s.namespace) : '')}/${row.object?.metadata?.name ?? String(row.cells[Math.max(0, nameIdx)])}`) ?? -1;
  t.rows = t.rows.map((row, i) => ({ row, i, r: rank(row) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.row);
}

async function objectsOf(s: Session, q: ResourceRequest, ns: string | undefined, opts: GetOptions, errors: unknown[]): Promise<KubeObject[]> {
  const namespace = q.r.namespaced ? ns : undefined;
  if (!q.names.length) return (await s.client.transport.list(q.r, namespace, selectors(opts))).items;
  const out: KubeObject[] = [];
  for (const name of q.names) {
    try {
      out.push(await s.client.transport.get(q.r, namespace ?? (q.r.namespaced ? s.namespace : undefined), name));
    } catch (e) {
      if (e instanceof StatusError && isNotFound(e)) errors.push(e);
      else throw e;
    }
  }
  return out;
}

function selectors(opts: GetOptions): { labelSelector?: string; fieldSelector?: string } {
  return { ...(opts.selector ? { labelSelector: opts.selector } : {}), ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}) };
}

/** `get -w`: the current table (or objects), then one row (or object) per watch event. */
async function watch(s: Session, io: IO, reqs: ResourceRequest[], ns: string | undefined, output: string, opts: GetOptions): Promise<void> {
  if (reqs.length !== 1) throw new CliError('you may only specify a single resource type');
  const q = reqs[0]!;
  if (q.names.length > 1) throw new CliError('watch is only supported on individual resources and resource collections, but 2 resources were found');
  const namespace = q.r.namespaced ? (q.names.length ? (ns ?? s.namespace) : ns) : undefined;
  const name = q.names[0];
  const signal = io.signal ?? new AbortController().signal;
  const fieldSelector = [opts.fieldSelector, name ? `metadata.name=${name}` : undefined].filter(Boolean).join(',');
  const labelSelector = opts.selector;

  if (output === '' || output === 'wide') {
    const printer = new TablePrinter({ wide: output === 'wide', withNamespace: !!opts.allNamespaces && q.r.namespaced, showLabels: !!opts.showLabels, noHeaders: !!opts.noHeaders });
    const first = (await s.client.transport.table(q.r, namespace, name, name ? {} : selectors(opts))) as ServerTable;
    if (opts.sortBy) await sortRows(s, q, namespace, opts, first);
    const text = printer.print(first);
    if (text) io.stdout(text);
    else if (!name) noResources(io, reqs, opts, s.namespace);
    const events = await watchTables(s.transport, q.r, namespace, { resourceVersion: first.metadata?.resourceVersion ?? '', ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) }, signal);
    for await (const ev of events) {
      if (signal.aborted) break;
      if (ev.type === 'BOOKMARK') continue;
      const row = printer.print(ev.object);
      if (row) io.stdout(row);
    }
    return;
  }

  // Objects: print what is there, then each changed object.
  const print = (o: KubeObject): void => {
    const obj = hideManagedFields(o);
    if (output === 'name') io.stdout(`${kindPrefix(q.r)}/${obj.metadata.name}\n`);
    else if (output === 'json') io.stdout(toJson(obj));
    else io.stdout(`${toYaml(obj)}---\n`);
  };
  const list = name ? { items: [await s.client.transport.get(q.r, namespace, name)], metadata: {} as { resourceVersion?: string } } : await s.client.transport.list(q.r, namespace, selectors(opts));
  for (const o of opts.sortBy ? sortObjects(list.items, opts.sortBy) : list.items) print(o);
  const rv = name ? list.items[0]!.metadata.resourceVersion : list.metadata.resourceVersion;
  const events = await s.client.transport.watch(q.r, namespace, { ...(rv ? { resourceVersion: rv } : {}), ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) }, signal);
  for await (const ev of events) {
    if (signal.aborted) break;
    if (ev.type === 'BOOKMARK') continue;
    print(ev.object);
  }
}
