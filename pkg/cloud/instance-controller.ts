/**
 * The Instance controller: plays EC2's side of every Instance object. It launches an instance
 * (private IP address from its zone's subnet, DNS name, boot delay, price; a Spot price check; a
 * Dedicated Host placement), moves it through the lifecycle (lifecycle.ts) on the injected clock,
 * registers a Node when it first runs (what the kubelet of the EKS-optimized AMI does at boot),
 * keeps that Node while the instance is stopped (as EKS does: the node lifecycle controller marks
 * it NotReady, node-lifecycle.ts) and removes it when the instance terminates, runs the
 * termination before an Instance deleted through the API goes (finalizer), and deletes
 * terminated instances after an hour, as EC2 stops showing them.
 *
 * It also plays EC2's Spot service for Spot Instances: the rebalance recommendation and the
 * two-minute interruption notice (from the Spot market's model, from a price above the
 * instance's maximum, or asked through the `ec2.berth.dev/send-spot-interruption` annotation),
 * then the interruption itself at the deadline. And it writes the ledger: a UsageRecord opened
 * at the exact moment an instance enters `running` and closed when it leaves it.
 *
 * Level-based: each reconcile reads the Instance and its Node and acts on the difference; timed
 * transitions come back with `{requeueAfter}`. One worker, because address, pod-CIDR and host
 * allocation must see each previous allocation.
 */
import { isNotFound } from '../api/errors.js';
import { clone, deepEqual } from '../api/meta.js';
import type { Node, Taint } from '../api/types.js';
import { parseTime, rfc3339, rfc3339Micro } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../runtime/manager.js';
import { controllerFor } from '../runtime/manager.js';
import { nodeResources } from './allocatable.js';
import { BillingKinds, type DedicatedHost, type EndReason } from './billing-types.js';
import { kubeArch, type Catalog, type InstanceTypeInfo } from './catalog.js';
import { bootDelayMs } from './families.js';
import { hashUnit } from './hash.js';
import type { Ledger } from './ledger.js';
import { advanceLifecycle, STATE_CODES, type InstanceState, type LifecycleStep, type LifecycleTimings, type StatePoint } from './lifecycle.js';
import { allocateIp, allocatePodCidr, parseProviderId, privateDnsName, providerId, type Region } from './network.js';
import { instanceHourlyRate } from './pricing.js';
import { SPOT_NOTICE_MS, type SpotMarket } from './spot-market.js';
import { FAIL_INSTANCE_ANNOTATION, GROUP_NAME_LABEL, INSTANCE_FINALIZER, NODE_LABELS, SEND_SPOT_INTERRUPTION_ANNOTATION, type DesiredState, type Instance, type InstanceStatus, type StateReason, type Tenancy } from './types.js';
import { LocalView } from './view.js';

/** What the Instance controller is configured with (installCloud fills it from CloudOptions). */
export interface InstanceControllerOptions {
  catalog: Catalog;
  region: Region;
  /** Stop and terminate delays; `bootMs` is the fixed boot delay when `fixedBoot` is true, else unused. */
  timings: LifecycleTimings;
  /** True: every launch boots in `timings.bootMs`; false: the family's boot delay with seeded jitter (families.ts). */
  fixedBoot?: boolean;
  /** How long a terminated instance stays visible, ms (EC2: about an hour). */
  retentionMs: number;
  /** Where Node pod CIDRs come from. */
  clusterCidr: string;
  /** The Spot market (prices, interruptions). */
  market: SpotMarket;
  /** Seed of the per-instance draws (boot jitter). */
  seed: number;
  /** False: EC2 never interrupts Spot Instances on its own (only when asked through the annotation). Default true. */
  spotInterruptions?: boolean;
  /** Where billable intervals are written. */
  ledger: Ledger;
}

/** EC2's timestamp in reason texts: `2026-01-01 00:05:00 GMT`. */
function gmt(ms: number): string {
  return `${rfc3339(ms).replace('T', ' ').replace('Z', '')} GMT`;
}

/** EC2's `StateTransitionReason` for a stop or terminate the user asked for. */
export function userInitiated(ms: number): string {
  return `User initiated (${gmt(ms)})`;
}

/** EC2's StateReason for an interrupted Spot Instance (Find interrupted Spot Instances, EC2 User Guide). */
export const SPOT_TERMINATION_REASON: StateReason = { code: 'Server.SpotInstanceTermination', message: 'Server.SpotInstanceTermination: Spot instance termination' };
export const SPOT_SHUTDOWN_REASON: StateReason = { code: 'Server.SpotInstanceShutdown', message: 'Server.SpotInstanceShutdown: Spot instance shutdown' };
/** The StateReason of an instance that failed (simulate's `fail-instance`). */
export const INTERNAL_ERROR_REASON: StateReason = { code: 'Server.InternalError', message: 'Server.InternalError: An internal error caused the instance to shut down' };

/** The tenancy of an instance (default `default`). */
export function tenancyOf(inst: Instance): Tenancy {
  return inst.spec.tenancy ?? 'default';
}

/** True for a Spot Instance. */
export function isSpot(inst: Instance): boolean {
  return inst.spec.instanceMarketOptions?.marketType === 'spot';
}

/** States in which an instance holds capacity on its Dedicated Host. */
/** How often a start refused for want of Dedicated Host capacity is tried again, ms. */
const HOST_RETRY_MS = 60_000;
const ON_HOST_STATES: readonly (InstanceState | undefined)[] = ['pending', 'running', 'stopping', 'shutting-down'];

/**
 * The Node a running instance registers: named by its private DNS name, with the well-known
 * labels, the instance's node labels and taints, its provider ID and pod CIDR, and capacity and
 * allocatable from the EKS AMI's reservations. Conditions are left to the node agent.
 */
export function nodeForInstance(inst: Instance, info: InstanceTypeInfo, region: Region, podCidr: string | undefined): Node {
  const status = inst.status!;
  const name = status.privateDnsName!;
  const { capacity, allocatable } = nodeResources(info);
  const labels: Record<string, string> = {
    [NODE_LABELS.arch]: kubeArch(info.arch),
    [NODE_LABELS.os]: 'linux',
    [NODE_LABELS.hostname]: name,
    [NODE_LABELS.instanceType]: info.name,
    [NODE_LABELS.region]: region,
    [NODE_LABELS.zone]: inst.spec.availabilityZone,
    [NODE_LABELS.capacityType]: isSpot(inst) ? 'SPOT' : 'ON_DEMAND',
    ...(inst.spec.nodeLabels ?? {}),
  };
  const taints: Taint[] = (inst.spec.nodeTaints ?? []).map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect }));
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
    spec: {
      providerID: providerId(inst.spec.availabilityZone, inst.metadata.name!),
      ...(podCidr ? { podCIDR: podCidr, podCIDRs: [podCidr] } : {}),
      ...(taints.length ? { taints } : {}),
    },
    status: {
      capacity,
      allocatable,
      addresses: [
        { type: 'InternalIP', address: status.privateIpAddress! },
        { type: 'InternalDNS', address: name },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: { architecture: kubeArch(info.arch), operatingSystem: 'linux' },
    },
  };
}

export class InstanceController implements Reconciler {
  readonly instances: LocalView<Instance>;
  readonly nodes: LocalView<Node>;
  readonly hosts: LocalView<DedicatedHost>;

  constructor(
    mgr: Manager,
    private readonly opts: InstanceControllerOptions,
    instances?: LocalView<Instance>,
  ) {
    this.instances = instances ?? new LocalView(mgr.informer<Instance>(Kinds.Instance));
    this.nodes = new LocalView(mgr.informer<Node>(Kinds.Node));
    this.hosts = new LocalView(mgr.informer<DedicatedHost>(BillingKinds.DedicatedHost));
  }

  /** Registers the controller: Instances, and Node deletions (a running instance's Node comes back). */
  static install(mgr: Manager, opts: InstanceControllerOptions, instances?: LocalView<Instance>): { controller: Controller; reconciler: InstanceController } {
    const reconciler = new InstanceController(mgr, opts, instances);
    const controller = controllerFor(mgr, Kinds.Instance).named('ec2-instance').complete(reconciler);
    reconciler.nodes.informer.on({
      delete: (n) => {
        const p = parseProviderId(n.spec?.providerID);
        if (p) controller.enqueue(p.instanceId);
      },
    });
    return { controller, reconciler };
  }

  async reconcile(ctx: ReconcileContext, name: string): Promise<Result | void> {
    let inst = await ctx.client.tryGet<Instance>(Kinds.Instance, name);
    if (!inst) return;
    const now = ctx.clock.now();
    const deleting = Boolean(inst.metadata.deletionTimestamp);
    let desired: DesiredState = deleting ? 'terminated' : (inst.spec.state ?? 'running');
    const before = inst.status ?? {};
    const status: InstanceStatus = clone(before);

    if (!status.state) {
      if (desired === 'terminated') {
        // Never launched: nothing to shut down.
        if (deleting) {
          await this.removeFinalizer(ctx, inst);
          return;
        }
        Object.assign(status, { state: 'terminated', stateCode: STATE_CODES.terminated, stateTransitionTime: rfc3339Micro(now), stateTransitionReason: userInitiated(now) });
      } else {
        const info = this.typeOf(ctx, inst);
        if (!info) return;
        inst = await this.ensureFinalizer(ctx, inst);
        Object.assign(status, this.launch(ctx, inst, info, now));
      }
    } else if (!deleting && status.state !== 'terminated') {
      inst = await this.ensureFinalizer(ctx, inst);
    }

    // A start after a stop on a Dedicated Host: placed again (host affinity), or refused while no
    // host has room, as StartInstances fails with InsufficientHostCapacity; tried again each minute.
    let retryAt = Infinity;
    if (status.state === 'stopped' && desired === 'running' && tenancyOf(inst) === 'host') {
      const info = this.opts.catalog.get(inst.spec.instanceType);
      const hostId = info ? this.placeOnHost(inst, info, status.hostId) : undefined;
      if (hostId) status.hostId = hostId;
      else {
        const where = inst.spec.hostId || inst.spec.affinity === 'host' ? `the Dedicated Host ${inst.spec.hostId ?? status.hostId}` : `any Dedicated Host with auto-placement on in ${inst.spec.availabilityZone}`;
        ctx.recorder.event(inst, 'Warning', 'InsufficientHostCapacity', `Insufficient capacity on ${where} to start ${inst.spec.instanceType}.`);
        desired = 'stopped';
        retryAt = now + HOST_RETRY_MS;
      }
    }

    const since = parseTime(status.stateTransitionTime);
    const start: StatePoint = { state: status.state!, since: Number.isNaN(since) ? now : since };
    const timings: LifecycleTimings = { ...this.opts.timings, bootMs: status.bootSeconds !== undefined ? Math.round(status.bootSeconds * 1000) : this.opts.timings.bootMs };

    // What EC2 itself does to the instance: a failure, or a Spot interruption at its deadline.
    let wakeAt: number | undefined;
    const steps: { step: LifecycleStep; reason?: StateReason }[] = [];
    let current = start;
    const run = (want: DesiredState, at: number, reason?: StateReason): void => {
      const res = advanceLifecycle(current, want, at, timings);
      for (const step of res.steps) steps.push({ step, ...(step.requested && reason ? { reason } : {}) });
      current = res.current;
      wakeAt = res.wakeAt;
    };
    const failed = inst.metadata.annotations?.[FAIL_INSTANCE_ANNOTATION] !== undefined && status.state !== 'terminated' && status.state !== 'shutting-down';
    const spot = isSpot(inst) ? this.spotEvents(inst, status, start, now) : undefined;
    if (failed) {
      run('terminated', now, INTERNAL_ERROR_REASON);
    } else if (spot?.deadline !== undefined && spot.deadline <= now) {
      // Up to the deadline as the user wants it, then EC2's interruption, then on to now.
      const action = status.spotInterruption!.action;
      const itn: DesiredState = desired === 'terminated' || action === 'terminate' ? 'terminated' : 'stopped';
      if (start.state === 'running') run(desired, spot.deadline);
      const reason = itn === 'terminated' ? SPOT_TERMINATION_REASON : SPOT_SHUTDOWN_REASON;
      run(itn, Math.max(spot.deadline, current.since), reason);
      run(itn, now, reason);
      desired = itn;
    } else {
      run(desired, now);
    }

    // The ledger first (idempotent), then the status that reports the transitions.
    for (const { step, reason } of steps) {
      const { state: to, since: at } = step.to;
      if (to === 'running') await this.beginUsage(ctx, inst, status, at);
      else if (to === 'stopping' || to === 'shutting-down') await this.opts.ledger.end(ctx.client, inst.metadata.name!, at, endReason(to, reason));
    }
    for (const { step, reason } of steps) this.apply(ctx, inst, status, step, reason);
    if (current.state === 'running') await this.beginUsage(ctx, inst, status, current.since);
    else if (current.state !== 'stopping' && current.state !== 'shutting-down') {
      // A crash between the two writes above leaves an interval open: close it when the instance stopped running.
      if (this.opts.ledger.open(inst.metadata.name!).length) await this.opts.ledger.end(ctx.client, inst.metadata.name!, this.leftRunningAt(current, timings), 'stopped');
    }

    if (current.state === 'running') {
      const info = this.typeOf(ctx, inst);
      if (!info) return;
      status.nodeName = await this.ensureNode(ctx, inst, status, info);
    } else if (current.state === 'shutting-down' || current.state === 'terminated') {
      await this.removeNode(ctx, inst, status);
      delete status.nodeName;
    }
    // Stopping, stopped, and pending after a start: the Node stays (NotReady), as in EKS.

    if (!deepEqual(status, before)) await this.writeStatus(ctx, inst, status);

    if (current.state === 'terminated') {
      await this.removeFinalizer(ctx, inst);
      if (deleting) return;
      const expires = current.since + this.opts.retentionMs;
      if (now < expires) return { requeueAfter: expires - now };
      try {
        const gone = await ctx.client.delete(Kinds.Instance, name, undefined, { preconditions: { uid: inst.metadata.uid! } });
        this.instances.deleted(gone);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return;
    }
    let next = Math.min(wakeAt ?? Infinity, retryAt);
    if (current.state === 'running' && spot) next = Math.min(next, spot.wakeAt ?? Infinity, spot.deadline !== undefined && spot.deadline > now ? spot.deadline : Infinity);
    if (Number.isFinite(next)) return { requeueAfter: Math.max(1, next - now) };
  }

  /** When a run that has ended (stopped or terminated without its record closed) left `running`: best knowledge from the state and its delays. */
  private leftRunningAt(cur: StatePoint, t: LifecycleTimings): number {
    if (cur.state === 'stopped') return cur.since - t.stopMs;
    if (cur.state === 'terminated') return cur.since - t.terminateMs;
    return cur.since;
  }

  /**
   * The Spot service's view of a running Spot Instance: records the rebalance recommendation and
   * the interruption notice in `status` when they are due, and says when EC2 acts (`deadline`)
   * and when to look again (`wakeAt`).
   */
  private spotEvents(inst: Instance, status: InstanceStatus, cur: StatePoint, now: number): { deadline?: number; wakeAt?: number } {
    if (status.spotInterruption) return { deadline: parseTime(status.spotInterruption.time) };
    if (cur.state !== 'running') return {};
    const id = inst.metadata.name!;
    const type = inst.spec.instanceType;
    const zone = inst.spec.availabilityZone;
    const action = inst.spec.instanceMarketOptions?.spotOptions?.instanceInterruptionBehavior ?? 'terminate';
    const notice = (at: number): { deadline: number } => {
      status.rebalanceRecommendationTime ??= rfc3339Micro(at);
      status.spotInterruption = { action, noticeTime: rfc3339Micro(at), time: rfc3339Micro(at + SPOT_NOTICE_MS) };
      return { deadline: at + SPOT_NOTICE_MS };
    };
    // Asked for (AWS FIS): the notice now.
    if (inst.metadata.annotations?.[SEND_SPOT_INTERRUPTION_ANNOTATION] !== undefined) return notice(now);
    let wakeAt = Infinity;
    // The price rose above the instance's maximum: interrupted when the new price took effect.
    const max = Number(inst.spec.instanceMarketOptions?.spotOptions?.maxPrice);
    if (Number.isFinite(max)) {
      const hour = Math.floor(now / 3_600_000) * 3_600_000;
      if (this.opts.market.price(type, zone, now) > max) return notice(Math.max(cur.since, hour));
      wakeAt = hour + 3_600_000;
    }
    if (this.opts.spotInterruptions !== false) {
      const plan = this.opts.market.interruptionPlan(id, type, zone, cur.since);
      if (plan) {
        if (plan.rebalanceAt <= now) status.rebalanceRecommendationTime ??= rfc3339Micro(plan.rebalanceAt);
        else wakeAt = Math.min(wakeAt, plan.rebalanceAt);
        if (plan.noticeAt <= now) return notice(plan.noticeAt);
        wakeAt = Math.min(wakeAt, plan.noticeAt);
      }
    }
    return Number.isFinite(wakeAt) ? { wakeAt } : {};
  }

  /** Opens the usage record of the run that entered `running` at `at`. */
  private async beginUsage(ctx: ReconcileContext, inst: Instance, status: InstanceStatus, at: number): Promise<void> {
    const id = inst.metadata.name!;
    if (this.opts.ledger.records.get(`${id}-${at}`)) return;
    const info = this.opts.catalog.get(inst.spec.instanceType);
    const group = inst.metadata.labels?.[GROUP_NAME_LABEL];
    await this.opts.ledger.begin(ctx.client, {
      resourceType: 'instance',
      resourceId: id,
      purchaseOption: isSpot(inst) ? 'spot' : 'on-demand',
      tenancy: tenancyOf(inst),
      instanceType: inst.spec.instanceType,
      instanceFamily: info?.family ?? inst.spec.instanceType.split('.')[0]!,
      availabilityZone: inst.spec.availabilityZone,
      region: this.opts.region,
      ...(group ? { autoScalingGroup: group } : {}),
      ...(status.hostId ? { hostId: status.hostId } : {}),
      ...(status.privateDnsName ? { nodeName: status.privateDnsName } : {}),
      onDemandUsdPerHour: info?.onDemandUsdPerHour ?? 0,
      rateUsdPerHour: isSpot(inst) ? this.opts.market.price(inst.spec.instanceType, inst.spec.availabilityZone, at) : info ? instanceHourlyRate(info, tenancyOf(inst)) : 0,
      startMs: at,
    });
  }

  /** The instance's type, or undefined (with a Warning event) if the catalogue lacks it. */
  private typeOf(ctx: ReconcileContext, inst: Instance): InstanceTypeInfo | undefined {
    const info = this.opts.catalog.get(inst.spec.instanceType);
    if (!info) ctx.recorder.event(inst, 'Warning', 'InvalidInstanceType', `The instance type '${inst.spec.instanceType}' is not in the catalogue`);
    return info;
  }

  /** The boot delay of a launch at `at`, seconds: fixed, or the family's with seeded jitter. */
  private bootSeconds(inst: Instance, info: InstanceTypeInfo, at: number): number {
    if (this.opts.fixedBoot) return this.opts.timings.bootMs / 1000;
    return bootDelayMs(info, hashUnit(this.opts.seed, 'boot', inst.metadata.name!, at)) / 1000;
  }

  /** What the launch is billed at before discounts, USD per hour (status.hourlyPrice). */
  private launchPrice(inst: Instance, info: InstanceTypeInfo, at: number): number {
    return isSpot(inst) ? this.opts.market.price(info.name, inst.spec.availabilityZone, at) : instanceHourlyRate(info, tenancyOf(inst));
  }

  /**
   * The status of a new instance: pending, with an address from its zone's subnet; or, when EC2
   * would refuse the launch (Spot price above the maximum, no Dedicated Host capacity),
   * terminated at once with the reason. Throws if the subnet is full.
   */
  private launch(ctx: ReconcileContext, inst: Instance, info: InstanceTypeInfo, now: number): InstanceStatus {
    const refused = (reason: StateReason, event: string): InstanceStatus => {
      ctx.recorder.event(inst, 'Warning', event, reason.message);
      return { state: 'terminated', stateCode: STATE_CODES.terminated, stateTransitionTime: rfc3339Micro(now), stateTransitionReason: reason.message, stateReason: reason, ...(isSpot(inst) ? { instanceLifecycle: 'spot' as const } : {}) };
    };
    if (isSpot(inst)) {
      const price = this.opts.market.price(info.name, inst.spec.availabilityZone, now);
      const max = Number(inst.spec.instanceMarketOptions?.spotOptions?.maxPrice ?? info.onDemandUsdPerHour);
      if (price > max) {
        return refused({ code: 'Client.SpotMaxPriceTooLow', message: `Your Spot request price of ${max} is lower than the minimum required Spot request fulfillment price of ${price}.` }, 'SpotMaxPriceTooLow');
      }
    }
    let hostId: string | undefined;
    if (tenancyOf(inst) === 'host') {
      hostId = this.placeOnHost(inst, info);
      if (!hostId) {
        const where = inst.spec.hostId ? `the Dedicated Host ${inst.spec.hostId}` : `any Dedicated Host with auto-placement on in ${inst.spec.availabilityZone}`;
        return refused({ code: 'Client.InsufficientHostCapacity', message: `Insufficient capacity on ${where} to launch ${info.name}.` }, 'InsufficientHostCapacity');
      }
    }
    const zone = inst.spec.availabilityZone;
    const used = new Set<string>();
    for (const o of this.instances.list((i) => i.spec?.availabilityZone === zone && i.metadata.name !== inst.metadata.name)) {
      const ip = o.status?.privateIpAddress;
      if (ip && o.status?.state !== 'terminated') used.add(ip);
    }
    const ip = allocateIp(zone, used, this.opts.region);
    if (!ip) {
      const message = `There are not enough free addresses in the subnet of ${zone} to satisfy the requested number of instances`;
      ctx.recorder.event(inst, 'Warning', 'InsufficientFreeAddressesInSubnet', message);
      throw new Error(`InsufficientFreeAddressesInSubnet: ${message}`);
    }
    return {
      state: 'pending',
      stateCode: STATE_CODES.pending,
      launchTime: rfc3339(now),
      stateTransitionTime: rfc3339Micro(now),
      privateIpAddress: ip,
      privateDnsName: privateDnsName(ip, this.opts.region),
      hourlyPrice: this.launchPrice(inst, info, now),
      stateTransitionReason: '',
      bootSeconds: this.bootSeconds(inst, info, now),
      ...(isSpot(inst) ? { instanceLifecycle: 'spot' as const } : {}),
      ...(hostId ? { hostId } : {}),
    };
  }

  /**
   * A Dedicated Host for a new instance: the one it names, or the first (by id) available host
   * with auto-placement on in its zone that runs its family (or exactly its type) and has the
   * vCPUs left. Undefined if there is none. On a start after a stop, `previous` is the host it
   * ran on: with `spec.affinity: host` it must go back there; without affinity it stays there if
   * there is room, else it goes to any host with auto-placement on (EC2 User Guide, "Host
   * affinity", [12] in AWS-SEMANTICS.md).
   */
  private placeOnHost(inst: Instance, info: InstanceTypeInfo, previous?: string): string | undefined {
    const fits = (h: DedicatedHost): boolean => {
      if (h.status?.state !== 'available' || h.metadata.deletionTimestamp || h.spec.availabilityZone !== inst.spec.availabilityZone) return false;
      if (h.spec.instanceType ? h.spec.instanceType !== info.name : h.spec.instanceFamily !== info.family) return false;
      const total = h.status.hostProperties?.totalVCpus ?? 0;
      let usedVcpus = 0;
      for (const o of this.instances.list((i) => i.status?.hostId === h.metadata.name && i.metadata.name !== inst.metadata.name && ON_HOST_STATES.includes(i.status?.state))) {
        usedVcpus += this.opts.catalog.get(o.spec.instanceType)?.vcpu ?? 0;
      }
      return usedVcpus + info.vcpu <= total;
    };
    const hosts = this.hosts.list().sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    // Host affinity: a restart goes back to the host it ran on, or fails.
    const target = inst.spec.hostId ?? (inst.spec.affinity === 'host' ? previous : undefined);
    if (target) {
      const h = hosts.find((x) => x.metadata.name === target);
      return h && fits(h) ? h.metadata.name : undefined;
    }
    // Without affinity, a restart stays where it was if there is room, else moves.
    const before = previous ? hosts.find((x) => x.metadata.name === previous) : undefined;
    if (before && fits(before)) return previous;
    return hosts.find((h) => h.spec.autoPlacement === 'on' && fits(h))?.metadata.name;
  }

  /** Applies one lifecycle transition to the status. */
  private apply(ctx: ReconcileContext, inst: Instance, status: InstanceStatus, step: LifecycleStep, reason: StateReason | undefined): void {
    const { state, since } = step.to;
    status.state = state;
    status.stateCode = STATE_CODES[state];
    status.stateTransitionTime = rfc3339Micro(since);
    if (state === 'pending') {
      // A start after a stop is a new launch: a new boot, and the type may have changed while stopped.
      status.launchTime = rfc3339(since);
      status.stateTransitionReason = '';
      delete status.stateReason;
      const info = this.opts.catalog.get(inst.spec.instanceType);
      if (info) {
        status.hourlyPrice = this.launchPrice(inst, info, since);
        status.bootSeconds = this.bootSeconds(inst, info, since);
      }
    } else if (state === 'running') {
      status.stateTransitionReason = '';
    } else if (reason) {
      status.stateTransitionReason = reason.message;
      status.stateReason = reason;
      if (state === 'shutting-down' || state === 'stopping') ctx.recorder.event(inst, 'Warning', reason.code.split('.').pop()!, reason.message);
    } else if (step.requested) {
      status.stateTransitionReason = userInitiated(since);
      status.stateReason = { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' };
    }
  }

  private async ensureNode(ctx: ReconcileContext, inst: Instance, status: InstanceStatus, info: InstanceTypeInfo): Promise<string> {
    const name = status.privateDnsName!;
    const pid = providerId(inst.spec.availabilityZone, inst.metadata.name!);
    const existing = await ctx.client.tryGet<Node>(Kinds.Node, name);
    if (existing) {
      const same = existing.spec?.providerID === pid;
      if (same && existing.metadata.labels?.[NODE_LABELS.instanceType] === info.name) return name;
      // Not ours (left by an earlier holder of this address), or ours from before a type change while stopped.
      const gone = await ctx.client.delete(Kinds.Node, name, undefined, { preconditions: { uid: existing.metadata.uid! } });
      this.nodes.deleted(gone);
      if (!same) ctx.recorder.event(inst, 'Warning', 'StaleNodeRemoved', `Removed Node ${name} (provider ID ${existing.spec?.providerID ?? '<none>'}) to register this instance under its DNS name`);
    }
    const used = new Set<string>();
    for (const n of this.nodes.list((n) => n.metadata.name !== name)) if (n.spec?.podCIDR) used.add(n.spec.podCIDR);
    const podCidr = allocatePodCidr(used, this.opts.clusterCidr);
    if (!podCidr) ctx.recorder.event(inst, 'Warning', 'CIDRNotAvailable', `Node ${name}: no pod CIDR left in ${this.opts.clusterCidr}`);
    const created = await ctx.client.create(nodeForInstance({ ...inst, status }, info, this.opts.region, podCidr));
    this.nodes.wrote(created);
    ctx.recorder.event(inst, 'Normal', 'RegisteredNode', `Registered Node ${name}`);
    return name;
  }

  /** Deletes the instance's Node, if it exists and is this instance's. */
  private async removeNode(ctx: ReconcileContext, inst: Instance, status: InstanceStatus): Promise<void> {
    const name = status.nodeName ?? status.privateDnsName;
    if (!name) return;
    const node = await ctx.client.tryGet<Node>(Kinds.Node, name);
    if (!node || node.spec?.providerID !== providerId(inst.spec.availabilityZone, inst.metadata.name!)) return;
    try {
      const gone = await ctx.client.delete(Kinds.Node, name, undefined, { preconditions: { uid: node.metadata.uid! } });
      this.nodes.deleted(gone);
      ctx.recorder.event(inst, 'Normal', 'RemovedNode', `Removed Node ${name}`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Writes the status whole. This controller is its only writer, so no resourceVersion precondition. */
  private async writeStatus(ctx: ReconcileContext, inst: Instance, status: InstanceStatus): Promise<void> {
    const obj: Instance = { ...inst, metadata: { ...inst.metadata }, status };
    delete obj.metadata.resourceVersion;
    try {
      this.instances.wrote(await ctx.client.updateStatus(obj));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async ensureFinalizer(ctx: ReconcileContext, inst: Instance): Promise<Instance> {
    if (inst.metadata.finalizers?.includes(INSTANCE_FINALIZER)) return inst;
    const out = await ctx.client.modify<Instance>(Kinds.Instance, inst.metadata.name!, undefined, (o) => {
      if (o.metadata.deletionTimestamp || o.metadata.finalizers?.includes(INSTANCE_FINALIZER)) return undefined;
      o.metadata.finalizers = [...(o.metadata.finalizers ?? []), INSTANCE_FINALIZER];
      return o;
    });
    if (out) this.instances.wrote(out);
    return out ?? inst;
  }

  /** Removes the finalizer; for an Instance being deleted that lets the object go. */
  private async removeFinalizer(ctx: ReconcileContext, inst: Instance): Promise<void> {
    if (!inst.metadata.finalizers?.includes(INSTANCE_FINALIZER)) return;
    try {
      const out = await ctx.client.modify<Instance>(Kinds.Instance, inst.metadata.name!, undefined, (o) => {
        if (!o.metadata.finalizers?.includes(INSTANCE_FINALIZER)) return undefined;
        o.metadata.finalizers = o.metadata.finalizers.filter((f) => f !== INSTANCE_FINALIZER);
        return o;
      });
      // Without finalizers an Instance being deleted is gone: the API returned its last state.
      if (out && out.metadata.deletionTimestamp && !out.metadata.finalizers?.length) this.instances.deleted(out);
      else if (out) this.instances.wrote(out);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** Why a run ended, for the ledger: by the state it left `running` for, and EC2's reason. */
function endReason(to: InstanceState, reason: StateReason | undefined): EndReason {
  if (reason === SPOT_TERMINATION_REASON || reason === SPOT_SHUTDOWN_REASON) return 'spot-interruption';
  return to === 'stopping' ? 'stopped' : 'terminated';
}
