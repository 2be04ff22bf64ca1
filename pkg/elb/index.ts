/**
 * Services and the Elastic Load Balancer, as one component (`elb` in COMPONENTS):
 *
 * - the Endpoints and EndpointSlice controller (`endpoints.ts`);
 * - `elb.berth.dev/v1` LoadBalancer and TargetGroup kinds (`api.ts`), the controllers that give
 *   every Service of type LoadBalancer one and keep them (`controller.ts`), and the data plane:
 *   target groups with health checks and routing (`targetgroup.ts`) and a real listener per load
 *   balancer on its own loopback address (`listener.ts`);
 * - the simulated runtime's built-in application server per pod (`appserver.ts`), whose CPU use
 *   is what metrics.k8s.io reports for those pods;
 * - HorizontalPodAutoscaler `autoscaling/v2` defaulting and validation, `autoscaling/v1` served
 *   through a conversion (`hpa-api.ts`), and the HPA controller (`hpa.ts`);
 * - load profiles replayed in virtual time (`load.ts`).
 */
import type { Pod } from '../api/types.js';
import { hostPortFor, PORTS_ANNOTATION } from '../agent/index.js';
import type { ApiServer } from '../apiserver/index.js';
import { Kinds } from '../client/client.js';
import type { Manager } from '../runtime/manager.js';
import { defaultLoadBalancer, defaultTargetGroup, LOAD_BALANCER_RESOURCE, LoadBalancerKind, type LoadBalancer, loadBalancerTable, TARGET_GROUP_RESOURCE, targetGroupTable, validateLoadBalancer, validateTargetGroup } from './api.js';
import { AppModel, AppServers } from './appserver.js';
import { selectorFromMap } from '../api/labels.js';
import { selectsPods, type Service } from './service.js';
import { DataPlane, LoadBalancerController, ServiceLoadBalancerController, TargetGroupController } from './controller.js';
import { EndpointsController } from './endpoints.js';
import { InstancePorts } from './instance-targets.js';
import { HpaController, type RequestMetrics } from './hpa.js';
import { defaultHpa, HPA_V1_RESOURCE, validateHpa } from './hpa-api.js';
import { endpointSliceTable, hpaTable } from './tables.js';
import { VirtualLoad, type LoadProfile } from './load.js';

export { EndpointsController, EndpointSliceKind, type Endpoints, type EndpointSlice } from './endpoints.js';
export { HPA_V2, HPA_V1_RESOURCE, defaultHpa, validateHpa, hpaV1ToV2, hpaV2ToV1, type HorizontalPodAutoscaler, type MetricSpec } from './hpa-api.js';
export { findPort, type Service, type ServicePort } from './service.js';
export { LoadBalancerKind, TargetGroupKind, type LoadBalancer, type TargetGroup } from './api.js';
export { AppModel, POD_HEADER, SERVICE_TIME_ANNOTATION, CPU_PER_REQUEST_ANNOTATION, HTTP_STATUS_ANNOTATION, IDLE_CPU_ANNOTATION } from './appserver.js';
export { TargetGroupEngine, type TargetGroupConfig } from './targetgroup.js';
export { VirtualLoad, LatencyHistogram, rateAt, parseSeriesCsv, type LoadProfile } from './load.js';
export { HpaController, SYNC_PERIOD_MS, TOLERANCE } from './hpa.js';

export interface ElbOptions {
  /** Set false to run no controllers (the kinds are still served). */
  controllers?: boolean;
  /** Virtual time (`berth simulate`, tests): no sockets; load comes from `handle.load(...)`. */
  virtual?: boolean;
}

/** What the installer leaves in `handles.elb`. */
export interface ElbHandle {
  model: AppModel;
  plane?: DataPlane;
  /**
   * Replays a load profile against the target group `namespace/name` in virtual time (needs
   * `virtual: true`); returns the driver (its `stats`, `stop()`).
   */
  load(targetGroup: string, profile: LoadProfile, opts?: { tickMs?: number }): VirtualLoad;
}

/** Registers the kinds, hooks and tables on the API server and the controllers on the manager. */
export function installElb(api: ApiServer, mgr: Manager, opts: ElbOptions = {}): ElbHandle {
  api.registry.add(HPA_V1_RESOURCE);
  api.store.setHooks('autoscaling', 'HorizontalPodAutoscaler', { default: defaultHpa, validate: validateHpa });
  api.tables.set('autoscaling', 'HorizontalPodAutoscaler', hpaTable);
  api.tables.set('discovery.k8s.io', 'EndpointSlice', endpointSliceTable);
  api.registry.add(LOAD_BALANCER_RESOURCE);
  api.registry.add(TARGET_GROUP_RESOURCE);
  api.store.setHooks('elb.berth.dev', 'LoadBalancer', { default: defaultLoadBalancer, validate: validateLoadBalancer });
  api.store.setHooks('elb.berth.dev', 'TargetGroup', { default: defaultTargetGroup, validate: validateTargetGroup });
  api.tables.set('elb.berth.dev', 'LoadBalancer', loadBalancerTable);
  api.tables.set('elb.berth.dev', 'TargetGroup', targetGroupTable);

  const model = new AppModel(mgr.clock);
  if (opts.controllers !== false) {
    const services = mgr.informer<Service>(Kinds.Service);
    services.cache.addIndex('elb:namespace', (s) => [s.metadata.namespace!]);
    model.behindService = (pod) => services.cache.byIndex('elb:namespace', pod.metadata.namespace!).some((s) => selectsPods(s) && selectorFromMap(s.spec.selector).matches(pod.metadata.labels));
  }
  // metrics.k8s.io: pods the application model speaks for report its CPU; others as before.
  api.metrics.current = model.metricsSource(api.metrics.current);
  const handle: ElbHandle = {
    model,
    load: () => {
      throw new Error('load profiles need the elb component in virtual mode');
    },
  };
  if (opts.controllers === false) return handle;

  const pods = mgr.informer<Pod>(Kinds.Pod);
  const podOf = (uid: string): Pod | undefined => plane.podOf(uid);
  const apps = opts.virtual ? undefined : new AppServers(model, mgr.clock, podOf);
  // Instance targets need EC2 (the cloud component's kinds); without them only ip targets work.
  const ec2 = !!api.registry.forKind(Kinds.Instance.apiVersion, Kinds.Instance.kind) && !!api.registry.forKind(Kinds.AutoScalingGroup.apiVersion, Kinds.AutoScalingGroup.kind);
  const plane = new DataPlane(mgr.clock, pods, apps, model, ec2 ? new InstancePorts(mgr) : undefined);
  handle.plane = plane;
  // `kubectl port-forward` reaches what the pod serves: a Docker pod's published host port, else
  // the simulated pod's application server (none in virtual time).
  api.portForward.current = {
    dial: async (obj, port) => {
      const pod = obj as Pod;
      if (pod.metadata.annotations?.[PORTS_ANNOTATION] !== undefined) {
        const hp = hostPortFor(pod, port);
        if (!hp) throw new Error(`port ${port} is not among the published container ports of pod ${pod.metadata.name}`);
        return { host: '127.0.0.1', port: hp };
      }
      if (!apps) throw new Error('simulated pods serve no sockets in virtual time');
      return { host: '127.0.0.1', port: await apps.portFor(pod, port) };
    },
  };
  EndpointsController.install(mgr);
  ServiceLoadBalancerController.install(mgr);
  LoadBalancerController.install(mgr, plane);
  TargetGroupController.install(mgr, plane);
  const requests: RequestMetrics = {
    podRequestsPerSecond: (pod) => (model.models(pod) ? model.requestsPerSecond(pod) : undefined),
    targetGroupMetric: (key, metric) => {
      const g = plane.groups.get(key);
      if (!g) return undefined;
      if (metric === 'RequestCountPerTarget') return g.requestCountPerTarget();
      if (metric === 'RequestCount') return g.requestsLastMinute();
      return undefined;
    },
    loadBalancerMetric: (key, metric) => {
      const [ns] = key.split('/');
      const lb = mgr.informer<LoadBalancer>(LoadBalancerKind).cache.get(key);
      if (!lb) return undefined;
      let sum = 0;
      let any = false;
      for (const l of lb.spec.listeners) {
        const g = plane.groups.get(`${ns}/${l.targetGroupName}`);
        if (!g) continue;
        any = true;
        sum += metric === 'RequestCountPerTarget' ? g.requestCountPerTarget() : metric === 'RequestCount' ? g.requestsLastMinute() : NaN;
      }
      return any && Number.isFinite(sum) ? sum : undefined;
    },
  };
  HpaController.install(mgr, () => api.metrics.current, requests);
  // Housekeeping and shutdown of the real sockets.
  mgr.add({
    name: 'elb-data-plane',
    async start(signal: AbortSignal) {
      const sweep = (): void => {
        if (signal.aborted) return;
        apps?.sweep();
        mgr.clock.setTimer(5_000, sweep);
      };
      if (apps) mgr.clock.setTimer(5_000, sweep);
      await new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
      await plane.close();
      apps?.close();
    },
  });
  if (opts.virtual) {
    handle.load = (tg, profile, o = {}) => {
      const l = new VirtualLoad(mgr.clock, plane.group(tg), model, (t) => plane.podFor(t)?.pod, profile, o.tickMs ?? 100);
      l.start();
      return l;
    };
  }
  return handle;
}
