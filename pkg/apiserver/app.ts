/**
 * The HTTP face of the API server: a fastify app (built apart from `listen()`, so tests can
 * `inject`) speaking the Kubernetes REST API as kubectl and client libraries expect it:
 * discovery, OpenAPI, the REST verbs, subresources, Table output and chunked watch streams.
 * All the semantics live in ObjectStore; this file only translates HTTP to calls and back.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { WebSocketServer } from 'ws';
import YAML from 'yaml';
import { badRequest, fieldForbidden, fieldNotSupported, invalid, methodNotSupported, noSuchResource, StatusError, unsupportedMediaType, internalError, type FieldError } from '../api/errors.js';
import type { ResourceInfo, ResourceRegistry } from '../api/resources.js';
import type { KubeObject, WatchEvent } from '../api/types.js';
import { aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from './discovery.js';
import { OpenApiV3, openApiV2 } from './openapi.js';
import { applyFieldValidation, parseFieldValidation } from './fieldvalidation.js';
import { createVirtual, evictPod, serveMetrics, type PodMetricsSource } from './virtual.js';
import { EXEC_WS_PROTOCOLS, handleExecUpgrade, type ExecContext } from './exec.js';
import { handlePortForwardUpgrade, parsePortForwardPath, PORT_FORWARD_WS_ALIAS, restorePortForwardProtocol, type PortForwardContext } from './portforward.js';
import { applyPatchOfType } from './patch/patch.js';
import { managerFromUserAgent } from './managedfields.js';
import { decodeProtobufObject, PROTOBUF_MEDIA_TYPE } from './protobuf.js';
import { fromScale, toScale } from './scale.js';
import { PATCH_CONTENT_TYPES, type DeleteOptions, type ObjectStore, type PatchType } from './store.js';
import type { TableRegistry } from './tables.js';

/** The Kubernetes version berth reports; kubectl's dispatcher picks the client by `minor`. */
export const KUBE_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-berth' };

/** Where `pods/<name>/log` reads from: the node agent's runtime. */
export interface PodLogSource {
  /**
   * The log of one container as text lines, or a live stream with `follow`. Throws StatusError
   * (BadRequest when the container does not exist or has not started).
   */
  logs(pod: KubeObject, container: string, opts: LogOptions, signal: AbortSignal): Promise<AsyncIterable<string> | string>;
}

/** Where `pods/<name>/exec` runs commands: the node agent's runtime. */
export interface PodExecSource {
  /**
   * Runs `command` (argv, no shell) in a running container of the pod with its standard streams
   * on `io`; resolves with the command's exit code once it ends (or `signal` aborts: the client
   * went). Throws StatusError: BadRequest when the container does not exist, is not running, or
   * its runtime cannot run commands.
   */
  exec(pod: KubeObject, container: string, command: string[], io: ExecStreams, signal: AbortSignal): Promise<number>;
  /**
   * Attaches to the main process of a running container (`pods/<name>/attach`): its output from
   * now on goes to `io.stdout`, and `io.stdin` to its standard input when the container has
   * `stdin: true`; resolves when the process ends or `signal` aborts (the client went). Throws
   * StatusError (BadRequest) as `exec` does. Absent when the runtime cannot attach.
   */
  attach?(pod: KubeObject, container: string, io: ExecStreams, signal: AbortSignal): Promise<void>;
}

/** Where `pods/<name>/portforward` connects: an address on this host that reaches the pod's port. */
export interface PodPortForwardSource {
  /**
   * The loopback address serving TCP `port` of the pod (a simulated pod's application server, a
   * Docker container's published host port). Throws StatusError or Error when nothing serves it.
   */
  dial(pod: KubeObject, port: number): Promise<{ host: string; port: number }>;
}

/** The standard streams of an exec, as the client asked for them (`kubectl exec -i -t`). */
export interface ExecStreams {
  /** What the client types (`-i`), ending when it closes its input; absent without `-i`. */
  stdin?: AsyncIterable<Uint8Array>;
  /** The command's standard output (everything, with a terminal). */
  stdout?: (chunk: Uint8Array) => void;
  /** Its standard error; absent with a terminal, or when the client did not ask for it. */
  stderr?: (chunk: Uint8Array) => void;
  /** Run with a terminal (`-t`). */
  tty?: boolean;
  /** Terminal size changes from the client, columns × rows. */
  resize?: AsyncIterable<{ width: number; height: number }>;
}

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  previous?: boolean;
  timestamps?: boolean;
  sinceSeconds?: number;
  limitBytes?: number;
}

export interface ApiServerOptions {
  store: ObjectStore;
  registry: ResourceRegistry;
  tables: TableRegistry;
  /** Where container logs come from, read at request time; without one `pods/log` answers BadRequest. */
  logs?: { current?: PodLogSource };
  /** Where `pods/<name>/exec` runs commands, read at request time; without one exec answers BadRequest. */
  exec?: { current?: PodExecSource };
  /** Where `pods/<name>/portforward` connects, read at request time; without one port forwarding answers BadRequest. */
  portForward?: { current?: PodPortForwardSource };
  /** Where `kubectl top` numbers come from (metrics.k8s.io), read at request time; without one there are no metrics. */
  metrics?: { current?: PodMetricsSource };
  /** Called once per request for access logging; never given Secret bodies. */
  logger?: boolean;
  /** Health: `/readyz` says ok only once this returns true. */
  ready?: () => boolean;
  /** Authentication, RBAC and audit (pkg/auth); without it every request is allowed, as on a loopback-only server. */
  auth?: {
    install(app: FastifyInstance): void;
    check(req: IncomingMessage): Promise<{ deny?: { code: number; body: object } }>;
  };
  /** Serve TLS (PEM strings); `requestCert` asks clients for certificates, verified against `ca`. */
  https?: { key: string; cert: string; ca?: string; requestCert?: boolean; rejectUnauthorized?: boolean };
}

interface ResourcePath {
  group: string;
  version: string;
  namespace?: string;
  resource?: string;
  name?: string;
  subresource?: string;
  watchPrefix?: boolean;
}

/**
 * Parses `/api/v1/...` and `/apis/<g>/<v>/...` as Kubernetes's RequestInfoFactory does:
 * `namespaces/<ns>/<resource>/<name>/<sub>`; a namespace's own `status` and `finalize` are
 * subresources of the namespace.
 */
export function parseResourcePath(url: string): ResourcePath | undefined {
  const path = url.split('?')[0]!;
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length < 2) return undefined;
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length < 3) return undefined;
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  const out: ResourcePath = { group, version };
  if (rest[0] === 'watch') {
    out.watchPrefix = true;
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length >= 2) {
    if (rest.length === 2 || rest[2] === 'status' || rest[2] === 'finalize') {
      out.resource = 'namespaces';
      out.name = rest[1];
      if (rest[2]) out.subresource = rest[2];
      return out;
    }
    out.namespace = rest[1];
    rest = rest.slice(2);
  }
  out.resource = rest[0];
  out.name = rest[1];
  out.subresource = rest[2];
  if (rest.length > 3) return undefined;
  return out;
}

type Query = Record<string, string | undefined>;

function boolParam(v: string | undefined): boolean {
  return v === 'true' || v === '1';
}

function intParam(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`invalid value for ${name}: ${v}`);
  return n;
}

function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

function sendStatusError(reply: FastifyReply, err: StatusError): FastifyReply {
  return reply.code(err.code).type('application/json').send(err.status);
}

/** What admission left for one HTTP write: warnings for the client and annotations for its audit event. */
interface AdmissionOutput {
  warnings: string[];
  auditAnnotations: Record<string, string>;
}
const ADMISSION_OUTPUT = Symbol('berth.admissionOutput');

/**
 * The audit annotations admission plugins added while serving `req` (e.g. PodSecurity's
 * `pod-security.kubernetes.io/audit-violations`), for the audit log; undefined when none.
 */
export function auditAnnotationsOf(req: FastifyRequest): Record<string, string> | undefined {
  const out = (req as unknown as { [ADMISSION_OUTPUT]?: AdmissionOutput })[ADMISSION_OUTPUT];
  return out && Object.keys(out.auditAnnotations).length ? out.auditAnnotations : undefined;
}

/**
 * Adds `Warning` headers (RFC 7234 §5.5, code 299, agent `-`, the text quoted) to the reply,
 * after any it already has; a text already there is not repeated. kubectl prints each as
 * `Warning: <text>` (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/warning.go).
 */
export function addWarnings(reply: FastifyReply, texts: string[]): void {
  if (!texts.length) return;
  const had = reply.getHeader('warning');
  const list = had === undefined ? [] : Array.isArray(had) ? had.map(String) : [String(had)];
  for (const t of texts) {
    const h = `299 - ${JSON.stringify(t)}`;
    if (!list.includes(h)) list.push(h);
  }
  reply.header('warning', list);
}

/** Builds the fastify app. Call `listen` on it, or `inject` in tests. */
export function buildApiServer(opts: ApiServerOptions): FastifyInstance {
  const { store, registry, tables } = opts;
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 16 * 1024 * 1024, routerOptions: { maxParamLength: 1000 }, forceCloseConnections: true, ...(opts.https ? { https: opts.https } : {}) }) as unknown as FastifyInstance;
  opts.auth?.install(app);

  // Bodies: everything arrives as a string and is decoded per route; Kubernetes protobuf (what
  // kubectl 1.32+ sends for `create configmap` and friends) arrives as bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(PROTOBUF_MEDIA_TYPE, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type.includes('protobuf') || type.includes('cbor')) {
      done(unsupportedMediaType(type) as unknown as Error, undefined);
      return;
    }
    done(null, body);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const out = (req as unknown as { [ADMISSION_OUTPUT]?: AdmissionOutput })[ADMISSION_OUTPUT];
    if (out?.warnings.length) addWarnings(reply, out.warnings);
    return payload;
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof StatusError) return sendStatusError(reply, err);
    const e = err as { statusCode?: number; message?: string; code?: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendStatusError(reply, new StatusError(413, 'RequestEntityTooLarge', 'the request body is too large'));
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return sendStatusError(reply, badRequest(e.message ?? 'bad request'));
    req.log.error(err);
    return sendStatusError(reply, internalError(e.message ?? String(err)));
  });

  app.setNotFoundHandler((_req, reply) => sendStatusError(reply, noSuchResource()));

  // Long-running responses (watches, followed logs) end when the server closes.
  const streams = new Set<AbortController>();
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    for (const ac of streams) ac.abort();
    done();
  });
  /** An AbortController for one streaming response, aborted on server close; forgotten when aborted. */
  const linked = (): AbortController => {
    const ac = new AbortController();
    if (closing) ac.abort();
    streams.add(ac);
    ac.signal.addEventListener('abort', () => streams.delete(ac), { once: true });
    return ac;
  };

  // pods/<name>/exec upgrades the connection (WebSocket for kubectl 1.30+, SPDY/3.1 before).
  // pods/<name>/portforward too (SPDY/3.1, or SPDY tunnelled in a WebSocket for kubectl 1.31+).
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered, req) =>
      parsePortForwardPath(req.url ?? '') && offered.has(PORT_FORWARD_WS_ALIAS) ? PORT_FORWARD_WS_ALIAS : (EXEC_WS_PROTOCOLS.find((p) => offered.has(p)) ?? false),
  });
  wss.on('headers', restorePortForwardProtocol);
  const execContext: ExecContext = { store, registry, source: () => opts.exec?.current, track: linked };
  const portForwardContext: PortForwardContext = { store, registry, source: () => opts.portForward?.current, track: linked };
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (opts.auth) {
      // Upgrades bypass fastify's hooks: check the caller here.
      void opts.auth.check(req).then(({ deny }) => {
        if (deny) {
          const body = JSON.stringify(deny.body);
          socket.end(`HTTP/1.1 ${deny.code} ${deny.code === 401 ? 'Unauthorized' : 'Forbidden'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
          return;
        }
        upgrade(req, socket, head);
      }, () => socket.destroy());
      return;
    }
    upgrade(req, socket, head);
  });
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (handleExecUpgrade(execContext, wss, req, socket, head)) return;
    if (handlePortForwardUpgrade(portForwardContext, wss, req, socket, head)) return;
    const body = JSON.stringify(noSuchResource().status);
    socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };

  const ok = (_: FastifyRequest, reply: FastifyReply) => reply.type('text/plain; charset=utf-8').send('ok');
  app.get('/healthz', ok);
  app.get('/livez', ok);
  app.get('/readyz', (req, reply) => (opts.ready && !opts.ready() ? reply.code(503).type('text/plain').send('not ready') : ok(req, reply)));

  app.get('/version', async () => ({
    ...KUBE_VERSION,
    gitCommit: 'berth',
    gitTreeState: 'clean',
    buildDate: '2026-11-29T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  }));

  const discovery = (core: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const agg = wantsAggregated(req.headers.accept);
    if (agg) {
      reply.header('content-type', agg.mediaType);
      reply.header('vary', 'Accept');
      return reply.send(JSON.stringify(aggregatedDiscovery(registry, core, `apidiscovery.k8s.io/${agg.version}`)));
    }
    return core ? apiVersions(req.headers.host ?? '127.0.0.1') : apiGroupList(registry);
  };
  app.get('/api', discovery(true));
  app.get('/apis', discovery(false));

  app.get('/openapi/v2', async (req, reply) => {
    const accept = req.headers.accept ?? '';
    if (accept.includes('protobuf') || !accept.includes('json')) {
      // An empty protobuf document: kubectl 1.27–1.33 accept it and validate nothing client-side.
      return reply.type('application/com.github.proto-openapi.spec.v2.v1.0+protobuf').send(Buffer.alloc(0));
    }
    return openApiV2(registry);
  });
  const crdInfo = (): ResourceInfo | undefined => registry.get('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
  const openapi = new OpenApiV3(registry, async (name) => {
    const info = crdInfo();
    return info ? store.tryGet(info, undefined, name) : undefined;
  });
  app.get('/openapi/v3', async () => openapi.index());
  app.get('/openapi/v3/*', async (req, reply) => {
    const path = (req.params as { '*': string })['*'];
    const doc = await openapi.document(path);
    if (!doc) return sendStatusError(reply, noSuchResource());
    return doc;
  });

  // The REST surface: one wildcard per API root, parsed like Kubernetes's RequestInfo.
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const p = parseResourcePath(req.url);
    if (!p) throw noSuchResource();
    if (!p.resource) {
      if (req.method !== 'GET') throw methodNotSupported('discovery', req.method);
      if (p.group !== '' && p.version && !registry.groups().has(p.group)) throw noSuchResource();
      const list = apiResourceList(registry, p.group, p.version);
      if (!list) throw noSuchResource();
      return list;
    }
    const r = registry.get(p.group, p.version, p.resource);
    if (!r) throw noSuchResource();
    if (p.namespace !== undefined && !r.namespaced) throw noSuchResource();
    if (p.subresource && !r.subresources.includes(p.subresource)) throw noSuchResource();
    const q = req.query as Query;
    const ns = r.namespaced ? p.namespace : undefined;
    if (p.subresource === 'exec' || p.subresource === 'attach' || p.subresource === 'portforward') throw badRequest('Upgrade request required');
    if (r.virtual) return serveVirtual(req, reply, r, ns, p, q);
    return serveResource(req, reply, r, ns, p, q);
  };
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/api/*', handler });
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/apis/*', handler });
  app.get('/apis/:group', async (req) => {
    const group = (req.params as { group: string }).group;
    const versions = registry.groups().get(group);
    if (!versions || group === '') throw noSuchResource();
    return apiGroup(group, versions);
  });

  /**
   * `fieldValidation` for a request body: Strict fails on fields the kind's schema does not
   * declare, Warn (the default) returns them as `Warning` headers; under Warn and Ignore the body
   * returned lacks them. Throws BadRequest.
   */
  function checkFields<T>(reply: FastifyReply, r: ResourceInfo, body: T, q: Query, patch: boolean): T {
    const out = applyFieldValidation(r, body, parseFieldValidation(q.fieldValidation), patch);
    addWarnings(reply, out.warnings);
    return out.body;
  }

  /** Metrics (GET) and access reviews (POST), computed per request. */
  async function serveVirtual(req: FastifyRequest, reply: FastifyReply, r: ResourceInfo, ns: string | undefined, p: ResourcePath, q: Query): Promise<unknown> {
    if (req.method === 'GET' && r.verbs.includes('get')) {
      if (p.watchPrefix || boolParam(q.watch)) throw methodNotSupported(r.resource, 'watch');
      return serveMetrics(store, registry, opts.metrics?.current, r, ns, p.name, q.labelSelector);
    }
    if (req.method === 'POST' && r.verbs.includes('create') && !p.name) return reply.code(201).send(createVirtual(r, decodeBody(req)));
    throw methodNotSupported(r.resource, req.method);
  }

  async function serveResource(req: FastifyRequest, reply: FastifyReply, r: ResourceInfo, ns: string | undefined, p: ResourcePath, q: Query): Promise<unknown> {
    const name = p.name;
    // Admission's warnings go out as Warning headers (also on a refusal), its audit annotations to the audit log.
    const out: AdmissionOutput = { warnings: [], auditAnnotations: {} };
    (req as unknown as { [ADMISSION_OUTPUT]?: AdmissionOutput })[ADMISSION_OUTPUT] = out;
    const write = {
      warnings: out.warnings,
      auditAnnotations: out.auditAnnotations,
      dryRun: q.dryRun === 'All',
      ...(q.fieldManager ? { fieldManager: q.fieldManager } : {}),
      ...(q.fieldValidation ? { fieldValidation: q.fieldValidation } : {}),
      ...(q.force !== undefined ? { force: boolParam(q.force) } : {}),
      defaultFieldManager: managerFromUserAgent(req.headers['user-agent']) ?? 'unknown',
    };
    switch (req.method) {
      case 'GET': {
        if (!name) {
          if (p.watchPrefix || boolParam(q.watch)) return serveWatch(req, reply, r, ns, q);
          const list = await store.list(r, ns, {
            ...(q.labelSelector !== undefined ? { labelSelector: q.labelSelector } : {}),
            ...(q.fieldSelector !== undefined ? { fieldSelector: q.fieldSelector } : {}),
            ...(q.limit !== undefined ? { limit: intParam(q.limit, 'limit')! } : {}),
            ...(q.continue ? { continue: q.continue } : {}),
          });
          if (wantsTable(req.headers.accept)) {
            return tables.toTable(r, list.items, store.clock.now(), q.includeObject ?? 'Metadata', list.metadata);
          }
          return list;
        }
        if (p.watchPrefix || boolParam(q.watch)) {
          return serveWatch(req, reply, r, ns, { ...q, fieldSelector: [q.fieldSelector, `metadata.name=${name}`].filter(Boolean).join(',') });
        }
        const obj = await store.get(r, ns, name);
        if (p.subresource === 'scale') return toScale(r, obj);
        if (p.subresource === 'log') return serveLog(req, reply, obj, q);
        if (wantsTable(req.headers.accept) && !p.subresource) return tables.toTable(r, [obj], store.clock.now(), q.includeObject ?? 'Metadata', { resourceVersion: obj.metadata.resourceVersion! });
        return obj;
      }
      case 'POST': {
        const body = decodeBody(req);
        if (p.subresource === 'eviction' && name) return reply.code(201).send(await evictPod(store, registry, ns!, name, body));
        if (p.subresource === 'binding' && name) {
          const target = (body as { target?: { name?: string; kind?: string } }).target;
          if (!target?.name) throw badRequest('a Binding needs target.name');
          await store.bind(ns!, name, target.name, (body as KubeObject).metadata?.uid, (body as KubeObject).metadata?.annotations);
          return reply.code(201).send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
        }
        if (name) throw methodNotSupported(r.resource, 'POST');
        const created = await store.create(r, ns, checkFields(reply, r, body, q, false) as KubeObject, write);
        return reply.code(201).send(created);
      }
      case 'PUT': {
        if (!name) throw methodNotSupported(r.resource, 'PUT');
        const body = decodeBody(req) as KubeObject;
        if (p.subresource === 'scale') {
          const current = await store.get(r, ns, name);
          const updated = await store.update(r, ns, name, fromScale(r, current, body), { ...write, subresource: 'scale' });
          return toScale(r, updated);
        }
        const sub = p.subresource === 'status' ? 'status' : p.subresource === 'finalize' ? undefined : undefined;
        return store.update(r, ns, name, checkFields(reply, r, body, q, false), { ...write, ...(sub ? { subresource: sub } : {}) });
      }
      case 'PATCH': {
        if (!name) throw methodNotSupported(r.resource, 'PATCH');
        const type = patchType(req);
        const body = decodeBody(req, type === 'apply');
        if (p.subresource === 'scale') {
          // Patch the Scale view, then write its replicas back (merge patch is what kubectl sends).
          for (;;) {
            const current = await store.get(r, ns, name);
            const scale = toScale(r, current);
            const patched = applyPatchOfType(type, scale, body) as KubeObject;
            try {
              return toScale(r, await store.update(r, ns, name, fromScale(r, current, patched), { ...write, subresource: 'scale' }));
            } catch (e) {
              if (e instanceof StatusError && e.reason === 'Conflict' && !(body as KubeObject)?.metadata?.resourceVersion) continue;
              throw e;
            }
          }
        }
        const checked = type === 'json' ? body : checkFields(reply, r, body, q, type !== 'apply');
        const result = await store.patch(r, ns, name, type, checked, { ...write, ...(p.subresource === 'status' ? { subresource: 'status' } : {}) });
        return result;
      }
      case 'DELETE': {
        const raw = (req.body as string | undefined) ?? '';
        const body = raw.trim() ? (decodeBody(req) as DeleteOptions & { kind?: string }) : {};
        const del: DeleteOptions = {
          ...(body.propagationPolicy ? { propagationPolicy: body.propagationPolicy } : {}),
          ...(q.propagationPolicy ? { propagationPolicy: q.propagationPolicy as DeleteOptions['propagationPolicy'] } : {}),
          ...(body.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: body.gracePeriodSeconds } : {}),
          ...(q.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: intParam(q.gracePeriodSeconds, 'gracePeriodSeconds')! } : {}),
          ...(body.preconditions ? { preconditions: body.preconditions } : {}),
          ...((body as { orphanDependents?: boolean }).orphanDependents === true || q.orphanDependents === 'true' ? { propagationPolicy: 'Orphan' as const } : {}),
          dryRun: q.dryRun === 'All' || (Array.isArray((body as { dryRun?: string[] }).dryRun) && (body as { dryRun?: string[] }).dryRun!.includes('All')),
        };
        if (!name) {
          return store.deleteCollection(r, ns, { ...(q.labelSelector ? { labelSelector: q.labelSelector } : {}), ...(q.fieldSelector ? { fieldSelector: q.fieldSelector } : {}) }, del);
        }
        return store.delete(r, ns, name, del);
      }
    }
    throw methodNotSupported(r.resource, req.method);
  }

  async function serveLog(req: FastifyRequest, reply: FastifyReply, pod: KubeObject, q: Query): Promise<unknown> {
    const source = opts.logs?.current;
    if (!source) throw badRequest('no container runtime serves logs on this server');
    const containers = ((pod.spec as { containers?: { name: string }[] }).containers ?? []).map((c) => c.name);
    const container = q.container ?? containers[0];
    if (!q.container && containers.length > 1) {
      throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.join(' ')}]`);
    }
    const ac = linked();
    reply.raw.on('close', () => ac.abort());
    const out = await source.logs(pod, container!, {
      follow: boolParam(q.follow),
      previous: boolParam(q.previous),
      timestamps: boolParam(q.timestamps),
      ...(q.tailLines !== undefined ? { tailLines: intParam(q.tailLines, 'tailLines')! } : {}),
      ...(q.sinceSeconds !== undefined ? { sinceSeconds: intParam(q.sinceSeconds, 'sinceSeconds')! } : {}),
      ...(q.limitBytes !== undefined ? { limitBytes: intParam(q.limitBytes, 'limitBytes')! } : {}),
    }, ac.signal);
    if (typeof out === 'string') return reply.type('text/plain').send(out);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    try {
      for await (const chunk of out) {
        if (ac.signal.aborted) break;
        res.write(chunk);
      }
    } finally {
      res.end();
    }
    return reply;
  }

  async function serveWatch(req: FastifyRequest, reply: FastifyReply, r: ResourceInfo, ns: string | undefined, q: Query): Promise<unknown> {
    validateWatchListOptions(q);
    const ac = linked();
    const table = wantsTable(req.headers.accept);
    const timeout = intParam(q.timeoutSeconds, 'timeoutSeconds');
    // Errors before the stream starts (a bad selector) are plain Status answers; an expired
    // resourceVersion is an ERROR event in the stream, as Kubernetes sends it.
    let events: AsyncIterable<WatchEvent> | undefined;
    let expiredError: StatusError | undefined;
    try {
      events = await store.watch(
        r,
        ns,
        {
          ...(q.labelSelector !== undefined ? { labelSelector: q.labelSelector } : {}),
          ...(q.fieldSelector !== undefined ? { fieldSelector: q.fieldSelector } : {}),
          ...(q.resourceVersion !== undefined ? { resourceVersion: q.resourceVersion } : {}),
          allowWatchBookmarks: boolParam(q.allowWatchBookmarks),
          ...(q.sendInitialEvents !== undefined ? { sendInitialEvents: boolParam(q.sendInitialEvents) } : {}),
        },
        ac.signal,
      );
    } catch (e) {
      if (e instanceof StatusError && e.reason === 'Expired') expiredError = e;
      else throw e;
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    const close = (): void => ac.abort();
    res.on('close', close);
    let timer: NodeJS.Timeout | undefined;
    if (timeout !== undefined && timeout > 0) {
      timer = setTimeout(() => ac.abort(), timeout * 1000);
      timer.unref?.();
    }
    const encode = (ev: WatchEvent): string => {
      if (ev.type === 'ERROR' || ev.type === 'BOOKMARK' || !table) return `${JSON.stringify(ev)}\n`;
      const t = tables.toTable(r, [ev.object], store.clock.now(), q.includeObject ?? 'Metadata', { resourceVersion: ev.object.metadata.resourceVersion! });
      return `${JSON.stringify({ type: ev.type, object: t })}\n`;
    };
    try {
      if (expiredError || !events) {
        res.write(`${JSON.stringify({ type: 'ERROR', object: expiredError?.status })}\n`);
        return reply;
      }
      for await (const ev of events) {
        if (ac.signal.aborted) break;
        res.write(encode(ev));
      }
    } catch (e) {
      if (e instanceof StatusError) res.write(`${JSON.stringify({ type: 'ERROR', object: e.status })}\n`);
      else if (!ac.signal.aborted) res.write(`${JSON.stringify({ type: 'ERROR', object: internalError((e as Error).message).status })}\n`);
    } finally {
      if (timer) clearTimeout(timer);
      ac.abort();
      res.off('close', close);
      res.end();
    }
    return reply;
  }

  return app;
}

/**
 * The watch-list options (`sendInitialEvents`, `resourceVersionMatch`), checked as
 * k8s.io/apiserver's ValidateListOptions does for a watch. Throws Invalid (422).
 */
function validateWatchListOptions(q: Query): void {
  const errs: FieldError[] = [];
  const match = q.resourceVersionMatch ?? '';
  if (q.sendInitialEvents !== undefined && match !== 'NotOlderThan') errs.push(fieldForbidden('resourceVersionMatch', 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'));
  if (match) {
    if (q.sendInitialEvents === undefined) errs.push(fieldForbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'));
    if (match !== 'NotOlderThan') errs.push(fieldNotSupported('resourceVersionMatch', match, ['NotOlderThan']));
  }
  if (boolParam(q.sendInitialEvents) && !boolParam(q.allowWatchBookmarks)) errs.push(fieldForbidden('allowWatchBookmarks', 'sendInitialEvents requires setting allowWatchBookmarks to true'));
  if (errs.length) throw invalid('ListOptions', '', errs, 'meta.k8s.io');
}

/** The patch type a PATCH request's Content-Type names. Throws UnsupportedMediaType. */
function patchType(req: FastifyRequest): PatchType {
  const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  const t = PATCH_CONTENT_TYPES[ct];
  if (!t) throw unsupportedMediaType(ct || '(none)');
  return t;
}

/**
 * Decodes a request body: JSON, or YAML for apply patches and `application/yaml` (kubectl sends
 * JSON; a missing Content-Type is JSON too, as `kubectl scale --current-replicas` sends it).
 */
function decodeBody(req: FastifyRequest, yaml = false): unknown {
  if (Buffer.isBuffer(req.body)) {
    if (yaml) throw unsupportedMediaType(PROTOBUF_MEDIA_TYPE);
    return decodeProtobufObject(req.body);
  }
  const raw = req.body as string | undefined;
  if (raw === undefined || raw === '') throw badRequest('the request body is empty');
  const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  try {
    if (yaml || ct === 'application/yaml') return YAML.parse(raw);
    return JSON.parse(raw);
  } catch (e) {
    throw badRequest(`the request body could not be decoded: ${(e as Error).message}`);
  }
}
