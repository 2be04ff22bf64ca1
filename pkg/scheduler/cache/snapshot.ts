/**
 * The nodes one scheduling cycle reads: clones of the cache's NodeInfos, refreshed before each
 * cycle for only the nodes that changed since the last (kube-scheduler's `Snapshot` and
 * `Cache.UpdateSnapshot`). Nodes are kept sorted by name, so attempts repeat exactly.
 */
import type { NodeInfo } from '../framework/node-info.js';

export class Snapshot {
  private readonly byName = new Map<string, NodeInfo>();
  private list: NodeInfo[] = [];
  private readonly index = new Map<string, number>();

  /** Every node, sorted by name. */
  get nodes(): readonly NodeInfo[] {
    return this.list;
  }

  get(name: string): NodeInfo | undefined {
    return this.byName.get(name);
  }

  /** Puts in the new clones of changed nodes and drops removed ones (the cache calls this). */
  update(changed: readonly NodeInfo[], removed: readonly string[]): void {
    let resort = false;
    for (const name of removed) resort = this.byName.delete(name) || resort;
    for (const ni of changed) {
      const i = this.index.get(ni.name);
      if (i === undefined || resort) resort = true;
      else this.list[i] = ni;
      this.byName.set(ni.name, ni);
    }
    if (!resort) return;
    this.list = [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.index.clear();
    this.list.forEach((ni, i) => this.index.set(ni.name, i));
  }
}
