import t from 'tap';
import type { KubeObject, Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { DRAINING_SINCE_ANNOTATION, type AutoScalingGroup, type Instance } from '../cloud/types.js';
import { TargetGroupKind, type ElbHandle, type TargetGroup } from '../elb/index.js';
import { virtualCluster } from '../nodeautoscaler/vcluster.testutil.js';

const MIN = 60_000;
const COMPONENTS = ['cloud', 'controllers', 'scheduler', 'agent', 'elb'];

const targetGroup = `
apiVersion: elb.berth.dev/v1
kind: TargetGroup
metadata: {name: web}
spec:
  targetType: instance
  port: 8080
  healthCheck: {intervalSeconds: 10, healthyThresholdCount: 2, unhealthyThresholdCount: 2}
  attributes: {deregistration_delay.timeout_seconds: "60"}
---
apiVersion: elb.berth.dev/v1
kind: LoadBalancer
metadata: {name: web}
spec:
  listeners: [{port: 80, targetGroupName: web}]
`;
const asg = (healthCheckType: string) => `
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: web}
spec:
  minSize: 2
  maxSize: 4
  launchTemplate: {instanceType: m5.large}
  availabilityZones: [us-east-1a, us-east-1b]
  healthCheckType: ${healthCheckType}
  healthCheckGracePeriod: 300
  targetGroups: [{name: web}]
`;
/** A DaemonSet whose pod on every node answers on the node's port 8080. */
const daemonSet = `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}, annotations: {sim.berth.dev/service-time-ms: "20000"}}
    spec:
      containers:
      - {name: c, image: web:1, ports: [{containerPort: 8080, hostPort: 8080}], resources: {requests: {cpu: 100m, memory: 64Mi}}}
`;

t.test('healthCheckType ELB: an instance its target group finds unhealthy is drained, terminated and replaced once the grace period has passed', async (t) => {
  const vc = await virtualCluster({ components: COMPONENTS, elb: { virtual: true } });
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  const tg = async () => (await c.get<TargetGroup>(TargetGroupKind, 'web', 'default')).status?.targets ?? [];
  const group = async () => c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'web');
  const inService = async () => (await group()).status?.instances?.filter((i) => i.lifecycleState === 'InService').map((i) => i.instanceId).sort() ?? [];

  await vc.apply(targetGroup);
  await vc.apply(asg('ELB'));
  // The instances are registered when they run; nothing answers on 8080 yet, so their checks fail.
  t.ok((await vc.until(async () => (await tg()).filter((x) => x.state === 'unhealthy').length === 2, 5 * MIN)) >= 0, 'both instances are registered, and unhealthy: nothing answers on port 8080');
  const first = await inService();
  t.equal(first.length, 2);
  t.same((await tg()).map((x) => x.id).sort(), first, 'the targets are the group\'s instances');
  await vc.run(MIN);
  t.same(await inService(), first, 'within the 300 s grace period the group does not act on the failed checks');

  // A pod answering on every node's port 8080: the targets become healthy before the grace period ends.
  await vc.apply(daemonSet);
  t.ok((await vc.until(async () => (await tg()).filter((x) => x.state === 'healthy').length === 2, 3 * MIN)) >= 0, 'the DaemonSet pods make both targets healthy');
  await vc.run(5 * MIN);
  t.same(await inService(), first, 'healthy instances are kept after the grace period');

  // The pod on one instance's node starts answering 503.
  const victim = first[0]!;
  const inst = await c.get<Instance>(Kinds.Instance, victim);
  const pods = await c.list<Pod>(Kinds.Pod, { namespace: 'default' });
  const pod = pods.items.find((p) => p.spec.nodeName === inst.status?.nodeName)!;
  t.ok(pod, 'a web pod runs on the victim instance\'s node');
  await c.patch(Kinds.Pod, pod.metadata.name!, 'default', 'merge', { metadata: { annotations: { 'sim.berth.dev/http-status': '503' } } });

  t.ok((await vc.until(async () => !!(await c.get<Instance>(Kinds.Instance, victim)).metadata.annotations?.[DRAINING_SINCE_ANNOTATION], 2 * MIN)) >= 0, 'the group takes the unhealthy instance out of service');
  const g = await group();
  const act = g.status?.activities?.find((a) => a.description === `Terminating EC2 instance: ${victim}`);
  t.match(act?.cause, /an instance was taken out of service in response to an ELB system health check failure\./, 'the activity history gives the ELB health check as the cause');
  // It had no request in flight (the load balancer stopped sending it any when it failed), so
  // its deregistration completes at once, as ELB does, and the group terminates it.
  t.ok((await vc.until(async () => (await c.get<Instance>(Kinds.Instance, victim)).status?.state === 'terminated', MIN)) >= 0, 'with nothing in flight it is terminated at once');
  t.ok((await vc.until(async () => {
    const ids = await inService();
    const healthy = (await tg()).filter((x) => x.state === 'healthy').map((x) => x.id).sort();
    return ids.length === 2 && !ids.includes(victim) && healthy.length === 2 && healthy.join() === ids.join();
  }, 5 * MIN)) >= 0, 'a replacement joins the group and its target group, healthy');
  t.notOk((await tg()).some((x) => x.id === victim), 'the old instance is no longer a target');

  // Scale-in under load: requests take 20 s, so the instance leaving is drained first.
  const load = (vc.cp.handles.elb as ElbHandle).load('default/web', { type: 'constant', rps: 10 }, { tickMs: 1000 });
  t.teardown(() => load.stop());
  await vc.run(30_000);
  await c.patch(Kinds.AutoScalingGroup, 'web', undefined, 'merge', { spec: { minSize: 1, desiredCapacity: 1 } });
  let leaving = '';
  t.ok((await vc.until(async () => {
    const ds = (await c.list<Instance>(Kinds.Instance)).items.filter((i) => i.metadata.annotations?.[DRAINING_SINCE_ANNOTATION] && i.status?.state === 'running');
    leaving = ds[0]?.metadata.name ?? '';
    return ds.length === 1;
  }, MIN)) >= 0, 'scale-in takes one instance out of service');
  const drainedAt = vc.clock.now();
  t.equal((await tg()).find((x) => x.id === leaving)?.state, 'draining', 'its target is draining: requests are in flight');
  await vc.run(10_000);
  t.equal((await c.get<Instance>(Kinds.Instance, leaving)).status?.state, 'running', 'it keeps running while its requests finish');
  t.ok((await vc.until(async () => (await c.get<Instance>(Kinds.Instance, leaving)).status?.state === 'terminated', 2 * MIN)) >= 0, 'then it is terminated');
  const waited = (vc.clock.now() - drainedAt) / 1000;
  t.ok(waited >= 15 && waited <= 70, `it was terminated ${waited} s after it left service: when its last 20 s request finished, within the 60 s deregistration delay`);
  load.stop();
  t.equal(load.stats.failed, 0, 'no request failed during the scale-in');
});

t.test('healthCheckType EC2 ignores the target groups\' health; a bad group or target group is refused with the field', async (t) => {
  const vc = await virtualCluster({ components: COMPONENTS, elb: { virtual: true } });
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await vc.apply(targetGroup);
  await vc.apply(asg('EC2').replace('healthCheckGracePeriod: 300', 'healthCheckGracePeriod: 0'));
  const tg = async () => (await c.get<TargetGroup>(TargetGroupKind, 'web', 'default')).status?.targets ?? [];
  t.ok((await vc.until(async () => (await tg()).filter((x) => x.state === 'unhealthy').length === 2, 5 * MIN)) >= 0, 'both targets are unhealthy');
  const ids = (await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'web')).status!.instances.map((i) => i.instanceId).sort();
  await vc.run(5 * MIN);
  const after = (await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'web')).status!.instances;
  t.same(after.map((i) => i.instanceId).sort(), ids, 'an EC2-checked group keeps instances its target group finds unhealthy');
  t.ok(after.every((i) => i.healthStatus === 'Healthy'), 'and reports them Healthy');

  const bad = { apiVersion: 'autoscaling.berth.dev/v1', kind: 'AutoScalingGroup', metadata: { name: 'bad' }, spec: { minSize: 1, maxSize: 1, launchTemplate: { instanceType: 'm5.large' }, availabilityZones: ['us-east-1a'], healthCheckType: 'ELBV2', targetGroups: [{ namespace: 'default' }] } } as KubeObject;
  await t.rejects(c.create(bad), { code: 422, message: /spec\.healthCheckType: Unsupported value: "ELBV2".*spec\.targetGroups\[0\]\.name: Required value/s });
  const badTg = { apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup', metadata: { name: 'bad', namespace: 'default' }, spec: { targetType: 'instance', port: 70000, targets: [{ id: 'web-0', port: 80 }] } } as KubeObject;
  await t.rejects(c.create(badTg), { code: 422, message: /spec\.port: Invalid value: 70000.*spec\.targets\[0\]\.id: Invalid value: "web-0"/s });
});
