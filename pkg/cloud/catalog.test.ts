import t from 'tap';
import { catalog, CatalogError, filterInstanceTypes, instanceType, kubeArch, loadCatalog, parseCatalog, PRICE_SOURCE } from './catalog.js';
import { CsvError, parseCsv, parseCsvRecords } from './csv.js';

t.test('parseCsv handles quotes, doubled quotes, commas and CRLF', async (t) => {
  t.same(parseCsv('a,b,c\n1,"x, y",3\r\n4,"say ""hi""",\n'), [
    ['a', 'b', 'c'],
    ['1', 'x, y', '3'],
    ['4', 'say "hi"', ''],
  ]);
  t.same(parseCsv('a,"multi\nline"\n\n'), [['a', 'multi\nline']], 'a quoted newline stays in the field; blank lines are skipped');
  t.same(parseCsv(',\n'), [['', '']], 'empty fields');
  t.throws(() => parseCsv('a,"open\n'), { code: 'MalformedCsv', line: 1 });
  t.throws(() => parseCsv('a,"x"y\n'), { code: 'MalformedCsv' });
  t.throws(() => parseCsvRecords('a,b\n1\n'), { code: 'MalformedCsv', line: 2 });
  t.ok(new CsvError('x', 3).message.includes('line 3'));
});

t.test('the repository catalogue: 260 types, parsed with units', async (t) => {
  const cat = catalog();
  t.equal(cat.size, 260);
  t.equal(loadCatalog().size, 260, 'loads again from the default path');

  const m5 = instanceType('m5.large')!;
  t.match(m5, { name: 'm5.large', family: 'm5', size: 'large', category: 'general-purpose', vcpu: 2, memoryMiB: 8192, arch: 'x86_64', maxPods: 29, onDemandUsdPerHour: 0.096, bareMetal: false, gpuCount: 0 });
  t.equal(m5.maxENIs, 3);
  t.equal(m5.ipv4PerENI, 10);
  t.equal(m5.priceDate, '2026-07-20');
  t.equal(m5.priceSource, PRICE_SOURCE.source);

  t.match(instanceType('m5.xlarge'), { vcpu: 4, memoryMiB: 16384, maxPods: 58, onDemandUsdPerHour: 0.192 });
  t.match(instanceType('c5.large'), { vcpu: 2, memoryMiB: 4096, onDemandUsdPerHour: 0.085, category: 'compute-optimized' });
  t.match(instanceType('r5.large'), { memoryMiB: 16384, onDemandUsdPerHour: 0.126 });
  t.match(instanceType('t3.micro'), { vcpu: 2, memoryMiB: 1024, onDemandUsdPerHour: 0.0104, maxPods: 4 });

  const p4d = instanceType('p4d.24xlarge')!;
  t.match(p4d, { gpuCount: 8, gpuManufacturer: 'NVIDIA', gpuModel: 'A100', vcpu: 96, memoryMiB: 1179648, localNvmeGB: 8000, category: 'accelerated-computing' });
  t.equal(p4d.gpuMemoryMiB, 8 * 40960, 'total GPU memory = 8 × 40960 MiB');
  t.equal(p4d.maxPods, 737, 'multi-card: default card only, 15 × (50 − 1) + 2');

  t.match(instanceType('inf1.xlarge'), { acceleratorCount: 1, acceleratorModel: 'Inferentia', gpuCount: 0 });
  t.match(instanceType('x1.16xlarge'), { localNvmeGB: 1920, localStorageType: 'SSD' }, 'a quoted note did not shift the columns');
  t.equal(instanceType('x1.16xlarge')!.note, 'instance store is SSD (not NVMe), total from AWS UG InstanceStorage');
  t.match(instanceType('c7i.large'), { networkPerformance: '', networkBaselineMbps: 781 });
  t.equal(instanceType('m6g.large')!.arch, 'arm64');
  t.equal(kubeArch('arm64'), 'arm64');
  t.equal(kubeArch('x86_64'), 'amd64');
  t.equal(instanceType('m5.huge'), undefined);
});

t.test('every row holds together', async (t) => {
  for (const it of catalog().list()) {
    if (it.defaultCardENIs === it.maxENIs) t.equal(it.maxPods, it.maxENIs * (it.ipv4PerENI - 1) + 2, `${it.name} maxPods`);
    else t.equal(it.maxPods, it.defaultCardENIs * (it.ipv4PerENI - 1) + 2, `${it.name} maxPods (multi-card)`);
    if (!(it.onDemandUsdPerHour > 0)) t.fail(`${it.name} has a price`);
  }
  t.same(
    catalog().list().filter((i) => i.defaultCardENIs !== i.maxENIs).map((i) => i.name).sort(),
    ['p4d.24xlarge', 'p5.48xlarge', 'trn1.32xlarge'],
  );
});

t.test('filter', async (t) => {
  const c5 = filterInstanceTypes({ family: 'c5' });
  t.ok(c5.length > 5);
  t.ok(c5.every((i) => i.family === 'c5'));
  const gpus = filterInstanceTypes({ gpu: true, maxUsdPerHour: 1.1 });
  t.ok(gpus.some((i) => i.name === 'g5.xlarge'));
  t.ok(gpus.every((i) => i.gpuCount > 0 && i.onDemandUsdPerHour <= 1.1));
  const small = filterInstanceTypes({ arch: 'arm64', maxVcpu: 2, minMemoryMiB: 4096 });
  t.ok(small.length > 0 && small.every((i) => i.arch === 'arm64' && i.vcpu <= 2 && i.memoryMiB >= 4096));
  t.same(filterInstanceTypes((i) => i.name === 'm5.large').map((i) => i.name), ['m5.large']);
  t.ok(catalog().families().includes('trn1'));
});

t.test('parseCatalog rejects broken rows with a CatalogError', async (t) => {
  const header =
    'instanceType,family,size,category,vcpu,memoryMiB,arch,bareMetal,gpuCount,gpuManufacturer,gpuModel,gpuMemoryMiB,gpuMemoryPerDeviceMiB,acceleratorCount,acceleratorModel,acceleratorMemoryMiB,localNvmeGB,localStorageType,localStorageDisks,maxENIs,defaultCardENIs,ipv4PerENI,maxPods,maxPodsEksAmi,networkPerformance,networkBaselineMbps,onDemandUsdPerHourUsEast1,note';
  const good = 'm5.large,m5,large,general-purpose,2,8192,x86_64,false,0,,,0,,0,,0,0,,,3,3,10,29,29,Up to 10 Gigabit,750,0.096,';
  t.equal(parseCatalog(`${header}\n${good}\n`).size, 1);
  t.throws(() => parseCatalog(`${header}\n${good.replace(',2,8192', ',two,8192')}\n`), { code: 'InvalidCatalog' });
  t.throws(() => parseCatalog(`${header}\n${good.replace('general-purpose', 'fast')}\n`), { code: 'InvalidCatalog' });
  t.throws(() => parseCatalog(`${header}\n${good}\n${good}\n`), { code: 'InvalidCatalog' }, 'duplicate');
  t.throws(() => parseCatalog('instanceType,family\nm5.large,m5\n'), { code: 'InvalidCatalog' }, 'missing columns');
  t.throws(() => loadCatalog('/nonexistent/catalog.csv'), { code: 'InvalidCatalog' });
  t.ok(new CatalogError('x') instanceof Error);
});
