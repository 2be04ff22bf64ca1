/**
 * NodeUnschedulable (kube-scheduler's pkg/scheduler/framework/plugins/nodeunschedulable): a
 * cordoned node (`spec.unschedulable: true`, `kubectl cordon`) takes only pods tolerating the
 * `node.kubernetes.io/unschedulable:NoSchedule` taint
 * (https://kubernetes.io/docs/reference/labels-annotations-taints/#node-kubernetes-io-unschedulable).
 */
import type { ClusterState } from '../framework/cluster.js';
import type { PodClass } from '../framework/pod-class.js';
import { Status } from '../framework/status.js';
import { tolerationsTolerateTaint, UNSCHEDULABLE_TAINT } from '../framework/taints.js';
import type { FilterPlugin, NodeFilter } from '../framework/types.js';

export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
const REJECTED = Status.unschedulableAndUnresolvable(ERR_REASON_UNSCHEDULABLE);

export class NodeUnschedulable implements FilterPlugin {
  static readonly name = 'NodeUnschedulable';
  readonly name = NodeUnschedulable.name;
  readonly staticOnly = true;

  /** Skipped for a pod tolerating the unschedulable taint; otherwise a per-node-class check. */
  compileFilter(pod: PodClass, cluster: ClusterState): NodeFilter | null {
    if (tolerationsTolerateTaint(pod.pod.spec.tolerations, UNSCHEDULABLE_TAINT)) return null;
    return { scope: 'class', fits: (i) => !cluster.nodeClass(i).unschedulable, status: () => REJECTED };
  }
}
