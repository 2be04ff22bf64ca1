/**
 * An index over nodes' free capacity, so a placement does not scan every node: a segment tree
 * whose leaves are nodes in a chosen order and whose inner entries hold, for the nodes below them,
 * the largest free cpu, memory and pod slots, and the largest free cpu and memory divided by the
 * node's allocatable squared (the terms of the alignment score, below).
 *
 * - `first(request, accept)` finds the first node in leaf order with room, skipping every subtree
 *   whose maxima cannot hold the request: O(log n) when the maxima lead straight to a fit.
 * - `bestAligned(request, accept)` finds the node with room whose free resources best match the
 *   request — the largest `Σ request_r × free_r / allocatable_r²`, the dot product of the request
 *   and the free capacity, both as fractions of the node (the "Tetris" alignment heuristic,
 *   Grandl et al., SIGCOMM 2014) — by branch and bound over the same maxima; ties go to the
 *   earlier leaf.
 *
 * A node can be switched off (`setActive`) without rebuilding: its leaf then holds −∞. An update
 * after a placement is O(log n). `accept` is the full filter check; subtrees only prune.
 */
import type { ClusterState } from './cluster.js';
import type { ResourceRequest } from './types.js';

export class CapacityIndex {
  private readonly size: number;
  private readonly members: Int32Array;
  private readonly pos: Int32Array;
  private readonly active: Uint8Array;
  private readonly cpu: Float64Array;
  private readonly mem: Float64Array;
  private readonly pods: Float64Array;
  private readonly u: Float64Array;
  private readonly v: Float64Array;
  private readonly stack: Int32Array;
  /** Nodes changed since the last search, applied lazily (an index that is not searched costs nothing). */
  private readonly dirty: number[] = [];
  private readonly isDirty: Uint8Array;
  private readonly activeFn: ((i: number) => boolean) | undefined;

  /**
   * Indexes `slots` of `cluster`, in that order (the order `first` prefers). `active` says which
   * nodes are switched on (default all); it is asked again whenever a node is marked changed.
   */
  constructor(
    private readonly cluster: ClusterState,
    slots: ArrayLike<number>,
    active?: (i: number) => boolean,
  ) {
    this.activeFn = active;
    let size = 1;
    while (size < slots.length) size *= 2;
    this.size = size;
    this.members = Int32Array.from(slots);
    this.pos = new Int32Array(cluster.slots).fill(-1);
    this.active = new Uint8Array(slots.length);
    this.cpu = new Float64Array(2 * size).fill(-Infinity);
    this.mem = new Float64Array(2 * size).fill(-Infinity);
    this.pods = new Float64Array(2 * size).fill(-Infinity);
    this.u = new Float64Array(2 * size).fill(-Infinity);
    this.v = new Float64Array(2 * size).fill(-Infinity);
    this.stack = new Int32Array(2 * (Math.log2(size) + 2));
    this.isDirty = new Uint8Array(slots.length);
    for (let k = 0; k < slots.length; k++) {
      const i = slots[k]!;
      this.pos[i] = k;
      this.active[k] = !active || active(i) ? 1 : 0;
      this.setLeaf(k, i);
    }
    for (let v = size - 1; v >= 1; v--) this.pull(v);
  }

  /** Nodes in the index (on or off). */
  get length(): number {
    return this.members.length;
  }

  /** True if node slot `i` is indexed (on or off). */
  has(i: number): boolean {
    return i < this.pos.length && this.pos[i]! >= 0;
  }

  /** True if node slot `i` is indexed and switched on. */
  isActive(i: number): boolean {
    return this.has(i) && this.active[this.pos[i]!] === 1;
  }

  /** Switches node `i` on or off (an off node is never returned). */
  setActive(i: number, on: boolean): void {
    if (!this.has(i)) return;
    const k = this.pos[i]!;
    if ((this.active[k] === 1) === on) return;
    this.active[k] = on ? 1 : 0;
    this.update(i);
  }

  /** Notes that node `i` changed (usage, or whether it is on); the index re-reads it before its next search. */
  markChanged(i: number): void {
    if (i >= this.pos.length) return;
    const k = this.pos[i]!;
    if (k < 0 || this.isDirty[k] === 1) return;
    this.isDirty[k] = 1;
    this.dirty.push(k);
  }

  private flush(): void {
    const d = this.dirty;
    if (d.length === 0) return;
    for (let j = 0; j < d.length; j++) {
      const k = d[j]!;
      this.isDirty[k] = 0;
      const i = this.members[k]!;
      if (this.activeFn) this.active[k] = this.activeFn(i) ? 1 : 0;
      this.setLeaf(k, i);
      for (let v = (this.size + k) >> 1; v >= 1; v >>= 1) this.pull(v);
    }
    d.length = 0;
  }

  /** Re-reads node `i`'s free capacity (after pods were placed or removed there). */
  update(i: number): void {
    if (i >= this.pos.length) return;
    const k = this.pos[i]!;
    if (k < 0) return;
    this.setLeaf(k, i);
    for (let v = (this.size + k) >> 1; v >= 1; v >>= 1) this.pull(v);
  }

  /**
   * The first active node, in index order, with free cpu, memory and a pod slot for `q` that
   * `accept` also takes; -1 if none.
   */
  first(q: ResourceRequest | undefined, accept: (i: number) => boolean): number {
    this.flush();
    const qc = q && q.cpu > 0 ? q.cpu : -Infinity;
    const qm = q && q.memory > 0 ? q.memory : -Infinity;
    const { cpu, mem, pods, size, members } = this;
    let v = 1;
    for (;;) {
      if (cpu[v]! >= qc && mem[v]! >= qm && pods[v]! >= 1) {
        if (v >= size) {
          const k = v - size;
          if (k < members.length && accept(members[k]!)) return members[k]!;
        } else {
          v = 2 * v;
          continue;
        }
      }
      // Next subtree to the right: climb while we are a right child, then step to the sibling.
      while (v & 1) {
        v >>= 1;
        if (v === 0) return -1;
      }
      v++;
    }
  }

  /**
   * The active node with room for `q` (and taken by `accept`) whose free capacity best aligns with
   * `q` (see the file comment); ties go to the earlier leaf; -1 if none. With a `budget`, the search
   * stops after that many subtree visits once it has a candidate, returning the best seen.
   */
  bestAligned(q: ResourceRequest | undefined, accept: (i: number) => boolean, budget = Infinity): number {
    this.flush();
    let visits = 0;
    const rc = q && q.cpu > 0 ? q.cpu : 0;
    const rm = q && q.memory > 0 ? q.memory : 0;
    const qc = rc > 0 ? rc : -Infinity;
    const qm = rm > 0 ? rm : -Infinity;
    const { cpu, mem, pods, u, v, size, members, stack } = this;
    const levels = 31 - Math.clz32(size);
    let best = -1;
    let bestLeaf = Infinity;
    let bestScore = -Infinity;
    let top = 0;
    stack[top++] = 1;
    while (top > 0) {
      const n = stack[--top]!;
      if (cpu[n]! < qc || mem[n]! < qm || pods[n]! < 1) continue;
      // Past the budget, settle for the best found (the descent goes best-first, so it is a good one).
      if (best >= 0 && ++visits > budget) break;
      const bound = rc * u[n]! + rm * v[n]!;
      if (bound < bestScore) continue;
      // An equal score only wins with an earlier leaf: prune subtrees that start after the best.
      if (bound === bestScore && (n << (levels - (31 - Math.clz32(n)))) - size > bestLeaf) continue;
      if (n >= size) {
        const k = n - size;
        if (k < members.length && accept(members[k]!)) {
          best = members[k]!;
          bestLeaf = k;
          bestScore = bound;
        }
        continue;
      }
      const l = 2 * n;
      const r = l + 1;
      const bl = rc * u[l]! + rm * v[l]!;
      const br = rc * u[r]! + rm * v[r]!;
      // Visit the more promising child first (pushed last); on equal bounds, the left one.
      if (br > bl) {
        stack[top++] = l;
        stack[top++] = r;
      } else {
        stack[top++] = r;
        stack[top++] = l;
      }
    }
    return best;
  }

  private setLeaf(k: number, i: number): void {
    const c = this.cluster;
    const n = this.size + k;
    if (this.active[k] !== 1) {
      this.cpu[n] = this.mem[n] = this.pods[n] = this.u[n] = this.v[n] = -Infinity;
      return;
    }
    const ac = c.allocCpu[i]!;
    const am = c.allocMemory[i]!;
    const fc = ac - c.usedCpu[i]!;
    const fm = am - c.usedMemory[i]!;
    this.cpu[n] = fc;
    this.mem[n] = fm;
    this.pods[n] = c.allocPods[i]! - c.usedPods[i]!;
    this.u[n] = ac > 0 ? fc / (ac * ac) : 0;
    this.v[n] = am > 0 ? fm / (am * am) : 0;
  }

  private pull(n: number): void {
    const l = 2 * n;
    const r = l + 1;
    this.cpu[n] = Math.max(this.cpu[l]!, this.cpu[r]!);
    this.mem[n] = Math.max(this.mem[l]!, this.mem[r]!);
    this.pods[n] = Math.max(this.pods[l]!, this.pods[r]!);
    this.u[n] = Math.max(this.u[l]!, this.u[r]!);
    this.v[n] = Math.max(this.v[l]!, this.v[r]!);
  }
}
