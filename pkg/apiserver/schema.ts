/**
 * The OpenAPI v3 schemas of the built-in kinds (`data/kubernetes/openapi-schemas.json.gz`, made
 * by `cmd/gen-kubernetes-data` from k8s.io/api's descriptors and descriptions; see
 * data/kubernetes/SOURCES.md), and a walker over them that the API server uses to serve
 * `/openapi/v3`, to find unknown fields (`fieldValidation`), and to know how lists and maps merge
 * in server-side apply (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
 * `x-kubernetes-map-type`).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** An OpenAPI v3 schema object, as JSON. */
export type Schema = Record<string, unknown>;

/** The generated.proto files berth reads (their imports come along). */
export const PROTO_FILES = [
  'k8s.io/api/core/v1/generated.proto',
  'k8s.io/api/apps/v1/generated.proto',
  'k8s.io/api/batch/v1/generated.proto',
  'k8s.io/api/autoscaling/v1/generated.proto',
  'k8s.io/api/autoscaling/v2/generated.proto',
  'k8s.io/api/policy/v1/generated.proto',
  'k8s.io/api/networking/v1/generated.proto',
  'k8s.io/api/discovery/v1/generated.proto',
  'k8s.io/api/rbac/v1/generated.proto',
  'k8s.io/api/storage/v1/generated.proto',
  'k8s.io/api/scheduling/v1/generated.proto',
  'k8s.io/api/coordination/v1/generated.proto',
  'k8s.io/api/authorization/v1/generated.proto',
  'k8s.io/api/authentication/v1/generated.proto',
  'k8s.io/metrics/pkg/apis/metrics/v1beta1/generated.proto',
  'k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto',
];

/** Kinds besides the stored resources that carry `x-kubernetes-group-version-kind`. */
export const EXTRA_KINDS = [
  { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  { group: 'policy', version: 'v1', kind: 'Eviction' },
  { group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview' },
  { group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectRulesReview' },
  { group: 'authentication.k8s.io', version: 'v1', kind: 'SelfSubjectReview' },
  { group: 'metrics.k8s.io', version: 'v1beta1', kind: 'NodeMetrics' },
  { group: 'metrics.k8s.io', version: 'v1beta1', kind: 'PodMetrics' },
  { group: 'metrics.k8s.io', version: 'v1beta1', kind: 'NodeMetricsList' },
  { group: 'metrics.k8s.io', version: 'v1beta1', kind: 'PodMetricsList' },
];

/** The OpenAPI definition name of a protobuf message: `k8s.io.api.core.v1` + `Pod` → `io.k8s.api.core.v1.Pod`. */
export function openApiName(protoPackage: string, message: string): string {
  const p = protoPackage.split('.');
  // k8s.io.api.core.v1 → io.k8s.api.core.v1 (the Go import path, reversed domain first).
  return ['io', 'k8s', ...p.slice(2), message].join('.');
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/**
 * Types whose JSON form is not their protobuf form, as kube-openapi defines them
 * (OpenAPISchemaType / OpenAPIV3OneOfTypes of each Go type).
 */
export const SPECIAL_SCHEMAS: Record<string, Schema> = {
  [`${META}.Time`]: { type: 'string', format: 'date-time', description: 'Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.  Wrappers are provided for many of the factory methods that the time package offers.' },
  [`${META}.MicroTime`]: { type: 'string', format: 'date-time', description: 'MicroTime is version of Time with microsecond level precision.' },
  [`${META}.Duration`]: { type: 'string', description: 'Duration is a wrapper around time.Duration which supports correct marshaling to YAML and JSON.' },
  [`${META}.FieldsV1`]: { type: 'object', description: "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.\n\nEach key is either a '.' representing the field itself, and will always map to an empty set, or a string representing a sub-field or item. The string will follow one of these four formats: 'f:<name>', where <name> is the name of a field in a struct, or key in a map 'v:<value>', where <value> is the exact json formatted value of a list item 'i:<index>', where <index> is position of a item in a list 'k:<keys>', where <keys> is a map of  a list item's key fields to their unique values If a key maps to an empty Fields value, the field that key represents is part of the set.\n\nThe exact format is defined in sigs.k8s.io/structured-merge-diff" },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': {
    oneOf: [{ type: 'string' }, { type: 'number' }],
    description:
      "Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.\n\nThe serialization format is:\n\n``` <quantity>        ::= <signedNumber><suffix>\n\n\t(Note that <suffix> may be empty, from the \"\" case in <decimalSI>.)\n\n<digit>           ::= 0 | 1 | ... | 9 <digits>          ::= <digit> | <digit><digits> <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits> <sign>            ::= \"+\" | \"-\" <signedNumber>    ::= <number> | <sign><number> <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI> <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei\n\n\t(International System of units; See: http://physics.nist.gov/cuu/Units/binary.html)\n\n<decimalSI>       ::= m | \"\" | k | M | G | T | P | E\n\n\t(Note that 1024 = 1Ki but 1000 = 1k; I didn't choose the capitalization.)\n\n<decimalExponent> ::= \"e\" <signedNumber> | \"E\" <signedNumber> ```",
  },
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }], description: 'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.' },
  'io.k8s.apimachinery.pkg.runtime.RawExtension': { type: 'object', description: 'RawExtension is used to hold extensions in external versions.' },
};

type Semantics = Schema;
const map = (...keys: string[]): Semantics => ({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': keys, 'x-kubernetes-patch-merge-key': keys[0], 'x-kubernetes-patch-strategy': 'merge' });
const atomic: Semantics = { 'x-kubernetes-list-type': 'atomic' };
const set: Semantics = { 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' };
const atomicStruct: Semantics = { 'x-kubernetes-map-type': 'atomic' };

/**
 * List and map semantics, keyed `<Type>.<field>` (or `<Type>` for a whole struct), from the
 * `+listType`, `+listMapKey`, `+structType=atomic` markers and `patchStrategy`/`patchMergeKey`
 * tags of k8s.io/api (core/v1/types.go, apps/v1/types.go, meta/v1/types.go). A list that is not
 * here is atomic: server-side apply replaces it whole, as Kubernetes does for unmarked lists.
 */
const LIST_SEMANTICS: Record<string, Semantics> = {
  'core.v1.PodSpec.containers': map('name'),
  'core.v1.PodSpec.initContainers': map('name'),
  'core.v1.PodSpec.ephemeralContainers': map('name'),
  'core.v1.PodSpec.imagePullSecrets': map('name'),
  'core.v1.PodSpec.hostAliases': map('ip'),
  'core.v1.PodSpec.topologySpreadConstraints': map('topologyKey', 'whenUnsatisfiable'),
  'core.v1.PodSpec.resourceClaims': map('name'),
  'core.v1.PodSpec.schedulingGates': map('name'),
  'core.v1.PodSpec.tolerations': atomic,
  'core.v1.Container.ports': map('containerPort', 'protocol'),
  'core.v1.Container.env': map('name'),
  'core.v1.Container.volumeMounts': map('mountPath'),
  'core.v1.Container.volumeDevices': map('devicePath'),
  'core.v1.EphemeralContainer.ports': map('containerPort', 'protocol'),
  'core.v1.EphemeralContainer.env': map('name'),
  'core.v1.EphemeralContainer.volumeMounts': map('mountPath'),
  'core.v1.ResourceRequirements.claims': map('name'),
  'core.v1.ServiceSpec.ports': map('port', 'protocol'),
  'core.v1.ServiceSpec.clusterIPs': atomic,
  'core.v1.ServiceSpec.ipFamilies': atomic,
  'core.v1.PodStatus.conditions': map('type'),
  'core.v1.PodStatus.podIPs': map('ip'),
  'core.v1.PodStatus.hostIPs': map('ip'),
  'core.v1.NodeStatus.conditions': map('type'),
  'core.v1.NodeStatus.addresses': map('type'),
  'core.v1.NodeSpec.podCIDRs': set,
  'core.v1.NamespaceStatus.conditions': map('type'),
  'core.v1.PersistentVolumeClaimStatus.conditions': map('type'),
  'core.v1.ServiceStatus.conditions': map('type'),
  'core.v1.ReplicationControllerStatus.conditions': map('type'),
  'core.v1.ObjectReference': atomicStruct,
  'core.v1.NodeSelector': atomicStruct,
  'core.v1.NodeSelectorTerm': atomicStruct,
  'apps.v1.DeploymentStatus.conditions': map('type'),
  'apps.v1.ReplicaSetStatus.conditions': map('type'),
  'apps.v1.StatefulSetStatus.conditions': map('type'),
  'apps.v1.DaemonSetStatus.conditions': map('type'),
  'policy.v1.PodDisruptionBudgetStatus.conditions': map('type'),
  'autoscaling.v2.HorizontalPodAutoscalerStatus.conditions': map('type'),
  // Fields whose patches name the keys they keep (patchStrategy:"retainKeys"), so switching a
  // Deployment's strategy type or a volume's source drops the old one's fields.
  'apps.v1.DeploymentSpec.strategy': { 'x-kubernetes-patch-strategy': 'retainKeys' },
  'core.v1.PodSpec.volumes': { ...map('name'), 'x-kubernetes-patch-strategy': 'merge,retainKeys' },
  'meta.v1.ObjectMeta.finalizers': set,
  'meta.v1.ObjectMeta.ownerReferences': map('uid'),
  'meta.v1.LabelSelector': atomicStruct,
  'meta.v1.OwnerReference': atomicStruct,
};

/** The semantics of `<definition>.<field>` (or of the definition itself when `field` is undefined). */
export function listSemantics(definition: string, field: string | undefined): Semantics | undefined {
  const short = definition.replace(/^io\.k8s\.(api\.|apimachinery\.pkg\.apis\.)/, '');
  return LIST_SEMANTICS[field === undefined ? short : `${short}.${field}`];
}

const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../data/kubernetes');

let loaded: Record<string, Schema> | undefined;
let omitEmptyByDefinition: Map<string, Set<string>> | undefined;

/** Every built-in definition by OpenAPI name (loaded once, on first use). */
export function builtinSchemas(): Record<string, Schema> {
  if (!loaded) {
    const doc = JSON.parse(gunzipSync(readFileSync(join(DATA, 'openapi-schemas.json.gz'))).toString('utf8')) as { schemas: Record<string, Schema>; omitEmpty?: Record<string, string[]> };
    loaded = doc.schemas;
    omitEmptyByDefinition = new Map(Object.entries(doc.omitEmpty ?? {}).map(([k, v]) => [k, new Set(v)]));
  }
  return loaded;
}

/**
 * Drops the zero values (`0`, `""`) of `status` fields that Go's JSON encoding leaves out
 * (`omitempty` on a non-pointer field, e.g. DeploymentStatus.unavailableReplicas), so a stored
 * object reads as Kubernetes would serve it. The fields come from the Go struct tags (see
 * data/kubernetes/SOURCES.md); kinds without a built-in schema are left alone. Changes `obj`.
 */
export function omitEmptyStatus(obj: object, node: SchemaNode): void {
  const o = obj as { status?: unknown };
  if (node.unknown || o.status === undefined) return;
  builtinSchemas();
  const walk = (v: unknown, n: SchemaNode | undefined): void => {
    if (!n || n.unknown || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      if (n.shape === 'list') for (const item of v) walk(item, n.items);
      return;
    }
    if (n.shape !== 'struct') return;
    const rec = v as Record<string, unknown>;
    const omit = omitEmptyByDefinition!.get(n.definitionName ?? '');
    for (const [k, x] of Object.entries(rec)) {
      if (omit?.has(k) && (x === 0 || x === '')) delete rec[k];
      else if (x !== null && typeof x === 'object') walk(x, n.field(k));
    }
  };
  walk(o.status, node.field('status'));
}

const kindIndex = new Map<string, string>();

/** The definition name of a kind (`apps`, `v1`, `Deployment` → `io.k8s.api.apps.v1.Deployment`), if berth has its schema. */
export function definitionOf(group: string, version: string, kind: string): string | undefined {
  const schemas = builtinSchemas();
  if (!kindIndex.size) {
    for (const [name, s] of Object.entries(schemas)) {
      for (const gvk of (s['x-kubernetes-group-version-kind'] as { group: string; version: string; kind: string }[] | undefined) ?? []) {
        kindIndex.set(`${gvk.group}/${gvk.version}/${gvk.kind}`, name);
      }
    }
  }
  return kindIndex.get(`${group}/${version}/${kind}`);
}

/**
 * A position in a schema, for walking an object alongside it. `resolve` follows `$ref` and
 * `allOf: [{$ref}]`; a node whose schema is unknown (`schema` undefined) accepts anything.
 */
export class SchemaNode {
  constructor(
    readonly schema: Schema | undefined,
    private readonly defs: Record<string, Schema>,
    /** The semantics that the field holding this node declares (`x-kubernetes-list-type` …). */
    private readonly fieldSemantics: Schema = {},
  ) {}

  /** A node for a named definition, or an unknown node when it does not exist. */
  static forDefinition(defs: Record<string, Schema>, name: string | undefined): SchemaNode {
    return new SchemaNode(name ? defs[name] : undefined, defs);
  }

  // Memoised: a resource's root node is cached (schemaNodeFor), so its whole tree is built once
  // and every write walks it without allocating.
  private resolvedCache: Schema | undefined | null = null;
  private unknownCache: boolean | undefined;
  private shapeCache: 'struct' | 'map' | 'list' | 'scalar' | 'unknown' | undefined;
  private children: Map<string, SchemaNode | undefined> | undefined;
  private itemsCache: SchemaNode | undefined;
  private definitionCache: string | undefined | null = null;

  private resolved(): Schema | undefined {
    if (this.resolvedCache !== null) return this.resolvedCache;
    let s = this.schema;
    for (let i = 0; s && i < 8; i++) {
      const ref = (s.$ref as string | undefined) ?? ((s.allOf as Schema[] | undefined)?.[0]?.$ref as string | undefined);
      if (!ref) break;
      s = this.defs[ref.replace('#/components/schemas/', '')];
    }
    this.resolvedCache = s;
    return s;
  }

  /** The schema after following `$ref`s (undefined when unknown). */
  get resolvedSchema(): Schema | undefined {
    return this.resolved();
  }

  /** The definition this node refers to (`io.k8s.api.core.v1.Container`), if it is a `$ref`. */
  get definitionName(): string | undefined {
    if (this.definitionCache === null) {
      const ref = (this.schema?.$ref as string | undefined) ?? ((this.schema?.allOf as Schema[] | undefined)?.[0]?.$ref as string | undefined);
      this.definitionCache = ref?.replace('#/components/schemas/', '');
    }
    return this.definitionCache;
  }

  /** True if nothing is known about this node (any value is accepted, lists are atomic). */
  get unknown(): boolean {
    if (this.unknownCache === undefined) {
      const s = this.resolved();
      this.unknownCache = !s || s['x-kubernetes-preserve-unknown-fields'] === true || (s.type === 'object' && !s.properties && !s.additionalProperties);
    }
    return this.unknownCache;
  }

  /** `struct` (named properties), `map` (additionalProperties), `list`, or `scalar`. */
  get shape(): 'struct' | 'map' | 'list' | 'scalar' | 'unknown' {
    if (this.shapeCache) return this.shapeCache;
    const s = this.resolved();
    this.shapeCache = !s || this.unknown ? 'unknown' : s.type === 'array' ? 'list' : s.properties ? 'struct' : s.additionalProperties ? 'map' : 'scalar';
    return this.shapeCache;
  }

  /** The child node for a struct field or map entry; undefined for a field a struct does not declare. */
  field(name: string): SchemaNode | undefined {
    // Map entries (and anything under an unknown node) share one node; struct fields get one
    // each. A name a struct does not declare is not remembered (clients choose those).
    const key = this.shape === 'struct' ? name : '';
    this.children ??= new Map();
    const cached = this.children.get(key);
    if (cached) return cached;
    const n = this.childNode(name);
    if (n) this.children.set(key, n);
    return n;
  }

  private childNode(name: string): SchemaNode | undefined {
    const s = this.resolved();
    if (!s || this.unknown) return new SchemaNode(undefined, this.defs);
    const props = s.properties as Record<string, Schema> | undefined;
    if (props) {
      const p = props[name];
      if (!p) return undefined;
      return new SchemaNode(p, this.defs, p);
    }
    const ap = s.additionalProperties;
    if (ap && typeof ap === 'object') return new SchemaNode(ap as Schema, this.defs, ap as Schema);
    return ap === true ? new SchemaNode(undefined, this.defs) : undefined;
  }

  /** The node of a list's items. */
  get items(): SchemaNode {
    if (!this.itemsCache) {
      const it = this.resolved()?.items as Schema | undefined;
      this.itemsCache = new SchemaNode(it, this.defs, it ?? {});
    }
    return this.itemsCache;
  }

  /** `atomic`, `set` or `map` (keyed by `listMapKeys`); atomic when not declared. */
  get listType(): 'atomic' | 'set' | 'map' {
    const t = (this.fieldSemantics['x-kubernetes-list-type'] ?? this.resolved()?.['x-kubernetes-list-type']) as string | undefined;
    return t === 'set' || t === 'map' ? t : 'atomic';
  }

  get listMapKeys(): string[] {
    return ((this.fieldSemantics['x-kubernetes-list-map-keys'] ?? this.resolved()?.['x-kubernetes-list-map-keys']) as string[] | undefined) ?? [];
  }

  /** True for a struct or map that server-side apply treats as one value (`x-kubernetes-map-type: atomic`). */
  get atomicMap(): boolean {
    return (this.fieldSemantics['x-kubernetes-map-type'] ?? this.resolved()?.['x-kubernetes-map-type']) === 'atomic';
  }
}

const nodeCache = new WeakMap<object, SchemaNode>();

/** The schema of a served kind (an unknown node for kinds without a built-in schema), cached per resource. */
export function schemaNodeFor(r: { group: string; version: string; kind: string }): SchemaNode {
  let n = nodeCache.get(r);
  if (!n) {
    const def = definitionOf(r.group, r.version, r.kind);
    n = SchemaNode.forDefinition(def ? builtinSchemas() : {}, def);
    nodeCache.set(r, n);
  }
  return n;
}
