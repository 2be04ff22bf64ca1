import t from 'tap';
import { getCondition } from '../api/meta.js';
import type { Event, KubeObject, Pod } from '../api/types.js';
import { Kinds, type Client } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { eventually, makeNode, makePod, startTestApi } from '../testing/index.js';
import { decodeExplanation, EXPLAIN_ANNOTATION } from './explain.js';
import { installScheduler } from './install.js';
import type { SchedulerOptions } from './types.js';

async function cluster(t: { teardown(fn: () => unknown): void }, opts?: SchedulerOptions, before?: (c: Client) => Promise<void>) {
  const clock = new VirtualClock();
  const api = await startTestApi({ clock });
  const scheduler = await installScheduler(api.api, api.mgr, opts);
  if (before) await before(api.client);
  await api.start();
  t.teardown(() => api.stop());
  const c = api.client;
  const get = (name: string) => c.get<Pod>(Kinds.Pod, name, 'default');
  return {
    c,
    clock,
    scheduler,
    get,
    until: <T>(fn: () => T | Promise<T>, what: string) => eventually(fn, what, 10_000, clock),
    bound: (name: string) => eventually(async () => (await get(name)).spec.nodeName, `pod ${name} bound`, 10_000, clock),
    events: async (name: string, reason: string) => (await c.list<Event>(Kinds.Event, { namespace: 'default', fieldSelector: `involvedObject.name=${name},reason=${reason}` })).items,
  };
}

const pc = (name: string, value: number, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, ...extra }) as KubeObject;

t.test('PriorityClass admission: the class sets spec.priority; unknown classes and disagreeing priorities are refused', async (t) => {
  const k = await cluster(t);
  await k.c.create(pc('high', 1000));
  const p = await k.c.create<Pod>(makePod('urgent').spec((s) => (s.priorityClassName = 'high')).obj());
  t.equal(p.spec.priority, 1000);
  t.equal(p.spec.preemptionPolicy, 'PreemptLowerPriority');
  await t.rejects(k.c.create(makePod('lost').spec((s) => (s.priorityClassName = 'nope')).obj()), { code: 403, message: /no PriorityClass with name nope was found/ });
  await t.rejects(k.c.create(makePod('liar').spec((s) => ((s.priorityClassName = 'high'), (s.priority = 5))).obj()), { code: 403, message: /must not be provided in pod spec/ });
  const sys = await k.c.create<Pod>(makePod('dns').spec((s) => (s.priorityClassName = 'system-cluster-critical')).obj());
  t.equal(sys.spec.priority, 2_000_000_000, 'the system classes exist');
  await t.rejects(k.c.create(pc('too-high', 2_000_000_000)), { code: 422 });
  await k.c.create(pc('default', 10, { globalDefault: true }));
  t.equal((await k.c.create<Pod>(makePod('plain').obj())).spec.priority, 10, 'the globalDefault class applies to pods without one');
  await t.rejects(k.c.create(pc('default2', 20, { globalDefault: true })), { code: 403, message: /already marked as default/ });
});

t.test('preemption: a high-priority pod evicts the fewest, lowest-priority victims', async (t) => {
  const k = await cluster(t, { batchThreshold: Infinity });
  await k.c.create(pc('low', 100));
  await k.c.create(pc('mid', 500));
  await k.c.create(pc('high', 1000));
  await k.c.create(pc('never', 1000, { preemptionPolicy: 'Never' }));
  await k.c.create(makeNode('n1').capacity({ cpu: '4', memory: '16Gi' }).obj());
  await k.c.create(makeNode('n2').capacity({ cpu: '4', memory: '16Gi' }).obj());
  // n1: two low pods of 2 cpu. n2: one mid pod of 2 cpu and one low pod of 2 cpu.
  const low = (name: string, node: string) => makePod(name).req({ cpu: '2' }).node(node).spec((s) => (s.priorityClassName = 'low')).obj();
  await k.c.create(low('low-a', 'n1'));
  await k.c.create(low('low-b', 'n1'));
  await k.c.create(makePod('mid-a').req({ cpu: '2' }).node('n2').spec((s) => (s.priorityClassName = 'mid')).obj());
  await k.c.create(low('low-c', 'n2'));

  // A pod with preemptionPolicy Never waits instead.
  await k.c.create(makePod('polite').req({ cpu: '2' }).spec((s) => (s.priorityClassName = 'never')).obj());
  const cond = await k.until(async () => getCondition((await k.get('polite')).status?.conditions, 'PodScheduled'), 'polite condition');
  t.equal(cond.status, 'False');
  t.match(cond.message, /^0\/2 nodes are available: 2 Insufficient cpu\./);
  await k.c.delete(Kinds.Pod, 'polite', 'default');

  // 2 cpu needed. On n1 one low victim suffices; on n2 the low pod alone suffices too (mid stays).
  // Both have one victim of priority 100: the tie goes by the latest-started victim, then name; n1 first by name.
  await k.c.create(makePod('urgent').req({ cpu: '2' }).spec((s) => (s.priorityClassName = 'high')).obj());
  const ev = await k.until(() => k.events('urgent', 'FailedScheduling').then((l) => l[0]), 'FailedScheduling for urgent');
  t.match(ev.message, /^0\/2 nodes are available: 2 Insufficient cpu\./);
  const nominated = await k.until(async () => (await k.get('urgent')).status?.nominatedNodeName, 'nominated node');
  const victims = (await k.c.list<Pod>(Kinds.Pod, { namespace: 'default' })).items.filter((p) => p.metadata.deletionTimestamp || getCondition(p.status?.conditions, 'DisruptionTarget'));
  const gone = ['low-a', 'low-b', 'low-c', 'mid-a'].filter((n) => !victims.some((v) => v.metadata.name === n));
  t.ok(['n1', 'n2'].includes(nominated));
  const stillThere = async (n: string) => !!(await k.get(n).catch(() => undefined));
  t.ok(await stillThere('mid-a'), 'the higher-priority pod is never a victim');
  const evicted: string[] = [];
  for (const n of ['low-a', 'low-b', 'low-c']) {
    const p = await k.get(n).catch(() => undefined);
    if (!p || p.metadata.deletionTimestamp) evicted.push(n);
  }
  t.equal(evicted.length, 1, `exactly one victim (evicted ${evicted.join(', ')}; untouched ${gone.join(', ')})`);
  const victim = await k.get(evicted[0]!);
  t.equal(victim.spec.nodeName, nominated, 'the victim was on the nominated node');
  t.equal(getCondition(victim.status?.conditions, 'DisruptionTarget')?.reason, 'PreemptionByScheduler');
  const pre = await k.until(() => k.events(evicted[0]!, 'Preempted').then((l) => l[0]), 'Preempted event');
  t.match(pre.message, new RegExp(`on node ${nominated}$`));
  t.equal((await k.get('urgent')).spec.nodeName, undefined, 'the preemptor waits while its victim terminates');
  // The node agent confirms the victim has stopped (there is no agent in this test).
  await k.c.delete(Kinds.Pod, evicted[0]!, 'default', { gracePeriodSeconds: 0 });
  t.equal(await k.bound('urgent'), nominated, 'the preemptor lands on its nominated node');
});

t.test('a burst placed as a batch still honours anti-affinity, topology spread and host ports', async (t) => {
  const zones = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
  const names: string[] = [];
  // Everything exists before the scheduler starts: all 13 pods are pending at once, so they go as a batch.
  const k = await cluster(t, { batchThreshold: 2 }, async (c) => {
    for (let i = 0; i < 6; i++) {
      await c.create(makeNode(`n${i}`).capacity({ cpu: '16', memory: '64Gi' }).label('kubernetes.io/hostname', `n${i}`).label('topology.kubernetes.io/zone', zones[i % 3]!).obj());
    }
    for (let i = 0; i < 4; i++) {
      names.push(`anti-${i}`);
      await c.create(
        makePod(`anti-${i}`).label('app', 'anti').req({ cpu: '100m' })
          .spec((s) => (s.affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'anti' } }, topologyKey: 'kubernetes.io/hostname' }] } }))
          .obj(),
      );
    }
    for (let i = 0; i < 6; i++) {
      names.push(`spread-${i}`);
      await c.create(
        makePod(`spread-${i}`).label('app', 'spread').req({ cpu: '100m' })
          .spec((s) => (s.topologySpreadConstraints = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'spread' } } }]))
          .obj(),
      );
    }
    for (let i = 0; i < 3; i++) {
      names.push(`port-${i}`);
      await c.create(makePod(`port-${i}`).req({ cpu: '100m' }).spec((s) => (s.containers[0]!.ports = [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }])).obj());
    }
  });
  const at = new Map<string, string>();
  for (const n of names) at.set(n, await k.bound(n));
  const nodesOf = (prefix: string) => names.filter((n) => n.startsWith(prefix)).map((n) => at.get(n)!);
  t.equal(new Set(nodesOf('anti-')).size, 4, 'anti-affine replicas on four different nodes');
  t.equal(new Set(nodesOf('port-')).size, 3, 'one pod per node per host port');
  const perZone = new Map<string, number>();
  for (const node of nodesOf('spread-')) {
    const z = zones[Number(node.slice(1)) % 3]!;
    perZone.set(z, (perZone.get(z) ?? 0) + 1);
  }
  t.same([...perZone.values()].sort(), [2, 2, 2], 'six pods spread 2 per zone (maxSkew 1)');
  t.ok(k.scheduler.stats().batches >= 1, 'placed by batch placement');
  // berth explain pod reads this annotation: the batch step that chose the node, and what it ruled out.
  const e = decodeExplanation((await k.get('anti-3')).metadata.annotations?.[EXPLAIN_ANNOTATION] ?? '');
  t.match(e, { node: at.get('anti-3'), mode: 'batch', nodes: 6, scheduler: 'default-scheduler' });
  t.equal(e.rejected["node(s) didn't match pod anti-affinity rules"], 3, 'the three nodes holding the other replicas');
  const ev = await k.until(() => k.events('anti-3', 'Scheduled').then((l) => l[0]), 'Scheduled event');
  t.equal(ev.message, `Successfully assigned default/anti-3 to ${at.get('anti-3')}`);
});
