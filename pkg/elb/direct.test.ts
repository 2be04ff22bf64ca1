/**
 * An `elb.berth.dev/v1` LoadBalancer with its TargetGroup made directly, with no Service (issue 7:
 * "a Service of `type: LoadBalancer` (or a `elb.berth.dev/v1 LoadBalancer` with target groups
 * directly)"), in virtual time through the controllers: the load balancer gets its own loopback
 * address and goes active; targets registered by pod name are health checked and share the
 * requests; a deleted pod leaves the group; a listener naming a missing target group is reported.
 * Also: every health check setting and attribute a Service's annotations can set reaches the
 * target group's configuration.
 */
import t from 'tap';
import type { KubeObject, Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { simNode, virtualCluster } from '../controllers/testcluster.js';
import { defaultTargetGroup, LoadBalancerKind, targetGroupConfig, TargetGroupKind, validateTargetGroup, type LoadBalancer, type TargetGroup } from './api.js';
import { targetGroupSpecFor } from './controller.js';
import { installElb } from './index.js';
import type { Service } from './service.js';

const pod = (name: string): Pod =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'direct' }, annotations: { 'sim.berth.dev/service-time-ms': '5' } },
    spec: { containers: [{ name: 'main', image: 'web:1', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
  }) as Pod;

t.test('a LoadBalancer and a TargetGroup of pods by name, without a Service', async (t) => {
  const c = await virtualCluster(t, { controllers: [], nodes: [simNode('n1', 1)] });
  const elb = installElb(c.api, c.mgr, { virtual: true });
  for (const p of ['pod-a', 'pod-b']) await c.client.create(pod(p));
  await c.until(async () => (await c.pods('default', 'app=direct')).filter((p) => p.status?.phase === 'Running').length === 2, 'two running pods', 120_000, 1000);
  await c.client.create({
    apiVersion: 'elb.berth.dev/v1',
    kind: 'TargetGroup',
    metadata: { name: 'direct-tg', namespace: 'default' },
    spec: { protocol: 'HTTP', healthCheck: { intervalSeconds: 5, timeoutSeconds: 2 }, targets: [{ id: 'pod-a', port: 8080 }, { id: 'pod-b', port: 8080 }] },
  } as KubeObject);
  await c.client.create({ apiVersion: 'elb.berth.dev/v1', kind: 'LoadBalancer', metadata: { name: 'direct', namespace: 'default' }, spec: { listeners: [{ port: 8088, targetGroupName: 'direct-tg' }] } } as KubeObject);

  const lb = await c.until(async () => {
    const o = await c.client.get<LoadBalancer>(LoadBalancerKind, 'direct', 'default');
    return o.status?.state?.code === 'active' ? o : undefined;
  }, 'the load balancer active', 60_000, 1000);
  t.match(lb.status, { address: /^127\.0\.1\.\d+$/, dnsName: 'direct.default.elb.berth.local', state: { code: 'active' } });
  t.notOk(lb.status?.state?.reason, 'no problem reported');
  t.match(lb.spec, { type: 'application', scheme: 'internet-facing', listeners: [{ port: 8088, protocol: 'HTTP', targetGroupName: 'direct-tg' }], attributes: { 'load_balancing.cross_zone.enabled': 'true' } }, 'AWS defaults filled in');
  await t.rejects(
    c.client.create({ apiVersion: 'elb.berth.dev/v1', kind: 'LoadBalancer', metadata: { name: 'zonal', namespace: 'default' }, spec: { type: 'network', listeners: [{ port: 9099, targetGroupName: 'direct-tg' }], attributes: { 'load_balancing.cross_zone.enabled': 'false' } } } as KubeObject),
    { code: 422, message: /spec\.attributes\['load_balancing\.cross_zone\.enabled'\]: Invalid value: "false": berth routes across zones/ },
    'cross-zone off is refused, not silently ignored',
  );

  const targets = async (): Promise<{ pod?: string; state: string; id: string; port: number }[]> => (await c.client.get<TargetGroup>(TargetGroupKind, 'direct-tg', 'default')).status?.targets ?? [];
  await c.until(async () => (await targets()).filter((x) => x.state === 'healthy').length === 2, 'two healthy targets', 60_000, 1000);
  const ips = Object.fromEntries((await c.pods('default', 'app=direct')).map((p) => [p.metadata.name!, p.status?.podIP]));
  t.same(
    (await targets()).map((x) => [x.pod, x.id, x.port, x.state]).sort(),
    [
      ['pod-a', ips['pod-a'], 8080, 'healthy'],
      ['pod-b', ips['pod-b'], 8080, 'healthy'],
    ],
    'each pod a target, shown by its IP as an ip target',
  );

  // 20 requests a second for 10 s through the group: round robin halves them.
  let load = elb.load('default/direct-tg', { type: 'constant', rps: 20 }, { tickMs: 1000 });
  await c.advance(10_000);
  load.stop();
  await c.advance(1000);
  t.match(load.stats, { sent: 200, ok: 200, failed: 0, elb503: 0 });
  const per = (): Record<string, number> => Object.fromEntries(elb.plane!.group('default/direct-tg').list().map((x) => [x.spec.pod?.name, x.requestCount]));
  t.same(per(), { 'pod-a': 100, 'pod-b': 100 });

  // pod-b goes: deregistered (it drains, nothing in flight, so it leaves at once); the rest goes to pod-a.
  await c.client.delete(Kinds.Pod, 'pod-b', 'default');
  await c.until(async () => (await targets()).map((x) => x.pod).join() === 'pod-a', 'pod-b deregistered', 60_000, 1000);
  load = elb.load('default/direct-tg', { type: 'constant', rps: 10 }, { tickMs: 1000 });
  await c.advance(5000);
  load.stop();
  await c.advance(1000);
  t.match(load.stats, { sent: 50, ok: 50, failed: 0 });
  t.equal(per()['pod-a'], 150, 'every later request to pod-a');

  // A listener forwarding to a target group that does not exist: still active, with the reason.
  await c.client.modify<LoadBalancer>(LoadBalancerKind, 'direct', 'default', (o) => ({ ...o, spec: { ...o.spec, listeners: [...o.spec.listeners, { port: 9000, protocol: 'HTTP', targetGroupName: 'nope' }] } }));
  const reported = await c.until(async () => (await c.client.get<LoadBalancer>(LoadBalancerKind, 'direct', 'default')).status?.state?.reason, 'the missing target group reported', 60_000, 1000);
  t.equal(reported, 'listener 9000: target group nope not found');
});

t.test("every health check setting and target group attribute from the AWS Load Balancer Controller's Service annotations", async (t) => {
  const ann = 'service.beta.kubernetes.io/aws-load-balancer-';
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'default',
      annotations: {
        [`${ann}healthcheck-path`]: '/healthz',
        [`${ann}healthcheck-interval`]: '10',
        [`${ann}healthcheck-timeout`]: '3',
        [`${ann}healthcheck-healthy-threshold`]: '3',
        [`${ann}healthcheck-unhealthy-threshold`]: '4',
        [`${ann}healthcheck-success-codes`]: '200-299',
        [`${ann}target-group-attributes`]: 'load_balancing.algorithm.type=least_outstanding_requests, deregistration_delay.timeout_seconds=30,slow_start.duration_seconds=60',
      },
    },
    spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] },
  } as Service;
  const tg = { apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup', metadata: { name: 'web-80', namespace: 'default' }, spec: targetGroupSpecFor(svc, { port: 80 }, false) } as TargetGroup;
  defaultTargetGroup(tg);
  t.same(validateTargetGroup(tg), []);
  t.match(targetGroupConfig(tg), {
    algorithm: 'least_outstanding_requests',
    healthCheck: { protocol: 'HTTP', path: '/healthz', intervalSeconds: 10, timeoutSeconds: 3, healthyThresholdCount: 3, unhealthyThresholdCount: 4, matcher: '200-299', enabled: true },
    deregistrationDelaySeconds: 30,
    slowStartSeconds: 60,
    stickinessSeconds: 0,
    flowHash: false,
    preserveClientIp: false,
  });
  // No annotations: ELB's defaults (path /, 30 s, 5 s, 5, 2, 200; round robin; 300 s; no slow start).
  const plain = { ...tg, spec: targetGroupSpecFor({ ...svc, metadata: { name: 'web', namespace: 'default' } }, { port: 80 }, false) } as TargetGroup;
  defaultTargetGroup(plain);
  t.match(targetGroupConfig(plain), { algorithm: 'round_robin', healthCheck: { path: '/', intervalSeconds: 30, timeoutSeconds: 5, healthyThresholdCount: 5, unhealthyThresholdCount: 2, matcher: '200' }, deregistrationDelaySeconds: 300, slowStartSeconds: 0 });
});
