/**
 * Applying manifests inside a simulation, as `berth apply` does over HTTP: each document in order
 * is created (with the last-applied annotation) or, if it exists, patched with kubectl's
 * three-way merge patch; a kind an earlier document's CustomResourceDefinition adds is found by
 * discovery when its turn comes. Objects without a namespace go to `default`; an object with
 * only `generateName` is created anew each time.
 */
import { StatusError } from '../api/errors.js';
import { isObject } from '../api/meta.js';
import { UnknownResourceError } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import type { Client } from '../client/client.js';
import { computePatch, setLastApplied } from '../cli/apply.js';
import { CliError } from '../cli/errors.js';
import type { ManifestDoc } from '../cli/manifest.js';
import { kindPrefix } from '../cli/printers.js';

/** Thrown when a manifest cannot be applied; the message names the file, line and field. */
export class ApplyError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = 'ApplyError';
  }
}

const FIELD_MANAGER = 'berth-simulate';

/** Applies `docs` in order; returns `kind/name created|configured|unchanged` lines. Throws ApplyError at the first failure. */
export async function applyDocs(client: Client, docs: ManifestDoc[]): Promise<string[]> {
  const out: string[] = [];
  for (const doc of docs) out.push(await applyDoc(client, doc));
  return out;
}

async function applyDoc(client: Client, doc: ManifestDoc): Promise<string> {
  const obj = doc.obj;
  const where = `${doc.file}:${doc.line}`;
  if (!isObject(obj)) throw new ApplyError(`${where}: the document is not an object`);
  const missing = [...(typeof obj.apiVersion === 'string' && obj.apiVersion ? [] : ['apiVersion']), ...(typeof obj.kind === 'string' && obj.kind ? [] : ['kind'])];
  if (missing.length) throw new ApplyError(`${where}: ${missing.join(' and ')} not set`);
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : undefined;
  if (!name && typeof meta.generateName !== 'string') throw new ApplyError(`${where}: ${obj.kind}: metadata.name: Required value`);
  let r;
  try {
    r = await client.info({ apiVersion: obj.apiVersion!, kind: obj.kind! });
  } catch (e) {
    if (e instanceof UnknownResourceError) throw new ApplyError(`${where}: no kind "${obj.kind}" in version "${obj.apiVersion}" (is its CustomResourceDefinition applied first?)`);
    throw e;
  }
  const namespace = r.namespaced ? (typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default') : undefined;
  const sent: KubeObject = { ...obj, metadata: { ...meta, ...(namespace ? { namespace } : {}) } };
  if (!r.namespaced) delete sent.metadata.namespace;
  setLastApplied(sent, obj);
  const label = `${kindPrefix({ kind: r.kind, group: r.group })}/${name ?? `${String(meta.generateName)}*`}`;
  const t = client.transport;
  try {
    const live = name ? await getLive(client, r, namespace, name) : undefined;
    if (!live) {
      const made = await t.create(r, namespace, sent, { fieldManager: FIELD_MANAGER });
      return `${kindPrefix({ kind: r.kind, group: r.group })}/${made.metadata.name} created`;
    }
    const patch = computePatch(sent, live);
    if (!Object.keys(patch).length) return `${label} unchanged`;
    await t.patch(r, namespace, name!, 'merge', patch, { fieldManager: FIELD_MANAGER });
    return `${label} configured`;
  } catch (e) {
    if (!(e instanceof StatusError)) throw e;
    const causes = e.status.details?.causes ?? [];
    if (e.reason === 'Invalid' && causes.length) {
      const c = causes.find((x) => x.field && doc.lineOf(x.field) !== undefined) ?? causes[0]!;
      const line = (c.field ? doc.lineOf(c.field) : undefined) ?? doc.line;
      const what = causes.map((x) => (x.field ? `${x.field}: ${x.message ?? ''}` : (x.message ?? ''))).join(', ');
      throw new ApplyError(`${doc.file}:${line}: ${obj.kind} "${name ?? ''}" is invalid: ${what}`);
    }
    throw new ApplyError(`${where}: ${label}: ${e.reason || 'Error'}: ${e.message}`);
  }
}

async function getLive(client: Client, r: Parameters<Client['transport']['get']>[0], namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
  try {
    return await client.transport.get(r, namespace, name);
  } catch (e) {
    if (e instanceof StatusError && e.reason === 'NotFound') return undefined;
    throw e;
  }
}
