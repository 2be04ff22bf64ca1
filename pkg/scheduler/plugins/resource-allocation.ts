/**
 * Resource scoring, shared by NodeResourcesFit (MostAllocated, LeastAllocated) and
 * NodeResourcesBalancedAllocation, as kube-scheduler's
 * pkg/scheduler/framework/plugins/noderesources/{most_allocated,least_allocated,balanced_allocation,resource_allocation}.go
 * (https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/).
 *
 * The formulas are pure functions over parallel arrays: `requested[i]` (the node's requests plus
 * the pod's) and `allocatable[i]` of resource i, in millicores for cpu and units otherwise.
 * Integer arithmetic truncates, as Go's int64 division does, so scores match kube-scheduler's.
 */
import type { ClusterState } from '../framework/cluster.js';
import { MAX_NODE_SCORE } from '../framework/types.js';

/** A resource scoring looks at, and its weight (kube-scheduler's `ResourceSpec`). */
export interface ResourceSpec {
  name: string;
  /** A positive integer. */
  weight: number;
}

/** kube-scheduler's default scoring resources: cpu and memory, weight 1 each. */
export const DEFAULT_SCORING_RESOURCES: readonly ResourceSpec[] = [
  { name: 'cpu', weight: 1 },
  { name: 'memory', weight: 1 },
];

/**
 * One resource's MostAllocated score: `requested × 100 / capacity`, truncated. More than the
 * capacity (possible because pods without requests count 100m / 200Mi) counts as full: 100.
 * No capacity scores 0.
 */
export function mostRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0) return 0;
  return Math.trunc((Math.min(requested, capacity) * MAX_NODE_SCORE) / capacity);
}

/**
 * One resource's LeastAllocated score: `(capacity − requested) × 100 / capacity`, truncated;
 * more than the capacity scores 0, as does no capacity.
 */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/**
 * The weighted mean of per-resource scores, truncated: `Σ wᵢ·score(rᵢ, aᵢ) ÷ Σ wᵢ` over the
 * resources the node has (allocatable 0 is left out, weight and all); 0 if it has none.
 */
function weightedScore(per: (requested: number, capacity: number) => number, requested: readonly number[], allocatable: readonly number[], weights: readonly number[]): number {
  let score = 0;
  let weightSum = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    score += per(requested[i]!, allocatable[i]!) * weights[i]!;
    weightSum += weights[i]!;
  }
  return weightSum === 0 ? 0 : Math.trunc(score / weightSum);
}

/** MostAllocated (bin-packing, berth's default): favours the fullest node. `mostResourceScorer`. */
export function mostAllocatedScore(requested: readonly number[], allocatable: readonly number[], weights: readonly number[]): number {
  return weightedScore(mostRequestedScore, requested, allocatable, weights);
}

/** LeastAllocated (spreading, kube-scheduler's default): favours the emptiest node. `leastResourceScorer`. */
export function leastAllocatedScore(requested: readonly number[], allocatable: readonly number[], weights: readonly number[]): number {
  return weightedScore(leastRequestedScore, requested, allocatable, weights);
}

/**
 * BalancedAllocation: favours nodes whose resources would be used evenly. With fractions
 * `fᵢ = min(1, requestedᵢ / allocatableᵢ)` over the resources the node has,
 * `score = trunc((1 − std(f)) × 100)`, where for two resources std is `|f₀ − f₁| / 2` and for more
 * the population standard deviation. Weights play no part. `balancedResourceScorer`.
 */
export function balancedAllocationScore(requested: readonly number[], allocatable: readonly number[]): number {
  const fractions: number[] = [];
  let total = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    const f = Math.min(1, requested[i]! / allocatable[i]!);
    fractions.push(f);
    total += f;
  }
  let std = 0;
  if (fractions.length === 2) std = Math.abs((fractions[0]! - fractions[1]!) / 2);
  else if (fractions.length > 2) {
    const mean = total / fractions.length;
    let sum = 0;
    for (const f of fractions) sum += (f - mean) * (f - mean);
    std = Math.sqrt(sum / fractions.length);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

const NATIVE = new Set(['cpu', 'memory', 'ephemeral-storage', 'pods']);

/**
 * `[allocatable, requested]` of `resource` on node slot `i` with the pod's `podRequest` added, as
 * `calculateResourceAllocatableRequest`. With `nonZero`, cpu and memory count pods without
 * requests at the scoring defaults (NodeResourcesFit's strategies do; BalancedAllocation does
 * not). An extended resource the pod does not request is left out ([0, 0]), as is `pods`.
 */
export function allocatableAndRequested(cluster: ClusterState, i: number, resource: string, podRequest: number, nonZero: boolean): [number, number] {
  if (resource === 'pods' || (podRequest === 0 && !NATIVE.has(resource))) return [0, 0];
  const allocatable = cluster.allocatable(i, resource);
  if (nonZero && resource === 'cpu') return [allocatable, cluster.nonZeroCpu[i]! + podRequest];
  if (nonZero && resource === 'memory') return [allocatable, cluster.nonZeroMemory[i]! + podRequest];
  return [allocatable, cluster.requested(i, resource) + podRequest];
}

/**
 * A point of a RequestedToCapacityRatio shape (kube-scheduler's `UtilizationShapePoint`):
 * `utilization` in percent (0..100), `score` 0..10 (`MaxCustomPriorityScore`).
 */
export interface UtilizationShapePoint {
  utilization: number;
  score: number;
}

/** kube-scheduler's `MaxCustomPriorityScore`: shape scores run 0..10 and are scaled ×10 to node scores. */
export const MAX_CUSTOM_PRIORITY_SCORE = 10;

/**
 * `helper.BuildBrokenLinearFunction`: the shape's score below the first point, above the last,
 * and linear (integer division, as in Go) between points. `shape` holds scaled scores (0..100).
 */
export function brokenLinear(shape: readonly UtilizationShapePoint[]): (p: number) => number {
  return (p) => {
    for (let i = 0; i < shape.length; i++) {
      if (p <= shape[i]!.utilization) {
        if (i === 0) return shape[0]!.score;
        const a = shape[i - 1]!;
        const b = shape[i]!;
        return a.score + Math.trunc(((b.score - a.score) * (p - a.utilization)) / (b.utilization - a.utilization));
      }
    }
    return shape[shape.length - 1]!.score;
  };
}

/**
 * RequestedToCapacityRatio (noderesources/requested_to_capacity_ratio.go): each resource's
 * utilization `trunc(requested × 100 / capacity)` (100 when over capacity) goes through the shape
 * (scores ×10); resources scoring 0 are left out, the rest are averaged by weight and rounded.
 *
 * ```
 * shape [{0, 0}, {100, 10}] (bin packing), cpu 3000/4000 → 75; memory 4Gi/16Gi → 25; weights 1, 1 → 50
 * ```
 */
export function requestedToCapacityRatioScore(requested: readonly number[], allocatable: readonly number[], weights: readonly number[], shape: (p: number) => number): number {
  let nodeScore = 0;
  let weightSum = 0;
  for (let i = 0; i < requested.length; i++) {
    const cap = allocatable[i]!;
    if (cap === 0) continue;
    const req = requested[i]!;
    const util = req > cap ? 100 : req <= 0 ? 0 : Math.trunc((req * 100) / cap);
    const s = shape(util);
    if (s > 0) {
      nodeScore += s * weights[i]!;
      weightSum += weights[i]!;
    }
  }
  return weightSum === 0 ? 0 : Math.round(nodeScore / weightSum);
}

/** Checks a RequestedToCapacityRatio shape (`ValidateRequestedToCapacityRatioArgs`); throws Error. */
export function validateShape(shape: readonly UtilizationShapePoint[] | undefined): void {
  if (!shape || shape.length === 0) throw new Error('requestedToCapacityRatio.shape must have at least one point');
  let prev = -1;
  for (const [i, p] of shape.entries()) {
    if (!Number.isInteger(p.utilization) || p.utilization < 0 || p.utilization > 100) throw new Error(`shape[${i}].utilization must be an integer in 0..100, got ${p.utilization}`);
    if (p.utilization <= prev) throw new Error(`shape[${i}].utilization must be greater than the previous point's (${prev})`);
    if (!Number.isInteger(p.score) || p.score < 0 || p.score > MAX_CUSTOM_PRIORITY_SCORE) throw new Error(`shape[${i}].score must be an integer in 0..${MAX_CUSTOM_PRIORITY_SCORE}, got ${p.score}`);
    prev = p.utilization;
  }
}

/** Checks a scoring resource list (kube-scheduler's `ValidateNodeResourcesFitArgs` rules); throws Error. */
export function validateResourceSpecs(specs: readonly ResourceSpec[]): void {
  if (specs.length === 0) throw new Error('scoring resources must not be empty');
  const seen = new Set<string>();
  for (const r of specs) {
    if (!r.name) throw new Error('a scoring resource needs a name');
    if (seen.has(r.name)) throw new Error(`scoring resource "${r.name}" listed twice`);
    seen.add(r.name);
    if (!Number.isInteger(r.weight) || r.weight < 1 || r.weight > 100) throw new Error(`scoring resource "${r.name}": weight must be an integer in 1..100, got ${r.weight}`);
  }
}
