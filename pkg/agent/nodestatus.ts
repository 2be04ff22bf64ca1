/**
 * What the kubelet reports about its node (https://kubernetes.io/docs/reference/node/node-status/):
 * the pressure and Ready conditions with kubelet's reasons (pkg/kubelet/nodestatus/setters.go),
 * `nodeInfo`, `daemonEndpoints`, and the node Lease it renews as its heartbeat
 * (https://kubernetes.io/docs/concepts/architecture/leases/#node-heart-beats).
 * Capacity, allocatable, addresses and labels come from the cloud component that registered the
 * Node; the agent leaves them alone.
 */
import { deepEqual } from '../api/meta.js';
import type { Condition, KubeObject, Node, NodeStatus } from '../api/types.js';
import { rfc3339, rfc3339Micro } from '../clock/clock.js';
import type { NodeImage, RuntimeHealth } from './runtime.js';
import { sha256Hex, uuidFromHex } from './util.js';

export const KUBELET_VERSION = 'v1.32.0-berth';
export const CONTAINER_RUNTIME_VERSION = 'berth-sim://1.0';
export const OS_IMAGE = 'Amazon Linux 2023';
/** The kernel of the Amazon Linux 2023 EKS AMI, without its architecture suffix. */
export const KERNEL_RELEASE = '6.1.119-129.201.amzn2023';
export const KUBELET_PORT = 10250;
/** Namespace of node Leases, and their duration (kubelet's `nodeLeaseDurationSeconds`). */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const NODE_LEASE_DURATION_SECONDS = 40;

/**
 * The conditions a kubelet reports, in its order (without times). With its container runtime
 * down, Ready is False with reason KubeletNotReady and the runtime's error as the message, as
 * kubelet's runtime-state check puts it (`container runtime is down`, pkg/kubelet/runtime.go).
 */
export function healthyConditions(health: RuntimeHealth = { ready: true }): Condition[] {
  return [
    { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
    { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
    { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
    health.ready
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: health.message },
  ];
}

/** What the node's container runtime says of itself. */
export interface RuntimeReport {
  /** `containerRuntimeVersion` (`docker://20.10.24`). */
  version: string;
  health: RuntimeHealth;
  /** Images on the node (`status.images`), when the runtime reports them; the kubelet reports at most NODE_STATUS_MAX_IMAGES. */
  images?: NodeImage[];
}

/** The kubelet's `nodeStatusMaxImages` default: `status.images` lists at most this many. */
export const NODE_STATUS_MAX_IMAGES = 50;

/** `status.nodeInfo`: versions from berth, architecture from the `kubernetes.io/arch` label, ids stable per Node object. */
export function nodeInfo(node: Node, runtimeVersion = CONTAINER_RUNTIME_VERSION): Record<string, string> {
  const arch = node.metadata.labels?.['kubernetes.io/arch'] ?? 'amd64';
  const seed = `${node.metadata.uid ?? ''}/${node.metadata.name ?? ''}`;
  const h = sha256Hex('node', seed);
  return {
    architecture: arch,
    bootID: uuidFromHex(sha256Hex('boot', seed)),
    containerRuntimeVersion: runtimeVersion,
    kernelVersion: `${KERNEL_RELEASE}.${arch === 'arm64' ? 'aarch64' : 'x86_64'}`,
    kubeletVersion: KUBELET_VERSION,
    machineID: h.slice(0, 32),
    operatingSystem: 'linux',
    osImage: OS_IMAGE,
    // EC2 instances' SMBIOS UUIDs begin with "ec2".
    systemUUID: uuidFromHex(`ec2${h.slice(35, 64)}`),
  };
}

/** The node's InternalIP (its first address if it has none). */
export function internalIP(node: Node): string | undefined {
  const addrs = node.status?.addresses ?? [];
  return (addrs.find((a) => a.type === 'InternalIP') ?? addrs.find((a) => a.type === 'ExternalIP'))?.address;
}

/** Conditions without heartbeat times, to tell a real change from a heartbeat. */
function withoutHeartbeats(list: Condition[] | undefined): Condition[] {
  return (list ?? []).map(({ lastHeartbeatTime: _h, ...rest }) => rest);
}

/**
 * The node status the kubelet would write now: its conditions (keeping each one's
 * `lastTransitionTime` unless its status changes, heartbeat = now), nodeInfo and daemonEndpoints.
 * Conditions others own (NetworkUnavailable, …) are kept; Ready follows the runtime's health.
 * Returns the status and whether anything but heartbeat times differs from the node's.
 */
export function desiredNodeStatus(node: Node, now: number, runtime: RuntimeReport = { version: CONTAINER_RUNTIME_VERSION, health: { ready: true } }, kubeletPort = KUBELET_PORT): { status: NodeStatus; changed: boolean } {
  const cur = node.status ?? {};
  const nowText = rfc3339(now);
  const mine = healthyConditions(runtime.health);
  const owned = new Set(mine.map((c) => c.type));
  const conditions: Condition[] = [];
  for (const c of cur.conditions ?? []) if (!owned.has(c.type)) conditions.push(c);
  for (const want of mine) {
    const have = cur.conditions?.find((c) => c.type === want.type);
    const keep = have?.status === want.status && have.lastTransitionTime;
    conditions.push({ ...want, lastHeartbeatTime: nowText, lastTransitionTime: keep ? have.lastTransitionTime! : nowText });
  }
  const status: NodeStatus = { ...cur, conditions, nodeInfo: nodeInfo(node, runtime.version), daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } } };
  // status.images is omitted while empty (omitempty), as the kubelet's.
  if (runtime.images?.length) status.images = runtime.images.slice(0, NODE_STATUS_MAX_IMAGES);
  const changed =
    !deepEqual(withoutHeartbeats(cur.conditions), withoutHeartbeats(conditions)) ||
    !deepEqual(cur.nodeInfo, status.nodeInfo) ||
    !deepEqual(cur.daemonEndpoints, status.daemonEndpoints) ||
    (runtime.images !== undefined && !deepEqual(cur.images, status.images));
  return { status, changed };
}

/** When the node's status was last reported (its Ready condition's heartbeat), ms; NaN if never. */
export function lastReported(node: Node): number {
  const hb = node.status?.conditions?.find((c) => c.type === 'Ready')?.lastHeartbeatTime;
  return hb ? Date.parse(hb) : NaN;
}

/** The node's Lease as the kubelet creates it: owned by the Node, held by it, renewed now. */
export function nodeLease(node: Node, now: number): KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: node.metadata.name!,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.metadata.name!, uid: node.metadata.uid! }],
    },
    spec: { holderIdentity: node.metadata.name!, leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS, renewTime: rfc3339Micro(now) },
  };
}
