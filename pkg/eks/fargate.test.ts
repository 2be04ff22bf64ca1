import t, { type Test } from 'tap';
import type { KubeObject, Node, Pod } from '../api/types.js';
import { NodeAgent } from '../agent/agent.js';
import { VirtualClock } from '../clock/clock.js';
import { CLOUD_RESOURCES } from '../cloud/resources.js';
import { Kinds } from '../client/client.js';
import { simNode } from '../controllers/testcluster.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { startTestApi } from '../testing/api.js';
import { makePod } from '../testing/builders.js';
import { installEks } from './index.js';
import { fargateCostFromApi, type FargateCostReport } from './cost.js';
import { EksKinds, type FargateProfile, type FargateUsage } from './types.js';

const START = Date.UTC(2026, 0, 1);

async function cluster(t: Test) {
  const clock = new VirtualClock(START);
  const c = await startTestApi({ clock });
  // The Auto Scaling group kind, which the ClusterConfig controller watches (the cloud's controllers are not needed).
  for (const r of CLOUD_RESOURCES) if (!c.api.registry.get(r.group, r.version, r.resource)) c.api.registry.add(r);
  installEks(c.api, c.mgr);
  c.mgr.add(new Scheduler(c.mgr));
  c.mgr.add(new NodeAgent(c.mgr, { random: () => 0.5, events: false, heartbeatSeconds: 10 }));
  await c.client.create(simNode('ec2-1', 1, { 'eks.amazonaws.com/compute-type': 'ec2' }) as KubeObject);
  for (const ns of ['prod', 'batch']) await c.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await c.start();
  t.teardown(() => c.stop());
  const until = async <T>(fn: () => Promise<T>, what: string, maxMs = 120_000): Promise<NonNullable<T>> => {
    const deadline = clock.now() + maxMs;
    for (;;) {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      if (clock.now() >= deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify((await c.client.list(Kinds.Pod)).items.map((p) => [p.metadata.name, (p as Pod).spec.nodeName, (p as Pod).spec.schedulerName, (p as Pod).status?.phase]))} nodes ${JSON.stringify((await c.client.list(Kinds.Node)).items.map((n) => n.metadata.name))}`);
      await clock.advance(500);
    }
  };
  return { ...c, clock, until };
}

function profile(name: string, selectors: FargateProfile['spec']['selectors']): FargateProfile {
  return { apiVersion: EksKinds.FargateProfile.apiVersion, kind: 'FargateProfile', metadata: { name }, spec: { selectors } };
}

function pod(p: Pod): KubeObject {
  const { uid: _uid, ...metadata } = p.metadata;
  return { ...p, metadata } as KubeObject;
}

t.test('FargateProfile validation names the field', async (t) => {
  const c = await cluster(t);
  await t.rejects(c.client.create(profile('none', [])), { code: 422, message: /spec\.selectors: Required value/ });
  const six = Array.from({ length: 6 }, (_, i) => ({ namespace: `ns${i}` }));
  await t.rejects(c.client.create(profile('six', six)), { code: 422, message: /spec\.selectors: .*at most 5/ });
  await t.rejects(c.client.create(profile('bad', [{ namespace: 'prod' }, { namespace: 'Not_A_Namespace' }])), { code: 422, message: /spec\.selectors\[1\]\.namespace/ });
  await t.rejects(c.client.create(profile('nons', [{ labels: { a: 'b' } } as never])), { code: 422, message: /spec\.selectors\[0\]\.namespace: Required value/ });
  await t.rejects(c.client.create(profile('badlabel', [{ namespace: 'prod', labels: { 'a b': 'c' } }])), { code: 422, message: /spec\.selectors\[0\]\.labels/ });
  const ok = await c.client.create(profile('fine', Array.from({ length: 5 }, (_, i) => ({ namespace: `ns${i}`, labels: { app: 'x' } }))));
  t.equal(ok.metadata.name, 'fine');
});

t.test('a pod in a Fargate namespace gets its own Fargate node of the EKS size, and its bill after ten minutes', async (t) => {
  const c = await cluster(t);
  await c.client.create(profile('prod', [{ namespace: 'prod' }, { namespace: 'batch', labels: { fargate: 'yes' } }]));

  // EKS's documented example: 1 vCPU / 8 GiB requested → 2 vCPU / 9 GB.
  await c.client.create(pod(makePod('web', 'prod').req({ cpu: '1', memory: '8Gi' }).lim({ cpu: '1', memory: '8Gi' }).obj()));
  // Not selected: namespace batch without the label, and default: they go to the EC2 node.
  await c.client.create(pod(makePod('plain', 'batch').req({ cpu: '100m' }).obj()));
  await c.client.create(pod(makePod('ec2', 'default').req({ cpu: '100m' }).obj()));

  const web = await c.until(async () => {
    const p = await c.client.get<Pod>(Kinds.Pod, 'web', 'prod');
    return p.status?.phase === 'Running' ? p : undefined;
  }, 'the Fargate pod to run');
  t.equal(web.spec.schedulerName, 'fargate-scheduler');
  t.equal(web.metadata.annotations?.['eks.amazonaws.com/fargate-profile'], 'prod');
  t.equal(web.metadata.annotations?.CapacityProvisioned, '2vCPU 9GB');
  const node = await c.client.get<Node>(Kinds.Node, web.spec.nodeName!);
  t.match(node.metadata.name, /^fargate-/);
  t.equal(node.metadata.labels?.['eks.amazonaws.com/compute-type'], 'fargate');
  t.same(node.spec.taints, [{ key: 'eks.amazonaws.com/compute-type', value: 'fargate', effect: 'NoSchedule' }]);
  t.same(node.status?.capacity, { cpu: '2', memory: '9216Mi', pods: '1' });

  for (const [ns, name] of [['batch', 'plain'], ['default', 'ec2']] as const) {
    const p = await c.until(async () => {
      const x = await c.client.get<Pod>(Kinds.Pod, name, ns);
      return x.spec.nodeName ? x : undefined;
    }, `${ns}/${name} to be scheduled`);
    t.equal(p.spec.nodeName, 'ec2-1', `${ns}/${name} is bin-packed on EC2`);
    t.equal(p.spec.schedulerName, 'default-scheduler');
  }
  // Only one Fargate node: nothing else was placed on it.
  const fargateNodes = (await c.client.list<Node>(Kinds.Node, { labelSelector: 'eks.amazonaws.com/compute-type=fargate' })).items;
  t.equal(fargateNodes.length, 1);

  // Ten virtual minutes after the node was provisioned: 600 s × (2 × $0.04048 + 9 × $0.004445) / 3600.
  const usage = (await c.client.list<FargateUsage>(EksKinds.FargateUsage)).items;
  t.equal(usage.length, 1);
  const start = Date.parse(usage[0]!.spec.start);
  await c.clock.advanceTo(start + 600_000);
  const bill = await fargateCostFromApi(c.client, 0, c.clock.now() + 1, c.clock.now());
  t.equal(bill.pods, 1);
  t.equal(bill.byPod[0]!.size, '2vCPU 9GB');
  t.equal(bill.byPod[0]!.billedSeconds, 600);
  t.ok(Math.abs(bill.usd - 0.120965 / 6) < 1e-9, `ten minutes of 2 vCPU / 9 GB cost $${bill.usd}, expected $0.0201608`);

  // The same bill over HTTP, as `berth cost` would ask it.
  const res = await c.api.http().inject({ method: 'GET', url: '/billing/v1/fargate?since=1h' });
  t.equal(res.statusCode, 200);
  const viaHttp = res.json() as FargateCostReport;
  t.ok(Math.abs(viaHttp.usd - 0.120965 / 6) < 1e-9);
  t.match(viaHttp.source, /aws\.amazon\.com\/fargate\/pricing/);
  const bad = await c.api.http().inject({ method: 'GET', url: '/billing/v1/fargate?since=yesterday-ish' });
  t.equal(bad.statusCode, 400);

  // The pod goes: its node goes, and the run is closed.
  await c.client.delete(Kinds.Pod, 'web', 'prod', { gracePeriodSeconds: 0 });
  await c.until(async () => !(await c.client.tryGet(Kinds.Node, node.metadata.name!)), 'the Fargate node to be deleted');
  const closed = await c.client.get<FargateUsage>(EksKinds.FargateUsage, usage[0]!.metadata.name!);
  t.ok(closed.spec.end, 'the usage record is closed');
  const after = await fargateCostFromApi(c.client, 0, c.clock.now() + 1, c.clock.now() + 3_600_000);
  t.equal(after.byPod[0]!.billedSeconds, Math.max(60, Math.ceil((Date.parse(closed.spec.end!) - start) / 1000)), 'a closed run is not billed past its end');
});

t.test('a short pod is billed the one-minute minimum; a pod too big for Fargate stays Pending with a reason', async (t) => {
  const c = await cluster(t);
  await c.client.create(profile('batch', [{ namespace: 'batch', labels: { fargate: 'yes' } }]));
  await c.client.create(pod(makePod('quick', 'batch').label('fargate', 'yes').spec((s) => void (s.restartPolicy = 'Never')).obj()));
  const quick = await c.until(async () => {
    const p = await c.client.get<Pod>(Kinds.Pod, 'quick', 'batch');
    return p.spec.nodeName && p.status?.phase === 'Running' ? p : undefined;
  }, 'the small pod to run');
  t.equal(quick.metadata.annotations?.CapacityProvisioned, '0.25vCPU 0.5GB');
  await c.client.delete(Kinds.Pod, 'quick', 'batch', { gracePeriodSeconds: 0 });
  await c.until(async () => (await c.client.list<Node>(Kinds.Node, { labelSelector: 'eks.amazonaws.com/compute-type=fargate' })).items.length === 0, 'the node to go');
  const bill = await fargateCostFromApi(c.client, 0, c.clock.now() + 1, c.clock.now());
  t.equal(bill.byPod[0]!.billedSeconds, 60);
  t.ok(Math.abs(bill.usd - (0.25 * 0.04048 + 0.5 * 0.004445) / 60) < 1e-12);

  await c.client.create(pod(makePod('huge', 'batch').label('fargate', 'yes').req({ cpu: '32' }).obj()));
  const ev = await c.until(async () => (await c.client.list(Kinds.Event, { namespace: 'batch' })).items.find((e) => (e as { reason?: string }).reason === 'FailedScheduling'), 'a FailedScheduling event');
  t.match((ev as { message?: string }).message, /largest is 16 vCPU/);
  const huge = await c.client.get<Pod>(Kinds.Pod, 'huge', 'batch');
  t.notOk(huge.spec.nodeName, 'never bin-packed onto EC2');
});
