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
 * Kubernetes's lazy parse errors do.
 */
import { matchRequirement, selectorFromMap, type Requirement } from '../../api/labels.js';
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod } from '../../api/types.js';
import type { CycleState } from '../framework/cycle-state.js';
import type { NodeInfo } from '../framework/node-info.js';
import { defaultNormalizeScore } from '../framework/normalize.js';
import { Status } from '../framework/status.js';
import { MAX_NODE_SCORE, type FilterPlugin, type ScorePlugin } from '../framework/types.js';

export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";

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

interface WeightedTerm {
  weight: number;
  matches: NodeMatcher;
}

const PRE_FILTER_KEY = 'PreFilterNodeAffinity';
const PRE_SCORE_KEY = 'PreScoreNodeAffinity';

export class NodeAffinity implements FilterPlugin, ScorePlugin {
  static readonly name = 'NodeAffinity';
  readonly name = NodeAffinity.name;

  /** Compiles the pod's constraints once; skips Filter for a pod with none. */
  preFilter(state: CycleState, pod: Pod): Status {
    const m = requiredNodeAffinity(pod);
    if (!m) return Status.skip();
    state.write(PRE_FILTER_KEY, m);
    return Status.success();
  }

  filter(state: CycleState, _pod: Pod, ni: NodeInfo): Status {
    const m = state.read<NodeMatcher>(PRE_FILTER_KEY);
    if (!m) return Status.error(`${PRE_FILTER_KEY} not found in the cycle state`);
    return m(ni.node) ? Status.success() : Status.unschedulableAndUnresolvable(ERR_REASON_POD);
  }

  /** Compiles the preferred terms once (weight 0 and empty terms dropped); skips Score if none are left. */
  preScore(state: CycleState, pod: Pod): Status {
    const terms: WeightedTerm[] = [];
    for (const p of pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (!p.weight) continue;
      const matches = compileNodeSelectorTerm(p.preference);
      if (matches) terms.push({ weight: p.weight, matches });
    }
    if (terms.length === 0) return Status.skip();
    state.write(PRE_SCORE_KEY, terms);
    return Status.success();
  }

  /** The sum of the weights (1..100 each) of the preferred terms the node matches. */
  score(state: CycleState, _pod: Pod, ni: NodeInfo): number {
    let sum = 0;
    for (const t of state.read<WeightedTerm[]>(PRE_SCORE_KEY)!) if (t.matches(ni.node)) sum += t.weight;
    return sum;
  }

  normalizeScores(_state: CycleState, _pod: Pod, scores: number[]): void {
    defaultNormalizeScore(MAX_NODE_SCORE, false, scores);
  }
}
