/**
 * The HorizontalPodAutoscaler API: `autoscaling/v2` types, defaulting and validation as
 * Kubernetes has them (pkg/apis/autoscaling/v2/defaults.go, pkg/apis/autoscaling/validation),
 * and `autoscaling/v1` served from the same stored v2 objects through a conversion, as
 * kube-apiserver does (`kubectl autoscale` of kubectl 1.27–1.32 posts v1; 1.33 posts v2).
 * v1 keeps what it cannot express in the annotations Kubernetes uses for the round trip
 * (`autoscaling.alpha.kubernetes.io/metrics`, `…/behavior`, `…/conditions`, `…/current-metrics`).
 */
import { fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../api/errors.js';
import { clone } from '../api/meta.js';
import { defineResource, type ResourceInfo } from '../api/resources.js';
import type { Condition, KubeObject } from '../api/types.js';

export const HPA_V2 = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' } as const;

export interface CrossVersionObjectReference {
  apiVersion?: string;
  kind: string;
  name: string;
}
export interface MetricTarget {
  type: 'Utilization' | 'Value' | 'AverageValue';
  value?: string;
  averageValue?: string;
  averageUtilization?: number;
}
export interface MetricIdentifier {
  name: string;
  selector?: { matchLabels?: Record<string, string> };
}
export interface MetricSpec {
  type: 'Resource' | 'Pods' | 'Object' | 'External' | 'ContainerResource';
  resource?: { name: string; target: MetricTarget };
  containerResource?: { name: string; container: string; target: MetricTarget };
  pods?: { metric: MetricIdentifier; target: MetricTarget };
  object?: { describedObject: CrossVersionObjectReference; metric: MetricIdentifier; target: MetricTarget };
  external?: { metric: MetricIdentifier; target: MetricTarget };
}
export interface MetricValueStatus {
  value?: string;
  averageValue?: string;
  averageUtilization?: number;
}
export interface MetricStatus {
  type: MetricSpec['type'];
  resource?: { name: string; current: MetricValueStatus };
  containerResource?: { name: string; container: string; current: MetricValueStatus };
  pods?: { metric: MetricIdentifier; current: MetricValueStatus };
  object?: { describedObject: CrossVersionObjectReference; metric: MetricIdentifier; current: MetricValueStatus };
  external?: { metric: MetricIdentifier; current: MetricValueStatus };
}
export interface HPAScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}
export interface HPAScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: HPAScalingPolicy[];
}
export interface HorizontalPodAutoscaler extends KubeObject {
  spec: {
    scaleTargetRef: CrossVersionObjectReference;
    minReplicas?: number;
    maxReplicas: number;
    metrics?: MetricSpec[];
    behavior?: { scaleUp?: HPAScalingRules; scaleDown?: HPAScalingRules };
  };
  status?: {
    observedGeneration?: number;
    lastScaleTime?: string;
    currentReplicas?: number;
    desiredReplicas?: number;
    currentMetrics?: MetricStatus[] | null;
    conditions?: Condition[];
  };
}

/** Default scale-up rules (Kubernetes `GenerateHPAScaleUpRules`): double or +4 pods per 15 s, no stabilization. */
export function defaultScaleUp(): Required<HPAScalingRules> {
  return {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ],
  };
}
/** Default scale-down rules (`GenerateHPAScaleDownRules`): 300 s stabilization, up to 100% per 15 s. */
export function defaultScaleDown(): Required<HPAScalingRules> {
  return { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };
}

/** autoscaling/v2 SetDefaults_HorizontalPodAutoscaler: minReplicas 1, cpu at 80% utilization, behavior filled in when given. */
export function defaultHpa(obj: KubeObject): void {
  const h = obj as HorizontalPodAutoscaler;
  const spec = (h.spec ??= {} as HorizontalPodAutoscaler['spec']);
  spec.minReplicas ??= 1;
  if (!spec.metrics || spec.metrics.length === 0) spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
  if (spec.behavior) {
    const up = defaultScaleUp();
    const down = defaultScaleDown();
    const b = spec.behavior;
    b.scaleUp = { ...b.scaleUp, stabilizationWindowSeconds: b.scaleUp?.stabilizationWindowSeconds ?? up.stabilizationWindowSeconds, selectPolicy: b.scaleUp?.selectPolicy ?? up.selectPolicy, policies: b.scaleUp?.policies ?? up.policies };
    b.scaleDown = { ...b.scaleDown, stabilizationWindowSeconds: b.scaleDown?.stabilizationWindowSeconds ?? down.stabilizationWindowSeconds, selectPolicy: b.scaleDown?.selectPolicy ?? down.selectPolicy, policies: b.scaleDown?.policies ?? down.policies };
  }
}

const QUANTITY = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$/;

function validateTarget(t: MetricTarget | undefined, path: string, resourceMetric: boolean): FieldError[] {
  if (!t) return [fieldRequired(path, 'must specify a metric target')];
  const errs: FieldError[] = [];
  if (!['Utilization', 'Value', 'AverageValue'].includes(t.type)) return [fieldNotSupported(`${path}.type`, t.type, ['AverageValue', 'Utilization', 'Value'])];
  if (t.type === 'Utilization') {
    if (!resourceMetric) errs.push(fieldInvalid(`${path}.type`, t.type, 'Utilization is only valid for Resource and ContainerResource metrics'));
    if (t.averageUtilization === undefined) errs.push(fieldRequired(`${path}.averageUtilization`, 'must set averageUtilization when type is Utilization'));
    else if (!Number.isInteger(t.averageUtilization) || t.averageUtilization < 1) errs.push(fieldInvalid(`${path}.averageUtilization`, t.averageUtilization, 'must be greater than 0'));
  }
  if (t.type === 'Value' && (t.value === undefined || !QUANTITY.test(String(t.value)))) errs.push(fieldRequired(`${path}.value`, 'must set a quantity value when type is Value'));
  if (t.type === 'AverageValue' && (t.averageValue === undefined || !QUANTITY.test(String(t.averageValue)))) errs.push(fieldRequired(`${path}.averageValue`, 'must set a quantity averageValue when type is AverageValue'));
  return errs;
}

function validateRules(r: HPAScalingRules | undefined, path: string): FieldError[] {
  if (!r) return [];
  const errs: FieldError[] = [];
  const w = r.stabilizationWindowSeconds;
  if (w !== undefined && (!Number.isInteger(w) || w < 0 || w > 3600)) errs.push(fieldInvalid(`${path}.stabilizationWindowSeconds`, w, 'must be between 0 and 3600 seconds'));
  if (r.selectPolicy !== undefined && !['Max', 'Min', 'Disabled'].includes(r.selectPolicy)) errs.push(fieldNotSupported(`${path}.selectPolicy`, r.selectPolicy, ['Disabled', 'Max', 'Min']));
  if (r.policies && r.policies.length === 0) errs.push(fieldRequired(`${path}.policies`, 'must specify at least one Policy'));
  (r.policies ?? []).forEach((p, i) => {
    const pp = `${path}.policies[${i}]`;
    if (p.type !== 'Pods' && p.type !== 'Percent') errs.push(fieldNotSupported(`${pp}.type`, p.type, ['Percent', 'Pods']));
    if (!Number.isInteger(p.value) || p.value <= 0) errs.push(fieldInvalid(`${pp}.value`, p.value, 'must be greater than zero'));
    if (!Number.isInteger(p.periodSeconds) || p.periodSeconds <= 0 || p.periodSeconds > 1800) errs.push(fieldInvalid(`${pp}.periodSeconds`, p.periodSeconds, 'must be greater than zero and less than or equal to 1800'));
  });
  return errs;
}

/** autoscaling validation (ValidateHorizontalPodAutoscaler): every error with its field path. */
export function validateHpa(obj: KubeObject): FieldError[] {
  const h = obj as HorizontalPodAutoscaler;
  const spec = h.spec;
  const errs: FieldError[] = [];
  if (!spec || typeof spec !== 'object') return [fieldRequired('spec')];
  const ref = spec.scaleTargetRef;
  if (!ref) errs.push(fieldRequired('spec.scaleTargetRef'));
  else {
    if (!ref.kind) errs.push(fieldRequired('spec.scaleTargetRef.kind'));
    if (!ref.name) errs.push(fieldRequired('spec.scaleTargetRef.name'));
  }
  if (spec.minReplicas !== undefined && (!Number.isInteger(spec.minReplicas) || spec.minReplicas < 1)) errs.push(fieldInvalid('spec.minReplicas', spec.minReplicas, 'must be greater than or equal to 1'));
  if (!Number.isInteger(spec.maxReplicas) || spec.maxReplicas < 1) errs.push(fieldInvalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than 0'));
  else if (spec.minReplicas !== undefined && spec.maxReplicas < spec.minReplicas) errs.push(fieldInvalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  (spec.metrics ?? []).forEach((m, i) => {
    const p = `spec.metrics[${i}]`;
    switch (m.type) {
      case 'Resource':
        if (!m.resource) errs.push(fieldRequired(`${p}.resource`, 'must populate information for the given metric source'));
        else {
          if (!m.resource.name) errs.push(fieldRequired(`${p}.resource.name`, 'must specify a resource name'));
          errs.push(...validateTarget(m.resource.target, `${p}.resource.target`, true));
        }
        break;
      case 'ContainerResource':
        if (!m.containerResource) errs.push(fieldRequired(`${p}.containerResource`, 'must populate information for the given metric source'));
        else {
          if (!m.containerResource.name) errs.push(fieldRequired(`${p}.containerResource.name`));
          if (!m.containerResource.container) errs.push(fieldRequired(`${p}.containerResource.container`));
          errs.push(...validateTarget(m.containerResource.target, `${p}.containerResource.target`, true));
        }
        break;
      case 'Pods':
      case 'External':
      case 'Object': {
        const key = m.type === 'Pods' ? 'pods' : m.type === 'External' ? 'external' : 'object';
        const src = m[key] as { metric?: MetricIdentifier; target?: MetricTarget; describedObject?: CrossVersionObjectReference } | undefined;
        if (!src) {
          errs.push(fieldRequired(`${p}.${key}`, 'must populate information for the given metric source'));
          break;
        }
        if (!src.metric?.name) errs.push(fieldRequired(`${p}.${key}.metric.name`, 'must specify a metric name'));
        if (key === 'object' && (!src.describedObject?.kind || !src.describedObject?.name)) errs.push(fieldRequired(`${p}.object.describedObject`, 'must specify kind and name'));
        errs.push(...validateTarget(src.target, `${p}.${key}.target`, false));
        if (key === 'pods' && src.target && src.target.type !== 'AverageValue') errs.push(fieldNotSupported(`${p}.pods.target.type`, src.target.type, ['AverageValue']));
        break;
      }
      default:
        errs.push(fieldNotSupported(`${p}.type`, (m as { type?: string }).type, ['ContainerResource', 'External', 'Object', 'Pods', 'Resource']));
    }
  });
  if (spec.behavior) {
    errs.push(...validateRules(spec.behavior.scaleUp, 'spec.behavior.scaleUp'));
    errs.push(...validateRules(spec.behavior.scaleDown, 'spec.behavior.scaleDown'));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// autoscaling/v1 ⇄ v2

const A_METRICS = 'autoscaling.alpha.kubernetes.io/metrics';
const A_BEHAVIOR = 'autoscaling.alpha.kubernetes.io/behavior';
const A_CONDITIONS = 'autoscaling.alpha.kubernetes.io/conditions';
const A_CURRENT = 'autoscaling.alpha.kubernetes.io/current-metrics';

function isCpuUtilization(m: MetricSpec): boolean {
  return m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target?.type === 'Utilization';
}

/** An autoscaling/v1 body → the stored autoscaling/v2 form. */
export function hpaV1ToV2(obj: KubeObject): KubeObject {
  if (obj.apiVersion === 'autoscaling/v2') return obj;
  const o = clone(obj) as KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };
  const ann = { ...(o.metadata.annotations ?? {}) };
  const spec = (o.spec ?? {}) as { scaleTargetRef?: CrossVersionObjectReference; minReplicas?: number; maxReplicas?: number; targetCPUUtilizationPercentage?: number };
  const metrics: MetricSpec[] = [];
  if (spec.targetCPUUtilizationPercentage !== undefined) metrics.push({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } });
  if (ann[A_METRICS]) {
    try {
      metrics.push(...(JSON.parse(ann[A_METRICS]) as MetricSpec[]));
    } catch {
      /* a malformed annotation is ignored, as Kubernetes's conversion does */
    }
  }
  const v2spec: HorizontalPodAutoscaler['spec'] = { scaleTargetRef: spec.scaleTargetRef as CrossVersionObjectReference, maxReplicas: spec.maxReplicas as number };
  if (spec.minReplicas !== undefined) v2spec.minReplicas = spec.minReplicas;
  if (metrics.length) v2spec.metrics = metrics;
  if (ann[A_BEHAVIOR]) {
    try {
      v2spec.behavior = JSON.parse(ann[A_BEHAVIOR]);
    } catch {
      /* ignored */
    }
  }
  const out: HorizontalPodAutoscaler = { ...o, apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', spec: v2spec } as HorizontalPodAutoscaler;
  if (o.status) {
    const s = o.status as { observedGeneration?: number; lastScaleTime?: string; currentReplicas?: number; desiredReplicas?: number; currentCPUUtilizationPercentage?: number };
    const st: NonNullable<HorizontalPodAutoscaler['status']> = { currentReplicas: s.currentReplicas ?? 0, desiredReplicas: s.desiredReplicas ?? 0 };
    if (s.observedGeneration !== undefined) st.observedGeneration = s.observedGeneration;
    if (s.lastScaleTime) st.lastScaleTime = s.lastScaleTime;
    const current: MetricStatus[] = [];
    if (s.currentCPUUtilizationPercentage !== undefined) current.push({ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: s.currentCPUUtilizationPercentage } } });
    try {
      if (ann[A_CURRENT]) current.push(...(JSON.parse(ann[A_CURRENT]) as MetricStatus[]));
      if (ann[A_CONDITIONS]) st.conditions = JSON.parse(ann[A_CONDITIONS]);
    } catch {
      /* ignored */
    }
    if (current.length) st.currentMetrics = current;
    out.status = st;
  }
  for (const k of [A_METRICS, A_BEHAVIOR, A_CONDITIONS, A_CURRENT]) delete ann[k];
  if (Object.keys(ann).length) out.metadata.annotations = ann;
  else delete out.metadata.annotations;
  return out;
}

/** The stored autoscaling/v2 form → autoscaling/v1 (what v1 cannot say goes into annotations). */
export function hpaV2ToV1(obj: KubeObject): KubeObject {
  if (obj.apiVersion === 'autoscaling/v1') return obj;
  const h = clone(obj) as HorizontalPodAutoscaler;
  const ann = { ...(h.metadata.annotations ?? {}) };
  const metrics = h.spec?.metrics ?? [];
  const cpu = metrics.find(isCpuUtilization);
  const others = metrics.filter((m) => m !== cpu);
  if (others.length) ann[A_METRICS] = JSON.stringify(others);
  if (h.spec?.behavior) ann[A_BEHAVIOR] = JSON.stringify(h.spec.behavior);
  const spec: Record<string, unknown> = { scaleTargetRef: h.spec?.scaleTargetRef };
  if (h.spec?.minReplicas !== undefined) spec.minReplicas = h.spec.minReplicas;
  spec.maxReplicas = h.spec?.maxReplicas;
  if (cpu) spec.targetCPUUtilizationPercentage = cpu.resource!.target.averageUtilization;
  let status: Record<string, unknown> | undefined;
  if (h.status) {
    const s = h.status;
    status = { currentReplicas: s.currentReplicas ?? 0, desiredReplicas: s.desiredReplicas ?? 0 };
    if (s.observedGeneration !== undefined) status.observedGeneration = s.observedGeneration;
    if (s.lastScaleTime) status.lastScaleTime = s.lastScaleTime;
    const cur = s.currentMetrics ?? [];
    const cpuNow = cur.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
    if (cpuNow?.resource?.current.averageUtilization !== undefined) status.currentCPUUtilizationPercentage = cpuNow.resource.current.averageUtilization;
    const rest = cur.filter((m) => m !== cpuNow);
    if (rest.length) ann[A_CURRENT] = JSON.stringify(rest);
    if (s.conditions?.length) ann[A_CONDITIONS] = JSON.stringify(s.conditions);
  }
  const out: KubeObject = { ...h, apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { ...h.metadata }, spec };
  if (status) out.status = status;
  if (Object.keys(ann).length) out.metadata.annotations = ann;
  else delete out.metadata.annotations;
  return out;
}

/** `autoscaling/v1` HorizontalPodAutoscaler, stored as v2 (v2 stays the preferred version). */
export const HPA_V1_RESOURCE: ResourceInfo = {
  ...defineResource({ gv: 'autoscaling/v1', resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', ns: true, short: ['hpa'], sub: ['status'], generation: true }),
  conversion: { toStorage: hpaV1ToV2, fromStorage: hpaV2ToV1 },
};
