/**
 * The client contract. Controllers, the scheduler, agents and the CLI talk to the API through a
 * Transport: in-process (a direct call into the API layer, no HTTP; provided by the apiserver
 * package) or HTTP (to a server in another process or on another host). Both have the same
 * semantics: the same objects, the same StatusErrors.
 */
import type { ResourceInfo } from '../api/resources.js';
import type { KubeList, KubeObject, WatchEvent } from '../api/types.js';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /** Seconds after which the server ends the watch. */
  timeoutSeconds?: number;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  subresource?: 'status' | 'scale';
  force?: boolean;
  /** Unknown or duplicate fields: `Strict` fails the write (what kubectl sends by default), `Warn` warns, `Ignore` drops them. Over HTTP only. */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** Extras of a Binding (`POST pods/<name>/binding`). */
export interface BindOptions {
  /** Annotations of the Binding, copied onto the pod (the scheduler's explanation travels this way). */
  annotations?: Record<string, string>;
}

/** The wire a Client speaks through. Every method throws StatusError for API errors. */
export interface Transport {
  /** Served resources, as discovery lists them (refreshed on each call for HTTP). */
  discover(): Promise<ResourceInfo[]>;
  get(r: ResourceInfo, namespace: string | undefined, name: string, subresource?: string): Promise<KubeObject>;
  list(r: ResourceInfo, namespace: string | undefined, opts: ListOptions): Promise<KubeList>;
  create(r: ResourceInfo, namespace: string | undefined, obj: KubeObject, opts: WriteOptions): Promise<KubeObject>;
  update(r: ResourceInfo, namespace: string | undefined, name: string, obj: KubeObject, opts: WriteOptions): Promise<KubeObject>;
  patch(r: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts: WriteOptions): Promise<KubeObject>;
  delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<KubeObject>;
  /** Objects arriving through a watch are shared and read-only in-process: copy before changing. */
  watch(r: ResourceInfo, namespace: string | undefined, opts: WatchOptions, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>>;
  bind(namespace: string, name: string, nodeName: string, uid?: string, opts?: BindOptions): Promise<void>;
  /** Server-side printing: a `meta.k8s.io/v1 Table` of a list or one object. */
  table(r: ResourceInfo, namespace: string | undefined, name: string | undefined, opts: ListOptions): Promise<unknown>;
  /** A pod's container log as text. */
  logs(namespace: string, name: string, opts: { container?: string; tailLines?: number; previous?: boolean }): Promise<string>;
}

/** Names a kind: `{ apiVersion: 'apps/v1', kind: 'Deployment' }`. */
export interface KindRef {
  apiVersion: string;
  kind: string;
}
