/**
 * Execution environments: where one function's invocations run, one at a time each.
 *
 * - ProcessEnvironment: a Node.js child process (worker.ts) with `--max-old-space-size` set
 *   from the function's memory, the function's environment variables and Lambda's reserved
 *   ones, killed on timeout. The INIT phase (loading the handler) happens once, at creation:
 *   a cold start; later invocations on the same environment are warm.
 * - SimulatedEnvironment: runs nothing; an invocation takes the duration a Function's
 *   `sim.berth.dev/duration-ms` annotation gives, on the injected clock, and answers
 *   `sim.berth.dev/response` (or fails with `sim.berth.dev/error`), as the node agent simulates
 *   containers. For `berth simulate` and cost planning in virtual time.
 *
 * Invocation timeouts are on the injected clock, like every other duration in berth; the INIT
 * phase's 10 s limit is real time, since starting a process takes real time.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../../clock/clock.js';

/** An error as Lambda returns it in the response payload. */
export interface LambdaErrorBody {
  errorType?: string;
  errorMessage: string;
  trace?: string[];
}

export interface InvokeOutcome {
  status: 'ok' | 'error' | 'timeout' | 'crash';
  /** JSON text of the handler's result (status ok). */
  payload?: string;
  error?: LambdaErrorBody;
  /** Peak resident memory of the environment, MB. */
  maxMemoryMb?: number;
  /** The environment cannot be reused (timed out, crashed, or an uncaught error). */
  fatal?: boolean;
  /**
   * The invocation's duration, ms, when the environment knows it exactly (a simulated one: its
   * `sim.berth.dev/duration-ms`); otherwise the engine measures it on the cluster clock.
   */
  durationMs?: number;
}

/** One log event of an invocation: cluster time (ms) and the line. */
export type LogSink = (line: string, level?: string) => void;

export interface Environment {
  readonly id: string;
  /** The function configuration it was made for (a changed function retires old environments). */
  readonly version: string;
  readonly provisioned: boolean;
  dead: boolean;
  /** The INIT phase. Resolves with an error body when the handler cannot be loaded. */
  init(): Promise<LambdaErrorBody | undefined>;
  /**
   * After `init`: how long the INIT phase took, ms, as Lambda reports `Init Duration` and bills it
   * — a worker's own measure of loading the handler (real time: starting a process is real work
   * that `--time-scale` does not speed up), or a simulated function's `sim.berth.dev/init-ms`.
   * Undefined when unknown (the engine then measures on the cluster clock).
   */
  readonly initDurationMs?: number | undefined;
  invoke(requestId: string, event: unknown, timeoutMs: number, log: LogSink): Promise<InvokeOutcome>;
  kill(): void;
}

export interface ProcessEnvironmentOptions {
  id: string;
  version: string;
  provisioned: boolean;
  clock: Clock;
  codeDir: string;
  handler: string;
  memoryMb: number;
  env: Record<string, string>;
  /** The INIT phase's limit, ms of real time (Lambda: 10 s). */
  initTimeoutMs?: number;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

/** The V8 heap a function of `memoryMb` gets: its memory less ~25% for the runtime itself, at least 32 MB. */
export function heapLimitMb(memoryMb: number): number {
  return Math.max(32, Math.floor(memoryMb * 0.75));
}

export class ProcessEnvironment implements Environment {
  readonly id: string;
  readonly version: string;
  readonly provisioned: boolean;
  dead = false;
  initDurationMs: number | undefined;
  private child?: ChildProcess;
  private pending?: { id: string; resolve: (o: InvokeOutcome) => void; log: LogSink };
  private exitReason = '';

  constructor(private readonly o: ProcessEnvironmentOptions) {
    this.id = o.id;
    this.version = o.version;
    this.provisioned = o.provisioned;
  }

  init(): Promise<LambdaErrorBody | undefined> {
    return new Promise((resolve) => {
      const child = fork(WORKER, [], {
        cwd: this.o.codeDir,
        env: this.o.env,
        execArgv: [`--max-old-space-size=${heapLimitMb(this.o.memoryMb)}`],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      this.child = child;
      let settled = false;
      // The INIT limit is real time: starting a process takes real time whatever the cluster's clock does.
      const initTimer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.kill();
        resolve({ errorType: 'Runtime.InitTimeout', errorMessage: `INIT phase timed out after ${((this.o.initTimeoutMs ?? 10_000) / 1000).toFixed(2)} seconds` });
      }, this.o.initTimeoutMs ?? 10_000);
      const cancel = (): void => clearTimeout(initTimer);
      const lines = (stream: NodeJS.ReadableStream | null) => {
        let buf = '';
        stream?.setEncoding('utf8');
        stream?.on('data', (d: string) => {
          buf += d;
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            this.pending?.log(line);
          }
        });
      };
      lines(child.stdout);
      lines(child.stderr);
      child.on('message', (m: { t: string; id?: string; level?: string; message?: string; initMs?: number; error?: LambdaErrorBody; ok?: boolean; payload?: string; maxRss?: number; fatal?: boolean }) => {
        if (m.t === 'ready' && !settled) {
          settled = true;
          cancel();
          if (typeof m.initMs === 'number' && Number.isFinite(m.initMs)) this.initDurationMs = m.initMs;
          resolve(undefined);
        } else if (m.t === 'initError' && !settled) {
          settled = true;
          cancel();
          this.kill();
          resolve(m.error ?? { errorMessage: 'init failed' });
        } else if (m.t === 'log') {
          this.pending?.log(m.message ?? '', m.level);
        } else if (m.t === 'result') {
          const p = this.pending;
          if (!p) return;
          this.pending = undefined;
          const maxMemoryMb = m.maxRss ? Math.ceil(m.maxRss / (1024 * 1024)) : undefined;
          p.resolve(m.ok ? { status: 'ok', payload: m.payload ?? 'null', ...(maxMemoryMb ? { maxMemoryMb } : {}) } : { status: 'error', error: m.error!, ...(maxMemoryMb ? { maxMemoryMb } : {}), ...(m.fatal ? { fatal: true } : {}) });
        }
      });
      child.on('exit', (code, signal) => {
        this.dead = true;
        this.exitReason = signal ? `signal: ${signal === 'SIGABRT' || signal === 'SIGKILL' ? 'killed' : signal}` : `exit status ${code}`;
        if (!settled) {
          settled = true;
          cancel();
          resolve({ errorType: 'Runtime.ExitError', errorMessage: `RequestId: init Error: Runtime exited with error: ${this.exitReason}` });
        }
        const p = this.pending;
        if (p) {
          this.pending = undefined;
          p.resolve({ status: 'crash', error: { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${p.id} Error: Runtime exited with error: ${this.exitReason}` }, fatal: true });
        }
      });
      child.on('error', () => undefined);
    });
  }

  invoke(requestId: string, event: unknown, timeoutMs: number, log: LogSink): Promise<InvokeOutcome> {
    return new Promise((resolve) => {
      if (this.dead || !this.child) {
        resolve({ status: 'crash', error: { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${this.exitReason || 'not running'}` }, fatal: true });
        return;
      }
      let done = false;
      const cancel = this.o.clock.setTimer(timeoutMs, () => {
        if (done) return;
        done = true;
        this.pending = undefined;
        this.kill();
        resolve({ status: 'timeout', error: { errorMessage: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` }, fatal: true });
      });
      this.pending = {
        id: requestId,
        log,
        resolve: (o) => {
          if (done) return;
          done = true;
          cancel();
          resolve(o);
        },
      };
      this.child.send({ t: 'invoke', id: requestId, event, remainingMs: timeoutMs });
    });
  }

  kill(): void {
    this.dead = true;
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** What a simulated function does, read from its annotations. */
export interface SimulatedBehaviour {
  durationMs: number;
  initMs: number;
  /** JSON text answered (default `null`). */
  response: string;
  /** When set, every invocation fails with this message. */
  error?: string;
  logLines: string[];
}

export const SIM_DURATION = 'sim.berth.dev/duration-ms';
export const SIM_INIT = 'sim.berth.dev/init-ms';
export const SIM_RESPONSE = 'sim.berth.dev/response';
export const SIM_ERROR = 'sim.berth.dev/error';
export const SIM_LOG_LINES = 'sim.berth.dev/log-lines';

/** The simulated behaviour of a function with `sim.berth.dev/duration-ms`, or undefined. */
export function simulatedBehaviour(annotations: Record<string, string> | undefined): SimulatedBehaviour | undefined {
  const d = annotations?.[SIM_DURATION];
  if (d === undefined) return undefined;
  const ms = (v: string | undefined) => (v !== undefined && Number.isFinite(Number(v)) && Number(v) >= 0 ? Number(v) : 0);
  return {
    durationMs: ms(d),
    initMs: ms(annotations?.[SIM_INIT]),
    response: annotations?.[SIM_RESPONSE] ?? 'null',
    ...(annotations?.[SIM_ERROR] ? { error: annotations[SIM_ERROR] } : {}),
    logLines: (annotations?.[SIM_LOG_LINES] ?? '').split('\n').filter(Boolean),
  };
}

export class SimulatedEnvironment implements Environment {
  dead = false;
  initDurationMs: number | undefined;
  constructor(
    readonly id: string,
    readonly version: string,
    readonly provisioned: boolean,
    private readonly clock: Clock,
    private readonly b: SimulatedBehaviour,
  ) {}

  async init(): Promise<LambdaErrorBody | undefined> {
    if (this.b.initMs > 0) await this.clock.sleep(this.b.initMs);
    // Exactly the simulated time: on a ScaledClock the wait itself ends late by timer lag × scale.
    this.initDurationMs = this.b.initMs;
    return undefined;
  }

  async invoke(_requestId: string, _event: unknown, timeoutMs: number, log: LogSink): Promise<InvokeOutcome> {
    for (const l of this.b.logLines) log(l, 'INFO');
    if (this.b.durationMs > timeoutMs) {
      await this.clock.sleep(timeoutMs);
      return { status: 'timeout', error: { errorMessage: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` }, fatal: true, durationMs: timeoutMs };
    }
    await this.clock.sleep(this.b.durationMs);
    const durationMs = this.b.durationMs;
    if (this.b.error !== undefined) return { status: 'error', error: { errorType: 'Error', errorMessage: this.b.error }, durationMs };
    return { status: 'ok', payload: this.b.response, durationMs };
  }

  kill(): void {
    this.dead = true;
  }
}
