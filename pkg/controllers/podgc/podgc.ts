/**
 * Pod garbage collection (pkg/controller/podgc): a pod bound to a node that no longer exists
 * (its instance was terminated) is force-deleted, so its ReplicaSet replaces it elsewhere.
 * Kubernetes waits a 40 s quarantine before deciding a node is really gone; berth asks the API
 * server instead of trusting its cache, which gives the same safety.
 */
import { POD_NODE_INDEX, podNodeIndex } from '../../api/podutil.js';
import { isNotFound } from '../../api/errors.js';
import type { Node, Pod } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';

export class PodGCController implements Reconciler {
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;

  constructor(mgr: Manager) {
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.pods.cache.addIndex(POD_NODE_INDEX, podNodeIndex);
  }

  /** Reconciles per node name: when a node goes, its pods are collected. */
  static install(mgr: Manager): Controller {
    const r = new PodGCController(mgr);
    return controllerFor(mgr, Kinds.Node)
      .named('pod-garbage-collector')
      .watches(Kinds.Pod, (p) => ((p as Pod).spec.nodeName ? [(p as Pod).spec.nodeName!] : []))
      .complete(r);
  }

  async reconcile(ctx: ReconcileContext, nodeName: string): Promise<Result | void> {
    if (this.nodes.cache.get(nodeName)) return;
    const orphans = this.pods.cache.byIndex(POD_NODE_INDEX, nodeName);
    if (!orphans.length) return;
    if (await ctx.client.tryGet(Kinds.Node, nodeName)) return; // the cache is behind: the node exists
    for (const p of orphans) {
      try {
        await ctx.client.delete(Kinds.Pod, p.metadata.name!, p.metadata.namespace, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid! } });
        ctx.log.info({ pod: `${p.metadata.namespace}/${p.metadata.name}`, node: nodeName }, 'deleted orphaned pod');
      } catch (e) {
        if (!isNotFound(e) && !(e instanceof Error && /Conflict|Precondition/.test(e.message))) throw e;
      }
    }
  }
}
