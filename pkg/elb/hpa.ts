/**
 * The HorizontalPodAutoscaler controller, with Kubernetes's algorithm
 * (pkg/controller/podautoscaler/horizontal.go and replica_calculator.go,
 * https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#algorithm-details):
 *
 * - every 15 s of cluster time (`--horizontal-pod-autoscaler-sync-period`), each metric proposes
 *   `ceil(currentReplicas × currentValue / targetValue)`, or nothing when the ratio is within the
 *   10 % tolerance; pods being deleted or failed are ignored, pods without metrics count as using
 *   100 % of their request when scaling down and 0 % when scaling up, and pods not yet Ready count
 *   as 0 % when scaling up (cpu); the largest proposal wins;
 * - the proposal is stabilized (the highest recommendation of the scale-down window, 300 s by
 *   default; the lowest of the scale-up window, 0 s) and limited by the behavior's policies
 *   (default: up by 100 % or 4 pods per 15 s, whichever is more; down by 100 % per 15 s), then
 *   clamped to [minReplicas, maxReplicas].
 *
 * Metrics: `Resource` cpu/memory (Utilization or AverageValue) from the pods' usage (the same
 * source metrics.k8s.io serves); `Pods` `requests_per_second` (each pod's answered requests a
 * second over the last minute, from the simulated application server); `Object` on an
 * `elb.berth.dev/v1` TargetGroup or LoadBalancer, metric `RequestCountPerTarget` or
 * `RequestCount` (per minute, as CloudWatch's one-minute sums); `External`
 * `ALBRequestCountPerTarget` with selector `targetgroup: <name>` (Value: per target per minute;
 * AverageValue: the group's request count per minute divided by the target).
 */
import { isNotFound } from '../api/errors.js';
import { selectorFromLabelSelector } from '../api/labels.js';
import { setCondition } from '../api/meta.js';
import { isPodReady } from '../api/podutil.js';
import { formatAmount, parseQuantity, resourceAmount } from '../api/quantity.js';
import type { Condition, KubeObject, LabelSelector, Pod } from '../api/types.js';
import type { PodMetricsSource } from '../apiserver/virtual.js';
import { rfc3339 } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../runtime/manager.js';
import { controllerFor } from '../runtime/manager.js';
import { defaultScaleDown, defaultScaleUp, HPA_V2, type HorizontalPodAutoscaler, type HPAScalingRules, type MetricSpec, type MetricStatus, type MetricTarget } from './hpa-api.js';

/** `--horizontal-pod-autoscaler-sync-period`. */
export const SYNC_PERIOD_MS = 15_000;
/** `--horizontal-pod-autoscaler-tolerance`. */
export const TOLERANCE = 0.1;

/** Metric values the HPA reads besides pod usage: requests through the load balancers. */
export interface RequestMetrics {
  /** A pod's answered requests per second over the last minute, or undefined when unknown. */
  podRequestsPerSecond(pod: Pod): number | undefined;
  /** `RequestCountPerTarget` or `RequestCount` of a target group (`namespace/name`), per minute; undefined when it has none. */
  targetGroupMetric(key: string, metric: string): number | undefined;
  /** The same for a load balancer (summed over its target groups). */
  loadBalancerMetric(key: string, metric: string): number | undefined;
}

interface ScaleEvent {
  at: number;
  delta: number;
}

/** What one metric proposes. */
interface Proposal {
  replicas: number;
  status: MetricStatus;
  name: string;
}

class MetricError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** A quantity as a plain number (`500m` → 0.5, `1Ki` → 1024); NaN when absent. */
const quantity = (q: string | undefined): number => (q === undefined ? NaN : parseQuantity(q));
/** A plain quantity with milli precision (`1500m`, `12`). */
function milli(v: number): string {
  const m = Math.round(v * 1000);
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}

export class HpaController implements Reconciler {
  private readonly hpas: Informer<HorizontalPodAutoscaler>;
  private readonly pods: Informer<Pod>;
  /** Per HPA: past recommendations (time, replicas) and scale events. */
  private readonly recommendations = new Map<string, { at: number; replicas: number }[]>();
  private readonly upEvents = new Map<string, ScaleEvent[]>();
  private readonly downEvents = new Map<string, ScaleEvent[]>();

  constructor(
    mgr: Manager,
    private readonly usage: () => PodMetricsSource | undefined,
    private readonly requests: RequestMetrics | undefined,
  ) {
    this.hpas = mgr.informer<HorizontalPodAutoscaler>(HPA_V2);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.pods.cache.addIndex('hpa-namespace', (p) => [p.metadata.namespace!]);
  }

  static install(mgr: Manager, usage: () => PodMetricsSource | undefined, requests?: RequestMetrics): Controller {
    return controllerFor(mgr, HPA_V2).named('horizontal-pod-autoscaler').complete(new HpaController(mgr, usage, requests));
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const hpa = this.hpas.cache.get(key);
    if (!hpa) {
      this.recommendations.delete(key);
      this.upEvents.delete(key);
      this.downEvents.delete(key);
      return;
    }
    const ns = hpa.metadata.namespace!;
    const now = ctx.clock.now();
    const ref = hpa.spec.scaleTargetRef;
    const conditions: Condition[] = [...(hpa.status?.conditions ?? [])];
    const stamp = rfc3339(now);
    const cond = (type: string, status: 'True' | 'False', reason: string, message: string): void => void setCondition(conditions, { type, status, reason, message }, stamp);
    let target: KubeObject | undefined;
    try {
      target = await ctx.client.get(this.targetKind(ref), ref.name, ns);
    } catch (e) {
      const msg = `the HPA controller was unable to get the target's current scale: ${(e as Error).message}`;
      cond('AbleToScale', 'False', 'FailedGetScale', msg);
      ctx.recorder.event(hpa, 'Warning', 'FailedGetScale', msg);
      await this.writeStatus(ctx, hpa, { ...hpa.status, conditions });
      return { requeueAfter: SYNC_PERIOD_MS };
    }
    const spec = target.spec as { replicas?: number; selector?: LabelSelector };
    const current = spec.replicas ?? 1;
    const min = hpa.spec.minReplicas ?? 1;
    const max = hpa.spec.maxReplicas;
    let desired = current;
    let metricsStatus: MetricStatus[] = hpa.status?.currentMetrics ?? [];
    let reason = '';
    let rescale = false;
    if (current === 0 && min !== 0) {
      cond('ScalingActive', 'False', 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero');
      desired = 0;
    } else if (current > max) {
      desired = max;
      reason = 'Current number of replicas above Spec.MaxReplicas';
      rescale = true;
    } else if (current < min) {
      desired = min;
      reason = 'Current number of replicas below Spec.MinReplicas';
      rescale = true;
    } else {
      const pods = this.podsOf(ns, spec.selector);
      const proposals: Proposal[] = [];
      const errors: MetricError[] = [];
      for (const m of hpa.spec.metrics ?? []) {
        try {
          proposals.push(this.propose(m, pods, current, ns));
        } catch (e) {
          if (e instanceof MetricError) errors.push(e);
          else throw e;
        }
      }
      if (!proposals.length) {
        const e = errors[0] ?? new MetricError('FailedGetResourceMetric', 'no metrics');
        cond('ScalingActive', 'False', e.reason, `the HPA was unable to compute the replica count: ${e.message}`);
        ctx.recorder.event(hpa, 'Warning', e.reason, e.message);
        metricsStatus = [];
        await this.writeStatus(ctx, hpa, { ...hpa.status, currentReplicas: current, desiredReplicas: current, currentMetrics: null, conditions, observedGeneration: hpa.metadata.generation });
        return { requeueAfter: SYNC_PERIOD_MS };
      }
      cond('ScalingActive', 'True', 'ValidMetricFound', `the HPA was able to successfully calculate a replica count from ${proposals[0]!.name}`);
      metricsStatus = proposals.map((p) => p.status);
      const best = proposals.reduce((a, b) => (b.replicas > a.replicas ? b : a));
      const proposed = best.replicas;
      const normalized = this.normalize(key, hpa, current, proposed, now, (type, status, r, msg) => cond(type, status, r, msg));
      desired = normalized;
      rescale = desired !== current;
      reason = `${best.name} ${desired > current ? 'above' : 'below'} target`;
    }
    const status: NonNullable<HorizontalPodAutoscaler['status']> = { ...hpa.status, observedGeneration: hpa.metadata.generation, currentReplicas: current, desiredReplicas: desired, currentMetrics: metricsStatus.length ? metricsStatus : null, conditions };
    if (rescale) {
      try {
        await ctx.client.patch(this.targetKind(ref), ref.name, ns, 'merge', { spec: { replicas: desired } });
      } catch (e) {
        const msg = `failed to rescale ${ref.kind}/${ref.name}: ${(e as Error).message}`;
        cond('AbleToScale', 'False', 'FailedUpdateScale', msg);
        ctx.recorder.event(hpa, 'Warning', 'FailedRescale', msg);
        await this.writeStatus(ctx, hpa, { ...status, desiredReplicas: current, conditions });
        return { requeueAfter: SYNC_PERIOD_MS };
      }
      cond('AbleToScale', 'True', 'SucceededRescale', `the HPA controller was able to update the target scale to ${desired}`);
      const list = desired > current ? this.upEvents : this.downEvents;
      const evs = list.get(key) ?? [];
      evs.push({ at: now, delta: Math.abs(desired - current) });
      list.set(key, evs.filter((e) => now - e.at <= 1800_000));
      status.lastScaleTime = rfc3339(now);
      ctx.recorder.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${reason}`);
      ctx.log.info({ hpa: key, from: current, to: desired, reason }, 'rescaled');
    } else if (!conditions.some((c) => c.type === 'AbleToScale')) {
      cond('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');
    }
    await this.writeStatus(ctx, hpa, status);
    return { requeueAfter: SYNC_PERIOD_MS };
  }

  private targetKind(ref: { apiVersion?: string; kind: string }): { apiVersion: string; kind: string } {
    const apiVersion = ref.apiVersion ?? (['Deployment', 'ReplicaSet', 'StatefulSet'].includes(ref.kind) ? 'apps/v1' : ref.kind === 'ReplicationController' ? 'v1' : 'apps/v1');
    return { apiVersion, kind: ref.kind };
  }

  private podsOf(ns: string, selector: LabelSelector | undefined): Pod[] {
    const sel = selectorFromLabelSelector(selector);
    if (!selector) return [];
    return this.pods.cache.byIndex('hpa-namespace', ns).filter((p) => sel.matches(p.metadata.labels));
  }

  private async writeStatus(ctx: ReconcileContext, hpa: HorizontalPodAutoscaler, status: NonNullable<HorizontalPodAutoscaler['status']>): Promise<void> {
    if (JSON.stringify(hpa.status ?? {}) === JSON.stringify(status)) return;
    try {
      await ctx.client.modify<HorizontalPodAutoscaler>(HPA_V2, hpa.metadata.name!, hpa.metadata.namespace, (o) => ({ ...o, status: status }), { status: true });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Metrics → proposals (replica_calculator.go)

  private propose(m: MetricSpec, pods: Pod[], current: number, ns: string): Proposal {
    switch (m.type) {
      case 'Resource':
      case 'ContainerResource': {
        const src = (m.type === 'Resource' ? m.resource : m.containerResource)!;
        const container = m.type === 'ContainerResource' ? m.containerResource!.container : undefined;
        return this.resourceProposal(src.name, src.target, pods, current, container, m.type);
      }
      case 'Pods': {
        const name = m.pods!.metric.name;
        if (!this.requests || !['requests_per_second', 'http_requests_per_second'].includes(name)) throw new MetricError('FailedGetPodsMetric', `unable to get metric ${name}: berth serves the pods metric requests_per_second`);
        const values = new Map<Pod, number>();
        for (const p of pods) {
          if (p.metadata.deletionTimestamp || p.status?.phase === 'Failed' || p.status?.phase !== 'Running') continue;
          const v = this.requests.podRequestsPerSecond(p);
          if (v !== undefined) values.set(p, v);
        }
        if (!values.size) throw new MetricError('FailedGetPodsMetric', `unable to get metric ${name}: no pods with metrics`);
        const target = quantity(m.pods!.target.averageValue);
        const { replicas, average } = this.plainProposal(values, pods, target, current);
        return { replicas, name: `pods metric ${name}`, status: { type: 'Pods', pods: { metric: m.pods!.metric, current: { averageValue: milli(average) } } } };
      }
      case 'Object': {
        const o = m.object!;
        const key = `${ns}/${o.describedObject.name}`;
        const v = !this.requests ? undefined : o.describedObject.kind === 'TargetGroup' ? this.requests.targetGroupMetric(key, o.metric.name) : o.describedObject.kind === 'LoadBalancer' ? this.requests.loadBalancerMetric(key, o.metric.name) : undefined;
        if (v === undefined) throw new MetricError('FailedGetObjectMetric', `unable to get metric ${o.metric.name}: ${o.describedObject.kind}/${o.describedObject.name} has no such metric (berth serves RequestCountPerTarget and RequestCount of elb.berth.dev TargetGroups and LoadBalancers)`);
        return this.valueProposal(v, o.target, pods, current, `${o.metric.name} on ${o.describedObject.kind}/${o.describedObject.name}`, { type: 'Object', object: { describedObject: o.describedObject, metric: o.metric, current: {} } }, 'object');
      }
      case 'External': {
        const e = m.external!;
        const tg = e.metric.selector?.matchLabels?.targetgroup;
        if (!this.requests || !['ALBRequestCountPerTarget', 'RequestCountPerTarget'].includes(e.metric.name) || !tg) throw new MetricError('FailedGetExternalMetric', `unable to get external metric ${e.metric.name}: berth serves ALBRequestCountPerTarget with selector matchLabels targetgroup: <name>`);
        const key = `${ns}/${tg}`;
        const v = e.target.type === 'AverageValue' ? this.requests.targetGroupMetric(key, 'RequestCount') : this.requests.targetGroupMetric(key, 'RequestCountPerTarget');
        if (v === undefined) throw new MetricError('FailedGetExternalMetric', `unable to get external metric ${e.metric.name}: no target group ${tg}`);
        return this.valueProposal(v, e.target, pods, current, `external metric ${e.metric.name}`, { type: 'External', external: { metric: e.metric, current: {} } }, 'external');
      }
    }
    throw new MetricError('InvalidMetricSourceType', `unknown metric source type ${(m as { type: string }).type}`);
  }

  /** Object and External metrics: Value scales with ready pods; AverageValue divides by the target. */
  private valueProposal(v: number, t: MetricTarget, pods: Pod[], current: number, name: string, status: MetricStatus, which: 'object' | 'external'): Proposal {
    const cur = (which === 'object' ? status.object! : status.external!).current;
    if (t.type === 'AverageValue') {
      const target = quantity(t.averageValue);
      const ratio = v / (target * current);
      const replicas = Math.abs(ratio - 1) <= TOLERANCE ? current : Math.ceil(v / target);
      cur.averageValue = milli(v / current);
      return { replicas, name, status };
    }
    const target = quantity(t.value);
    const ratio = v / target;
    const ready = pods.filter((p) => isPodReady(p) && !p.metadata.deletionTimestamp).length || current;
    const replicas = Math.abs(ratio - 1) <= TOLERANCE ? current : Math.ceil(ratio * ready);
    cur.value = milli(v);
    return { replicas, name, status };
  }

  /** GetMetricReplicas for per-pod values (Pods metrics). */
  private plainProposal(values: Map<Pod, number>, pods: Pod[], target: number, current: number): { replicas: number; average: number } {
    let sum = 0;
    for (const v of values.values()) sum += v;
    const average = sum / values.size;
    const ratio = sum / (target * values.size);
    const missing = pods.filter((p) => !values.has(p) && !p.metadata.deletionTimestamp && p.status?.phase !== 'Failed');
    if (!missing.length) return { replicas: Math.abs(ratio - 1) <= TOLERANCE ? current : Math.ceil(ratio * values.size), average };
    const filled = new Map(values);
    for (const p of missing) filled.set(p, ratio < 1 ? target : 0);
    let s2 = 0;
    for (const v of filled.values()) s2 += v;
    const newRatio = s2 / (target * filled.size);
    if (Math.abs(newRatio - 1) <= TOLERANCE || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1)) return { replicas: current, average };
    const replicas = Math.ceil(newRatio * filled.size);
    if ((newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current)) return { replicas: current, average };
    return { replicas, average };
  }

  /** GetResourceReplicas / GetRawResourceReplicas. */
  private resourceProposal(resource: string, t: MetricTarget, pods: Pod[], current: number, container: string | undefined, type: 'Resource' | 'ContainerResource'): Proposal {
    const source = this.usage();
    const usage = new Map<Pod, number>();
    const requests = new Map<Pod, number>();
    const unready = new Set<Pod>();
    let ignored = 0;
    for (const p of pods) {
      if (p.metadata.deletionTimestamp || p.status?.phase === 'Failed') {
        ignored++;
        continue;
      }
      if (p.status?.phase === 'Pending' || p.status?.phase === undefined) {
        unready.add(p);
        continue;
      }
      if (resource === 'cpu' && !isPodReady(p)) unready.add(p);
      const cs = p.spec.containers.filter((c) => !container || c.name === container);
      let req = 0;
      for (const c of cs) {
        const q = c.resources?.requests?.[resource];
        if (q === undefined) {
          if (t.type === 'Utilization') throw new MetricError('FailedGetResourceMetric', `failed to get ${resource} utilization: missing request for ${resource} in container ${c.name} of Pod ${p.metadata.name}`);
          continue;
        }
        req += resourceAmount(resource, q);
      }
      requests.set(p, req);
      const u = source?.podUsage(p);
      if (!u) continue;
      usage.set(p, u.filter((c) => !container || c.name === container).reduce((s, c) => s + (resource === 'cpu' ? c.cpuMillicores : c.memoryBytes), 0));
    }
    void ignored;
    const withMetrics = [...usage.keys()].filter((p) => !unready.has(p));
    if (!withMetrics.length && !usage.size) throw new MetricError('FailedGetResourceMetric', `failed to get ${resource} usage: unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`);
    const ready = withMetrics.length ? withMetrics : [...usage.keys()];
    const sumU = ready.reduce((s, p) => s + usage.get(p)!, 0);
    const sumR = ready.reduce((s, p) => s + (requests.get(p) ?? 0), 0);
    const fmt = (v: number): string => formatAmount(resource, Math.round(v));
    const name = `${resource} resource${t.type === 'Utilization' ? ' utilization (percentage of request)' : ''}`;
    const mk = (cur: { averageUtilization?: number; averageValue: string }): MetricStatus =>
      type === 'Resource' ? { type, resource: { name: resource, current: cur } } : { type, containerResource: { name: resource, container: container!, current: cur } };
    // The per-pod value and target: utilization (%) or raw average value.
    let target: number;
    let valueOf: (p: Pod) => number;
    if (t.type === 'Utilization') {
      if (!sumR) throw new MetricError('FailedGetResourceMetric', `failed to get ${resource} utilization: no requests`);
      target = t.averageUtilization! / 100;
      valueOf = (p) => usage.get(p)! / (requests.get(p) || 1);
    } else {
      target = quantity(t.averageValue);
      if (resource === 'cpu') target = target * 1000; // millicores
      valueOf = (p) => usage.get(p)!;
    }
    const utilization = sumR ? Math.round((sumU * 100) / sumR) : 0;
    const avg = sumU / Math.max(1, ready.length);
    const status = mk({ ...(t.type === 'Utilization' ? { averageUtilization: utilization } : {}), averageValue: fmt(avg) });
    // usageRatio over the pods with metrics that count (ready ones).
    const ratio = t.type === 'Utilization' ? sumU / sumR / target : avg / target;
    const missing = pods.filter((p) => !usage.has(p) && !unready.has(p) && !p.metadata.deletionTimestamp && p.status?.phase !== 'Failed');
    const scaleUpUnready = ratio > 1 ? [...unready].filter((p) => p.status?.phase === 'Running' || usage.has(p)) : [];
    if (!missing.length && !scaleUpUnready.length) {
      const replicas = Math.abs(ratio - 1) <= TOLERANCE ? current : Math.ceil(ratio * ready.length);
      return { replicas, name, status };
    }
    // Rebalance: missing pods at 100 % of target (scale down) or 0 (scale up); unready pods at 0 when scaling up.
    let u2 = 0;
    let n2 = 0;
    let r2 = 0;
    for (const p of ready) {
      u2 += t.type === 'Utilization' ? usage.get(p)! : valueOf(p);
      r2 += requests.get(p) ?? 0;
      n2++;
    }
    for (const p of missing) {
      const req = requests.get(p) ?? 0;
      if (ratio < 1) u2 += t.type === 'Utilization' ? req * target : target;
      r2 += req;
      n2++;
    }
    for (const p of scaleUpUnready) {
      r2 += requests.get(p) ?? 0;
      n2++;
    }
    const newRatio = t.type === 'Utilization' ? u2 / r2 / target : u2 / n2 / target;
    if (Math.abs(newRatio - 1) <= TOLERANCE || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1)) return { replicas: current, name, status };
    const replicas = Math.ceil(newRatio * n2);
    if ((newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current)) return { replicas: current, name, status };
    return { replicas, name, status };
  }

  // -------------------------------------------------------------------------------------------
  // Behavior (normalizeDesiredReplicasWithBehaviors)

  private normalize(key: string, hpa: HorizontalPodAutoscaler, current: number, proposed: number, now: number, cond: (type: string, status: 'True' | 'False', reason: string, msg: string) => void): number {
    const up: Required<HPAScalingRules> = { ...defaultScaleUp(), ...(hpa.spec.behavior?.scaleUp ?? {}) } as Required<HPAScalingRules>;
    const down: Required<HPAScalingRules> = { ...defaultScaleDown(), ...(hpa.spec.behavior?.scaleDown ?? {}) } as Required<HPAScalingRules>;
    const min = hpa.spec.minReplicas ?? 1;
    const max = hpa.spec.maxReplicas;
    // Stabilization.
    const recs = this.recommendations.get(key) ?? [];
    let upRec = proposed;
    let downRec = proposed;
    for (const r of recs) {
      if (r.at > now - up.stabilizationWindowSeconds * 1000) upRec = Math.min(upRec, r.replicas);
      if (r.at > now - down.stabilizationWindowSeconds * 1000) downRec = Math.max(downRec, r.replicas);
    }
    let stabilized = current;
    if (stabilized < upRec) stabilized = upRec;
    if (stabilized > downRec) stabilized = downRec;
    const longest = Math.max(up.stabilizationWindowSeconds, down.stabilizationWindowSeconds) * 1000;
    recs.push({ at: now, replicas: proposed });
    this.recommendations.set(key, recs.filter((r) => r.at > now - longest - SYNC_PERIOD_MS));
    if (stabilized !== proposed) cond('AbleToScale', 'True', stabilized < proposed ? 'ScaleUpStabilized' : 'ScaleDownStabilized', `recent recommendations were ${stabilized < proposed ? 'lower' : 'higher'} than current one, applying the ${stabilized < proposed ? 'lowest' : 'highest'} recent recommendation`);
    // Rate limits.
    let desired = stabilized;
    if (desired > current) {
      let limit = this.scaleUpLimit(current, this.upEvents.get(key) ?? [], up, now);
      if (limit < current) limit = current;
      const allowed = Math.min(max, limit);
      if (desired > allowed) {
        cond('ScalingLimited', 'True', allowed === max ? 'TooManyReplicas' : 'ScaleUpLimit', allowed === max ? 'the desired replica count is more than the maximum replica count' : 'the desired replica count is increasing faster than the maximum scale rate');
        desired = allowed;
      } else cond('ScalingLimited', 'False', 'DesiredWithinRange', 'the desired count is within the acceptable range');
    } else if (desired < current) {
      let limit = this.scaleDownLimit(current, this.downEvents.get(key) ?? [], down, now);
      if (limit > current) limit = current;
      const allowed = Math.max(min, limit);
      if (desired < allowed) {
        cond('ScalingLimited', 'True', allowed === min ? 'TooFewReplicas' : 'ScaleDownLimit', allowed === min ? 'the desired replica count is less than the minimum replica count' : 'the desired replica count is decreasing faster than the maximum scale rate');
        desired = allowed;
      } else cond('ScalingLimited', 'False', 'DesiredWithinRange', 'the desired count is within the acceptable range');
    } else cond('ScalingLimited', 'False', 'DesiredWithinRange', 'the desired count is within the acceptable range');
    return Math.max(min, Math.min(max, desired));
  }

  private scaleUpLimit(current: number, events: ScaleEvent[], rules: Required<HPAScalingRules>, now: number): number {
    if (rules.selectPolicy === 'Disabled') return current;
    let result = rules.selectPolicy === 'Min' ? Infinity : -Infinity;
    for (const p of rules.policies) {
      const added = events.filter((e) => e.at > now - p.periodSeconds * 1000).reduce((s, e) => s + e.delta, 0);
      const start = current - added;
      const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
      result = rules.selectPolicy === 'Min' ? Math.min(result, proposed) : Math.max(result, proposed);
    }
    return result;
  }

  private scaleDownLimit(current: number, events: ScaleEvent[], rules: Required<HPAScalingRules>, now: number): number {
    if (rules.selectPolicy === 'Disabled') return current;
    let result = rules.selectPolicy === 'Min' ? -Infinity : Infinity;
    for (const p of rules.policies) {
      const removed = events.filter((e) => e.at > now - p.periodSeconds * 1000).reduce((s, e) => s + e.delta, 0);
      const start = current + removed;
      const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
      result = rules.selectPolicy === 'Min' ? Math.max(result, proposed) : Math.min(result, proposed);
    }
    return result;
  }
}

