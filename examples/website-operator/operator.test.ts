/**
 * The example operator end to end: a berth control plane (controllers, scheduler, node agent)
 * served over HTTP on a loopback port, the operator connecting to it as a separate client would,
 * with leader election. It reconciles a Website into a Deployment and a Service whose pods run,
 * reports status, follows changes, and cleans up through its finalizer and owner references.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { connect, createControlPlane, Kinds, Manager, MemoryBackend, RealClock, type Deployment, type KubeObject, type Lease, type Pod } from 'berth';
import { installWebsiteOperator, WEBSITE, type Website } from './operator.js';

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples/website-operator');
const doc = (file: string): KubeObject => parseAllDocuments(readFileSync(`${HERE}/${file}`, 'utf8'))[0]!.toJS() as KubeObject;

async function eventually<T>(fn: () => Promise<T>, what: string, ms = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('the Website operator reconciles its resource end to end over HTTP', async (t) => {
  const clock = new RealClock();
  const cp = await createControlPlane({ backend: new MemoryBackend(), clock, components: ['controllers', 'scheduler', 'agent'] });
  await cp.start();
  const app = cp.api.http();
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    await app.close();
    await cp.stop();
  });
  await cp.client.create({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
    spec: { podCIDR: '10.244.1.0/24' },
    status: { capacity: { cpu: '4', memory: '16Gi', pods: '110' }, allocatable: { cpu: '4', memory: '16Gi', pods: '110' }, addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] },
  });

  // The operator: its own process's view, over HTTP.
  const client = connect({ server: url });
  await client.create(doc('crd.yaml'));
  await eventually(async () => (await client.resources()).forKind('example.com/v1', 'Website'), 'the Website kind to be served');
  const mgr = new Manager({ client, clock, leaderElection: { name: 'website-operator', namespace: 'default', identity: 'operator-a' } });
  installWebsiteOperator(mgr);
  const ac = new AbortController();
  const running = mgr.start(ac.signal);
  t.teardown(async () => {
    ac.abort();
    await running.catch(() => undefined);
  });

  const lease = await eventually(() => client.tryGet<Lease>(Kinds.Lease, 'website-operator', 'default'), 'the leader Lease');
  t.equal(lease.spec?.holderIdentity, 'operator-a');
  t.equal(lease.spec?.leaseDurationSeconds, 15);

  await client.create({ ...doc('website.yaml'), metadata: { name: 'blog', namespace: 'default' } });
  const site = await eventually(async () => {
    const w = await client.get<Website>(WEBSITE, 'blog', 'default');
    return w.status?.conditions?.[0]?.status === 'True' ? w : undefined;
  }, 'the Website to be Ready');
  t.equal(site.spec.port, 80, 'schema default');
  t.equal(site.spec.tier, 'standard', 'schema default');
  t.same(site.metadata.finalizers, ['example.com/website-cleanup']);
  t.match(site.status, { replicas: 2, availableReplicas: 2, url: 'http://blog.default.svc.cluster.local/', selector: 'app.kubernetes.io/name=website,app.kubernetes.io/instance=blog' });
  const d = await client.get<Deployment>(Kinds.Deployment, 'blog', 'default');
  t.match(d.metadata.ownerReferences, [{ apiVersion: 'example.com/v1', kind: 'Website', name: 'blog', controller: true, blockOwnerDeletion: true }]);
  t.equal(d.spec.template.spec.containers[0]!.image, 'nginx:1.27');
  const pods = (await client.list<Pod>(Kinds.Pod, { namespace: 'default', labelSelector: 'app.kubernetes.io/instance=blog' })).items;
  t.equal(pods.filter((p) => p.status?.phase === 'Running').length, 2, 'two pods running on the node');
  const svc = await client.get(Kinds.Service, 'blog', 'default');
  t.match(svc.spec, { selector: { 'app.kubernetes.io/instance': 'blog' }, ports: [{ port: 80 }] });

  // A change to the Website reaches the Deployment; kubectl scale works through the scale subresource.
  await client.patch(WEBSITE, 'blog', 'default', 'merge', { spec: { image: 'nginx:1.28' } });
  await eventually(async () => (await client.get<Deployment>(Kinds.Deployment, 'blog', 'default')).spec.template.spec.containers[0]!.image === 'nginx:1.28', 'the new image');
  await client.patch(WEBSITE, 'blog', 'default', 'merge', { spec: { replicas: 3 } }, { subresource: 'scale' });
  await eventually(async () => (await client.get<Website>(WEBSITE, 'blog', 'default')).status?.availableReplicas === 3, 'three available replicas');
  // Someone edits what the operator owns: it is put back.
  await client.patch(Kinds.Deployment, 'blog', 'default', 'merge', { spec: { replicas: 1 } });
  await eventually(async () => (await client.get<Deployment>(Kinds.Deployment, 'blog', 'default')).spec.replicas === 3, 'the replicas restored');

  const events = (await client.list(Kinds.Event, { namespace: 'default', fieldSelector: 'involvedObject.name=blog,involvedObject.kind=Website' })).items.map((e) => (e as { reason?: string }).reason);
  t.ok(events.includes('Created') && events.includes('Updated'), `events recorded (${events.join(',')})`);

  // Deleting the Website: the finalizer runs, then what it owned is garbage-collected.
  await client.delete(WEBSITE, 'blog', 'default');
  await eventually(async () => !(await client.tryGet(WEBSITE, 'blog', 'default')), 'the Website to go');
  await eventually(async () => !(await client.tryGet(Kinds.Deployment, 'blog', 'default')) && !(await client.tryGet(Kinds.Service, 'blog', 'default')), 'its Deployment and Service to go');
  t.pass('cleaned up');
});

t.test('a second operator waits for the Lease and takes over when the leader stops', async (t) => {
  const clock = new RealClock();
  const cp = await createControlPlane({ backend: new MemoryBackend(), clock, components: [] });
  await cp.start();
  const app = cp.api.http();
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    await app.close();
    await cp.stop();
  });
  const client = connect({ server: url });
  const opts = (identity: string) => ({ name: 'ha', namespace: 'default', identity, leaseDurationSeconds: 2, renewDeadlineSeconds: 1.5, retryPeriodSeconds: 0.2 });
  const a = new Manager({ client, clock, leaderElection: opts('a') });
  const b = new Manager({ client, clock, leaderElection: opts('b') });
  let bStarted = false;
  b.add({ name: 'work', start: async (signal) => {
    bStarted = true;
    await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
  } });
  const acA = new AbortController();
  const acB = new AbortController();
  const runA = a.start(acA.signal);
  await eventually(async () => a.isLeader(), 'a to lead', 5000);
  const runB = b.start(acB.signal);
  await new Promise((r) => setTimeout(r, 600));
  t.notOk(b.isLeader(), 'b waits while a renews');
  t.notOk(bStarted, "b's controllers do not run");
  acA.abort();
  await runA;
  await eventually(async () => b.isLeader() && bStarted, 'b to take over', 5000);
  const lease = await client.get<Lease>(Kinds.Lease, 'ha', 'default');
  t.equal(lease.spec?.holderIdentity, 'b');
  t.equal(lease.spec?.leaseTransitions, 1);
  acB.abort();
  await runB;
});
