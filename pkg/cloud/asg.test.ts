import t from 'tap';
import type { Event, Node } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { startTestApi } from '../testing/api.js';
import { fleetCost, installCloudWithHandle, seededRandom, type AutoScalingGroup, type CloudOptions, type Instance } from './index.js';

const MIN = 60_000;

async function setup(t: { teardown(fn: () => unknown): void }, opts: CloudOptions = {}) {
  const clock = new VirtualClock();
  const h = await startTestApi({ clock });
  // A fixed 30 s boot keeps the arithmetic simple (the default is per family, with jitter).
  await installCloudWithHandle(h.api, h.mgr, { random: seededRandom(42), bootDelaySeconds: 30, ...opts });
  await h.start();
  t.teardown(() => h.stop());
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 60; i++) await clock.advance(0);
  };
  const asg = () => h.client.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'general');
  /** The group's instances that are not terminated, by zone then id. */
  const live = async (): Promise<Instance[]> =>
    (await h.client.list<Instance>(Kinds.Instance, { labelSelector: 'autoscaling.berth.dev/group-name=general' })).items
      .filter((i) => i.spec.state !== 'terminated' && !i.metadata.deletionTimestamp)
      .sort((a, b) => a.spec.availabilityZone.localeCompare(b.spec.availabilityZone) || a.metadata.name!.localeCompare(b.metadata.name!));
  const zonesOf = async (): Promise<string[]> => (await live()).map((i) => i.spec.availabilityZone.slice(-1));
  const scale = async (replicas: number) => {
    const r = await h.client.info(Kinds.AutoScalingGroup);
    return h.client.transport.update(r, undefined, 'general', { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'general' }, spec: { replicas } }, { subresource: 'scale' });
  };
  return { ...h, clock, settle, asg, live, zonesOf, scale };
}

function group(spec: Partial<AutoScalingGroup['spec']> = {}): AutoScalingGroup {
  return {
    apiVersion: 'autoscaling.berth.dev/v1',
    kind: 'AutoScalingGroup',
    metadata: { name: 'general' },
    spec: {
      minSize: 1,
      maxSize: 10,
      desiredCapacity: 3,
      launchTemplate: { instanceType: 'm5.large', nodeLabels: { team: 'web' }, nodeTaints: [] },
      availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
      ...spec,
    },
  };
}

t.test('a group launches its desired capacity, one per zone, and its Nodes carry the group', async (t) => {
  const s = await setup(t);
  await s.client.create(group());
  await s.settle();
  const insts = await s.live();
  t.same(await s.zonesOf(), ['a', 'b', 'c']);
  for (const i of insts) {
    t.match(i.metadata.name, /^i-0[0-9a-f]{16}$/);
    t.equal(i.metadata.labels!['autoscaling.berth.dev/group-name'], 'general');
    t.match(i.metadata.ownerReferences, [{ kind: 'AutoScalingGroup', name: 'general', controller: true }]);
    t.same(i.spec.nodeLabels, { team: 'web', 'autoscaling.berth.dev/group-name': 'general' });
  }
  let g = await s.asg();
  t.match(g.status, { currentCapacity: 3, desiredCapacity: 3 });
  t.same(
    g.status!.instances.map((i) => [i.lifecycleState, i.healthStatus, i.instanceType]),
    [
      ['Pending', 'Healthy', 'm5.large'],
      ['Pending', 'Healthy', 'm5.large'],
      ['Pending', 'Healthy', 'm5.large'],
    ],
  );
  const events = (await s.client.list<Event>(Kinds.Event, { namespace: 'default', fieldSelector: 'involvedObject.name=general' })).items;
  t.same(
    events.map((e) => e.message).sort(),
    insts.map((i) => `Launching a new EC2 instance: ${i.metadata.name}`).sort(),
  );
  t.ok(events.every((e) => e.type === 'Normal'));

  await s.clock.advance(30_000);
  await s.settle();
  g = await s.asg();
  t.ok(g.status!.instances.every((i) => i.lifecycleState === 'InService'));
  const nodes = (await s.client.list<Node>(Kinds.Node, { labelSelector: 'autoscaling.berth.dev/group-name=general,team=web' })).items;
  t.equal(nodes.length, 3, 'three Nodes labelled with the group and the template labels');
  t.equal(fleetCost((await s.client.list<Instance>(Kinds.Instance)).items), 0.288, '3 × $0.096/h');

  const r = await s.client.info(Kinds.AutoScalingGroup);
  const table = (await s.client.transport.table(r, undefined, undefined, {})) as { columnDefinitions: { name: string; priority: number }[]; rows: { cells: unknown[] }[] };
  t.same(
    table.columnDefinitions.map((c) => `${c.name}${c.priority ? '*' : ''}`),
    ['Name', 'Min', 'Desired', 'Max', 'Instances', 'Instance-Type', 'Age', 'Zones*'],
  );
  t.same(table.rows[0]!.cells, ['general', 1, 3, 10, '3/3', 'm5.large', '30s', 'us-east-1a,us-east-1b,us-east-1c']);
});

t.test('scale out and in through the scale subresource: zone balance and the Default termination policy', async (t) => {
  const s = await setup(t);
  await s.client.create(group());
  await s.settle();
  const first = await s.live(); // a, b, c launched at 0 min
  await s.clock.advance(40 * MIN);

  const scaled = await s.scale(5);
  t.match(scaled, { kind: 'Scale', spec: { replicas: 5 } });
  await s.settle();
  t.same(await s.zonesOf(), ['a', 'a', 'b', 'b', 'c'], 'the two new ones go to a and b (fewest, then zone order)');
  t.equal((await s.asg()).spec.desiredCapacity, 5);
  const second = (await s.live()).filter((i) => !first.some((f) => f.metadata.name === i.metadata.name)); // launched at 40 min

  await s.clock.advance(10 * MIN);
  await s.settle();
  // At 50 min: the first three are 10 min from their billing hour, the two new ones 50 min.
  await s.scale(2);
  await s.settle();
  // 1. a:2 b:2 c:1 → b (the later of the tied zones): the old b, closest to its billing hour.
  // 2. a:2 b:1 c:1 → a: the old a.
  // 3. a:1 b:1 c:1 → c (the last zone): the only c.
  const left = await s.live();
  t.same(
    left.map((i) => i.metadata.name).sort(),
    second.map((i) => i.metadata.name).sort(),
    'the two newest, one in a and one in b, are left',
  );
  const terminating = (await s.asg()).status!.instances.filter((i) => i.lifecycleState === 'Terminating');
  t.equal(terminating.length, 3);
  t.equal((await s.asg()).status!.currentCapacity, 2);
  const events = (await s.client.list<Event>(Kinds.Event, { namespace: 'default', fieldSelector: 'involvedObject.name=general,reason=Terminating' })).items;
  t.same(
    events.map((e) => e.message).sort(),
    first.map((i) => `Terminating EC2 instance: ${i.metadata.name}`).sort(),
  );

  await s.clock.advance(5_000);
  await s.settle();
  t.same((await s.asg()).status!.instances.length, 2, 'terminated instances leave the group');
});

t.test('kubectl scale: a merge patch of the scale subresource over HTTP, and 422 past maxSize', async (t) => {
  const s = await setup(t);
  await s.client.create(group());
  await s.settle();
  const app = s.api.http();
  t.teardown(() => app.close());
  const url = '/apis/autoscaling.berth.dev/v1/autoscalinggroups/general/scale';
  const ok = await app.inject({ method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ spec: { replicas: 4 } }) });
  t.equal(ok.statusCode, 200);
  t.match(ok.json(), { kind: 'Scale', spec: { replicas: 4 } });
  await s.settle();
  t.equal((await s.live()).length, 4);
  const get = await app.inject({ method: 'GET', url });
  t.match(get.json(), { spec: { replicas: 4 }, status: { replicas: 4 } });

  const bad = await app.inject({ method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ spec: { replicas: 12 } }) });
  t.equal(bad.statusCode, 422);
  t.match(bad.json(), {
    reason: 'Invalid',
    message: 'AutoScalingGroup.autoscaling.berth.dev "general" is invalid: spec.desiredCapacity: Invalid value: 12: must be between minSize (1) and maxSize (10)',
    details: { causes: [{ field: 'spec.desiredCapacity' }] },
  });
  await t.rejects(s.scale(0), { code: 422, message: /must be between minSize \(1\) and maxSize \(10\)/ });
});

t.test('an unhealthy (stopped) instance and a deleted one are replaced in their zone', async (t) => {
  const s = await setup(t, { bootDelaySeconds: 0 });
  await s.client.create(group());
  await s.settle();
  const [a, b] = await s.live();
  await s.client.patch(Kinds.Instance, a!.metadata.name!, undefined, 'merge', { spec: { state: 'stopped' } });
  await s.settle();
  const stopped = await s.client.get<Instance>(Kinds.Instance, a!.metadata.name!);
  t.equal(stopped.spec.state, 'terminated', 'the group terminates its stopped instance');
  t.same(await s.zonesOf(), ['a', 'b', 'c'], 'and launches a replacement in the same zone');
  t.equal((await s.live()).length, 3);

  await s.client.delete(Kinds.Instance, b!.metadata.name!);
  await s.settle();
  t.same(await s.zonesOf(), ['a', 'b', 'c'], 'a deleted instance is replaced too');
  t.notOk((await s.live()).some((i) => i.metadata.name === b!.metadata.name));
});

t.test('deleting the group terminates its instances', async (t) => {
  const s = await setup(t, { bootDelaySeconds: 0 });
  await s.client.create(group());
  await s.settle();
  t.equal((await s.client.list(Kinds.Node)).items.length, 3);
  await s.client.delete(Kinds.AutoScalingGroup, 'general');
  await s.settle();
  t.equal((await s.client.list(Kinds.Node)).items.length, 0, 'Nodes go at shutting-down');
  await s.clock.advance(5_000);
  await s.settle();
  t.equal((await s.client.list(Kinds.Instance)).items.length, 0, 'instances go once terminated');
});

t.test('validation and defaults', async (t) => {
  const s = await setup(t);
  const { desiredCapacity: _d, ...noDesired } = group().spec;
  const created = await s.client.create<AutoScalingGroup>({ ...group(), spec: noDesired as AutoScalingGroup['spec'] });
  t.equal(created.spec.desiredCapacity, 1, 'desiredCapacity defaults to minSize');
  await s.client.delete(Kinds.AutoScalingGroup, 'general');

  const cases: [Partial<AutoScalingGroup['spec']>, RegExp][] = [
    [{ desiredCapacity: 12 }, /spec\.desiredCapacity: Invalid value: 12: must be between minSize \(1\) and maxSize \(10\)/],
    [{ minSize: 5, maxSize: 2, desiredCapacity: 3 }, /spec\.maxSize: Invalid value: 2: must be greater than or equal to minSize \(5\)/],
    [{ minSize: -1 }, /spec\.minSize: Invalid value: -1: must be greater than or equal to 0/],
    [{ maxSize: 2.5 }, /spec\.maxSize: Invalid value: 2\.5: must be an integer/],
    [{ availabilityZones: [] }, /spec\.availabilityZones: Required value/],
    [{ availabilityZones: ['us-east-1a', 'us-east-1z'] }, /spec\.availabilityZones\[1\]: Unsupported value: "us-east-1z"/],
    [{ availabilityZones: ['us-east-1a', 'us-east-1a'] }, /spec\.availabilityZones\[1\]: Duplicate value: "us-east-1a"/],
    [{ launchTemplate: { instanceType: 'm5.huge' } }, /spec\.launchTemplate\.instanceType: Unsupported value: "m5\.huge"/],
    [{ launchTemplate: { instanceType: 'm5.large', nodeTaints: [{ key: '', effect: 'NoSchedule' }] } }, /spec\.launchTemplate\.nodeTaints\[0\]\.key: Required value/],
    [
      { launchTemplate: { instanceType: 'm5.large', nodeTaints: [{ key: 'a', effect: 'NoSchedule' }, { key: 'a', effect: 'NoSchedule' }] } },
      /spec\.launchTemplate\.nodeTaints\[1\]: Duplicate value/,
    ],
  ];
  for (const [spec, message] of cases) await t.rejects(s.client.create(group(spec)), { code: 422, message }, String(message));
  await t.rejects(s.client.create({ ...group(), spec: { minSize: 1 } as AutoScalingGroup['spec'] }), {
    code: 422,
    message: /\[spec\.maxSize: Required value, spec\.launchTemplate: Required value, spec\.availabilityZones: Required value: at least one Availability Zone\]/,
  });
});

t.test('dropping a zone moves its instances into the remaining zones; a new type is used for new launches', async (t) => {
  const s = await setup(t, { bootDelaySeconds: 0 });
  await s.client.create(group({ desiredCapacity: 3 }));
  await s.settle();
  const inC = (await s.live()).find((i) => i.spec.availabilityZone === 'us-east-1c')!;
  await s.client.patch(Kinds.AutoScalingGroup, 'general', undefined, 'merge', { spec: { availabilityZones: ['us-east-1a', 'us-east-1b'], launchTemplate: { instanceType: 'm5.xlarge' } } });
  await s.settle();
  t.equal((await s.client.get<Instance>(Kinds.Instance, inC.metadata.name!)).spec.state, 'terminated', 'the instance in us-east-1c is terminated');
  const now = await s.live();
  t.same(await s.zonesOf(), ['a', 'a', 'b'], 'its replacement goes to the first of the tied zones');
  t.same(
    now.map((i) => i.spec.instanceType).sort(),
    ['m5.large', 'm5.large', 'm5.xlarge'],
    'existing instances keep their type (no instance refresh); the replacement has the new one',
  );

  // Scale-in prefers the outdated launch template within the zone it shrinks: a has the new m5.xlarge and an old m5.large.
  await s.scale(2);
  await s.settle();
  t.same(
    (await s.live()).map((i) => `${i.spec.availabilityZone.slice(-1)}:${i.spec.instanceType}`),
    ['a:m5.xlarge', 'b:m5.large'],
  );
});
