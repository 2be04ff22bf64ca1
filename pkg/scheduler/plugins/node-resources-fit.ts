/**
 * NodeResourcesFit (kube-scheduler's pkg/scheduler/framework/plugins/noderesources/fit.go):
 * Filter rejects a node without room for the pod's requests; Score ranks nodes by how full the
 * pod would leave them: MostAllocated (bin-packing, berth's default), LeastAllocated (spreading,
 * kube-scheduler's default) or RequestedToCapacityRatio with a shape
 * (https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/).
 */
import type { ClusterState } from '../framework/cluster.js';
import type { PodClass } from '../framework/pod-class.js';
import { Status } from '../framework/status.js';
import type { FilterPlugin, NodeFilter, NodeScorer, ResourceRequest, ScorePlugin } from '../framework/types.js';
import {
  allocatableAndRequested,
  brokenLinear,
  DEFAULT_SCORING_RESOURCES,
  leastAllocatedScore,
  MAX_CUSTOM_PRIORITY_SCORE,
  mostAllocatedScore,
  mostRequestedScore,
  requestedToCapacityRatioScore,
  validateResourceSpecs,
  validateShape,
  type ResourceSpec,
  type UtilizationShapePoint,
} from './resource-allocation.js';

export type ScoringStrategyType = 'MostAllocated' | 'LeastAllocated' | 'RequestedToCapacityRatio';

/** kube-scheduler's `NodeResourcesFitArgs` (the parts berth uses). */
export interface NodeResourcesFitArgs {
  scoringStrategy?: {
    /** Default `MostAllocated`. */
    type?: ScoringStrategyType;
    /** Default cpu and memory, weight 1 each. */
    resources?: ResourceSpec[];
    /** Required with RequestedToCapacityRatio: the shape, utilization 0..100 increasing, score 0..10. */
    requestedToCapacityRatio?: { shape: UtilizationShapePoint[] };
  };
}

type Strategy = (requested: readonly number[], allocatable: readonly number[], weights: readonly number[]) => number;

/**
 * The reasons node slot `i` cannot take a pod of `pod`, in kube-scheduler's order and words
 * (`fitsRequest`): `Too many pods` when the node is at its `pods` allocatable, then
 * `Insufficient <resource>` for cpu, memory, ephemeral-storage and each extended resource whose
 * request exceeds what is left (allocatable − requested). Empty if it fits.
 */
export function insufficientResources(cluster: ClusterState, i: number, pod: PodClass): string[] {
  const reasons: string[] = [];
  if (cluster.usedPods[i]! + 1 > cluster.allocPods[i]!) reasons.push('Too many pods');
  if (pod.cpu > 0 && pod.cpu > cluster.allocCpu[i]! - cluster.usedCpu[i]!) reasons.push('Insufficient cpu');
  if (pod.memory > 0 && pod.memory > cluster.allocMemory[i]! - cluster.usedMemory[i]!) reasons.push('Insufficient memory');
  if (pod.ephemeralStorage > 0 && pod.ephemeralStorage > cluster.allocEphemeral[i]! - cluster.usedEphemeral[i]!) reasons.push('Insufficient ephemeral-storage');
  for (const [name, q] of pod.extended) {
    const col = cluster.extColumn(name);
    if (q > col.alloc[i]! - col.used[i]!) reasons.push(`Insufficient ${name}`);
  }
  return reasons;
}

export class NodeResourcesFit implements FilterPlugin, ScorePlugin {
  static readonly name = 'NodeResourcesFit';
  readonly name = NodeResourcesFit.name;
  readonly type: ScoringStrategyType;
  readonly packing: boolean;
  private readonly strategy: Strategy;
  private readonly resources: readonly ResourceSpec[];
  private readonly weights: readonly number[];
  /** True for the default cpu and memory weight 1 each under MostAllocated: scored by a specialised loop. */
  private readonly fastMostAllocated: boolean;

  /** Throws Error for an unknown strategy, a bad shape or bad resource weights. */
  constructor(args: NodeResourcesFitArgs = {}) {
    const type = args.scoringStrategy?.type ?? 'MostAllocated';
    this.resources = args.scoringStrategy?.resources ?? DEFAULT_SCORING_RESOURCES;
    validateResourceSpecs(this.resources);
    this.weights = this.resources.map((r) => r.weight);
    this.type = type;
    switch (type) {
      case 'MostAllocated':
        this.strategy = mostAllocatedScore;
        this.packing = true;
        break;
      case 'LeastAllocated':
        this.strategy = leastAllocatedScore;
        this.packing = false;
        break;
      case 'RequestedToCapacityRatio': {
        const shape = args.scoringStrategy?.requestedToCapacityRatio?.shape;
        validateShape(shape);
        const scaled = shape!.map((p) => ({ utilization: p.utilization, score: p.score * (100 / MAX_CUSTOM_PRIORITY_SCORE) }));
        const f = brokenLinear(scaled);
        this.strategy = (req, alloc, w) => requestedToCapacityRatioScore(req, alloc, w, f);
        // A shape that never falls and rises somewhere favours fuller nodes: bin packing.
        this.packing = scaled.every((p, i) => i === 0 || p.score >= scaled[i - 1]!.score) && scaled[scaled.length - 1]!.score > scaled[0]!.score;
        break;
      }
      default:
        throw new Error(`scoring strategy "${String(type)}" is not supported (MostAllocated, LeastAllocated, RequestedToCapacityRatio)`);
    }
    this.fastMostAllocated = type === 'MostAllocated' && this.resources.length === 2 && this.resources[0]!.name === 'cpu' && this.resources[1]!.name === 'memory' && this.weights[0] === 1 && this.weights[1] === 1;
  }

  compileFilter(pod: PodClass, cluster: ClusterState): NodeFilter {
    const { usedPods, allocPods, usedCpu, allocCpu, usedMemory, allocMemory, usedEphemeral, allocEphemeral } = cluster;
    const cpu = pod.cpu;
    const memory = pod.memory;
    const eph = pod.ephemeralStorage;
    const ext = pod.extended.map(([name, q]) => ({ col: cluster.extColumn(name), q }));
    const request: ResourceRequest = { cpu, memory, ephemeralStorage: eph, extended: pod.extended };
    const fits =
      ext.length === 0 && eph === 0
        ? (i: number) => usedPods[i]! + 1 <= allocPods[i]! && (cpu <= 0 || cpu <= allocCpu[i]! - usedCpu[i]!) && (memory <= 0 || memory <= allocMemory[i]! - usedMemory[i]!)
        : (i: number) => {
            if (usedPods[i]! + 1 > allocPods[i]!) return false;
            if (cpu > 0 && cpu > allocCpu[i]! - usedCpu[i]!) return false;
            if (memory > 0 && memory > allocMemory[i]! - usedMemory[i]!) return false;
            if (eph > 0 && eph > allocEphemeral[i]! - usedEphemeral[i]!) return false;
            for (const e of ext) if (e.q > e.col.alloc[i]! - e.col.used[i]!) return false;
            return true;
          };
    return { scope: 'node', fits, status: (i) => Status.unschedulable(...insufficientResources(cluster, i, pod)), request };
  }

  /** The strategy's score of each node with the pod added (cpu and memory counted with the non-zero defaults). */
  compileScore(pod: PodClass, cluster: ClusterState): NodeScorer {
    if (this.fastMostAllocated) {
      const { nonZeroCpu, nonZeroMemory, allocCpu, allocMemory } = cluster;
      const qc = pod.nonZeroCpu;
      const qm = pod.nonZeroMemory;
      return {
        score: (i) => {
          const ac = allocCpu[i]!;
          const am = allocMemory[i]!;
          let s = 0;
          let w = 0;
          if (ac !== 0) {
            s += mostRequestedScore(nonZeroCpu[i]! + qc, ac);
            w++;
          }
          if (am !== 0) {
            s += mostRequestedScore(nonZeroMemory[i]! + qm, am);
            w++;
          }
          return w === 0 ? 0 : Math.trunc(s / w);
        },
      };
    }
    const podReq = this.resources.map((r) => (r.name === 'cpu' ? pod.nonZeroCpu : r.name === 'memory' ? pod.nonZeroMemory : (pod.requests[r.name] ?? 0)));
    const requested = new Array<number>(podReq.length);
    const allocatable = new Array<number>(podReq.length);
    return {
      score: (i) => {
        for (let r = 0; r < podReq.length; r++) [allocatable[r], requested[r]] = allocatableAndRequested(cluster, i, this.resources[r]!.name, podReq[r]!, true);
        return this.strategy(requested, allocatable, this.weights);
      },
    };
  }
}
