/**
 * Real containers end to end: the built `berth server --runtime docker` on a Docker engine of
 * this test's own (started on a socket in a temporary directory, stopped by pid), an image
 * imported with `berth image import`, Auto Scaling groups of Docker and simulated nodes, and the
 * real kubectl. A Deployment of an HTTP server with 3 replicas answers on each replica's endpoint
 * (127.0.0.1 and the port in its `node.berth.dev/ports` annotation); a crashing container shows
 * CrashLoopBackOff; a memory limit OOM-kills; logs and exec work through berth and kubectl; a
 * restarted server leaves exactly one container per pod; deleting removes the containers.
 *
 * A LoadBalancer Service in front of the replicas carries real requests to each of them.
 *
 * Commands that do not depend on each other run at once (Node.js start-up dominates the time of
 * every `berth` command on a loaded machine).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Node, Pod } from '../../pkg/api/types.js';
import { busyboxRootfs, dockerdDir, dockerdHost, dockerForTests, type TestDockerd } from '../../pkg/agent/runtimes/docker/testing.js';
import { BERTH, startServer, waitFor, type Result, type ServerProcess } from './harness.js';

// Every server gives its first load balancer 127.0.1.1: an uncommon port keeps this test clear of
// other servers on the machine (other test files run at the same time) listening on 127.0.1.1:80.
const LB_PORT = 28761;

const MANIFESTS = `
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: real}
spec:
  minSize: 1
  maxSize: 2
  desiredCapacity: 1
  launchTemplate: {instanceType: m5.xlarge}
  availabilityZones: [us-east-1a]
---
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: simulated}
spec:
  minSize: 1
  maxSize: 1
  launchTemplate: {instanceType: m5.large, containerRuntime: sim}
  availabilityZones: [us-east-1b]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {autoscaling.berth.dev/group-name: real}
      containers:
      - name: httpd
        image: busybox:local
        command: [sh, -c, 'mkdir -p /www && echo "hello from $POD_NAME" > /www/index.html && echo "serving on $PORT" && exec httpd -f -p $PORT -h /www']
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: http}
          periodSeconds: 2
        resources:
          requests: {cpu: 100m, memory: 32Mi}
          limits: {cpu: 500m, memory: 64Mi}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: modelled}
spec:
  replicas: 2
  selector: {matchLabels: {app: modelled}}
  template:
    metadata: {labels: {app: modelled}}
    spec:
      nodeSelector: {autoscaling.berth.dev/group-name: simulated}
      containers: [{name: nginx, image: "nginx:1.27", resources: {requests: {cpu: 100m}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  nodeSelector: {autoscaling.berth.dev/group-name: real}
  containers: [{name: app, image: "busybox:local", command: [sh, -c, 'echo about to fail; exit 3']}]
---
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  nodeSelector: {autoscaling.berth.dev/group-name: real}
  containers:
  - name: hog
    image: busybox:local
    command: [sh, -c, 'x=$(head -c 200000000 /dev/zero | tr "\\0" a)']
    resources: {limits: {memory: 16Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: ${LB_PORT}, targetPort: http}]
`;

const dockerDir = dockerdDir();
const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-docker-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}:${port}/ timed out`)));
    req.end();
  });
}

/** Runs a command without blocking (so several run at once): kubectl or the built berth CLI against `s`. */
function runAsync(s: ServerProcess, tool: 'kubectl' | 'kubectl-1.27' | 'berth', args: string[], input?: string): Promise<Result> {
  // kubectl 1.27 execs over SPDY (WebSocket from 1.30): both reach the Docker container.
  const kubectl = tool === 'kubectl-1.27' ? '/usr/lib/google-cloud-sdk/bin/kubectl.1.27' : 'kubectl';
  const [cmd, pre] = tool === 'berth' ? [process.execPath, [BERTH, '--kubeconfig', s.kubeconfig]] : [kubectl, ['--kubeconfig', s.kubeconfig]];
  return new Promise((resolve) => {
    const child = spawn(cmd, [...pre, ...args], { env: { ...process.env, KUBECACHEDIR: join(s.dataDir, tool === 'kubectl-1.27' ? 'kubecache-1.27' : 'kubecache') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => resolve({ code: -1, stdout, stderr: stderr + String(e) }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** GETs an API path of `s` as JSON (polling this way costs no process per look; what a user checks goes through kubectl). */
async function api<T>(s: ServerProcess, path: string): Promise<T> {
  const res = await fetch(`${s.url}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function pods(s: ServerProcess, selector?: string): Promise<Pod[]> {
  return (await api<{ items: Pod[] }>(s, `/api/v1/namespaces/default/pods${selector ? `?labelSelector=${encodeURIComponent(selector)}` : ''}`)).items;
}

const ready = (p: Pod): boolean => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const hostPort = (p: Pod): number => (JSON.parse(p.metadata.annotations!['node.berth.dev/ports']!) as { hostPort: number }[])[0]!.hostPort;

const args = ['--runtime', 'docker', '--docker-host', dockerdHost(dockerDir)];
// The engine and the server start together (a Docker node reports NotReady until its engine
// answers). Where Docker cannot run at all, the test skips saying why.
const [env, s] = await Promise.all([dockerForTests(dockerDir), startServer({ extraArgs: args })]);
let server = s;
t.teardown(async () => {
  await server.stop();
  if (env.dockerd) await env.dockerd.stop();
  else rmSync(dockerDir, { recursive: true, force: true });
});

t.test('berth server --runtime docker: a Deployment of real HTTP servers behind a load balancer, crashes, OOM kills, logs, exec, restarts', { skip: env.skip ?? false }, async (t) => {
  const dockerd = env.dockerd as TestDockerd;
  const tar = busyboxRootfs(dir);
  const containersOf = async (uid: string): Promise<string[]> => (await dockerd.engine.list([`io.kubernetes.pod.uid=${uid}`])).map((c) => c.Id);

  // The image, through the server into its engine; bad input gets a clear error.
  const [imported, bad, bad2] = await Promise.all([
    runAsync(s, 'berth', ['image', 'import', 'busybox:local', tar]),
    runAsync(s, 'berth', ['image', 'import', 'Not An Image', tar]),
    runAsync(s, 'kubectl', ['apply', '-f', '-'], 'apiVersion: autoscaling.berth.dev/v1\nkind: AutoScalingGroup\nmetadata: {name: x}\nspec: {minSize: 0, maxSize: 1, launchTemplate: {instanceType: m5.large, containerRuntime: podman}, availabilityZones: [us-east-1a]}\n'),
  ]);
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stdout, /^image busybox:local imported \(sha256:[0-9a-f]{64}\)\n$/);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^Error from server \(BadRequest\): invalid image name "Not An Image"/);
  t.match(bad2.stderr, /spec\.launchTemplate\.containerRuntime: Unsupported value: "podman": supported values: "sim", "docker"/);

  const applied = s.kubectl(['apply', '-f', '-'], { input: MANIFESTS });
  t.equal(applied.code, 0, applied.stderr);

  // Three replicas, each answering on its own endpoint with its own name.
  const web = await waitFor(async () => {
    const list = await pods(s, 'app=web');
    return list.length === 3 && list.every(ready) ? list : undefined;
  }, '3 ready web replicas', 90_000);
  const names = new Set(web.map((p) => p.metadata.name!));
  const ports = new Set<number>();
  for (const p of web) {
    t.equal(p.status!.podIP, '127.0.0.1');
    ports.add(hostPort(p));
    t.equal(await httpGet('127.0.0.1', hostPort(p)), `hello from ${p.metadata.name}\n`, `${p.metadata.name} answers on 127.0.0.1:${hostPort(p)}`);
  }
  t.equal(ports.size, 3, 'each replica has a port of its own');
  // The Service's Endpoints are where clients reach the replicas: 127.0.0.1 and each host port.
  const endpoints = await waitFor(async () => {
    const ep = await api<{ subsets?: { addresses?: { ip: string; targetRef?: { name: string } }[]; ports?: { port: number }[] }[] }>(s, '/api/v1/namespaces/default/endpoints/web');
    const seen = new Map<string, string>();
    for (const ss of ep.subsets ?? []) for (const a of ss.addresses ?? []) for (const pt of ss.ports ?? []) seen.set(a.targetRef?.name ?? '', `${a.ip}:${pt.port}`);
    return seen.size === 3 ? seen : undefined;
  }, 'Endpoints for the 3 replicas', 30_000);
  for (const p of web) t.equal(endpoints.get(p.metadata.name!), `127.0.0.1:${hostPort(p)}`, `the Endpoints of ${p.metadata.name} carry its host port`);

  // Logs and exec through berth and kubectl, all at once.
  const first = web[0]!.metadata.name!;
  const port = hostPort(web[0]!);
  const [blogs, klogs, ex, kx, piped, spdy] = await Promise.all([
    runAsync(s, 'berth', ['logs', first]),
    runAsync(s, 'kubectl', ['logs', first]),
    runAsync(s, 'berth', ['exec', first, '--', 'sh', '-c', 'echo $PORT; cat /www/index.html; exit 3']),
    runAsync(s, 'kubectl', ['exec', first, '--', 'cat', '/www/index.html']),
    runAsync(s, 'kubectl', ['exec', '-i', first, '--', 'tr', 'a-z', 'A-Z'], 'shout\n'),
    runAsync(s, 'kubectl-1.27', ['exec', '-i', first, '--', 'sh', '-c', 'tr a-z A-Z; exit 4'], 'spdy\n'),
  ]);
  t.equal(blogs.stdout, `serving on ${port}\n`, 'berth logs');
  t.equal(klogs.stdout, `serving on ${port}\n`, 'kubectl logs');
  t.equal(ex.code, 3, 'berth exec exits with the command\'s code');
  t.equal(ex.stdout, `${port}\nhello from ${first}\n`);
  t.match(ex.stderr, /command terminated with exit code 3/);
  t.equal(kx.code, 0, kx.stderr);
  t.equal(kx.stdout, `hello from ${first}\n`, 'kubectl exec');
  t.equal(piped.stdout, 'SHOUT\n', 'kubectl exec -i');
  t.equal(spdy.stdout, 'SPDY\n', 'kubectl 1.27 exec -i over SPDY');
  t.equal(spdy.code, 4, `kubectl 1.27 exits with the command's code: ${spdy.stderr}`);

  // The load balancer carries requests to every replica.
  const svc = await waitFor(async () => (await api<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(s, '/api/v1/namespaces/default/services/web')).status?.loadBalancer?.ingress?.[0]?.ip, 'the Service\'s load balancer address', 30_000);
  t.match(s.kubectl(['get', 'service', 'web']).stdout, new RegExp(`^web +LoadBalancer +\\S+ +${svc.replace(/\./g, '\\.')} +${LB_PORT}:`, 'm'), 'kubectl shows its address as EXTERNAL-IP');
  const answered = new Set<string>();
  await waitFor(async () => {
    const body = await httpGet(svc, LB_PORT).catch(() => '');
    const m = /^hello from (\S+)\n$/.exec(body);
    if (m) answered.add(m[1]!);
    return answered.size === 3;
  }, `every replica to answer through the load balancer at ${svc}:${LB_PORT}`, 30_000);
  t.same([...answered].sort(), [...names].sort(), `each replica answered through ${svc}:${LB_PORT}`);

  // The node groups: the launch template's runtime reaches the node and its agent.
  const nodes = (await api<{ items: Node[] }>(s, '/api/v1/nodes')).items;
  const real = nodes.find((n) => n.metadata.labels?.['autoscaling.berth.dev/group-name'] === 'real')!;
  const sim = nodes.find((n) => n.metadata.labels?.['autoscaling.berth.dev/group-name'] === 'simulated')!;
  t.match(real.status!.nodeInfo!.containerRuntimeVersion, /^docker:\/\/\d+\./);
  t.equal(sim.metadata.labels!['node.berth.dev/runtime'], 'sim');
  t.equal(sim.status!.nodeInfo!.containerRuntimeVersion, 'berth-sim://1.0');
  const modelled = await waitFor(async () => {
    const list = await pods(s, 'app=modelled');
    return list.length === 2 && list.every((p) => p.status?.phase === 'Running') ? list : undefined;
  }, 'the simulated replicas', 30_000);
  for (const p of modelled) t.same(await containersOf(p.metadata.uid!), [], `${p.metadata.name} runs no container`);

  // A container that keeps failing, and one over its memory limit.
  await waitFor(() => / CrashLoopBackOff /.test(s.kubectl(['get', 'pod', 'crash']).stdout), 'crash to show CrashLoopBackOff', 30_000);
  await waitFor(async () => (await api<Pod>(s, '/api/v1/namespaces/default/pods/hog')).status?.phase === 'Failed', 'hog to fail', 30_000);
  t.match(s.kubectl(['get', 'pod', 'hog']).stdout, /^hog +0\/1 +OOMKilled +0 /m, 'kubectl shows OOMKilled');
  const all = await pods(s);
  const crash = all.find((p) => p.metadata.name === 'crash')!;
  t.match(crash.status!.containerStatuses![0]!.lastState, { terminated: { exitCode: 3, reason: 'Error' } });
  t.equal(s.kubectl(['logs', 'crash', '--previous']).stdout, 'about to fail\n');
  const hog = all.find((p) => p.metadata.name === 'hog')!;
  t.match(hog.status!.containerStatuses![0]!.state.terminated, { exitCode: 137, reason: 'OOMKilled' });

  // A restarted server adopts what runs: one container per pod, the same ones.
  const before = new Map<string, string[]>();
  for (const p of web) before.set(p.metadata.uid!, await containersOf(p.metadata.uid!));
  t.equal(await s.stop('SIGTERM'), 0);
  server = await startServer({ dataDir: s.dataDir, extraArgs: args });
  // Long enough for the new agent to sync every pod (and, wrongly, to start more containers).
  await waitFor(async () => {
    const list = await pods(server, 'app=web');
    return list.length === 3 && list.every(ready) && (await Promise.all(list.map((p) => httpGet('127.0.0.1', hostPort(p)).catch(() => '')))).every((b) => b.startsWith('hello'));
  }, 'the replicas after the restart', 30_000);
  await new Promise((r) => setTimeout(r, 2000));
  for (const [uid, ids] of before) t.same(await containersOf(uid), ids, `pod ${uid}: still exactly its one container`);

  // Deleting removes the containers.
  const [d1, d2] = await Promise.all([runAsync(server, 'kubectl', ['delete', 'deployment', 'web']), runAsync(server, 'kubectl', ['delete', 'pod', 'crash', 'hog'])]);
  t.equal(d1.code, 0, d1.stderr);
  t.equal(d2.code, 0, d2.stderr);
  await waitFor(async () => (await dockerd.engine.list(['node.berth.dev/node'])).length === 0, 'every container to be removed', 30_000);
  t.pass('no container left');
});
