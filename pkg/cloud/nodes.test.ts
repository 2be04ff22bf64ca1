/**
 * What a stopped instance and a Spot interruption do to Kubernetes, with the whole control plane
 * (controllers, scheduler, node agent, cloud) on a virtual clock: the Node of a stopped instance
 * stays NotReady and its pods are evicted after their 300 s toleration and replaced elsewhere; a
 * started instance's Node is Ready again; a Spot interruption notice cordons, taints and drains
 * the Node, and the instance terminates two minutes later.
 */
import t from 'tap';
import type { Deployment, Node, Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { createControlPlane } from '../controlplane/index.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import { interruptSpot, seededRandom, type AutoScalingGroup, type Instance } from './index.js';

const MIN = 60_000;

/** Three m5.large: an Auto Scaling group (On-Demand or Spot), or three standalone instances. */
async function cluster(t: { teardown(fn: () => unknown): void }, fleet: 'group' | 'spot-group' | 'standalone') {
  const spot = fleet === 'spot-group';
  const clock = new VirtualClock();
  const cp = await createControlPlane({ backend: new MemoryBackend(), clock, cloud: { random: seededRandom(9), bootDelaySeconds: 30, spotInterruptions: false } });
  await cp.start();
  t.teardown(() => cp.stop());
  const c = cp.client;
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 60; i++) await clock.advance(0);
  };
  const advance = async (ms: number): Promise<void> => {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      await clock.advance(Math.min(5_000, end - clock.now()));
      await settle();
    }
  };
  if (fleet === 'standalone') {
    for (const [i, zone] of ['us-east-1a', 'us-east-1b', 'us-east-1c'].entries()) {
      await c.create<Instance>({ apiVersion: 'ec2.berth.dev/v1', kind: 'Instance', metadata: { name: `i-0000000000000c00${i}` }, spec: { instanceType: 'm5.large', availabilityZone: zone } });
    }
  } else await c.create<AutoScalingGroup>({
    apiVersion: 'autoscaling.berth.dev/v1',
    kind: 'AutoScalingGroup',
    metadata: { name: 'workers' },
    spec: {
      minSize: 3,
      maxSize: 3,
      desiredCapacity: 3,
      launchTemplate: { instanceType: 'm5.large' },
      ...(spot ? { mixedInstancesPolicy: { instancesDistribution: { onDemandPercentageAboveBaseCapacity: 0 } } } : {}),
      availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    },
  });
  await advance(MIN);
  // Two 1-cpu pods: an m5.large (1930m allocatable) holds one, so one node stays free.
  await c.create<Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27', resources: { requests: { cpu: '1', memory: '256Mi' } } }] } },
    },
  });
  await advance(MIN);
  const pods = async (): Promise<Pod[]> => (await c.list<Pod>(Kinds.Pod, { namespace: 'default', labelSelector: 'app=web' })).items;
  const running = async (): Promise<Pod[]> => (await pods()).filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
  const instanceOf = async (node: string): Promise<Instance> => (await c.list<Instance>(Kinds.Instance)).items.find((i) => i.status?.nodeName === node)!;
  const ready = (n: Node | undefined): string | undefined => n?.status?.conditions?.find((x) => x.type === 'Ready')?.status;
  return { cp, c, clock, settle, advance, pods, running, instanceOf, ready };
}

t.test('a stopped instance: its Node stays NotReady, its pods move; started again, it rejoins', async (t) => {
  const s = await cluster(t, 'standalone');
  const before = await s.running();
  t.equal(before.length, 2, 'two pods running');
  const victimNode = before[0]!.spec.nodeName!;
  const victim = await s.instanceOf(victimNode);
  t.equal(s.ready(await s.c.get<Node>(Kinds.Node, victimNode)), 'True');

  await s.c.patch(Kinds.Instance, victim.metadata.name!, undefined, 'merge', { spec: { state: 'stopped' } });
  await s.settle();
  t.same((await s.c.get<Node>(Kinds.Node, victimNode)).spec.taints?.map((x) => `${x.key}:${x.effect}`), ['node.cloudprovider.kubernetes.io/shutdown:NoSchedule'], 'the cloud provider’s shutdown taint at once');
  // No kubelet posts for a machine that is off: after the 40 s node-monitor grace period it is NotReady.
  await s.advance(MIN);
  const node = await s.c.get<Node>(Kinds.Node, victimNode);
  t.equal(s.ready(node), 'Unknown', 'NotReady: the kubelet stopped posting');
  t.same(node.spec.taints?.map((x) => `${x.key}:${x.effect}`).sort(), ['node.cloudprovider.kubernetes.io/shutdown:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
  t.equal((await s.c.get<Instance>(Kinds.Instance, victim.metadata.name!)).status!.state, 'stopped');
  t.ok((await s.pods()).some((p) => p.spec.nodeName === victimNode && !p.metadata.deletionTimestamp), 'the pod stays for its 300 s toleration');

  // The default tolerations of node.kubernetes.io/unreachable:NoExecute are 300 s.
  await s.advance(5 * MIN);
  const after = await s.running();
  t.equal(after.length, 2, 'two pods running again');
  t.ok(after.every((p) => p.spec.nodeName !== victimNode), 'none on the stopped instance’s Node');


  await s.c.patch(Kinds.Instance, victim.metadata.name!, undefined, 'merge', { spec: { state: 'running' } });
  await s.advance(MIN);
  const back = await s.c.get<Node>(Kinds.Node, victimNode);
  t.equal(s.ready(back), 'True', 'started again: the same Node is Ready');
  t.same(back.spec.taints, undefined, 'and untainted');
});

t.test('an Auto Scaling group replaces a stopped instance (it fails the EC2 health check)', async (t) => {
  const s = await cluster(t, 'group');
  const victim = (await s.c.list<Instance>(Kinds.Instance)).items[0]!;
  await s.c.patch(Kinds.Instance, victim.metadata.name!, undefined, 'merge', { spec: { state: 'stopped' } });
  await s.advance(MIN);
  t.equal((await s.c.get<Instance>(Kinds.Instance, victim.metadata.name!)).status!.state, 'terminated');
  const g = await s.c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'workers');
  t.equal(g.status!.instances.filter((i) => i.lifecycleState === 'InService').length, 3);
  t.equal((await s.running()).length, 2, 'the pods run on');
});

t.test('a Spot interruption notice: cordon, taint, drain; terminated at the deadline and replaced', async (t) => {
  const s = await cluster(t, 'spot-group');
  const insts = (await s.c.list<Instance>(Kinds.Instance)).items;
  t.ok(insts.length === 3 && insts.every((i) => i.status?.instanceLifecycle === 'spot'), 'three Spot Instances');
  const before = await s.running();
  t.equal(before.length, 2);
  const victimNode = before[0]!.spec.nodeName!;
  const victim = await s.instanceOf(victimNode);
  t.match((await s.c.get<Node>(Kinds.Node, victimNode)).metadata.labels, { 'eks.amazonaws.com/capacityType': 'SPOT' });

  // Pick exactly the victim: interrupt all three would leave nothing to move to.
  await s.c.patch(Kinds.Instance, victim.metadata.name!, undefined, 'merge', { metadata: { annotations: { 'ec2.berth.dev/send-spot-interruption': 'test' } } });
  await s.settle();
  const node = await s.c.get<Node>(Kinds.Node, victimNode);
  t.equal(node.spec.unschedulable, true, 'cordoned at the notice');
  t.match(node.spec.taints, [{ key: 'aws-node-termination-handler/spot-itn', effect: 'NoSchedule' }]);
  t.ok((await s.pods()).filter((p) => p.spec.nodeName === victimNode).every((p) => p.metadata.deletionTimestamp), 'drained at the notice');
  await s.advance(MIN);
  t.equal((await s.running()).filter((p) => p.spec.nodeName !== victimNode).length, 2, 'the pod runs elsewhere before the deadline');
  t.equal((await s.c.get<Instance>(Kinds.Instance, victim.metadata.name!)).status!.state, 'running', 'still running until the deadline');
  await s.advance(MIN + 10_000);
  t.match((await s.c.get<Instance>(Kinds.Instance, victim.metadata.name!)).status, { state: 'terminated', stateReason: { code: 'Server.SpotInstanceTermination' } });
  t.equal(await s.c.tryGet(Kinds.Node, victimNode), undefined, 'its Node is gone');
  await s.advance(MIN);
  const g = await s.c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'workers');
  t.equal(g.status!.instances.filter((i) => i.lifecycleState === 'InService').length, 3, 'the group replaced it');

  // interruptSpot picks by the seed: the same seed, the same instances.
  const ids = await interruptSpot(s.c, 0.34, seededRandom(3));
  t.equal(ids.length, 1, 'a third of three, rounded');
});
