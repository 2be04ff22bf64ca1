/**
 * The real kubectl (the PATH dispatcher, which picks 1.32 from /version) against a started berth
 * server: apply of a multi-document file, get in every output format, scale, get -w, describe,
 * delete, and Kubernetes's error texts.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startServer, waitFor, type ServerProcess } from './harness.js';

const APP = `
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: pool}
spec:
  minSize: 1
  maxSize: 4
  desiredCapacity: 2
  launchTemplate: {instanceType: m5.xlarge}
  availabilityZones: [us-east-1a, us-east-1b]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        resources:
          requests: {cpu: "1", memory: 1Gi}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`;

let s: ServerProcess;
let file: string;

t.before(async () => {
  s = await startServer();
  file = join(s.dataDir, 'app.yaml');
  writeFileSync(file, APP);
});
t.teardown(async () => {
  await s?.stop();
});

const runningPods = (app: string): number => {
  const r = s.kubectl(['get', 'pods', '-l', `app=${app}`, '-o', 'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}']);
  return r.stdout.split('\n').filter((l) => l === 'Running').length;
};

t.test('apply creates every document of a multi-document file, and is idempotent', async (t) => {
  const r = s.kubectl(['apply', '-f', file]);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['autoscalinggroup.autoscaling.berth.dev/pool created', 'configmap/web-config created', 'deployment.apps/web created', 'service/web created']);
  const again = s.kubectl(['apply', '-f', file]);
  t.match(again.stdout, /deployment\.apps\/web unchanged/);
});

t.test('nodes register from the Auto Scaling group and pods run', async (t) => {
  await waitFor(() => {
    const r = s.kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
    return r.stdout.split('\n').filter((x) => x === 'True').length === 2;
  }, '2 Ready nodes');
  const nodes = s.kubectl(['get', 'nodes', '-L', 'node.kubernetes.io/instance-type']);
  t.match(nodes.stdout, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INSTANCE-TYPE/);
  t.match(nodes.stdout, /ip-10-0-\d+-\d+\.ec2\.internal\s+Ready\s+<none>\s+\S+\s+v1\.32\.0-berth\s+m5\.xlarge/);
  await waitFor(() => runningPods('web') === 2, '2 running web pods');
  t.pass();
});

t.test('get prints tables, wide, json, yaml and name', async (t) => {
  const table = s.kubectl(['get', 'deployments']);
  t.equal(table.code, 0, table.stderr);
  const [header, row] = table.stdout.trim().split('\n');
  t.match(header, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
  t.match(row, /^web\s+2\/2\s+2\s+2\s+\S+$/);

  const wide = s.kubectl(['get', 'pods', '-o', 'wide']);
  t.match(wide.stdout.split('\n')[0], /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
  t.match(wide.stdout, /web-[a-z0-9]+-[a-z0-9]{5}\s+1\/1\s+Running\s+0\s+\S+\s+10\.\d+\.\d+\.\d+\s+ip-10-0-/);

  const json = JSON.parse(s.kubectl(['get', 'deployment', 'web', '-o', 'json']).stdout) as { kind: string; spec: { replicas: number }; status: { readyReplicas: number } };
  t.equal(json.kind, 'Deployment');
  t.equal(json.status.readyReplicas, 2);
  const list = JSON.parse(s.kubectl(['get', 'configmaps', '-o', 'json']).stdout) as { kind: string; items: { metadata: { name: string } }[] };
  t.equal(list.kind, 'List');
  t.ok(list.items.some((i) => i.metadata.name === 'web-config'));

  const yaml = s.kubectl(['get', 'svc', 'web', '-o', 'yaml']).stdout;
  t.match(yaml, /kind: Service/);
  t.match(yaml, /clusterIP: 10\.96\.\d+\.\d+/);

  t.equal(s.kubectl(['get', 'deploy', '-o', 'name']).stdout.trim(), 'deployment.apps/web');
  const all = s.kubectl(['get', 'all']);
  t.match(all.stdout, /deployment\.apps\/web/);
  t.match(all.stdout, /replicaset\.apps\/web-/);
  t.match(all.stdout, /service\/web/);
  const shown = s.kubectl(['get', 'pods', '-A', '--show-labels']);
  t.match(shown.stdout, /^NAMESPACE\s+NAME/);
  t.match(shown.stdout, /default\s+web-\S+\s+1\/1\s+Running.*app=web,pod-template-hash=/);
});

t.test('scale, and get -w sees the new pods', async (t) => {
  const watcher = spawn('kubectl', ['--kubeconfig', s.kubeconfig, 'get', 'pods', '-l', 'app=web', '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  watcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('NAME'), 'the watch header');
  const r = s.kubectl(['scale', 'deployment', 'web', '--replicas=3']);
  t.equal(r.stdout.trim(), 'deployment.apps/web scaled');
  await waitFor(() => runningPods('web') === 3, '3 running web pods');
  await waitFor(() => (out.match(/Running/g) ?? []).length >= 3, 'watch events');
  watcher.kill();
  t.equal(out.match(/^NAME\s+READY/gm)?.length, 1, 'one header');
  t.match(out, /ContainerCreating|Pending/);
});

t.test('describe shows the scheduler and kubelet events', async (t) => {
  const pod = s.kubectl(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}']).stdout;
  const d = s.kubectl(['describe', 'pod', pod]);
  t.equal(d.code, 0, d.stderr);
  t.match(d.stdout, /Node:\s+ip-10-0-/);
  t.match(d.stdout, /Status:\s+Running/);
  t.match(d.stdout, /Controlled By:\s+ReplicaSet\/web-/);
  t.match(d.stdout, /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/web-/);
  const dep = s.kubectl(['describe', 'deployment', 'web']);
  t.match(dep.stdout, /Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable/);
  t.match(dep.stdout, /ScalingReplicaSet/);
  // The Service's endpoints come from its EndpointSlices (kubectl crashes on a slice port without a name).
  const svc = s.kubectl(['describe', 'service', 'web']);
  t.equal(svc.code, 0, svc.stderr);
  t.match(svc.stdout, /Endpoints:\s+10\.244\.\d+\.\d+:80,10\.244\.\d+\.\d+:80,10\.244\.\d+\.\d+:80\n/);
  const node = s.kubectl(['describe', 'node', s.kubectl(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].spec.nodeName}']).stdout]);
  t.equal(node.code, 0, node.stderr);
  t.match(node.stdout, /Allocatable:\n\s+cpu:\s+3920m\n/);
  t.match(node.stdout, /node\.kubernetes\.io\/instance-type=m5\.xlarge/);
});

t.test('a pod that fits nowhere stays Pending with the scheduler reason', async (t) => {
  const r = s.kubectl(['run', 'huge', '--image=nginx', '--overrides={"spec":{"containers":[{"name":"huge","image":"nginx","resources":{"requests":{"cpu":"64"}}}]}}']);
  t.equal(r.code, 0, r.stderr);
  await waitFor(() => /0\/2 nodes are available: 2 Insufficient cpu\./.test(s.kubectl(['describe', 'pod', 'huge']).stdout), 'FailedScheduling');
  const cond = s.kubectl(['get', 'pod', 'huge', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].status}']);
  t.equal(cond.stdout, 'False');
  t.equal(s.kubectl(['delete', 'pod', 'huge']).code, 0);
});

t.test('errors read as Kubernetes writes them', async (t) => {
  const bad = s.kubectl(['apply', '-f', '-'], {
    input: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  replicas: -1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: x}]}\n',
  });
  t.not(bad.code, 0);
  t.match(bad.stderr, /The Deployment "bad" is invalid: spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
  const missing = s.kubectl(['get', 'deployment', 'nope']);
  t.match(missing.stderr, /Error from server \(NotFound\): deployments\.apps "nope" not found/);
  const unknown = s.kubectl(['get', 'widgets']);
  t.match(unknown.stderr, /the server doesn't have a resource type "widgets"/);
  const dup = s.kubectl(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\n' });
  t.match(dup.stderr, /Error from server \(AlreadyExists\).*configmaps "web-config" already exists/);
});

t.test('delete -f removes everything, dependents included', async (t) => {
  const r = s.kubectl(['delete', '-f', file]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /deployment\.apps "web" deleted/);
  await waitFor(() => s.kubectl(['get', 'pods', '-l', 'app=web', '-o', 'name']).stdout.trim() === '', 'pods gone');
  await waitFor(() => s.kubectl(['get', 'nodes', '-o', 'name']).stdout.trim() === '', 'instances terminated and nodes gone');
  t.equal(s.kubectl(['get', 'rs', '-o', 'name']).stdout.trim(), '');
});
