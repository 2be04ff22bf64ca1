/**
 * Facts about instance families and sizes that are not columns of the catalogue: the series
 * letter(s) of a family, the normalization factor of a size (what regional Reserved Instances are
 * counted in), and how long an instance of a family takes to boot.
 */
import type { InstanceTypeInfo } from './catalog.js';

/**
 * The series of a family: its leading letters, as AWS's naming convention splits a type name
 * ("c7gn.xlarge": series c, generation 7, options gn, size xlarge; EC2 instance types guide,
 * "Amazon EC2 instance type naming conventions",
 * https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html).
 * `c5` → `c`, `x2idn` → `x`, `inf2` → `inf`, `trn1` → `trn`, `i3en` → `i`, `d3en` → `d`.
 */
export function instanceSeries(family: string): string {
  return /^[a-z]+/.exec(family)?.[0] ?? family;
}

/**
 * Normalization factors by size (EC2 User Guide, "Instance size flexibility for Reserved
 * Instances"; [11] in AWS-SEMANTICS.md): a regional Reserved Instance's benefit is counted in
 * these units, so one m5.xlarge (8) covers two m5.large (4 each). Bare-metal sizes count as the
 * largest size of their family (`metal` is looked up by vCPUs in `normalizationFactor`).
 */
export const NORMALIZATION_FACTORS: Readonly<Record<string, number>> = {
  nano: 0.25,
  micro: 0.5,
  small: 1,
  medium: 2,
  large: 4,
  xlarge: 8,
  '2xlarge': 16,
  '3xlarge': 24,
  '4xlarge': 32,
  '6xlarge': 48,
  '8xlarge': 64,
  '9xlarge': 72,
  '10xlarge': 80,
  '12xlarge': 96,
  '16xlarge': 128,
  '18xlarge': 144,
  '24xlarge': 192,
  '32xlarge': 256,
  '48xlarge': 384,
  '56xlarge': 448,
  '112xlarge': 896,
};

/**
 * The normalization factor of a type. Sizes the table lacks (`metal`, `metal-24xl`) count by
 * vCPUs as the table does for the others: 4 units per 2 vCPUs of a `large`, i.e. 2 per vCPU.
 */
export function normalizationFactor(t: Pick<InstanceTypeInfo, 'size' | 'vcpu'>): number {
  const f = NORMALIZATION_FACTORS[t.size];
  if (f !== undefined) return f;
  const m = /^metal-(\d+)xl$/.exec(t.size);
  if (m) return NORMALIZATION_FACTORS[`${m[1]}xlarge`] ?? t.vcpu * 2;
  return t.vcpu * 2;
}

/**
 * How long an instance takes from `pending` to a registered Node, by series, in seconds: the
 * EC2 boot plus the EKS AMI's bootstrap and kubelet registration. AWS publishes no figures; these
 * are berth's model, from the common observation that a node joins an EKS cluster about 40–60 s
 * after launch, longer for GPU and Neuron AMIs (driver load) and for large-memory x instances,
 * and minutes for bare metal. Each launch draws within ±`BOOT_JITTER` of the figure.
 */
export const BOOT_SECONDS_BY_SERIES: Readonly<Record<string, number>> = {
  t: 35,
  m: 40,
  c: 40,
  r: 45,
  x: 75,
  i: 50,
  d: 50,
  g: 90,
  p: 120,
  inf: 90,
  trn: 120,
};

/** Boot time of a series not in the table, seconds. */
export const DEFAULT_BOOT_SECONDS = 45;
/** Extra boot time of a `.metal` size, seconds (a bare-metal server runs its firmware checks). */
export const BARE_METAL_EXTRA_BOOT_SECONDS = 300;
/** Relative spread of a boot delay: ±20 %. */
export const BOOT_JITTER = 0.2;

/**
 * The boot delay of one launch, ms: the series' figure (plus the bare-metal extra) scaled by
 * `1 + BOOT_JITTER × (2u − 1)` for a uniform `u` in [0, 1), rounded to whole ms.
 */
export function bootDelayMs(t: Pick<InstanceTypeInfo, 'family' | 'bareMetal'>, u: number): number {
  const base = (BOOT_SECONDS_BY_SERIES[instanceSeries(t.family)] ?? DEFAULT_BOOT_SECONDS) + (t.bareMetal ? BARE_METAL_EXTRA_BOOT_SECONDS : 0);
  return Math.round(base * 1000 * (1 + BOOT_JITTER * (2 * u - 1)));
}
