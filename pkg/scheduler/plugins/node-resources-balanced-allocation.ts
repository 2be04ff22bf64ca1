/**
 * NodeResourcesBalancedAllocation (kube-scheduler's
 * pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go): favours nodes whose
 * resources the pod would leave evenly used. Not in berth's default profile: with pods that
 * request mostly one resource it pulls towards emptier nodes and undoes MostAllocated's packing.
 */
import type { Pod } from '../../api/types.js';
import type { CycleState } from '../framework/cycle-state.js';
import { podRequests } from '../framework/resources.js';
import type { NodeInfo } from '../framework/node-info.js';
import { Status } from '../framework/status.js';
import type { ScorePlugin } from '../framework/types.js';
import { allocatableAndRequested, balancedAllocationScore, DEFAULT_SCORING_RESOURCES, validateResourceSpecs, type ResourceSpec } from './resource-allocation.js';

/** kube-scheduler's `NodeResourcesBalancedAllocationArgs`. */
export interface NodeResourcesBalancedAllocationArgs {
  /** Default cpu and memory (weights are accepted but play no part in the formula). */
  resources?: ResourceSpec[];
}

const PRE_SCORE_KEY = 'PreScoreNodeResourcesBalancedAllocation';

export class NodeResourcesBalancedAllocation implements ScorePlugin {
  static readonly name = 'NodeResourcesBalancedAllocation';
  readonly name = NodeResourcesBalancedAllocation.name;
  private readonly resources: readonly ResourceSpec[];

  /** Throws Error for bad resources. */
  constructor(args: NodeResourcesBalancedAllocationArgs = {}) {
    this.resources = args.resources ?? DEFAULT_SCORING_RESOURCES;
    validateResourceSpecs(this.resources);
  }

  /** Skips a pod requesting none of the resources (best-effort): there is nothing to balance. */
  preScore(state: CycleState, pod: Pod): Status {
    const req = podRequests(pod);
    const perResource = this.resources.map((r) => req[r.name] ?? 0);
    if (perResource.every((q) => q === 0)) return Status.skip();
    state.write(PRE_SCORE_KEY, perResource);
    return Status.success();
  }

  score(state: CycleState, _pod: Pod, ni: NodeInfo): number {
    const podReq = state.read<number[]>(PRE_SCORE_KEY)!;
    const requested = new Array<number>(podReq.length);
    const allocatable = new Array<number>(podReq.length);
    for (let i = 0; i < podReq.length; i++) {
      [allocatable[i], requested[i]] = allocatableAndRequested(ni, this.resources[i]!.name, podReq[i]!, false);
    }
    return balancedAllocationScore(requested, allocatable);
  }
}
