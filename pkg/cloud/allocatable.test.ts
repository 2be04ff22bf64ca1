import t from 'tap';
import { eniMaxPods, kubeReservedCpuMillicores, kubeReservedMemoryMiB, nodeAllocatable, nodeCapacity, nodeResources, type NodeShape } from './allocatable.js';
import { instanceType } from './catalog.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

t.test('kube-reserved cpu: 6% / 1% / 0.5% / 0.25% ranges in whole millicores', async (t) => {
  const cases: [vcpu: number, millicores: number, why: string][] = [
    [1, 60, '6% of 1000m'],
    [2, 70, '60 + 1% of 1000m = 60 + 10'],
    [4, 80, '60 + 10 + 0.5% of 2000m = 60 + 10 + 10'],
    [5, 82, '80 + ⌊0.25% of 1000m⌋ = 80 + ⌊2.5⌋'],
    [8, 90, '80 + 0.25% of 4000m = 80 + 10'],
    [16, 110, '80 + 0.25% of 12000m = 80 + 30'],
    [96, 310, '80 + 0.25% of 92000m = 80 + 230'],
    [192, 550, '80 + 0.25% of 188000m = 80 + 470'],
  ];
  for (const [vcpu, m, why] of cases) t.equal(kubeReservedCpuMillicores(vcpu), m, `${vcpu} vCPU: ${why}`);
});

t.test('kube-reserved memory: 255 MiB + 11 MiB per pod', async (t) => {
  t.equal(kubeReservedMemoryMiB(29), 574, '255 + 11 × 29 = 255 + 319');
  t.equal(kubeReservedMemoryMiB(58), 893, '255 + 11 × 58 = 255 + 638');
  t.equal(kubeReservedMemoryMiB(110), 1465, '255 + 11 × 110 = 255 + 1210');
});

t.test('max pods: ENIs × (IPv4 per ENI − 1) + 2', async (t) => {
  t.equal(eniMaxPods(3, 10), 29, 'm5.large: 3 × 9 + 2');
  t.equal(eniMaxPods(4, 15), 58, 'm5.xlarge: 4 × 14 + 2');
  t.equal(eniMaxPods(2, 2), 4, 't3.micro: 2 × 1 + 2');
});

t.test('m5.xlarge: capacity 4 / 16Gi / 58, allocatable 3920m / 15391Mi, three 1-cpu pods fit', async (t) => {
  const m5 = instanceType('m5.xlarge')!;
  const { capacity, allocatable } = nodeResources(m5);
  // cpu: 4000 − (60 + 10 + 10) = 3920m
  // memory: 16384 − (255 + 11 × 58) − 100 = 16384 − 893 − 100 = 15391 MiB
  // ephemeral-storage: 20 GiB root − 1 GiB kube-reserved − 10% of 20 GiB = 20 − 1 − 2 = 17 GiB
  t.same(capacity, { cpu: '4', 'ephemeral-storage': '20Gi', memory: '16Gi', pods: '58' });
  t.same(allocatable, { cpu: '3920m', 'ephemeral-storage': '17Gi', memory: '15391Mi', pods: '58' });
  const a = nodeAllocatable(m5);
  t.equal(Math.floor(a.cpuMillicores / 1000), 3, '⌊3920 / 1000⌋ = 3 pods of 1 cpu');
  t.equal(a.memoryBytes, 15391 * MiB);
});

t.test('a table of types', async (t) => {
  const cases: { name: string; cpu: string; memory: string; pods: string; why: string }[] = [
    { name: 'm5.large', cpu: '1930m', memory: '7518Mi', pods: '29', why: '2000 − 70; 8192 − 574 − 100' },
    { name: 't3.micro', cpu: '1930m', memory: '625Mi', pods: '4', why: '2000 − 70; 1024 − (255 + 44) − 100' },
    { name: 'c5.4xlarge', cpu: '15890m', memory: '29839Mi', pods: '234', why: '16000 − 110; 32768 − (255 + 2574) − 100' },
    { name: 'p4d.24xlarge', cpu: '95690m', memory: '1171186Mi', pods: '737', why: '96000 − 310; 1179648 − (255 + 8107) − 100' },
  ];
  for (const c of cases) {
    const { allocatable } = nodeResources(instanceType(c.name)!);
    t.match(allocatable, { cpu: c.cpu, memory: c.memory, pods: c.pods }, `${c.name}: ${c.why}`);
  }
});

t.test('GPUs, Neuron devices and instance store', async (t) => {
  const p4d = nodeResources(instanceType('p4d.24xlarge')!);
  t.equal(p4d.capacity['nvidia.com/gpu'], '8');
  t.equal(p4d.allocatable['nvidia.com/gpu'], '8');
  // 8000 GB instance store: capacity 8 × 10^12 bytes; allocatable 8e12 − 1 GiB − 8e11 = 7198926258176
  t.equal(p4d.capacity['ephemeral-storage'], '8T');
  t.equal(nodeAllocatable(instanceType('p4d.24xlarge')!).ephemeralStorageBytes, 8e12 - GiB - 8e11);
  const inf1 = nodeResources(instanceType('inf1.xlarge')!);
  t.equal(inf1.capacity['aws.amazon.com/neuron'], '1');
  t.equal(inf1.capacity['nvidia.com/gpu'], undefined);
  t.equal(nodeResources(instanceType('m5.large')!).capacity['nvidia.com/gpu'], undefined, 'no GPU resource without GPUs');
  t.equal(nodeResources(instanceType('i3.large')!).capacity['ephemeral-storage'], '475G');
});

t.test('never below zero', async (t) => {
  const tiny: NodeShape = { vcpu: 1, memoryMiB: 256, maxPods: 4, gpuCount: 0, acceleratorCount: 0, localNvmeGB: 0 };
  t.equal(nodeAllocatable(tiny).memoryBytes, 0, '256 − (255 + 44) − 100 < 0');
  t.equal(nodeCapacity(tiny).cpuMillicores, 1000);
});
