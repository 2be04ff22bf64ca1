/**
 * The cluster as the scheduler's plugins read it: one slot per node, with the node's allocatable
 * and requested resources in typed-array columns, its node class, and, per pod class, how many pods
 * of the class sit on each node. It is kube-scheduler's snapshot (pkg/scheduler/backend/cache)
 * laid out for speed: a Filter reads `usedCpu[i]`, not a NodeInfo object, and placing k replicas
 * of one template is one update, not k objects.
 *
 * Node classes group nodes the static filters cannot tell apart: the same labels (other than
 * `kubernetes.io/hostname`), the same taints (the not-ready taint included) and the same
 * `spec.unschedulable`. A filter that depends only on those (TaintToleration, NodeUnschedulable,
 * NodeAffinity without hostname terms) is evaluated once per node class, not once per node.
 *
 * Everything is synchronous: a scheduling cycle or batch reads and changes the state with no
 * await in between, so no watch event moves it underneath a decision.
 */
import type { Selector } from '../../api/labels.js';
import type { Node, Pod, Taint } from '../../api/types.js';
import { HOSTNAME_LABEL, PodClass, PodClassTable, type NamespaceLabels } from './pod-class.js';
import { toAmounts } from './resources.js';
import { effectiveTaints } from './taints.js';

export interface NodeClass {
  readonly id: number;
  readonly key: string;
  /** The nodes' labels without `kubernetes.io/hostname`. */
  readonly labels: Readonly<Record<string, string>>;
  /** `effectiveTaints` of the nodes. */
  readonly taints: readonly Taint[];
  readonly unschedulable: boolean;
  /** Nodes of the class in the state. */
  size: number;
}

/** A topology key's domains: the values nodes carry for it. */
export interface Topology {
  readonly key: string;
  /** Domain values, by domain index. */
  readonly values: readonly string[];
  /** Domain index by value. */
  readonly index: ReadonlyMap<string, number>;
  /** Per node slot: the index of the node's value, or -1 when it lacks the label (or the slot is empty). */
  readonly domainOf: Int32Array;
}

/** Told when k pods of a class are placed (k > 0) or removed (k < 0) on node `node`. */
export type PlacementWatcher = (node: number, k: number) => void;

/**
 * A scheduling cycle's or batch's scratch space: compiled plugins register watchers for the pod
 * classes they count (inter-pod affinity, topology spread), so their counts follow placements made
 * during the session without being worked out again.
 */
export class Session {
  private readonly watchers = new Map<PodClass, PlacementWatcher[]>();
  /** Per-session memo for plugins, keyed by whatever they choose. */
  readonly memo = new Map<unknown, unknown>();

  watch(c: PodClass, w: PlacementWatcher): void {
    const l = this.watchers.get(c);
    if (l) l.push(w);
    else this.watchers.set(c, [w]);
  }

  notify(c: PodClass, node: number, k: number): void {
    const l = this.watchers.get(c);
    if (l) for (const w of l) w(node, k);
  }
}

interface ExtColumn {
  alloc: Float64Array;
  used: Float64Array;
}

const STANDARD = new Set(['cpu', 'memory', 'ephemeral-storage', 'pods']);

export class ClusterState {
  /** Slots ever used (alive or free); columns are at least this long. */
  slots = 0;
  private capacity = 0;
  /** The Node in each slot (undefined for a free slot). */
  nodes: (Node | undefined)[] = [];
  names: string[] = [];
  private readonly byName = new Map<string, number>();
  private readonly freeSlots: number[] = [];
  nodeClassOf = new Int32Array(0);
  allocCpu = new Float64Array(0);
  allocMemory = new Float64Array(0);
  allocEphemeral = new Float64Array(0);
  allocPods = new Float64Array(0);
  usedCpu = new Float64Array(0);
  usedMemory = new Float64Array(0);
  usedEphemeral = new Float64Array(0);
  usedPods = new Float64Array(0);
  /** Scoring cpu and memory of the node's pods, with the 100m / 200Mi defaults. */
  nonZeroCpu = new Float64Array(0);
  nonZeroMemory = new Float64Array(0);
  private readonly ext = new Map<string, ExtColumn>();
  private readonly nodeClassByKey = new Map<string, NodeClass>();
  /** Node classes by id (a removed class leaves a hole). */
  nodeClasses: (NodeClass | undefined)[] = [];
  private orderDirty = true;
  private _order = new Int32Array(0);
  private _rank = new Int32Array(0);
  private readonly topologies = new Map<string, Topology>();
  /** Host ports taken per node: `protocol/port` → ip → count. */
  private readonly ports = new Map<number, Map<string, Map<string, number>>>();
  /** Placed pods per priority (preemption looks for lower ones). */
  private readonly priorities = new Map<number, number>();
  readonly classes = new PodClassTable();
  /** Labels of the namespaces seen (for `namespaceSelector`). */
  readonly namespaceLabels = new Map<string, Record<string, string>>();
  readonly nsLabels: NamespaceLabels = (ns) => this.namespaceLabels.get(ns);
  session: Session | undefined;
  /**
   * The selector of the Services, ReplicaSets and StatefulSets a pod belongs to (kube-scheduler's
   * `helper.DefaultSelector`), for PodTopologySpread's default constraints; set by the scheduler
   * from its informers (undefined: no owners known, so no default constraints).
   */
  ownerSelector: ((pod: Pod) => Selector) | undefined;
  /** Told after a node's usage changes (the batch engine keeps its capacity indexes with it). */
  onUsageChange: ((node: number) => void) | undefined;
  /** Bumped whenever nodes come, go or change labels or taints: per-node-class caches key on it. */
  version = 0;

  // ---------------------------------------------------------------------------------------------
  // Nodes

  get nodeCount(): number {
    return this.byName.size;
  }

  /** The slot of a node by name, or -1. */
  indexOf(name: string): number {
    return this.byName.get(name) ?? -1;
  }

  /** Alive slots sorted by node name: the order nodes are tried in and ties are broken by. */
  get order(): Int32Array {
    if (this.orderDirty) this.rebuildOrder();
    return this._order;
  }

  /** A slot's position in `order` (lower wins a tie). */
  get rank(): Int32Array {
    if (this.orderDirty) this.rebuildOrder();
    return this._rank;
  }

  /** Adds a node, or replaces the Node object of one already here (keeping its pods). Returns its slot. */
  setNode(node: Node): number {
    const name = node.metadata.name!;
    let i = this.byName.get(name);
    if (i === undefined) {
      i = this.freeSlots.pop() ?? this.slots++;
      this.ensure(this.slots);
      this.byName.set(name, i);
      this.names[i] = name;
      this.orderDirty = true;
    } else {
      const old = this.nodeClasses[this.nodeClassOf[i]!];
      if (old) this.leaveClass(old);
    }
    this.nodes[i] = node;
    const alloc = toAmounts(node.status?.allocatable ?? node.status?.capacity);
    this.allocCpu[i] = alloc.cpu ?? 0;
    this.allocMemory[i] = alloc.memory ?? 0;
    this.allocEphemeral[i] = alloc['ephemeral-storage'] ?? 0;
    this.allocPods[i] = alloc.pods ?? 0;
    for (const [name2, col] of this.ext) col.alloc[i] = alloc[name2] ?? 0;
    for (const [name2, v] of Object.entries(alloc)) if (!STANDARD.has(name2)) this.extColumn(name2).alloc[i] = v;
    this.nodeClassOf[i] = this.joinClass(node).id;
    this.topologies.clear();
    this.version++;
    return i;
  }

  /** Removes a node; pods counted on it stay counted until removed (the cache re-homes them). */
  removeNode(name: string): void {
    const i = this.byName.get(name);
    if (i === undefined) return;
    const cls = this.nodeClasses[this.nodeClassOf[i]!];
    if (cls) this.leaveClass(cls);
    this.byName.delete(name);
    this.nodes[i] = undefined;
    this.names[i] = '';
    this.nodeClassOf[i] = -1;
    this.allocCpu[i] = this.allocMemory[i] = this.allocEphemeral[i] = this.allocPods[i] = 0;
    for (const col of this.ext.values()) col.alloc[i] = 0;
    this.freeSlots.push(i);
    this.orderDirty = true;
    this.topologies.clear();
    this.version++;
  }

  /** True if slot `i` holds a node. */
  alive(i: number): boolean {
    return this.nodes[i] !== undefined;
  }

  /** The node class of slot `i`. */
  nodeClass(i: number): NodeClass {
    return this.nodeClasses[this.nodeClassOf[i]!]!;
  }

  private reps: { version: number; slots: Int32Array } | undefined;

  /** One node slot of each node class, by class id (-1 for an id with no class), worked out once per version. */
  nodeClassRepresentatives(): Int32Array {
    if (this.reps?.version === this.version) return this.reps.slots;
    const slots = new Int32Array(this.nodeClassIdLimit).fill(-1);
    for (const i of this.order) {
      const c = this.nodeClassOf[i]!;
      if (slots[c]! < 0) slots[c] = i;
    }
    this.reps = { version: this.version, slots };
    return slots;
  }

  /** One past the largest node class id (arrays indexed by class id use this length). */
  get nodeClassIdLimit(): number {
    return this.nodeClasses.length;
  }

  /** A node's label (its own labels, hostname included). */
  label(i: number, key: string): string | undefined {
    return this.nodes[i]?.metadata.labels?.[key];
  }

  /** The domains of `key`, worked out once per node-set version. */
  topology(key: string): Topology {
    let t = this.topologies.get(key);
    if (t) return t;
    const values: string[] = [];
    const index = new Map<string, number>();
    const domainOf = new Int32Array(this.slots).fill(-1);
    for (const i of this.order) {
      const v = this.nodes[i]!.metadata.labels?.[key];
      if (v === undefined) continue;
      let d = index.get(v);
      if (d === undefined) {
        d = values.length;
        values.push(v);
        index.set(v, d);
      }
      domainOf[i] = d;
    }
    t = { key, values, index, domainOf };
    this.topologies.set(key, t);
    return t;
  }

  /** Allocatable and requested columns of a resource other than cpu, memory, ephemeral-storage and pods. */
  extColumn(name: string): ExtColumn {
    let col = this.ext.get(name);
    if (!col) {
      col = { alloc: new Float64Array(this.capacity), used: new Float64Array(this.capacity) };
      this.ext.set(name, col);
    }
    return col;
  }

  /** The extended resources any node offers or any pod requests. */
  extendedResources(): IterableIterator<string> {
    return this.ext.keys();
  }

  /** Allocatable of any resource on slot `i` (millicores, bytes, counts). */
  allocatable(i: number, resource: string): number {
    switch (resource) {
      case 'cpu':
        return this.allocCpu[i]!;
      case 'memory':
        return this.allocMemory[i]!;
      case 'ephemeral-storage':
        return this.allocEphemeral[i]!;
      case 'pods':
        return this.allocPods[i]!;
      default:
        return this.ext.get(resource)?.alloc[i] ?? 0;
    }
  }

  /** Requested of any resource on slot `i` (millicores, bytes, counts). */
  requested(i: number, resource: string): number {
    switch (resource) {
      case 'cpu':
        return this.usedCpu[i]!;
      case 'memory':
        return this.usedMemory[i]!;
      case 'ephemeral-storage':
        return this.usedEphemeral[i]!;
      case 'pods':
        return this.usedPods[i]!;
      default:
        return this.ext.get(resource)?.used[i] ?? 0;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Pods

  /**
   * Counts k pods of class `c` on node slot `i` (k < 0 removes them): their requests, host ports
   * and the class's placement; watchers of the session and the usage listener are told.
   */
  addPods(c: PodClass, i: number, k: number): void {
    this.usedCpu[i] += k * c.cpu;
    this.usedMemory[i] += k * c.memory;
    this.usedEphemeral[i] += k * c.ephemeralStorage;
    this.usedPods[i] += k;
    this.nonZeroCpu[i] += k * c.nonZeroCpu;
    this.nonZeroMemory[i] += k * c.nonZeroMemory;
    const ext = c.extended;
    for (let e = 0; e < ext.length; e++) this.extColumn(ext[e]![0]).used[i] += k * ext[e]![1];
    const n = (c.placed.get(i) ?? 0) + k;
    if (n === 0) c.placed.delete(i);
    else c.placed.set(i, n);
    if (c.hostPorts.length) this.takePorts(c, i, k);
    const p = (this.priorities.get(c.priority) ?? 0) + k;
    if (p === 0) this.priorities.delete(c.priority);
    else this.priorities.set(c.priority, p);
    this.session?.notify(c, i, k);
    this.onUsageChange?.(i);
  }

  /** Removes k pods of class `c` from node slot `i`. */
  removePods(c: PodClass, i: number, k: number): void {
    this.addPods(c, i, -k);
  }

  /** True if some placed pod has a priority below `priority` (else preemption cannot help). */
  hasPodsBelow(priority: number): boolean {
    for (const p of this.priorities.keys()) if (p < priority) return true;
    return false;
  }

  /** Host ports taken on node `i`: `protocol/port` → ip → count. */
  portsOn(i: number): ReadonlyMap<string, ReadonlyMap<string, number>> | undefined {
    return this.ports.get(i);
  }

  /** Starts a session (see Session); a session already open is replaced. */
  beginSession(): Session {
    this.session = new Session();
    return this.session;
  }

  endSession(): void {
    this.session = undefined;
  }

  // ---------------------------------------------------------------------------------------------

  private takePorts(c: PodClass, i: number, k: number): void {
    let m = this.ports.get(i);
    if (!m) this.ports.set(i, (m = new Map()));
    for (const p of c.hostPorts) {
      const key = `${p.protocol}/${p.port}`;
      let ips = m.get(key);
      if (!ips) m.set(key, (ips = new Map()));
      const n = (ips.get(p.ip) ?? 0) + k;
      if (n <= 0) ips.delete(p.ip);
      else ips.set(p.ip, n);
      if (ips.size === 0) m.delete(key);
    }
    if (m.size === 0) this.ports.delete(i);
  }

  private joinClass(node: Node): NodeClass {
    const labels: Record<string, string> = {};
    for (const k of Object.keys(node.metadata.labels ?? {}).sort()) if (k !== HOSTNAME_LABEL) labels[k] = node.metadata.labels![k]!;
    const taints = effectiveTaints(node);
    const unschedulable = !!node.spec?.unschedulable;
    const key = JSON.stringify([labels, taints.map((t) => [t.key, t.value ?? '', t.effect]), unschedulable]);
    let c = this.nodeClassByKey.get(key);
    if (!c) {
      c = { id: this.nodeClasses.length, key, labels, taints, unschedulable, size: 0 };
      this.nodeClasses.push(c);
      this.nodeClassByKey.set(key, c);
    }
    c.size++;
    return c;
  }

  private leaveClass(c: NodeClass): void {
    c.size--;
    if (c.size === 0) {
      this.nodeClassByKey.delete(c.key);
      this.nodeClasses[c.id] = undefined;
    }
  }

  private rebuildOrder(): void {
    const alive: number[] = [];
    for (const i of this.byName.values()) alive.push(i);
    alive.sort((a, b) => (this.names[a]! < this.names[b]! ? -1 : this.names[a]! > this.names[b]! ? 1 : 0));
    this._order = Int32Array.from(alive);
    this._rank = new Int32Array(this.slots).fill(-1);
    alive.forEach((i, r) => (this._rank[i] = r));
    this.orderDirty = false;
  }

  private ensure(n: number): void {
    if (n <= this.capacity) return;
    let cap = Math.max(16, this.capacity * 2);
    while (cap < n) cap *= 2;
    const grow = <T extends Float64Array | Int32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.nodeClassOf = grow(this.nodeClassOf);
    this.allocCpu = grow(this.allocCpu);
    this.allocMemory = grow(this.allocMemory);
    this.allocEphemeral = grow(this.allocEphemeral);
    this.allocPods = grow(this.allocPods);
    this.usedCpu = grow(this.usedCpu);
    this.usedMemory = grow(this.usedMemory);
    this.usedEphemeral = grow(this.usedEphemeral);
    this.usedPods = grow(this.usedPods);
    this.nonZeroCpu = grow(this.nonZeroCpu);
    this.nonZeroMemory = grow(this.nonZeroMemory);
    for (const col of this.ext.values()) {
      col.alloc = grow(col.alloc);
      col.used = grow(col.used);
    }
    this.capacity = cap;
  }
}
