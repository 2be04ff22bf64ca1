/**
 * `berth describe loadbalancer` and `berth describe targetgroup`: the load balancer's address,
 * state, listeners and metrics, then each of its target groups with its settings (health check,
 * algorithm, deregistration delay, slow start, stickiness) and every target's health state,
 * reason and metrics (requests, active connections, latency percentiles, HTTP codes).
 */
import type { Event, KubeObject } from '../../api/types.js';
import type { LoadBalancer, TargetGroup } from '../../elb/api.js';
import type { Session } from '../session.js';
import { describeEvents, printLabelsMultiline, type PrefixWriter } from './common.js';

const codes = (c: Record<string, number> | undefined): string => {
  const e = Object.entries(c ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return e.length ? e.map(([k, v]) => `${k}=${v}`).join(' ') : '<none>';
};

function describeGroup(w: PrefixWriter, tg: TargetGroup, level: number): void {
  const a = tg.spec.attributes ?? {};
  const hc = tg.spec.healthCheck ?? {};
  const m = tg.status?.metrics;
  w.write(level, `Protocol:\t${tg.spec.protocol ?? ''}\n`);
  w.write(level, `Algorithm:\t${a['load_balancing.algorithm.type'] ?? ''}\n`);
  w.write(level, `Targets From:\t${tg.spec.serviceRef ? `Service ${tg.spec.serviceRef.name} port ${tg.spec.serviceRef.port}` : 'spec.targets'}\n`);
  w.write(level, `Health Check:\t${hc.protocol} ${hc.protocol === 'HTTP' ? `${hc.path} matcher=${hc.matcher} ` : ''}interval=${hc.intervalSeconds}s timeout=${hc.timeoutSeconds}s healthy-threshold=${hc.healthyThresholdCount} unhealthy-threshold=${hc.unhealthyThresholdCount}\n`);
  w.write(level, `Deregistration Delay:\t${a['deregistration_delay.timeout_seconds'] ?? ''}s\n`);
  w.write(level, `Slow Start:\t${a['slow_start.duration_seconds'] === '0' ? 'off' : `${a['slow_start.duration_seconds']}s`}\n`);
  w.write(level, `Stickiness:\t${a['stickiness.enabled'] === 'true' ? `${a['stickiness.type']} ${a['stickiness.source_ip.duration_seconds']}s` : 'off'}\n`);
  if (m) {
    w.write(level, `Requests:\t${m.requestCount} (${m.requestCountPerTarget} per target in the last minute)\n`);
    w.write(level, `Active:\t${m.activeConnections}\n`);
    w.write(level, `Latency:\tp50=${m.latencyMs.p50}ms p90=${m.latencyMs.p90}ms p99=${m.latencyMs.p99}ms\n`);
    w.write(level, `HTTP Codes:\t${codes(m.httpCodes)}${m.elb5xx ? ` elb-503=${m.elb5xx}` : ''}\n`);
  }
  const targets = tg.status?.targets ?? [];
  if (!targets.length) {
    w.write(level, 'Targets:\t<none>\n');
    return;
  }
  w.write(level, 'Targets:\n');
  w.write(level + 1, 'Target\tPod\tState\tReason\tRequests\tActive\tp50\tp99\tCodes\n');
  w.write(level + 1, '------\t---\t-----\t------\t--------\t------\t---\t---\t-----\n');
  for (const t of targets) {
    w.write(level + 1, `${t.id}:${t.port}\t${t.pod ?? '<none>'}\t${t.state}\t${t.reason || '-'}\t${t.requestCount ?? 0}\t${t.activeConnections ?? 0}\t${t.latencyMs?.p50 ?? 0}ms\t${t.latencyMs?.p99 ?? 0}ms\t${codes(t.httpCodes)}\n`);
  }
}

/** A LoadBalancer with its listeners and target groups. */
export async function describeLoadBalancer(s: Session, w: PrefixWriter, obj: KubeObject, events: Event[] | undefined, now: number): Promise<void> {
  const lb = obj as LoadBalancer;
  const ns = lb.metadata.namespace!;
  w.write(0, `Name:\t${lb.metadata.name}\n`);
  w.write(0, `Namespace:\t${ns}\n`);
  printLabelsMultiline(w, 'Labels', lb.metadata.labels);
  w.write(0, `Type:\t${lb.spec.type}\n`);
  w.write(0, `Scheme:\t${lb.spec.scheme}\n`);
  w.write(0, `Address:\t${lb.status?.address ?? '<pending>'}\n`);
  w.write(0, `DNS Name:\t${lb.status?.dnsName ?? '<pending>'}\n`);
  w.write(0, `State:\t${lb.status?.state?.code ?? 'provisioning'}${lb.status?.state?.reason ? ` (${lb.status.state.reason})` : ''}\n`);
  const attrs = Object.entries(lb.spec.attributes ?? {}).map(([k, v]) => `${k}=${v}`);
  w.write(0, `Attributes:\t${attrs.length ? attrs.join(', ') : '<none>'}\n`);
  const m = lb.status?.metrics;
  if (m) {
    w.write(0, `Requests:\t${m.requestCount}\n`);
    w.write(0, `Active:\t${m.activeConnections}\n`);
    w.write(0, `Latency:\tp50=${m.latencyMs.p50}ms p90=${m.latencyMs.p90}ms p99=${m.latencyMs.p99}ms\n`);
    w.write(0, `HTTP Codes:\t${codes(m.httpCodes)}${m.elb5xx ? ` elb-503=${m.elb5xx}` : ''}\n`);
  }
  w.write(0, 'Listeners:\n');
  for (const l of lb.spec.listeners) {
    w.write(1, `${l.protocol}:${l.port}\t→ target group ${l.targetGroupName}\n`);
  }
  const tgInfo = await s.client.info({ apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' });
  for (const name of new Set(lb.spec.listeners.map((l) => l.targetGroupName))) {
    const tg = (await s.client.transport.get(tgInfo, ns, name).catch(() => undefined)) as TargetGroup | undefined;
    w.write(0, `Target Group ${name}:\n`);
    if (!tg) w.write(1, 'Missing:\tthe target group does not exist\n');
    else describeGroup(w, tg, 1);
  }
  describeEvents(w, events, now);
}

/** A TargetGroup alone. */
export function describeTargetGroup(w: PrefixWriter, obj: KubeObject, events: Event[] | undefined, now: number): void {
  const tg = obj as TargetGroup;
  w.write(0, `Name:\t${tg.metadata.name}\n`);
  w.write(0, `Namespace:\t${tg.metadata.namespace}\n`);
  printLabelsMultiline(w, 'Labels', tg.metadata.labels);
  describeGroup(w, tg, 0);
  describeEvents(w, events, now);
}
