/**
 * NodeResourcesBalancedAllocation (kube-scheduler's
 * pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go): favours nodes whose
 * resources the pod would leave evenly used. Not in berth's default profile: with pods that
 * request mostly one resource it pulls towards emptier nodes and undoes MostAllocated's packing.
 */
import type { ClusterState } from '../framework/cluster.js';
import type { PodClass } from '../framework/pod-class.js';
import type { NodeScorer, ScorePlugin } from '../framework/types.js';
import { allocatableAndRequested, balancedAllocationScore, DEFAULT_SCORING_RESOURCES, validateResourceSpecs, type ResourceSpec } from './resource-allocation.js';

/** kube-scheduler's `NodeResourcesBalancedAllocationArgs`. */
export interface NodeResourcesBalancedAllocationArgs {
  /** Default cpu and memory (weights are accepted but play no part in the formula). */
  resources?: ResourceSpec[];
}

export class NodeResourcesBalancedAllocation implements ScorePlugin {
  static readonly name = 'NodeResourcesBalancedAllocation';
  readonly name = NodeResourcesBalancedAllocation.name;
  private readonly resources: readonly ResourceSpec[];

  /** Throws Error for bad resources. */
  constructor(args: NodeResourcesBalancedAllocationArgs = {}) {
    this.resources = args.resources ?? DEFAULT_SCORING_RESOURCES;
    validateResourceSpecs(this.resources);
  }

  /** Skipped for a pod requesting none of the resources (best-effort): there is nothing to balance. */
  compileScore(pod: PodClass, cluster: ClusterState): NodeScorer | null {
    const perResource = this.resources.map((r) => pod.requests[r.name] ?? 0);
    if (perResource.every((q) => q === 0)) return null;
    const requested = new Array<number>(perResource.length);
    const allocatable = new Array<number>(perResource.length);
    return {
      score: (i) => {
        for (let r = 0; r < perResource.length; r++) [allocatable[r], requested[r]] = allocatableAndRequested(cluster, i, this.resources[r]!.name, perResource[r]!, false);
        return balancedAllocationScore(requested, allocatable);
      },
    };
  }

  neutral(pod: PodClass): boolean {
    return this.resources.every((r) => (pod.requests[r.name] ?? 0) === 0);
  }
}
