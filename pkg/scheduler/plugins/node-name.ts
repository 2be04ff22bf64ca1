/**
 * NodeName (kube-scheduler's pkg/scheduler/framework/plugins/nodename): a pod that names its node
 * in `spec.nodeName` fits only there. The scheduler only takes pods without one, so for berth this
 * guards plugins and profiles reused elsewhere (a simulator asking "would it fit here?").
 */
import type { ClusterState } from '../framework/cluster.js';
import type { PodClass } from '../framework/pod-class.js';
import { Status } from '../framework/status.js';
import type { FilterPlugin, NodeFilter } from '../framework/types.js';

export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";
const REJECTED = Status.unschedulableAndUnresolvable(ERR_REASON_NODE_NAME);

export class NodeName implements FilterPlugin {
  static readonly name = 'NodeName';
  readonly name = NodeName.name;
  readonly staticOnly = true;

  compileFilter(pod: PodClass, cluster: ClusterState): NodeFilter | null {
    const want = pod.pod.spec.nodeName;
    if (!want) return null;
    return { scope: 'node', fits: (i) => cluster.names[i] === want, status: () => REJECTED };
  }
}
