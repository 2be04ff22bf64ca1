/**
 * `lambda.berth.dev/v1 Function` and `EventSourceMapping`, cluster-scoped (one simulated
 * account and region), named as in AWS. A Function holds what CreateFunction takes, in lower
 * camel case, with the code from a file, a folder, inline source, or a zip archive uploaded
 * through the Lambda API (kept in the store, named by its SHA-256):
 *
 * ```yaml
 * apiVersion: lambda.berth.dev/v1
 * kind: Function
 * metadata: {name: resize}
 * spec:
 *   runtime: nodejs20.x
 *   handler: index.handler
 *   memorySize: 512          # MB, 128–10,240
 *   timeout: 30              # seconds, 1–900
 *   code:
 *     inline: |
 *       exports.handler = async (event) => ({ ok: true, n: event.n });
 *     # or file: /abs/path/app.js   (handler app.handler)
 *     # or folder: /abs/path/src    (handler lib/app.handler → src/lib/app.js)
 *   environment: {variables: {STAGE: dev}}
 *   reservedConcurrentExecutions: 10
 *   eventInvokeConfig:
 *     maximumRetryAttempts: 2
 *     destinationConfig: {onFailure: {destination: "arn:aws:sqs:us-east-1:000000000000:failed"}}
 * ---
 * apiVersion: lambda.berth.dev/v1
 * kind: EventSourceMapping
 * metadata: {name: resize-from-jobs}
 * spec:
 *   functionName: resize
 *   eventSourceArn: arn:aws:sqs:us-east-1:000000000000:jobs
 *   batchSize: 10
 *   maximumBatchingWindowInSeconds: 0
 *   functionResponseTypes: [ReportBatchItemFailures]
 * ```
 *
 * Limits are Lambda's quotas ([36]–[40] in AWS-SEMANTICS.md): memory 128–10,240 MB, timeout
 * ≤ 900 s, async retries 0–2, event age 60–21,600 s, SQS batch size 1–10,000 (FIFO 10), window
 * ≤ 300 s.
 */
import { isAbsolute } from 'node:path';
import { fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../../api/errors.js';
import type { KindHooks } from '../../api/hooks.js';
import { isObject } from '../../api/meta.js';
import { defineResource, type ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { validateObjectMeta } from '../../api/validation.js';
import { arn, parseArn } from '../protocol/arn.js';

export const LAMBDA_GROUP = 'lambda.berth.dev';
export const FunctionKind = { apiVersion: 'lambda.berth.dev/v1', kind: 'Function' } as const;
export const EventSourceMappingKind = { apiVersion: 'lambda.berth.dev/v1', kind: 'EventSourceMapping' } as const;

export const LAMBDA_RESOURCES: ResourceInfo[] = [
  defineResource({ gv: 'lambda.berth.dev/v1', resource: 'functions', kind: 'Function', ns: false, short: ['fn'], cat: ['berth', 'aws'], generation: true }),
  defineResource({ gv: 'lambda.berth.dev/v1', resource: 'eventsourcemappings', kind: 'EventSourceMapping', ns: false, short: ['esm'], cat: ['berth', 'aws'], generation: true }),
];

/** The Node.js runtimes accepted; all run on the server's Node.js. */
export const RUNTIMES = ['nodejs18.x', 'nodejs20.x', 'nodejs22.x'];

export interface FunctionCode {
  /** JavaScript source, written as `index.js` (`index.mjs` when it uses ES module syntax). */
  inline?: string;
  /** An absolute path to one .js/.mjs/.cjs file on the server's machine. */
  file?: string;
  /** An absolute path to a folder on the server's machine (the deployment package, unzipped). */
  folder?: string;
  /** SHA-256 (hex) of a zip archive uploaded with CreateFunction/UpdateFunctionCode, kept in the store. */
  zipSha256?: string;
}

export interface Destination {
  /** An SQS queue, SNS topic or Lambda function ARN. */
  destination?: string;
}

export interface EventInvokeConfig {
  /** Retries of a failed asynchronous invocation, 0–2 (default 2). */
  maximumRetryAttempts?: number;
  /** Seconds an event may wait, 60–21,600 (default 21,600: 6 hours). */
  maximumEventAgeInSeconds?: number;
  destinationConfig?: { onSuccess?: Destination; onFailure?: Destination };
}

export interface FunctionSpec {
  runtime?: string;
  /** `module.export`: `index.handler`, `src/app.main`. */
  handler: string;
  code: FunctionCode;
  /** MB, 128–10,240 (default 128). */
  memorySize?: number;
  /** Seconds, 1–900 (default 3). */
  timeout?: number;
  description?: string;
  role?: string;
  environment?: { variables?: Record<string, string> };
  /** Concurrency reserved for (and capping) this function, 0–account limit. */
  reservedConcurrentExecutions?: number;
  /** Execution environments kept initialized, ready before any invocation. */
  provisionedConcurrentExecutions?: number;
  deadLetterConfig?: { targetArn?: string };
  eventInvokeConfig?: EventInvokeConfig;
  architectures?: string[];
  tags?: Record<string, string>;
}

export interface LambdaFunction extends KubeObject {
  spec: FunctionSpec;
}

export interface EventSourceMappingSpec {
  functionName: string;
  eventSourceArn: string;
  /** Records per invocation, 1–10,000 (FIFO queues 1–10; default 10). */
  batchSize?: number;
  /** Seconds to gather a batch, 0–300 (default 0). */
  maximumBatchingWindowInSeconds?: number;
  enabled?: boolean;
  /** `[ReportBatchItemFailures]` turns on partial batch responses. */
  functionResponseTypes?: string[];
  /** Concurrent invocations this source may drive, 2–1,000 (default 5 pollers). */
  scalingConfig?: { maximumConcurrency?: number };
}

export interface EventSourceMapping extends KubeObject {
  spec: EventSourceMappingSpec;
}

/** Function names: 1–64 of A–Z a–z 0–9 - _ (CreateFunction API reference). */
export const FUNCTION_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function functionArn(name: string): string {
  return arn('lambda', `function:${name}`);
}

/** The parts of a handler string: module path and export name. */
export function parseHandler(handler: string): { module: string; export: string } | undefined {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0 || dot === handler.length - 1) return undefined;
  return { module: handler.slice(0, dot), export: handler.slice(dot + 1) };
}

const int = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function range(out: FieldError[], path: string, v: unknown, min: number, max: number): void {
  if (v === undefined) return;
  if (!int(v) || v < min || v > max) out.push(fieldInvalid(path, v, `must be an integer from ${min} to ${max}`));
}

function destinationErrors(path: string, d: unknown): FieldError[] {
  if (d === undefined) return [];
  if (!isObject(d) || typeof d.destination !== 'string') return [fieldInvalid(path, d, 'must be {destination: ARN}')];
  const a = parseArn(d.destination);
  if (!a || !['sqs', 'sns', 'lambda'].includes(a.service)) return [fieldInvalid(`${path}.destination`, d.destination, 'must be the ARN of an SQS queue, an SNS topic or a Lambda function')];
  return [];
}

/** Field errors of a Function object. */
export function validateFunction(obj: KubeObject): FieldError[] {
  const f = obj as LambdaFunction;
  const out = validateObjectMeta(f.metadata, false, 'path');
  const name = f.metadata.name ?? '';
  if (name && !FUNCTION_NAME_RE.test(name)) out.push(fieldInvalid('metadata.name', name, 'a function name is 1 to 64 letters, digits, hyphens or underscores'));
  const s = f.spec;
  if (!isObject(s)) return [...out, fieldRequired('spec')];
  if (s.runtime !== undefined && !RUNTIMES.includes(s.runtime)) out.push(fieldNotSupported('spec.runtime', s.runtime, RUNTIMES));
  if (typeof s.handler !== 'string' || !s.handler) out.push(fieldRequired('spec.handler', 'the handler, as module.export (index.handler)'));
  else if (!parseHandler(s.handler) || s.handler.length > 128) out.push(fieldInvalid('spec.handler', s.handler, 'must be module.export, such as index.handler (at most 128 characters)'));
  const c = s.code as unknown;
  if (!isObject(c)) out.push(fieldRequired('spec.code', 'one of inline, file, folder or zipSha256'));
  else {
    const given = (['inline', 'file', 'folder', 'zipSha256'] as const).filter((k) => c[k] !== undefined);
    if (given.length !== 1) out.push(fieldInvalid('spec.code', Object.keys(c), 'give exactly one of inline, file, folder or zipSha256'));
    for (const k of ['file', 'folder'] as const) {
      const p = c[k];
      if (p === undefined) continue;
      if (typeof p !== 'string' || !isAbsolute(p)) out.push(fieldInvalid(`spec.code.${k}`, p, "must be an absolute path on the server's machine"));
    }
    if (c.file !== undefined && typeof c.file === 'string' && typeof s.handler === 'string') {
      const h = parseHandler(s.handler);
      const base = c.file.split('/').at(-1)!.replace(/\.(c|m)?js$/, '');
      if (!/\.(c|m)?js$/.test(c.file)) out.push(fieldInvalid('spec.code.file', c.file, 'must be a .js, .mjs or .cjs file'));
      else if (h && h.module !== base) out.push(fieldInvalid('spec.handler', s.handler, `the module of the handler must be the file's name: ${base}.${h.export}`));
    }
    if (c.inline !== undefined && typeof c.inline !== 'string') out.push(fieldInvalid('spec.code.inline', c.inline, 'must be JavaScript source text'));
    if (c.zipSha256 !== undefined && (typeof c.zipSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(c.zipSha256))) out.push(fieldInvalid('spec.code.zipSha256', c.zipSha256, 'must be a hex SHA-256'));
  }
  range(out, 'spec.memorySize', s.memorySize, 128, 10_240);
  range(out, 'spec.timeout', s.timeout, 1, 900);
  range(out, 'spec.reservedConcurrentExecutions', s.reservedConcurrentExecutions, 0, 100_000);
  range(out, 'spec.provisionedConcurrentExecutions', s.provisionedConcurrentExecutions, 0, 100_000);
  if (int(s.provisionedConcurrentExecutions) && int(s.reservedConcurrentExecutions) && s.provisionedConcurrentExecutions > s.reservedConcurrentExecutions) {
    out.push(fieldInvalid('spec.provisionedConcurrentExecutions', s.provisionedConcurrentExecutions, `must not exceed reservedConcurrentExecutions (${s.reservedConcurrentExecutions})`));
  }
  const env = s.environment;
  if (env !== undefined && (!isObject(env) || (env.variables !== undefined && (!isObject(env.variables) || Object.values(env.variables).some((v) => typeof v !== 'string'))))) {
    out.push(fieldInvalid('spec.environment.variables', env, 'must be a map of strings'));
  }
  const eic = s.eventInvokeConfig;
  if (eic !== undefined) {
    if (!isObject(eic)) out.push(fieldInvalid('spec.eventInvokeConfig', eic, 'must be an object'));
    else {
      range(out, 'spec.eventInvokeConfig.maximumRetryAttempts', eic.maximumRetryAttempts, 0, 2);
      range(out, 'spec.eventInvokeConfig.maximumEventAgeInSeconds', eic.maximumEventAgeInSeconds, 60, 21_600);
      const dc = eic.destinationConfig as Record<string, unknown> | undefined;
      if (dc !== undefined) {
        out.push(...destinationErrors('spec.eventInvokeConfig.destinationConfig.onSuccess', dc.onSuccess));
        out.push(...destinationErrors('spec.eventInvokeConfig.destinationConfig.onFailure', dc.onFailure));
      }
    }
  }
  const dlq = s.deadLetterConfig as Record<string, unknown> | undefined;
  if (dlq?.targetArn !== undefined) {
    const a = parseArn(dlq.targetArn as string);
    if (!a || !['sqs', 'sns'].includes(a.service)) out.push(fieldInvalid('spec.deadLetterConfig.targetArn', dlq.targetArn, 'must be the ARN of an SQS queue or an SNS topic'));
  }
  if (s.architectures !== undefined && (!Array.isArray(s.architectures) || s.architectures.length !== 1 || !['x86_64', 'arm64'].includes(s.architectures[0]!))) {
    out.push(fieldNotSupported('spec.architectures', s.architectures, ['x86_64', 'arm64']));
  }
  return out;
}

/** Field errors of an EventSourceMapping. */
export function validateEventSourceMapping(obj: KubeObject): FieldError[] {
  const m = obj as EventSourceMapping;
  const out = validateObjectMeta(m.metadata, false, 'path');
  const s = m.spec;
  if (!isObject(s)) return [...out, fieldRequired('spec')];
  if (typeof s.functionName !== 'string' || !s.functionName) out.push(fieldRequired('spec.functionName'));
  const a = parseArn(s.eventSourceArn);
  if (!s.eventSourceArn) out.push(fieldRequired('spec.eventSourceArn'));
  else if (!a || a.service !== 'sqs') out.push(fieldInvalid('spec.eventSourceArn', s.eventSourceArn, 'must be an SQS queue ARN (berth maps SQS queues; SNS invokes functions through subscriptions)'));
  const fifo = !!a && a.resource.endsWith('.fifo');
  range(out, 'spec.batchSize', s.batchSize, 1, fifo ? 10 : 10_000);
  range(out, 'spec.maximumBatchingWindowInSeconds', s.maximumBatchingWindowInSeconds, 0, 300);
  if (int(s.batchSize) && s.batchSize > 10 && !s.maximumBatchingWindowInSeconds) {
    out.push(fieldInvalid('spec.maximumBatchingWindowInSeconds', s.maximumBatchingWindowInSeconds ?? 0, 'must be at least 1 when batchSize is more than 10'));
  }
  if (s.enabled !== undefined && typeof s.enabled !== 'boolean') out.push(fieldInvalid('spec.enabled', s.enabled, 'must be true or false'));
  if (s.functionResponseTypes !== undefined && (!Array.isArray(s.functionResponseTypes) || s.functionResponseTypes.some((t) => t !== 'ReportBatchItemFailures'))) {
    out.push(fieldNotSupported('spec.functionResponseTypes', s.functionResponseTypes, ['ReportBatchItemFailures']));
  }
  const sc = s.scalingConfig as Record<string, unknown> | undefined;
  if (sc?.maximumConcurrency !== undefined) range(out, 'spec.scalingConfig.maximumConcurrency', sc.maximumConcurrency, 2, 1000);
  return out;
}

export const functionHooks: KindHooks = {
  default(obj) {
    const s = obj.spec as FunctionSpec | undefined;
    if (!isObject(s)) return;
    s.runtime ??= 'nodejs20.x';
    s.memorySize ??= 128;
    s.timeout ??= 3;
  },
  validate: (obj) => validateFunction(obj),
};

export const eventSourceMappingHooks: KindHooks = {
  default(obj) {
    const s = obj.spec as EventSourceMappingSpec | undefined;
    if (!isObject(s)) return;
    s.batchSize ??= 10;
    s.maximumBatchingWindowInSeconds ??= 0;
    s.enabled ??= true;
  },
  validate: (obj) => validateEventSourceMapping(obj),
};
