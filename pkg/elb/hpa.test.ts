/**
 * The HorizontalPodAutoscaler in virtual time: a Deployment behind a LoadBalancer Service, a load
 * step replayed through the target group's routing (no sockets), the simulated application's CPU
 * as the pods' usage, and Kubernetes's algorithm: 1 → 8 replicas under load (the scale-up policy
 * allows 4 pods or 100 % per 15 s), then back to 1 only after the 300 s scale-down stabilization
 * window. Also: autoscaling/v1 ⇄ v2 conversion, defaults and validation.
 */
import t from 'tap';
import type { KubeObject } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { simNode, virtualCluster } from '../controllers/testcluster.js';
import { HPA_V2, hpaV1ToV2, hpaV2ToV1, installElb, type HorizontalPodAutoscaler } from './index.js';

t.test('autoscaling/v1 ⇄ v2 conversion keeps what v1 cannot say in annotations', async (t) => {
  const v1 = { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'a' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 70 } } as KubeObject;
  const v2 = hpaV1ToV2(v1) as HorizontalPodAutoscaler;
  t.same(v2.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
  t.same(hpaV2ToV1(v2), v1, 'round trip');
  const rich = { ...v2, spec: { ...v2.spec, metrics: [...v2.spec.metrics!, { type: 'Pods', pods: { metric: { name: 'requests_per_second' }, target: { type: 'AverageValue', averageValue: '10' } } }] } } as HorizontalPodAutoscaler;
  const back = hpaV1ToV2(hpaV2ToV1(rich)) as HorizontalPodAutoscaler;
  t.same(back.spec.metrics, rich.spec.metrics, 'a Pods metric survives v1 through its annotation');
});

t.test('defaults and validation with field paths', async (t) => {
  const c = await virtualCluster(t, { run: false, controllers: [] });
  installElb(c.api, c.mgr, { controllers: false });
  const created = await c.client.create<HorizontalPodAutoscaler>({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'd', namespace: 'default' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 3 } } as HorizontalPodAutoscaler);
  t.equal(created.spec.minReplicas, 1);
  t.same(created.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
  const v1 = await c.client.get({ apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler' }, 'd', 'default');
  t.match(v1, { apiVersion: 'autoscaling/v1', spec: { targetCPUUtilizationPercentage: 80, maxReplicas: 3 } });
  await t.rejects(
    c.client.create({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'bad', namespace: 'default' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 4, maxReplicas: 2, behavior: { scaleDown: { policies: [{ type: 'Pods', value: 0, periodSeconds: 15 }] } } } }),
    { code: 422, message: /spec\.maxReplicas.*must be greater than or equal to `minReplicas`.*spec\.behavior\.scaleDown\.policies\[0\]\.value/s },
  );
});

t.test('a load step scales a Deployment 1 → 8 and back to 1 after the stabilization window', async (t) => {
  const c = await virtualCluster(t, { controllers: ['deployment', 'replicaset'], nodes: [simNode('n1', 1), simNode('n2', 2)] });
  const elb = installElb(c.api, c.mgr, { virtual: true });
  await c.client.create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        // 10 ms of CPU a request: 40 requests a second are 400m, eight pods at 50 % of their 100m.
        metadata: { labels: { app: 'web' }, annotations: { 'sim.berth.dev/cpu-ms-per-request': '10', 'sim.berth.dev/service-time-ms': '0' } },
        spec: { containers: [{ name: 'main', image: 'web:1', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
      },
    },
  } as KubeObject);
  await c.client.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } } as KubeObject);
  await c.client.create({
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'default' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 10, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }] },
  } as KubeObject);
  const replicas = async (): Promise<number> => ((await c.client.get<KubeObject & { spec: { replicas: number } }>(Kinds.Deployment, 'web', 'default')).spec.replicas);
  await c.until(async () => (await c.client.get<KubeObject & { status?: { targets?: { state: string }[] } }>({ apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' }, 'web-80', 'default')).status?.targets?.some((x) => x.state === 'healthy'), 'a healthy target', 120_000, 1000);
  t.equal(await replicas(), 1);

  const load = elb.load('default/web-80', { type: 'steps', steps: [{ atSeconds: 0, rps: 40 }, { atSeconds: 600, rps: 0 }] }, { tickMs: 1000 });
  const start = c.clock.now();
  const history: [number, number][] = [];
  const record = async (): Promise<number> => {
    const r = await replicas();
    if (history.at(-1)?.[1] !== r) history.push([Math.round((c.clock.now() - start) / 1000), r]);
    return r;
  };
  await c.until(async () => (await record()) === 8, '8 replicas under load', 300_000, 5000).catch(async (e) => {
    t.comment(JSON.stringify(history), JSON.stringify((await c.client.get<HorizontalPodAutoscaler>(HPA_V2, 'web', 'default')).status), JSON.stringify(load.stats));
    t.comment(JSON.stringify((await c.client.list<KubeObject>({ apiVersion: 'metrics.k8s.io/v1beta1', kind: 'PodMetrics' }, { namespace: 'default' })).items));
    throw e;
  });
  const upAt = (c.clock.now() - start) / 1000;
  t.ok(upAt < 120, `8 replicas ${upAt} s after the step`);
  // Steady at 8 while the load lasts (no flapping within the 10 % tolerance).
  while (c.clock.now() - start < 590_000) {
    await c.advance(10_000);
    t.equal(await record(), 8, 'stays at 8', { diagnostic: false });
  }
  const hpa = await c.client.get<HorizontalPodAutoscaler>(HPA_V2, 'web', 'default');
  t.match(hpa.status, { currentReplicas: 8, desiredReplicas: 8 });
  const util = hpa.status!.currentMetrics![0]!.resource!.current.averageUtilization!;
  t.ok(util >= 45 && util <= 55, `cpu utilization ${util}% near the 50% target`);
  // The load stops at 600 s: no scale-down within the 300 s window, then down to 1.
  await c.advance(10_000 + 280_000);
  t.equal(await record(), 8, 'still 8 within the scale-down stabilization window');
  await c.until(async () => (await record()) === 1, 'back to 1 replica', 120_000, 5000);
  const downAt = (c.clock.now() - start) / 1000 - 600;
  t.ok(downAt >= 300 && downAt <= 360, `scaled down ${downAt} s after the load stopped`);
  t.ok(load.stats.sent > 20_000 && load.stats.failed === 0 && load.stats.elb503 === 0, `every request answered: ${JSON.stringify(load.stats)}`);
  t.comment(`replicas over time (s, replicas): ${JSON.stringify(history)}`);
  load.stop();
});

t.test("the Kubernetes HPA walkthrough's php-apache at idle: a simulated server behind a Service uses idle CPU, so the HPA keeps one replica", async (t) => {
  const c = await virtualCluster(t, { controllers: ['deployment', 'replicaset'], nodes: [simNode('n1', 1), simNode('n2', 2)] });
  installElb(c.api, c.mgr, { virtual: true });
  // registry.k8s.io/hpa-example's Deployment, Service and HPA from kubernetes.io, as published.
  const deploy = (name: string, labels: Record<string, string>) =>
    ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' }, spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name, image: 'registry.k8s.io/hpa-example', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '500m' }, requests: { cpu: '200m' } } }] } } } }) as KubeObject;
  const hpa = (name: string) =>
    ({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name, namespace: 'default' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, minReplicas: 1, maxReplicas: 10, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }] } }) as KubeObject;
  await c.client.create(deploy('php-apache', { 'app.kubernetes.io/name': 'php-apache' }));
  await c.client.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'php-apache', namespace: 'default' }, spec: { selector: { 'app.kubernetes.io/name': 'php-apache' }, ports: [{ port: 80 }] } } as KubeObject);
  await c.client.create(hpa('php-apache'));
  // The same Deployment with no Service in front: batch work, busy at what it requests.
  await c.client.create(deploy('worker', { app: 'worker' }));
  await c.client.create(hpa('worker'));
  await c.advance(300_000);
  const status = async (name: string) => (await c.client.get<HorizontalPodAutoscaler>(HPA_V2, name, 'default')).status!;
  const php = await status('php-apache');
  t.equal(php.desiredReplicas, 1, 'php-apache stays at one replica with no load');
  const util = php.currentMetrics?.[0]?.resource?.current.averageUtilization;
  t.ok(util !== undefined && util <= 1, `its cpu utilization is ${util}% (1m idle of 200m)`);
  t.equal((await status('worker')).desiredReplicas, 10, 'a pod behind no Service uses what it requests: 100 %, so the HPA scales it out');
});
