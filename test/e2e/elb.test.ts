/**
 * Services and the Elastic Load Balancer with real sockets (issue 7): a built `berth server`
 * (time scale 10), three simulated pods behind a Service of type LoadBalancer, and real HTTP
 * requests to its own loopback address (127.0.1.x) — round robin, draining on pod deletion,
 * health checks with their thresholds, least outstanding requests — plus Endpoints,
 * EndpointSlices, ClusterIP, headless and NodePort Services as kubectl shows them.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { BERTH, startServer, waitFor, type ServerProcess } from './harness.js';

const FLEET = `
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: pool}
spec:
  minSize: 1
  maxSize: 2
  desiredCapacity: 1
  launchTemplate: {instanceType: m5.2xlarge}
  availabilityZones: [us-east-1a]
`;

/** A Deployment of `replicas` simulated pods and a LoadBalancer Service on `port` (health checks every 5 s). */
const app = (name: string, port: number, replicas: number, algorithm = 'round_robin'): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata:
      labels: {app: ${name}}
      annotations: {sim.berth.dev/service-time-ms: "20", sim.berth.dev/cpu-ms-per-request: "5"}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
      - name: main
        image: web:1
        ports: [{name: http, containerPort: 8080}]
        resources: {requests: {cpu: 100m, memory: 64Mi}}
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval: "5"
    service.beta.kubernetes.io/aws-load-balancer-healthcheck-timeout: "4"
    service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: load_balancing.algorithm.type=${algorithm},deregistration_delay.timeout_seconds=60
spec:
  type: LoadBalancer
  selector: {app: ${name}}
  ports: [{name: web, port: ${port}, targetPort: http}]
`;

let s: ServerProcess;

/** The built berth CLI against the server, without blocking the event loop. */
function berthAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BERTH, '--kubeconfig', s.kubeconfig, ...args], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}
t.before(async () => {
  s = await startServer({ store: 'memory', timeScale: 10, bootDelay: 20 });
});
t.teardown(async () => {
  await s?.stop();
});

/** One GET; resolves with the status and the answering pod (or the error). */
async function get(url: string): Promise<{ status: number; pod: string; error?: string }> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const body = await r.text();
    return { status: r.status, pod: r.headers.get('x-berth-pod') ?? '', ...(body.trim() !== (r.headers.get('x-berth-pod') ?? '') ? { error: `body ${body}` } : {}) };
  } catch (e) {
    return { status: 0, pod: '', error: String((e as Error).cause ?? e) };
  }
}

const k = (args: string[], input?: string): string => {
  const r = s.kubectl(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** Waits until the Service has an external IP and `n` healthy targets; returns its URL. */
async function ready(name: string, port: number, n: number): Promise<string> {
  const ip = await waitFor(() => k(['get', 'svc', name, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']).trim(), `${name} external IP`, 25_000);
  await waitFor(() => healthy(name, port).length === n, `${n} healthy targets of ${name}`, 25_000);
  return `http://${ip}:${port}/`;
}

/** The pods of the Service's target group that are healthy. */
function healthy(name: string, port: number): string[] {
  const tg = JSON.parse(k(['get', 'targetgroup', `${name}-${port}`, '-o', 'json'])) as { status?: { targets?: { pod: string; state: string }[] } };
  return (tg.status?.targets ?? []).filter((x) => x.state === 'healthy').map((x) => x.pod);
}

function podsOf(name: string): string[] {
  const list = JSON.parse(k(['get', 'pods', '-l', `app=${name}`, '-o', 'json'])) as { items: { metadata: { name: string; deletionTimestamp?: string }; status?: { phase?: string } }[] };
  return list.items.filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
}

t.test('Services: ClusterIP, headless, NodePort; a LoadBalancer Service with Endpoints, EndpointSlices and EXTERNAL-IP', async (t) => {
  k(['apply', '-f', '-'], FLEET + '---' + app('web', 80, 3));
  k(['create', 'service', 'clusterip', 'plain', '--tcp=80:8080']);
  k(['create', 'service', 'clusterip', 'headless', '--clusterip=None', '--tcp=80:8080']);
  k(['create', 'service', 'nodeport', 'np', '--tcp=80:8080']);
  t.match(k(['get', 'svc', 'plain', '-o', 'jsonpath={.spec.clusterIP}']), /^10\.(9[6-9]|1[01]\d)\.\d+\.\d+$/, 'a ClusterIP from 10.96.0.0/12');
  t.equal(k(['get', 'svc', 'headless', '-o', 'jsonpath={.spec.clusterIP}']), 'None');
  const np = Number(k(['get', 'svc', 'np', '-o', 'jsonpath={.spec.ports[0].nodePort}']));
  t.ok(np >= 30000 && np <= 32767, `node port ${np} in 30000-32767`);
  const url = await ready('web', 80, 3);
  t.match(url, /^http:\/\/127\.0\.1\.\d+:80\/$/, 'its own loopback address');
  const line = k(['get', 'svc', 'web']).split('\n')[1]!;
  t.match(line, new RegExp(`^web\\s+LoadBalancer\\s+10\\.\\S+\\s+${url.slice(7, -4).replace(/\./g, '\\.')}\\s+80:3\\d{4}/TCP`), 'kubectl get svc shows EXTERNAL-IP');
  const ips = k(['get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[0].addresses[*].ip} {.subsets[0].ports[0].port}']).trim().split(' ');
  t.equal(ips.length, 4, 'three ready addresses and the port');
  t.equal(ips[3], '8080', 'the named targetPort resolved to the container port');
  const slices = JSON.parse(k(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'json'])) as { items: { endpoints: { conditions: { ready: boolean } }[]; ports: { port: number }[] }[] };
  t.equal(slices.items.length, 1);
  t.equal(slices.items[0]!.endpoints.filter((e) => e.conditions.ready).length, 3);
  t.match(k(['get', 'loadbalancers']), /web\s+application\s+127\.0\.1\.\d+\s+80\/HTTP\s+active/);

  await t.test('round robin: 300 requests reach each pod 100 ± 5 times', async (t) => {
    const counts = new Map<string, number>();
    const failed: unknown[] = [];
    // Three clients, 100 requests each: round robin shares requests, not clients.
    await Promise.all(
      [0, 1, 2].map(async () => {
        for (let i = 0; i < 100; i++) {
          const r = await get(url);
          if (r.status !== 200 || r.error) failed.push(r);
          counts.set(r.pod, (counts.get(r.pod) ?? 0) + 1);
        }
      }),
    );
    t.same(failed, [], 'every request answered 200 with the pod name in the body');
    t.same([...counts.keys()].sort(), podsOf('web').sort(), 'every pod answered, naming itself');
    for (const [pod, n] of counts) t.ok(n >= 95 && n <= 105, `${pod}: ${n}`);
  });

  await t.test('a pod failing its health check leaves after the unhealthy threshold and returns after the healthy threshold', async (t) => {
    const [sick] = podsOf('web');
    k(['annotate', 'pod', sick!, 'sim.berth.dev/http-status=503', '--overwrite']);
    await waitFor(() => !healthy('web', 80).includes(sick!), `${sick} unhealthy`, 15_000);
    const state = JSON.parse(k(['get', 'targetgroup', 'web-80', '-o', 'json'])).status.targets.find((x: { pod: string }) => x.pod === sick);
    t.match(state, { state: 'unhealthy', reason: 'Target.ResponseCodeMismatch' });
    const seen = new Set<string>();
    const statuses = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const r = await get(url);
      statuses.add(r.status);
      seen.add(r.pod);
    }
    t.same([...statuses], [200], 'the healthy pods answer');
    t.notOk(seen.has(sick!), 'no request reached the unhealthy pod');
    t.equal(seen.size, 2);
    k(['annotate', 'pod', sick!, 'sim.berth.dev/http-status-']);
    const t0 = Date.now();
    await waitFor(() => healthy('web', 80).includes(sick!), `${sick} healthy again`, 15_000);
    // Five passes in a row at a 5 s interval: at least 20 s of cluster time (2 s of real time at scale 10).
    t.ok(Date.now() - t0 >= 1800, `healthy again only after the healthy threshold (${Date.now() - t0} ms)`);
    const back = new Set<string>();
    for (let i = 0; i < 30; i++) back.add((await get(url)).pod);
    t.ok(back.has(sick!), 'it receives traffic again');
  });

  await t.test('deleting a pod under steady traffic fails no request (draining)', async (t) => {
    const results: { status: number; error?: string }[] = [];
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) results.push(await get(url));
    };
    const workers = Array.from({ length: 8 }, worker);
    await new Promise((r) => setTimeout(r, 500));
    const [victim] = podsOf('web');
    const del = s.kubectl(['delete', 'pod', victim!, '--wait=false']);
    t.equal(del.code, 0, del.stderr);
    await new Promise((r) => setTimeout(r, 2500));
    stop = true;
    await Promise.all(workers);
    const bad = results.filter((r) => r.status !== 200);
    t.ok(results.length > 100, `${results.length} requests sent`);
    t.same(bad, [], 'every request answered 200');
    const st = JSON.parse(k(['get', 'targetgroup', 'web-80', '-o', 'json'])).status.targets as { pod: string; state: string }[];
    t.notOk(st.some((x) => x.pod === victim && x.state !== 'draining'), 'the deleted pod is deregistered');
  });

  await t.test('least outstanding requests favours the fast pods when one is slow', async (t) => {
    k(['annotate', 'svc', 'web', '--overwrite', 'service.beta.kubernetes.io/aws-load-balancer-target-group-attributes=load_balancing.algorithm.type=least_outstanding_requests,deregistration_delay.timeout_seconds=60']);
    await waitFor(() => k(['get', 'targetgroup', 'web-80', '-o', "jsonpath={.spec.attributes['load_balancing\\.algorithm\\.type']}"]) === 'least_outstanding_requests', 'the target group switched to least outstanding requests', 10_000);
    await waitFor(() => healthy('web', 80).length === 3, 'three healthy targets', 20_000);
    const pods = podsOf('web');
    const slow = pods[0]!;
    // 4 s of cluster time per request on the slow pod (0.4 s real), 20 ms on the others.
    k(['annotate', 'pod', slow, 'sim.berth.dev/service-time-ms=4000', '--overwrite']);
    await new Promise((r) => setTimeout(r, 300));
    const counts = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let i = 0; i < 20; i++) {
          const r = await get(url);
          counts.set(r.pod, (counts.get(r.pod) ?? 0) + 1);
        }
      }),
    );
    const nSlow = counts.get(slow) ?? 0;
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    t.equal(total, 120);
    t.ok(nSlow <= 12, `the slow pod took ${nSlow} of 120 (round robin would give it 40): ${JSON.stringify([...counts])}`);
    k(['annotate', 'pod', slow, 'sim.berth.dev/service-time-ms-']);
  });

  await t.test('berth describe loadbalancer, berth get loadbalancers, berth top pods', async (t) => {
    // Metrics reach the status at most once a period (30 s of cluster time): wait for the targets' counts.
    await waitFor(() => {
      const tg = JSON.parse(k(['get', 'targetgroup', 'web-80', '-o', 'json'])) as { status?: { targets?: { state: string; requestCount?: number }[] } };
      return (tg.status?.targets ?? []).filter((x) => x.state === 'healthy' && (x.requestCount ?? 0) > 0).length >= 2;
    }, 'target metrics in the status', 20_000);
    // The CLI runs take seconds each on a busy machine: all four at once.
    const [desc, get, top, nodes] = await Promise.all([['describe', 'loadbalancer', 'web'], ['get', 'loadbalancers'], ['top', 'pods', '-l', 'app=web'], ['top', 'nodes']].map((a) => berthAsync(a)));
    t.equal(desc.code, 0, desc.stderr);
    t.match(desc.stdout, /Address:\s+127\.0\.1\.\d+/);
    t.match(desc.stdout, /Algorithm:\s+least_outstanding_requests/);
    t.match(desc.stdout, /Health Check:\s+HTTP \/ matcher=200 interval=5s timeout=4s healthy-threshold=5 unhealthy-threshold=2/);
    t.match(desc.stdout, /\d+\.\d+\.\d+\.\d+:8080\s+web-\S+\s+(healthy\s+-|unhealthy\s+Target\.\S+)\s+\d+\s+\d+\s+[\d.]+ms\s+[\d.]+ms\s+2xx=\d+/);
    t.match(get.stdout, /^NAME\s+TYPE\s+ADDRESS\s+PORTS\s+STATE\s+REQUESTS\s+ACTIVE\s+5XX\s+AGE/);
    const reqs = Number(/web\s+application\s+\S+\s+\S+\s+active\s+(\d+)/.exec(get.stdout)?.[1]);
    t.ok(reqs >= 600, `the load balancer counted ${reqs} requests`);
    t.equal(top.code, 0, top.stderr);
    t.match(top.stdout, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s+REQUESTS\s+ACTIVE\s+P99/);
    t.match(top.stdout, /web-\S+\s+\d+m\s+64Mi\s+\d+\s+\d+\s+[\d.]+ms/);
    t.match(nodes.stdout, /ip-\S+\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%/);
  });
});

t.test('instance targets: an NLB in the AWS Load Balancer Controller\'s instance mode sends to the node on the NodePort, and kube-proxy reaches the pods', async (t) => {
  k(['apply', '-f', '-'], `
apiVersion: v1
kind: Service
metadata:
  name: webi
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: external
    service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: instance
    service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval: "5"
    service.beta.kubernetes.io/aws-load-balancer-healthcheck-healthy-threshold: "2"
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: web, port: 81, targetPort: http}]
`);
  // An NLB's health check timeout defaults to 10 s, not below a 5 s interval: the Service says why it waits.
  await waitFor(() => /FailedBuildModel.*spec\.healthCheck\.timeoutSeconds.*must be smaller than intervalSeconds/.test(k(['get', 'events', '--field-selector', 'involvedObject.name=webi'])), 'a FailedBuildModel event on the Service', 25_000);
  k(['annotate', 'svc', 'webi', 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-timeout=4']);
  const nodePort = Number(k(['get', 'svc', 'webi', '-o', 'jsonpath={.spec.ports[0].nodePort}']));
  const instance = k(['get', 'instances', '-l', 'autoscaling.berth.dev/group-name=pool', '-o', 'jsonpath={.items[0].metadata.name}']).trim();
  const ip = await waitFor(() => k(['get', 'svc', 'webi', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']).trim(), 'webi external IP', 25_000);
  const targets = (): { id: string; port: number; state: string }[] => (JSON.parse(k(['get', 'targetgroup', 'webi-81', '-o', 'json'])) as { status?: { targets?: { id: string; port: number; state: string }[] } }).status?.targets ?? [];
  await waitFor(() => targets().some((x) => x.state === 'healthy'), 'a healthy instance target', 25_000);
  t.same(targets().map((x) => [x.id, x.port]), [[instance, nodePort]], 'the one target is the pool\'s instance on the NodePort');
  t.match(k(['get', 'targetgroup', 'webi-81', '-o', 'wide']), /webi-81\s+TCP\s+\S+\s+1\/1\s+.*instance/, 'kubectl shows the target type');
  const pods = new Set(podsOf('web'));
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const r = await get(`http://${ip}:81/`);
    t.equal(r.status, 200, r.error ?? '');
    t.ok(pods.has(r.pod), `answered by a web pod (${r.pod})`);
    seen.add(r.pod);
  }
  t.ok(seen.size >= 2, `kube-proxy spreads the node's connections over the Service's pods (${seen.size} of ${pods.size})`);
});
