/**
 * Decoding fidelity for built-in kinds: values of the wrong JSON type (400 naming the field, as
 * Kubernetes's decoder answers, nothing stored), unknown fields inlined from embedded Go structs
 * (Probe's httpGet, Volume's configMap), immutable Deployment selectors, and zero status fields
 * left out as Go's `omitempty` leaves them.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import type { KubeObject } from '../api/types.js';
import { VirtualClock } from '../clock/clock.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import { typeMismatch, unknownFields } from './fieldvalidation.js';
import { createApiServer } from './index.js';
import { builtinSchemas, definitionOf, SchemaNode } from './schema.js';

async function setup() {
  const clock = new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
  const api = await createApiServer({ backend: new MemoryBackend({ historyLimit: 50 }), clock });
  return { api, app: api.http() };
}

const deploy = (spec: Record<string, unknown> = {}, name = 'web'): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [{ name: 'c', image: 'nginx', readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 5 }, livenessProbe: { tcpSocket: { port: 'http' } } }],
        volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }],
      },
    },
    ...spec,
  },
});

const node = (group: string, version: string, kind: string): SchemaNode => SchemaNode.forDefinition(builtinSchemas(), definitionOf(group, version, kind));

t.test('fields of embedded Go structs are known (Probe.httpGet, Volume.configMap, IngressRule.http)', async (t) => {
  t.same(unknownFields(deploy(), node('apps', 'v1', 'Deployment')), []);
  const ing = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i' }, spec: { rules: [{ host: 'a', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } }] } }] } };
  t.same(unknownFields(ing, node('networking.k8s.io', 'v1', 'Ingress')), []);
  const pv = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'p' }, spec: { capacity: { storage: '1Gi' }, hostPath: { path: '/x' }, accessModes: ['ReadWriteOnce'] } };
  t.same(unknownFields(pv, node('', 'v1', 'PersistentVolume')), []);
  t.same(unknownFields({ spec: { template: { spec: { containers: [{ readinessProbe: { handler: {} } }] } } } }, node('apps', 'v1', 'Deployment')), ['spec.template.spec.containers[0].readinessProbe.handler'], 'the protobuf-only wrapper name is not a JSON field');
});

t.test('every built-in manifest of the corpus passes Strict field validation', async (t) => {
  const corpus = join(process.cwd(), '../shared/corpus');
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e)) files.push(p);
    }
  };
  try {
    walk(corpus);
  } catch {
    t.fail(`no corpus at ${corpus}`);
    return;
  }
  let checked = 0;
  for (const f of files) {
    for (const doc of YAML.parseAllDocuments(readFileSync(f, 'utf8'))) {
      const o = doc.toJSON() as KubeObject | null;
      if (!o?.apiVersion || !o.kind) continue;
      const [g, v] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
      if (!definitionOf(g!, v!, o.kind)) continue;
      checked++;
      t.same(unknownFields(o, node(g!, v!, o.kind)), [], `${f} ${o.kind}`);
      t.equal(typeMismatch(o, node(g!, v!, o.kind), o.kind), undefined, `${f} ${o.kind}`);
    }
  }
  t.ok(checked >= 15, `${checked} built-in objects checked`);
});

t.test('wrongly typed values: 400 naming the field, before defaulting, nothing stored', async (t) => {
  const { app } = await setup();
  const post = (body: unknown, q = '') => app.inject({ method: 'POST', url: `/apis/apps/v1/namespaces/default/deployments${q}`, headers: { 'content-type': 'application/json' }, payload: body as object });
  const three = await post(deploy({ replicas: 'three' }));
  t.equal(three.statusCode, 400);
  t.match(three.json(), { kind: 'Status', reason: 'BadRequest', code: 400, message: 'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32' });
  const containers = await post({ ...deploy(), spec: { ...(deploy().spec as object), template: { metadata: { labels: { app: 'web' } }, spec: { containers: {} } } } });
  t.equal(containers.statusCode, 400);
  t.match(containers.json(), { message: /cannot unmarshal object into Go struct field PodSpec\.spec\.template\.spec\.containers of type \[\]v1\.Container$/ });
  const half = await post(deploy({ replicas: 1.5 }), '?fieldValidation=Ignore');
  t.match(half.json(), { code: 400, message: /cannot unmarshal number 1\.5 into Go struct field DeploymentSpec\.spec\.replicas of type int32/ });
  const label = await post({ ...deploy(), metadata: { name: 'web', labels: { a: 1 } } });
  t.match(label.json(), { code: 400, message: /cannot unmarshal number 1 into Go struct field ObjectMeta\.metadata\.labels of type string/ });
  const port = await post(deploy({ template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: '80' }] }] } } }));
  t.match(port.json(), { code: 400, message: /Go struct field ContainerPort\.spec\.template\.spec\.containers\.ports\.containerPort of type int32/ });
  // IntOrString and Quantity take a number or a string.
  const ok = await post(deploy({ strategy: { rollingUpdate: { maxSurge: '50%', maxUnavailable: 0 } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: 0.5, memory: '64Mi' } } }] } } }));
  t.equal(ok.statusCode, 201, ok.body);
  const list = (await app.inject({ url: '/apis/apps/v1/namespaces/default/deployments' })).json() as { items: KubeObject[] };
  t.equal(list.items.length, 1, 'only the well-typed Deployment was stored');
  // Patches that produce a wrong type are refused the same way, and change nothing.
  const patch = await app.inject({ method: 'PATCH', url: '/apis/apps/v1/namespaces/default/deployments/web', headers: { 'content-type': 'application/merge-patch+json' }, payload: { spec: { replicas: 'three' } } });
  t.equal(patch.statusCode, 400, patch.body);
  t.match(patch.json(), { message: /DeploymentSpec\.spec\.replicas of type int32/ });
  const meta = await app.inject({ method: 'PATCH', url: '/apis/apps/v1/namespaces/default/deployments/web', headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: 'x' } });
  t.match(meta.json(), { code: 400, message: /cannot unmarshal string into Go struct field Deployment\.metadata of type v1\.ObjectMeta/ });
  const smp = await app.inject({ method: 'PATCH', url: '/apis/apps/v1/namespaces/default/deployments/web', headers: { 'content-type': 'application/strategic-merge-patch+json' }, payload: { spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'A', value: 2 }] }] } } } } });
  t.match(smp.json(), { code: 400, message: /cannot unmarshal number 2 into Go struct field EnvVar\.spec\.template\.spec\.containers\.env\.value of type string/ });
  const apply = await app.inject({ method: 'PATCH', url: '/apis/apps/v1/namespaces/default/deployments/web?fieldManager=me', headers: { 'content-type': 'application/apply-patch+yaml' }, payload: JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { paused: 'yes' } }) });
  t.equal(apply.statusCode, 400, apply.body);
  t.match(apply.json(), { message: /DeploymentSpec\.spec\.paused of type bool/ });
  const got = (await app.inject({ url: '/apis/apps/v1/namespaces/default/deployments/web' })).json() as { spec: { replicas: number; paused?: boolean } };
  t.equal(got.spec.replicas, 1);
  t.notOk(got.spec.paused);
  await app.close();
});

t.test('unknown fields follow fieldValidation on create, update and patch', async (t) => {
  const { app } = await setup();
  const body = deploy({ extra: 1 });
  const strict = await app.inject({ method: 'POST', url: '/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict', headers: { 'content-type': 'application/json' }, payload: body });
  t.equal(strict.statusCode, 400);
  t.match(strict.json(), { message: /strict decoding error: unknown field "spec\.extra"/ });
  const warn = await app.inject({ method: 'POST', url: '/apis/apps/v1/namespaces/default/deployments?fieldValidation=Warn', headers: { 'content-type': 'application/json' }, payload: body });
  t.equal(warn.statusCode, 201);
  t.same([warn.headers.warning].flat(), ['299 - "unknown field \\"spec.extra\\""']);
  t.notOk((warn.json() as { spec: { extra?: number } }).spec.extra, 'an unknown field is dropped, as the decoder drops it');
  const put = await app.inject({ method: 'PUT', url: '/apis/apps/v1/namespaces/default/deployments/web?fieldValidation=Strict', headers: { 'content-type': 'application/json' }, payload: deploy({ replicas: 2, foo: 'x' }) });
  t.equal(put.statusCode, 400);
  const ignore = await app.inject({ method: 'PATCH', url: '/apis/apps/v1/namespaces/default/deployments/web?fieldValidation=Ignore', headers: { 'content-type': 'application/strategic-merge-patch+json' }, payload: { spec: { replicas: 3, bar: 1 } } });
  t.equal(ignore.statusCode, 200);
  t.notOk(ignore.headers.warning);
  t.equal((ignore.json() as { spec: { replicas: number } }).spec.replicas, 3);
  await app.close();
});

t.test('the in-process transport applies fieldValidation as HTTP does: the same object is stored either way', async (t) => {
  const { api, app } = await setup();
  const { Client } = await import('../client/client.js');
  const client = new Client(api.transport);
  const deployments = { apiVersion: 'apps/v1', kind: 'Deployment' };
  const body = (name: string): KubeObject => {
    const d = deploy({ extra: 1 }, name);
    (d.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]!.bogus = true;
    return d;
  };
  const viaHttp = await app.inject({ method: 'POST', url: '/apis/apps/v1/namespaces/default/deployments', headers: { 'content-type': 'application/json' }, payload: body('web') });
  t.equal(viaHttp.statusCode, 201);
  const input = body('web2');
  const viaClient: KubeObject = await client.create({ ...input, metadata: { ...input.metadata, namespace: 'default' } });
  t.equal((input.spec as { extra?: number }).extra, 1, "the caller's object is left alone");
  const strip = (o: KubeObject): unknown => ({ ...o, metadata: { labels: o.metadata.labels }, spec: { ...(o.spec as object), selector: undefined, template: { ...((o.spec as { template: object }).template), metadata: undefined } } });
  const stored = [await api.store.get(api.registry.get('apps', 'v1', 'deployments')!, 'default', 'web'), await api.store.get(api.registry.get('apps', 'v1', 'deployments')!, 'default', 'web2')];
  t.same(strip(stored[1]!), strip(stored[0]!), 'stored alike (but for names)');
  t.notOk((viaClient.spec as { extra?: number }).extra, 'spec.extra is dropped in-process (Warn, the default)');
  t.notOk(JSON.stringify(stored[1]).includes('bogus'), 'and so is the unknown container field');
  await t.rejects(client.create({ ...body('web3'), metadata: { name: 'web3', namespace: 'default' } }, { fieldValidation: 'Strict' }), { code: 400, message: /strict decoding error: .*unknown field "spec\.extra"/ });
  t.notOk(await client.tryGet(deployments, 'web3', 'default'), 'Strict stores nothing');
  await t.rejects(client.patch(deployments, 'web', 'default', 'merge', { spec: { nope: 1 } }, { fieldValidation: 'Strict' }), { code: 400, message: /unknown field "spec\.nope"/ });
  const patched = await client.patch(deployments, 'web', 'default', 'strategic', { spec: { replicas: 4, nope: 1 } }, { fieldValidation: 'Ignore' });
  t.equal((patched.spec as { replicas: number }).replicas, 4);
  t.notOk((patched.spec as { nope?: number }).nope, 'a patch drops unknown fields under Ignore');
  await app.close();
});

t.test('admission warnings go out as Warning headers (PodSecurity warn), also next to fieldValidation warnings', async (t) => {
  const { api, app } = await setup();
  const { installAdmission } = await import('../admission/index.js');
  installAdmission(api);
  await app.inject({ method: 'POST', url: '/api/v1/namespaces', headers: { 'content-type': 'application/json' }, payload: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'w', labels: { 'pod-security.kubernetes.io/warn': 'baseline' } } } });
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { hostNetwork: true, containers: [{ name: 'c', image: 'nginx', extra: 1 }] } };
  const res = await app.inject({ method: 'POST', url: '/api/v1/namespaces/w/pods', headers: { 'content-type': 'application/json' }, payload: pod });
  t.equal(res.statusCode, 201);
  t.same([res.headers.warning].flat(), ['299 - "unknown field \\"spec.containers[0].extra\\""', '299 - "would violate PodSecurity \\"baseline:latest\\": host namespaces (hostNetwork=true)"']);
  await app.close();
});

t.test('a Deployment selector is immutable after creation', async (t) => {
  const { app } = await setup();
  t.equal((await app.inject({ method: 'POST', url: '/apis/apps/v1/namespaces/default/deployments', headers: { 'content-type': 'application/json' }, payload: deploy() })).statusCode, 201);
  const res = await app.inject({
    method: 'PATCH',
    url: '/apis/apps/v1/namespaces/default/deployments/web',
    headers: { 'content-type': 'application/merge-patch+json' },
    payload: { spec: { selector: { matchLabels: { app: 'other' } }, template: { metadata: { labels: { app: 'other' } } } } },
  });
  t.equal(res.statusCode, 422);
  t.match(res.json(), {
    reason: 'Invalid',
    message: 'Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"other"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    details: { causes: [{ reason: 'FieldValueInvalid', field: 'spec.selector' }] },
  });
  // The same selector written again (nil and empty expressions alike) is no change.
  const same = await app.inject({ method: 'PATCH', url: '/apis/apps/v1/namespaces/default/deployments/web', headers: { 'content-type': 'application/merge-patch+json' }, payload: { spec: { selector: { matchLabels: { app: 'web' }, matchExpressions: [] } } } });
  t.equal(same.statusCode, 200, same.body);
  await app.close();
});

t.test('zero status fields that Go omits (omitempty) are not stored; pointers and required ones stay', async (t) => {
  const { api } = await setup();
  const r = api.registry.get('apps', 'v1', 'deployments')!;
  await api.store.create(r, 'default', deploy());
  const d = await api.store.update(r, 'default', 'web', { ...(await api.store.get(r, 'default', 'web')), status: { observedGeneration: 1, replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0, unavailableReplicas: 0, collisionCount: 0, conditions: [{ type: 'Available', status: 'False', reason: '', message: '' }] } }, { subresource: 'status' });
  t.same(d.status, { observedGeneration: 1, replicas: 0, collisionCount: 0, conditions: [{ type: 'Available', status: 'False' }] });
  t.same((await api.store.get(r, 'default', 'web')).status, d.status, 'as stored');
  const rs = api.registry.get('apps', 'v1', 'replicasets')!;
  await api.store.create(rs, 'default', { ...deploy(), kind: 'ReplicaSet', metadata: { name: 'rs' } });
  const s = await api.store.update(rs, 'default', 'rs', { ...(await api.store.get(rs, 'default', 'rs')), status: { replicas: 0, availableReplicas: 0, readyReplicas: 0 } }, { subresource: 'status' });
  t.same(s.status, { replicas: 0 }, 'ReplicaSetStatus.replicas has no omitempty');
});
