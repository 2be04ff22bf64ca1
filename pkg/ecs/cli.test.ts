/**
 * `berth ecs …` as a user runs it: the CLI over HTTP against the whole control plane on a virtual
 * clock (advanced between commands), with the AWS CLI's `--cli-input-json file://…`, its flags
 * and its output JSON; `berth apply` and `berth get` of the ECS kinds.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { renderKubeconfig } from '../client/kubeconfig.js';
import { runCli } from '../cli/program.js';
import type { IO } from '../cli/types.js';
import { virtualCluster } from '../nodeautoscaler/vcluster.testutil.js';

const CORPUS = '/work/shared/corpus/aws-ecs-task-defs';
const MIN = 60_000;

const vc = await virtualCluster({ components: ['cloud', 'controllers', 'scheduler', 'agent', 'autoscaling', 'elb', 'eks', 'ecs'], elb: { virtual: true }, autoscaling: { nodeAutoscaler: false, karpenter: false } });
const app = vc.cp.api.http();
const url = await app.listen({ port: 0, host: '127.0.0.1' });
const dir = mkdtempSync(join(tmpdir(), 'berth-ecs-'));
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(kubeconfig, renderKubeconfig(url));
t.teardown(async () => {
  await app.close();
  await vc.stop();
});

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string; json: () => Record<string, any> }> {
  let stdout = '';
  let stderr = '';
  const io: IO = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stdin: async () => '', env: { KUBECONFIG: kubeconfig, HOME: dir }, now: () => vc.clock.now() };
  const code = await runCli(argv, io);
  return { code, stdout, stderr, json: () => JSON.parse(stdout) as Record<string, any> };
}
const file = (name: string, v: unknown): string => {
  const p = join(dir, name);
  writeFileSync(p, typeof v === 'string' ? v : JSON.stringify(v, null, 2));
  return p;
};

t.test('register-task-definition --cli-input-json takes every corpus file unchanged and prints the AWS CLI shape', async (t) => {
  for (const f of readdirSync(CORPUS).filter((x) => x.endsWith('.json')).sort()) {
    const r = await run(['ecs', 'register-task-definition', '--cli-input-json', `file://${join(CORPUS, f)}`]);
    t.equal(r.code, 0, `${f}: ${r.stderr}`);
    const td = r.json().taskDefinition;
    t.match(td, { family: 'nginx', taskDefinitionArn: /^arn:aws:ecs:us-east-1:000000000000:task-definition\/nginx:\d$/, revision: Number, status: 'ACTIVE', containerDefinitions: [{ name: 'nginx', essential: true, portMappings: [{ containerPort: 80, protocol: 'tcp' }] }] }, f);
    t.match(r.stdout, /^\{\n {4}"taskDefinition": \{\n {8}"taskDefinitionArn"/, 'four-space JSON, as the AWS CLI prints it');
  }
  let r = await run(['ecs', 'describe-task-definition', '--task-definition', 'nginx']);
  t.equal(r.json().taskDefinition.revision, 2, 'the family alone is its latest revision');
  r = await run(['ecs', 'describe-task-definition', '--task-definition', 'arn:aws:ecs:us-east-1:000000000000:task-definition/nginx:1']);
  t.equal(r.json().taskDefinition.networkMode, 'bridge');

  const bad = file('bad.json', { family: 'bad', containerDefinitions: [{ name: 'a', image: 'nginx', memory: 64, portMappings: [{ containerPort: 80, protocol: 'sctp' }] }] });
  r = await run(['ecs', 'register-task-definition', '--cli-input-json', `file://${bad}`]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `error: An error occurred (ClientException) when calling the RegisterTaskDefinition operation: ${bad}: containerDefinitions[0].portMappings[0].protocol: Unsupported value: "sctp": supported values: "tcp", "udp"\n`);
  const unknown = file('unknown.json', { family: 'bad', containerDefinition: [] });
  r = await run(['ecs', 'register-task-definition', '--cli-input-json', `file://${unknown}`]);
  t.equal(r.code, 1);
  t.match(r.stderr, /^error: Parameter validation failed:\n.*unknown\.json: Unknown parameter in input: "containerDefinition", must be one of: family, taskRoleArn/);
  r = await run(['ecs', 'register-task-definition', '--cli-input-json', 'file:///nonexistent/td.json']);
  t.match(r.stderr, /Unable to load paramfile file:\/\/\/nonexistent\/td\.json: no such file/);
  r = await run(['ecs', 'register-task-definition', '--cli-input-json', `file://${file('broken.json', '{"family": ')}`]);
  t.match(r.stderr, /broken\.json: Error parsing parameter 'cli-input-json': Invalid JSON/);
});

t.test('a cluster, a service from plain flags and from --cli-input-json, run-task, stop-task, container instances', async (t) => {
  let r = await run(['ecs', 'create-cluster', '--cluster-name', 'prod']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.json(), { cluster: { clusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/prod', clusterName: 'prod', status: 'ACTIVE' } });
  // An Auto Scaling group whose instances join the cluster through their launch template's labels.
  r = await run(['apply', '-f', file('asg.yaml', 'apiVersion: autoscaling.berth.dev/v1\nkind: AutoScalingGroup\nmetadata: {name: prod-nodes}\nspec: {minSize: 0, maxSize: 4, desiredCapacity: 2, launchTemplate: {instanceType: m5.large, nodeLabels: {ecs.berth.dev/cluster: prod}}, availabilityZones: [us-east-1a]}\n')]);
  t.equal(r.code, 0, r.stderr);
  await vc.run(3 * MIN);

  r = await run(['ecs', 'list-container-instances', '--cluster', 'prod']);
  const arns = r.json().containerInstanceArns as string[];
  t.equal(arns.length, 2);
  t.match(arns[0], /^arn:aws:ecs:us-east-1:000000000000:container-instance\/prod\/[0-9a-f]{32}$/);
  r = await run(['ecs', 'describe-container-instances', '--cluster', 'prod', '--container-instances', arns[0]!]);
  t.match(r.json().containerInstances[0], { containerInstanceArn: arns[0], ec2InstanceId: /^i-0/, status: 'ACTIVE', agentConnected: true, registeredResources: [{ name: 'CPU', integerValue: 2048 }, { name: 'MEMORY' }, { name: 'PORTS', stringSetValue: ['22', '2375', '2376', '51678', '51679'] }, { name: 'PORTS_UDP' }] });

  r = await run(['ecs', 'create-service', '--cluster', 'prod', '--service-name', 'web', '--task-definition', 'nginx:1', '--desired-count', '2']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.json().service, { serviceName: 'web', serviceArn: 'arn:aws:ecs:us-east-1:000000000000:service/prod/web', taskDefinition: 'arn:aws:ecs:us-east-1:000000000000:task-definition/nginx:1', desiredCount: 2, deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 } });
  const svcFile = file('svc.json', { cluster: 'prod', serviceName: 'api', taskDefinition: 'nginx:1', desiredCount: 1, placementStrategy: [{ type: 'spread', field: 'attribute:ecs.availability-zone' }], deploymentConfiguration: { minimumHealthyPercent: 0, maximumPercent: 100 } });
  r = await run(['ecs', 'create-service', '--cli-input-json', `file://${svcFile}`]);
  t.equal(r.code, 0, r.stderr);
  r = await run(['ecs', 'create-service', '--cli-input-json', `file://${file('svc-bad.json', { cluster: 'prod', serviceName: 'x', taskDefinition: 'nginx:1', desiredCnt: 1 })}`]);
  t.match(r.stderr, /Unknown parameter in input: "desiredCnt"/);
  r = await run(['ecs', 'create-service', '--cluster', 'nowhere', '--service-name', 'x', '--task-definition', 'nginx:1']);
  t.match(r.stderr, /An error occurred \(ClusterNotFoundException\) when calling the CreateService operation: Cluster not found/);
  await vc.run(2 * MIN);

  r = await run(['ecs', 'describe-services', '--cluster', 'prod', '--services', 'web', 'api', 'ghost']);
  const d = r.json();
  t.match(d.services[0], { serviceName: 'web', status: 'ACTIVE', runningCount: 2, pendingCount: 0, deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED', runningCount: 2, id: /^ecs-svc\/\d{19}$/ }] });
  t.equal(d.services[0].events[0].message, '(service web) has reached a steady state.');
  t.same(d.failures, [{ arn: 'arn:aws:ecs:us-east-1:000000000000:service/prod/ghost', reason: 'MISSING' }]);
  r = await run(['ecs', 'list-tasks', '--cluster', 'prod', '--service-name', 'api']);
  const apiTask = (r.json().taskArns as string[])[0]!;
  const pod = JSON.parse((await run(['get', 'pod', apiTask.split('/').at(-1)!, '-o', 'json'])).stdout) as { metadata: { annotations: Record<string, string> } };
  t.equal(pod.metadata.annotations['ecs.berth.dev/placement-strategy'], '[{"type":"spread","field":"attribute:ecs.availability-zone"}]', "the service's placement strategy reaches its task's Pod for the scheduler");

  r = await run(['ecs', 'update-service', '--cluster', 'prod', '--service', 'web', '--desired-count', '3']);
  t.equal(r.json().service.desiredCount, 3);
  r = await run(['ecs', 'update-service', '--cluster', 'prod', '--service', 'api', '--force-new-deployment']);
  t.equal(r.code, 0, r.stderr);
  await vc.run(3 * MIN);
  r = await run(['ecs', 'describe-services', '--cluster', 'prod', '--services', 'web', 'api']);
  t.equal(r.json().services[0].runningCount, 3);
  const apiSvc = r.json().services[1];
  t.equal(apiSvc.deployments.length, 1);
  t.not(apiSvc.deployments[0].id, d.services[1].deployments[0].id, 'force-new-deployment made a new deployment');
  t.ok((apiSvc.events as { message: string }[]).some((e) => /has stopped 1 running tasks/.test(e.message)));

  // run-task with flags (shorthand placement) and with --cli-input-json; stop-task with a reason.
  r = await run(['ecs', 'run-task', '--cluster', 'prod', '--task-definition', 'nginx:1', '--count', '2', '--placement-constraints', 'type=distinctInstance', '--group', 'batch']);
  t.equal(r.code, 0, r.stderr);
  const ran = r.json().tasks as { taskArn: string; group: string; lastStatus: string }[];
  t.equal(ran.length, 2);
  t.match(ran[0], { group: 'batch', lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING', launchType: 'EC2' });
  r = await run(['ecs', 'run-task', '--cli-input-json', JSON.stringify({ cluster: 'prod', taskDefinition: 'nginx:1', launchType: 'EC2', overrides: { containerOverrides: [] } })]);
  t.equal(r.code, 0, r.stderr);
  await vc.run(MIN);
  r = await run(['ecs', 'describe-tasks', '--cluster', 'prod', '--tasks', ran[0]!.taskArn]);
  t.match(r.json().tasks[0], { lastStatus: 'RUNNING', containers: [{ name: 'nginx', lastStatus: 'RUNNING', image: 'nginx:latest' }], cpu: '256', memory: '256' });
  r = await run(['ecs', 'stop-task', '--cluster', 'prod', '--task', ran[0]!.taskArn, '--reason', 'done for today']);
  t.equal(r.json().task.desiredStatus, 'STOPPED');
  await vc.run(MIN);
  r = await run(['ecs', 'describe-tasks', '--cluster', 'prod', '--tasks', ran[0]!.taskArn]);
  t.match(r.json().tasks[0], { lastStatus: 'STOPPED', stopCode: 'UserInitiated', stoppedReason: 'done for today' });

  // Tables.
  r = await run(['get', 'tasks', '-o', 'wide']);
  t.match(r.stdout, /^NAME\s+CLUSTER\s+TASK-DEFINITION\s+LAST-STATUS\s+DESIRED-STATUS\s+GROUP\s+LAUNCH\s+CONTAINER-INSTANCE\s+STOPPED-REASON\s+AGE/);
  t.match(r.stdout, /[0-9a-f]{32}\s+prod\s+nginx-1\s+RUNNING\s+RUNNING\s+service:web\s+EC2/);
  r = await run(['get', 'ecssvc']);
  t.match(r.stdout, /^NAME\s+CLUSTER\s+TASK-DEFINITION\s+DESIRED\s+RUNNING\s+PENDING\s+STATUS\s+ROLLOUT\s+AGE\n/);
  t.match(r.stdout, /\nweb\s+prod\s+nginx-1\s+3\s+3\s+0\s+ACTIVE\s+COMPLETED\s/);
  r = await run(['get', 'services.ecs.berth.dev', 'api', '-o', 'name']);
  t.equal(r.stdout, 'service.ecs.berth.dev/api\n');
  r = await run(['get', 'taskdefinitions']);
  t.match(r.stdout, /nginx-2\s+nginx\s+2\s+ACTIVE\s+awsvpc\s+256\s+512\s+EC2,FARGATE/);
  r = await run(['get', 'containerinstances']);
  t.match(r.stdout, /^NAME\s+CLUSTER\s+INSTANCE-ID\s+STATUS\s+RUNNING\s+PENDING\s+CPU\s+MEMORY\s+AGE/);

  // delete-service: refused while scaled above 0, then --force.
  r = await run(['ecs', 'delete-service', '--cluster', 'prod', '--service', 'web']);
  t.equal(r.code, 1);
  t.match(r.stderr, /InvalidParameterException.*The service cannot be stopped while it is scaled above 0/);
  r = await run(['ecs', 'delete-service', '--cluster', 'prod', '--service', 'web', '--force']);
  t.equal(r.json().service.status, 'DRAINING');
  await vc.run(2 * MIN);
  r = await run(['ecs', 'list-services', '--cluster', 'prod']);
  t.same(r.json().serviceArns, ['arn:aws:ecs:us-east-1:000000000000:service/prod/api']);

  // Draining the api task's container instance moves the task; the cluster cannot go while it has services.
  r = await run(['ecs', 'list-tasks', '--cluster', 'prod', '--service-name', 'api']);
  const before = (await run(['ecs', 'describe-tasks', '--cluster', 'prod', '--tasks', ...(r.json().taskArns as string[])])).json().tasks[0];
  r = await run(['ecs', 'update-container-instances-state', '--cluster', 'prod', '--container-instances', before.containerInstanceArn, '--status', 'DRAINING']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.json().containerInstances[0].status, 'DRAINING');
  await vc.run(3 * MIN);
  r = await run(['ecs', 'list-tasks', '--cluster', 'prod', '--service-name', 'api']);
  const moved = (await run(['ecs', 'describe-tasks', '--cluster', 'prod', '--tasks', ...(r.json().taskArns as string[])])).json().tasks as { containerInstanceArn: string; lastStatus: string }[];
  t.equal(moved.length, 1);
  t.match(moved[0], { lastStatus: 'RUNNING' });
  t.not(moved[0]!.containerInstanceArn, before.containerInstanceArn, 'the service replaced its task on another instance');
  r = await run(['ecs', 'describe-container-instances', '--cluster', 'prod', '--container-instances', before.containerInstanceArn]);
  t.match(r.json().containerInstances[0], { status: 'DRAINING' }, 'tasks not in a service stay until they stop, as on ECS');
  r = await run(['ecs', 'delete-cluster', '--cluster', 'prod']);
  t.match(r.stderr, /ClusterContainsServicesException.*The Cluster cannot be deleted while Services are active/);
});

t.test('capacity providers through the CLI, and berth apply of ecs.berth.dev/v1 YAML', async (t) => {
  let r = await run(['apply', '-f', file('cp-asg.yaml', 'apiVersion: autoscaling.berth.dev/v1\nkind: AutoScalingGroup\nmetadata: {name: cp-nodes}\nspec: {minSize: 0, maxSize: 4, desiredCapacity: 0, launchTemplate: {instanceType: m5.large}, availabilityZones: [us-east-1a]}\n')]);
  t.equal(r.code, 0, r.stderr);
  r = await run(['ecs', 'create-capacity-provider', '--name', 'cp-nodes', '--auto-scaling-group-provider', 'autoScalingGroupArn=cp-nodes,managedScaling={status=ENABLED,targetCapacity=100,maximumScalingStepSize=2}']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.json().capacityProvider, { name: 'cp-nodes', capacityProviderArn: 'arn:aws:ecs:us-east-1:000000000000:capacity-provider/cp-nodes', autoScalingGroupProvider: { managedScaling: { status: 'ENABLED', targetCapacity: 100, maximumScalingStepSize: 2 } } });
  r = await run(['ecs', 'create-cluster', '--cluster-name', 'cps']);
  r = await run(['ecs', 'put-cluster-capacity-providers', '--cluster', 'cps', '--capacity-providers', 'cp-nodes', 'FARGATE', '--default-capacity-provider-strategy', 'capacityProvider=cp-nodes,weight=1']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.json().cluster, { capacityProviders: ['cp-nodes', 'FARGATE'], defaultCapacityProviderStrategy: [{ capacityProvider: 'cp-nodes', weight: 1 }] });
  r = await run(['ecs', 'put-cluster-capacity-providers', '--cluster', 'cps', '--capacity-providers', 'nope', '--default-capacity-provider-strategy', 'capacityProvider=nope,weight=1']);
  t.match(r.stderr, /capacity provider nope does not exist/);

  // A task definition and a service as YAML through berth apply.
  r = await run([
    'apply',
    '-f',
    file(
      'ecs.yaml',
      [
        'apiVersion: ecs.berth.dev/v1\nkind: TaskDefinition\nmetadata: {name: worker-1}\nspec:\n  family: worker\n  containerDefinitions:\n  - {name: w, image: busybox, cpu: 512, memory: 512}\n',
        'apiVersion: ecs.berth.dev/v1\nkind: Service\nmetadata: {name: workers}\nspec: {cluster: cps, taskDefinition: worker-1, desiredCount: 2}\n',
      ].join('---\n'),
    ),
  ]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'taskdefinition.ecs.berth.dev/worker-1 created\nservice.ecs.berth.dev/workers created\n');
  await vc.run(30_000);
  r = await run(['ecs', 'describe-services', '--cluster', 'cps', '--services', 'workers']);
  t.match(r.json().services[0], { pendingCount: 2, runningCount: 0 }, 'no instances yet: the tasks wait (PROVISIONING) for the capacity provider');
  await vc.run(8 * MIN);
  r = await run(['ecs', 'describe-services', '--cluster', 'cps', '--services', 'workers']);
  t.match(r.json().services[0], { runningCount: 2, pendingCount: 0 });
  r = await run(['get', 'asg', 'cp-nodes', '-o', 'json']);
  t.equal(JSON.parse(r.stdout).spec.desiredCapacity, 1, 'two tasks of 512 units / 512 MiB fit one m5.large');
  r = await run(['get', 'capacityproviders']);
  t.match(r.stdout, /cp-nodes\s+cp-nodes\s+ENABLED\s+100\s+100/);
  r = await run(['apply', '-f', file('bad-td.yaml', 'apiVersion: ecs.berth.dev/v1\nkind: TaskDefinition\nmetadata: {name: worker-2}\nspec:\n  family: worker\n  containerDefinitions:\n  - {name: w, image: busybox, memory: 512, portMappings: [{containerPort: 80, protocol: sctp}]}\n')]);
  t.equal(r.code, 1);
  t.match(r.stderr, /bad-td\.yaml.*spec\.containerDefinitions\[0\]\.portMappings\[0\]\.protocol: Unsupported value: "sctp"/);
});
