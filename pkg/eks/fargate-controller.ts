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
 * `FailedScheduling` Warning event and a `PodScheduled: False` condition saying why.
 *
 * ECS tasks on Fargate (pods pkg/ecs makes, labelled `ecs.berth.dev/cluster`; ECS-CONTRACT.md):
 * - sized exactly as `ecs.berth.dev/fargate-size: "<cpu units>/<memory MiB>"` says (the task-level
 *   size; no +256 MiB, which is EKS's rule), checked against the valid combinations: an invalid
 *   one leaves the pod Pending with the reason in its event and condition;
 * - `ecs.berth.dev/capacity-provider: FARGATE_SPOT` runs the task on Fargate Spot: its node is
 *   labelled `ecs.berth.dev/capacity-provider: FARGATE_SPOT`, its run billed at the Spot rates
 *   (data/fargate.json), and it is interrupted when the EC2 Spot model (pkg/cloud/spot-market.ts,
 *   the Spot market's seed, `spotInterruptionsPerMonth`) says — or when `interrupt()` injects
 *   one. As ECS does (https://aws.amazon.com/premiumsupport/knowledge-center/fargate-spot-termination-notice/),
 *   the warning comes two minutes before the stop: at the notice a Warning `SpotInterruption`
 *   event and a `DisruptionTarget` condition (the SIGTERM); two minutes later the pod is stopped —
 *   phase Failed, reason `SpotInterrupted`, message `Your Spot Task was interrupted.` (ECS's
 *   stoppedReason), a Warning `SpotInterrupted` event — its node removed and its run billed to then.
 * EKS on Fargate has no Spot: an EKS pod asking for FARGATE_SPOT runs On-Demand, with a Warning
 * event saying so.
 */
import { isAlreadyExists, isConflict, isNotFound } from '../api/errors.js';
import { setCondition } from '../api/meta.js';
import type { Node, Pod } from '../api/types.js';
import type { AdmissionPlugin, AdmissionRequest, ObjectStore } from '../apiserver/store.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import { readMarketSeed } from '../cloud/cost.js';
import { spotNoticeAt } from '../cloud/spot-market.js';
import { CAPACITY_PROVIDER_ANNOTATION, CLUSTER_LABEL, FARGATE_SIZE_ANNOTATION } from '../ecs/placement/attributes.js';
import { capacityProvisioned, fargateData, fargatePodSize, FargateSizeError, parseFargateSize, type FargateCapacity, type FargateSize } from '../fargate/fargate.js';
import { controllerFor, type Controller, type Manager, type ReconcileContext, type Reconciler, type Result } from '../runtime/manager.js';
import type { EventRecorder } from '../runtime/events.js';
import {
  CAPACITY_PROVISIONED_ANNOTATION,
  COMPUTE_TYPE_LABEL,
  EksKinds,
  FARGATE_PROFILE_ANNOTATION,
  FARGATE_PROFILE_RESOURCE,
  FARGATE_SCHEDULER,
  FARGATE_CAPACITY_LABEL,
  FARGATE_TAINT,
  matchingProfile,
  POD_ANNOTATION,
  POD_UID_ANNOTATION,
  SPOT_INTERRUPTED_REASON,
  SPOT_NOTICE_ANNOTATION,
  SPOT_STOPPED_REASON,
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
      const profiles = (await store.cachedList(FARGATE_PROFILE_RESOURCE, undefined)) as FargateProfile[];
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

/** The Node EKS registers for a Fargate pod of size `s`; `extra` labels and annotations are added (an ECS task's capacity provider, a Spot notice). */
export function fargateNode(pod: Pod, s: FargateSize, block: number, zone = 'us-east-1a', extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Node {
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
        ...extra.labels,
      },
      annotations: { [POD_ANNOTATION]: `${pod.metadata.namespace}/${pod.metadata.name}`, [POD_UID_ANNOTATION]: pod.metadata.uid!, [CAPACITY_PROVISIONED_ANNOTATION]: capacityProvisioned(s), ...extra.annotations },
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

/** What the fargate-scheduler provisions for a pod: its size and capacity provider. */
export interface FargatePlacement {
  size: FargateSize;
  capacity: FargateCapacity;
  /** The ECS cluster, for an ECS task. */
  ecsCluster?: string;
  /** Set when the pod asked for something its flavour does not offer (FARGATE_SPOT on EKS). */
  warning?: string;
}

/**
 * The size and capacity of a Fargate pod: an ECS task's `ecs.berth.dev/fargate-size` exactly, or
 * EKS's rule (fargatePodSize); FARGATE_SPOT only for ECS tasks. Throws FargateSizeError (an
 * invalid size annotation, or a pod too large for Fargate).
 */
export function fargatePlacement(pod: Pod): FargatePlacement {
  const ann = pod.metadata.annotations ?? {};
  const ecsCluster = pod.metadata.labels?.[CLUSTER_LABEL];
  const sized = ann[FARGATE_SIZE_ANNOTATION];
  let size: FargateSize;
  if (sized !== undefined) {
    try {
      size = parseFargateSize(sized);
    } catch (e) {
      if (e instanceof FargateSizeError) throw new FargateSizeError(`annotation ${FARGATE_SIZE_ANNOTATION}: ${e.message}`);
      throw e;
    }
  } else size = fargatePodSize(pod);
  const spot = ann[CAPACITY_PROVIDER_ANNOTATION] === 'FARGATE_SPOT';
  if (spot && ecsCluster === undefined) return { size, capacity: 'FARGATE', warning: 'EKS on Fargate has no Fargate Spot: the pod runs on On-Demand Fargate capacity' };
  return { size, capacity: spot ? 'FARGATE_SPOT' : 'FARGATE', ...(ecsCluster !== undefined ? { ecsCluster } : {}) };
}

export interface FargateSchedulerOptions {
  /**
   * The seed of the Spot interruption model. Default: the Spot market's seed (ConfigMap
   * kube-system/berth-ec2-spot-market, which the cloud component keeps), or 0 without one.
   */
  spotSeed?: number;
}

/** The node-cache index of Fargate nodes by the `namespace/name` of their pod. */
const FARGATE_POD_INDEX = 'fargate-pod';

/** The fargate-scheduler: see the file comment. Reconciles pods by `namespace/name`. */
export class FargateScheduler implements Reconciler {
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly recorder: EventRecorder;
  /** Pod CIDRs this process handed out recently, by cluster time in ms (see freeBlock). */
  private readonly taken = new Map<string, number>();
  private spotSeed: number | undefined;
  private readonly mgr: Manager;

  constructor(mgr: Manager, opts: FargateSchedulerOptions = {}) {
    this.mgr = mgr;
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.nodes = mgr.informer<Node>(Kinds.Node);
    // Fargate nodes by the pod they were made for: a reconcile looks up its own nodes, not the fleet.
    this.nodes.cache.addIndex(FARGATE_POD_INDEX, (n) => (n.metadata.labels?.[COMPUTE_TYPE_LABEL] === 'fargate' && n.metadata.annotations?.[POD_ANNOTATION] ? [n.metadata.annotations[POD_ANNOTATION]] : []));
    this.recorder = mgr.recorder(FARGATE_SCHEDULER);
    this.spotSeed = opts.spotSeed;
  }

  /**
   * Interrupts a running Fargate Spot task now or at `noticeAtMs` (cluster time, ms): its
   * two-minute warning comes then, its stop two minutes later (as AWS Fault Injection Service's
   * Spot interruption does for EC2). `key` is the pod's `namespace/name`. Returns false when the
   * pod is not a running Fargate Spot task.
   */
  async interrupt(key: string, noticeAtMs: number = this.mgr.clock.now()): Promise<boolean> {
    const pod = this.pods.cache.get(key);
    if (!pod || !pod.spec.nodeName || pod.spec.nodeName !== fargateNodeName(pod) || finished(pod)) return false;
    const node = this.nodes.cache.get(pod.spec.nodeName);
    if (!node || node.metadata.labels?.[FARGATE_CAPACITY_LABEL] !== 'FARGATE_SPOT') return false;
    const at = new Date(noticeAtMs).toISOString();
    await this.mgr.client.patch(Kinds.Node, node.metadata.name!, undefined, 'merge', { metadata: { annotations: { [SPOT_NOTICE_ANNOTATION]: at } } });
    try {
      await this.mgr.client.modify<FargateUsage>(EksKinds.FargateUsage, pod.metadata.uid!, undefined, (u) => {
        u.spec.interruptionNoticeAt = at;
        return u;
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    return true;
  }

  /** Running Fargate Spot tasks, by `namespace/name` (what `interrupt` takes). */
  spotTasks(): string[] {
    return this.nodes.cache
      .list()
      .filter((n) => n.metadata.labels?.[FARGATE_CAPACITY_LABEL] === 'FARGATE_SPOT' && n.metadata.annotations?.[POD_ANNOTATION])
      .map((n) => n.metadata.annotations![POD_ANNOTATION]!)
      .sort();
  }

  private async seed(ctx: ReconcileContext): Promise<number> {
    if (this.spotSeed === undefined) {
      try {
        this.spotSeed = await readMarketSeed(ctx.client);
      } catch {
        this.spotSeed = 0;
      }
    }
    return this.spotSeed;
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
    const mine = this.nodes.cache.byIndex(FARGATE_POD_INDEX, key);
    const live = pod && pod.spec.schedulerName === FARGATE_SCHEDULER && !pod.metadata.deletionTimestamp && !finished(pod) ? pod : undefined;
    for (const n of mine) if (!live || n.metadata.annotations?.[POD_UID_ANNOTATION] !== live.metadata.uid) await this.release(ctx, n);
    if (!live) return;
    if (live.spec.nodeName && live.spec.nodeName !== fargateNodeName(live)) return; // bound elsewhere by someone else
    let placement: FargatePlacement;
    try {
      placement = fargatePlacement(live);
    } catch (e) {
      if (!(e instanceof FargateSizeError)) throw e;
      const message = `Pod not supported on Fargate: ${e.message}`;
      this.recorder.event(live, 'Warning', 'FailedScheduling', message);
      if (!live.spec.nodeName) await this.markUnschedulable(ctx, live, message);
      return;
    }
    const { size, capacity } = placement;
    const name = fargateNodeName(live);
    const existing = this.nodes.cache.get(name);
    if (!existing) {
      const now = ctx.clock.now();
      const block = this.freeBlock(now);
      if (block === undefined) {
        this.recorder.event(live, 'Warning', 'FailedScheduling', 'no Fargate addresses left (172.16.0.0/12 is used up)');
        return { requeueAfter: 30_000 };
      }
      if (placement.warning) this.recorder.event(live, 'Warning', 'FargateSpotNotSupported', placement.warning);
      const d = fargateData();
      const noticeAt = capacity === 'FARGATE_SPOT' ? spotNoticeAt(await this.seed(ctx), live.metadata.uid!, d.spotInterruptionsPerMonth, now) : undefined;
      await this.openUsage(ctx, live, name, placement, now, noticeAt);
      const extra = {
        ...(placement.ecsCluster !== undefined ? { labels: { [FARGATE_CAPACITY_LABEL]: capacity } } : {}),
        ...(noticeAt !== undefined ? { annotations: { [SPOT_NOTICE_ANNOTATION]: new Date(noticeAt).toISOString() } } : {}),
      };
      try {
        await ctx.client.create(fargateNode(live, size, block, undefined, extra));
        this.taken.set(fargateAddress(block).cidr, now);
        this.recorder.event(live, 'Normal', 'LaunchingFargateNode', `Launching ${capacity === 'FARGATE_SPOT' ? 'Fargate Spot' : 'Fargate'} node ${name} (${capacityProvisioned(size)})`);
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
    // Fargate Spot: the two-minute warning at the notice, the stop two minutes later.
    const notice = existing?.metadata.annotations?.[SPOT_NOTICE_ANNOTATION];
    if (!existing || !notice || live.spec.nodeName !== name) return;
    const noticeMs = Date.parse(notice);
    const stopMs = noticeMs + fargateData().spotWarningSeconds * 1000;
    const now = ctx.clock.now();
    if (now >= stopMs) return void (await this.stopInterrupted(ctx, live, existing, stopMs));
    if (now >= noticeMs) {
      await this.warnInterruption(ctx, live, stopMs);
      return { requeueAfter: stopMs - now };
    }
    return { requeueAfter: noticeMs - now };
  }

  /** Sets the pod's PodScheduled condition to False with `message` (it stays Pending). */
  private async markUnschedulable(ctx: ReconcileContext, pod: Pod, message: string): Promise<void> {
    await this.setCondition(ctx, pod, (p) => !p.spec.nodeName, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message });
  }

  /** The two-minute warning (once): a Warning event and the DisruptionTarget condition, which stand for ECS's task state change event and SIGTERM. */
  private async warnInterruption(ctx: ReconcileContext, pod: Pod, stopMs: number): Promise<void> {
    if (pod.status?.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True' && c.reason === 'SpotInterruption')) return;
    const message = `Fargate Spot interruption: two-minute warning, SIGTERM sent; the task is stopped at ${new Date(stopMs).toISOString()}`;
    if (await this.setCondition(ctx, pod, () => true, { type: 'DisruptionTarget', status: 'True', reason: 'SpotInterruption', message })) {
      this.recorder.event(pod, 'Warning', 'SpotInterruption', message);
    }
  }

  /**
   * Sets a condition on the pod's status when the live pod is still `pod` (same UID) and `applies`
   * to it. Returns false when the pod is gone.
   */
  private async setCondition(ctx: ReconcileContext, pod: Pod, applies: (p: Pod) => boolean, condition: Parameters<typeof setCondition>[1]): Promise<boolean> {
    const now = new Date(ctx.clock.now()).toISOString();
    try {
      await ctx.client.modify<Pod>(
        Kinds.Pod,
        pod.metadata.name!,
        pod.metadata.namespace,
        (p) => {
          if (p.metadata.uid !== pod.metadata.uid || !applies(p)) return undefined;
          const conditions = (p.status ??= {}).conditions ?? [];
          if (!setCondition(conditions, condition, now)) return undefined;
          p.status.conditions = conditions;
          return p;
        },
        { status: true },
      );
      return true;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      return false;
    }
  }

  /** The stop, two minutes after the warning: the pod Failed with ECS's stoppedReason, its node removed, its run billed to `stopMs`. */
  private async stopInterrupted(ctx: ReconcileContext, pod: Pod, node: Node, stopMs: number): Promise<void> {
    try {
      await ctx.client.modify<Pod>(
        Kinds.Pod,
        pod.metadata.name!,
        pod.metadata.namespace,
        (p) => {
          if (p.metadata.uid !== pod.metadata.uid || finished(p)) return undefined;
          p.status = { ...p.status, phase: 'Failed', reason: SPOT_INTERRUPTED_REASON, message: SPOT_STOPPED_REASON };
          return p;
        },
        { status: true },
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    this.recorder.event(pod, 'Warning', SPOT_INTERRUPTED_REASON, SPOT_STOPPED_REASON);
    await this.release(ctx, node, stopMs, SPOT_STOPPED_REASON);
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
  private async openUsage(ctx: ReconcileContext, pod: Pod, nodeName: string, placement: FargatePlacement, now: number, noticeAt: number | undefined): Promise<void> {
    const s = placement.size;
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
        ...(placement.capacity === 'FARGATE_SPOT' ? { capacityProvider: 'FARGATE_SPOT' as const } : {}),
        ...(placement.ecsCluster !== undefined ? { ecsCluster: placement.ecsCluster } : {}),
        ...(noticeAt !== undefined ? { interruptionNoticeAt: new Date(noticeAt).toISOString() } : {}),
      },
    };
    try {
      await ctx.client.create(usage);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }

  /** Closes the node's usage record (end = `endMs`, default now; with the stop reason, if Fargate stopped the task) and deletes the node. */
  private async release(ctx: ReconcileContext, n: Node, endMs: number = ctx.clock.now(), stoppedReason?: string): Promise<void> {
    const uid = n.metadata.annotations?.[POD_UID_ANNOTATION];
    if (uid) {
      const end = new Date(endMs).toISOString();
      try {
        await ctx.client.modify<FargateUsage>(EksKinds.FargateUsage, uid, undefined, (u) => {
          if (u.spec.end) return undefined;
          u.spec.end = end;
          if (stoppedReason) u.spec.stoppedReason = stoppedReason;
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
