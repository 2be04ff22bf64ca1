/**
 * OpenAPI v3 (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-v3): an index
 * of per-group-version documents (`/openapi/v3`), each with the paths of its resources and the
 * schemas of its kinds — the built-in kinds' from `data/kubernetes` (see schema.ts), a custom
 * resource's from its CRD's `openAPIV3Schema`. kubectl uses them for `explain`, for strategic
 * merge patches (`x-kubernetes-patch-merge-key`), and, because every `patch` operation names its
 * kind (`x-kubernetes-group-version-kind`) and takes `fieldValidation`, it leaves validation to
 * the server. `/openapi/v2` stays an empty document (KUBECTL-SURFACE.md §3).
 */
import { createHash } from 'node:crypto';
import { groupVersion, type ResourceInfo, type ResourceRegistry } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import { builtinSchemas, definitionOf, type Schema } from './schema.js';

const INFO = { title: 'Kubernetes', version: 'v1.32.0' };
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** `GET /openapi/v2` as JSON (kubectl asks for protobuf and gets an empty document instead). */
export function openApiV2(_reg: ResourceRegistry): object {
  return { swagger: '2.0', info: INFO, paths: {}, definitions: {} };
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** The definitions a set of roots needs, following `$ref`s. */
function closure(defs: Record<string, Schema>, roots: string[]): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  const queue = [...roots];
  while (queue.length) {
    const n = queue.pop()!;
    if (out[n] || !defs[n]) continue;
    out[n] = defs[n];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') queue.push(x.replace('#/components/schemas/', ''));
          else walk(x);
        }
      }
    };
    walk(defs[n]);
  }
  return out;
}

const param = (name: string, description: string, inQuery = true, type = 'string'): Schema => ({ name, in: inQuery ? 'query' : 'path', description, ...(inQuery ? {} : { required: true }), schema: { type, uniqueItems: true } });

const PARAMS = {
  dryRun: param('dryRun', 'When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed'),
  fieldManager: param('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  fieldValidation: param(
    'fieldValidation',
    'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn (the default) - Strict',
  ),
  force: param('force', 'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people.', true, 'boolean'),
  name: (kind: string): Schema => param('name', `name of the ${kind}`, false),
  namespace: param('namespace', 'object name and auth scope, such as for teams and projects', false),
};

/** The paths of one resource, with the operations its verbs allow. */
function resourcePaths(r: ResourceInfo, schemaName: string | undefined, listName: string | undefined): Record<string, Schema> {
  const gvk = { group: r.group, kind: r.kind, version: r.version };
  const base = `/${gvPath(r.group, r.version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}`;
  const body = (n: string | undefined): Schema => ({ content: { 'application/json': { schema: n ? ref(n) : { type: 'object' } } } });
  const op = (action: string, id: string, extra: Schema = {}): Schema => ({
    description: `${action} ${r.kind}`,
    operationId: `${action}${r.kind}`.replace(/^./, (c) => c.toLowerCase()) + id,
    responses: { '200': { description: 'OK', ...body(schemaName) } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    ...extra,
  });
  const scope = r.namespaced ? [PARAMS.namespace] : [];
  const collection: Schema = { parameters: scope };
  const item: Schema = { parameters: [PARAMS.name(r.kind), ...scope] };
  if (r.verbs.includes('list')) collection.get = op('list', '', { responses: { '200': { description: 'OK', ...body(listName) } } });
  if (r.verbs.includes('create')) collection.post = op('post', '', { parameters: [PARAMS.dryRun, PARAMS.fieldManager, PARAMS.fieldValidation], requestBody: body(schemaName) });
  if (r.verbs.includes('deletecollection')) collection.delete = op('deletecollection', '');
  if (r.verbs.includes('get')) item.get = op('get', '');
  if (r.verbs.includes('update')) item.put = op('put', '', { parameters: [PARAMS.dryRun, PARAMS.fieldManager, PARAMS.fieldValidation], requestBody: body(schemaName) });
  if (r.verbs.includes('patch')) {
    const patchBody = { content: Object.fromEntries(['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'].map((t) => [t, { schema: ref(`${META}.Patch`) }])) };
    item.patch = op('patch', '', { parameters: [PARAMS.dryRun, PARAMS.fieldManager, PARAMS.fieldValidation, PARAMS.force], requestBody: patchBody });
  }
  if (r.verbs.includes('delete')) item.delete = op('delete', '');
  const out: Record<string, Schema> = {};
  if (Object.keys(collection).length > 1) out[base] = collection;
  if (Object.keys(item).length > 1) out[`${base}/{name}`] = item;
  return out;
}

/**
 * Builds and caches the documents; `invalidate` drops them (the registry changed, a CRD was
 * written). `crdSchema` gives a custom resource's `openAPIV3Schema` for a version.
 */
export class OpenApiV3 {
  private docs = new Map<string, { doc: object; hash: string }>();

  constructor(
    private readonly registry: ResourceRegistry,
    private readonly crd: (name: string) => Promise<KubeObject | undefined>,
  ) {
    registry.onChange(() => this.invalidate());
  }

  invalidate(): void {
    this.docs.clear();
  }

  private served(): [string, string][] {
    const out: [string, string][] = [];
    for (const [g, vs] of this.registry.groups()) for (const v of vs) out.push([g, v]);
    return out;
  }

  /** `GET /openapi/v3`: where each group-version's document is, with a hash of its content. */
  async index(): Promise<object> {
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const [g, v] of this.served()) {
      const p = gvPath(g, v);
      const d = await this.build(g, v);
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${d.hash}` };
    }
    return { paths };
  }

  /** `GET /openapi/v3/<api/v1 | apis/g/v>`, or undefined for a group-version berth does not serve. */
  async document(path: string): Promise<object | undefined> {
    const clean = path.split('?')[0]!.replace(/\/$/, '');
    const gv = this.served().find(([g, v]) => gvPath(g, v) === clean);
    if (!gv) return undefined;
    return (await this.build(gv[0], gv[1])).doc;
  }

  private async build(group: string, version: string): Promise<{ doc: object; hash: string }> {
    const key = groupVersion({ group, version });
    const cached = this.docs.get(key);
    if (cached) return cached;
    const builtin = builtinSchemas();
    const resources = this.registry.all().filter((r) => r.group === group && r.version === version);
    const paths: Record<string, Schema> = {};
    const roots = new Set<string>([`${META}.Patch`, `${META}.Status`, `${META}.DeleteOptions`]);
    const extra: Record<string, Schema> = {};
    for (const r of resources) {
      let name = definitionOf(r.group, r.version, r.kind);
      let listName = definitionOf(r.group, r.version, r.listKind);
      if (name) roots.add(name);
      if (listName) roots.add(listName);
      if (!name && r.crd) {
        const schema = await this.crdSchema(r);
        if (schema) {
          name = `${r.group.split('.').reverse().join('.')}.${r.version}.${r.kind}`;
          extra[name] = { ...schema, 'x-kubernetes-group-version-kind': [{ group: r.group, kind: r.kind, version: r.version }] };
          listName = `${name}List`;
          extra[listName] = {
            type: 'object',
            description: `${r.listKind} is a list of ${r.kind}`,
            required: ['items'],
            properties: { apiVersion: { type: 'string' }, items: { type: 'array', items: ref(name) }, kind: { type: 'string' }, metadata: ref(`${META}.ListMeta`) },
            'x-kubernetes-group-version-kind': [{ group: r.group, kind: r.listKind, version: r.version }],
          };
          roots.add(`${META}.ObjectMeta`);
          roots.add(`${META}.ListMeta`);
        }
      }
      Object.assign(paths, resourcePaths(r, name, listName));
    }
    const schemas = { ...closure(builtin, [...roots]), ...extra };
    const doc = { openapi: '3.0.0', info: INFO, paths, components: { schemas } };
    const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 128).toUpperCase();
    const out = { doc, hash };
    this.docs.set(key, out);
    return out;
  }

  /** A custom resource's schema from its CRD, with metadata as ObjectMeta (as the apiextensions server publishes it). */
  private async crdSchema(r: ResourceInfo): Promise<Schema | undefined> {
    const crd = await this.crd(r.crd!);
    const versions = ((crd?.spec as { versions?: { name: string; schema?: { openAPIV3Schema?: Schema } }[] } | undefined)?.versions ?? []);
    const s = versions.find((v) => v.name === r.version)?.schema?.openAPIV3Schema;
    if (!s) return undefined;
    const props = { ...((s.properties as Record<string, Schema> | undefined) ?? {}) };
    props.metadata = { allOf: [ref(`${META}.ObjectMeta`)], description: "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata" };
    props.apiVersion ??= { type: 'string' };
    props.kind ??= { type: 'string' };
    return { ...s, properties: props };
  }
}
