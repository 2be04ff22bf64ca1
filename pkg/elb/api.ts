/**
 * berth's Elastic Load Balancing kinds, `elb.berth.dev/v1`:
 *
 * - `LoadBalancer`: type `application` (HTTP listeners, an ALB) or `network` (TCP, an NLB),
 *   scheme, listeners (port, protocol, the target group they forward to) and attributes; its
 *   status has the loopback address it listens on (`status.address`, 127.0.1.x), its state and
 *   its metrics.
 * - `TargetGroup`: protocol, health check (AWS defaults), attributes with the AWS keys
 *   (`deregistration_delay.timeout_seconds`, `slow_start.duration_seconds`,
 *   `load_balancing.algorithm.type`, `stickiness.enabled`, `stickiness.type`,
 *   `stickiness.source_ip.duration_seconds`), and its targets. Target type `ip` (default): the
 *   endpoints of a Service port (`serviceRef`) or targets registered directly (`targets`: a pod
 *   name or an IPv4 address, and a port). Target type `instance`: EC2 instances, each on a port
 *   of its Node (instance-targets.ts says what answers there): with `serviceRef`, every running
 *   instance on the Service port's NodePort (the AWS Load Balancer Controller's instance mode);
 *   else instances registered directly (`targets`: an instance id and a port) and the instances of
 *   the Auto Scaling groups that list this target group, on `spec.port`. Its status lists each
 *   target's health state and metrics.
 *
 * A Service of type LoadBalancer gets one LoadBalancer and one TargetGroup per port, owned by it.
 */
import { fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../api/errors.js';
import { defineResource } from '../api/resources.js';
import { INSTANCE_ID_RE } from '../cloud/types.js';
import type { KubeObject } from '../api/types.js';
import { age, col, type TablePrinter } from '../apiserver/tables.js';
import { DEFAULT_HEALTH_CHECK, DEFAULT_TARGET_GROUP, type Algorithm, type HealthCheck, type TargetGroupConfig, type TargetMetrics, type TargetState } from './targetgroup.js';

export const LoadBalancerKind = { apiVersion: 'elb.berth.dev/v1', kind: 'LoadBalancer' } as const;
export const TargetGroupKind = { apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' } as const;

export const LOAD_BALANCER_RESOURCE = defineResource({ gv: 'elb.berth.dev/v1', resource: 'loadbalancers', kind: 'LoadBalancer', ns: true, short: ['lb', 'elb'], sub: ['status'], generation: true });
export const TARGET_GROUP_RESOURCE = defineResource({ gv: 'elb.berth.dev/v1', resource: 'targetgroups', kind: 'TargetGroup', ns: true, short: ['tg'], sub: ['status'], generation: true });

/** Label on the LoadBalancer and TargetGroups made for a Service: the Service's name. */
export const SERVICE_LABEL = 'elb.berth.dev/service';

export interface LoadBalancerListener {
  port: number;
  /** `HTTP` (application) or `TCP` (network); defaults from the type. */
  protocol?: 'HTTP' | 'TCP';
  /** The TargetGroup (same namespace) requests go to. */
  targetGroupName: string;
}

export interface LoadBalancerMetrics {
  requestCount: number;
  activeConnections: number;
  httpCodes: Record<string, number>;
  /** 503s the load balancer answered itself (no registered target). */
  elb5xx: number;
  latencyMs: { p50: number; p90: number; p99: number };
}

export interface LoadBalancer extends KubeObject {
  spec: {
    type?: 'application' | 'network';
    scheme?: 'internet-facing' | 'internal';
    listeners: LoadBalancerListener[];
    attributes?: Record<string, string>;
  };
  status?: {
    state?: { code: 'provisioning' | 'active' | 'failed'; reason?: string };
    /** The loopback address it listens on. */
    address?: string;
    dnsName?: string;
    metrics?: LoadBalancerMetrics;
  };
}

export interface TargetGroupTarget {
  /** A pod name (same namespace) or an IPv4 address; an instance id (`i-…`) in an `instance` target group. */
  id: string;
  port: number;
}

export interface TargetHealthStatus extends Partial<TargetMetrics> {
  id: string;
  port: number;
  pod?: string;
  state: TargetState;
  reason?: string;
}

export interface TargetGroup extends KubeObject {
  spec: {
    protocol?: 'HTTP' | 'TCP';
    /** `ip` (default: pods and addresses) or `instance` (EC2 instances). */
    targetType?: 'ip' | 'instance';
    /** The port Auto Scaling groups register their instances on (`instance` target groups; 1–65535). */
    port?: number;
    healthCheck?: Partial<HealthCheck>;
    attributes?: Record<string, string>;
    /** Targets are the ready endpoints of this Service port (by port number or name). */
    serviceRef?: { name: string; port: number | string };
    targets?: TargetGroupTarget[];
  };
  status?: {
    targets?: TargetHealthStatus[];
    metrics?: LoadBalancerMetrics & { requestCountPerTarget: number };
  };
}

const ATTR_DEFAULTS_TG: Record<string, string> = {
  'deregistration_delay.timeout_seconds': '300',
  'slow_start.duration_seconds': '0',
  'load_balancing.algorithm.type': 'round_robin',
  'stickiness.enabled': 'false',
  'stickiness.type': 'source_ip',
  'stickiness.source_ip.duration_seconds': '10800',
};
/** A TCP (Network Load Balancer) target group's own attributes: client IP preservation is off for `ip` targets over TCP. */
const ATTR_DEFAULTS_TCP: Record<string, string> = {
  'preserve_client_ip.enabled': 'false',
};
const ATTR_DEFAULTS_LB: Record<string, string> = {
  'idle_timeout.timeout_seconds': '60',
  'load_balancing.cross_zone.enabled': 'true',
  'deletion_protection.enabled': 'false',
};

export function defaultLoadBalancer(obj: KubeObject): void {
  const lb = obj as LoadBalancer;
  const spec = (lb.spec ??= { listeners: [] });
  spec.type ??= 'application';
  spec.scheme ??= 'internet-facing';
  spec.listeners ??= [];
  for (const l of spec.listeners) l.protocol ??= spec.type === 'network' ? 'TCP' : 'HTTP';
  spec.attributes = { ...ATTR_DEFAULTS_LB, ...(spec.attributes ?? {}) };
}

export function validateLoadBalancer(obj: KubeObject): FieldError[] {
  const lb = obj as LoadBalancer;
  const errs: FieldError[] = [];
  const spec = lb.spec;
  if (spec.type !== 'application' && spec.type !== 'network') errs.push(fieldNotSupported('spec.type', spec.type, ['application', 'network']));
  if (spec.scheme !== 'internet-facing' && spec.scheme !== 'internal') errs.push(fieldNotSupported('spec.scheme', spec.scheme, ['internal', 'internet-facing']));
  if (!Array.isArray(spec.listeners)) return [...errs, fieldRequired('spec.listeners')];
  const ports = new Set<number>();
  spec.listeners.forEach((l, i) => {
    const p = `spec.listeners[${i}]`;
    if (!Number.isInteger(l.port) || l.port < 1 || l.port > 65535) errs.push(fieldInvalid(`${p}.port`, l.port, 'must be between 1 and 65535'));
    else if (ports.has(l.port)) errs.push(fieldInvalid(`${p}.port`, l.port, 'a listener already uses this port'));
    ports.add(l.port);
    const allowed = spec.type === 'network' ? ['TCP'] : ['HTTP'];
    if (!allowed.includes(l.protocol ?? '')) errs.push(fieldNotSupported(`${p}.protocol`, l.protocol, allowed));
    if (!l.targetGroupName) errs.push(fieldRequired(`${p}.targetGroupName`, 'the TargetGroup this listener forwards to'));
  });
  // Cross-zone load balancing is always on for an ALB (AWS cannot turn it off at the load balancer
  // level); berth routes every load balancer across zones, so `false` is refused, not ignored.
  const cz = spec.attributes?.['load_balancing.cross_zone.enabled'];
  if (cz !== undefined && cz !== 'true') errs.push(fieldInvalid("spec.attributes['load_balancing.cross_zone.enabled']", cz, spec.type === 'application' ? 'cross-zone load balancing is always on for an application load balancer' : 'berth routes across zones: only "true" is modelled (per-zone routing is not)'));
  return errs;
}

export function defaultTargetGroup(obj: KubeObject): void {
  const tg = obj as TargetGroup;
  const spec = (tg.spec ??= {});
  spec.protocol ??= 'HTTP';
  spec.targetType ??= 'ip';
  const hc = DEFAULT_HEALTH_CHECK;
  spec.healthCheck = {
    protocol: spec.protocol === 'TCP' ? 'TCP' : 'HTTP',
    path: hc.path,
    intervalSeconds: hc.intervalSeconds,
    timeoutSeconds: spec.protocol === 'TCP' ? 10 : hc.timeoutSeconds,
    healthyThresholdCount: hc.healthyThresholdCount,
    unhealthyThresholdCount: hc.unhealthyThresholdCount,
    matcher: hc.matcher,
    enabled: true,
    ...(spec.healthCheck ?? {}),
  };
  spec.attributes = { ...ATTR_DEFAULTS_TG, ...(spec.protocol === 'TCP' ? ATTR_DEFAULTS_TCP : {}), ...(spec.attributes ?? {}) };
}

const intIn = (v: string | number | undefined, lo: number, hi: number): boolean => v !== undefined && /^\d+$/.test(String(v)) && Number(v) >= lo && Number(v) <= hi;

export function validateTargetGroup(obj: KubeObject): FieldError[] {
  const tg = obj as TargetGroup;
  const spec = tg.spec;
  const errs: FieldError[] = [];
  if (spec.protocol !== 'HTTP' && spec.protocol !== 'TCP') errs.push(fieldNotSupported('spec.protocol', spec.protocol, ['HTTP', 'TCP']));
  if (spec.targetType !== 'ip' && spec.targetType !== 'instance') errs.push(fieldNotSupported('spec.targetType', spec.targetType, ['instance', 'ip']));
  if (spec.port !== undefined && !(Number.isInteger(spec.port) && spec.port >= 1 && spec.port <= 65535)) errs.push(fieldInvalid('spec.port', spec.port, 'must be between 1 and 65535'));
  const hc = spec.healthCheck ?? {};
  if (hc.protocol !== 'HTTP' && hc.protocol !== 'TCP') errs.push(fieldNotSupported('spec.healthCheck.protocol', hc.protocol, ['HTTP', 'TCP']));
  if (!intIn(hc.intervalSeconds, 5, 300)) errs.push(fieldInvalid('spec.healthCheck.intervalSeconds', hc.intervalSeconds, 'must be between 5 and 300'));
  if (!intIn(hc.timeoutSeconds, 2, 120)) errs.push(fieldInvalid('spec.healthCheck.timeoutSeconds', hc.timeoutSeconds, 'must be between 2 and 120'));
  else if (intIn(hc.intervalSeconds, 5, 300) && hc.timeoutSeconds! >= hc.intervalSeconds!) errs.push(fieldInvalid('spec.healthCheck.timeoutSeconds', hc.timeoutSeconds, 'must be smaller than intervalSeconds'));
  if (!intIn(hc.healthyThresholdCount, 2, 10)) errs.push(fieldInvalid('spec.healthCheck.healthyThresholdCount', hc.healthyThresholdCount, 'must be between 2 and 10'));
  if (!intIn(hc.unhealthyThresholdCount, 2, 10)) errs.push(fieldInvalid('spec.healthCheck.unhealthyThresholdCount', hc.unhealthyThresholdCount, 'must be between 2 and 10'));
  if (typeof hc.path !== 'string' || !hc.path.startsWith('/')) errs.push(fieldInvalid('spec.healthCheck.path', hc.path, 'must start with /'));
  if (typeof hc.matcher !== 'string' || !/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/.test(hc.matcher)) errs.push(fieldInvalid('spec.healthCheck.matcher', hc.matcher, 'must be HTTP codes: 200, 200,202 or 200-299'));
  const a = spec.attributes ?? {};
  if (!intIn(a['deregistration_delay.timeout_seconds'], 0, 3600)) errs.push(fieldInvalid("spec.attributes['deregistration_delay.timeout_seconds']", a['deregistration_delay.timeout_seconds'], 'must be between 0 and 3600'));
  const ss = a['slow_start.duration_seconds'];
  if (!(ss === '0' || intIn(ss, 30, 900))) errs.push(fieldInvalid("spec.attributes['slow_start.duration_seconds']", ss, 'must be 0 (off) or between 30 and 900'));
  const alg = a['load_balancing.algorithm.type'];
  if (alg !== 'round_robin' && alg !== 'least_outstanding_requests') errs.push(fieldNotSupported("spec.attributes['load_balancing.algorithm.type']", alg, ['least_outstanding_requests', 'round_robin']));
  if (a['stickiness.enabled'] !== 'true' && a['stickiness.enabled'] !== 'false') errs.push(fieldNotSupported("spec.attributes['stickiness.enabled']", a['stickiness.enabled'], ['false', 'true']));
  const pci = a['preserve_client_ip.enabled'];
  if (pci !== undefined && spec.protocol !== 'TCP') errs.push(fieldInvalid("spec.attributes['preserve_client_ip.enabled']", pci, 'applies to TCP (Network Load Balancer) target groups only'));
  else if (pci !== undefined && pci !== 'true' && pci !== 'false') errs.push(fieldNotSupported("spec.attributes['preserve_client_ip.enabled']", pci, ['false', 'true']));
  if (spec.protocol === 'TCP' && a['load_balancing.algorithm.type'] === 'least_outstanding_requests') errs.push(fieldInvalid("spec.attributes['load_balancing.algorithm.type']", 'least_outstanding_requests', 'a TCP target group routes each connection by a hash of its flow; the algorithm applies to HTTP target groups'));
  if (!intIn(a['stickiness.source_ip.duration_seconds'], 1, 604800)) errs.push(fieldInvalid("spec.attributes['stickiness.source_ip.duration_seconds']", a['stickiness.source_ip.duration_seconds'], 'must be between 1 and 604800'));
  if (spec.serviceRef && spec.targets?.length) errs.push(fieldInvalid('spec.targets', '', 'a target group takes its targets from spec.serviceRef or spec.targets, not both'));
  if (spec.serviceRef && !spec.serviceRef.name) errs.push(fieldRequired('spec.serviceRef.name'));
  (spec.targets ?? []).forEach((t, i) => {
    if (!t.id) errs.push(fieldRequired(`spec.targets[${i}].id`, spec.targetType === 'instance' ? 'an instance id (i-…)' : 'a pod name or an IPv4 address'));
    else if (spec.targetType === 'instance' && !INSTANCE_ID_RE.test(t.id)) errs.push(fieldInvalid(`spec.targets[${i}].id`, t.id, 'an instance target group takes instance ids (i- and 17 hex digits)'));
    if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) errs.push(fieldInvalid(`spec.targets[${i}].port`, t.port, 'must be between 1 and 65535'));
  });
  return errs;
}

/** The engine settings a TargetGroup's (defaulted) spec asks for. */
export function targetGroupConfig(tg: TargetGroup): TargetGroupConfig {
  const a = { ...ATTR_DEFAULTS_TG, ...(tg.spec.attributes ?? {}) };
  const hc = { ...DEFAULT_HEALTH_CHECK, ...(tg.spec.healthCheck ?? {}) } as HealthCheck;
  return {
    ...DEFAULT_TARGET_GROUP,
    algorithm: a['load_balancing.algorithm.type'] as Algorithm,
    healthCheck: hc,
    deregistrationDelaySeconds: Number(a['deregistration_delay.timeout_seconds']),
    slowStartSeconds: Number(a['slow_start.duration_seconds']),
    stickinessSeconds: a['stickiness.enabled'] === 'true' ? Number(a['stickiness.source_ip.duration_seconds']) : 0,
    flowHash: tg.spec.protocol === 'TCP',
    preserveClientIp: tg.spec.protocol === 'TCP' && a['preserve_client_ip.enabled'] === 'true',
  };
}

const AGE = col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

/** `berth get loadbalancers`: TYPE, ADDRESS, PORTS, STATE, REQUESTS, ACTIVE, 5XX, AGE. */
export const loadBalancerTable: TablePrinter = {
  columns: [
    col('Type', 'application or network'),
    col('Address', 'The loopback address it listens on'),
    col('Ports', 'Listener ports and protocols'),
    col('State', 'provisioning, active or failed'),
    col('Requests', 'Requests (or connections) since it started', 0, 'integer'),
    col('Active', 'Requests or connections open now', 0, 'integer'),
    col('5xx', "5xx answers, the targets' and its own", 0, 'integer'),
    AGE,
    col('Scheme', 'internet-facing or internal', 1),
  ],
  cells: (o, now) => {
    const lb = o as LoadBalancer;
    const m = lb.status?.metrics;
    const ports = (lb.spec.listeners ?? []).map((l) => `${l.port}/${l.protocol ?? ''}`).join(',') || '<none>';
    return [lb.spec.type ?? '', lb.status?.address ?? '<pending>', ports, lb.status?.state?.code ?? 'provisioning', m?.requestCount ?? 0, m?.activeConnections ?? 0, (m?.httpCodes['5xx'] ?? 0) + (m?.elb5xx ?? 0), age(o, now), lb.spec.scheme ?? ''];
  },
};

/** `berth get targetgroups`: PROTOCOL, ALGORITHM, HEALTHY, TARGETS, REQUESTS, AGE. */
export const targetGroupTable: TablePrinter = {
  columns: [
    col('Protocol', 'HTTP or TCP'),
    col('Algorithm', 'round_robin or least_outstanding_requests'),
    col('Healthy', 'Healthy targets / registered targets'),
    col('Requests', 'Requests since it started', 0, 'integer'),
    AGE,
    col('Service', 'The Service port its targets come from', 1),
    col('Target-Type', 'ip (pods and addresses) or instance (EC2 instances)', 1),
  ],
  cells: (o, now) => {
    const tg = o as TargetGroup;
    const ts = (tg.status?.targets ?? []).filter((t) => t.state !== 'draining');
    const svc = tg.spec.serviceRef ? `${tg.spec.serviceRef.name}:${tg.spec.serviceRef.port}` : '<none>';
    return [tg.spec.protocol ?? '', tg.spec.attributes?.['load_balancing.algorithm.type'] ?? '', `${ts.filter((t) => t.state === 'healthy').length}/${ts.length}`, tg.status?.metrics?.requestCount ?? 0, age(o, now), svc, tg.spec.targetType ?? 'ip'];
  },
};
