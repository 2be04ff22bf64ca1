/**
 * `get -w` needs watch events as one-row Tables (`Accept: …;as=Table;g=meta.k8s.io`); the HTTP
 * transport's `watchTable` asks for them with the kubeconfig's TLS and token.
 */
import type { ResourceInfo } from '../api/resources.js';
import type { HttpTransport } from '../client/http.js';
import type { ServerTable } from './printers.js';

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
export async function watchTables(transport: HttpTransport, r: ResourceInfo, namespace: string | undefined, q: TableWatchQuery, signal: AbortSignal): Promise<AsyncIterable<TableWatchEvent>> {
  return (await transport.watchTable(r, namespace, q, signal)) as unknown as AsyncIterable<TableWatchEvent>;
}
