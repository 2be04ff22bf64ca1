/**
 * Pod classes: the scheduling-relevant facts of a pod, worked out once and shared by every pod
 * that has the same ones (the replicas of one template). Filters and scores are compiled per class,
 * not per pod, and the cluster state counts placed pods per class and node — which is what lets
 * berth place a million replicas without a million objects.
 *
 * Two pods share a class when they agree on everything a plugin may read: namespace, labels,
 * effective requests, host ports, node selector and affinity, tolerations, topology spread
 * constraints, priority, preemption policy, scheduler name, `spec.nodeName`, and whether they are
 * being deleted. Names, uids and status do not matter.
 */
import { SelectorError, selectorFromLabelSelector, type Requirement, Selector } from '../../api/labels.js';
import type { LabelSelector, Pod } from '../../api/types.js';
import { nonZeroRequests, podRequests, type ResourceAmounts } from './resources.js';

/**
 * Pod annotations a scheduler plugin reads (ECS placement, pkg/ecs/placement): part of a class's
 * key, so pods that differ in them never share a class, and batch placement never groups them
 * with other classes.
 */
export const SCHEDULING_ANNOTATIONS: readonly string[] = ['ecs.berth.dev/placement-strategy', 'ecs.berth.dev/placement-constraints'];

/** The label every Node carries with its own name; node classes leave it out (see cluster.ts). */
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/** `v1.PodAffinityTerm` as berth reads it (plus `weight` for preferred terms). */
export interface PodAffinityTermSpec {
  labelSelector?: LabelSelector | null;
  namespaces?: string[];
  namespaceSelector?: LabelSelector | null;
  topologyKey: string;
  matchLabelKeys?: string[];
  mismatchLabelKeys?: string[];
}

/**
 * A compiled pod (anti-)affinity term (kube-scheduler's `framework.AffinityTerm`): which pods it
 * selects and over which topology. Namespaces follow `GetNamespacesFromPodAffinityTerm`: the
 * term's `namespaces`, or the pod's own namespace when neither `namespaces` nor
 * `namespaceSelector` is given; `namespaceSelector: {}` selects every namespace.
 */
export interface AffinityTerm {
  readonly selector: Selector;
  readonly namespaces: ReadonlySet<string>;
  /** Null when the term has no namespaceSelector. */
  readonly namespaceSelector: Selector | null;
  readonly topologyKey: string;
  /** 1..100 for preferred terms; 1 for required ones. */
  readonly weight: number;
  /** The class whose pods carry the term. */
  readonly owner: PodClass;
}

/** A host port a pod takes on its node (`containers[].ports[].hostPort`), as NodePorts compares them. */
export interface HostPort {
  readonly protocol: string;
  readonly port: number;
  /** `0.0.0.0` for all addresses (an empty hostIP). */
  readonly ip: string;
}

/** A topology spread constraint as written (`v1.TopologySpreadConstraint`). */
export interface TopologySpreadConstraintSpec {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  labelSelector?: LabelSelector | null;
  minDomains?: number;
  nodeAffinityPolicy?: 'Honor' | 'Ignore';
  nodeTaintsPolicy?: 'Honor' | 'Ignore';
  matchLabelKeys?: string[];
}

/** Namespace labels by name, for `namespaceSelector` (undefined: a namespace berth has not seen). */
export type NamespaceLabels = (namespace: string) => Readonly<Record<string, string>> | undefined;

export class PodClass {
  /** Unique within its table, in creation order (a stable tie-breaker). */
  readonly id: number;
  readonly key: string;
  /** The part of the key static (node-class) filters read: node selector, node affinity, tolerations, node name. */
  readonly staticKey: string;
  /** A pod of the class (the first one seen); plugins read its spec. */
  readonly pod: Pod;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `podRequests`: millicores, bytes, counts. */
  readonly requests: Readonly<ResourceAmounts>;
  /** Scoring cpu (millicores) and memory (bytes), with the 100m / 200Mi defaults (`nonZeroRequests`). */
  readonly nonZeroCpu: number;
  readonly nonZeroMemory: number;
  /** The requests the cluster state keeps columns for: millicores, bytes, bytes. */
  readonly cpu: number;
  readonly memory: number;
  readonly ephemeralStorage: number;
  /** Every other requested resource (extended resources such as `nvidia.com/gpu`, hugepages), amount > 0. */
  readonly extended: readonly (readonly [string, number])[];
  readonly priority: number;
  readonly preemptionPolicy: string;
  /** Being deleted: topology spread does not count it. */
  readonly terminating: boolean;
  readonly hostPorts: readonly HostPort[];
  readonly requiredAffinity: readonly AffinityTerm[];
  readonly requiredAntiAffinity: readonly AffinityTerm[];
  readonly preferredAffinity: readonly AffinityTerm[];
  readonly preferredAntiAffinity: readonly AffinityTerm[];
  /** The selectors of its topology spread constraints (pods they count are in its namespace). */
  readonly spreadSelectors: readonly Selector[];
  /** Why the pod cannot be scheduled at all (a malformed selector), if so. */
  readonly error: string | undefined;
  /** True if the pod carries one of SCHEDULING_ANNOTATIONS (a plugin reads its annotations). */
  readonly hasSchedulingAnnotations: boolean;
  /** Pods of the class placed on each node (node index → count), kept by the cluster state. */
  readonly placed = new Map<number, number>();
  /** Pods the table counts for the class (placed and pending); the table forgets it at zero. */
  refs = 0;

  constructor(id: number, key: string, staticKey: string, pod: Pod) {
    this.id = id;
    this.key = key;
    this.staticKey = staticKey;
    this.pod = pod;
    this.namespace = pod.metadata.namespace ?? 'default';
    this.labels = pod.metadata.labels ?? {};
    this.requests = podRequests(pod);
    const nz = nonZeroRequests(pod);
    this.nonZeroCpu = nz.cpu;
    this.nonZeroMemory = nz.memory;
    this.cpu = this.requests.cpu ?? 0;
    this.memory = this.requests.memory ?? 0;
    this.ephemeralStorage = this.requests['ephemeral-storage'] ?? 0;
    const extended = Object.entries(this.requests).filter(([k, v]) => v > 0 && k !== 'cpu' && k !== 'memory' && k !== 'ephemeral-storage' && k !== 'pods');
    this.extended = extended.length ? extended : NONE;
    this.priority = pod.spec.priority ?? 0;
    this.preemptionPolicy = (pod.spec.preemptionPolicy as string | undefined) ?? 'PreemptLowerPriority';
    this.terminating = !!pod.metadata.deletionTimestamp;
    this.hostPorts = hostPortsOf(pod);
    const ann = pod.metadata.annotations;
    this.hasSchedulingAnnotations = !!ann && SCHEDULING_ANNOTATIONS.some((k) => ann[k] !== undefined);
    let error: string | undefined;
    const terms = (list: unknown, weighted: boolean): readonly AffinityTerm[] => {
      if (!Array.isArray(list) || list.length === 0) return NONE;
      const out: AffinityTerm[] = [];
      for (const raw of list as unknown[]) {
        const w = weighted ? (raw as { weight?: number; podAffinityTerm?: PodAffinityTermSpec }) : undefined;
        const spec = (weighted ? w!.podAffinityTerm : raw) as PodAffinityTermSpec | undefined;
        if (!spec) continue;
        try {
          out.push(compileAffinityTerm(this, spec, weighted ? (w!.weight ?? 0) : 1));
        } catch (e) {
          if (!(e instanceof SelectorError)) throw e;
          error ??= `invalid pod affinity term: ${e.message}`;
        }
      }
      return out;
    };
    const aff = pod.spec.affinity?.podAffinity as Record<string, unknown> | undefined;
    const anti = pod.spec.affinity?.podAntiAffinity as Record<string, unknown> | undefined;
    this.requiredAffinity = terms(aff?.requiredDuringSchedulingIgnoredDuringExecution, false);
    this.requiredAntiAffinity = terms(anti?.requiredDuringSchedulingIgnoredDuringExecution, false);
    const weighed = (list: readonly AffinityTerm[]): readonly AffinityTerm[] => (list.length ? list.filter((t) => t.weight !== 0) : NONE);
    this.preferredAffinity = weighed(terms(aff?.preferredDuringSchedulingIgnoredDuringExecution, true));
    this.preferredAntiAffinity = weighed(terms(anti?.preferredDuringSchedulingIgnoredDuringExecution, true));
    const spread: Selector[] = [];
    for (const c of this.topologySpreadConstraints) {
      try {
        let sel = selectorFromLabelSelector(c.labelSelector ?? undefined);
        const extra: Requirement[] = [];
        for (const k of c.matchLabelKeys ?? []) if (k in this.labels) extra.push({ key: k, operator: 'In', values: [this.labels[k]!] });
        if (extra.length && !sel.nothing) sel = new Selector([...extra, ...sel.requirements]);
        spread.push(sel);
      } catch (e) {
        if (!(e instanceof SelectorError)) throw e;
        error ??= `invalid topology spread constraint: ${e.message}`;
      }
    }
    this.spreadSelectors = spread.length ? spread : NONE;
    this.error = error;
  }

  /** True if the class carries inter-pod terms or topology spread constraints: its own labels then matter to its own placement. */
  get hasPodConstraints(): boolean {
    return this.requiredAffinity.length + this.requiredAntiAffinity.length + this.preferredAffinity.length + this.preferredAntiAffinity.length + this.spreadSelectors.length > 0;
  }

  /** The pod's topology spread constraints as written (validated by the plugin that reads them). */
  get topologySpreadConstraints(): readonly TopologySpreadConstraintSpec[] {
    return (this.pod.spec.topologySpreadConstraints as TopologySpreadConstraintSpec[] | undefined) ?? [];
  }

  /** Pods of this class counted on node `i`. */
  countOn(i: number): number {
    return this.placed.get(i) ?? 0;
  }
}

function hostPortsOf(pod: Pod): readonly HostPort[] {
  let out: HostPort[] | undefined;
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      (out ??= []).push({ protocol: p.protocol ?? 'TCP', port: p.hostPort, ip: p.hostIP && p.hostIP !== '' ? p.hostIP : '0.0.0.0' });
    }
  }
  return out ?? NONE;
}

/**
 * Compiles a term of `owner`'s pods. `matchLabelKeys` adds `key in (owner's value)` and
 * `mismatchLabelKeys` adds `key notin (owner's value)` for keys the owner carries
 * (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#matchlabelkeys).
 * Throws SelectorError for a malformed selector.
 */
export function compileAffinityTerm(owner: PodClass, spec: PodAffinityTermSpec, weight: number): AffinityTerm {
  let selector = selectorFromLabelSelector(spec.labelSelector ?? undefined);
  const extra: Requirement[] = [];
  for (const k of spec.matchLabelKeys ?? []) if (k in owner.labels) extra.push({ key: k, operator: 'In', values: [owner.labels[k]!] });
  for (const k of spec.mismatchLabelKeys ?? []) if (k in owner.labels) extra.push({ key: k, operator: 'NotIn', values: [owner.labels[k]!] });
  if (extra.length && !selector.nothing) selector = new Selector([...selector.requirements, ...extra]);
  const hasNsSelector = spec.namespaceSelector !== undefined && spec.namespaceSelector !== null;
  const namespaces = new Set(spec.namespaces ?? []);
  if (namespaces.size === 0 && !hasNsSelector) namespaces.add(owner.namespace);
  return {
    selector,
    namespaces,
    namespaceSelector: hasNsSelector ? selectorFromLabelSelector(spec.namespaceSelector!) : null,
    topologyKey: spec.topologyKey,
    weight,
    owner,
  };
}

/** True if pods of class `c` fall under `term` (`PodMatchesTermsNamespaceAndSelector`). */
export function termMatches(term: AffinityTerm, c: PodClass, nsLabels: NamespaceLabels): boolean {
  if (!term.namespaces.has(c.namespace)) {
    if (!term.namespaceSelector) return false;
    if (!term.namespaceSelector.matches(nsLabels(c.namespace) ?? {})) return false;
  }
  return term.selector.matches(c.labels);
}

/**
 * The keys two pods must share to share a class: `[key, staticKey]`. Plain JSON of the relevant
 * fields, in their written order: replicas copied from one template serialize identically; two
 * equal specs written in different key orders merely get two classes, which is harmless. The key
 * holds the static fields too, written once into one flat string (no concatenation to flatten).
 */
export function classKeys(pod: Pod): [string, string] {
  const s = pod.spec;
  const stat = [s.nodeName ?? null, s.nodeSelector ?? null, s.affinity?.nodeAffinity ?? null, s.tolerations ?? null];
  const containers = (s.containers ?? []).map((c) => [c.resources?.requests ?? null, c.ports?.some((p) => p.hostPort) ? c.ports.filter((p) => p.hostPort).map((p) => [p.hostPort, p.protocol ?? 'TCP', p.hostIP ?? '']) : null]);
  const inits = s.initContainers?.length ? s.initContainers.map((c) => [c.resources?.requests ?? null, c.restartPolicy ?? null]) : null;
  const key = JSON.stringify([
    stat,
    pod.metadata.namespace ?? 'default',
    pod.metadata.labels ?? null,
    containers,
    inits,
    s.overhead ?? null,
    s.resources?.requests ?? null,
    s.affinity?.podAffinity ?? null,
    s.affinity?.podAntiAffinity ?? null,
    s.topologySpreadConstraints ?? null,
    s.priority ?? 0,
    s.preemptionPolicy ?? null,
    s.schedulerName ?? null,
    !!pod.metadata.deletionTimestamp,
    schedulingAnnotations(pod),
  ]);
  return [key, JSON.stringify(stat)];
}

function schedulingAnnotations(pod: Pod): (string | null)[] | null {
  const ann = pod.metadata.annotations;
  if (!ann) return null;
  let out: (string | null)[] | null = null;
  for (let k = 0; k < SCHEDULING_ANNOTATIONS.length; k++) {
    const v = ann[SCHEDULING_ANNOTATIONS[k]!];
    if (v !== undefined) (out ??= SCHEDULING_ANNOTATIONS.map(() => null))[k] = v;
  }
  return out;
}

/** Selectors indexed for "which could select this pod": by their first `key In (values)` requirement. */
class TermIndex<T extends { readonly selector: Selector } = AffinityTerm> {
  private readonly byLabel = new Map<string, Set<T>>();
  private readonly generic = new Set<T>();

  add(t: T): void {
    for (const k of indexKeys(t.selector)) {
      let s = this.byLabel.get(k);
      if (!s) this.byLabel.set(k, (s = new Set()));
      s.add(t);
    }
    if (!indexable(t.selector)) this.generic.add(t);
  }

  remove(t: T): void {
    for (const k of indexKeys(t.selector)) {
      const s = this.byLabel.get(k);
      s?.delete(t);
      if (s?.size === 0) this.byLabel.delete(k);
    }
    this.generic.delete(t);
  }

  /** Terms that may select pods of `c` (each term at most once); callers still check `termMatches`. */
  candidates(c: PodClass): T[] {
    if (this.byLabel.size === 0 && this.generic.size === 0) return NONE as unknown as T[];
    let out: Set<T> | undefined;
    let only: Set<T> | undefined;
    for (const k in c.labels) {
      const s = this.byLabel.get(labelKey(k, c.labels[k]!));
      if (!s) continue;
      if (!only && !out) only = s;
      else {
        out ??= new Set(only);
        for (const t of s) out.add(t);
      }
    }
    if (this.generic.size === 0) return out ? [...out] : only ? [...only] : (NONE as unknown as T[]);
    const all = new Set<T>(this.generic);
    for (const t of out ?? only ?? []) all.add(t);
    return [...all];
  }

  get size(): number {
    return this.byLabel.size + this.generic.size;
  }
}

const NONE: readonly never[] = [];

function labelKey(k: string, v: string): string {
  return `${k}\u0000${v}`;
}

/** A selector's first `In` requirement names every label value it can match. */
function firstIn(sel: Selector): Requirement | undefined {
  if (sel.nothing) return undefined;
  return sel.requirements.find((r) => r.operator === 'In');
}

function indexable(sel: Selector): boolean {
  return sel.nothing || firstIn(sel) !== undefined;
}

function indexKeys(sel: Selector): string[] {
  const r = firstIn(sel);
  return r ? r.values.map((v) => labelKey(r.key, v)) : [];
}

/**
 * The pod classes of one cluster state, interned by key, with the indexes inter-pod affinity needs:
 * classes by label (to find the pods a selector picks without looking at all of them) and the
 * affinity terms pods carry, by the labels they select (to find the terms that pick a pod).
 */
export class PodClassTable {
  private readonly byKey = new Map<string, PodClass>();
  private readonly staticKeys = new Map<string, string>();
  /**
   * Classes by `key=value` and by label key. Built on the first selector lookup and kept current
   * from then on: a batch of pods no selector ever looks at (no inter-pod affinity or spread)
   * never pays for it (46,000 Deployments cost 0.2 s of Sets).
   */
  private labelIndex: { byLabel: Map<string, Set<PodClass>>; byLabelKey: Map<string, Set<PodClass>> } | undefined;
  private nextId = 0;
  /** Required anti-affinity terms of every class (existing pods' rules an incoming pod must respect). */
  readonly requiredAntiAffinityTerms = new TermIndex();
  /** Required affinity terms of every class (they score with `hardPodAffinityWeight`). */
  readonly requiredAffinityTerms = new TermIndex();
  /** Preferred affinity and anti-affinity terms of every class (symmetric scoring). */
  readonly preferredAffinityTerms = new TermIndex();
  readonly preferredAntiAffinityTerms = new TermIndex();
  /** Topology spread selectors of every class (they count the pods they select in their namespace). */
  readonly spreadSelectors = new TermIndex<{ readonly selector: Selector; readonly owner: PodClass }>();
  private readonly spreadEntries = new Map<PodClass, { readonly selector: Selector; readonly owner: PodClass }[]>();

  /** The class of `pod`, created if new. Does not count a reference: see `ref`. */
  intern(pod: Pod): PodClass {
    const [key, stat] = classKeys(pod);
    let c = this.byKey.get(key);
    if (c) return c;
    // One string per distinct static key, shared by its classes (a fleet has few).
    let staticKey = this.staticKeys.get(stat);
    if (staticKey === undefined) {
      if (this.staticKeys.size >= 10_000) this.staticKeys.clear(); // only sharing is lost (pods bound by nodeName have one each)
      this.staticKeys.set(stat, (staticKey = stat));
    }
    c = new PodClass(this.nextId++, key, staticKey, pod);
    this.byKey.set(key, c);
    if (this.labelIndex) indexLabels(this.labelIndex, c);
    for (const t of c.requiredAntiAffinity) this.requiredAntiAffinityTerms.add(t);
    for (const t of c.requiredAffinity) this.requiredAffinityTerms.add(t);
    for (const t of c.preferredAffinity) this.preferredAffinityTerms.add(t);
    for (const t of c.preferredAntiAffinity) this.preferredAntiAffinityTerms.add(t);
    if (c.spreadSelectors.length) {
      const entries = c.spreadSelectors.map((selector) => ({ selector, owner: c! }));
      for (const e of entries) this.spreadSelectors.add(e);
      this.spreadEntries.set(c, entries);
    }
    return c;
  }

  /**
   * True if some class's inter-pod term or spread constraint could select pods of `c` (by namespace
   * and labels): then `c`'s labels matter to other pods' placement. False means pods of `c` are
   * told apart by nothing but their requests and static fields.
   */
  isSelected(c: PodClass, nsLabels: NamespaceLabels): boolean {
    for (const idx of [this.requiredAntiAffinityTerms, this.requiredAffinityTerms, this.preferredAffinityTerms, this.preferredAntiAffinityTerms]) {
      for (const t of idx.candidates(c)) if (termMatches(t, c, nsLabels)) return true;
    }
    for (const s of this.spreadSelectors.candidates(c)) if (s.owner.namespace === c.namespace && s.selector.matches(c.labels)) return true;
    return false;
  }

  /** Counts a pod of the class (interning it). */
  ref(pod: Pod): PodClass {
    const c = this.intern(pod);
    c.refs++;
    return c;
  }

  /** Stops counting a pod of `c`; the class is forgotten once nothing counts it and nothing is placed. */
  unref(c: PodClass): void {
    c.refs--;
    if (c.refs <= 0 && c.placed.size === 0) this.drop(c);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Forgets every class no pod refers to and none is placed of, unless `keep` says otherwise. */
  sweep(keep: (c: PodClass) => boolean = () => false): void {
    for (const c of [...this.byKey.values()]) if (c.refs <= 0 && c.placed.size === 0 && !keep(c)) this.drop(c);
  }

  all(): IterableIterator<PodClass> {
    return this.byKey.values();
  }

  /** Classes whose pods `term` selects (namespace and labels). */
  selecting(term: AffinityTerm, nsLabels: NamespaceLabels): PodClass[] {
    const out: PodClass[] = [];
    for (const c of this.candidates(term.selector)) if (termMatches(term, c, nsLabels)) out.push(c);
    return out;
  }

  /** Classes a selector may match (a superset), from the label index when the selector allows it. */
  candidates(sel: Selector): Iterable<PodClass> {
    if (sel.nothing) return [];
    const r = firstIn(sel);
    if (r) {
      const out: PodClass[] = [];
      const { byLabel } = this.labels();
      for (const v of r.values) for (const c of byLabel.get(labelKey(r.key, v)) ?? []) out.push(c);
      return out;
    }
    const ex = sel.requirements.find((q) => q.operator === 'Exists');
    if (ex) return this.labels().byLabelKey.get(ex.key) ?? [];
    return this.byKey.values();
  }

  /** The label index, built now if this is its first use. */
  private labels(): NonNullable<PodClassTable['labelIndex']> {
    if (!this.labelIndex) {
      this.labelIndex = { byLabel: new Map(), byLabelKey: new Map() };
      for (const c of this.byKey.values()) indexLabels(this.labelIndex, c);
    }
    return this.labelIndex;
  }

  private drop(c: PodClass): void {
    if (this.byKey.get(c.key) !== c) return;
    this.byKey.delete(c.key);
    if (this.labelIndex) {
      for (const [k, v] of Object.entries(c.labels)) {
        removeFrom(this.labelIndex.byLabel, labelKey(k, v), c);
        removeFrom(this.labelIndex.byLabelKey, k, c);
      }
    }
    for (const t of c.requiredAntiAffinity) this.requiredAntiAffinityTerms.remove(t);
    for (const t of c.requiredAffinity) this.requiredAffinityTerms.remove(t);
    for (const t of c.preferredAffinity) this.preferredAffinityTerms.remove(t);
    for (const t of c.preferredAntiAffinity) this.preferredAntiAffinityTerms.remove(t);
    for (const e of this.spreadEntries.get(c) ?? []) this.spreadSelectors.remove(e);
    this.spreadEntries.delete(c);
  }
}

function indexLabels(idx: { byLabel: Map<string, Set<PodClass>>; byLabelKey: Map<string, Set<PodClass>> }, c: PodClass): void {
  for (const k in c.labels) {
    addTo(idx.byLabel, labelKey(k, c.labels[k]!), c);
    addTo(idx.byLabelKey, k, c);
  }
}

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  s?.delete(v);
  if (s?.size === 0) m.delete(k);
}
