/**
 * What a Node of an instance type registers with: capacity, and allocatable after the
 * reservations the EKS-optimized AMI configures for its kubelet.
 *
 * Allocatable = Capacity − kube-reserved − system-reserved − hard eviction thresholds
 * (https://kubernetes.io/docs/tasks/administer-cluster/reserve-compute-resources/). The EKS AMI's
 * bootstrap (awslabs/amazon-eks-ami `templates/al2/runtime/bootstrap.sh`) sets:
 * - kubeReserved.cpu: 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% of
 *   every core above four, each range computed in integer millicores (`get_cpu_millicores_to_reserve`,
 *   after GKE's ranges);
 * - kubeReserved.memory: 255 MiB + 11 MiB per pod the instance type allows
 *   (`get_memory_mebibytes_to_reserve`, with maxPods from `eni-max-pods.txt`);
 * - kubeReserved.ephemeral-storage: 1 GiB;
 * - evictionHard: `memory.available<100Mi`, `nodefs.available<10%`;
 * - no systemReserved.
 *
 * Units: cpu in millicores, memory and storage in bytes unless a name says MiB or GB.
 */
import type { ResourceList } from '../api/types.js';
import { formatAmount } from '../api/quantity.js';
import type { InstanceTypeInfo } from './catalog.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** kube-reserved memory, fixed part: 255 MiB (EKS AMI bootstrap.sh). */
export const KUBE_RESERVED_MEMORY_BASE_MIB = 255;
/** kube-reserved memory per allowed pod: 11 MiB (EKS AMI bootstrap.sh). */
export const KUBE_RESERVED_MEMORY_PER_POD_MIB = 11;
/** kube-reserved ephemeral storage: 1 GiB (EKS AMI bootstrap.sh). */
export const KUBE_RESERVED_EPHEMERAL_STORAGE_BYTES = GiB;
/** Hard eviction threshold `memory.available<100Mi` (EKS AMI bootstrap.sh; also the kubelet's default). */
export const EVICTION_HARD_MEMORY_MIB = 100;
/** Hard eviction threshold `nodefs.available<10%` (EKS AMI bootstrap.sh; also the kubelet's default), percent. */
export const EVICTION_HARD_NODEFS_PERCENT = 10;
/**
 * Root volume when the type has no instance store: 20 GiB, the default disk size of EKS managed
 * node groups for Linux (EKS API CreateNodegroup `diskSize`) and of the EKS AMI's own root volume.
 * (eksctl's nodegroups default to 80 GiB since eksctl 0.22, eksctl-io/eksctl#2317.)
 */
export const DEFAULT_ROOT_VOLUME_GIB = 20;
/** The resource name the NVIDIA device plugin advertises GPUs under. */
export const GPU_RESOURCE = 'nvidia.com/gpu';
/** The resource name the AWS Neuron device plugin advertises Inferentia/Trainium devices under (as Karpenter models them). */
export const NEURON_RESOURCE = 'aws.amazon.com/neuron';

/** CPU reservation ranges of the EKS AMI: [start, end) in millicores, and the share in hundredths of a percent. */
const CPU_RANGES: readonly { from: number; to: number; basisPoints: number }[] = [
  { from: 0, to: 1000, basisPoints: 600 },
  { from: 1000, to: 2000, basisPoints: 100 },
  { from: 2000, to: 4000, basisPoints: 50 },
  { from: 4000, to: Infinity, basisPoints: 25 },
];

/**
 * The pods an instance can hold with the VPC CNI (one IP per pod, the first address of each ENI
 * kept for the node, plus 2 host-network pods): ENIs × (IPv4 per ENI − 1) + 2 (EKS AMI
 * `eni-max-pods.txt`; on multi-card types EKS counts only the default card's ENIs).
 */
export function eniMaxPods(enis: number, ipv4PerEni: number): number {
  return enis * (ipv4PerEni - 1) + 2;
}

/**
 * kube-reserved cpu, millicores, for `vcpu` cores. Each range truncates to whole millicores, as
 * the AMI's shell arithmetic does: 5 vCPU reserve 60 + 10 + 10 + ⌊1000 × 0.25%⌋ = 82m.
 */
export function kubeReservedCpuMillicores(vcpu: number): number {
  const total = vcpu * 1000;
  let reserved = 0;
  for (const r of CPU_RANGES) {
    if (total <= r.from) break;
    reserved += Math.floor(((Math.min(total, r.to) - r.from) * r.basisPoints) / 10_000);
  }
  return reserved;
}

/** kube-reserved memory, MiB: 255 + 11 × maxPods. */
export function kubeReservedMemoryMiB(maxPods: number): number {
  return KUBE_RESERVED_MEMORY_BASE_MIB + KUBE_RESERVED_MEMORY_PER_POD_MIB * maxPods;
}

/** The facts allocatable depends on. */
export type NodeShape = Pick<InstanceTypeInfo, 'vcpu' | 'memoryMiB' | 'maxPods' | 'gpuCount' | 'acceleratorCount' | 'localNvmeGB'>;

/** A node's resources as integers: cpu in millicores, memory and storage in bytes, the rest counts. */
export interface NodeResourceAmounts {
  cpuMillicores: number;
  memoryBytes: number;
  pods: number;
  ephemeralStorageBytes: number;
  gpus: number;
  neuronDevices: number;
}

/**
 * Ephemeral storage, bytes: the instance store when the type has one (kubelet on the local disks,
 * as the EKS AMI's `--local-disks raid0` sets up), otherwise the 20 GiB root volume.
 */
export function ephemeralStorageBytes(shape: Pick<NodeShape, 'localNvmeGB'>): number {
  return shape.localNvmeGB > 0 ? shape.localNvmeGB * 1e9 : DEFAULT_ROOT_VOLUME_GIB * GiB;
}

/** Capacity: the instance's vCPUs, memory, pods, disk and devices, unreduced. */
export function nodeCapacity(shape: NodeShape): NodeResourceAmounts {
  return {
    cpuMillicores: shape.vcpu * 1000,
    memoryBytes: shape.memoryMiB * MiB,
    pods: shape.maxPods,
    ephemeralStorageBytes: ephemeralStorageBytes(shape),
    gpus: shape.gpuCount,
    neuronDevices: shape.acceleratorCount,
  };
}

/** Allocatable: capacity less kube-reserved and the hard eviction thresholds (never below 0). */
export function nodeAllocatable(shape: NodeShape): NodeResourceAmounts {
  const cap = nodeCapacity(shape);
  const disk = cap.ephemeralStorageBytes;
  return {
    cpuMillicores: Math.max(0, cap.cpuMillicores - kubeReservedCpuMillicores(shape.vcpu)),
    memoryBytes: Math.max(0, cap.memoryBytes - (kubeReservedMemoryMiB(shape.maxPods) + EVICTION_HARD_MEMORY_MIB) * MiB),
    pods: cap.pods,
    ephemeralStorageBytes: Math.max(0, disk - KUBE_RESERVED_EPHEMERAL_STORAGE_BYTES - Math.ceil((disk * EVICTION_HARD_NODEFS_PERCENT) / 100)),
    gpus: cap.gpus,
    neuronDevices: cap.neuronDevices,
  };
}

/** Amounts as a Node's ResourceList (`{cpu: "3920m", memory: "15391Mi", pods: "58", …}`); devices only when present. */
export function toResourceList(a: NodeResourceAmounts): ResourceList {
  const out: ResourceList = {
    cpu: formatAmount('cpu', a.cpuMillicores),
    'ephemeral-storage': formatStorage(a.ephemeralStorageBytes),
    memory: formatAmount('memory', a.memoryBytes),
    pods: String(a.pods),
  };
  if (a.gpus > 0) out[GPU_RESOURCE] = String(a.gpus);
  if (a.neuronDevices > 0) out[NEURON_RESOURCE] = String(a.neuronDevices);
  return out;
}

/** Bytes as the shorter exact quantity: binary (`20Gi`) or decimal (`475G`, `8T`), binary on a tie. */
function formatStorage(bytes: number): string {
  const binary = formatAmount('ephemeral-storage', bytes);
  let decimal = String(bytes);
  for (const [suffix, unit] of [['T', 1e12], ['G', 1e9], ['M', 1e6], ['k', 1e3]] as const) {
    if (bytes !== 0 && bytes % unit === 0) {
      decimal = `${bytes / unit}${suffix}`;
      break;
    }
  }
  return decimal.length < binary.length ? decimal : binary;
}

/** A Node's `status.capacity` and `status.allocatable` for an instance type. */
export function nodeResources(shape: NodeShape): { capacity: ResourceList; allocatable: ResourceList } {
  return { capacity: toResourceList(nodeCapacity(shape)), allocatable: toResourceList(nodeAllocatable(shape)) };
}
