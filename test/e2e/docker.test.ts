/**
 * Real containers end to end: the built `berth server --runtime docker` on a Docker engine of
 * this test's own (started on a socket in a temporary directory, stopped by pid), an image
 * imported with `berth image import`, Auto Scaling groups of Docker and simulated nodes, and the
 * real kubectl. A Deployment of an HTTP server with 3 replicas answers on each replica's endpoint
 * (127.0.0.1 and the port in its `node.berth.dev/ports` annotation); a crashing container shows
 * CrashLoopBackOff; a memory limit OOM-kills; logs and exec work through berth and kubectl; a
 * restarted server leaves exactly one container per pod; deleting removes the containers.
 *
 * Through a LoadBalancer Service this waits for the load balancer (ELB) work: each replica is
 * checked on its own endpoint, which is what that load balancer will target.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Node, Pod } from '../../pkg/api/types.js';
import { busyboxRootfs, startDockerd, type TestDockerd } from '../../pkg/agent/runtimes/docker/testing.js';
import { startServer, waitFor, type ServerProcess } from './harness.js';

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
`;

let dockerd: TestDockerd;
let dir: string;

t.before(async () => {
  dockerd = await startDockerd();
  dir = mkdtempSync(join(tmpdir(), 'berth-e2e-docker-'));
});
t.teardown(async () => {
  await dockerd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

function pods(s: ServerProcess, selector?: string): Pod[] {
  const r = s.kubectl(['get', 'pods', ...(selector ? ['-l', selector] : []), '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { items: Pod[] }).items;
}

const ready = (p: Pod): boolean => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const hostPort = (p: Pod): number => (JSON.parse(p.metadata.annotations!['node.berth.dev/ports']!) as { hostPort: number }[])[0]!.hostPort;
const containersOf = async (uid: string): Promise<string[]> => (await dockerd.engine.list([`io.kubernetes.pod.uid=${uid}`])).map((c) => c.Id);

t.test('berth server --runtime docker: a Deployment of real HTTP servers, crashes, OOM kills, logs, exec, restarts', async (t) => {
  const args = ['--runtime', 'docker', '--docker-host', dockerd.host];
  const s = await startServer({ extraArgs: args });
  let server = s;
  t.teardown(() => server.stop());

  // The image, through the server into its engine.
  const tar = busyboxRootfs(dir);
  const imported = s.berth(['image', 'import', 'busybox:local', tar]);
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stdout, /^image busybox:local imported \(sha256:[0-9a-f]{64}\)\n$/);
  const bad = s.berth(['image', 'import', 'Not An Image', tar]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^Error from server \(BadRequest\): invalid image name "Not An Image"/);
  const bad2 = s.kubectl(['apply', '-f', '-'], { input: 'apiVersion: autoscaling.berth.dev/v1\nkind: AutoScalingGroup\nmetadata: {name: x}\nspec: {minSize: 0, maxSize: 1, launchTemplate: {instanceType: m5.large, containerRuntime: podman}, availabilityZones: [us-east-1a]}\n' });
  t.match(bad2.stderr, /spec\.launchTemplate\.containerRuntime: Unsupported value: "podman": supported values: "sim", "docker"/);

  const applied = s.kubectl(['apply', '-f', '-'], { input: MANIFESTS });
  t.equal(applied.code, 0, applied.stderr);

  // Three replicas, each answering on its own endpoint with its own name.
  const web = await waitFor(() => {
    const list = pods(s, 'app=web');
    return list.length === 3 && list.every(ready) ? list : undefined;
  }, '3 ready web replicas', 120_000);
  const ports = new Set<number>();
  for (const p of web) {
    t.equal(p.status!.podIP, '127.0.0.1');
    ports.add(hostPort(p));
    t.equal(await httpGet(hostPort(p)), `hello from ${p.metadata.name}\n`, `${p.metadata.name} answers on 127.0.0.1:${hostPort(p)}`);
  }
  t.equal(ports.size, 3, 'each replica has a port of its own');

  // The node groups: the launch template's runtime reaches the node and its agent.
  const nodes = (JSON.parse(s.kubectl(['get', 'nodes', '-o', 'json']).stdout) as { items: Node[] }).items;
  const real = nodes.find((n) => n.metadata.labels?.['autoscaling.berth.dev/group-name'] === 'real')!;
  const sim = nodes.find((n) => n.metadata.labels?.['autoscaling.berth.dev/group-name'] === 'simulated')!;
  t.match(real.status!.nodeInfo!.containerRuntimeVersion, /^docker:\/\/\d+\./);
  t.equal(sim.metadata.labels!['node.berth.dev/runtime'], 'sim');
  t.equal(sim.status!.nodeInfo!.containerRuntimeVersion, 'berth-sim://1.0');
  const modelled = await waitFor(() => {
    const list = pods(s, 'app=modelled');
    return list.length === 2 && list.every((p) => p.status?.phase === 'Running') ? list : undefined;
  }, 'the simulated replicas', 60_000);
  for (const p of modelled) t.same(await containersOf(p.metadata.uid!), [], `${p.metadata.name} runs no container`);

  // Logs and exec, through berth and kubectl.
  const first = web[0]!.metadata.name!;
  const port = hostPort(web[0]!);
  t.equal(s.berth(['logs', first]).stdout, `serving on ${port}\n`);
  t.equal(s.kubectl(['logs', first]).stdout, `serving on ${port}\n`);
  const ex = s.berth(['exec', first, '--', 'sh', '-c', 'echo $PORT; cat /www/index.html; exit 3']);
  t.equal(ex.code, 3, 'berth exec exits with the command\'s code');
  t.equal(ex.stdout, `${port}\nhello from ${first}\n`);
  t.match(ex.stderr, /command terminated with exit code 3/);
  const kx = s.kubectl(['exec', first, '--', 'cat', '/www/index.html']);
  t.equal(kx.code, 0, kx.stderr);
  t.equal(kx.stdout, `hello from ${first}\n`);
  const piped = s.kubectl(['exec', '-i', first, '--', 'tr', 'a-z', 'A-Z'], { input: 'shout\n' });
  t.equal(piped.stdout, 'SHOUT\n', 'kubectl exec -i');

  // A container that keeps failing, and one over its memory limit.
  await waitFor(() => / CrashLoopBackOff /.test(s.kubectl(['get', 'pod', 'crash']).stdout), 'crash to show CrashLoopBackOff', 60_000);
  const crash = pods(s).find((p) => p.metadata.name === 'crash')!;
  t.match(crash.status!.containerStatuses![0]!.lastState, { terminated: { exitCode: 3, reason: 'Error' } });
  t.equal(s.kubectl(['logs', 'crash', '--previous']).stdout, 'about to fail\n');
  await waitFor(() => / OOMKilled /.test(s.kubectl(['get', 'pod', 'hog']).stdout), 'hog to show OOMKilled', 60_000);
  const hog = pods(s).find((p) => p.metadata.name === 'hog')!;
  t.match(hog.status!.containerStatuses![0]!.state.terminated, { exitCode: 137, reason: 'OOMKilled' });

  // A restarted server adopts what runs: one container per pod, the same ones.
  const before = new Map<string, string[]>();
  for (const p of web) before.set(p.metadata.uid!, await containersOf(p.metadata.uid!));
  t.equal(await s.stop('SIGTERM'), 0);
  server = await startServer({ dataDir: s.dataDir, extraArgs: args });
  await waitFor(() => pods(server, 'app=web').every(ready) && pods(server, 'app=web').length === 3, 'the replicas after the restart', 60_000);
  await new Promise((r) => setTimeout(r, 3000));
  for (const [uid, ids] of before) t.same(await containersOf(uid), ids, `pod ${uid}: still exactly its one container`);
  for (const p of pods(server, 'app=web')) t.equal(await httpGet(hostPort(p)), `hello from ${p.metadata.name}\n`);

  // Deleting removes the containers.
  t.equal(server.kubectl(['delete', 'deployment', 'web']).code, 0);
  t.equal(server.kubectl(['delete', 'pod', 'crash', 'hog']).code, 0);
  await waitFor(async () => (await dockerd.engine.list(['node.berth.dev/node'])).length === 0, 'every container to be removed', 90_000);
  t.pass('no container left');
});
