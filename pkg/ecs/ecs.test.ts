/**
 * The ECS flavour end to end in virtual time: the whole control plane (cloud, scheduler, node
 * agents, Auto Scaling, Fargate, load balancers, ECS) on the memory store, driven as `berth
 * simulate` drives it. Each test builds its own cluster.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import type { AutoScalingGroup, Instance } from '../cloud/types.js';
import { virtualCluster, type VirtualCluster } from '../nodeautoscaler/vcluster.testutil.js';
import * as ecs from './api.js';
import { splitByStrategy } from './capacity.js';
import { circuitBreakerThreshold, deploymentBounds } from './service-controller.js';
import { EcsKinds, type CapacityProvider, type ContainerInstance, type Service, type Task, type TaskDefinition } from './types.js';

const CORPUS = '/work/shared/corpus/aws-ecs-task-defs';
const MIN = 60_000;
const NS = 'default';

async function cluster(t: Test): Promise<VirtualCluster> {
  const vc = await virtualCluster({ components: ['cloud', 'controllers', 'scheduler', 'agent', 'autoscaling', 'elb', 'eks', 'ecs'], elb: { virtual: true }, autoscaling: { nodeAutoscaler: false, karpenter: false } });
  t.teardown(() => vc.stop());
  return vc;
}

const asgYaml = (name: string, desired: number, extra = '', type = 'm5.large') => `
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: ${name}}
spec:
  minSize: 0
  maxSize: 10
  desiredCapacity: ${desired}
  launchTemplate: {instanceType: ${type}${extra}}
  availabilityZones: [us-east-1a, us-east-1b]
`;

const web = (image: string, extra: Record<string, unknown> = {}) => ({
  family: 'web',
  networkMode: 'bridge',
  containerDefinitions: [{ name: 'web', image, cpu: 256, memory: 512, memoryReservation: 256, essential: true, portMappings: [{ containerPort: 80 }], ...extra }],
});

async function tasksOf(vc: VirtualCluster, service?: string): Promise<Task[]> {
  return (await vc.cp.client.list<Task>(EcsKinds.Task, { namespace: NS, ...(service ? { labelSelector: `ecs.berth.dev/service=${service}` } : {}) })).items;
}
const liveTasks = (ts: Task[]): Task[] => ts.filter((x) => x.spec.desiredStatus === 'RUNNING' && x.status?.lastStatus !== 'STOPPED');
const svcOf = (vc: VirtualCluster, name: string): Promise<Service> => vc.cp.client.get<Service>(EcsKinds.Service, name, NS);

t.test('the corpus task definitions register unchanged; revisions count up; bad ones are refused with the field named', async (t) => {
  const vc = await cluster(t);
  const c = vc.cp.client;
  const files = readdirSync(CORPUS).filter((f) => f.endsWith('.json')).sort();
  t.ok(files.length >= 2, `${files.length} corpus files`);
  for (const f of files) {
    const input = JSON.parse(readFileSync(join(CORPUS, f), 'utf8')) as Record<string, unknown>;
    const out = (await ecs.registerTaskDefinition(c, input, f)) as { taskDefinition: Record<string, unknown> };
    t.equal(out.taskDefinition.family, 'nginx', f);
    t.match(out.taskDefinition.taskDefinitionArn, /^arn:aws:ecs:us-east-1:000000000000:task-definition\/nginx:\d+$/, f);
    t.same((out.taskDefinition as { logConfiguration?: unknown; containerDefinitions: { logConfiguration: unknown }[] }).containerDefinitions[0]!.logConfiguration, (input.containerDefinitions as { logConfiguration: unknown }[])[0]!.logConfiguration, `${f}: keys berth does not model are kept`);
  }
  const revs = await ecs.familyRevisions(c, 'nginx');
  t.same(revs.map((r) => [r.metadata.name, r.status?.revision]), [['nginx-1', 1], ['nginx-2', 2]], 'the same family again is the next revision');
  const fargate = revs[1]!;
  t.same(fargate.status?.compatibilities, ['EC2', 'FARGATE']);
  t.equal(fargate.spec.cpu, '256');
  t.same(revs[0]!.status?.compatibilities, ['EC2'], 'bridge mode: EC2 only');
  // kubectl-style lookups find them by name and by family label.
  t.equal((await c.list<TaskDefinition>(EcsKinds.TaskDefinition, { labelSelector: 'ecs.berth.dev/family=nginx' })).items.length, 2);

  const bad = JSON.parse(readFileSync(join(CORPUS, 'nginx_fargate.json'), 'utf8')) as { containerDefinitions: { portMappings: { protocol: string }[] }[]; memory: string; networkMode: string };
  bad.containerDefinitions[0]!.portMappings[0]!.protocol = 'sctp';
  await t.rejects(ecs.registerTaskDefinition(c, bad as never, 'bad.json'), { message: /ClientException.*bad\.json: containerDefinitions\[0\]\.portMappings\[0\]\.protocol: Unsupported value: "sctp": supported values: "tcp", "udp"/ });
  const sizes = { ...bad, memory: '3072' };
  sizes.containerDefinitions[0]!.portMappings[0]!.protocol = 'tcp';
  await t.rejects(ecs.registerTaskDefinition(c, sizes as never), { message: /memory: Invalid value: "3072": not a valid Fargate size with cpu 256: .* one of 512, 1024, 2048 MiB/ });
  await t.rejects(ecs.registerTaskDefinition(c, { ...sizes, memory: '512', networkMode: 'bridge' } as never), { message: /networkMode: .*Fargate requires the awsvpc network mode/ });
  await t.rejects(ecs.registerTaskDefinition(c, { family: 'x', containerDefinitions: [{ name: 'a', image: 'i', memory: 128, memoryReservation: 256 }] }), { message: /containerDefinitions\[0\]\.memory: Invalid value: 128: must be greater than or equal to memoryReservation \(256\)/ });
  await t.rejects(ecs.registerTaskDefinition(c, { family: 'x', containerDefinitions: [{ name: 'a', image: 'i', memory: 128, essential: false }] }), { message: /at least one essential container/ });
  await t.rejects(ecs.registerTaskDefinition(c, { family: 'x', containerDefinitions: [{ name: 'a', image: 'i' }] }), { message: /containerDefinitions\[0\]\.memory: Required value: at least one of 'memory' or 'memoryReservation'/ });
  await t.rejects(ecs.registerTaskDefinition(c, { family: 'x', networkMode: 'overlay', containerDefinitions: [{ name: 'a', image: 'i', memory: 64 }] }), { message: /networkMode: Unsupported value: "overlay"/ });
  await t.rejects(ecs.registerTaskDefinition(c, { family: 'x', requiresCompatibilities: ['LAMBDA'], containerDefinitions: [{ name: 'a', image: 'i', memory: 64 }] }), { message: /requiresCompatibilities\[0\]: Unsupported value: "LAMBDA"/ });
  await t.rejects(ecs.registerTaskDefinition(c, { family: 'x', containerDefinitions: [{ name: 'a', image: 'i', memory: 64, colour: 'blue' }] }), { message: /Parameter validation failed:\nUnknown parameter in containerDefinitions\[0\]: "colour", must be one of: name, image/ });
  t.equal((await ecs.familyRevisions(c, 'x')).length, 0, 'nothing of a refused definition is stored');
  // The API refuses the same through kubectl/apply, with the object's field path; and revisions are immutable.
  await t.rejects(c.create({ apiVersion: 'ecs.berth.dev/v1', kind: 'TaskDefinition', metadata: { name: 'api-1' }, spec: { family: 'api', containerDefinitions: [{ name: 'a', image: 'i', memory: 64, portMappings: [{ containerPort: 80, protocol: 'icmp' }] }] } }), { code: 422, message: /spec\.containerDefinitions\[0\]\.portMappings\[0\]\.protocol: Unsupported value: "icmp"/ });
  await t.rejects(c.create({ apiVersion: 'ecs.berth.dev/v1', kind: 'TaskDefinition', metadata: { name: 'wrong-1' }, spec: { family: 'api', containerDefinitions: [{ name: 'a', image: 'i', memory: 64 }] } }), { code: 422, message: /metadata\.name.*must be named api-1/ });
  const applied = await c.create<TaskDefinition>({ apiVersion: 'ecs.berth.dev/v1', kind: 'TaskDefinition', metadata: { name: 'api-1' }, spec: { family: 'api', containerDefinitions: [{ name: 'a', image: 'i', memory: 64 }] } });
  t.equal(applied.status?.taskDefinitionArn, 'arn:aws:ecs:us-east-1:000000000000:task-definition/api:1');
  await t.rejects(c.update({ ...applied, spec: { ...applied.spec, cpu: '512' } }), { code: 422, message: /immutable/ });
  const next = (await ecs.registerTaskDefinition(c, { family: 'api', containerDefinitions: [{ name: 'a', image: 'i', memory: 64 }] })) as { taskDefinition: { revision: number } };
  t.equal(next.taskDefinition.revision, 2, 'register-task-definition continues after an applied revision');
  const odd = (await ecs.registerTaskDefinition(c, { family: 'My_App', containerDefinitions: [{ name: 'a', image: 'i', memory: 64 }] })) as { taskDefinition: { taskDefinitionArn: string } };
  t.equal(odd.taskDefinition.taskDefinitionArn, 'arn:aws:ecs:us-east-1:000000000000:task-definition/My_App:1');
  t.match((await ecs.resolveTaskDefinition(c, 'My_App:1', 'x')).metadata.name, /^my-app-[0-9a-f]{6}-1$/);
});

t.test('a service of 4 tasks reaches a steady state on its container instances, registered in its target group; a rolling deployment stays within min/max percent', async (t) => {
  const vc = await cluster(t);
  const c = vc.cp.client;
  await vc.apply(asgYaml('ecs-nodes', 2, ', nodeLabels: {ecs.berth.dev/cluster: prod}'));
  await ecs.createCluster(c, { clusterName: 'prod' });
  await c.create({ apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup', metadata: { name: 'web-tg', namespace: NS }, spec: { protocol: 'HTTP', healthCheck: { enabled: false } } });
  await ecs.registerTaskDefinition(c, web('nginx:1'));
  await ecs.registerTaskDefinition(c, web('nginx:2'));
  await vc.run(3 * MIN);
  const cis = (await c.list<ContainerInstance>(EcsKinds.ContainerInstance)).items;
  t.equal(cis.length, 2, 'both instances registered to the cluster');
  const reg = cis[0]!.status!.registeredResources!;
  t.same(reg.find((r) => r.name === 'CPU')?.integerValue, 2048, 'm5.large: 2 vCPU = 2048 CPU units');
  t.ok((reg.find((r) => r.name === 'MEMORY')?.integerValue ?? 0) > 6000, 'MEMORY in MiB');

  await ecs.createService(c, NS, {
    cluster: 'prod',
    serviceName: 'web',
    taskDefinition: 'web:1',
    desiredCount: 4,
    loadBalancers: [{ targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web-tg/0123456789abcdef', containerName: 'web', containerPort: 80 }],
  });
  const took = await vc.until(async () => (await svcOf(vc, 'web')).status?.steady === true, 5 * MIN);
  t.ok(took >= 0, 'steady within five minutes');
  let svc = await svcOf(vc, 'web');
  t.equal(svc.status?.runningCount, 4);
  t.match(svc.status?.deployments, [{ status: 'PRIMARY', rolloutState: 'COMPLETED', runningCount: 4, taskDefinition: 'web-1' }]);
  const msgs = (svc.status?.events ?? []).map((e) => e.message);
  t.equal(msgs[0], '(service web) has reached a steady state.');
  t.ok(msgs.some((m) => /^\(service web\) has started 4 tasks: (\(task [0-9a-f]{32}\) ?){4}\.$/.test(m)), 'the start event lists the tasks');
  const tasks = liveTasks(await tasksOf(vc, 'web'));
  t.equal(tasks.length, 4);
  t.ok(tasks.every((x) => x.status?.lastStatus === 'RUNNING' && x.status.containers?.[0]?.lastStatus === 'RUNNING'), 'every task RUNNING');
  const pod = await c.get<Pod>(Kinds.Pod, tasks[0]!.metadata.name!, NS);
  t.same(pod.metadata.labels?.['ecs.berth.dev/group'], 'service.web');
  t.same(pod.spec.nodeSelector, { 'ecs.berth.dev/cluster': 'prod' });
  t.same(JSON.parse(pod.metadata.annotations?.['ecs.berth.dev/placement-strategy'] ?? 'null'), [{ type: 'spread', field: 'attribute:ecs.availability-zone' }], 'no strategy given: a service spreads over zones, as ECS does');
  const zoneOf = new Map((await c.list(Kinds.Node)).items.map((n) => [n.metadata.name!, n.metadata.labels?.['topology.kubernetes.io/zone'] ?? '']));
  const perZone = new Map<string, number>();
  for (const x of tasks) {
    const z = zoneOf.get((await c.get<Pod>(Kinds.Pod, x.metadata.name!, NS)).spec.nodeName ?? '') ?? '';
    perZone.set(z, (perZone.get(z) ?? 0) + 1);
  }
  t.same([...perZone.values()], [2, 2], `the instances' two zones hold two tasks each (${JSON.stringify([...perZone])})`);
  t.same(pod.spec.containers[0]!.resources, { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } }, 'cpu units → millicores, memoryReservation requested, memory the limit');
  // Remaining resources: the tasks' cpu (256 units) and memoryReservation (256 MiB) are taken off.
  const ciAfter = (await c.list<ContainerInstance>(EcsKinds.ContainerInstance)).items;
  for (const ci of ciAfter) {
    const n = ci.status!.runningTasksCount!;
    const regMem = ci.status!.registeredResources!.find((r) => r.name === 'MEMORY')!.integerValue!;
    t.equal(ci.status!.remainingResources!.find((r) => r.name === 'CPU')!.integerValue, 2048 - 256 * n, `${ci.metadata.name}: CPU remaining with ${n} tasks`);
    t.equal(ci.status!.remainingResources!.find((r) => r.name === 'MEMORY')!.integerValue, regMem - 256 * n);
  }
  t.equal(ciAfter.reduce((n, ci) => n + ci.status!.runningTasksCount!, 0), 4);
  let tg = await c.get<{ spec: { targets?: { id: string; port: number }[] } } & Pod>({ apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' }, 'web-tg', NS);
  t.same(tg.spec.targets?.map((x) => x.id).sort(), tasks.map((x) => x.metadata.name).sort(), 'every RUNNING task is a target');
  t.ok(tg.spec.targets?.every((x) => x.port === 80));

  // Rolling deployment to web:2 with 50 % / 150 %: never more than 6 tasks, never fewer than 2 RUNNING.
  await ecs.updateService(c, NS, { cluster: 'prod', service: 'web', taskDefinition: 'web:2', deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 150 } });
  t.same(deploymentBounds(4, 50, 150), { minHealthy: 2, maxTotal: 6 });
  let maxLive = 0;
  let minRunning = Infinity;
  const done = await vc.until(async () => {
    const ts = liveTasks(await tasksOf(vc, 'web'));
    maxLive = Math.max(maxLive, ts.length);
    minRunning = Math.min(minRunning, ts.filter((x) => x.status?.lastStatus === 'RUNNING').length);
    const s = await svcOf(vc, 'web');
    return s.status?.deployments?.length === 1 && s.status.deployments[0]!.taskDefinition === 'web-2' && s.status.steady === true;
  }, 10 * MIN);
  t.ok(done >= 0, 'the deployment completes');
  t.ok(maxLive <= 6, `at most 150 % (6) tasks at once: saw ${maxLive}`);
  t.ok(minRunning >= 2, `at least 50 % (2) RUNNING throughout: saw ${minRunning}`);
  svc = await svcOf(vc, 'web');
  const now = liveTasks(await tasksOf(vc, 'web'));
  t.ok(now.every((x) => x.spec.taskDefinition === 'web-2'));
  await vc.run(MIN);
  const stopped = (await tasksOf(vc, 'web')).filter((x) => x.status?.lastStatus === 'STOPPED');
  t.equal(stopped.length, 4, 'the four old tasks stopped');
  t.match(stopped[0]!.status, { stopCode: 'ServiceSchedulerInitiated', stoppedReason: /^Scaling activity initiated by \(deployment ecs-svc\/\d{19}\)$/ });
  tg = await c.get({ apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' }, 'web-tg', NS);
  t.same(tg.spec.targets?.map((x) => x.id).sort(), now.map((x) => x.metadata.name).sort(), 'old tasks deregistered, new ones registered');

  // delete-service needs desiredCount 0 or --force; then the tasks stop and the targets go.
  await t.rejects(ecs.deleteService(c, NS, { cluster: 'prod', service: 'web' }), { message: /scaled above 0/ });
  const del = (await ecs.deleteService(c, NS, { cluster: 'prod', service: 'web', force: true })) as { service: { status: string } };
  t.equal(del.service.status, 'DRAINING');
  t.ok((await vc.until(async () => !(await c.tryGet(EcsKinds.Service, 'web', NS)), 3 * MIN)) >= 0, 'the service goes');
  t.equal(liveTasks(await tasksOf(vc, 'web')).length, 0);
  tg = await c.get({ apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' }, 'web-tg', NS);
  t.same(tg.spec.targets ?? [], []);
});

t.test('the circuit breaker rolls back a task definition whose essential container exits', async (t) => {
  const vc = await cluster(t);
  const c = vc.cp.client;
  await vc.apply(asgYaml('ecs-nodes', 2, ', nodeLabels: {ecs.berth.dev/cluster: prod}'));
  await ecs.createCluster(c, { clusterName: 'prod' });
  await ecs.registerTaskDefinition(c, web('nginx:1'));
  await ecs.registerTaskDefinition(c, web('nginx:broken', { dockerLabels: { 'sim.berth.dev/run-seconds': '5', 'sim.berth.dev/exit-code': '1' } }));
  await vc.run(3 * MIN);
  await ecs.createService(c, NS, { cluster: 'prod', serviceName: 'api', taskDefinition: 'web:1', desiredCount: 2, deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } } });
  t.ok((await vc.until(async () => (await svcOf(vc, 'api')).status?.steady === true, 5 * MIN)) >= 0);
  await ecs.updateService(c, NS, { cluster: 'prod', service: 'api', taskDefinition: 'web:2' });
  t.equal(circuitBreakerThreshold(2), 10, 'min(max(10, ceil(0.5 × 2)), 200)');
  const rolled = await vc.until(async () => (await svcOf(vc, 'api')).spec.taskDefinition === 'web-1', 30 * MIN);
  t.ok(rolled >= 0, 'rolled back to web:1');
  const failedTasks = (await tasksOf(vc, 'api')).filter((x) => x.spec.taskDefinition === 'web-2' && x.status?.lastStatus === 'STOPPED');
  t.ok(failedTasks.length >= 10, `${failedTasks.length} failed tasks of web:2`);
  t.match(failedTasks[0]!.status, { stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited', containers: [{ name: 'web', lastStatus: 'STOPPED', exitCode: 1 }] });
  t.ok((await vc.until(async () => (await svcOf(vc, 'api')).status?.steady === true, 10 * MIN)) >= 0, 'steady again on web:1');
  const s = await svcOf(vc, 'api');
  t.match(s.status?.deployments, [{ status: 'PRIMARY', taskDefinition: 'web-1', rolloutState: 'COMPLETED', runningCount: 2 }]);
  const msgs = (s.status?.events ?? []).map((e) => e.message);
  t.ok(msgs.some((m) => /^\(service api\) \(deployment ecs-svc\/\d+\) deployment failed: tasks failed to start\.$/.test(m)), 'the failure is an event');
  t.ok(msgs.some((m) => /rolling back to the last completed task definition web-1/.test(m)));
});

t.test('run-task and stop-task: the lifecycle and the stopped reasons', async (t) => {
  const vc = await cluster(t);
  const c = vc.cp.client;
  await ecs.createCluster(c, { clusterName: 'batch' });
  await ecs.registerTaskDefinition(c, { family: 'job', containerDefinitions: [{ name: 'main', image: 'busybox', memory: 128, dockerLabels: { 'sim.berth.dev/run-seconds': '30', 'sim.berth.dev/exit-code': '3' } }, { name: 'side', image: 'busybox', memory: 64, essential: false }] });
  const none = (await ecs.runTask(c, NS, { cluster: 'batch', taskDefinition: 'job' })) as { tasks: unknown[]; failures: { reason: string }[] };
  t.same(none, { tasks: [], failures: [{ reason: 'No Container Instances were found in your cluster.' }] }, 'EC2 without container instances: a failure, as ECS answers');
  await vc.apply(asgYaml('batch-nodes', 1, ', nodeLabels: {ecs.berth.dev/cluster: batch}'));
  await vc.run(3 * MIN);
  const run = (await ecs.runTask(c, NS, { cluster: 'batch', taskDefinition: 'job', count: 2 })) as { tasks: { taskArn: string; lastStatus: string; group: string }[] };
  t.equal(run.tasks.length, 2);
  t.match(run.tasks[0], { lastStatus: 'PROVISIONING', group: 'family:job', taskArn: /^arn:aws:ecs:us-east-1:000000000000:task\/batch\/[0-9a-f]{32}$/ });
  const [a, b] = run.tasks.map((x) => x.taskArn.split('/').at(-1)!) as [string, string];
  // The states task a passes through, in order, as ECS reports them (each instant after the cluster settles).
  const seen: string[] = ['PROVISIONING'];
  t.ok((await vc.until(async () => {
    const x = await c.get<Task>(EcsKinds.Task, a, NS);
    const s = x.status?.lastStatus ?? 'PROVISIONING';
    if (seen.at(-1) !== s) seen.push(s);
    return x.status?.lastStatus === 'RUNNING';
  }, 2 * MIN)) >= 0);
  t.same(seen, ['PROVISIONING', 'PENDING', 'RUNNING'], 'PROVISIONING → PENDING (placed, starting) → RUNNING');
  const stop = (await ecs.stopTask(c, NS, { cluster: 'batch', task: b })) as { task: { desiredStatus: string } };
  t.equal(stop.task.desiredStatus, 'STOPPED');
  await vc.run(MIN);
  const d = (await ecs.describeTasks(c, NS, { cluster: 'batch', tasks: [a, b, 'ffffffffffffffffffffffffffffffff'] })) as { tasks: Record<string, unknown>[]; failures: { reason: string }[] };
  t.match(d.tasks[1], { lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stopCode: 'UserInitiated', stoppedReason: 'Task stopped by user' });
  t.match(d.tasks[0], { lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited', containers: [{ name: 'main', lastStatus: 'STOPPED', exitCode: 3 }, { name: 'side', lastStatus: 'STOPPED' }] }, 'the essential container exited after 30 s: the whole task stops');
  t.ok(d.tasks[0]!.startedAt && d.tasks[0]!.stoppedAt);
  t.same(d.failures, [{ arn: 'arn:aws:ecs:us-east-1:000000000000:task/batch/ffffffffffffffffffffffffffffffff', reason: 'MISSING' }]);
  t.equal((await c.tryGet(Kinds.Pod, a, NS)) ?? 'gone', 'gone', 'a stopped task has no pod');
  const listed = (await ecs.listTasks(c, NS, { cluster: 'batch', desiredStatus: 'STOPPED' })) as { taskArns: string[] };
  t.equal(listed.taskArns.length, 1, 'stop-task sets desiredStatus STOPPED; an exited task keeps desiredStatus RUNNING as on ECS');
  // Stopped tasks go after an hour.
  await vc.run(61 * MIN);
  t.equal((await tasksOf(vc)).length, 0);
});

t.test('port mappings: a static host port (host mode, or a fixed hostPort in bridge mode) fits once per instance; dynamic bridge ports do not conflict', async (t) => {
  const vc = await cluster(t);
  const c = vc.cp.client;
  await vc.apply(asgYaml('port-nodes', 2, ', nodeLabels: {ecs.berth.dev/cluster: ports}'));
  await ecs.createCluster(c, { clusterName: 'ports' });
  const small = { cpu: 128, memory: 128, essential: true };
  await ecs.registerTaskDefinition(c, { family: 'hostnet', networkMode: 'host', containerDefinitions: [{ name: 'web', image: 'nginx', ...small, portMappings: [{ containerPort: 8080 }] }] });
  await ecs.registerTaskDefinition(c, { family: 'fixed', networkMode: 'bridge', containerDefinitions: [{ name: 'web', image: 'nginx', ...small, portMappings: [{ containerPort: 80, hostPort: 9090 }] }] });
  await ecs.registerTaskDefinition(c, { family: 'dynamic', networkMode: 'bridge', containerDefinitions: [{ name: 'web', image: 'nginx', ...small, portMappings: [{ containerPort: 80 }] }] });
  await vc.run(3 * MIN);
  /** Runs `count` tasks and waits (up to 5 virtual minutes) until each is RUNNING or left unplaced. */
  const runAll = async (family: string, count: number): Promise<Task[]> => {
    const out = (await ecs.runTask(c, NS, { cluster: 'ports', taskDefinition: family, count })) as { tasks: { taskArn: string }[] };
    const get = (): Promise<Task[]> => Promise.all(out.tasks.map((x) => c.get<Task>(EcsKinds.Task, x.taskArn.split('/').at(-1)!, NS)));
    await vc.until(async () => (await get()).every((x) => x.status?.lastStatus === 'RUNNING' || (x.status?.lastStatus === 'PROVISIONING' && x.status.placementMessage)), 5 * MIN);
    return get();
  };
  for (const family of ['hostnet', 'fixed']) {
    // Three tasks wanting the same host port on two instances: one per instance, the third waits.
    const ts = await runAll(family, 3);
    const running = ts.filter((x) => x.status?.lastStatus === 'RUNNING');
    t.equal(running.length, 2, `${family}: two tasks run`);
    t.equal(new Set(running.map((x) => x.status?.containerInstance)).size, 2, `${family}: on two different instances`);
    const waiting = ts.filter((x) => x.status?.lastStatus === 'PROVISIONING');
    t.equal(waiting.length, 1, `${family}: the third cannot be placed`);
    t.match(waiting[0]!.status?.placementMessage, /didn't have free ports/, `${family}: and says why`);
    for (const x of ts) await ecs.stopTask(c, NS, { cluster: 'ports', task: x.metadata.name! });
    await vc.run(MIN);
  }
  // hostPort 0 in bridge mode: Docker picks a free port, so any number of them fit on one instance.
  const dyn = await runAll('dynamic', 5);
  t.ok(dyn.every((x) => x.status?.lastStatus === 'RUNNING'), 'five dynamic-port tasks all run');
});

t.test('capacity providers: managed scaling out for PROVISIONING tasks and in when idle; base and weight', async (t) => {
  t.same(splitByStrategy([{ capacityProvider: 'FARGATE', base: 1, weight: 1 }, { capacityProvider: 'FARGATE_SPOT', weight: 3 }], 9), ['FARGATE', 'FARGATE_SPOT', 'FARGATE_SPOT', 'FARGATE_SPOT', 'FARGATE', 'FARGATE_SPOT', 'FARGATE_SPOT', 'FARGATE_SPOT', 'FARGATE']);
  t.same(splitByStrategy([{ capacityProvider: 'a', base: 2, weight: 0 }, { capacityProvider: 'b', weight: 1 }], 4), ['a', 'a', 'b', 'b'], 'weight 0: only its base');

  const vc = await cluster(t);
  const c = vc.cp.client;
  await vc.apply(asgYaml('cp-group', 0));
  await ecs.createCapacityProvider(c, { name: 'cp-one', autoScalingGroupProvider: { autoScalingGroupArn: 'arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1234:autoScalingGroupName/cp-group', managedScaling: { status: 'ENABLED', targetCapacity: 100 } } });
  await ecs.createCluster(c, { clusterName: 'scale', capacityProviders: ['cp-one', 'FARGATE', 'FARGATE_SPOT'], defaultCapacityProviderStrategy: [{ capacityProvider: 'cp-one', weight: 1 }] });
  // m5.large allocatable is about 1930m / 7 GiB: tasks of 1024 units (1000m) and 1 GiB fit one per instance.
  await ecs.registerTaskDefinition(c, { family: 'big', containerDefinitions: [{ name: 'c', image: 'i', cpu: 1024, memory: 1024 }] });
  await ecs.createService(c, NS, { cluster: 'scale', serviceName: 'big', taskDefinition: 'big', desiredCount: 3 });
  await vc.run(30_000);
  t.ok(liveTasks(await tasksOf(vc, 'big')).every((x) => x.status?.lastStatus === 'PROVISIONING' && x.spec.capacityProvider === 'cp-one'), 'no instances yet: PROVISIONING');
  const up = await vc.until(async () => (await svcOf(vc, 'big')).status?.steady === true, 10 * MIN);
  t.ok(up >= 0, 'the group scaled out and the tasks run');
  let g = await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'cp-group');
  t.equal(g.spec.desiredCapacity, 3, 'three instances for three tasks (M = 3, target 100)');
  const cp = await c.get<CapacityProvider>(EcsKinds.CapacityProvider, 'cp-one');
  t.equal(cp.status?.capacityProviderReservation, 100);
  const nodes = (await c.list(Kinds.Node, { labelSelector: 'autoscaling.berth.dev/group-name=cp-group' })).items;
  t.ok(nodes.every((n) => n.metadata.labels?.['ecs.berth.dev/cluster'] === 'scale'), "the provider's instances joined the cluster");

  await ecs.updateService(c, NS, { cluster: 'scale', service: 'big', desiredCount: 1 });
  await vc.run(10 * MIN);
  g = await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'cp-group');
  t.equal(g.spec.desiredCapacity, 3, 'not yet: scale-in waits 15 minutes below target');
  await vc.run(10 * MIN);
  g = await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'cp-group');
  t.equal(g.spec.desiredCapacity, 1, 'scaled in to the one instance with a task');
  await vc.run(3 * MIN);
  const live = (await c.list<Instance>(Kinds.Instance, { labelSelector: 'autoscaling.berth.dev/group-name=cp-group' })).items.filter((i) => i.status?.state === 'running');
  t.equal(live.length, 1);
  const [task] = liveTasks(await tasksOf(vc, 'big'));
  t.equal(task!.status?.lastStatus, 'RUNNING', 'the busy instance was kept: the task still runs');

  // Fargate providers by base and weight on a service.
  await ecs.registerTaskDefinition(c, JSON.parse(readFileSync(join(CORPUS, 'nginx_fargate.json'), 'utf8')));
  await ecs.createService(c, NS, { cluster: 'scale', serviceName: 'fg', taskDefinition: 'nginx', desiredCount: 5, capacityProviderStrategy: [{ capacityProvider: 'FARGATE', base: 1, weight: 1 }, { capacityProvider: 'FARGATE_SPOT', weight: 3 }] });
  t.ok((await vc.until(async () => (await svcOf(vc, 'fg')).status?.steady === true, 5 * MIN)) >= 0, 'the Fargate service runs');
  const fg = liveTasks(await tasksOf(vc, 'fg'));
  t.same(fg.map((x) => x.spec.capacityProvider).sort(), ['FARGATE', 'FARGATE', 'FARGATE_SPOT', 'FARGATE_SPOT', 'FARGATE_SPOT'], 'base 1 on FARGATE, then 1:3');
  const fpod = await c.get<Pod>(Kinds.Pod, fg[0]!.metadata.name!, NS);
  t.equal(fpod.spec.schedulerName, 'fargate-scheduler');
  t.equal(fpod.metadata.annotations?.['ecs.berth.dev/fargate-size'], '256/512');
  t.match(fpod.spec.nodeName, /^fargate-/);
  // The same on a standalone task (RunTask's capacityProviderStrategy): base 2 on FARGATE_SPOT, weight 0 there, the rest on FARGATE.
  const rt = (await ecs.runTask(c, NS, { cluster: 'scale', taskDefinition: 'nginx', count: 5, capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', base: 2, weight: 0 }, { capacityProvider: 'FARGATE', weight: 1 }] })) as { tasks: { taskArn: string; capacityProviderName?: string }[] };
  const rtTasks = await Promise.all(rt.tasks.map((x) => c.get<Task>(EcsKinds.Task, x.taskArn.split('/').at(-1)!, NS)));
  t.same(rtTasks.map((x) => x.spec.capacityProvider).sort(), ['FARGATE', 'FARGATE', 'FARGATE', 'FARGATE_SPOT', 'FARGATE_SPOT'], 'run-task: the base first, then by weight');
  t.ok((await vc.until(async () => (await Promise.all(rtTasks.map((x) => c.get<Task>(EcsKinds.Task, x.metadata.name!, NS)))).every((x) => x.status?.lastStatus === 'RUNNING'), 5 * MIN)) >= 0, 'the five tasks run on Fargate');
  for (const x of rtTasks) t.equal((await c.get<Pod>(Kinds.Pod, x.metadata.name!, NS)).metadata.annotations?.['ecs.berth.dev/capacity-provider'], x.spec.capacityProvider, `${x.metadata.name}: its pod runs on ${x.spec.capacityProvider}`);
  await t.rejects(ecs.createService(c, NS, { cluster: 'scale', serviceName: 'nope', taskDefinition: 'big', desiredCount: 1, launchType: 'FARGATE' }), { message: /does not support launch_type FARGATE/ });
});

t.test("a service's placement strategy and a run-task's constraints reach berth's scheduler (the ECS placement plugin)", async (t) => {
  const vc = await cluster(t);
  const c = vc.cp.client;
  await vc.apply(asgYaml('spread-nodes', 3, ', nodeLabels: {ecs.berth.dev/cluster: place}').replace('[us-east-1a, us-east-1b]', '[us-east-1a, us-east-1b, us-east-1c]'));
  await ecs.createCluster(c, { clusterName: 'place' });
  await ecs.registerTaskDefinition(c, { family: 'small', containerDefinitions: [{ name: 'c', image: 'i', cpu: 128, memory: 256 }] });
  await vc.run(3 * MIN);
  await ecs.createService(c, NS, { cluster: 'place', serviceName: 'packed', taskDefinition: 'small', desiredCount: 3, placementStrategy: [{ type: 'binpack', field: 'memory' }] });
  t.ok((await vc.until(async () => (await svcOf(vc, 'packed')).status?.steady === true, 5 * MIN)) >= 0);
  const packed = liveTasks(await tasksOf(vc, 'packed'));
  t.equal(new Set(packed.map((x) => x.status?.containerInstance)).size, 1, 'binpack on memory: all three on one instance');
  const run = (await ecs.runTask(c, NS, { cluster: 'place', taskDefinition: 'small', count: 3, placementConstraints: [{ type: 'distinctInstance' }], placementStrategy: [{ type: 'spread', field: 'attribute:ecs.availability-zone' }] })) as { tasks: { taskArn: string }[] };
  await vc.run(MIN);
  const ids = run.tasks.map((x) => x.taskArn.split('/').at(-1)!);
  const placed = await Promise.all(ids.map((id) => c.get<Task>(EcsKinds.Task, id, NS)));
  t.ok(placed.every((x) => x.status?.lastStatus === 'RUNNING'));
  t.equal(new Set(placed.map((x) => x.status?.containerInstance)).size, 3, 'distinctInstance and spread by zone: one task per instance');
  await ecs.createService(c, NS, { cluster: 'place', serviceName: 'picky', taskDefinition: 'small', desiredCount: 1, placementConstraints: [{ type: 'memberOf', expression: 'attribute:ecs.instance-type == c5.large' }] });
  await vc.run(MIN);
  const picky = await svcOf(vc, 'picky');
  t.equal(picky.status?.pendingCount, 1);
  t.match(picky.status?.events?.[0]?.message, /^\(service picky\) was unable to place a task because no container instance met all of its requirements\. Reason: 0\/3 nodes are available: .*memberOf/);
});

t.test('a Service with binpack on memory, end to end: the instance with the least remaining memory that fits first', async (t) => {
  const vc = await cluster(t);
  const c = vc.cp.client;
  // Two container instances. Registered MEMORY (the Node's allocatable): c5.large 3422 MiB, m5.large 7518 MiB.
  for (const type of ['c5.large', 'm5.large']) await vc.apply(asgYaml(`bp-${type.replace('.', '-')}`, 1, ', nodeLabels: {ecs.berth.dev/cluster: bp}', type));
  await ecs.createCluster(c, { clusterName: 'bp' });
  // Placement counts memoryReservation (1024 MiB), not the 4096 MiB hard limit: with the limit no task would fit on c5.large.
  await ecs.registerTaskDefinition(c, { family: 'packed', containerDefinitions: [{ name: 'c', image: 'busybox:1.36', cpu: 64, memory: 4096, memoryReservation: 1024 }] });
  await ecs.registerTaskDefinition(c, { family: 'big', containerDefinitions: [{ name: 'c', image: 'busybox:1.36', cpu: 64, memory: 3072 }] });
  await vc.run(3 * MIN);
  // A 3072 MiB task already on m5.large: 4446 MiB remain there.
  await ecs.runTask(c, NS, { cluster: 'bp', taskDefinition: 'big', placementConstraints: [{ type: 'memberOf', expression: 'attribute:ecs.instance-type == m5.large' }] });
  await vc.run(MIN);
  await ecs.createService(c, NS, { cluster: 'bp', serviceName: 'packed', taskDefinition: 'packed', desiredCount: 5, placementStrategy: [{ type: 'binpack', field: 'memory' }] });
  t.ok((await vc.until(async () => (await svcOf(vc, 'packed')).status?.steady === true, 5 * MIN)) >= 0, 'all five run');
  // By hand: c5.large has the least remaining memory (3422 < 4446) → 3 tasks (350 MiB left, a
  // fourth does not fit); then m5.large → the other 2. (berth's own MostAllocated would have
  // started on m5.large, already 41 % used: 4 there, 1 on c5.large.)
  const typeOf = new Map((await c.list(Kinds.Node)).items.map((n) => [n.metadata.name!, n.metadata.labels?.['node.kubernetes.io/instance-type'] ?? '']));
  const perType: Record<string, number> = {};
  for (const x of liveTasks(await tasksOf(vc, 'packed'))) {
    const type = typeOf.get(x.status!.containerInstance!)!;
    perType[type] = (perType[type] ?? 0) + 1;
  }
  t.same(perType, { 'c5.large': 3, 'm5.large': 2 });
  const cis = (await c.list<ContainerInstance>(EcsKinds.ContainerInstance)).items;
  const remaining = Object.fromEntries(cis.map((ci) => [typeOf.get(ci.metadata.name!), ci.status!.remainingResources!.find((r) => r.name === 'MEMORY')!.integerValue]));
  t.same(remaining, { 'c5.large': 3422 - 3 * 1024, 'm5.large': 7518 - 3072 - 2 * 1024 });
});
