/**
 * The HorizontalPodAutoscaler's other metric sources and its behavior, in virtual time (issue 7:
 * "Resource metrics (cpu, memory utilization and average value), Pods and Object/External metrics
 * for requests per target, behaviour with stabilization windows and policies"). The load is a
 * fake `RequestMetrics` / `PodMetricsSource` whose totals the test sets, shared out over the
 * Deployment's running pods as the load balancer would share them, so each HPA settles on the
 * count Kubernetes's formulas give (worked out beside each case):
 *
 * - `Pods` requests_per_second with a scale-up policy of 1 pod per 60 s and a scale-down window of
 *   60 s with a 50 % per 60 s policy: 2 → 3 → 4 → 5 → 6 a minute apart, then 6 → 3 → 1;
 * - `Object` RequestCountPerTarget (Value) of a TargetGroup, `Object` RequestCount (AverageValue)
 *   of a LoadBalancer, `External` ALBRequestCountPerTarget (AverageValue);
 * - `Resource` memory as an AverageValue.
 */
import t, { type Test } from 'tap';
import type { KubeObject, Pod } from '../api/types.js';
import type { ContainerUsage, PodMetricsSource } from '../apiserver/virtual.js';
import { Kinds } from '../client/client.js';
import { simNode, virtualCluster, type VirtualCluster } from '../controllers/testcluster.js';
import { HPA_V2, type HorizontalPodAutoscaler, type MetricSpec } from './hpa-api.js';
import { HpaController, type RequestMetrics } from './hpa.js';
import { installElb } from './index.js';

const MI = 1024 * 1024;

/** What the fake metrics report: totals, shared over each app's running pods. */
interface Load {
  /** Requests a second to the `rps` pods, all together. */
  rps: number;
  /** Requests a minute through the `web-tg` target group. */
  tgRequests: number;
  /** Requests a minute through the `web-lb` load balancer. */
  lbRequests: number;
  /** Bytes of memory the `mem` pods use, all together. */
  memBytes: number;
}

async function cluster(t: Test): Promise<{ c: VirtualCluster; load: Load }> {
  const c = await virtualCluster(t, { controllers: ['deployment', 'replicaset'], nodes: [simNode('n1', 1), simNode('n2', 2)] });
  installElb(c.api, c.mgr, { controllers: false });
  const pods = c.mgr.informer<Pod>(Kinds.Pod);
  const running = (app: string): number => pods.cache.list().filter((p) => p.metadata.labels?.app === app && p.status?.phase === 'Running' && !p.metadata.deletionTimestamp).length;
  const load: Load = { rps: 0, tgRequests: 0, lbRequests: 0, memBytes: 0 };
  const requests: RequestMetrics = {
    podRequestsPerSecond: (p) => (p.metadata.labels?.app === 'rps' ? load.rps / Math.max(1, running('rps')) : undefined),
    // The target group's targets are the `tg` pods: RequestCountPerTarget is its requests over them.
    targetGroupMetric: (key, metric) => (key !== 'default/web-tg' ? undefined : metric === 'RequestCountPerTarget' ? load.tgRequests / Math.max(1, running('tg')) : metric === 'RequestCount' ? load.tgRequests : undefined),
    loadBalancerMetric: (key, metric) => (key === 'default/web-lb' && metric === 'RequestCount' ? load.lbRequests : undefined),
  };
  const usage: PodMetricsSource = {
    podUsage: (p): ContainerUsage[] | undefined => (p.status?.phase === 'Running' ? [{ name: 'main', cpuMillicores: 10, memoryBytes: p.metadata.labels?.app === 'mem' ? load.memBytes / Math.max(1, running('mem')) : 10 * MI }] : undefined),
  };
  HpaController.install(c.mgr, () => usage, requests);
  return { c, load };
}

async function deploy(c: VirtualCluster, app: string, replicas: number): Promise<void> {
  await c.client.create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app } },
      template: { metadata: { labels: { app } }, spec: { containers: [{ name: 'main', image: 'web:1', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] } },
    },
  } as KubeObject);
  await c.until(async () => (await c.pods('default', `app=${app}`)).filter((p) => p.status?.phase === 'Running').length === replicas, `${replicas} ${app} pods running`, 120_000, 1000);
}

async function autoscale(c: VirtualCluster, app: string, metrics: MetricSpec[], behavior?: HorizontalPodAutoscaler['spec']['behavior']): Promise<void> {
  await c.client.create({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: app, namespace: 'default' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: app }, minReplicas: 1, maxReplicas: 10, metrics, ...(behavior ? { behavior } : {}) } } as HorizontalPodAutoscaler);
}

const replicas = async (c: VirtualCluster, app: string): Promise<number> => (await c.client.get<KubeObject & { spec: { replicas: number } }>(Kinds.Deployment, app, 'default')).spec.replicas;
const hpaStatus = async (c: VirtualCluster, app: string): Promise<NonNullable<HorizontalPodAutoscaler['status']>> => (await c.client.get<HorizontalPodAutoscaler>(HPA_V2, app, 'default')).status ?? {};

/** Watches a Deployment's replicas every second of cluster time until `done`; returns each change as [seconds since start, replicas]. */
async function follow(c: VirtualCluster, app: string, done: (r: number) => boolean, what: string, maxMs = 900_000): Promise<[number, number][]> {
  const start = c.clock.now();
  const history: [number, number][] = [[0, await replicas(c, app)]];
  await c.until(
    async () => {
      const r = await replicas(c, app);
      if (history.at(-1)![1] !== r) history.push([(c.clock.now() - start) / 1000, r]);
      return done(r);
    },
    `${what}: ${JSON.stringify(history)}`,
    maxMs,
    1000,
  );
  return history;
}

t.test('Pods requests_per_second with behavior: 1 pod per 60 s up; a 60 s window and 50 % per 60 s down', async (t) => {
  const { c, load } = await cluster(t);
  await deploy(c, 'rps', 2);
  // 60 requests a second over pods that should each take 10: ceil(60 / 10) = 6 pods.
  load.rps = 60;
  await autoscale(c, 'rps', [{ type: 'Pods', pods: { metric: { name: 'requests_per_second' }, target: { type: 'AverageValue', averageValue: '10' } } }], {
    scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
    scaleDown: { stabilizationWindowSeconds: 60, policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] },
  });
  const up = await follow(c, 'rps', (r) => r === 6, '6 replicas');
  t.same(up.map(([, r]) => r), [2, 3, 4, 5, 6], `one pod at a time: ${JSON.stringify(up)}`);
  // Seen once a second: a step 60 s after the one before may show as 59 s.
  for (let i = 2; i < up.length; i++) t.ok(up[i]![0] - up[i - 1]![0] >= 59, `step ${i}: ${up[i - 1]![1]} → ${up[i]![1]} at least 60 s after the one before (${up[i]![0] - up[i - 1]![0]} s)`);
  t.ok(up[1]![0] <= 30, `the first step within two sync periods (${up[1]![0]} s)`);
  // Settled at 6: each pod takes 60 / 6 = 10 requests a second, the target.
  await c.until(async () => (await hpaStatus(c, 'rps')).currentMetrics?.[0]?.pods?.current.averageValue === '10', 'the current average at 10', 60_000, 5000);
  t.match(await hpaStatus(c, 'rps'), { currentReplicas: 6, desiredReplicas: 6, currentMetrics: [{ type: 'Pods', pods: { metric: { name: 'requests_per_second' }, current: { averageValue: '10' } } }] });

  // Down to 6 requests a second: ceil(6 / 10) = 1 pod, but only once the 60 s window has passed,
  // and by at most half a period's starting count: 6 → trunc(6 × 0.5) = 3 → trunc(3 × 0.5) = 1.
  load.rps = 6;
  const down = await follow(c, 'rps', (r) => r === 1, 'back to 1');
  t.same(down.map(([, r]) => r), [6, 3, 1], `halving: ${JSON.stringify(down)}`);
  t.ok(down[1]![0] >= 59 && down[1]![0] <= 90, `no scale-down within the 60 s stabilization window (first at ${down[1]![0]} s)`);
  t.ok(down[2]![0] - down[1]![0] >= 59, `the second step a period later (${down[2]![0] - down[1]![0]} s)`);
});

t.test('Object and External request metrics of target groups and load balancers', async (t) => {
  const { c, load } = await cluster(t);
  await Promise.all([deploy(c, 'tg', 1), deploy(c, 'lb', 1), deploy(c, 'ext', 1)]);
  // 600 requests a minute through web-tg; 1,000 through web-lb.
  load.tgRequests = 600;
  load.lbRequests = 1000;
  // Value 100 per target: 600 / n per target → ceil(n × (600 / n) / 100) = 6 pods.
  await autoscale(c, 'tg', [{ type: 'Object', object: { describedObject: { apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup', name: 'web-tg' }, metric: { name: 'RequestCountPerTarget' }, target: { type: 'Value', value: '100' } } }]);
  // AverageValue 200 a pod: ceil(1000 / 200) = 5 pods.
  await autoscale(c, 'lb', [{ type: 'Object', object: { describedObject: { apiVersion: 'elb.berth.dev/v1', kind: 'LoadBalancer', name: 'web-lb' }, metric: { name: 'RequestCount' }, target: { type: 'AverageValue', averageValue: '200' } } }]);
  // AverageValue 250 a pod of the group's 600: ceil(600 / 250) = 3 pods.
  await autoscale(c, 'ext', [{ type: 'External', external: { metric: { name: 'ALBRequestCountPerTarget', selector: { matchLabels: { targetgroup: 'web-tg' } } }, target: { type: 'AverageValue', averageValue: '250' } } }]);
  await c.until(async () => (await replicas(c, 'tg')) === 6 && (await replicas(c, 'lb')) === 5 && (await replicas(c, 'ext')) === 3, 'tg 6, lb 5, ext 3', 600_000, 5000);
  // Held there: the values sit within the 10 % tolerance of their targets.
  await c.advance(120_000);
  t.same([await replicas(c, 'tg'), await replicas(c, 'lb'), await replicas(c, 'ext')], [6, 5, 3], 'steady');
  await c.until(async () => (await hpaStatus(c, 'tg')).currentMetrics?.[0]?.object?.current.value === '100', 'the target group metric at 100 per target', 60_000, 5000);
  t.match((await hpaStatus(c, 'lb')).currentMetrics, [{ type: 'Object', object: { describedObject: { kind: 'LoadBalancer', name: 'web-lb' }, metric: { name: 'RequestCount' }, current: { averageValue: '200' } } }]);
  t.match((await hpaStatus(c, 'ext')).currentMetrics, [{ type: 'External', external: { metric: { name: 'ALBRequestCountPerTarget' }, current: { averageValue: '200' } } }]);

  // An object with no such metric: the HPA says why and leaves the count alone.
  await deploy(c, 'none', 2);
  await autoscale(c, 'none', [{ type: 'Object', object: { describedObject: { apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup', name: 'missing' }, metric: { name: 'RequestCountPerTarget' }, target: { type: 'Value', value: '100' } } }]);
  await c.until(async () => (await hpaStatus(c, 'none')).conditions?.some((x) => x.type === 'ScalingActive' && x.status === 'False' && x.reason === 'FailedGetObjectMetric'), 'ScalingActive False, FailedGetObjectMetric', 60_000, 5000);
  t.equal(await replicas(c, 'none'), 2);
});

t.test('Resource memory as an AverageValue', async (t) => {
  const { c, load } = await cluster(t);
  await deploy(c, 'mem', 1);
  // 500 Mi over the pods, 100 Mi each wanted: ceil(500 / 100) = 5 pods.
  load.memBytes = 500 * MI;
  await autoscale(c, 'mem', [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } }]);
  await c.until(async () => (await replicas(c, 'mem')) === 5, '5 replicas', 600_000, 5000);
  await c.until(async () => (await hpaStatus(c, 'mem')).currentMetrics?.[0]?.resource?.current.averageValue === '100Mi', 'the current average at 100Mi', 60_000, 5000);
  t.match(await hpaStatus(c, 'mem'), { currentReplicas: 5, currentMetrics: [{ type: 'Resource', resource: { name: 'memory', current: { averageValue: '100Mi' } } }] });
});
