/**
 * The node IPAM controller (kube-controller-manager's `nodeipam`, range allocator): a Node
 * without `spec.podCIDR` gets the next free /24 of the cluster CIDR (default 10.244.0.0/16), as
 * `--allocate-node-cidrs` does (https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/).
 * Nodes of simulated EC2 instances already come with one; this serves nodes that registered
 * themselves, such as a remote `berth agent`'s. Allocations made here are remembered until the
 * informer shows them, so two nodes never get the same range.
 */
import type { Node } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import { allocatePodCidr, DEFAULT_CLUSTER_CIDR } from '../../cloud/network.js';
import type { Controller, Manager, ReconcileContext, Reconciler } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';

export interface NodeIpamOptions {
  /** The cluster CIDR node ranges are cut from (`--cluster-cidr`, default 10.244.0.0/16). */
  clusterCidr?: string;
}

export class NodeIpamController implements Reconciler {
  private readonly nodes: Informer;
  /** Ranges this controller handed out (by node name), until the cache reflects them. */
  private readonly assigned = new Map<string, string>();

  constructor(
    mgr: Manager,
    private readonly opts: NodeIpamOptions = {},
  ) {
    this.nodes = mgr.informer(Kinds.Node);
  }

  /** One worker, so allocations are serial. */
  static install(mgr: Manager, opts: NodeIpamOptions = {}): Controller {
    return controllerFor(mgr, Kinds.Node).named('nodeipam').complete(new NodeIpamController(mgr, opts));
  }

  async reconcile(ctx: ReconcileContext, name: string): Promise<void> {
    const node = this.nodes.cache.get(name) as Node | undefined;
    if (!node) {
      this.assigned.delete(name);
      return;
    }
    if (node.spec?.podCIDR || node.metadata.deletionTimestamp) {
      this.assigned.delete(name);
      return;
    }
    const used = new Set<string>(this.assigned.values());
    for (const n of this.nodes.cache.list() as Node[]) if (n.spec?.podCIDR) used.add(n.spec.podCIDR);
    const cidr = this.assigned.get(name) ?? allocatePodCidr(used, this.opts.clusterCidr ?? DEFAULT_CLUSTER_CIDR);
    if (!cidr) {
      ctx.recorder.event(node, 'Warning', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
      return;
    }
    this.assigned.set(name, cidr);
    await ctx.client.patch(Kinds.Node, name, undefined, 'merge', { spec: { podCIDR: cidr, podCIDRs: [cidr] } });
  }
}
