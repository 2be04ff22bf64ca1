/**
 * `instance` targets: an EC2 instance (berth's `ec2.berth.dev/v1` Instance) registered with a
 * target group on a port. What answers there is what answers on that port of the instance's Node,
 * as on a Kubernetes worker:
 *
 * 1. a running pod on the Node with a container port published on that `hostPort`;
 * 2. else, when the port is a Service's `nodePort`, kube-proxy's pick among the Service's ready
 *    endpoints (only those on the same Node when `externalTrafficPolicy: Local`), round robin;
 * 3. else nothing: the connection is refused, and the health check fails.
 *
 * An instance that is not running answers nothing. This is how the AWS Load Balancer Controller's
 * `instance` target type reaches pods (targets are the worker nodes on the Service's NodePort,
 * https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/service/nlb/) and
 * how an Auto Scaling group's instances are reached on the target group's port.
 */
import type { Pod } from '../api/types.js';
import type { Instance } from '../cloud/types.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import type { Manager } from '../runtime/manager.js';
import { EndpointSliceKind, SERVICE_NAME_LABEL, type EndpointSlice } from './endpoints.js';
import type { Service } from './service.js';

/** A pod and the port of it a request to an instance target reaches. */
export interface PodPort {
  pod: Pod;
  port: number;
}

/** Resolves instance targets to pods, from the manager's informer caches. */
export class InstancePorts {
  readonly instances: Informer<Instance>;
  private readonly pods: Informer<Pod>;
  private readonly services: Informer<Service>;
  private readonly slices: Informer<EndpointSlice>;
  private next = 0;

  constructor(mgr: Manager) {
    this.instances = mgr.informer<Instance>(Kinds.Instance);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.services = mgr.informer<Service>(Kinds.Service);
    this.slices = mgr.informer<EndpointSlice>(EndpointSliceKind);
    this.pods.cache.addIndex('elb:node', (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    this.services.cache.addIndex('elb:nodePort', (s) => (s.spec.type === 'NodePort' || s.spec.type === 'LoadBalancer' ? (s.spec.ports ?? []).filter((p) => p.nodePort).map((p) => String(p.nodePort)) : []));
    this.slices.cache.addIndex('elb:service', (s) => (s.metadata.labels?.[SERVICE_NAME_LABEL] ? [`${s.metadata.namespace}/${s.metadata.labels[SERVICE_NAME_LABEL]}`] : []));
  }

  /** The Node of a running instance, or undefined (no such instance, or not running). */
  nodeOf(instanceId: string): string | undefined {
    const inst = this.instances.cache.get(instanceId);
    return inst && inst.status?.state === 'running' && !inst.metadata.deletionTimestamp ? inst.status.nodeName : undefined;
  }

  /** What answers on `port` of the instance (see the module comment), or undefined: nothing. */
  resolve(instanceId: string, port: number): PodPort | undefined {
    const node = this.nodeOf(instanceId);
    if (!node) return undefined;
    for (const pod of this.pods.cache.byIndex('elb:node', node)) {
      if (pod.metadata.deletionTimestamp || pod.status?.phase !== 'Running') continue;
      for (const c of pod.spec.containers ?? []) for (const p of c.ports ?? []) if (p.hostPort === port && (p.protocol ?? 'TCP') === 'TCP') return { pod, port: p.containerPort };
    }
    for (const svc of this.services.cache.byIndex('elb:nodePort', String(port))) {
      const sp = (svc.spec.ports ?? []).find((p) => p.nodePort === port)!;
      const local = (svc.spec as { externalTrafficPolicy?: string }).externalTrafficPolicy === 'Local';
      const ready: PodPort[] = [];
      for (const s of this.slices.cache.byIndex('elb:service', `${svc.metadata.namespace}/${svc.metadata.name}`)) {
        const ep = (s.ports ?? []).find((p) => (sp.name ? p.name === sp.name : true))?.port;
        if (ep === undefined) continue;
        for (const e of s.endpoints ?? []) {
          if (!e.conditions.ready || e.conditions.terminating || !e.targetRef?.uid) continue;
          if (local && e.nodeName !== node) continue;
          const pod = this.pods.cache.get(`${svc.metadata.namespace}/${e.targetRef.name}`);
          if (pod && pod.metadata.uid === e.targetRef.uid && pod.status?.phase === 'Running') ready.push({ pod, port: ep });
        }
      }
      if (ready.length) return ready[this.next++ % ready.length];
    }
    return undefined;
  }
}
