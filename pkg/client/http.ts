/**
 * The HTTP transport (undici): speaks the Kubernetes REST API to a berth server, or to any
 * Kubernetes API server, with the same semantics as the in-process transport.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { badRequest, StatusError } from '../api/errors.js';
import { groupVersion, type ResourceInfo, type Verb } from '../api/resources.js';
import type { KubeList, KubeObject, Status, WatchEvent } from '../api/types.js';
import type { BindOptions, DeleteOptions, ListOptions, PatchType, Transport, WatchOptions, WriteOptions } from './types.js';

export interface HttpTransportOptions {
  /** `http://127.0.0.1:6443` */
  server: string;
  token?: string;
  /** PEM strings for TLS client authentication and server verification. */
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipTlsVerify?: boolean;
  /** Per-request timeout in ms for non-watch calls (default 60 s). */
  timeoutMs?: number;
}

const PATCH_TYPES: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

/** Thrown when the server cannot be reached; `message` names the URL and the cause. */
export class ConnectionError extends Error {
  readonly code = 'ConnectionRefused';
  constructor(server: string, cause: string) {
    super(`the connection to the server ${server.replace(/^https?:\/\//, '')} was refused - did you specify the right host or port? (${cause})`);
    this.name = 'ConnectionError';
  }
}

export class HttpTransport implements Transport {
  private readonly base: string;
  private readonly dispatcher: Dispatcher;
  /**
   * Long-lived responses (watches, followed logs) each hold an HTTP/1.1 connection until they
   * end, so they get their own pool without a connection limit: sharing the 64 connections of
   * ordinary requests, a process with 64 informers (the controllers over HTTP) starved every
   * other request. (client-go multiplexes watches over one HTTP/2 connection instead.)
   */
  private readonly streams: Dispatcher;
  private readonly headers: Record<string, string>;

  constructor(readonly opts: HttpTransportOptions) {
    this.base = opts.server.replace(/\/$/, '');
    const connect = {
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.cert ? { cert: opts.cert } : {}),
      ...(opts.key ? { key: opts.key } : {}),
      rejectUnauthorized: !opts.insecureSkipTlsVerify,
    };
    this.dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 64, connect });
    this.streams = new Agent({ keepAliveTimeout: 30_000, connect });
    this.headers = { 'user-agent': 'berth/0.1', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) };
  }

  private path(r: ResourceInfo, namespace: string | undefined, name?: string, sub?: string): string {
    const root = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
    const nsPart = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${root}${nsPart}/${r.resource}${name ? `/${encodeURIComponent(name)}` : ''}${sub ? `/${sub}` : ''}`;
  }

  /** Sends one request; returns the parsed JSON (or text). Throws StatusError or ConnectionError. */
  async call(method: Dispatcher.HttpMethod, path: string, opts: { query?: Record<string, unknown>; body?: unknown; contentType?: string; accept?: string; text?: boolean } = {}): Promise<unknown> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '' && v !== false) url.searchParams.set(k, String(v));
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        dispatcher: this.dispatcher,
        headers: {
          ...this.headers,
          accept: opts.accept ?? 'application/json',
          ...(opts.body !== undefined ? { 'content-type': opts.contentType ?? 'application/json' } : {}),
        },
        ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) } : {}),
        headersTimeout: this.opts.timeoutMs ?? 60_000,
        bodyTimeout: this.opts.timeoutMs ?? 60_000,
      });
    } catch (e) {
      throw new ConnectionError(this.base, (e as Error).message);
    }
    const text = await res.body.text();
    if (res.statusCode >= 400) throw toStatusError(res.statusCode, text);
    if (opts.text) return text;
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  async discover(): Promise<ResourceInfo[]> {
    const out: ResourceInfo[] = [];
    for (const root of ['/api', '/apis']) {
      const doc = (await this.call('GET', root, { accept: AGGREGATED })) as { kind?: string; items?: AggregatedGroup[] };
      if (doc?.kind !== 'APIGroupDiscoveryList') throw badRequest(`the server at ${this.base} does not serve aggregated discovery`);
      for (const g of doc.items ?? []) {
        for (const v of g.versions) {
          for (const r of v.resources) {
            out.push({
              group: g.metadata.name,
              version: v.version,
              resource: r.resource,
              singular: r.singularResource ?? r.resource,
              kind: r.responseKind.kind,
              listKind: `${r.responseKind.kind}List`,
              namespaced: r.scope === 'Namespaced',
              shortNames: r.shortNames ?? [],
              categories: r.categories ?? [],
              verbs: r.verbs as Verb[],
              subresources: (r.subresources ?? []).map((s) => s.subresource),
              selectableFields: [],
            });
          }
        }
      }
    }
    return out;
  }

  async get(r: ResourceInfo, namespace: string | undefined, name: string, subresource?: string): Promise<KubeObject> {
    return (await this.call('GET', this.path(r, namespace, name, subresource))) as KubeObject;
  }

  async list(r: ResourceInfo, namespace: string | undefined, opts: ListOptions): Promise<KubeList> {
    return (await this.call('GET', this.path(r, namespace), { query: { ...opts } })) as KubeList;
  }

  async table(r: ResourceInfo, namespace: string | undefined, name: string | undefined, opts: ListOptions): Promise<unknown> {
    return this.call('GET', this.path(r, namespace, name), { query: { ...opts }, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
  }

  private writeQuery(opts: WriteOptions): Record<string, unknown> {
    return { ...(opts.dryRun ? { dryRun: 'All' } : {}), ...(opts.fieldManager ? { fieldManager: opts.fieldManager } : {}), ...(opts.force ? { force: 'true' } : {}), ...(opts.fieldValidation ? { fieldValidation: opts.fieldValidation } : {}) };
  }

  async create(r: ResourceInfo, namespace: string | undefined, obj: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    return (await this.call('POST', this.path(r, namespace), { body: { apiVersion: groupVersion(r), kind: r.kind, ...obj }, query: this.writeQuery(opts) })) as KubeObject;
  }

  async update(r: ResourceInfo, namespace: string | undefined, name: string, obj: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    return (await this.call('PUT', this.path(r, namespace, name, opts.subresource), { body: obj, query: this.writeQuery(opts) })) as KubeObject;
  }

  async patch(r: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts: WriteOptions): Promise<KubeObject> {
    return (await this.call('PATCH', this.path(r, namespace, name, opts.subresource), { body, contentType: PATCH_TYPES[type], query: this.writeQuery(opts) })) as KubeObject;
  }

  async delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<KubeObject> {
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', ...opts, ...(opts.dryRun ? { dryRun: ['All'] } : {}) };
    return (await this.call('DELETE', this.path(r, namespace, name), { body })) as KubeObject;
  }

  async bind(namespace: string, name: string, nodeName: string, uid?: string, opts: BindOptions = {}): Promise<void> {
    await this.call('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/binding`, {
      body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, ...(uid ? { uid } : {}), ...(opts.annotations ? { annotations: opts.annotations } : {}) }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } },
    });
  }

  async logs(namespace: string, name: string, opts: { container?: string; tailLines?: number; previous?: boolean }): Promise<string> {
    return (await this.call('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/log`, { query: { ...opts }, text: true })) as string;
  }

  /**
   * A GET whose body is read as it arrives (followed logs): yields text chunks until the server
   * ends the response or `signal` aborts. Throws StatusError before the first chunk, or ConnectionError.
   */
  async stream(path: string, query: Record<string, unknown>, signal: AbortSignal): Promise<AsyncIterable<string>> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '' && v !== false) url.searchParams.set(k, String(v));
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { method: 'GET', dispatcher: this.streams, headers: { ...this.headers, accept: '*/*' }, signal, bodyTimeout: 0, headersTimeout: this.opts.timeoutMs ?? 60_000 });
    } catch (e) {
      if (signal.aborted) return (async function* () {})();
      throw new ConnectionError(this.base, (e as Error).message);
    }
    if (res.statusCode >= 400) throw toStatusError(res.statusCode, await res.body.text());
    const body = res.body;
    return (async function* () {
      try {
        for await (const chunk of body) yield typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
      } catch (e) {
        if (!signal.aborted) throw e;
      }
    })();
  }

  /** Closes the connection pool (a CLI command that is done). */
  async close(): Promise<void> {
    await Promise.all([this.dispatcher.close(), this.streams.close()]);
  }

  async watch(r: ResourceInfo, namespace: string | undefined, opts: WatchOptions, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>> {
    return this.openWatch(r, namespace, opts, 'application/json', signal);
  }

  /**
   * A watch whose events carry one-row `meta.k8s.io/v1` Tables (what `get -w` prints), as kubectl
   * asks for them. Throws StatusError before the stream, or ConnectionError.
   */
  async watchTable(r: ResourceInfo, namespace: string | undefined, opts: WatchOptions, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>> {
    return this.openWatch(r, namespace, opts, 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json', signal);
  }

  private async openWatch(r: ResourceInfo, namespace: string | undefined, opts: WatchOptions, accept: string, signal: AbortSignal): Promise<AsyncIterable<WatchEvent>> {
    const url = new URL(this.base + this.path(r, namespace));
    url.searchParams.set('watch', 'true');
    for (const [k, v] of Object.entries(opts)) if (v !== undefined && v !== '' && v !== false) url.searchParams.set(k, String(v));
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { method: 'GET', dispatcher: this.streams, headers: { ...this.headers, accept }, signal, bodyTimeout: 0, headersTimeout: this.opts.timeoutMs ?? 60_000 });
    } catch (e) {
      if (signal.aborted) return (async function* () {})();
      throw new ConnectionError(this.base, (e as Error).message);
    }
    if (res.statusCode >= 400) throw toStatusError(res.statusCode, await res.body.text());
    return lines(res.body, signal);
  }
}

interface AggregatedGroup {
  metadata: { name: string };
  versions: {
    version: string;
    resources: { resource: string; singularResource?: string; responseKind: { kind: string }; scope: string; verbs: string[]; shortNames?: string[]; categories?: string[]; subresources?: { subresource: string }[] }[];
  }[];
}

/** Splits a chunked body into watch events, one JSON document per line. */
async function* lines(body: AsyncIterable<Buffer | string>, signal: AbortSignal): AsyncGenerator<WatchEvent> {
  let buf = '';
  try {
    for await (const chunk of body) {
      buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line) continue;
        const ev = JSON.parse(line) as WatchEvent;
        if (ev.type === 'ERROR') throw StatusError.fromStatus(ev.object as unknown as Status);
        yield ev;
      }
    }
  } catch (e) {
    if (signal.aborted) return;
    throw e;
  }
}

/** Turns an error response into a StatusError (a non-Status body gets a generic message). */
export function toStatusError(code: number, text: string): StatusError {
  try {
    const s = JSON.parse(text) as Status;
    if (s.kind === 'Status') return StatusError.fromStatus({ ...s, code: s.code ?? code });
  } catch {
    // not JSON
  }
  const reason = code === 404 ? 'NotFound' : code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : code >= 500 ? 'InternalError' : 'BadRequest';
  return new StatusError(code, reason, text.trim() || `the server responded with status ${code}`);
}
