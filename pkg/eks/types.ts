/**
 * The EKS flavour's kinds: `eks.berth.dev/v1 FargateProfile` (cluster-scoped, as a profile
 * belongs to the cluster: CreateFargateProfile, https://docs.aws.amazon.com/eks/latest/APIReference/API_FargateProfile.html)
 * and `eks.berth.dev/v1 FargateUsage` (cluster-scoped, read-only for users in spirit: one record
 * per Fargate pod run, the ledger `GET /billing/v1/fargate` bills from), with their validation
 * and the labels, annotations and taint EKS puts on Fargate pods and nodes.
 */
import { fieldInvalid, fieldRequired, type FieldError } from '../api/errors.js';
import { defineResource, type ResourceInfo } from '../api/resources.js';
import type { KubeObject, Taint } from '../api/types.js';
import { validateLabels } from '../api/validation.js';

export const EKS_GROUP = 'eks.berth.dev';
export const EKS_API_VERSION = `${EKS_GROUP}/v1`;

/** The scheduler name EKS's admission webhook gives a pod a profile matches; the default scheduler leaves it alone. */
export const FARGATE_SCHEDULER = 'fargate-scheduler';
/** Pod annotation naming the matched profile (EKS writes it). */
export const FARGATE_PROFILE_ANNOTATION = 'eks.amazonaws.com/fargate-profile';
/** Pod annotation with the size provisioned, e.g. `0.25vCPU 0.5GB` (EKS writes it). */
export const CAPACITY_PROVISIONED_ANNOTATION = 'CapacityProvisioned';
/** Node label of every Fargate node (and EC2 nodes' `ec2`), as on EKS. */
export const COMPUTE_TYPE_LABEL = 'eks.amazonaws.com/compute-type';
/** The taint EKS puts on Fargate nodes, so nothing else lands there. */
export const FARGATE_TAINT: Taint = { key: COMPUTE_TYPE_LABEL, value: 'fargate', effect: 'NoSchedule' };
/** Node annotations pointing back at the pod the node was made for. */
export const POD_ANNOTATION = 'eks.berth.dev/pod';
export const POD_UID_ANNOTATION = 'eks.berth.dev/pod-uid';
/** The most selectors a profile takes (EKS quota). */
export const MAX_SELECTORS = 5;

export interface FargateProfileSelector {
  namespace: string;
  /** All must match (the pod's labels ⊇ these). */
  labels?: Record<string, string>;
}

export interface FargateProfile extends KubeObject {
  spec: {
    selectors: FargateProfileSelector[];
    /** Informational, as in EKS (berth runs no IAM). */
    podExecutionRoleArn?: string;
    subnets?: string[];
  };
}

/** One Fargate pod's run: its size and when its node existed (start, end as RFC 3339 with ms). */
export interface FargateUsage extends KubeObject {
  spec: {
    namespace: string;
    pod: string;
    podUID: string;
    nodeName: string;
    profile: string;
    vcpu: number;
    memoryGB: number;
    start: string;
    end?: string;
    /** `FARGATE_SPOT` for an ECS task on Fargate Spot (billed at the Spot rates); absent or `FARGATE`: On-Demand. */
    capacityProvider?: 'FARGATE' | 'FARGATE_SPOT';
    /** The ECS cluster of an ECS task (absent for an EKS pod). */
    ecsCluster?: string;
    /** When the Spot model (or an injected interruption) gives the two-minute warning, RFC 3339 (Fargate Spot only). */
    interruptionNoticeAt?: string;
    /** Why the run ended, when Fargate ended it: `Your Spot Task was interrupted.` */
    stoppedReason?: string;
  };
}

/** Node annotation of a Fargate Spot node: when its interruption notice comes (RFC 3339). */
export const SPOT_NOTICE_ANNOTATION = 'fargate.berth.dev/spot-interruption-notice';
/** Node label of a Fargate node made for an ECS task: its capacity provider, `FARGATE` or `FARGATE_SPOT`. */
export const FARGATE_CAPACITY_LABEL = 'ecs.berth.dev/capacity-provider';
/** ECS's stoppedReason for a Fargate Spot interruption (https://aws.amazon.com/premiumsupport/knowledge-center/fargate-spot-termination-notice/). */
export const SPOT_STOPPED_REASON = 'Your Spot Task was interrupted.';
/** The pod status reason berth sets on a pod Fargate Spot stopped. */
export const SPOT_INTERRUPTED_REASON = 'SpotInterrupted';

export const FARGATE_PROFILE_RESOURCE: ResourceInfo = defineResource({ gv: EKS_API_VERSION, resource: 'fargateprofiles', kind: 'FargateProfile', ns: false, short: ['fp'], cat: ['eks'] });
export const FARGATE_USAGE_RESOURCE: ResourceInfo = defineResource({ gv: EKS_API_VERSION, resource: 'fargateusages', kind: 'FargateUsage', ns: false, cat: ['eks'] });
export const EKS_RESOURCES: ResourceInfo[] = [FARGATE_PROFILE_RESOURCE, FARGATE_USAGE_RESOURCE];
export const EksKinds = {
  FargateProfile: { apiVersion: EKS_API_VERSION, kind: 'FargateProfile' },
  FargateUsage: { apiVersion: EKS_API_VERSION, kind: 'FargateUsage' },
} as const;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A FargateProfile's field errors: 1–5 selectors, each a namespace and valid labels. */
export function validateFargateProfile(obj: KubeObject): FieldError[] {
  const p = obj as FargateProfile;
  const out: FieldError[] = [];
  const sels = p.spec?.selectors;
  if (!Array.isArray(sels) || sels.length === 0) return [fieldRequired('spec.selectors', 'a Fargate profile needs at least one selector')];
  if (sels.length > MAX_SELECTORS) out.push(fieldInvalid('spec.selectors', `${sels.length} selectors`, `must have at most ${MAX_SELECTORS} items`));
  sels.forEach((s, i) => {
    const path = `spec.selectors[${i}]`;
    if (!s || typeof s !== 'object') return void out.push(fieldInvalid(path, s, 'must be an object with namespace and optional labels'));
    if (typeof s.namespace !== 'string' || !s.namespace) out.push(fieldRequired(`${path}.namespace`));
    else if (!DNS1123_LABEL.test(s.namespace) || s.namespace.length > 63) out.push(fieldInvalid(`${path}.namespace`, s.namespace, 'must be a DNS-1123 label (lower case alphanumerics and "-")'));
    if (s.labels !== undefined && (typeof s.labels !== 'object' || Array.isArray(s.labels) || s.labels === null)) out.push(fieldInvalid(`${path}.labels`, s.labels, 'must be a map of label keys to values'));
    else out.push(...validateLabels(s.labels, `${path}.labels`));
  });
  return out;
}

/** True if the selector matches a pod in `namespace` with `labels`: same namespace, every selector label present and equal. */
export function selectorMatches(s: FargateProfileSelector, namespace: string, labels: Record<string, string> | undefined): boolean {
  if (s.namespace !== namespace) return false;
  return Object.entries(s.labels ?? {}).every(([k, v]) => labels?.[k] === v);
}

/**
 * The profile a pod goes to: among the profiles with a matching selector, the first by name.
 * (EKS picks one at random when several match; berth picks deterministically.)
 */
export function matchingProfile(profiles: FargateProfile[], namespace: string, labels: Record<string, string> | undefined): FargateProfile | undefined {
  return [...profiles]
    .filter((p) => !p.metadata.deletionTimestamp && (p.spec?.selectors ?? []).some((s) => selectorMatches(s, namespace, labels)))
    .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0))[0];
}
