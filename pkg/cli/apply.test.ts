import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kinds } from '../client/client.js';
import { renderKubeconfig } from '../client/kubeconfig.js';
import { LAST_APPLIED } from './apply.js';
import { startCliEnv } from './testenv.js';

const CORPUS = '/work/shared/corpus';
const env = await startCliEnv();
t.teardown(() => env.close());

const MULTI = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: blue
  size: M
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
        image: nginx:1.25
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
`;

t.test('a multi-document file: created, unchanged, configured', async (t) => {
  const f = env.file('multi.yaml', MULTI);
  let r = await env.run(['apply', '-f', f]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'configmap/settings created\ndeployment.apps/web created\nservice/web created\n');
  t.equal(r.stderr, '');

  const dep = await env.client.get(Kinds.Deployment, 'web', 'default');
  const docs = MULTI.split('---\n');
  t.ok(docs.length === 3);
  t.same(JSON.parse(dep.metadata.annotations![LAST_APPLIED]!), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { annotations: {}, name: 'web', namespace: 'default', labels: { app: 'web' } }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] } } } }, 'the document as given, with its namespace');
  t.match(dep.metadata.annotations![LAST_APPLIED]!, /^\{"apiVersion":"apps\/v1","kind":"Deployment","metadata":\{"annotations":\{\},"labels":\{"app":"web"\},"name":"web","namespace":"default"\},"spec":/, "kubectl's form: sorted keys");

  r = await env.run(['apply', '-f', f]);
  t.equal(r.stdout, 'configmap/settings unchanged\ndeployment.apps/web unchanged\nservice/web unchanged\n', 're-applying changes nothing');

  // Someone else labels the config map; the file drops `size` and changes the image.
  await env.client.patch(Kinds.ConfigMap, 'settings', 'default', 'merge', { metadata: { labels: { owner: 'ops' } } });
  writeFileSync(f, MULTI.replace('  size: M\n', '').replace('nginx:1.25', 'nginx:1.26'));
  r = await env.run(['apply', '-f', f]);
  t.equal(r.stdout, 'configmap/settings configured\ndeployment.apps/web configured\nservice/web unchanged\n');
  const cm = await env.client.get(Kinds.ConfigMap, 'settings', 'default');
  t.same(cm.data, { color: 'blue' }, 'a field removed from the file is removed');
  t.equal(cm.metadata.labels?.owner, 'ops', "fields others set are kept");
  const dep2 = await env.client.get<{ spec: { template: { spec: { containers: { image: string; terminationMessagePath?: string }[] } } } } & typeof dep>(Kinds.Deployment, 'web', 'default');
  t.equal(dep2.spec.template.spec.containers[0]!.image, 'nginx:1.26');
});

t.test('every corpus file of built-in kinds applies, then re-applies unchanged', async (t) => {
  for (const ns of ['cpu-example', 'pod-resources-example']) await env.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const files: [string, string[]][] = [
    ['k8s-website/nginx-deployment.yaml', ['deployment.apps/nginx-deployment']],
    ['k8s-website/frontend.yaml', ['replicaset.apps/frontend']],
    ['k8s-website/daemonset.yaml', ['daemonset.apps/fluentd-elasticsearch']],
    ['k8s-website/job.yaml', ['job.batch/pi']],
    ['k8s-website/php-apache.yaml', ['deployment.apps/php-apache', 'service/php-apache']],
    ['k8s-website/hpa/php-apache.yaml', ['horizontalpodautoscaler.autoscaling/php-apache']],
    ['k8s-website/cpu-request-limit.yaml', ['pod/cpu-demo']],
    ['k8s-website/pod-level-resources.yaml', ['pod/pod-resources-demo']],
    ['k8s-website/pod-nginx.yaml', ['pod/nginx']],
    ['k8s-website/pod-with-toleration.yaml', ['pod/nginx']],
    ['k8s-website/two-constraints.yaml', ['pod/mypod']],
    ['k8s-website/extended-resource-pod.yaml', ['pod/extended-resource-demo']],
    ['k8s-examples/guestbook-all-in-one.yaml', ['service/redis-master', 'deployment.apps/redis-master', 'service/redis-replica', 'deployment.apps/redis-replica', 'service/frontend', 'deployment.apps/frontend']],
    ['k8s-examples/horizontal-pod-autoscaler.yaml', ['horizontalpodautoscaler.autoscaling/gemma-server-hpa']],
  ];
  let i = 0;
  for (const [file, objects] of files) {
    // Each file in a namespace of its own (the two pods named nginx would otherwise meet).
    // (Files that name their own namespace keep it: -n would contradict them.)
    const ns = `corpus-${i++}`;
    await env.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const path = join(CORPUS, file);
    const nsArgs = /namespace:/.test(readFileSync(path, 'utf8')) ? [] : ['-n', ns];
    let r = await env.run(['apply', ...nsArgs, '-f', path]);
    t.equal(r.code, 0, `${file}: ${r.stderr}`);
    t.equal(r.stdout, objects.map((o) => `${o} created\n`).join(''), file);
    r = await env.run(['apply', ...nsArgs, '-f', path]);
    // Tolerations are an atomic list and the server adds two: kubectl too says "configured" each time.
    const second = file.endsWith('pod-with-toleration.yaml') ? 'configured' : 'unchanged';
    t.equal(r.stdout, objects.map((o) => `${o} ${second}\n`).join(''), `${file} again`);
  }
  const demo = await env.client.get(Kinds.Pod, 'cpu-demo', 'cpu-example');
  t.equal(demo.metadata.namespace, 'cpu-example', "a document's own namespace wins over the default");
  t.ok(await env.client.get(Kinds.DaemonSet, 'fluentd-elasticsearch', 'kube-system'));
});

t.test('a directory: manifests in name order, -R recurses', async (t) => {
  const cm = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;
  env.file('dir/b.yaml', cm('dir-b'));
  env.file('dir/a.yml', cm('dir-a'));
  env.file('dir/c.json', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dir-c' } }));
  env.file('dir/notes.txt', 'not a manifest');
  env.file('dir/sub/d.yaml', cm('dir-d'));
  let r = await env.run(['apply', '-f', join(env.dir, 'dir')]);
  t.equal(r.stdout, 'configmap/dir-a created\nconfigmap/dir-b created\nconfigmap/dir-c created\n');
  r = await env.run(['apply', '-R', '-f', join(env.dir, 'dir')]);
  t.equal(r.stdout, 'configmap/dir-a unchanged\nconfigmap/dir-b unchanged\nconfigmap/dir-c unchanged\nconfigmap/dir-d created\n');
});

t.test('a YAML syntax error: FILE:LINE:COL, and nothing is applied', async (t) => {
  const f = env.file('syntax.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: before-error\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n  labels: {x: [}\n');
  const r = await env.run(['apply', '-f', f]);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.equal(r.stderr, `error: ${f}:10:16: Flow sequence in block collection must be sufficiently indented and end with a ]\n`);
  t.equal(await env.client.tryGet(Kinds.ConfigMap, 'before-error', 'default'), undefined);
});

t.test('an invalid document among valid ones: nothing is applied, the error names file, line and field', async (t) => {
  const f = env.file(
    'invalid.yaml',
    `apiVersion: v1
kind: ConfigMap
metadata:
  name: valid-one
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: 1
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      containers:
      - name: c
        image: nginx
        ports:
        - containerPort: 70000
---
apiVersion: v1
kind: Pod
metadata:
  name: no-image
spec:
  containers:
  - name: c
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: valid-two
`,
  );
  const r = await env.run(['apply', '-f', f]);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.match(r.stderr, new RegExp(`^error: ${f}:22: Deployment "broken" is invalid: spec\\.template\\.spec\\.containers\\[0\\]\\.ports\\[0\\]\\.containerPort: Invalid value: 70000: .*\\n`));
  // The missing field is not in the document: the document's first line.
  t.match(r.stderr, new RegExp(`\\nerror: ${f}:24: Pod "no-image" is invalid: spec\\.containers\\[0\\]\\.image: Required value\\n$`));
  t.equal(await env.client.tryGet(Kinds.ConfigMap, 'valid-one', 'default'), undefined);
  t.equal(await env.client.tryGet(Kinds.ConfigMap, 'valid-two', 'default'), undefined);
});

t.test('an unknown kind: kubectl\'s mapping error', async (t) => {
  const f = join(CORPUS, 'karpenter/general-purpose.yaml');
  const r = await env.run(['apply', '-f', f]);
  t.equal(r.code, 1);
  t.equal(
    r.stderr,
    `error: resource mapping not found for name: "general-purpose" namespace: "" from "${f}": no matches for kind "NodePool" in version "karpenter.sh/v1"\nensure CRDs are installed first\n` +
      `error: resource mapping not found for name: "default" namespace: "" from "${f}": no matches for kind "EC2NodeClass" in version "karpenter.k8s.aws/v1"\nensure CRDs are installed first\n`,
  );
  const ecs = join(CORPUS, 'aws-ecs-task-defs/nginx_ec2.json');
  const r2 = await env.run(['apply', '-f', ecs]);
  t.equal(r2.stderr, `error: ${ecs}:1: error validating data: [apiVersion not set, kind not set]\n`);
});

t.test('a namespace or a CRD and what lives in it, in one invocation', async (t) => {
  const nsFile = env.file('ns-and-pod.yaml', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: fresh\n---\n${readFileSync(join(CORPUS, 'k8s-website/cpu-request-limit.yaml'), 'utf8').replace('cpu-example', 'fresh')}`);
  let r = await env.run(['apply', '-f', nsFile]);
  t.equal(r.stdout, 'namespace/fresh created\npod/cpu-demo created\n', r.stderr);
  // Once the namespace exists, its documents are dry-run like any other: a broken one stops all.
  writeFileSync(nsFile, readFileSync(nsFile, 'utf8').replace('image: vish/stress', 'image: ""'));
  r = await env.run(['apply', '-f', nsFile]);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.match(r.stderr, /Pod "cpu-demo" is invalid: spec\.containers\[0\]\.image: Required value/);
  const crd = join(CORPUS, 'k8s-website/shirt-resource-definition.yaml');
  const shirts = join(CORPUS, 'k8s-website/shirt-resources.yaml');
  r = await env.run(['apply', '-f', crd, '-f', shirts]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'customresourcedefinition.apiextensions.k8s.io/shirts.stable.example.com created\nshirt.stable.example.com/example1 created\nshirt.stable.example.com/example2 created\nshirt.stable.example.com/example3 created\n');
  r = await env.run(['apply', '-f', crd, '-f', shirts]);
  t.equal(r.stdout, 'customresourcedefinition.apiextensions.k8s.io/shirts.stable.example.com unchanged\nshirt.stable.example.com/example1 unchanged\nshirt.stable.example.com/example2 unchanged\nshirt.stable.example.com/example3 unchanged\n');
  r = await env.run(['get', 'shirts']);
  // The ages come from the real clock and may straddle a second: compare everything else.
  t.equal(r.stdout.replace(/\d+s\n/g, 'AGE\n'), 'NAME       COLOR   SIZE   AGE\nexample1   blue    S      AGE\nexample2   blue    M      AGE\nexample3   green   M      AGE\n');
});

t.test('a write that fails midway stops and says what was and was not applied', async (t) => {
  const f = env.file(
    'midway.yaml',
    'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: midway\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n  namespace: midway\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\n  namespace: midway\nspec:\n  containers:\n  - name: c\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: last\n',
  );
  const r = await env.run(['apply', '-f', f]);
  t.equal(r.code, 1);
  t.equal(r.stdout, 'namespace/midway created\nconfigmap/first created\n');
  t.equal(r.stderr, `Error from server (Invalid): error when applying "${f}": Pod "broken" is invalid: spec.containers[0].image: Required value\napplied 2 of 4 documents from ${f}; not applied: pod/broken, configmap/last\n`);
  t.equal(await env.client.tryGet(Kinds.ConfigMap, 'last', 'default'), undefined);
});

t.test('dry runs write nothing', async (t) => {
  const f = env.file('dry.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dry\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: red\n');
  let r = await env.run(['apply', '-f', f, '--dry-run=server']);
  t.equal(r.stdout, 'configmap/dry created (server dry run)\nconfigmap/settings configured (server dry run)\n', r.stderr);
  r = await env.run(['apply', '-f', f, '--dry-run', 'client']);
  t.equal(r.stdout, 'configmap/dry created (dry run)\nconfigmap/settings configured (dry run)\n');
  t.equal(await env.client.tryGet(Kinds.ConfigMap, 'dry', 'default'), undefined);
  t.same((await env.client.get(Kinds.ConfigMap, 'settings', 'default')).data, { color: 'blue' });
  r = await env.run(['apply', '-f', f, '--dry-run=maybe']);
  t.equal(r.code, 1);
  t.match(r.stderr, /^error: option '--dry-run <strategy>' argument 'maybe' is invalid/);
});

t.test('stdin, namespaces and connection problems', async (t) => {
  let r = await env.run(['apply', '-f', '-'], { stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-stdin\n  namespace: kube-public\n' });
  t.equal(r.stdout, 'configmap/from-stdin created\n');
  r = await env.run(['apply', '-n', 'default', '-f', '-'], { stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: kube-public\n' });
  t.equal(r.stderr, 'error: the namespace from the provided object "kube-public" does not match the namespace "default". You must pass \'--namespace=kube-public\' to perform this operation.\n');
  r = await env.run(['apply', '-f', join(env.dir, 'nope.yaml')]);
  t.equal(r.stderr, `error: the path "${join(env.dir, 'nope.yaml')}" does not exist\n`);
  r = await env.run(['apply']);
  t.equal(r.stderr, 'error: must specify one of -f and -k\n');
  r = await env.run(['apply', '-f', '-'], { stdin: '# nothing here\n' });
  t.equal(r.stderr, 'error: no objects passed to apply\n');

  const closed = join(env.dir, 'closed.kubeconfig');
  writeFileSync(closed, renderKubeconfig('http://127.0.0.1:1'));
  r = await env.run(['--kubeconfig', closed, 'apply', '-f', '-'], { stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n' });
  t.equal(r.code, 1);
  t.match(r.stderr, /^the connection to the server 127\.0\.0\.1:1 was refused - did you specify the right host or port\? \(.*\)\n$/);
  r = await env.run(['--kubeconfig', join(env.dir, 'missing'), 'get', 'pods']);
  t.match(r.stderr, /^error: no kubeconfig at .*missing: start a server with 'berth server'/);
  t.equal(r.stderr.split('\n').length, 2, 'one line');
});
