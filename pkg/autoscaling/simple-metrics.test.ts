import t from 'tap';
import type { KubeObject, Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import type { AutoScalingGroup } from '../cloud/types.js';
import type { ElbHandle } from '../elb/index.js';
import { transferOf } from '../elb/load.js';
import { virtualCluster } from '../nodeautoscaler/vcluster.testutil.js';
import { PolicyKinds, targetGroupOf, type ScalingPolicy } from './policies.js';

const MIN = 60_000;
const group = (type = 'm5.xlarge') => `
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: web}
spec:
  minSize: 1
  maxSize: 10
  launchTemplate: {instanceType: ${type}}
  availabilityZones: [us-east-1a, us-east-1b]
`;
const deployment = (replicas: number, cpu: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}, annotations: {sim.berth.dev/cpu-ms-per-request: "1", sim.berth.dev/service-time-ms: "0"}}
    spec:
      containers:
      - {name: c, image: web:1, ports: [{containerPort: 8080}], resources: {requests: {cpu: "${cpu}", memory: 256Mi}}}
`;

t.test('simple scaling: one adjustment per alarm, then the cooldown before the next', async (t) => {
  const vc = await virtualCluster();
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await vc.apply(group());
  await vc.apply(deployment(2, '1'));
  // The alarm stays in ALARM (any load is above 10 %): only the cooldown spaces the scale-outs.
  await vc.apply(`
apiVersion: autoscaling.berth.dev/v1
kind: ScalingPolicy
metadata: {name: add-one}
spec:
  autoScalingGroupName: web
  policyType: SimpleScaling
  adjustmentType: ChangeInCapacity
  scalingAdjustment: 1
  cooldown: 600
  estimatedInstanceWarmup: 0
  alarm: {metric: ASGAverageCPUUtilization, comparisonOperator: GreaterThanThreshold, threshold: 10, evaluationPeriods: 1}
`);
  const desired = async () => (await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'web')).spec.desiredCapacity;
  t.ok((await vc.until(async () => (await desired()) === 2, 10 * MIN)) >= 0, 'the first alarm adds one instance');
  const first = Date.parse((await c.get<ScalingPolicy>(PolicyKinds.ScalingPolicy, 'add-one')).status!.lastScalingTime!);
  await vc.run(5 * MIN);
  t.equal(await desired(), 2, 'still 2 five minutes later: in cooldown');
  t.ok((await vc.until(async () => (await desired()) === 3, 10 * MIN)) >= 0, 'then one more');
  const second = Date.parse((await c.get<ScalingPolicy>(PolicyKinds.ScalingPolicy, 'add-one')).status!.lastScalingTime!);
  const gap = (second - first) / 1000;
  t.ok(gap >= 600 && gap <= 660, `the second scale-out came ${gap} s after the first (cooldown 600 s)`);

  await t.rejects(c.create({ apiVersion: 'autoscaling.berth.dev/v1', kind: 'ScalingPolicy', metadata: { name: 'bad' }, spec: { autoScalingGroupName: 'web', policyType: 'SimpleScaling', adjustmentType: 'ChangeInCapacity', alarm: { metric: 'ASGAverageCPUUtilization', comparisonOperator: 'GreaterThanThreshold', threshold: 50 } } } as KubeObject), {
    code: 422,
    message: /spec\.scalingAdjustment: Invalid value/,
  });
});

t.test('target tracking on ALBRequestCountPerTarget uses the target group\'s request count; ASGAverageNetworkOut the bytes the load balancer carried back from the group\'s pods', async (t) => {
  const vc = await virtualCluster({ components: ['cloud', 'controllers', 'scheduler', 'agent', 'autoscaling', 'elb'], elb: { virtual: true } });
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await vc.apply(group('m5.large'));
  await vc.apply(deployment(1, '100m'));
  await vc.apply(`
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`);
  const tg = () => c.tryGet<KubeObject & { status?: { targets?: { state: string }[] } }>({ apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' }, 'web-80', 'default');
  t.ok((await vc.until(async () => !!(await tg())?.status?.targets?.some((x) => x.state === 'healthy'), 10 * MIN)) >= 0, 'a healthy target');
  // 100 requests a second: 6,000 a minute; 2,000 per instance is the target, so 3 instances.
  const load = (vc.cp.handles.elb as ElbHandle).load('default/web-80', { type: 'constant', rps: 100 }, { tickMs: 1000 });
  t.teardown(() => load.stop());
  t.equal(targetGroupOf('app/web/50dc6c495c0c9188/targetgroup/web-80/73e2d6bc24d8a067'), 'web-80');
  await vc.apply(`
apiVersion: autoscaling.berth.dev/v1
kind: ScalingPolicy
metadata: {name: requests}
spec:
  autoScalingGroupName: web
  policyType: TargetTrackingScaling
  targetTrackingConfiguration:
    predefinedMetricSpecification: {predefinedMetricType: ALBRequestCountPerTarget, resourceLabel: app/web/50dc6c495c0c9188/targetgroup/web-80/73e2d6bc24d8a067}
    targetValue: 2000
---
apiVersion: autoscaling.berth.dev/v1
kind: ScalingPolicy
metadata: {name: network}
spec:
  autoScalingGroupName: web
  policyType: TargetTrackingScaling
  targetTrackingConfiguration:
    predefinedMetricSpecification: {predefinedMetricType: ASGAverageNetworkOut}
    targetValue: 100000000
    disableScaleIn: true
`);
  const desired = async () => (await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'web')).spec.desiredCapacity;
  t.ok((await vc.until(async () => (await desired()) === 3, 10 * MIN)) >= 0, 'scaled to 3 instances for 6,000 requests a minute');
  await vc.run(5 * MIN);
  t.equal(await desired(), 3, 'and holds at 3');
  const p = await c.get<ScalingPolicy>(PolicyKinds.ScalingPolicy, 'requests');
  t.ok(Math.abs(p.status!.lastMetricValue! - 2000) <= 200, `requests per target ${p.status!.lastMetricValue} near 2,000`);
  // Every answer is the app's response to a GET, the same size for every request (one pod
  // answers them all): 6,000 a minute over 3 instances.
  const pods = (await c.list<Pod>(Kinds.Pod, { namespace: 'default' })).items.filter((x) => x.status?.phase === 'Running');
  t.equal(pods.length, 1);
  const perAnswer = transferOf(pods[0]!, { status: 200, serviceMs: 0, cpuMs: 0, body: `${pods[0]!.metadata.name}\n` }).out;
  const n = await c.get<ScalingPolicy>(PolicyKinds.ScalingPolicy, 'network');
  const want = (6000 * perAnswer) / 3;
  t.ok(Math.abs(n.status!.lastMetricValue! - want) <= 0.1 * want, `NetworkOut per instance ${n.status!.lastMetricValue} bytes a minute near ${want}`);
  t.equal(n.status?.lastScalingTime, undefined, 'the network policy, far under its target, never scaled');
  await t.rejects(
    c.create({ apiVersion: 'autoscaling.berth.dev/v1', kind: 'ScalingPolicy', metadata: { name: 'bad' }, spec: { autoScalingGroupName: 'web', policyType: 'TargetTrackingScaling', targetTrackingConfiguration: { predefinedMetricSpecification: { predefinedMetricType: 'ALBRequestCountPerTarget' }, targetValue: 10 } } } as KubeObject),
    { code: 422, message: /resourceLabel: Required value/ },
  );
});
