/**
 * Service helpers shared by the Endpoints/EndpointSlice controller and the load balancer: the
 * Service shape berth reads, and resolving a `targetPort` (a number, or a container port's name)
 * against one pod, as kube-proxy and the endpoints controller do
 * (k8s.io/kubernetes/pkg/api/v1/pod.FindPort).
 */
import type { KubeObject, Pod } from '../api/types.js';

/** One port of a Service (`spec.ports[]`). */
export interface ServicePort {
  name?: string;
  protocol?: string;
  port: number;
  /** A number, or the name of a container port of the selected pods (default: `port`). */
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

/** The parts of a Service berth acts on. */
export interface Service extends KubeObject {
  spec: {
    type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
    selector?: Record<string, string>;
    ports?: ServicePort[];
    clusterIP?: string;
    clusterIPs?: string[];
    publishNotReadyAddresses?: boolean;
    sessionAffinity?: 'None' | 'ClientIP';
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    externalTrafficPolicy?: string;
    loadBalancerClass?: string;
  };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

/**
 * The container port a Service port reaches on `pod`: the number itself, or the `containerPort`
 * of the pod's container port named `targetPort` (undefined when the pod has no such port).
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  const protocol = sp.protocol ?? 'TCP';
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

/** True when the Service selects pods (not ExternalName, a non-empty selector). */
export function selectsPods(svc: Service): boolean {
  return svc.spec.type !== 'ExternalName' && !!svc.spec.selector && Object.keys(svc.spec.selector).length > 0;
}
