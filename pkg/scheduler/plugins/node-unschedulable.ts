/**
 * NodeUnschedulable (kube-scheduler's pkg/scheduler/framework/plugins/nodeunschedulable): a
 * cordoned node (`spec.unschedulable: true`, `kubectl cordon`) takes only pods tolerating the
 * `node.kubernetes.io/unschedulable:NoSchedule` taint
 * (https://kubernetes.io/docs/reference/labels-annotations-taints/#node-kubernetes-io-unschedulable).
 */
import type { Pod } from '../../api/types.js';
import type { CycleState } from '../framework/cycle-state.js';
import type { NodeInfo } from '../framework/node-info.js';
import { Status } from '../framework/status.js';
import { tolerationsTolerateTaint, UNSCHEDULABLE_TAINT } from '../framework/taints.js';
import type { FilterPlugin } from '../framework/types.js';

export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';

export class NodeUnschedulable implements FilterPlugin {
  static readonly name = 'NodeUnschedulable';
  readonly name = NodeUnschedulable.name;

  filter(_state: CycleState, pod: Pod, ni: NodeInfo): Status {
    if (!ni.node.spec?.unschedulable || tolerationsTolerateTaint(pod.spec.tolerations, UNSCHEDULABLE_TAINT)) return Status.success();
    return Status.unschedulableAndUnresolvable(ERR_REASON_UNSCHEDULABLE);
  }
}
