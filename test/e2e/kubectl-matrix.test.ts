/**
 * Every kubectl workflow of issue 3, with each chosen kubectl version (1.27–1.33 are installed
 * as /usr/lib/google-cloud-sdk/bin/kubectl.1.XX): one built `berth server` per version, the
 * workflows grouped, asserting on what kubectl prints and on the objects that result.
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
${env ? `        env: [${env}]\n` : ''}`;
const CONFIG = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  labels: {group: mx}
data: {mode: blue}
`;

for (const v of versions) {
  if (!existsSync(bin(v))) {
    t.fail(`kubectl ${v} is not installed at ${bin(v)}`);
    continue;
  }
  t.test(`kubectl ${v}`, async (t) => {
    const s: ServerProcess = await startServer({ store: 'memory', timeScale: 20 });
    t.teardown(() => s.stop());
    const dir = s.dataDir;
    const k = (args: string[], o: { input?: string; env?: Record<string, string> } = {}): Result => s.kubectl(args, { version: v, ...o });
    const ok = (tt: typeof t, args: string[], o: { input?: string; env?: Record<string, string> } = {}): string => {
      const r = k(args, o);
      tt.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const json = <T>(args: string[]): T => JSON.parse(k([...args, '-o', 'json']).stdout) as T;
    const jp = (args: string[], path: string): string => k([...args, '-o', `jsonpath=${path}`]).stdout;
    const file = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const running = (selector: string, ns = 'default'): number =>
      jp(['get', 'pods', '-n', ns, '-l', selector], '{range .items[*]}{.status.phase}{"\\n"}{end}')
        .split('\n')
        .filter((x) => x === 'Running').length;

    ok(t, ['apply', '-f', file('fleet.yaml', FLEET)]);
    await waitFor(() => jp(['get', 'nodes'], '{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}').split('\n').filter((x) => x === 'True').length === 2, '2 Ready nodes');

    await t.test('discovery, explain, auth and config', async (t) => {
      t.match(ok(t, ['version', '-o', 'json']), /"minor": "32"/);
      const res = ok(t, ['api-resources']);
      t.match(res, /^pods\s+po\s+v1\s+true\s+Pod$/m);
      t.match(res, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
      t.match(res, /^nodes\s+metrics\.k8s\.io\/v1beta1\s+false\s+NodeMetrics$/m);
      const vers = ok(t, ['api-versions']);
      for (const gv of ['apps/v1', 'v1', 'policy/v1', 'metrics.k8s.io/v1beta1', 'autoscaling.berth.dev/v1']) t.match(vers, new RegExp(`^${gv.replace(/[./]/g, '\\$&')}$`, 'm'));
      const ex = ok(t, ['explain', 'deployment.spec.strategy']);
      t.match(ex, /KIND:\s+Deployment/);
      t.match(ex, /VERSION:\s+v1/);
      t.match(ex, /rollingUpdate\s+<RollingUpdateDeployment>/);
      t.match(ex, /Type of deployment\. Can be "Recreate" or "RollingUpdate"/);
      t.match(ok(t, ['explain', 'pods.spec.containers.ports']), /containerPort\s+<integer> -required-/);
      t.equal(ok(t, ['auth', 'can-i', 'create', 'deployments']).trim(), 'yes');
      t.match(ok(t, ['auth', 'can-i', '--list']), /\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/);
      // config flows on a copy of the kubeconfig
      const kc = join(dir, 'kubeconfig-copy');
      copyFileSync(s.kubeconfig, kc);
      const kk = (args: string[]): Result => k(['--kubeconfig', kc, ...args]);
      t.equal(kk(['config', 'current-context']).stdout.trim(), 'berth');
      t.match(kk(['config', 'get-contexts']).stdout, /^\*\s+berth\s+berth\s+/m);
      t.match(kk(['config', 'view', '--minify']).stdout, /server: http:\/\/127\.0\.0\.1:\d+/);
      t.equal(kk(['create', 'namespace', 'cfg']).code, 0);
      t.equal(kk(['config', 'set-context', '--current', '--namespace=cfg']).code, 0);
      t.equal(kk(['create', 'configmap', 'here']).code, 0);
      t.equal(k(['get', 'configmap', 'here', '-n', 'cfg', '-o', 'name']).stdout.trim(), 'configmap/here');
    });

    await t.test('imperative create (protobuf from 1.32) and autoscale', async (t) => {
      t.equal(ok(t, ['create', 'namespace', 'mx']).trim(), 'namespace/mx created');
      t.equal(ok(t, ['create', 'configmap', 'cm', '-n', 'mx', '--from-literal=a=1', '--from-literal=b=two']).trim(), 'configmap/cm created');
      t.same(json<{ data: object }>(['get', 'cm', 'cm', '-n', 'mx']).data, { a: '1', b: 'two' });
      t.equal(ok(t, ['create', 'secret', 'generic', 'sec', '-n', 'mx', '--from-literal=p=q']).trim(), 'secret/sec created');
      t.same(json<{ data: object; type: string }>(['get', 'secret', 'sec', '-n', 'mx']).data, { p: Buffer.from('q').toString('base64') });
      t.equal(ok(t, ['create', 'deployment', 'web', '-n', 'mx', '--image=nginx:1.27', '--replicas=2', '--port=80']).trim(), 'deployment.apps/web created');
      const d = json<{ spec: { replicas: number; template: { spec: { containers: { image: string; ports: { containerPort: number; protocol: string }[]; imagePullPolicy: string }[] } } } }>(['get', 'deploy', 'web', '-n', 'mx']);
      t.equal(d.spec.replicas, 2);
      t.same(d.spec.template.spec.containers[0]!.ports, [{ containerPort: 80, protocol: 'TCP' }]);
      t.equal(d.spec.template.spec.containers[0]!.imagePullPolicy, 'IfNotPresent', 'defaulted, not an empty protobuf string');
      t.equal(ok(t, ['create', 'service', 'clusterip', 'web', '-n', 'mx', '--tcp=80:8080']).trim(), 'service/web created');
      t.equal(jp(['get', 'svc', 'web', '-n', 'mx'], '{.spec.ports[0].port}/{.spec.ports[0].targetPort}/{.spec.selector.app}'), '80/8080/web');
      t.equal(ok(t, ['create', 'service', 'nodeport', 'np', '-n', 'mx', '--tcp=80:8080', '--node-port=30080']).trim(), 'service/np created');
      t.equal(jp(['get', 'svc', 'np', '-n', 'mx'], '{.spec.type} {.spec.ports[0].nodePort}'), 'NodePort 30080');
      t.equal(ok(t, ['autoscale', 'deployment', 'web', '-n', 'mx', '--min=2', '--max=5', '--cpu-percent=70']).trim(), 'horizontalpodautoscaler.autoscaling/web autoscaled');
      t.equal(jp(['get', 'hpa', 'web', '-n', 'mx'], '{.spec.minReplicas} {.spec.maxReplicas} {.spec.scaleTargetRef.name}'), '2 5 web');
      const dup = k(['create', 'configmap', 'cm', '-n', 'mx']);
      t.match(dup.stderr, /configmaps "cm" already exists/);
    });

    await t.test('apply (client-side, prune, server-side, conflicts), diff and replace', async (t) => {
      const f1 = file('app1.yaml', `${app('nginx:1.27', 2, '{name: A, value: "1"}, {name: B, value: "2"}')}---${CONFIG}`);
      t.match(ok(t, ['apply', '-f', f1]), /deployment\.apps\/app created\nconfigmap\/app-config created/);
      t.match(ok(t, ['apply', '-f', f1]), /deployment\.apps\/app unchanged/);
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
      t.equal(jp(['get', 'deploy', 'app'], '{.spec.replicas}'), '2', 'diff changed nothing');

      // replace
      t.match(ok(t, ['replace', '-f', f3]), /deployment\.apps\/app replaced/);
      t.equal(jp(['get', 'deploy', 'app'], '{.spec.replicas}'), '3');

      // server-side apply: creation, managed fields, conflicts, --force-conflicts
      const ssa = (replicas: number): string => file(`ssa${replicas}.yaml`, app('nginx:1.27', replicas, '{name: S, value: "x"}', 'ssa'));
      t.match(ok(t, ['apply', '--server-side', '-f', ssa(2)]), /deployment\.apps\/ssa serverside-applied/);
      const mf = json<{ metadata: { managedFields: { manager: string; operation: string; fieldsV1: { 'f:spec'?: { 'f:replicas'?: object } } }[] } }>(['get', 'deploy', 'ssa', '--show-managed-fields']);
      const mine = mf.metadata.managedFields.find((m) => m.operation === 'Apply');
      t.equal(mine?.manager, 'kubectl');
      t.ok(mine?.fieldsV1['f:spec']?.['f:replicas'], 'the applier owns spec.replicas');
      t.match(ok(t, ['scale', 'deploy', 'ssa', '--replicas=4']), /deployment\.apps\/ssa scaled/);
      const clash = k(['apply', '--server-side', '-f', ssa(3)]);
      t.not(clash.code, 0);
      t.match(clash.stderr, /Apply failed with 1 conflict: conflict with "kubectl[^"]*" with subresource "scale" using apps\/v1: \.spec\.replicas/);
      t.match(clash.stderr, /--force-conflicts/);
      t.match(ok(t, ['apply', '--server-side', '--force-conflicts', '-f', ssa(3)]), /serverside-applied/);
      t.equal(jp(['get', 'deploy', 'ssa'], '{.spec.replicas}'), '3');
      // Dropping a field from the applied configuration removes it (no one else owns it).
      t.match(ok(t, ['apply', '--server-side', '-f', file('ssa-noenv.yaml', app('nginx:1.27', 3, '', 'ssa'))]), /serverside-applied/);
      t.equal(jp(['get', 'deploy', 'ssa'], '{.spec.template.spec.containers[0].env}'), '');
      ok(t, ['delete', 'deploy', 'ssa']);
      // Server-side apply over a client-side applied object keeps its last-applied annotation current.
      const csa = (mode: string): string => file(`csa-${mode}.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: csa}\ndata: {mode: ${mode}}\n`);
      ok(t, ['apply', '-f', csa('one')]);
      t.match(ok(t, ['apply', '--server-side', '--force-conflicts', '-f', csa('two')]), /configmap\/csa serverside-applied/);
      t.equal(jp(['get', 'cm', 'csa'], '{.data.mode}'), 'two');
      // kubectl keeps the annotation (as manager kubectl-last-applied) and moves the client-side
      // apply's fields to its own manager.
      t.match(jp(['get', 'cm', 'csa'], '{.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}'), /"kind":"ConfigMap"/);
      const managers = json<{ metadata: { managedFields: { manager: string; operation: string }[] } }>(['get', 'cm', 'csa', '--show-managed-fields']).metadata.managedFields.map((m) => `${m.manager}/${m.operation}`);
      t.ok(managers.includes('kubectl/Apply') && managers.includes('kubectl-last-applied/Apply'), managers.join(' '));
      t.notOk(managers.includes('kubectl-client-side-apply/Update'), 'client-side apply ownership migrated');
    });

    await t.test('patch, edit, label, annotate, set', async (t) => {
      t.match(ok(t, ['patch', 'deploy', 'app', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"nginx:1.29"}]}}}}']), /deployment\.apps\/app patched/);
      t.equal(jp(['get', 'deploy', 'app'], '{.spec.template.spec.containers[0].image}'), 'nginx:1.29');
      ok(t, ['patch', 'deploy', 'app', '--type=merge', '-p', '{"metadata":{"labels":{"merged":"yes"}}}']);
      ok(t, ['patch', 'deploy', 'app', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":2}]']);
      t.equal(jp(['get', 'deploy', 'app'], '{.metadata.labels.merged} {.spec.replicas}'), 'yes 2');
      const editor = file('editor.sh', '#!/bin/sh\nsed -i -e "s/mode: blue/mode: green/" "$1"\n');
      chmodSync(editor, 0o755);
      ok(t, ['create', 'configmap', 'ed', '--from-literal=mode=blue']);
      t.match(ok(t, ['edit', 'configmap', 'ed'], { env: { EDITOR: editor, KUBE_EDITOR: editor } }), /configmap\/ed edited/);
      t.equal(jp(['get', 'cm', 'ed'], '{.data.mode}'), 'green');
      t.match(ok(t, ['label', 'deploy', 'app', 'tier=front']), /deployment\.apps\/app labeled/);
      t.match(k(['label', 'deploy', 'app', 'tier=back']).stderr, /already has a value \(front\), and --overwrite is false/);
      ok(t, ['label', 'deploy', 'app', 'tier-']);
      t.equal(jp(['get', 'deploy', 'app'], '{.metadata.labels.tier}'), '');
      t.match(ok(t, ['annotate', 'deploy', 'app', 'owner=team-a']), /deployment\.apps\/app annotated/);
      t.equal(jp(['get', 'deploy', 'app'], '{.metadata.annotations.owner}'), 'team-a');
      t.match(ok(t, ['set', 'image', 'deploy/app', 'main=nginx:1.30']), /deployment\.apps\/app image updated/);
      t.match(ok(t, ['set', 'resources', 'deploy/app', '--limits=cpu=500m,memory=128Mi']), /deployment\.apps\/app resource requirements updated/);
      t.equal(jp(['get', 'deploy', 'app'], '{.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].resources.limits.cpu}'), 'nginx:1.30 500m');
      const bad = k(['patch', 'deploy', 'app', '--type=merge', '-p', '{"spec":{"replicas":-1}}']);
      t.match(bad.stderr, /The Deployment "app" is invalid: spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
      const unknown = k(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: strict}\nspec: {foo: 1}\n' });
      t.match(unknown.stderr, /strict decoding error: unknown field "spec"/);
    });

    await t.test('rollout status, history, undo, restart, pause, resume; scale; wait', async (t) => {
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
      t.match(jp(['get', 'deploy', 'app'], '{.spec.template.metadata.annotations}'), /kubectl\.kubernetes\.io\/restartedAt/);
      t.match(ok(t, ['rollout', 'pause', 'deploy/app']), /deployment\.apps\/app paused/);
      t.equal(jp(['get', 'deploy', 'app'], '{.spec.paused}'), 'true');
      t.match(ok(t, ['rollout', 'resume', 'deploy/app']), /deployment\.apps\/app resumed/);
      t.match(ok(t, ['scale', 'deploy', 'app', '--replicas=3']), /deployment\.apps\/app scaled/);
      t.match(ok(t, ['scale', 'deploy', 'app', '--current-replicas=3', '--replicas=2']), /deployment\.apps\/app scaled/);
      t.match(k(['scale', 'deploy', 'app', '--current-replicas=7', '--replicas=1']).stderr, /[Ee]xpected replicas to be 7, was 2/);
      t.match(ok(t, ['wait', '--for=condition=Available', 'deploy/app', '--timeout=90s']), /deployment\.apps\/app condition met/);
      t.match(ok(t, ['wait', '--for=jsonpath={.spec.replicas}=2', 'deploy/app', '--timeout=30s']), /deployment\.apps\/app condition met/);
    });

    await t.test('get: tables, outputs, selectors, all, watch', async (t) => {
      await waitFor(() => running('app=app') === 2, '2 running app pods');
      t.match(ok(t, ['get', 'deploy']), /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n(.*\n)*app\s+2\/2\s+2\s+2\s+\S+/m);
      t.match(ok(t, ['get', 'pods', '-o', 'wide']).split('\n')[0]!, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
      t.match(ok(t, ['get', 'pods', '-A', '--show-labels']), /^default\s+app-\S+\s+1\/1\s+Running\s+0\s+\S+\s+app=app,pod-template-hash=/m);
      const names = ok(t, ['get', 'cm', '-A', '--sort-by=.metadata.name', '-o', 'custom-columns=NAME:.metadata.name,NS:.metadata.namespace', '--no-headers']).trim().split('\n').map((l) => l.split(/\s+/)[0]!);
      t.same(names, [...names].sort(), 'sorted by name');
      t.equal(ok(t, ['get', 'pods', '-l', 'app=app', '--field-selector=status.phase=Running', '-o', 'name']).trim().split('\n').length, 2);
      t.match(ok(t, ['get', 'all']), /deployment\.apps\/app/);
      t.match(ok(t, ['get', 'deploy', 'app', '-o', 'yaml']), /kind: Deployment/);
      t.equal(ok(t, ['get', 'deploy', '-o', 'name', '-l', 'group=mx']).trim(), 'deployment.apps/app');
      // get -w: one header, one row per event, no bookmark noise
      const w = spawn(bin(v), ['--kubeconfig', s.kubeconfig, 'get', 'configmaps', '-w'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECACHEDIR: join(dir, 'kubecache') } });
      let out = '';
      w.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('NAME'), 'the watch header');
      ok(t, ['create', 'configmap', 'watched']);
      await waitFor(() => /^watched\s+0\s+/m.test(out), 'the new configmap in the watch');
      w.kill();
      t.equal(out.match(/^NAME\s+DATA\s+AGE/gm)?.length, 1, out);
      t.notMatch(out, /BOOKMARK|resourceVersion/);
    });

    await t.test('describe, logs, exec', async (t) => {
      const pod = jp(['get', 'pods', '-l', 'app=app'], '{.items[0].metadata.name}');
      const d = ok(t, ['describe', 'pod', pod]);
      t.match(d, /Status:\s+Running/);
      t.match(d, /Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned default\//);
      t.match(ok(t, ['describe', 'deploy', 'app']), /ScalingReplicaSet/);
      // A program that prints and exits, then restarts: logs, --tail, -c, --previous, -f.
      ok(t, ['apply', '-f', file('talker.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: talker\n  annotations: {sim.berth.dev/log-lines: "one\\ntwo\\nthree", sim.berth.dev/run-seconds: "20"}\nspec:\n  containers: [{name: a, image: busybox}, {name: b, image: busybox}]\n')]);
      await waitFor(() => k(['logs', 'talker', '-c', 'a']).stdout.includes('three'), 'talker logs');
      t.match(ok(t, ['logs', 'talker', '-c', 'a']), /one\ntwo\nthree/);
      // The program keeps restarting: the last line read with --tail=1 is one line of the log.
      const last = ok(t, ['logs', 'talker', '-c', 'b', '--tail=1']).trim();
      t.equal(last.split('\n').length, 1, last);
      t.ok(ok(t, ['logs', 'talker', '-c', 'b']).split('\n').includes(last));
      t.match(k(['logs', 'talker']).stderr, /a container name must be specified for pod talker, choose one of: \[a b\]|Defaulted container "a"/);
      await waitFor(() => Number(jp(['get', 'pod', 'talker'], '{.status.containerStatuses[0].restartCount}')) >= 1, 'a restart', 90_000);
      t.match(ok(t, ['logs', 'talker', '-c', 'a', '--previous']), /three/);
      const follow = spawn(bin(v), ['--kubeconfig', s.kubeconfig, 'logs', '-f', 'talker', '-c', 'a'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECACHEDIR: join(dir, 'kubecache') } });
      let fo = '';
      follow.stdout.on('data', (x: Buffer) => (fo += x.toString()));
      await waitFor(() => fo.includes('three'), 'followed logs');
      follow.kill();
      t.match(ok(t, ['logs', 'deploy/app']), /berth-sim|^$/m);
      // exec: WebSocket (1.30+) or SPDY (1.27–1.29) into the simulated shell.
      t.equal(ok(t, ['exec', pod, '--', 'echo', 'hi']), 'hi\n');
      const failed = k(['exec', pod, '--', 'sh', '-c', 'echo out; echo err; exit 3']);
      t.equal(failed.code, 3, failed.stderr);
      t.match(failed.stdout, /out\nerr/);
      t.match(failed.stderr, /command terminated with exit code 3/);
      t.equal(ok(t, ['exec', '-i', pod, '--', 'sh'], { input: 'echo $HOSTNAME\ncat /etc/hostname\n' }), `${pod}\n${pod}\n`);
      const missing = k(['exec', pod, '--', 'nope']);
      t.equal(missing.code, 127);
    });

    await t.test('nodes: cordon, taint, top, drain with a PodDisruptionBudget', async (t) => {
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
      const blocked = k(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=6s']);
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
      const rsOf = (): string => jp(['get', 'rs', '-l', 'app=app'], '{.items[*].metadata.name}');
      t.ok(rsOf());
      t.match(ok(t, ['delete', 'deploy', 'app', '--cascade=orphan']), /deployment\.apps "app" deleted/);
      await waitFor(() => jp(['get', 'rs', '-l', 'app=app'], '{.items[*].metadata.ownerReferences}') === '', 'orphaned ReplicaSets');
      t.ok(rsOf(), 'the ReplicaSets stay');
      t.match(ok(t, ['delete', 'rs', '-l', 'app=app', '--cascade=foreground', '--wait=true', '--timeout=90s']), /replicaset\.apps "app-\S+" deleted/);
      t.equal(rsOf(), '');
      const pods = jp(['get', 'pods', '-l', 'app=app'], '{.items[*].metadata.name}');
      t.equal(pods, '', 'foreground deletion waited for the pods');
      for (const p of ['s1', 's2', 's3']) ok(t, ['run', p, '--image=busybox']);
      await waitFor(() => ['s1', 's2', 's3'].every((p) => jp(['get', 'pod', p], '{.status.phase}') === 'Running'), 'the pods running');
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
  });
}
