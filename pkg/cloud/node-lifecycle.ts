/**
 * What the AWS side does to an instance's Node when the machine under it changes, as EKS shows
 * it — the parts that belong to the cloud provider and to the AWS Node Termination Handler; the
 * rest is Kubernetes's own (pkg/controllers/nodelifecycle):
 *
 * - **Stopped** (stopping, stopped, or pending again after a start): the AWS cloud provider's node
 *   lifecycle controller taints the Node `node.cloudprovider.kubernetes.io/shutdown:NoSchedule`
 *   and keeps it (it deletes only Nodes whose instance is gone;
 *   https://kubernetes.io/docs/reference/labels-annotations-taints/#node-cloudprovider-kubernetes-io-shutdown).
 *   The machine being off, its kubelet posts nothing (the node agent serves no Node with that
 *   taint), so after the node-monitor grace period kube-controller-manager's node lifecycle
 *   controller marks it NotReady (conditions Unknown, `node.kubernetes.io/unreachable`
 *   NoSchedule and NoExecute) and taint-based eviction moves its pods after their 300 s
 *   tolerations.
 * - **Running again**: the shutdown taint goes; the kubelet reports Ready and the rest follows.
 * - **Spot rebalance recommendation**: tainted `aws-node-termination-handler/rebalance-recommendation`
 *   NoSchedule; **interruption notice**: cordoned, tainted `aws-node-termination-handler/spot-itn`
 *   NoSchedule and drained (every pod but DaemonSet and mirror pods deleted with its own grace
 *   period), as the AWS Node Termination Handler and EKS managed node groups do; the instance
 *   terminates at the deadline (instance-controller.ts) and its Node goes with it.
 *
 * Level-based, keyed by instance id: each reconcile compares the Node's managed taints and
 * cordon with what the instance's state asks for.
 */
import { isConflict, isNotFound } from '../api/errors.js';
import { controllerRef, deepEqual } from '../api/meta.js';
import type { Node, Pod, Taint } from '../api/types.js';
import { parseTime, rfc3339 } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../runtime/manager.js';
import { controllerFor } from '../runtime/manager.js';
import { parseProviderId } from './network.js';
import type { Instance } from './types.js';

/** The taints this controller manages (and only these). */
export const NODE_TAINTS = {
  shutdown: 'node.cloudprovider.kubernetes.io/shutdown',
  spotInterruption: 'aws-node-termination-handler/spot-itn',
  rebalance: 'aws-node-termination-handler/rebalance-recommendation',
} as const;
const MANAGED = new Set<string>(Object.values(NODE_TAINTS));

/** Annotation on a Node this controller cordoned (so it uncordons only what it cordoned). */
export const CORDONED_ANNOTATION = 'ec2.berth.dev/cordoned-for';

const POD_NODE_INDEX = 'cloud/spec.nodeName';

/** True for pods a drain leaves alone: DaemonSet pods and mirror (static) pods. */
function undrainable(pod: Pod): boolean {
  return controllerRef(pod)?.kind === 'DaemonSet' || pod.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined;
}

export class CloudNodeLifecycleController implements Reconciler {
  private readonly instances;
  private readonly nodes;
  private readonly pods;

  constructor(mgr: Manager) {
    this.instances = mgr.informer<Instance>(Kinds.Instance);
    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.pods.cache.addIndex(POD_NODE_INDEX, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  }

  static install(mgr: Manager): Controller {
    const r = new CloudNodeLifecycleController(mgr);
    const byNode = (name: string | undefined): string[] => {
      const id = parseProviderId(name ? r.nodes.cache.get(name)?.spec?.providerID : undefined)?.instanceId;
      return id ? [id] : [];
    };
    return controllerFor(mgr, Kinds.Instance)
      .named('cloud-node-lifecycle')
      .watches(Kinds.Node, (n) => {
        const id = parseProviderId((n as Node).spec?.providerID)?.instanceId;
        return id ? [id] : [];
      })
      .watches(Kinds.Pod, (p) => byNode((p as Pod).spec?.nodeName))
      .complete(r);
  }

  async reconcile(ctx: ReconcileContext, id: string): Promise<Result | void> {
    const inst = this.instances.cache.get(id);
    const nodeName = inst?.status?.nodeName ?? inst?.status?.privateDnsName;
    if (!inst || !nodeName) return;
    let node = this.nodes.cache.get(nodeName);
    if (!node || parseProviderId(node.spec?.providerID)?.instanceId !== id) return;
    const state = inst.status?.state;
    if (state === 'shutting-down' || state === 'terminated' || state === undefined) return; // the Node is going
    const now = ctx.clock.now();
    const nowText = rfc3339(now);
    // Pending after a start: the Node is from an earlier run (registered before this launch). A
    // Node newer than the launch belongs to this run (the instance's status may not be here yet).
    const restarting = state === 'pending' && Date.parse(node.metadata.creationTimestamp ?? '') < Date.parse(inst.status?.launchTime ?? '');
    const down = state === 'stopping' || state === 'stopped' || restarting;
    const itn = !!inst.status?.spotInterruption && !down;
    const rebalance = !down && !!inst.status?.rebalanceRecommendationTime && parseTime(inst.status.rebalanceRecommendationTime) <= now;

    // Taints and cordon.
    const want: Taint[] = [];
    if (down) want.push({ key: NODE_TAINTS.shutdown, effect: 'NoSchedule' });
    if (itn) want.push({ key: NODE_TAINTS.spotInterruption, value: id, effect: 'NoSchedule' });
    if (rebalance) want.push({ key: NODE_TAINTS.rebalance, value: id, effect: 'NoSchedule' });
    // Existing taints keep their order and timeAdded; ours not wanted go, wanted ones missing are added.
    const nextTaints = (c: readonly Taint[]): Taint[] => [
      ...c.filter((x) => !MANAGED.has(x.key) || want.some((w) => w.key === x.key && w.effect === x.effect)),
      ...want.filter((w) => !c.some((x) => x.key === w.key && x.effect === w.effect)).map((w) => ({ ...w, timeAdded: nowText })),
    ];
    const cur = node.spec?.taints ?? [];
    const cordon = itn;
    const cordonedByUs = node.metadata.annotations?.[CORDONED_ANNOTATION] !== undefined;
    // Cordon only a schedulable Node (and remember it); uncordon only what we cordoned.
    if (!deepEqual(nextTaints(cur), cur) || (cordon && !node.spec?.unschedulable) || (!cordon && cordonedByUs)) {
      node = await this.writeSpec(ctx, nodeName, (n) => {
        const t = nextTaints(n.spec?.taints ?? []);
        n.spec = { ...n.spec, taints: t };
        if (!t.length) delete n.spec.taints;
        const annotations = { ...(n.metadata.annotations ?? {}) };
        if (cordon && !n.spec.unschedulable) {
          annotations[CORDONED_ANNOTATION] = 'spot-interruption';
          n.spec.unschedulable = true;
        } else if (!cordon && annotations[CORDONED_ANNOTATION] !== undefined) {
          delete annotations[CORDONED_ANNOTATION];
          delete n.spec.unschedulable;
        }
        n.metadata.annotations = annotations;
        return n;
      });
      if (!node) return;
      if (itn) ctx.recorder.event(inst, 'Warning', 'SpotInterruption', `Spot interruption notice: cordoned and draining Node ${nodeName} before ${inst.status!.spotInterruption!.time}`);
    }

    // A rebalance recommendation due later: look again then.
    const rb = parseTime(inst.status?.rebalanceRecommendationTime);
    if (!itn) return !down && !Number.isNaN(rb) && rb > now ? { requeueAfter: rb - now } : undefined;

    // The drain at the interruption notice.
    for (const pod of this.pods.cache.byIndex(POD_NODE_INDEX, nodeName)) {
      if (pod.metadata.deletionTimestamp || undrainable(pod)) continue;
      try {
        await ctx.client.delete(Kinds.Pod, pod.metadata.name!, pod.metadata.namespace, { preconditions: { uid: pod.metadata.uid! } });
        ctx.recorder.event(pod, 'Normal', 'Drained', `Evicting pod: Node ${nodeName} received a Spot interruption notice`);
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
    }
  }

  private async writeSpec(ctx: ReconcileContext, name: string, mutate: (n: Node) => Node): Promise<Node | undefined> {
    try {
      return await ctx.client.modify<Node>(Kinds.Node, name, undefined, mutate);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
}
