import t from 'tap';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { kubectl, kubectlAvailable } from './kubectl.testutil.js';
import { seedCluster, startCliEnv } from './testenv.js';

process.env.TZ = 'UTC';
const clock = new VirtualClock();
const env = await startCliEnv({ clock });
t.teardown(() => env.close());
await seedCluster(env.client);
// Every object was created at the clock's start: ages read 3h25m.
await clock.advance(3 * 3_600_000 + 25 * 60_000);

t.test('tables, as kubectl prints them', async (t) => {
  const cases: [string[], string][] = [
    [
      ['get', 'pods'],
      `NAME          READY   STATUS    RESTARTS   AGE
db-0          0/1     Pending   0          3h25m
web-5d8f7-a   1/1     Running   0          3h25m
web-5d8f7-b   1/1     Running   0          3h25m
`,
    ],
    [
      ['get', 'po', '-o', 'wide'],
      `NAME          READY   STATUS    RESTARTS   AGE     IP           NODE     NOMINATED NODE   READINESS GATES
db-0          0/1     Pending   0          3h25m   <none>       <none>   <none>           <none>
web-5d8f7-a   1/1     Running   0          3h25m   10.244.1.5   n1       <none>           <none>
web-5d8f7-b   1/1     Running   0          3h25m   10.244.1.6   n1       <none>           <none>
`,
    ],
    [
      ['get', 'pods', '-A', '--show-labels'],
      `NAMESPACE     NAME          READY   STATUS    RESTARTS   AGE     LABELS
default       db-0          0/1     Pending   0          3h25m   app=db
default       web-5d8f7-a   1/1     Running   0          3h25m   app=web,pod-template-hash=5d8f7
default       web-5d8f7-b   1/1     Running   0          3h25m   app=web,pod-template-hash=5d8f7
kube-system   dns           0/1     Running   0          3h25m   k8s=dns
`,
    ],
    [
      ['get', 'deploy,svc'],
      `NAME                  READY   UP-TO-DATE   AVAILABLE   AGE
deployment.apps/web   2/2     2            2           3h25m

NAME                 TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE
service/kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP   3h25m
service/web          ClusterIP   10.96.0.2    <none>        80/TCP    3h25m
`,
    ],
    [
      ['get', 'all'],
      `NAME              READY   STATUS    RESTARTS   AGE
pod/db-0          0/1     Pending   0          3h25m
pod/web-5d8f7-a   1/1     Running   0          3h25m
pod/web-5d8f7-b   1/1     Running   0          3h25m

NAME                 TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE
service/kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP   3h25m
service/web          ClusterIP   10.96.0.2    <none>        80/TCP    3h25m

NAME                  READY   UP-TO-DATE   AVAILABLE   AGE
deployment.apps/web   2/2     2            2           3h25m

NAME                        DESIRED   CURRENT   READY   AGE
replicaset.apps/web-5d8f7   2         2         2       3h25m
`,
    ],
    [
      ['get', 'nodes', '-o', 'wide'],
      `NAME   STATUS     ROLES    AGE     VERSION         INTERNAL-IP   EXTERNAL-IP   OS-IMAGE            KERNEL-VERSION   CONTAINER-RUNTIME
n1     Ready      worker   3h25m   v1.32.0-berth   10.0.1.23     <none>        Amazon Linux 2023   6.1.0            berth://0.1.0
n2     NotReady   <none>   3h25m                   <none>        <none>        <unknown>           <unknown>        <unknown>
`,
    ],
    [
      ['get', 'pods', '-l', 'app=web', '--field-selector', 'metadata.name!=web-5d8f7-b'],
      `NAME          READY   STATUS    RESTARTS   AGE
web-5d8f7-a   1/1     Running   0          3h25m
`,
    ],
    [
      ['get', 'pod/web-5d8f7-a', 'deploy/web'],
      `NAME              READY   STATUS    RESTARTS   AGE
pod/web-5d8f7-a   1/1     Running   0          3h25m

NAME                  READY   UP-TO-DATE   AVAILABLE   AGE
deployment.apps/web   2/2     2            2           3h25m
`,
    ],
    [
      ['get', 'pods', 'web-5d8f7-b', 'web-5d8f7-a'],
      `NAME          READY   STATUS    RESTARTS   AGE
web-5d8f7-b   1/1     Running   0          3h25m
web-5d8f7-a   1/1     Running   0          3h25m
`,
    ],
  ];
  for (const [args, want] of cases) {
    const r = await env.run(args);
    t.equal(r.stdout, want, args.join(' '));
    t.equal(r.stderr, '', `${args.join(' ')}: stderr`);
    t.equal(r.code, 0);
  }
});

t.test('json, yaml and name', async (t) => {
  let r = await env.run(['get', 'pods', '-o', 'name']);
  t.equal(r.stdout, 'pod/db-0\npod/web-5d8f7-a\npod/web-5d8f7-b\n');
  r = await env.run(['get', 'deploy,svc', '-o', 'name']);
  t.equal(r.stdout, 'deployment.apps/web\nservice/kubernetes\nservice/web\n');

  await env.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'kube-public' }, data: { a: '1', 'b.txt': 'hello\nworld\n', on: 'yes' } });
  r = await env.run(['get', 'cm', 'cfg', '-n', 'kube-public', '-o', 'yaml']);
  t.equal(
    r.stdout.replace(/uid: .*/, 'uid: X').replace(/resourceVersion: "\d+"/, 'resourceVersion: "N"'),
    `apiVersion: v1
data:
  a: "1"
  b.txt: |
    hello
    world
  "on": "yes"
kind: ConfigMap
metadata:
  creationTimestamp: "2026-01-01T03:25:00Z"
  generation: 1
  name: cfg
  namespace: kube-public
  resourceVersion: "N"
  uid: X
`,
  );
  r = await env.run(['get', 'cm', 'cfg', '-n', 'kube-public', '-o', 'json']);
  t.equal(
    r.stdout.replace(/"uid": ".*"/, '"uid": "X"').replace(/"resourceVersion": "\d+"/, '"resourceVersion": "N"'),
    `{
    "apiVersion": "v1",
    "data": {
        "a": "1",
        "b.txt": "hello\\nworld\\n",
        "on": "yes"
    },
    "kind": "ConfigMap",
    "metadata": {
        "creationTimestamp": "2026-01-01T03:25:00Z",
        "generation": 1,
        "name": "cfg",
        "namespace": "kube-public",
        "resourceVersion": "N",
        "uid": "X"
    }
}
`,
  );
  r = await env.run(['get', 'cm', '-n', 'kube-public', '-o', 'json']);
  const list = JSON.parse(r.stdout) as { apiVersion: string; kind: string; items: { metadata: { name: string } }[]; metadata: unknown };
  t.same({ ...list, items: list.items.map((i) => i.metadata.name) }, { apiVersion: 'v1', kind: 'List', items: ['cfg'], metadata: { resourceVersion: '' } });
  t.match(r.stdout, /^\{\n {4}"apiVersion": "v1",\n {4}"items": \[\n {8}\{\n/, '4-space indentation');
  r = await env.run(['get', 'secrets', '-n', 'kube-public', '-o', 'yaml']);
  t.equal(r.stdout, 'apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: ""\n', 'an empty List');
  t.equal(r.stderr, '');
  r = await env.run(['get', 'pods', '-o', 'jsonpath']);
  t.equal(r.stderr, 'error: unable to match a printer suitable for the output format "jsonpath", allowed formats are: wide,json,yaml,name\n');
});

t.test('errors and empty results', async (t) => {
  let r = await env.run(['get', 'deploy', 'nope']);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.equal(r.stderr, 'Error from server (NotFound): deployments.apps "nope" not found\n');
  r = await env.run(['get', 'deploy', 'web', 'nope']);
  t.equal(r.code, 1);
  t.equal(r.stdout, 'NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nweb    2/2     2            2           3h25m\n', 'found objects still print');
  t.equal(r.stderr, 'Error from server (NotFound): deployments.apps "nope" not found\n');
  r = await env.run(['get', 'foo']);
  t.same(r, { code: 1, stdout: '', stderr: 'error: the server doesn\'t have a resource type "foo"\n' });
  r = await env.run(['get', 'pods', '-n', 'kube-public']);
  t.same(r, { code: 0, stdout: '', stderr: 'No resources found in kube-public namespace.\n' });
  r = await env.run(['get', 'nodes', '-l', 'x=y']);
  t.same(r, { code: 0, stdout: '', stderr: 'No resources found\n' });
  r = await env.run(['get']);
  t.equal(r.code, 1);
  t.match(r.stderr, /^error: You must specify the type of resource to get/);
  r = await env.run(['get', 'pods', '-l', 'a in (']);
  t.equal(r.code, 1);
  t.match(r.stderr, /^Error from server \(BadRequest\): unable to parse requirement/);
  r = await env.run(['get', 'pods', '--bogus']);
  t.same(r, { code: 1, stdout: '', stderr: "error: unknown option '--bogus'\n" });
});

t.test('get -w prints the table, then a row per change, until stopped', async (t) => {
  const ac = new AbortController();
  let seenHeader: () => void;
  const header = new Promise<void>((r) => (seenHeader = r));
  let seenRow: () => void;
  const row = new Promise<void>((r) => (seenRow = r));
  const running = env.run(['get', 'deploy', '-w'], {
    signal: ac.signal,
    onStdout: (all) => {
      if (all.includes('AVAILABLE')) seenHeader();
      if (all.includes('web    5/5')) seenRow();
    },
  });
  await header;
  const dep = await env.client.get(Kinds.Deployment, 'web', 'default');
  await env.client.updateStatus({ ...dep, status: { ...(dep.status as object), readyReplicas: 5 } });
  await env.client.patch(Kinds.Deployment, 'web', 'default', 'merge', { spec: { replicas: 5 } });
  await row;
  ac.abort();
  const r = await running;
  t.equal(r.code, 0);
  t.equal(
    r.stdout,
    `NAME   READY   UP-TO-DATE   AVAILABLE   AGE
web    2/2     2            2           3h25m
web    5/2     2            2           3h25m
web    5/5     2            2           3h25m
`,
  );
  const multi = await env.run(['get', 'pods,svc', '-w']);
  t.same(multi, { code: 1, stdout: '', stderr: 'error: you may only specify a single resource type\n' });
});

t.test('the same output as kubectl, against the same server', { skip: !(await kubectlAvailable()) && 'kubectl is not installed' }, async (t) => {
  for (const args of [
    ['get', 'pods'],
    ['get', 'pods', '-o', 'wide'],
    ['get', 'pods', '-A', '--show-labels'],
    ['get', 'all'],
    ['get', 'all', '-A', '-o', 'wide'],
    ['get', 'nodes', '-o', 'wide'],
    ['get', 'deploy,svc,rs'],
    ['get', 'pod', 'web-5d8f7-a', '-o', 'json'],
    ['get', 'pods', '-o', 'yaml'],
    ['get', 'deploy,svc', '-o', 'name'],
    ['get', 'svc', '-o', 'json'],
    ['get', 'pods', '--no-headers'],
    ['get', 'pods', '-A', '--sort-by', '{.status.podIP}'],
    ['get', 'pods', '--sort-by=.metadata.name', '-o', 'name'],
    ['get', 'nodes', '--sort-by', '.metadata.name', '--no-headers'],
  ]) {
    const ours = await env.run(args);
    const theirs = await kubectl(env, args);
    t.equal(ours.stdout, theirs.stdout, args.join(' '));
  }
});

t.test('--no-headers and --sort-by', async (t) => {
  let r = await env.run(['get', 'pods', '--no-headers', '--sort-by', '.status.phase']);
  // Without the header line, the columns are as wide as their cells (kubectl's widths too).
  t.equal(r.stdout, `db-0          0/1   Pending   0     3h25m
web-5d8f7-a   1/1   Running   0     3h25m
web-5d8f7-b   1/1   Running   0     3h25m
`, 'Pending before Running, no header line');
  r = await env.run(['get', 'pods', '-A', '-o', 'name', '--sort-by', '{.metadata.namespace}']);
  t.equal(r.stdout, 'pod/db-0\npod/web-5d8f7-a\npod/web-5d8f7-b\npod/dns\n', 'by namespace, stable within one');
  r = await env.run(['get', 'pods', '--sort-by', '.spec.nope']);
  t.equal(r.code, 1);
  t.match(r.stderr, /couldn't find any field with path "\{\.spec\.nope\}" in the list of objects/);
  r = await env.run(['get', 'pods', '--sort-by', '.spec..x']);
  t.equal(r.code, 1);
  t.match(r.stderr, /unexpected path string "\.spec\.\.x"/);
});

t.test('api-resources', async (t) => {
  const r = await env.run(['api-resources']);
  t.match(r.stdout, /^NAME +SHORTNAMES +APIVERSION +NAMESPACED +KIND\n/);
  t.match(r.stdout, /\ndeployments +deploy +apps\/v1 +true +Deployment\n/);
  t.match(r.stdout, /\ninstances +inst,ec2 +ec2\.berth\.dev\/v1 +false +Instance\n/);
  const cluster = await env.run(['api-resources', '--namespaced=false']);
  t.notMatch(cluster.stdout, /\npods /);
  t.match(cluster.stdout, /\nnodes +no +v1 +false +Node\n/);
  if (await kubectlAvailable()) {
    t.equal(r.stdout, (await kubectl(env, ['api-resources'])).stdout, 'as kubectl lists them');
    t.equal(cluster.stdout, (await kubectl(env, ['api-resources', '--namespaced=false'])).stdout);
  }
});
