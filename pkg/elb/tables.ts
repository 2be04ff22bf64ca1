/**
 * `kubectl get` columns for the kinds this component serves or fills in, as kubectl's printers
 * have them (k8s.io/kubernetes/pkg/printers/internalversion/printers.go) for the Kubernetes kinds.
 */
import { age, col, type TablePrinter } from '../apiserver/tables.js';
import type { EndpointSlice } from './endpoints.js';
import type { HorizontalPodAutoscaler, MetricSpec, MetricStatus } from './hpa-api.js';

const AGE = col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

/** EndpointSlice: ADDRESSTYPE, PORTS, ENDPOINTS (first three addresses), AGE. */
export const endpointSliceTable: TablePrinter = {
  columns: [col('AddressType', 'Type of address carried by this EndpointSlice.'), col('Ports', 'Ports in this EndpointSlice.'), col('Endpoints', 'Endpoints in this EndpointSlice.'), AGE],
  cells: (o, now) => {
    const s = o as EndpointSlice;
    const ports = (s.ports ?? []).map((p) => String(p.port));
    const addrs = (s.endpoints ?? []).flatMap((e) => e.addresses);
    const eps = addrs.length === 0 ? '<none>' : addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
    return [s.addressType, ports.length ? ports.join(',') : '<unset>', eps, age(o, now)];
  },
};

/** One metric of the HPA's TARGETS column, as kubectl's formatHPAMetrics prints it. */
function hpaMetric(spec: MetricSpec, cur: MetricStatus | undefined): string {
  const u = '<unknown>';
  switch (spec.type) {
    case 'Resource':
    case 'ContainerResource': {
      const s = (spec.resource ?? spec.containerResource)!;
      const c = (cur?.resource ?? cur?.containerResource)?.current;
      if (s.target.type === 'Utilization') return `${s.name}: ${c?.averageUtilization !== undefined ? `${c.averageUtilization}%` : u}/${s.target.averageUtilization}%`;
      return `${s.name}: ${c?.averageValue ?? u}/${s.target.averageValue}`;
    }
    case 'Pods':
      return `${cur?.pods?.current.averageValue ?? u}/${spec.pods!.target.averageValue}`;
    case 'Object':
    case 'External': {
      const s = (spec.object ?? spec.external)!;
      const c = (cur?.object ?? cur?.external)?.current;
      if (s.target.type === 'AverageValue') return `${c?.averageValue ?? u}/${s.target.averageValue} (avg)`;
      return `${c?.value ?? u}/${s.target.value}`;
    }
  }
  return u;
}

/** HorizontalPodAutoscaler: REFERENCE, TARGETS, MINPODS, MAXPODS, REPLICAS, AGE (kubectl's printHorizontalPodAutoscaler). */
export const hpaTable: TablePrinter = {
  columns: [
    col('Reference', 'Reference to target resource'),
    col('Targets', 'Targets of the metrics'),
    col('MinPods', 'Minimum number of pods', 0),
    col('MaxPods', 'Maximum number of pods', 0, 'integer'),
    col('Replicas', 'Current replicas', 0, 'integer'),
    AGE,
  ],
  cells: (o, now) => {
    const h = o as HorizontalPodAutoscaler;
    const metrics = h.spec.metrics ?? [];
    const cur = h.status?.currentMetrics ?? [];
    const parts = metrics.map((m, i) => hpaMetric(m, cur[i]?.type === m.type ? cur[i] : undefined));
    const targets = parts.length === 0 ? '<none>' : parts.length > 2 ? `${parts.slice(0, 2).join(', ')} + ${parts.length - 2} more...` : parts.join(', ');
    return [`${h.spec.scaleTargetRef?.kind ?? ''}/${h.spec.scaleTargetRef?.name ?? ''}`, targets, String(h.spec.minReplicas ?? 1), h.spec.maxReplicas ?? 0, h.status?.currentReplicas ?? 0, age(o, now)];
  },
};
