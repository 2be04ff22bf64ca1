/**
 * Load in virtual time: a load profile (requests per second over time) replayed against a target
 * group through the same routing and health logic as the real listeners, with no sockets. Each
 * request picks a target (round robin or least outstanding requests, health, slow start,
 * draining), is answered by the pod's simulated application (`AppModel`: its service time on the
 * cluster clock and its CPU cost, which metrics.k8s.io and the HPA see), and is counted in the
 * group's metrics. `berth simulate` and the HPA tests drive it.
 *
 * Profiles: `{type: constant, rps}`, `{type: steps, steps: [{atSeconds, rps}]}`,
 * `{type: daily, minRps, maxRps, peakHour}` (a sine over 24 h, lowest 12 h from the peak), or
 * `{type: series, points: [{atSeconds, rps}]}` (a recorded series, linear between points; from a
 * CSV of `seconds,rps` lines with `parseSeriesCsv`).
 */
import type { Pod } from '../api/types.js';
import type { Clock } from '../clock/clock.js';
import { POD_HEADER, type AppModel, type AppResponse } from './appserver.js';
import { STATUS_CODES } from 'node:http';
import { headBytes, type CheckResult, type HealthCheck, type TargetGroupEngine, type TargetSpec, type TargetTransport, type Transfer } from './targetgroup.js';

export type LoadProfile =
  | { type: 'constant'; rps: number }
  | { type: 'steps'; steps: { atSeconds: number; rps: number }[] }
  | { type: 'daily'; minRps: number; maxRps: number; peakHour?: number }
  | { type: 'series'; points: { atSeconds: number; rps: number }[] };

/** Requests per second at `seconds` after the load starts. */
export function rateAt(p: LoadProfile, seconds: number): number {
  switch (p.type) {
    case 'constant':
      return p.rps;
    case 'steps': {
      let r = 0;
      for (const s of [...p.steps].sort((a, b) => a.atSeconds - b.atSeconds)) if (seconds >= s.atSeconds) r = s.rps;
      return r;
    }
    case 'daily': {
      const peak = (p.peakHour ?? 14) * 3600;
      const phase = ((seconds - peak) / 86_400) * 2 * Math.PI;
      return p.minRps + ((p.maxRps - p.minRps) * (1 + Math.cos(phase))) / 2;
    }
    case 'series': {
      const pts = [...p.points].sort((a, b) => a.atSeconds - b.atSeconds);
      if (!pts.length) return 0;
      if (seconds <= pts[0]!.atSeconds) return pts[0]!.rps;
      for (let i = 1; i < pts.length; i++) {
        const a = pts[i - 1]!;
        const b = pts[i]!;
        if (seconds <= b.atSeconds) return a.rps + ((b.rps - a.rps) * (seconds - a.atSeconds)) / Math.max(1e-9, b.atSeconds - a.atSeconds);
      }
      return pts.at(-1)!.rps;
    }
  }
}

/** Thrown for a malformed CSV series, with the line. */
export class SeriesError extends Error {}

/** Parses `seconds,rps` lines (a header line and `#` comments are skipped). Throws SeriesError naming the line. */
export function parseSeriesCsv(text: string, file = 'series.csv'): LoadProfile {
  const points: { atSeconds: number; rps: number }[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim();
    if (!l || l.startsWith('#')) return;
    const [a, b] = l.split(',').map((x) => x.trim());
    if (i === 0 && (Number.isNaN(Number(a)) || Number.isNaN(Number(b)))) return; // header
    const at = Number(a);
    const rps = Number(b);
    if (!Number.isFinite(at) || !Number.isFinite(rps) || rps < 0) throw new SeriesError(`${file}:${i + 1}: expected "seconds,requests per second", got "${l}"`);
    points.push({ atSeconds: at, rps });
  });
  if (!points.length) throw new SeriesError(`${file}: no data lines`);
  return { type: 'series', points };
}

/** Health checks against the application model (virtual time, no sockets); `podFor` says which pod answers a target. */
export function modelTransport(model: AppModel, podFor: (t: TargetSpec) => Pod | undefined): TargetTransport {
  return {
    async healthCheck(t: TargetSpec, hc: HealthCheck): Promise<CheckResult> {
      const p = podFor(t);
      if (!p || p.status?.phase !== 'Running') return { error: 'connect' };
      return { status: hc.protocol === 'TCP' ? 200 : model.statusOf(p) };
    },
  };
}

/** Counts of a load run. */
export interface LoadStats {
  sent: number;
  /** Answers with a 2xx/3xx status. */
  ok: number;
  /** Answers with a 4xx/5xx status from a target (or 502: its pod was gone). */
  failed: number;
  /** Requests the load balancer answered 503 itself (no target). */
  elb503: number;
}

/**
 * Response latencies, cluster ms, as counts per value rounded to 0.1 ms: exact nearest-rank
 * percentiles over every request of a run in memory proportional to the distinct latencies
 * (few: the application model's service times), not to the request count.
 */
export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private n = 0;

  add(ms: number): void {
    const k = Math.round(ms * 10);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    this.n++;
  }

  /** Adds every sample of `other`. */
  merge(other: LatencyHistogram): void {
    for (const [k, c] of other.counts) this.counts.set(k, (this.counts.get(k) ?? 0) + c);
    this.n += other.n;
  }

  get count(): number {
    return this.n;
  }

  /** Nearest-rank percentile (`p` in 0–100), ms; null when empty. */
  percentile(p: number): number | null {
    if (!this.n) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (const k of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(k)!;
      if (seen >= rank) return k / 10;
    }
    return null;
  }
}

/** Replays a profile against a target group on the cluster clock, in ticks of `tickMs`. */
export class VirtualLoad {
  readonly stats: LoadStats = { sent: 0, ok: 0, failed: 0, elb503: 0 };
  /** Latency of every answered request (a target's answer, not the load balancer's own 503), ms. */
  readonly latency = new LatencyHistogram();
  /** Answers by status class (`2xx` … `5xx`), targets' answers only. */
  readonly codes: Record<string, number> = {};
  /** Called after each tick's requests are sent (the simulation samples the targets here). */
  onTick: () => void = () => {};
  private cancel?: () => void;
  private carry = 0;
  private startedAt = 0;

  constructor(
    private readonly clock: Clock,
    private readonly group: TargetGroupEngine,
    private readonly model: AppModel,
    /** The pod that answers a target (a pod target's own pod; what answers an instance target's port). */
    private readonly podFor: (t: TargetSpec) => Pod | undefined,
    private readonly profile: LoadProfile,
    private readonly tickMs = 100,
  ) {}

  start(): void {
    this.startedAt = this.clock.now();
    this.schedule();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private schedule(): void {
    this.cancel = this.clock.setTimer(this.tickMs, () => {
      this.tick();
      this.schedule();
    });
  }

  private tick(): void {
    const rps = rateAt(this.profile, (this.clock.now() - this.startedAt) / 1000);
    this.carry += (rps * this.tickMs) / 1000;
    const n = Math.floor(this.carry);
    this.carry -= n;
    for (let i = 0; i < n; i++) this.one();
    this.onTick();
  }

  /** One request now. */
  private one(): void {
    this.stats.sent++;
    // A TCP (flow hash) group: each request is a new connection from its own source port.
    const t = this.group.settings.flowHash ? this.group.pick(undefined, `sim:${this.stats.sent}->tcp`) : this.group.pick();
    if (!t) {
      this.group.elb5xx++;
      this.stats.elb503++;
      return;
    }
    const pod = this.podFor(t.spec);
    if (!pod || pod.status?.phase !== 'Running') {
      this.group.done(t, 502, 0);
      this.answered(502, 0);
      return;
    }
    const r = this.model.handle(pod);
    const finish = (): void => {
      // A TCP (NLB) group sees a connection, not an HTTP status (the client still gets the app's answer).
      this.group.done(t, this.group.settings.flowHash ? undefined : r.status, r.serviceMs, transferOf(pod, r));
      this.answered(r.status, r.serviceMs);
    };
    if (r.serviceMs > 0) this.clock.setTimer(r.serviceMs, finish);
    else finish();
  }

  private answered(status: number, latencyMs: number): void {
    if (status < 400) this.stats.ok++;
    else this.stats.failed++;
    const cls = `${Math.floor(status / 100)}xx`;
    this.codes[cls] = (this.codes[cls] ?? 0) + 1;
    this.latency.add(latencyMs);
  }
}

/**
 * The bytes of one virtual request and its answer, as they would cross the wire: a `GET /` with
 * the headers a load generator sends, and the simulated application's response as Node.js writes
 * it (the headers the app server sets, Date, Connection, Keep-Alive, Content-Length, the body).
 */
export function transferOf(pod: Pod, r: AppResponse): Transfer {
  const body = Buffer.byteLength(r.body);
  const out = headBytes(`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ''}`, ['content-type', 'text/plain', POD_HEADER, pod.metadata.name ?? '', 'Date', 'Sun, 29 Nov 2026 00:00:00 GMT', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Content-Length', String(body)]);
  return { in: VIRTUAL_REQUEST_BYTES, out: out + body };
}

/** A load generator's `GET /`: request line, Host, User-Agent, Accept. */
const VIRTUAL_REQUEST_BYTES = headBytes('GET / HTTP/1.1', ['Host', '127.0.1.1', 'User-Agent', 'berth-load/1', 'Accept', '*/*']);
