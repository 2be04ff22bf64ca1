/**
 * The Endpoints and EndpointSlice controller: ready and not-ready addresses, named target ports
 * resolved per pod, terminating pods (out of Endpoints, in slices with ready false), headless
 * Services, and Services without a selector left alone.
 */
import t from 'tap';
import type { KubeObject, Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { virtualCluster } from '../controllers/testcluster.js';
import { EndpointSliceKind, installElb, type Endpoints, type EndpointSlice } from './index.js';

function pod(name: string, ip: string, ready: boolean, port = 8080): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'main', image: 'web:1', ports: [{ name: 'http', containerPort: port }] }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  } as Pod;
}

t.test('ready and not-ready addresses, named ports per pod, terminating pods, headless', async (t) => {
  const c = await virtualCluster(t, { run: false, controllers: [] });
  installElb(c.api, c.mgr, { virtual: true });
  for (const p of [pod('a', '10.244.1.2', true), pod('b', '10.244.1.3', false), pod('c', '10.244.1.4', true, 9090)]) {
    const made = await c.client.create(p);
    await c.client.updateStatus({ ...made, status: p.status });
  }
  await c.client.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] } } as KubeObject);
  await c.client.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'hl', namespace: 'default' }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } } as KubeObject);
  await c.client.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'manual', namespace: 'default' }, spec: { ports: [{ port: 80 }] } } as KubeObject);
  const ep = await c.until(() => c.client.tryGet<Endpoints>(Kinds.Endpoints, 'web', 'default'), 'endpoints of web', 10_000, 100);
  const byPort = Object.fromEntries((ep.subsets ?? []).map((s) => [s.ports![0]!.port, { ready: (s.addresses ?? []).map((a) => a.ip), notReady: (s.notReadyAddresses ?? []).map((a) => a.ip) }]));
  t.same(byPort, { 8080: { ready: ['10.244.1.2'], notReady: ['10.244.1.3'] }, 9090: { ready: ['10.244.1.4'], notReady: [] } }, 'the named port resolves per pod into subsets');
  t.same(ep.subsets![0]!.addresses![0]!.targetRef, { kind: 'Pod', namespace: 'default', name: 'a', uid: (await c.client.get(Kinds.Pod, 'a', 'default')).metadata.uid });
  const hl = await c.until(() => c.client.tryGet<Endpoints>(Kinds.Endpoints, 'hl', 'default'), 'endpoints of the headless service', 10_000, 100);
  t.equal(hl.metadata.labels?.['service.kubernetes.io/headless'], '');
  // An unnamed Service port is named "" in its slices, as Kubernetes writes it (kubectl describe service dereferences the name).
  const hlSlice = await c.until(async () => (await c.client.list<EndpointSlice>(EndpointSliceKind, { namespace: 'default', labelSelector: 'kubernetes.io/service-name=hl' })).items.find((s) => s.ports?.length), 'the slice of hl', 10_000, 100);
  t.same(hlSlice.ports, [{ name: '', port: 8080, protocol: 'TCP' }]);
  const slices = (await c.client.list<EndpointSlice>(EndpointSliceKind, { namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' })).items;
  t.equal(slices.length, 2, 'one slice per port set');
  t.match(slices[0]!.metadata, { labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }, ownerReferences: [{ kind: 'Service', name: 'web' }] });
  // A pod being deleted (a finalizer keeps it) leaves Endpoints; slices keep it, terminating and not ready.
  await c.client.patch(Kinds.Pod, 'a', 'default', 'merge', { metadata: { finalizers: ['test/keep'] } });
  await c.client.delete(Kinds.Pod, 'a', 'default');
  await c.until(async () => !JSON.stringify((await c.client.get<Endpoints>(Kinds.Endpoints, 'web', 'default')).subsets).includes('10.244.1.2'), 'a out of Endpoints', 10_000, 100);
  const s8080 = (await c.client.list<EndpointSlice>(EndpointSliceKind, { namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' })).items.find((s) => s.ports?.[0]?.port === 8080)!;
  t.same(s8080.endpoints!.find((e) => e.addresses[0] === '10.244.1.2')!.conditions, { ready: false, serving: true, terminating: true });
  t.notOk(await c.client.tryGet(Kinds.Endpoints, 'manual', 'default'), 'a Service without a selector gets no managed Endpoints');
  await c.client.patch(Kinds.Pod, 'a', 'default', 'merge', { metadata: { finalizers: [] } });
});
