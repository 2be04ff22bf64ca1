/** Services (with their endpoints), Namespaces, ConfigMaps and Secrets. */
import { StatusError } from '../../api/errors.js';
import type { Event, KubeObject } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import { canonical } from '../quantity.js';
import type { Session } from '../session.js';
import { cmp, describeEvents, formatMap, printAnnotationsMultiline, printLabelsMultiline, rfc1123z, type PrefixWriter } from './common.js';

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export async function describeService(s: Session, w: PrefixWriter, svc: KubeObject, events: Event[] | undefined, now: number): Promise<void> {
  const spec = (svc.spec ?? {}) as {
    selector?: Record<string, string>;
    type?: string;
    ipFamilyPolicy?: string;
    ipFamilies?: string[];
    clusterIP?: string;
    clusterIPs?: string[];
    externalIPs?: string[];
    loadBalancerIP?: string;
    externalName?: string;
    ports?: ServicePort[];
    sessionAffinity?: string;
    externalTrafficPolicy?: string;
    internalTrafficPolicy?: string;
    healthCheckNodePort?: number;
    loadBalancerSourceRanges?: string[];
    trafficDistribution?: string;
  };
  const ingress = ((svc.status as { loadBalancer?: { ingress?: { ip?: string; hostname?: string; ipMode?: string }[] } } | undefined)?.loadBalancer?.ingress ?? []).map((i) => (i.ip ? `${i.ip}${i.ipMode ? ` (${i.ipMode})` : ''}` : (i.hostname ?? '')));
  const endpoints = await serviceEndpoints(s, svc);
  w.write(0, `Name:\t${svc.metadata.name}\n`);
  w.write(0, `Namespace:\t${svc.metadata.namespace ?? ''}\n`);
  printLabelsMultiline(w, 'Labels', svc.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', svc.metadata.annotations);
  w.write(0, `Selector:\t${Object.keys(spec.selector ?? {}).length ? formatMap(spec.selector!) : '<none>'}\n`);
  w.write(0, `Type:\t${spec.type ?? ''}\n`);
  if (spec.ipFamilyPolicy) w.write(0, `IP Family Policy:\t${spec.ipFamilyPolicy}\n`);
  w.write(0, `IP Families:\t${spec.ipFamilies?.length ? spec.ipFamilies.join(',') : '<none>'}\n`);
  w.write(0, `IP:\t${spec.clusterIP ?? ''}\n`);
  w.write(0, `IPs:\t${spec.clusterIPs?.length ? spec.clusterIPs.join(',') : '<none>'}\n`);
  if (spec.externalIPs?.length) w.write(0, `External IPs:\t${spec.externalIPs.join(',')}\n`);
  if (spec.loadBalancerIP) w.write(0, `Desired LoadBalancer IP:\t${spec.loadBalancerIP}\n`);
  if (spec.externalName) w.write(0, `External Name:\t${spec.externalName}\n`);
  if (ingress.length) w.write(0, `LoadBalancer Ingress:\t${ingress.join(', ')}\n`);
  for (const p of spec.ports ?? []) {
    const name = p.name || '<unset>';
    const proto = p.protocol ?? '';
    w.write(0, `Port:\t${name}\t${p.port}/${proto}\n`);
    w.write(0, `TargetPort:\t${p.targetPort ?? p.port}/${proto}\n`);
    if (p.appProtocol) w.write(0, `AppProtocol:\t${p.appProtocol}\n`);
    if (p.nodePort) w.write(0, `NodePort:\t${name}\t${p.nodePort}/${proto}\n`);
    w.write(0, `Endpoints:\t${endpoints(p.name ?? '')}\n`);
  }
  w.write(0, `Session Affinity:\t${spec.sessionAffinity ?? ''}\n`);
  if (spec.externalTrafficPolicy) w.write(0, `External Traffic Policy:\t${spec.externalTrafficPolicy}\n`);
  if (spec.internalTrafficPolicy) w.write(0, `Internal Traffic Policy:\t${spec.internalTrafficPolicy}\n`);
  if (spec.healthCheckNodePort) w.write(0, `HealthCheck NodePort:\t${spec.healthCheckNodePort}\n`);
  if (spec.loadBalancerSourceRanges?.length) w.write(0, `LoadBalancer Source Ranges:\t${spec.loadBalancerSourceRanges.join(',')}\n`);
  if (spec.trafficDistribution) w.write(0, `Traffic Distribution:\t${spec.trafficDistribution}\n`);
  describeEvents(w, events, now);
}


/**
 * A Service's endpoints for one port name, as `ip:port` (at most three, then `+ N more...`): from
 * its EndpointSlices, else its Endpoints object, else `<none>`.
 */
async function serviceEndpoints(s: Session, svc: KubeObject): Promise<(portName: string) => string> {
  type Addr = { ip: string; port?: number };
  const groups: { ports: { name: string; port: number }[]; addresses: string[] }[] = [];
  try {
    const slices = (await s.client.list({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' }, { namespace: svc.metadata.namespace!, labelSelector: `kubernetes.io/service-name=${svc.metadata.name}` })).items;
    for (const sl of slices) {
      const ports = ((sl.ports as { name?: string; port?: number }[] | undefined) ?? []).map((p) => ({ name: p.name ?? '', port: p.port ?? 0 }));
      const addresses = ((sl.endpoints as { addresses?: string[] }[] | undefined) ?? []).map((e) => e.addresses?.[0] ?? '').filter(Boolean);
      groups.push({ ports, addresses });
    }
  } catch {
    // no EndpointSlices served: fall back to Endpoints
  }
  if (!groups.length) {
    try {
      const ep = await s.client.get(Kinds.Endpoints, svc.metadata.name!, svc.metadata.namespace);
      for (const ss of (ep.subsets as { addresses?: { ip: string }[]; ports?: { name?: string; port: number }[] }[] | undefined) ?? []) {
        groups.push({ ports: (ss.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port })), addresses: (ss.addresses ?? []).map((a) => a.ip) });
      }
    } catch (e) {
      if (!(e instanceof StatusError)) throw e;
    }
  }
  return (portName: string) => {
    if (!groups.length) return '<none>';
    const list: string[] = [];
    let count = 0;
    const add = (a: Addr): void => {
      if (list.length < 3) list.push(a.port === undefined ? a.ip : a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`);
      count++;
    };
    for (const g of groups) {
      if (!g.ports.length) for (const ip of g.addresses) add({ ip });
      else for (const p of g.ports) if (p.name === portName) for (const ip of g.addresses) add({ ip, port: p.port });
    }
    const text = list.join(',');
    return count > 3 ? `${text} + ${count - 3} more...` : text;
  };
}

export async function describeNamespace(s: Session, w: PrefixWriter, ns: KubeObject): Promise<void> {
  const name = ns.metadata.name!;
  const list = async (kind: string): Promise<KubeObject[] | undefined> => {
    try {
      return (await s.client.list({ apiVersion: 'v1', kind }, { namespace: name })).items;
    } catch (e) {
      if (e instanceof StatusError) return undefined;
      throw e;
    }
  };
  const quotas = await list('ResourceQuota');
  const limits = await list('LimitRange');
  w.write(0, `Name:\t${name}\n`);
  printLabelsMultiline(w, 'Labels', ns.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', ns.metadata.annotations);
  const status = (ns.status ?? {}) as { phase?: string; conditions?: { type: string; status: string; lastTransitionTime?: string; reason?: string; message?: string }[] };
  w.write(0, `Status:\t${status.phase ?? ''}\n`);
  if (status.conditions?.length) {
    w.write(0, 'Conditions:\n');
    w.write(1, 'Type\tStatus\tLastTransitionTime\tReason\tMessage\n');
    w.write(1, '----\t------\t------------------\t------\t-------\n');
    for (const c of status.conditions) w.write(1, `${c.type}\t${c.status}\t${rfc1123z(c.lastTransitionTime)}\t${c.reason ?? ''}\t${c.message ?? ''}\n`);
  }
  if (quotas) {
    w.write(0, '\n');
    if (!quotas.length) w.write(0, 'No resource quota.\n');
    else {
      w.write(0, 'Resource Quotas\n');
      for (const q of [...quotas].sort((a, b) => cmp(a.metadata.name!, b.metadata.name!))) {
        const st = (q.status ?? {}) as { hard?: Record<string, string>; used?: Record<string, string> };
        w.write(1, `Name:\t${q.metadata.name}\n`);
        w.write(1, 'Resource\tUsed\tHard\n');
        w.write(1, '--------\t---\t---\n');
        for (const k of Object.keys(st.hard ?? {}).sort()) w.write(1, `${k}\t${canonical(st.used?.[k] ?? '0')}\t${canonical(st.hard![k])}\n`);
      }
    }
  }
  if (limits) {
    w.write(0, '\n');
    if (!limits.length) w.write(0, 'No LimitRange resource.\n');
    else {
      w.write(0, 'Resource Limits\n Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n');
      w.write(0, ' ----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n');
      for (const lr of limits) {
        for (const item of ((lr.spec as { limits?: Record<string, unknown>[] } | undefined)?.limits ?? []) as Record<string, Record<string, string> | string | undefined>[]) {
          const parts = ['min', 'max', 'defaultRequest', 'default', 'maxLimitRequestRatio'].map((k) => (item[k] ?? {}) as Record<string, string>);
          const names = new Set(parts.flatMap((p) => Object.keys(p)));
          for (const n of names) {
            const [min, max, defReq, def, ratio] = parts.map((p) => (p[n] !== undefined ? canonical(p[n]) : '-'));
            w.write(0, ` ${String(item.type ?? '')}\t${n}\t${min}\t${max}\t${defReq}\t${def}\t${ratio}\n`);
          }
        }
      }
    }
  }
}

export function describeConfigMap(w: PrefixWriter, cm: KubeObject, events: Event[] | undefined, now: number): void {
  w.write(0, `Name:\t${cm.metadata.name}\n`);
  w.write(0, `Namespace:\t${cm.metadata.namespace ?? ''}\n`);
  printLabelsMultiline(w, 'Labels', cm.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', cm.metadata.annotations);
  w.write(0, '\nData\n====\n');
  const data = (cm.data ?? {}) as Record<string, string>;
  for (const k of Object.keys(data).sort()) {
    w.write(0, `${k}:\n----\n`);
    w.write(0, `${data[k]}\n`);
    w.write(0, '\n');
  }
  w.write(0, '\nBinaryData\n====\n');
  const bin = (cm.binaryData ?? {}) as Record<string, string>;
  for (const k of Object.keys(bin).sort()) w.write(0, `${k}: ${Buffer.from(bin[k]!, 'base64').length} bytes\n`);
  w.write(0, '\n');
  describeEvents(w, events, now);
}

export function describeSecret(w: PrefixWriter, secret: KubeObject): void {
  w.write(0, `Name:\t${secret.metadata.name}\n`);
  w.write(0, `Namespace:\t${secret.metadata.namespace ?? ''}\n`);
  printLabelsMultiline(w, 'Labels', secret.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', secret.metadata.annotations);
  w.write(0, `\nType:\t${String(secret.type ?? '')}\n`);
  w.write(0, '\nData\n====\n');
  const data = (secret.data ?? {}) as Record<string, string>;
  for (const k of Object.keys(data).sort()) {
    const bytes = Buffer.from(data[k] ?? '', 'base64');
    if (k === 'token' && secret.type === 'kubernetes.io/service-account-token') w.write(0, `${k}:\t${bytes.toString('utf8')}\n`);
    else w.write(0, `${k}:\t${bytes.length} bytes\n`);
  }
}
