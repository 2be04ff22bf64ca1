/**
 * `get -w` needs watch events as one-row Tables (`Accept: …;as=Table;g=meta.k8s.io`), which the
 * client's transport does not ask for; this is that one request, with the kubeconfig's TLS and
 * token, yielding events until the stream ends or `signal` aborts.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { StatusError } from '../api/errors.js';
import type { ResourceInfo } from '../api/resources.js';
import type { Status } from '../api/types.js';
import { ConnectionError, toStatusError, type HttpTransportOptions } from '../client/http.js';
import type { ServerTable } from './printers.js';

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

export interface TableWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: ServerTable;
}

export interface TableWatchQuery {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** Opens a Table watch. Throws StatusError (before the stream) or ConnectionError. */
export async function watchTables(opts: HttpTransportOptions, r: ResourceInfo, namespace: string | undefined, q: TableWatchQuery, signal: AbortSignal): Promise<AsyncIterable<TableWatchEvent>> {
  const base = opts.server.replace(/\/$/, '');
  const root = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const nsPart = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const url = new URL(`${base}${root}${nsPart}/${r.resource}`);
  url.searchParams.set('watch', 'true');
  for (const [k, v] of Object.entries(q)) if (v) url.searchParams.set(k, v);
  const dispatcher = new Agent({
    connect: {
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.cert ? { cert: opts.cert } : {}),
      ...(opts.key ? { key: opts.key } : {}),
      rejectUnauthorized: !opts.insecureSkipTlsVerify,
    },
  });
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'GET',
      dispatcher,
      signal,
      headers: { accept: TABLE_ACCEPT, 'user-agent': 'berth/0.1', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      bodyTimeout: 0,
      headersTimeout: opts.timeoutMs ?? 60_000,
    });
  } catch (e) {
    await dispatcher.close().catch(() => undefined);
    if (signal.aborted) return (async function* () {})();
    throw new ConnectionError(base, (e as Error).message);
  }
  if (res.statusCode >= 400) {
    const text = await res.body.text();
    await dispatcher.close().catch(() => undefined);
    throw toStatusError(res.statusCode, text);
  }
  return events(res.body, signal, dispatcher);
}

async function* events(body: AsyncIterable<Buffer | string>, signal: AbortSignal, dispatcher: Agent): AsyncGenerator<TableWatchEvent> {
  let buf = '';
  try {
    for await (const chunk of body) {
      buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line) continue;
        const ev = JSON.parse(line) as { type: string; object: unknown };
        if (ev.type === 'ERROR') throw StatusError.fromStatus(ev.object as Status);
        yield ev as TableWatchEvent;
      }
    }
  } catch (e) {
    if (!signal.aborted) throw e;
  } finally {
    await dispatcher.destroy().catch(() => undefined);
  }
}
