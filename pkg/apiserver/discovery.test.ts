/**
 * Discovery as kubectl 1.27–1.33 and client-node read it
 * (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api): aggregated
 * discovery in v2 (1.30+) and v2beta1 (1.27–1.29) with the response Content-Type repeating the
 * requested media type (kubectl ignores the body otherwise), the plain APIGroupList, and the
 * per group/version APIResourceList with subresources; a new CRD's group is listed at once.
 */
import t from 'tap';
import { VirtualClock } from '../clock/clock.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import { createApiServer } from './index.js';

const accept = (v: string) => `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json`;
type Aggregated = { kind: string; apiVersion: string; items: { metadata: { name: string }; versions: { version: string; resources: { resource: string; responseKind: { kind: string }; scope: string; shortNames?: string[]; categories?: string[]; subresources?: { subresource: string; responseKind?: { group?: string; kind: string } }[] }[] }[] }[] };

t.test('aggregated discovery v2 and v2beta1, plain lists, resource lists, a new CRD at once', async (t) => {
  const api = await createApiServer({ backend: new MemoryBackend(), clock: new VirtualClock(0) });
  const app = api.http();
  t.teardown(() => app.close());
  for (const v of ['v2', 'v2beta1']) {
    const core = await app.inject({ url: '/api', headers: { accept: v === 'v2' ? accept('v2') : `application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json` } });
    // (parameters may be quoted and spaced: Go's mime.ParseMediaType reads either)
    t.match(core.headers['content-type'], new RegExp(`^application/json;\\s*g="?apidiscovery\\.k8s\\.io"?;\\s*v="?${v}"?;\\s*as="?APIGroupDiscoveryList"?`), `/api answers ${v} in its Content-Type`);
    const body = core.json() as Aggregated;
    t.match(body, { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${v}` });
    t.equal(body.items[0]!.metadata.name, '', 'the core group is named ""');
    const pods = body.items[0]!.versions[0]!.resources.find((r) => r.resource === 'pods')!;
    t.match(pods, { responseKind: { kind: 'Pod' }, scope: 'Namespaced', shortNames: ['po'], categories: ['all'] });
    t.ok(pods.subresources?.some((s) => s.subresource === 'log'), 'pods/log');
  }
  const apis = (await app.inject({ url: '/apis', headers: { accept: accept('v2') } })).json() as Aggregated;
  const apps = apis.items.find((g) => g.metadata.name === 'apps')!;
  const scale = apps.versions[0]!.resources.find((r) => r.resource === 'deployments')!.subresources!.find((s) => s.subresource === 'scale');
  t.match(scale, { responseKind: { group: 'autoscaling', kind: 'Scale' } });

  const plain = await app.inject({ url: '/apis', headers: { accept: 'application/json' } });
  t.match(plain.json(), { kind: 'APIGroupList' });
  t.notMatch(plain.headers['content-type'], /apidiscovery/);
  const list = (await app.inject({ url: '/apis/apps/v1' })).json() as { kind: string; groupVersion: string; resources: { name: string; kind: string; group?: string; version?: string }[] };
  t.match(list, { kind: 'APIResourceList', groupVersion: 'apps/v1' });
  t.match(list.resources.find((r) => r.name === 'deployments/scale'), { kind: 'Scale', group: 'autoscaling', version: 'v1' });
  t.ok((((await app.inject({ url: '/api/v1' })).json() as { resources: { name: string }[] }).resources).some((r) => r.name === 'pods/log'));

  // A CRD's group is served as soon as the CRD is created.
  const crds = api.registry.get('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
  await api.store.create(crds, undefined, {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', singular: 'widget', kind: 'Widget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
  });
  const after = (await app.inject({ url: '/apis', headers: { accept: accept('v2') } })).json() as Aggregated;
  t.match(after.items.find((g) => g.metadata.name === 'example.com')?.versions[0]?.resources, [{ resource: 'widgets', responseKind: { kind: 'Widget' } }]);
  t.equal((await app.inject({ url: '/apis/example.com/v1' })).statusCode, 200);
});
