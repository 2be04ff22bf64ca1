/**
 * Karpenter's own API, as users' files have it (https://karpenter.sh/docs/concepts/):
 * `karpenter.sh/v1` NodePool and NodeClaim, `karpenter.k8s.aws/v1` EC2NodeClass; the well-known
 * labels an offering carries; requirement matching.
 */
import { defineResource, type ResourceInfo } from '../api/resources.js';
import type { KubeObject, Taint } from '../api/types.js';
import type { InstanceTypeInfo } from '../cloud/catalog.js';
import { instanceSeries } from '../cloud/families.js';
import { familyGeneration } from '../cloud/instancetypes.js';

export const KARPENTER_GROUP = 'karpenter.sh';
export const KARPENTER_AWS_GROUP = 'karpenter.k8s.aws';
export const NODEPOOL_LABEL = 'karpenter.sh/nodepool';
export const NODECLAIM_LABEL = 'karpenter.sh/nodeclaim';
export const CAPACITY_TYPE_LABEL = 'karpenter.sh/capacity-type';
/** Pod or node annotation `"true"`: Karpenter never voluntarily disrupts the node. */
export const DO_NOT_DISRUPT_ANNOTATION = 'karpenter.sh/do-not-disrupt';
/** The taint Karpenter puts on a node it is disrupting. */
export const DISRUPTED_TAINT = 'karpenter.sh/disrupted';

export const KARPENTER_RESOURCES: ResourceInfo[] = [
  defineResource({ gv: 'karpenter.sh/v1', resource: 'nodepools', kind: 'NodePool', ns: false, cat: ['berth'], sub: ['status'], generation: true }),
  defineResource({ gv: 'karpenter.sh/v1', resource: 'nodeclaims', kind: 'NodeClaim', ns: false, cat: ['berth'], sub: ['status'], generation: true }),
  defineResource({ gv: 'karpenter.k8s.aws/v1', resource: 'ec2nodeclasses', kind: 'EC2NodeClass', ns: false, short: ['ec2nc'], cat: ['berth'], sub: ['status'], generation: true }),
];

export const KarpenterKinds = {
  NodePool: { apiVersion: 'karpenter.sh/v1', kind: 'NodePool' },
  NodeClaim: { apiVersion: 'karpenter.sh/v1', kind: 'NodeClaim' },
  EC2NodeClass: { apiVersion: 'karpenter.k8s.aws/v1', kind: 'EC2NodeClass' },
} as const;

/** A NodeSelectorRequirement with Karpenter's extra operators Gt and Lt (and `minValues`, accepted, not used). */
export interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
  minValues?: number;
}

export interface Budget {
  /** A count (`"5"`) or a percentage of the pool's nodes (`"10%"`, the default budget). */
  nodes: string;
  /** A cron schedule (UTC) when the budget starts to apply, with `duration` how long (`"8h"`). */
  schedule?: string;
  duration?: string;
  reasons?: ('Underutilized' | 'Empty' | 'Drifted')[];
}

export interface NodePoolSpec {
  template: {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: {
      requirements?: Requirement[];
      nodeClassRef?: { group: string; kind: string; name: string };
      taints?: Taint[];
      startupTaints?: Taint[];
      expireAfter?: string;
    };
  };
  disruption?: { consolidationPolicy?: 'WhenEmptyOrUnderutilized' | 'WhenEmpty'; consolidateAfter?: string; budgets?: Budget[] };
  /** Resource limits over all the pool's nodes' capacity: `cpu: "1000"`, `memory: 1000Gi`. */
  limits?: Record<string, string>;
  /** Higher pools are tried first (default 0). */
  weight?: number;
}

export interface NodePool extends KubeObject {
  spec: NodePoolSpec;
  status?: { resources?: Record<string, string>; nodes?: number; conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[] };
}

export interface NodeClaim extends KubeObject {
  spec: {
    requirements: Requirement[];
    resources?: { requests?: Record<string, string> };
    taints?: Taint[];
    nodeClassRef?: { group: string; kind: string; name: string };
  };
  status?: {
    providerID?: string;
    nodeName?: string;
    capacity?: Record<string, string>;
    allocatable?: Record<string, string>;
    conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[];
  };
}

/** The labels a node of `t` launched as `capacityType` in `zone` carries, as Karpenter's AWS provider sets them. */
export function offeringLabels(t: InstanceTypeInfo, capacityType: string, zone: string, region: string): Record<string, string> {
  const labels: Record<string, string> = {
    'karpenter.k8s.aws/instance-category': instanceSeries(t.family),
    'karpenter.k8s.aws/instance-family': t.family,
    'karpenter.k8s.aws/instance-size': t.size,
    'karpenter.k8s.aws/instance-cpu': String(t.vcpu),
    'karpenter.k8s.aws/instance-memory': String(t.memoryMiB),
    'karpenter.k8s.aws/instance-hypervisor': t.bareMetal ? '' : 'nitro',
    'kubernetes.io/arch': t.arch === 'arm64' ? 'arm64' : 'amd64',
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': t.name,
    'topology.kubernetes.io/zone': zone,
    'topology.kubernetes.io/region': region,
    [CAPACITY_TYPE_LABEL]: capacityType,
  };
  const gen = familyGeneration(t.family);
  if (gen) labels['karpenter.k8s.aws/instance-generation'] = gen;
  if (t.gpuCount) labels['karpenter.k8s.aws/instance-gpu-count'] = String(t.gpuCount);
  return labels;
}

/** True if `labels` satisfy every requirement whose key they define; keys they lack fail In/Exists/Gt/Lt. */
export function requirementsMatch(reqs: readonly Requirement[] | undefined, labels: Record<string, string>): boolean {
  for (const r of reqs ?? []) {
    const v = labels[r.key];
    const values = r.values ?? [];
    switch (r.operator) {
      case 'In':
        if (v === undefined || !values.includes(v)) return false;
        break;
      case 'NotIn':
        if (v !== undefined && values.includes(v)) return false;
        break;
      case 'Exists':
        if (v === undefined) return false;
        break;
      case 'DoesNotExist':
        if (v !== undefined) return false;
        break;
      case 'Gt':
        if (v === undefined || !(Number(v) > Number(values[0]))) return false;
        break;
      case 'Lt':
        if (v === undefined || !(Number(v) < Number(values[0]))) return false;
        break;
    }
  }
  return true;
}

/** The label keys an offering defines (requirements on other keys set node labels instead of filtering offerings). */
export const OFFERING_KEYS = new Set([
  'karpenter.k8s.aws/instance-category',
  'karpenter.k8s.aws/instance-family',
  'karpenter.k8s.aws/instance-generation',
  'karpenter.k8s.aws/instance-size',
  'karpenter.k8s.aws/instance-cpu',
  'karpenter.k8s.aws/instance-memory',
  'karpenter.k8s.aws/instance-hypervisor',
  'karpenter.k8s.aws/instance-gpu-count',
  'kubernetes.io/arch',
  'kubernetes.io/os',
  'node.kubernetes.io/instance-type',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  CAPACITY_TYPE_LABEL,
]);

/** Parses Karpenter's durations (`30s`, `5m`, `1h`, `720h`, `Never`) to ms; Infinity for Never. Throws Error. */
export function parseKarpenterDuration(s: string | undefined, dflt: number): number {
  if (s === undefined || s === '') return dflt;
  if (s === 'Never') return Infinity;
  let ms = 0;
  let rest = s;
  const re = /^(\d+(?:\.\d+)?)(h|m|s|ms)/;
  if (!re.test(rest)) throw new Error(`not a duration: "${s}" (write 30s, 5m, 1h or Never)`);
  while (rest) {
    const m = re.exec(rest);
    if (!m) throw new Error(`not a duration: "${s}" (write 30s, 5m, 1h or Never)`);
    ms += Number(m[1]) * { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }[m[2] as 'h' | 'm' | 's' | 'ms'];
    rest = rest.slice(m[0].length);
  }
  return ms;
}
