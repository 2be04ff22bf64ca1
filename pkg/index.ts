/**
 * berth's public SDK: what `import { … } from 'berth'` gives. It is the API berth's own
 * controllers are written with (pkg/controllers): a Manager with shared informers, controllers
 * built with `controllerFor(mgr, Kind).owns(Child).complete(reconciler)`, level-based
 * reconcilers over a rate-limited work queue, events, finalizer and owner-reference helpers, and
 * leader election through Leases. A Client talks to the API in-process (`api.transport` of an
 * API server in the same process) or over HTTP (`connect()`), with the same semantics.
 *
 * ```ts
 * import { Manager, controllerFor, connect, Kinds, RealClock } from 'berth';
 *
 * const client = connect();                         // $KUBECONFIG or ~/.berth/kubeconfig
 * const mgr = new Manager({ client, clock: new RealClock() });
 * controllerFor(mgr, Kinds.Deployment).complete({
 *   async reconcile(ctx, key) {
 *     const [namespace, name] = key.split('/');
 *     const d = await ctx.client.tryGet(Kinds.Deployment, name!, namespace);
 *     if (d) ctx.log.info({ key, replicas: (d.spec as { replicas?: number }).replicas }, 'seen');
 *   },
 * });
 * await mgr.start(AbortSignal.timeout(60_000));
 * ```
 */

// The controller runtime.
export {
  Manager,
  Controller,
  ControllerBuilder,
  controllerFor,
  type ManagerOptions,
  type Reconciler,
  type ReconcileContext,
  type Result,
  type Runnable,
  type MapFunc,
} from './runtime/manager.js';
export { WorkQueue, type WorkQueueOptions } from './runtime/workqueue.js';
export { EventRecorder } from './runtime/events.js';
export { createLogger, silentLogger, type Logger } from './runtime/logger.js';
export { LeaderElector, type LeaderElectionOptions } from './runtime/leaderelection.js';
export { hasFinalizer, addFinalizer, removeFinalizer, setControllerReference, createOrUpdate, type OperationResult } from './runtime/helpers.js';

// The client: in-process or HTTP, informers and caches.
export { Client, Kinds } from './client/client.js';
export { HttpTransport, ConnectionError, type HttpTransportOptions } from './client/http.js';
export { connect, type ConnectOptions } from './client/connect.js';
export { Informer, ObjectCache, type EventHandler, type InformerOptions } from './client/informer.js';
export { kubeconfigPath, loadKubeconfig, KubeconfigError, type ResolvedKubeconfig } from './client/kubeconfig.js';
export type { KindRef, Transport, ListOptions, WatchOptions, WriteOptions, DeleteOptions, PatchType } from './client/types.js';

// Objects, errors, selectors, owner references and conditions.
export type * from './api/types.js';
export type * from './controllers/types.js';
export { StatusError, isNotFound, isConflict, isAlreadyExists, isReason, invalid, fieldInvalid, fieldRequired, fieldNotSupported, type FieldError } from './api/errors.js';
export { ownerRef, controllerRef, getCondition, setCondition, objectKeyOf, splitKey, clone, deepEqual } from './api/meta.js';
export { parseSelector, selectorFromLabelSelector, selectorFromMap, formatLabelSelector, Selector, SelectorError } from './api/labels.js';
export { parseQuantity, milliValue, value as quantityValue, resourceAmount, formatAmount } from './api/quantity.js';

// Clocks (controllers take one: real, scaled, or virtual for tests).
export { RealClock, ScaledClock, VirtualClock, type Clock } from './clock/clock.js';

// Running a cluster in the same process: the API server alone, or the whole control plane.
// Loaded on first use, so a controller that only talks to a server does not load them (the
// control plane brings every component: importing it costs about 4x the SDK's start-up CPU).
export type { ApiServer, CreateApiServerOptions } from './apiserver/index.js';
export type { ControlPlane, ControlPlaneOptions } from './controlplane/index.js';

/** Starts an API server in this process (see pkg/apiserver `createApiServer`): `{ registry, store, transport, http(), … }`. */
export async function createApiServer(opts: import('./apiserver/index.js').CreateApiServerOptions): Promise<import('./apiserver/index.js').ApiServer> {
  return (await import('./apiserver/index.js')).createApiServer(opts);
}

/** Assembles the whole control plane in this process (see pkg/controlplane `createControlPlane`); call `start()` on the result. */
export async function createControlPlane(opts: import('./controlplane/index.js').ControlPlaneOptions): Promise<import('./controlplane/index.js').ControlPlane> {
  return (await import('./controlplane/index.js')).createControlPlane(opts);
}
export { MemoryBackend } from './storage/memory/memory.js';
export { SqliteBackend } from './storage/sqlite/sqlite.js';
export type { Backend } from './storage/types.js';
