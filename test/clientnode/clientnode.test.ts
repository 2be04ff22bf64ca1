/**
 * Operators written with @kubernetes/client-node 1.4.0 work against berth unchanged: its
 * informers (every ADDED/MODIFIED/DELETED, across a watch the server ends and one whose
 * resourceVersion has been compacted, which makes the informer re-list), `KubernetesObjectApi`
 * apply as its README does it, and the typed clients (CoreV1Api, AppsV1Api), against a berth API
 * server listening on a loopback port.
 */
import * as k8s from '@kubernetes/client-node';
import t, { type Test } from 'tap';
import { createApiServer } from '../../pkg/apiserver/index.js';
import { RealClock } from '../../pkg/clock/clock.js';
import { MemoryBackend } from '../../pkg/storage/memory/memory.js';
import { CompactedError, type Backend, type StorageEvent } from '../../pkg/storage/types.js';

/**
 * A MemoryBackend whose watches the test can end (as a server ends a watch after its timeout)
 * and whose history it can declare compacted (so resuming gets 410 Expired).
 */
function controlledBackend(): { backend: Backend; endWatches(): void; compactBelow(rev: number): void } {
  const inner = new MemoryBackend();
  const enders = new Set<() => void>();
  let compacted = 0;
  const watch = (prefix: string, from: number, signal: AbortSignal): AsyncIterable<StorageEvent> => {
    if (from < compacted) throw new CompactedError(from, compacted);
    const source = inner.watch(prefix, from, signal);
    return {
      async *[Symbol.asyncIterator]() {
        let end!: () => void;
        const ended = new Promise<IteratorResult<StorageEvent>>((r) => (end = () => r({ done: true, value: undefined })));
        enders.add(end);
        const it = source[Symbol.asyncIterator]();
        try {
          for (;;) {
            const r = await Promise.race([it.next(), ended]);
            if (r.done) return;
            yield r.value;
          }
        } finally {
          enders.delete(end);
          await it.return?.();
        }
      },
    };
  };
  const backend = new Proxy(inner, {
    get(target, p, recv) {
      if (p === 'watch') return watch;
      const v = Reflect.get(target, p, recv) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as unknown as Backend;
  return {
    backend,
    endWatches: () => {
      for (const e of [...enders]) e();
    },
    compactBelow: (rev) => {
      compacted = rev;
    },
  };
}

async function eventually<T>(fn: () => T | Promise<T>, what: string, ms = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function server(t: Test) {
  const ctl = controlledBackend();
  const api = await createApiServer({ backend: ctl.backend, clock: new RealClock() });
  const app = api.http();
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    ctl.endWatches();
    await app.close();
    await ctl.backend.close();
  });
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'berth', server: url, skipTLSVerify: true }],
    users: [{ name: 'berth' }],
    contexts: [{ name: 'berth', cluster: 'berth', user: 'berth', namespace: 'default' }],
    currentContext: 'berth',
  });
  return { ...ctl, api, kc };
}

const cm = (name: string, data: Record<string, string>): k8s.V1ConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data });

t.test('an informer sees every change, across a watch the server ends and a re-list after 410 Expired', async (t) => {
  const s = await server(t);
  const core = s.kc.makeApiClient(k8s.CoreV1Api);
  let lists = 0;
  const informer = k8s.makeInformer(s.kc, '/api/v1/namespaces/default/configmaps', () => {
    lists++;
    return core.listNamespacedConfigMap({ namespace: 'default' });
  });
  const seen: string[] = [];
  const errors: unknown[] = [];
  let connects = 0;
  informer.on('add', (o) => seen.push(`ADDED ${o.metadata?.name} ${JSON.stringify(o.data ?? {})}`));
  informer.on('update', (o) => seen.push(`MODIFIED ${o.metadata?.name} ${JSON.stringify(o.data ?? {})}`));
  informer.on('delete', (o) => seen.push(`DELETED ${o.metadata?.name}`));
  informer.on('error', (e) => errors.push(e));
  informer.on('connect', () => connects++);
  await core.createNamespacedConfigMap({ namespace: 'default', body: cm('before', { v: '0' }) });
  await informer.start();
  t.teardown(() => informer.stop());
  await eventually(() => seen.length === 1, 'the initial list');

  await core.createNamespacedConfigMap({ namespace: 'default', body: cm('a', { v: '1' }) });
  await core.createNamespacedConfigMap({ namespace: 'default', body: cm('b', { v: '1' }) });
  await core.replaceNamespacedConfigMap({ name: 'a', namespace: 'default', body: { ...cm('a', { v: '2' }) } });
  await core.deleteNamespacedConfigMap({ name: 'b', namespace: 'default' });
  await eventually(() => seen.length === 5, 'four watch events');

  // The server ends the watch; changes made before the informer reconnects are not lost: it
  // resumes from its last resourceVersion.
  const connectsBefore = connects;
  s.endWatches();
  await core.createNamespacedConfigMap({ namespace: 'default', body: cm('c', { v: '1' }) });
  await core.replaceNamespacedConfigMap({ name: 'a', namespace: 'default', body: cm('a', { v: '3' }) });
  await core.deleteNamespacedConfigMap({ name: 'a', namespace: 'default' });
  await eventually(() => seen.length === 8, 'the changes made while reconnecting');
  t.ok(connects > connectsBefore, 'the informer reconnected');

  // While the informer's watch is down, changes elsewhere move the store on and the history is
  // compacted up to the current revision (as etcd compacts: never past its head). Resuming from
  // the informer's older resourceVersion gets 410 Expired; the informer re-lists once and reports
  // the difference (c deleted, d added) from the list. The list's resourceVersion is never older
  // than the compaction, so the informer watches again instead of re-listing in a tight loop.
  await core.createNamespace({ body: { metadata: { name: 'other' } } });
  for (let i = 0; i < 3; i++) await core.createNamespacedConfigMap({ namespace: 'other', body: { ...cm(`o${i}`, {}), metadata: { name: `o${i}`, namespace: 'other' } } });
  const listsBefore = lists;
  const head = Number((await core.listNamespacedConfigMap({ namespace: 'default' })).metadata?.resourceVersion);
  s.compactBelow(head);
  s.endWatches();
  // (this backend ends a watch at its next event, which that watch then never delivers)
  await core.deleteNamespacedConfigMap({ name: 'c', namespace: 'default' });
  await core.createNamespacedConfigMap({ namespace: 'default', body: cm('d', { v: '1' }) });
  await eventually(() => seen.length === 10, 'the re-list');
  // The new watch delivers what follows.
  await core.replaceNamespacedConfigMap({ name: 'd', namespace: 'default', body: cm('d', { v: '2' }) });
  await eventually(() => seen.length === 11, 'a change after the re-list');
  await new Promise((r) => setTimeout(r, 200));
  t.equal(lists - listsBefore, 1, 'one re-list after the 410, not a loop');
  t.same(seen, [
    'ADDED before {"v":"0"}',
    'ADDED a {"v":"1"}',
    'ADDED b {"v":"1"}',
    'MODIFIED a {"v":"2"}',
    'DELETED b',
    'ADDED c {"v":"1"}',
    'MODIFIED a {"v":"3"}',
    'DELETED a',
    'DELETED c',
    'ADDED d {"v":"1"}',
    'MODIFIED d {"v":"2"}',
  ]);
  t.same(errors, [], 'no error reached the informer');
  t.same(informer.list().map((o) => o.metadata?.name).sort(), ['before', 'd'], 'the cache matches the server');
});

t.test('KubernetesObjectApi apply (create, then patch) and server-side apply', async (t) => {
  const s = await server(t);
  const client = k8s.KubernetesObjectApi.makeApiClient(s.kc);
  // The README's apply: read, then patch if it exists, else create.
  const apply = async (spec: k8s.KubernetesObject): Promise<k8s.KubernetesObject> => {
    spec.metadata = spec.metadata ?? {};
    spec.metadata.annotations = { ...(spec.metadata.annotations ?? {}), 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(spec) };
    try {
      await client.read({ apiVersion: spec.apiVersion!, kind: spec.kind!, metadata: { name: spec.metadata.name!, namespace: spec.metadata.namespace! } });
    } catch {
      return client.create(spec);
    }
    return client.patch(spec);
  };
  const deployment = (image: string): k8s.V1Deployment => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image }] } } },
  });
  const created = (await apply(deployment('nginx:1.14.2'))) as k8s.V1Deployment;
  t.equal(created.spec?.template.spec?.containers[0]?.image, 'nginx:1.14.2');
  t.ok(created.metadata?.uid);
  const patched = (await apply(deployment('nginx:1.16.1'))) as k8s.V1Deployment;
  t.equal(patched.spec?.template.spec?.containers[0]?.image, 'nginx:1.16.1', 'patched by strategic merge');
  t.equal(patched.metadata?.uid, created.metadata?.uid, 'the same object');

  const ssa = (await client.patch(
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa', namespace: 'default' }, data: { k: 'v' } } as k8s.KubernetesObject,
    undefined,
    undefined,
    'my-operator',
    true,
    k8s.PatchStrategy.ServerSideApply,
  )) as k8s.V1ConfigMap;
  t.same(ssa.data, { k: 'v' }, 'server-side apply creates a missing object');
  const list = await client.list('apps/v1', 'Deployment', 'default');
  t.same(list.items.map((o) => o.metadata?.name), ['web']);
  await client.delete({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' } });
  await t.rejects(client.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' } }), { code: 404 });
});

t.test('typed clients: CoreV1Api and AppsV1Api', async (t) => {
  const s = await server(t);
  const core = s.kc.makeApiClient(k8s.CoreV1Api);
  const apps = s.kc.makeApiClient(k8s.AppsV1Api);
  const namespaces = await core.listNamespace();
  t.ok(namespaces.items.some((n) => n.metadata?.name === 'kube-system'));
  await core.createNamespace({ body: { metadata: { name: 'team-a' } } });
  const pod = await core.createNamespacedPod({ namespace: 'team-a', body: { metadata: { name: 'p', labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '250m' } } }] } } });
  t.equal(pod.status?.phase, 'Pending');
  t.equal(pod.spec?.containers[0]?.resources?.requests?.cpu, '250m');
  t.equal(pod.status?.qosClass, 'Burstable');
  const pods = await core.listNamespacedPod({ namespace: 'team-a', labelSelector: 'app=x' });
  t.same(pods.items.map((p) => p.metadata?.name), ['p']);
  const d = await apps.createNamespacedDeployment({
    namespace: 'team-a',
    body: { metadata: { name: 'api' }, spec: { replicas: 3, selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'api:v1' }] } } } },
  });
  t.equal(d.spec?.strategy?.type, 'RollingUpdate', 'defaults applied');
  const scale = await apps.readNamespacedDeploymentScale({ name: 'api', namespace: 'team-a' });
  t.equal(scale.spec?.replicas, 3);
  await apps.patchNamespacedDeployment({ name: 'api', namespace: 'team-a', body: { spec: { replicas: 5 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  t.equal((await apps.readNamespacedDeployment({ name: 'api', namespace: 'team-a' })).spec?.replicas, 5);
  await t.rejects(apps.readNamespacedDeployment({ name: 'nope', namespace: 'team-a' }), { code: 404 });
  await t.rejects(
    apps.createNamespacedDeployment({ namespace: 'team-a', body: { metadata: { name: 'bad' }, spec: { replicas: -1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } } }),
    { code: 422, body: /spec\.replicas: Invalid value: -1: must be greater than or equal to 0/ },
  );
  await core.deleteNamespace({ name: 'team-a' });
  const ns = await core.readNamespace({ name: 'team-a' });
  t.equal(ns.status?.phase, 'Terminating');
});
