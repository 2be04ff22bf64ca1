/**
 * Who uses each instance, for the bill by namespace and workload: the allocation controller keeps
 * on every open instance UsageRecord the shares of the pods on its Node, by requests, and the
 * share-time accumulated so far. A pod's share of its node is the mean of its cpu and memory
 * requests over the node's allocatable (as Kubecost and OpenCost split a node's cost between its
 * cpu and its memory); what no pod requested is the node's idle share.
 *
 * Level-based, keyed by record name: a reconcile computes the shares from the pods bound to the
 * Node now and, if they differ from the record's, adds the old shares × the time since they took
 * effect and writes the new ones. A closed record gets its last shares accounted up to its end.
 * The shares are written when they change, so what a record says survives a restart; the time
 * between the last change and a restart is accounted to the shares then in effect.
 */
import { isNotFound } from '../api/errors.js';
import { controllerRef, deepEqual } from '../api/meta.js';
import { resourceAmount } from '../api/quantity.js';
import type { Node, Pod, ResourceList } from '../api/types.js';
import { Kinds } from '../client/client.js';
import type { Controller, Manager, ReconcileContext, Reconciler } from '../runtime/manager.js';
import { controllerFor } from '../runtime/manager.js';
import { BillingKinds, RECORD_OPEN_LABEL, type UsageAllocation, type UsageRecord } from './billing-types.js';
import type { Catalog } from './catalog.js';
import { nodeResources } from './allocatable.js';

const RECORD_NODE_INDEX = 'billing/spec.nodeName';
const POD_NODE_INDEX = 'cloud/spec.nodeName';

/** A pod's effective requests: max(largest init container, app containers + sidecars) + overhead; millicores and bytes. */
export function podRequestTotals(pod: Pod): { cpu: number; memory: number } {
  const sum = (list: ResourceList | undefined, name: string): number => {
    const q = list?.[name];
    return q === undefined ? 0 : resourceAmount(name, q);
  };
  // A request defaults to the limit (core/v1 defaulting).
  const req = (c: { resources?: { requests?: ResourceList; limits?: ResourceList } }, name: string): number => (c.resources?.requests?.[name] !== undefined ? sum(c.resources.requests, name) : sum(c.resources?.limits, name));
  const out = { cpu: 0, memory: 0 };
  for (const name of ['cpu', 'memory'] as const) {
    let app = 0;
    for (const c of pod.spec.containers ?? []) app += req(c, name);
    let init = 0;
    for (const c of pod.spec.initContainers ?? []) {
      if (c.restartPolicy === 'Always') app += req(c, name);
      else init = Math.max(init, req(c, name));
    }
    out[name] = Math.max(app, init) + sum(pod.spec.overhead as ResourceList | undefined, name);
  }
  return out;
}

/**
 * The workload a pod belongs to, as `namespace/kind/name`: its controller, with a ReplicaSet made
 * by a Deployment (named `<deployment>-<pod-template-hash>`) counted as the Deployment; a pod
 * without a controller is its own workload.
 */
export function workloadKey(pod: Pod): string {
  const ns = pod.metadata.namespace ?? 'default';
  const c = controllerRef(pod);
  if (!c) return `${ns}/pod/${pod.metadata.name}`;
  const hash = pod.metadata.labels?.['pod-template-hash'];
  if (c.kind === 'ReplicaSet' && hash && c.name.endsWith(`-${hash}`)) return `${ns}/deployment/${c.name.slice(0, -hash.length - 1)}`;
  return `${ns}/${c.kind.toLowerCase()}/${c.name}`;
}

/** Shares rounded to 1e-6 (so rounding noise does not cause writes). */
function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** The pods' shares of a node with `allocatable` (millicores, bytes), by workload key. */
export function podShares(pods: readonly Pod[], allocatable: { cpu: number; memory: number }): Record<string, number> {
  const raw = new Map<string, number>();
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const r = podRequestTotals(p);
    const share = ((allocatable.cpu > 0 ? r.cpu / allocatable.cpu : 0) + (allocatable.memory > 0 ? r.memory / allocatable.memory : 0)) / 2;
    if (share <= 0) continue;
    const k = workloadKey(p);
    raw.set(k, (raw.get(k) ?? 0) + share);
  }
  const out: Record<string, number> = {};
  for (const k of [...raw.keys()].sort()) out[k] = round6(raw.get(k)!);
  return out;
}

/** The allocation with `current` accounted up to `at`. */
function accountTo(a: UsageAllocation, at: number): UsageAllocation {
  const dt = Math.max(0, at - a.sinceMs);
  const acc = { ...a.accumulated };
  if (dt > 0) for (const [k, v] of Object.entries(a.current)) acc[k] = (acc[k] ?? 0) + v * dt;
  return { accumulated: acc, current: a.current, sinceMs: Math.max(a.sinceMs, at) };
}

export class AllocationController implements Reconciler {
  private readonly records;
  private readonly pods;
  private readonly nodes;

  constructor(
    mgr: Manager,
    private readonly catalog: Catalog,
  ) {
    this.records = mgr.informer<UsageRecord>(BillingKinds.UsageRecord);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.records.cache.addIndex(RECORD_NODE_INDEX, (r) => (r.spec?.nodeName && r.metadata.labels?.[RECORD_OPEN_LABEL] === 'true' ? [r.spec.nodeName] : []));
    this.pods.cache.addIndex(POD_NODE_INDEX, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  }

  static install(mgr: Manager, catalog: Catalog): Controller {
    const r = new AllocationController(mgr, catalog);
    const open = (nodeName: string | undefined): string[] => (nodeName ? r.records.cache.byIndex(RECORD_NODE_INDEX, nodeName).map((x) => x.metadata.name!) : []);
    return controllerFor(mgr, BillingKinds.UsageRecord)
      .named('billing-allocation')
      .watches(Kinds.Pod, (p) => open((p as Pod).spec?.nodeName))
      .watches(Kinds.Node, (n) => open(n.metadata.name))
      .complete(r);
  }

  async reconcile(ctx: ReconcileContext, name: string): Promise<void> {
    const rec = this.records.cache.get(name);
    if (!rec || rec.spec.resourceType !== 'instance' || !rec.spec.nodeName) return;
    const cur: UsageAllocation = rec.status?.allocation ?? { accumulated: {}, current: {}, sinceMs: rec.spec.startMs };
    let next: UsageAllocation;
    if (rec.spec.endMs !== undefined) {
      if (cur.sinceMs >= rec.spec.endMs && !Object.keys(cur.current).length) return;
      next = { ...accountTo(cur, rec.spec.endMs), current: {} };
    } else {
      const shares = podShares(this.pods.cache.byIndex(POD_NODE_INDEX, rec.spec.nodeName), this.allocatable(rec));
      if (deepEqual(shares, cur.current)) return;
      const now = Math.max(ctx.clock.now(), rec.spec.startMs);
      next = { ...accountTo(cur, now), current: shares };
    }
    // This controller is the status's only writer: no resourceVersion precondition (the spec may have moved on).
    const obj: UsageRecord = { ...rec, metadata: { ...rec.metadata }, status: { ...rec.status, allocation: next } };
    delete obj.metadata.resourceVersion;
    try {
      await ctx.client.updateStatus<UsageRecord>(obj);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** The node's allocatable cpu (millicores) and memory (bytes): from the Node, else from the catalogue. */
  private allocatable(rec: UsageRecord): { cpu: number; memory: number } {
    let alloc: ResourceList | undefined = this.nodes.cache.get(rec.spec.nodeName!)?.status?.allocatable;
    if (!alloc?.cpu) {
      const info = this.catalog.get(rec.spec.instanceType);
      alloc = info ? nodeResources(info).allocatable : {};
    }
    return { cpu: alloc.cpu !== undefined ? resourceAmount('cpu', alloc.cpu) : 0, memory: alloc.memory !== undefined ? resourceAmount('memory', alloc.memory) : 0 };
  }
}
