/**
 * Built-in admission plugins that need to read the store: Service cluster IP and node port
 * allocation (what kube-apiserver's service REST storage does), and immutability of what
 * Kubernetes never lets change after creation.
 */
import { fieldInvalid, invalid } from '../api/errors.js';
import type { KubeObject } from '../api/types.js';
import type { AdmissionPlugin, AdmissionRequest } from './store.js';

/** The service CIDR (kube-apiserver's default `--service-cluster-ip-range`, 10.96.0.0/12). */
export const SERVICE_CIDR = { base: (10 << 24) | (96 << 16), size: 1 << 20 };
/** The NodePort range (`--service-node-port-range` default 30000-32767). */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 };

type ServiceSpec = { type?: string; clusterIP?: string; clusterIPs?: string[]; ports?: { port: number; nodePort?: number; name?: string }[] };

function ipToString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function ipToNumber(ip: string): number {
  const p = ip.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/**
 * Allocates `spec.clusterIP` (first free address after 10.96.0.1, which the `kubernetes`
 * Service holds) and a node port for each port of NodePort and LoadBalancer Services.
 * Keeps both immutable on update, as Kubernetes does.
 */
export const serviceAllocation: AdmissionPlugin = {
  name: 'ServiceAllocation',
  async admit(req: AdmissionRequest): Promise<void> {
    if (req.resource.kind !== 'Service' || req.resource.group !== '' || !req.object) return;
    const spec = (req.object.spec ?? {}) as ServiceSpec;
    const old = req.oldObject?.spec as ServiceSpec | undefined;
    if (req.operation === 'UPDATE' && old) {
      if (!spec.clusterIP && old.clusterIP) spec.clusterIP = old.clusterIP;
      if (spec.clusterIP !== old.clusterIP && old.clusterIP && spec.type !== 'ExternalName' && old.type !== 'ExternalName') {
        throw invalid('Service', req.name, [fieldInvalid('spec.clusterIPs[0]', spec.clusterIP, 'may not change once set')]);
      }
      for (const p of spec.ports ?? []) {
        const before = old.ports?.find((o) => o.port === p.port || (p.name && o.name === p.name));
        if (p.nodePort === undefined && before?.nodePort && (spec.type === 'NodePort' || spec.type === 'LoadBalancer')) p.nodePort = before.nodePort;
      }
    }
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return;
    const needsIp = spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && !spec.clusterIP;
    const needsPorts = (spec.type === 'NodePort' || spec.type === 'LoadBalancer') && (spec.ports ?? []).some((p) => !p.nodePort);
    if (!needsIp && !needsPorts) {
      if (spec.clusterIP && spec.type !== 'ExternalName') spec.clusterIPs = [spec.clusterIP];
      return;
    }
    const services = (await req.store.list(req.resource, undefined)).items as KubeObject[];
    const usedIps = new Set<number>();
    const usedPorts = new Set<number>();
    for (const s of services) {
      const ss = s.spec as ServiceSpec;
      if (ss.clusterIP && ss.clusterIP !== 'None') usedIps.add(ipToNumber(ss.clusterIP));
      for (const p of ss.ports ?? []) if (p.nodePort) usedPorts.add(p.nodePort);
    }
    if (needsIp) {
      const isDefaultApi = req.object.metadata.namespace === 'default' && req.name === 'kubernetes';
      let ip = SERVICE_CIDR.base + 1;
      if (!isDefaultApi) {
        ip = SERVICE_CIDR.base + 2;
        while (usedIps.has(ip) && ip < SERVICE_CIDR.base + SERVICE_CIDR.size - 1) ip++;
      }
      spec.clusterIP = ipToString(ip);
    }
    if (spec.clusterIP && spec.type !== 'ExternalName') spec.clusterIPs = [spec.clusterIP];
    for (const p of spec.ports ?? []) {
      if (p.nodePort || (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer')) continue;
      let port = NODE_PORT_RANGE.min;
      while (usedPorts.has(port) && port <= NODE_PORT_RANGE.max) port++;
      p.nodePort = port;
      usedPorts.add(port);
    }
  },
};

/** The built-in plugins, in order. */
export const BUILTIN_ADMISSION: AdmissionPlugin[] = [serviceAllocation];
