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
 * The maxima of cpu and of memory may come from different nodes, so a subtree can pass both and
 * still hold no node with room for the pod; on a fleet of half-full nodes the searches then wander
 * (1M pods on 10,000 nodes: 1,700 entries visited before the first fit, 16 with what follows). For
 * each pod shape asked about (memory per core, in quarter octaves), the index also keeps the
 * largest `min(free cpu / 1 core, free memory / 2^shape GiB)` over the nodes below each entry that
 * have a pod slot free: a node with room for the pod has at least the pod's own value there, so a
 * subtree below the pod's value is skipped, and for a pod of exactly that shape the test is exact.
 *
 * A node can be switched off (`setActive`) without rebuilding: its leaf then holds −∞. An update
 * after a placement is O(log n). `accept` is the full filter check; subtrees only prune.
 *
 * Every leaf change is logged, so a search that found nothing can be asked again cheaply
 * (`SearchMemo`): only the nodes changed since the failure can have become candidates, as long as
 * the `accept` of the search depends on nothing but the node itself (its class and its usage).
 */

import type { ClusterState } from './cluster.js';
import type { ResourceRequest } from './types.js';

/**
 * A caller's memory of a search that found nothing: the index's change count at that moment
 * (-1: no failure remembered). Valid only across searches with the same request and an `accept`
 * that reads nothing but the node's own state.
 */
export interface SearchMemo {
  failedAt: number;
}

/** Changed nodes a remembered failure re-examines one by one; past this many, the full search runs again. */
const MEMO_RESCAN_LIMIT = 512;

/** Pod shapes with a witness array (see the file comment): memory per core from 2^-4 to 2^7 GiB, in steps of 1/SHAPE_STEPS octave. */
const SHAPE_STEPS = 4;
const SHAPE_MIN = -4 * SHAPE_STEPS;
const SHAPE_MAX = 7 * SHAPE_STEPS;
const GIB = 2 ** 30;

/** The witness shape of a pod requesting `rc` millicores and `rm` bytes (both > 0): memory per core in quarter octaves, clamped. */
function witnessShape(rc: number, rm: number): number {
  return Math.min(SHAPE_MAX, Math.max(SHAPE_MIN, Math.round(SHAPE_STEPS * Math.log2(rm / GIB / (rc / 1000)))));
}

/** Memory per witness unit of a shape, bytes (2^(shape / SHAPE_STEPS) GiB). */
function witnessUnit(shape: number): number {
  return 2 ** (shape / SHAPE_STEPS) * GIB;
}

/** The pod's own value in its shape's witness array: a node with room for it has at least this much there. */
function witnessNeed(rc: number, rm: number): number {
  return Math.min(rc / 1000, rm / witnessUnit(witnessShape(rc, rm)));
}

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
  /** Slots whose leaf was re-read, in order (see SearchMemo); `changes` entries are used. */
  private log = new Int32Array(64);
  private changes = 0;
  /** Bounds of the entries on `stack` (the alignment bound each was pushed with). */
  private readonly bounds: Float64Array;
  /** Per pod shape (index shape − SHAPE_MIN): the shape witness of each entry, built on first use. */
  private readonly witnesses: (Float64Array | undefined)[] = [];
  /** The built witnesses, densely (what every update maintains), and the memory per witness unit of each, bytes (2^shape GiB). */
  private readonly builtWitnesses: Float64Array[] = [];
  private readonly builtUnits: number[] = [];

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
    this.bounds = new Float64Array(this.stack.length);
    this.isDirty = new Uint8Array(slots.length);
    for (let k = 0; k < slots.length; k++) {
      const i = slots[k]!;
      this.pos[i] = k;
      this.active[k] = !active || active(i) ? 1 : 0;
      this.setLeaf(k, i);
    }
    for (let v = size - 1; v >= 1; v--) this.pull(v);
  }

  /** Re-reads leaf k (node i) and its ancestors, stopping at the first one that does not change (nor then will those above it). */
  private refreshLeaf(k: number, i: number): void {
    this.setLeaf(k, i);
    this.logChange(i);
    for (let v = (this.size + k) >> 1; v >= 1; v >>= 1) if (!this.pull(v)) break;
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
      this.refreshLeaf(k, i);
    }
    d.length = 0;
  }

  /** Re-reads node `i`'s free capacity (after pods were placed or removed there). */
  update(i: number): void {
    if (i >= this.pos.length) return;
    const k = this.pos[i]!;
    if (k < 0) return;
    this.refreshLeaf(k, i);
  }

  private logChange(i: number): void {
    if (this.changes === this.log.length) {
      const grown = new Int32Array(this.log.length * 2);
      grown.set(this.log);
      this.log = grown;
    }
    this.log[this.changes++] = i;
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
   * stops after that many subtree visits once it has a candidate, returning the best seen. With a
   * `memo` of an earlier failure (see SearchMemo), only the nodes changed since are examined. With
   * `giveUp`, a search that has made that many visits without a candidate stops and returns -1
   * (for a preference that is not worth a long search; such a failure is not remembered).
   */
  bestAligned(q: ResourceRequest | undefined, accept: (i: number) => boolean, budget = Infinity, memo?: SearchMemo, giveUp = Infinity): number {
    this.flush();
    const rc = q && q.cpu > 0 ? q.cpu : 0;
    const rm = q && q.memory > 0 ? q.memory : 0;
    if (memo && memo.failedAt >= 0 && this.changes - memo.failedAt <= MEMO_RESCAN_LIMIT) {
      const best = this.bestAmongChanged(memo.failedAt, rc, rm, accept);
      memo.failedAt = best < 0 ? this.changes : -1;
      return best;
    }
    let visits = 0;
    let searched = 0;
    const qc = rc > 0 ? rc : -Infinity;
    const qm = rm > 0 ? rm : -Infinity;
    const { cpu, mem, pods, u, v, size, members, stack, bounds } = this;
    // Without a witness (a pod asking for one resource or neither), every entry passes it.
    const both = rc > 0 && rm > 0;
    const w = both ? this.witness(rc, rm) : pods;
    const need = both ? witnessNeed(rc, rm) : 1;
    const levels = 31 - Math.clz32(size);
    let best = -1;
    let bestLeaf = Infinity;
    let bestScore = -Infinity;
    let top = 0;
    if (cpu[1]! >= qc && mem[1]! >= qm && pods[1]! >= 1 && w[1]! >= need) {
      bounds[top] = rc * u[1]! + rm * v[1]!;
      stack[top++] = 1;
    }
    // Only subtrees whose maxima can hold the request are pushed, each with its bound.
    while (top > 0) {
      const n = stack[--top]!;
      const bound = bounds[top]!;
      // Past the budget, settle for the best found (the descent goes best-first, so it is a good one).
      if (best >= 0 && ++visits > budget) break;
      if (best < 0 && ++searched > giveUp) {
        if (memo) memo.failedAt = -1;
        return -1;
      }
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
      const okL = cpu[l]! >= qc && mem[l]! >= qm && pods[l]! >= 1 && w[l]! >= need;
      const okR = cpu[r]! >= qc && mem[r]! >= qm && pods[r]! >= 1 && w[r]! >= need;
      const bl = okL ? rc * u[l]! + rm * v[l]! : -Infinity;
      const br = okR ? rc * u[r]! + rm * v[r]! : -Infinity;
      // Visit the more promising child first (pushed last); on equal bounds, the left one.
      if (br > bl) {
        if (okL) {
          bounds[top] = bl;
          stack[top++] = l;
        }
        bounds[top] = br;
        stack[top++] = r;
      } else {
        if (okR) {
          bounds[top] = br;
          stack[top++] = r;
        }
        if (okL) {
          bounds[top] = bl;
          stack[top++] = l;
        }
      }
    }
    if (memo) memo.failedAt = best < 0 ? this.changes : -1;
    return best;
  }

  /** The best-aligned fitting node among those changed since change `from` (the rest are known not to fit). */
  private bestAmongChanged(from: number, rc: number, rm: number, accept: (i: number) => boolean): number {
    let best = -1;
    let bestLeaf = Infinity;
    let bestScore = -Infinity;
    for (let j = from; j < this.changes; j++) {
      const i = this.log[j]!;
      const k = this.pos[i]!;
      const n = this.size + k;
      if (this.active[k] !== 1 || this.pods[n]! < 1) continue;
      if ((rc > 0 && this.cpu[n]! < rc) || (rm > 0 && this.mem[n]! < rm)) continue;
      const score = rc * this.u[n]! + rm * this.v[n]!;
      if (score < bestScore || (score === bestScore && k >= bestLeaf)) continue;
      if (!accept(i)) continue;
      best = i;
      bestLeaf = k;
      bestScore = score;
    }
    return best;
  }

  private setLeaf(k: number, i: number): void {
    const c = this.cluster;
    const n = this.size + k;
    if (this.active[k] !== 1) {
      this.cpu[n] = this.mem[n] = this.pods[n] = this.u[n] = this.v[n] = -Infinity;
      for (const w of this.builtWitnesses) w[n] = -Infinity;
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
    const ws = this.builtWitnesses;
    for (let j = 0; j < ws.length; j++) ws[j]![n] = this.pods[n]! >= 1 ? Math.min(fc / 1000, fm / this.builtUnits[j]!) : -Infinity;
  }

  /** The witness array for a pod requesting `rc` millicores and `rm` bytes (both > 0), built now if new; the pod's own value there is `witnessNeed(rc, rm)`. */
  private witness(rc: number, rm: number): Float64Array {
    const shape = witnessShape(rc, rm);
    const j = shape - SHAPE_MIN;
    const unit = witnessUnit(shape);
    let w = this.witnesses[j];
    if (w === undefined) {
      w = new Float64Array(2 * this.size).fill(-Infinity);
      this.witnesses[j] = w;
      this.builtWitnesses.push(w);
      this.builtUnits.push(unit);
      for (let k = 0; k < this.members.length; k++) {
        const n = this.size + k;
        if (this.pods[n]! >= 1) w[n] = Math.min(this.cpu[n]! / 1000, this.mem[n]! / unit);
      }
      for (let v = this.size - 1; v >= 1; v--) w[v] = Math.max(w[2 * v]!, w[2 * v + 1]!);
    }
    return w;
  }

  /** Recomputes entry n's maxima from its children; true if any of them changed. */
  private pull(n: number): boolean {
    const l = 2 * n;
    const r = l + 1;
    const { cpu, mem, pods, u, v } = this;
    const c = Math.max(cpu[l]!, cpu[r]!);
    const m = Math.max(mem[l]!, mem[r]!);
    const p = Math.max(pods[l]!, pods[r]!);
    const a = Math.max(u[l]!, u[r]!);
    const b = Math.max(v[l]!, v[r]!);
    let changed = c !== cpu[n] || m !== mem[n] || p !== pods[n] || a !== u[n] || b !== v[n];
    cpu[n] = c;
    mem[n] = m;
    pods[n] = p;
    u[n] = a;
    v[n] = b;
    const ws = this.builtWitnesses;
    for (let j = 0; j < ws.length; j++) {
      const w = ws[j]!;
      const x = Math.max(w[l]!, w[r]!);
      if (x !== w[n]) {
        w[n] = x;
        changed = true;
      }
    }
    return changed;
  }
}
