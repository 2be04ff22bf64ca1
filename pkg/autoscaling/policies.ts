/**
 * EC2 Auto Scaling's scaling policies and scheduled actions, as their own objects
 * (`autoscaling.berth.dev/v1` ScalingPolicy and ScheduledAction, cluster-scoped, naming their
 * group in `spec.autoScalingGroupName`), with AWS's semantics and defaults
 * ([15][17][18][23] in AWS-SEMANTICS.md):
 *
 * - ScheduledAction: `recurrence` (cron, five fields) in `timeZone` (IANA, default UTC), or a
 *   one-off `startTime`; sets any of minSize, maxSize, desiredCapacity when it fires (a desired
 *   capacity outside the new bounds is moved inside them). Times before the action existed do
 *   not fire. `status.lastRunTime`, `status.nextRunTime`.
 * - ScalingPolicy `TargetTrackingScaling`: a metric (below) held at `targetValue`. Evaluated
 *   every minute; scale-out when the last 3 one-minute values are above target (AWS's alarm: 3
 *   datapoints), scale-in when the last 15 are below (15 datapoints) unless `disableScaleIn`. New
 *   capacity = ceil(current × metric / target), within min and max. Instances younger than the
 *   warmup (`estimatedInstanceWarmup`, else the group's `defaultInstanceWarmup`, else 300 s) count
 *   toward capacity but not toward the metric, and scale-in waits for them.
 * - ScalingPolicy `StepScaling`: an alarm `{metric, comparisonOperator, threshold,
 *   evaluationPeriods}` and `stepAdjustments` whose bounds are offsets from the threshold;
 *   ChangeInCapacity, PercentChangeInCapacity (with minAdjustmentMagnitude) or ExactCapacity.
 * - ScalingPolicy `SimpleScaling`: an alarm as for step scaling and one `scalingAdjustment`
 *   (ChangeInCapacity, PercentChangeInCapacity, ExactCapacity). After it scales, it does not
 *   answer the alarm again until the group's launches are done (no Pending instance) and
 *   `cooldown` seconds (default the group's `defaultCooldown`, else 300) have passed since
 *   (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html,
 *   "Simple scaling policies" and "Scaling cooldowns").
 * - ScalingPolicy `PredictiveScaling`: the group's hourly load (total cpu the metric counts,
 *   millicores) is recorded; with ≥ 24 h of it, a forecast of the next 48 h is made from up to 14
 *   days (the mean of the same hour on the previous days), refreshed every 6 h, and shown in
 *   `status.forecast`. With `mode: ForecastAndScale` the capacity for each hour (load / target) is
 *   put in place `schedulingBufferTime` seconds before the hour by raising desired capacity; it
 *   never scales in. Default mode ForecastOnly.
 *
 * Metrics (one-minute values, as CloudWatch's):
 * - ASGAverageCPUUtilization: requested cpu of the running pods on the group's warmed-up nodes
 *   over their allocatable cpu, in percent (pod cpu usage follows requests until a load model
 *   gives usage).
 * - ALBRequestCountPerTarget: requests the target group completed in the last minute over the
 *   group's instances (its desired capacity; the group is the target group's targets, as when an Auto Scaling
 *   group is attached to it). The target group is `elb.berth.dev/v1 TargetGroup` named by the
 *   `targetgroup/<name>` part of `predefinedMetricSpecification.resourceLabel` (AWS's
 *   `app/<lb>/<id>/targetgroup/<name>/<id>`), looked up in any namespace; its cumulative
 *   `status.metrics.requestCount` is differenced minute to minute.
 * - ASGAverageNetworkIn / ASGAverageNetworkOut: bytes received (In) or sent (Out) in the last
 *   minute by the group's instances, per instance (its desired capacity), as CloudWatch's
 *   NetworkIn and NetworkOut with detailed monitoring. berth's instances exchange bytes through its
 *   load balancers: the bytes every target group carried to and from the pods on the group's
 *   nodes (each target's cumulative `bytesIn` / `bytesOut` in `status.targets`, differenced
 *   minute to minute). Traffic that does not cross a load balancer is not seen.
 */
import { fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../api/errors.js';
import { parseSchedule } from '../api/cron.js';
import type { KindHooks } from '../api/hooks.js';
import { isObject } from '../api/meta.js';
import { defineResource, type ResourceInfo } from '../api/resources.js';
import type { KubeObject, Node, Pod } from '../api/types.js';
import { rfc3339 } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import { GROUP_NAME_LABEL, SCALING_CAUSE_ANNOTATION, type AutoScalingGroup } from '../cloud/types.js';
import type { Manager, Runnable } from '../runtime/manager.js';
import { podRequests } from '../scheduler/index.js';
import { Idle } from './idle.js';

export const POLICY_RESOURCES: ResourceInfo[] = [
  defineResource({ gv: 'autoscaling.berth.dev/v1', resource: 'scalingpolicies', kind: 'ScalingPolicy', ns: false, short: ['asp'], cat: ['berth'], sub: ['status'], generation: true }),
  defineResource({ gv: 'autoscaling.berth.dev/v1', resource: 'scheduledactions', kind: 'ScheduledAction', ns: false, short: ['sa'], cat: ['berth'], sub: ['status'], generation: true }),
];
export const PolicyKinds = {
  ScalingPolicy: { apiVersion: 'autoscaling.berth.dev/v1', kind: 'ScalingPolicy' },
  ScheduledAction: { apiVersion: 'autoscaling.berth.dev/v1', kind: 'ScheduledAction' },
} as const;

export type PolicyType = 'TargetTrackingScaling' | 'StepScaling' | 'SimpleScaling' | 'PredictiveScaling';
export type AdjustmentType = 'ChangeInCapacity' | 'PercentChangeInCapacity' | 'ExactCapacity';
export const METRICS = ['ASGAverageCPUUtilization', 'ASGAverageNetworkIn', 'ASGAverageNetworkOut', 'ALBRequestCountPerTarget'] as const;

export interface ScalingPolicy extends KubeObject {
  spec: {
    autoScalingGroupName: string;
    policyType: PolicyType;
    estimatedInstanceWarmup?: number;
    targetTrackingConfiguration?: { predefinedMetricSpecification: { predefinedMetricType: (typeof METRICS)[number]; resourceLabel?: string }; targetValue: number; disableScaleIn?: boolean };
    adjustmentType?: AdjustmentType;
    /** SimpleScaling: the adjustment (instances, percent, or the exact capacity). */
    scalingAdjustment?: number;
    /** SimpleScaling: seconds to wait after scaling before answering the alarm again (default the group's defaultCooldown, else 300). */
    cooldown?: number;
    minAdjustmentMagnitude?: number;
    stepAdjustments?: { metricIntervalLowerBound?: number; metricIntervalUpperBound?: number; scalingAdjustment: number }[];
    alarm?: { metric: (typeof METRICS)[number]; resourceLabel?: string; comparisonOperator: 'GreaterThanOrEqualToThreshold' | 'GreaterThanThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold'; threshold: number; evaluationPeriods?: number };
    predictiveScalingConfiguration?: { targetValue: number; mode?: 'ForecastOnly' | 'ForecastAndScale'; schedulingBufferTime?: number };
  };
  status?: { lastScalingTime?: string; lastMetricValue?: number; forecast?: { time: string; load: number; capacity: number }[]; forecastTime?: string; message?: string };
}

export interface ScheduledAction extends KubeObject {
  spec: { autoScalingGroupName: string; recurrence?: string; timeZone?: string; startTime?: string; endTime?: string; minSize?: number; maxSize?: number; desiredCapacity?: number };
  status?: { lastRunTime?: string; nextRunTime?: string };
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** Validation of ScalingPolicy. */
export const scalingPolicyHooks: KindHooks = {
  validate(obj): FieldError[] {
    const s = obj.spec;
    if (!isObject(s)) return [fieldRequired('spec')];
    const out: FieldError[] = [];
    if (typeof s.autoScalingGroupName !== 'string' || !s.autoScalingGroupName) out.push(fieldRequired('spec.autoScalingGroupName'));
    const types = ['TargetTrackingScaling', 'StepScaling', 'SimpleScaling', 'PredictiveScaling'];
    if (!types.includes(s.policyType as string)) out.push(fieldNotSupported('spec.policyType', s.policyType, types));
    if (s.policyType === 'TargetTrackingScaling') {
      const t = s.targetTrackingConfiguration;
      if (!isObject(t)) out.push(fieldRequired('spec.targetTrackingConfiguration'));
      else {
        if (typeof t.targetValue !== 'number' || !(t.targetValue > 0)) out.push(fieldInvalid('spec.targetTrackingConfiguration.targetValue', t.targetValue, 'must be a number above 0'));
        const m = isObject(t.predefinedMetricSpecification) ? t.predefinedMetricSpecification.predefinedMetricType : undefined;
        if (!(METRICS as readonly unknown[]).includes(m)) out.push(fieldNotSupported('spec.targetTrackingConfiguration.predefinedMetricSpecification.predefinedMetricType', m, [...METRICS]));
        else if (m === 'ALBRequestCountPerTarget' && !targetGroupOf((t.predefinedMetricSpecification as { resourceLabel?: unknown }).resourceLabel))
          out.push(fieldRequired('spec.targetTrackingConfiguration.predefinedMetricSpecification.resourceLabel', 'ALBRequestCountPerTarget needs the target group: app/<load-balancer>/<id>/targetgroup/<target-group>/<id>'));
      }
    }
    if (s.policyType === 'StepScaling') {
      const adj = ['ChangeInCapacity', 'PercentChangeInCapacity', 'ExactCapacity'];
      if (!adj.includes(s.adjustmentType as string)) out.push(fieldNotSupported('spec.adjustmentType', s.adjustmentType, adj));
      if (!isObject(s.alarm) || typeof s.alarm.threshold !== 'number') out.push(fieldRequired('spec.alarm', 'an alarm {metric, comparisonOperator, threshold}'));
      const steps = s.stepAdjustments as unknown;
      if (!Array.isArray(steps) || !steps.length) out.push(fieldRequired('spec.stepAdjustments'));
      else {
        // Bounds relative to the threshold, no gaps or overlaps, at most one open end each side (PutScalingPolicy).
        const sorted = [...steps].map((x: Record<string, unknown>) => ({ lo: (x.metricIntervalLowerBound as number | undefined) ?? -Infinity, hi: (x.metricIntervalUpperBound as number | undefined) ?? Infinity })).sort((a, b) => a.lo - b.lo);
        for (let i = 1; i < sorted.length; i++) if (sorted[i]!.lo !== sorted[i - 1]!.hi) out.push(fieldInvalid('spec.stepAdjustments', steps, `step intervals must not have gaps or overlaps (${sorted[i - 1]!.hi} vs ${sorted[i]!.lo})`));
        steps.forEach((x: unknown, i) => {
          if (!isObject(x) || typeof x.scalingAdjustment !== 'number' || !Number.isInteger(x.scalingAdjustment)) out.push(fieldInvalid(`spec.stepAdjustments[${i}].scalingAdjustment`, isObject(x) ? x.scalingAdjustment : x, 'must be an integer'));
        });
      }
    }
    if (s.policyType === 'SimpleScaling') {
      const adj = ['ChangeInCapacity', 'PercentChangeInCapacity', 'ExactCapacity'];
      if (!adj.includes(s.adjustmentType as string)) out.push(fieldNotSupported('spec.adjustmentType', s.adjustmentType, adj));
      if (!isObject(s.alarm) || typeof s.alarm.threshold !== 'number') out.push(fieldRequired('spec.alarm', 'an alarm {metric, comparisonOperator, threshold}'));
      if (typeof s.scalingAdjustment !== 'number' || !Number.isInteger(s.scalingAdjustment)) out.push(fieldInvalid('spec.scalingAdjustment', s.scalingAdjustment, 'must be an integer'));
      if (s.cooldown !== undefined && !(typeof s.cooldown === 'number' && s.cooldown >= 0)) out.push(fieldInvalid('spec.cooldown', s.cooldown, 'must be a number of seconds ≥ 0'));
    }
    if ((s.policyType === 'StepScaling' || s.policyType === 'SimpleScaling') && isObject(s.alarm)) {
      const m = s.alarm.metric ?? 'ASGAverageCPUUtilization';
      if (!(METRICS as readonly unknown[]).includes(m)) out.push(fieldNotSupported('spec.alarm.metric', m, [...METRICS]));
      else if (m === 'ALBRequestCountPerTarget' && !targetGroupOf(s.alarm.resourceLabel)) out.push(fieldRequired('spec.alarm.resourceLabel', 'ALBRequestCountPerTarget needs the target group: app/<load-balancer>/<id>/targetgroup/<target-group>/<id>'));
      const ops = ['GreaterThanOrEqualToThreshold', 'GreaterThanThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold'];
      if (!ops.includes(s.alarm.comparisonOperator as string)) out.push(fieldNotSupported('spec.alarm.comparisonOperator', s.alarm.comparisonOperator, ops));
    }
    if (s.policyType === 'PredictiveScaling') {
      const p = s.predictiveScalingConfiguration;
      if (!isObject(p) || typeof p.targetValue !== 'number' || !(p.targetValue > 0)) out.push(fieldInvalid('spec.predictiveScalingConfiguration.targetValue', isObject(p) ? p.targetValue : p, 'must be a number above 0'));
      else if (p.mode !== undefined && !['ForecastOnly', 'ForecastAndScale'].includes(p.mode as string)) out.push(fieldNotSupported('spec.predictiveScalingConfiguration.mode', p.mode, ['ForecastOnly', 'ForecastAndScale']));
    }
    return out;
  },
};

/** Validation of ScheduledAction: a recurrence (cron) with a valid time zone, or a startTime; at least one size. */
export const scheduledActionHooks: KindHooks = {
  validate(obj): FieldError[] {
    const s = obj.spec;
    if (!isObject(s)) return [fieldRequired('spec')];
    const out: FieldError[] = [];
    if (typeof s.autoScalingGroupName !== 'string' || !s.autoScalingGroupName) out.push(fieldRequired('spec.autoScalingGroupName'));
    if (s.recurrence === undefined && s.startTime === undefined) out.push(fieldRequired('spec.recurrence', 'a recurrence (cron) or a startTime'));
    if (s.recurrence !== undefined) {
      try {
        parseSchedule(String(s.recurrence), s.timeZone as string | undefined);
      } catch (e) {
        out.push(fieldInvalid(s.timeZone !== undefined && /time zone/.test((e as Error).message) ? 'spec.timeZone' : 'spec.recurrence', s.timeZone !== undefined && /time zone/.test((e as Error).message) ? s.timeZone : s.recurrence, (e as Error).message));
      }
    }
    for (const f of ['startTime', 'endTime']) if (s[f] !== undefined && Number.isNaN(Date.parse(String(s[f])))) out.push(fieldInvalid(`spec.${f}`, s[f], 'must be an RFC 3339 time'));
    const sizes = ['minSize', 'maxSize', 'desiredCapacity'].filter((f) => s[f] !== undefined);
    if (!sizes.length) out.push(fieldRequired('spec.desiredCapacity', 'at least one of minSize, maxSize, desiredCapacity'));
    for (const f of sizes) if (typeof s[f] !== 'number' || !Number.isInteger(s[f]) || (s[f] as number) < 0) out.push(fieldInvalid(`spec.${f}`, s[f], 'must be an integer ≥ 0'));
    return out;
  },
};

/** The policies and scheduled actions, evaluated once a minute (CloudWatch's one-minute metrics) and at each scheduled time. */
export class PolicyRunner implements Runnable {
  readonly name = 'scaling-policies';
  private readonly groups: Informer<AutoScalingGroup>;
  private readonly policies: Informer<ScalingPolicy>;
  private readonly actions: Informer<ScheduledAction>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  /** Per policy: one-minute metric values (newest last). */
  private readonly history = new Map<string, number[]>();
  /** Per group: the current hour's one-minute loads so far. */
  private readonly minuteLoad = new Map<string, { hour: number; sum: number; n: number }>();
  /** Per policy on ALBRequestCountPerTarget: the target group's cumulative request count when last read. */
  private readonly requestCounts = new Map<string, { t: number; count: number }>();
  /** Per network policy: when its targets' byte counts were last read, and those counts (by target group and target). */
  private readonly byteCounts = new Map<string, { t: number; counts: Map<string, number> }>();
  /** Per group: hourly load samples (ms → millicores). */
  private readonly load = new Map<string, { t: number; v: number }[]>();

  constructor(private readonly mgr: Manager) {
    this.groups = mgr.informer<AutoScalingGroup>(Kinds.AutoScalingGroup);
    this.policies = mgr.informer<ScalingPolicy>(PolicyKinds.ScalingPolicy);
    this.actions = mgr.informer<ScheduledAction>(PolicyKinds.ScheduledAction);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.nodes = mgr.informer<Node>(Kinds.Node);
  }

  async start(signal: AbortSignal): Promise<void> {
    await Promise.all([this.groups, this.policies, this.actions, this.pods, this.nodes].map((i) => i.waitForSync(signal)));
    const idle = new Idle([this.policies, this.actions] as unknown as Informer<KubeObject>[]);
    while (!signal.aborted) {
      if (!this.policies.cache.list().length && !this.actions.cache.list().length) {
        await idle.until(signal);
        continue;
      }
      const now = this.mgr.clock.now();
      let wake = this.policies.cache.list().length ? Math.ceil((now + 1) / MINUTE) * MINUTE : Infinity;
      try {
        if (this.policies.cache.list().length) await this.evaluatePolicies(now);
        for (const a of this.actions.cache.list()) {
          const next = await this.runAction(a, now);
          if (next !== undefined) wake = Math.min(wake, next);
        }
      } catch (e) {
        this.mgr.log.warn({ err: e }, 'scaling policies failed');
      }
      if (wake === Infinity) {
        await idle.until(signal);
        continue;
      }
      try {
        await this.mgr.clock.sleep(Math.max(1, wake - now), signal);
      } catch {
        return;
      }
    }
  }

  /** Fires a scheduled action that is due; returns when it fires next (ms), or undefined. */
  private async runAction(a: ScheduledAction, now: number): Promise<number | undefined> {
    const created = Date.parse(a.metadata.creationTimestamp ?? '') || now;
    const end = a.spec.endTime ? Date.parse(a.spec.endTime) : Infinity;
    const start = a.spec.startTime ? Date.parse(a.spec.startTime) : -Infinity;
    const last = a.status?.lastRunTime ? Date.parse(a.status.lastRunTime) : created - 1;
    let due: number | undefined;
    let next: number | undefined;
    if (a.spec.recurrence) {
      const sched = parseSchedule(a.spec.recurrence, a.spec.timeZone);
      const prev = sched.prev(now + 1);
      if (prev > last && prev >= start && prev <= end) due = prev;
      next = sched.next(now);
      if (next > end) next = undefined;
    } else if (start > last && start <= now) due = start;
    else if (start > now) next = start;
    if (due !== undefined) {
      const g = this.groups.cache.getByName(a.spec.autoScalingGroupName);
      if (g) {
        const min = a.spec.minSize ?? g.spec.minSize;
        const max = a.spec.maxSize ?? g.spec.maxSize;
        const desired = Math.min(max, Math.max(min, a.spec.desiredCapacity ?? g.spec.desiredCapacity ?? min));
        await this.mgr.client.patch(Kinds.AutoScalingGroup, g.metadata.name!, undefined, 'merge', {
          metadata: { annotations: { [SCALING_CAUSE_ANNOTATION]: `At ${rfc3339(due)} a scheduled action ${a.metadata.name} was triggered, setting min ${min}, max ${max}, desired ${desired}.` } },
          spec: { minSize: min, maxSize: max, desiredCapacity: desired },
        });
      }
    }
    const status = { ...(due !== undefined ? { lastRunTime: rfc3339(due) } : a.status?.lastRunTime ? { lastRunTime: a.status.lastRunTime } : {}), ...(next !== undefined ? { nextRunTime: rfc3339(next) } : {}) };
    if (JSON.stringify(status) !== JSON.stringify(a.status ?? {})) await this.mgr.client.updateStatus({ ...a, metadata: { ...a.metadata, resourceVersion: undefined }, status } as ScheduledAction).catch(() => undefined);
    return next;
  }

  /** The group's CPU picture: warmed-up allocatable and requests (millicores), and how many nodes are still warming. */
  private groupCpu(g: AutoScalingGroup, now: number, warmupMs: number): { alloc: number; used: number; warming: number } {
    const nodes = this.nodes.cache.list().filter((n) => n.metadata.labels?.[GROUP_NAME_LABEL] === g.metadata.name);
    const names = new Set<string>();
    let alloc = 0;
    let warming = 0;
    for (const n of nodes) {
      if (now - (Date.parse(n.metadata.creationTimestamp ?? '') || now) < warmupMs) {
        warming++;
        continue;
      }
      names.add(n.metadata.name!);
      alloc += podRequestsOfNode(n);
    }
    let used = 0;
    for (const p of this.pods.cache.list()) if (p.spec.nodeName && names.has(p.spec.nodeName) && p.status?.phase === 'Running') used += podRequests(p).cpu ?? 0;
    // Pending instances count as warming too.
    warming += Math.max(0, (g.status?.instances ?? []).filter((i) => i.lifecycleState === 'Pending').length);
    return { alloc, used, warming };
  }

  private async evaluatePolicies(now: number): Promise<void> {
    // Hourly load for predictive scaling: the mean of the hour's one-minute values, recorded when the hour ends.
    const hour = Math.floor(now / HOUR) * HOUR;
    for (const g of this.groups.cache.list()) {
      const name = g.metadata.name!;
      const acc = this.minuteLoad.get(name);
      if (acc && acc.hour !== hour && acc.n) {
        const l = this.load.get(name) ?? [];
        l.push({ t: acc.hour, v: acc.sum / acc.n });
        while (l.length > 14 * 24) l.shift();
        this.load.set(name, l);
      }
      const cur = acc && acc.hour === hour ? acc : { hour, sum: 0, n: 0 };
      cur.sum += this.groupCpu(g, now, 0).used;
      cur.n++;
      this.minuteLoad.set(name, cur);
    }
    for (const p of this.policies.cache.list()) {
      const g = this.groups.cache.getByName(p.spec.autoScalingGroupName);
      if (!g) continue;
      const warmupMs = (p.spec.estimatedInstanceWarmup ?? g.spec.defaultInstanceWarmup ?? 300) * 1000;
      const cpu = this.groupCpu(g, now, warmupMs);
      const current0 = g.spec.desiredCapacity ?? g.spec.minSize;
      const m = p.spec.policyType === 'PredictiveScaling' ? { value: cpu.alloc > 0 ? (100 * cpu.used) / cpu.alloc : 0 } : await this.metric(p, g.metadata.name!, cpu, current0, now);
      if (m.value === undefined) {
        if (p.status?.message !== m.message) await this.setStatus(p, { message: m.message! });
        continue;
      }
      const metric = m.value;
      const h = this.history.get(p.metadata.name!) ?? [];
      h.push(metric);
      while (h.length > 60) h.shift();
      this.history.set(p.metadata.name!, h);
      const current = g.spec.desiredCapacity ?? g.spec.minSize;
      let desired = current;
      let why = '';
      if (p.spec.policyType === 'TargetTrackingScaling') {
        const t = p.spec.targetTrackingConfiguration!;
        const warmed = Math.max(0, current - cpu.warming);
        const want = Math.ceil((warmed * metric) / t.targetValue + cpu.warming - 1e-9);
        const last3 = h.slice(-3);
        const last15 = h.slice(-15);
        if (last3.length === 3 && last3.every((v) => v > t.targetValue) && want > current) {
          desired = want;
          why = `a monitor alarm TargetTracking-${g.metadata.name}-AlarmHigh in state ALARM triggered policy ${p.metadata.name} (metric ${metric.toFixed(1)} > ${t.targetValue} for 3 datapoints)`;
        } else if (!t.disableScaleIn && cpu.warming === 0 && last15.length === 15 && last15.every((v) => v < t.targetValue) && want < current) {
          desired = Math.max(want, 1);
          why = `a monitor alarm TargetTracking-${g.metadata.name}-AlarmLow in state ALARM triggered policy ${p.metadata.name} (metric ${metric.toFixed(1)} < ${t.targetValue} for 15 datapoints)`;
        }
      } else if (p.spec.policyType === 'StepScaling' && p.spec.alarm) {
        const a = p.spec.alarm;
        const n = a.evaluationPeriods ?? 1;
        const breach = (v: number): boolean => breaches(a, v);
        const recent = h.slice(-n);
        const lastScale = p.status?.lastScalingTime ? Date.parse(p.status.lastScalingTime) : -Infinity;
        if (recent.length === n && recent.every(breach) && now - lastScale >= warmupMs) {
          const d = metric - a.threshold;
          const step = (p.spec.stepAdjustments ?? []).find((s) => d >= (s.metricIntervalLowerBound ?? -Infinity) && d < (s.metricIntervalUpperBound ?? Infinity));
          if (step) {
            desired = stepCapacity(current, p.spec.adjustmentType ?? 'ChangeInCapacity', step.scalingAdjustment, p.spec.minAdjustmentMagnitude);
            why = `a monitor alarm ${p.metadata.name}-alarm in state ALARM triggered policy ${p.metadata.name} (metric ${metric.toFixed(1)}, step ${step.scalingAdjustment})`;
          }
        }
      } else if (p.spec.policyType === 'SimpleScaling' && p.spec.alarm) {
        const a = p.spec.alarm;
        const recent = h.slice(-(a.evaluationPeriods ?? 1));
        const lastScale = p.status?.lastScalingTime ? Date.parse(p.status.lastScalingTime) : -Infinity;
        const cooldownMs = (p.spec.cooldown ?? g.spec.defaultCooldown ?? 300) * 1000;
        const launching = (g.status?.instances ?? []).some((i) => i.lifecycleState === 'Pending');
        if (recent.length === (a.evaluationPeriods ?? 1) && recent.every((v) => breaches(a, v)) && !launching && now - lastScale >= cooldownMs) {
          desired = stepCapacity(current, p.spec.adjustmentType ?? 'ChangeInCapacity', p.spec.scalingAdjustment ?? 0, p.spec.minAdjustmentMagnitude);
          why = `a monitor alarm ${p.metadata.name}-alarm in state ALARM triggered policy ${p.metadata.name} (metric ${metric.toFixed(1)}, adjustment ${p.spec.scalingAdjustment})`;
        }
      } else if (p.spec.policyType === 'PredictiveScaling') {
        await this.predict(p, g, now);
        const f = p.status?.forecast;
        const cfg = p.spec.predictiveScalingConfiguration!;
        if (f && cfg.mode === 'ForecastAndScale') {
          const buffer = (cfg.schedulingBufferTime ?? 0) * 1000;
          const hourAhead = f.find((x) => Date.parse(x.time) <= now + buffer && now + buffer < Date.parse(x.time) + HOUR);
          if (hourAhead && hourAhead.capacity > current) {
            desired = hourAhead.capacity;
            why = `predictive scaling policy ${p.metadata.name} forecast ${hourAhead.capacity} instances for ${hourAhead.time}`;
          }
        }
      }
      desired = Math.min(g.spec.maxSize, Math.max(g.spec.minSize, desired));
      if (desired !== current) {
        await this.mgr.client.patch(Kinds.AutoScalingGroup, g.metadata.name!, undefined, 'merge', { metadata: { annotations: { [SCALING_CAUSE_ANNOTATION]: `At ${rfc3339(now)} ${why} changing the desired capacity from ${current} to ${desired}.` } }, spec: { desiredCapacity: desired } });
        await this.setStatus(p, { lastScalingTime: rfc3339(now), lastMetricValue: round2(metric) });
      } else if (p.status?.lastMetricValue !== round2(metric)) await this.setStatus(p, { lastMetricValue: round2(metric) });
    }
  }

  /**
   * A policy's metric this minute (see the file comment): `{value}`, or `{message}` saying why
   * there is none (a metric berth does not model, a target group not found, the first minute of
   * a request count).
   */
  private async metric(p: ScalingPolicy, group: string, cpu: { alloc: number; used: number; warming: number }, current: number, now: number): Promise<{ value?: number; message?: string }> {
    const tt = p.spec.targetTrackingConfiguration?.predefinedMetricSpecification;
    const name = p.spec.policyType === 'TargetTrackingScaling' ? tt?.predefinedMetricType : (p.spec.alarm?.metric ?? 'ASGAverageCPUUtilization');
    const label = p.spec.policyType === 'TargetTrackingScaling' ? tt?.resourceLabel : p.spec.alarm?.resourceLabel;
    if (name === 'ASGAverageCPUUtilization' || name === undefined) return { value: cpu.alloc > 0 ? (100 * cpu.used) / cpu.alloc : 0 };
    if (name === 'ASGAverageNetworkIn' || name === 'ASGAverageNetworkOut') return this.networkMetric(p, group, name === 'ASGAverageNetworkIn' ? 'bytesIn' : 'bytesOut', current, now);
    const tgName = targetGroupOf(label);
    let tg: (KubeObject & { status?: { metrics?: { requestCount?: number } } }) | undefined;
    try {
      tg = (await this.mgr.client.list<KubeObject>(TARGET_GROUP_KIND)).items.filter((x) => x.metadata.name === tgName).sort((a, b) => ((a.metadata.namespace ?? '') < (b.metadata.namespace ?? '') ? -1 : 1))[0];
    } catch {
      tg = undefined;
    }
    if (!tg) return { message: `target group ${tgName} (elb.berth.dev/v1 TargetGroup) not found` };
    const count = tg.status?.metrics?.requestCount ?? 0;
    const key = p.metadata.name!;
    const prev = this.requestCounts.get(key);
    this.requestCounts.set(key, { t: now, count });
    if (!prev || now <= prev.t) return { message: `waiting for a second minute of ${name} from target group ${tgName}` };
    const perMinute = (count >= prev.count ? count - prev.count : count) / ((now - prev.t) / MINUTE);
    // The load balancer spreads requests over every registered instance, warming ones included.
    return { value: perMinute / Math.max(1, current) };
  }

  /**
   * ASGAverageNetworkIn (`bytesIn`) or ASGAverageNetworkOut (`bytesOut`) of group `group` this
   * minute (see the file comment): bytes per instance per minute. Each target's cumulative count
   * is differenced against the last minute's; a target first seen counts whole (it registered
   * since), one that went stops counting.
   */
  private async networkMetric(p: ScalingPolicy, group: string, field: 'bytesIn' | 'bytesOut', current: number, now: number): Promise<{ value?: number; message?: string }> {
    const nodes = new Set<string>();
    for (const n of this.nodes.cache.list()) if (n.metadata.labels?.[GROUP_NAME_LABEL] === group) nodes.add(n.metadata.name!);
    let tgs: TargetGroupWithTargets[];
    try {
      tgs = (await this.mgr.client.list<TargetGroupWithTargets>(TARGET_GROUP_KIND)).items;
    } catch {
      tgs = [];
    }
    const seen = new Map<string, number>();
    for (const tg of tgs) {
      for (const t of tg.status?.targets ?? []) {
        if (!t.pod) continue;
        const pod = this.pods.cache.get(`${tg.metadata.namespace ?? 'default'}/${t.pod}`);
        if (!pod?.spec.nodeName || !nodes.has(pod.spec.nodeName)) continue;
        seen.set(`${tg.metadata.namespace}/${tg.metadata.name}/${t.pod}/${t.port}`, t[field] ?? 0);
      }
    }
    const key = p.metadata.name!;
    const prev = this.byteCounts.get(key);
    this.byteCounts.set(key, { t: now, counts: seen });
    if (!prev || now <= prev.t) return { message: `waiting for a second minute of ${p.spec.targetTrackingConfiguration?.predefinedMetricSpecification?.predefinedMetricType ?? p.spec.alarm?.metric}` };
    let bytes = 0;
    for (const [k, v] of seen) {
      const before = prev.counts.get(k);
      bytes += before !== undefined && v >= before ? v - before : v;
    }
    return { value: bytes / ((now - prev.t) / MINUTE) / Math.max(1, current) };
  }

  /** Every 6 h, with ≥ 24 h of hourly load: the next 48 h, each hour the mean of the same hour on up to 14 previous days. */
  private async predict(p: ScalingPolicy, g: AutoScalingGroup, now: number): Promise<void> {
    const last = p.status?.forecastTime ? Date.parse(p.status.forecastTime) : -Infinity;
    if (now - last < 6 * HOUR) return;
    const l = this.load.get(g.metadata.name!) ?? [];
    if (!l.length || now - l[0]!.t < 24 * HOUR) {
      if (p.status?.message === undefined) await this.setStatus(p, { message: 'predictive scaling needs at least 24 hours of history' });
      return;
    }
    const target = p.spec.predictiveScalingConfiguration!.targetValue;
    const info = this.nodes.cache.list().find((n) => n.metadata.labels?.[GROUP_NAME_LABEL] === g.metadata.name);
    const perNode = info ? podRequestsOfNode(info) : 0;
    const start = Math.ceil(now / HOUR) * HOUR;
    const forecast: { time: string; load: number; capacity: number }[] = [];
    for (let k = 0; k < 48; k++) {
      const t = start + k * HOUR;
      const same = l.filter((x) => (t - x.t) % (24 * HOUR) === 0 && t - x.t <= 14 * 24 * HOUR);
      const load = same.length ? same.reduce((s, x) => s + x.v, 0) / same.length : 0;
      const capacity = perNode > 0 ? Math.ceil(load / ((perNode * target) / 100)) : 0;
      forecast.push({ time: rfc3339(t), load: Math.round(load), capacity });
    }
    p.status = { ...(p.status ?? {}), forecast, forecastTime: rfc3339(now) };
    await this.setStatus(p, { forecast, forecastTime: rfc3339(now), message: `forecast of the next 48 h from ${Math.min(14, Math.floor(l.length / 24))} day(s) of history` });
  }

  private async setStatus(p: ScalingPolicy, s: NonNullable<ScalingPolicy['status']>): Promise<void> {
    const status = { ...(p.status ?? {}), ...s };
    p.status = status;
    try {
      await this.mgr.client.updateStatus({ ...p, metadata: { ...p.metadata, resourceVersion: undefined }, status } as ScalingPolicy);
    } catch {
      // the next minute writes it again
    }
  }
}

/** Allocatable cpu of a node, millicores. */
function podRequestsOfNode(n: Node): number {
  const q = (n.status?.allocatable as Record<string, string> | undefined)?.cpu;
  if (!q) return 0;
  return q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000;
}

/** The elb.berth.dev TargetGroup kind (looked up through the client: the elb component may not be installed). */
const TARGET_GROUP_KIND = { apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' } as const;

/** What the network metrics read of a target group: its targets' pods and byte counts. */
type TargetGroupWithTargets = KubeObject & { status?: { targets?: { pod?: string; port: number; bytesIn?: number; bytesOut?: number }[] } };

/** The target group name in an ALBRequestCountPerTarget resource label (`app/<lb>/<id>/targetgroup/<name>/<id>`), or undefined. */
export function targetGroupOf(label: unknown): string | undefined {
  if (typeof label !== 'string') return undefined;
  const m = /(?:^|\/)targetgroup\/([^/]+)/.exec(label);
  return m?.[1];
}

/** Whether a one-minute value is in ALARM for the alarm's comparison. */
function breaches(a: NonNullable<ScalingPolicy['spec']['alarm']>, v: number): boolean {
  return a.comparisonOperator === 'GreaterThanOrEqualToThreshold' ? v >= a.threshold : a.comparisonOperator === 'GreaterThanThreshold' ? v > a.threshold : a.comparisonOperator === 'LessThanThreshold' ? v < a.threshold : v <= a.threshold;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * The new capacity of a step adjustment (PutScalingPolicy): ChangeInCapacity adds, ExactCapacity
 * sets, PercentChangeInCapacity adds current × percent / 100 rounded toward zero when above 1 in
 * magnitude, else away from zero, and at least `minAdjustmentMagnitude`.
 */
export function stepCapacity(current: number, type: AdjustmentType, adjustment: number, minMagnitude = 0): number {
  if (type === 'ExactCapacity') return adjustment;
  if (type === 'ChangeInCapacity') return current + adjustment;
  const raw = (current * adjustment) / 100;
  let change = Math.abs(raw) > 1 ? Math.trunc(raw) : Math.sign(raw) * Math.ceil(Math.abs(raw));
  if (Math.abs(change) < minMagnitude) change = Math.sign(adjustment) * minMagnitude;
  return current + change;
}
