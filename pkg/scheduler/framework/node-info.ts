/**
 * What the scheduler knows of a node: the Node, the pods on it (bound or assumed) and the sums
 * of their requests, as kube-scheduler's `framework.NodeInfo` (pkg/scheduler/framework/types.go).
 */
import { objectKeyOf } from '../../api/meta.js';
import type { Node, Pod, Taint } from '../../api/types.js';
import { addAmounts, nonZeroRequests, podRequests, toAmounts, type ResourceAmounts } from './resources.js';
import { effectiveTaints } from './taints.js';

/** A pod with its requests worked out once. Immutable. */
export interface PodInfo {
  /** `namespace/name`. */
  readonly key: string;
  readonly pod: Pod;
  /** `podRequests(pod)`: millicores, bytes, counts. */
  readonly requests: Readonly<ResourceAmounts>;
  /** The cpu (millicores) and memory (bytes) scoring counts, defaults included (`nonZeroRequests`). */
  readonly nonZero: { readonly cpu: number; readonly memory: number };
}

export function newPodInfo(pod: Pod): PodInfo {
  return { key: objectKeyOf(pod), pod, requests: podRequests(pod), nonZero: nonZeroRequests(pod) };
}

/**
 * A node and the pods counted on it. The scheduler's cache keeps one per node and changes it as
 * events arrive; a scheduling cycle reads clones of them (the snapshot), so what a plugin sees does
 * not move under it.
 */
export class NodeInfo {
  private _node: Node;
  private _allocatable: Readonly<ResourceAmounts>;
  private _taints: readonly Taint[];
  private readonly podMap: Map<string, PodInfo>;
  private readonly _requested: ResourceAmounts;
  private readonly _nonZeroRequested: { cpu: number; memory: number };

  constructor(node: Node, pods: Iterable<PodInfo> = []) {
    this._node = node;
    this._allocatable = allocatableOf(node);
    this._taints = effectiveTaints(node);
    this.podMap = new Map();
    this._requested = {};
    this._nonZeroRequested = { cpu: 0, memory: 0 };
    for (const p of pods) this.addPod(p);
  }

  get name(): string {
    return this._node.metadata.name!;
  }

  get node(): Node {
    return this._node;
  }

  /**
   * `status.allocatable` (or `status.capacity` when a node reports no allocatable, as the API
   * server's defaulting would copy it): millicores, bytes, and `pods`, the most pods it takes.
   */
  get allocatable(): Readonly<ResourceAmounts> {
    return this._allocatable;
  }

  /** `spec.taints` plus the not-ready taint when the node is not Ready (see `effectiveTaints`). */
  get taints(): readonly Taint[] {
    return this._taints;
  }

  /** Sum of the requests of the pods on the node (millicores, bytes, counts). */
  get requested(): Readonly<ResourceAmounts> {
    return this._requested;
  }

  /** Sum of the pods' scoring cpu (millicores) and memory (bytes), defaults included. */
  get nonZeroRequested(): { readonly cpu: number; readonly memory: number } {
    return this._nonZeroRequested;
  }

  get podCount(): number {
    return this.podMap.size;
  }

  pods(): IterableIterator<PodInfo> {
    return this.podMap.values();
  }

  /** Replaces the Node object (labels, taints, allocatable may have changed), keeping the pods. */
  setNode(node: Node): void {
    this._node = node;
    this._allocatable = allocatableOf(node);
    this._taints = effectiveTaints(node);
  }

  /** Counts a pod on the node; a pod already counted under the same key is replaced. */
  addPod(p: PodInfo): void {
    this.removePod(p.key);
    this.podMap.set(p.key, p);
    this.apply(p, 1);
  }

  /** Stops counting a pod; returns it, or undefined if it was not counted here. */
  removePod(key: string): PodInfo | undefined {
    const p = this.podMap.get(key);
    if (!p) return undefined;
    this.podMap.delete(key);
    this.apply(p, -1);
    return p;
  }

  clone(): NodeInfo {
    return new NodeInfo(this._node, this.podMap.values());
  }

  private apply(p: PodInfo, sign: 1 | -1): void {
    if (sign === 1) addAmounts(this._requested, p.requests);
    else for (const k in p.requests) this._requested[k] = (this._requested[k] ?? 0) - p.requests[k]!;
    this._nonZeroRequested.cpu += sign * p.nonZero.cpu;
    this._nonZeroRequested.memory += sign * p.nonZero.memory;
  }
}

function allocatableOf(node: Node): Readonly<ResourceAmounts> {
  return toAmounts(node.status?.allocatable ?? node.status?.capacity);
}
