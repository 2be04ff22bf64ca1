/**
 * EC2's own Spot interruptions, as the market model plans them (no AWS FIS annotation): the
 * rebalance recommendation first, then the two-minute interruption notice, then the
 * interruption at the deadline ([6][7] in AWS-SEMANTICS.md), each reaching the Instance's status
 * and its Node (the AWS Node Termination Handler's taints and cordon), and the bill. The
 * instance id is chosen so that, with the store's market seed, the plan falls within hours of
 * the launch; every expected time below is read from that plan, not hard-coded. Then the
 * `stop` interruption behavior ([8]): the instance stops instead of terminating.
 */
import t from 'tap';
import type { Node } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { startTestApi } from '../testing/api.js';
import { BillingKinds, costReport, installCloudWithHandle, seededRandom, SPOT_NOTICE_MS, type Instance, type SpotInterruptionPlan, type UsageRecord } from './index.js';
import { NODE_TAINTS } from './node-lifecycle.js';

const T0 = Date.UTC(2026, 0, 1);
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const TYPE = 'm5.large';
const ZONE = 'us-east-1a';

t.test('a Spot Instance gets the rebalance recommendation, then the notice, then is interrupted at the deadline', async (t) => {
  const clock = new VirtualClock(T0);
  const h = await startTestApi({ clock });
  const cloud = await installCloudWithHandle(h.api, h.mgr, { random: seededRandom(17), bootDelaySeconds: 30 });
  await h.start();
  t.teardown(() => h.stop());
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 40; i++) await clock.advance(0);
  };
  const at = async (ms: number): Promise<void> => {
    await clock.advanceTo(ms);
    await settle();
  };

  // Launched at T0, running from T0 + 30 s: find an id whose plan puts the recommendation at
  // least five minutes before the notice, and the notice within three hours.
  const runningAt = T0 + 30 * SEC;
  let id = '';
  let plan: SpotInterruptionPlan | undefined;
  for (let n = 0; n < 1_000_000 && !plan; n++) {
    const candidate = `i-0${n.toString(16).padStart(16, '0')}`;
    const p = cloud.market.interruptionPlan(candidate, TYPE, ZONE, runningAt);
    if (p && p.noticeAt - runningAt < 3 * HOUR && p.noticeAt - p.rebalanceAt >= 5 * MIN && p.rebalanceAt - runningAt >= MIN) {
      id = candidate;
      plan = p;
    }
  }
  if (!plan) throw new Error('no instance id with an interruption within three hours');

  await h.client.create<Instance>({ apiVersion: 'ec2.berth.dev/v1', kind: 'Instance', metadata: { name: id }, spec: { instanceType: TYPE, availabilityZone: ZONE, instanceMarketOptions: { marketType: 'spot' } } });
  await settle();
  await at(runningAt);
  const inst = await h.client.get<Instance>(Kinds.Instance, id);
  t.match(inst.status, { state: 'running', instanceLifecycle: 'spot' });
  const nodeName = inst.status!.nodeName!;
  const node = (): Promise<Node> => h.client.get<Node>(Kinds.Node, nodeName);
  const taintKeys = async (): Promise<string[]> => ((await node()).spec.taints ?? []).map((x) => `${x.key}:${x.effect}`).sort();

  // Just before the recommendation: nothing yet.
  await at(plan.rebalanceAt - SEC);
  t.notOk((await h.client.get<Instance>(Kinds.Instance, id)).status!.rebalanceRecommendationTime, 'no recommendation before its time');
  t.same(await taintKeys(), []);

  // The rebalance recommendation: recorded, the Node tainted NoSchedule but not cordoned or drained.
  await at(plan.rebalanceAt);
  let st = (await h.client.get<Instance>(Kinds.Instance, id)).status!;
  t.equal(Date.parse(st.rebalanceRecommendationTime!), plan.rebalanceAt, 'the recommendation, at its planned time');
  t.notOk(st.spotInterruption, 'no interruption notice yet');
  t.equal(st.state, 'running');
  t.same(await taintKeys(), [`${NODE_TAINTS.rebalance}:NoSchedule`], 'tainted at the recommendation');
  t.notOk((await node()).spec.unschedulable, 'but not cordoned');

  // The interruption notice, two minutes before EC2 acts: cordoned and tainted.
  await at(plan.noticeAt);
  st = (await h.client.get<Instance>(Kinds.Instance, id)).status!;
  t.ok(plan.rebalanceAt < plan.noticeAt, 'the recommendation came earlier');
  t.equal(Date.parse(st.spotInterruption!.noticeTime), plan.noticeAt);
  t.equal(Date.parse(st.spotInterruption!.time), plan.noticeAt + SPOT_NOTICE_MS, 'two minutes of notice');
  t.equal(st.spotInterruption!.action, 'terminate');
  t.equal(st.state, 'running', 'still running during the notice');
  t.equal((await node()).spec.unschedulable, true, 'cordoned at the notice');
  t.ok((await taintKeys()).includes(`${NODE_TAINTS.spotInterruption}:NoSchedule`));

  // At the deadline EC2 interrupts it.
  const deadline = plan.noticeAt + SPOT_NOTICE_MS;
  await at(deadline - SEC);
  t.equal((await h.client.get<Instance>(Kinds.Instance, id)).status!.state, 'running', 'running until the deadline');
  await at(deadline);
  t.match((await h.client.get<Instance>(Kinds.Instance, id)).status, { state: 'shutting-down', stateReason: { code: 'Server.SpotInstanceTermination' } });
  await at(deadline + 10 * MIN);

  // The bill: EC2 interrupted it, so the first instance-hour is free (Linux); past an hour, the
  // seconds it ran at the Spot prices in effect.
  const b = await costReport(h.client, T0, clock.now());
  const ranMs = deadline - runningAt;
  const expected = ranMs < HOUR ? 0 : cloud.market.cost(TYPE, ZONE, runningAt, deadline);
  t.ok(Math.abs(b.byPurchaseOption.spot - expected) < 1e-9, `ran ${ranMs / 1000} s: spot ${b.byPurchaseOption.spot} = ${expected}`);
  t.equal(b.totalUSD, b.byPurchaseOption.spot);
});

t.test('interruption behavior stop: stopped at the deadline (Server.SpotInstanceShutdown), its Node kept; free within the first hour', async (t) => {
  const clock = new VirtualClock(T0);
  const h = await startTestApi({ clock });
  await installCloudWithHandle(h.api, h.mgr, { random: seededRandom(17), bootDelaySeconds: 30, spotInterruptions: false });
  await h.start();
  t.teardown(() => h.stop());
  const at = async (ms: number): Promise<void> => {
    await clock.advanceTo(ms);
    for (let i = 0; i < 40; i++) await clock.advance(0);
  };
  const id = 'i-0000000000000c001';
  await h.client.create<Instance>({ apiVersion: 'ec2.berth.dev/v1', kind: 'Instance', metadata: { name: id }, spec: { instanceType: TYPE, availabilityZone: ZONE, instanceMarketOptions: { marketType: 'spot', spotOptions: { instanceInterruptionBehavior: 'stop' } } } });
  await at(T0 + 30 * SEC); // running
  const nodeName = (await h.client.get<Instance>(Kinds.Instance, id)).status!.nodeName!;
  await at(T0 + 20 * MIN);
  // The notice now, as AWS FIS sends it.
  await h.client.patch(Kinds.Instance, id, undefined, 'merge', { metadata: { annotations: { 'ec2.berth.dev/send-spot-interruption': 'test' } } });
  await at(T0 + 20 * MIN);
  t.match((await h.client.get<Instance>(Kinds.Instance, id)).status, { state: 'running', spotInterruption: { action: 'stop' } });
  await at(T0 + 22 * MIN);
  t.match((await h.client.get<Instance>(Kinds.Instance, id)).status, { state: 'stopping', stateReason: { code: 'Server.SpotInstanceShutdown' } });
  await at(T0 + HOUR);
  t.match((await h.client.get<Instance>(Kinds.Instance, id)).status, { state: 'stopped', stateReason: { code: 'Server.SpotInstanceShutdown' } }, 'stopped, not terminated');
  t.ok(await h.client.tryGet(Kinds.Node, nodeName), 'a stopped instance keeps its Node');
  const rec = (await h.client.list<UsageRecord>(BillingKinds.UsageRecord)).items.find((r) => r.spec.resourceId === id)!;
  t.match(rec.spec, { purchaseOption: 'spot', endReason: 'spot-interruption', endMs: T0 + 22 * MIN });
  const b = await costReport(h.client, T0, clock.now());
  t.equal(b.byInstance[id]!.usd, 0, 'interrupted by EC2 in its first hour: no charge');
  t.equal(b.totalUSD, 0);
});
