/**
 * The Instance controller: plays EC2's side of every Instance object. It launches an instance
 * (private IP address from its zone's subnet, DNS name, price), moves it through the lifecycle
 * (lifecycle.ts) on the injected clock, registers a Node while it runs (what the kubelet of the
 * EKS-optimized AMI does at boot) and removes it when the instance stops or terminates, runs the
 * termination before an Instance deleted through the API goes (finalizer), and deletes
 * terminated instances after an hour, as EC2 stops showing them.
 *
 * Level-based: each reconcile reads the Instance and its Node and acts on the difference; timed
 * transitions come back with `{requeueAfter}`. One worker, because address and pod-CIDR
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
import { kubeArch, type Catalog, type InstanceTypeInfo } from './catalog.js';
import { advanceLifecycle, STATE_CODES, type LifecycleStep, type LifecycleTimings } from './lifecycle.js';
import { allocateIp, allocatePodCidr, parseProviderId, privateDnsName, providerId, type Region } from './network.js';
import { INSTANCE_FINALIZER, NODE_LABELS, type DesiredState, type Instance, type InstanceStatus } from './types.js';
import { LocalView } from './view.js';

/** What the Instance controller is configured with (installCloud fills it from CloudOptions). */
export interface InstanceControllerOptions {
  catalog: Catalog;
  region: Region;
  timings: LifecycleTimings;
  /** How long a terminated instance stays visible, ms (EC2: about an hour). */
  retentionMs: number;
  /** Where Node pod CIDRs come from. */
  clusterCidr: string;
}

/** EC2's timestamp in reason texts: `2026-01-01 00:05:00 GMT`. */
function gmt(ms: number): string {
  return `${rfc3339(ms).replace('T', ' ').replace('Z', '')} GMT`;
}

/** EC2's `StateTransitionReason` for a stop or terminate the user asked for. */
export function userInitiated(ms: number): string {
  return `User initiated (${gmt(ms)})`;
}

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
    [NODE_LABELS.capacityType]: 'ON_DEMAND',
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

  constructor(
    mgr: Manager,
    private readonly opts: InstanceControllerOptions,
    instances?: LocalView<Instance>,
  ) {
    this.instances = instances ?? new LocalView(mgr.informer<Instance>(Kinds.Instance));
    this.nodes = new LocalView(mgr.informer<Node>(Kinds.Node));
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
    const desired: DesiredState = deleting ? 'terminated' : (inst.spec.state ?? 'running');
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

    const since = parseTime(status.stateTransitionTime);
    const res = advanceLifecycle({ state: status.state!, since: Number.isNaN(since) ? now : since }, desired, now, this.opts.timings);
    for (const step of res.steps) this.apply(inst, status, step);

    if (res.current.state === 'running') {
      const info = this.typeOf(ctx, inst);
      if (!info) return;
      status.nodeName = await this.ensureNode(ctx, inst, status, info);
    } else {
      await this.removeNode(ctx, inst, status);
      delete status.nodeName;
    }

    if (!deepEqual(status, before)) await this.writeStatus(ctx, inst, status);

    if (res.current.state === 'terminated') {
      await this.removeFinalizer(ctx, inst);
      if (deleting) return;
      const expires = res.current.since + this.opts.retentionMs;
      if (now < expires) return { requeueAfter: expires - now };
      try {
        const gone = await ctx.client.delete(Kinds.Instance, name, undefined, { preconditions: { uid: inst.metadata.uid! } });
        this.instances.deleted(gone);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return;
    }
    if (res.wakeAt !== undefined) return { requeueAfter: Math.max(1, res.wakeAt - now) };
  }

  /** The instance's type, or undefined (with a Warning event) if the catalogue lacks it. */
  private typeOf(ctx: ReconcileContext, inst: Instance): InstanceTypeInfo | undefined {
    const info = this.opts.catalog.get(inst.spec.instanceType);
    if (!info) ctx.recorder.event(inst, 'Warning', 'InvalidInstanceType', `The instance type '${inst.spec.instanceType}' is not in the catalogue`);
    return info;
  }

  /** The status of a new instance: pending, with an address from its zone's subnet. Throws if the subnet is full. */
  private launch(ctx: ReconcileContext, inst: Instance, info: InstanceTypeInfo, now: number): InstanceStatus {
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
      hourlyPrice: info.onDemandUsdPerHour,
      stateTransitionReason: '',
    };
  }

  /** Applies one lifecycle transition to the status. */
  private apply(inst: Instance, status: InstanceStatus, step: LifecycleStep): void {
    const { state, since } = step.to;
    status.state = state;
    status.stateCode = STATE_CODES[state];
    status.stateTransitionTime = rfc3339Micro(since);
    if (state === 'pending') {
      // A start after a stop is a new launch; the type may have changed while stopped.
      status.launchTime = rfc3339(since);
      status.stateTransitionReason = '';
      const info = this.opts.catalog.get(inst.spec.instanceType);
      if (info) status.hourlyPrice = info.onDemandUsdPerHour;
    } else if (state === 'running') {
      status.stateTransitionReason = '';
    } else if (step.requested) {
      status.stateTransitionReason = userInitiated(since);
    }
  }

  private async ensureNode(ctx: ReconcileContext, inst: Instance, status: InstanceStatus, info: InstanceTypeInfo): Promise<string> {
    const name = status.privateDnsName!;
    const pid = providerId(inst.spec.availabilityZone, inst.metadata.name!);
    const existing = await ctx.client.tryGet<Node>(Kinds.Node, name);
    if (existing) {
      if (existing.spec?.providerID === pid) return name;
      // A Node under our name that is not ours: left by an earlier holder of this address.
      const gone = await ctx.client.delete(Kinds.Node, name, undefined, { preconditions: { uid: existing.metadata.uid! } });
      this.nodes.deleted(gone);
      ctx.recorder.event(inst, 'Warning', 'StaleNodeRemoved', `Removed Node ${name} (provider ID ${existing.spec?.providerID ?? '<none>'}) to register this instance under its DNS name`);
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
