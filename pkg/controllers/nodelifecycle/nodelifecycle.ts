/**
 * The node lifecycle controller (pkg/controller/nodelifecycle;
 * https://kubernetes.io/docs/concepts/architecture/nodes/#node-controller): a node whose kubelet
 * has not renewed its Lease in `kube-node-lease` (nor posted status) for the grace period
 * (`--node-monitor-grace-period`, 40 s) has its Ready, MemoryPressure, DiskPressure and
 * PIDPressure conditions set to Unknown ("Kubelet stopped posting node status."), and its pods'
 * Ready condition set to False.
 *
 * Taints follow the Ready condition (https://kubernetes.io/docs/reference/labels-annotations-taints/):
 * Ready False → `node.kubernetes.io/not-ready` with effects NoSchedule and NoExecute; Ready
 * Unknown → `node.kubernetes.io/unreachable` with both effects; Ready True → neither. The
 * NoExecute ones drive taint-based eviction (`tainteviction.ts`).
 *
 * Level-based per node: each reconcile compares the newest heartbeat with the clock and asks to be
 * looked at again when the node would next become stale.
 */
import { POD_NODE_INDEX, podNodeIndex } from '../../api/podutil.js';
import { StatusError } from '../../api/errors.js';
import { clone, deepEqual } from '../../api/meta.js';
import type { Condition, KubeObject, Node, Pod, Taint } from '../../api/types.js';
import { parseTime, rfc3339 } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';
import type { Lease } from '../types.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** `--node-monitor-grace-period` (seconds). */
export const NODE_MONITOR_GRACE_SECONDS = 40;
export const NOT_READY = 'node.kubernetes.io/not-ready';
export const UNREACHABLE = 'node.kubernetes.io/unreachable';
const NODE_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export interface NodeLifecycleOptions {
  /** Seconds without a heartbeat before a node is Unknown (default 40). */
  gracePeriodSeconds?: number;
}

/** The newest sign of life of a node: its Lease's renewTime or its Ready heartbeat (ms; NaN if none). */
export function lastHeartbeat(node: Node, lease: Lease | undefined): number {
  const renew = parseTime(lease?.spec?.renewTime);
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const hb = parseTime(ready?.lastHeartbeatTime);
  const xs = [renew, hb].filter((x) => !Number.isNaN(x));
  return xs.length ? Math.max(...xs) : NaN;
}

/** The taints a node should carry for its Ready status (the condition-driven ones only). */
export function readinessTaints(ready: Condition | undefined, now: string): Taint[] {
  const status = ready?.status ?? 'Unknown';
  if (status === 'True') return [];
  const key = status === 'False' ? NOT_READY : UNREACHABLE;
  return [
    { key, effect: 'NoSchedule', timeAdded: now },
    { key, effect: 'NoExecute', timeAdded: now },
  ];
}

export class NodeLifecycleController implements Reconciler {
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private readonly graceMs: number;

  constructor(mgr: Manager, opts: NodeLifecycleOptions = {}) {
    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.leases = mgr.informer<Lease>(Kinds.Lease, { namespace: NODE_LEASE_NAMESPACE });
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.pods.cache.addIndex(POD_NODE_INDEX, podNodeIndex);
    const g = opts.gracePeriodSeconds ?? NODE_MONITOR_GRACE_SECONDS;
    if (!(g > 0)) throw new RangeError(`gracePeriodSeconds must be > 0, got ${g}`);
    this.graceMs = g * 1000;
  }

  static install(mgr: Manager, opts?: NodeLifecycleOptions): Controller {
    return controllerFor(mgr, Kinds.Node)
      .named('node-lifecycle')
      .watches(Kinds.Lease, (l) => [l.metadata.name!], { namespace: NODE_LEASE_NAMESPACE })
      .complete(new NodeLifecycleController(mgr, opts));
  }

  async reconcile(ctx: ReconcileContext, name: string): Promise<Result | void> {
    const node = this.nodes.cache.get(name);
    if (!node || node.metadata.deletionTimestamp) return;
    const now = ctx.clock.now();
    const nowText = rfc3339(now);
    const lease = this.leases.cache.get(`${NODE_LEASE_NAMESPACE}/${name}`);
    const beat = lastHeartbeat(node, lease);
    const since = Number.isNaN(beat) ? parseTime(node.metadata.creationTimestamp) : beat;
    const staleAt = since + this.graceMs;
    let conditions = clone(node.status?.conditions ?? []);
    let requeue: number | undefined;

    if (now >= staleAt) {
      const never = Number.isNaN(beat) || !conditions.some((c) => c.type === 'Ready');
      const reason = never ? 'NodeStatusNeverUpdated' : 'NodeStatusUnknown';
      const message = never ? 'Kubelet never posted node status.' : 'Kubelet stopped posting node status.';
      const next: Condition[] = [];
      for (const type of NODE_CONDITIONS) {
        const cur = conditions.find((c) => c.type === type);
        if (cur?.status === 'Unknown') next.push(cur);
        else next.push({ ...(cur ?? {}), type, status: 'Unknown', reason, message, lastTransitionTime: nowText, lastHeartbeatTime: cur?.lastHeartbeatTime ?? (node.metadata.creationTimestamp as string) });
      }
      conditions = [...conditions.filter((c) => !NODE_CONDITIONS.includes(c.type)), ...next];
    } else {
      requeue = staleAt - now + 1;
    }

    const ready = conditions.find((c) => c.type === 'Ready');
    const want = readinessTaints(ready, nowText);
    const taints = node.spec.taints ?? [];
    const ours = (t: Taint): boolean => t.key === NOT_READY || t.key === UNREACHABLE;
    const kept = taints.filter((t) => !ours(t) || want.some((w) => w.key === t.key && w.effect === t.effect));
    const added = want.filter((w) => !taints.some((t) => t.key === w.key && t.effect === w.effect));
    const nextTaints = [...kept, ...added];
    const statusChanged = !deepEqual(conditions, node.status?.conditions ?? []);
    const taintsChanged = !deepEqual(nextTaints, taints);

    if (statusChanged) {
      try {
        await ctx.client.modify<Node>(Kinds.Node, name, undefined, (cur) => {
          if (cur.metadata.uid !== node.metadata.uid) return undefined;
          // The kubelet may have just reported: only mark Unknown what is still stale.
          if (!Number.isNaN(lastHeartbeat(cur, lease)) && lastHeartbeat(cur, lease) + this.graceMs > now) return undefined;
          return { ...cur, status: { ...(cur.status ?? {}), conditions } };
        }, { status: true });
        ctx.recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
        await this.markPodsNotReady(ctx, name, nowText);
      } catch (e) {
        if (!(e instanceof StatusError && e.reason === 'NotFound')) throw e;
        return;
      }
    }
    if (taintsChanged) {
      try {
        await ctx.client.modify<Node>(Kinds.Node, name, undefined, (cur) => {
          const curTaints = cur.spec.taints ?? [];
          const k = curTaints.filter((t) => !ours(t) || want.some((w) => w.key === t.key && w.effect === t.effect));
          const a = want.filter((w) => !curTaints.some((t) => t.key === w.key && t.effect === w.effect));
          const n = [...k, ...a];
          if (deepEqual(n, curTaints)) return undefined;
          return { ...cur, spec: { ...cur.spec, taints: n.length ? n : undefined } } as Node;
        });
      } catch (e) {
        if (!(e instanceof StatusError && e.reason === 'NotFound')) throw e;
      }
    }
    return requeue !== undefined ? { requeueAfter: requeue } : undefined;
  }

  /** MarkPodsNotReady: the pods of an unreachable node are no longer Ready. */
  private async markPodsNotReady(ctx: ReconcileContext, nodeName: string, now: string): Promise<void> {
    for (const p of this.pods.cache.byIndex(POD_NODE_INDEX, nodeName)) {
      const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
      if (!ready || ready.status === 'False' || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      try {
        await ctx.client.modify<Pod>(Kinds.Pod, p.metadata.name!, p.metadata.namespace, (cur) => {
          const conds = (cur.status?.conditions ?? []).map((c) => (c.type === 'Ready' && c.status !== 'False' ? { ...c, status: 'False' as const, lastTransitionTime: now } : c));
          if (deepEqual(conds, cur.status?.conditions)) return undefined;
          return { ...cur, status: { ...(cur.status ?? {}), conditions: conds } } as KubeObject as Pod;
        }, { status: true });
      } catch (e) {
        if (!(e instanceof StatusError && e.reason === 'NotFound')) throw e;
      }
    }
  }
}
