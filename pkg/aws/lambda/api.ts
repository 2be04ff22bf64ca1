/**
 * The Lambda API (2015-03-31, REST-JSON) as the AWS CLI and SDKs call it — functions, invoke,
 * concurrency, asynchronous invocation configuration, event source mappings, account settings —
 * over the `lambda.berth.dev/v1` objects and the LambdaEngine; and a Function's log as a
 * Kubernetes-style subresource, `GET /apis/lambda.berth.dev/v1/functions/NAME/log`, which
 * `berth logs function/NAME` reads.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isReason, StatusError } from '../../api/errors.js';
import type { Client } from '../../client/client.js';
import type { Clock } from '../../clock/clock.js';
import { rfc3339Micro } from '../../clock/clock.js';
import { functionNameFrom, uuid } from '../protocol/arn.js';
import { AwsError } from '../protocol/errors.js';
import { sendRestJsonError, toAwsError } from '../protocol/router.js';
import type { CodeStore } from './code.js';
import { functionNotFound, type LambdaEngine, type LogLine } from './engine.js';
import { EventSourceMappingKind, functionArn, FunctionKind, FUNCTION_NAME_RE, RUNTIMES, type EventInvokeConfig, type EventSourceMapping, type EventSourceMappingSpec, type FunctionSpec, type LambdaFunction } from './types.js';

type Body = Record<string, unknown>;

const validation = (message: string): AwsError => new AwsError('ValidationException', message, 400);
const invalidParam = (message: string): AwsError => new AwsError('InvalidParameterValueException', message, 400);

/** Lambda's timestamp format: `2026-01-01T00:00:00.000+0000`. */
function lambdaTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

function parseBody(req: FastifyRequest): Body {
  const raw = typeof req.body === 'string' ? req.body : '';
  if (!raw.trim()) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Body;
  } catch {
    throw new AwsError('InvalidRequestContentException', 'Could not parse request body into json: the body must be a JSON object', 400);
  }
}

/** A 422 from object validation as Lambda's InvalidParameterValueException. */
function statusToAws(e: unknown): unknown {
  if (e instanceof StatusError && e.code === 422) {
    const causes = (e.status.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`).join('; ');
    return invalidParam(causes || e.message);
  }
  return e;
}

function destinationsToSpec(dc: Body | undefined): EventInvokeConfig['destinationConfig'] | undefined {
  if (!dc) return undefined;
  const on = (x: unknown) => ((x as Body | undefined)?.Destination ? { destination: String((x as Body).Destination) } : undefined);
  const onSuccess = on(dc.OnSuccess);
  const onFailure = on(dc.OnFailure);
  return { ...(onSuccess ? { onSuccess } : {}), ...(onFailure ? { onFailure } : {}) };
}

export class LambdaApi {
  constructor(
    private readonly engine: LambdaEngine,
    private readonly client: Client,
    private readonly code: CodeStore,
    private readonly clock: Clock,
  ) {}

  private fn(nameOrArn: string): LambdaFunction {
    const name = functionNameFrom(decodeURIComponent(nameOrArn));
    const f = this.engine.get(name);
    if (!f) throw functionNotFound(name);
    return f;
  }

  /** FunctionConfiguration as GetFunctionConfiguration answers it. */
  async configuration(f: LambdaFunction): Promise<Body> {
    const s = f.spec;
    const name = f.metadata.name!;
    let sha = '';
    let size = 0;
    try {
      const c = await this.code.load(s.code);
      sha = c.sha256;
      size = c.size;
    } catch {
      // unreadable code: the function reports it when invoked
    }
    return {
      FunctionName: name,
      FunctionArn: functionArn(name),
      Runtime: s.runtime ?? 'nodejs20.x',
      Role: s.role ?? 'arn:aws:iam::000000000000:role/lambda-role',
      Handler: s.handler,
      CodeSize: size,
      Description: s.description ?? '',
      Timeout: s.timeout ?? 3,
      MemorySize: s.memorySize ?? 128,
      LastModified: lambdaTime(this.engine.lastModified(name) ?? this.clock.now()),
      CodeSha256: sha,
      Version: '$LATEST',
      ...(s.environment?.variables ? { Environment: { Variables: s.environment.variables } } : {}),
      ...(s.deadLetterConfig?.targetArn ? { DeadLetterConfig: { TargetArn: s.deadLetterConfig.targetArn } } : {}),
      TracingConfig: { Mode: 'PassThrough' },
      RevisionId: f.metadata.uid && f.metadata.resourceVersion ? `${f.metadata.uid.slice(0, 24)}${f.metadata.resourceVersion.padStart(12, '0')}` : uuid(),
      State: 'Active',
      LastUpdateStatus: 'Successful',
      PackageType: 'Zip',
      Architectures: s.architectures ?? ['x86_64'],
      EphemeralStorage: { Size: 512 },
      SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
      LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${name}` },
    };
  }

  private async specFromCreate(b: Body): Promise<FunctionSpec> {
    const code = (b.Code ?? {}) as Body;
    if (b.PackageType === 'Image' || code.ImageUri) throw invalidParam('berth runs zip packages only: container images are not supported.');
    if (typeof code.ZipFile !== 'string') throw invalidParam('berth takes code as Code.ZipFile (aws lambda create-function --zip-file fileb://function.zip); S3 locations are not supported.');
    const runtime = b.Runtime as string | undefined;
    if (!runtime) throw invalidParam('Runtime is required for a zip package.');
    if (!RUNTIMES.includes(runtime)) throw invalidParam(`Value ${runtime} at 'runtime' is not supported by berth: it runs Node.js handlers (${RUNTIMES.join(', ')}).`);
    if (typeof b.Handler !== 'string' || !b.Handler) throw invalidParam('Handler is required for a zip package.');
    const zip = await this.code.putZip(Buffer.from(code.ZipFile, 'base64'));
    return this.applyConfig({ handler: b.Handler, code: { zipSha256: zip.hex }, runtime }, b);
  }

  /** UpdateFunctionConfiguration's members on a spec (also CreateFunction's). */
  private applyConfig(spec: FunctionSpec, b: Body): FunctionSpec {
    const s: FunctionSpec = { ...spec };
    const num = (k: string, min: number, max: number, field: string): number | undefined => {
      const v = b[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw validation(`1 validation error detected: Value '${String(v)}' at '${field}' failed to satisfy constraint: Member must have value ${v as number < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`}`);
      return v;
    };
    const mem = num('MemorySize', 128, 10_240, 'memorySize');
    if (mem !== undefined) s.memorySize = mem;
    const to = num('Timeout', 1, 900, 'timeout');
    if (to !== undefined) s.timeout = to;
    if (typeof b.Runtime === 'string') {
      if (!RUNTIMES.includes(b.Runtime)) throw invalidParam(`Value ${b.Runtime} at 'runtime' is not supported by berth: it runs Node.js handlers (${RUNTIMES.join(', ')}).`);
      s.runtime = b.Runtime;
    }
    if (typeof b.Handler === 'string') s.handler = b.Handler;
    if (typeof b.Description === 'string') s.description = b.Description;
    if (typeof b.Role === 'string') s.role = b.Role;
    const env = b.Environment as Body | undefined;
    if (env) s.environment = { variables: (env.Variables ?? {}) as Record<string, string> };
    const dlq = b.DeadLetterConfig as Body | undefined;
    if (dlq) {
      if (dlq.TargetArn) s.deadLetterConfig = { targetArn: String(dlq.TargetArn) };
      else delete s.deadLetterConfig;
    }
    if (Array.isArray(b.Architectures)) s.architectures = b.Architectures as string[];
    return s;
  }

  private async createObject(obj: LambdaFunction | EventSourceMapping): Promise<LambdaFunction | EventSourceMapping> {
    try {
      return await this.client.create(obj);
    } catch (e) {
      if (isReason(e, 'AlreadyExists')) throw new AwsError('ResourceConflictException', `Function already exist: ${obj.metadata.name}`, 409);
      throw statusToAws(e);
    }
  }

  private async modifyFunction(name: string, change: (spec: FunctionSpec, obj: LambdaFunction) => FunctionSpec): Promise<LambdaFunction> {
    try {
      const out = await this.client.modify<LambdaFunction>(FunctionKind, name, undefined, (f) => {
        f.spec = change(f.spec, f);
        for (const k of Object.keys(f.spec) as (keyof FunctionSpec)[]) if (f.spec[k] === undefined) delete f.spec[k];
        return f;
      });
      return out!;
    } catch (e) {
      if (isReason(e, 'NotFound')) throw functionNotFound(name);
      throw statusToAws(e);
    }
  }

  private eventInvokeConfig(f: LambdaFunction): Body {
    const c = f.spec.eventInvokeConfig;
    if (!c) throw new AwsError('ResourceNotFoundException', `The function ${functionArn(f.metadata.name!)} doesn't have an EventInvokeConfig`, 404);
    const dc = c.destinationConfig ?? {};
    return {
      LastModified: (this.engine.lastModified(f.metadata.name!) ?? this.clock.now()) / 1000,
      FunctionArn: `${functionArn(f.metadata.name!)}:$LATEST`,
      MaximumRetryAttempts: c.maximumRetryAttempts ?? 2,
      MaximumEventAgeInSeconds: c.maximumEventAgeInSeconds ?? 21_600,
      DestinationConfig: { OnSuccess: dc.onSuccess?.destination ? { Destination: dc.onSuccess.destination } : {}, OnFailure: dc.onFailure?.destination ? { Destination: dc.onFailure.destination } : {} },
    };
  }

  private mappingJson(m: EventSourceMapping): Body {
    const s = m.spec;
    const enabled = s.enabled !== false;
    return {
      UUID: m.metadata.uid,
      BatchSize: s.batchSize ?? 10,
      MaximumBatchingWindowInSeconds: s.maximumBatchingWindowInSeconds ?? 0,
      EventSourceArn: s.eventSourceArn,
      FunctionArn: functionArn(functionNameFrom(s.functionName)),
      LastModified: Date.parse(m.metadata.creationTimestamp ?? '') / 1000 || this.clock.now() / 1000,
      LastProcessingResult: this.engine.mappingResult(m.metadata.uid!),
      State: enabled ? 'Enabled' : 'Disabled',
      StateTransitionReason: 'USER_INITIATED',
      FunctionResponseTypes: s.functionResponseTypes ?? [],
      ...(s.scalingConfig?.maximumConcurrency ? { ScalingConfig: { MaximumConcurrency: s.scalingConfig.maximumConcurrency } } : {}),
    };
  }

  private mapping(uuidParam: string): EventSourceMapping {
    const m = this.engine.mappingObjects().find((x) => x.metadata.uid === uuidParam);
    if (!m) throw new AwsError('ResourceNotFoundException', `The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: ${uuid()})`, 404);
    return m;
  }

  private mappingSpecFrom(b: Body, base?: EventSourceMappingSpec): EventSourceMappingSpec {
    const s: EventSourceMappingSpec = base ? { ...base } : { functionName: '', eventSourceArn: '' };
    if (typeof b.FunctionName === 'string') s.functionName = functionNameFrom(b.FunctionName);
    if (typeof b.EventSourceArn === 'string') s.eventSourceArn = b.EventSourceArn;
    if (b.BatchSize !== undefined) s.batchSize = b.BatchSize as number;
    if (b.MaximumBatchingWindowInSeconds !== undefined) s.maximumBatchingWindowInSeconds = b.MaximumBatchingWindowInSeconds as number;
    if (b.Enabled !== undefined) s.enabled = b.Enabled as boolean;
    if (Array.isArray(b.FunctionResponseTypes)) s.functionResponseTypes = b.FunctionResponseTypes as string[];
    const sc = b.ScalingConfig as Body | undefined;
    if (sc?.MaximumConcurrency !== undefined) s.scalingConfig = { maximumConcurrency: sc.MaximumConcurrency as number };
    return s;
  }

  /** Registers the routes on a fastify instance. */
  routes(app: FastifyInstance): void {
    const route = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, fn: (req: FastifyRequest, reply: FastifyReply, p: Record<string, string>) => Promise<unknown>) => {
      app.route({
        method,
        url,
        handler: async (req, reply) => {
          reply.header('x-amzn-RequestId', uuid());
          try {
            return await fn(req, reply, req.params as Record<string, string>);
          } catch (e) {
            return sendRestJsonError(reply, toAwsError(e, req));
          }
        },
      });
    };
    const json = (reply: FastifyReply, code: number, body: unknown) => reply.code(code).type('application/json').send(JSON.stringify(body));

    route('POST', '/2015-03-31/functions', async (req, reply) => {
      const b = parseBody(req);
      const name = String(b.FunctionName ?? '');
      if (!FUNCTION_NAME_RE.test(name)) throw validation(`1 validation error detected: Value '${name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ (1 to 64 characters)`);
      if (this.engine.has(name)) throw new AwsError('ResourceConflictException', `Function already exist: ${name}`, 409);
      const spec = await this.specFromCreate(b);
      const tags = b.Tags as Record<string, string> | undefined;
      const created = (await this.createObject({ apiVersion: FunctionKind.apiVersion, kind: FunctionKind.kind, metadata: { name }, spec: { ...spec, ...(tags ? { tags } : {}) } })) as LambdaFunction;
      return json(reply, 201, await this.configuration(created));
    });
    const list = async (req: FastifyRequest, reply: FastifyReply) => {
      const q = req.query as Record<string, string>;
      const max = q.MaxItems ? Number(q.MaxItems) : 50;
      let names = this.engine.names();
      if (q.Marker) names = names.filter((n) => n > q.Marker!);
      const page = names.slice(0, max);
      const Functions = await Promise.all(page.map((n) => this.configuration(this.engine.get(n)!)));
      return json(reply, 200, { Functions, ...(names.length > page.length ? { NextMarker: page.at(-1) } : {}) });
    };
    route('GET', '/2015-03-31/functions', list);
    route('GET', '/2015-03-31/functions/', list);
    route('GET', '/2015-03-31/functions/:name', async (_req, reply, p) => {
      const f = this.fn(p.name!);
      const r = f.spec.reservedConcurrentExecutions;
      return json(reply, 200, { Configuration: await this.configuration(f), Code: { RepositoryType: 'S3' }, ...(f.spec.tags ? { Tags: f.spec.tags } : {}), ...(r !== undefined ? { Concurrency: { ReservedConcurrentExecutions: r } } : {}) });
    });
    route('GET', '/2015-03-31/functions/:name/configuration', async (_req, reply, p) => json(reply, 200, await this.configuration(this.fn(p.name!))));
    route('PUT', '/2015-03-31/functions/:name/configuration', async (req, reply, p) => {
      const f = this.fn(p.name!);
      const b = parseBody(req);
      const out = await this.modifyFunction(f.metadata.name!, (s) => this.applyConfig(s, b));
      return json(reply, 200, await this.configuration(out));
    });
    route('PUT', '/2015-03-31/functions/:name/code', async (req, reply, p) => {
      const f = this.fn(p.name!);
      const b = parseBody(req);
      if (typeof b.ZipFile !== 'string') throw invalidParam('berth takes code as ZipFile (aws lambda update-function-code --zip-file fileb://function.zip).');
      const zip = await this.code.putZip(Buffer.from(b.ZipFile, 'base64'));
      if (b.DryRun === true) return json(reply, 200, await this.configuration(f));
      const out = await this.modifyFunction(f.metadata.name!, (s) => ({ ...s, code: { zipSha256: zip.hex } }));
      return json(reply, 200, await this.configuration(out));
    });
    route('DELETE', '/2015-03-31/functions/:name', async (_req, reply, p) => {
      const f = this.fn(p.name!);
      await this.client.deleteIfExists(FunctionKind, f.metadata.name!);
      return reply.code(204).send();
    });
    route('POST', '/2015-03-31/functions/:name/invocations', async (req, reply, p) => {
      const f = this.fn(p.name!);
      const name = f.metadata.name!;
      const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
      const raw = typeof req.body === 'string' ? req.body : '';
      let event: unknown = {};
      if (raw.trim()) {
        try {
          event = JSON.parse(raw);
        } catch (e) {
          throw new AwsError('InvalidRequestContentException', `Could not parse request body into json: Could not parse payload into json: ${(e as Error).message}`, 400);
        }
      }
      const bytes = Buffer.byteLength(raw);
      reply.header('X-Amz-Executed-Version', '$LATEST');
      if (type === 'DryRun') return reply.code(204).send();
      if (type === 'Event') {
        if (bytes > 1_048_576) throw new AwsError('RequestTooLargeException', `Request must be smaller than 1048576 bytes for the InvokeAsync operation`, 413);
        await this.engine.invokeAsync(name, event);
        return reply.code(202).send();
      }
      if (type !== 'RequestResponse') throw invalidParam(`1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`);
      if (bytes > 6_291_456) throw new AwsError('RequestTooLargeException', 'Request must be smaller than 6291456 bytes for the Invoke operation', 413);
      const res = await this.engine.invoke(name, event);
      if (res.functionError) reply.header('X-Amz-Function-Error', res.functionError);
      if (String(req.headers['x-amz-log-type'] ?? '') === 'Tail') {
        const text = res.record.lines.map((l) => l[1]).join('\n') + '\n';
        const buf = Buffer.from(text);
        reply.header('X-Amz-Log-Result', buf.subarray(Math.max(0, buf.length - 4096)).toString('base64'));
      }
      return reply.code(200).type('application/json').send(res.payload);
    });
    route('POST', '/2015-03-31/functions/:name/policy', async (req, reply, p) => {
      const f = this.fn(p.name!);
      const b = parseBody(req);
      const statement = {
        Sid: String(b.StatementId ?? ''),
        Effect: 'Allow',
        Principal: b.Principal === '*' ? '*' : { Service: String(b.Principal ?? '') },
        Action: String(b.Action ?? 'lambda:InvokeFunction'),
        Resource: functionArn(f.metadata.name!),
        ...(b.SourceArn ? { Condition: { ArnLike: { 'AWS:SourceArn': String(b.SourceArn) } } } : {}),
      };
      await this.client.modify<LambdaFunction>(FunctionKind, f.metadata.name!, undefined, (o) => {
        const cur = JSON.parse(o.metadata.annotations?.[POLICY_ANNOTATION] ?? '{"Version":"2012-10-17","Id":"default","Statement":[]}') as { Statement: { Sid: string }[] };
        if (cur.Statement.some((s) => s.Sid === statement.Sid)) throw new AwsError('ResourceConflictException', `The statement id (${statement.Sid}) provided already exists. Please provide a new statement id, or remove the existing statement.`, 409);
        cur.Statement.push(statement);
        o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [POLICY_ANNOTATION]: JSON.stringify(cur) };
        return o;
      });
      return json(reply, 201, { Statement: JSON.stringify(statement) });
    });
    route('GET', '/2015-03-31/functions/:name/policy', async (_req, reply, p) => {
      const f = this.fn(p.name!);
      const pol = f.metadata.annotations?.[POLICY_ANNOTATION];
      if (!pol) throw new AwsError('ResourceNotFoundException', 'The resource you requested does not exist.', 404);
      return json(reply, 200, { Policy: pol, RevisionId: f.metadata.resourceVersion });
    });

    // Concurrency
    route('PUT', '/2017-10-31/functions/:name/concurrency', async (req, reply, p) => {
      const f = this.fn(p.name!);
      const b = parseBody(req);
      const n = b.ReservedConcurrentExecutions;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw validation(`1 validation error detected: Value '${String(n)}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0`);
      const others = this.engine.reservation(f.metadata.name!).reserved;
      if (this.engine.limit - others - n < 100) throw invalidParam(`Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].`);
      await this.modifyFunction(f.metadata.name!, (s) => ({ ...s, reservedConcurrentExecutions: n }));
      return json(reply, 200, { ReservedConcurrentExecutions: n });
    });
    route('GET', '/2019-09-30/functions/:name/concurrency', async (_req, reply, p) => {
      const r = this.fn(p.name!).spec.reservedConcurrentExecutions;
      return json(reply, 200, r !== undefined ? { ReservedConcurrentExecutions: r } : {});
    });
    route('DELETE', '/2017-10-31/functions/:name/concurrency', async (_req, reply, p) => {
      const f = this.fn(p.name!);
      await this.modifyFunction(f.metadata.name!, (s) => ({ ...s, reservedConcurrentExecutions: undefined }) as FunctionSpec);
      return reply.code(204).send();
    });
    const provisioned = (f: LambdaFunction) => {
      const want = f.spec.provisionedConcurrentExecutions ?? 0;
      const envs = this.engine.environments(f.metadata.name!);
      return {
        RequestedProvisionedConcurrentExecutions: want,
        AvailableProvisionedConcurrentExecutions: Math.min(want, envs.provisioned),
        AllocatedProvisionedConcurrentExecutions: Math.min(want, envs.provisioned),
        Status: envs.provisioned >= want ? 'READY' : 'IN_PROGRESS',
        LastModified: lambdaTime(this.engine.lastModified(f.metadata.name!) ?? this.clock.now()),
      };
    };
    route('PUT', '/2019-09-30/functions/:name/provisioned-concurrency', async (req, reply, p) => {
      const f = this.fn(p.name!);
      const n = parseBody(req).ProvisionedConcurrentExecutions;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw validation(`1 validation error detected: Value '${String(n)}' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1`);
      const r = f.spec.reservedConcurrentExecutions;
      if (r !== undefined && n > r) throw invalidParam(`Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function`);
      const out = await this.modifyFunction(f.metadata.name!, (s) => ({ ...s, provisionedConcurrentExecutions: n }));
      return json(reply, 202, provisioned(out));
    });
    route('GET', '/2019-09-30/functions/:name/provisioned-concurrency', async (_req, reply, p) => {
      const f = this.fn(p.name!);
      if (!f.spec.provisionedConcurrentExecutions) throw new AwsError('ProvisionedConcurrencyConfigNotFoundException', 'No Provisioned Concurrency Config found for this function', 404);
      return json(reply, 200, provisioned(f));
    });
    route('DELETE', '/2019-09-30/functions/:name/provisioned-concurrency', async (_req, reply, p) => {
      const f = this.fn(p.name!);
      await this.modifyFunction(f.metadata.name!, (s) => ({ ...s, provisionedConcurrentExecutions: undefined }) as FunctionSpec);
      return reply.code(204).send();
    });

    // Asynchronous invocation configuration
    const putEic = (merge: boolean) => async (req: FastifyRequest, reply: FastifyReply, p: Record<string, string>) => {
      const f = this.fn(p.name!);
      const b = parseBody(req);
      const out = await this.modifyFunction(f.metadata.name!, (s) => {
        const base: EventInvokeConfig = merge ? { ...(s.eventInvokeConfig ?? {}) } : {};
        if (b.MaximumRetryAttempts !== undefined) base.maximumRetryAttempts = b.MaximumRetryAttempts as number;
        if (b.MaximumEventAgeInSeconds !== undefined) base.maximumEventAgeInSeconds = b.MaximumEventAgeInSeconds as number;
        const dc = destinationsToSpec(b.DestinationConfig as Body | undefined);
        if (dc) base.destinationConfig = merge ? { ...(base.destinationConfig ?? {}), ...dc } : dc;
        return { ...s, eventInvokeConfig: base };
      });
      return json(reply, 200, this.eventInvokeConfig(out));
    };
    route('PUT', '/2019-09-25/functions/:name/event-invoke-config', putEic(false));
    route('POST', '/2019-09-25/functions/:name/event-invoke-config', putEic(true));
    route('GET', '/2019-09-25/functions/:name/event-invoke-config', async (_req, reply, p) => json(reply, 200, this.eventInvokeConfig(this.fn(p.name!))));
    route('DELETE', '/2019-09-25/functions/:name/event-invoke-config', async (_req, reply, p) => {
      const f = this.fn(p.name!);
      this.eventInvokeConfig(f);
      await this.modifyFunction(f.metadata.name!, (s) => ({ ...s, eventInvokeConfig: undefined }) as FunctionSpec);
      return reply.code(204).send();
    });

    // Event source mappings
    route('POST', '/2015-03-31/event-source-mappings', async (req, reply) => {
      const b = parseBody(req);
      const spec = this.mappingSpecFrom(b);
      if (!spec.functionName) throw invalidParam('FunctionName is required.');
      if (!this.engine.has(spec.functionName)) throw functionNotFound(spec.functionName);
      const created = (await this.createObject({ apiVersion: EventSourceMappingKind.apiVersion, kind: EventSourceMappingKind.kind, metadata: { generateName: `${spec.functionName.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-` }, spec })) as EventSourceMapping;
      return json(reply, 202, { ...this.mappingJson(created), State: created.spec.enabled === false ? 'Disabled' : 'Creating' });
    });
    route('GET', '/2015-03-31/event-source-mappings', async (req, reply) => {
      const q = req.query as Record<string, string>;
      const fnName = q.FunctionName ? functionNameFrom(q.FunctionName) : undefined;
      const items = this.engine.mappingObjects().filter((m) => (!fnName || functionNameFrom(m.spec.functionName) === fnName) && (!q.EventSourceArn || m.spec.eventSourceArn === q.EventSourceArn));
      return json(reply, 200, { EventSourceMappings: items.map((m) => this.mappingJson(m)) });
    });
    route('GET', '/2015-03-31/event-source-mappings/:uuid', async (_req, reply, p) => json(reply, 200, this.mappingJson(this.mapping(p.uuid!))));
    route('PUT', '/2015-03-31/event-source-mappings/:uuid', async (req, reply, p) => {
      const m = this.mapping(p.uuid!);
      const b = parseBody(req);
      const out = await this.client.modify<EventSourceMapping>(EventSourceMappingKind, m.metadata.name!, undefined, (o) => {
        o.spec = this.mappingSpecFrom(b, o.spec);
        return o;
      }).catch((e) => {
        throw statusToAws(e);
      });
      return json(reply, 202, { ...this.mappingJson(out!), State: out!.spec.enabled === false ? 'Disabling' : 'Updating' });
    });
    route('DELETE', '/2015-03-31/event-source-mappings/:uuid', async (_req, reply, p) => {
      const m = this.mapping(p.uuid!);
      await this.client.deleteIfExists(EventSourceMappingKind, m.metadata.name!);
      return json(reply, 202, { ...this.mappingJson(m), State: 'Deleting' });
    });

    route('GET', '/2016-08-19/account-settings', async (_req, reply) => {
      const r = this.engine.reservation();
      return json(reply, 200, {
        AccountLimit: { TotalCodeSize: 80_530_636_800, CodeSizeUnzipped: 262_144_000, CodeSizeZipped: 52_428_800, ConcurrentExecutions: this.engine.limit, UnreservedConcurrentExecutions: r.unreserved },
        AccountUsage: { TotalCodeSize: 0, FunctionCount: this.engine.names().length },
      });
    });

    // berth logs function/NAME: the function's log lines, like pods/log (tailLines, sinceSeconds, timestamps, follow).
    app.get('/apis/lambda.berth.dev/v1/functions/:name/log', async (req, reply) => {
      const name = (req.params as { name: string }).name;
      const q = req.query as Record<string, string | undefined>;
      if (!this.engine.has(name)) {
        return reply.code(404).type('application/json').send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `functions.lambda.berth.dev "${name}" not found`, reason: 'NotFound', details: { name, group: 'lambda.berth.dev', kind: 'functions' }, code: 404 });
      }
      const ts = q.timestamps === 'true';
      const fmt = (l: LogLine) => (ts ? `${rfc3339Micro(l[0]).replace(/(\.\d{6})Z$/, '$1000Z')} ${l[1]}` : l[1]) + '\n';
      const tail = q.tailLines !== undefined ? Number(q.tailLines) : undefined;
      const since = q.sinceSeconds !== undefined ? this.clock.now() - Number(q.sinceSeconds) * 1000 : undefined;
      const lines = await this.engine.logs(name, { ...(tail !== undefined && Number.isInteger(tail) ? { tail } : {}), ...(since !== undefined ? { sinceMs: since } : {}) });
      if (q.follow !== 'true') return reply.type('text/plain').send(lines.map(fmt).join(''));
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
      for (const l of lines) res.write(fmt(l));
      const stop = this.engine.follow(name, (l) => res.write(fmt(l)));
      res.on('close', stop);
      return reply;
    });
  }
}

/** The path `berth logs function/NAME` reads: the Function's `log` subresource. */
export function functionLogPath(name: string): string {
  return `/apis/lambda.berth.dev/v1/functions/${encodeURIComponent(name)}/log`;
}

/** Where AddPermission keeps a function's resource policy (kept, not enforced). */
export const POLICY_ANNOTATION = 'lambda.berth.dev/policy';
