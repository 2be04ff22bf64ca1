import t from 'tap';
import { ScaledClock, VirtualClock, type Clock } from '../../clock/clock.js';
import { MemoryBackend } from '../../storage/memory/memory.js';
import { SqsEngine } from '../sqs/engine.js';
import { queueArn } from '../sqs/types.js';
import { CodeStore } from './code.js';
import { batchItemFailures, LambdaEngine } from './engine.js';
import { SIM_DURATION, SIM_ERROR, SIM_INIT } from './runtime.js';
import type { EventSourceMapping, FunctionSpec, LambdaFunction } from './types.js';

function setup(opts: { limit?: number; clock?: Clock } = {}) {
  const clock = (opts.clock ?? new VirtualClock()) as VirtualClock;
  const backend = new MemoryBackend();
  const sqs = new SqsEngine({ backend, clock });
  const code = new CodeStore(backend);
  const lambda = new LambdaEngine({ backend, clock, sqs, code, idleTimeoutMs: 60_000, ...(opts.limit ? { concurrencyLimit: opts.limit } : {}) });
  let uid = 0;
  const fn = (name: string, spec: Partial<FunctionSpec>, annotations?: Record<string, string>): LambdaFunction => {
    const f: LambdaFunction = { apiVersion: 'lambda.berth.dev/v1', kind: 'Function', metadata: { name, uid: `uid-${++uid}`, ...(annotations ? { annotations } : {}) }, spec: { handler: 'index.handler', code: { inline: 'exports.handler = async () => null;' }, memorySize: 128, timeout: 3, ...spec } };
    lambda.upsertFunction(f);
    return f;
  };
  t.teardown(() => {
    lambda.close();
    sqs.close();
    code.cleanup();
  });
  return { clock, sqs, lambda, fn };
}

/** Advances virtual time in steps, letting real work (child processes) run, until `p` settles. */
async function drive<T>(clock: VirtualClock, p: Promise<T>, stepMs = 100, realMs = 10): Promise<T> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 2000 && !done; i++) {
    await clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, realMs));
  }
  return p;
}

t.test('a cold start, then warm invocations on the same environment, reclaimed when idle', async (t) => {
  const { clock, lambda, fn } = setup();
  fn('sim', { memorySize: 512 }, { [SIM_DURATION]: '120', [SIM_INIT]: '250' });
  const first = await drive(clock, lambda.invoke('sim', {}), 10, 0);
  t.equal(first.record.initMs, 250, 'cold: the INIT phase ran');
  t.equal(first.record.durationMs, 120);
  t.equal(first.record.billedMs, 370, 'billed duration includes INIT (since 2025-08-01)');
  t.match(first.record.lines.at(-1)![1], /^REPORT RequestId: \S+\tDuration: 120\.00 ms\tBilled Duration: 370 ms\tMemory Size: 512 MB\tMax Memory Used: \d+ MB\tInit Duration: 250\.00 ms\t$/);
  const second = await drive(clock, lambda.invoke('sim', {}), 10, 0);
  t.equal(second.record.initMs, undefined, 'warm: no INIT');
  t.equal(second.record.billedMs, 120);
  t.same(lambda.environments('sim'), { idle: 1, total: 1, provisioned: 0, inflight: 0 });
  await clock.advance(60_000);
  t.equal(lambda.environments('sim').total, 0, 'reclaimed after the idle timeout');
});

t.test('provisioned concurrency: environments are ready before the first invocation', async (t) => {
  const { clock, lambda, fn } = setup();
  fn('pc', { provisionedConcurrentExecutions: 2 }, { [SIM_DURATION]: '10', [SIM_INIT]: '500' });
  await clock.advance(1000);
  t.same(lambda.environments('pc'), { idle: 2, total: 2, provisioned: 2, inflight: 0 });
  const r = await drive(clock, lambda.invoke('pc', {}), 10, 0);
  t.equal(r.record.initMs, undefined, 'no cold start');
  await clock.advance(3_600_000);
  t.equal(lambda.environments('pc').provisioned, 2, 'never reclaimed');
});

t.test('reserved concurrency caps a function; the account limit throttles the rest', async (t) => {
  const { clock, lambda, fn } = setup({ limit: 3 });
  fn('capped', { reservedConcurrentExecutions: 1 }, { [SIM_DURATION]: '1000' });
  fn('free', {}, { [SIM_DURATION]: '1000' });
  const running = lambda.invoke('capped', {});
  await t.rejects(lambda.invoke('capped', {}), { code: 'TooManyRequestsException', status: 429, opts: { extra: { Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' } } });
  // 3 − 1 reserved = 2 unreserved.
  const a = lambda.invoke('free', {});
  const b = lambda.invoke('free', {});
  await t.rejects(lambda.invoke('free', {}), { code: 'TooManyRequestsException', opts: { extra: { Reason: 'ConcurrentInvocationLimitExceeded' } } });
  t.equal(lambda.inflight(), 3);
  await clock.advance(1000);
  await Promise.all([running, a, b]);
  t.equal(lambda.inflight(), 0);
});

t.test('an asynchronous invocation that fails is retried twice, then goes to its on-failure destination', async (t) => {
  const { clock, sqs, lambda, fn } = setup();
  sqs.upsertQueue('failures', {}, clock.now());
  sqs.upsertQueue('dlq', {}, clock.now());
  fn('flaky', { eventInvokeConfig: { destinationConfig: { onFailure: { destination: queueArn('failures') } } }, deadLetterConfig: { targetArn: queueArn('dlq') } }, { [SIM_DURATION]: '5', [SIM_ERROR]: 'boom' });
  const id = await lambda.invokeAsync('flaky', { order: 7 });
  await clock.advance(100);
  t.equal(lambda.pendingEvents('flaky'), 1, 'first attempt failed, waiting to retry');
  await clock.advance(59_000);
  t.same(await sqs.receive('failures'), [], 'no retry before one minute');
  await clock.advance(1_000 + 120_000 + 100);
  t.equal(lambda.pendingEvents('flaky'), 0);
  const [m] = await sqs.receive('failures');
  const record = JSON.parse(m!.body) as { requestContext: { requestId: string; condition: string; approximateInvokeCount: number }; requestPayload: unknown; responsePayload: { errorMessage: string } };
  t.equal(record.requestContext.requestId, id, 'the request id is kept across retries');
  t.equal(record.requestContext.condition, 'RetriesExhausted');
  t.equal(record.requestContext.approximateInvokeCount, 3, 'one try and two retries');
  t.same(record.requestPayload, { order: 7 });
  t.equal(record.responsePayload.errorMessage, 'boom');
  const [d] = await sqs.receive('dlq', { max: 1 });
  t.same(JSON.parse(d!.body), { order: 7 }, 'the dead-letter queue gets the event');
  t.equal(d!.attrs?.RequestID?.StringValue, id);
});

t.test('events older than maximumEventAgeInSeconds are discarded to the destination', async (t) => {
  const { clock, sqs, lambda, fn } = setup();
  sqs.upsertQueue('old', {}, clock.now());
  fn('slow', { eventInvokeConfig: { maximumEventAgeInSeconds: 60, destinationConfig: { onFailure: { destination: queueArn('old') } } } }, { [SIM_DURATION]: '5', [SIM_ERROR]: 'no' });
  await lambda.invokeAsync('slow', {});
  await clock.advance(200_000);
  const [m] = await sqs.receive('old');
  t.equal(JSON.parse(m!.body).requestContext.condition, 'EventAgeExceeded');
  t.equal(JSON.parse(m!.body).requestContext.approximateInvokeCount, 1, 'the retry at 60 s found the event too old');
});

t.test('a Node.js handler in a worker process: result, error, timeout on the injected clock', async (t) => {
  const { clock, lambda, fn } = setup();
  fn('real', {
    timeout: 3,
    environment: { variables: { GREETING: 'hi' } },
    code: { inline: 'exports.handler = async (event, ctx) => { console.log("event", JSON.stringify(event)); if (event.hang) await new Promise(() => {}); if (event.fail) throw new TypeError("bad input"); return { greeting: process.env.GREETING, fn: ctx.functionName, mem: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE }; };' },
  });
  const ok = await drive(clock, lambda.invoke('real', { n: 1 }), 1, 5);
  t.same(JSON.parse(ok.payload), { greeting: 'hi', fn: 'real', mem: '128' });
  t.ok(ok.record.lines.some((l) => /\tINFO\tevent \{"n":1\}$/.test(l[1])), 'console.log is an INFO line with the request id');
  const bad = await drive(clock, lambda.invoke('real', { fail: true }), 1, 5);
  t.equal(bad.functionError, 'Unhandled');
  t.match(JSON.parse(bad.payload), { errorType: 'TypeError', errorMessage: 'bad input' });
  t.equal(lambda.environments('real').total, 1, 'a handled error keeps the environment');
  const hung = await drive(clock, lambda.invoke('real', { hang: true }), 500, 5);
  t.equal(hung.status, 'timeout');
  t.match(JSON.parse(hung.payload).errorMessage, /Task timed out after 3\.00 seconds$/);
  t.equal(hung.record.durationMs, 3000, 'the timeout is on the cluster clock');
  t.equal(lambda.environments('real').total, 0, 'a timed-out environment is discarded');
  t.ok(hung.record.lines.some((l) => l[1].endsWith('Status: timeout\t')));
});

t.test('memory limit: a handler that outgrows its memory ends its environment', async (t) => {
  const { clock, lambda, fn } = setup();
  fn('hog', { timeout: 60, code: { inline: 'const keep = []; exports.handler = async () => { for (;;) keep.push(new Array(1e6).fill(1)); };' } });
  const r = await drive(clock, lambda.invoke('hog', {}), 1, 20);
  t.equal(r.status, 'crash');
  t.equal(r.functionError, 'Unhandled');
  t.match(JSON.parse(r.payload), { errorType: 'Runtime.ExitError' });
});

t.test('SQS event source mapping: partial batch failures stay on the queue', async (t) => {
  const { clock, sqs, lambda, fn } = setup();
  sqs.upsertQueue('jobs', { visibilityTimeout: 30 }, clock.now());
  fn('worker', {
    timeout: 10,
    code: { inline: 'exports.handler = async (e) => ({ batchItemFailures: e.Records.filter((r) => r.body.startsWith("bad")).map((r) => ({ itemIdentifier: r.messageId })) });' },
  });
  for (const b of ['ok-1', 'bad-2', 'ok-3']) await sqs.send('jobs', { body: b });
  const m: EventSourceMapping = { metadata: { name: 'm', uid: 'esm-1' }, spec: { functionName: 'worker', eventSourceArn: queueArn('jobs'), batchSize: 10, functionResponseTypes: ['ReportBatchItemFailures'], scalingConfig: { maximumConcurrency: 2 } } };
  lambda.upsertMapping(m);
  const settled = (async () => {
    for (;;) {
      const c = sqs.counts('jobs');
      if (c.visible + c.notVisible === 1 && lambda.mappingResult('esm-1') === 'OK') return c;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const c = await drive(clock, settled, 10, 5);
  t.same(c, { visible: 0, notVisible: 1, delayed: 0 }, 'the failed item is in flight until its visibility timeout');
  lambda.removeMapping('esm-1');
  await clock.advance(30_000);
  const [left] = await sqs.receive('jobs');
  t.equal(left?.body, 'bad-2');
  t.equal(left?.receives, 2);
});

t.test('batchItemFailures: an unknown id fails the whole batch', async (t) => {
  const batch = [{ id: 'a' }, { id: 'b' }];
  t.same([...(batchItemFailures('{"batchItemFailures":[{"itemIdentifier":"b"}]}', batch) as Set<string>)], ['b']);
  t.equal(batchItemFailures('{"batchItemFailures":[{"itemIdentifier":"zzz"}]}', batch), 'all');
  t.equal(batchItemFailures('{"batchItemFailures":[{}]}', batch), 'all');
  t.same([...(batchItemFailures('null', batch) as Set<string>)], [], 'no list: all succeeded');
});

t.test('with --time-scale, billed duration is the simulated duration plus INIT, not multiplied by the scale', async (t) => {
  // 1,000 cluster ms a real ms: a wait that ends 1 real ms late would add a cluster second.
  const { lambda, fn } = setup({ clock: new ScaledClock(1000) });
  fn('sim', { memorySize: 512, timeout: 900 }, { [SIM_DURATION]: '120', [SIM_INIT]: '250' });
  const cold = await lambda.invoke('sim', {});
  t.same([cold.record.initMs, cold.record.durationMs, cold.record.billedMs], [250, 120, 370], 'cold: 250 ms INIT + 120 ms, billed 370 ms');
  const warm = await lambda.invoke('sim', {});
  t.same([warm.record.initMs, warm.record.durationMs, warm.record.billedMs], [undefined, 120, 120]);
  t.equal(lambda.ledger.usage(0, Infinity).mbMs, (370 + 120) * 512, 'the ledger bills the same');
});

t.test('a worker process: Init Duration is its own load time, not the process start × the time scale', async (t) => {
  // At 60 cluster seconds a real second, a 100 ms process start measured on the cluster clock
  // would be billed as 6 s of INIT.
  const { lambda, fn } = setup({ clock: new ScaledClock(60) });
  fn('real', { memorySize: 128, timeout: 900, code: { inline: 'exports.handler = async () => ({ok: true});' } });
  const r = await lambda.invoke('real', {});
  t.equal(r.status, 'ok', r.payload);
  t.ok(r.record.initMs !== undefined && r.record.initMs >= 0 && r.record.initMs < 2000, `Init Duration ${r.record.initMs} ms: the handler's load time`);
  t.equal(r.record.billedMs, Math.max(1, Math.ceil(r.record.durationMs + r.record.initMs! - 1e-9)), 'billed: duration + INIT, rounded up to 1 ms');
});
