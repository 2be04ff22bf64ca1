/**
 * The scheduler's view of the cluster: every node and the pods counted on it, as
 * kube-scheduler's cache (pkg/scheduler/backend/cache). It is fed by the pod and node informers
 * and by the scheduler itself, which *assumes* a pod on its chosen node before the bind is even
 * sent: the next cycle counts it at once, so two pods scheduled back to back never take the same
 * room. The informer's report of the bound pod confirms the assumption; a failed bind forgets it.
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
import { NodeInfo, newPodInfo, type PodInfo } from '../framework/node-info.js';
import type { Snapshot } from './snapshot.js';

interface PodState {
  info: PodInfo;
  nodeName: string;
  assumed: boolean;
}

export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  /** Pods counted on a node the cache has no Node object for (not seen yet, or deleted first), by node name. */
  private readonly orphans = new Map<string, Map<string, PodInfo>>();
  private readonly pods = new Map<string, PodState>();
  /** Nodes changed since the last snapshot update. */
  private readonly dirty = new Set<string>();

  /** Adds a node, or replaces its Node object keeping its pods. */
  setNode(node: Node): void {
    const name = node.metadata.name!;
    const ni = this.nodes.get(name);
    if (ni) ni.setNode(node);
    else {
      this.nodes.set(name, new NodeInfo(node, this.orphans.get(name)?.values()));
      this.orphans.delete(name);
    }
    this.dirty.add(name);
  }

  removeNode(name: string): void {
    const ni = this.nodes.get(name);
    if (!ni) return;
    if (ni.podCount > 0) this.orphans.set(name, new Map([...ni.pods()].map((p) => [p.key, p])));
    this.nodes.delete(name);
    this.dirty.add(name);
  }

  /**
   * Counts a pod bound to `spec.nodeName` (added or updated): confirms an assumed pod, moving it
   * if it was bound elsewhere than assumed.
   */
  addPod(pod: Pod): void {
    this.put(pod, false);
  }

  /** Stops counting a pod (deleted, finished, or an assumption abandoned); false if it was not counted. */
  removePod(key: string): boolean {
    const st = this.pods.get(key);
    if (!st) return false;
    this.detach(st);
    this.pods.delete(key);
    return true;
  }

  /** Counts `pod` (with `spec.nodeName` set to the chosen node) before its bind is confirmed. */
  assumePod(pod: Pod): void {
    this.put(pod, true);
  }

  /** Forgets an assumed pod whose bind failed; a pod already confirmed stays. */
  forgetPod(key: string): void {
    if (this.pods.get(key)?.assumed) this.removePod(key);
  }

  isAssumed(key: string): boolean {
    return this.pods.get(key)?.assumed ?? false;
  }

  /** The live NodeInfo of a node (read-only; a scheduling cycle reads the snapshot instead). */
  nodeInfo(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  /** Brings `snapshot` up to date, cloning only the nodes that changed since the last call. */
  updateSnapshot(snapshot: Snapshot): void {
    if (this.dirty.size === 0) return;
    const changed: NodeInfo[] = [];
    const removed: string[] = [];
    for (const name of this.dirty) {
      const ni = this.nodes.get(name);
      if (ni) changed.push(ni.clone());
      else removed.push(name);
    }
    this.dirty.clear();
    snapshot.update(changed, removed);
  }

  private put(pod: Pod, assumed: boolean): void {
    const key = objectKeyOf(pod);
    const old = this.pods.get(key);
    if (old) this.detach(old);
    const st: PodState = { info: newPodInfo(pod), nodeName: pod.spec.nodeName!, assumed };
    this.pods.set(key, st);
    const ni = this.nodes.get(st.nodeName);
    if (ni) ni.addPod(st.info);
    else {
      let m = this.orphans.get(st.nodeName);
      if (!m) this.orphans.set(st.nodeName, (m = new Map()));
      m.set(key, st.info);
    }
    this.dirty.add(st.nodeName);
  }

  private detach(st: PodState): void {
    const ni = this.nodes.get(st.nodeName);
    if (ni) ni.removePod(st.info.key);
    else {
      const m = this.orphans.get(st.nodeName);
      m?.delete(st.info.key);
      if (m?.size === 0) this.orphans.delete(st.nodeName);
    }
    this.dirty.add(st.nodeName);
  }
}
