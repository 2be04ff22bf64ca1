import t from 'tap';
import type { KubeObject } from '../api/types.js';
import { VirtualClock } from '../clock/clock.js';
import { createApiServer } from './index.js';
import { FieldSet, formatPath, managerFromUserAgent, toFieldSet } from './managedfields.js';
import { schemaNodeFor } from './schema.js';
import { MemoryBackend } from '../storage/memory/memory.js';

const deployment = (replicas: number, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }], ...extra }] } },
  },
});

async function api() {
  const a = await createApiServer({ backend: new MemoryBackend(), clock: new VirtualClock(Date.parse('2026-01-01T00:00:00Z')) });
  const r = a.registry.get('apps', 'v1', 'deployments')!;
  return { a, r, store: a.store };
}

t.test('fieldsV1 round trip and path text', async (t) => {
  const v1 = { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {} } } } };
  const s = FieldSet.fromFieldsV1(v1);
  t.same(s.toFieldsV1(), v1);
  t.same(
    s.paths().map(formatPath),
    ['.metadata.labels', '.metadata.labels.app', '.spec.containers[name="nginx"]', '.spec.containers[name="nginx"].image'],
  );
  let err: unknown;
  try {
    FieldSet.fromFieldsV1({ 'x:bad': {} });
  } catch (e) {
    err = e;
  }
  t.match(err, { reason: 'BadRequest', message: /invalid path element "x:bad"/ });
});

t.test('the field set of an object follows the schema', async (t) => {
  const set = toFieldSet(deployment(2).spec, schemaNodeFor({ group: 'apps', version: 'v1', kind: 'DeploymentSpec' }));
  // Without a schema node for DeploymentSpec itself, the walk is untyped: lists are atomic.
  t.ok(set.children.get('f:template'));
  const typed = toFieldSet(deployment(2), schemaNodeFor({ group: 'apps', version: 'v1', kind: 'Deployment' })).toFieldsV1() as Record<string, Record<string, Record<string, unknown>>>;
  // spec.selector is a LabelSelector (x-kubernetes-map-type: atomic): one leaf.
  t.same(typed['f:spec']!['f:selector'], {});
  const containers = (typed['f:spec']!['f:template'] as Record<string, Record<string, Record<string, unknown>>>)['f:spec']!['f:containers']!;
  t.same(Object.keys(containers), ['k:{"name":"nginx"}']);
  t.same((containers['k:{"name":"nginx"}'] as Record<string, unknown>)['f:ports'], { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } });
});

t.test('server-side apply creates, records its manager, and conflicts on others fields', async (t) => {
  const { store, r } = await api();
  const created = await store.patch(r, 'default', 'web', 'apply', deployment(2), { fieldManager: 'alice' });
  t.equal(created.spec && (created.spec as { replicas: number }).replicas, 2);
  const mf = created.metadata.managedFields as { manager: string; operation: string; time: string; fieldsV1: Record<string, unknown> }[];
  t.equal(mf.length, 1);
  t.match(mf[0], { manager: 'alice', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', time: '2026-01-01T00:00:00Z' });

  // bob changes replicas with a plain update: he now owns spec.replicas, alice no longer does.
  await store.patch(r, 'default', 'web', 'merge', { spec: { replicas: 5 } }, { fieldManager: 'bob' });
  const afterBob = await store.get(r, 'default', 'web');
  const managers = (afterBob.metadata.managedFields as { manager: string; operation: string; fieldsV1: { 'f:spec'?: Record<string, unknown> } }[]).map((m) => `${m.manager}/${m.operation}`);
  t.same(managers, ['alice/Apply', 'bob/Update']);

  // alice applies replicas 3: conflict, with Kubernetes's text and cause.
  await t.rejects(store.patch(r, 'default', 'web', 'apply', deployment(3), { fieldManager: 'alice' }), {
    code: 409,
    reason: 'Conflict',
    message: 'Apply failed with 1 conflict: conflict with "bob" using apps/v1: .spec.replicas',
    status: { details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "bob" using apps/v1', field: '.spec.replicas' }] } },
  });
  // Applying the value bob set is no conflict: ownership is shared.
  await store.patch(r, 'default', 'web', 'apply', deployment(5), { fieldManager: 'alice' });
  // Forced, alice takes the field.
  const forced = await store.patch(r, 'default', 'web', 'apply', deployment(3), { fieldManager: 'alice', force: true });
  t.equal((forced.spec as { replicas: number }).replicas, 3);
  const bob = (forced.metadata.managedFields as { manager: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }[]).find((m) => m.manager === 'bob');
  t.notOk(bob?.fieldsV1?.['f:spec']?.['f:replicas'], 'bob lost spec.replicas');
});

t.test('fields an applier stops setting are removed unless another manager owns them', async (t) => {
  const { store, r } = await api();
  await store.patch(r, 'default', 'web', 'apply', deployment(2, { env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }), { fieldManager: 'alice' });
  // carol sets env B's value too (same value): she co-owns it.
  await store.patch(r, 'default', 'web', 'apply', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'nginx', env: [{ name: 'B', value: '2' }] }] } } } }, { fieldManager: 'carol' });
  const next = await store.patch(r, 'default', 'web', 'apply', deployment(2), { fieldManager: 'alice' });
  const env = ((next.spec as { template: { spec: { containers: { env?: { name: string }[] }[] } } }).template.spec.containers[0]!.env ?? []).map((e) => e.name);
  t.same(env, ['B'], 'A went; B stays, carol still sets it');
  const again = await store.patch(r, 'default', 'web', 'apply', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } }, { fieldManager: 'carol' });
  t.notOk((again.spec as { template: { spec: { containers: { env?: unknown[] }[] } } }).template.spec.containers[0]!.env, 'no one sets env: it is gone, list and all');
});

t.test('an apply onto an object nobody manages conflicts with before-first-apply', async (t) => {
  const { store, r } = await api();
  await store.create(r, 'default', deployment(2)); // in-process, no manager: no managed fields
  t.notOk((await store.get(r, 'default', 'web')).metadata.managedFields);
  await t.rejects(store.patch(r, 'default', 'web', 'apply', deployment(4), { fieldManager: 'alice' }), { code: 409, message: /conflict with "before-first-apply" using apps\/v1: \.spec\.replicas/ });
});

t.test('creates and updates over HTTP record the manager from fieldManager or the User-Agent', async (t) => {
  const { a } = await api();
  const app = a.http();
  const res = await app.inject({ method: 'POST', url: '/apis/apps/v1/namespaces/default/deployments', headers: { 'content-type': 'application/json', 'user-agent': 'kubectl/v1.33.0 (linux/amd64) kubernetes/abc' }, payload: deployment(1) });
  t.equal(res.statusCode, 201);
  const mf = (res.json() as KubeObject).metadata.managedFields as { manager: string; operation: string; fieldsV1: Record<string, unknown> }[];
  t.equal(mf[0]!.manager, 'kubectl');
  t.equal(mf[0]!.operation, 'Update');
  t.ok((mf[0]!.fieldsV1 as { 'f:spec': Record<string, unknown> })['f:spec']['f:replicas'], 'defaulted and given fields alike');
  t.equal(managerFromUserAgent('kubectl.1.27/v1.27.16 (linux/amd64)'), 'kubectl.1.27');
  t.equal(managerFromUserAgent(undefined), undefined);
  // Explicit managed fields replace the tracked ones ([{}] strips them, as Kubernetes documents).
  const strip = await app.inject({ method: 'PATCH', url: '/apis/apps/v1/namespaces/default/deployments/web', headers: { 'content-type': 'application/json-patch+json' }, payload: [{ op: 'replace', path: '/metadata/managedFields', value: [{}] }] });
  t.equal(strip.statusCode, 200, strip.body);
  t.notOk((strip.json() as KubeObject).metadata.managedFields);
  await app.close();
});
