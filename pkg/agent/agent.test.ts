/**
 * The node agent against an in-process API server on a virtual clock: nodes become Ready and
 * renew their Lease, pods go through the kubelet's states at exactly the stage delays, logs read
 * the simulated runtime. `random: () => 0.5` makes every jittered delay exactly its base.
 */
import t, { type Test } from 'tap';
import { podStatusReason } from '../apiserver/tables.js';
import type { Event, Node, Pod } from '../api/types.js';
import { VirtualClock } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import { Manager } from '../runtime/manager.js';
import { makePod, startTestApi, type TestApi } from '../testing/index.js';
import { NodeAgent } from './agent.js';
import { defaultStages } from './stages.js';
import type { AgentOptions } from './types.js';

const START = Date.UTC(2026, 0, 1);

interface Harness extends TestApi {
  clock: VirtualClock;
  agent: NodeAgent;
}

async function setup(t: Test, opts: AgentOptions = {}): Promise<Harness> {
  const clock = new VirtualClock(START);
  const h = await startTestApi({ clock });
  const agent = new NodeAgent(h.mgr, { random: () => 0.5, ...opts });
  h.mgr.add(agent);
  h.api.logs.current = agent;
  await h.start();
  t.teardown(() => h.stop());
  return { ...h, clock, agent };
}

/** A Node as the cloud component registers it. */
function cloudNode(name: string, opts: { cidr?: string; labels?: Record<string, string>; ip?: string } = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/arch': 'arm64', ...opts.labels } },
    spec: { providerID: `aws:///us-east-1a/i-0${name}`, ...(opts.cidr !== '' ? { podCIDR: opts.cidr ?? '10.244.1.0/24' } : {}) },
    status: {
      capacity: { cpu: '2', memory: '8Gi', pods: '110' },
      allocatable: { cpu: '1930m', memory: '7Gi', pods: '110' },
      addresses: [
        { type: 'InternalIP', address: opts.ip ?? '10.0.1.15' },
        { type: 'Hostname', address: `${name}.ec2.internal` },
      ],
    },
  };
}

function nginx(name: string, node = 'n1', annotations: Record<string, string> = {}): Pod {
  const pod = makePod(name)
    .node(node)
    .spec((s) => {
      s.containers = [{ name: 'nginx', image: 'nginx:1.14.2', ports: [{ containerPort: 80 }] }];
    })
    .obj();
  pod.metadata.annotations = annotations;
  return pod;
}

/** Lets the informers and workers catch up without moving time. */
async function settle(h: Harness): Promise<void> {
  await h.clock.advance(0);
}

async function getPod(h: Pick<TestApi, 'client'>, name: string): Promise<Pod> {
  return h.client.get<Pod>(Kinds.Pod, name, 'default');
}

async function eventsFor(h: Harness, name: string): Promise<Event[]> {
  const list = await h.client.list<Event>(Kinds.Event, { namespace: 'default' });
  return list.items.filter((e) => e.involvedObject.name === name).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
}

function cond(pod: Pod, type: string): string | undefined {
  return pod.status?.conditions?.find((c) => c.type === type)?.status;
}

t.test('a served node becomes Ready with nodeInfo, and renews its Lease', async (t) => {
  const h = await setup(t);
  await h.client.create(cloudNode('n1'));
  await settle(h);
  const node = await h.client.get<Node>(Kinds.Node, 'n1');
  const byType = Object.fromEntries((node.status!.conditions ?? []).map((c) => [c.type, c]));
  t.same(
    (node.status!.conditions ?? []).map((c) => [c.type, c.status, c.reason]),
    [
      ['MemoryPressure', 'False', 'KubeletHasSufficientMemory'],
      ['DiskPressure', 'False', 'KubeletHasNoDiskPressure'],
      ['PIDPressure', 'False', 'KubeletHasSufficientPID'],
      ['Ready', 'True', 'KubeletReady'],
    ],
  );
  t.equal(byType.Ready!.message, 'kubelet is posting ready status');
  t.equal(byType.Ready!.lastHeartbeatTime, '2026-01-01T00:00:00Z');
  t.match(node.status!.nodeInfo, {
    kubeletVersion: 'v1.32.0-berth',
    containerRuntimeVersion: 'berth-sim://1.0',
    osImage: 'Amazon Linux 2023',
    operatingSystem: 'linux',
    architecture: 'arm64',
    kernelVersion: /amzn2023\.aarch64$/,
    machineID: /^[0-9a-f]{32}$/,
    systemUUID: /^ec2[0-9a-f]{5}-/,
    bootID: /^[0-9a-f-]{36}$/,
  });
  t.same(node.status!.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } });
  t.same(node.status!.capacity, { cpu: '2', memory: '8Gi', pods: '110' }, 'capacity is left as the cloud set it');

  const lease = await h.client.get(Kinds.Lease, 'n1', 'kube-node-lease');
  t.match(lease.spec, { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:00.000000Z' });
  t.match(lease.metadata.ownerReferences, [{ kind: 'Node', name: 'n1', uid: node.metadata.uid }]);

  // A heartbeat renews the Lease but does not rewrite node status.
  await h.clock.advance(10_000);
  const renewed = await h.client.get(Kinds.Lease, 'n1', 'kube-node-lease');
  t.equal((renewed.spec as { renewTime: string }).renewTime, '2026-01-01T00:00:10.000000Z');
  await h.clock.advance(60_000);
  t.equal((await h.client.get<Node>(Kinds.Node, 'n1')).metadata.resourceVersion, node.metadata.resourceVersion, 'no node status write for 70 s');
  t.equal(((await h.client.get(Kinds.Lease, 'n1', 'kube-node-lease')).spec as { renewTime: string }).renewTime, '2026-01-01T00:01:10.000000Z');

  // The slow report period (5 min) writes status again with a new heartbeat.
  await h.clock.advance(230_000);
  const later = await h.client.get<Node>(Kinds.Node, 'n1');
  const ready = later.status!.conditions!.find((c) => c.type === 'Ready')!;
  t.equal(ready.lastHeartbeatTime, '2026-01-01T00:05:00Z');
  t.equal(ready.lastTransitionTime, '2026-01-01T00:00:00Z', 'no transition');

  // Someone else marks the node NotReady: the kubelet, alive, sets it back at once.
  const cur = await h.client.get<Node>(Kinds.Node, 'n1');
  cur.status!.conditions = cur.status!.conditions!.map((c) => (c.type === 'Ready' ? { ...c, status: 'Unknown' as const, reason: 'NodeStatusUnknown' } : c));
  await h.client.updateStatus(cur);
  await settle(h);
  t.equal((await h.client.get<Node>(Kinds.Node, 'n1')).status!.conditions!.find((c) => c.type === 'Ready')!.status, 'True');
});

t.test('a bound pod: ContainerCreating at once, Running after exactly the start delay', async (t) => {
  const h = await setup(t);
  await h.client.create(cloudNode('n1'));
  await h.client.create(nginx('web'));
  await settle(h);

  let pod = await getPod(h, 'web');
  t.equal(pod.status!.phase, 'Pending');
  t.equal(podStatusReason(pod), 'ContainerCreating', 'kubectl shows ContainerCreating');
  t.equal(pod.status!.hostIP, '10.0.1.15');
  t.same(pod.status!.hostIPs, [{ ip: '10.0.1.15' }]);
  t.equal(pod.status!.podIP, '10.244.1.2', 'the first pod address of the node CIDR');
  t.same(pod.status!.podIPs, [{ ip: '10.244.1.2' }]);
  t.equal(pod.status!.startTime, '2026-01-01T00:00:00Z');
  t.same(
    pod.status!.conditions!.map((c) => [c.type, c.status]),
    [
      ['PodReadyToStartContainers', 'True'],
      ['Initialized', 'True'],
      ['Ready', 'False'],
      ['ContainersReady', 'False'],
      ['PodScheduled', 'True'],
    ],
  );
  t.match(pod.status!.conditions!.find((c) => c.type === 'Ready'), { reason: 'ContainersNotReady', message: 'containers with unready status: [nginx]' });
  t.match(pod.status!.containerStatuses, [{ name: 'nginx', ready: false, started: false, restartCount: 0, image: 'docker.io/library/nginx:1.14.2', state: { waiting: { reason: 'ContainerCreating' } } }]);

  await h.clock.advance(999);
  t.equal((await getPod(h, 'web')).status!.phase, 'Pending', 'still creating at 999 ms');
  await h.clock.advance(1);
  pod = await getPod(h, 'web');
  t.equal(pod.status!.phase, 'Running', 'running at 1000 ms');
  t.equal(podStatusReason(pod), 'Running');
  for (const type of ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready', 'PodScheduled']) t.equal(cond(pod, type), 'True', type);
  const cs = pod.status!.containerStatuses![0]!;
  t.match(cs, { name: 'nginx', ready: true, started: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:01Z' } } });
  t.match(cs.containerID, /^berth-sim:\/\/[0-9a-f]{64}$/);
  t.match(cs.imageID, /^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);

  const evs = await eventsFor(h, 'web');
  t.same(
    evs.map((e) => [e.reason, e.message]),
    [
      ['Pulling', 'Pulling image "nginx:1.14.2"'],
      ['Pulled', 'Successfully pulled image "nginx:1.14.2" in 1s (1s including waiting)'],
      ['Created', 'Created container nginx'],
      ['Started', 'Started container nginx'],
    ],
  );
  t.same(evs[0]!.source, { component: 'kubelet', host: 'n1' });

  // A second pod on the node finds the image there.
  await h.client.create(nginx('web2'));
  await h.clock.advance(1000);
  const evs2 = await eventsFor(h, 'web2');
  t.same(evs2.map((e) => e.reason), ['Pulled', 'Created', 'Started']);
  t.equal(evs2[0]!.message, 'Container image "nginx:1.14.2" already present on machine');
  t.equal((await getPod(h, 'web2')).status!.podIP, '10.244.1.3');
});

t.test('a pod bound later with client.bind, and one on a node without podCIDR', async (t) => {
  const h = await setup(t);
  await h.client.create(cloudNode('n1'));
  await h.client.create(cloudNode('bare', { cidr: '' }));
  const pod = nginx('late');
  delete pod.spec.nodeName;
  await h.client.create(pod);
  await settle(h);
  t.notOk((await getPod(h, 'late')).status!.startTime, 'an unbound pod is nobody\'s');
  await h.client.bind('default', 'late', 'n1');
  await h.clock.advance(1000);
  t.equal((await getPod(h, 'late')).status!.phase, 'Running');

  await h.client.create(nginx('stuck', 'bare'));
  await h.clock.advance(5000);
  let stuck = await getPod(h, 'stuck');
  t.equal(podStatusReason(stuck), 'ContainerCreating', 'no pod network without a podCIDR');
  t.notOk(stuck.status!.podIP);
  t.equal(cond(stuck, 'PodReadyToStartContainers'), 'False');
  const warn = (await eventsFor(h, 'stuck')).find((e) => e.reason === 'FailedCreatePodSandBox');
  t.match(warn, { type: 'Warning', message: /node "bare" has no podCIDR/ });

  // The node gets its range: the pod gets an address and starts.
  const bare = await h.client.get<Node>(Kinds.Node, 'bare');
  bare.spec.podCIDR = '10.244.9.0/24';
  await h.client.update(bare);
  await settle(h);
  stuck = await getPod(h, 'stuck');
  t.equal(stuck.status!.podIP, '10.244.9.2');
  await h.clock.advance(1000);
  t.equal((await getPod(h, 'stuck')).status!.phase, 'Running');
});

t.test('init containers run first, in order; a sidecar keeps running', async (t) => {
  const h = await setup(t);
  await h.client.create(cloudNode('n1'));
  const pod = nginx('app');
  pod.spec.initContainers = [
    { name: 'migrate', image: 'busybox:1.36', command: ['sh', '-c', 'echo migrating'] },
    { name: 'proxy', image: 'envoyproxy/envoy:v1.31.0', restartPolicy: 'Always' },
  ];
  await h.client.create(pod);
  await settle(h);
  let p = await getPod(h, 'app');
  t.equal(p.status!.phase, 'Pending');
  t.match(p.status!.conditions!.find((c) => c.type === 'Initialized'), { status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [migrate proxy]' });
  t.match(p.status!.containerStatuses, [{ state: { waiting: { reason: 'PodInitializing' } } }]);

  await h.clock.advance(1000);
  p = await getPod(h, 'app');
  t.match(p.status!.initContainerStatuses, [{ name: 'migrate', state: { terminated: { exitCode: 0, reason: 'Completed' } } }, { name: 'proxy', state: { waiting: {} } }]);
  t.equal(p.status!.phase, 'Pending');
  t.equal(podStatusReason(p), 'Init:1/2');

  await h.clock.advance(1000);
  p = await getPod(h, 'app');
  t.match(p.status!.initContainerStatuses![1], { name: 'proxy', started: true, ready: true, state: { running: {} } });
  t.equal(cond(p, 'Initialized'), 'True');
  t.equal(p.status!.containerStatuses![0]!.state.waiting?.reason, 'PodInitializing');

  await h.clock.advance(1000);
  p = await getPod(h, 'app');
  t.equal(p.status!.phase, 'Running');
  t.equal(cond(p, 'Ready'), 'True');
  t.equal(podStatusReason(p), 'Running');
  t.ok(p.status!.initContainerStatuses![1]!.state.running, 'the sidecar still runs');

  t.equal(await h.client.transport.logs('default', 'app', { container: 'migrate' }), 'berth-sim: started container migrate (image busybox:1.36)\nberth-sim: exec sh -c \'echo migrating\'\nberth-sim: program finished with exit code 0\n');
});

t.test('run-seconds pods end Succeeded or Failed by exit code; their address is reused', async (t) => {
  const h = await setup(t);
  await h.client.create(cloudNode('n1', { cidr: '10.244.7.0/30' })); // one address: .2
  const ok = nginx('job-ok', 'n1', { 'sim.berth.dev/run-seconds': '5' });
  ok.spec.restartPolicy = 'Never';
  await h.client.create(ok);
  await h.clock.advance(1000);
  t.equal((await getPod(h, 'job-ok')).status!.phase, 'Running');
  await h.clock.advance(4999);
  t.equal((await getPod(h, 'job-ok')).status!.phase, 'Running', 'runs 5 s');
  await h.clock.advance(1);
  let p = await getPod(h, 'job-ok');
  t.equal(p.status!.phase, 'Succeeded');
  t.equal(podStatusReason(p), 'Completed');
  t.match(p.status!.containerStatuses![0]!.state.terminated, { exitCode: 0, reason: 'Completed', startedAt: '2026-01-01T00:00:01Z', finishedAt: '2026-01-01T00:00:06Z' });
  t.match(p.status!.conditions!.find((c) => c.type === 'Ready'), { status: 'False', reason: 'PodCompleted' });
  t.equal(cond(p, 'PodReadyToStartContainers'), 'False');

  const bad = nginx('job-bad', 'n1', { 'sim.berth.dev/run-seconds': '2', 'sim.berth.dev/exit-code': '3' });
  bad.spec.restartPolicy = 'OnFailure';
  bad.spec.restartPolicy = 'Never';
  await h.client.create(bad);
  await settle(h);
  t.equal((await getPod(h, 'job-bad')).status!.podIP, '10.244.7.2', 'the completed pod\'s address is free again');
  await h.clock.advance(3000);
  p = await getPod(h, 'job-bad');
  t.equal(p.status!.phase, 'Failed');
  t.equal(podStatusReason(p), 'Error');
  t.match(p.status!.containerStatuses![0]!.state.terminated, { exitCode: 3, reason: 'Error' });
  t.match(p.status!.conditions!.find((c) => c.type === 'Ready'), { status: 'False', reason: 'PodFailed' });
});

t.test('restartPolicy OnFailure/Always restart the container with back-off; logs --previous', async (t) => {
  const h = await setup(t);
  await h.client.create(cloudNode('n1'));
  const pod = nginx('crash', 'n1', { 'sim.berth.dev/run-seconds': '2', 'sim.berth.dev/exit-code': '1', 'sim.berth.dev/log-lines': 'booting\nfatal: no config' });
  pod.spec.restartPolicy = 'OnFailure';
  await h.client.create(pod);
  await h.clock.advance(3000); // starts at 1 s, exits at 3 s, restarts at once
  let p = await getPod(h, 'crash');
  let cs = p.status!.containerStatuses![0]!;
  t.equal(p.status!.phase, 'Running');
  t.equal(cs.restartCount, 1);
  t.match(cs.lastState, { terminated: { exitCode: 1, reason: 'Error', finishedAt: '2026-01-01T00:00:03Z' } });
  t.ok(cs.state.running);

  const prev = await h.client.transport.logs('default', 'crash', { previous: true });
  t.equal(prev, 'berth-sim: started container nginx (image nginx:1.14.2)\nbooting\nfatal: no config\nberth-sim: program finished with exit code 1\n');

  await h.clock.advance(2000); // second exit: back-off 10 s
  p = await getPod(h, 'crash');
  cs = p.status!.containerStatuses![0]!;
  t.equal(podStatusReason(p), 'CrashLoopBackOff');
  t.match(cs.state.waiting, { reason: 'CrashLoopBackOff', message: /^back-off 10s restarting failed container=nginx pod=crash_default\(/ });
  t.equal(cond(p, 'Ready'), 'False');
  t.match((await eventsFor(h, 'crash')).find((e) => e.reason === 'BackOff'), { type: 'Warning', message: /^Back-off restarting failed container nginx in pod crash_default/ });
  // While waiting, logs show the last run (kubelet reads lastState's container).
  t.match(await h.client.transport.logs('default', 'crash', {}), /exit code 1\n$/);

  await h.clock.advance(9999);
  t.equal((await getPod(h, 'crash')).status!.containerStatuses![0]!.restartCount, 1);
  await h.clock.advance(1);
  cs = (await getPod(h, 'crash')).status!.containerStatuses![0]!;
  t.equal(cs.restartCount, 2, 'restarted after 10 s');
  t.ok(cs.state.running);
});

t.test('deleting a pod stops its containers gracefully, then deletes it', async (t) => {
  const h = await setup(t);
  await h.client.create(cloudNode('n1'));
  await h.client.create(nginx('web'));
  await h.clock.advance(1000);
  const seen: Pod[] = [];
  h.mgr.informer<Pod>(Kinds.Pod).on({ update: (_, p) => void seen.push(p) });

  await h.client.delete(Kinds.Pod, 'web', 'default');
  await settle(h);
  let p = await getPod(h, 'web');
  t.equal(podStatusReason(p), 'Terminating');
  t.ok(p.status!.containerStatuses![0]!.state.running, 'still running during the stop delay');
  t.match((await eventsFor(h, 'web')).find((e) => e.reason === 'Killing'), { type: 'Normal', message: 'Stopping container nginx' });

  await h.clock.advance(499);
  t.ok(await h.client.tryGet(Kinds.Pod, 'web', 'default'), 'there at 499 ms');
  await h.clock.advance(1);
  t.notOk(await h.client.tryGet(Kinds.Pod, 'web', 'default'), 'gone after the 500 ms stop delay');
  const last = seen.at(-1)!;
  t.equal(last.status!.phase, 'Succeeded', 'terminal before deletion');
  t.match(last.status!.containerStatuses![0]!.state.terminated, { exitCode: 0, reason: 'Completed' });

  // A pod deleted before it ran goes at once; the stop delay never outlasts the grace period.
  await h.client.create(nginx('quick'));
  await settle(h);
  await h.client.delete(Kinds.Pod, 'quick', 'default', { gracePeriodSeconds: 1 });
  await h.clock.advance(500);
  t.notOk(await h.client.tryGet(Kinds.Pod, 'quick', 'default'));
});

t.test('the stop delay is capped by the grace period', async (t) => {
  const h = await setup(t, { stages: defaultStages({ stop: { ms: 5000 } }) }); // a slow program: 5 s to stop
  await h.client.create(cloudNode('n1'));
  const pod = nginx('short');
  pod.spec.terminationGracePeriodSeconds = 1;
  await h.client.create(pod);
  await h.clock.advance(2000);
  await h.client.delete(Kinds.Pod, 'short', 'default');
  await h.clock.advance(999);
  t.ok(await h.client.tryGet(Kinds.Pod, 'short', 'default'));
  await h.clock.advance(1);
  t.notOk(await h.client.tryGet(Kinds.Pod, 'short', 'default'), 'gone within the 1 s grace period');
});

t.test('logs: content, tail, timestamps, since, limit, errors, through HTTP too', async (t) => {
  const h = await setup(t);
  await h.client.create(cloudNode('n1'));
  const pod = nginx('web', 'n1', { 'sim.berth.dev/log-lines': 'listening on :80\nready\n' });
  pod.spec.containers[0]!.args = ['nginx', '-g', 'daemon off;'];
  pod.spec.containers.push({ name: 'side', image: 'busybox' });
  await h.client.create(pod);
  await settle(h);
  let p = await getPod(h, 'web');
  const ac = new AbortController();
  await t.rejects(h.agent.logs(p, 'nginx', {}, ac.signal), { code: 400, reason: 'BadRequest', message: 'container "nginx" in pod "web" is waiting to start: ContainerCreating' });
  await t.rejects(h.agent.logs(p, 'nope', {}, ac.signal), { code: 400, reason: 'BadRequest', message: 'container nope is not valid for pod web' });

  await h.clock.advance(1000);
  p = await getPod(h, 'web');
  const full = 'berth-sim: started container nginx (image nginx:1.14.2)\nberth-sim: exec nginx -g \'daemon off;\'\nlistening on :80\nready\n';
  t.equal(await h.agent.logs(p, 'nginx', {}, ac.signal), full);
  t.equal(await h.agent.logs(p, 'nginx', { tailLines: 1 }, ac.signal), 'ready\n');
  t.equal(await h.agent.logs(p, 'nginx', { tailLines: 2, timestamps: true }, ac.signal), '2026-01-01T00:00:01.000000000Z listening on :80\n2026-01-01T00:00:01.000000000Z ready\n');
  t.equal(await h.agent.logs(p, 'nginx', { limitBytes: 10 }, ac.signal), 'berth-sim:');
  await h.clock.advance(60_000);
  t.equal(await h.agent.logs(p, 'nginx', { sinceSeconds: 30 }, ac.signal), '', 'nothing in the last 30 s');
  t.equal(await h.agent.logs(p, 'side', {}, ac.signal), 'berth-sim: started container side (image busybox)\nlistening on :80\nready\n');
  await t.rejects(h.agent.logs(p, 'nginx', { previous: true }, ac.signal), { code: 400, reason: 'BadRequest', message: 'previous terminated container "nginx" in pod "web" not found' });

  const app = h.api.http();
  const res = await app.inject({ method: 'GET', url: '/api/v1/namespaces/default/pods/web/log?container=nginx&tailLines=2' });
  t.equal(res.statusCode, 200);
  t.equal(res.body, 'listening on :80\nready\n');
  const bad = await app.inject({ method: 'GET', url: '/api/v1/namespaces/default/pods/web/log?container=nope' });
  t.equal(bad.statusCode, 400);
  t.match(JSON.parse(bad.body), { kind: 'Status', reason: 'BadRequest', message: 'container nope is not valid for pod web' });
  await app.close();
});

t.test('logs --follow yields lines until the container stops or the reader goes', async (t) => {
  const h = await setup(t);
  await h.client.create(cloudNode('n1'));
  const pod = nginx('tail', 'n1', { 'sim.berth.dev/run-seconds': '5' });
  pod.spec.restartPolicy = 'Never';
  await h.client.create(pod);
  await h.clock.advance(1000);
  const ac = new AbortController();
  const stream = (await h.agent.logs(await getPod(h, 'tail'), 'nginx', { follow: true }, ac.signal)) as AsyncIterable<string>;
  t.equal(typeof stream, 'object');
  const got: string[] = [];
  const done = (async () => {
    for await (const chunk of stream) got.push(chunk);
  })();
  await settle(h);
  t.same(got, ['berth-sim: started container nginx (image nginx:1.14.2)\n']);
  await h.clock.advance(5000);
  await done;
  t.same(got, ['berth-sim: started container nginx (image nginx:1.14.2)\n', 'berth-sim: program finished with exit code 0\n'], 'ends when the container stops');

  // A reader of a container that runs on stops when its signal aborts.
  await h.client.create(nginx('forever'));
  await h.clock.advance(1000);
  const ac2 = new AbortController();
  const s2 = (await h.agent.logs(await getPod(h, 'forever'), 'nginx', { follow: true, tailLines: 0 }, ac2.signal)) as AsyncIterable<string>;
  const got2: string[] = [];
  const done2 = (async () => {
    for await (const chunk of s2) got2.push(chunk);
  })();
  await h.clock.advance(10_000);
  ac2.abort();
  await done2;
  t.same(got2, []);
});

t.test('nodeSelector restricts the agent to its nodes', async (t) => {
  const h = await setup(t, { nodeSelector: 'berth.dev/agent=sim' });
  await h.client.create(cloudNode('mine', { labels: { 'berth.dev/agent': 'sim' } }));
  await h.client.create(cloudNode('theirs'));
  await h.client.create(nginx('a', 'mine'));
  await h.client.create(nginx('b', 'theirs'));
  await h.clock.advance(1000);
  t.same(h.agent.servedNodes(), ['mine']);
  t.equal((await getPod(h, 'a')).status!.phase, 'Running');
  const b = await getPod(h, 'b');
  t.equal(b.status!.phase, 'Pending');
  t.notOk(b.status!.startTime, 'not touched');
  t.notOk((await h.client.get<Node>(Kinds.Node, 'theirs')).status!.conditions, 'no conditions on an unserved node');
  t.notOk(await h.client.tryGet(Kinds.Lease, 'theirs', 'kube-node-lease'));

  // The node gains the label: the agent takes it and its pods over.
  const theirs = await h.client.get<Node>(Kinds.Node, 'theirs');
  theirs.metadata.labels!['berth.dev/agent'] = 'sim';
  await h.client.update(theirs);
  await h.clock.advance(1000);
  t.equal((await getPod(h, 'b')).status!.phase, 'Running');
});

t.test('a deleted node is forgotten, its timers cancelled', async (t) => {
  const h = await setup(t);
  await h.client.create(cloudNode('n1'));
  await h.client.create(nginx('web', 'n1', { 'sim.berth.dev/run-seconds': '100' }));
  await h.clock.advance(1000);
  t.ok(h.clock.pendingTimers() > 0);
  await h.client.delete(Kinds.Node, 'n1');
  await settle(h);
  t.same(h.agent.servedNodes(), []);
  t.equal(h.agent.runtime.size, 0, 'the runtime forgot the node\'s pods');
  const renewTime = ((await h.client.get(Kinds.Lease, 'n1', 'kube-node-lease')).spec as { renewTime: string }).renewTime;
  await h.clock.advance(200_000);
  t.equal(((await h.client.get(Kinds.Lease, 'n1', 'kube-node-lease')).spec as { renewTime: string }).renewTime, renewTime, 'no more renewals');
  t.equal((await getPod(h, 'web')).status!.phase, 'Running', 'the orphaned pod is left to pod GC');
});

t.test('events off: no kubelet events', async (t) => {
  const h = await setup(t, { events: false, heartbeatSeconds: 0 });
  await h.client.create(cloudNode('n1'));
  await h.client.create(nginx('web'));
  await h.clock.advance(1000);
  t.equal((await getPod(h, 'web')).status!.phase, 'Running');
  t.same(await eventsFor(h, 'web'), []);
  t.notOk(await h.client.tryGet(Kinds.Lease, 'n1', 'kube-node-lease'), 'heartbeatSeconds 0: no Lease');
});

t.test('jittered delays replay with the same seed', async (t) => {
  const runOnce = async (): Promise<string[]> => {
    const clock = new VirtualClock(START);
    const h = await startTestApi({ clock });
    const agent = new NodeAgent(h.mgr, { events: false });
    h.mgr.add(agent);
    await h.start();
    await h.client.create(cloudNode('n1'));
    for (let i = 0; i < 5; i++) await h.client.create(nginx(`p${i}`));
    await clock.advance(0);
    const times: string[] = [];
    for (let ms = 0; ms < 1500; ms += 10) {
      await clock.advance(10);
      for (let i = 0; i < 5; i++) {
        const p = await h.client.get<Pod>(Kinds.Pod, `p${i}`, 'default');
        if (p.status?.phase === 'Running' && !times[i]) times[i] = `${clock.now() - START}`;
      }
    }
    await h.stop();
    return times;
  };
  const a = await runOnce();
  const b = await runOnce();
  t.equal(a.length, 5);
  t.same(a, b);
  t.ok(new Set(a).size > 1, `delays differ between pods: ${a.join(',')}`);
  for (const ms of a) t.ok(Number(ms) >= 750 && Number(ms) <= 1250, `${ms} within 1 s ± 250 ms`);
});


t.test('a restarted agent carries on from the stored status', async (t) => {
  const clock = new VirtualClock(START);
  const h = await startTestApi({ clock });
  await h.start();
  t.teardown(() => h.stop());
  const runAgent = async (): Promise<{ agent: NodeAgent; stop: () => Promise<void> }> => {
    const mgr = new Manager({ client: h.client, clock });
    const agent = new NodeAgent(mgr, { random: () => 0.5 });
    mgr.add(agent);
    const ac = new AbortController();
    const running = mgr.start(ac.signal);
    await mgr.waitForSync();
    await clock.advance(0);
    return { agent, stop: () => (ac.abort(), running) };
  };

  const first = await runAgent();
  await h.client.create(cloudNode('n1'));
  await h.client.create(nginx('web'));
  const job = nginx('job', 'n1', { 'sim.berth.dev/run-seconds': '10' });
  job.spec.restartPolicy = 'Never';
  await h.client.create(job);
  await clock.advance(3000);
  const before = await getPod(h, 'web');
  t.equal(before.status!.phase, 'Running');
  await first.stop();

  const second = await runAgent();
  t.teardown(() => second.stop());
  const web = await getPod(h, 'web');
  t.equal(web.metadata.resourceVersion, before.metadata.resourceVersion, 'nothing to rewrite');
  t.equal(await second.agent.logs(web, 'nginx', { timestamps: true }, new AbortController().signal), '2026-01-01T00:00:01.000000000Z berth-sim: started container nginx (image nginx:1.14.2)\n', 'the log is rebuilt from the status');

  await h.client.create(nginx('new'));
  await clock.advance(0);
  t.equal((await getPod(h, 'new')).status!.podIP, '10.244.1.4', 'addresses in use are kept');

  await clock.advance(7999);
  t.equal((await getPod(h, 'job')).status!.phase, 'Running');
  await clock.advance(1);
  t.equal((await getPod(h, 'job')).status!.phase, 'Succeeded', 'ends 10 s after its start, as the status says');
});
