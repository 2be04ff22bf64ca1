import t from 'tap';
import type { KubeObject } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { startCliEnv } from './testenv.js';

const env = await startCliEnv();
t.teardown(() => env.close());
const cm = (name: string, labels: Record<string, string> = {}, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels, ...extra } });

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
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
        image: nginx:1.25
`;

t.test('delete by file', async (t) => {
  const f = env.file('del.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: del-a\n---\n${DEPLOYMENT.replace('name: web', 'name: del-web')}`);
  t.equal((await env.run(['apply', '-f', f])).code, 0);
  let r = await env.run(['delete', '-f', f]);
  t.same(r, { code: 0, stdout: 'configmap "del-a" deleted\ndeployment.apps "del-web" deleted\n', stderr: '' });
  t.equal(await env.client.tryGet(Kinds.ConfigMap, 'del-a', 'default'), undefined);
  r = await env.run(['delete', '-f', f]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `Error from server (NotFound): error when deleting "${f}": configmaps "del-a" not found\nError from server (NotFound): error when deleting "${f}": deployments.apps "del-web" not found\n`);
  r = await env.run(['delete', '-f', f, '--ignore-not-found']);
  t.same(r, { code: 0, stdout: '', stderr: '' });
  r = await env.run(['delete', 'cm', 'x', '-f', f]);
  t.equal(r.stderr, 'error: when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well\n');
});

t.test('delete by name, by selector, --all', async (t) => {
  for (const o of [cm('n1'), cm('n2'), cm('l1', { team: 'a' }), cm('l2', { team: 'a' }), cm('l3', { team: 'b' })]) await env.client.create(o);
  let r = await env.run(['delete', 'cm', 'n1', 'n2']);
  t.same(r, { code: 0, stdout: 'configmap "n1" deleted\nconfigmap "n2" deleted\n', stderr: '' });
  r = await env.run(['delete', 'configmaps', '-l', 'team=a']);
  t.equal(r.stdout, 'configmap "l1" deleted\nconfigmap "l2" deleted\n');
  r = await env.run(['delete', 'cm', '-l', 'team=nobody']);
  t.same(r, { code: 0, stdout: '', stderr: 'No resources found\n' });
  r = await env.run(['delete', 'cm/l3', 'cm/nope']);
  t.equal(r.code, 1);
  t.equal(r.stdout, 'configmap "l3" deleted\n');
  t.equal(r.stderr, 'Error from server (NotFound): configmaps "nope" not found\n');
  r = await env.run(['delete', 'cm']);
  t.same(r, { code: 1, stdout: '', stderr: 'error: resource(s) were provided, but no name was specified\n' });
  await env.client.create({ ...cm('p1'), metadata: { name: 'p1', namespace: 'kube-public' } });
  r = await env.run(['delete', 'cm', '--all', '-n', 'kube-public']);
  t.equal(r.stdout, 'configmap "p1" deleted\n');
});

t.test('--wait waits for finalizers, with a timeout and a clear message', async (t) => {
  await env.client.create(cm('held', {}, { finalizers: ['example.com/hold'] }));
  let r = await env.run(['delete', 'cm', 'held', '--timeout', '300ms']);
  t.equal(r.code, 1);
  t.equal(r.stdout, 'configmap "held" deleted\n');
  t.equal(r.stderr, 'error: timed out waiting for the deletion of configmaps/held after 0.3s; it is held by finalizers [example.com/hold] (use --timeout to wait longer, or --wait=false not to wait)\n');

  // Released while the CLI waits: it returns once the object is gone.
  const waiting = env.run(['delete', 'cm', 'held', '--timeout=20s']);
  await new Promise((res) => setTimeout(res, 200));
  const cur = await env.client.get(Kinds.ConfigMap, 'held', 'default');
  await env.client.update({ ...cur, metadata: { ...cur.metadata, finalizers: [] } });
  r = await waiting;
  t.same(r, { code: 0, stdout: 'configmap "held" deleted\n', stderr: '' });

  await env.client.create(cm('held2', {}, { finalizers: ['example.com/hold'] }));
  r = await env.run(['delete', 'cm', 'held2', '--wait=false']);
  t.same(r, { code: 0, stdout: 'configmap "held2" deleted\n', stderr: '' });
  t.ok((await env.client.get(Kinds.ConfigMap, 'held2', 'default')).metadata.deletionTimestamp, 'being deleted');
});

t.test('cascade and grace period', async (t) => {
  t.equal((await env.run(['apply', '-f', '-'], { stdin: DEPLOYMENT })).code, 0);
  let r = await env.run(['delete', 'deploy', 'web', '--cascade=orphan', '--wait=false']);
  t.equal(r.stdout, 'deployment.apps "web" deleted\n');
  t.same((await env.client.get(Kinds.Deployment, 'web', 'default')).metadata.finalizers, ['orphan'], 'the garbage collector is asked to orphan');
  r = await env.run(['delete', 'deploy', 'web', '--cascade=sideways']);
  t.equal(r.stderr, 'error: invalid cascade value (sideways). Must be "background", "foreground", or "orphan".\n');

  // A pod running on a node terminates gracefully; --force --grace-period=0 removes it at once.
  const pod = await env.client.create<KubeObject>({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'running', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }] } });
  await env.client.updateStatus({ ...pod, status: { phase: 'Running' } });
  r = await env.run(['delete', 'pod', 'running', '--wait=false']);
  t.equal(r.stdout, 'pod "running" deleted\n');
  const terminating = await env.client.get(Kinds.Pod, 'running', 'default');
  t.equal(terminating.metadata.deletionGracePeriodSeconds, 30);
  r = await env.run(['delete', 'pod', 'running', '--force', '--grace-period=0']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, 'Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n');
  t.equal(await env.client.tryGet(Kinds.Pod, 'running', 'default'), undefined);
});

t.test('scale through the scale subresource', async (t) => {
  t.equal((await env.run(['apply', '-f', '-'], { stdin: DEPLOYMENT.replace('name: web', 'name: api') })).code, 0);
  let r = await env.run(['scale', 'deploy/api', '--replicas', '3']);
  t.same(r, { code: 0, stdout: 'deployment.apps/api scaled\n', stderr: '' });
  t.equal((await env.client.get<KubeObject & { spec: { replicas: number } }>(Kinds.Deployment, 'api', 'default')).spec.replicas, 3);
  r = await env.run(['scale', 'deployment', 'api', '--replicas=4', '--current-replicas=3']);
  t.equal(r.stdout, 'deployment.apps/api scaled\n');
  r = await env.run(['scale', 'deploy', 'api', '--replicas=5', '--current-replicas=9']);
  t.same(r, { code: 1, stdout: '', stderr: 'error: Expected replicas to be 9, was 4\n' });
  r = await env.run(['scale', 'deploy', 'api']);
  t.same(r, { code: 1, stdout: '', stderr: 'error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0\n' });
  r = await env.run(['scale', 'deploy', 'nope', '--replicas', '1']);
  t.same(r, { code: 1, stdout: '', stderr: 'Error from server (NotFound): deployments.apps "nope" not found\n' });
  r = await env.run(['scale', 'cm', 'x', '--replicas', '1']);
  t.same(r, { code: 1, stdout: '', stderr: 'error: configmaps cannot be scaled: the server has no scale subresource for them\n' });
  // berth's own kinds scale the same way: an Auto Scaling group's desired capacity.
  await env.client.create({ apiVersion: 'autoscaling.berth.dev/v1', kind: 'AutoScalingGroup', metadata: { name: 'workers' }, spec: { minSize: 0, maxSize: 5, desiredCapacity: 1, launchTemplate: { instanceType: 'm5.large' }, availabilityZones: ['us-east-1a'] } });
  r = await env.run(['scale', 'asg/workers', '--replicas', '3']);
  t.same(r, { code: 0, stdout: 'autoscalinggroup.autoscaling.berth.dev/workers scaled\n', stderr: '' });
  t.equal((await env.client.get<KubeObject & { spec: { desiredCapacity: number } }>(Kinds.AutoScalingGroup, 'workers')).spec.desiredCapacity, 3);
});

t.test('version, help and usage errors', async (t) => {
  let r = await env.run(['version']);
  t.same(r, { code: 0, stdout: 'Client Version: v0.1.0\nServer Version: v1.32.0-berth\n', stderr: '' });
  r = await env.run(['version', '--client']);
  t.equal(r.stdout, 'Client Version: v0.1.0\n');
  r = await env.run(['--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /Usage: berth \[options\] \[command\]/);
  t.match(r.stdout, /apply/);
  r = await env.run(['frobnicate']);
  t.equal(r.code, 1);
  t.equal(r.stderr, "error: unknown command 'frobnicate'\n");
});
