/**
 * The streaming pod subresources and PodSecurity's warn/audit modes with the real kubectl:
 *
 * - `kubectl attach -i` to a simulated container with `stdin: true` (its program prints every
 *   line it reads and, being `stdinOnce`, exits at end of input), and `kubectl run -i --rm`;
 * - `kubectl port-forward pod/NAME :PORT` and `svc/NAME :PORT`, then an HTTP GET through the
 *   forwarded port answered by the pod's own application server;
 * - `Warning: would violate PodSecurity …` printed by kubectl for a Deployment, and the
 *   `pod-security.kubernetes.io/audit-violations` annotation in the audit log.
 *
 * attach speaks SPDY (kubectl 1.27–1.29) or WebSocket `v5.channel.k8s.io` (1.30+); port-forward
 * speaks SPDY (1.27–1.30) or SPDY tunnelled in a WebSocket (1.31+). Versions as in
 * kubectl-matrix.test.ts: BERTH_KUBECTL_VERSIONS=all or a comma list; default 1.27, 1.30, 1.33.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { get } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { startServer, waitFor, type Result, type ServerProcess } from './harness.js';

const ALL = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'];
const env = process.env.BERTH_KUBECTL_VERSIONS;
const versions = (env === 'all' ? ALL : env ? env.split(',').map((v) => v.trim()) : ['1.27', '1.30', '1.33']).filter((v) => existsSync(bin(v)));
function bin(v: string): string {
  return `/usr/lib/google-cloud-sdk/bin/kubectl.${v}`;
}

const FLEET = `
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: pool}
spec:
  minSize: 2
  maxSize: 2
  desiredCapacity: 2
  launchTemplate: {instanceType: m5.xlarge}
  availabilityZones: [us-east-1a]
`;

const catPod = (name: string, ns: string): string => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
    stdin: true
    stdinOnce: true
    resources: {requests: {cpu: 50m, memory: 32Mi}}
`;

const WEB_DEPLOY = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: pss}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: nginx:1.27
        resources: {requests: {cpu: 50m, memory: 32Mi}}
`;

/** Runs kubectl without blocking the event loop. */
function kubectl(s: ServerProcess, v: string, args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(bin(v), ['--kubeconfig', s.kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, KUBECACHEDIR: join(s.dataDir, `kubecache-${v}`), ...(o.env ?? {}) } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(o.input ?? '');
  });
}

/** Starts `kubectl port-forward` and resolves with the local port it prints, and the process. */
function portForward(s: ServerProcess, v: string, ns: string, target: string, remote: number): Promise<{ port: number; child: ChildProcess; output: () => string }> {
  // -v=4 shows whether client-go fell back from the WebSocket tunnel to SPDY.
  const child = spawn(bin(v), ['--kubeconfig', s.kubeconfig, '-v=4', '-n', ns, 'port-forward', '--address', '127.0.0.1', target, `:${remote}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECACHEDIR: join(s.dataDir, `kubecache-${v}`) } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kubectl ${v} port-forward ${target} printed no port: ${out}`));
    }, 60_000);
    const look = (): void => {
      const m = new RegExp(`Forwarding from 127\\.0\\.0\\.1:(\\d+) -> ${remote}`).exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), child, output: () => out });
      }
    };
    child.stdout!.on('data', look);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kubectl ${v} port-forward ${target} exited with ${code}: ${out}`));
    });
  });
}

/** One HTTP GET on its own connection: status, the answering pod's header, body. */
function httpGet(port: number): Promise<{ status: number; pod: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent: false, headers: { connection: 'close' }, timeout: 30_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, pod: String(res.headers['x-berth-pod'] ?? ''), body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

t.test('attach, run -i --rm, port-forward, PodSecurity warn and audit', { skip: versions.length === 0 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-e2e-'));
  const s = await startServer({ dataDir, store: 'memory', timeScale: 20, extraArgs: ['--audit-log-path', join(dataDir, 'audit.log')] });
  t.teardown(() => s.stop());
  const newest = versions.at(-1)!;
  const k = (args: string[], o: { input?: string } = {}): Promise<Result> => kubectl(s, newest, args, o);
  const file = (name: string, text: string): string => {
    const p = join(s.dataDir, name);
    writeFileSync(p, text);
    return p;
  };
  t.equal((await k(['apply', '-f', file('fleet.yaml', FLEET)])).code, 0);
  await waitFor(async () => (await k(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'])).stdout.split('\n').filter((x) => x === 'True').length === 2, '2 Ready nodes');

  // The three parts are independent: they run side by side (each in its own namespace).
  const podSecurity = async (): Promise<void> => {
    t.equal((await k(['create', 'namespace', 'pss'])).code, 0);
    t.equal((await k(['label', 'namespace', 'pss', 'pod-security.kubernetes.io/warn=restricted', 'pod-security.kubernetes.io/audit=restricted', 'pod-security.kubernetes.io/enforce=restricted'])).code, 0);
    const applied = await k(['apply', '-f', file('web.yaml', WEB_DEPLOY)]);
    t.equal(applied.code, 0, applied.stderr);
    const expected =
      'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "main" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "main" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "main" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "main" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")';
    t.equal(applied.stderr.trim(), expected, 'kubectl prints the warning as kube-apiserver words it');
    t.match(applied.stdout, /deployment.apps\/web created/, 'the Deployment is created (workloads are warned, not refused)');
    // The audit event is written once the response has gone (as kube-apiserver's ResponseComplete stage): it may trail kubectl's exit.
    const create = await waitFor(
      () =>
        readFileSync(join(s.dataDir, 'audit.log'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { verb: string; objectRef: { resource: string; name?: string }; annotations?: Record<string, string> })
          .find((e) => e.verb === 'create' && e.objectRef.resource === 'deployments'),
      'the audit event of the Deployment create',
    );
    t.equal(create.annotations?.['pod-security.kubernetes.io/audit-violations'], expected.slice('Warning: '.length), 'the audit event carries the violations');
    // The pod itself is refused under enforce=restricted (kubectl run sends it over HTTP).
    const refused = await k(['run', 'bare', '-n', 'pss', '--image=busybox']);
    t.not(refused.code, 0);
    t.match(refused.stderr, /pods "bare" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  };

  const perVersion = (): Promise<unknown> =>
    Promise.all(
      versions.map(async (v) => {
        const ns = `v${v.replace('.', '-')}`;
        const kv = (args: string[], o: { input?: string } = {}): Promise<Result> => kubectl(s, v, [...args, '-n', ns], o);
        t.equal((await k(['create', 'namespace', ns])).code, 0);
        t.equal((await kv(['apply', '-f', file(`cat-${v}.yaml`, catPod('cat', ns))])).code, 0);
        t.equal((await kv(['run', 'web', '--image=nginx:1.27', '--port=8080'])).code, 0, `run web (${v})`);
        // kubectl wait watches (one process, no polling).
        const up = await kv(['wait', '--for=jsonpath={.status.phase}=Running', 'pod/cat', 'pod/web', '--timeout=120s']);
        t.equal(up.code, 0, `cat and web running (${v}): ${up.stderr}`);

        // attach -i: what goes in comes out (the program prints each line it reads); end of
        // input ends the stdinOnce program, the attach, and the pod (restartPolicy Never).
        const attached = await kv(['attach', '-i', 'cat', '-c', 'main'], { input: 'hello\nworld\n' });
        t.equal(attached.code, 0, `attach (${v}): ${attached.stderr}`);
        t.match(attached.stdout, /hello\r?\nworld\r?\n/, `attach echoes stdin (${v})`);
        const done = await kv(['wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/cat', '--timeout=120s']);
        t.equal(done.code, 0, `cat Succeeded after its input ended (${v}): ${done.stderr}`);
        t.match((await kv(['logs', 'cat'])).stdout, /hello\nworld\n/, `what it printed is in its log (${v})`);

        // port-forward to the pod, then through a Service.
        const pf = await portForward(s, v, ns, 'pod/web', 8080);
        try {
          // 1.31+ tunnel SPDY through a WebSocket and would fall back to plain SPDY if berth refused it.
          if (Number(v.split('.')[1]) >= 31) t.notMatch(pf.output(), /fallback to secondary dialer/, `kubectl ${v} port-forwards over the WebSocket tunnel`);
          for (let i = 0; i < 2; i++) {
            const res = await httpGet(pf.port);
            t.same(res, { status: 200, pod: 'web', body: 'web\n' }, `GET through port-forward, connection ${i + 1} (${v})`);
          }
        } finally {
          pf.child.kill();
        }
        t.equal((await kv(['expose', 'pod', 'web', '--port=80', '--target-port=8080'])).code, 0);
        const svc = await portForward(s, v, ns, 'svc/web', 80);
        try {
          t.match(svc.output(), /-> 8080/, `svc port 80 is forwarded to the pod's 8080 (${v})`);
          t.same(await httpGet(svc.port), { status: 200, pod: 'web', body: 'web\n' }, `GET through svc port-forward (${v})`);
        } finally {
          svc.child.kill();
        }
      }),
    );

  const runRm = async (): Promise<void> => {
    const r = await k(['run', 'once', '-i', '--rm', '--restart=Never', '--image=busybox'], { input: 'bye\n' });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /bye/, 'the pod echoed its input');
    t.match(r.stdout + r.stderr, /pod "once" deleted/);
    t.not((await k(['get', 'pod', 'once'])).code, 0, 'the pod is gone');
  };

  await Promise.all([podSecurity(), perVersion(), runRm()]);
});
