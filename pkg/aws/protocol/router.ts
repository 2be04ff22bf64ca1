/**
 * The AWS endpoints on the API server's port. Requests are told apart as AWS's own front door
 * does, without touching the Kubernetes routes (`/api`, `/apis`, `/openapi`, `/version`, health):
 *
 * - JSON protocol (SQS since botocore 1.31): `POST /` with `X-Amz-Target: AmazonSQS.SendMessage`;
 * - query protocol (SNS; SQS for older clients): a form body (or query string) with `Action=…`,
 *   the service taken from the SigV4 credential scope (`Credential=AKID/20260101/us-east-1/sns/aws4_request`),
 *   else from `Version` (2010-03-31 is SNS, 2012-11-05 SQS); SQS also accepts posts to a queue URL;
 * - REST-JSON (Lambda): its own paths (`/2015-03-31/functions/…`), registered by the Lambda plugin.
 *
 * Signatures are accepted without verification, as LocalStack and moto do: berth serves
 * loopback only, and any credentials work.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { uuid } from './arn.js';
import { AwsError } from './errors.js';
import { parseQuery, queryError, queryResponse, type XmlFlat, type XmlValue } from './query.js';

/** What a handler knows about the request it serves. */
export interface AwsRequestContext {
  /** `http://127.0.0.1:PORT`: the server's own address as the client reached it (queue URLs use it). */
  baseUrl: string;
  requestId: string;
  /** The SigV4 access key id, if signed (SQS's SenderId). */
  accessKey?: string;
}

/** A JSON-protocol operation: input object in, output object out; throws AwsError. */
export type JsonHandler = (action: string, input: Record<string, unknown>, ctx: AwsRequestContext) => Promise<Record<string, unknown>>;

/** A query-protocol operation: flattened params in (see parseQuery), the `…Result` members out. */
export type QueryHandler = (action: string, params: Record<string, unknown>, ctx: AwsRequestContext) => Promise<Record<string, XmlValue | XmlFlat> | undefined>;

interface QueryService {
  service: string;
  version: string;
  xmlns: string;
  handle: QueryHandler;
  /** Actions that name this service by themselves (links SNS sends: neither signed nor versioned). */
  actions: string[];
}

/** The service name in a SigV4 `Authorization` header's credential scope, and the access key. */
export function credentialScope(authorization: string | undefined): { accessKey: string; region: string; service: string } | undefined {
  const m = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return m ? { accessKey: m[1]!, region: m[2]!, service: m[3]! } : undefined;
}

/** The request's base URL, from the Host header (the server binds loopback only). */
export function baseUrlOf(req: FastifyRequest): string {
  return `http://${req.headers.host ?? '127.0.0.1'}`;
}

/** Collects the services' handlers and builds the one fastify plugin that serves them. */
export class AwsRouter {
  private readonly json = new Map<string, { handle: JsonHandler; errorNamespace: string }>();
  private readonly query: QueryService[] = [];
  private readonly plugins: FastifyPluginAsync[] = [];
  /** The address the server listens on, once known (for URLs made outside a request). */
  address: string | undefined;

  /** JSON protocol: `X-Amz-Target: <targetPrefix>.<Action>`; errors typed `<errorNamespace>#Code`. */
  addJson(targetPrefix: string, errorNamespace: string, handle: JsonHandler): void {
    this.json.set(targetPrefix, { handle, errorNamespace });
  }

  /**
   * Query protocol for a service (`sns`, `sqs`) of an API version, answering in `xmlns`.
   * `actions` are served by this service even in an unsigned request without `Version` (SNS's
   * SubscribeURL and UnsubscribeURL: `GET /?Action=ConfirmSubscription&TopicArn=…&Token=…`).
   */
  addQuery(service: string, version: string, xmlns: string, handle: QueryHandler, actions: string[] = []): void {
    this.query.push({ service, version, xmlns, handle, actions });
  }

  /** More routes (Lambda's REST paths). */
  addPlugin(p: FastifyPluginAsync): void {
    this.plugins.push(p);
  }

  /** The fastify plugin to push onto `api.routes`. */
  plugin(): FastifyPluginAsync {
    return async (app: FastifyInstance) => {
      app.addHook('onReady', async () => {
        const a = app.server.address();
        if (a && typeof a === 'object') this.address = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      });
      app.server.on('listening', () => {
        const a = app.server.address();
        if (a && typeof a === 'object') this.address = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      });
      const dispatch = (req: FastifyRequest, reply: FastifyReply) => this.dispatch(req, reply);
      app.post('/', dispatch);
      app.get('/', dispatch);
      // Older SQS clients post query requests to the queue URL itself.
      app.post('/:account/:queue', dispatch);
      for (const p of this.plugins) await app.register(p);
    };
  }

  private async dispatch(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const requestId = uuid();
    const scope = credentialScope(req.headers.authorization);
    const ctx: AwsRequestContext = { baseUrl: baseUrlOf(req), requestId, ...(scope ? { accessKey: scope.accessKey } : {}) };
    reply.header('x-amzn-RequestId', requestId);
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string' && target.includes('.')) {
      const dot = target.lastIndexOf('.');
      const svc = this.json.get(target.slice(0, dot));
      if (!svc) return reply.code(400).type('application/x-amz-json-1.0').send({ __type: 'UnknownOperationException', message: `unknown target ${target}` });
      return this.serveJson(svc, target.slice(dot + 1), req, reply, ctx);
    }
    const raw = typeof req.body === 'string' ? req.body : '';
    const qs = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    const params = parseQuery([qs, raw].filter(Boolean).join('&'));
    const action = params.Action;
    if (typeof action !== 'string') {
      return reply.code(400).type('text/xml').send(queryError('', 'MissingAction', 'The request must contain the parameter Action.', 'Sender', requestId));
    }
    const version = typeof params.Version === 'string' ? params.Version : undefined;
    const byScope = scope ? this.query.find((s) => s.service === scope.service) : undefined;
    const byVersion = version ? this.query.find((s) => s.version === version) : undefined;
    const byPath = (req.params as { queue?: string }).queue ? this.query.find((s) => s.service === 'sqs') : undefined;
    const byAction = this.query.find((s) => s.actions.includes(action));
    const svc = byScope ?? byVersion ?? byPath ?? byAction;
    if (!svc) return reply.code(400).type('text/xml').send(queryError('', 'InvalidAction', `Could not find the service of action ${action}`, 'Sender', requestId));
    const queueParam = (req.params as { account?: string; queue?: string }).queue;
    if (queueParam && svc.service === 'sqs' && params.QueueUrl === undefined) params.QueueUrl = `${ctx.baseUrl}/${(req.params as { account: string }).account}/${queueParam}`;
    try {
      const result = await svc.handle(action, params, ctx);
      return reply.type('text/xml').send(queryResponse(action, svc.xmlns, result, requestId));
    } catch (e) {
      const err = toAwsError(e, req);
      return reply.code(err.status).type('text/xml').send(queryError(svc.xmlns, err.opts.queryCode ?? err.code, err.message, err.opts.fault ?? (err.status >= 500 ? 'Receiver' : 'Sender'), requestId));
    }
  }

  private async serveJson(svc: { handle: JsonHandler; errorNamespace: string }, action: string, req: FastifyRequest, reply: FastifyReply, ctx: AwsRequestContext): Promise<unknown> {
    const type = 'application/x-amz-json-1.0';
    try {
      let input: Record<string, unknown> = {};
      const raw = typeof req.body === 'string' ? req.body : '';
      if (raw.trim()) {
        try {
          input = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          throw new AwsError('SerializationException', 'the request body is not valid JSON', 400);
        }
      }
      const out = await svc.handle(action, input, ctx);
      return reply.type(type).send(JSON.stringify(out));
    } catch (e) {
      const err = toAwsError(e, req);
      if (err.opts.queryCode) reply.header('x-amzn-query-error', `${err.opts.queryCode};${err.opts.fault ?? (err.status >= 500 ? 'Receiver' : 'Sender')}`);
      return reply
        .code(err.status)
        .type(type)
        .send(JSON.stringify({ __type: `${svc.errorNamespace}#${err.code}`, message: err.message, ...(err.opts.extra ?? {}) }));
    }
  }
}

/** An AwsError for anything a handler threw; unexpected failures are 500 InternalFailure and logged. */
export function toAwsError(e: unknown, req: FastifyRequest): AwsError {
  if (e instanceof AwsError) return e;
  req.log.error(e);
  return new AwsError('InternalFailure', `internal error: ${(e as Error)?.message ?? String(e)}`, 500, { fault: 'Receiver' });
}

/** Lambda-style REST-JSON error: `x-amzn-ErrorType` header and `{Type, message}` body. */
export function sendRestJsonError(reply: FastifyReply, err: AwsError): FastifyReply {
  return reply
    .code(err.status)
    .header('x-amzn-ErrorType', err.code)
    .type('application/json')
    .send(JSON.stringify({ Type: err.status >= 500 ? 'Service' : 'User', message: err.message, Message: err.message, ...(err.opts.extra ?? {}) }));
}
