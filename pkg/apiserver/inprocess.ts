/**
 * The in-process transport: a client call goes straight into the ObjectStore, with no HTTP and
 * no serialization beyond what the store does, and the same semantics as over the wire.
 * Used by the all-in-one server's controllers, scheduler and agent, and by `berth simulate`.
 * Bodies go through `fieldValidation` as over HTTP (Strict refuses unknown fields; Warn, the
 * default, and Ignore drop them), so an object is stored the same whichever way it came in; the
 * warnings Warn would send have no one to go to here and are dropped.
 */
import { badRequest } from '../api/errors.js';
import { clone } from '../api/meta.js';
import type { ResourceInfo } from '../api/resources.js';
import type { KubeList, KubeObject, WatchEvent } from '../api/types.js';
import type { BindOptions, DeleteOptions, ListOptions, PatchType, Transport, WatchOptions, WriteOptions } from '../client/types.js';
import type { PodLogSource } from './app.js';
import { applyFieldValidation, parseFieldValidation } from './fieldvalidation.js';
import { toScale, fromScale } from './scale.js';
import type { ObjectStore } from './store.js';
import type { TableRegistry } from './tables.js';

export class InProcessTransport implements Transport {
  constructor(
    private readonly store: ObjectStore,
    private readonly tables: TableRegistry,
    private readonly logSource: { current?: PodLogSource } = {},
  ) {}

  async discover(): Promise<ResourceInfo[]> {
    return this.store.registry.all();
  }

  private resolve(r: ResourceInfo): ResourceInfo {
    // The server's own entry carries what discovery omits (selectable fields, scale paths).
    return this.store.registry.get(r.group, r.version, r.resource) ?? r;
  }

  async get(r: ResourceInfo, namespace: string | undefined, name: string, subresource?: string): Promise<KubeObject> {
    const info = this.resolve(r);
    const obj = await this.store.get(info, namespace, name);
    return subresource === 'scale' ? toScale(info, obj) : obj;
  }

  async list(r: ResourceInfo, namespace: string | undefined, opts: ListOptions): Promise<KubeList> {
    return this.store.list(this.resolve(r), namespace, opts);
  }

  async table(r: ResourceInfo, namespace: string | undefined, name: string | undefined, opts: ListOptions): Promise<unknown> {
    const info = this.resolve(r);
    const now = this.store.clock.now();
    if (name) {
      const obj = await this.store.get(info, namespace, name);
      return this.tables.toTable(info, [obj], now, 'Metadata', { resourceVersion: obj.metadata.resourceVersion! });
    }
    const list = await this.store.list(info, namespace, opts);
    return this.tables.toTable(info, list.items, now, 'Metadata', list.metadata);
  }

  /** The body with `fieldValidation` applied (a copy when fields were dropped). Throws BadRequest (Strict). */
  private checked<T>(info: ResourceInfo, body: T, opts: WriteOptions, patch: boolean): T {
    return applyFieldValidation(info, body, parseFieldValidation(opts.fieldValidation), patch).body;
  }

  async create(r: ResourceInfo, namespace: string | undefined, obj: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    const info = this.resolve(r);
    return clone(await this.store.create(info, namespace, this.checked(info, obj, opts, false), opts));
  }

  async update(r: ResourceInfo, namespace: string | undefined, name: string, obj: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    const info = this.resolve(r);
    if (opts.subresource === 'scale') {
      const current = await this.store.get(info, namespace, name);
      return toScale(info, await this.store.update(info, namespace, name, fromScale(info, current, obj), opts));
    }
    return clone(await this.store.update(info, namespace, name, this.checked(info, obj, opts, false), opts));
  }

  async patch(r: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts: WriteOptions): Promise<KubeObject> {
    const info = this.resolve(r);
    return clone(await this.store.patch(info, namespace, name, type, type === 'json' ? body : this.checked(info, body, opts, type !== 'apply'), opts));
  }

  async delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<KubeObject> {
    return this.store.delete(this.resolve(r), namespace, name, opts);
  }

  async watch(r: ResourceInfo, namespace: string | undefined, opts: WatchOptions, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>> {
    const { timeoutSeconds, ...rest } = opts;
    let s = signal;
    if (timeoutSeconds) {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), timeoutSeconds * 1000);
      t.unref?.();
      signal.addEventListener('abort', () => ac.abort(), { once: true });
      s = ac.signal;
    }
    return this.store.watch(this.resolve(r), namespace, rest, s);
  }

  async bind(namespace: string, name: string, nodeName: string, uid?: string, opts: BindOptions = {}): Promise<void> {
    await this.store.bind(namespace, name, nodeName, uid, opts.annotations);
  }

  async logs(namespace: string, name: string, opts: { container?: string; tailLines?: number; previous?: boolean }): Promise<string> {
    const pods = this.store.registry.get('', 'v1', 'pods')!;
    const pod = await this.store.get(pods, namespace, name);
    const source = this.logSource.current;
    if (!source) throw badRequest('no container runtime serves logs on this server');
    const container = opts.container ?? (pod.spec as { containers: { name: string }[] }).containers[0]!.name;
    const out = await source.logs(pod, container, { ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}), ...(opts.previous ? { previous: true } : {}) }, new AbortController().signal);
    if (typeof out === 'string') return out;
    let text = '';
    for await (const chunk of out) text += chunk;
    return text;
  }
}
