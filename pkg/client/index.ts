/** The client: typed access to the API over any transport, informers and caches. */
export * from './types.js';
export { Client, Kinds } from './client.js';
export { HttpTransport, ConnectionError, toStatusError, type HttpTransportOptions } from './http.js';
export { Informer, ObjectCache, type EventHandler, type InformerOptions } from './informer.js';
export { kubeconfigPath, loadKubeconfig, renderKubeconfig, KubeconfigError, type ResolvedKubeconfig } from './kubeconfig.js';
export { connect, type ConnectOptions } from './connect.js';
