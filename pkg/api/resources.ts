/**
 * The resource catalogue: which kinds the API serves, under which group, version and plural
 * name, with what scope, short names and categories. Built-in Kubernetes kinds mirror
 * `kubectl api-resources` of Kubernetes 1.32. berth's own kinds (`<service>.berth.dev/v1`) are
 * added by the component that owns them (`api.registry.add(defineResource(…))`), and
 * CustomResourceDefinitions add entries at run time.
 */

import type { KubeObject } from './types.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export const ALL_VERBS: Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** A served resource (one group/version/resource). */
export interface ResourceInfo {
  /** `""` for the core group. */
  group: string;
  version: string;
  /** Plural, lower case: `deployments`. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: Verb[];
  /** Subresources served beside the object: `status`, `scale`, `log`, `binding`, `eviction`. */
  subresources: string[];
  /**
   * Field paths allowed in `fieldSelector` besides `metadata.name` and `metadata.namespace`
   * (Kubernetes answers 400 `field label not supported` for any other).
   */
  selectableFields: string[];
  /** Set for resources defined by a CustomResourceDefinition. */
  crd?: string;
  /** True if only the server writes it (berth's instance-type catalogue). */
  readOnly?: boolean;
  /** True if `metadata.generation` moves on spec changes (everything with a spec but Pods' own rule). */
  hasGeneration?: boolean;
  /** Where the `scale` subresource reads and writes, as a CRD's `subresources.scale` says it. */
  scale?: ScalePaths;
  /** True if the API server computes it on request (metrics, access reviews): nothing is stored. */
  virtual?: boolean;
  /**
   * For a kind served in several versions with different schemas (`autoscaling/v1` and `v2`
   * HorizontalPodAutoscaler): objects are stored in one version and converted on the way in and
   * out. Both functions return a new object and leave their argument alone.
   */
  conversion?: ResourceConversion;
}

/** Converts one served version of a kind to and from the version it is stored in. */
export interface ResourceConversion {
  /** The body as written through this version → the stored form. */
  toStorage(obj: KubeObject): KubeObject;
  /** The stored form → this version (objects already in this version come back as they are). */
  fromStorage(obj: KubeObject): KubeObject;
}

/** JSON paths (`.spec.replicas`) of the scale subresource; the selector may be a LabelSelector or a string. */
export interface ScalePaths {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/** The scale paths of the replicated workload kinds. */
export const REPLICAS: ScalePaths = { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.spec.selector' };

/** `apps/v1`, or `v1` for the core group. */
export function groupVersion(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Splits an apiVersion: `apps/v1` → {group: 'apps', version: 'v1'}, `v1` → {group: '', version: 'v1'}. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** How a component declares a kind: `defineResource({ gv: 'ec2.berth.dev/v1', resource: 'instances', kind: 'Instance', ns: false, … })`. */
export interface ResourceSpec {
  gv: string;
  resource: string;
  kind: string;
  ns: boolean;
  short?: string[];
  cat?: string[];
  sub?: string[];
  fields?: string[];
  verbs?: Verb[];
  singular?: string;
  readOnly?: boolean;
  generation?: boolean;
  scale?: ScalePaths;
}

/** Builds a ResourceInfo from a compact spec (short names, categories, subresources, selectable fields). */
export function defineResource(s: ResourceSpec): ResourceInfo {
  const { group, version } = parseApiVersion(s.gv);
  return {
    group,
    version,
    resource: s.resource,
    singular: s.singular ?? s.kind.toLowerCase(),
    kind: s.kind,
    listKind: `${s.kind}List`,
    namespaced: s.ns,
    shortNames: s.short ?? [],
    categories: s.cat ?? [],
    verbs: s.verbs ?? ALL_VERBS,
    subresources: s.sub ?? [],
    selectableFields: s.fields ?? [],
    ...(s.readOnly ? { readOnly: true } : {}),
    ...(s.generation ? { hasGeneration: true } : {}),
    ...(s.scale ? { scale: s.scale } : {}),
  };
}

const ALL = ['all'];
const POD_FIELDS = ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'];
const EVENT_FIELDS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

/** Every built-in Kubernetes kind berth serves. */
export const BUILTIN_RESOURCES: ResourceInfo[] = [
  defineResource({ gv: 'v1', resource: 'namespaces', kind: 'Namespace', ns: false, short: ['ns'], sub: ['status', 'finalize'], fields: ['status.phase'] }),
  defineResource({ gv: 'v1', resource: 'pods', kind: 'Pod', ns: true, short: ['po'], cat: ALL, sub: ['status', 'log', 'binding', 'exec', 'attach', 'portforward', 'eviction'], fields: POD_FIELDS }),
  defineResource({ gv: 'v1', resource: 'nodes', kind: 'Node', ns: false, short: ['no'], sub: ['status'], fields: ['spec.unschedulable'] }),
  defineResource({ gv: 'v1', resource: 'services', kind: 'Service', ns: true, short: ['svc'], cat: ALL, sub: ['status'], fields: ['spec.clusterIP', 'spec.type'] }),
  defineResource({ gv: 'v1', resource: 'endpoints', kind: 'Endpoints', ns: true, short: ['ep'], singular: 'endpoints' }),
  defineResource({ gv: 'v1', resource: 'configmaps', kind: 'ConfigMap', ns: true, short: ['cm'] }),
  defineResource({ gv: 'v1', resource: 'secrets', kind: 'Secret', ns: true, fields: ['type'] }),
  defineResource({ gv: 'v1', resource: 'events', kind: 'Event', ns: true, short: ['ev'], fields: EVENT_FIELDS }),
  defineResource({ gv: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', ns: true, short: ['sa'] }),
  defineResource({ gv: 'v1', resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', ns: true, short: ['pvc'], sub: ['status'] }),
  defineResource({ gv: 'v1', resource: 'persistentvolumes', kind: 'PersistentVolume', ns: false, short: ['pv'], sub: ['status'] }),
  defineResource({ gv: 'v1', resource: 'limitranges', kind: 'LimitRange', ns: true, short: ['limits'] }),
  defineResource({ gv: 'v1', resource: 'resourcequotas', kind: 'ResourceQuota', ns: true, short: ['quota'], sub: ['status'] }),
  defineResource({ gv: 'v1', resource: 'replicationcontrollers', kind: 'ReplicationController', scale: REPLICAS, ns: true, short: ['rc'], cat: ALL, sub: ['status', 'scale'], generation: true }),
  defineResource({ gv: 'v1', resource: 'podtemplates', kind: 'PodTemplate', ns: true }),
  defineResource({ gv: 'apps/v1', resource: 'deployments', kind: 'Deployment', scale: REPLICAS, ns: true, short: ['deploy'], cat: ALL, sub: ['status', 'scale'], generation: true }),
  defineResource({ gv: 'apps/v1', resource: 'replicasets', kind: 'ReplicaSet', scale: REPLICAS, ns: true, short: ['rs'], cat: ALL, sub: ['status', 'scale'], generation: true }),
  defineResource({ gv: 'apps/v1', resource: 'statefulsets', kind: 'StatefulSet', scale: REPLICAS, ns: true, short: ['sts'], cat: ALL, sub: ['status', 'scale'], generation: true }),
  defineResource({ gv: 'apps/v1', resource: 'daemonsets', kind: 'DaemonSet', ns: true, short: ['ds'], cat: ALL, sub: ['status'], generation: true }),
  defineResource({ gv: 'apps/v1', resource: 'controllerrevisions', kind: 'ControllerRevision', ns: true }),
  defineResource({ gv: 'batch/v1', resource: 'jobs', kind: 'Job', ns: true, cat: ALL, sub: ['status'], generation: true }),
  defineResource({ gv: 'batch/v1', resource: 'cronjobs', kind: 'CronJob', ns: true, short: ['cj'], cat: ALL, sub: ['status'], generation: true }),
  defineResource({ gv: 'autoscaling/v2', resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', ns: true, short: ['hpa'], cat: ALL, sub: ['status'], generation: true }),
  defineResource({ gv: 'policy/v1', resource: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', ns: true, short: ['pdb'], sub: ['status'], generation: true }),
  defineResource({ gv: 'networking.k8s.io/v1', resource: 'ingresses', kind: 'Ingress', ns: true, short: ['ing'], sub: ['status'], generation: true }),
  defineResource({ gv: 'networking.k8s.io/v1', resource: 'ingressclasses', kind: 'IngressClass', ns: false }),
  defineResource({ gv: 'networking.k8s.io/v1', resource: 'networkpolicies', kind: 'NetworkPolicy', ns: true, short: ['netpol'], generation: true }),
  defineResource({ gv: 'discovery.k8s.io/v1', resource: 'endpointslices', kind: 'EndpointSlice', ns: true }),
  defineResource({ gv: 'rbac.authorization.k8s.io/v1', resource: 'roles', kind: 'Role', ns: true }),
  defineResource({ gv: 'rbac.authorization.k8s.io/v1', resource: 'rolebindings', kind: 'RoleBinding', ns: true }),
  defineResource({ gv: 'rbac.authorization.k8s.io/v1', resource: 'clusterroles', kind: 'ClusterRole', ns: false }),
  defineResource({ gv: 'rbac.authorization.k8s.io/v1', resource: 'clusterrolebindings', kind: 'ClusterRoleBinding', ns: false }),
  defineResource({ gv: 'storage.k8s.io/v1', resource: 'storageclasses', kind: 'StorageClass', ns: false, short: ['sc'] }),
  defineResource({ gv: 'scheduling.k8s.io/v1', resource: 'priorityclasses', kind: 'PriorityClass', ns: false, short: ['pc'] }),
  defineResource({ gv: 'coordination.k8s.io/v1', resource: 'leases', kind: 'Lease', ns: true }),
  defineResource({ gv: 'apiextensions.k8s.io/v1', resource: 'customresourcedefinitions', kind: 'CustomResourceDefinition', ns: false, short: ['crd', 'crds'], sub: ['status'], generation: true }),
];

/** Thrown when no served resource matches a kind or name. */
export class UnknownResourceError extends Error {
  readonly code = 'UnknownResource';
  constructor(message: string) {
    super(message);
    this.name = 'UnknownResourceError';
  }
}

/**
 * The set of served resources, indexed three ways. Mutable: CRDs are added and removed while
 * the server runs; `onChange` listeners (discovery) hear about it.
 */
export class ResourceRegistry {
  private readonly byGvr = new Map<string, ResourceInfo>();
  private readonly byGvk = new Map<string, ResourceInfo>();
  private readonly listeners = new Set<() => void>();

  constructor(resources: ResourceInfo[] = BUILTIN_RESOURCES) {
    for (const r of resources) this.add(r);
  }

  add(r: ResourceInfo): void {
    this.byGvr.set(`${r.group}/${r.version}/${r.resource}`, r);
    this.byGvk.set(`${groupVersion(r)}/${r.kind}`, r);
    for (const l of this.listeners) l();
  }

  remove(r: Pick<ResourceInfo, 'group' | 'version' | 'resource' | 'kind'>): void {
    this.byGvr.delete(`${r.group}/${r.version}/${r.resource}`);
    this.byGvk.delete(`${groupVersion(r)}/${r.kind}`);
    for (const l of this.listeners) l();
  }

  /** Calls `fn` whenever the set changes; returns the unsubscribe function. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get(group: string, version: string, resource: string): ResourceInfo | undefined {
    return this.byGvr.get(`${group}/${version}/${resource}`);
  }

  /** By apiVersion and kind (`apps/v1`, `Deployment`). */
  forKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    return this.byGvk.get(`${apiVersion}/${kind}`);
  }

  /** Every served resource, in registration order. */
  all(): ResourceInfo[] {
    return [...this.byGvr.values()];
  }

  /** Group → versions, in registration order (the first is the preferred version). */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const r of this.byGvr.values()) {
      const vs = out.get(r.group) ?? [];
      if (!vs.includes(r.version)) vs.push(r.version);
      out.set(r.group, vs);
    }
    return out;
  }

  /**
   * Resolves what a user typed (`po`, `pods`, `pod`, `deployments.apps`, `Deployment`,
   * `deploy.v1.apps`) as kubectl does. Throws UnknownResourceError.
   */
  resolve(name: string): ResourceInfo {
    const lower = name.toLowerCase();
    const [first, ...rest] = lower.split('.');
    const qualifier = rest.join('.');
    const candidates = this.all().filter((r) => {
      const names = [r.resource, r.singular, r.kind.toLowerCase(), ...r.shortNames];
      if (!names.includes(first!)) return false;
      if (!qualifier) return true;
      return qualifier === r.group || qualifier === `${r.version}.${r.group}` || (r.group === '' && qualifier === r.version);
    });
    if (candidates.length === 0) throw new UnknownResourceError(`the server doesn't have a resource type "${name}"`);
    // Prefer the core and built-in groups, as kubectl's priority RESTMapper does.
    candidates.sort((a, b) => rank(a) - rank(b));
    return candidates[0]!;
  }

  /** Resources in a category (`all`). */
  category(name: string): ResourceInfo[] {
    return this.all().filter((r) => r.categories.includes(name));
  }
}

function rank(r: ResourceInfo): number {
  if (r.group === '') return 0;
  if (!r.group.includes('.') || r.group.endsWith('.k8s.io')) return 1;
  if (r.crd) return 3;
  return 2;
}

/** The storage key prefix of a resource: `/registry/apps/deployments/`. */
export function resourcePrefix(r: Pick<ResourceInfo, 'group' | 'resource'>): string {
  return `/registry/${r.group || 'core'}/${r.resource}/`;
}

/** The storage key of one object: `/registry/apps/deployments/default/web`, `/registry/core/nodes/n1`. */
export function objectKey(r: Pick<ResourceInfo, 'group' | 'resource' | 'namespaced'>, namespace: string | undefined, name: string): string {
  return r.namespaced ? `${resourcePrefix(r)}${namespace}/${name}` : `${resourcePrefix(r)}${name}`;
}
