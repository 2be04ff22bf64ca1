/**
 * NodePorts (kube-scheduler's pkg/scheduler/framework/plugins/nodeports): a pod asking for host
 * ports (`containers[].ports[].hostPort`) fits only a node where none of them is taken for the same
 * protocol on an overlapping address. `hostIP` empty or `0.0.0.0` means every address, so it
 * clashes with any use of the port; two specific addresses clash only when equal
 * (`HostPortInfo.CheckConflict`).
 */
import type { ClusterState } from '../framework/cluster.js';
import type { HostPort, PodClass } from '../framework/pod-class.js';
import { Status } from '../framework/status.js';
import type { FilterPlugin, NodeFilter } from '../framework/types.js';

export const ERR_REASON_PORTS = "node(s) didn't have free ports for the requested pod ports";
const REJECTED = Status.unschedulable(ERR_REASON_PORTS);
const ALL = '0.0.0.0';

/** True if `want` clashes with ports already taken (`protocol/port` → ip → count). */
export function portConflicts(taken: ReadonlyMap<string, ReadonlyMap<string, number>> | undefined, want: readonly HostPort[]): boolean {
  if (!taken) return false;
  for (const p of want) {
    const ips = taken.get(`${p.protocol}/${p.port}`);
    if (!ips || ips.size === 0) continue;
    if (p.ip === ALL || ips.has(ALL) || ips.has(p.ip)) return true;
  }
  return false;
}

export class NodePorts implements FilterPlugin {
  static readonly name = 'NodePorts';
  readonly name = NodePorts.name;

  /** Skipped for a pod without host ports. */
  compileFilter(pod: PodClass, cluster: ClusterState): NodeFilter | null {
    const want = pod.hostPorts;
    if (want.length === 0) return null;
    return { scope: 'node', fits: (i) => !portConflicts(cluster.portsOn(i), want), status: () => REJECTED };
  }
}
