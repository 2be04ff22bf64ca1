/**
 * EKS on Fargate (https://docs.aws.amazon.com/eks/latest/userguide/fargate.html), in two parts:
 *
 * - **Admission** (EKS's mutating webhook): a pod created in a namespace, with labels, that a
 *   FargateProfile selects gets `spec.schedulerName: fargate-scheduler` and the
 *   `eks.amazonaws.com/fargate-profile` annotation, so the default scheduler never bin-packs it
 *   onto EC2 nodes.
 * - **The fargate-scheduler** (this controller, keyed by pod): for each such pod not yet bound it
 *   sizes the pod as EKS does (pkg/fargate), creates a dedicated Node `fargate-<pod uid prefix>`
 *   labelled `eks.amazonaws.com/compute-type: fargate`, tainted
 *   `eks.amazonaws.com/compute-type=fargate:NoSchedule` (nothing else lands there), with that
 *   size as capacity, writes the `CapacityProvisioned` annotation (`2vCPU 9GB`) on the pod and
 *   binds the pod to the node directly. It opens a FargateUsage record (the billing ledger) when
 *   the node is created and closes it, and deletes the node, once the pod is gone or has
 *   finished (Succeeded/Failed). One pod per node, always.
 *
 * A pod too large for any Fargate size (over 16 vCPU / 120 GB) stays Pending with a
 * `FailedScheduling` Warning event.
 */
import { isAlreadyExists, isConflict, isNotFound } from '../api/errors.js';
import type { Node, Pod } from '../api/types.js';
import type { AdmissionPlugin, AdmissionRequest, ObjectStore } from '../apiserver/store.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import { capacityProvisioned, fargatePodSize, FargateSizeError, type FargateSize } from '../fargate/fargate.js';
import { controllerFor, type Controller, type Manager, type ReconcileContext, type Reconciler, type Result } from '../runtime/manager.js';
import type { EventRecorder } from '../runtime/events.js';
import {
  CAPACITY_PROVISIONED_ANNOTATION,
  COMPUTE_TYPE_LABEL,
  EksKinds,
  FARGATE_PROFILE_ANNOTATION,
  FARGATE_PROFILE_RESOURCE,
  FARGATE_SCHEDULER,
  FARGATE_TAINT,
  matchingProfile,
  POD_ANNOTATION,
  POD_UID_ANNOTATION,
  type FargateProfile,
  type FargateUsage,
} from './types.js';

/** The mutating admission step of EKS's Fargate webhook (see the file comment). */
export function fargateAdmission(store: ObjectStore): AdmissionPlugin {
  return {
    name: 'EksFargateProfile',
    async admit(req: AdmissionRequest) {
      if (req.operation !== 'CREATE' || req.resource.kind !== 'Pod' || req.resource.group !== '' || req.subresource || !req.object) return;
      const pod = req.object as Pod;
      if (pod.spec.nodeName || (pod.spec.schedulerName && pod.spec.schedulerName !== 'default-scheduler')) return;
      const profiles = (await store.list(FARGATE_PROFILE_RESOURCE, undefined)).items as FargateProfile[];
      const p = matchingProfile(profiles, req.namespace ?? pod.metadata.namespace ?? 'default', pod.metadata.labels);
      if (!p) return;
      pod.spec.schedulerName = FARGATE_SCHEDULER;
      pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [FARGATE_PROFILE_ANNOTATION]: p.metadata.name! };
    },
  };
}

/** The Fargate node's name for a pod: `fargate-` and the first 13 characters of its uid, stable across restarts. */
export function fargateNodeName(pod: Pod): string {
  return `fargate-${pod.metadata.uid!.replace(/[^a-z0-9]/g, '').slice(0, 13)}`;
}

/** The Node EKS registers for a Fargate pod of size `s`. */
export function fargateNode(pod: Pod, s: FargateSize, block: number, zone = 'us-east-1a'): Node {
  const name = fargateNodeName(pod);
  const { cidr, ip } = fargateAddress(block);
  const capacity = { cpu: String(s.vcpu), memory: `${s.memoryGB * 1024}Mi`, pods: '1' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        [COMPUTE_TYPE_LABEL]: 'fargate',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': zone,
        'eks.amazonaws.com/fargate-profile': pod.metadata.annotations?.[FARGATE_PROFILE_ANNOTATION] ?? '',
      },
      annotations: { [POD_ANNOTATION]: `${pod.metadata.namespace}/${pod.metadata.name}`, [POD_UID_ANNOTATION]: pod.metadata.uid!, [CAPACITY_PROVISIONED_ANNOTATION]: capacityProvisioned(s) },
    },
    spec: { taints: [FARGATE_TAINT], podCIDR: cidr },
    status: { capacity, allocatable: capacity, addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] },
  };
}

/** Fargate pods' addresses: /30 blocks of 172.16.0.0/12, one per node (2^18 of them). */
export const FARGATE_BLOCKS = 1 << 18;

/**
 * The node's pod CIDR (a /30) and address for block `i`: the block's one usable host, which the
 * node agent also gives the pod, so the pod's IP is its node's, as on Fargate.
 */
export function fargateAddress(i: number): { cidr: string; ip: string } {
  const base = ((172 << 24) >>> 0) + (16 << 16) + i * 4;
  const dotted = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  return { cidr: `${dotted(base)}/30`, ip: dotted(base + 2) };
}

function finished(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** The fargate-scheduler: see the file comment. Reconciles pods by `namespace/name`. */
export class FargateScheduler implements Reconciler {
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly recorder: EventRecorder;
  /** Pod CIDRs this process handed out recently, by cluster time in ms (see freeBlock). */
  private readonly taken = new Map<string, number>();

  constructor(mgr: Manager) {
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.recorder = mgr.recorder(FARGATE_SCHEDULER);
  }

  /** Registers the controller on the manager: pods, and Fargate nodes mapped back to their pod. */
  static installWith(mgr: Manager, reconciler: FargateScheduler = new FargateScheduler(mgr)): Controller {
    return controllerFor(mgr, Kinds.Pod)
      .named(FARGATE_SCHEDULER)
      .watches(Kinds.Node, (n) => {
        const k = n.metadata.annotations?.[POD_ANNOTATION];
        return n.metadata.labels?.[COMPUTE_TYPE_LABEL] === 'fargate' && k ? [k] : [];
      })
      .complete(reconciler);
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const pod = this.pods.cache.get(key);
    // Nodes made for this key whose pod is gone, finished, deleting or replaced by another of the same name.
    const mine = this.nodes.cache.list().filter((n) => n.metadata.labels?.[COMPUTE_TYPE_LABEL] === 'fargate' && n.metadata.annotations?.[POD_ANNOTATION] === key);
    const live = pod && pod.spec.schedulerName === FARGATE_SCHEDULER && !pod.metadata.deletionTimestamp && !finished(pod) ? pod : undefined;
    for (const n of mine) if (!live || n.metadata.annotations?.[POD_UID_ANNOTATION] !== live.metadata.uid) await this.release(ctx, n);
    if (!live) return;
    if (live.spec.nodeName && live.spec.nodeName !== fargateNodeName(live)) return; // bound elsewhere by someone else
    let size: FargateSize;
    try {
      size = fargatePodSize(live);
    } catch (e) {
      if (!(e instanceof FargateSizeError)) throw e;
      this.recorder.event(live, 'Warning', 'FailedScheduling', `Pod not supported on Fargate: ${e.message}`);
      return;
    }
    const name = fargateNodeName(live);
    if (!this.nodes.cache.get(name)) {
      const now = ctx.clock.now();
      const block = this.freeBlock(now);
      if (block === undefined) {
        this.recorder.event(live, 'Warning', 'FailedScheduling', 'no Fargate addresses left (172.16.0.0/12 is used up)');
        return { requeueAfter: 30_000 };
      }
      await this.openUsage(ctx, live, name, size, now);
      try {
        await ctx.client.create(fargateNode(live, size, block));
        this.taken.set(fargateAddress(block).cidr, now);
        this.recorder.event(live, 'Normal', 'LaunchingFargateNode', `Launching Fargate node ${name} (${capacityProvisioned(size)})`);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
    const want = capacityProvisioned(size);
    if (live.metadata.annotations?.[CAPACITY_PROVISIONED_ANNOTATION] !== want) {
      try {
        await ctx.client.patch(Kinds.Pod, live.metadata.name!, live.metadata.namespace, 'merge', { metadata: { annotations: { [CAPACITY_PROVISIONED_ANNOTATION]: want } } });
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
    }
    if (!live.spec.nodeName) {
      try {
        await ctx.client.bind(live.metadata.namespace!, live.metadata.name!, name, live.metadata.uid);
        this.recorder.event(live, 'Normal', 'Scheduled', `Successfully assigned ${key} to ${name}`);
      } catch (e) {
        if (!(isConflict(e) || isNotFound(e))) throw e;
      }
    }
  }

  /**
   * The lowest /30 block no Fargate node holds. Blocks handed out in the last minute (of cluster time) count as
   * held even before the node informer shows their node (the reconciles outrun the cache).
   */
  private freeBlock(now: number): number | undefined {
    for (const [cidr, at] of this.taken) if (now - at > 60_000) this.taken.delete(cidr);
    const used = new Set(this.taken.keys());
    for (const n of this.nodes.cache.list()) if (n.metadata.labels?.[COMPUTE_TYPE_LABEL] === 'fargate' && n.spec?.podCIDR) used.add(n.spec.podCIDR);
    for (let i = 0; i < FARGATE_BLOCKS; i++) if (!used.has(fargateAddress(i).cidr)) return i;
    return undefined;
  }

  /** Creates the pod's open FargateUsage record (named by pod uid) unless it exists. */
  private async openUsage(ctx: ReconcileContext, pod: Pod, nodeName: string, s: FargateSize, now: number): Promise<void> {
    const usage: FargateUsage = {
      apiVersion: EksKinds.FargateUsage.apiVersion,
      kind: 'FargateUsage',
      metadata: { name: pod.metadata.uid! },
      spec: {
        namespace: pod.metadata.namespace!,
        pod: pod.metadata.name!,
        podUID: pod.metadata.uid!,
        nodeName,
        profile: pod.metadata.annotations?.[FARGATE_PROFILE_ANNOTATION] ?? '',
        vcpu: s.vcpu,
        memoryGB: s.memoryGB,
        start: new Date(now).toISOString(),
      },
    };
    try {
      await ctx.client.create(usage);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }

  /** Closes the node's usage record (end = now) and deletes the node. */
  private async release(ctx: ReconcileContext, n: Node): Promise<void> {
    const uid = n.metadata.annotations?.[POD_UID_ANNOTATION];
    if (uid) {
      const end = new Date(ctx.clock.now()).toISOString();
      try {
        await ctx.client.modify<FargateUsage>(EksKinds.FargateUsage, uid, undefined, (u) => {
          if (u.spec.end) return undefined;
          u.spec.end = end;
          return u;
        });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    try {
      await ctx.client.delete(Kinds.Node, n.metadata.name!, undefined, { preconditions: { uid: n.metadata.uid! } });
      ctx.log.info({ node: n.metadata.name }, 'deleted Fargate node: its pod is gone');
    } catch (e) {
      if (!(isNotFound(e) || isConflict(e))) throw e;
    }
  }
}
