/**
 * Taint-based eviction (pkg/controller/tainteviction;
 * https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions):
 * a pod on a node with a NoExecute taint it does not tolerate is deleted at once; one that
 * tolerates every such taint but with `tolerationSeconds` is deleted when the shortest of those
 * times has passed since the taint was added (`timeAdded`). Every pod gets 300 s for
 * `node.kubernetes.io/not-ready` and `unreachable` from the DefaultTolerationSeconds admission
 * defaults, so pods leave an unreachable node five minutes after it is tainted. Before deleting,
 * the pod gets the `DisruptionTarget` condition (reason `DeletionByTaintManager`).
 *
 * Level-based per node: each reconcile reads the node's NoExecute taints and its pods, deletes
 * those whose time is up, and asks to be looked at again when the next one's is.
 */
import { POD_NODE_INDEX, podNodeIndex } from '../../api/podutil.js';
import { StatusError } from '../../api/errors.js';
import type { KubeObject, Node, Pod, Taint, Toleration } from '../../api/types.js';
import { parseTime, rfc3339 } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';
import { toleratesTaint } from '../../scheduler/index.js';

/**
 * When a pod must leave a node with these NoExecute taints, in ms since the epoch: `now` if some
 * taint is not tolerated, the earliest `timeAdded + tolerationSeconds` if all are, undefined if
 * it may stay for ever (GetMinTolerationTime).
 */
export function evictionTime(tolerations: readonly Toleration[] | undefined, taints: readonly Taint[], now: number): number | undefined {
  let at: number | undefined;
  for (const taint of taints) {
    if (taint.effect !== 'NoExecute') continue;
    const matching = (tolerations ?? []).filter((t) => toleratesTaint(t, taint));
    if (!matching.length) return now;
    // The shortest tolerationSeconds among the matching tolerations; none set: tolerated for ever.
    const secs = matching.map((t) => t.tolerationSeconds).filter((s): s is number => typeof s === 'number');
    if (!secs.length) continue;
    const added = parseTime(taint.timeAdded);
    const start = Number.isNaN(added) ? now : added;
    const due = start + Math.max(0, Math.min(...secs)) * 1000;
    at = at === undefined ? due : Math.min(at, due);
  }
  return at;
}

export class TaintEvictionController implements Reconciler {
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;

  constructor(mgr: Manager) {
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.pods.cache.addIndex(POD_NODE_INDEX, podNodeIndex);
  }

  /** Reconciles per node; a pod change matters only on a node with NoExecute taints. */
  static install(mgr: Manager): Controller {
    const r = new TaintEvictionController(mgr);
    return controllerFor(mgr, Kinds.Node)
      .named('taint-eviction')
      .watches(Kinds.Pod, (p) => {
        const node = (p as Pod).spec?.nodeName;
        return node && r.noExecute(node).length ? [node] : [];
      })
      .complete(r);
  }

  private noExecute(nodeName: string): Taint[] {
    return (this.nodes.cache.get(nodeName)?.spec.taints ?? []).filter((t) => t.effect === 'NoExecute');
  }

  async reconcile(ctx: ReconcileContext, nodeName: string): Promise<Result | void> {
    const taints = this.noExecute(nodeName);
    if (!taints.length) return;
    const now = ctx.clock.now();
    let next: number | undefined;
    for (const pod of this.pods.cache.byIndex(POD_NODE_INDEX, nodeName)) {
      if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      const at = evictionTime(pod.spec.tolerations, taints, now);
      if (at === undefined) continue;
      if (at > now) {
        next = Math.min(next ?? Infinity, at);
        continue;
      }
      await this.evict(ctx, pod, now);
    }
    return next !== undefined ? { requeueAfter: next - now } : undefined;
  }

  private async evict(ctx: ReconcileContext, pod: Pod, now: number): Promise<void> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const nowText = rfc3339(now);
    try {
      await ctx.client.modify<Pod>(Kinds.Pod, pod.metadata.name!, pod.metadata.namespace, (cur) => {
        if (cur.metadata.uid !== pod.metadata.uid) return undefined;
        const conds = (cur.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
        conds.push({ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: nowText });
        return { ...cur, status: { ...(cur.status ?? {}), conditions: conds } } as KubeObject as Pod;
      }, { status: true });
      ctx.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
      await ctx.client.delete(Kinds.Pod, pod.metadata.name!, pod.metadata.namespace, { preconditions: { uid: pod.metadata.uid! } });
    } catch (e) {
      if (!(e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
    }
  }
}
