/**
 * PodTopologySpread (kube-scheduler's pkg/scheduler/framework/plugins/podtopologyspread;
 * https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/).
 *
 * Filter, for each `whenUnsatisfiable: DoNotSchedule` constraint: count the pods the constraint's
 * selector picks (same namespace, not being deleted) on every eligible node — a node is eligible
 * when it carries every constraint's topology key and passes the inclusion policies
 * (`nodeAffinityPolicy: Honor` (default): it matches the pod's nodeSelector and required node
 * affinity; `nodeTaintsPolicy: Honor` (default Ignore): the pod tolerates its NoSchedule and
 * NoExecute taints) — by topology domain. A node passes if
 * `count(its domain) + (1 if the pod matches the selector) − global minimum ≤ maxSkew`, where the
 * global minimum is the smallest count over eligible domains, or 0 while there are fewer than
 * `minDomains` of them. A node without the topology key fails as UnschedulableAndUnresolvable,
 * exactly as Kubernetes does: such a node is never eligible for DoNotSchedule.
 *
 * Score, for `ScheduleAnyway` constraints: each feasible node gets
 * `Σ count(domain) × log(domains + 2) + (maxSkew − 1)`, fewer being better, normalized as
 * `100 × (max + min − score) / max`; nodes without every key score 0.
 *
 * `matchLabelKeys` adds the pod's own values of those keys to the selector.
 *
 * Default constraints (`PodTopologySpreadArgs`) apply to a pod with no constraints of its own:
 * `defaultingType: System` (Kubernetes' default) gives maxSkew 3 over `kubernetes.io/hostname` and
 * maxSkew 5 over `topology.kubernetes.io/zone`, both ScheduleAnyway, so they only score;
 * `defaultingType: List` gives `defaultConstraints`. Their selector is the pod's owners' (kube's
 * `helper.DefaultSelector`): the selectors of the Services in the pod's namespace that select it,
 * merged, plus those of the ReplicaSet or StatefulSet that controls it (`ClusterState.ownerSelector`,
 * which the scheduler keeps from its informers); a pod whose owners give an empty selector gets no
 * default constraints. With system defaulting, nodes missing a topology key are still scored (by
 * the keys they have), as in kube-scheduler. berth's packing profile sets `defaultingType: List`
 * with no constraints: spreading replicas works against packing, so it is asked for per pod.
 */
import { selectorFromLabelSelector, Selector, SelectorError, type Requirement } from '../../api/labels.js';
import type { LabelSelector, Pod } from '../../api/types.js';
import type { ClusterState, Session, Topology } from '../framework/cluster.js';
import type { PodClass, TopologySpreadConstraintSpec } from '../framework/pod-class.js';
import { Status } from '../framework/status.js';
import { MAX_NODE_SCORE, type FilterPlugin, type NodeFilter, type NodeScorer, type ScorePlugin } from '../framework/types.js';
import { HOSTNAME_LABEL } from '../framework/pod-class.js';
import { requiredAffinityIsPerNode, requiredNodeAffinity, type NodeMatcher } from './node-affinity.js';
import { findUntoleratedTaint } from './taint-toleration.js';

export const ERR_REASON_CONSTRAINTS = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_LABEL = `${ERR_REASON_CONSTRAINTS} (missing required label)`;
const NOT_MATCH = Status.unschedulable(ERR_REASON_CONSTRAINTS);
const MISSING_LABEL = Status.unschedulableAndUnresolvable(ERR_REASON_LABEL);

/** A constraint with its selector compiled and its defaults filled in (`filterTopologySpreadConstraints`). */
export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  selector: Selector;
  /** 1 when not given. */
  minDomains: number;
  nodeAffinityPolicy: 'Honor' | 'Ignore';
  nodeTaintsPolicy: 'Honor' | 'Ignore';
}

/** kube-scheduler's `PodTopologySpreadArgs`. */
export interface PodTopologySpreadArgs {
  /** `System` (default): the system default constraints; `List`: `defaultConstraints`. */
  defaultingType?: 'System' | 'List';
  /** With `List`: constraints for pods without their own; no `labelSelector` (the owners' selector is used). */
  defaultConstraints?: TopologySpreadConstraintSpec[];
}

/** kube-scheduler's `systemDefaultConstraints` (pkg/scheduler/framework/plugins/podtopologyspread/plugin.go). */
export const SYSTEM_DEFAULT_CONSTRAINTS: readonly TopologySpreadConstraintSpec[] = [
  { maxSkew: 3, topologyKey: HOSTNAME_LABEL, whenUnsatisfiable: 'ScheduleAnyway' },
  { maxSkew: 5, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' },
];

/** What `defaultSelector` reads of a Service, ReplicaSet or StatefulSet. */
export interface SelectingObject {
  metadata: { namespace?: string; name?: string };
  spec?: { selector?: Record<string, string> | LabelSelector | null };
}

/**
 * kube-scheduler's `helper.DefaultSelector`: the selectors of the `services` in the pod's namespace
 * that select it (a Service without a selector selects nothing), their labels merged, plus the
 * requirements of the selector of the ReplicaSet or StatefulSet that controls the pod (`owner`,
 * found by the caller from the pod's controller reference). A malformed owner selector is ignored.
 */
export function defaultSelector(pod: Pod, services: readonly SelectingObject[], owner: SelectingObject | undefined): Selector {
  const labels = pod.metadata.labels ?? {};
  const ns = pod.metadata.namespace ?? 'default';
  const merged: Record<string, string> = {};
  for (const svc of services) {
    if ((svc.metadata.namespace ?? 'default') !== ns) continue;
    const sel = svc.spec?.selector as Record<string, string> | null | undefined;
    if (!sel) continue;
    if (Object.entries(sel).every(([k, v]) => labels[k] === v)) Object.assign(merged, sel);
  }
  let selector = selectorFromLabelSelector({ matchLabels: merged });
  const ownerSel = owner?.spec?.selector as LabelSelector | null | undefined;
  if (ownerSel) {
    try {
      const other = selectorFromLabelSelector(ownerSel);
      if (!other.nothing) selector = new Selector([...selector.requirements, ...other.requirements]);
    } catch (e) {
      if (!(e instanceof SelectorError)) throw e;
    }
  }
  return selector;
}

/**
 * The constraints that apply to `pod` with `whenUnsatisfiable` = `action`: its own, or, when it has
 * none, `defaults` with the owners' selector (none if that is empty). Throws Error for a malformed one.
 */
export function effectiveSpreadConstraints(pod: PodClass, cluster: ClusterState, action: 'DoNotSchedule' | 'ScheduleAnyway', defaults: readonly TopologySpreadConstraintSpec[]): SpreadConstraint[] {
  if (pod.topologySpreadConstraints.length > 0 || defaults.length === 0) return spreadConstraints(pod, action);
  const selector = cluster.ownerSelector?.(pod.pod);
  if (!selector || selector.empty || selector.nothing) return [];
  const out: SpreadConstraint[] = [];
  for (const c of defaults) {
    if ((c.whenUnsatisfiable ?? 'DoNotSchedule') !== action) continue;
    out.push({ maxSkew: c.maxSkew, topologyKey: c.topologyKey, selector, minDomains: c.minDomains ?? 1, nodeAffinityPolicy: c.nodeAffinityPolicy ?? 'Honor', nodeTaintsPolicy: c.nodeTaintsPolicy ?? 'Ignore' });
  }
  return out;
}

/** The pod's constraints with `whenUnsatisfiable` = `action`. Throws Error for a malformed one. */
export function spreadConstraints(pod: PodClass, action: 'DoNotSchedule' | 'ScheduleAnyway'): SpreadConstraint[] {
  const out: SpreadConstraint[] = [];
  for (const [i, c] of pod.topologySpreadConstraints.entries()) {
    if ((c.whenUnsatisfiable ?? 'DoNotSchedule') !== action) continue;
    if (!Number.isInteger(c.maxSkew) || c.maxSkew < 1) throw new Error(`topologySpreadConstraints[${i}].maxSkew must be a positive integer, got ${String(c.maxSkew)}`);
    if (!c.topologyKey) throw new Error(`topologySpreadConstraints[${i}].topologyKey is required`);
    let selector: Selector;
    try {
      selector = selectorFromLabelSelector(c.labelSelector ?? undefined);
    } catch (e) {
      if (e instanceof SelectorError) throw new Error(`topologySpreadConstraints[${i}].labelSelector: ${e.message}`);
      throw e;
    }
    const extra: Requirement[] = [];
    for (const k of c.matchLabelKeys ?? []) if (k in pod.labels) extra.push({ key: k, operator: 'In', values: [pod.labels[k]!] });
    if (extra.length && !selector.nothing) selector = new Selector([...extra, ...selector.requirements]);
    const minDomains = c.minDomains ?? 1;
    if (!Number.isInteger(minDomains) || minDomains < 1) throw new Error(`topologySpreadConstraints[${i}].minDomains must be a positive integer, got ${String(c.minDomains)}`);
    out.push({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      selector,
      minDomains,
      nodeAffinityPolicy: c.nodeAffinityPolicy ?? 'Honor',
      nodeTaintsPolicy: c.nodeTaintsPolicy ?? 'Ignore',
    });
  }
  return out;
}

/** Classes whose pods a constraint counts: same namespace, not being deleted, selector matches. */
function countedClasses(cluster: ClusterState, pod: PodClass, sel: Selector): PodClass[] {
  const out: PodClass[] = [];
  for (const c of cluster.classes.candidates(sel)) if (c.namespace === pod.namespace && !c.terminating && sel.matches(c.labels)) out.push(c);
  return out;
}

/** `matchNodeInclusionPolicies` for one constraint, with the node-affinity and taint answers memoized per node class. */
function inclusion(cluster: ClusterState, pod: PodClass, c: SpreadConstraint, affinity: NodeMatcher | undefined, affinityPerNode: boolean): (i: number) => boolean {
  const byClass = new Int8Array(cluster.nodeClassIdLimit).fill(-1);
  const tolerations = pod.pod.spec.tolerations;
  const evaluate = (i: number): boolean => {
    const node = cluster.nodes[i]!;
    if (c.nodeAffinityPolicy === 'Honor' && affinity && !affinity(node)) return false;
    // Kubernetes reads `spec.taints` here (not the not-ready taint the lifecycle controller adds).
    if (c.nodeTaintsPolicy === 'Honor' && findUntoleratedTaint(node.spec?.taints ?? [], tolerations)) return false;
    return true;
  };
  if (affinityPerNode) return evaluate;
  return (i) => {
    const k = cluster.nodeClassOf[i]!;
    let v = byClass[k]!;
    if (v < 0) v = byClass[k] = evaluate(i) ? 1 : 0;
    return v === 1;
  };
}

/**
 * The smallest count over a set of domains, kept as counts change: a histogram of counts, so a
 * change costs O(1) unless it empties the minimum's bucket.
 */
class MinTracker {
  private readonly hist = new Map<number, number>();
  min = Infinity;

  add(count: number): void {
    this.hist.set(count, (this.hist.get(count) ?? 0) + 1);
    if (count < this.min) this.min = count;
  }

  change(from: number, to: number): void {
    const n = this.hist.get(from)! - 1;
    if (n === 0) this.hist.delete(from);
    else this.hist.set(from, n);
    this.hist.set(to, (this.hist.get(to) ?? 0) + 1);
    if (to < this.min) this.min = to;
    else if (from === this.min && n === 0) {
      let m = Infinity;
      for (const k of this.hist.keys()) if (k < m) m = k;
      this.min = m;
    }
  }
}

export class PodTopologySpread implements FilterPlugin, ScorePlugin {
  static readonly name = 'PodTopologySpread';
  readonly name = PodTopologySpread.name;
  /** Constraints for pods without their own (see the file comment). */
  readonly defaults: readonly TopologySpreadConstraintSpec[];
  readonly readsOwners: boolean;
  private readonly systemDefaulted: boolean;

  /** Throws Error for bad arguments (an unknown defaultingType, System with a list, a default constraint with a labelSelector). */
  constructor(args: PodTopologySpreadArgs = {}) {
    const type = args.defaultingType ?? 'System';
    if (type !== 'System' && type !== 'List') throw new Error(`defaultingType must be System or List, got ${String(type)}`);
    if (type === 'System' && args.defaultConstraints?.length) throw new Error('defaultConstraints must be empty when defaultingType is System');
    for (const [i, c] of (args.defaultConstraints ?? []).entries()) {
      if (c.labelSelector) throw new Error(`defaultConstraints[${i}].labelSelector must not be set (the pod's owners' selector is used)`);
      if (!Number.isInteger(c.maxSkew) || c.maxSkew < 1) throw new Error(`defaultConstraints[${i}].maxSkew must be a positive integer, got ${String(c.maxSkew)}`);
      if (!c.topologyKey) throw new Error(`defaultConstraints[${i}].topologyKey is required`);
    }
    this.systemDefaulted = type === 'System';
    this.defaults = type === 'System' ? SYSTEM_DEFAULT_CONSTRAINTS : (args.defaultConstraints ?? []);
    this.readsOwners = this.defaults.length > 0;
  }

  compileFilter(pod: PodClass, cluster: ClusterState, session: Session): NodeFilter | Status | null {
    let cs: SpreadConstraint[];
    try {
      cs = effectiveSpreadConstraints(pod, cluster, 'DoNotSchedule', this.defaults);
    } catch (e) {
      return Status.error(e);
    }
    if (cs.length === 0) return null;
    const affinity = requiredNodeAffinity(pod.pod);
    const affinityPerNode = requiredAffinityIsPerNode(pod.pod);
    const topos: Topology[] = cs.map((c) => cluster.topology(c.topologyKey));
    const hasAllKeys = (i: number): boolean => {
      for (const t of topos) if (t.domainOf[i]! < 0) return false;
      return true;
    };
    const states = cs.map((c, ci) => {
      const topo = topos[ci]!;
      const include = inclusion(cluster, pod, c, affinity, affinityPerNode);
      const eligible = (i: number): boolean => hasAllKeys(i) && include(i);
      const counts = new Float64Array(topo.values.length);
      const seen = new Uint8Array(topo.values.length);
      let domains = 0;
      // Labels other than the hostname belong to the node class: one node of each class tells.
      const perNodeKeys = affinityPerNode || cs.some((x) => x.topologyKey === HOSTNAME_LABEL);
      for (const i of perNodeKeys ? cluster.order : cluster.nodeClassRepresentatives()) {
        if (i < 0 || !eligible(i)) continue;
        const d = topo.domainOf[i]!;
        if (!seen[d]) {
          seen[d] = 1;
          domains++;
        }
      }
      const tracker = new MinTracker();
      const add = (node: number, k: number): void => {
        if (!eligible(node)) return;
        const d = topo.domainOf[node]!;
        const before = counts[d]!;
        counts[d] = before + k;
        if (seen[d]) tracker.change(before, before + k);
      };
      for (const cls of countedClasses(cluster, pod, c.selector)) {
        for (const [node, k] of cls.placed) {
          if (!eligible(node)) continue;
          counts[topo.domainOf[node]!] += k;
        }
        session.watch(cls, add);
      }
      for (let d = 0; d < counts.length; d++) if (seen[d]) tracker.add(counts[d]!);
      const self = c.selector.matches(pod.labels) ? 1 : 0;
      return { c, topo, counts, tracker, domains, self };
    });

    const check = (i: number): Status | null => {
      for (const s of states) if (s.topo.domainOf[i]! < 0) return MISSING_LABEL;
      for (const s of states) {
        const min = s.domains < s.c.minDomains ? 0 : s.tracker.min;
        const skew = s.counts[s.topo.domainOf[i]!]! + s.self - min;
        if (skew > s.c.maxSkew) return NOT_MATCH;
      }
      return null;
    };
    return { scope: 'node', fits: (i) => check(i) === null, status: (i) => check(i) ?? NOT_MATCH };
  }

  compileScore(pod: PodClass, cluster: ClusterState, feasible: Int32Array): NodeScorer | Status | null {
    let cs: SpreadConstraint[];
    try {
      cs = effectiveSpreadConstraints(pod, cluster, 'ScheduleAnyway', this.defaults);
    } catch (e) {
      return Status.error(e);
    }
    if (cs.length === 0) return null;
    const affinity = requiredNodeAffinity(pod.pod);
    const topos = cs.map((c) => cluster.topology(c.topologyKey));
    // kube-scheduler's requireAllTopologies: system defaults do not ignore nodes missing a key.
    const requireAll = pod.topologySpreadConstraints.length > 0 || !this.systemDefaulted;
    const hasAllKeys = (i: number): boolean => !requireAll || topos.every((t) => t.domainOf[i]! >= 0);
    const ignored = new Uint8Array(cluster.slots);
    for (const i of feasible) if (!hasAllKeys(i)) ignored[i] = 1;
    const states = cs.map((c, ci) => {
      const topo = topos[ci]!;
      const hostname = c.topologyKey === HOSTNAME_LABEL;
      // Pods the selector counts, per node.
      const perNode = new Float64Array(cluster.slots);
      for (const cls of countedClasses(cluster, pod, c.selector)) for (const [node, k] of cls.placed) perNode[node] += k;
      const present = new Uint8Array(topo.values.length);
      let size = 0;
      for (const i of feasible) {
        if (ignored[i]) continue;
        const d = topo.domainOf[i]!;
        if (d < 0) continue;
        if (!present[d]) {
          present[d] = 1;
          size++;
        }
      }
      if (hostname) {
        size = 0;
        for (const i of feasible) if (!ignored[i] && topo.domainOf[i]! >= 0) size++;
      }
      const counts = new Float64Array(topo.values.length);
      if (!hostname) {
        const include = inclusion(cluster, pod, c, affinity, true);
        for (const i of cluster.order) {
          if (!hasAllKeys(i) || !include(i)) continue;
          const d = topo.domainOf[i]!;
          if (d >= 0 && present[d]) counts[d] += perNode[i]!;
        }
      }
      return { c, topo, hostname, perNode, counts, weight: Math.log(size + 2) };
    });
    const order = Array.from(feasible);
    return {
      score: (i) => {
        if (ignored[i]) return 0;
        let score = 0;
        for (const s of states) {
          const d = s.topo.domainOf[i]!;
          if (d < 0) continue;
          const cnt = s.hostname ? s.perNode[i]! : s.counts[d]!;
          score += cnt * s.weight + (s.c.maxSkew - 1);
        }
        return Math.round(score);
      },
      normalize: (scores) => {
        let min = Infinity;
        let max = 0;
        for (let k = 0; k < scores.length; k++) {
          if (ignored[order[k]!]) continue;
          if (scores[k]! < min) min = scores[k]!;
          if (scores[k]! > max) max = scores[k]!;
        }
        for (let k = 0; k < scores.length; k++) {
          if (ignored[order[k]!]) scores[k] = 0;
          else if (max === 0) scores[k] = MAX_NODE_SCORE;
          else scores[k] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[k]!)) / max);
        }
      },
    };
  }

  neutral(pod: PodClass, cluster: ClusterState): boolean {
    if (pod.topologySpreadConstraints.length > 0) return !pod.topologySpreadConstraints.some((c) => (c.whenUnsatisfiable ?? 'DoNotSchedule') === 'ScheduleAnyway');
    if (!this.defaults.some((c) => (c.whenUnsatisfiable ?? 'DoNotSchedule') === 'ScheduleAnyway')) return true;
    const sel = cluster.ownerSelector?.(pod.pod);
    return !sel || sel.empty || sel.nothing;
  }
}
