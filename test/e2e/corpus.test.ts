/**
 * Real public manifests (../shared/corpus, when present): every file made only of kinds berth
 * serves is applied with the berth CLI and with kubectl; the objects are stored as given, and
 * Deployments' pods run when the fleet has room (eksctl ClusterConfigs are served by pkg/eks).
 * ECS task definitions (aws-ecs-task-defs/) are not Kubernetes objects: they register unchanged
 * with `berth ecs register-task-definition --cli-input-json file://…` (pkg/ecs), and `berth apply`
 * still refuses them, naming the file.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { CORPUS, startServer, waitFor, type ServerProcess } from './harness.js';

if (!existsSync(CORPUS)) {
  t.pass('no corpus folder here: nothing to apply');
} else {
  const files = (dir: string): string[] =>
    readdirSync(dir)
      .sort()
      .flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? files(p) : /\.(ya?ml|json)$/.test(f) ? [p] : [];
      });
  const all = files(CORPUS);
  const rel = (p: string): string => relative(CORPUS, p);
  /** Files of kinds berth serves today, in an order that applies (the CRD before its resources). */
  const supported = all.filter((p) => /^(k8s-website|k8s-examples|karpenter|eksctl)\//.test(rel(p)));
  /** ECS task definitions: `berth ecs register-task-definition` takes them; `berth apply` refuses them clearly, naming the file. */
  const ecsTaskDefs = all.filter((p) => /^aws-ecs-task-defs\//.test(rel(p)));
  const notKubernetes: Record<string, RegExp> = {
    'aws-ecs-task-defs/nginx_ec2.json': /nginx_ec2\.json:1: error validating data: \[apiVersion not set, kind not set\]/,
    'aws-ecs-task-defs/nginx_fargate.json': /nginx_fargate\.json:1: error validating data: \[apiVersion not set, kind not set\]/,
  };

  /**
   * Two documentation pages both create a Pod named `nginx`: as on Kubernetes, the second cannot
   * replace the first's spec (pod updates may not change fields other than images…), so it goes
   * to a namespace of its own.
   */
  const nsFor = (f: string): string[] => (f.endsWith('pod-with-toleration.yaml') ? ['-n', 'tolerations'] : []);

  let s: ServerProcess;
  t.before(async () => {
    s = await startServer({ store: 'memory' });
    // Room for the Deployments, and the namespaces two of the documentation pages create first.
    const pre = s.berth(['apply', '-f', '-'], {
      input: [
        'apiVersion: autoscaling.berth.dev/v1\nkind: AutoScalingGroup\nmetadata: {name: corpus}\nspec: {minSize: 1, maxSize: 6, desiredCapacity: 3, launchTemplate: {instanceType: m5.2xlarge}, availabilityZones: [us-east-1a, us-east-1b]}',
        'apiVersion: v1\nkind: Namespace\nmetadata: {name: cpu-example}',
        'apiVersion: v1\nkind: Namespace\nmetadata: {name: pod-resources-example}',
        'apiVersion: v1\nkind: Namespace\nmetadata: {name: tolerations}',
      ].join('\n---\n'),
    });
    if (pre.code !== 0) throw new Error(pre.stderr);
  });
  t.teardown(async () => {
    await s?.stop();
  });

  t.test('every supported corpus file applies with berth', async (t) => {
    t.ok(supported.length >= 15, `${supported.length} files`);
    const ordered = [...supported].sort((a, b) => Number(/shirt-resources/.test(a)) - Number(/shirt-resources/.test(b)));
    for (const f of ordered) {
      const r = s.berth(['apply', ...nsFor(f), '-f', f]);
      t.equal(r.code, 0, `${rel(f)}: ${r.stderr}`);
      t.match(r.stdout, / (created|configured|unchanged)/, rel(f));
    }
  });

  t.test('the objects are stored as the files give them', async (t) => {
    const get = (args: string[]): Record<string, unknown> => JSON.parse(s.kubectl([...args, '-o', 'json']).stdout) as Record<string, unknown>;
    const dep = get(['get', 'deployment', 'nginx-deployment']) as { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } };
    t.equal(dep.spec.replicas, 3);
    t.equal(dep.spec.template.spec.containers[0]!.image, 'nginx:1.14.2');
    const cpu = get(['get', 'pod', 'cpu-demo', '-n', 'cpu-example']) as { spec: { containers: { resources: { requests: { cpu: string } } }[] } };
    t.equal(cpu.spec.containers[0]!.resources.requests.cpu, '0.5', 'quantities are kept as written');
    const dongle = get(['get', 'pod', 'extended-resource-demo']) as { spec: { containers: { resources: { requests: Record<string, unknown> } }[] } };
    t.equal(dongle.spec.containers[0]!.resources.requests['example.com/dongle'], 3);
    const hpa = get(['get', 'hpa', 'php-apache']) as { spec: { maxReplicas: number } };
    t.equal(hpa.spec.maxReplicas, 10, 'the KYAML HorizontalPodAutoscaler is stored');
    const shirts = s.kubectl(['get', 'shirts']);
    t.match(shirts.stdout, /^NAME\s+COLOR\s+SIZE\s+AGE/, 'printer columns from the CRD');
    t.match(shirts.stdout, /example1\s+blue\s+S/);
    const blue = s.kubectl(['get', 'shirts', '--field-selector', 'spec.color=blue', '-o', 'name']);
    t.same(blue.stdout.trim().split('\n'), ['shirt.stable.example.com/example1', 'shirt.stable.example.com/example2'], 'selectable fields');
    const ds = get(['get', 'daemonset', 'fluentd-elasticsearch', '-n', 'kube-system']) as { spec: { template: { spec: { tolerations: { operator: string }[] } } } };
    t.equal(ds.spec.template.spec.tolerations[0]!.operator, 'Equal', 'a toleration without operator defaults to Equal');
  });

  t.test("Deployments' pods run; pods that need what no node has stay Pending with the reason", async (t) => {
    await waitFor(() => {
      const pods = JSON.parse(s.kubectl(['get', 'pods', '-l', 'app.kubernetes.io/name=nginx', '-o', 'json']).stdout) as { items: { status: { phase: string } }[] };
      return pods.items.length === 3 && pods.items.every((p) => p.status.phase === 'Running');
    }, 'nginx-deployment running');
    await waitFor(() => {
      const pods = JSON.parse(s.kubectl(['get', 'pods', '-l', 'app=guestbook', '-o', 'json']).stdout) as { items: { status: { phase: string } }[] };
      return pods.items.length === 3 && pods.items.every((p) => p.status.phase === 'Running');
    }, 'guestbook frontend running');
    await waitFor(() => /Insufficient example\.com\/dongle/.test(s.kubectl(['describe', 'pod', 'extended-resource-demo']).stdout), 'the dongle pod explains itself');
    await waitFor(() => /didn't match Pod's node affinity\/selector/.test(s.kubectl(['describe', 'pod', 'nginx']).stdout), 'the disktype=ssd pod explains itself');
    t.pass();
  });

  t.test('the same files apply again with kubectl', async (t) => {
    for (const f of supported.filter((p) => !/shirt|cpu-request|pod-level|daemonset/.test(p))) {
      const r = s.kubectl(['apply', ...nsFor(f), '-f', f]);
      t.equal(r.code, 0, `${rel(f)}: ${r.stderr}`);
    }
  });

  t.test('changing a Pod spec beyond what Kubernetes allows is refused', async (t) => {
    const f = supported.find((p) => p.endsWith('pod-with-toleration.yaml'))!;
    const r = s.kubectl(['apply', '-f', f]);
    t.not(r.code, 0);
    t.match(r.stderr, /The Pod "nginx" is invalid: spec: Forbidden: pod updates may not change fields other than `spec\.containers\[\*\]\.image`/);
  });

  t.test('every ECS task definition registers unchanged with berth ecs register-task-definition', async (t) => {
    t.ok(ecsTaskDefs.length >= 2, `${ecsTaskDefs.length} files`);
    const revisions = new Map<string, number>();
    for (const f of ecsTaskDefs) {
      const r = s.berth(['ecs', 'register-task-definition', '--cli-input-json', `file://${f}`]);
      t.equal(r.code, 0, `${rel(f)}: ${r.stderr}`);
      const td = (JSON.parse(r.stdout) as { taskDefinition: { family: string; revision: number; taskDefinitionArn: string; status: string } }).taskDefinition;
      const want = (revisions.get(td.family) ?? 0) + 1;
      revisions.set(td.family, want);
      t.equal(td.revision, want, `${rel(f)}: revision ${want} of ${td.family}`);
      t.equal(td.taskDefinitionArn, `arn:aws:ecs:us-east-1:000000000000:task-definition/${td.family}:${want}`);
      t.equal(td.status, 'ACTIVE');
    }
    const listed = s.kubectl(['get', 'taskdefinitions', '-o', 'name']);
    t.equal(listed.code, 0, listed.stderr);
    t.equal(listed.stdout.trim().split('\n').length, ecsTaskDefs.length, 'kubectl finds them');
  });

  t.test('berth apply refuses ECS task definitions (not Kubernetes objects) with the file named, and nothing of them is applied', async (t) => {
    for (const [f, why] of Object.entries(notKubernetes)) {
      if (!existsSync(join(CORPUS, f))) continue;
      const r = s.berth(['apply', '-f', join(CORPUS, f)]);
      t.not(r.code, 0, f);
      t.match(r.stderr, why, f);
      t.notMatch(r.stdout, /created/, `${f}: nothing applied`);
    }
  });
}
