/**
 * Reproducible clusters and workloads for the scheduler benchmark (`berth bench scheduler`).
 *
 * The fleet: `nodes` Nodes of instance types from berth's EC2 catalogue, with the allocatable the
 * EKS AMI leaves (pkg/cloud), spread round-robin over three zones of us-east-1, labelled as berth's
 * cloud and Karpenter label them (arch, zone, instance type, instance category and generation).
 * By default the types are a mix of current general-purpose, compute- and memory-optimized
 * families (m6i, c6i, r6i, m7g, c7g, r7g) at 4xlarge to 16xlarge; `instanceTypes` restricts it.
 *
 * The workload: `pods` pods in Deployments (replicas of one template; a heavy-tailed replica count,
 * 1 to 200), created one Deployment after another. Each template requests cpu from a realistic
 * spread of the values people write (100m, 150m, 200m, 250m, 300m, 400m, 500m, 750m, 1, 1.5, 2, 3
 * and 4 cores), skewed to small pods, and memory at 1, 2, 4 or 8 GiB per core (128Mi to
 * 16Gi) — but no more memory per core than the fleet's most memory-rich type offers (a fleet of
 * m5.xlarge, 4 GiB per vCPU, gets no 8 GiB-per-core pods). Sizes no node type could hold are left
 * out of the draw. The spread is tilted (an
 * exponential tilt of its weights) so the workload's expected total request of the fleet's binding
 * resource is `fill` of the fleet's allocatable; then Deployments are moved one size up or down the
 * spread until the total is within 0.2% of it. Only when the spread cannot reach the fill (far too
 * many or too few pods for the fleet) are all sizes scaled (`sizeScale` ≠ 1).
 *
 * `mixed` adds constraints, as shares of the pods: 20% with a nodeSelector or required node
 * affinity (zone, architecture, instance category or generation), 10% tolerating the
 * `dedicated=batch:NoSchedule` taint that 10% of the nodes carry (half of them also selecting those
 * nodes), 10% with required pod anti-affinity on `kubernetes.io/hostname` against their own
 * replicas, 10% spread over zones (maxSkew 1, DoNotSchedule), the rest resources only.
 */
import type { Affinity, Node, Pod, Taint } from '../../api/types.js';
import { catalog, kubeArch, nodeResources, type InstanceTypeInfo } from '../../cloud/index.js';
import { toAmounts } from '../framework/resources.js';

export type Workload = 'resources' | 'mixed';

export interface BenchSpec {
  nodes: number;
  pods: number;
  workload: Workload;
  seed: number;
  /** Instance types of the fleet (default: the mixed fleet described above). */
  instanceTypes?: string[];
  /** Total requests over the fleet's allocatable, for the binding resource (default 0.85). */
  fill?: number;
}

export interface GeneratedCluster {
  nodes: Node[];
  /** One pod per Deployment: its template. */
  templates: Pod[];
  /** Pods of each template. */
  counts: number[];
  /** The template of each pod, in creation order (a Deployment's pods together). */
  templateOf: Int32Array;
  /** First pod index of each template in creation order. */
  firstPod: Int32Array;
  /** The factor the last step scaled sizes by (1 when the tilt alone hit the fill). */
  sizeScale: number;
  /** The fill reached: max over cpu, memory of total requests / total allocatable. */
  fillActual: number;
  instanceTypes: string[];
}

/** Thrown for a bad benchmark specification (an unknown instance type, a fill outside (0, 1]). */
export class BenchSpecError extends Error {
  readonly code = 'InvalidBenchSpec';
  constructor(message: string) {
    super(message);
    this.name = 'BenchSpecError';
  }
}

export const DEFAULT_FAMILIES = ['m6i', 'c6i', 'r6i', 'm7g', 'c7g', 'r7g'];
export const DEFAULT_SIZES = ['4xlarge', '8xlarge', '12xlarge', '16xlarge'];
export const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
export const DEDICATED_TAINT: Taint = { key: 'dedicated', value: 'batch', effect: 'NoSchedule' };

/** cpu request spread, millicores, and its base weights (small pods are the common case). */
const CPU_VALUES = [100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 4000];
const CPU_WEIGHTS = [14, 8, 12, 12, 6, 6, 10, 6, 10, 4, 5, 4, 3];
/** memory per core, MiB, and weights. */
const RATIO_VALUES = [1024, 2048, 4096, 8192];
const RATIO_WEIGHTS = [20, 40, 30, 10];
const MIN_MEMORY = 128;
const MAX_MEMORY = 16 * 1024;
/** Replicas per Deployment and weights. */
const REPLICAS = [1, 2, 3, 5, 10, 20, 50, 100, 200];
const REPLICA_WEIGHTS = [10, 15, 15, 15, 15, 12, 10, 5, 3];
const MiB = 1024 * 1024;

/** A small, fast, seedable PRNG (mulberry32): floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick(rand: () => number, weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  let r = rand() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i]!;
    if (r < 0) return i;
  }
  return weights.length - 1;
}

/** The fleet's instance types: the given names (checked against the catalogue) or the default mix. Throws BenchSpecError. */
export function fleetTypes(names: string[] | undefined): InstanceTypeInfo[] {
  const cat = catalog();
  if (names && names.length) {
    return names.map((n) => {
      const t = cat.get(n);
      if (!t) throw new BenchSpecError(`unknown instance type "${n}": see berth get instancetypes`);
      return t;
    });
  }
  const out: InstanceTypeInfo[] = [];
  for (const f of DEFAULT_FAMILIES) for (const s of DEFAULT_SIZES) {
    const t = cat.get(`${f}.${s}`);
    if (t) out.push(t);
  }
  return out;
}

function nodeName(i: number): string {
  return `bench-node-${String(i).padStart(6, '0')}`;
}

/** Generates the cluster and workload of `spec`. Throws BenchSpecError. */
export function generate(spec: BenchSpec): GeneratedCluster {
  const fill = spec.fill ?? 0.85;
  if (!(fill > 0 && fill <= 1)) throw new BenchSpecError(`--fill must be in (0, 1], got ${spec.fill}`);
  if (!Number.isInteger(spec.nodes) || spec.nodes < 1) throw new BenchSpecError(`--nodes must be a positive integer, got ${spec.nodes}`);
  if (!Number.isInteger(spec.pods) || spec.pods < 0) throw new BenchSpecError(`--pods must be a non-negative integer, got ${spec.pods}`);
  const rand = mulberry32(spec.seed);
  const types = fleetTypes(spec.instanceTypes);
  const mixed = spec.workload === 'mixed';

  // The fleet.
  const nodes: Node[] = [];
  let capCpu = 0;
  let capMem = 0;
  let maxCpu = 0;
  let maxMem = 0;
  const shapes = new Map<string, { capacity: Record<string, string | number>; allocatable: Record<string, string | number>; cpu: number; mem: number }>();
  for (const t of types) {
    const r = nodeResources(t);
    const a = toAmounts(r.allocatable);
    shapes.set(t.name, { ...r, cpu: a.cpu ?? 0, mem: a.memory ?? 0 });
  }
  for (let i = 0; i < spec.nodes; i++) {
    const t = types[Math.floor(rand() * types.length)]!;
    const shape = shapes.get(t.name)!;
    const zone = ZONES[i % ZONES.length]!;
    const name = nodeName(i);
    const tainted = mixed && rand() < 0.1;
    const labels: Record<string, string> = {
      'kubernetes.io/arch': kubeArch(t.arch),
      'kubernetes.io/os': 'linux',
      'kubernetes.io/hostname': name,
      'node.kubernetes.io/instance-type': t.name,
      'topology.kubernetes.io/region': 'us-east-1',
      'topology.kubernetes.io/zone': zone,
      'karpenter.k8s.aws/instance-category': t.family.replace(/[0-9].*$/, ''),
      'karpenter.k8s.aws/instance-generation': t.family.replace(/^[a-z]+/, '').replace(/[^0-9].*$/, ''),
      'eks.amazonaws.com/capacityType': 'ON_DEMAND',
    };
    if (tainted) labels.dedicated = 'batch';
    nodes.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels },
      spec: tainted ? { taints: [DEDICATED_TAINT] } : {},
      status: { capacity: shape.capacity, allocatable: shape.allocatable, conditions: [{ type: 'Ready', status: 'True' }] },
    });
    capCpu += shape.cpu;
    capMem += shape.mem;
    maxCpu = Math.max(maxCpu, shape.cpu);
    maxMem = Math.max(maxMem, shape.mem);
  }

  // Sizes: the joint (cpu, ratio) spread, restricted to what the largest node type holds, and to
  // memory per core no node type offers more of (pods needing 8 GiB per core belong on a fleet with
  // memory-optimized nodes).
  const maxRatio = Math.max(...types.map((t) => t.memoryMiB / t.vcpu));
  const combos: { cpu: number; mem: number; w: number; ratio: number }[] = [];
  for (const [ri, ratio] of RATIO_VALUES.entries()) {
    if (ratio > maxRatio) continue;
    for (const [ci, cpu] of CPU_VALUES.entries()) {
      const memMiB = Math.min(MAX_MEMORY, Math.max(MIN_MEMORY, Math.round((cpu / 1000) * ratio / 64) * 64));
      if (cpu > maxCpu || memMiB * MiB > maxMem) continue;
      combos.push({ cpu, mem: memMiB * MiB, w: CPU_WEIGHTS[ci]! * RATIO_WEIGHTS[ri]!, ratio: ri });
    }
  }
  if (combos.length === 0) throw new BenchSpecError('no pod size of the spread fits the fleet');
  // Tilt the weights (w·cpu^θ) so the expected binding-resource share hits `fill`.
  const share = (theta: number): { weights: number[]; share: number } => {
    const weights = combos.map((c) => c.w * Math.pow(c.cpu / 100, theta));
    let wsum = 0;
    let ec = 0;
    let em = 0;
    for (let k = 0; k < combos.length; k++) {
      wsum += weights[k]!;
      ec += weights[k]! * combos[k]!.cpu;
      em += weights[k]! * combos[k]!.mem;
    }
    return { weights, share: spec.pods * Math.max(ec / wsum / capCpu, em / wsum / capMem) };
  };
  let lo = -6;
  let hi = 6;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (share(mid).share < fill) lo = mid;
    else hi = mid;
  }
  const weights = share((lo + hi) / 2).weights;

  // Deployments, by category share for the mixed workload.
  const templates: Pod[] = [];
  const counts: number[] = [];
  const comboOf: number[] = [];
  const categories: { kind: Kind; pods: number }[] = mixed
    ? [
        { kind: 'node', pods: Math.round(spec.pods * 0.2) },
        { kind: 'toleration', pods: Math.round(spec.pods * 0.1) },
        { kind: 'anti', pods: Math.round(spec.pods * 0.1) },
        { kind: 'spread', pods: Math.round(spec.pods * 0.1) },
      ]
    : [];
  const plain = spec.pods - categories.reduce((s, c) => s + c.pods, 0);
  categories.push({ kind: 'plain', pods: plain });
  // Interleave categories as Deployments are created, in proportion to what each has left.
  const left = categories.map((c) => c.pods);
  let remaining = spec.pods;
  while (remaining > 0) {
    const k = pick(rand, left);
    const kind = categories[k]!.kind;
    let replicas = kind === 'anti' ? [2, 3, 5, 10][Math.floor(rand() * 4)]! : REPLICAS[pick(rand, REPLICA_WEIGHTS)]!;
    replicas = Math.min(replicas, left[k]!);
    const ci = pick(rand, weights);
    const size = combos[ci]!;
    comboOf.push(ci);
    templates.push(template(templates.length, kind, size.cpu, size.mem, rand));
    counts.push(replicas);
    left[k] -= replicas;
    remaining -= replicas;
  }

  // Hit the fill: move Deployments one size up or down the spread (same memory per core) while that
  // brings the total closer; sizes stay on the spread's values. Only if that cannot get within
  // 0.2% (too many or too few pods for the spread) are all sizes scaled.
  let totCpu = 0;
  let totMem = 0;
  for (let k = 0; k < templates.length; k++) {
    totCpu += counts[k]! * combos[comboOf[k]!]!.cpu;
    totMem += counts[k]! * combos[comboOf[k]!]!.mem;
  }
  const reachedOf = (c: number, m: number): number => Math.max(c / capCpu, m / capMem);
  const tolerance = 0.002 * fill;
  for (let it = 0; it < 20 * templates.length && Math.abs(reachedOf(totCpu, totMem) - fill) > tolerance / 4; it++) {
    const k = Math.floor(rand() * templates.length);
    const cur = combos[comboOf[k]!]!;
    const dir = reachedOf(totCpu, totMem) > fill ? -1 : 1;
    const next = comboOf[k]! + dir;
    const to = combos[next];
    if (!to || to.ratio !== cur.ratio) continue;
    const c2 = totCpu + counts[k]! * (to.cpu - cur.cpu);
    const m2 = totMem + counts[k]! * (to.mem - cur.mem);
    if (Math.abs(reachedOf(c2, m2) - fill) >= Math.abs(reachedOf(totCpu, totMem) - fill)) continue;
    comboOf[k] = next;
    totCpu = c2;
    totMem = m2;
    setRequest(templates[k]!, to.cpu, to.mem);
  }
  const reached = reachedOf(totCpu, totMem);
  const scale = reached > 0 && Math.abs(reached - fill) > tolerance ? fill / reached : 1;
  if (scale !== 1) {
    for (const t of templates) {
      const { cpu, mem } = requestOf(t);
      setRequest(t, Math.max(1, Math.round(cpu * scale)), Math.max(1, Math.round((mem * scale) / MiB)) * MiB);
    }
  }
  totCpu = 0;
  totMem = 0;
  for (let k = 0; k < templates.length; k++) {
    totCpu += counts[k]! * requestOf(templates[k]!).cpu;
    totMem += counts[k]! * requestOf(templates[k]!).mem;
  }

  const templateOf = new Int32Array(spec.pods);
  const firstPod = new Int32Array(templates.length);
  let p = 0;
  for (let k = 0; k < templates.length; k++) {
    firstPod[k] = p;
    templateOf.fill(k, p, p + counts[k]!);
    p += counts[k]!;
  }
  return {
    nodes,
    templates,
    counts,
    templateOf,
    firstPod,
    sizeScale: Number(scale.toFixed(4)),
    fillActual: Number(Math.max(totCpu / capCpu, totMem / capMem).toFixed(4)),
    instanceTypes: types.map((t) => t.name),
  };
}

type Kind = 'plain' | 'node' | 'toleration' | 'anti' | 'spread';

function requestOf(p: Pod): { cpu: number; mem: number } {
  const r = p.spec.containers[0]!.resources!.requests!;
  return { cpu: Number(String(r.cpu).replace(/m$/, '')), mem: Number(String(r.memory).replace(/Mi$/, '')) * MiB };
}

function setRequest(p: Pod, cpuMillis: number, memBytes: number): void {
  p.spec.containers[0]!.resources!.requests = { cpu: `${cpuMillis}m`, memory: `${Math.round(memBytes / MiB)}Mi` };
}

function template(k: number, kind: Kind, cpu: number, mem: number, rand: () => number): Pod {
  const app = `app-${k}`;
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: app, namespace: 'default', labels: { app } },
    spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9', resources: { requests: {} } }], schedulerName: 'default-scheduler' },
    status: { phase: 'Pending' },
  };
  setRequest(pod, cpu, mem);
  const s = pod.spec;
  switch (kind) {
    case 'node': {
      const choice = Math.floor(rand() * 6);
      if (choice === 0) s.nodeSelector = { 'topology.kubernetes.io/zone': ZONES[Math.floor(rand() * ZONES.length)]! };
      else if (choice === 1) s.nodeSelector = { 'kubernetes.io/arch': rand() < 0.5 ? 'arm64' : 'amd64' };
      else if (choice === 2) s.nodeSelector = { 'karpenter.k8s.aws/instance-category': ['c', 'm', 'r'][Math.floor(rand() * 3)]! };
      else {
        const expr =
          choice === 3
            ? { key: 'karpenter.k8s.aws/instance-category', operator: 'In' as const, values: ['m', 'r'] }
            : choice === 4
              ? { key: 'karpenter.k8s.aws/instance-generation', operator: 'Gt' as const, values: ['6'] }
              : { key: 'topology.kubernetes.io/zone', operator: 'NotIn' as const, values: [ZONES[Math.floor(rand() * ZONES.length)]!] };
        s.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [expr] }] } } } satisfies Affinity;
      }
      break;
    }
    case 'toleration':
      s.tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' }];
      if (rand() < 0.5) s.nodeSelector = { dedicated: 'batch' };
      break;
    case 'anti':
      s.affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app } }, topologyKey: 'kubernetes.io/hostname' }] } };
      break;
    case 'spread':
      s.topologySpreadConstraints = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app } } }];
      break;
    case 'plain':
      break;
  }
  return pod;
}
