/**
 * Connecting a Client to a server over HTTP, from a kubeconfig or a URL.
 */
import { Client } from './client.js';
import { HttpTransport, type HttpTransportOptions } from './http.js';
import { kubeconfigPath, loadKubeconfig } from './kubeconfig.js';

export interface ConnectOptions {
  /** The API server URL (`http://127.0.0.1:6443`); wins over the kubeconfig. */
  server?: string;
  /** A kubeconfig path (default `$KUBECONFIG`, then `~/.berth/kubeconfig`). */
  kubeconfig?: string;
  /** A kubeconfig context (default its current context). */
  context?: string;
  /** Extra transport options (token, TLS, timeouts). */
  transport?: Partial<HttpTransportOptions>;
}

/**
 * A Client speaking HTTP to a berth (or Kubernetes) API server. Throws KubeconfigError when no
 * `server` is given and the kubeconfig cannot be read.
 */
export function connect(opts: ConnectOptions = {}): Client {
  if (opts.server) return new Client(new HttpTransport({ ...opts.transport, server: opts.server }));
  const kc = loadKubeconfig(kubeconfigPath(opts.kubeconfig), opts.context);
  return new Client(new HttpTransport({ ...kc.transport, ...opts.transport }));
}
