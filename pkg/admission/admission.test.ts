/**
 * ResourceQuota and LimitRanger admission, and the quota controller keeping `status.used`, against
 * an in-process API server on a virtual clock. Expected messages and arithmetic from
 * https://kubernetes.io/docs/concepts/policy/resource-quotas/,
 * https://kubernetes.io/docs/tasks/administer-cluster/manage-resources/quota-memory-cpu-namespace/ and
 * https://kubernetes.io/docs/tasks/administer-cluster/manage-resources/memory-default-namespace/.
 */
import t, { type Test } from 'tap';
import type { Deployment, KubeObject, Pod, ReplicaSet } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { installControllers } from '../controllers/index.js';
import type { LimitRange, ResourceQuota } from '../controllers/types.js';
import { VirtualClock } from '../clock/clock.js';
import { startTestApi, type TestApi } from '../testing/api.js';
import { installAdmission } from './index.js';
import { podAmounts } from './usage.js';

async function cluster(t: Test, controllers?: string[]): Promise<TestApi & { clock: VirtualClock }> {
  const clock = new VirtualClock();
  const c = await startTestApi({ clock });
  installAdmission(c.api);
  if (controllers) installControllers(c.mgr, controllers);
  await c.start();
  t.teardown(() => c.stop());
  return { ...c, clock };
}

function pod(name: string, requests?: Record<string, string>, limits?: Record<string, string>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'quota-mem-cpu-demo-ctr', image: 'nginx', resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) } }] },
  };
}

/** The quota of the "Configure Memory and CPU Quotas for a Namespace" task. */
const memCpuDemo: ResourceQuota = {
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  metadata: { name: 'mem-cpu-demo', namespace: 'default' },
  spec: { hard: { 'requests.cpu': '1', 'requests.memory': '1Gi', 'limits.cpu': '2', 'limits.memory': '2Gi' } },
};

t.test('the quota-mem-cpu task: the second pod exceeds requests.memory', async (t) => {
  const c = await cluster(t, ['resourcequota']);
  await c.client.create(memCpuDemo);
  await c.client.create(pod('quota-mem-cpu-demo', { memory: '600Mi', cpu: '400m' }, { memory: '800Mi', cpu: '800m' }));
  // The second pod asks 700Mi more: 600Mi + 700Mi > 1Gi. Only the exceeded resource is listed.
  await t.rejects(c.client.create(pod('quota-mem-cpu-demo-2', { memory: '700Mi', cpu: '400m' }, { memory: '1Gi', cpu: '800m' })), {
    code: 403,
    reason: 'Forbidden',
    message: 'pods "quota-mem-cpu-demo-2" is forbidden: exceeded quota: mem-cpu-demo, requested: requests.memory=700Mi, used: requests.memory=600Mi, limited: requests.memory=1Gi',
  });
  await c.clock.advance(1000);
  const q = await c.client.get<ResourceQuota>(Kinds.ResourceQuota, 'mem-cpu-demo', 'default');
  t.same(q.status, {
    hard: { 'requests.cpu': '1', 'requests.memory': '1Gi', 'limits.cpu': '2', 'limits.memory': '2Gi' },
    used: { 'requests.cpu': '400m', 'requests.memory': '600Mi', 'limits.cpu': '800m', 'limits.memory': '800Mi' },
  }, 'the controller reports what the namespace uses');
  // Every container must state what the quota limits.
  await t.rejects(c.client.create(pod('bare')), {
    code: 403,
    message: 'pods "bare" is forbidden: failed quota: mem-cpu-demo: must specify limits.cpu for: quota-mem-cpu-demo-ctr; limits.memory for: quota-mem-cpu-demo-ctr; requests.cpu for: quota-mem-cpu-demo-ctr; requests.memory for: quota-mem-cpu-demo-ctr',
  });
});

t.test('object counts; finished pods do not count; concurrent creates cannot both take the last slot', async (t) => {
  const c = await cluster(t, ['resourcequota']);
  await c.client.create({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'counts', namespace: 'default' }, spec: { hard: { pods: '2', configmaps: '1', 'count/deployments.apps': '0' } } } as KubeObject);
  const results = await Promise.allSettled([c.client.create(pod('a')), c.client.create(pod('b')), c.client.create(pod('c'))]);
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 2, 'two of three concurrent pods admitted');
  const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  t.match(refused.reason, { code: 403, message: /exceeded quota: counts, requested: pods=1, used: pods=2, limited: pods=2$/ });
  await c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one', namespace: 'default' } });
  await t.rejects(c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'two', namespace: 'default' } }), { message: /configmaps "two" is forbidden: exceeded quota: counts, requested: configmaps=1, used: configmaps=1, limited: configmaps=1/ });
  await t.rejects(
    c.client.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } } as KubeObject),
    { message: /exceeded quota: counts, requested: count\/deployments\.apps=1, used: count\/deployments\.apps=0, limited: count\/deployments\.apps=0/ },
  );
  // A finished pod frees its slot.
  const admitted = (await c.client.list<Pod>(Kinds.Pod, { namespace: 'default' })).items[0]!;
  await c.client.updateStatus({ ...admitted, status: { ...admitted.status, phase: 'Succeeded' } } as KubeObject);
  await c.client.create(pod('d'));
  t.pass('admitted after a pod finished');
  // Other namespaces are not limited.
  await c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'free', namespace: 'kube-system' } });
});

t.test('a ReplicaSet cannot exceed the quota: FailedCreate events carry the message', async (t) => {
  const c = await cluster(t, ['resourcequota', 'deployment', 'replicaset']);
  await c.client.create({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'pods-high', namespace: 'default' }, spec: { hard: { pods: '3' } } } as KubeObject);
  const d: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 5, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  };
  await c.client.create(d);
  for (let i = 0; i < 20; i++) await c.clock.advance(500);
  t.equal((await c.client.list(Kinds.Pod, { namespace: 'default' })).items.length, 3, 'three pods, the quota');
  const rs = (await c.client.list<ReplicaSet>(Kinds.ReplicaSet, { namespace: 'default' })).items[0]!;
  const events = (await c.client.list(Kinds.Event, { namespace: 'default' })).items.filter((e) => (e as { reason?: string }).reason === 'FailedCreate');
  t.ok(events.length > 0, 'FailedCreate recorded');
  t.match((events[0] as { message?: string }).message, new RegExp(`^Error creating: pods "${rs.metadata.name}-[a-z0-9]{5}" is forbidden: exceeded quota: pods-high, requested: pods=1, used: pods=3, limited: pods=3$`));
  t.equal((await c.client.get<ResourceQuota>(Kinds.ResourceQuota, 'pods-high', 'default')).status?.used?.pods, '3');
});

t.test('a Job whose pods the quota refuses has started, and says why; it runs once the quota allows', async (t) => {
  const c = await cluster(t, ['resourcequota', 'job']);
  await c.client.create({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'cpu', namespace: 'default' }, spec: { hard: { 'requests.cpu': '1' } } } as KubeObject);
  await c.client.create({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default' },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl' }] } } },
  } as KubeObject);
  for (let i = 0; i < 10; i++) await c.clock.advance(500);
  t.equal((await c.client.list(Kinds.Pod, { namespace: 'default' })).items.length, 0, 'no pod: it names no cpu request');
  const job = await c.client.get(Kinds.Job, 'pi', 'default');
  t.ok((job.status as { startTime?: string } | undefined)?.startTime, 'status.startTime is set although no pod could be created');
  const events = (await c.client.list(Kinds.Event, { namespace: 'default' })).items.filter((e) => (e as { reason?: string }).reason === 'FailedCreate');
  t.match((events[0] as { message?: string } | undefined)?.message, /^Error creating: pods "pi-[a-z0-9]{5}" is forbidden: failed quota: cpu: must specify requests\.cpu for: pi$/);
  await c.client.delete(Kinds.ResourceQuota, 'cpu', 'default');
  for (let i = 0; i < 40 && !(await c.client.list(Kinds.Pod, { namespace: 'default' })).items.length; i++) await c.clock.advance(1000);
  t.equal((await c.client.list(Kinds.Pod, { namespace: 'default' })).items.length, 1, 'the pod is created once the quota is gone (back-off retry)');
});

t.test('quota scopes: BestEffort pods only', async (t) => {
  const c = await cluster(t);
  await c.client.create({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'besteffort', namespace: 'default' }, spec: { hard: { pods: '1' }, scopes: ['BestEffort'] } } as KubeObject);
  await c.client.create(pod('be1'));
  await t.rejects(c.client.create(pod('be2')), { code: 403 });
  await c.client.create(pod('burstable', { cpu: '100m' }));
  t.pass('a Burstable pod is outside the scope');
});

t.test('LimitRange defaults requests and limits, and enforces min and max', async (t) => {
  const c = await cluster(t);
  // The memory-defaults task: default 512Mi limit, 256Mi request.
  await c.client.create({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'mem-limit-range', namespace: 'default' }, spec: { limits: [{ type: 'Container', default: { memory: '512Mi' }, defaultRequest: { memory: '256Mi' } }] } } as KubeObject);
  const p = await c.client.create(pod('default-mem-demo'));
  t.same(p.spec.containers[0]!.resources, { requests: { memory: '256Mi' }, limits: { memory: '512Mi' } });
  t.equal(p.metadata.annotations?.['kubernetes.io/limit-ranger'], 'LimitRanger plugin set: memory limit for container quota-mem-cpu-demo-ctr; memory request for container quota-mem-cpu-demo-ctr');
  t.equal(p.status?.qosClass, 'Burstable');
  // A container with a limit only: the API's own default makes its request equal to the limit.
  const p2 = await c.client.create(pod('limit-only', undefined, { memory: '1Gi' }));
  t.same(p2.spec.containers[0]!.resources, { limits: { memory: '1Gi' }, requests: { memory: '1Gi' } });

  // The cpu-constraints task: min 200m, max 800m; a max alone becomes the default limit.
  await c.client.create({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'cpu-min-max-demo-lr', namespace: 'default' }, spec: { limits: [{ type: 'Container', max: { cpu: '800m' }, min: { cpu: '200m' } }] } } as KubeObject);
  const lr = await c.client.get<LimitRange>(Kinds.LimitRange, 'cpu-min-max-demo-lr', 'default');
  t.same(lr.spec.limits[0]!.default, { cpu: '800m' }, 'max defaults the limit');
  t.same(lr.spec.limits[0]!.defaultRequest, { cpu: '800m' }, 'and the request');
  await t.rejects(c.client.create(pod('constraints-cpu-demo-2', { cpu: '500m' }, { cpu: '1.5' })), { code: 403, message: 'pods "constraints-cpu-demo-2" is forbidden: maximum cpu usage per Container is 800m, but limit is 1500m' });
  await t.rejects(c.client.create(pod('constraints-cpu-demo-3', { cpu: '100m' }, { cpu: '800m' })), { code: 403, message: 'pods "constraints-cpu-demo-3" is forbidden: minimum cpu usage per Container is 200m, but request is 100m' });
  const ok = await c.client.create(pod('constraints-cpu-demo', { cpu: '500m' }, { cpu: '800m' }));
  t.same(ok.spec.containers[0]!.resources?.limits, { cpu: '800m', memory: '512Mi' });
});

t.test('pod resource arithmetic: init containers, sidecars, overhead', async (t) => {
  const p = pod('x', { cpu: '500m' });
  p.spec.containers.push({ name: 'b', image: 'x', resources: { requests: { cpu: '250m' } } });
  p.spec.initContainers = [{ name: 'init', image: 'x', resources: { requests: { cpu: '1' } } }];
  // max(500m + 250m, 1000m) = 1000m.
  t.equal(podAmounts(p, 'requests').get('cpu'), 1000);
  p.spec.initContainers.unshift({ name: 'sidecar', image: 'x', restartPolicy: 'Always', resources: { requests: { cpu: '100m' } } });
  p.spec.overhead = { cpu: '10m' };
  // Sidecar runs beside everything: max(750m + 100m, 100m + 1000m) + 10m overhead = 1110m.
  t.equal(podAmounts(p, 'requests').get('cpu'), 1110);
});
