/**
 * The scheduler's view of the cluster: every node and the pods counted on it, as
 * kube-scheduler's cache (pkg/scheduler/backend/cache). It is fed by the pod and node informers
 * and by the scheduler itself, which *assumes* a pod on its chosen node before the bind is even
 * sent: the next cycle counts it at once, so two pods scheduled back to back never take the same
 * room. The informer's report of the bound pod confirms the assumption; a failed bind forgets it.
 *
 * The counts live in a ClusterState (columns per node, placements per pod class), which scheduling
 * cycles read directly: cycles are synchronous, so no snapshot copy is needed.
 *
 * Pod states:
 * ```
 *             assumePod                 addPod (informer sees it bound)
 *   (none) ──────────────▶ assumed ─────────────────────────────────▶ bound
 *     ▲                      │ forgetPod (bind failed)                 │ removePod (deleted,
 *     └──────────────────────┴─────────────────────────────────────────┘  or finished)
 * ```
 */
import { objectKeyOf } from '../../api/meta.js';
import type { Node, Pod } from '../../api/types.js';
import { ClusterState } from '../framework/cluster.js';
import type { PodClass } from '../framework/pod-class.js';

/** A pod the cache counts. */
export interface CachedPod {
  readonly key: string;
  readonly pod: Pod;
  readonly cls: PodClass;
  readonly nodeName: string;
  /** Its node's slot in the cluster state, or -1 while the cache has no Node of that name. */
  slot: number;
  assumed: boolean;
}

/** The class of a pod bound to a node is that of the same pod still pending: `spec.nodeName` left out. */
export function withoutNodeName(pod: Pod): Pod {
  if (!pod.spec.nodeName) return pod;
  const { nodeName: _, ...spec } = pod.spec;
  return { ...pod, spec: spec as Pod['spec'] };
}

export class SchedulerCache {
  readonly cluster = new ClusterState();
  private readonly pods = new Map<string, CachedPod>();
  /** Pods by node name, the node known or not (pods seen before their node, or left by a deleted node). */
  private readonly byNode = new Map<string, Set<CachedPod>>();

  /** Adds a node, or replaces its Node object keeping its pods. */
  setNode(node: Node): void {
    const name = node.metadata.name!;
    const known = this.cluster.indexOf(name) >= 0;
    const slot = this.cluster.setNode(node);
    if (known) return;
    for (const p of this.byNode.get(name) ?? []) {
      p.slot = slot;
      this.cluster.addPods(p.cls, slot, 1);
    }
  }

  /** Removes a node; its pods stay known (and are counted again if the node comes back). */
  removeNode(name: string): void {
    if (this.cluster.indexOf(name) < 0) return;
    for (const p of this.byNode.get(name) ?? []) {
      if (p.slot >= 0) this.cluster.removePods(p.cls, p.slot, 1);
      p.slot = -1;
    }
    this.cluster.removeNode(name);
  }

  /**
   * Counts a pod bound to `spec.nodeName` (added or updated): confirms an assumed pod, moving it
   * if it was bound elsewhere than assumed.
   */
  addPod(pod: Pod): void {
    this.put(pod, false);
  }

  /**
   * Counts `pod` (with `spec.nodeName` set to the chosen node) before its bind is confirmed.
   * `cls` may pass the pod's class when the caller already knows it.
   */
  assumePod(pod: Pod, cls?: PodClass): void {
    this.put(pod, true, cls);
  }

  /** Stops counting a pod (deleted, finished, or an assumption abandoned); false if it was not counted. */
  removePod(key: string): boolean {
    const p = this.pods.get(key);
    if (!p) return false;
    this.detach(p);
    return true;
  }

  /** Forgets an assumed pod whose bind failed; a pod already confirmed stays. */
  forgetPod(key: string): void {
    if (this.pods.get(key)?.assumed) this.removePod(key);
  }

  isAssumed(key: string): boolean {
    return this.pods.get(key)?.assumed ?? false;
  }

  /** The pod counted under `key`, if any. */
  get(key: string): CachedPod | undefined {
    return this.pods.get(key);
  }

  /** Pods counted on a node (by name). */
  podsOn(nodeName: string): CachedPod[] {
    return [...(this.byNode.get(nodeName) ?? [])];
  }

  /** Pods counted on a node, and the node's requested resources (millicores, bytes), for tests and tools. */
  usage(nodeName: string): { pods: number; cpu: number; memory: number } | undefined {
    const i = this.cluster.indexOf(nodeName);
    if (i < 0) return undefined;
    return { pods: this.cluster.usedPods[i]!, cpu: this.cluster.usedCpu[i]!, memory: this.cluster.usedMemory[i]! };
  }

  private put(pod: Pod, assumed: boolean, known?: PodClass): void {
    const key = objectKeyOf(pod);
    const old = this.pods.get(key);
    // Classed without its node, so bound and pending replicas of a template share one class.
    const cls = known ?? this.cluster.classes.intern(withoutNodeName(pod));
    cls.refs++;
    if (old) this.detach(old);
    const nodeName = pod.spec.nodeName!;
    const slot = this.cluster.indexOf(nodeName);
    const p: CachedPod = { key, pod, cls, nodeName, slot, assumed };
    this.pods.set(key, p);
    let set = this.byNode.get(nodeName);
    if (!set) this.byNode.set(nodeName, (set = new Set()));
    set.add(p);
    if (slot >= 0) this.cluster.addPods(cls, slot, 1);
  }

  private detach(p: CachedPod): void {
    this.pods.delete(p.key);
    const set = this.byNode.get(p.nodeName);
    set?.delete(p);
    if (set?.size === 0) this.byNode.delete(p.nodeName);
    if (p.slot >= 0) this.cluster.removePods(p.cls, p.slot, 1);
    this.cluster.classes.unref(p.cls);
  }
}
