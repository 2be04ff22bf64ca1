/**
 * A binary min-heap of items keyed by string, with removal and re-ordering by key in O(log n)
 * (kube-scheduler's pkg/scheduler/backend/heap).
 */
export class KeyedHeap<T> {
  private readonly items: { key: string; value: T }[] = [];
  private readonly pos = new Map<string, number>();

  /** @param less true if `a` comes out before `b`. */
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.pos.has(key);
  }

  get(key: string): T | undefined {
    const i = this.pos.get(key);
    return i === undefined ? undefined : this.items[i]!.value;
  }

  /** Adds an item, or replaces the one with the same key and restores the order. */
  push(key: string, value: T): void {
    const i = this.pos.get(key);
    if (i !== undefined) {
      this.items[i]!.value = value;
      this.fix(i);
      return;
    }
    this.items.push({ key, value });
    this.pos.set(key, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  peek(): T | undefined {
    return this.items[0]?.value;
  }

  pop(): T | undefined {
    if (this.items.length === 0) return undefined;
    return this.removeAt(0);
  }

  delete(key: string): T | undefined {
    const i = this.pos.get(key);
    return i === undefined ? undefined : this.removeAt(i);
  }

  private removeAt(i: number): T {
    const out = this.items[i]!;
    const last = this.items.pop()!;
    this.pos.delete(out.key);
    if (i < this.items.length) {
      this.items[i] = last;
      this.pos.set(last.key, i);
      this.fix(i);
    }
    return out.value;
  }

  private fix(i: number): void {
    if (!this.up(i)) this.down(i);
  }

  private up(i: number): boolean {
    const start = i;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(this.items[i]!.value, this.items[p]!.value)) break;
      this.swap(i, p);
      i = p;
    }
    return i !== start;
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(this.items[l]!.value, this.items[m]!.value)) m = l;
      if (r < n && this.less(this.items[r]!.value, this.items[m]!.value)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const a = this.items[i]!;
    const b = this.items[j]!;
    this.items[i] = b;
    this.items[j] = a;
    this.pos.set(b.key, i);
    this.pos.set(a.key, j);
  }
}
