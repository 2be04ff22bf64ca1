import t from 'tap';
import type { Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import type { AutoScalingGroup } from '../cloud/types.js';
import { virtualCluster } from '../nodeautoscaler/vcluster.testutil.js';
import { PolicyKinds, stepCapacity, type ScalingPolicy, type ScheduledAction } from './policies.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const group = (extra = '') => `
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: web}
spec:
  minSize: 1
  maxSize: 10
  launchTemplate: {instanceType: m5.xlarge}
  availabilityZones: [us-east-1a, us-east-1b]
${extra}`;

t.test('a scheduled action fires at its time in its time zone', async (t) => {
  const vc = await virtualCluster();
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await vc.apply(group());
  // 09:00 in New York on 1 January 2026 is 14:00 UTC (EST, UTC−5).
  await vc.apply(`
apiVersion: autoscaling.berth.dev/v1
kind: ScheduledAction
metadata: {name: morning}
spec: {autoScalingGroupName: web, recurrence: "0 9 * * *", timeZone: America/New_York, desiredCapacity: 3}
`);
  await vc.run(13 * HOUR + 59 * MIN);
  t.equal((await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'web')).spec.desiredCapacity, 1, 'not yet at 13:59 UTC');
  await vc.run(2 * MIN);
  const g = await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'web');
  t.equal(g.spec.desiredCapacity, 3, 'fired at 14:00 UTC');
  const a = await c.get<ScheduledAction>(PolicyKinds.ScheduledAction, 'morning');
  t.equal(a.status?.lastRunTime, '2026-01-01T14:00:00Z');
  t.equal(a.status?.nextRunTime, '2026-01-02T14:00:00Z');
  await t.rejects(
    c.create({ apiVersion: 'autoscaling.berth.dev/v1', kind: 'ScheduledAction', metadata: { name: 'bad' }, spec: { autoScalingGroupName: 'web', recurrence: '0 9 * * *', timeZone: 'Mars/Olympus', desiredCapacity: 1 } }),
    { code: 422 },
  );
});

t.test('target tracking holds average CPU near its target under a step in load', async (t) => {
  const vc = await virtualCluster();
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await vc.apply(group());
  await vc.apply(`
apiVersion: autoscaling.berth.dev/v1
kind: ScalingPolicy
metadata: {name: cpu50}
spec:
  autoScalingGroupName: web
  policyType: TargetTrackingScaling
  estimatedInstanceWarmup: 60
  targetTrackingConfiguration:
    predefinedMetricSpecification: {predefinedMetricType: ASGAverageCPUUtilization}
    targetValue: 50
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: load}
spec:
  replicas: 1
  selector: {matchLabels: {app: load}}
  template:
    metadata: {labels: {app: load}}
    spec:
      containers:
      - {name: c, image: nginx, resources: {requests: {cpu: "1", memory: 1Gi}}}
`);
  await vc.run(10 * MIN);
  t.equal((await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'web')).spec.desiredCapacity, 1, 'one node at 25 %');
  // The step: six times the load.
  await c.patch(Kinds.Deployment, 'load', 'default', 'merge', { spec: { replicas: 6 } });
  await vc.run(25 * MIN);
  const g = await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'web');
  const p = await c.get<ScalingPolicy>(PolicyKinds.ScalingPolicy, 'cpu50');
  const running = (await c.list<Pod>(Kinds.Pod)).items.filter((x) => x.status?.phase === 'Running').length;
  t.equal(running, 6, 'all six pods run');
  t.ok(g.spec.desiredCapacity! >= 2 && g.spec.desiredCapacity! <= 4, `desired capacity ${g.spec.desiredCapacity}`);
  t.ok(p.status!.lastMetricValue! <= 80 && p.status!.lastMetricValue! >= 30, `average CPU ${p.status?.lastMetricValue} % (target 50)`);
  t.ok(g.status?.activities?.some((a) => /^At \S+ a monitor alarm TargetTracking-web-AlarmHigh in state ALARM triggered policy cpu50 .*At \S+ an instance was started/.test(a.cause)), 'the activity history quotes the alarm');
});

t.test('step adjustments: AWS rounding of PercentChangeInCapacity', async (t) => {
  t.equal(stepCapacity(10, 'ChangeInCapacity', 2), 12);
  t.equal(stepCapacity(10, 'ExactCapacity', 4), 4);
  t.equal(stepCapacity(10, 'PercentChangeInCapacity', 25), 12, '2.5 rounds toward zero');
  t.equal(stepCapacity(3, 'PercentChangeInCapacity', 10), 4, '0.3 rounds away from zero');
  t.equal(stepCapacity(10, 'PercentChangeInCapacity', 10, 2), 12, 'minAdjustmentMagnitude');
});

t.test('predictive scaling launches capacity before a daily peak it saw the day before, and shows its forecast', async (t) => {
  const vc = await virtualCluster({ components: ['cloud', 'controllers', 'scheduler', 'agent', 'autoscaling'] });
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await vc.apply(group());
  await vc.apply(`
apiVersion: autoscaling.berth.dev/v1
kind: ScalingPolicy
metadata: {name: daily}
spec:
  autoScalingGroupName: web
  policyType: PredictiveScaling
  predictiveScalingConfiguration: {targetValue: 50, mode: ForecastAndScale, schedulingBufferTime: 600}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: peak}
spec:
  replicas: 1
  selector: {matchLabels: {app: peak}}
  template:
    metadata: {labels: {app: peak}}
    spec:
      containers:
      - {name: c, image: nginx, resources: {requests: {cpu: "1", memory: 1Gi}}}
`);
  const desired = async () => (await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'web')).spec.desiredCapacity;
  // Day 1: a peak from 12:00 to 14:00 UTC (three pods fill the one node).
  await vc.run(11 * HOUR + 59 * MIN);
  await c.patch(Kinds.Deployment, 'peak', 'default', 'merge', { spec: { replicas: 3 } });
  await vc.run(2 * HOUR);
  await c.patch(Kinds.Deployment, 'peak', 'default', 'merge', { spec: { replicas: 1 } });
  await vc.run(10 * HOUR);
  const before = await c.get<ScalingPolicy>(PolicyKinds.ScalingPolicy, 'daily');
  t.match(before.status?.message ?? '', /needs at least 24 hours/, 'no forecast before 24 h of history');
  // Day 2, 11:45: the forecast is there, capacity is not raised yet.
  await vc.run(11 * HOUR + 46 * MIN);
  const p = await c.get<ScalingPolicy>(PolicyKinds.ScalingPolicy, 'daily');
  t.equal(p.status?.forecast?.length, 48, 'a 48-hour hourly forecast');
  t.ok(p.status?.forecast?.some((f) => f.time === '2026-01-02T12:00:00Z' && f.capacity >= 2), 'it forecasts the noon peak', { forecast: p.status?.forecast?.filter((f) => f.load !== 1000) });
  t.equal(await desired(), 1, 'still one instance at 11:45');
  // 11:50 is the scheduling buffer (600 s) before the peak hour: capacity goes up before the load.
  await vc.run(6 * MIN);
  t.ok((await desired())! >= 2, `desired ${await desired()} at 11:51, before the peak`);
});
