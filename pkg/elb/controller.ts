/**
 * The load balancer controllers, level-based:
 *
 * - Service → LoadBalancer: a Service of type LoadBalancer gets a LoadBalancer named after it and
 *   a TargetGroup per port (`<service>-<port>`), owned by it and configured from the AWS Load
 *   Balancer Controller's Service annotations; its `status.loadBalancer.ingress[0].ip` is the
 *   load balancer's address once it listens.
 * - LoadBalancer: gives it a loopback address (127.0.1.1, 127.0.1.2, … then 127.0.2.1 …),
 *   listens there on its listeners' ports, and reports state and metrics.
 * - TargetGroup: registers the ready endpoints of its Service port (or its `spec.targets`),
 *   deregisters the rest (they drain), and reports each target's state and metrics.
 */
import { isNotFound } from '../api/errors.js';
import { deepEqual, ownerRef } from '../api/meta.js';
import type { KubeObject, Pod } from '../api/types.js';
import { hostPortFor, portsOf, PORTS_ANNOTATION } from '../agent/index.js';
import type { Clock } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../runtime/manager.js';
import { controllerFor } from '../runtime/manager.js';
import { defaultTargetGroup, LoadBalancerKind, SERVICE_LABEL, TargetGroupKind, targetGroupConfig, type LoadBalancer, type LoadBalancerMetrics, type TargetGroup, type TargetHealthStatus } from './api.js';
import type { AppModel, AppServers } from './appserver.js';
import { modelTransport } from './load.js';
import { EndpointSliceKind, SERVICE_NAME_LABEL, type EndpointSlice } from './endpoints.js';
import type { InstancePorts, PodPort } from './instance-targets.js';
import { DRAINING_SINCE_ANNOTATION, GROUP_NAME_LABEL, targetGroupKey, type AutoScalingGroup, type Instance } from '../cloud/types.js';
import { Listener, socketTransport, type Dialer } from './listener.js';
import type { Service } from './service.js';
import { percentiles, TargetGroupEngine, type TargetSpec, type TargetTransport } from './targetgroup.js';

/** How often target metrics are written to status, ms of cluster time. */
export const METRICS_PERIOD_MS = 30_000;

const ANN = 'service.beta.kubernetes.io/aws-load-balancer-';

/** The TargetGroup spec a Service port asks for, from the AWS Load Balancer Controller's annotations. */
export function targetGroupSpecFor(svc: Service, port: { name?: string; port: number }, network: boolean): TargetGroup['spec'] {
  const a = svc.metadata.annotations ?? {};
  const hc: Record<string, unknown> = {};
  const num = (k: string, f: string): void => {
    if (a[ANN + k] !== undefined) hc[f] = Number(a[ANN + k]);
  };
  if (a[`${ANN}healthcheck-path`]) hc.path = a[`${ANN}healthcheck-path`];
  if (a[`${ANN}healthcheck-protocol`]) hc.protocol = a[`${ANN}healthcheck-protocol`]!.toUpperCase();
  if (a[`${ANN}healthcheck-success-codes`]) hc.matcher = a[`${ANN}healthcheck-success-codes`];
  num('healthcheck-interval', 'intervalSeconds');
  num('healthcheck-timeout', 'timeoutSeconds');
  num('healthcheck-healthy-threshold', 'healthyThresholdCount');
  num('healthcheck-unhealthy-threshold', 'unhealthyThresholdCount');
  const attributes: Record<string, string> = {};
  for (const kv of (a[`${ANN}target-group-attributes`] ?? '').split(',')) {
    const i = kv.indexOf('=');
    if (i > 0) attributes[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
  }
  if (svc.spec.sessionAffinity === 'ClientIP') {
    attributes['stickiness.enabled'] = 'true';
    attributes['stickiness.type'] = 'source_ip';
    attributes['stickiness.source_ip.duration_seconds'] = String(svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800);
  }
  // `instance`: the load balancer sends to every node on the Service port's NodePort and kube-proxy
  // forwards (the AWS Load Balancer Controller's instance mode); berth's default stays `ip`.
  const instance = a[`${ANN}nlb-target-type`] === 'instance';
  return {
    protocol: network ? 'TCP' : 'HTTP',
    targetType: instance ? 'instance' : 'ip',
    ...(Object.keys(hc).length ? { healthCheck: hc } : {}),
    ...(Object.keys(attributes).length ? { attributes } : {}),
    serviceRef: { name: svc.metadata.name!, port: port.port },
  };
}

/** True for a Service this component gives a load balancer. */
function wantsLoadBalancer(svc: Service | undefined): boolean {
  return !!svc && !svc.metadata.deletionTimestamp && svc.spec.type === 'LoadBalancer' && (!svc.spec.loadBalancerClass || svc.spec.loadBalancerClass === 'elb.berth.dev');
}

export class ServiceLoadBalancerController implements Reconciler {
  private readonly services: Informer<Service>;
  private readonly lbs: Informer<LoadBalancer>;
  private readonly tgs: Informer<TargetGroup>;

  constructor(mgr: Manager) {
    this.services = mgr.informer<Service>(Kinds.Service);
    this.lbs = mgr.informer<LoadBalancer>(LoadBalancerKind);
    this.tgs = mgr.informer<TargetGroup>(TargetGroupKind);
    this.tgs.cache.addIndex('service', (t) => (t.metadata.labels?.[SERVICE_LABEL] ? [`${t.metadata.namespace}/${t.metadata.labels[SERVICE_LABEL]}`] : []));
  }

  static install(mgr: Manager): Controller {
    const label = (o: KubeObject): string[] => (o.metadata.labels?.[SERVICE_LABEL] ? [`${o.metadata.namespace}/${o.metadata.labels[SERVICE_LABEL]}`] : []);
    return controllerFor(mgr, Kinds.Service).named('service-load-balancer').watches(LoadBalancerKind, label).watches(TargetGroupKind, label).complete(new ServiceLoadBalancerController(mgr));
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const [namespace, name] = key.split('/') as [string, string];
    const svc = this.services.cache.get(key);
    const mine = (o: KubeObject | undefined): boolean => !!o && o.metadata.labels?.[SERVICE_LABEL] === name && (!svc || o.metadata.ownerReferences?.some((r) => r.uid === svc.metadata.uid) === true);
    if (!wantsLoadBalancer(svc)) {
      // No longer of type LoadBalancer: what was made for it goes (a deleted Service's go with the garbage collector).
      if (!svc) return;
      const lb = this.lbs.cache.get(key);
      if (mine(lb)) await ctx.client.deleteIfExists(LoadBalancerKind, name, namespace);
      for (const tg of this.tgs.cache.byIndex('service', key)) if (mine(tg)) await ctx.client.deleteIfExists(TargetGroupKind, tg.metadata.name!, namespace);
      if (svc.status?.loadBalancer?.ingress?.length) await ctx.client.modify<Service>(Kinds.Service, name, namespace, (s) => ({ ...s, status: { ...(s.status ?? {}), loadBalancer: {} } }), { status: true });
      return;
    }
    if (!svc) return;
    const network = ['nlb', 'external', 'nlb-ip'].includes(svc.metadata.annotations?.[`${ANN}type`] ?? '');
    const labels = { [SERVICE_LABEL]: name };
    const owner = [ownerRef(svc)];
    // One TargetGroup per port.
    const wantTgs = new Map<string, TargetGroup['spec']>();
    for (const p of svc.spec.ports ?? []) wantTgs.set(`${name}-${p.port}`, targetGroupSpecFor(svc, p, network));
    for (const [tgName, spec] of wantTgs) {
      const cur = this.tgs.cache.get(`${namespace}/${tgName}`);
      const body: TargetGroup = { apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup', metadata: { name: tgName, namespace, labels, ownerReferences: owner }, spec };
      // Compared with defaults filled in, so a removed annotation puts the AWS default back.
      const full = { ...body, spec: JSON.parse(JSON.stringify(spec)) } as TargetGroup;
      defaultTargetGroup(full);
      try {
        if (!cur) await ctx.client.create(body).catch((e) => ignoreExists(e));
        else if (mine(cur) && !deepEqual(cur.spec, full.spec)) await ctx.client.update({ ...full, metadata: { ...cur.metadata, labels, ownerReferences: owner } });
      } catch (e) {
        // An annotation asked for settings a target group refuses: say so on the Service, as the
        // AWS Load Balancer Controller does, rather than leave it pending without a word.
        ctx.recorder.event(svc, 'Warning', 'FailedBuildModel', `Failed build model due to ${(e as Error).message}`);
        throw e;
      }
    }
    for (const tg of this.tgs.cache.byIndex('service', key)) if (mine(tg) && !wantTgs.has(tg.metadata.name!)) await ctx.client.deleteIfExists(TargetGroupKind, tg.metadata.name!, namespace);
    const lbSpec: LoadBalancer['spec'] = {
      type: network ? 'network' : 'application',
      scheme: svc.metadata.annotations?.[`${ANN}scheme`] === 'internal' ? 'internal' : 'internet-facing',
      listeners: (svc.spec.ports ?? []).map((p) => ({ port: p.port, protocol: network ? 'TCP' : 'HTTP', targetGroupName: `${name}-${p.port}` })),
    };
    const lb = this.lbs.cache.get(key);
    if (!lb) {
      await ctx.client.create<LoadBalancer>({ apiVersion: 'elb.berth.dev/v1', kind: 'LoadBalancer', metadata: { name, namespace, labels, ownerReferences: owner }, spec: lbSpec }).catch((e) => ignoreExists(e));
      return;
    }
    if (!mine(lb)) return; // a LoadBalancer of that name the user made: left alone
    if (!specCovers(lb.spec, lbSpec)) await ctx.client.update<LoadBalancer>({ ...lb, spec: { ...lb.spec, ...lbSpec } });
    const ip = lb.status?.state?.code === 'active' ? lb.status.address : undefined;
    const ingress = ip ? [{ ip, ipMode: 'VIP' }] : [];
    if (!deepEqual(svc.status?.loadBalancer?.ingress ?? [], ingress)) {
      await ctx.client.modify<Service>(Kinds.Service, name, namespace, (s) => ({ ...s, status: { ...(s.status ?? {}), loadBalancer: ingress.length ? { ingress } : {} } }), { status: true });
    }
  }
}

function ignoreExists(e: unknown): void {
  if ((e as { reason?: string }).reason !== 'AlreadyExists') throw e;
}

/** True when every field of `want` is already so in `have` (defaults the server added are fine). */
function specCovers(have: unknown, want: unknown): boolean {
  if (want === undefined) return true;
  if (Array.isArray(want)) return Array.isArray(have) && have.length === want.length && want.every((w, i) => specCovers(have[i], w));
  if (want && typeof want === 'object') return !!have && typeof have === 'object' && Object.entries(want).every(([k, v]) => specCovers((have as Record<string, unknown>)[k], v));
  return have === want;
}

/** The in-process data plane: target group engines and listeners, keyed `namespace/name`. */
export class DataPlane {
  readonly groups = new Map<string, TargetGroupEngine>();
  readonly listeners = new Map<string, Map<number, Listener>>();
  readonly addresses = new Map<string, string>();
  /** Addresses found held by something else on this machine: never chosen again. */
  readonly taken = new Set<string>();
  readonly dial: Dialer;
  /** Called with a TargetGroup key when its targets change state. */
  onGroupChange: (key: string) => void = () => {};

  /** Without sockets (virtual time): health checks ask the application model, nothing listens. */
  readonly virtual: boolean;
  private readonly transport: TargetTransport;

  /**
   * @param apps the application servers of simulated pods (real sockets), or
   * @param model the application model alone: virtual mode, for `berth simulate` and tests.
   */
  /**
   * @param instancePorts resolves `instance` targets (what answers on an instance's port);
   *   without it they answer nothing.
   */
  constructor(
    readonly clock: Clock,
    pods: Informer<Pod>,
    private readonly apps: AppServers | undefined,
    model?: AppModel,
    readonly instancePorts?: InstancePorts,
  ) {
    pods.cache.addIndex('uid', (p) => [p.metadata.uid!]);
    this.podOf = (uid) => pods.cache.byIndex('uid', uid)[0];
    this.virtual = !apps && !!model;
    this.dial = async (t: TargetSpec) => {
      if (!t.pod && !t.instance) return { host: t.id, port: t.port };
      const to = this.podFor(t);
      if (!to) throw new Error(t.instance ? `nothing answers on port ${t.port} of instance ${t.instance}` : `pod ${t.pod!.namespace}/${t.pod!.name} is gone`);
      const { pod, port } = to;
      if (pod.metadata.annotations?.[PORTS_ANNOTATION] !== undefined) {
        // Targets from EndpointSlices already carry the host port; targets a user registered by
        // pod name carry the container port.
        if (portsOf(pod)?.some((m) => m.hostPort === port)) return { host: '127.0.0.1', port };
        const hp = hostPortFor(pod, port);
        if (!hp) throw new Error(`pod ${pod.metadata.name} has no host port for ${port}`);
        return { host: '127.0.0.1', port: hp };
      }
      if (!this.apps) throw new Error('no application servers');
      return { host: '127.0.0.1', port: await this.apps.portFor(pod, port) };
    };
    this.transport = this.virtual ? modelTransport(model!, (t) => this.podFor(t)?.pod) : socketTransport(this.dial, this.clock);
  }

  /** The pod (and its port) a target reaches: a pod target's own pod, or what answers an instance target's port. */
  podFor(t: TargetSpec): PodPort | undefined {
    if (t.instance) return this.instancePorts?.resolve(t.instance, t.port);
    const pod = t.pod ? this.podOf(t.pod.uid) : undefined;
    return pod ? { pod, port: t.port } : undefined;
  }

  /** A pod by UID, from the informer cache. */
  readonly podOf: (uid: string) => Pod | undefined;

  /** The engine of a target group (made on first use). */
  group(key: string): TargetGroupEngine {
    let g = this.groups.get(key);
    if (!g) {
      g = new TargetGroupEngine(key, this.clock, this.transport);
      g.onChange = () => this.onGroupChange(key);
      this.groups.set(key, g);
    }
    return g;
  }

  dropGroup(key: string): void {
    this.groups.get(key)?.close();
    this.groups.delete(key);
  }

  async close(): Promise<void> {
    for (const m of this.listeners.values()) for (const l of m.values()) await l.close();
    this.listeners.clear();
    for (const g of this.groups.values()) g.close();
    this.groups.clear();
  }
}

export class LoadBalancerController implements Reconciler {
  /** When each load balancer's status was last written (metrics go at most once a period). */
  private readonly written = new Map<string, number>();
  private readonly lbs: Informer<LoadBalancer>;
  private readonly tgs: Informer<TargetGroup>;

  constructor(
    mgr: Manager,
    private readonly plane: DataPlane,
  ) {
    this.lbs = mgr.informer<LoadBalancer>(LoadBalancerKind);
    this.tgs = mgr.informer<TargetGroup>(TargetGroupKind);
  }

  static install(mgr: Manager, plane: DataPlane): Controller {
    const r = new LoadBalancerController(mgr, plane);
    return controllerFor(mgr, LoadBalancerKind)
      .named('load-balancer')
      .watches(TargetGroupKind, (tg) => r.lbs.cache.list().filter((lb) => lb.metadata.namespace === tg.metadata.namespace && lb.spec.listeners?.some((l) => l.targetGroupName === tg.metadata.name)).map((lb) => `${lb.metadata.namespace}/${lb.metadata.name}`))
      .complete(r);
  }

  private allocate(key: string): string {
    const used = new Set<string>([...this.plane.addresses.values(), ...this.plane.taken]);
    for (const lb of this.lbs.cache.list()) if (lb.status?.address && `${lb.metadata.namespace}/${lb.metadata.name}` !== key) used.add(lb.status.address);
    for (let n = 0; ; n++) {
      const a = address(n);
      if (!used.has(a)) return a;
    }
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const lb = this.lbs.cache.get(key);
    const have = this.plane.listeners.get(key) ?? new Map<number, Listener>();
    if (!lb || lb.metadata.deletionTimestamp) {
      for (const l of have.values()) await l.close();
      this.plane.listeners.delete(key);
      this.plane.addresses.delete(key);
      return;
    }
    const [namespace, name] = key.split('/') as [string, string];
    const addr = lb.status?.address ?? this.plane.addresses.get(key) ?? this.allocate(key);
    this.plane.addresses.set(key, addr);
    this.plane.listeners.set(key, have);
    const problems: string[] = [];
    const want = new Map(lb.spec.listeners.map((l) => [l.port, l]));
    for (const [port, l] of have) {
      const w = want.get(port);
      if (!w || w.protocol !== l.protocol || l.address !== addr) {
        await l.close();
        have.delete(port);
      }
    }
    for (const [port, w] of want) {
      const tgKey = `${namespace}/${w.targetGroupName}`;
      if (!this.tgs.cache.get(tgKey)) problems.push(`listener ${port}: target group ${w.targetGroupName} not found`);
      const group = this.plane.group(tgKey);
      const cur = have.get(port);
      if (cur) {
        cur.group = group;
        continue;
      }
      if (this.plane.virtual) continue; // virtual time: routed by the load driver, nothing listens
      const l = new Listener(addr, port, w.protocol ?? 'HTTP', group, this.plane.dial, this.plane.clock);
      try {
        await l.listen();
        have.set(port, l);
      } catch (e) {
        // An address berth chose that something else on this machine holds (another server):
        // take the next one, as long as no status has published this one yet.
        if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' && !lb.status?.address) {
          this.plane.taken.add(addr);
          this.plane.addresses.delete(key);
          for (const x of have.values()) await x.close();
          have.clear();
          return { requeueAfter: 1 };
        }
        problems.push(`listener ${port}: cannot listen on ${addr}:${port}: ${(e as Error).message}`);
      }
    }
    const failed = problems.some((p) => p.includes('cannot listen'));
    const state = failed ? { code: 'failed' as const, reason: problems.join('; ') } : problems.length ? { code: 'active' as const, reason: problems.join('; ') } : { code: 'active' as const };
    const metrics = this.metrics(lb, namespace);
    const status = { state, address: addr, dnsName: `${name}.${namespace}.elb.berth.local`, metrics };
    const prev = lb.status ?? {};
    const changed = !deepEqual(prev.state, status.state) || prev.address !== addr || prev.dnsName !== status.dnsName;
    const now = this.plane.clock.now();
    const metricsDue = !deepEqual(prev.metrics, metrics) && now - (this.written.get(key) ?? 0) >= METRICS_PERIOD_MS;
    if (changed || metricsDue) {
      this.written.set(key, now);
      try {
        await ctx.client.modify<LoadBalancer>(LoadBalancerKind, name, namespace, (o) => ({ ...o, status: status }), { status: true });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return { requeueAfter: failed ? 10_000 : METRICS_PERIOD_MS };
  }

  private metrics(lb: LoadBalancer, namespace: string): LoadBalancerMetrics {
    const m: LoadBalancerMetrics = { requestCount: 0, activeConnections: 0, httpCodes: {}, elb5xx: 0, latencyMs: { p50: 0, p90: 0, p99: 0 } };
    const lat: number[] = [];
    for (const tgName of new Set(lb.spec.listeners.map((l) => l.targetGroupName))) {
      const g = this.plane.groups.get(`${namespace}/${tgName}`);
      if (!g) continue;
      const t = g.totals();
      m.requestCount += t.requestCount;
      m.activeConnections += t.activeConnections;
      m.elb5xx += t.elb5xx;
      for (const [k, v] of Object.entries(t.httpCodes)) m.httpCodes[k] = (m.httpCodes[k] ?? 0) + v;
      for (const x of g.list()) lat.push(...x.latencies);
    }
    m.latencyMs = percentiles(lat);
    return m;
  }
}

/** The nth address a load balancer can have: 127.0.1.1 … 127.0.1.254, 127.0.2.1 … */
export function address(n: number): string {
  return `127.0.${1 + Math.floor(n / 254)}.${(n % 254) + 1}`;
}

export class TargetGroupController implements Reconciler {
  /** When each group's status was last written (metrics go at most once a period; health at once). */
  private readonly written = new Map<string, number>();
  private readonly tgs: Informer<TargetGroup>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly pods: Informer<Pod>;
  private readonly services: Informer<Service>;

  constructor(
    mgr: Manager,
    private readonly plane: DataPlane,
  ) {
    this.tgs = mgr.informer<TargetGroup>(TargetGroupKind);
    this.slices = mgr.informer<EndpointSlice>(EndpointSliceKind);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.services = mgr.informer<Service>(Kinds.Service);
    this.tgs.cache.addIndex('serviceRef', (t) => (t.spec.serviceRef ? [`${t.metadata.namespace}/${t.spec.serviceRef.name}`] : []));
    this.tgs.cache.addIndex('ns', (t) => [t.metadata.namespace!]);
    this.tgs.cache.addIndex('instance', (t) => (t.spec.targetType === 'instance' ? ['all'] : []));
    this.lbs = mgr.informer<LoadBalancer>(LoadBalancerKind);
    this.lbs.cache.addIndex('elb:targetGroup', (lb) => (lb.metadata.deletionTimestamp ? [] : (lb.spec.listeners ?? []).map((l) => `${lb.metadata.namespace}/${l.targetGroupName}`)));
    if (plane.instancePorts) {
      this.groups = mgr.informer<AutoScalingGroup>(Kinds.AutoScalingGroup);
      this.groups.cache.addIndex('elb:targetGroup', (g) => (g.spec.targetGroups ?? []).map(targetGroupKey));
    }
  }

  private readonly lbs: Informer<LoadBalancer>;

  /** Auto Scaling groups, when EC2 is served (instance targets). */
  private readonly groups?: Informer<AutoScalingGroup>;

  /**
   * An `instance` target group's targets: with `serviceRef`, every running instance with a Node on
   * the Service port's NodePort; else its own `targets` and the running instances of the Auto
   * Scaling groups that list it (not those a group is draining), on `spec.port`.
   */
  private instanceTargets(tg: TargetGroup): TargetSpec[] {
    const ip = this.plane.instancePorts;
    if (!ip || !this.groups) return [];
    const key = keyOf(tg);
    const out = new Map<string, TargetSpec>();
    const add = (id: string, port: number): void => void out.set(`${id}:${port}`, { key: `${id}:${port}`, id, port, instance: id });
    const running = (i: Instance | undefined): boolean => !!i && !i.metadata.deletionTimestamp && i.status?.state === 'running' && i.spec.state !== 'terminated' && !!i.status.nodeName;
    if (tg.spec.serviceRef) {
      const svc = this.services.cache.get(`${tg.metadata.namespace}/${tg.spec.serviceRef.name}`);
      const ref = tg.spec.serviceRef.port;
      const nodePort = svc?.spec.ports?.find((p) => p.port === ref || (typeof ref === 'string' && (p.name === ref || String(p.port) === ref)))?.nodePort;
      if (nodePort) for (const i of ip.instances.cache.list()) if (running(i)) add(i.metadata.name!, nodePort);
      return [...out.values()];
    }
    for (const t of tg.spec.targets ?? []) {
      const i = ip.instances.cache.get(t.id);
      if (i && !i.metadata.deletionTimestamp && i.spec.state !== 'terminated') add(t.id, t.port);
    }
    if (tg.spec.port) {
      for (const g of this.groups.cache.byIndex('elb:targetGroup', key)) {
        for (const i of ip.instances.cache.list()) {
          if (i.metadata.labels?.[GROUP_NAME_LABEL] !== g.metadata.name || !i.metadata.ownerReferences?.some((r) => r.uid === g.metadata.uid)) continue;
          if (running(i) && !i.metadata.annotations?.[DRAINING_SINCE_ANNOTATION]) add(i.metadata.name!, tg.spec.port);
        }
      }
    }
    return [...out.values()];
  }

  static install(mgr: Manager, plane: DataPlane): Controller {
    const r = new TargetGroupController(mgr, plane);
    const b = controllerFor(mgr, TargetGroupKind)
      .named('target-group')
      .watches(EndpointSliceKind, (s) => (s.metadata.labels?.[SERVICE_NAME_LABEL] ? r.tgs.cache.byIndex('serviceRef', `${s.metadata.namespace}/${s.metadata.labels[SERVICE_NAME_LABEL]}`).map(keyOf) : []))
      .watches(Kinds.Pod, (p) => r.tgs.cache.byIndex('ns', p.metadata.namespace!).map(keyOf))
      // A listener forwarding to a group puts its targets in use; without one they are unused.
      .watches(LoadBalancerKind, (lb) => ((lb as LoadBalancer).spec.listeners ?? []).map((l) => `${lb.metadata.namespace}/${l.targetGroupName}`));
    // Instance target groups follow their instances and the Auto Scaling groups attached to them.
    if (plane.instancePorts) {
      b.watches(Kinds.Instance, () => r.tgs.cache.byIndex('instance', 'all').map(keyOf));
      b.watches(Kinds.AutoScalingGroup, (g) => ((g as AutoScalingGroup).spec.targetGroups ?? []).map(targetGroupKey));
    }
    const c = b.complete(r);
    plane.onGroupChange = (key) => c.enqueue(key);
    return c;
  }

  /** The targets the group should have now. */
  private desired(tg: TargetGroup): TargetSpec[] {
    if (tg.spec.targetType === 'instance') return this.instanceTargets(tg);
    const ns = tg.metadata.namespace!;
    const out: TargetSpec[] = [];
    const live = (uid: string): Pod | undefined => {
      const p = this.pods.cache.byIndex('uid', uid)[0];
      return p && !p.metadata.deletionTimestamp ? p : undefined;
    };
    if (tg.spec.serviceRef) {
      const svc = this.services.cache.get(`${ns}/${tg.spec.serviceRef.name}`);
      const ref = tg.spec.serviceRef.port;
      const sp = svc?.spec.ports?.find((p) => p.port === ref || (typeof ref === 'string' && (p.name === ref || String(p.port) === ref)));
      if (!svc || !sp) return [];
      for (const s of this.slices.cache.list()) {
        if (s.metadata.namespace !== ns || s.metadata.labels?.[SERVICE_NAME_LABEL] !== svc.metadata.name) continue;
        const port = (s.ports ?? []).find((p) => (sp.name ? p.name === sp.name : true))?.port;
        if (port === undefined) continue;
        for (const e of s.endpoints ?? []) {
          if (!e.conditions.ready || e.conditions.terminating) continue;
          const uid = e.targetRef?.uid;
          if (uid && !live(uid)) continue;
          out.push({ key: `${uid ?? e.addresses[0]}:${port}`, id: e.addresses[0]!, port, ...(uid ? { pod: { namespace: ns, name: e.targetRef.name, uid } } : {}) });
        }
      }
      return out;
    }
    for (const t of tg.spec.targets ?? []) {
      const pod = this.pods.cache.get(`${ns}/${t.id}`);
      if (pod) {
        if (!pod.metadata.deletionTimestamp && pod.status?.phase === 'Running') out.push({ key: `${pod.metadata.uid}:${t.port}`, id: pod.status.podIP ?? t.id, port: t.port, pod: { namespace: ns, name: t.id, uid: pod.metadata.uid! } });
      } else if (/^\d+\.\d+\.\d+\.\d+$/.test(t.id)) out.push({ key: `${t.id}:${t.port}`, id: t.id, port: t.port });
    }
    return out;
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const tg = this.tgs.cache.get(key);
    if (!tg) {
      this.plane.dropGroup(key);
      this.written.delete(key);
      return;
    }
    const g = this.plane.group(key);
    g.configure(targetGroupConfig(tg));
    g.setInUse(this.lbs.cache.byIndex('elb:targetGroup', key).length > 0);
    g.setTargets(this.desired(tg));
    const targets: TargetHealthStatus[] = g.list().map((t) => ({
      id: t.spec.id,
      port: t.spec.port,
      ...(t.spec.pod ? { pod: t.spec.pod.name } : {}),
      state: t.state,
      ...(t.reason ? { reason: t.reason } : {}),
      ...t.metrics(),
    }));
    const metrics = g.totals();
    const healthOf = (xs: TargetHealthStatus[] | undefined): string => JSON.stringify((xs ?? []).map((x) => [x.id, x.port, x.state, x.reason]));
    const stateChanged = healthOf(tg.status?.targets) !== healthOf(targets);
    const now = this.plane.clock.now();
    const metricsDue = !deepEqual(tg.status?.metrics, metrics) && now - (this.written.get(key) ?? 0) >= METRICS_PERIOD_MS;
    if (stateChanged || metricsDue) {
      this.written.set(key, now);
      try {
        await ctx.client.modify<TargetGroup>(TargetGroupKind, tg.metadata.name!, tg.metadata.namespace, (o) => ({ ...o, status: { targets, metrics } }), { status: true });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return { requeueAfter: METRICS_PERIOD_MS };
  }
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}
