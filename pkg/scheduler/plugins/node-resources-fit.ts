/**
 * NodeResourcesFit (kube-scheduler's pkg/scheduler/framework/plugins/noderesources/fit.go):
 * Filter rejects a node without room for the pod's requests; Score ranks nodes by how full the
 * pod would leave them, MostAllocated (bin-packing, berth's default) or LeastAllocated
 * (spreading, kube-scheduler's default)
 * (https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/).
 */
import type { Pod } from '../../api/types.js';
import type { CycleState } from '../framework/cycle-state.js';
import { newPodInfo, type NodeInfo } from '../framework/node-info.js';
import type { ResourceAmounts } from '../framework/resources.js';
import { Status } from '../framework/status.js';
import type { FilterPlugin, ScorePlugin } from '../framework/types.js';
import {
  allocatableAndRequested,
  DEFAULT_SCORING_RESOURCES,
  leastAllocatedScore,
  mostAllocatedScore,
  validateResourceSpecs,
  type ResourceSpec,
} from './resource-allocation.js';

export type ScoringStrategyType = 'MostAllocated' | 'LeastAllocated';

/** kube-scheduler's `NodeResourcesFitArgs` (the parts berth uses). */
export interface NodeResourcesFitArgs {
  scoringStrategy?: {
    /** Default `MostAllocated`. */
    type?: ScoringStrategyType;
    /** Default cpu and memory, weight 1 each. */
    resources?: ResourceSpec[];
  };
}

const STRATEGIES: Record<ScoringStrategyType, (requested: readonly number[], allocatable: readonly number[], weights: readonly number[]) => number> = {
  MostAllocated: mostAllocatedScore,
  LeastAllocated: leastAllocatedScore,
};

const PRE_FILTER_KEY = 'PreFilterNodeResourcesFit';
const PRE_SCORE_KEY = 'PreScoreNodeResourcesFit';

/**
 * The reasons a node cannot take a pod requesting `podRequest` (millicores, bytes, counts), in
 * kube-scheduler's order and words (`fitsRequest`): `Too many pods` when the node is at its `pods`
 * allocatable, then `Insufficient <resource>` for cpu, memory, ephemeral-storage and each
 * extended resource whose request exceeds what is left (allocatable − requested). Empty if it fits.
 */
export function insufficientResources(podRequest: Readonly<ResourceAmounts>, ni: NodeInfo): string[] {
  const reasons: string[] = [];
  const alloc = ni.allocatable;
  const used = ni.requested;
  if (ni.podCount + 1 > (alloc.pods ?? 0)) reasons.push('Too many pods');
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
    const q = podRequest[r] ?? 0;
    if (q > 0 && q > (alloc[r] ?? 0) - (used[r] ?? 0)) reasons.push(`Insufficient ${r}`);
  }
  for (const r in podRequest) {
    if (r === 'cpu' || r === 'memory' || r === 'ephemeral-storage' || r === 'pods') continue;
    const q = podRequest[r]!;
    if (q > 0 && q > (alloc[r] ?? 0) - (used[r] ?? 0)) reasons.push(`Insufficient ${r}`);
  }
  return reasons;
}

export class NodeResourcesFit implements FilterPlugin, ScorePlugin {
  static readonly name = 'NodeResourcesFit';
  readonly name = NodeResourcesFit.name;
  private readonly strategy: (requested: readonly number[], allocatable: readonly number[], weights: readonly number[]) => number;
  private readonly resources: readonly ResourceSpec[];
  private readonly weights: readonly number[];

  /** Throws Error for an unknown strategy or bad resource weights. */
  constructor(args: NodeResourcesFitArgs = {}) {
    const type = args.scoringStrategy?.type ?? 'MostAllocated';
    const strategy = STRATEGIES[type];
    if (!strategy) throw new Error(`scoring strategy "${type}" is not supported (MostAllocated, LeastAllocated)`);
    this.strategy = strategy;
    this.resources = args.scoringStrategy?.resources ?? DEFAULT_SCORING_RESOURCES;
    validateResourceSpecs(this.resources);
    this.weights = this.resources.map((r) => r.weight);
  }

  preFilter(state: CycleState, pod: Pod): Status {
    state.write(PRE_FILTER_KEY, newPodInfo(pod).requests);
    return Status.success();
  }

  filter(state: CycleState, _pod: Pod, ni: NodeInfo): Status {
    const req = state.read<ResourceAmounts>(PRE_FILTER_KEY);
    if (!req) return Status.error(`${PRE_FILTER_KEY} not found in the cycle state`);
    const reasons = insufficientResources(req, ni);
    return reasons.length ? Status.unschedulable(...reasons) : Status.success();
  }

  /** Works out the pod's request of each scoring resource once (cpu and memory with the non-zero defaults). */
  preScore(state: CycleState, pod: Pod): Status {
    const info = newPodInfo(pod);
    state.write(
      PRE_SCORE_KEY,
      this.resources.map((r) => (r.name === 'cpu' ? info.nonZero.cpu : r.name === 'memory' ? info.nonZero.memory : (info.requests[r.name] ?? 0))),
    );
    return Status.success();
  }

  score(state: CycleState, _pod: Pod, ni: NodeInfo): number {
    const podRequests = state.read<number[]>(PRE_SCORE_KEY)!;
    const requested = new Array<number>(podRequests.length);
    const allocatable = new Array<number>(podRequests.length);
    for (let i = 0; i < podRequests.length; i++) {
      [allocatable[i], requested[i]] = allocatableAndRequested(ni, this.resources[i]!.name, podRequests[i]!, true);
    }
    return this.strategy(requested, allocatable, this.weights);
  }
}
