/**
 * The Dedicated Host controller: plays EC2's side of `ec2.berth.dev/v1 DedicatedHost`.
 * A new host is allocated at once (state `available`, capacity from its family, its hourly
 * price) and its billing starts: a UsageRecord from allocation to release. Deleting the object
 * releases the host (ReleaseHosts) once no instance is pending, running, stopping or shutting down
 * on it — AWS refuses to release a host with running instances — and billing stops then.
 * The status lists the instances placed on the host and the vCPUs left; placement itself is the
 * Instance controller's (it must see each previous placement).
 */
import { isNotFound } from '../api/errors.js';
import { deepEqual } from '../api/meta.js';
import { rfc3339Micro } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../runtime/manager.js';
import { controllerFor } from '../runtime/manager.js';
import { BillingKinds, HOST_FINALIZER, type DedicatedHost, type DedicatedHostStatus } from './billing-types.js';
import type { Catalog } from './catalog.js';
import type { Ledger } from './ledger.js';
import type { Region } from './network.js';
import { dedicatedHostOffering } from './pricing.js';
import type { Instance } from './types.js';

const HOST_INDEX = 'ec2/status.hostId';
const ACTIVE = new Set(['pending', 'running', 'stopping', 'shutting-down']);

/** The family a host runs: its instanceFamily, or its instanceType's. */
export function hostFamily(h: DedicatedHost): string {
  return h.spec.instanceFamily ?? h.spec.instanceType?.split('.')[0] ?? '';
}

export class DedicatedHostController implements Reconciler {
  private readonly instances;

  constructor(
    mgr: Manager,
    private readonly opts: { catalog: Catalog; region: Region; ledger: Ledger },
  ) {
    this.instances = mgr.informer<Instance>(Kinds.Instance);
    this.instances.cache.addIndex(HOST_INDEX, (i) => (i.status?.hostId ? [i.status.hostId] : []));
  }

  static install(mgr: Manager, opts: { catalog: Catalog; region: Region; ledger: Ledger }): Controller {
    const r = new DedicatedHostController(mgr, opts);
    return controllerFor(mgr, BillingKinds.DedicatedHost)
      .named('ec2-dedicated-host')
      .watches(Kinds.Instance, (i) => ((i as Instance).status?.hostId ? [(i as Instance).status!.hostId!] : []))
      .complete(r);
  }

  async reconcile(ctx: ReconcileContext, name: string): Promise<Result | void> {
    let host = await ctx.client.tryGet<DedicatedHost>(BillingKinds.DedicatedHost, name);
    if (!host) return;
    const now = ctx.clock.now();
    const family = hostFamily(host);
    const offering = dedicatedHostOffering(this.opts.catalog, family);
    if (!offering) {
      ctx.recorder.event(host, 'Warning', 'InvalidInstanceFamily', `No instance type of family ${family} is in the catalogue`);
      return;
    }
    const status: DedicatedHostStatus = { ...(host.status ?? {}) };
    if (!status.state) {
      if (host.metadata.deletionTimestamp) return this.release(ctx, host, status, now);
      host = await this.ensureFinalizer(ctx, host);
      Object.assign(status, { state: 'available', allocationTime: rfc3339Micro(now), hourlyPrice: offering.hourlyUSD });
    }
    if (status.state === 'available') {
      const started = Date.parse(status.allocationTime!);
      await this.opts.ledger.begin(ctx.client, {
        resourceType: 'dedicated-host',
        resourceId: name,
        purchaseOption: 'on-demand',
        tenancy: 'host',
        instanceType: host.spec.instanceType ?? offering.sizedAs,
        instanceFamily: family,
        availabilityZone: host.spec.availabilityZone,
        region: this.opts.region,
        onDemandUsdPerHour: offering.hourlyUSD,
        rateUsdPerHour: offering.hourlyUSD,
        startMs: Number.isNaN(started) ? now : started,
      });
    }
    const placed = this.instances.cache.byIndex(HOST_INDEX, name).filter((i) => ACTIVE.has(i.status?.state ?? ''));
    placed.sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    const used = placed.reduce((n, i) => n + (this.opts.catalog.get(i.spec.instanceType)?.vcpu ?? 0), 0);
    status.hostProperties = { instanceFamily: family, ...(host.spec.instanceType ? { instanceType: host.spec.instanceType } : {}), totalVCpus: offering.vcpus, sizedAs: offering.sizedAs };
    status.availableCapacity = { availableVCpus: Math.max(0, offering.vcpus - used) };
    status.instances = placed.map((i) => ({ instanceId: i.metadata.name!, instanceType: i.spec.instanceType }));

    if (host.metadata.deletionTimestamp && status.state === 'available') {
      if (placed.length) {
        ctx.recorder.event(host, 'Warning', 'ReleaseBlocked', `Dedicated Host ${name} has ${placed.length} instance(s) running on it: stop or terminate them to release it`);
      } else {
        return this.release(ctx, host, status, now);
      }
    }
    if (!deepEqual(status, host.status)) await this.writeStatus(ctx, host, status);
  }

  /** Ends billing and lets the object go. */
  private async release(ctx: ReconcileContext, host: DedicatedHost, status: DedicatedHostStatus, now: number): Promise<void> {
    await this.opts.ledger.end(ctx.client, host.metadata.name!, now, 'released');
    if (status.state === 'available') await this.writeStatus(ctx, host, { ...status, state: 'released', releaseTime: rfc3339Micro(now), instances: [] });
    try {
      await ctx.client.modify<DedicatedHost>(BillingKinds.DedicatedHost, host.metadata.name!, undefined, (o) => {
        if (!o.metadata.finalizers?.includes(HOST_FINALIZER)) return undefined;
        o.metadata.finalizers = o.metadata.finalizers.filter((f) => f !== HOST_FINALIZER);
        return o;
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async ensureFinalizer(ctx: ReconcileContext, host: DedicatedHost): Promise<DedicatedHost> {
    if (host.metadata.finalizers?.includes(HOST_FINALIZER)) return host;
    const out = await ctx.client.modify<DedicatedHost>(BillingKinds.DedicatedHost, host.metadata.name!, undefined, (o) => {
      if (o.metadata.deletionTimestamp || o.metadata.finalizers?.includes(HOST_FINALIZER)) return undefined;
      o.metadata.finalizers = [...(o.metadata.finalizers ?? []), HOST_FINALIZER];
      return o;
    });
    return out ?? host;
  }

  private async writeStatus(ctx: ReconcileContext, host: DedicatedHost, status: DedicatedHostStatus): Promise<void> {
    const obj: DedicatedHost = { ...host, metadata: { ...host.metadata }, status };
    delete obj.metadata.resourceVersion;
    try {
      await ctx.client.updateStatus(obj);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
