/**
 * The API server's basic HTTP contract over real requests (fastify inject): health endpoints,
 * `metav1.Status` errors with their codes, reasons, details and field causes, and list then watch
 * from the list's resourceVersion — what kubectl relies on
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#status-codes,
 * https://kubernetes.io/docs/reference/using-api/health-checks/,
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes).
 */
import t from 'tap';
import { VirtualClock } from '../clock/clock.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import { createApiServer } from './index.js';

async function setup(ready?: () => boolean) {
  const clock = new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
  const api = await createApiServer({ backend: new MemoryBackend({ historyLimit: 50 }), clock });
  return api.http(ready ? { ready } : {});
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const CM = '/api/v1/namespaces/default/configmaps';

t.test('/healthz, /livez and /readyz answer ok; /readyz only once the control plane is ready', async (t) => {
  let ready = false;
  const app = await setup(() => ready);
  t.teardown(() => app.close());
  for (const path of ['/healthz', '/livez']) {
    const r = await app.inject({ url: path });
    t.equal(r.statusCode, 200, path);
    t.equal(r.body, 'ok', path);
    t.match(r.headers['content-type'], /^text\/plain/, path);
  }
  const before = await app.inject({ url: '/readyz' });
  t.equal(before.statusCode, 503, 'not ready while the components start');
  t.not(before.body, 'ok');
  ready = true;
  const after = await app.inject({ url: '/readyz' });
  t.equal(after.statusCode, 200);
  t.equal(after.body, 'ok');
});

t.test('errors are metav1.Status: 404 NotFound, 409 AlreadyExists and Conflict, 422 Invalid with causes', async (t) => {
  const app = await setup();
  t.teardown(() => app.close());
  const base = { kind: 'Status', apiVersion: 'v1', status: 'Failure' };

  const missing = await app.inject({ url: `${CM}/nope` });
  t.equal(missing.statusCode, 404);
  t.same(missing.json(), { ...base, metadata: {}, reason: 'NotFound', code: 404, message: 'configmaps "nope" not found', details: { name: 'nope', kind: 'configmaps' } });

  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' }, data: { a: '1' } };
  const created = await app.inject({ method: 'POST', url: CM, headers: JSON_HEADERS, payload: cm });
  t.equal(created.statusCode, 201, created.body);
  const dup = await app.inject({ method: 'POST', url: CM, headers: JSON_HEADERS, payload: cm });
  t.equal(dup.statusCode, 409);
  t.match(dup.json(), { ...base, reason: 'AlreadyExists', code: 409, message: 'configmaps "web" already exists', details: { name: 'web', kind: 'configmaps' } });

  // An update carrying a resourceVersion older than the stored one loses (optimistic concurrency).
  const first = created.json() as { metadata: { resourceVersion: string } };
  const put = (data: Record<string, string>, resourceVersion: string) =>
    app.inject({ method: 'PUT', url: `${CM}/web`, headers: JSON_HEADERS, payload: { ...cm, metadata: { name: 'web', resourceVersion }, data } });
  const updated = await put({ a: '2' }, first.metadata.resourceVersion);
  t.equal(updated.statusCode, 200, updated.body);
  const stale = await put({ a: '3' }, first.metadata.resourceVersion);
  t.equal(stale.statusCode, 409);
  t.match(stale.json(), {
    ...base,
    reason: 'Conflict',
    code: 409,
    message: 'Operation cannot be fulfilled on configmaps "web": the object has been modified; please apply your changes to the latest version and try again',
  });
  t.same((await app.inject({ url: `${CM}/web` })).json().data, { a: '2' }, 'the losing update changed nothing');

  const deploy = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'bad' },
    spec: { replicas: -1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  };
  const bad = await app.inject({ method: 'POST', url: '/apis/apps/v1/namespaces/default/deployments', headers: JSON_HEADERS, payload: deploy });
  t.equal(bad.statusCode, 422);
  t.match(bad.json(), {
    ...base,
    reason: 'Invalid',
    code: 422,
    message: 'Deployment.apps "bad" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    details: { name: 'bad', group: 'apps', kind: 'Deployment', causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: -1: must be greater than or equal to 0', field: 'spec.replicas' }] },
  });
  t.equal((await app.inject({ url: '/apis/apps/v1/namespaces/default/deployments/bad' })).statusCode, 404, 'nothing stored');

  // A kind the server does not serve: Kubernetes's generic 404.
  for (const url of ['/apis/widgets.example.com/v1/widgets', '/api/v1/namespaces/default/widgets', '/apis/apps/v1/namespaces/default/widgets/w']) {
    const r = await app.inject({ url });
    t.equal(r.statusCode, 404, url);
    t.same(r.json(), { ...base, metadata: {}, reason: 'NotFound', code: 404, message: 'the server could not find the requested resource', details: {} }, url);
  }
});

t.test('a kind berth has no controller for is stored and served as given', async (t) => {
  const app = await setup();
  t.teardown(() => app.close());
  const ingress = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web' },
    spec: { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
  };
  const url = '/apis/networking.k8s.io/v1/namespaces/default/ingresses';
  t.equal((await app.inject({ method: 'POST', url, headers: JSON_HEADERS, payload: ingress })).statusCode, 201);
  const got = (await app.inject({ url: `${url}/web` })).json() as typeof ingress;
  t.same(got.spec, ingress.spec);
});

t.test('list, then watch from the list resourceVersion: only later changes, in order', async (t) => {
  const app = await setup();
  t.teardown(() => app.close());
  const create = (name: string) => app.inject({ method: 'POST', url: CM, headers: JSON_HEADERS, payload: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } } });
  await create('before');
  const list = (await app.inject({ url: CM })).json() as { kind: string; metadata: { resourceVersion: string }; items: { metadata: { name: string } }[] };
  t.equal(list.kind, 'ConfigMapList');
  t.same(list.items.map((i) => i.metadata.name), ['before']);
  t.match(list.metadata.resourceVersion, /^\d+$/);
  await create('after');
  t.equal((await app.inject({ method: 'DELETE', url: `${CM}/before` })).statusCode, 200);

  // Watches stream over a real socket; timeoutSeconds ends the stream, so the whole body can be read.
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const watch = await fetch(`${url}${CM}?watch=true&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=1`);
  t.equal(watch.status, 200);
  const events = (await watch.text()).trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string; resourceVersion: string } } });
  t.same(events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'after'], ['DELETED', 'before']]);
  t.ok(events.every((e) => Number(e.object.metadata.resourceVersion) > Number(list.metadata.resourceVersion)), 'every event is newer than the list');
});
