/** Nodes: conditions, capacity, system info, and what their pods request (kubectl's describeNode). */
import { StatusError } from '../../api/errors.js';
import type { Event, KubeObject, Node, Pod } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import { podLimits, podRequests } from '../podresources.js';
import { canonical, milliValue, qtyOrZero, qtyString, unitValue, ZERO, type Qty, type QtyList } from '../quantity.js';
import type { Session } from '../session.js';
import { describeEvents, printAnnotationsMultiline, printLabelsMultiline, printTaintsMultiline, rfc1123z, since, type PrefixWriter } from './common.js';

export async function describeNode(s: Session, w: PrefixWriter, node: Node, events: Event[] | undefined, now: number): Promise<void> {
  const pods = (await s.client.list<Pod>(Kinds.Pod, { fieldSelector: `spec.nodeName=${node.metadata.name},status.phase!=Succeeded,status.phase!=Failed` })).items;
  const spec = node.spec ?? {};
  const status = node.status ?? {};
  w.write(0, `Name:\t${node.metadata.name}\n`);
  const roles = nodeRoles(node);
  w.write(0, `Roles:\t${roles.length ? roles.join(',') : '<none>'}\n`);
  printLabelsMultiline(w, 'Labels', node.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', node.metadata.annotations);
  w.write(0, `CreationTimestamp:\t${rfc1123z(node.metadata.creationTimestamp)}\n`);
  printTaintsMultiline(w, 'Taints', spec.taints);
  w.write(0, `Unschedulable:\t${spec.unschedulable === true}\n`);
  try {
    const lease = await s.client.get(Kinds.Lease, node.metadata.name!, 'kube-node-lease');
    const ls = (lease.spec ?? {}) as { holderIdentity?: string; acquireTime?: string; renewTime?: string };
    w.write(0, 'Lease:\n');
    w.write(1, `HolderIdentity:\t${ls.holderIdentity ?? '<unset>'}\n`);
    w.write(1, `AcquireTime:\t${ls.acquireTime ? rfc1123z(ls.acquireTime) : '<unset>'}\n`);
    w.write(1, `RenewTime:\t${ls.renewTime ? rfc1123z(ls.renewTime) : '<unset>'}\n`);
  } catch (e) {
    if (!(e instanceof StatusError)) throw e;
    w.write(0, `Lease:\tFailed to get lease: ${e.message}\n`);
  }
  if (status.conditions?.length) {
    w.write(0, 'Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n');
    w.write(1, '----\t------\t-----------------\t------------------\t------\t-------\n');
    for (const c of status.conditions) {
      w.write(1, `${c.type} \t${c.status} \t${rfc1123z(c.lastHeartbeatTime)} \t${rfc1123z(c.lastTransitionTime)} \t${c.reason ?? ''} \t${c.message ?? ''}\n`);
    }
  }
  w.write(0, 'Addresses:\n');
  for (const a of status.addresses ?? []) w.write(1, `${a.type}:\t${a.address}\n`);
  const printList = (list: Record<string, string | number>): void => {
    for (const k of Object.keys(list).sort()) w.write(0, `  ${k}:\t${canonical(list[k])}\n`);
  };
  if (Object.keys(status.capacity ?? {}).length) {
    w.write(0, 'Capacity:\n');
    printList(status.capacity!);
  }
  if (Object.keys(status.allocatable ?? {}).length) {
    w.write(0, 'Allocatable:\n');
    printList(status.allocatable!);
  }
  const info = status.nodeInfo ?? {};
  w.write(0, 'System Info:\n');
  for (const [label, key] of [
    ['Machine ID', 'machineID'],
    ['System UUID', 'systemUUID'],
    ['Boot ID', 'bootID'],
    ['Kernel Version', 'kernelVersion'],
    ['OS Image', 'osImage'],
    ['Operating System', 'operatingSystem'],
    ['Architecture', 'architecture'],
    ['Container Runtime Version', 'containerRuntimeVersion'],
    ['Kubelet Version', 'kubeletVersion'],
    ['Kube-Proxy Version', 'kubeProxyVersion'],
  ] as const) {
    w.write(0, `  ${label}:\t${info[key] ?? ''}\n`);
  }
  if (spec.podCIDR) w.write(0, `PodCIDR:\t${spec.podCIDR}\n`);
  if (spec.podCIDRs?.length) w.write(0, `PodCIDRs:\t${spec.podCIDRs.join(',')}\n`);
  if (spec.providerID) w.write(0, `ProviderID:\t${spec.providerID}\n`);
  describeNodeResource(w, pods, node, now);
  describeEvents(w, events, now);
}

function nodeRoles(node: KubeObject): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return [...roles].sort();
}

function pct(part: number, whole: number): number {
  if (!whole) return 0;
  return Math.trunc((part / whole) * 100);
}

function describeNodeResource(w: PrefixWriter, pods: Pod[], node: Node, now: number): void {
  w.write(0, `Non-terminated Pods:\t(${pods.length} in total)\n`);
  w.write(1, 'Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n');
  w.write(1, '---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n');
  const alloc = Object.keys(node.status?.allocatable ?? {}).length ? node.status!.allocatable! : (node.status?.capacity ?? {});
  const allocCpu = milliValue(qtyOrZero(alloc.cpu));
  const allocMem = unitValue(qtyOrZero(alloc.memory));
  const allocEph = unitValue(qtyOrZero(alloc['ephemeral-storage']));
  const q = (list: QtyList, name: string): Qty => list.get(name) ?? ZERO;
  const totalReq: QtyList = new Map();
  const totalLim: QtyList = new Map();
  for (const pod of pods) {
    const req = podRequests(pod);
    const lim = podLimits(pod);
    w.write(
      1,
      `${pod.metadata.namespace ?? ''}\t${pod.metadata.name}\t\t${qtyString(q(req, 'cpu'))} (${pct(milliValue(q(req, 'cpu')), allocCpu)}%)\t${qtyString(q(lim, 'cpu'))} (${pct(milliValue(q(lim, 'cpu')), allocCpu)}%)\t${qtyString(q(req, 'memory'))} (${pct(unitValue(q(req, 'memory')), allocMem)}%)\t${qtyString(q(lim, 'memory'))} (${pct(unitValue(q(lim, 'memory')), allocMem)}%)\t${since(pod.metadata.creationTimestamp, now)}\n`,
    );
    for (const [k, v] of req) totalReq.set(k, totalReq.has(k) ? { nanos: totalReq.get(k)!.nanos + v.nanos, format: totalReq.get(k)!.format } : { ...v });
    for (const [k, v] of lim) totalLim.set(k, totalLim.has(k) ? { nanos: totalLim.get(k)!.nanos + v.nanos, format: totalLim.get(k)!.format } : { ...v });
  }
  w.write(0, 'Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n');
  w.write(1, 'Resource\tRequests\tLimits\n');
  w.write(1, '--------\t--------\t------\n');
  const row = (name: string, whole: number, value: (x: Qty) => number): void => {
    const r = q(totalReq, name);
    const l = q(totalLim, name);
    w.write(1, `${name}\t${qtyString(r)} (${pct(value(r), whole)}%)\t${qtyString(l)} (${pct(value(l), whole)}%)\n`);
  };
  row('cpu', allocCpu, milliValue);
  row('memory', allocMem, unitValue);
  row('ephemeral-storage', allocEph, unitValue);
  const names = Object.keys(alloc).sort();
  for (const name of names.filter((n) => n.startsWith('hugepages-'))) row(name, unitValue(qtyOrZero(alloc[name])), unitValue);
  for (const name of names.filter((n) => !isStandardResource(n) && n !== 'pods' && !n.startsWith('hugepages-'))) {
    w.write(1, `${name}\t${qtyString(q(totalReq, name))}\t${qtyString(q(totalLim, name))}\n`);
  }
}

function isStandardResource(name: string): boolean {
  return ['cpu', 'memory', 'ephemeral-storage', 'storage', 'pods'].includes(name) || name.startsWith('hugepages-') || name.startsWith('requests.') || name.startsWith('limits.');
}

