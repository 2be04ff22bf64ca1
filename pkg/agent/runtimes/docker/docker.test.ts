/**
 * The Docker runtime against a real Docker engine (started for this file by `startDockerd`, on
 * its own socket, stopped by pid) and an in-process API server, on a clock ten times faster than
 * real time (back-offs, probe periods and grace periods are cluster time). Images come from
 * `busybox-static` through an import, as `berth image import` does it.
 */
import { createReadStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Event, KubeObject, Node, Pod } from '../../../api/types.js';
import { podStatusReason } from '../../../apiserver/tables.js';
import { ScaledClock } from '../../../clock/clock.js';
import { Kinds } from '../../../client/client.js';
import { Manager } from '../../../runtime/manager.js';
import { startTestApi, type TestApi } from '../../../testing/index.js';
import { NodeAgent } from '../../agent.js';
import { RUNTIME_LABEL } from '../../runtime.js';
import { DockerRuntime } from './docker.js';
import { PORTS_ANNOTATION, portsOf } from './ports.js';
import { LABELS } from './spec.js';
import { busyboxRootfs, dockerdDir, dockerForTests, startDockerd, type TestDockerd } from './testing.js';

const IMAGE = 'busybox:local';
// The engine of this file; where Docker cannot run at all, every test skips saying why.
const env = await dockerForTests();
const skip = env.skip ?? false;
const dockerd = env.dockerd as TestDockerd;
const dir = mkdtempSync(join(tmpdir(), 'berth-docker-test-'));
t.teardown(async () => {
  await env.dockerd?.stop();
  rmSync(dir, { recursive: true, force: true });
});
const rootfs = env.dockerd ? busyboxRootfs(dir) : '';
if (env.dockerd) await dockerd.engine.importImage(createReadStream(rootfs), 'busybox', 'local');
// The tests share the engine but nothing else (each has its own API server and node): they run at once.
t.jobs = 5;

interface Agent {
  agent: NodeAgent;
  docker: DockerRuntime;
  stop(): Promise<void>;
}

/** An agent (Docker by default) on its own manager, so a test can stop it and start another. */
async function startAgent(h: TestApi, host = dockerd.host): Promise<Agent> {
  const mgr = new Manager({ client: h.client, clock: h.clock });
  const docker = new DockerRuntime({ host, client: h.client, clock: h.clock, log: mgr.log, dataDir: join(dir, 'data'), pullTimeoutSeconds: 10 });
  const agent = new NodeAgent(mgr, { runtime: 'docker', runtimes: [docker] });
  mgr.add(agent);
  h.api.logs.current = agent;
  h.api.exec.current = agent;
  const ac = new AbortController();
  const running = mgr.start(ac.signal);
  await mgr.waitForSync();
  return { agent, docker, stop: () => (ac.abort(), running) };
}

async function cluster(t: Test, node: string, host?: string): Promise<TestApi & Agent> {
  const h = await startTestApi({ clock: new ScaledClock(10) });
  await h.start();
  const a = await startAgent(h, host);
  t.teardown(async () => {
    await a.stop();
    await h.stop();
    // Whatever a failed test left behind.
    if (host === undefined) for (const c of await dockerd.engine.list([`${LABELS.node}=${node}`])) await dockerd.engine.api.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  });
  await h.client.create(nodeObject(node));
  return { ...h, ...a };
}

function nodeObject(name: string, labels: Record<string, string> = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: { podCIDR: '10.244.1.0/24' },
    status: {
      capacity: { cpu: '2', memory: '8Gi', pods: '110' },
      allocatable: { cpu: '1930m', memory: '7Gi', pods: '110' },
      addresses: [{ type: 'InternalIP', address: '10.0.1.15' }],
    },
  };
}

function podObject(name: string, node: string, spec: Partial<Pod['spec']>): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: node, containers: [], ...spec } as Pod['spec'] };
}

/** Polls `fn` (real time, every 100 ms) until it returns something truthy; fails with `what` after `ms`. */
async function waitFor<T>(fn: () => Promise<T> | T, what: string, ms = 90_000): Promise<NonNullable<T>> {
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
    await new Promise((r) => setTimeout(r, 100));
  }
}

const getPod = (h: TestApi, name: string): Promise<Pod> => h.client.get<Pod>(Kinds.Pod, name, 'default');

async function podWhere(h: TestApi, name: string, what: string, pred: (p: Pod) => boolean): Promise<Pod> {
  let last: Pod | undefined;
  try {
    return await waitFor(async () => {
      last = await getPod(h, name);
      return pred(last) ? last : undefined;
    }, `pod ${name}: ${what}`);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last status: ${JSON.stringify(last?.status)}`);
  }
}

async function events(h: TestApi, name: string): Promise<string[]> {
  const list = await h.client.list<Event>(Kinds.Event, { namespace: 'default' });
  return list.items.filter((e) => e.involvedObject.name === name).map((e) => `${e.type} ${e.reason}: ${e.message}`);
}

/**
 * Checks that the pod's events come to include one matching each of `want` (a string: equal;
 * a RegExp: matching). Events are written in the background (best-effort, as client-go's
 * recorder), so they are waited for, up to 15 s.
 */
async function expectEvents(t: Test, h: TestApi, name: string, want: (string | RegExp)[]): Promise<void> {
  const has = (ev: string[], w: string | RegExp): boolean => ev.some((e) => (typeof w === 'string' ? e === w : w.test(e)));
  let ev: string[] = [];
  const deadline = Date.now() + 15_000;
  for (;;) {
    ev = await events(h, name);
    if (want.every((w) => has(ev, w)) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const w of want) t.ok(has(ev, w), `event of ${name}: ${String(w)}`, { found: ev });
}

function httpGet(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const ready = (p: Pod): boolean => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const docker = (id: string | undefined): string => (id ?? '').replace('docker://', '');

t.test('a pod runs in Docker: init container, env from ConfigMap and Secret, volumes, ports, limits, probes, logs, exec, deletion', { skip }, async (t) => {
  const h = await cluster(t, 'd1');
  await h.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default' }, data: { MODE: 'fast', greeting: 'hello' } } as KubeObject);
  await h.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' }, data: { PASSWORD: Buffer.from('s3cret').toString('base64') } } as KubeObject);
  await h.client.create(
    podObject('web', 'd1', {
      initContainers: [{ name: 'init', image: IMAGE, command: ['sh', '-c', 'echo init ran; echo from init > /work/init.txt'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
      containers: [
        {
          name: 'web',
          image: IMAGE,
          command: ['sh', '-c', 'echo "pod $POD_NAME mode $MODE pass $PASS" > /work/index.html; cat /work/init.txt /config/greeting >> /work/index.html; echo serving on $PORT; exec httpd -f -p $PORT -h /work'],
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'app', key: 'MODE' } } },
            { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'PASSWORD' } } },
          ],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 2 },
          volumeMounts: [
            { name: 'work', mountPath: '/work' },
            { name: 'config', mountPath: '/config' },
          ],
          resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '100m', memory: '32Mi' } },
        },
      ],
      volumes: [
        { name: 'work', emptyDir: {} },
        { name: 'config', configMap: { name: 'app' } },
      ],
    }),
  );
  const pod = await podWhere(h, 'web', 'Ready', ready);
  t.equal(pod.status!.phase, 'Running');
  t.equal(pod.status!.podIP, '127.0.0.1', 'host networking: the pod is on loopback');
  t.equal(pod.status!.hostIP, '10.0.1.15');
  const web = pod.status!.containerStatuses![0]!;
  t.match(web, { name: 'web', ready: true, started: true, restartCount: 0, containerID: /^docker:\/\/[0-9a-f]{64}$/, imageID: /^docker:\/\/sha256:/, image: 'docker.io/library/busybox:local' });
  t.match(pod.status!.initContainerStatuses, [{ name: 'init', state: { terminated: { exitCode: 0, reason: 'Completed' } } }]);

  const ports = portsOf(pod)!;
  t.match(ports, [{ container: 'web', name: 'http', containerPort: 8080, protocol: 'TCP', hostPort: Number }], `the ${PORTS_ANNOTATION} annotation`);
  const res = await httpGet(ports[0]!.hostPort);
  t.same(res, { status: 200, body: 'pod web mode fast pass s3cret\nfrom init\nhello' }, 'the server answers on its allocated port with what its environment and volumes gave it');

  const info = await dockerd.engine.inspect(docker(web.containerID));
  t.match(info!.HostConfig, { NetworkMode: 'host', NanoCpus: 500_000_000, Memory: 64 * 2 ** 20, MemoryReservation: 32 * 2 ** 20, CpuShares: 102 }, 'limits as NanoCpus and Memory, requests as reservations');
  t.match(info!.Config.Labels, { [LABELS.podUid]: pod.metadata.uid, [LABELS.node]: 'd1', [LABELS.containerName]: 'web' });

  const signal = new AbortController().signal;
  t.equal(await h.agent.logs(pod, 'web', {}, signal), `serving on ${ports[0]!.hostPort}\n`);
  t.equal(await h.agent.logs(pod, 'init', {}, signal), 'init ran\n');
  const out: string[] = [];
  const err: string[] = [];
  const code = await h.agent.exec(pod, 'web', ['sh', '-c', 'echo $PORT; echo oops >&2; exit 4'], { stdout: (d) => out.push(Buffer.from(d).toString()), stderr: (d) => err.push(Buffer.from(d).toString()) }, signal);
  t.same([code, out.join(''), err.join('')], [4, `${ports[0]!.hostPort}\n`, 'oops\n'], 'exec: output, error and exit code');
  const echoed: string[] = [];
  async function* input(): AsyncGenerator<Uint8Array> {
    yield Buffer.from('typed ');
    yield Buffer.from('in');
  }
  t.equal(await h.agent.exec(pod, 'web', ['cat'], { stdin: input(), stdout: (d) => echoed.push(Buffer.from(d).toString()) }, signal), 0);
  t.equal(echoed.join(''), 'typed in', 'exec: standard input, closed at its end');
  await t.rejects(h.agent.exec(pod, 'init', ['true'], {}, signal), { reason: 'BadRequest', message: /not running/ });

  await expectEvents(t, h, 'web', ['Normal Pulled: Container image "busybox:local" already present on machine', 'Normal Created: Created container init', 'Normal Started: Started container web']);

  // Deleting it: stop signal, SIGKILL after the grace period (httpd as PID 1 ignores SIGTERM), then everything goes.
  const uid = pod.metadata.uid!;
  await h.client.delete(Kinds.Pod, 'web', 'default', { gracePeriodSeconds: 2 });
  await waitFor(async () => !(await h.client.tryGet(Kinds.Pod, 'web', 'default')), 'the pod to go');
  t.same(await dockerd.engine.list([`${LABELS.podUid}=${uid}`]), [], 'its containers are removed');
  t.notOk(existsSync(join(dir, 'data', 'pods', uid)), 'and its volumes');
});

t.test('a startup probe (tcpSocket) holds readiness back; Secret volumes, workingDir and args; logs --tail and -f', { skip }, async (t) => {
  const h = await cluster(t, 'd4');
  await h.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'site', namespace: 'default' }, data: { 'index.html': Buffer.from('from a secret').toString('base64') } } as KubeObject);
  await h.client.create(
    podObject('slow', 'd4', {
      containers: [
        {
          name: 'app',
          image: IMAGE,
          workingDir: '/site',
          command: ['sh', '-c'],
          args: ['echo "in $(pwd): $(cat index.html)"; echo two; echo three; sleep 3; echo listening; exec httpd -f -p $PORT -h /site'],
          ports: [{ name: 'web', containerPort: 80 }],
          // One look every 1 s of cluster time (0.1 s real): refused until httpd listens after 3 s real.
          startupProbe: { tcpSocket: { port: 'web' }, periodSeconds: 1, failureThreshold: 600 },
          readinessProbe: { httpGet: { path: '/index.html', port: 80 }, periodSeconds: 1 },
          volumeMounts: [{ name: 'site', mountPath: '/site', readOnly: true }],
        },
      ],
      volumes: [{ name: 'site', secret: { secretName: 'site' } }],
    }),
  );
  const running = await podWhere(h, 'slow', 'Running', (p) => p.status?.containerStatuses?.[0]?.state.running !== undefined);
  const early = running.status!.containerStatuses![0]!;
  t.match(early, { started: false, ready: false }, 'not started (nor ready) while its startup probe fails');
  const pod = await podWhere(h, 'slow', 'Ready', ready);
  t.match(pod.status!.containerStatuses![0], { started: true, ready: true, restartCount: 0 });
  await expectEvents(t, h, 'slow', [/^Warning Unhealthy: Startup probe failed: dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/]);
  const port = portsOf(pod)![0]!.hostPort;
  t.same(await httpGet(port), { status: 200, body: 'from a secret' }, 'the Secret volume is served from the working directory');

  const signal = new AbortController().signal;
  t.equal(await h.agent.logs(pod, 'app', {}, signal), 'in /site: from a secret\ntwo\nthree\nlistening\n', 'workingDir and args');
  t.equal(await h.agent.logs(pod, 'app', { tailLines: 2 }, signal), 'three\nlistening\n', 'logs --tail 2');
  const ac = new AbortController();
  const stream = await h.agent.logs(pod, 'app', { follow: true, tailLines: 1 }, ac.signal);
  t.equal(typeof stream, 'object', 'logs -f is a stream');
  let followed = '';
  const reading = (async () => {
    for await (const chunk of stream as AsyncIterable<string>) {
      followed += chunk;
      if (followed.includes('later\n')) break;
    }
  })();
  // Whatever the container writes later arrives on the followed log.
  t.equal(await h.agent.exec(pod, 'app', ['sh', '-c', 'echo later > /proc/1/fd/1'], {}, signal), 0);
  await Promise.race([reading, new Promise((_, reject) => setTimeout(() => reject(new Error(`logs -f got only ${JSON.stringify(followed)}`)), 10_000))]);
  ac.abort();
  t.equal(followed, 'listening\nlater\n', 'logs -f: the tail, then what came later');
});

t.test('exits and restarts: CrashLoopBackOff with back-off, OOMKilled, a missing image, a failed liveness probe, graceful stops', { skip }, async (t) => {
  const h = await cluster(t, 'd2');
  const keep = { finalizers: ['test.berth.dev/keep'] };
  const pods = [
    podObject('crash', 'd2', { containers: [{ name: 'app', image: IMAGE, command: ['sh', '-c', 'echo boom; exit 3'] }] }),
    podObject('oom', 'd2', {
      restartPolicy: 'Never',
      containers: [{ name: 'hog', image: IMAGE, command: ['sh', '-c', 'echo eating; x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo never'], resources: { limits: { memory: '16Mi' } } }],
    }),
    podObject('missing', 'd2', { containers: [{ name: 'app', image: 'nope:1.0' }] }),
    podObject('unhealthy', 'd2', {
      containers: [
        {
          name: 'app',
          image: IMAGE,
          command: ['sh', '-c', 'touch /tmp/healthy; sleep 1; rm /tmp/healthy; exec sleep 3600'],
          // A generous timeout (real seconds): on a loaded machine `docker exec` alone can take over the default 1 s.
          livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 10 },
        },
      ],
      terminationGracePeriodSeconds: 1,
    }),
    // sleep as PID 1 has no SIGTERM handler: it is killed at the end of its grace period.
    { ...podObject('stubborn', 'd2', { containers: [{ name: 'app', image: IMAGE, command: ['sleep', '3600'] }] }), metadata: { name: 'stubborn', namespace: 'default', ...keep } },
    {
      ...podObject('polite', 'd2', { containers: [{ name: 'app', image: IMAGE, command: ['sh', '-c', 'trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done'] }] }),
      metadata: { name: 'polite', namespace: 'default', ...keep },
    },
  ];
  for (const p of pods) await h.client.create(p);

  // A container that exits non-zero restarts at once, then after 10 s, 20 s …: CrashLoopBackOff between.
  const crash = await podWhere(h, 'crash', 'CrashLoopBackOff after two restarts', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 && p.status?.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff');
  const cs = crash.status!.containerStatuses![0]!;
  t.match(cs.lastState, { terminated: { exitCode: 3, reason: 'Error' } });
  t.match(cs.state.waiting, { message: /^back-off (20|40)s restarting failed container=app pod=crash_default/ });
  t.equal(podStatusReason(crash), 'CrashLoopBackOff', 'kubectl shows CrashLoopBackOff');
  t.equal(await h.agent.logs(crash, 'app', { previous: true }, new AbortController().signal), 'boom\n', 'logs --previous');
  const kept = (await dockerd.engine.list([`${LABELS.podUid}=${crash.metadata.uid}`])).sort((a, b) => Number(a.Labels[LABELS.restartCount]) - Number(b.Labels[LABELS.restartCount]));
  const attempts = kept.map((c) => Number(c.Labels[LABELS.restartCount]));
  t.equal(kept.length, 2, `the kubelet keeps the current run and the one before: ${attempts}`);
  t.equal(attempts[1]! - attempts[0]!, 1, 'consecutive runs');
  t.ok(attempts[0]! >= 1, 'the older kept run is a restart (run 0 restarted at once, so only later ones back off)');
  // Run n (n >= 1) exited, then run n+1 waited out 10 s × 2^(n-1) of cluster time: at least 1 s real.
  const [older, newer] = await Promise.all(kept.map((c) => dockerd.engine.inspect(c.Id)));
  const gapMs = Date.parse(newer!.State.StartedAt) - Date.parse(older!.State.FinishedAt);
  t.ok(gapMs >= 900, `restart ${attempts[1]} waited out its back-off of ${10 * 2 ** (attempts[0]! - 1)} s of cluster time (${2 ** (attempts[0]! - 1)} s real): ${gapMs} ms`);
  await expectEvents(t, h, 'crash', [/^Warning BackOff: Back-off restarting failed container app in pod crash_default/]);

  // A memory limit is enforced: the kernel kills the hog, the status says OOMKilled.
  const oom = await podWhere(h, 'oom', 'Failed', (p) => p.status?.phase === 'Failed');
  t.match(oom.status!.containerStatuses![0]!.state.terminated, { exitCode: 137, reason: 'OOMKilled' });
  t.equal(podStatusReason(oom), 'OOMKilled');

  // No registry answers and the engine has no such image: ErrImagePull, then ImagePullBackOff.
  const pulling = await podWhere(h, 'missing', 'ErrImagePull or ImagePullBackOff', (p) => ['ErrImagePull', 'ImagePullBackOff'].includes(p.status?.containerStatuses?.[0]?.state.waiting?.reason as string));
  t.equal(pulling.status!.phase, 'Pending');
  const backoff = await podWhere(h, 'missing', 'ImagePullBackOff', (p) => p.status?.containerStatuses?.[0]?.state.waiting?.reason === 'ImagePullBackOff');
  // The kubelet's wording (1.32+): the back-off, then the last pull's error, which says how to import the image.
  t.match(backoff.status!.containerStatuses![0]!.state.waiting, {
    message: /^Back-off pulling image "nope:1\.0": ErrImagePull: failed to pull image "nope:1\.0": .+; no registry answered and the Docker engine has no such image: import one with `berth image import nope:1\.0 ROOTFS\.tar`$/,
  });
  await expectEvents(t, h, 'missing', ['Warning Failed: Error: ErrImagePull', /^Warning Failed: Failed to pull image "nope:1.0": /]);

  // A liveness probe that fails twice: Killing, and a restart.
  const sick = await podWhere(h, 'unhealthy', 'restarted by its liveness probe', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
  t.ok(sick.status!.containerStatuses![0]!.lastState?.terminated, 'the killed run is the last state');
  await expectEvents(t, h, 'unhealthy', ['Normal Killing: Container app failed liveness probe, will be restarted', /^Warning Unhealthy: Liveness probe failed: cat: can't open '\/tmp\/healthy'/]);

  // Graceful termination: the stop signal, then SIGKILL when the grace period runs out.
  await podWhere(h, 'stubborn', 'Running', (p) => p.status?.phase === 'Running');
  await podWhere(h, 'polite', 'Running', (p) => p.status?.phase === 'Running');
  await h.client.delete(Kinds.Pod, 'stubborn', 'default', { gracePeriodSeconds: 2 });
  await h.client.delete(Kinds.Pod, 'polite', 'default', { gracePeriodSeconds: 30 });
  const stubborn = await podWhere(h, 'stubborn', 'terminated', (p) => !!p.status?.containerStatuses?.[0]?.state.terminated);
  t.match(stubborn.status!.containerStatuses![0]!.state.terminated, { exitCode: 137, reason: 'Error' }, 'killed after its grace period');
  const polite = await podWhere(h, 'polite', 'terminated', (p) => !!p.status?.containerStatuses?.[0]?.state.terminated);
  t.match(polite.status!.containerStatuses![0]!.state.terminated, { exitCode: 0, reason: 'Completed' }, 'exited by itself on SIGTERM');
  t.equal(polite.status!.phase, 'Succeeded');
  for (const name of ['stubborn', 'polite']) await h.client.patch(Kinds.Pod, name, 'default', 'merge', { metadata: { finalizers: null } });
});

t.test('a restarted agent adopts running containers and removes those of pods deleted meanwhile', { skip }, async (t) => {
  const h = await startTestApi({ clock: new ScaledClock(10) });
  await h.start();
  t.teardown(() => h.stop());
  let a = await startAgent(h);
  t.teardown(() => a.stop());
  await h.client.create(nodeObject('d3'));
  for (const name of ['keep', 'gone']) await h.client.create(podObject(name, 'd3', { containers: [{ name: 'app', image: IMAGE, command: ['sleep', '3600'], ports: [{ containerPort: 80 }] }] }));
  const keep = await podWhere(h, 'keep', 'Running', (p) => p.status?.phase === 'Running');
  const gone = await podWhere(h, 'gone', 'Running', (p) => p.status?.phase === 'Running');

  await a.stop();
  await h.client.delete(Kinds.Pod, 'gone', 'default', { gracePeriodSeconds: 0 });
  a = await startAgent(h);

  await waitFor(async () => (await dockerd.engine.list([`${LABELS.podUid}=${gone.metadata.uid}`])).length === 0, 'the deleted pod\'s containers to be removed');
  // Give the new agent time to (wrongly) start anything more.
  await new Promise((r) => setTimeout(r, 2000));
  const list = await dockerd.engine.list([`${LABELS.podUid}=${keep.metadata.uid}`]);
  t.equal(list.length, 1, 'exactly one container for the pod');
  t.equal(`docker://${list[0]!.Id}`, keep.status!.containerStatuses![0]!.containerID, 'the one that was running');
  const after = await getPod(h, 'keep');
  t.equal(after.status!.containerStatuses![0]!.containerID, keep.status!.containerStatuses![0]!.containerID);
  t.equal(after.metadata.annotations![PORTS_ANNOTATION], keep.metadata.annotations![PORTS_ANNOTATION], 'its ports are kept');
  await h.client.delete(Kinds.Pod, 'keep', 'default', { gracePeriodSeconds: 0 });
  await waitFor(async () => (await dockerd.engine.list([`${LABELS.podUid}=${keep.metadata.uid}`])).length === 0, 'a force-deleted pod\'s containers to be removed');
});

t.test('an unreachable engine: its nodes are NotReady with the reason, other nodes carry on', async (t) => {
  const host = `unix://${join(dir, 'no-such-engine.sock')}`;
  const h = await cluster(t, 'away', host);
  await h.client.create(nodeObject('simulated', { [RUNTIME_LABEL]: 'sim' }));
  await h.client.create(podObject('stuck', 'away', { containers: [{ name: 'app', image: IMAGE }] }));
  await h.client.create(podObject('fine', 'simulated', { containers: [{ name: 'app', image: 'nginx:1.27' }] }));
  const node = await waitFor(async () => {
    const n = await h.client.get<Node>(Kinds.Node, 'away');
    return n.status?.conditions?.find((c) => c.type === 'Ready') ? n : undefined;
  }, 'node status');
  t.match(node.status!.conditions!.find((c) => c.type === 'Ready'), { status: 'False', reason: 'KubeletNotReady', message: `container runtime is down: cannot reach the Docker engine at ${host}: no such socket ${join(dir, 'no-such-engine.sock')}` });
  t.equal(node.status!.nodeInfo!.containerRuntimeVersion, 'docker://unknown');
  await podWhere(h, 'fine', 'Running on the simulated node', (p) => p.status?.phase === 'Running');
  const sim = await h.client.get<Node>(Kinds.Node, 'simulated');
  t.match(sim.status!.conditions!.find((c) => c.type === 'Ready'), { status: 'True' });
  t.equal(sim.status!.nodeInfo!.containerRuntimeVersion, 'berth-sim://1.0');
  const stuck = await getPod(h, 'stuck');
  t.notOk(stuck.status?.startTime, 'the pod on the NotReady node is not started');
});

t.test('an engine that goes away and comes back: its node is NotReady meanwhile, then Ready, and its pod runs again', { skip }, async (t) => {
  // An engine of this test's own, since it is stopped and started again (its data kept, as a restarted dockerd's).
  const engineDir = dockerdDir();
  let own = await startDockerd(engineDir);
  t.teardown(() => own.stop());
  await own.engine.importImage(createReadStream(rootfs), 'busybox', 'local');
  const h = await cluster(t, 'd5', own.host);
  const readyOf = async (): Promise<Record<string, unknown> | undefined> => (await h.client.get<Node>(Kinds.Node, 'd5')).status?.conditions?.find((c) => c.type === 'Ready') as Record<string, unknown> | undefined;
  // sh as PID 1 that exits on SIGTERM: the engine's shutdown stops it at once.
  await h.client.create(podObject('survivor', 'd5', { containers: [{ name: 'app', image: IMAGE, command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'] }] }));
  const before = await podWhere(h, 'survivor', 'Running', (p) => p.status?.containerStatuses?.[0]?.state.running !== undefined);
  t.match(await waitFor(readyOf, 'the node to be Ready'), { status: 'True' });

  await own.stop({ keepData: true });
  const down = await waitFor(async () => {
    const c = await readyOf();
    return c?.status === 'False' ? c : undefined;
  }, 'the node to turn NotReady');
  t.equal(down.reason, 'KubeletNotReady');
  t.ok(String(down.message).startsWith(`container runtime is down: cannot reach the Docker engine at ${own.host}: `), `NotReady, saying why: ${String(down.message)}`);

  own = await startDockerd(engineDir);
  await waitFor(async () => (await readyOf())?.status === 'True', 'the node to be Ready again');
  // Its container was stopped with the engine: the agent starts the next run (restartPolicy Always).
  const after = await podWhere(h, 'survivor', 'running again', (p) => p.status?.containerStatuses?.[0]?.state.running !== undefined && (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
  t.not(after.status!.containerStatuses![0]!.containerID, before.status!.containerStatuses![0]!.containerID, 'a new run');
  const running = (await own.engine.list([`${LABELS.podUid}=${after.metadata.uid}`])).filter((c) => c.State === 'running');
  t.equal(running.length, 1, 'exactly one running container for the pod');
  t.equal(`docker://${running[0]!.Id}`, after.status!.containerStatuses![0]!.containerID);
});

t.test('two clusters on one engine, each with a node of the same name: neither removes the other\'s containers', { skip }, async (t) => {
  const a = await cluster(t, 'twin');
  await a.client.create(podObject('mine', 'twin', { containers: [{ name: 'app', image: IMAGE, command: ['sleep', '3600'] }] }));
  const mine = await podWhere(a, 'mine', 'Running', (p) => p.status?.containerStatuses?.[0]?.state.running !== undefined);
  // Another cluster (its own API server and agent) on the same engine; its node is called twin too.
  const b = await cluster(t, 'twin');
  // The agent cleans up a node before it first writes the node's status: once Ready, it has looked.
  await waitFor(async () => (await b.client.get<Node>(Kinds.Node, 'twin')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 'the second cluster\'s node to be Ready');
  const list = await dockerd.engine.list([`${LABELS.podUid}=${mine.metadata.uid}`]);
  t.equal(list.length, 1, 'the first cluster\'s container is still there');
  t.equal(list[0]?.State, 'running');
  t.match(list[0]?.Labels, { [LABELS.node]: 'twin', [LABELS.nodeUid]: (await a.client.get<Node>(Kinds.Node, 'twin')).metadata.uid }, 'it carries its node\'s uid');
});
