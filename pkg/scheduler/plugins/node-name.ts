/**
 * NodeName (kube-scheduler's pkg/scheduler/framework/plugins/nodename): a pod that names its node
 * in `spec.nodeName` fits only there. The scheduler only takes pods without one, so for berth this
 * guards plugins and profiles reused elsewhere (a simulator asking "would it fit here?").
 */
import type { Pod } from '../../api/types.js';
import type { CycleState } from '../framework/cycle-state.js';
import type { NodeInfo } from '../framework/node-info.js';
import { Status } from '../framework/status.js';
import type { FilterPlugin } from '../framework/types.js';

export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

export class NodeName implements FilterPlugin {
  static readonly name = 'NodeName';
  readonly name = NodeName.name;

  filter(_state: CycleState, pod: Pod, ni: NodeInfo): Status {
    const want = pod.spec.nodeName;
    return !want || want === ni.name ? Status.success() : Status.unschedulableAndUnresolvable(ERR_REASON_NODE_NAME);
  }
}
