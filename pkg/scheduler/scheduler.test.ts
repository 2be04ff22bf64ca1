import t from 'tap';
import { getCondition } from '../api/meta.js';
import type { Event, Node, Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { eventually, makeNode, makePod, startTestApi } from '../testing/index.js';
import { Scheduler, type SchedulerOptions } from './index.js';

const NODES = ['ip-10-0-1-5.ec2.internal', 'ip-10-0-1-6.ec2.internal', 'ip-10-0-1-7.ec2.internal'];

async function cluster(t: { teardown(fn: () => unknown): void }, opts?: SchedulerOptions) {
  const clock = new VirtualClock();
  const api = await startTestApi({ clock });
  const scheduler = new Scheduler(api.mgr, opts);
  api.mgr.add(scheduler);
  await api.start();
  t.teardown(() => api.stop());
  const { client } = api;
  return {
    client,
    clock,
    scheduler,
    addNode: (node: Node) => client.create(node),
    addPod: (pod: Pod) => client.create(pod),
    get: (name: string) => client.get<Pod>(Kinds.Pod, name, 'default'),
    /** Waits, stepping the virtual clock, until the pod is bound; returns its node. */
    bound: (name: string) => eventually(async () => (await client.get<Pod>(Kinds.Pod, name, 'default')).spec.nodeName, `pod ${name} bound`, 10_000, clock),
    events: async (name: string, reason: string) =>
      (await client.list<Event>(Kinds.Event, { namespace: 'default', fieldSelector: `involvedObject.name=${name},reason=${reason}` })).items,
    until: <T>(fn: () => T | Promise<T>, what: string) => eventually(fn, what, 10_000, clock),
  };
}

const std = (name: string) => makeNode(name).capacity({ cpu: '4', memory: '16Gi' });

t.test('binds pending pods, packing them onto the fuller node', async (t) => {
  const c = await cluster(t);
  for (const n of NODES) await c.addNode(std(n).obj());
  // The middle node already runs a 2-cpu pod (bound by someone else).
  await c.addPod(makePod('existing').req({ cpu: '2', memory: '2Gi' }).node(NODES[1]!).obj());
  await c.addPod(makePod('web-abc').req({ cpu: '1', memory: '1Gi' }).obj());
  t.equal(await c.bound('web-abc'), NODES[1], 'MostAllocated picks the node already in use');
  const pod = await c.get('web-abc');
  t.equal(getCondition(pod.status?.conditions, 'PodScheduled')?.status, 'True');
  const ev = await c.until(() => c.events('web-abc', 'Scheduled').then((l) => l[0]), 'Scheduled event');
  t.equal(ev.type, 'Normal');
  t.equal(ev.message, `Successfully assigned default/web-abc to ${NODES[1]}`);
  t.equal(ev.source?.component, 'default-scheduler');

  // The next one fills the same node: 2 + 1 + 1 = 4 cpu.
  await c.addPod(makePod('web-def').req({ cpu: '1', memory: '1Gi' }).obj());
  t.equal(await c.bound('web-def'), NODES[1]);
  // Now that node is full: the next goes to the first of the two empty ones (a tie, broken by name).
  await c.addPod(makePod('web-ghi').req({ cpu: '1', memory: '1Gi' }).obj());
  t.equal(await c.bound('web-ghi'), NODES[0]);
  const attempt = c.scheduler.explain('default/web-ghi')!;
  t.equal(attempt.nodeName, NODES[0]);
  t.same(attempt.rejected.map((r) => [r.node, r.plugin, r.reasons]), [[NODES[1], 'NodeResourcesFit', ['Insufficient cpu']]]);
  t.same(attempt.scores?.nodes, [NODES[0], NODES[2]]);
});

t.test('a pod that fits nowhere is marked Unschedulable, then scheduled when a node with room appears', async (t) => {
  const c = await cluster(t);
  for (const n of NODES) await c.addNode(std(n).obj());
  await c.addPod(makePod('big').req({ cpu: '8' }).obj());
  // No pod has a lower priority, so preemption cannot help either (kube-scheduler says so too).
  const message = '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
  const cond = await c.until(async () => {
    const p = await c.get('big');
    return getCondition(p.status?.conditions, 'PodScheduled');
  }, 'PodScheduled condition');
  t.same({ status: cond.status, reason: cond.reason, message: cond.message }, { status: 'False', reason: 'Unschedulable', message });
  const ev = await c.until(() => c.events('big', 'FailedScheduling').then((l) => l[0]), 'FailedScheduling event');
  t.equal(ev.type, 'Warning');
  t.equal(ev.message, message);
  t.equal((await c.get('big')).spec.nodeName, undefined);
  t.same(c.scheduler.pending(), { active: 0, backoff: 0, unschedulable: 1 }, 'parked until the cluster changes');
  t.same(
    c.scheduler.explain('default/big')!.rejected.map((r) => r.plugin),
    ['NodeResourcesFit', 'NodeResourcesFit', 'NodeResourcesFit'],
  );

  await c.addNode(makeNode('ip-10-0-2-9.ec2.internal').capacity({ cpu: '16', memory: '64Gi' }).obj());
  t.equal(await c.bound('big'), 'ip-10-0-2-9.ec2.internal');
  t.equal(getCondition((await c.get('big')).status?.conditions, 'PodScheduled')?.status, 'True');
});

t.test('nodeSelector, taints and tolerations', async (t) => {
  const c = await cluster(t);
  await c.addNode(std('plain').obj());
  await c.addNode(std('ssd').label('disk', 'ssd').obj());
  await c.addNode(std('gpu').taint({ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }).obj());

  await c.addPod(makePod('db').req({ cpu: '1' }).nodeSelector({ disk: 'ssd' }).obj());
  t.equal(await c.bound('db'), 'ssd');
  // 4 cpu: ssd has 3 left; gpu (empty, and first by name) is tainted, so plain it is.
  await c.addPod(makePod('web').req({ cpu: '4' }).obj());
  t.equal(await c.bound('web'), 'plain', 'the tainted node is not an option without a toleration');
  await c.addPod(makePod('trainer').req({ cpu: '4' }).toleration({ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }).obj());
  t.equal(await c.bound('trainer'), 'gpu', 'a tolerating pod may use it');
  await c.addPod(makePod('nowhere').req({ cpu: '1' }).nodeSelector({ disk: 'nvme' }).obj());
  const cond = await c.until(async () => getCondition((await c.get('nowhere')).status?.conditions, 'PodScheduled'), 'condition');
  // gpu's taint is the first failing filter there; the other two fail NodeAffinity.
  t.equal(
    cond.message,
    "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
  );
});

t.test('a node that is not Ready is skipped until it is', async (t) => {
  const c = await cluster(t);
  const node = await c.addNode(std('booting').notReady().obj());
  await c.addPod(makePod('p').req({ cpu: '1' }).obj());
  const cond = await c.until(async () => getCondition((await c.get('p')).status?.conditions, 'PodScheduled'), 'condition');
  t.equal(cond.message, '0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.');
  await c.client.updateStatus({ ...node, status: { ...node.status, conditions: [{ type: 'Ready', status: 'True' }] } });
  t.equal(await c.bound('p'), 'booting');
});

t.test('pods created at once never over-commit a node', async (t) => {
  const c = await cluster(t);
  await c.addNode(makeNode('small').capacity({ cpu: '1', memory: '4Gi' }).obj());
  await Promise.all([c.addPod(makePod('a').req({ cpu: '600m' }).obj()), c.addPod(makePod('b').req({ cpu: '600m' }).obj())]);
  const [a, b] = await c.until(async () => {
    const both = await Promise.all([c.get('a'), c.get('b')]);
    const settled = both.every((p) => p.spec.nodeName || getCondition(p.status?.conditions, 'PodScheduled')?.status === 'False');
    return settled ? both : undefined;
  }, 'both settled');
  t.equal([a, b].filter((p) => p.spec.nodeName).length, 1, 'exactly one bound');
  t.equal(
    [a, b].find((p) => !p.spec.nodeName)!.status!.conditions!.find((x) => x.type === 'PodScheduled')!.message,
    '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
  );
});

t.test('a burst of pods fills nodes exactly to their allocatable', async (t) => {
  const c = await cluster(t);
  for (const n of NODES) await c.addNode(std(n).obj());
  // 30 pods of 500m onto three 4-cpu nodes: 24 fit, 8 per node.
  await Promise.all(Array.from({ length: 30 }, (_, i) => c.addPod(makePod(`burst-${i}`).req({ cpu: '500m' }).obj())));
  const pods = await c.until(async () => {
    const list = (await c.client.list<Pod>(Kinds.Pod, { namespace: 'default' })).items;
    const settled = list.every((p) => p.spec.nodeName || getCondition(p.status?.conditions, 'PodScheduled')?.status === 'False');
    return settled ? list : undefined;
  }, 'the burst settled');
  const perNode = new Map<string, number>();
  for (const p of pods) if (p.spec.nodeName) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
  t.same([...perNode].sort(), NODES.map((n) => [n, 8]), '8 × 500m = 4 cpu on each node, no more');
  t.equal(pods.filter((p) => !p.spec.nodeName).length, 6);
});

t.test('room freed by a finished or deleted pod is used', async (t) => {
  const c = await cluster(t);
  await c.addNode(makeNode('one').capacity({ cpu: '1', memory: '4Gi' }).obj());
  await c.addPod(makePod('first').req({ cpu: '1' }).obj());
  t.equal(await c.bound('first'), 'one');
  await c.addPod(makePod('second').req({ cpu: '1' }).obj());
  await c.until(async () => getCondition((await c.get('second')).status?.conditions, 'PodScheduled')?.status === 'False', 'second unschedulable');
  const first = await c.get('first');
  await c.client.updateStatus({ ...first, status: { ...first.status, phase: 'Succeeded' } });
  t.equal(await c.bound('second'), 'one', 'a finished pod frees its room');

  await c.addPod(makePod('third').req({ cpu: '1' }).obj());
  await c.until(async () => getCondition((await c.get('third')).status?.conditions, 'PodScheduled')?.status === 'False', 'third unschedulable');
  await c.client.delete(Kinds.Pod, 'second', 'default', { gracePeriodSeconds: 0 });
  t.equal(await c.bound('third'), 'one', 'a deleted pod frees its room');
});

t.test('pods for another scheduler are left alone; profiles serve their own schedulerName', async (t) => {
  const c = await cluster(t, {
    profiles: [
      { schedulerName: 'default-scheduler', filters: ['NodeResourcesFit'], scores: [{ name: 'NodeResourcesFit', weight: 1 }] },
      {
        schedulerName: 'spread',
        filters: ['NodeResourcesFit'],
        scores: [{ name: 'NodeResourcesFit', weight: 1 }],
        pluginArgs: { NodeResourcesFit: { scoringStrategy: { type: 'LeastAllocated' } } },
      },
    ],
  });
  await c.addNode(std('a').obj());
  await c.addNode(std('b').obj());
  await c.addPod(makePod('seed').req({ cpu: '2' }).node('a').obj());
  await c.addPod(makePod('spread-me').req({ cpu: '1' }).schedulerName('spread').obj());
  t.equal(await c.bound('spread-me'), 'b', 'LeastAllocated picks the emptier node');
  const ev = await c.until(() => c.events('spread-me', 'Scheduled').then((l) => l[0]), 'event');
  t.equal(ev.source?.component, 'spread', 'events report as the profile');

  await c.addPod(makePod('theirs').schedulerName('my-scheduler').obj());
  await c.addPod(makePod('after').obj());
  await c.bound('after');
  const theirs = await c.get('theirs');
  t.equal(theirs.spec.nodeName, undefined, 'not bound');
  t.equal(getCondition(theirs.status?.conditions, 'PodScheduled'), undefined, 'not touched');
  t.equal(c.scheduler.explain('default/theirs'), undefined);
});

t.test('options are checked', async (t) => {
  const api = await startTestApi({ clock: new VirtualClock() });
  t.teardown(() => api.stop());
  t.throws(() => new Scheduler(api.mgr, { profiles: [] }), { code: 'InvalidSchedulerConfig' });
  t.throws(() => new Scheduler(api.mgr, { profiles: [{ schedulerName: 'x', filters: ['Nope'], scores: [] }] }), { code: 'InvalidSchedulerConfig' });
  const p = { schedulerName: 'x', filters: [], scores: [] };
  t.throws(() => new Scheduler(api.mgr, { profiles: [p, p] }), { code: 'InvalidSchedulerConfig', message: /two profiles/ });
  t.throws(() => new Scheduler(api.mgr, { explainCapacity: -1 }), { name: 'RangeError' });
});
