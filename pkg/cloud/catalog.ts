/**
 * The EC2 instance-type catalogue: 260 real instance types with their hardware, network limits
 * and us-east-1 On-Demand prices, read once from `data/ec2-instance-types.csv` (sources and
 * cross-checks in `data/ec2-instance-types.md`).
 *
 * Units, everywhere in this module:
 * - vCPUs are counts (EC2's `VCpuInfo.DefaultVCpus`);
 * - memory is MiB (EC2's `MemoryInfo.SizeInMiB`), GPU and accelerator memory too;
 * - instance store is GB (10^9 bytes, EC2's `InstanceStorageInfo.TotalSizeInGB`);
 * - network baseline bandwidth is Mbps (10^6 bit/s);
 * - prices are USD per hour, us-east-1, Linux, On-Demand.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CsvError, parseCsvRecords } from './csv.js';

/** AWS's five instance categories (EC2 User Guide, "Instance types" classification table). */
export type InstanceCategory = 'general-purpose' | 'compute-optimized' | 'memory-optimized' | 'accelerated-computing' | 'storage-optimized';

export const INSTANCE_CATEGORIES: readonly InstanceCategory[] = ['general-purpose', 'compute-optimized', 'memory-optimized', 'accelerated-computing', 'storage-optimized'];

/** EC2's processor architecture names (`ProcessorInfo.SupportedArchitectures`). */
export type Ec2Arch = 'x86_64' | 'arm64';

/**
 * Where the catalogue's prices come from: Karpenter's generated On-Demand price list for
 * us-east-1 (aws/karpenter-provider-aws `pkg/providers/pricing/zz_generated.pricing_aws.go`,
 * "generated at 2026-07-20T13:44:30Z for us-east-1"). Linux, no pre-installed software,
 * shared tenancy; `.metal` sizes come from Karpenter's bare-metal query (tenancy=Dedicated).
 */
export const PRICE_SOURCE = {
  region: 'us-east-1',
  currency: 'USD',
  unit: 'hour',
  operatingSystem: 'Linux',
  purchaseOption: 'On-Demand',
  source: 'aws/karpenter-provider-aws pkg/providers/pricing/zz_generated.pricing_aws.go',
  generatedAt: '2026-07-20T13:44:30Z',
  date: '2026-07-20',
} as const;

/** One instance type, as the catalogue gives it. */
export interface InstanceTypeInfo {
  /** API name, e.g. `m5.large`. */
  name: string;
  /** The part before the dot, e.g. `m5` (EC2 DescribeInstanceTypes' sense of "family", as Karpenter's `instance-family`). */
  family: string;
  /** The part after the dot, e.g. `large`, `metal-24xl`. */
  size: string;
  category: InstanceCategory;
  /** Default vCPUs. */
  vcpu: number;
  /** Memory, MiB. */
  memoryMiB: number;
  arch: Ec2Arch;
  /** True for `*.metal*` sizes. */
  bareMetal: boolean;
  /** NVIDIA GPUs (0 if none). */
  gpuCount: number;
  /** `NVIDIA`, or '' without GPUs. */
  gpuManufacturer: string;
  /** e.g. `A100`, `A10G`, `T4`; '' without GPUs. */
  gpuModel: string;
  /** Total GPU memory across all GPUs, MiB. */
  gpuMemoryMiB: number;
  /** AWS Neuron devices (Inferentia, Inferentia2, Trainium), 0 if none; kept apart from GPUs. */
  acceleratorCount: number;
  /** `Inferentia`, `Inferentia2`, `Trainium`, or ''. */
  acceleratorModel: string;
  /** Total Neuron device memory, MiB. */
  acceleratorMemoryMiB: number;
  /** Total instance store, GB (10^9 bytes); 0 if none. Counts SSD and HDD stores too (see localStorageType). */
  localNvmeGB: number;
  /** `NVMe SSD`, `NVMe HDD`, `SSD`, `NVMe`, or '' without instance store. */
  localStorageType: string;
  /** Maximum network interfaces across all network cards. */
  maxENIs: number;
  /** Network interfaces on the default network card. */
  defaultCardENIs: number;
  /** Private IPv4 addresses per network interface. */
  ipv4PerENI: number;
  /**
   * Pods the EKS AMI allows (`eni-max-pods.txt`): ENIs × (IPv4 per ENI − 1) + 2, counting only the
   * default network card's ENIs on multi-card types (p4d.24xlarge, p5.48xlarge, trn1.32xlarge).
   */
  maxPods: number;
  /** DescribeInstanceTypes-style text (`Up to 10 Gigabit`); '' for the 34 types without a source. */
  networkPerformance: string;
  /** Baseline network bandwidth, Mbps. */
  networkBaselineMbps: number;
  /** On-Demand price, USD per hour (us-east-1, Linux; see PRICE_SOURCE). */
  onDemandUsdPerHour: number;
  /** Where the price comes from (PRICE_SOURCE.source). */
  priceSource: string;
  /** The date of the price list, `YYYY-MM-DD`. */
  priceDate: string;
  /** Provenance notes from the catalogue's generator ('' if none). */
  note: string;
}

/** Thrown when the catalogue file cannot be found or a row does not parse. */
export class CatalogError extends Error {
  readonly code = 'InvalidCatalog';
  constructor(message: string) {
    super(message);
    this.name = 'CatalogError';
  }
}

/** What `filter` can select on; every given criterion must hold. */
export interface InstanceTypeFilter {
  family?: string;
  category?: InstanceCategory;
  arch?: Ec2Arch;
  minVcpu?: number;
  maxVcpu?: number;
  /** MiB. */
  minMemoryMiB?: number;
  /** MiB. */
  maxMemoryMiB?: number;
  /** true: only types with NVIDIA GPUs; false: only types without. */
  gpu?: boolean;
  /** USD per hour. */
  maxUsdPerHour?: number;
  bareMetal?: boolean;
}

/** A loaded catalogue: lookups by name, in the file's order otherwise. */
export class Catalog {
  private readonly byName: Map<string, InstanceTypeInfo>;

  constructor(readonly types: readonly InstanceTypeInfo[]) {
    this.byName = new Map(types.map((t) => [t.name, t]));
  }

  get size(): number {
    return this.types.length;
  }

  /** The type named `name`, or undefined. */
  get(name: string): InstanceTypeInfo | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Every type, in catalogue order (family by family, smallest size first). */
  list(): InstanceTypeInfo[] {
    return [...this.types];
  }

  /** Types matching every criterion of `f`, or for which the predicate is true. */
  filter(f: InstanceTypeFilter | ((t: InstanceTypeInfo) => boolean)): InstanceTypeInfo[] {
    const pred = typeof f === 'function' ? f : compileFilter(f);
    return this.types.filter(pred);
  }

  /** The distinct families, in catalogue order. */
  families(): string[] {
    return [...new Set(this.types.map((t) => t.family))];
  }
}

function compileFilter(f: InstanceTypeFilter): (t: InstanceTypeInfo) => boolean {
  return (t) =>
    (f.family === undefined || t.family === f.family) &&
    (f.category === undefined || t.category === f.category) &&
    (f.arch === undefined || t.arch === f.arch) &&
    (f.minVcpu === undefined || t.vcpu >= f.minVcpu) &&
    (f.maxVcpu === undefined || t.vcpu <= f.maxVcpu) &&
    (f.minMemoryMiB === undefined || t.memoryMiB >= f.minMemoryMiB) &&
    (f.maxMemoryMiB === undefined || t.memoryMiB <= f.maxMemoryMiB) &&
    (f.gpu === undefined || t.gpuCount > 0 === f.gpu) &&
    (f.maxUsdPerHour === undefined || t.onDemandUsdPerHour <= f.maxUsdPerHour) &&
    (f.bareMetal === undefined || t.bareMetal === f.bareMetal);
}

const CSV_NAME = 'ec2-instance-types.csv';

/**
 * The catalogue file: the nearest `data/ec2-instance-types.csv` walking up from this module, so
 * the same code finds it from `pkg/cloud/` (sources) and `dist/pkg/cloud/` (built). Throws
 * CatalogError if there is none.
 */
export function defaultCatalogPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'data', CSV_NAME);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new CatalogError(`cannot find data/${CSV_NAME} in any folder above ${dirname(fileURLToPath(import.meta.url))}`);
    dir = up;
  }
}

/** Parses the catalogue's CSV text. Throws CatalogError for a missing column or a malformed value. */
export function parseCatalog(text: string): Catalog {
  let parsed: ReturnType<typeof parseCsvRecords>;
  try {
    parsed = parseCsvRecords(text);
  } catch (e) {
    if (e instanceof CsvError) throw new CatalogError(`${CSV_NAME}: ${e.message}`);
    throw e;
  }
  const missing = REQUIRED_COLUMNS.filter((c) => !parsed.header.includes(c));
  if (missing.length) throw new CatalogError(`${CSV_NAME}: missing columns ${missing.join(', ')}`);
  const seen = new Set<string>();
  const types = parsed.records.map((r, i) => {
    const t = toInfo(r, i + 2);
    if (seen.has(t.name)) throw new CatalogError(`${CSV_NAME} line ${i + 2}: duplicate instance type ${t.name}`);
    seen.add(t.name);
    return t;
  });
  return new Catalog(types);
}

/** Reads and parses a catalogue file (default: the repository's). Throws CatalogError. */
export function loadCatalog(path: string = defaultCatalogPath()): Catalog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CatalogError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseCatalog(text);
}

let shared: Catalog | undefined;

/** The repository's catalogue, loaded on first use and kept. */
export function catalog(): Catalog {
  shared ??= loadCatalog();
  return shared;
}

/** The type named `name` in the repository's catalogue, or undefined. */
export function instanceType(name: string): InstanceTypeInfo | undefined {
  return catalog().get(name);
}

/** Every type in the repository's catalogue. */
export function listInstanceTypes(): InstanceTypeInfo[] {
  return catalog().list();
}

/** Types of the repository's catalogue matching `f`. */
export function filterInstanceTypes(f: InstanceTypeFilter | ((t: InstanceTypeInfo) => boolean)): InstanceTypeInfo[] {
  return catalog().filter(f);
}

/** Kubernetes's name for an EC2 architecture (`kubernetes.io/arch`): x86_64 → amd64. */
export function kubeArch(arch: Ec2Arch): 'amd64' | 'arm64' {
  return arch === 'x86_64' ? 'amd64' : 'arm64';
}

const REQUIRED_COLUMNS = [
  'instanceType',
  'family',
  'size',
  'category',
  'vcpu',
  'memoryMiB',
  'arch',
  'bareMetal',
  'gpuCount',
  'gpuManufacturer',
  'gpuModel',
  'gpuMemoryMiB',
  'acceleratorCount',
  'acceleratorModel',
  'acceleratorMemoryMiB',
  'localNvmeGB',
  'localStorageType',
  'maxENIs',
  'defaultCardENIs',
  'ipv4PerENI',
  'maxPods',
  'networkPerformance',
  'networkBaselineMbps',
  'onDemandUsdPerHourUsEast1',
  'note',
];

function toInfo(r: Record<string, string>, line: number): InstanceTypeInfo {
  const where = `${CSV_NAME} line ${line} (${r.instanceType || '?'})`;
  const num = (col: string, opts: { integer?: boolean } = { integer: true }): number => {
    const s = r[col]!;
    const v = s === '' ? NaN : Number(s);
    if (!Number.isFinite(v) || v < 0 || (opts.integer && !Number.isInteger(v))) throw new CatalogError(`${where}: ${col} is not a ${opts.integer ? 'non-negative integer' : 'non-negative number'}: "${s}"`);
    return v;
  };
  const bool = (col: string): boolean => {
    const s = r[col];
    if (s !== 'true' && s !== 'false') throw new CatalogError(`${where}: ${col} is not true or false: "${s}"`);
    return s === 'true';
  };
  const name = r.instanceType!;
  if (!/^[a-z0-9-]+\.[a-z0-9-]+$/.test(name)) throw new CatalogError(`${where}: not an instance type name`);
  const category = r.category as InstanceCategory;
  if (!INSTANCE_CATEGORIES.includes(category)) throw new CatalogError(`${where}: unknown category "${r.category}"`);
  const arch = r.arch as Ec2Arch;
  if (arch !== 'x86_64' && arch !== 'arm64') throw new CatalogError(`${where}: unknown arch "${r.arch}"`);
  const info: InstanceTypeInfo = {
    name,
    family: r.family!,
    size: r.size!,
    category,
    vcpu: num('vcpu'),
    memoryMiB: num('memoryMiB'),
    arch,
    bareMetal: bool('bareMetal'),
    gpuCount: num('gpuCount'),
    gpuManufacturer: r.gpuManufacturer!,
    gpuModel: r.gpuModel!,
    gpuMemoryMiB: num('gpuMemoryMiB'),
    acceleratorCount: num('acceleratorCount'),
    acceleratorModel: r.acceleratorModel!,
    acceleratorMemoryMiB: num('acceleratorMemoryMiB'),
    localNvmeGB: num('localNvmeGB'),
    localStorageType: r.localStorageType!,
    maxENIs: num('maxENIs'),
    defaultCardENIs: num('defaultCardENIs'),
    ipv4PerENI: num('ipv4PerENI'),
    maxPods: num('maxPods'),
    networkPerformance: r.networkPerformance!,
    networkBaselineMbps: num('networkBaselineMbps', { integer: false }),
    onDemandUsdPerHour: num('onDemandUsdPerHourUsEast1', { integer: false }),
    priceSource: PRICE_SOURCE.source,
    priceDate: PRICE_SOURCE.date,
    note: r.note!,
  };
  if (`${info.family}.${info.size}` !== name) throw new CatalogError(`${where}: family and size do not make up the name`);
  if (info.vcpu === 0 || info.memoryMiB === 0 || info.maxPods === 0) throw new CatalogError(`${where}: vcpu, memoryMiB and maxPods must be positive`);
  return info;
}
