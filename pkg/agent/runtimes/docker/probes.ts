/**
 * Container probes for the Docker runtime, as the kubelet's prober runs them
 * (https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/,
 * pkg/kubelet/prober/worker.go): one worker per probe of a running container, first run after
 * `initialDelaySeconds`, then every `periodSeconds` (default 10); a result flips after
 * `successThreshold` (1) successes or `failureThreshold` (3) failures in a row.
 *
 * - startup: until it succeeds, liveness and readiness do not run and the container is not
 *   `started`; it stops once it succeeds; failing kills the container.
 * - liveness: starts as success; failing kills the container (the agent restarts it per policy).
 * - readiness: starts as failure; its result is the container's `ready`.
 *
 * Handlers: `httpGet` (2xx and 3xx succeed; to 127.0.0.1 and the port's host port, see
 * ports.ts), `tcpSocket` (a connection succeeds), `exec` (exit 0 succeeds, via `docker exec`).
 * `grpc` is not run: it counts as success, with a warning event.
 *
 * Periods and initial delays are cluster time (the injected clock); a probe's `timeoutSeconds`
 * is real time, because it bounds a real process's answer.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Container } from '../../../api/types.js';
import type { Clock } from '../../../clock/clock.js';

export type ProbeKind = 'startup' | 'liveness' | 'readiness';

/** `core/v1 Probe`. */
export interface ProbeSpec {
  exec?: { command?: string[] };
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string; httpHeaders?: { name: string; value: string }[] };
  tcpSocket?: { port: number | string; host?: string };
  grpc?: { port: number; service?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

export interface ProbeOutcome {
  ok: boolean;
  /** Why it failed, in the kubelet's words (`HTTP probe failed with statuscode: 500`). */
  message: string;
}

export interface ProberDeps {
  clock: Clock;
  /** The host to probe (the pod's IP: 127.0.0.1 with host networking). */
  host: string;
  /** The host port for a probe's port (number or name); undefined for a name the pod does not declare. */
  port(p: number | string): number | undefined;
  /** Runs a command in the container; resolves with its exit code and output, or rejects after `timeoutMs` (real). */
  exec(command: string[], timeoutMs: number): Promise<{ code: number; output: string }>;
  /** A probe's result changed: look at the pod again. */
  changed(): void;
  /** A probe failed: the `Unhealthy` (or, for a probe berth cannot run, warning) event. */
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

const KIND_TITLE: Record<ProbeKind, string> = { startup: 'Startup', liveness: 'Liveness', readiness: 'Readiness' };

/** Runs one probe once. Never throws: a failure is an outcome. */
export async function runProbe(spec: ProbeSpec, deps: Pick<ProberDeps, 'host' | 'port' | 'exec'>): Promise<ProbeOutcome> {
  const timeoutMs = Math.max(1, spec.timeoutSeconds ?? 1) * 1000;
  try {
    if (spec.exec) {
      const r = await deps.exec(spec.exec.command ?? [], timeoutMs);
      return r.code === 0 ? { ok: true, message: '' } : { ok: false, message: r.output.trim() || `command exited with code ${r.code}` };
    }
    if (spec.httpGet) {
      const port = deps.port(spec.httpGet.port);
      if (port === undefined) return { ok: false, message: `port "${spec.httpGet.port}" is not a named port of the container` };
      return await httpProbe(spec.httpGet, spec.httpGet.host || deps.host, port, timeoutMs);
    }
    if (spec.tcpSocket) {
      const port = deps.port(spec.tcpSocket.port);
      if (port === undefined) return { ok: false, message: `port "${spec.tcpSocket.port}" is not a named port of the container` };
      return await tcpProbe(spec.tcpSocket.host || deps.host, port, timeoutMs);
    }
    return { ok: true, message: '' };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

function httpProbe(get: NonNullable<ProbeSpec['httpGet']>, host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  const https = (get.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
  const path = get.path ? (get.path.startsWith('/') ? get.path : `/${get.path}`) : '/';
  const url = `${https ? 'https' : 'http'}://${host}:${port}${path}`;
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.32', accept: '*/*' };
  for (const h of get.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  return new Promise((resolve) => {
    const req = (https ? httpsRequest : httpRequest)(url, { method: 'GET', headers, timeout: timeoutMs, ...(https ? { rejectUnauthorized: false } : {}) }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400 ? { ok: true, message: '' } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (e) => resolve({ ok: false, message: `Get "${url}": ${dialError(host, port, e)}` }));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (r: ProbeOutcome): void => {
      sock.destroy();
      resolve(r);
    };
    sock.setTimeout(timeoutMs, () => done({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` }));
    sock.once('connect', () => done({ ok: true, message: '' }));
    sock.once('error', (e) => done({ ok: false, message: dialError(host, port, e) }));
  });
}

/** Go's dial error wording: `dial tcp 127.0.0.1:8080: connect: connection refused`. */
function dialError(host: string, port: number, e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return `dial tcp ${host}:${port}: connect: connection refused`;
  if (code === 'ECONNRESET') return `read tcp ${host}:${port}: read: connection reset by peer`;
  return e.message;
}

/** One probe's worker: its counters, result and timer. */
class ProbeWorker {
  result: boolean;
  private successes = 0;
  private failures = 0;
  private cancel: (() => void) | undefined;
  private running = false;
  stopped = false;

  constructor(
    readonly kind: ProbeKind,
    readonly spec: ProbeSpec,
    private readonly prober: ContainerProber,
  ) {
    // Liveness starts healthy; readiness and startup start unproven.
    this.result = kind === 'liveness';
  }

  schedule(at: number): void {
    if (this.stopped) return;
    const clock = this.prober.deps.clock;
    this.cancel = clock.setTimer(Math.max(0, at - clock.now()), () => void this.tick());
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    const period = Math.max(1, this.spec.periodSeconds ?? 10) * 1000;
    const next = this.prober.deps.clock.now() + period;
    // Liveness and readiness wait for the startup probe.
    if (this.kind !== 'startup' && !this.prober.started) return this.schedule(next);
    this.running = true;
    const out = await runProbe(this.spec, this.prober.deps);
    this.running = false;
    if (this.stopped) return;
    const before = this.result;
    if (out.ok) {
      this.failures = 0;
      if (++this.successes >= Math.max(1, this.spec.successThreshold ?? 1)) this.result = true;
    } else {
      this.successes = 0;
      this.prober.deps.event('Warning', 'Unhealthy', `${KIND_TITLE[this.kind]} probe failed: ${out.message}`);
      this.failures++;
      if (this.exhausted) this.result = false;
    }
    if (before !== this.result) this.prober.deps.changed();
    // A startup probe is done once it succeeds; a failed liveness or startup probe waits for the restart.
    if (this.kind === 'startup' && this.result) return;
    if (this.kind !== 'readiness' && this.exhausted) return;
    this.schedule(next);
  }

  /** `failureThreshold` failures in a row. */
  get exhausted(): boolean {
    return this.failures >= Math.max(1, this.spec.failureThreshold ?? 3);
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }
}

/** The probes of one run of a container (a new run gets new workers, as in the kubelet). */
export class ContainerProber {
  private readonly workers = new Map<ProbeKind, ProbeWorker>();

  /** `startedAt`: when the run started, cluster ms. */
  constructor(
    container: Container,
    startedAt: number,
    readonly deps: ProberDeps,
  ) {
    for (const kind of ['startup', 'liveness', 'readiness'] as const) {
      const spec = container[`${kind}Probe`] as ProbeSpec | undefined;
      if (!spec) continue;
      if (spec.grpc && !spec.exec && !spec.httpGet && !spec.tcpSocket) {
        deps.event('Warning', 'ProbeNotSupported', `${KIND_TITLE[kind]} probe of container ${container.name} uses grpc, which the docker runtime does not run; it counts as passing`);
        continue;
      }
      const w = new ProbeWorker(kind, spec, this);
      this.workers.set(kind, w);
      w.schedule(startedAt + Math.max(0, spec.initialDelaySeconds ?? 0) * 1000);
    }
  }

  /** The startup probe has succeeded (or there is none): the status's `started`. */
  get started(): boolean {
    return this.workers.get('startup')?.result ?? true;
  }

  /** Started, and the readiness probe succeeds (or there is none): the status's `ready`. */
  get ready(): boolean {
    return this.started && (this.workers.get('readiness')?.result ?? true);
  }

  /** The startup or liveness probe that has failed `failureThreshold` times in a row (the container must be killed), if any. */
  get failed(): { kind: ProbeKind; spec: ProbeSpec } | undefined {
    for (const kind of ['startup', 'liveness'] as const) {
      const w = this.workers.get(kind);
      if (w?.exhausted) return { kind, spec: w.spec };
    }
    return undefined;
  }

  stop(): void {
    for (const w of this.workers.values()) w.stop();
  }
}
