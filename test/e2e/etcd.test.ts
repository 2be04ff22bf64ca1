/**
 * Two `berth server` processes on one three-member etcd cluster: each sees the other's writes
 * through watches, exactly one runs the controllers (the Lease), and when the leader is killed
 * mid-rollout the other takes the Lease and finishes the rollout without a duplicate ReplicaSet.
 */
import t from 'tap';
import { startEtcdCluster, type EtcdTestCluster } from '../../pkg/storage/etcd/testcluster.js';
import { BERTH, run, startServer, waitFor, type ServerProcess } from './harness.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostname } from 'node:os';

const FLEET = `apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: shared}
spec:
  minSize: 1
  maxSize: 2
  desiredCapacity: 1
  launchTemplate: {instanceType: m5.xlarge}
  availabilityZones: [us-east-1a]
`;

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources: {requests: {cpu: 100m, memory: 64Mi}}
`;

let cluster: EtcdTestCluster | undefined;
const servers: ServerProcess[] = [];
t.teardown(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  await cluster?.stop();
});

t.test('two servers on one etcd cluster', async (t) => {
  cluster = await startEtcdCluster(3);
  const scaled = run(process.execPath, [BERTH, 'server', '--data-dir', mkdtempSync(join(tmpdir(), 'berth-scaled-')), '--port', '0', '--store', cluster.storeSpec, '--time-scale', '10']);
  t.equal(scaled.code, 1);
  t.match(scaled.stderr, /servers sharing a store run on real time/);
  const opts = { store: cluster.storeSpec, timeScale: 1, bootDelay: 1 };
  const a = await startServer(opts);
  servers.push(a);
  const b = await startServer(opts);
  servers.push(b);

  await t.test('a write through one is seen by a watch on the other', async (t) => {
    const ac = new AbortController();
    const res = await fetch(`${b.url}/api/v1/namespaces/default/configmaps?watch=1`, { signal: ac.signal });
    t.equal(res.status, 200);
    const reader = res.body!.getReader();
    const created = a.kubectl(['create', 'configmap', 'shared', '--from-literal=k=v']);
    t.equal(created.code, 0, created.stderr);
    let seen = '';
    const deadline = Date.now() + 10_000;
    while (!seen.includes('"name":"shared"') && Date.now() < deadline) {
      const chunk = await reader.read();
      if (chunk.done) break;
      seen += Buffer.from(chunk.value).toString();
    }
    ac.abort();
    t.match(seen, /"type":"ADDED"/);
    t.match(seen, /"name":"shared"/);
    t.equal(b.kubectl(['get', 'configmap', 'shared', '-o', 'jsonpath={.data.k}']).stdout, 'v');
  });

  await t.test("admission on one server sees the other's writes: a new namespace, a new ResourceQuota", async (t) => {
    // b reads namespaces and quotas for its admission first, so anything it kept would now be stale.
    t.equal(b.kubectl(['create', 'configmap', 'warm', '--from-literal=k=v']).code, 0);
    const ns = a.kubectl(['create', 'namespace', 'team-x']);
    t.equal(ns.code, 0, ns.stderr);
    const first = b.kubectl(['create', 'configmap', 'one', '-n', 'team-x', '--from-literal=k=v']);
    t.equal(first.code, 0, `a namespace created through the other server is found: ${first.stderr}`);
    const quota = a.kubectl(['create', 'quota', 'cm', '-n', 'team-x', '--hard=count/configmaps=1']);
    t.equal(quota.code, 0, quota.stderr);
    const second = b.kubectl(['create', 'configmap', 'two', '-n', 'team-x', '--from-literal=k=v']);
    t.not(second.code, 0, 'a quota created through the other server is enforced');
    t.match(second.stderr, /exceeded quota: cm/);
  });

  const identities = new Map([
    [`${hostname()}_${a.child.pid}`, a],
    [`${hostname()}_${b.child.pid}`, b],
  ]);
  const holder = (s: ServerProcess): string => s.kubectl(['get', 'lease', '-n', 'kube-system', 'berth-control-plane', '-o', 'jsonpath={.spec.holderIdentity}']).stdout;

  const leaderId = await waitFor(() => identities.has(holder(a)) && holder(a), 'a leader among the two servers', 20_000);
  const leader = identities.get(leaderId as string)!;
  const other = leader === a ? b : a;
  t.equal(holder(other), leaderId, 'both servers see the same leader');

  t.equal(other.kubectl(['apply', '-f', '-'], { input: FLEET }).code, 0);
  await waitFor(() => other.kubectl(['get', 'nodes', '--no-headers']).stdout.includes(' Ready'), 'a Ready node', 30_000);
  const applied = other.kubectl(['apply', '-f', '-'], { input: WEB });
  t.equal(applied.code, 0, applied.stderr);
  await waitFor(() => other.kubectl(['get', 'replicasets', '-l', 'app=web', '--no-headers']).stdout.trim(), 'the ReplicaSet', 15_000);

  // Mid-rollout: the leader dies without releasing its Lease.
  await leader.stop('SIGKILL');
  servers.splice(servers.indexOf(leader), 1);
  const takeover = Date.now();
  const newHolder = await waitFor(() => {
    const h = holder(other);
    return h !== leaderId && h;
  }, 'the surviving server to take the Lease', 30_000);
  t.equal(identities.get(newHolder as string), other, 'the survivor leads');
  t.ok(Date.now() - takeover <= 20_000, `took over in ${Date.now() - takeover} ms (lease 15 s)`);

  const status = other.kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s']);
  t.equal(status.code, 0, status.stderr + status.stdout);
  const rs = other.kubectl(['get', 'replicasets', '-l', 'app=web', '-o', 'name']).stdout.trim().split('\n');
  t.equal(rs.length, 1, `one ReplicaSet: ${rs.join(', ')}`);
  const pods = other.kubectl(['get', 'pods', '-l', 'app=web', '--no-headers']).stdout.trim().split('\n');
  t.equal(pods.length, 3, pods.join('\n'));
  t.ok(pods.every((p) => / Running /.test(p)), pods.join('\n'));

  await t.test('killing one etcd member keeps the cluster writable', async (t) => {
    await cluster!.kill(0);
    const r = other.kubectl(['create', 'configmap', 'after-member-loss', '--from-literal=k=v']);
    t.equal(r.code, 0, r.stderr);
    t.equal(other.kubectl(['get', 'configmap', 'after-member-loss', '-o', 'jsonpath={.data.k}']).stdout, 'v');
  });
});
