/**
 * Shapes of the workload and policy kinds the built-in controllers read and write, following the
 * Kubernetes API reference (https://kubernetes.io/docs/reference/kubernetes-api/) for the fields
 * berth uses; every object keeps any other field it was given.
 */
import type { Condition, KubeObject, LabelSelector, PodTemplateSpec, ResourceList } from '../api/types.js';

/** `apps/v1 StatefulSet` (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/stateful-set-v1/). */
export interface StatefulSet extends KubeObject {
  spec: {
    replicas?: number;
    selector: LabelSelector;
    template: PodTemplateSpec;
    serviceName?: string;
    /** `OrderedReady` (default) or `Parallel`. */
    podManagementPolicy?: 'OrderedReady' | 'Parallel';
    updateStrategy?: { type?: 'RollingUpdate' | 'OnDelete'; rollingUpdate?: { partition?: number; maxUnavailable?: number | string } };
    volumeClaimTemplates?: PersistentVolumeClaim[];
    revisionHistoryLimit?: number;
    minReadySeconds?: number;
    persistentVolumeClaimRetentionPolicy?: { whenDeleted?: 'Retain' | 'Delete'; whenScaled?: 'Retain' | 'Delete' };
    ordinals?: { start?: number };
  };
  status?: {
    observedGeneration?: number;
    replicas: number;
    readyReplicas?: number;
    currentReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    collisionCount?: number;
    conditions?: Condition[];
  };
}

/** `apps/v1 DaemonSet`. */
export interface DaemonSet extends KubeObject {
  spec: {
    selector: LabelSelector;
    template: PodTemplateSpec;
    updateStrategy?: { type?: 'RollingUpdate' | 'OnDelete'; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
  };
  status?: {
    currentNumberScheduled: number;
    numberMisscheduled: number;
    desiredNumberScheduled: number;
    numberReady: number;
    observedGeneration?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
    numberUnavailable?: number;
    collisionCount?: number;
    conditions?: Condition[];
  };
}

/** `apps/v1 ControllerRevision`: an immutable snapshot of a StatefulSet's or DaemonSet's template. */
export interface ControllerRevision extends KubeObject {
  data?: unknown;
  revision: number;
}

/** A rule of `spec.podFailurePolicy` (https://kubernetes.io/docs/concepts/workloads/controllers/job/#pod-failure-policy). */
export interface PodFailurePolicyRule {
  action: 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';
  onExitCodes?: { containerName?: string; operator: 'In' | 'NotIn'; values: number[] };
  onPodConditions?: { type: string; status?: string }[];
}

/** `batch/v1 Job` (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/job-v1/). */
export interface Job extends KubeObject {
  spec: {
    parallelism?: number;
    /** Undefined (null): a work queue, done when any pod succeeds and the rest end. */
    completions?: number | null;
    activeDeadlineSeconds?: number;
    backoffLimit?: number;
    backoffLimitPerIndex?: number;
    maxFailedIndexes?: number;
    selector?: LabelSelector;
    manualSelector?: boolean;
    template: PodTemplateSpec;
    ttlSecondsAfterFinished?: number;
    completionMode?: 'NonIndexed' | 'Indexed';
    suspend?: boolean;
    podFailurePolicy?: { rules: PodFailurePolicyRule[] };
    podReplacementPolicy?: 'TerminatingOrFailed' | 'Failed';
  };
  status?: {
    conditions?: Condition[];
    startTime?: string;
    completionTime?: string;
    active?: number;
    succeeded?: number;
    failed?: number;
    terminating?: number;
    ready?: number;
    /** Indexed Jobs: completed indexes as ranges, `1,3-5,7`. */
    completedIndexes?: string;
    failedIndexes?: string;
    uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
  };
}

/** `batch/v1 CronJob` (https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/). */
export interface CronJob extends KubeObject {
  spec: {
    schedule: string;
    timeZone?: string;
    startingDeadlineSeconds?: number;
    concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
    suspend?: boolean;
    jobTemplate: { metadata?: KubeObject['metadata']; spec: Job['spec'] };
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
  };
  status?: {
    active?: { apiVersion?: string; kind?: string; name: string; namespace?: string; uid?: string; resourceVersion?: string }[];
    lastScheduleTime?: string;
    lastSuccessfulTime?: string;
  };
}

/** `core/v1 PersistentVolumeClaim` (the fields StatefulSets use). */
export interface PersistentVolumeClaim extends KubeObject {
  spec?: { accessModes?: string[]; resources?: { requests?: ResourceList }; storageClassName?: string; volumeMode?: string; [k: string]: unknown };
  status?: { phase?: string; [k: string]: unknown };
}

/** `policy/v1 PodDisruptionBudget` (https://kubernetes.io/docs/concepts/workloads/pods/disruptions/). */
export interface PodDisruptionBudget extends KubeObject {
  spec: { minAvailable?: number | string; maxUnavailable?: number | string; selector?: LabelSelector; unhealthyPodEvictionPolicy?: 'IfHealthyBudget' | 'AlwaysAllow' };
  status?: {
    observedGeneration?: number;
    disruptedPods?: Record<string, string>;
    disruptionsAllowed: number;
    currentHealthy: number;
    desiredHealthy: number;
    expectedPods: number;
    conditions?: Condition[];
  };
}

/** `core/v1 ResourceQuota` (https://kubernetes.io/docs/concepts/policy/resource-quotas/). */
export interface ResourceQuota extends KubeObject {
  spec?: { hard?: ResourceList; scopes?: string[]; scopeSelector?: { matchExpressions?: { scopeName: string; operator: string; values?: string[] }[] } };
  status?: { hard?: ResourceList; used?: ResourceList };
}

/** One limit of a `core/v1 LimitRange` (https://kubernetes.io/docs/concepts/policy/limit-range/). */
export interface LimitRangeItem {
  type: 'Container' | 'Pod' | 'PersistentVolumeClaim' | string;
  max?: ResourceList;
  min?: ResourceList;
  default?: ResourceList;
  defaultRequest?: ResourceList;
  maxLimitRequestRatio?: ResourceList;
}

export interface LimitRange extends KubeObject {
  spec: { limits: LimitRangeItem[] };
}

/** `coordination.k8s.io/v1 Lease`. Times are RFC 3339 with microseconds. */
export interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}
