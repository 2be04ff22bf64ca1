/**
 * Defaulting for built-in kinds, as the Kubernetes API server applies it on create and update
 * (pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go and the default admission
 * plugins). Each function mutates the object in place and is idempotent.
 */
import { milliValue, value } from './quantity.js';
import type { Container, Deployment, KubeObject, Pod, PodSpec, PodTemplateSpec, ReplicaSet, ResourceRequirements } from './types.js';

/** Container defaults: pull policy from the tag, termination message, port protocol, requests from limits. */
export function defaultContainer(c: Container): void {
  if (c.imagePullPolicy === undefined && c.image !== undefined) {
    const image = c.image;
    const afterSlash = image.slice(image.lastIndexOf('/') + 1);
    const hasDigest = image.includes('@');
    const tag = afterSlash.includes(':') ? afterSlash.slice(afterSlash.indexOf(':') + 1) : '';
    c.imagePullPolicy = !hasDigest && (tag === '' || tag === 'latest') ? 'Always' : 'IfNotPresent';
  }
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  c.resources ??= {};
  defaultRequestsFromLimits(c.resources);
}

/** A limit with no matching request sets the request (SetDefaults_Pod). */
function defaultRequestsFromLimits(r: ResourceRequirements): void {
  if (!r.limits) return;
  for (const [name, q] of Object.entries(r.limits)) {
    r.requests ??= {};
    if (r.requests[name] === undefined) r.requests[name] = q;
  }
}

/** PodSpec defaults shared by Pods and pod templates. */
export function defaultPodSpec(spec: PodSpec): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  spec.serviceAccountName ??= (spec.serviceAccount as string | undefined) ?? 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const t of spec.tolerations ?? []) {
    if (t.operator === undefined) t.operator = 'Equal';
  }
  if (spec.resources) defaultRequestsFromLimits(spec.resources);
}

/**
 * The default tolerations every Pod gets from the DefaultTolerationSeconds admission plugin:
 * 300 s on `node.kubernetes.io/not-ready` and `node.kubernetes.io/unreachable`
 * (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#defaulttolerationseconds).
 */
function defaultTolerationSeconds(spec: PodSpec): void {
  spec.tolerations ??= [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    const has = spec.tolerations.some((t) => (t.key === key || (!t.key && t.operator === 'Exists')) && (t.effect === 'NoExecute' || !t.effect));
    if (!has) spec.tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
}

/**
 * A Pod's QoS class (https://kubernetes.io/docs/concepts/workloads/pods/pod-qos/): Guaranteed when
 * every container has cpu and memory limits equal to requests, BestEffort when none sets any,
 * else Burstable.
 */
export function qosClass(spec: PodSpec): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of all) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const name of ['cpu', 'memory']) {
      if (req[name] !== undefined || lim[name] !== undefined) any = true;
      const r = req[name];
      const l = lim[name];
      if (l === undefined) guaranteed = false;
      else if (r !== undefined && (name === 'cpu' ? milliValue(r) !== milliValue(l) : value(r) !== value(l))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function defaultPod(pod: Pod): void {
  pod.spec ??= { containers: [] };
  defaultPodSpec(pod.spec);
  defaultTolerationSeconds(pod.spec);
  pod.spec.priority ??= 0;
  pod.status ??= {};
  pod.status.phase ??= 'Pending';
  try {
    pod.status.qosClass ??= qosClass(pod.spec);
  } catch {
    // An invalid quantity is reported by validation, with its field path.
  }
}

function defaultTemplate(t: PodTemplateSpec | undefined): void {
  if (!t) return;
  t.metadata ??= {};
  if (t.spec) defaultPodSpec(t.spec);
}

/** apps/v1 Deployment defaults (pkg/apis/apps/v1/defaults.go). */
export function defaultDeployment(d: Deployment): void {
  d.spec ??= {} as Deployment['spec'];
  d.spec.replicas ??= 1;
  d.spec.strategy ??= {};
  d.spec.strategy.type ??= 'RollingUpdate';
  if (d.spec.strategy.type === 'RollingUpdate') {
    d.spec.strategy.rollingUpdate ??= {};
    d.spec.strategy.rollingUpdate.maxSurge ??= '25%';
    d.spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
  }
  d.spec.revisionHistoryLimit ??= 10;
  d.spec.progressDeadlineSeconds ??= 600;
  defaultTemplate(d.spec.template);
}

export function defaultReplicaSet(rs: ReplicaSet): void {
  rs.spec ??= {} as ReplicaSet['spec'];
  rs.spec.replicas ??= 1;
  defaultTemplate(rs.spec.template);
}

/** Workloads whose `spec.template` is a pod template (StatefulSet, DaemonSet, Job). */
export function defaultTemplated(obj: KubeObject): void {
  const spec = obj.spec as { template?: PodTemplateSpec } | undefined;
  defaultTemplate(spec?.template);
}

/**
 * apps/v1 StatefulSet defaults (pkg/apis/apps/v1/defaults.go SetDefaults_StatefulSet): replicas 1,
 * podManagementPolicy OrderedReady, updateStrategy RollingUpdate with partition 0,
 * revisionHistoryLimit 10, PVC retention Retain/Retain, claim templates in Filesystem mode.
 */
export function defaultStatefulSet(obj: KubeObject): void {
  const spec = (obj.spec ??= {}) as Record<string, unknown> & {
    replicas?: number;
    podManagementPolicy?: string;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
    revisionHistoryLimit?: number;
    persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string; whenScaled?: string };
    volumeClaimTemplates?: { spec?: { volumeMode?: string } }[];
  };
  spec.replicas ??= 1;
  spec.podManagementPolicy ??= 'OrderedReady';
  spec.updateStrategy ??= {};
  spec.updateStrategy.type ??= 'RollingUpdate';
  if (spec.updateStrategy.type === 'RollingUpdate') {
    spec.updateStrategy.rollingUpdate ??= {};
    spec.updateStrategy.rollingUpdate.partition ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  spec.persistentVolumeClaimRetentionPolicy ??= {};
  spec.persistentVolumeClaimRetentionPolicy.whenDeleted ??= 'Retain';
  spec.persistentVolumeClaimRetentionPolicy.whenScaled ??= 'Retain';
  for (const t of spec.volumeClaimTemplates ?? []) if (t && typeof t === 'object') (t.spec ??= {}).volumeMode ??= 'Filesystem';
  defaultTemplated(obj);
}

/**
 * apps/v1 DaemonSet defaults (SetDefaults_DaemonSet): updateStrategy RollingUpdate with
 * maxUnavailable 1 and maxSurge 0, revisionHistoryLimit 10.
 */
export function defaultDaemonSet(obj: KubeObject): void {
  const spec = (obj.spec ??= {}) as Record<string, unknown> & { updateStrategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } }; revisionHistoryLimit?: number };
  spec.updateStrategy ??= {};
  spec.updateStrategy.type ??= 'RollingUpdate';
  if (spec.updateStrategy.type === 'RollingUpdate') {
    spec.updateStrategy.rollingUpdate ??= {};
    spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
    spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  defaultTemplated(obj);
}

/** The labels a Job's pods carry (https://kubernetes.io/docs/reference/labels-annotations-taints/#batchkubernetesiojob-name). */
export const JOB_CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';

/**
 * batch/v1 Job defaults (pkg/apis/batch/v1/defaults.go SetDefaults_Job, and the Job strategy's
 * generated selector): with neither set, completions and parallelism are 1, else parallelism 1;
 * backoffLimit 6; completionMode NonIndexed; suspend false; podReplacementPolicy
 * TerminatingOrFailed (Failed with a podFailurePolicy). Unless `manualSelector` is true, the pod
 * template gets `batch.kubernetes.io/controller-uid`, `batch.kubernetes.io/job-name` and their
 * legacy forms `controller-uid`, `job-name`, and the selector is the controller-uid label
 * (https://kubernetes.io/docs/concepts/workloads/controllers/job/#specifying-your-own-pod-selector).
 * A Job without labels takes its template's.
 */
export function defaultJob(obj: KubeObject): void {
  const spec = (obj.spec ??= {}) as Record<string, unknown> & {
    completions?: number | null;
    parallelism?: number;
    backoffLimit?: number;
    backoffLimitPerIndex?: number;
    completionMode?: string;
    suspend?: boolean;
    manualSelector?: boolean;
    podFailurePolicy?: unknown;
    podReplacementPolicy?: string;
    selector?: { matchLabels?: Record<string, string> };
    template?: PodTemplateSpec;
  };
  if (spec.completions == null && spec.parallelism == null) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  if (spec.backoffLimitPerIndex === undefined) spec.backoffLimit ??= 6;
  else spec.backoffLimit ??= 2147483647;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  const uid = obj.metadata.uid;
  if (spec.manualSelector !== true && uid && spec.template && typeof spec.template === 'object') {
    const t = spec.template;
    t.metadata ??= {};
    t.metadata.labels = { ...(t.metadata.labels ?? {}), [JOB_CONTROLLER_UID_LABEL]: uid, [JOB_NAME_LABEL]: obj.metadata.name ?? '', 'controller-uid': uid, 'job-name': obj.metadata.name ?? '' };
    spec.selector ??= { matchLabels: { [JOB_CONTROLLER_UID_LABEL]: uid } };
  }
  if (spec.template?.metadata?.labels && Object.keys(obj.metadata.labels ?? {}).length === 0) obj.metadata.labels = { ...spec.template.metadata.labels };
  defaultTemplated(obj);
}

export function defaultCronJob(obj: KubeObject): void {
  const spec = obj.spec as { jobTemplate?: { spec?: { template?: PodTemplateSpec } }; concurrencyPolicy?: string; suspend?: boolean; successfulJobsHistoryLimit?: number; failedJobsHistoryLimit?: number } | undefined;
  if (!spec) return;
  spec.concurrencyPolicy ??= 'Allow';
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  defaultTemplate(spec.jobTemplate?.spec?.template);
}

export function defaultNamespace(ns: KubeObject): void {
  ns.metadata.labels ??= {};
  ns.metadata.labels['kubernetes.io/metadata.name'] = ns.metadata.name!;
  const spec = (ns.spec ??= {}) as { finalizers?: string[] };
  spec.finalizers ??= ['kubernetes'];
  const status = (ns.status ??= {}) as { phase?: string };
  status.phase ??= 'Active';
}

/** Secrets: type Opaque, and `stringData` folded into base64 `data` as the API server does. */
export function defaultSecret(s: KubeObject): void {
  s.type ??= 'Opaque';
  const stringData = s.stringData as Record<string, string> | undefined;
  if (stringData) {
    const data = (s.data ??= {}) as Record<string, string>;
    for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    delete s.stringData;
  }
}

/** Service defaults that need no allocation (the cluster IP and node ports are allocated by the API server). */
export function defaultService(svc: KubeObject): void {
  const spec = (svc.spec ??= {}) as Record<string, unknown> & { ports?: Record<string, unknown>[]; type?: string };
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  // As Kubernetes' SetDefaults_Service: no affinity config without affinity; ClientIP's timeout
  // defaults to 10,800 s (3 h).
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = ((spec.sessionAffinityConfig ??= {}) as { clientIP?: { timeoutSeconds?: number } });
    (cfg.clientIP ??= {}).timeoutSeconds ??= 10800;
  }
  if (spec.type !== 'ExternalName') {
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    spec.internalTrafficPolicy ??= 'Cluster';
  }
  if (spec.type === 'LoadBalancer' || spec.type === 'NodePort') spec.externalTrafficPolicy ??= 'Cluster';
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
  svc.status ??= { loadBalancer: {} };
}
