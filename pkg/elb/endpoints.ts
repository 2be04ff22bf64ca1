/**
 * The Endpoints and EndpointSlice controllers (k8s.io/kubernetes/pkg/controller/endpoint and
 * endpointslice), as one level-based reconciler per Service: for a Service with a selector, the
 * pods it selects that have an IP become addresses, ready ones in `subsets[].addresses` and the
 * others in `notReadyAddresses` (all of them ready with `publishNotReadyAddresses`), grouped by
 * the ports they resolve to (a named `targetPort` can differ per pod). The same pods become the
 * endpoints of EndpointSlices (`discovery.k8s.io/v1`, at most 100 per slice, conditions ready /
 * serving / terminating; terminating pods stay in slices with ready false, as Kubernetes 1.26+).
 * Services without a selector are left alone: their Endpoints are the user's.
 */
import { hostPortFor, PORTS_ANNOTATION } from '../agent/index.js';
import { selectorFromMap } from '../api/labels.js';
import { deepEqual, ownerRef } from '../api/meta.js';
import { isPodReady } from '../api/podutil.js';
import type { KubeObject, Node, Pod } from '../api/types.js';
import { rfc3339 } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../runtime/manager.js';
import { controllerFor } from '../runtime/manager.js';
import { findPort, selectsPods, type Service } from './service.js';

export const EndpointSliceKind = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' } as const;
/** Label naming a slice's Service (discovery.k8s.io). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Label naming who manages a slice; this controller's value is Kubernetes's own. */
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
/** Kubernetes's `--max-endpoints-per-slice` default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;

export interface EndpointAddress {
  ip: string;
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}
export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}
export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}
export interface Endpoints extends KubeObject {
  subsets?: EndpointSubset[];
}
export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  nodeName?: string;
  zone?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}
export interface EndpointSlice extends KubeObject {
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: SliceEndpoint[] | null;
  ports: EndpointPort[] | null;
}

const ZONE_LABEL = 'topology.kubernetes.io/zone';

export class EndpointsController implements Reconciler {
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly endpoints: Informer<Endpoints>;

  constructor(mgr: Manager) {
    this.services = mgr.informer<Service>(Kinds.Service);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.slices = mgr.informer<EndpointSlice>(EndpointSliceKind);
    this.endpoints = mgr.informer<Endpoints>(Kinds.Endpoints);
    this.pods.cache.addIndex('namespace', (p) => [p.metadata.namespace!]);
    this.services.cache.addIndex('namespace', (s) => [s.metadata.namespace!]);
    this.slices.cache.addIndex('service', (s) => {
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      return svc && s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY ? [`${s.metadata.namespace}/${svc}`] : [];
    });
  }

  /** Reconciles per Service key; pods map to the Services of their namespace that select them. */
  static install(mgr: Manager): Controller {
    const r = new EndpointsController(mgr);
    return controllerFor(mgr, Kinds.Service)
      .named('endpoints')
      .watches(Kinds.Pod, (p) => r.servicesOf(p as Pod))
      .watches(Kinds.Endpoints, (e) => [`${e.metadata.namespace}/${e.metadata.name}`])
      .watches(EndpointSliceKind, (s) => (s.metadata.labels?.[SERVICE_NAME_LABEL] ? [`${s.metadata.namespace}/${s.metadata.labels[SERVICE_NAME_LABEL]}`] : []))
      .complete(r);
  }

  private servicesOf(pod: Pod): string[] {
    const out: string[] = [];
    for (const s of this.services.cache.byIndex('namespace', pod.metadata.namespace!)) {
      if (selectsPods(s) && selectorFromMap(s.spec.selector).matches(pod.metadata.labels)) out.push(`${s.metadata.namespace}/${s.metadata.name}`);
    }
    return out;
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const [namespace, name] = key.split('/') as [string, string];
    const svc = this.services.cache.get(key);
    if (!svc || svc.metadata.deletionTimestamp) {
      // The Service went: its Endpoints go (slices go with their owner through the garbage collector).
      const ep = this.endpoints.cache.get(key);
      if (ep && !svc) await ctx.client.deleteIfExists(Kinds.Endpoints, name, namespace);
      return;
    }
    if (!selectsPods(svc)) return;
    const selector = selectorFromMap(svc.spec.selector);
    const pods = this.pods.cache
      .byIndex('namespace', namespace)
      .filter((p) => selector.matches(p.metadata.labels) && p.status?.podIP && p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed')
      .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    await this.syncEndpoints(ctx, svc, pods);
    await this.syncSlices(ctx, svc, pods);
  }

  private address(p: Pod): EndpointAddress {
    return {
      ip: p.status!.podIP!,
      ...(p.spec.nodeName ? { nodeName: p.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: p.metadata.namespace!, name: p.metadata.name!, uid: p.metadata.uid! },
    };
  }

  /**
   * The Service's ports as this pod serves them, or undefined when a named port is missing on it.
   * A Docker pod (host networking) serves a declared container port on the host port the agent
   * gave it (`node.berth.dev/ports`, see pkg/agent/runtimes/docker/ports.ts), so its endpoint
   * carries that host port: `127.0.0.1:<host port>` is where a client reaches it.
   */
  private portsFor(svc: Service, p: Pod): EndpointPort[] | undefined {
    const out: EndpointPort[] = [];
    const mapped = p.metadata.annotations?.[PORTS_ANNOTATION] !== undefined;
    for (const sp of svc.spec.ports ?? []) {
      const containerPort = findPort(p, sp);
      if (containerPort === undefined) continue;
      const port = (mapped && hostPortFor(p, containerPort, sp.protocol ?? 'TCP')) || containerPort;
      out.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
    }
    if ((svc.spec.ports ?? []).length && !out.length) return undefined;
    return out;
  }

  private async syncEndpoints(ctx: ReconcileContext, svc: Service, pods: Pod[]): Promise<void> {
    const { namespace, name } = svc.metadata as { namespace: string; name: string };
    const subsets = new Map<string, EndpointSubset>();
    for (const p of pods) {
      if (p.metadata.deletionTimestamp) continue; // terminating pods leave Endpoints at once
      const ports = this.portsFor(svc, p);
      if (!ports) continue;
      const k = JSON.stringify(ports);
      const s = subsets.get(k) ?? { ...(ports.length ? { ports } : {}) };
      const ready = svc.spec.publishNotReadyAddresses || isPodReady(p);
      if (ready) (s.addresses ??= []).push(this.address(p));
      else (s.notReadyAddresses ??= []).push(this.address(p));
      subsets.set(k, s);
    }
    const want = [...subsets.values()];
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
    if (svc.spec.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
    const current = this.endpoints.cache.get(`${namespace}/${name}`);
    if (current && deepEqual(current.subsets ?? [], want) && deepEqual(current.metadata.labels ?? {}, labels)) return;
    const body: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        name,
        namespace,
        ...(Object.keys(labels).length ? { labels } : {}),
        annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': rfc3339(ctx.clock.now()) },
        ...(current ? { resourceVersion: current.metadata.resourceVersion } : {}),
      },
      ...(want.length ? { subsets: want } : {}),
    };
    if (current) this.endpoints.cache.set(await ctx.client.update(body));
    else await ctx.client.create(body).catch(async (e) => {
      if ((e as { reason?: string }).reason !== 'AlreadyExists') throw e;
      const got = await ctx.client.get<Endpoints>(Kinds.Endpoints, name, namespace);
      await ctx.client.update({ ...body, metadata: { ...body.metadata, resourceVersion: got.metadata.resourceVersion } });
    });
  }

  private async syncSlices(ctx: ReconcileContext, svc: Service, pods: Pod[]): Promise<void> {
    const { namespace, name } = svc.metadata as { namespace: string; name: string };
    // Group endpoints by their ports, then cut each group into slices of at most 100.
    const groups = new Map<string, { ports: EndpointPort[]; endpoints: SliceEndpoint[] }>();
    for (const p of pods) {
      const ports = this.portsFor(svc, p);
      if (!ports) continue;
      const k = JSON.stringify(ports);
      const g = groups.get(k) ?? { ports, endpoints: [] };
      const terminating = !!p.metadata.deletionTimestamp;
      const serving = svc.spec.publishNotReadyAddresses || isPodReady(p);
      const zone = p.spec.nodeName ? this.nodes.cache.get(p.spec.nodeName)?.metadata.labels?.[ZONE_LABEL] : undefined;
      g.endpoints.push({
        addresses: [p.status!.podIP!],
        conditions: { ready: serving && !terminating, serving, terminating },
        ...(p.spec.nodeName ? { nodeName: p.spec.nodeName } : {}),
        ...(zone ? { zone } : {}),
        targetRef: { kind: 'Pod', namespace, name: p.metadata.name!, uid: p.metadata.uid! },
      });
      groups.set(k, g);
    }
    const want: { ports: EndpointPort[]; endpoints: SliceEndpoint[] }[] = [];
    for (const g of groups.values()) {
      for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) want.push({ ports: g.ports, endpoints: g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE) });
    }
    // A Service with no endpoints still has one empty slice (as Kubernetes keeps a placeholder).
    if (!want.length) want.push({ ports: [], endpoints: [] });
    const have = this.slices.cache.byIndex('service', `${namespace}/${name}`).sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY };
    if (svc.spec.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
    for (let i = 0; i < Math.max(want.length, have.length); i++) {
      const w = want[i];
      const h = have[i];
      if (!w) {
        await ctx.client.deleteIfExists(EndpointSliceKind, h!.metadata.name!, namespace);
        continue;
      }
      // A slice port always has a name, "" for an unnamed Service port, as Kubernetes's
      // EndpointSlice controller writes it (getEndpointPorts); `kubectl describe service`
      // dereferences it and crashes without one.
      const ports = w.ports.map((p) => ({ name: '', ...p }));
      const body: EndpointSlice = {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          ...(h ? { name: h.metadata.name, resourceVersion: h.metadata.resourceVersion } : { generateName: `${name}-` }),
          namespace,
          labels,
          ownerReferences: [{ ...ownerRef(svc), blockOwnerDeletion: true }],
        },
        addressType: 'IPv4',
        endpoints: w.endpoints,
        ports,
      };
      if (h && deepEqual(h.endpoints ?? [], w.endpoints) && deepEqual(h.ports ?? [], ports) && deepEqual(h.metadata.labels, labels)) continue;
      // The written slice goes into the cache at once, so a reconcile before its watch event
      // neither creates a second one nor writes from a stale version.
      this.slices.cache.set(h ? await ctx.client.update(body) : await ctx.client.create(body));
    }
  }
}
