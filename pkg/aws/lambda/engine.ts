/**
 * The Lambda service: functions' execution environments, concurrency, synchronous and
 * asynchronous invocation, event source mappings from SQS, per-invocation logs and billing.
 *
 * Execution environments are made on demand (a cold start: the INIT phase loads the handler),
 * reused while warm, and reclaimed after `idleTimeoutMs` without work; provisioned concurrency
 * keeps that many initialized before any invocation. Concurrency is counted per invocation in
 * flight: a function with reserved concurrency is capped at it, the rest share what the
 * account limit (1,000) leaves unreserved; past the limit a synchronous invoke is throttled
 * (429 TooManyRequestsException) and an asynchronous event waits and is retried.
 *
 * An asynchronous (Event) invocation is stored before it is acknowledged
 * (`/berth/lambda/events/<function>/<id>`), so a restart does not lose it. A failure is retried
 * `maximumRetryAttempts` times (default 2), one minute then two minutes later; an event older
 * than `maximumEventAgeInSeconds` (default 6 h) is discarded. Then the on-failure destination
 * and the dead-letter queue get it; a success goes to the on-success destination
 * (Lambda Developer Guide, "Configuring error handling for asynchronous invocation" and
 * "Capturing records of Lambda asynchronous invocations"; [37] in AWS-SEMANTICS.md).
 *
 * Every invocation writes one record (`/berth/lambda/invocations/<function>/<sequence>`): its
 * log lines (START, the function's output, END, REPORT as Lambda writes them), durations and
 * memory, from which `berth logs function/NAME` reads and billing counts.
 */
import type { Clock } from '../../clock/clock.js';
import type { Backend } from '../../storage/types.js';
import { functionNameFrom, parseArn, REGION, uuid } from '../protocol/arn.js';
import { AwsError } from '../protocol/errors.js';
import type { ReceivedMessage, SqsEngine } from '../sqs/engine.js';
import { systemAttributes } from '../sqs/api.js';
import { md5Hex } from '../sqs/md5.js';
import { queueArn } from '../sqs/types.js';
import { billedDurationMs, UsageLedger } from './billing.js';
import { CodeError, type CodeStore } from './code.js';
import { ProcessEnvironment, SimulatedEnvironment, simulatedBehaviour, type Environment, type InvokeOutcome, type LambdaErrorBody, type SimulatedBehaviour } from './runtime.js';
import { functionArn, type EventSourceMapping, type EventSourceMappingSpec, type LambdaFunction } from './types.js';

export const INVOCATION_PREFIX = '/berth/lambda/invocations/';
export const EVENT_PREFIX = '/berth/lambda/events/';

/** One log event: cluster time (ms) and text. */
export type LogLine = [number, string];

/** What an invocation left behind (stored as JSON, one key per invocation). */
export interface InvocationRecord {
  requestId: string;
  function: string;
  /** Cluster time the invocation started, ms. */
  start: number;
  durationMs: number;
  billedMs: number;
  memoryMb: number;
  initMs?: number;
  status: InvokeOutcome['status'];
  lines: LogLine[];
}

/** The answer to a synchronous invocation. */
export interface InvocationResult {
  requestId: string;
  /** JSON text: the handler's result, or the error object. */
  payload: string;
  /** `Unhandled` when the function failed (X-Amz-Function-Error). */
  functionError?: string;
  status: InvokeOutcome['status'];
  record: InvocationRecord;
}

/** Where destinations and dead-letter queues deliver to SNS (set by the SNS component). */
export type TopicPublisher = (topic: string, message: string, attributes?: Record<string, { DataType: string; StringValue?: string }>) => Promise<void>;

export interface LambdaEngineOptions {
  backend: Backend;
  clock: Clock;
  sqs: SqsEngine;
  code: CodeStore;
  /** Concurrent executions in the account (default 1,000). */
  concurrencyLimit?: number;
  /** An idle environment is reclaimed after this long, ms of cluster time (default 5 minutes). */
  idleTimeoutMs?: number;
  /** The server's own URL, given to functions as AWS_ENDPOINT_URL so their SDK calls come back to berth. */
  endpoint?: () => string | undefined;
}

interface PendingEvent {
  id: string;
  function: string;
  payload: unknown;
  received: number;
  attempts: number;
  cancel?: () => void;
}

class FunctionState {
  readonly idle: Environment[] = [];
  readonly all = new Set<Environment>();
  readonly reclaim = new Map<Environment, () => void>();
  inflight = 0;
  version = '';
  sim: SimulatedBehaviour | undefined;
  lastModified: number;
  envSeq = 0;
  constructor(
    public obj: LambdaFunction,
    now: number,
  ) {
    this.lastModified = now;
  }
  get name(): string {
    return this.obj.metadata.name!;
  }
  get spec() {
    return this.obj.spec;
  }
}

/** Reasons Lambda gives for a throttle (TooManyRequestsException.Reason). */
export type ThrottleReason = 'ReservedFunctionConcurrentInvocationLimitExceeded' | 'ConcurrentInvocationLimitExceeded';

export const functionNotFound = (name: string): AwsError => new AwsError('ResourceNotFoundException', `Function not found: ${functionArn(name)}`, 404);

export class LambdaEngine {
  readonly limit: number;
  readonly ledger = new UsageLedger();
  publishToTopic: TopicPublisher | undefined;
  private readonly fns = new Map<string, FunctionState>();
  private readonly events = new Map<string, PendingEvent>();
  private readonly mappings = new Map<string, MappingPoller>();
  private readonly mappingObjs = new Map<string, EventSourceMapping>();
  private readonly followers = new Map<string, Set<(l: LogLine) => void>>();
  private seq = 0;
  private closed = false;
  private readonly idleMs: number;

  constructor(private readonly o: LambdaEngineOptions) {
    this.limit = o.concurrencyLimit ?? 1000;
    this.idleMs = o.idleTimeoutMs ?? 5 * 60_000;
  }

  /** Loads functions, pending asynchronous events, the usage ledger (from stored records) and mappings. */
  async load(fns: LambdaFunction[], mappings: EventSourceMapping[]): Promise<void> {
    for (const f of fns) this.upsertFunction(f);
    await this.scan(INVOCATION_PREFIX, (key, v) => {
      const r = JSON.parse(v) as InvocationRecord;
      this.seq = Math.max(this.seq, Number(key.slice(key.lastIndexOf('/') + 1)));
      this.ledger.add(r.start, r.billedMs, r.memoryMb, r.function);
    });
    await this.scan(EVENT_PREFIX, (_key, v) => {
      const ev = JSON.parse(v) as PendingEvent;
      this.events.set(ev.id, ev);
      this.scheduleEvent(ev, 0);
    });
    for (const m of mappings) this.upsertMapping(m);
  }

  private async scan(prefix: string, fn: (key: string, value: string) => void): Promise<void> {
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.o.backend.list(prefix, { limit: 1000, ...(startAfter ? { startAfter } : {}) });
      for (const kv of page.items) fn(kv.key, kv.value);
      if (!page.more || !page.items.length) return;
      startAfter = page.items.at(-1)!.key;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Functions

  /** Adds or changes a function: new configuration retires its environments; provisioned ones are made. */
  upsertFunction(obj: LambdaFunction): void {
    const name = obj.metadata.name!;
    let fn = this.fns.get(name);
    const version = JSON.stringify([obj.spec, obj.metadata.annotations ?? {}]);
    if (!fn) {
      fn = new FunctionState(obj, this.o.clock.now());
      this.fns.set(name, fn);
    } else if (fn.version !== version) {
      fn.lastModified = this.o.clock.now();
    }
    fn.obj = obj;
    if (fn.version !== version) {
      fn.version = version;
      fn.sim = simulatedBehaviour(obj.metadata.annotations);
      for (const env of [...fn.idle]) this.retire(fn, env);
    }
    void this.provision(fn);
  }

  /** Removes a function: its environments are ended; pending events for it are dropped. */
  async removeFunction(name: string): Promise<void> {
    const fn = this.fns.get(name);
    if (!fn) return;
    this.fns.delete(name);
    for (const env of fn.all) env.kill();
    for (const c of fn.reclaim.values()) c();
    for (const ev of [...this.events.values()]) if (ev.function === name) await this.dropEvent(ev);
  }

  has(name: string): boolean {
    return this.fns.has(name);
  }

  names(): string[] {
    return [...this.fns.keys()].sort();
  }

  get(name: string): LambdaFunction | undefined {
    return this.fns.get(name)?.obj;
  }

  lastModified(name: string): number | undefined {
    return this.fns.get(name)?.lastModified;
  }

  /** Environments of a function: warm (idle) and all. */
  environments(name: string): { idle: number; total: number; provisioned: number; inflight: number } {
    const fn = this.fns.get(name);
    if (!fn) return { idle: 0, total: 0, provisioned: 0, inflight: 0 };
    return { idle: fn.idle.length, total: fn.all.size, provisioned: [...fn.all].filter((e) => e.provisioned).length, inflight: fn.inflight };
  }

  /** Invocations in flight across the account. */
  inflight(): number {
    let n = 0;
    for (const f of this.fns.values()) n += f.inflight;
    return n;
  }

  /** Concurrency reserved by functions, and what is left unreserved. */
  reservation(except?: string): { reserved: number; unreserved: number } {
    let reserved = 0;
    for (const f of this.fns.values()) if (f.name !== except) reserved += f.spec.reservedConcurrentExecutions ?? 0;
    return { reserved, unreserved: this.limit - reserved };
  }

  private throttleReason(fn: FunctionState): ThrottleReason | undefined {
    const r = fn.spec.reservedConcurrentExecutions;
    if (r !== undefined) return fn.inflight >= r ? 'ReservedFunctionConcurrentInvocationLimitExceeded' : undefined;
    let unreservedInflight = 0;
    for (const f of this.fns.values()) if (f.spec.reservedConcurrentExecutions === undefined) unreservedInflight += f.inflight;
    return unreservedInflight >= this.reservation().unreserved ? 'ConcurrentInvocationLimitExceeded' : undefined;
  }

  private async provision(fn: FunctionState): Promise<void> {
    const want = fn.spec.provisionedConcurrentExecutions ?? 0;
    let have = [...fn.all].filter((e) => e.provisioned && !e.dead && e.version === fn.version).length;
    while (have < want && !this.closed && this.fns.get(fn.name) === fn) {
      have++;
      const env = await this.createEnvironment(fn, true);
      if (!env) return;
      const err = await env.init();
      if (err || env.version !== fn.version) {
        this.retire(fn, env);
        return;
      }
      fn.idle.push(env);
    }
  }

  private async createEnvironment(fn: FunctionState, provisioned: boolean): Promise<Environment | undefined> {
    const id = `${fn.name}-${++fn.envSeq}`;
    const spec = fn.spec;
    let env: Environment;
    if (fn.sim) {
      env = new SimulatedEnvironment(id, fn.version, provisioned, this.o.clock, fn.sim);
    } else {
      const code = await this.o.code.load(spec.code);
      const memory = spec.memorySize ?? 128;
      const runtime = spec.runtime ?? 'nodejs20.x';
      const endpoint = this.o.endpoint?.();
      const date = new Date(this.o.clock.now()).toISOString().slice(0, 10).replace(/-/g, '/');
      const vars: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        LANG: 'en_US.UTF-8',
        TZ: ':UTC',
        AWS_ACCESS_KEY_ID: 'berth',
        AWS_SECRET_ACCESS_KEY: 'berth',
        ...(endpoint ? { AWS_ENDPOINT_URL: endpoint } : {}),
        ...(spec.environment?.variables ?? {}),
        // Reserved variables (Lambda Developer Guide, "Defined runtime environment variables"): these win.
        _HANDLER: spec.handler,
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        AWS_EXECUTION_ENV: `AWS_Lambda_${runtime}`,
        AWS_LAMBDA_FUNCTION_NAME: fn.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memory),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
        AWS_LAMBDA_LOG_STREAM_NAME: `${date}/[$LATEST]${id}`,
        AWS_LAMBDA_INITIALIZATION_TYPE: provisioned ? 'provisioned-concurrency' : 'on-demand',
        LAMBDA_TASK_ROOT: code.dir,
        BERTH_FUNCTION_ARN: functionArn(fn.name),
      };
      env = new ProcessEnvironment({ id, version: fn.version, provisioned, clock: this.o.clock, codeDir: code.dir, handler: spec.handler, memoryMb: memory, env: vars });
    }
    fn.all.add(env);
    return env;
  }

  private retire(fn: FunctionState, env: Environment): void {
    env.kill();
    fn.all.delete(env);
    const i = fn.idle.indexOf(env);
    if (i >= 0) fn.idle.splice(i, 1);
    fn.reclaim.get(env)?.();
    fn.reclaim.delete(env);
  }

  private takeIdle(fn: FunctionState): Environment | undefined {
    // Provisioned environments first: they are what the function pays to keep warm.
    fn.idle.sort((a, b) => Number(b.provisioned) - Number(a.provisioned));
    while (fn.idle.length) {
      const env = fn.idle.shift()!;
      fn.reclaim.get(env)?.();
      fn.reclaim.delete(env);
      if (!env.dead && env.version === fn.version) return env;
      this.retire(fn, env);
    }
    return undefined;
  }

  private release(fn: FunctionState, env: Environment, fatal: boolean): void {
    if (fatal || env.dead || env.version !== fn.version || this.fns.get(fn.name) !== fn || this.closed) {
      this.retire(fn, env);
      if (env.provisioned && !this.closed) void this.provision(fn);
      return;
    }
    fn.idle.push(env);
    if (!env.provisioned) fn.reclaim.set(env, this.o.clock.setTimer(this.idleMs, () => this.retire(fn, env)));
  }

  // ---------------------------------------------------------------------------------------------
  // Invocation

  /**
   * Runs one invocation now. Throws AwsError ResourceNotFoundException for an unknown function
   * and TooManyRequestsException (429, with `Reason`) when concurrency is exhausted.
   */
  async invoke(name: string, event: unknown, requestId = uuid()): Promise<InvocationResult> {
    const fn = this.fns.get(name);
    if (!fn) throw functionNotFound(name);
    const reason = this.throttleReason(fn);
    if (reason) throw new AwsError('TooManyRequestsException', 'Rate Exceeded.', 429, { extra: { Reason: reason, retryAfterSeconds: '1' } });
    fn.inflight++;
    try {
      return await this.execute(fn, event, requestId);
    } finally {
      fn.inflight--;
    }
  }

  private async execute(fn: FunctionState, event: unknown, requestId: string): Promise<InvocationResult> {
    const clock = this.o.clock;
    const start = clock.now();
    const lines: LogLine[] = [];
    const log = (text: string): void => {
      const l: LogLine = [clock.now(), text];
      lines.push(l);
      for (const f of this.followers.get(fn.name) ?? []) f(l);
    };
    const memory = fn.spec.memorySize ?? 128;
    const timeoutMs = (fn.spec.timeout ?? 3) * 1000;
    let env = this.takeIdle(fn);
    let initMs: number | undefined;
    let initError: LambdaErrorBody | undefined;
    if (!env) {
      const t0 = clock.now();
      try {
        env = await this.createEnvironment(fn, false);
        initError = await env!.init();
      } catch (e) {
        if (!(e instanceof CodeError)) throw e;
        initError = { errorType: 'Runtime.ImportModuleError', errorMessage: e.message };
      }
      // The environment's own measure when it has one: a cluster-clock difference would count
      // a process start (real time) times --time-scale, and a ScaledClock's timer lag with it.
      initMs = env?.initDurationMs ?? clock.now() - t0;
    }
    log(`START RequestId: ${requestId} Version: $LATEST`);
    let outcome: InvokeOutcome;
    const t1 = clock.now();
    if (initError) {
      outcome = { status: 'error', error: initError, fatal: true };
      log(`${isoMs(clock.now())}\tundefined\tERROR\tUncaught Exception \t${JSON.stringify({ errorType: initError.errorType, errorMessage: initError.errorMessage, stack: initError.trace ?? [] })}`);
    } else {
      outcome = await env!.invoke(requestId, event, timeoutMs, (text, level) => log(level ? `${isoMs(clock.now())}\t${requestId}\t${level}\t${text}` : text));
    }
    const durationMs = outcome.durationMs ?? clock.now() - t1;
    if (outcome.status === 'timeout') log(`${isoMs(clock.now())} ${requestId} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    else if (outcome.status === 'error' && !initError) log(`${isoMs(clock.now())}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify({ errorType: outcome.error?.errorType, errorMessage: outcome.error?.errorMessage, stack: outcome.error?.trace ?? [] })}`);
    else if (outcome.status === 'crash') log(`${isoMs(clock.now())} ${requestId} Error: Runtime exited with error: ${outcome.error?.errorMessage.split('Runtime exited with error: ')[1] ?? 'unknown'}\nRuntime.ExitError`);
    const billedMs = billedDurationMs(durationMs + (initMs ?? 0));
    log(`END RequestId: ${requestId}`);
    const report = [
      `REPORT RequestId: ${requestId}`,
      `Duration: ${durationMs.toFixed(2)} ms`,
      `Billed Duration: ${billedMs} ms`,
      `Memory Size: ${memory} MB`,
      `Max Memory Used: ${outcome.maxMemoryMb ?? Math.min(memory, 64)} MB`,
      ...(initMs !== undefined ? [`Init Duration: ${initMs.toFixed(2)} ms`] : []),
      ...(outcome.status === 'timeout' ? ['Status: timeout'] : outcome.status === 'crash' ? ['Status: error\tError Type: Runtime.ExitError'] : []),
    ];
    log(report.join('\t') + '\t');
    if (env) this.release(fn, env, !!outcome.fatal || !!initError);
    const record: InvocationRecord = { requestId, function: fn.name, start, durationMs, billedMs, memoryMb: memory, ...(initMs !== undefined ? { initMs } : {}), status: outcome.status, lines };
    this.ledger.add(start, billedMs, memory, fn.name);
    await this.o.backend.create(`${INVOCATION_PREFIX}${fn.name}/${String(++this.seq).padStart(16, '0')}`, JSON.stringify(record)).catch(() => undefined);
    const payload =
      outcome.status === 'ok'
        ? outcome.payload!
        : JSON.stringify(
            outcome.status === 'timeout'
              ? { errorMessage: `${isoMs(clock.now())} ${requestId} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` }
              : { errorType: outcome.error?.errorType, errorMessage: outcome.error?.errorMessage, trace: outcome.error?.trace ?? [] },
          );
    return { requestId, payload, status: outcome.status, ...(outcome.status === 'ok' ? {} : { functionError: 'Unhandled' }), record };
  }

  // ---------------------------------------------------------------------------------------------
  // Asynchronous invocation

  /** Accepts an Event invocation: stored durably, then run (and retried) in the background. */
  async invokeAsync(name: string, payload: unknown): Promise<string> {
    if (!this.fns.has(name)) throw functionNotFound(name);
    const ev: PendingEvent = { id: uuid(), function: name, payload, received: this.o.clock.now(), attempts: 0 };
    await this.o.backend.create(this.eventKey(ev), JSON.stringify(ev));
    this.events.set(ev.id, ev);
    this.scheduleEvent(ev, 0);
    return ev.id;
  }

  /** Asynchronous events waiting or being retried. */
  pendingEvents(name?: string): number {
    return [...this.events.values()].filter((e) => name === undefined || e.function === name).length;
  }

  private eventKey(ev: PendingEvent): string {
    return `${EVENT_PREFIX}${ev.function}/${ev.id}`;
  }

  private scheduleEvent(ev: PendingEvent, delayMs: number, throttles = 0): void {
    if (this.closed) return;
    ev.cancel = this.o.clock.setTimer(delayMs, () => void this.runEvent(ev, throttles).catch(() => undefined));
  }

  private async dropEvent(ev: PendingEvent): Promise<void> {
    ev.cancel?.();
    this.events.delete(ev.id);
    await this.o.backend.delete(this.eventKey(ev)).catch(() => undefined);
  }

  private async runEvent(ev: PendingEvent, throttles: number): Promise<void> {
    const fn = this.fns.get(ev.function);
    if (!fn || this.closed || !this.events.has(ev.id)) return;
    const cfg = fn.spec.eventInvokeConfig ?? {};
    const maxAgeMs = (cfg.maximumEventAgeInSeconds ?? 21_600) * 1000;
    const maxRetries = cfg.maximumRetryAttempts ?? 2;
    if (this.o.clock.now() - ev.received > maxAgeMs) {
      await this.finishEvent(fn, ev, 'EventAgeExceeded', undefined);
      return;
    }
    if (this.throttleReason(fn)) {
      // Throttled events go back to the queue and are retried with back-off, up to the event age (1 s doubling to 5 min).
      this.scheduleEvent(ev, Math.min(300_000, 1000 * 2 ** throttles), throttles + 1);
      return;
    }
    fn.inflight++;
    let res: InvocationResult;
    try {
      res = await this.execute(fn, ev.payload, ev.id);
    } finally {
      fn.inflight--;
    }
    ev.attempts++;
    if (res.status === 'ok') {
      await this.finishEvent(fn, ev, 'Success', res);
      return;
    }
    if (ev.attempts <= maxRetries) {
      await this.o.backend.update(this.eventKey(ev), JSON.stringify({ ...ev, cancel: undefined })).catch(() => undefined);
      // One minute before the first retry, two before the second.
      this.scheduleEvent(ev, ev.attempts === 1 ? 60_000 : 120_000);
      return;
    }
    await this.finishEvent(fn, ev, 'RetriesExhausted', res);
  }

  private async finishEvent(fn: FunctionState, ev: PendingEvent, condition: 'Success' | 'RetriesExhausted' | 'EventAgeExceeded', res: InvocationResult | undefined): Promise<void> {
    await this.dropEvent(ev);
    const dc = fn.spec.eventInvokeConfig?.destinationConfig;
    const target = condition === 'Success' ? dc?.onSuccess?.destination : dc?.onFailure?.destination;
    let responsePayload: unknown = null;
    try {
      responsePayload = res ? JSON.parse(res.payload) : null;
    } catch {
      responsePayload = res?.payload ?? null;
    }
    const record = {
      version: '1.0',
      timestamp: new Date(this.o.clock.now()).toISOString(),
      requestContext: { requestId: ev.id, functionArn: `${functionArn(fn.name)}:$LATEST`, condition, approximateInvokeCount: ev.attempts },
      requestPayload: ev.payload,
      ...(res ? { responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(res.functionError ? { functionError: res.functionError } : {}) }, responsePayload } : {}),
    };
    if (target) await this.deliver(target, JSON.stringify(record), record).catch(() => undefined);
    const dlq = fn.spec.deadLetterConfig?.targetArn;
    if (condition !== 'Success' && dlq) {
      const err = (responsePayload as { errorMessage?: string } | null)?.errorMessage ?? condition;
      const attrs = { RequestID: { DataType: 'String', StringValue: ev.id }, ErrorCode: { DataType: 'Number', StringValue: '200' }, ErrorMessage: { DataType: 'String', StringValue: err.slice(0, 1024) } };
      await this.deliver(dlq, JSON.stringify(ev.payload), ev.payload, attrs).catch(() => undefined);
    }
  }

  /** Sends to an SQS queue, an SNS topic or a Lambda function (asynchronously), by ARN. */
  private async deliver(target: string, text: string, event: unknown, attrs?: Record<string, { DataType: string; StringValue: string }>): Promise<void> {
    const a = parseArn(target);
    if (!a) return;
    if (a.service === 'sqs') {
      const fifo = a.resource.endsWith('.fifo');
      await this.o.sqs.send(a.resource, { body: text, ...(attrs ? { attrs } : {}), ...(fifo ? { groupId: 'lambda', dedupId: md5Hex(text + this.o.clock.now()) } : {}) });
    } else if (a.service === 'sns') {
      await this.publishToTopic?.(a.resource, text, attrs);
    } else if (a.service === 'lambda') {
      await this.invokeAsync(functionNameFrom(target), event);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Logs and billing

  /**
   * A function's log lines, oldest first, from its stored invocation records: all, the last
   * `tail`, or those since `sinceMs`.
   */
  async logs(name: string, opts: { tail?: number; sinceMs?: number } = {}): Promise<LogLine[]> {
    const out: LogLine[] = [];
    await this.scan(`${INVOCATION_PREFIX}${name}/`, (_k, v) => {
      const r = JSON.parse(v) as InvocationRecord;
      for (const l of r.lines) if (opts.sinceMs === undefined || l[0] >= opts.sinceMs) out.push(l);
    });
    return opts.tail !== undefined && opts.tail >= 0 ? out.slice(Math.max(0, out.length - opts.tail)) : out;
  }

  /** Calls `fn` with each new log line of a function until the returned function is called. */
  follow(name: string, fn: (l: LogLine) => void): () => void {
    let set = this.followers.get(name);
    if (!set) this.followers.set(name, (set = new Set()));
    set.add(fn);
    return () => set!.delete(fn);
  }

  /**
   * What Lambda cost, in USD, for the invocations that started in [fromMs, toMs) (cluster
   * time): $0.20 per 1M requests plus $0.0000166667 per GB-second of billed duration (x86,
   * us-east-1; see billing.ts for the source and what is not modelled).
   */
  lambdaCost(fromMs: number, toMs: number): number {
    return this.ledger.cost(fromMs, toMs);
  }

  // ---------------------------------------------------------------------------------------------
  // Event source mappings

  /** Starts, changes or stops the pollers of a mapping (keyed by its uid, Lambda's UUID). */
  upsertMapping(m: EventSourceMapping): void {
    const uid = m.metadata.uid!;
    this.mappingObjs.set(uid, m);
    const cur = this.mappings.get(uid);
    if (cur && JSON.stringify(cur.spec) === JSON.stringify(m.spec)) return;
    cur?.stop();
    const p = new MappingPoller(this, this.o.sqs, this.o.clock, m.spec, uid);
    this.mappings.set(uid, p);
    if (m.spec.enabled !== false && !this.closed) p.start();
  }

  removeMapping(uid: string): void {
    this.mappingObjs.delete(uid);
    this.mappings.get(uid)?.stop();
    this.mappings.delete(uid);
  }

  /** Every event source mapping, in creation order. */
  mappingObjects(): EventSourceMapping[] {
    return [...this.mappingObjs.values()];
  }

  /** The last processing result of a mapping (`OK`, `PROBLEM: …`, `No records processed`). */
  mappingResult(uid: string): string {
    return this.mappings.get(uid)?.lastResult ?? 'No records processed';
  }

  /** Ends every environment, poller and timer. */
  close(): void {
    this.closed = true;
    for (const p of this.mappings.values()) p.stop();
    for (const ev of this.events.values()) ev.cancel?.();
    for (const fn of this.fns.values()) {
      for (const env of fn.all) env.kill();
      for (const c of fn.reclaim.values()) c();
    }
    this.o.code.cleanup();
  }
}

function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

/** The record Lambda gives a function for one SQS message (Lambda Developer Guide, "Using Lambda with Amazon SQS"). */
export function sqsRecord(m: ReceivedMessage, queue: string): Record<string, unknown> {
  const attrs = systemAttributes(m);
  const messageAttributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m.attrs ?? {})) {
    messageAttributes[k] = { ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}), ...(v.BinaryValue !== undefined ? { binaryValue: v.BinaryValue } : {}), stringListValues: [], binaryListValues: [], dataType: v.DataType };
  }
  return {
    messageId: m.id,
    receiptHandle: m.receiptHandle,
    body: m.body,
    attributes: attrs,
    messageAttributes,
    md5OfBody: md5Hex(m.body),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn(queue),
    awsRegion: REGION,
  };
}

/**
 * The pollers of one SQS event source mapping: each long-polls the queue, gathers a batch
 * (up to batchSize, waiting up to the batching window), invokes the function synchronously and
 * deletes what succeeded. With ReportBatchItemFailures, the `batchItemFailures` the function
 * returns stay on the queue (a malformed answer fails the whole batch); a failed invocation
 * leaves the whole batch to come back after its visibility timeout.
 */
class MappingPoller {
  lastResult = 'No records processed';
  private ac?: AbortController;

  constructor(
    private readonly lambda: LambdaEngine,
    private readonly sqs: SqsEngine,
    private readonly clock: Clock,
    readonly spec: EventSourceMappingSpec,
    readonly uid: string,
  ) {}

  start(): void {
    this.ac = new AbortController();
    const pollers = this.spec.scalingConfig?.maximumConcurrency ?? 5;
    for (let i = 0; i < pollers; i++) void this.loop(this.ac.signal);
  }

  stop(): void {
    this.ac?.abort();
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const queue = parseArn(this.spec.eventSourceArn)?.resource ?? '';
    const fnName = functionNameFrom(this.spec.functionName);
    const batchSize = this.spec.batchSize ?? 10;
    const windowMs = (this.spec.maximumBatchingWindowInSeconds ?? 0) * 1000;
    const partial = (this.spec.functionResponseTypes ?? []).includes('ReportBatchItemFailures');
    while (!signal.aborted) {
      try {
        if (!this.sqs.has(queue) || !this.lambda.has(fnName)) {
          this.lastResult = !this.sqs.has(queue) ? 'PROBLEM: Queue does not exist' : 'PROBLEM: Function not found';
          await this.clock.sleep(1000, signal);
          continue;
        }
        const batch = await this.sqs.receive(queue, { max: Math.min(10, batchSize), waitSeconds: 20, signal });
        if (!batch.length) continue;
        const deadline = this.clock.now() + windowMs;
        while (batch.length < batchSize && this.clock.now() < deadline && !signal.aborted) {
          const more = await this.sqs.receive(queue, { max: Math.min(10, batchSize - batch.length), waitSeconds: Math.min(20, Math.max(0, Math.ceil((deadline - this.clock.now()) / 1000))), signal });
          if (!more.length && this.clock.now() >= deadline) break;
          batch.push(...more);
        }
        let res: InvocationResult;
        try {
          res = await this.lambda.invoke(fnName, { Records: batch.map((m) => sqsRecord(m, queue)) });
        } catch (e) {
          // Throttled: the messages come back after their visibility timeout.
          this.lastResult = `PROBLEM: ${(e as Error).message}`;
          await this.clock.sleep(1000, signal);
          continue;
        }
        if (res.functionError) {
          this.lastResult = 'PROBLEM: Function call failed';
          continue;
        }
        let keep = new Set<string>();
        if (partial) {
          const failures = batchItemFailures(res.payload, batch);
          if (failures === 'all') {
            this.lastResult = 'PROBLEM: Invalid batchItemFailures response';
            continue;
          }
          keep = failures;
        }
        for (const m of batch) if (!keep.has(m.id)) await this.sqs.deleteMessage(queue, m.receiptHandle).catch(() => undefined);
        this.lastResult = 'OK';
      } catch (e) {
        if (signal.aborted) return;
        this.lastResult = `PROBLEM: ${(e as Error).message}`;
        await this.clock.sleep(1000, signal).catch(() => undefined);
      }
    }
  }
}

/**
 * The message ids a partial batch response keeps on the queue, or 'all' when the response
 * names an id that is not in the batch or has no itemIdentifier (Lambda then fails the batch).
 */
export function batchItemFailures(payload: string, batch: { id: string }[]): Set<string> | 'all' {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return new Set();
  }
  const list = (v as { batchItemFailures?: unknown } | null)?.batchItemFailures;
  if (list === undefined || list === null) return new Set();
  if (!Array.isArray(list)) return 'all';
  const ids = new Set(batch.map((m) => m.id));
  const out = new Set<string>();
  for (const f of list) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return 'all';
    out.add(id);
  }
  return out;
}

