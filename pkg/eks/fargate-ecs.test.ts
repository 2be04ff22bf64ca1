/**
 * ECS tasks on Fargate through the fargate-scheduler: exact task-level sizes, FARGATE_SPOT's
 * price and two-minute interruption, and the bill after ten virtual minutes.
 */
import t, { type Test } from 'tap';
import { getCondition } from '../api/meta.js';
import type { Event, KubeObject, Node, Pod } from '../api/types.js';
import { NodeAgent } from '../agent/agent.js';
import { VirtualClock } from '../clock/clock.js';
import { CLOUD_RESOURCES } from '../cloud/resources.js';
import { spotNoticeAt } from '../cloud/spot-market.js';
import { Kinds } from '../client/client.js';
import { fargateData } from '../fargate/fargate.js';
import { startTestApi } from '../testing/api.js';
import { makePod } from '../testing/builders.js';
import { fargateCostFromApi } from './cost.js';
import { fargateNodeName } from './fargate-controller.js';
import { installEks } from './index.js';
import { EksKinds, SPOT_NOTICE_ANNOTATION, type FargateProfile, type FargateUsage } from './types.js';

const START = Date.UTC(2026, 0, 1);

async function cluster(t: Test) {
  const clock = new VirtualClock(START);
  const c = await startTestApi({ clock });
  for (const r of CLOUD_RESOURCES) if (!c.api.registry.get(r.group, r.version, r.resource)) c.api.registry.add(r);
  const { scheduler } = installEks(c.api, c.mgr);
  c.mgr.add(new NodeAgent(c.mgr, { random: () => 0.5, events: false, heartbeatSeconds: 10 }));
  for (const ns of ['ecs', 'prod']) await c.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await c.start();
  t.teardown(() => c.stop());
  const until = async <T>(fn: () => Promise<T>, what: string, maxMs = 60_000): Promise<NonNullable<T>> => {
    const deadline = clock.now() + maxMs;
    for (;;) {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      if (clock.now() >= deadline) throw new Error(`timed out waiting for ${what}`);
      await clock.advance(250);
    }
  };
  const get = (name: string, ns = 'ecs') => c.client.get<Pod>(Kinds.Pod, name, ns);
  const events = async (name: string, reason: string, ns = 'ecs') => (await c.client.list<Event>(Kinds.Event, { namespace: ns, fieldSelector: `involvedObject.name=${name},reason=${reason}` })).items;
  const usage = async (uid: string) => c.client.get<FargateUsage>(EksKinds.FargateUsage, uid);
  return { ...c, clock, until, get, events, usage, fargate: scheduler };
}

/** An ECS task's Pod on Fargate as pkg/ecs makes it (ECS-CONTRACT.md). Requests 1 cpu / 2 GiB: EKS's rule would make that 1 vCPU / 3 GB. */
function ecsTask(name: string, size: string | undefined, capacityProvider: 'FARGATE' | 'FARGATE_SPOT'): KubeObject {
  const pod = makePod(name, 'ecs').req({ cpu: '1', memory: '2Gi' }).label('ecs.berth.dev/cluster', 'prod').label('ecs.berth.dev/group', 'service.web').schedulerName('fargate-scheduler').obj();
  pod.metadata.annotations = { 'ecs.berth.dev/capacity-provider': capacityProvider, 'ecs.berth.dev/group': 'service:web', ...(size !== undefined ? { 'ecs.berth.dev/fargate-size': size } : {}) };
  const { uid: _uid, ...metadata } = pod.metadata;
  return { ...pod, metadata } as KubeObject;
}

const HOURLY = { FARGATE: 1 * 0.04048 + 2 * 0.004445, FARGATE_SPOT: 1 * 0.01334053 + 2 * 0.00146489 };

t.test('an ECS task gets exactly its task-level size, and ten minutes cost what the price list says (FARGATE and FARGATE_SPOT)', async (t) => {
  const c = await cluster(t);
  await c.client.create(ecsTask('od', '1024/2048', 'FARGATE'));
  await c.client.create(ecsTask('spot', '1024/2048', 'FARGATE_SPOT'));
  const od = await c.until(async () => ((await c.get('od')).spec.nodeName ? c.get('od') : undefined), 'od bound');
  const spot = await c.until(async () => ((await c.get('spot')).spec.nodeName ? c.get('spot') : undefined), 'spot bound');
  t.equal(od.metadata.annotations?.CapacityProvisioned, '1vCPU 2GB', 'the annotation size, not max(requests)+256 MiB (which would be 1vCPU 3GB)');
  const odNode = await c.client.get<Node>(Kinds.Node, od.spec.nodeName!);
  t.same(odNode.status?.capacity, { cpu: '1', memory: '2048Mi', pods: '1' });
  t.equal(odNode.metadata.labels?.['ecs.berth.dev/capacity-provider'], 'FARGATE');
  const spotNode = await c.client.get<Node>(Kinds.Node, spot.spec.nodeName!);
  t.equal(spotNode.metadata.labels?.['ecs.berth.dev/capacity-provider'], 'FARGATE_SPOT');
  t.match((await c.events('spot', 'LaunchingFargateNode'))[0]?.message, /Launching Fargate Spot node/);

  // The notice the Spot model drew: the EC2 Spot model's exponential draw with the Fargate rate, seeded (no market here: seed 0).
  const u = await c.usage(spot.metadata.uid!);
  const expected = spotNoticeAt(0, spot.metadata.uid!, fargateData().spotInterruptionsPerMonth, Date.parse(u.spec.start));
  t.equal(spotNode.metadata.annotations?.[SPOT_NOTICE_ANNOTATION], expected === undefined ? undefined : new Date(expected).toISOString());
  t.equal(u.spec.capacityProvider, 'FARGATE_SPOT');
  t.equal(u.spec.ecsCluster, 'prod');

  // Ten virtual minutes after the later of the two starts.
  const starts = await Promise.all([od, spot].map(async (p) => Date.parse((await c.usage(p.metadata.uid!)).spec.start)));
  // (With seed 0 the drawn notice is far beyond these ten minutes, so neither task is interrupted here.)
  t.ok(expected === undefined || expected > Math.max(...starts) + 600_000 + 120_000, 'no interruption within the window');
  await c.clock.advanceTo(Math.max(...starts) + 600_000);
  const now = c.clock.now();
  const bill = await fargateCostFromApi(c.client, 0, now + 1, now);
  const byName = Object.fromEntries(bill.byPod.map((p) => [p.pod, p]));
  for (const [name, cap, start] of [['od', 'FARGATE', starts[0]!], ['spot', 'FARGATE_SPOT', starts[1]!]] as const) {
    const seconds = Math.ceil((now - start) / 1000);
    t.equal(byName[name]!.billedSeconds, seconds, `${name}: billed per second`);
    t.equal(byName[name]!.capacityProvider, cap);
    t.ok(Math.abs(byName[name]!.usd - (HOURLY[cap] * seconds) / 3600) < 1e-12, `${name}: ${byName[name]!.usd} USD`);
  }
  // Worked by hand for the 600 s of the later pod: 1 vCPU × $0.04048 + 2 GB × $0.004445 = $0.04937/h → $0.0082283 for ten minutes;
  // Spot: $0.01334053 + 2 × $0.00146489 = $0.01627031/h → $0.0027117.
  t.equal(Number(((HOURLY.FARGATE * 600) / 3600).toFixed(7)), 0.0082283);
  t.equal(Number(((HOURLY.FARGATE_SPOT * 600) / 3600).toFixed(7)), 0.0027117);
  t.equal(bill.byCapacityProvider.FARGATE.pods, 1);
  t.equal(bill.byCapacityProvider.FARGATE_SPOT.pods, 1);
  t.ok(Math.abs(bill.byCapacityProvider.FARGATE.usd + bill.byCapacityProvider.FARGATE_SPOT.usd - bill.usd) < 1e-12, 'the split adds up');
  t.ok(bill.byCapacityProvider.FARGATE_SPOT.usd < bill.byCapacityProvider.FARGATE.usd * 0.34, 'Spot is about 67 % off');
});

t.test('a run shorter than a minute is billed one minute', async (t) => {
  const c = await cluster(t);
  await c.client.create(ecsTask('short', '256/512', 'FARGATE'));
  const pod = await c.until(async () => ((await c.get('short')).spec.nodeName ? c.get('short') : undefined), 'bound');
  await c.client.delete(Kinds.Pod, 'short', 'ecs');
  const u = await c.until(async () => ((await c.usage(pod.metadata.uid!)).spec.end ? c.usage(pod.metadata.uid!) : undefined), 'usage closed');
  t.ok(Date.parse(u.spec.end!) - Date.parse(u.spec.start) < 60_000);
  const bill = await fargateCostFromApi(c.client, 0, c.clock.now() + 1, c.clock.now());
  t.equal(bill.byPod[0]!.billedSeconds, 60);
  t.ok(Math.abs(bill.usd - ((0.25 * 0.04048 + 0.5 * 0.004445) * 60) / 3600) < 1e-12);
});

t.test('an invalid fargate-size leaves the pod Pending with a clear message', async (t) => {
  const c = await cluster(t);
  await c.client.create(ecsTask('bad', '1024/1000', 'FARGATE'));
  const cond = await c.until(async () => getCondition((await c.get('bad')).status?.conditions, 'PodScheduled'), 'PodScheduled condition');
  const message = 'Pod not supported on Fargate: annotation ecs.berth.dev/fargate-size: "1024/1000": 1000 MiB is not a valid memory size for 1 vCPU (1024 CPU units); valid: 2048, 3072, 4096, 5120, 6144, 7168, 8192 MiB';
  t.same({ status: cond.status, reason: cond.reason, message: cond.message }, { status: 'False', reason: 'Unschedulable', message });
  t.equal((await c.events('bad', 'FailedScheduling'))[0]?.message, message);
  await c.client.create(ecsTask('bad2', '300/512', 'FARGATE'));
  const cond2 = await c.until(async () => getCondition((await c.get('bad2')).status?.conditions, 'PodScheduled'), 'PodScheduled condition');
  t.match(cond2.message, /300 CPU units is not a Fargate size \(valid: 256, 512, 1024, 2048, 4096, 8192, 16384\)/);
  t.equal((await c.get('bad')).spec.nodeName, undefined, 'still Pending');
  t.equal((await c.client.list(Kinds.Node)).items.length, 0, 'no Fargate node made');
});

t.test('EKS on Fargate has no Spot: an EKS pod asking for FARGATE_SPOT runs On-Demand, with a warning', async (t) => {
  const c = await cluster(t);
  const profile: FargateProfile = { apiVersion: EksKinds.FargateProfile.apiVersion, kind: 'FargateProfile', metadata: { name: 'prod' }, spec: { selectors: [{ namespace: 'prod' }] } };
  await c.client.create(profile);
  const pod = makePod('web', 'prod').req({ cpu: '1', memory: '2Gi' }).obj();
  pod.metadata.annotations = { 'ecs.berth.dev/capacity-provider': 'FARGATE_SPOT' };
  const { uid: _uid, ...metadata } = pod.metadata;
  await c.client.create({ ...pod, metadata } as KubeObject);
  const bound = await c.until(async () => ((await c.get('web', 'prod')).spec.nodeName ? c.get('web', 'prod') : undefined), 'bound');
  t.equal(bound.metadata.annotations?.CapacityProvisioned, '1vCPU 3GB', "EKS's sizing rule (2 GiB + 256 MiB → 3 GB)");
  t.equal((await c.usage(bound.metadata.uid!)).spec.capacityProvider, undefined, 'billed On-Demand');
  t.match((await c.events('web', 'FargateSpotNotSupported', 'prod'))[0]?.message, /EKS on Fargate has no Fargate Spot/);
});

t.test('an interrupted Fargate Spot task gets its warning, then is stopped two minutes later', async (t) => {
  const c = await cluster(t);
  await c.client.create(ecsTask('spot', '512/1024', 'FARGATE_SPOT'));
  await c.client.create(ecsTask('od', '512/1024', 'FARGATE'));
  const pod = await c.until(async () => {
    const p = await c.get('spot');
    return p.status?.phase === 'Running' ? p : undefined;
  }, 'spot running');
  await c.until(async () => ((await c.get('od')).status?.phase === 'Running' ? true : undefined), 'od running');
  t.same(c.fargate.spotTasks(), ['ecs/spot'], 'only the Spot task can be interrupted');
  t.equal(await c.fargate.interrupt('ecs/od'), false, 'an On-Demand task cannot be');
  await c.clock.advance(30_000);
  const notice = c.clock.now();
  t.equal(await c.fargate.interrupt('ecs/spot', notice), true);
  // The warning: a DisruptionTarget condition and a Warning event (ECS: a task state change event and SIGTERM).
  const warned = await c.until(async () => getCondition((await c.get('spot')).status?.conditions, 'DisruptionTarget'), 'warning', 10_000);
  t.equal(warned.reason, 'SpotInterruption');
  const stopAt = new Date(notice + 120_000).toISOString();
  t.match(warned.message, `the task is stopped at ${stopAt}`);
  t.match((await c.events('spot', 'SpotInterruption'))[0]?.message, /two-minute warning, SIGTERM sent/);
  // Still running just before the two minutes are up.
  await c.clock.advanceTo(notice + 119_000);
  t.equal((await c.get('spot')).status?.phase, 'Running', 'running 119 s after the warning');
  // Stopped at two minutes: Failed with ECS's stoppedReason, the node gone, the run billed to the stop.
  const stopped = await c.until(async () => {
    const p = await c.get('spot');
    return p.status?.phase === 'Failed' ? p : undefined;
  }, 'stopped', 10_000);
  t.same({ reason: stopped.status?.reason, message: stopped.status?.message }, { reason: 'SpotInterrupted', message: 'Your Spot Task was interrupted.' });
  t.equal((await c.events('spot', 'SpotInterrupted'))[0]?.message, 'Your Spot Task was interrupted.');
  const u = await c.until(async () => ((await c.usage(pod.metadata.uid!)).spec.end ? c.usage(pod.metadata.uid!) : undefined), 'usage closed');
  t.equal(u.spec.end, stopAt, 'billed up to the stop, two minutes after the warning');
  t.equal(u.spec.stoppedReason, 'Your Spot Task was interrupted.');
  await c.until(async () => ((await c.client.tryGet(Kinds.Node, fargateNodeName(pod))) ? undefined : true), 'node removed');
  const bill = await fargateCostFromApi(c.client, 0, c.clock.now() + 1, c.clock.now());
  const line = bill.byPod.find((p) => p.pod === 'spot')!;
  t.equal(line.stoppedReason, 'Your Spot Task was interrupted.');
  t.equal(line.billedSeconds, Math.ceil((Date.parse(stopAt) - Date.parse(u.spec.start)) / 1000));
  t.equal((await c.get('od')).status?.phase, 'Running', 'the On-Demand task is untouched');
});
