/**
 * Every kubectl workflow of issue 3 against one built `berth server`, with the chosen kubectl
 * versions (1.27–1.33 are installed as /usr/lib/google-cloud-sdk/bin/kubectl.1.XX), asserting on
 * what kubectl prints and on the objects that result.
 *
 * What differs between kubectl versions runs with every version, each in its own namespace:
 * discovery (aggregated v2beta1 before 1.30, v2 after), OpenAPI v3 use (`explain`, apply's
 * server-side validation), protobuf bodies of the imperative `create`s and `autoscale` (1.32+),
 * client-side and server-side apply, Table output, `scale --current-replicas` (no Content-Type)
 * and `exec` (SPDY before 1.30, WebSocket from 1.30). The other workflows (patch, edit, rollout,
 * logs, drain, delete …) run with every version too, one version after another (drain and
 * cordon change shared Nodes), each in its own namespace.
 *
 * Versions: BERTH_KUBECTL_VERSIONS=all runs all seven, or a comma list (`1.28,1.31`); the
 * default is 1.27, 1.30 and 1.33 (the oldest, the first with WebSocket exec, the newest, which
 * also sends protobuf).
 */
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startServer, waitFor, type Result, type ServerProcess } from './harness.js';

const ALL = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'];
const env = process.env.BERTH_KUBECTL_VERSIONS;
const versions = env === 'all' ? ALL : env ? env.split(',').map((v) => v.trim()) : ['1.27', '1.30', '1.33'];
const bin = (v: string): string => `/usr/lib/google-cloud-sdk/bin/kubectl.${v}`;

const FLEET = `
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: pool}
spec:
  minSize: 2
  maxSize: 4
  desiredCapacity: 2
  launchTemplate: {instanceType: m5.xlarge}
  availabilityZones: [us-east-1a, us-east-1b]
`;

const app = (image: string, replicas: number, env: string, name = 'app'): string => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {group: mx}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: main
        image: ${image}
        resources: {requests: {cpu: 100m, memory: 64Mi}}
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 5}
${env ? `        env: [${env}]\n` : ''}`;
const CONFIG = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  labels: {group: mx}
data: {mode: blue}
`;

/** Each version keeps its own discovery cache (they ask for different discovery media types). */
const cacheDir = (s: ServerProcess, v: string): string => join(s.dataDir, `kubecache-${v}`);

/** Runs kubectl `v` against the server without blocking the event loop (versions run side by side). */
function kubectlAsync(s: ServerProcess, v: string, args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(bin(v), ['--kubeconfig', s.kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, KUBECACHEDIR: cacheDir(s, v), ...(o.env ?? {}) } });
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

const missing = versions.filter((v) => !existsSync(bin(v)));
for (const v of missing) t.fail(`kubectl ${v} is not installed at ${bin(v)}`);
const installed = versions.filter((v) => existsSync(bin(v)));

t.test('kubectl workflows', { skip: installed.length === 0 }, async (t) => {
  const s: ServerProcess = await startServer({ store: 'memory', timeScale: 20 });
  t.teardown(() => s.stop());
  const dir = s.dataDir;
  type Opts = { input?: string; env?: Record<string, string> };
  /**
   * kubectl of version `v`; with `ns`, every command runs in that namespace (`-n` before the
   * subcommand, so it never lands after an `exec … --`). `raw` runs without it.
   */
  const client = (v: string, ns?: string) => {
    const raw = (args: string[], o: Opts = {}): Result => s.kubectl(args, { version: v, ...o, env: { KUBECACHEDIR: cacheDir(s, v), ...(o.env ?? {}) } });
    const k = (args: string[], o: Opts = {}): Result => raw(ns ? ['-n', ns, ...args] : args, o);
    return {
      v,
      ns: ns ?? 'default',
      raw,
      k,
      ok: (tt: Tap, args: string[], o: Opts = {}): string => {
        const r = k(args, o);
        tt.equal(r.code, 0, `kubectl ${v} ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      },
      json: <T>(args: string[]): T => JSON.parse(k([...args, '-o', 'json']).stdout) as T,
      jp: (args: string[], path: string): string => k([...args, '-o', `jsonpath=${path}`]).stdout,
    };
  };
  type Tap = typeof t;
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const newest = client(installed.at(-1)!);
  const running = (selector: string, ns = 'default'): number =>
    newest
      .jp(['get', 'pods', '-n', ns, '-l', selector], '{range .items[*]}{.status.phase}{"\\n"}{end}')
      .split('\n')
      .filter((x) => x === 'Running').length;

  newest.ok(t, ['apply', '-f', file('fleet.yaml', FLEET)]);
  await waitFor(() => newest.jp(['get', 'nodes'], '{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}').split('\n').filter((x) => x === 'True').length === 2, '2 Ready nodes');
  // One pod every version execs into.
  newest.ok(t, ['run', 'shell', '--image=busybox']);
  await waitFor(() => newest.jp(['get', 'pod', 'shell'], '{.status.phase}') === 'Running', 'the shell pod running');

  // -------------------------------------------------------------------------------------------
  // What differs between versions: every version at once, each in its own namespace.
  await t.test('version-dependent workflows: discovery, explain, protobuf create, apply, tables, scale, exec', async (t) => {
    const runs = await Promise.allSettled(installed.map((v) => perVersion(t, v)));
    runs.forEach((r, i) => {
      if (r.status === 'rejected') t.fail(`kubectl ${installed[i]}: ${String(r.reason)}`);
    });
  });

  /** The version-dependent steps with kubectl `v`; assertions carry the version in their names. */
  async function perVersion(t: Tap, v: string): Promise<void> {
    const k = (args: string[], o: Opts = {}): Promise<Result> => kubectlAsync(s, v, args, o);
    const ok = async (args: string[], o: Opts = {}): Promise<string> => {
      const r = await k(args, o);
      t.equal(r.code, 0, `kubectl ${v} ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const ns = `v${v.replace('.', '-')}`;
    const n = ['-n', ns];
    const at = (what: string): string => `kubectl ${v}: ${what}`;
    t.equal((await ok(['create', 'namespace', ns])).trim(), `namespace/${ns} created`, at('create namespace'));
    const res = await ok(['api-resources']);
    t.match(res, /^pods\s+po\s+v1\s+true\s+Pod$/m, at('api-resources: pods'));
    t.match(res, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m, at('api-resources: deployments'));
    t.match(res, /^nodes\s+metrics\.k8s\.io\/v1beta1\s+false\s+NodeMetrics$/m, at('api-resources: metrics'));
    const ex = await ok(['explain', 'deployment.spec.strategy']);
    t.match(ex, /KIND:\s+Deployment[\s\S]*rollingUpdate\s+<RollingUpdateDeployment>/, at('explain: kind and fields'));
    t.match(ex, /Type of deployment\. Can be "Recreate" or "RollingUpdate"/, at('explain: descriptions'));

    // Imperative creates: protobuf bodies from 1.32.
    t.equal((await ok(['create', 'configmap', 'cm', ...n, '--from-literal=a=1', '--from-literal=b=two'])).trim(), 'configmap/cm created', at('create configmap'));
    t.equal((await ok(['create', 'secret', 'generic', 'sec', ...n, '--from-literal=p=q'])).trim(), 'secret/sec created', at('create secret'));
    t.equal((await ok(['create', 'deployment', 'web', ...n, '--image=nginx:1.27', '--replicas=2', '--port=80'])).trim(), 'deployment.apps/web created', at('create deployment'));
    t.equal((await ok(['create', 'service', 'clusterip', 'web', ...n, '--tcp=80:8080'])).trim(), 'service/web created', at('create service'));
    // autoscale needs the HorizontalPodAutoscaler kind (autoscaling/v2 and v1).
    t.equal((await ok(['autoscale', 'deployment', 'web', ...n, '--min=2', '--max=5', '--cpu-percent=70'])).trim(), 'horizontalpodautoscaler.autoscaling/web autoscaled', at('autoscale'));
    t.match((await k(['create', 'configmap', 'cm', ...n])).stderr, /configmaps "cm" already exists/, at('AlreadyExists'));
    const created = JSON.parse(await ok(['get', 'configmap/cm', 'secret/sec', 'deployment/web', 'service/web', 'hpa/web', ...n, '-o', 'json'])) as { items: { kind: string; data?: object; spec?: Record<string, unknown> }[] };
    const item = (kind: string) => created.items.find((i) => i.kind === kind);
    t.same(item('ConfigMap')?.data, { a: '1', b: 'two' }, at('configmap data'));
    t.same(item('Secret')?.data, { p: Buffer.from('q').toString('base64') }, at('secret data'));
    const web = item('Deployment')?.spec as { replicas: number; template: { spec: { containers: { ports: object[]; imagePullPolicy: string }[] } } } | undefined;
    t.equal(web?.replicas, 2, at('deployment replicas'));
    t.same(web?.template.spec.containers[0]!.ports, [{ containerPort: 80, protocol: 'TCP' }], at('deployment ports'));
    t.equal(web?.template.spec.containers[0]!.imagePullPolicy, 'IfNotPresent', at('defaulted, not an empty protobuf string'));
    const svc = item('Service')?.spec as { ports: { port: number; targetPort: number }[]; selector: { app: string } } | undefined;
    t.same([svc?.ports[0]?.port, svc?.ports[0]?.targetPort, svc?.selector.app], [80, 8080, 'web'], at('service'));
    const hpa = item('HorizontalPodAutoscaler')?.spec as { minReplicas: number; maxReplicas: number; scaleTargetRef: { name: string } } | undefined;
    t.same([hpa?.minReplicas, hpa?.maxReplicas, hpa?.scaleTargetRef.name], [2, 5, 'web'], at('hpa'));

    // Client-side apply: Strict validation by the server (a probe's httpGet is a known field).
    const f1 = file(`${ns}-app1.yaml`, app('nginx:1.27', 2, '{name: A, value: "1"}, {name: B, value: "2"}'));
    t.match(await ok(['apply', ...n, '-f', f1]), /deployment\.apps\/app created/, at('apply creates'));
    t.match(await ok(['apply', ...n, '-f', f1]), /deployment\.apps\/app unchanged/, at('apply unchanged'));
    t.match(await ok(['apply', ...n, '-f', file(`${ns}-app2.yaml`, app('nginx:1.28', 2, '{name: A, value: "1"}'))]), /deployment\.apps\/app configured/, at('apply configures'));
    const unknown = await k(['apply', ...n, '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: strict}\nspec: {foo: 1}\n' });
    t.match(unknown.stderr, /strict decoding error: unknown field "spec"/, at('unknown field'));
    const typed = await k(['apply', ...n, '-f', '-'], { input: app('nginx', 1, '', 'typed').replace('replicas: 1', 'replicas: three') });
    t.match(typed.stderr, /Error from server \(BadRequest\): error when creating "STDIN": Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec\.spec\.replicas of type int32/, at('wrong type'));
    const moved = await k(['apply', ...n, '-f', file(`${ns}-moved.yaml`, app('nginx:1.28', 2, '{name: A, value: "1"}').replace(/app: app/g, 'app: moved'))]);
    t.match(moved.stderr, /The Deployment "app" is invalid: spec\.selector: Invalid value: v1\.LabelSelector\{MatchLabels:map\[string\]string\{"app":"moved"\}, MatchExpressions:\[\]v1\.LabelSelectorRequirement\(nil\)\}: field is immutable/, at('immutable selector'));
    // create -f: a POST with fieldManager=kubectl-create and Strict validation.
    t.equal((await ok(['create', ...n, '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: made}\ndata: {k: v}\n' })).trim(), 'configmap/made created', at('create -f'));
    t.match((await k(['create', ...n, '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: made2}\nspec: {foo: 1}\n' })).stderr, /strict decoding error: unknown field "spec"/, at('create -f: unknown field'));
    // Server-side apply creates a missing object.
    t.match(await ok(['apply', ...n, '--server-side', '-f', file(`${ns}-ssa.yaml`, app('nginx:1.27', 1, '', 'ssa'))]), /deployment\.apps\/ssa serverside-applied/, at('server-side apply'));
    const deploys = JSON.parse(await ok(['get', 'deploy', ...n, '--show-managed-fields', '-o', 'json'])) as { items: { metadata: { name: string; managedFields: { manager: string; operation: string }[] }; spec: { template: { spec: { containers: { image: string; env?: { name: string }[]; readinessProbe?: { httpGet?: { port: number } } }[] } } } }[] };
    const byName = (name: string) => deploys.items.find((d) => d.metadata.name === name);
    const c = byName('app')?.spec.template.spec.containers[0];
    t.same([c?.image, c?.env?.map((e) => e.name), c?.readinessProbe?.httpGet?.port], ['nginx:1.28', ['A'], 80], at('the applied deployment'));
    t.notOk(byName('typed'), at('nothing stored for the wrongly typed one'));
    t.equal(byName('ssa')?.metadata.managedFields.find((m) => m.operation === 'Apply')?.manager, 'kubectl', at('applier'));

    // Tables, and scale with --current-replicas (a PUT of the Scale without Content-Type).
    // The Table's columns (the rollout's progress is not waited for here: the groups below do).
    t.match(await ok(['get', 'deploy', ...n]), /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n(.*\n)*app\s+\d\/2\s+\d\s+\d\s+\S+$/m, at('deployment table'));
    t.match((await ok(['get', 'pods', ...n, '-o', 'wide'])).split('\n')[0]!, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/, at('wide columns'));
    t.match(await ok(['scale', 'deploy', 'app', ...n, '--current-replicas=2', '--replicas=1']), /deployment\.apps\/app scaled/, at('scale --current-replicas'));
    t.match((await k(['scale', 'deploy', 'app', ...n, '--current-replicas=7', '--replicas=1'])).stderr, /[Ee]xpected replicas to be 7, was 1/, at('scale precondition'));

    // exec: WebSocket (1.30+) or SPDY (1.27–1.29) into the simulated shell.
    t.equal(await ok(['exec', 'shell', '--', 'echo', 'hi']), 'hi\n', at('exec'));
    const failed = await k(['exec', 'shell', '--', 'sh', '-c', 'echo out; echo err; exit 3']);
    t.equal(failed.code, 3, at(`exec exit code: ${failed.stderr}`));
    t.match(failed.stdout, /out\nerr/, at('exec output'));
    t.match(failed.stderr, /command terminated with exit code 3/, at('exec status'));
    t.equal(await ok(['exec', '-i', 'shell', '--', 'sh'], { input: 'echo $HOSTNAME\n' }), 'shell\n', at('exec -i'));
    await ok(['delete', 'namespace', ns, '--wait=false']);
  }

  // -------------------------------------------------------------------------------------------
  // The workflows that send the same requests from every version: each version in turn, in its
  // own namespace, every group.
  for (const version of installed) {
    await t.test(`kubectl ${version}: apply, patch, rollout, get, logs, drain, delete`, async (t) => {
      const ns = `flow-${version.replace('.', '-')}`;
      const c = client(version, ns);
      c.ok(t, ['create', 'namespace', ns]);
      await flows(t, c);
    });
  }

  /** Every version-independent workflow group with the client `c` (in its namespace), in order: each builds on the one before. */
  async function flows(t: Tap, c: ReturnType<typeof client>): Promise<void> {
    const next = () => c;
    const ns = c.ns;

    await t.test('auth and config', async (t) => {
      const { raw, ok, v } = next();
      const k = raw;
      t.comment(`kubectl ${v}`);
      t.equal(ok(t, ['auth', 'can-i', 'create', 'deployments']).trim(), 'yes');
      t.match(ok(t, ['auth', 'can-i', '--list']), /\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/);
      const vers = ok(t, ['api-versions']);
      for (const gv of ['apps/v1', 'v1', 'policy/v1', 'metrics.k8s.io/v1beta1', 'autoscaling.berth.dev/v1']) t.match(vers, new RegExp(`^${gv.replace(/[./]/g, '\\$&')}$`, 'm'));
      // config flows on a copy of the kubeconfig
      const kc = join(dir, `kubeconfig-${ns}`);
      copyFileSync(s.kubeconfig, kc);
      const kk = (args: string[]): Result => k(['--kubeconfig', kc, ...args]);
      t.equal(kk(['config', 'current-context']).stdout.trim(), 'berth');
      t.match(kk(['config', 'get-contexts']).stdout, /^\*\s+berth\s+berth\s+/m);
      t.match(kk(['config', 'view', '--minify']).stdout, /server: http:\/\/127\.0\.0\.1:\d+/);
      t.equal(kk(['create', 'namespace', `cfg-${ns}`]).code, 0);
      t.equal(kk(['config', 'set-context', '--current', `--namespace=cfg-${ns}`]).code, 0);
      t.equal(kk(['create', 'configmap', 'here']).code, 0);
      t.equal(k(['get', 'configmap', 'here', '-n', `cfg-${ns}`, '-o', 'name']).stdout.trim(), 'configmap/here', 'the context\'s namespace');
    });

    await t.test('apply --prune, diff, replace, server-side apply conflicts', async (t) => {
      const { k, ok, json, jp, v } = next();
      t.comment(`kubectl ${v}`);
      const f1 = file('app1.yaml', `${app('nginx:1.27', 2, '{name: A, value: "1"}, {name: B, value: "2"}')}---${CONFIG}`);
      t.match(ok(t, ['apply', '-f', f1]), /deployment\.apps\/app created\nconfigmap\/app-config created/);
      // Removing env B and changing the image: the last-applied annotation drives the removal.
      const f2 = file('app2.yaml', app('nginx:1.28', 2, '{name: A, value: "1"}'));
      t.match(ok(t, ['apply', '-f', f2, '--prune', '-l', 'group=mx']), /deployment\.apps\/app configured/);
      const d = json<{ spec: { template: { spec: { containers: { image: string; env: { name: string }[] }[] } } } }>(['get', 'deploy', 'app']);
      t.equal(d.spec.template.spec.containers[0]!.image, 'nginx:1.28');
      t.same(d.spec.template.spec.containers[0]!.env.map((e) => e.name), ['A']);
      t.equal(k(['get', 'cm', 'app-config']).code, 1, 'the configmap left out of the file was pruned');

      // diff: exit 1 and a unified diff when something would change (through dry-run patches).
      const f3 = file('app3.yaml', app('nginx:1.28', 3, '{name: A, value: "1"}'));
      const diff = k(['diff', '-f', f3]);
      t.equal(diff.code, 1, diff.stderr);
      t.match(diff.stdout, /^-\s+replicas: 2$/m);
      t.match(diff.stdout, /^\+\s+replicas: 3$/m);
      t.equal(k(['diff', '-f', f2]).code, 0, 'no difference');
      t.match(ok(t, ['replace', '-f', f3]), /deployment\.apps\/app replaced/);
      t.equal(jp(['get', 'deploy', 'app'], '{.spec.replicas}'), '3');

      // server-side apply: managed fields, conflicts, --force-conflicts
      const ssa = (replicas: number, env = '{name: S, value: "x"}'): string => file(`ssa${replicas}${env ? '' : '-noenv'}.yaml`, app('nginx:1.27', replicas, env, 'ssa'));
      t.match(ok(t, ['apply', '--server-side', '-f', ssa(2)]), /deployment\.apps\/ssa serverside-applied/);
      const mf = json<{ metadata: { managedFields: { manager: string; operation: string; fieldsV1: { 'f:spec'?: { 'f:replicas'?: object } } }[] } }>(['get', 'deploy', 'ssa', '--show-managed-fields']);
      t.ok(mf.metadata.managedFields.find((m) => m.operation === 'Apply')?.fieldsV1['f:spec']?.['f:replicas'], 'the applier owns spec.replicas');
      t.match(ok(t, ['scale', 'deploy', 'ssa', '--replicas=4']), /deployment\.apps\/ssa scaled/);
      const clash = k(['apply', '--server-side', '-f', ssa(3)]);
      t.not(clash.code, 0);
      t.match(clash.stderr, /Apply failed with 1 conflict: conflict with "kubectl[^"]*" with subresource "scale" using apps\/v1: \.spec\.replicas/);
      t.match(clash.stderr, /--force-conflicts/);
      t.match(ok(t, ['apply', '--server-side', '--force-conflicts', '-f', ssa(3)]), /serverside-applied/);
      t.equal(jp(['get', 'deploy', 'ssa'], '{.spec.replicas}'), '3');
      // Dropping a field from the applied configuration removes it (no one else owns it).
      t.match(ok(t, ['apply', '--server-side', '-f', ssa(3, '')]), /serverside-applied/);
      t.equal(jp(['get', 'deploy', 'ssa'], '{.spec.template.spec.containers[0].env}'), '');
      ok(t, ['delete', 'deploy', 'ssa', '--wait=false']);
      // Server-side apply over a client-side applied object keeps its last-applied annotation current.
      const csa = (mode: string): string => file(`csa-${mode}.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: csa}\ndata: {mode: ${mode}}\n`);
      ok(t, ['apply', '-f', csa('one')]);
      t.match(ok(t, ['apply', '--server-side', '--force-conflicts', '-f', csa('two')]), /configmap\/csa serverside-applied/);
      t.equal(jp(['get', 'cm', 'csa'], '{.data.mode}'), 'two');
      const cm = json<{ metadata: { annotations: Record<string, string>; managedFields: { manager: string; operation: string }[] } }>(['get', 'cm', 'csa', '--show-managed-fields']);
      // kubectl keeps the annotation (as manager kubectl-last-applied) and moves the client-side
      // apply's fields to its own manager.
      t.match(cm.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], /"kind":"ConfigMap"/);
      const managers = cm.metadata.managedFields.map((m) => `${m.manager}/${m.operation}`);
      t.ok(managers.includes('kubectl/Apply') && managers.includes('kubectl-last-applied/Apply'), managers.join(' '));
      t.notOk(managers.includes('kubectl-client-side-apply/Update'), 'client-side apply ownership migrated');
    });

    await t.test('patch, edit, label, annotate, set', async (t) => {
      const { k, ok, jp, v } = next();
      t.comment(`kubectl ${v}`);
      t.match(ok(t, ['patch', 'deploy', 'app', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"nginx:1.29"}]}}}}']), /deployment\.apps\/app patched/);
      ok(t, ['patch', 'deploy', 'app', '--type=merge', '-p', '{"metadata":{"labels":{"merged":"yes"}}}']);
      ok(t, ['patch', 'deploy', 'app', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":2}]']);
      t.equal(jp(['get', 'deploy', 'app'], '{.spec.template.spec.containers[0].image} {.metadata.labels.merged} {.spec.replicas}'), 'nginx:1.29 yes 2');
      const editor = file('editor.sh', '#!/bin/sh\nsed -i -e "s/mode: blue/mode: green/" "$1"\n');
      chmodSync(editor, 0o755);
      ok(t, ['create', 'configmap', 'ed', '--from-literal=mode=blue']);
      t.match(ok(t, ['edit', 'configmap', 'ed'], { env: { EDITOR: editor, KUBE_EDITOR: editor } }), /configmap\/ed edited/);
      t.equal(jp(['get', 'cm', 'ed'], '{.data.mode}'), 'green');
      t.match(ok(t, ['label', 'deploy', 'app', 'tier=front']), /deployment\.apps\/app labeled/);
      t.match(k(['label', 'deploy', 'app', 'tier=back']).stderr, /already has a value \(front\), and --overwrite is false/);
      ok(t, ['label', 'deploy', 'app', 'tier-']);
      // kubectl 1.27 prints "annotate" here, 1.29 leaves out the newline: both are kubectl's own text.
      t.match(ok(t, ['annotate', 'deploy', 'app', 'owner=team-a']), /^deployment\.apps\/app annotated?\n?$/);
      t.equal(jp(['get', 'deploy', 'app'], '{.metadata.labels.tier}/{.metadata.annotations.owner}'), '/team-a');
      t.match(ok(t, ['set', 'image', 'deploy/app', 'main=nginx:1.30']), /deployment\.apps\/app image updated/);
      t.match(ok(t, ['set', 'resources', 'deploy/app', '--limits=cpu=500m,memory=128Mi']), /deployment\.apps\/app resource requirements updated/);
      t.equal(jp(['get', 'deploy', 'app'], '{.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].resources.limits.cpu}'), 'nginx:1.30 500m');
      const bad = k(['patch', 'deploy', 'app', '--type=merge', '-p', '{"spec":{"replicas":-1}}']);
      t.match(bad.stderr, /The Deployment "app" is invalid: spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
    });

    await t.test('rollout status, history, undo, restart, pause, resume; scale; wait', async (t) => {
      const { k, ok, jp, v } = next();
      t.comment(`kubectl ${v}`);
      t.match(ok(t, ['rollout', 'status', 'deploy/app', '--timeout=90s']), /deployment "app" successfully rolled out/);
      const hist = ok(t, ['rollout', 'history', 'deploy/app']);
      t.match(hist, /REVISION\s+CHANGE-CAUSE/);
      t.ok(hist.trim().split('\n').length >= 4, `several revisions:\n${hist}`);
      // The revision before `set resources` had the same image and no limits.
      t.match(ok(t, ['rollout', 'undo', 'deploy/app']), /deployment\.apps\/app rolled back/);
      t.equal(jp(['get', 'deploy', 'app'], '{.spec.template.spec.containers[0].image}:{.spec.template.spec.containers[0].resources.limits}'), 'nginx:1.30:');
      t.match(ok(t, ['rollout', 'undo', 'deploy/app', '--to-revision=1']), /deployment\.apps\/app rolled back/);
      t.equal(jp(['get', 'deploy', 'app'], '{.spec.template.spec.containers[0].image}'), 'nginx:1.27');
      t.match(ok(t, ['rollout', 'restart', 'deploy/app']), /deployment\.apps\/app restarted/);
      t.match(ok(t, ['rollout', 'pause', 'deploy/app']), /deployment\.apps\/app paused/);
      t.match(jp(['get', 'deploy', 'app'], '{.spec.paused} {.spec.template.metadata.annotations}'), /^true .*kubectl\.kubernetes\.io\/restartedAt/);
      t.match(ok(t, ['rollout', 'resume', 'deploy/app']), /deployment\.apps\/app resumed/);
      t.match(ok(t, ['scale', 'deploy', 'app', '--replicas=2']), /deployment\.apps\/app scaled/);
      t.match(ok(t, ['wait', '--for=condition=Available', 'deploy/app', '--timeout=90s']), /deployment\.apps\/app condition met/);
      t.match(ok(t, ['wait', '--for=jsonpath={.spec.replicas}=2', 'deploy/app', '--timeout=30s']), /deployment\.apps\/app condition met/);
      t.equal(k(['rollout', 'status', 'deploy/app', '--timeout=90s']).code, 0);
    });

    await t.test('get: outputs, selectors, all, watch', async (t) => {
      const { ok, v } = next();
      t.comment(`kubectl ${v}`);
      await waitFor(() => running('app=app', ns) === 2, '2 running app pods', 90_000);
      t.match(ok(t, ['get', 'pods', '-A', '--show-labels']), new RegExp(`^${ns}\\s+app-\\S+\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+app=app,pod-template-hash=`, 'm'));
      const names = ok(t, ['get', 'cm', '-A', '--sort-by=.metadata.name', '-o', 'custom-columns=NAME:.metadata.name,NS:.metadata.namespace', '--no-headers']).trim().split('\n').map((l) => l.split(/\s+/)[0]!);
      t.same(names, [...names].sort(), 'sorted by name');
      t.equal(ok(t, ['get', 'pods', '-l', 'app=app', '--field-selector=status.phase=Running', '-o', 'name']).trim().split('\n').length, 2);
      t.match(ok(t, ['get', 'all']), /deployment\.apps\/app/);
      t.match(ok(t, ['get', 'deploy', 'app', '-o', 'yaml']), /kind: Deployment/);
      t.equal(ok(t, ['get', 'deploy', '-o', 'name', '-l', 'group=mx']).trim(), 'deployment.apps/app');
      // get -w: one header, one row per event, no bookmark noise
      const w = spawn(bin(v), ['--kubeconfig', s.kubeconfig, '-n', ns, 'get', 'configmaps', '-w'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECACHEDIR: cacheDir(s, v) } });
      let out = '';
      w.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('NAME'), 'the watch header');
      ok(t, ['create', 'configmap', 'watched']);
      await waitFor(() => /^watched\s+0\s+/m.test(out), 'the new configmap in the watch');
      w.kill();
      t.equal(out.match(/^NAME\s+DATA\s+AGE/gm)?.length, 1, out);
      t.notMatch(out, /BOOKMARK|resourceVersion/);
    });

    await t.test('describe, logs', async (t) => {
      const { k, ok, jp, v } = next();
      t.comment(`kubectl ${v}`);
      const pod = jp(['get', 'pods', '-l', 'app=app'], '{.items[0].metadata.name}');
      const d = ok(t, ['describe', 'pod', pod]);
      t.match(d, /Status:\s+Running/);
      t.match(d, new RegExp(`Normal\\s+Scheduled\\s+.*default-scheduler\\s+Successfully assigned ${ns}/`));
      t.match(ok(t, ['describe', 'deploy', 'app']), /ScalingReplicaSet/);
      // A program that prints and exits, then restarts: logs, --tail, -c, --previous, -f.
      ok(t, ['apply', '-f', file('talker.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: talker\n  annotations: {sim.berth.dev/log-lines: "one\\ntwo\\nthree", sim.berth.dev/run-seconds: "20"}\nspec:\n  containers: [{name: a, image: busybox}, {name: b, image: busybox}]\n')]);
      await waitFor(() => k(['logs', 'talker', '-c', 'a']).stdout.includes('three'), 'talker logs');
      t.match(ok(t, ['logs', 'talker', '-c', 'a']), /one\ntwo\nthree/);
      const last = ok(t, ['logs', 'talker', '-c', 'b', '--tail=1']).trim();
      t.equal(last.split('\n').length, 1, last);
      t.match(k(['logs', 'talker']).stderr, /a container name must be specified for pod talker, choose one of: \[a b\]|Defaulted container "a"/);
      await waitFor(() => Number(jp(['get', 'pod', 'talker'], '{.status.containerStatuses[0].restartCount}')) >= 1, 'a restart', 90_000);
      t.match(ok(t, ['logs', 'talker', '-c', 'a', '--previous']), /three/);
      const follow = spawn(bin(v), ['--kubeconfig', s.kubeconfig, '-n', ns, 'logs', '-f', 'talker', '-c', 'a'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECACHEDIR: cacheDir(s, v) } });
      let fo = '';
      follow.stdout.on('data', (x: Buffer) => (fo += x.toString()));
      await waitFor(() => fo.includes('three'), 'followed logs');
      follow.kill();
      t.equal(k(['logs', 'deploy/app']).code, 0);
      const missing = k(['exec', pod, '--', 'nope']);
      t.equal(missing.code, 127);
    });

    await t.test('nodes: cordon, taint, top, drain with a PodDisruptionBudget', async (t) => {
      const { k, ok, jp, v } = next();
      t.comment(`kubectl ${v}`);
      const node = jp(['get', 'pods', '-l', 'app=app'], '{.items[0].spec.nodeName}');
      t.match(ok(t, ['cordon', node]), new RegExp(`node/${node} cordoned`));
      t.match(ok(t, ['get', 'node', node]), /Ready,SchedulingDisabled/);
      t.match(ok(t, ['uncordon', node]), new RegExp(`node/${node} uncordoned`));
      t.match(ok(t, ['taint', 'nodes', node, 'dedicated=x:NoSchedule']), new RegExp(`node/${node} tainted`));
      t.equal(jp(['get', 'node', node], '{.spec.taints[0].key}={.spec.taints[0].value}:{.spec.taints[0].effect}'), 'dedicated=x:NoSchedule');
      t.match(ok(t, ['taint', 'nodes', node, 'dedicated:NoSchedule-']), new RegExp(`node/${node} untainted`));
      t.match(ok(t, ['top', 'nodes']), new RegExp(`^${node.replace(/\./g, '\\.')}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`, 'm'));
      t.match(ok(t, ['top', 'pods', '-l', 'app=app']), /^app-\S+\s+100m\s+64Mi/m);
      ok(t, ['create', 'pdb', 'app', '--selector=app=app', '--min-available=2']);
      await waitFor(() => jp(['get', 'pdb', 'app'], '{.status.observedGeneration}') === '1', 'the budget observed');
      // With 2 of 2 required, drain cannot evict: the Eviction API answers 429.
      const blocked = k(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--pod-selector=app=app', '--timeout=3s']);
      t.not(blocked.code, 0);
      t.match(blocked.stderr, /Cannot evict pod as it would violate the pod's disruption budget|global timeout reached/);
      ok(t, ['patch', 'pdb', 'app', '--type=merge', '-p', '{"spec":{"minAvailable":1}}']);
      const drained = k(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=90s']);
      t.equal(drained.code, 0, drained.stderr);
      t.match(drained.stdout, new RegExp(`node/${node} drained`));
      t.match(drained.stdout, /evicted/);
      t.equal(jp(['get', 'pods', '-l', 'app=app', `--field-selector=spec.nodeName=${node}`], '{.items[*].metadata.name}'), '');
      ok(t, ['uncordon', node]);
    });

    await t.test('delete: cascading policies, --wait, --grace-period, wait --for=delete', async (t) => {
      const { k, ok, jp, v } = next();
      t.comment(`kubectl ${v}`);
      const rsOf = (): string => jp(['get', 'rs', '-l', 'app=app'], '{.items[*].metadata.name}');
      const before = rsOf();
      t.ok(before);
      t.match(ok(t, ['delete', 'deploy', 'app', '--cascade=orphan']), /deployment\.apps "app" deleted/);
      await waitFor(() => jp(['get', 'rs', '-l', 'app=app'], '{.items[*].metadata.ownerReferences}') === '', 'orphaned ReplicaSets');
      t.equal(rsOf(), before, 'the ReplicaSets stay');
      t.match(ok(t, ['delete', 'rs', '-l', 'app=app', '--cascade=foreground', '--wait=true', '--timeout=90s']), /replicaset\.apps "app-\S+" deleted/);
      t.equal(rsOf(), '');
      t.equal(jp(['get', 'pods', '-l', 'app=app'], '{.items[*].metadata.name}'), '', 'foreground deletion waited for the pods');
      for (const p of ['s1', 's2', 's3']) ok(t, ['run', p, '--image=busybox']);
      await waitFor(() => jp(['get', 'pods'], '{range .items[?(@.status.phase=="Running")]}{.metadata.name}{"\\n"}{end}').split('\n').filter((p) => /^s[123]$/.test(p)).length === 3, 'the pods running');
      t.match(ok(t, ['delete', 'pod', 's1', '--grace-period=30']), /pod "s1" deleted/);
      t.match(k(['get', 'pod', 's1']).stderr, /Error from server \(NotFound\): pods "s1" not found/);
      ok(t, ['delete', 'pod', 's2', '--wait=false']);
      ok(t, ['wait', '--for=delete', 'pod/s2', '--timeout=60s']);
      t.equal(k(['get', 'pod', 's2']).code, 1);
      const forced = k(['delete', 'pod', 's3', '--grace-period=0', '--force']);
      t.match(forced.stderr, /Immediate deletion does not wait for confirmation/);
      t.match(forced.stdout, /pod "s3" force deleted/);
      t.equal(k(['get', 'pod', 's3']).code, 1);
    });
  }
});
