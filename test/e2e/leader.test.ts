/**
 * Leader election that re-enters candidacy (client-go's leaderelection, with berth's API server
 * in the same process): two `berth server` processes on one etcd with a short Lease
 * (`--leader-elect-lease-duration 4s --leader-elect-renew-deadline 3s --leader-elect-retry-period 1s`).
 * When the leader loses the Lease — another holder written into it, or the process paused past
 * the lease duration (SIGSTOP, then SIGCONT) — only its controllers stop: its API server keeps
 * serving, the other server takes over and finishes the work, the first one follows and can
 * lead again, and each rollout makes exactly one ReplicaSet.
 */
import t from 'tap';
import { hostname } from 'node:os';
import { startEtcdCluster, type EtcdTestCluster } from '../../pkg/storage/etcd/testcluster.js';
import { startServer, waitFor, type ServerProcess } from './harness.js';

const FLEET = `apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: pool}
spec:
  minSize: 1
  maxSize: 1
  desiredCapacity: 1
  launchTemplate: {instanceType: m5.xlarge}
  availabilityZones: [us-east-1a]
`;

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  # Both new pods at once: each rollout is one step, which keeps the test short.
  strategy: {rollingUpdate: {maxSurge: 100%, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources: {requests: {cpu: 100m, memory: 64Mi}}
`;

const LEASE = ['--leader-elect-lease-duration', '4s', '--leader-elect-renew-deadline', '3s', '--leader-elect-retry-period', '1s'];

let cluster: EtcdTestCluster | undefined;
const servers: ServerProcess[] = [];
t.teardown(async () => {
  for (const s of servers) {
    if (s.child.exitCode === null) s.child.kill('SIGCONT');
    await s.stop('SIGKILL');
  }
  await cluster?.stop();
});

t.test('losing the Lease stops only the controllers; the server follows and leads again', async (t) => {
  cluster = await startEtcdCluster(1);
  const opts = { store: cluster.storeSpec, timeScale: 1, bootDelay: 1, extraArgs: LEASE };
  const [a, b] = await Promise.all([startServer(opts), startServer(opts)]);
  servers.push(a!, b!);
  const id = (s: ServerProcess): string => `${hostname()}_${s.child.pid}`;
  const holder = (s: ServerProcess): string => s.kubectl(['get', 'lease', '-n', 'kube-system', 'berth-control-plane', '-o', 'jsonpath={.spec.holderIdentity}']).stdout;
  const first = await waitFor(() => [a!, b!].find((s) => holder(a!) === id(s)), 'a leader among the two servers', 30_000);
  const second = first === a ? b! : a!;

  t.equal(second.kubectl(['apply', '-f', '-'], { input: FLEET }).code, 0);
  t.equal(second.kubectl(['apply', '-f', '-'], { input: WEB }).code, 0);
  const rolled = (s: ServerProcess): void => {
    const r = s.kubectl(['rollout', 'status', 'deployment/web', '--timeout=90s']);
    t.equal(r.code, 0, r.code === 0 ? 'the rollout finished' : r.stderr + r.stdout);
  };
  rolled(second);

  // 1. Another holder is written into the Lease: the leader stops its controllers, not its API server.
  const lease = JSON.parse(first.kubectl(['get', 'lease', '-n', 'kube-system', 'berth-control-plane', '-o', 'json']).stdout) as { spec: Record<string, unknown> };
  const renewTime = new Date().toISOString().replace(/Z$/, '000Z');
  const patched = first.kubectl(['patch', 'lease', '-n', 'kube-system', 'berth-control-plane', '--type=merge', '-p', JSON.stringify({ spec: { ...lease.spec, holderIdentity: id(second), renewTime } })]);
  t.equal(patched.code, 0, patched.stderr);
  await waitFor(() => holder(second) === id(second) && holder(first) === id(second), 'the second server to hold the Lease', 30_000);
  t.equal(first.child.exitCode, null, 'the first server is still running');
  t.equal(first.kubectl(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}']).stdout, '2', 'and its API server still serves');
  // A rollout written through the follower is carried out by the new leader.
  t.equal(first.kubectl(['set', 'image', 'deployment/web', 'web=nginx:1.28']).code, 0);
  rolled(first);
  t.equal(holder(first), id(second), 'the first server did not take the Lease back');

  // 2. The leader is paused past the lease duration: the first server, a follower until now, leads again.
  second.child.kill('SIGSTOP');
  try {
    await waitFor(() => holder(first) === id(first), 'the first server to take the Lease back', 30_000);
  } finally {
    second.child.kill('SIGCONT');
  }
  t.equal(first.kubectl(['set', 'image', 'deployment/web', 'web=nginx:1.29']).code, 0);
  rolled(first);
  // The resumed server finds the Lease held by another, stops its controllers and follows; its API server serves.
  t.equal(await waitFor(() => second.kubectl(['get', 'deployment', 'web', '-o', 'jsonpath={.status.updatedReplicas}']).stdout, 'the resumed server to answer', 30_000), '2');
  t.equal(second.child.exitCode, null, 'the resumed server is still running');
  t.equal(holder(second), id(first), 'and follows');

  // Three templates, three ReplicaSets: none was made twice across the hand-overs.
  const rs = (first.kubectl(['get', 'replicasets', '-l', 'app=web', '-o', 'jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}={.spec.replicas}{"\\n"}{end}']).stdout.trim().split('\n')).sort();
  t.same(rs, ['nginx:1.27=0', 'nginx:1.28=0', 'nginx:1.29=2'], 'one ReplicaSet per rollout');
  // The last rollout's old pods finish their graceful termination; then only the new ones run.
  const running = (): string[] => first.kubectl(['get', 'pods', '-l', 'app=web', '--field-selector', 'status.phase=Running', '-o', 'jsonpath={range .items[*]}{.spec.containers[0].image}{"\\n"}{end}']).stdout.trim().split('\n');
  const pods = await waitFor(() => (running().join() === 'nginx:1.29,nginx:1.29' ? running() : undefined), 'the old pods to terminate', 60_000).catch(() => running());
  t.same(pods, ['nginx:1.29', 'nginx:1.29'], 'two Running pods of the last template');
});
