/**
 * InterPodAffinity (kube-scheduler's pkg/scheduler/framework/plugins/interpodaffinity;
 * https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#inter-pod-affinity-and-anti-affinity).
 *
 * Filter, for a node in topology domain D of each term's `topologyKey`:
 * 1. required pod affinity: every term must have a matching pod in D (the pods counted must match
 *    all of the terms); a node without a term's topology label fails. When no pod anywhere matches
 *    and the pod matches its own terms, it may go anywhere with the labels (the first of a group).
 * 2. required pod anti-affinity: no term may have a matching pod in D.
 * 3. existing pods' required anti-affinity: no pod in D may have a term that selects this pod.
 *
 * Score: the incoming pod's preferred terms (+weight for affinity, −weight for anti-affinity) over
 * the pods each node's domain holds, plus, symmetrically, the terms of existing pods that select the
 * incoming pod: their required affinity at `hardPodAffinityWeight`, their preferred terms at their
 * weights; then scaled so the range of raw scores (0 included) spans 0..100.
 *
 * Counts are per pod class and topology domain, found through the class table's label index and
 * kept current through the session, so a pod placed during a batch is counted for the next.
 */
import type { ClusterState, Session, Topology } from '../framework/cluster.js';
import { termMatches, type AffinityTerm, type PodClass } from '../framework/pod-class.js';
import { Status } from '../framework/status.js';
import { MAX_NODE_SCORE, type FilterPlugin, type NodeFilter, type NodeScorer, type ScorePlugin } from '../framework/types.js';

export const ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
export const ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
const AFFINITY = Status.unschedulableAndUnresolvable(ERR_REASON_AFFINITY);
const ANTI_AFFINITY = Status.unschedulable(ERR_REASON_ANTI_AFFINITY);
const EXISTING = Status.unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY);

/** kube-scheduler's `InterPodAffinityArgs`. */
export interface InterPodAffinityArgs {
  /** Weight of existing pods' required affinity terms in scoring, 0..100 (default 1). */
  hardPodAffinityWeight?: number;
  /** Leave existing pods' preferred terms out of scoring (default false). */
  ignorePreferredTermsOfExistingPods?: boolean;
}

/**
 * Pod counts per domain of one topology key: an array for keys with few domains (zones), a map
 * for keys with many (hostnames), where only the domains holding matching pods have entries.
 */
class DomainCounts {
  private readonly dense: Float64Array | undefined;
  private readonly sparse: Map<number, number> | undefined;

  constructor(readonly topo: Topology) {
    if (topo.values.length <= 64) this.dense = new Float64Array(topo.values.length);
    else this.sparse = new Map();
  }

  get(d: number): number {
    return this.dense ? this.dense[d]! : (this.sparse!.get(d) ?? 0);
  }

  add(d: number, k: number): void {
    if (this.dense) this.dense[d] += k;
    else {
      const n = (this.sparse!.get(d) ?? 0) + k;
      if (n === 0) this.sparse!.delete(d);
      else this.sparse!.set(d, n);
    }
  }
}

function domainCounts(cluster: ClusterState, key: string): DomainCounts {
  return new DomainCounts(cluster.topology(key));
}

/** Adds the placements of `c` to `dc` and keeps them added as the session places more (× `mult`). */
function countClass(session: Session, c: PodClass, dc: DomainCounts, mult: number): void {
  const { domainOf } = dc.topo;
  const add = (node: number, k: number): void => {
    const d = domainOf[node]!;
    if (d >= 0) dc.add(d, k * mult);
  };
  for (const [node, k] of c.placed) add(node, k);
  session.watch(c, add);
}

export class InterPodAffinity implements FilterPlugin, ScorePlugin {
  static readonly name = 'InterPodAffinity';
  readonly name = InterPodAffinity.name;
  private readonly hardWeight: number;
  private readonly ignoreExistingPreferred: boolean;

  /** Throws Error for a weight outside 0..100. */
  constructor(args: InterPodAffinityArgs = {}) {
    this.hardWeight = args.hardPodAffinityWeight ?? 1;
    if (!Number.isInteger(this.hardWeight) || this.hardWeight < 0 || this.hardWeight > 100) throw new Error(`hardPodAffinityWeight must be an integer in 0..100, got ${args.hardPodAffinityWeight}`);
    this.ignoreExistingPreferred = !!args.ignorePreferredTermsOfExistingPods;
  }

  compileFilter(pod: PodClass, cluster: ClusterState, session: Session): NodeFilter | Status | null {
    if (pod.error) return Status.error(pod.error);
    const table = cluster.classes;
    const ns = cluster.nsLabels;
    const existing = table.requiredAntiAffinityTerms.candidates(pod).filter((t) => termMatches(t, pod, ns));
    const A = pod.requiredAffinity;
    const B = pod.requiredAntiAffinity;
    if (A.length === 0 && B.length === 0 && existing.length === 0) return null;

    // 1. Affinity: pods matching every term, counted in each term's domains.
    const aCounts = A.map((t) => domainCounts(cluster, t.topologyKey));
    const aTotal = { n: 0 };
    if (A.length) {
      const matchAll = table.selecting(A[0]!, ns).filter((c) => A.every((t) => termMatches(t, c, ns)));
      for (const c of matchAll) {
        const add = (node: number, k: number): void => {
          for (const dc of aCounts) {
            const d = dc.topo.domainOf[node]!;
            if (d >= 0) {
              dc.add(d, k);
              aTotal.n += k;
            }
          }
        };
        for (const [node, k] of c.placed) add(node, k);
        session.watch(c, add);
      }
    }
    const selfMatchesAll = A.length > 0 && A.every((t) => termMatches(t, pod, ns));

    // 2. Anti-affinity: pods matching each term.
    const bCounts = B.map((t) => {
      const dc = domainCounts(cluster, t.topologyKey);
      for (const c of table.selecting(t, ns)) countClass(session, c, dc, 1);
      return dc;
    });

    // 3. Existing pods whose anti-affinity selects this pod, by the terms' topology keys.
    const eByKey = new Map<string, DomainCounts>();
    for (const t of existing) {
      let dc = eByKey.get(t.topologyKey);
      if (!dc) eByKey.set(t.topologyKey, (dc = domainCounts(cluster, t.topologyKey)));
      countClass(session, t.owner, dc, 1);
    }
    const eCounts = [...eByKey.values()];

    /** 0 if node i passes, else 1 (affinity), 2 (anti-affinity), 3 (existing anti-affinity). */
    const check = (i: number): number => {
      if (aCounts.length) {
        let exist = true;
        for (const dc of aCounts) {
          const d = dc.topo.domainOf[i]!;
          if (d < 0) return 1;
          if (dc.get(d) <= 0) exist = false;
        }
        if (!exist && !(aTotal.n === 0 && selfMatchesAll)) return 1;
      }
      for (const dc of bCounts) {
        const d = dc.topo.domainOf[i]!;
        if (d >= 0 && dc.get(d) > 0) return 2;
      }
      for (const dc of eCounts) {
        const d = dc.topo.domainOf[i]!;
        if (d >= 0 && dc.get(d) > 0) return 3;
      }
      return 0;
    };
    return {
      scope: 'node',
      fits: (i) => check(i) === 0,
      status: (i) => {
        const c = check(i);
        return c === 1 ? AFFINITY : c === 2 ? ANTI_AFFINITY : EXISTING;
      },
    };
  }

  /** The terms that score pods of `pod`: its own preferred ones, and existing pods' that select it. */
  private scoringTerms(pod: PodClass, cluster: ClusterState): { term: AffinityTerm; weight: number; own: boolean }[] {
    const ns = cluster.nsLabels;
    const table = cluster.classes;
    const out: { term: AffinityTerm; weight: number; own: boolean }[] = [];
    for (const t of pod.preferredAffinity) out.push({ term: t, weight: t.weight, own: true });
    for (const t of pod.preferredAntiAffinity) out.push({ term: t, weight: -t.weight, own: true });
    if (this.hardWeight > 0) for (const t of table.requiredAffinityTerms.candidates(pod)) if (termMatches(t, pod, ns)) out.push({ term: t, weight: this.hardWeight, own: false });
    if (!this.ignoreExistingPreferred) {
      for (const t of table.preferredAffinityTerms.candidates(pod)) if (termMatches(t, pod, ns)) out.push({ term: t, weight: t.weight, own: false });
      for (const t of table.preferredAntiAffinityTerms.candidates(pod)) if (termMatches(t, pod, ns)) out.push({ term: t, weight: -t.weight, own: false });
    }
    return out;
  }

  compileScore(pod: PodClass, cluster: ClusterState): NodeScorer | Status | null {
    if (pod.error) return Status.error(pod.error);
    const terms = this.scoringTerms(pod, cluster);
    if (terms.length === 0) return null;
    const byKey = new Map<string, DomainCounts>();
    const ns = cluster.nsLabels;
    for (const { term, weight, own } of terms) {
      let dc = byKey.get(term.topologyKey);
      if (!dc) byKey.set(term.topologyKey, (dc = domainCounts(cluster, term.topologyKey)));
      // Own terms count the pods they select; existing pods' terms count the pods carrying them.
      const classes = own ? cluster.classes.selecting(term, ns) : [term.owner];
      for (const c of classes) {
        for (const [node, k] of c.placed) {
          const d = dc.topo.domainOf[node]!;
          if (d >= 0) dc.add(d, k * weight);
        }
      }
    }
    const all = [...byKey.values()];
    return {
      score: (i) => {
        let s = 0;
        for (const dc of all) {
          const d = dc.topo.domainOf[i]!;
          if (d >= 0) s += dc.get(d);
        }
        return s;
      },
      normalize: (scores) => {
        let max = 0;
        let min = 0;
        for (const s of scores) {
          if (s > max) max = s;
          if (s < min) min = s;
        }
        const diff = max - min;
        // As Go computes it: float64(MaxNodeScore) * (float64(s-min) / float64(diff)), truncated.
        for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((scores[i]! - min) / diff)) : 0;
      },
    };
  }

  neutral(pod: PodClass, cluster: ClusterState): boolean {
    const t = cluster.classes;
    if (pod.preferredAffinity.length === 0 && pod.preferredAntiAffinity.length === 0 && t.requiredAffinityTerms.size === 0 && t.preferredAffinityTerms.size === 0 && t.preferredAntiAffinityTerms.size === 0) return true;
    return this.scoringTerms(pod, cluster).length === 0;
  }
}
