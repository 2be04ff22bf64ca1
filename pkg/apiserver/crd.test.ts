/**
 * CustomResourceDefinitions: structural schemas (pruning, defaults, validation with Kubernetes's
 * messages), several versions served from one stored copy, subresources, printer columns,
 * selectable fields, and deletion. Expected behaviour from
 * https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
 * and https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definition-versioning/.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { startTestApi, type TestApi } from '../testing/api.js';
import { fieldPath, prune } from './crdschema.js';

const CORPUS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/corpus');
const SHIRT = { apiVersion: 'stable.example.com/v1', kind: 'Shirt' };
const WEBSITE = { apiVersion: 'example.berth.dev/v1', kind: 'Website' };
const WEBSITE_BETA = { apiVersion: 'example.berth.dev/v1beta1', kind: 'Website' };

async function api(t: Test): Promise<TestApi> {
  const c = await startTestApi();
  await c.start();
  t.teardown(() => c.stop());
  return c;
}

const docs = (file: string): KubeObject[] => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as KubeObject);

/** A CRD with most schema features, served as v1 (storage) and v1beta1. */
function websiteCrd(): KubeObject {
  const schema = {
    type: 'object',
    required: ['spec'],
    properties: {
      spec: {
        type: 'object',
        required: ['host'],
        properties: {
          host: { type: 'string', pattern: '^[a-z0-9.-]+$', maxLength: 30 },
          size: { type: 'string', enum: ['S', 'M', 'L'], default: 'M' },
          replicas: { type: 'integer', minimum: 0, maximum: 10, default: 1 },
          port: { 'x-kubernetes-int-or-string': true },
          tags: { type: 'array', maxItems: 2, items: { type: 'string' } },
          extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        },
      },
      status: { type: 'object', properties: { replicas: { type: 'integer' }, selector: { type: 'string' }, url: { type: 'string' } } },
    },
  };
  const version = (name: string, storage: boolean) => ({
    name,
    served: true,
    storage,
    schema: { openAPIV3Schema: schema },
    subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } },
    additionalPrinterColumns: [
      { name: 'Host', type: 'string', jsonPath: '.spec.host' },
      { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
    ],
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'websites.example.berth.dev' },
    spec: { group: 'example.berth.dev', scope: 'Namespaced', names: { plural: 'websites', singular: 'website', kind: 'Website', shortNames: ['ws'] }, versions: [version('v1', true), version('v1beta1', false)] },
  };
}

function website(name: string, spec: Record<string, unknown>, ref = WEBSITE): KubeObject {
  return { ...ref, metadata: { name, namespace: 'default' }, spec };
}

t.test('the corpus shirt CRD: served at once, printer columns, selectable fields, pruning', async (t) => {
  const c = await api(t);
  const [crd] = docs(`${CORPUS}/k8s-website/shirt-resource-definition.yaml`);
  await c.client.create(crd!);
  for (const shirt of docs(`${CORPUS}/k8s-website/shirt-resources.yaml`)) await c.client.create({ ...shirt, metadata: { ...shirt.metadata, namespace: 'default' } });
  const names = async (fieldSelector: string): Promise<string[]> => (await c.client.list(SHIRT, { namespace: 'default', fieldSelector })).items.map((o) => o.metadata.name!).sort();
  t.same(await names('spec.color=blue'), ['example1', 'example2']);
  t.same(await names('spec.color=blue,spec.size=M'), ['example2']);
  t.same(await names('spec.size!=M'), ['example1']);
  await t.rejects(c.client.list(SHIRT, { namespace: 'default', fieldSelector: 'spec.weight=1' }), { code: 400, message: /field label not supported: spec\.weight/ });
  const r = await c.client.info(SHIRT);
  const table = (await c.client.transport.table(r, 'default', undefined, {})) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
  t.same(table.columnDefinitions.map((d) => d.name).slice(0, 3), ['Name', 'Color', 'Size']);
  t.same(table.rows.map((row) => row.cells.slice(0, 3)), [['example1', 'blue', 'S'], ['example2', 'blue', 'M'], ['example3', 'green', 'M']]);
  // Fields the schema does not name are pruned.
  const made = await c.client.create({ ...SHIRT, metadata: { name: 'extra', namespace: 'default' }, spec: { color: 'red', size: 'L', sleeves: 'long' }, misc: 1 });
  t.same(made.spec, { color: 'red', size: 'L' });
  t.equal(made.misc, undefined);
});

t.test('validation errors read like Kubernetes; defaults are applied', async (t) => {
  const c = await api(t);
  await c.client.create(websiteCrd());
  await t.rejects(c.client.create(website('bad', { host: 'example.com', size: 'XL' })), {
    code: 422,
    reason: 'Invalid',
    message: 'Website.example.berth.dev "bad" is invalid: spec.size: Unsupported value: "XL": supported values: "S", "M", "L"',
  });
  const err = (await c.client.create(website('worse', { host: 'Not A Host', replicas: 11, tags: ['a', 'b', 'c'], port: true })).catch((e: unknown) => e)) as { status: { details: { causes: { field: string; message: string }[] } } };
  const causes = Object.fromEntries(err.status.details.causes.map((x) => [x.field, x.message]));
  t.same(causes, {
    'spec.host': `Invalid value: "Not A Host": spec.host in body should match '^[a-z0-9.-]+$'`,
    'spec.replicas': 'Invalid value: 11: spec.replicas in body should be less than or equal to 10',
    'spec.tags': 'Too many: 3: must have at most 2 items',
    'spec.port': 'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
  });
  await t.rejects(c.client.create(website('nohost', {})), { message: 'Website.example.berth.dev "nohost" is invalid: spec.host: Required value' });
  await t.rejects(c.client.create(website('type', { host: 'a', replicas: 'two' })), { message: /spec\.replicas: Invalid value: "string": spec\.replicas in body must be of type integer: "string"/ });
  const ok = await c.client.create(website('ok', { host: 'example.com', port: 'http', extra: { anything: { goes: [1] } }, unknown: 'dropped' }));
  t.same(ok.spec, { host: 'example.com', port: 'http', extra: { anything: { goes: [1] } }, size: 'M', replicas: 1 }, 'defaults filled, preserve-unknown kept, unknown field pruned');
  await t.rejects(c.client.patch(WEBSITE, 'ok', 'default', 'merge', { spec: { size: 'XXL' } }), { code: 422 }, 'updates are validated too');
});

t.test('several versions: one stored object served under each, apiVersion rewritten', async (t) => {
  const c = await api(t);
  await c.client.create(websiteCrd());
  await c.client.create(website('blog', { host: 'blog.example.com' }, WEBSITE_BETA));
  const v1 = await c.client.get(WEBSITE, 'blog', 'default');
  const beta = await c.client.get(WEBSITE_BETA, 'blog', 'default');
  t.equal(v1.apiVersion, 'example.berth.dev/v1');
  t.equal(beta.apiVersion, 'example.berth.dev/v1beta1');
  t.equal(v1.metadata.uid, beta.metadata.uid, 'the same object');
  t.same(v1.spec, beta.spec);
  t.same((await c.client.list(WEBSITE, { namespace: 'default' })).items.map((o) => o.apiVersion), ['example.berth.dev/v1']);
  // A watch under v1 sees a write made through v1beta1 as a v1 object.
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const events = await c.client.watch(WEBSITE, { namespace: 'default', resourceVersion: v1.metadata.resourceVersion! }, ac.signal);
  await c.client.patch(WEBSITE_BETA, 'blog', 'default', 'merge', { spec: { replicas: 3 } });
  for await (const ev of events) {
    t.equal(ev.type, 'MODIFIED');
    t.equal(ev.object.apiVersion, 'example.berth.dev/v1');
    t.equal((ev.object.spec as { replicas: number }).replicas, 3);
    break;
  }
  const crd = await c.client.get(Kinds.CustomResourceDefinition, 'websites.example.berth.dev');
  t.same((crd.status as { storedVersions: string[] }).storedVersions, ['v1']);
});

t.test('status and scale subresources; deleting the CRD deletes its objects', async (t) => {
  const c = await api(t);
  await c.client.create(websiteCrd());
  const w = await c.client.create(website('shop', { host: 'shop.example.com', replicas: 2 }));
  t.equal(w.status, undefined, 'status is not set through the main resource');
  await c.client.updateStatus({ ...w, status: { replicas: 2, selector: 'app=shop', url: 'http://shop.example.com' } });
  const r = await c.client.info(WEBSITE);
  const scale = await c.client.transport.get(r, 'default', 'shop', 'scale');
  t.match(scale, { kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 2 }, status: { replicas: 2, selector: 'app=shop' } });
  await c.client.patch(WEBSITE, 'shop', 'default', 'merge', { spec: { replicas: 5 } }, { subresource: 'scale' });
  t.equal(((await c.client.get(WEBSITE, 'shop', 'default')).spec as { replicas: number }).replicas, 5);
  await c.client.delete(Kinds.CustomResourceDefinition, 'websites.example.berth.dev');
  await t.rejects(c.client.get(WEBSITE, 'shop', 'default'), { code: 404 });
  t.equal((await c.client.resources()).forKind('example.berth.dev/v1', 'Website'), undefined, 'the kind is no longer served');
  t.equal(await c.client.tryGet(Kinds.CustomResourceDefinition, 'websites.example.berth.dev'), undefined, 'the CRD is gone');
  const left = await c.api.store.backend.list('/registry/example.berth.dev/websites/');
  t.equal(left.items.length, 0, 'its objects were deleted');
});

t.test('a CRD schema must be structural', async (t) => {
  const c = await api(t);
  const crd = websiteCrd();
  const spec = crd.spec as { versions: { schema: { openAPIV3Schema: { properties: { spec: Record<string, unknown> } } } }[] };
  delete spec.versions[0]!.schema.openAPIV3Schema.properties.spec.type;
  await t.rejects(c.client.create(crd), { code: 422, message: /spec\.versions\[0\]\.schema\.openAPIV3Schema\.properties\[spec\]\.type: Required value: must not be empty for specified object fields/ });
  t.equal(fieldPath('/spec/items/0/name'), 'spec.items[0].name');
  const obj = { apiVersion: 'a/v1', kind: 'K', metadata: { name: 'x' }, spec: { a: 1, b: { c: 2, d: 3 } } };
  prune(obj, { type: 'object', properties: { spec: { type: 'object', properties: { b: { type: 'object', additionalProperties: { type: 'integer' } } } } } }, true);
  t.same(obj, { apiVersion: 'a/v1', kind: 'K', metadata: { name: 'x' }, spec: { b: { c: 2, d: 3 } } }, 'maps keep their keys; unknown fields go');
});

t.test('unknown fields are reported by path (for fieldValidation)', async (t) => {
  const { unknownFields } = await import('./crdschema.js');
  const schema = { type: 'object', properties: { spec: { type: 'object', properties: { a: { type: 'string' }, list: { type: 'array', items: { type: 'object', properties: { x: { type: 'integer' } } } }, free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } } };
  t.same(unknownFields({ apiVersion: 'v', kind: 'K', metadata: { name: 'n' }, spec: { a: 'x', b: 1, list: [{ x: 1, y: 2 }], free: { z: 1 } }, top: 1 }, schema), ['spec.b', 'spec.list[0].y', 'top']);
});
