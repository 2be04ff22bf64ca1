/**
 * Fluent builders for test objects, in kube-scheduler's style:
 * `makePod('web').req({ cpu: '500m', memory: '1Gi' }).toleration({ key: 'gpu', operator: 'Exists' }).obj()`,
 * `makeNode('n1').capacity({ cpu: '4', memory: '16Gi', pods: '110' }).label('zone', 'a').obj()`.
 */
import type { Node, Pod, ResourceList, Taint, Toleration } from '../api/types.js';

export class PodBuilder {
  private readonly pod: Pod;

  constructor(name: string, namespace = 'default') {
    this.pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, uid: `uid-${namespace}-${name}`, labels: {} },
      spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9', resources: {} }], schedulerName: 'default-scheduler' },
      status: { phase: 'Pending' },
    };
  }

  /** Sets the requests of the first container. */
  req(r: ResourceList): this {
    this.pod.spec.containers[0]!.resources = { ...this.pod.spec.containers[0]!.resources, requests: { ...r } };
    return this;
  }

  /** Sets the limits of the first container. */
  lim(r: ResourceList): this {
    this.pod.spec.containers[0]!.resources = { ...this.pod.spec.containers[0]!.resources, limits: { ...r } };
    return this;
  }

  /** Adds another app container with these requests. */
  container(name: string, requests: ResourceList = {}): this {
    this.pod.spec.containers.push({ name, image: 'registry.k8s.io/pause:3.9', resources: { requests } });
    return this;
  }

  /** Adds an init container with these requests (`sidecar` makes it restartPolicy Always). */
  init(name: string, requests: ResourceList = {}, sidecar = false): this {
    (this.pod.spec.initContainers ??= []).push({ name, image: 'busybox', resources: { requests }, ...(sidecar ? { restartPolicy: 'Always' as const } : {}) });
    return this;
  }

  label(k: string, v: string): this {
    this.pod.metadata.labels![k] = v;
    return this;
  }

  nodeSelector(sel: Record<string, string>): this {
    this.pod.spec.nodeSelector = { ...sel };
    return this;
  }

  toleration(t: Toleration): this {
    (this.pod.spec.tolerations ??= []).push(t);
    return this;
  }

  node(name: string): this {
    this.pod.spec.nodeName = name;
    return this;
  }

  priority(p: number): this {
    this.pod.spec.priority = p;
    return this;
  }

  schedulerName(n: string): this {
    this.pod.spec.schedulerName = n;
    return this;
  }

  phase(p: NonNullable<Pod['status']>['phase']): this {
    this.pod.status = { ...this.pod.status, phase: p };
    return this;
  }

  /** Arbitrary changes to the pod spec. */
  spec(fn: (s: Pod['spec']) => void): this {
    fn(this.pod.spec);
    return this;
  }

  obj(): Pod {
    return JSON.parse(JSON.stringify(this.pod)) as Pod;
  }
}

export class NodeBuilder {
  private readonly node: Node;

  constructor(name: string) {
    this.node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, uid: `uid-node-${name}`, labels: { 'kubernetes.io/hostname': name } },
      spec: {},
      status: { capacity: {}, allocatable: {}, conditions: [{ type: 'Ready', status: 'True' }] },
    };
  }

  /** Sets capacity and (unless set separately) allocatable. */
  capacity(r: ResourceList): this {
    this.node.status!.capacity = { pods: '110', ...r };
    this.node.status!.allocatable = { pods: '110', ...r };
    return this;
  }

  allocatable(r: ResourceList): this {
    this.node.status!.allocatable = { pods: '110', ...r };
    return this;
  }

  label(k: string, v: string): this {
    this.node.metadata.labels![k] = v;
    return this;
  }

  taint(t: Taint): this {
    (this.node.spec.taints ??= []).push(t);
    return this;
  }

  unschedulable(u = true): this {
    this.node.spec.unschedulable = u;
    return this;
  }

  notReady(): this {
    this.node.status!.conditions = [{ type: 'Ready', status: 'False' }];
    return this;
  }

  obj(): Node {
    return JSON.parse(JSON.stringify(this.node)) as Node;
  }
}

export const makePod = (name: string, namespace?: string): PodBuilder => new PodBuilder(name, namespace);
export const makeNode = (name: string): NodeBuilder => new NodeBuilder(name);
