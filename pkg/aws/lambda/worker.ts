/**
 * The Node.js runtime inside one execution environment: a child process forked by the Lambda
 * engine (with `--max-old-space-size` for the function's memory). It loads the handler once
 * (the INIT phase), then runs one invocation at a time as the parent asks over IPC, reporting
 * console output as Lambda's Node.js runtime formats it (level, request id) and the result or
 * error as Lambda returns them (`{errorType, errorMessage, trace}`).
 *
 * Messages: parent → child `{t:'invoke', id, event, remainingMs}`;
 * child → parent `{t:'ready', initMs}`, `{t:'initError', error}`, `{t:'log', id, level, message}`,
 * `{t:'result', id, ok, payload | error, maxRss}`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';

type Send = (m: unknown) => void;
const send: Send = (m) => process.send?.(m);

interface LambdaError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

const SELF = import.meta.url;

function toError(e: unknown): LambdaError {
  // The runtime's own frames are noise in the function's trace.
  if (e instanceof Error) return { errorType: e.name || 'Error', errorMessage: e.message, trace: (e.stack ?? '').split('\n').filter((l) => !l.includes(SELF) && !l.includes('node:internal')) };
  if (typeof e === 'string') return { errorType: 'string', errorMessage: e };
  return { errorType: typeof e, errorMessage: JSON.stringify(e) ?? String(e) };
}

let current: string | undefined;
let maxRss = 0;

// console.* as the Node.js runtime writes it: one log event per call, with the request id and level.
for (const [method, level] of [
  ['log', 'INFO'],
  ['info', 'INFO'],
  ['warn', 'WARN'],
  ['error', 'ERROR'],
  ['debug', 'DEBUG'],
  ['trace', 'TRACE'],
] as const) {
  (console as unknown as Record<string, (...a: unknown[]) => void>)[method] = (...args: unknown[]) => send({ t: 'log', id: current, level, message: format(...args) });
}

async function load(): Promise<(event: unknown, ctx: unknown, cb?: unknown) => unknown> {
  const spec = process.env._HANDLER ?? '';
  const root = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
  const dot = spec.lastIndexOf('.');
  const modPath = spec.slice(0, dot);
  const exportName = spec.slice(dot + 1);
  const candidates = ['.js', '.mjs', '.cjs'].map((ext) => join(root, modPath + ext));
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    const err = new Error(`Cannot find module '${modPath}'`);
    err.name = 'Runtime.ImportModuleError';
    throw err;
  }
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown> & { default?: Record<string, unknown> };
  const fn = mod[exportName] ?? mod.default?.[exportName];
  if (typeof fn !== 'function') {
    const err = new Error(`${spec} is undefined or not exported`);
    err.name = 'Runtime.HandlerNotFound';
    throw err;
  }
  return fn as (event: unknown, ctx: unknown, cb?: unknown) => unknown;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  let handler: Awaited<ReturnType<typeof load>>;
  try {
    handler = await load();
  } catch (e) {
    send({ t: 'initError', error: toError(e) });
    return;
  }
  maxRss = process.memoryUsage.rss();
  send({ t: 'ready', initMs: performance.now() - t0 });

  process.on('message', (msg: { t: string; id: string; event: unknown; remainingMs: number }) => {
    if (msg.t !== 'invoke') return;
    void invoke(handler, msg);
  });
}

async function invoke(handler: Awaited<ReturnType<typeof load>>, msg: { id: string; event: unknown; remainingMs: number }): Promise<void> {
  current = msg.id;
  const deadline = Date.now() + msg.remainingMs;
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? '';
  const context = {
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: process.env.BERTH_FUNCTION_ARN ?? '',
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128',
    awsRequestId: msg.id,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? '',
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await new Promise<unknown>((resolve, reject) => {
      if (handler.length >= 3) {
        const r = handler(msg.event, context, (err: unknown, value: unknown) => (err ? reject(err) : resolve(value))) as Promise<unknown> | undefined;
        if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(resolve, reject);
      } else {
        Promise.resolve(handler(msg.event, context)).then(resolve, reject);
      }
    });
    maxRss = Math.max(maxRss, process.memoryUsage.rss());
    let payload: string;
    try {
      payload = JSON.stringify(result === undefined ? null : result);
    } catch (e) {
      send({ t: 'result', id: msg.id, ok: false, error: { errorType: 'Runtime.MarshalError', errorMessage: `Unable to stringify response body: ${(e as Error).message}` }, maxRss });
      return;
    }
    send({ t: 'result', id: msg.id, ok: true, payload, maxRss });
  } catch (e) {
    maxRss = Math.max(maxRss, process.memoryUsage.rss());
    send({ t: 'result', id: msg.id, ok: false, error: toError(e), maxRss });
  } finally {
    current = undefined;
  }
}

// A promise rejected outside the handler's chain ends the environment, as in Lambda.
process.on('unhandledRejection', (reason) => {
  send({ t: 'result', id: current, ok: false, error: { ...toError(reason), errorType: 'Runtime.UnhandledPromiseRejection' }, maxRss, fatal: true });
  setImmediate(() => process.exit(128));
});
process.on('uncaughtException', (err) => {
  send({ t: 'result', id: current, ok: false, error: toError(err), maxRss, fatal: true });
  setImmediate(() => process.exit(129));
});

// The engine is gone (stopped or killed): so is this environment.
process.on('disconnect', () => process.exit(0));

void main();
