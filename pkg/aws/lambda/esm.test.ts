/**
 * An SQS event source mapping's batching (issue 10: "event source mappings from SQS (batch size,
 * batching window, …)"; Lambda Developer Guide, "Using Lambda with Amazon SQS": a batch is
 * invoked when it reaches the batch size or the batching window ends, whichever is first). In
 * virtual time with a simulated function (no process), so the invocation times are exact.
 */
import t from 'tap';
import { VirtualClock } from '../../clock/clock.js';
import { MemoryBackend } from '../../storage/memory/memory.js';
import { SqsEngine } from '../sqs/engine.js';
import { queueArn } from '../sqs/types.js';
import { CodeStore } from './code.js';
import { LambdaEngine } from './engine.js';
import { SIM_DURATION } from './runtime.js';
import type { EventSourceMappingSpec, LambdaFunction } from './types.js';

function setup() {
  const clock = new VirtualClock();
  const backend = new MemoryBackend();
  const sqs = new SqsEngine({ backend, clock });
  const code = new CodeStore(backend);
  const lambda = new LambdaEngine({ backend, clock, sqs, code, idleTimeoutMs: 600_000 });
  t.teardown(() => {
    lambda.close();
    sqs.close();
    code.cleanup();
  });
  sqs.upsertQueue('jobs', { visibilityTimeout: 60 }, clock.now());
  const fn: LambdaFunction = { apiVersion: 'lambda.berth.dev/v1', kind: 'Function', metadata: { name: 'worker', uid: 'fn-1', annotations: { [SIM_DURATION]: '10' } }, spec: { handler: 'index.handler', code: { inline: 'exports.handler = async () => null;' }, memorySize: 128, timeout: 30 } };
  lambda.upsertFunction(fn);
  const map = (uid: string, spec: Partial<EventSourceMappingSpec>): void => lambda.upsertMapping({ metadata: { name: uid, uid }, spec: { functionName: 'worker', eventSourceArn: queueArn('jobs'), scalingConfig: { maximumConcurrency: 2 }, ...spec } });
  /** Steps virtual time `ms` in 100 ms steps, letting the pollers run between steps. */
  const run = async (ms: number): Promise<void> => {
    for (let i = 0; i < ms / 100; i++) {
      await clock.advance(100);
      await new Promise((r) => setImmediate(r));
    }
  };
  /** Invocations that started in [from, to) of cluster time. */
  const invocations = (from: number, to: number): number => lambda.ledger.usage(from, to).requests;
  return { clock, sqs, lambda, map, run, invocations };
}

t.test('a batching window holds the batch until it ends or the batch is full', async (t) => {
  const { clock, sqs, map, run, invocations } = setup();
  map('windowed', { batchSize: 50, maximumBatchingWindowInSeconds: 5 });
  await run(1000);
  const t0 = clock.now();
  for (let i = 0; i < 12; i++) await sqs.send('jobs', { body: `early-${i}` });
  await run(2000);
  for (let i = 0; i < 8; i++) await sqs.send('jobs', { body: `late-${i}` });
  await run(2500);
  t.equal(invocations(0, clock.now()), 0, `nothing invoked 4.5 s into the 5 s window, with 20 of 50 messages waiting`);
  await run(2000);
  const n = invocations(t0, clock.now());
  // Two pollers (the smallest maximumConcurrency) may each hold part of the messages: one or two batches.
  t.ok(n >= 1 && n <= 2, `the window ended: ${n} invocation(s) for 20 messages`);
  t.equal(invocations(0, t0 + 5000), 0, 'none before the window ended');
  await run(1000);
  t.same(sqs.counts('jobs'), { visible: 0, notVisible: 0, delayed: 0 }, 'all 20 processed and deleted');
});

t.test('without a window a batch goes at once', async (t) => {
  const { clock, sqs, map, run, invocations } = setup();
  map('now', { batchSize: 10 });
  await run(1000);
  const t0 = clock.now();
  for (let i = 0; i < 3; i++) await sqs.send('jobs', { body: `m-${i}` });
  await run(1000);
  t.ok(invocations(t0, t0 + 1000) >= 1, 'invoked within a second of the messages');
  await run(1000);
  t.same(sqs.counts('jobs'), { visible: 0, notVisible: 0, delayed: 0 });
});

t.test('a full batch goes before its window ends', async (t) => {
  const { clock, sqs, map, run, invocations } = setup();
  map('full', { batchSize: 5, maximumBatchingWindowInSeconds: 60 });
  await run(1000);
  const t0 = clock.now();
  for (let i = 0; i < 10; i++) await sqs.send('jobs', { body: `m-${i}` });
  await run(2000);
  t.equal(invocations(t0, t0 + 2000), 2, 'two full batches of 5, long before the 60 s window');
  await run(1000);
  t.same(sqs.counts('jobs'), { visible: 0, notVisible: 0, delayed: 0 });
});
