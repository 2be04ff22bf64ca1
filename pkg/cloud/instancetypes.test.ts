import t from 'tap';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { startTestApi } from '../testing/api.js';
import { catalog, familyGeneration, installCloudWithHandle, seedInstanceTypes, type InstanceTypeObject } from './index.js';

t.test('the catalogue is served as InstanceType objects', async (t) => {
  const h = await startTestApi({ clock: new VirtualClock() });
  t.teardown(() => h.stop());
  await installCloudWithHandle(h.api, h.mgr);

  const all = await h.client.list<InstanceTypeObject>(Kinds.InstanceType);
  t.equal(all.items.length, 260);
  const c5 = await h.client.list<InstanceTypeObject>(Kinds.InstanceType, { labelSelector: 'instance-family=c5' });
  t.ok(c5.items.length > 5 && c5.items.every((i) => i.metadata.name!.startsWith('c5.')), 'kubectl get it -l instance-family=c5');
  const c = await h.client.list<InstanceTypeObject>(Kinds.InstanceType, { labelSelector: 'family=c' });
  t.same([...new Set(c.items.map((i) => i.metadata.labels!['instance-family']))].sort(), ['c5', 'c5a', 'c6g', 'c6i', 'c7g', 'c7i'], 'kubectl get it -l family=c: the c series');
  const series = new Set((await h.client.list<InstanceTypeObject>(Kinds.InstanceType)).items.map((i) => i.metadata.labels!.family));
  t.same([...series].sort(), ['c', 'd', 'g', 'i', 'inf', 'm', 'p', 'r', 't', 'trn', 'x'], 'the five categories: m t, c, r x, p g inf trn, i d');
  const arm = await h.client.list<InstanceTypeObject>(Kinds.InstanceType, { labelSelector: 'arch=arm64,ec2.berth.dev/vcpu=2' });
  t.ok(arm.items.some((i) => i.metadata.name === 'm6g.large'));

  const m5 = await h.client.get<InstanceTypeObject>(Kinds.InstanceType, 'm5.large');
  t.same(m5.metadata.labels, {
    family: 'm',
    'instance-family': 'm5',
    category: 'general-purpose',
    size: 'large',
    arch: 'x86_64',
    'ec2.berth.dev/vcpu': '2',
    'ec2.berth.dev/memory-mib': '8192',
    'ec2.berth.dev/gpu-count': '0',
    'ec2.berth.dev/accelerator-count': '0',
    'ec2.berth.dev/local-storage-gb': '0',
    'ec2.berth.dev/max-pods': '29',
    'ec2.berth.dev/bare-metal': 'false',
    'ec2.berth.dev/generation': '5',
  });
  t.match(m5.spec, { vcpu: 2, memoryMiB: 8192, maxPods: 29, onDemandUsdPerHour: 0.096, priceDate: '2026-07-20', nodeAllocatable: { cpu: '1930m', memory: '7518Mi', pods: '29' } });
  const p4d = await h.client.get<InstanceTypeObject>(Kinds.InstanceType, 'p4d.24xlarge');
  t.match(p4d.metadata.labels, { 'ec2.berth.dev/gpu-count': '8', 'ec2.berth.dev/gpu-model': 'A100' });

  await t.rejects(h.client.create({ ...m5, metadata: { name: 'm5.huge' } }), { code: 403, reason: 'Forbidden' }, 'read-only');
  await t.rejects(h.client.delete(Kinds.InstanceType, 'm5.large'), { code: 403 });

  t.same(await seedInstanceTypes(h.api, catalog()), { created: 0, updated: 0 }, 'seeding again writes nothing');

  const r = await h.client.info(Kinds.InstanceType);
  const table = (await h.client.transport.table(r, undefined, 'm5.large', {})) as { columnDefinitions: { name: string; priority: number }[]; rows: { cells: unknown[] }[] };
  t.same(
    table.columnDefinitions.map((c) => `${c.name}${c.priority ? '*' : ''}`),
    ['Name', 'VCPU', 'Memory', 'GPUs', 'Max-Pods', 'Price', 'Family*', 'Category*', 'Arch*', 'Network*'],
  );
  t.same(table.rows[0]!.cells, ['m5.large', 2, '8Gi', 0, 29, '$0.0960/h', 'm5', 'general-purpose', 'x86_64', 'Up to 10 Gigabit']);
  const i3 = (await h.client.transport.table(r, undefined, 'i3.large', {})) as { rows: { cells: unknown[] }[] };
  t.equal(i3.rows[0]!.cells[2], '15.25Gi');
  const c7i = (await h.client.transport.table(r, undefined, 'c7i.large', {})) as { rows: { cells: unknown[] }[] };
  t.equal(c7i.rows[0]!.cells[9], '0.781 Gigabit baseline', 'no performance text: the baseline');
});

t.test('a changed catalogue entry is updated on the next start', async (t) => {
  const h = await startTestApi({ clock: new VirtualClock() });
  t.teardown(() => h.stop());
  const cat = catalog();
  t.same(await seedInstanceTypes(h.api, cat), { created: 260, updated: 0 });
  const repriced = { ...cat, list: () => cat.list().map((i) => (i.name === 'm5.large' ? { ...i, onDemandUsdPerHour: 0.1 } : i)) } as typeof cat;
  t.same(await seedInstanceTypes(h.api, repriced), { created: 0, updated: 1 });
  t.equal((await h.client.get<InstanceTypeObject>(Kinds.InstanceType, 'm5.large')).spec.onDemandUsdPerHour, 0.1);
});

t.test('family generation', async (t) => {
  t.same(['c5', 'm7i', 'x2idn', 'inf2', 'trn1', 'i3en', 'p4d'].map(familyGeneration), ['5', '7', '2', '2', '1', '3', '4']);
});
