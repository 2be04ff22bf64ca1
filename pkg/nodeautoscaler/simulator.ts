/**
 * "Would these pods fit?" — the scheduler's own Filter plugins (kube-scheduler's default profile:
 * NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
 * PodTopologySpread, InterPodAffinity) run over a private ClusterState holding real nodes, the
 * pods bound to them, and hypothetical template nodes. The node autoscaler and the Karpenter
 * provisioner both ask it, so there is one fit logic in berth: the scheduler's.
 *
 * Nothing here talks to the API: callers fill it from their informers' caches.
 */
import type { Node, Pod, Taint } from '../api/types.js';
import { nodeResources } from '../cloud/allocatable.js';
import { kubeArch, type InstanceTypeInfo } from '../cloud/catalog.js';
import { NODE_LABELS } from '../cloud/types.js';
import { ClusterState, Framework, defaultProfile, fitErrorMessage, inTreeRegistry, podRequests, type PodClass, type Session } from '../scheduler/index.js';

/** A hypothetical node: what a new instance of `info` would register as (EKS allocatable, the well-known labels, Ready). */
export function templateNode(name: string, info: InstanceTypeInfo, opts: { zone: string; region: string; labels?: Record<string, string>; taints?: readonly Taint[]; spot?: boolean }): Node {
  const { capacity, allocatable } = nodeResources(info);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        [NODE_LABELS.arch]: kubeArch(info.arch),
        [NODE_LABELS.os]: 'linux',
        [NODE_LABELS.hostname]: name,
        [NODE_LABELS.instanceType]: info.name,
        [NODE_LABELS.region]: opts.region,
        [NODE_LABELS.zone]: opts.zone,
        [NODE_LABELS.capacityType]: opts.spot ? 'SPOT' : 'ON_DEMAND',
        ...(opts.labels ?? {}),
      },
    },
    spec: opts.taints?.length ? { taints: opts.taints.map((t) => ({ ...t })) } : {},
    status: { capacity, allocatable, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/** True for a pod the node autoscaler leaves alone on a node being removed: a mirror (static) pod or a DaemonSet's pod. */
export function isDaemonOrMirror(pod: Pod): boolean {
  if (pod.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined) return true;
  return (pod.metadata.ownerReferences ?? []).some((o) => o.controller && o.kind === 'DaemonSet');
}

/** True for a pod that holds its node's resources: bound, not finished, not being deleted. */
export function isPlacedPod(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return !!pod.spec.nodeName && phase !== 'Succeeded' && phase !== 'Failed';
}

/**
 * True for a pod the scheduler has tried and found no node for (PodScheduled False, reason
 * Unschedulable), as Cluster Autoscaler only acts on those.
 */
export function isUnschedulable(pod: Pod): boolean {
  if (pod.spec.nodeName || pod.metadata.deletionTimestamp) return false;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const c = pod.status?.conditions?.find((x) => x.type === 'PodScheduled');
  return c?.status === 'False' && c.reason === 'Unschedulable';
}

/** The scheduler's filters over a private cluster state. */
export class FitSimulator {
  readonly cluster = new ClusterState();
  private readonly fw: Framework;
  private session: Session;
  private readonly podsOn = new Map<number, { cls: PodClass; pod: Pod }[]>();

  constructor(fw?: Framework) {
    this.fw = fw ?? new Framework(defaultProfile(), inTreeRegistry());
    this.session = this.cluster.beginSession();
  }

  /**
   * The cluster as the informers see it: every node not being deleted, with the pods bound to
   * it counted; returns the simulator, those nodes, and the pods the scheduler marked Unschedulable.
   */
  static fromCluster(nodeList: readonly Node[], podList: readonly Pod[], fw?: Framework): { sim: FitSimulator; nodes: Node[]; pending: Pod[] } {
    const sim = new FitSimulator(fw);
    const nodes = nodeList.filter((n) => !n.metadata.deletionTimestamp);
    for (const n of nodes) sim.addNode(n);
    const pending: Pod[] = [];
    for (const p of podList) {
      if (isPlacedPod(p)) {
        const i = sim.cluster.indexOf(p.spec.nodeName!);
        if (i >= 0) sim.place(p, i);
      } else if (isUnschedulable(p)) pending.push(p);
    }
    return { sim, nodes, pending };
  }

  /** Adds a node (real or template); returns its slot. */
  addNode(node: Node): number {
    const i = this.cluster.setNode(node);
    // Class verdicts are cached per session; a new node may bring a new node class.
    this.session = this.cluster.beginSession();
    return i;
  }

  /** Removes a node and the pods counted on it; returns those pods. */
  removeNode(name: string): Pod[] {
    const i = this.cluster.indexOf(name);
    if (i < 0) return [];
    const pods = this.podsOn.get(i) ?? [];
    for (const p of pods) this.cluster.removePods(p.cls, i, 1);
    this.podsOn.delete(i);
    this.cluster.removeNode(name);
    this.session = this.cluster.beginSession();
    return pods.map((p) => p.pod);
  }

  /** Counts `pod` on node slot `i`. */
  place(pod: Pod, i: number): void {
    const cls = this.cluster.classes.intern(pod);
    this.cluster.addPods(cls, i, 1);
    let l = this.podsOn.get(i);
    if (!l) this.podsOn.set(i, (l = []));
    l.push({ cls, pod });
  }

  /** Pods counted on slot `i`. */
  podsOnNode(i: number): Pod[] {
    return (this.podsOn.get(i) ?? []).map((p) => p.pod);
  }

  /** True if `pod` passes every filter on node slot `i`. */
  fits(pod: Pod, i: number): boolean {
    const cp = this.fw.compile(this.cluster.classes.intern(pod), this.cluster, this.session);
    if (cp.error || cp.rejectedAll) return false;
    return cp.fits(i);
  }

  /**
   * The first of `slots` (default: every node, by name) where `pod` fits, or -1. With `place`,
   * the pod is counted there.
   */
  findNode(pod: Pod, slots?: Iterable<number>, place = false, exclude?: ReadonlySet<number>): number {
    const cp = this.fw.compile(this.cluster.classes.intern(pod), this.cluster, this.session);
    if (cp.error || cp.rejectedAll) return -1;
    for (const i of slots ?? this.cluster.order) {
      if (exclude?.has(i) || !this.cluster.alive(i)) continue;
      if (cp.fits(i)) {
        if (place) this.place(pod, i);
        return i;
      }
    }
    return -1;
  }

  /** Why `pod` fits on none of the nodes (the scheduler's FitError text), leaving out `exclude`. */
  explain(pod: Pod, exclude?: ReadonlySet<number>): string {
    const cp = this.fw.compile(this.cluster.classes.intern(pod), this.cluster, this.session);
    if (cp.error) return cp.error;
    if (cp.rejectedAll) return cp.rejectedAll.status.message();
    const rejected: { reasons: readonly string[] }[] = [];
    let n = 0;
    for (const i of this.cluster.order) {
      if (exclude?.has(i)) continue;
      n++;
      const f = cp.firstFailure(i);
      if (f) rejected.push({ reasons: f.status.reasons });
    }
    return fitErrorMessage(n, rejected);
  }

  /**
   * Requested utilization of slot `i`: the larger of requested cpu / allocatable cpu and
   * requested memory / allocatable memory (Cluster Autoscaler's `utilization.Calculate`).
   */
  utilization(i: number): number {
    const c = this.cluster;
    const cpu = c.allocCpu[i]! > 0 ? c.usedCpu[i]! / c.allocCpu[i]! : 0;
    const mem = c.allocMemory[i]! > 0 ? c.usedMemory[i]! / c.allocMemory[i]! : 0;
    return Math.max(cpu, mem);
  }
}

/** A pod's requests as cpu millicores and memory bytes (the scheduler's podRequests). */
export function cpuMemory(pod: Pod): { cpu: number; memory: number } {
  const r = podRequests(pod);
  return { cpu: r.cpu ?? 0, memory: r.memory ?? 0 };
}
