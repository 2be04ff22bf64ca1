/**
 * NodeAffinity (kube-scheduler's pkg/scheduler/framework/plugins/nodeaffinity, matching as
 * k8s.io/component-helpers/scheduling/corev1/nodeaffinity does;
 * https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#affinity-and-anti-affinity):
 *
 * - Filter: the node must match `spec.nodeSelector` (every label equal) and, if set, one of the
 *   `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms` (terms are ORed; within a
 *   term every `matchExpressions` label requirement and every `matchFields` requirement must hold).
 * - Score: the sum of the weights of the `preferredDuringSchedulingIgnoredDuringExecution` terms
 *   the node matches, scaled so the best node gets 100.
 *
 * A term with no requirements selects nothing. A malformed requirement (In without values, Gt
 * with a non-integer, a field operator other than In/NotIn) makes its term match no node, as
 * Kubernetes's lazy parse errors do. Constraints that name neither the hostname label nor
 * `metadata.name` are checked once per node class.
 */
import { matchRequirement, selectorFromMap, type Requirement } from '../../api/labels.js';
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod } from '../../api/types.js';
import type { ClusterState } from '../framework/cluster.js';
import { defaultNormalizeScore } from '../framework/normalize.js';
import { HOSTNAME_LABEL, type PodClass } from '../framework/pod-class.js';
import { Status } from '../framework/status.js';
import { MAX_NODE_SCORE, type FilterPlugin, type NodeFilter, type NodeScorer, type ScorePlugin } from '../framework/types.js';

export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";
const REJECTED = Status.unschedulableAndUnresolvable(ERR_REASON_POD);

/** A compiled node selector: true if the node matches. */
export type NodeMatcher = (node: Node) => boolean;

const NEVER: NodeMatcher = () => false;
const INTEGER = /^[+-]?\d+$/;

function labelRequirement(e: NodeSelectorRequirement): Requirement | undefined {
  const values = e.values ?? [];
  switch (e.operator) {
    case 'In':
    case 'NotIn':
      return values.length > 0 ? { key: e.key, operator: e.operator, values } : undefined;
    case 'Exists':
    case 'DoesNotExist':
      return values.length === 0 ? { key: e.key, operator: e.operator, values } : undefined;
    case 'Gt':
    case 'Lt':
      return values.length === 1 && INTEGER.test(values[0]!) ? { key: e.key, operator: e.operator, values } : undefined;
    default:
      return undefined;
  }
}

/**
 * Compiles one NodeSelectorTerm; undefined for an empty term (dropped: it selects nothing).
 * `matchFields` knows one field, `metadata.name`.
 */
export function compileNodeSelectorTerm(term: NodeSelectorTerm): NodeMatcher | undefined {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return undefined;
  const labels: Requirement[] = [];
  for (const e of exprs) {
    const r = labelRequirement(e);
    if (!r) return NEVER;
    labels.push(r);
  }
  for (const f of fields) if ((f.operator !== 'In' && f.operator !== 'NotIn') || f.values?.length !== 1) return NEVER;
  return (node) => {
    for (const r of labels) if (!matchRequirement(r, node.metadata.labels)) return false;
    const name = node.metadata.name;
    if (!name) return true;
    for (const f of fields) {
      const value = f.key === 'metadata.name' ? name : '';
      if ((value === f.values![0]) !== (f.operator === 'In')) return false;
    }
    return true;
  };
}

/**
 * The pod's hard node constraints (`GetRequiredNodeAffinity`): nodeSelector AND any of the
 * required terms. Undefined if the pod has neither.
 */
export function requiredNodeAffinity(pod: Pod): NodeMatcher | undefined {
  const nodeSelector = pod.spec.nodeSelector;
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if ((!nodeSelector || Object.keys(nodeSelector).length === 0) && !required) return undefined;
  const selector = selectorFromMap(nodeSelector);
  const terms = required ? (required.nodeSelectorTerms ?? []).map(compileNodeSelectorTerm).filter((t): t is NodeMatcher => t !== undefined) : undefined;
  return (node) => selector.matches(node.metadata.labels) && (!terms || terms.some((t) => t(node)));
}

/** True if the terms could tell nodes of one node class apart (they read the hostname or the node name). */
function perNode(terms: readonly (NodeSelectorTerm | undefined)[], nodeSelector?: Record<string, string>): boolean {
  if (nodeSelector && HOSTNAME_LABEL in nodeSelector) return true;
  return terms.some((t) => !!t && ((t.matchFields?.length ?? 0) > 0 || (t.matchExpressions ?? []).some((e) => e.key === HOSTNAME_LABEL)));
}

/** True if the pod's required node affinity reads something per node rather than per node class. */
export function requiredAffinityIsPerNode(pod: Pod): boolean {
  return perNode(pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [], pod.spec.nodeSelector);
}

interface WeightedTerm {
  weight: number;
  matches: NodeMatcher;
}

function preferredTerms(pod: Pod): WeightedTerm[] {
  const terms: WeightedTerm[] = [];
  for (const p of pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
    if (!p.weight) continue;
    const matches = compileNodeSelectorTerm(p.preference);
    if (matches) terms.push({ weight: p.weight, matches });
  }
  return terms;
}

export class NodeAffinity implements FilterPlugin, ScorePlugin {
  static readonly name = 'NodeAffinity';
  readonly name = NodeAffinity.name;
  readonly staticOnly = true;

  /** Compiles the pod's constraints once; skipped for a pod with none. */
  compileFilter(pod: PodClass, cluster: ClusterState): NodeFilter | null {
    const m = requiredNodeAffinity(pod.pod);
    if (!m) return null;
    return { scope: requiredAffinityIsPerNode(pod.pod) ? 'node' : 'class', fits: (i) => m(cluster.nodes[i]!), status: () => REJECTED };
  }

  /** Raw score: the sum of the weights (1..100 each) of the preferred terms the node matches. Skipped without preferred terms. */
  compileScore(pod: PodClass, cluster: ClusterState): NodeScorer | null {
    const terms = preferredTerms(pod.pod);
    if (terms.length === 0) return null;
    return {
      score: (i) => {
        let sum = 0;
        const node = cluster.nodes[i]!;
        for (const t of terms) if (t.matches(node)) sum += t.weight;
        return sum;
      },
      normalize: (scores) => defaultNormalizeScore(MAX_NODE_SCORE, false, scores),
    };
  }

  neutral(pod: PodClass): boolean {
    return preferredTerms(pod.pod).length === 0;
  }
}
