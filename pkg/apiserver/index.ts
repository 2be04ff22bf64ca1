/**
 * The API server: object semantics (ObjectStore), the HTTP app, and the in-process transport.
 * `createApiServer` assembles them over a storage Backend and bootstraps what every cluster
 * has (the default namespaces and the `kubernetes` Service).
 */
import { BUILTIN_HOOKS } from '../api/hooks.js';
import { ResourceRegistry } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import type { Clock } from '../clock/clock.js';
import type { Backend } from '../storage/types.js';
import { BUILTIN_ADMISSION } from './admission.js';
import { buildApiServer, type ApiServerOptions, type PodExecSource, type PodLogSource, type PodPortForwardSource } from './app.js';
import { CustomResourceManager } from './crd.js';
import { InProcessTransport } from './inprocess.js';
import { requestsUsage, VIRTUAL_RESOURCES, type PodMetricsSource } from './virtual.js';
import { ObjectStore } from './store.js';
import { TableRegistry } from './tables.js';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';

export { ObjectStore, FINALIZER_FOREGROUND, FINALIZER_ORPHAN, PATCH_CONTENT_TYPES, type AdmissionPlugin, type AdmissionRequest, type CommitEvent } from './store.js';
export { buildApiServer, parseResourcePath, KUBE_VERSION, auditAnnotationsOf, addWarnings, type PodLogSource, type LogOptions, type PodExecSource, type PodPortForwardSource, type ExecStreams } from './app.js';
export { InProcessTransport } from './inprocess.js';
export { requestsUsage, evictPod, BERTH_USER, type PodMetricsSource, type ContainerUsage } from './virtual.js';
export { TableRegistry, col, age, podStatusReason, crdPrinter, simpleJsonPath, type TablePrinter, type Table, type ColumnDefinition } from './tables.js';
export { CustomResourceManager } from './crd.js';
export { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, threeWayMergePatch } from './patch/patch.js';

export interface ApiServer {
  registry: ResourceRegistry;
  store: ObjectStore;
  tables: TableRegistry;
  transport: InProcessTransport;
  crds: CustomResourceManager;
  /** Where `pods/<name>/log` reads from; the node agent sets `current`. */
  logs: { current?: PodLogSource };
  /** Where `pods/<name>/exec` runs commands (and `attach` attaches); the node agent sets `current`. */
  exec: { current?: PodExecSource };
  /** Where `pods/<name>/portforward` reaches pod ports; the elb component sets `current`. */
  portForward: { current?: PodPortForwardSource };
  /**
   * Where `kubectl top` (metrics.k8s.io) reads container usage; by default each running
   * container uses what it requests (`requestsUsage`) until a runtime models load.
   */
  metrics: { current?: PodMetricsSource };
  /**
   * More HTTP routes on the same server, as fastify plugins (the AWS API endpoints, for one);
   * components push theirs before `http()` is called.
   */
  routes: FastifyPluginAsync[];
  /** Builds the HTTP app (after components have added their kinds, hooks and tables). */
  http(opts?: { logger?: boolean; ready?: () => boolean; auth?: ApiServerOptions['auth']; https?: ApiServerOptions['https'] }): FastifyInstance;
}

export interface CreateApiServerOptions {
  backend: Backend;
  clock: Clock;
  /** Uniform [0, 1) source for object UIDs and generateName suffixes (default: secure random); seeded by `berth simulate`. */
  random?: () => number;
}

/** Namespaces every cluster starts with. */
export const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Runs a bootstrap create; another server on the same store (etcd) may have made it first. */
async function createIfAbsent(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (e) {
    if ((e as { reason?: string }).reason !== 'AlreadyExists') throw e;
  }
}

/** Assembles the API server over a backend and bootstraps the initial objects (idempotent). */
export async function createApiServer(opts: CreateApiServerOptions): Promise<ApiServer> {
  const registry = new ResourceRegistry();
  for (const r of VIRTUAL_RESOURCES) registry.add(r);
  const tables = new TableRegistry();
  const store = new ObjectStore({ backend: opts.backend, registry, clock: opts.clock, hooks: new Map(BUILTIN_HOOKS), admission: [...BUILTIN_ADMISSION], ...(opts.random ? { random: opts.random } : {}) });
  const crds = new CustomResourceManager(store, registry, tables);
  await crds.start();
  const nsInfo = registry.get('', 'v1', 'namespaces')!;
  for (const name of INITIAL_NAMESPACES) {
    if (!(await store.tryGet(nsInfo, undefined, name))) await createIfAbsent(() => store.create(nsInfo, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  }
  const svcInfo = registry.get('', 'v1', 'services')!;
  if (!(await store.tryGet(svcInfo, 'default', 'kubernetes'))) {
    const svc: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], type: 'ClusterIP', sessionAffinity: 'None' },
    };
    await createIfAbsent(() => store.create(svcInfo, 'default', svc));
  }
  const logs: { current?: PodLogSource } = {};
  const exec: { current?: PodExecSource } = {};
  const portForward: { current?: PodPortForwardSource } = {};
  const metrics: { current?: PodMetricsSource } = { current: { podUsage: requestsUsage } };
  const routes: FastifyPluginAsync[] = [];
  const transport = new InProcessTransport(store, tables, logs);
  return {
    registry,
    store,
    tables,
    transport,
    crds,
    logs,
    exec,
    portForward,
    metrics,
    routes,
    http: (h = {}) => {
      const app = buildApiServer({ store, registry, tables, logs, exec, portForward, metrics, ...h });
      for (const r of routes) void app.register(r);
      return app;
    },
  };
}
