/**
 * AWS Fargate as data and arithmetic: the valid vCPU/memory combinations, us-east-1 prices, how
 * EKS sizes a pod for Fargate, and per-second billing with a one-minute minimum. The numbers are
 * read once from `data/fargate.json` (with its sources and retrieval date):
 *
 * - sizes: https://docs.aws.amazon.com/eks/latest/userguide/fargate-pod-configuration.html
 *   (.25 vCPU: 0.5, 1, 2 GB · .5: 1–4 GB · 1: 2–8 GB · 2: 4–16 GB · 4: 8–30 GB in 1 GB steps ·
 *   8: 16–60 GB in 4 GB steps · 16: 32–120 GB in 8 GB steps);
 * - prices: https://aws.amazon.com/fargate/pricing/ (USD per vCPU-hour and per GB-hour, Linux/x86).
 *
 * Fargate's "GB" is GiB: task memory values are MiB multiples of 1024.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resourceAmount } from '../api/quantity.js';
import type { Container, Pod } from '../api/types.js';

export const FARGATE_DATA_FILE = 'fargate.json';
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** One valid Fargate size: vCPUs (0.25 … 16) and memory in GB (GiB). */
export interface FargateSize {
  vcpu: number;
  memoryGB: number;
}

/** What `data/fargate.json` holds. */
export interface FargateData {
  source: { sizes: string; prices: string; retrieved: string; notes?: string; spotPrices?: string; spotInterruptions?: string; spotRetrieved?: string };
  region: string;
  sizes: { vcpu: number; memoryGB: number[] | { min: number; max: number; step: number } }[];
  prices: { 'linux-x86': { usdPerVcpuHour: number; usdPerGBHour: number }; 'linux-x86-spot': { usdPerVcpuHour: number; usdPerGBHour: number }; spotMaxDiscount: number };
  billing: { granularitySeconds: number; minimumSeconds: number };
  /** Memory Fargate adds to every pod for kubelet, kube-proxy and containerd, MiB. */
  podOverheadMiB: number;
  /** Probability that a Fargate Spot task is interrupted within a month (berth's assumption; see the data file's source). */
  spotInterruptionsPerMonth: number;
  /** The interruption warning, seconds (two minutes). */
  spotWarningSeconds: number;
}

/**
 * Fargate's two capacity providers (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html):
 * `FARGATE` (On-Demand) and `FARGATE_SPOT` (spare capacity at a discount, interrupted with a
 * two-minute warning; ECS only: EKS on Fargate has no Spot).
 */
export type FargateCapacity = 'FARGATE' | 'FARGATE_SPOT';

/** Thrown when the data file is missing or malformed. */
export class FargateDataError extends Error {
  override name = 'FargateDataError';
}

/** Thrown when a pod needs more than the largest Fargate size (16 vCPU / 120 GB). */
export class FargateSizeError extends Error {
  override name = 'FargateSizeError';
}

/** The nearest `data/fargate.json` walking up from this module (works from `pkg/` and `dist/pkg/`). */
export function fargateDataPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'data', FARGATE_DATA_FILE);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new FargateDataError(`cannot find data/${FARGATE_DATA_FILE} above ${dirname(fileURLToPath(import.meta.url))}`);
    dir = up;
  }
}

let cached: FargateData | undefined;

/** The Fargate data (read once). Throws FargateDataError if the file is missing or malformed. */
export function fargateData(): FargateData {
  if (cached) return cached;
  const path = fargateDataPath();
  const d = JSON.parse(readFileSync(path, 'utf8')) as FargateData;
  const p = d?.prices?.['linux-x86'];
  const sp = d?.prices?.['linux-x86-spot'];
  if (!Array.isArray(d.sizes) || !d.sizes.length || !p || !(p.usdPerVcpuHour > 0) || !(p.usdPerGBHour > 0) || !sp || !(sp.usdPerVcpuHour > 0) || !(sp.usdPerGBHour > 0) || !(d.billing?.minimumSeconds >= 0) || !(d.podOverheadMiB >= 0) || !(d.spotInterruptionsPerMonth > 0 && d.spotInterruptionsPerMonth < 1) || !(d.spotWarningSeconds > 0)) {
    throw new FargateDataError(`${path}: expected sizes, prices["linux-x86"] and prices["linux-x86-spot"] (usdPerVcpuHour, usdPerGBHour), billing.minimumSeconds, podOverheadMiB, spotInterruptionsPerMonth (0..1) and spotWarningSeconds`);
  }
  cached = d;
  return d;
}

/** Every valid Fargate size, ordered by vCPU then memory (the order EKS rounds up in). */
export function fargateSizes(data: FargateData = fargateData()): FargateSize[] {
  const out: FargateSize[] = [];
  for (const s of [...data.sizes].sort((a, b) => a.vcpu - b.vcpu)) {
    const mem = Array.isArray(s.memoryGB) ? s.memoryGB : range(s.memoryGB.min, s.memoryGB.max, s.memoryGB.step);
    for (const m of [...mem].sort((a, b) => a - b)) out.push({ vcpu: s.vcpu, memoryGB: m });
  }
  return out;
}

function range(min: number, max: number, step: number): number[] {
  const out: number[] = [];
  for (let m = min; m <= max + 1e-9; m += step) out.push(m);
  return out;
}

/** True if `vcpu`/`memoryGB` is one of Fargate's valid combinations. */
export function isValidFargateSize(vcpu: number, memoryGB: number): boolean {
  return fargateSizes().some((s) => s.vcpu === vcpu && s.memoryGB === memoryGB);
}

/** A pod's requests as EKS counts them for Fargate: millicores and bytes. */
export interface FargateRequests {
  cpuMillis: number;
  memoryBytes: number;
}

function containerRequests(c: Container): FargateRequests {
  const r = (c.resources?.requests ?? c.resources?.limits ?? {}) as Record<string, string | number>;
  return { cpuMillis: r.cpu !== undefined ? resourceAmount('cpu', r.cpu) : 0, memoryBytes: r.memory !== undefined ? resourceAmount('memory', r.memory) : 0 };
}

/**
 * The pod's requests as EKS computes them for Fargate (fargate-pod-configuration.html): the
 * largest request of any init container and the sum of the long-running containers', the larger
 * of the two for each resource, plus 256 MiB of memory for kubelet, kube-proxy and containerd.
 * A container without requests counts its limits (Kubernetes defaults requests to limits).
 */
export function fargatePodRequests(pod: Pod, data: FargateData = fargateData()): FargateRequests {
  const init = (pod.spec.initContainers ?? []).map(containerRequests);
  const apps = pod.spec.containers.map(containerRequests);
  const sum = apps.reduce((a, b) => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes }), { cpuMillis: 0, memoryBytes: 0 });
  const initMax = init.reduce((a, b) => ({ cpuMillis: Math.max(a.cpuMillis, b.cpuMillis), memoryBytes: Math.max(a.memoryBytes, b.memoryBytes) }), { cpuMillis: 0, memoryBytes: 0 });
  return { cpuMillis: Math.max(sum.cpuMillis, initMax.cpuMillis), memoryBytes: Math.max(sum.memoryBytes, initMax.memoryBytes) + data.podOverheadMiB * MiB };
}

/**
 * The smallest valid size (by vCPU, then memory) holding `req`. EKS's example: 1 vCPU and 8 GB
 * requested, plus 256 MB, is 1 vCPU / 8.25 GB; there is no 1 vCPU / 9 GB size, so the pod gets
 * 2 vCPU / 9 GB. Throws FargateSizeError past 16 vCPU / 120 GB.
 */
export function roundUpToFargateSize(req: FargateRequests, data: FargateData = fargateData()): FargateSize {
  for (const s of fargateSizes(data)) if (s.vcpu * 1000 >= req.cpuMillis && s.memoryGB * GiB >= req.memoryBytes) return s;
  throw new FargateSizeError(`no Fargate size holds ${req.cpuMillis / 1000} vCPU and ${(req.memoryBytes / GiB).toFixed(2)} GB (the largest is 16 vCPU / 120 GB)`);
}

/** The Fargate size EKS provisions for a pod: `roundUpToFargateSize(fargatePodRequests(pod))`. */
export function fargatePodSize(pod: Pod, data: FargateData = fargateData()): FargateSize {
  return roundUpToFargateSize(fargatePodRequests(pod, data), data);
}

/** The value of the pod's `CapacityProvisioned` annotation, as EKS writes it: `0.25vCPU 0.5GB`, `2vCPU 9GB`. */
export function capacityProvisioned(s: FargateSize): string {
  return `${s.vcpu}vCPU ${s.memoryGB}GB`;
}

/** USD per hour of one size, Linux/x86 in the data's region: On-Demand (`FARGATE`, the default) or Fargate Spot. */
export function fargateHourlyPrice(s: FargateSize, data: FargateData = fargateData(), capacity: FargateCapacity = 'FARGATE'): number {
  const p = data.prices[capacity === 'FARGATE_SPOT' ? 'linux-x86-spot' : 'linux-x86'];
  return s.vcpu * p.usdPerVcpuHour + s.memoryGB * p.usdPerGBHour;
}

/**
 * Seconds billed for a run of `ms` milliseconds: rounded up to the second, at least one minute
 * (https://aws.amazon.com/fargate/pricing/: "per-second granularity with a 1-minute minimum").
 */
export function fargateBilledSeconds(ms: number, data: FargateData = fargateData()): number {
  return Math.max(data.billing.minimumSeconds, Math.ceil(Math.max(0, ms) / 1000 / data.billing.granularitySeconds) * data.billing.granularitySeconds);
}

/** USD for running `s` for `ms` milliseconds (per second, one-minute minimum), On-Demand or Fargate Spot. */
export function fargateCost(s: FargateSize, ms: number, data: FargateData = fargateData(), capacity: FargateCapacity = 'FARGATE'): number {
  return (fargateHourlyPrice(s, data, capacity) * fargateBilledSeconds(ms, data)) / 3600;
}

/**
 * An ECS task-level size as `ecs.berth.dev/fargate-size` carries it, `"<cpu units>/<memory MiB>"`
 * (1024 CPU units per vCPU; e.g. `"1024/2048"` is 1 vCPU / 2 GB), checked against the valid
 * combinations (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html).
 * Throws FargateSizeError naming what is wrong and what is valid.
 */
export function parseFargateSize(value: string, data: FargateData = fargateData()): FargateSize {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!m) throw new FargateSizeError(`"${value}" is not "<cpu units>/<memory MiB>" (e.g. "1024/2048")`);
  const units = Number(m[1]);
  const mib = Number(m[2]);
  const sizes = fargateSizes(data);
  const vcpu = units / 1024;
  const forCpu = sizes.filter((s) => s.vcpu === vcpu);
  if (!forCpu.length) throw new FargateSizeError(`"${value}": ${units} CPU units is not a Fargate size (valid: ${[...new Set(sizes.map((s) => s.vcpu * 1024))].join(', ')})`);
  const hit = forCpu.find((s) => s.memoryGB * 1024 === mib);
  if (!hit) throw new FargateSizeError(`"${value}": ${mib} MiB is not a valid memory size for ${vcpu} vCPU (${units} CPU units); valid: ${forCpu.map((s) => s.memoryGB * 1024).join(', ')} MiB`);
  return hit;
}
