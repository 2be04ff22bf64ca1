/**
 * Network Load Balancer mode and source-IP affinity:
 * - a Service annotated `aws-load-balancer-type: nlb` gets a TCP target group with TCP health
 *   checks (an HTTP health check only when annotated), flow-hash routing and client IP
 *   preservation off (AWS's defaults for `ip` targets over TCP);
 * - flow hash: a flow always reaches the same target; many flows spread over the targets; an
 *   unhealthy target gets no new flow;
 * - real sockets: a connection is pinned to one target for its life, and the target sees the
 *   load balancer's address as the source, or the client's with `preserve_client_ip.enabled`;
 * - `sessionAffinity: ClientIP`: its timeout (default 10,800 s) becomes the target group's
 *   source-IP stickiness; every request from one client address reaches the same pod over a real
 *   HTTP listener; the affinity ends after the timeout without requests, and moves when its
 *   target turns unhealthy; Service validation of the timeout;
 * - in virtual time through the controllers: an NLB's TCP checks pass pods whose HTTP answers are
 *   503 (an ALB's HTTP checks fail them), and connections spread over the targets by flow.
 */
import { request } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import t from 'tap';
import type { KubeObject } from '../api/types.js';
import { VirtualClock } from '../clock/clock.js';
import { simNode, virtualCluster } from '../controllers/testcluster.js';
import { startTestApi } from '../testing/index.js';
import { installElb } from './index.js';
import { defaultTargetGroup, targetGroupConfig, validateTargetGroup, type TargetGroup } from './api.js';
import { targetGroupSpecFor } from './controller.js';
import { Listener } from './listener.js';
import type { Service } from './service.js';
import { DEFAULT_TARGET_GROUP, TargetGroupEngine, type CheckResult, type TargetSpec } from './targetgroup.js';

const spec = (id: string): TargetSpec => ({ key: `${id}:80`, id, port: 80 });
const svc = (annotations: Record<string, string>, extra: Partial<Service['spec']> = {}): Service =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default', annotations }, spec: { type: 'LoadBalancer', selector: { app: 'db' }, ports: [{ port: 5432 }], ...extra } }) as Service;
const defaulted = (s: TargetGroup['spec']): TargetGroup => {
  const tg = { apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup', metadata: { name: 'x' }, spec: JSON.parse(JSON.stringify(s)) } as TargetGroup;
  defaultTargetGroup(tg);
  return tg;
};

t.test('an nlb Service: TCP target group, TCP health checks, flow hash, no client IP preservation', async (t) => {
  const tg = defaulted(targetGroupSpecFor(svc({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' }), { port: 5432 }, true));
  t.equal(tg.spec.protocol, 'TCP');
  t.match(tg.spec.healthCheck, { protocol: 'TCP', intervalSeconds: 30, timeoutSeconds: 10, healthyThresholdCount: 5, unhealthyThresholdCount: 2 }, 'a TCP connection is the check, not an HTTP GET');
  t.equal(tg.spec.attributes!['preserve_client_ip.enabled'], 'false');
  const c = targetGroupConfig(tg);
  t.match(c, { flowHash: true, preserveClientIp: false, stickinessSeconds: 0, deregistrationDelaySeconds: 300 });
  t.same(validateTargetGroup(tg), []);
  const http = defaulted(targetGroupSpecFor(svc({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb', 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol': 'http', 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-path': '/healthz', 'service.beta.kubernetes.io/aws-load-balancer-target-group-attributes': 'preserve_client_ip.enabled=true' }), { port: 5432 }, true));
  t.match(http.spec.healthCheck, { protocol: 'HTTP', path: '/healthz' }, 'HTTP health checks when annotated');
  t.match(targetGroupConfig(http), { preserveClientIp: true });
  const alb = defaulted(targetGroupSpecFor(svc({}), { port: 5432 }, false));
  t.match(targetGroupConfig(alb), { flowHash: false, preserveClientIp: false });
  t.equal(alb.spec.attributes!['preserve_client_ip.enabled'], undefined, 'an HTTP target group has no such attribute');
  t.match(validateTargetGroup(defaulted({ ...alb.spec, attributes: { ...alb.spec.attributes, 'preserve_client_ip.enabled': 'true' } })), [{ field: "spec.attributes['preserve_client_ip.enabled']" }]);
  t.match(validateTargetGroup(defaulted({ ...tg.spec, attributes: { ...tg.spec.attributes, 'load_balancing.algorithm.type': 'least_outstanding_requests' } })), [{ field: "spec.attributes['load_balancing.algorithm.type']" }]);
});

function engine(clock: VirtualClock, status: Map<string, number>): TargetGroupEngine {
  return new TargetGroupEngine('g', clock, { healthCheck: async (x): Promise<CheckResult> => (status.has(x.id) ? { status: status.get(x.id)! } : { error: 'connect' }) });
}

t.test('flow hash: a flow keeps its target; flows spread; an unhealthy target gets no new flow', async (t) => {
  const clock = new VirtualClock();
  const status = new Map([['a', 200], ['b', 200], ['c', 200]]);
  const g = engine(clock, status);
  g.configure({ ...DEFAULT_TARGET_GROUP, flowHash: true });
  g.setTargets([spec('a'), spec('b'), spec('c')]);
  await clock.advance(1);
  const flow = (port: number): string => `127.0.0.9:${port}->127.0.1.1:5432/tcp`;
  const n: Record<string, number> = {};
  for (let p = 30000; p < 30600; p++) {
    const x = g.pick('127.0.0.9', flow(p))!;
    n[x.spec.id] = (n[x.spec.id] ?? 0) + 1;
    g.done(x, undefined, 1);
  }
  t.ok(Object.values(n).length === 3 && Object.values(n).every((v) => v >= 150 && v <= 250), `600 flows spread over 3 targets: ${JSON.stringify(n)}`);
  const first = g.pick('127.0.0.9', flow(40000))!;
  g.done(first, undefined, 1);
  for (let i = 0; i < 20; i++) {
    const x = g.pick('127.0.0.9', flow(40000))!;
    t.equal(x.spec.id, first.spec.id, 'the same flow, the same target', { diagnostic: false });
    g.done(x, undefined, 1);
  }
  status.set(first.spec.id, 500);
  await clock.advance(60_000);
  t.equal(g.list().find((x) => x.spec.id === first.spec.id)!.state, 'unhealthy');
  for (let p = 50000; p < 50100; p++) {
    const x = g.pick('127.0.0.9', flow(p))!;
    t.not(x.spec.id, first.spec.id, 'no new flow to the unhealthy target', { diagnostic: false });
    g.done(x, undefined, 1);
  }
  g.close();
});

/** A TCP server on 127.0.0.1 that answers each line with `<name> <source address of the connection>`. */
async function whoami(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s: Socket) => {
    s.setEncoding('utf8');
    s.on('data', () => s.write(`${name} ${s.remoteAddress}\n`));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Sends `n` lines over one connection from `localAddress`, returning the answers. */
async function converse(port: number, host: string, localAddress: string, n: number): Promise<string[]> {
  const s = connect({ port, host, localAddress });
  s.setEncoding('utf8');
  const out: string[] = [];
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    s.on('error', reject);
    s.on('connect', () => s.write('hello\n'));
    s.on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      out.push(...lines);
      if (out.length >= n) {
        s.end();
        resolve();
      } else s.write('again\n');
    });
  });
  return out;
}

t.test('real sockets: a connection stays on one target; the source address the target sees', async (t) => {
  const clock = new VirtualClock();
  const servers = await Promise.all(['a', 'b', 'c'].map((x) => whoami(x)));
  t.teardown(() => Promise.all(servers.map((s) => new Promise((r) => s.server.close(r)))));
  const ports = new Map(['a', 'b', 'c'].map((x, i) => [x, servers[i]!.port]));
  const g = new TargetGroupEngine('nlb', clock, { healthCheck: async () => ({ status: 200 }) });
  g.configure({ ...DEFAULT_TARGET_GROUP, flowHash: true, healthCheck: { ...DEFAULT_TARGET_GROUP.healthCheck, protocol: 'TCP', enabled: false } });
  g.setTargets([spec('a'), spec('b'), spec('c')]);
  const address = '127.0.1.231';
  const l = new Listener(address, 0, 'TCP', g, async (x) => ({ host: '127.0.0.1', port: ports.get(x.id)! }), clock);
  await l.listen();
  t.teardown(() => l.close());
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const answers = await converse(l.boundPort, address, '127.0.0.1', 4);
    const names = new Set(answers.map((a) => a.split(' ')[0]));
    t.equal(names.size, 1, `one connection, one target: ${answers.join(' | ')}`, { diagnostic: false });
    seen.add([...names][0]!);
    t.ok(answers.every((a) => a.endsWith(` ${address}`)), 'client IP preservation off: the target sees the load balancer', { diagnostic: false });
  }
  t.ok(seen.size >= 2, `12 connections from different source ports reached ${[...seen].join(', ')}`);
  g.configure({ ...g.settings, preserveClientIp: true });
  const kept = await converse(l.boundPort, address, '127.0.0.77', 2);
  t.ok(kept.every((a) => a.endsWith(' 127.0.0.77')), `client IP preserved: ${kept.join(' | ')}`);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(g.totals().requestCount, 13, 'each connection counted once');
  // Bytes carried: 12 connections of 4 six-byte lines and one of 2 in; each answered with
  // "<name> 127.0.1.231\n" (14 bytes), the last with "<name> 127.0.0.77\n" (13).
  const sum = (f: 'bytesIn' | 'bytesOut'): number => g.list().reduce((a, x) => a + x.metrics()[f], 0);
  t.equal(sum('bytesIn'), 12 * 4 * 6 + 2 * 6, 'bytes from clients to targets');
  t.equal(sum('bytesOut'), 12 * 4 * 14 + 2 * 13, 'bytes from targets to clients');
});

t.test('real sockets, HTTP: the bytes of each request and response are counted to the target', async (t) => {
  // Raw sockets on both sides, so the bytes on the wire are known exactly.
  const body = 'pod-a says hello\n';
  const answer = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
  const target = createServer((s: Socket) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\r\n\r\n') && got.endsWith('ping')) s.end(answer);
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => target.close(r)));
  const clock = new VirtualClock();
  const g = new TargetGroupEngine('web', clock, { healthCheck: async () => ({ status: 200 }) });
  g.configure({ ...DEFAULT_TARGET_GROUP, healthCheck: { ...DEFAULT_TARGET_GROUP.healthCheck, enabled: false } });
  g.setTargets([spec('a')]);
  const address = '127.0.1.233';
  const l = new Listener(address, 0, 'HTTP', g, async () => ({ host: '127.0.0.1', port: (target.address() as AddressInfo).port }), clock);
  await l.listen();
  t.teardown(() => l.close());
  const ask = `POST /echo HTTP/1.1\r\nHost: ${address}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping`;
  const reply = await new Promise<string>((resolve, reject) => {
    const c = connect({ port: l.boundPort, host: address });
    let buf = '';
    c.on('data', (d: Buffer) => (buf += d.toString()));
    c.on('end', () => resolve(buf));
    c.on('error', reject);
    c.write(ask);
  });
  t.match(reply, /pod-a says hello/);
  await new Promise((r) => setTimeout(r, 50));
  const m = g.list()[0]!.metrics();
  t.equal(m.bytesIn, Buffer.byteLength(ask), 'the request as the client sent it: request line, headers, body');
  t.equal(m.bytesOut, Buffer.byteLength(answer), 'the response as the target sent it');
});

t.test('sessionAffinity ClientIP: one client address, one pod; the affinity times out and follows health', async (t) => {
  const s = svc({}, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } });
  t.match(targetGroupSpecFor(s, { port: 80 }, false).attributes, { 'stickiness.enabled': 'true', 'stickiness.type': 'source_ip', 'stickiness.source_ip.duration_seconds': '60' });
  const dflt = svc({}, { sessionAffinity: 'ClientIP' });
  t.match(targetGroupSpecFor(dflt, { port: 80 }, false).attributes, { 'stickiness.source_ip.duration_seconds': '10800' }, 'Kubernetes default: 3 hours');
  t.equal(targetGroupSpecFor(svc({}), { port: 80 }, false).attributes, undefined, 'no affinity: no stickiness');

  const clock = new VirtualClock();
  const status = new Map([['a', 200], ['b', 200], ['c', 200]]);
  const pods = await Promise.all(
    ['a', 'b', 'c'].map(async (name) => {
      const server = createHttpServer((_req, res) => res.writeHead(200, { 'x-berth-pod': name }).end(`${name}\n`));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return { name, server, port: (server.address() as AddressInfo).port };
    }),
  );
  t.teardown(() => Promise.all(pods.map((p) => new Promise((r) => p.server.close(r)))));
  const g = engine(clock, status);
  g.configure(targetGroupConfig(defaulted(targetGroupSpecFor(s, { port: 80 }, false))));
  t.equal(g.settings.stickinessSeconds, 60);
  g.setTargets([spec('a'), spec('b'), spec('c')]);
  await clock.advance(1);
  const address = '127.0.1.232';
  const l = new Listener(address, 0, 'HTTP', g, async (x) => ({ host: '127.0.0.1', port: pods.find((p) => p.name === x.id)!.port }), clock);
  await l.listen();
  t.teardown(() => l.close());
  const get = (from: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request({ host: address, port: l.boundPort, path: '/', localAddress: from, agent: false }, (res) => {
        res.resume();
        resolve(String(res.headers['x-berth-pod']));
      });
      req.on('error', reject);
      req.end();
    });
  const clients = ['127.0.0.21', '127.0.0.22', '127.0.0.23'];
  const podOf = new Map<string, string>();
  for (const c of clients) {
    const got = new Set<string>();
    for (let i = 0; i < 6; i++) got.add(await get(c));
    t.equal(got.size, 1, `every request from ${c} reached one pod: ${[...got]}`);
    podOf.set(c, [...got][0]!);
  }
  t.same(new Set(podOf.values()).size, 3, `first requests went round robin, one client per pod: ${JSON.stringify(Object.fromEntries(podOf))}`);
  // The sticky pod turns unhealthy: its client moves to a healthy one and stays there.
  const c0 = clients[0]!;
  status.set(podOf.get(c0)!, 503);
  await clock.advance(60_000);
  const moved = await get(c0);
  t.not(moved, podOf.get(c0), `${c0} moved off the unhealthy pod to ${moved}`);
  t.equal(await get(c0), moved, 'and stays on its new pod');
  // 60 s without requests ends the affinity (the timeout counts from the last request).
  status.set(podOf.get(c0)!, 200);
  await clock.advance(59_000);
  t.equal(await get(c0), moved, 'within the timeout: still the same pod');
  const after: string[] = [];
  for (let i = 0; i < 3; i++) {
    await clock.advance(61_000);
    after.push(await get(c0));
  }
  t.ok(new Set(after).size > 1, `after the timeout each request picks afresh: ${after.join(', ')}`);
});

t.test('Service validation: the affinity timeout is (0, 86400] and defaults to 10800', async (t) => {
  const api = await startTestApi({ clock: new VirtualClock() });
  t.teardown(() => api.stop());
  const base = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default' }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } };
  const made = await api.client.create<Service>({ ...base, metadata: { ...base.metadata, name: 'sticky' }, spec: { ...base.spec, sessionAffinity: 'ClientIP' } } as unknown as Service);
  t.same(made.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
  await t.rejects(api.client.create({ ...base, metadata: { ...base.metadata, name: 'bad' }, spec: { ...base.spec, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } } } as KubeObject), {
    code: 422,
    message: /spec\.sessionAffinityConfig\.clientIP\.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less than 86400/,
  });
  await t.rejects(api.client.create({ ...base, metadata: { ...base.metadata, name: 'odd' }, spec: { ...base.spec, sessionAffinity: 'Cookie' } } as KubeObject), { code: 422, message: /spec\.sessionAffinity: Unsupported value: "Cookie"/ });
  const none = await api.client.create<Service>({ ...base, metadata: { ...base.metadata, name: 'none' }, spec: { ...base.spec, sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } } } } as unknown as Service);
  t.equal(none.spec.sessionAffinityConfig, undefined, 'no affinity: the config is dropped, as Kubernetes defaults it');
});

t.test('an nlb Service in virtual time: TCP checks pass a pod whose HTTP answers fail; connections spread by flow', async (t) => {
  const c = await virtualCluster(t, { controllers: ['deployment', 'replicaset'], nodes: [simNode('n1', 1)] });
  const elb = installElb(c.api, c.mgr, { virtual: true });
  const deployment = (name: string, status: string): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        // Every HTTP answer (health checks included) is a 503.
        metadata: { labels: { app: name }, annotations: { 'sim.berth.dev/http-status': status, 'sim.berth.dev/service-time-ms': '5' } },
        spec: { containers: [{ name: 'main', image: 'db:1', ports: [{ containerPort: 5432 }], resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
      },
    },
  });
  await c.client.create(deployment('db', '503'));
  await c.client.create(deployment('web', '503'));
  await c.client.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default', annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } }, spec: { type: 'LoadBalancer', selector: { app: 'db' }, ports: [{ port: 5432 }] } } as KubeObject);
  await c.client.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 5432 }] } } as KubeObject);
  type Tg = KubeObject & { status?: { targets?: { state: string; reason?: string }[] } };
  const states = async (name: string): Promise<string[]> => ((await c.client.get<Tg>({ apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' }, name, 'default')).status?.targets ?? []).map((x) => x.state).sort();
  await c.until(async () => (await states('db-5432')).join() === 'healthy,healthy,healthy', 'three healthy NLB targets', 300_000, 1000);
  await c.until(async () => (await states('web-80')).join() === 'unhealthy,unhealthy,unhealthy', 'three unhealthy ALB targets', 300_000, 1000);
  const lb = await c.client.get<KubeObject & { spec: { type: string; listeners: { protocol: string }[] } }>({ apiVersion: 'elb.berth.dev/v1', kind: 'LoadBalancer' }, 'db', 'default');
  t.match(lb.spec, { type: 'network', listeners: [{ protocol: 'TCP' }] });
  t.same(await states('db-5432'), ['healthy', 'healthy', 'healthy'], 'NLB: a TCP connection is the health check, so the 503s do not count');
  t.same(await states('web-80'), ['unhealthy', 'unhealthy', 'unhealthy'], 'ALB: the HTTP check sees the 503s');
  const load = elb.load('default/db-5432', { type: 'constant', rps: 30 }, { tickMs: 1000 });
  await c.advance(20_000);
  load.stop();
  await c.advance(1000); // the last connections close (5 ms of service time)
  t.match(load.stats, { sent: 600, ok: 0, failed: 600, elb503: 0 }, 'every connection reached a pod (whose app answers 503)');
  const per = elb.plane!.group('default/db-5432').list().map((x) => x.requestCount);
  t.equal(per.reduce((a, b) => a + b, 0), 600, '600 connections');
  t.same(elb.plane!.group('default/db-5432').totals().httpCodes, {}, 'an NLB counts connections, not HTTP codes');
  t.ok(per.every((n) => n >= 140 && n <= 260), `spread by flow hash over the 3 targets: ${per.join(', ')}`);
});
