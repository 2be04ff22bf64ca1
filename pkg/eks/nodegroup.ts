/**
 * EKS managed node groups: `eks.berth.dev/v1 Nodegroup` (cluster-scoped, as a node group belongs
 * to the cluster), the fields of EKS's CreateNodegroup
 * (https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html) berth models:
 *
 * - `scalingConfig {minSize, maxSize, desiredSize}`: EKS's defaults 1, 2, 2 (ScalingConfig);
 *   minSize ≤ desiredSize ≤ maxSize, maxSize ≥ 1.
 * - `instanceTypes` (default `[t3.medium]`, as EKS's), `capacityType` `ON_DEMAND` (default) or
 *   `SPOT`, `labels`, `taints` (`{key, value, effect}` with EKS's effects `NO_SCHEDULE`,
 *   `NO_EXECUTE`, `PREFER_NO_SCHEDULE`), `tags`, `clusterName` (default `berth`), and
 *   `availabilityZones` (berth's stand-in for `subnets`: the zones of the subnets; default every
 *   zone of berth's region).
 * - Accepted and shown, with no effect in the simulation: `amiType`, `diskSize` (GiB),
 *   `releaseVersion`, `version`, `nodeRole`, `subnets`, `remoteAccess`, `updateConfig`,
 *   `launchTemplate`.
 *
 * As in EKS, each node group is backed by an EC2 Auto Scaling group (`autoscaling.berth.dev/v1`
 * AutoScalingGroup) named `eks-<nodegroup>-<uuid>` (the uuid is the node group's uid), owned by
 * it, with EKS's tags (`eks:cluster-name`, `eks:nodegroup-name`,
 * `k8s.io/cluster-autoscaler/enabled`, `k8s.io/cluster-autoscaler/<cluster>: owned`,
 * `kubernetes.io/cluster/<cluster>: owned`: Cluster Autoscaler's auto-discovery finds it) and its
 * nodes labelled `eks.amazonaws.com/nodegroup`, `eks.amazonaws.com/capacityType` and
 * `eks.amazonaws.com/nodegroup-image` (the AMI type) besides the group's labels. Several
 * instance types or `SPOT` make a mixed instances policy: On-Demand `prioritized` (the list's
 * order), Spot `price-capacity-optimized` with Capacity Rebalancing on, as EKS configures Spot
 * managed node groups (https://docs.aws.amazon.com/eks/latest/userguide/managed-node-groups.html,
 * "Managed node group capacity types"; groups made before late 2023 used capacity-optimized).
 *
 * Sizes: the group's min and max follow the node group always; its desired capacity follows
 * `desiredSize` when the node group's spec changes (a new generation), so Cluster Autoscaler may
 * move it in between, as on EKS.
 *
 * Status: `status` (CREATING, ACTIVE, DEGRADED, DELETING as EKS's Nodegroup.status),
 * `resources.autoScalingGroups[].name`, `health.issues[]` (`{code, message, resourceIds}`, EKS's
 * codes: `AutoScalingGroupInvalidConfiguration` when the group is refused,
 * `AsgInstanceLaunchFailures` when instances fail to launch, `AutoScalingGroupNotFound` while the
 * group is being re-created), the current desired size and how many nodes are Ready.
 */
import { fieldInvalid, fieldNotSupported, fieldRequired, isAlreadyExists, isNotFound, isReason, type FieldError } from '../api/errors.js';
import { controllerRef, deepEqual, isObject, ownerRef } from '../api/meta.js';
import { defineResource, type ResourceInfo } from '../api/resources.js';
import type { KubeObject, Node, Taint } from '../api/types.js';
import { validateLabels } from '../api/validation.js';
import { rfc3339 } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import { GROUP_NAME_LABEL, type AutoScalingGroup, type AutoScalingGroupSpec } from '../cloud/types.js';
import { controllerFor, type Controller, type Manager, type ReconcileContext, type Reconciler } from '../runtime/manager.js';
import { EKS_API_VERSION } from './types.js';

export const NODEGROUP_RESOURCE: ResourceInfo = defineResource({ gv: EKS_API_VERSION, resource: 'nodegroups', kind: 'Nodegroup', ns: false, short: ['ng'], cat: ['eks'], sub: ['status'], generation: true });
export const NodegroupKind = { apiVersion: EKS_API_VERSION, kind: 'Nodegroup' } as const;

/** Node labels EKS puts on a managed node group's nodes. */
export const NODEGROUP_LABEL = 'eks.amazonaws.com/nodegroup';
export const CAPACITY_TYPE_LABEL = 'eks.amazonaws.com/capacityType';
export const NODEGROUP_IMAGE_LABEL = 'eks.amazonaws.com/nodegroup-image';

/** EKS's taint effects and the Kubernetes effect each stands for. */
export const EKS_TAINT_EFFECTS: Record<string, Taint['effect']> = { NO_SCHEDULE: 'NoSchedule', NO_EXECUTE: 'NoExecute', PREFER_NO_SCHEDULE: 'PreferNoSchedule' };
export const AMI_TYPES = [
  'AL2_x86_64',
  'AL2_x86_64_GPU',
  'AL2_ARM_64',
  'CUSTOM',
  'BOTTLEROCKET_ARM_64',
  'BOTTLEROCKET_x86_64',
  'BOTTLEROCKET_ARM_64_NVIDIA',
  'BOTTLEROCKET_x86_64_NVIDIA',
  'WINDOWS_CORE_2019_x86_64',
  'WINDOWS_FULL_2019_x86_64',
  'WINDOWS_CORE_2022_x86_64',
  'WINDOWS_FULL_2022_x86_64',
  'AL2023_x86_64_STANDARD',
  'AL2023_ARM_64_STANDARD',
  'AL2023_x86_64_NEURON',
  'AL2023_x86_64_NVIDIA',
];

export interface NodegroupSpec {
  clusterName?: string;
  scalingConfig?: { minSize?: number; maxSize?: number; desiredSize?: number };
  instanceTypes?: string[];
  capacityType?: 'ON_DEMAND' | 'SPOT';
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  tags?: Record<string, string>;
  amiType?: string;
  /** GiB (accepted; berth models no volumes). */
  diskSize?: number;
  releaseVersion?: string;
  version?: string;
  nodeRole?: string;
  subnets?: string[];
  /** berth: the zones the group launches into (EKS takes them from `subnets`). */
  availabilityZones?: string[];
  [field: string]: unknown;
}

export interface NodegroupIssue {
  code: string;
  message: string;
  resourceIds?: string[];
}

export interface Nodegroup extends KubeObject {
  spec: NodegroupSpec;
  status?: {
    status?: 'CREATING' | 'ACTIVE' | 'DEGRADED' | 'DELETING';
    observedGeneration?: number;
    resources?: { autoScalingGroups?: { name: string }[] };
    health?: { issues: NodegroupIssue[] };
    desiredSize?: number;
    readyNodes?: number;
    modifiedAt?: string;
  };
}

/** EKS's ScalingConfig defaults (min 1, max 2, desired 2) filled in. */
export function scalingOf(ng: Nodegroup): { minSize: number; maxSize: number; desiredSize: number } {
  const s = ng.spec?.scalingConfig ?? {};
  return { minSize: s.minSize ?? 1, maxSize: s.maxSize ?? 2, desiredSize: s.desiredSize ?? 2 };
}

const isWhole = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** A Nodegroup's field errors (shape only: instance types the catalogue lacks are refused by the Auto Scaling group and shown as a health issue). */
export function validateNodegroup(obj: KubeObject): FieldError[] {
  const ng = obj as Nodegroup;
  const s = ng.spec;
  if (!isObject(s)) return [fieldRequired('spec')];
  const out: FieldError[] = [];
  const sc = s.scalingConfig;
  if (sc !== undefined && !isObject(sc)) out.push(fieldInvalid('spec.scalingConfig', sc, 'must be an object {minSize, maxSize, desiredSize}'));
  else if (sc) {
    for (const k of ['minSize', 'maxSize', 'desiredSize'] as const) if (sc[k] !== undefined && !isWhole(sc[k])) out.push(fieldInvalid(`spec.scalingConfig.${k}`, sc[k], 'must be a whole number >= 0'));
  }
  if (!out.length) {
    const z = scalingOf(ng);
    if (z.maxSize < 1) out.push(fieldInvalid('spec.scalingConfig.maxSize', z.maxSize, 'must be at least 1'));
    else if (z.minSize > z.maxSize) out.push(fieldInvalid('spec.scalingConfig.minSize', z.minSize, `must be at most maxSize (${z.maxSize})`));
    else if (z.desiredSize < z.minSize || z.desiredSize > z.maxSize) out.push(fieldInvalid('spec.scalingConfig.desiredSize', z.desiredSize, `must be between minSize (${z.minSize}) and maxSize (${z.maxSize})`));
  }
  if (s.instanceTypes !== undefined) {
    if (!Array.isArray(s.instanceTypes) || !s.instanceTypes.length || s.instanceTypes.some((t) => typeof t !== 'string' || !t)) out.push(fieldInvalid('spec.instanceTypes', s.instanceTypes, 'must be a non-empty list of instance type names'));
  }
  if (s.availabilityZones !== undefined && (!Array.isArray(s.availabilityZones) || !s.availabilityZones.length || s.availabilityZones.some((z) => typeof z !== 'string' || !/^[a-z]{2}-[a-z]+-\d[a-z]$/.test(z)))) out.push(fieldInvalid('spec.availabilityZones', s.availabilityZones, 'must be a non-empty list of zone names such as us-east-1a'));
  if (s.capacityType !== undefined && !['ON_DEMAND', 'SPOT'].includes(s.capacityType)) out.push(fieldNotSupported('spec.capacityType', s.capacityType, ['ON_DEMAND', 'SPOT']));
  out.push(...validateLabels(s.labels, 'spec.labels'));
  if (s.taints !== undefined) {
    if (!Array.isArray(s.taints)) out.push(fieldInvalid('spec.taints', s.taints, 'must be a list of {key, value, effect}'));
    else
      s.taints.forEach((t, i) => {
        if (!isObject(t) || typeof t.key !== 'string' || !t.key) out.push(fieldRequired(`spec.taints[${i}].key`));
        if (!isObject(t) || !(t.effect in EKS_TAINT_EFFECTS)) out.push(fieldNotSupported(`spec.taints[${i}].effect`, isObject(t) ? t.effect : t, Object.keys(EKS_TAINT_EFFECTS)));
      });
  }
  if (s.amiType !== undefined && !AMI_TYPES.includes(s.amiType)) out.push(fieldNotSupported('spec.amiType', s.amiType, AMI_TYPES));
  if (s.diskSize !== undefined && !(isWhole(s.diskSize) && s.diskSize >= 1)) out.push(fieldInvalid('spec.diskSize', s.diskSize, 'must be a whole number of GiB, at least 1'));
  if (s.clusterName !== undefined && (typeof s.clusterName !== 'string' || !/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/.test(s.clusterName))) out.push(fieldInvalid('spec.clusterName', s.clusterName, 'must be 1-100 letters, digits, "-" and "_", starting with a letter or digit'));
  return out;
}

/** The name of a node group's Auto Scaling group: `eks-<nodegroup>-<uuid>`, as EKS names it. */
export function nodegroupAsgName(ng: Nodegroup): string {
  return `eks-${ng.metadata.name}-${ng.metadata.uid}`.toLowerCase();
}

/** The Auto Scaling group EKS would create for a node group (desired capacity from `desiredSize`). */
export function nodegroupAsg(ng: Nodegroup, zones: readonly string[]): AutoScalingGroup {
  const z = scalingOf(ng);
  const s = ng.spec;
  const cluster = s.clusterName ?? 'berth';
  const types = s.instanceTypes?.length ? s.instanceTypes : ['t3.medium'];
  const spot = s.capacityType === 'SPOT';
  const taints: Taint[] = (s.taints ?? []).map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: EKS_TAINT_EFFECTS[t.effect]! }));
  const spec: AutoScalingGroupSpec = {
    minSize: z.minSize,
    maxSize: z.maxSize,
    desiredCapacity: z.desiredSize,
    launchTemplate: {
      instanceType: types[0]!,
      nodeLabels: { ...(s.labels ?? {}), [NODEGROUP_LABEL]: ng.metadata.name!, [CAPACITY_TYPE_LABEL]: spot ? 'SPOT' : 'ON_DEMAND', [NODEGROUP_IMAGE_LABEL]: s.amiType ?? 'AL2023_x86_64_STANDARD' },
      ...(taints.length ? { nodeTaints: taints } : {}),
    },
    availabilityZones: s.availabilityZones?.length ? [...s.availabilityZones] : [...zones],
    tags: {
      ...(s.tags ?? {}),
      'eks:cluster-name': cluster,
      'eks:nodegroup-name': ng.metadata.name!,
      'k8s.io/cluster-autoscaler/enabled': 'true',
      [`k8s.io/cluster-autoscaler/${cluster}`]: 'owned',
      [`kubernetes.io/cluster/${cluster}`]: 'owned',
    },
    ...(spot ? { capacityRebalance: true } : {}),
  };
  if (types.length > 1 || spot) {
    spec.mixedInstancesPolicy = {
      launchTemplate: { overrides: types.map((instanceType) => ({ instanceType })) },
      instancesDistribution: { onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: spot ? 0 : 100, onDemandAllocationStrategy: 'prioritized', spotAllocationStrategy: 'price-capacity-optimized' },
    };
  }
  return {
    apiVersion: Kinds.AutoScalingGroup.apiVersion,
    kind: 'AutoScalingGroup',
    metadata: { name: nodegroupAsgName(ng), labels: { 'eks.berth.dev/nodegroup': ng.metadata.name! }, ownerReferences: [ownerRef(ng)] },
    spec,
  };
}

/** Keeps each Nodegroup's Auto Scaling group as the node group says, and its status (see the file comment). */
export class NodegroupController implements Reconciler {
  private readonly groups: Informer<Nodegroup>;
  private readonly asgs: Informer<AutoScalingGroup>;
  private readonly nodes: Informer<Node>;

  constructor(
    private readonly mgr: Manager,
    private readonly zones: readonly string[],
  ) {
    this.groups = mgr.informer<Nodegroup>(NodegroupKind);
    this.asgs = mgr.informer<AutoScalingGroup>(Kinds.AutoScalingGroup);
    this.nodes = mgr.informer<Node>(Kinds.Node);
  }

  /** Installs the controller (watching the groups it owns and their nodes). `zones`: where node groups launch (berth's region's zones). */
  static installWith(mgr: Manager, zones: readonly string[]): Controller {
    return controllerFor(mgr, NodegroupKind)
      .named('eks-nodegroup')
      .owns(Kinds.AutoScalingGroup)
      .watches(Kinds.Node, (n) => {
        const name = (n as Node).metadata.labels?.[NODEGROUP_LABEL];
        return name ? [name] : [];
      })
      .complete(new NodegroupController(mgr, zones));
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<{ requeueAfter?: number } | void> {
    const ng = this.groups.cache.get(key);
    if (!ng || ng.metadata.deletionTimestamp) return; // the garbage collector deletes the group
    const want = nodegroupAsg(ng, this.zones);
    const cur = this.asgs.cache.get(want.metadata.name!);
    const issues: NodegroupIssue[] = [];
    const changed = ng.status?.observedGeneration !== ng.metadata.generation;
    try {
      if (!cur) {
        if (ng.status?.resources?.autoScalingGroups?.length) issues.push({ code: 'AutoScalingGroupNotFound', message: `Auto Scaling group ${want.metadata.name} was not found; it is being re-created.`, resourceIds: [want.metadata.name!] });
        await ctx.client.create(want);
      } else if (controllerRef(cur)?.uid === ng.metadata.uid) {
        // Desired capacity follows desiredSize only when the node group changed; otherwise the group's own (Cluster Autoscaler's) value stays, within the bounds.
        const desired = changed ? want.spec.desiredCapacity! : Math.min(want.spec.maxSize, Math.max(want.spec.minSize, cur.spec.desiredCapacity ?? want.spec.minSize));
        const spec = { ...want.spec, desiredCapacity: desired };
        if (!deepEqual(cur.spec, spec)) await ctx.client.update({ ...cur, spec } as AutoScalingGroup);
      }
    } catch (e) {
      if (isReason(e, 'Invalid')) issues.push({ code: 'AutoScalingGroupInvalidConfiguration', message: (e as Error).message, resourceIds: [want.metadata.name!] });
      else if (!isAlreadyExists(e)) throw e;
    }
    const asg = this.asgs.cache.get(want.metadata.name!);
    // The newest activity a failed launch: EKS reports AsgInstanceLaunchFailures until a launch succeeds.
    const last = (asg?.status?.activities ?? []).filter((a) => a.description.startsWith('Launching')).at(-1);
    if (last?.statusCode === 'Failed') issues.push({ code: 'AsgInstanceLaunchFailures', message: `${last.description}. ${last.cause}`, resourceIds: [want.metadata.name!] });
    const nodes = this.nodes.cache.list().filter((n) => n.metadata.labels?.[NODEGROUP_LABEL] === ng.metadata.name && n.metadata.labels?.[GROUP_NAME_LABEL] === want.metadata.name);
    const ready = nodes.filter((n) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True').length;
    const status: NonNullable<Nodegroup['status']> = {
      status: issues.length ? (asg ? 'DEGRADED' : 'CREATING') : asg && (ready >= Math.min(scalingOf(ng).minSize, asg.spec.desiredCapacity ?? 0) || ng.status?.status === 'ACTIVE') ? 'ACTIVE' : 'CREATING',
      observedGeneration: ng.metadata.generation ?? 0,
      resources: { autoScalingGroups: asg ? [{ name: asg.metadata.name! }] : [] },
      health: { issues },
      desiredSize: asg?.spec.desiredCapacity ?? scalingOf(ng).desiredSize,
      readyNodes: ready,
      modifiedAt: ng.status?.modifiedAt ?? rfc3339(this.mgr.clock.now()),
    };
    if (changed) status.modifiedAt = rfc3339(this.mgr.clock.now());
    if (!deepEqual(ng.status, status)) {
      try {
        await ctx.client.updateStatus({ ...ng, status } as Nodegroup);
      } catch (e) {
        if (!isNotFound(e) && !isReason(e, 'Conflict')) throw e;
        return { requeueAfter: 1000 };
      }
    }
  }
}
