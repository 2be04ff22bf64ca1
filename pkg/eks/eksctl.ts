/**
 * eksctl's `ClusterConfig` (`eksctl.io/v1alpha5`, https://eksctl.io/usage/schema/) as a served,
 * cluster-scoped kind: `berth apply -f cluster.yaml` stores it and this controller creates, owned
 * by it (so deleting it deletes them), what `eksctl create cluster -f` would:
 *
 * - each of `managedNodeGroups` as an EKS managed node group, `eks.berth.dev/v1` Nodegroup of the
 *   same name (nodegroup.ts; as `eksctl` calls CreateNodegroup): scaling config (eksctl's
 *   defaults: desired 2, min and max the desired), instance types (`instanceType` or
 *   `instanceTypes`, default m5.large), capacity type (`spot: true` → SPOT), labels, taints (EKS's
 *   effect names), tags, AMI type, volume size, zones; the Nodegroup controller makes its Auto
 *   Scaling group `eks-<nodegroup>-<uuid>`;
 * - each of `nodeGroups` (unmanaged, a CloudFormation stack's group in eksctl) as an
 *   `autoscaling.berth.dev/v1` AutoScalingGroup `eks-<cluster>-<group>`: min/desired/max,
 *   instance types (`instanceType`, or `instancesDistribution.instanceTypes` as a mixed instances
 *   policy in priority order), `instancesDistribution` copied, node labels (the group's plus
 *   `alpha.eksctl.io/nodegroup-name`), taints (a map `key: value:Effect` or a list), tags;
 * - each of `fargateProfiles` as an `eks.berth.dev/v1` FargateProfile of the same name.
 *
 * berth simulates one region, us-east-1: a group's zones keep their letter (`us-west-2b` →
 * `us-east-1b`); with none given, the group uses us-east-1a–c. Fields berth has no use for
 * (ssh, iam, volumes, AMIs, bootstrap commands, launch template ids) are accepted and ignored.
 * The groups and profiles are re-created if deleted and updated when the file changes
 * (level-based); a group or profile removed from the file is deleted.
 */
import { fieldInvalid, fieldNotSupported, fieldRequired, isAlreadyExists, isNotFound, isReason, type FieldError } from '../api/errors.js';
import type { EventRecorder } from '../runtime/events.js';
import { controllerRef, deepEqual, ownerRef } from '../api/meta.js';
import { defineResource, type ResourceInfo } from '../api/resources.js';
import type { KubeObject, Taint } from '../api/types.js';
import { validateLabels } from '../api/validation.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import type { AutoScalingGroup, AutoScalingGroupSpec } from '../cloud/types.js';
import { controllerFor, type Controller, type Manager, type ReconcileContext, type Reconciler } from '../runtime/manager.js';
import { AMI_TYPES, EKS_TAINT_EFFECTS, NodegroupKind, type Nodegroup } from './nodegroup.js';
import { EksKinds, validateFargateProfile, type FargateProfile, type FargateProfileSelector } from './types.js';

export const EKSCTL_API_VERSION = 'eksctl.io/v1alpha5';
export const CLUSTER_CONFIG_RESOURCE: ResourceInfo = defineResource({ gv: EKSCTL_API_VERSION, resource: 'clusterconfigs', kind: 'ClusterConfig', ns: false, cat: ['eks'] });
export const ClusterConfigKind = { apiVersion: EKSCTL_API_VERSION, kind: 'ClusterConfig' } as const;

/** The zones berth's region has, in order (pkg/cloud/network.ts). */
const BERTH_REGION = 'us-east-1';
const DEFAULT_ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

interface NodeGroupBase {
  name: string;
  instanceType?: string;
  instanceTypes?: string[];
  minSize?: number;
  maxSize?: number;
  desiredCapacity?: number;
  availabilityZones?: string[];
  labels?: Record<string, string>;
  tags?: Record<string, string>;
}
export interface ManagedNodeGroup extends NodeGroupBase {
  taints?: { key: string; value?: string; effect: string }[];
  spot?: boolean;
  amiFamily?: string;
  volumeSize?: number;
}
export interface UnmanagedNodeGroup extends NodeGroupBase {
  /** eksctl's map form: `key: value:Effect` (or a list, which newer eksctl accepts too). */
  taints?: Record<string, string> | { key: string; value?: string; effect: string }[];
  instancesDistribution?: {
    instanceTypes?: string[];
    onDemandBaseCapacity?: number;
    onDemandPercentageAboveBaseCapacity?: number;
    spotInstancePools?: number;
    spotAllocationStrategy?: string;
    maxPrice?: number;
  };
}
export interface ClusterConfig extends KubeObject {
  metadata: KubeObject['metadata'] & { region?: string; version?: string };
  availabilityZones?: string[];
  managedNodeGroups?: ManagedNodeGroup[];
  nodeGroups?: UnmanagedNodeGroup[];
  fargateProfiles?: { name: string; selectors: FargateProfileSelector[] }[];
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** eksctl's sizes: desired default 2; min and max default to the desired (eksctl `setNodeGroupDefaults`). */
function sizes(ng: NodeGroupBase): { min: number; max: number; desired: number } {
  const desired = ng.desiredCapacity ?? (ng.minSize !== undefined && ng.minSize > 2 ? ng.minSize : ng.maxSize !== undefined && ng.maxSize < 2 ? ng.maxSize : 2);
  return { min: ng.minSize ?? Math.min(desired, ng.maxSize ?? desired), max: ng.maxSize ?? Math.max(desired, ng.minSize ?? desired), desired };
}

/** Taints from either of eksctl's forms. */
export function eksctlTaints(t: UnmanagedNodeGroup['taints']): Taint[] {
  if (!t) return [];
  if (Array.isArray(t)) return t.map((x) => ({ key: x.key, ...(x.value ? { value: x.value } : {}), effect: x.effect as Taint['effect'] }));
  return Object.entries(t).map(([key, v]) => {
    const [value, effect] = String(v).includes(':') ? String(v).split(':') : ['', String(v)];
    return { key, ...(value ? { value } : {}), effect: effect as Taint['effect'] };
  });
}

/** A ClusterConfig's field errors (the parts berth acts on). */
export function validateClusterConfig(obj: KubeObject): FieldError[] {
  const c = obj as ClusterConfig;
  const out: FieldError[] = [];
  const groups: [string, NodeGroupBase[] | undefined][] = [
    ['managedNodeGroups', c.managedNodeGroups],
    ['nodeGroups', c.nodeGroups],
  ];
  const names = new Set<string>();
  for (const [field, list] of groups) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      out.push(fieldInvalid(field, list, 'must be a list of node groups'));
      continue;
    }
    list.forEach((ng, i) => {
      const p = `${field}[${i}]`;
      if (!ng || typeof ng.name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9-]*$/.test(ng.name)) out.push(ng?.name ? fieldInvalid(`${p}.name`, ng.name, 'must be letters, digits and "-"') : fieldRequired(`${p}.name`));
      else if (names.has(ng.name)) out.push(fieldInvalid(`${p}.name`, ng.name, 'a node group of this name is already defined'));
      else names.add(ng.name);
      for (const k of ['minSize', 'maxSize', 'desiredCapacity'] as const) if (ng?.[k] !== undefined && !isInt(ng[k])) out.push(fieldInvalid(`${p}.${k}`, ng[k], 'must be a whole number >= 0'));
      if (ng && out.length === 0) {
        const s = sizes(ng);
        if (!(s.min <= s.desired && s.desired <= s.max)) out.push(fieldInvalid(`${p}.desiredCapacity`, s.desired, `must be between minSize (${s.min}) and maxSize (${s.max})`));
      }
      out.push(...validateLabels(ng?.labels, `${p}.labels`));
      try {
        eksctlTaints((ng as UnmanagedNodeGroup)?.taints).forEach((t, j) => {
          if (!EFFECTS.includes(t.effect)) out.push(fieldNotSupported(`${p}.taints[${j}].effect`, t.effect, EFFECTS));
        });
      } catch {
        out.push(fieldInvalid(`${p}.taints`, (ng as UnmanagedNodeGroup).taints, 'must be a list of {key, value, effect} or a map of key to value:Effect'));
      }
    });
  }
  if (c.fargateProfiles !== undefined) {
    if (!Array.isArray(c.fargateProfiles)) out.push(fieldInvalid('fargateProfiles', c.fargateProfiles, 'must be a list'));
    else
      c.fargateProfiles.forEach((fp, i) => {
        if (!fp?.name) out.push(fieldRequired(`fargateProfiles[${i}].name`));
        for (const e of validateFargateProfile({ metadata: { name: fp?.name ?? '' }, spec: { selectors: fp?.selectors } } as KubeObject)) out.push({ ...e, field: e.field.replace(/^spec\./, `fargateProfiles[${i}].`) });
      });
  }
  return out;
}

/** The zones a group launches into in berth's region: the letter kept, duplicates dropped. */
function groupZones(ng: NodeGroupBase, c: ClusterConfig): string[] {
  const given = ng.availabilityZones ?? c.availabilityZones;
  if (!given?.length) return DEFAULT_ZONES;
  const zones = [...new Set(given.map((z) => `${BERTH_REGION}${z.slice(-1)}`))];
  return zones;
}

/** The Auto Scaling group eksctl would create for an unmanaged node group (`nodeGroups`). */
export function nodeGroupAsg(c: ClusterConfig, ng: UnmanagedNodeGroup): AutoScalingGroup {
  const s = sizes(ng);
  const dist = ng.instancesDistribution;
  const types = dist?.instanceTypes ?? ng.instanceTypes ?? [ng.instanceType ?? 'm5.large'];
  const spot = !!dist && (dist.onDemandPercentageAboveBaseCapacity ?? 100) < 100;
  const labels: Record<string, string> = { ...(ng.labels ?? {}), 'alpha.eksctl.io/nodegroup-name': ng.name, 'alpha.eksctl.io/cluster-name': c.metadata.name! };
  const taints = eksctlTaints(ng.taints);
  const spec: AutoScalingGroupSpec = {
    minSize: s.min,
    maxSize: s.max,
    desiredCapacity: s.desired,
    launchTemplate: { instanceType: types[0]!, nodeLabels: labels, ...(taints.length ? { nodeTaints: taints } : {}) },
    availabilityZones: groupZones(ng, c),
    tags: { ...(ng.tags ?? {}), 'alpha.eksctl.io/cluster-name': c.metadata.name!, 'alpha.eksctl.io/nodegroup-name': ng.name },
  };
  if (types.length > 1 || spot) {
    spec.mixedInstancesPolicy = {
      launchTemplate: { overrides: types.map((instanceType) => ({ instanceType })) },
      instancesDistribution: {
        ...(dist?.onDemandBaseCapacity !== undefined ? { onDemandBaseCapacity: dist.onDemandBaseCapacity } : {}),
        ...(dist?.onDemandPercentageAboveBaseCapacity !== undefined ? { onDemandPercentageAboveBaseCapacity: dist.onDemandPercentageAboveBaseCapacity } : {}),
        ...(dist?.spotInstancePools !== undefined ? { spotInstancePools: dist.spotInstancePools } : {}),
        ...(dist?.spotAllocationStrategy ? { spotAllocationStrategy: dist.spotAllocationStrategy as 'lowest-price' } : {}),
        ...(dist?.maxPrice !== undefined ? { spotMaxPrice: String(dist.maxPrice) } : {}),
      },
    };
  }
  return {
    apiVersion: Kinds.AutoScalingGroup.apiVersion,
    kind: 'AutoScalingGroup',
    metadata: { name: `eks-${c.metadata.name}-${ng.name}`.toLowerCase(), labels: { 'alpha.eksctl.io/cluster-name': c.metadata.name!, 'alpha.eksctl.io/nodegroup-name': ng.name }, ownerReferences: [ownerRef(c)] },
    spec,
  };
}

/** The EKS managed node group eksctl creates for a `managedNodeGroups` entry. */
export function managedNodegroup(c: ClusterConfig, ng: ManagedNodeGroup): Nodegroup {
  const s = sizes(ng);
  const toEks = Object.fromEntries(Object.entries(EKS_TAINT_EFFECTS).map(([k, v]) => [v, k]));
  const taints = eksctlTaints(ng.taints).map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: toEks[t.effect] ?? t.effect }));
  // eksctl's amiFamily AmazonLinux2023 / AmazonLinux2 / Bottlerocket, as EKS AMI types for x86.
  const ami = ({ AmazonLinux2023: 'AL2023_x86_64_STANDARD', AmazonLinux2: 'AL2_x86_64', Bottlerocket: 'BOTTLEROCKET_x86_64' } as Record<string, string>)[ng.amiFamily ?? 'AmazonLinux2023'];
  return {
    apiVersion: NodegroupKind.apiVersion,
    kind: 'Nodegroup',
    metadata: { name: ng.name.toLowerCase(), labels: { 'alpha.eksctl.io/cluster-name': c.metadata.name!, 'alpha.eksctl.io/nodegroup-name': ng.name }, ownerReferences: [ownerRef(c)] },
    spec: {
      clusterName: c.metadata.name!,
      scalingConfig: { minSize: s.min, maxSize: s.max, desiredSize: s.desired },
      instanceTypes: ng.instanceTypes?.length ? ng.instanceTypes : [ng.instanceType ?? 'm5.large'],
      capacityType: ng.spot ? 'SPOT' : 'ON_DEMAND',
      ...(ng.labels && Object.keys(ng.labels).length ? { labels: ng.labels } : {}),
      ...(taints.length ? { taints } : {}),
      tags: { ...(ng.tags ?? {}), 'alpha.eksctl.io/cluster-name': c.metadata.name!, 'alpha.eksctl.io/nodegroup-name': ng.name },
      ...(ami && AMI_TYPES.includes(ami) ? { amiType: ami } : {}),
      ...(ng.volumeSize !== undefined ? { diskSize: ng.volumeSize } : {}),
      availabilityZones: groupZones(ng, c),
    },
  };
}

/** Everything a ClusterConfig stands for: its managed node groups, Auto Scaling groups and Fargate profiles. */
export function clusterConfigObjects(c: ClusterConfig): KubeObject[] {
  return [
    ...(c.managedNodeGroups ?? []).map((ng) => managedNodegroup(c, ng)),
    ...(c.nodeGroups ?? []).map((ng) => nodeGroupAsg(c, ng)),
    ...(c.fargateProfiles ?? []).map(
      (fp): FargateProfile => ({
        apiVersion: EksKinds.FargateProfile.apiVersion,
        kind: 'FargateProfile',
        metadata: { name: fp.name, labels: { 'alpha.eksctl.io/cluster-name': c.metadata.name! }, ownerReferences: [ownerRef(c)] },
        spec: { selectors: fp.selectors },
      }),
    ),
  ];
}

/** Keeps each ClusterConfig's groups and profiles as the file says (see the file comment). */
export class ClusterConfigController implements Reconciler {
  private readonly configs: Informer<ClusterConfig>;
  private readonly asgs: Informer<AutoScalingGroup>;
  private readonly profiles: Informer<FargateProfile>;
  private readonly nodegroups: Informer<Nodegroup>;
  private readonly recorder: EventRecorder;

  constructor(mgr: Manager) {
    this.recorder = mgr.recorder('eksctl');
    this.configs = mgr.informer<ClusterConfig>(ClusterConfigKind);
    this.asgs = mgr.informer<AutoScalingGroup>(Kinds.AutoScalingGroup);
    this.profiles = mgr.informer<FargateProfile>(EksKinds.FargateProfile);
    this.nodegroups = mgr.informer<Nodegroup>(NodegroupKind);
  }

  static installWith(mgr: Manager): Controller {
    return controllerFor(mgr, ClusterConfigKind).named('eksctl-clusterconfig').owns(Kinds.AutoScalingGroup).owns(EksKinds.FargateProfile).owns(NodegroupKind).complete(new ClusterConfigController(mgr));
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<void> {
    const c = this.configs.cache.get(key);
    if (!c || c.metadata.deletionTimestamp) return; // the garbage collector deletes what it owned
    const want = clusterConfigObjects(c);
    const have = [...this.asgs.cache.list(), ...this.profiles.cache.list(), ...this.nodegroups.cache.list()].filter((o) => controllerRef(o)?.uid === c.metadata.uid);
    const cacheOf = (kind: string | undefined): Informer<KubeObject> => (kind === 'FargateProfile' ? this.profiles : kind === 'Nodegroup' ? this.nodegroups : this.asgs) as unknown as Informer<KubeObject>;
    for (const w of want) {
      const cur = have.find((h) => h.kind === w.kind && h.metadata.name === w.metadata.name) ?? cacheOf(w.kind).cache.get(w.metadata.name!);
      try {
        if (!cur) await ctx.client.create(w);
        else if (controllerRef(cur)?.uid === c.metadata.uid && !deepEqual(cur.spec, w.spec)) await ctx.client.update({ ...cur, spec: w.spec } as KubeObject);
      } catch (e) {
        if (isAlreadyExists(e)) continue;
        // A group the cloud refuses (e.g. an instance type not in berth's catalogue): say so on the ClusterConfig and go on with the rest.
        if (isReason(e, 'Invalid')) {
          this.recorder.event(c, 'Warning', 'FailedCreate', `${w.kind} ${w.metadata.name}: ${(e as Error).message}`);
          continue;
        }
        throw e;
      }
    }
    for (const h of have) {
      if (want.some((w) => w.kind === h.kind && w.metadata.name === h.metadata.name)) continue;
      try {
        await ctx.client.delete(h.kind === 'FargateProfile' ? EksKinds.FargateProfile : h.kind === 'Nodegroup' ? NodegroupKind : Kinds.AutoScalingGroup, h.metadata.name!, undefined, { preconditions: { uid: h.metadata.uid! } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }
}
