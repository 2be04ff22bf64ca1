import { notFound, StatusError } from '../api/errors.js';
import { ResourceRegistry, UnknownResourceError, type ResourceInfo } from '../api/resources.js';
import type { KubeList, KubeObject, WatchEvent } from '../api/types.js';
import type { BindOptions, DeleteOptions, KindRef, ListOptions, PatchType, Transport, WatchOptions, WriteOptions } from './types.js';

/** Kind references for the kinds berth's own components use. */
export const Kinds = {
  Namespace: { apiVersion: 'v1', kind: 'Namespace' },
  Pod: { apiVersion: 'v1', kind: 'Pod' },
  Node: { apiVersion: 'v1', kind: 'Node' },
  Service: { apiVersion: 'v1', kind: 'Service' },
  Endpoints: { apiVersion: 'v1', kind: 'Endpoints' },
  ConfigMap: { apiVersion: 'v1', kind: 'ConfigMap' },
  Secret: { apiVersion: 'v1', kind: 'Secret' },
  Event: { apiVersion: 'v1', kind: 'Event' },
  Deployment: { apiVersion: 'apps/v1', kind: 'Deployment' },
  ReplicaSet: { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
  StatefulSet: { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  DaemonSet: { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  Job: { apiVersion: 'batch/v1', kind: 'Job' },
  CronJob: { apiVersion: 'batch/v1', kind: 'CronJob' },
  ControllerRevision: { apiVersion: 'apps/v1', kind: 'ControllerRevision' },
  PersistentVolumeClaim: { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  PodDisruptionBudget: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  ResourceQuota: { apiVersion: 'v1', kind: 'ResourceQuota' },
  LimitRange: { apiVersion: 'v1', kind: 'LimitRange' },
  Lease: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' },
  CustomResourceDefinition: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' },
  Instance: { apiVersion: 'ec2.berth.dev/v1', kind: 'Instance' },
  InstanceType: { apiVersion: 'ec2.berth.dev/v1', kind: 'InstanceType' },
  AutoScalingGroup: { apiVersion: 'autoscaling.berth.dev/v1', kind: 'AutoScalingGroup' },
} as const satisfies Record<string, KindRef>;

/**
 * A client over any Transport. Kinds are named by apiVersion and kind; the client maps them to
 * served resources through discovery, refreshing once on a miss (a CRD installed since).
 *
 * Objects it returns are the caller's own copies, except those delivered by `watch`, which may be
 * shared with other watchers in-process: treat watched objects as read-only.
 */
export class Client {
  private registry: ResourceRegistry;
  private discovered = false;

  constructor(readonly transport: Transport) {
    this.registry = new ResourceRegistry();
  }

  /** The served resource of a kind. Throws UnknownResourceError. */
  async info(ref: KindRef): Promise<ResourceInfo> {
    let r = this.registry.forKind(ref.apiVersion, ref.kind);
    if (r && (!r.crd || this.discovered)) return r;
    await this.refresh();
    r = this.registry.forKind(ref.apiVersion, ref.kind);
    if (!r) throw new UnknownResourceError(`no matches for kind "${ref.kind}" in version "${ref.apiVersion}"`);
    return r;
  }

  /** Resolves what a user typed (`po`, `deploy`, `shirts.stable.example.com`). Throws UnknownResourceError. */
  async resolve(name: string): Promise<ResourceInfo> {
    try {
      if (this.discovered) return this.registry.resolve(name);
    } catch {
      // refresh below
    }
    await this.refresh();
    return this.registry.resolve(name);
  }

  /** Every served resource, freshly discovered. */
  async resources(): Promise<ResourceRegistry> {
    await this.refresh();
    return this.registry;
  }

  private async refresh(): Promise<void> {
    this.registry = new ResourceRegistry(await this.transport.discover());
    this.discovered = true;
  }

  async get<T extends KubeObject = KubeObject>(ref: KindRef, name: string, namespace?: string): Promise<T> {
    const r = await this.info(ref);
    return (await this.transport.get(r, ns(r, namespace), name)) as T;
  }

  /** Like get, but undefined for NotFound. */
  async tryGet<T extends KubeObject = KubeObject>(ref: KindRef, name: string, namespace?: string): Promise<T | undefined> {
    try {
      return await this.get<T>(ref, name, namespace);
    } catch (e) {
      if (e instanceof StatusError && e.reason === 'NotFound') return undefined;
      throw e;
    }
  }

  async list<T extends KubeObject = KubeObject>(ref: KindRef, opts: ListOptions & { namespace?: string } = {}): Promise<KubeList<T>> {
    const r = await this.info(ref);
    const { namespace, ...rest } = opts;
    return (await this.transport.list(r, r.namespaced ? namespace : undefined, rest)) as KubeList<T>;
  }

  async create<T extends KubeObject>(obj: T, opts: WriteOptions = {}): Promise<T> {
    const r = await this.info(refOf(obj));
    return (await this.transport.create(r, ns(r, obj.metadata.namespace), obj, opts)) as T;
  }

  /** Replaces an object; `metadata.resourceVersion` in it makes the write conditional. */
  async update<T extends KubeObject>(obj: T, opts: WriteOptions = {}): Promise<T> {
    const r = await this.info(refOf(obj));
    return (await this.transport.update(r, ns(r, obj.metadata.namespace), obj.metadata.name!, obj, opts)) as T;
  }

  /** Writes an object's status subresource. */
  async updateStatus<T extends KubeObject>(obj: T): Promise<T> {
    const r = await this.info(refOf(obj));
    if (!r.subresources.includes('status')) return this.update(obj);
    return (await this.transport.update(r, ns(r, obj.metadata.namespace), obj.metadata.name!, obj, { subresource: 'status' })) as T;
  }

  async patch<T extends KubeObject = KubeObject>(ref: KindRef, name: string, namespace: string | undefined, type: PatchType, body: unknown, opts: WriteOptions = {}): Promise<T> {
    const r = await this.info(ref);
    return (await this.transport.patch(r, ns(r, namespace), name, type, body, opts)) as T;
  }

  async delete(ref: KindRef, name: string, namespace?: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    const r = await this.info(ref);
    return this.transport.delete(r, ns(r, namespace), name, opts);
  }

  /** Deletes, treating NotFound as done. Returns true if something was deleted. */
  async deleteIfExists(ref: KindRef, name: string, namespace?: string, opts: DeleteOptions = {}): Promise<boolean> {
    try {
      await this.delete(ref, name, namespace, opts);
      return true;
    } catch (e) {
      if (e instanceof StatusError && e.reason === 'NotFound') return false;
      throw e;
    }
  }

  async watch(ref: KindRef, opts: WatchOptions & { namespace?: string }, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>> {
    const r = await this.info(ref);
    const { namespace, ...rest } = opts;
    return this.transport.watch(r, r.namespaced ? namespace : undefined, rest, signal);
  }

  /**
   * Binds a pod to a node (the scheduler's write). `opts.annotations` travel in the Binding's
   * metadata and are copied onto the pod, as Kubernetes does.
   */
  async bind(namespace: string, name: string, nodeName: string, uid?: string, opts: BindOptions = {}): Promise<void> {
    return this.transport.bind(namespace, name, nodeName, uid, opts);
  }

  /**
   * Read-modify-write with retry on Conflict: `mutate` gets a fresh copy and returns the object
   * to write, or undefined to write nothing. Throws NotFound if the object is gone.
   */
  async modify<T extends KubeObject>(ref: KindRef, name: string, namespace: string | undefined, mutate: (obj: T) => T | undefined | void, opts: { status?: boolean; attempts?: number } = {}): Promise<T | undefined> {
    const attempts = opts.attempts ?? 10;
    for (let i = 0; ; i++) {
      const cur = await this.get<T>(ref, name, namespace);
      const next = mutate(cur) ?? undefined;
      if (next === undefined) return undefined;
      try {
        return opts.status ? await this.updateStatus(next) : await this.update(next);
      } catch (e) {
        if (e instanceof StatusError && e.reason === 'Conflict' && i < attempts) continue;
        throw e;
      }
    }
  }
}

function ns(r: ResourceInfo, namespace: string | undefined): string | undefined {
  return r.namespaced ? (namespace ?? 'default') : undefined;
}

function refOf(obj: KubeObject): KindRef {
  if (!obj.apiVersion || !obj.kind) throw notFound('kinds', `${obj.apiVersion ?? '?'}/${obj.kind ?? '?'}`);
  return { apiVersion: obj.apiVersion, kind: obj.kind };
}
