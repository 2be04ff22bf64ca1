/**
 * A target group's data plane, independent of sockets: registered targets and their health
 * states, health checks on the cluster clock, routing (round robin or least outstanding
 * requests, slow start, fail open, source-IP stickiness), deregistration delay, and metrics.
 * The real listeners (`listener.ts`) and the virtual-time load driver (`load.ts`) both route
 * through it, so both follow the same rules.
 *
 * The rules are Elastic Load Balancing's (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html,
 * …/load-balancer-target-groups.html): a registered target is `initial` until its first health
 * check passes (`healthy`) or `unhealthyThresholdCount` checks in a row fail (`unhealthy`); an
 * unhealthy target needs `healthyThresholdCount` passes in a row to be healthy again, a healthy
 * one `unhealthyThresholdCount` failures to be unhealthy. Requests go to healthy targets only;
 * when none is healthy, to every registered target (fail open). A deregistered target is
 * `draining`: no new requests, and it goes when its in-flight requests finish or after the
 * deregistration delay. A healthy target in slow start gets a share growing linearly from 0 to
 * its full share over the slow start duration. While no load balancer forwards to the group its
 * targets are `unused` (`Target.NotInUse`) and not health checked; once one does, they start
 * `initial` ("Target health status", Elastic Load Balancing User Guide).
 */
import type { Clock } from '../clock/clock.js';

/** Health check settings (the AWS API's names, defaults of an ALB target group). */
export interface HealthCheck {
  /** `HTTP` (an ALB's default) or `TCP` (a connection is a pass; an NLB's default). */
  protocol: 'HTTP' | 'TCP';
  /** Default `/`. */
  path: string;
  /** Seconds between checks of one target (default 30; 5–300). */
  intervalSeconds: number;
  /** Seconds without an answer that fail a check (default 5; 2–120). */
  timeoutSeconds: number;
  /** Passes in a row that make an unhealthy target healthy (default 5; 2–10). */
  healthyThresholdCount: number;
  /** Failures in a row that make a target unhealthy (default 2; 2–10). */
  unhealthyThresholdCount: number;
  /** Status codes that pass: `200`, `200,202`, `200-299` (default `200`). */
  matcher: string;
  /** False turns health checks off: every registered target is healthy. */
  enabled: boolean;
}

export const DEFAULT_HEALTH_CHECK: HealthCheck = { protocol: 'HTTP', path: '/', intervalSeconds: 30, timeoutSeconds: 5, healthyThresholdCount: 5, unhealthyThresholdCount: 2, matcher: '200', enabled: true };

export type Algorithm = 'round_robin' | 'least_outstanding_requests';

/** A target group's settings. */
export interface TargetGroupConfig {
  algorithm: Algorithm;
  healthCheck: HealthCheck;
  /** `deregistration_delay.timeout_seconds` (default 300). */
  deregistrationDelaySeconds: number;
  /** `slow_start.duration_seconds` (default 0: off; 30–900). */
  slowStartSeconds: number;
  /** Source-IP stickiness (a Service's `sessionAffinity: ClientIP`): seconds, 0 off. */
  stickinessSeconds: number;
  /**
   * A Network Load Balancer's TCP target group: each connection goes to the target a hash of its
   * flow picks (protocol, source and destination address and port), not by `algorithm`
   * (Elastic Load Balancing, "How Network Load Balancers work"; AWS also hashes the TCP sequence
   * number, which berth leaves out, so a flow's key is its 4-tuple).
   */
  flowHash: boolean;
  /**
   * `preserve_client_ip.enabled` (TCP target groups): the target sees the client's address as the
   * connection's source; otherwise the load balancer's own address. AWS's default for `ip`
   * targets over TCP is off.
   */
  preserveClientIp: boolean;
}

export const DEFAULT_TARGET_GROUP: TargetGroupConfig = { algorithm: 'round_robin', healthCheck: DEFAULT_HEALTH_CHECK, deregistrationDelaySeconds: 300, slowStartSeconds: 0, stickinessSeconds: 0, flowHash: false, preserveClientIp: false };

/** FNV-1a of a flow's key: which of `n` targets takes the flow. */
export function flowIndex(flow: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < flow.length; i++) h = Math.imul(h ^ flow.charCodeAt(i), 0x01000193);
  // A final avalanche so keys differing in their last characters (ports) spread evenly.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) % n;
}

export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused';

/** One registration: a pod (by UID) or an address, on a port. */
export interface TargetSpec {
  /** Stable key: `<pod uid>:<port>` or `<ip>:<port>`. */
  key: string;
  /** What users see as the target's id (the pod IP, as an `ip` target type shows it). */
  id: string;
  port: number;
  /** The pod behind it, if any. */
  pod?: { namespace: string; name: string; uid: string };
  /** The EC2 instance behind it (an `instance` target): its Node answers on `port` (instance-targets.ts). */
  instance?: string;
}

/** The answer of one health check: a status code, or a failure reason. */
export type CheckResult = { status: number } | { error: 'timeout' | 'connect' };

/** How the engine reaches targets: real sockets, or the in-process model in virtual time. */
export interface TargetTransport {
  /** One check: an HTTP GET of `path` (protocol HTTP) or a TCP connection (protocol TCP). */
  healthCheck(t: TargetSpec, hc: HealthCheck): Promise<CheckResult>;
}

/** Per-target counters. */
export interface TargetMetrics {
  requestCount: number;
  /** Requests (ALB) or connections (NLB) open now. */
  activeConnections: number;
  /** Responses by class: `2xx`, `3xx`, `4xx`, `5xx`. */
  httpCodes: Record<string, number>;
  /** Latency percentiles over the last 1,000 responses, ms. */
  latencyMs: { p50: number; p90: number; p99: number };
  /**
   * Bytes the load balancer carried to the target (requests: request line, headers and body; a
   * TCP listener: every byte from the client) and back from it (responses), since it was
   * registered: the target's share of its instance's NetworkIn and NetworkOut.
   */
  bytesIn: number;
  bytesOut: number;
}

/** Bytes of one request and its response, as the load balancer carried them. */
export interface Transfer {
  in: number;
  out: number;
}

export class Target {
  state: TargetState = 'initial';
  reason = 'Elb.RegistrationInProgress';
  passes = 0;
  failures = 0;
  inflight = 0;
  requestCount = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly codes: Record<string, number> = {};
  readonly latencies: number[] = [];
  /** Cluster ms it became healthy (slow start counts from here). */
  healthySince = 0;
  /** Slow start duration it entered with when it became healthy, ms (0: none). */
  slowStartMs = 0;
  drainingSince = 0;
  cancelCheck?: () => void;
  cancelDrain?: () => void;
  /** Smooth weighted round robin's running weight. */
  current = 0;
  constructor(readonly spec: TargetSpec) {}

  metrics(): TargetMetrics {
    return { requestCount: this.requestCount, activeConnections: this.inflight, httpCodes: { ...this.codes }, latencyMs: percentiles(this.latencies), bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }
}

/** p50/p90/p99 of a sample (0 when empty). */
export function percentiles(xs: number[]): { p50: number; p90: number; p99: number } {
  if (!xs.length) return { p50: 0, p90: 0, p99: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => Math.round(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! * 10) / 10;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

/** True when `status` passes `matcher` (`200`, `200,202`, `200-299`). */
export function matches(matcher: string, status: number): boolean {
  return matcher.split(',').some((part) => {
    const [a, b] = part.trim().split('-').map(Number);
    return b === undefined ? status === a : status >= a! && status <= b;
  });
}

const LATENCY_SAMPLES = 1000;
/** Window of the request rate used by RequestCountPerTarget (CloudWatch's one-minute period). */
export const REQUEST_WINDOW_MS = 60_000;

export class TargetGroupEngine {
  private readonly targets = new Map<string, Target>();
  private config: TargetGroupConfig = DEFAULT_TARGET_GROUP;
  private readonly sticky = new Map<string, { key: string; until: number }>();
  /** Requests per cluster second, for the request rate. */
  private readonly perSecond = new Map<number, number>();
  /** Requests no target could take (the load balancer answered 503). */
  elb5xx = 0;
  /** Every request since the group started (targets that went included). */
  private requestTotal = 0;
  private readonly codeTotals: Record<string, number> = {};
  private closed = false;
  /** Called when a target's state changes (the controller writes status). */
  onChange: () => void = () => {};

  constructor(
    readonly name: string,
    private readonly clock: Clock,
    private readonly transport: TargetTransport,
  ) {}

  configure(c: TargetGroupConfig): void {
    const hcChanged = JSON.stringify(c.healthCheck) !== JSON.stringify(this.config.healthCheck);
    this.config = c;
    if (hcChanged) for (const t of this.targets.values()) if (t.state !== 'draining' && t.state !== 'unused') this.scheduleCheck(t, 0);
  }

  /** Whether a load balancer forwards to the group (default true). Without one, targets are `unused`. */
  private inUse = true;

  /** Says whether a load balancer's listener forwards to the group: targets go `unused`, or start `initial`. */
  setInUse(v: boolean): void {
    if (v === this.inUse) return;
    this.inUse = v;
    for (const t of this.targets.values()) {
      if (t.state === 'draining') continue;
      if (v) this.register(t);
      else this.markUnused(t);
    }
    this.onChange();
  }

  private markUnused(t: Target): void {
    t.cancelCheck?.();
    t.state = 'unused';
    t.reason = 'Target.NotInUse';
    t.passes = t.failures = 0;
  }

  /** A target entering service: `initial` until its health checks decide (healthy at once with checks off). */
  private register(t: Target): void {
    t.state = 'initial';
    t.reason = 'Elb.RegistrationInProgress';
    t.passes = t.failures = 0;
    if (!this.config.healthCheck.enabled) this.markHealthy(t);
    else this.scheduleCheck(t, 0);
  }

  get settings(): TargetGroupConfig {
    return this.config;
  }

  /** Makes the registered set `want`: new targets start `initial`, missing ones drain. */
  setTargets(want: TargetSpec[]): void {
    const keys = new Set(want.map((w) => w.key));
    for (const w of want) {
      const t = this.targets.get(w.key);
      if (!t) {
        const n = new Target(w);
        this.targets.set(w.key, n);
        if (this.inUse) this.register(n);
        else this.markUnused(n);
        this.onChange();
      } else if (t.state === 'draining') {
        // Registered again while draining: back in service after its checks.
        t.cancelDrain?.();
        if (this.inUse) this.register(t);
        else this.markUnused(t);
        this.onChange();
      }
    }
    for (const t of this.targets.values()) if (!keys.has(t.spec.key) && t.state !== 'draining') this.deregister(t);
  }

  /** Deregisters one target now (its pod is terminating): it drains. */
  drain(key: string): void {
    const t = this.targets.get(key);
    if (t && t.state !== 'draining') this.deregister(t);
  }

  private deregister(t: Target): void {
    t.cancelCheck?.();
    t.state = 'draining';
    t.reason = 'Target.DeregistrationInProgress';
    t.drainingSince = this.clock.now();
    this.onChange();
    if (t.inflight === 0) return this.remove(t);
    t.cancelDrain = this.clock.setTimer(this.config.deregistrationDelaySeconds * 1000, () => this.remove(t));
  }

  private remove(t: Target): void {
    t.cancelCheck?.();
    t.cancelDrain?.();
    if (this.targets.get(t.spec.key) === t) this.targets.delete(t.spec.key);
    this.onChange();
  }

  private markHealthy(t: Target): void {
    // A target enters slow start when it becomes healthy while others already are (AWS starts no
    // slow start when no target is healthy), with the duration set at that moment.
    const others = [...this.targets.values()].some((o) => o !== t && o.state === 'healthy');
    t.state = 'healthy';
    t.reason = '';
    t.healthySince = this.clock.now();
    t.slowStartMs = others ? this.config.slowStartSeconds * 1000 : 0;
  }

  private scheduleCheck(t: Target, delayMs: number): void {
    t.cancelCheck?.();
    if (this.closed || !this.config.healthCheck.enabled) return;
    t.cancelCheck = this.clock.setTimer(delayMs, () => void this.check(t));
  }

  private async check(t: Target): Promise<void> {
    if (this.closed || t.state === 'draining' || t.state === 'unused' || this.targets.get(t.spec.key) !== t) return;
    const hc = this.config.healthCheck;
    // The next check is due an interval after this one started, however long this one takes.
    this.scheduleCheck(t, hc.intervalSeconds * 1000);
    let res: CheckResult;
    try {
      res = await this.transport.healthCheck(t.spec, hc);
    } catch {
      res = { error: 'connect' };
    }
    if (this.closed || (t.state as TargetState) === 'draining' || this.targets.get(t.spec.key) !== t) return;
    const ok = 'status' in res && matches(hc.matcher, res.status);
    const before = t.state;
    if (ok) {
      t.passes++;
      t.failures = 0;
      if (t.state === 'initial' || (t.state === 'unhealthy' && t.passes >= hc.healthyThresholdCount)) this.markHealthy(t);
    } else {
      t.failures++;
      t.passes = 0;
      const reason = 'status' in res ? 'Target.ResponseCodeMismatch' : res.error === 'timeout' ? 'Target.Timeout' : 'Target.FailedHealthChecks';
      if (t.failures >= hc.unhealthyThresholdCount && t.state !== 'unhealthy') {
        t.state = 'unhealthy';
        t.reason = reason;
      } else if (t.state === 'unhealthy') t.reason = reason;
    }
    if (t.state !== before) this.onChange();
  }

  /** The share (0–1] of a healthy target in slow start. */
  private weight(t: Target, now: number): number {
    const ss = t.slowStartMs;
    if (!ss || t.state !== 'healthy') return 1;
    return Math.max(0.01, Math.min(1, (now - t.healthySince) / ss));
  }

  /**
   * Picks the target for a new request (or connection), or undefined when none is registered.
   * `client` is the source IP (for stickiness); `flow` a connection's key
   * (`src:port->dst:port/tcp`) for a flow-hash group. Counts the request as in flight: call `done`.
   */
  pick(client?: string, flow?: string): Target | undefined {
    const now = this.clock.now();
    let pool = [...this.targets.values()].filter((t) => t.state === 'healthy');
    if (!pool.length) pool = [...this.targets.values()].filter((t) => t.state !== 'draining' && t.state !== 'unused'); // fail open
    if (!pool.length) return undefined;
    if (this.config.stickinessSeconds > 0 && client) {
      const s = this.sticky.get(client);
      const t = s && s.until > now ? this.targets.get(s.key) : undefined;
      if (t && pool.includes(t)) {
        s!.until = now + this.config.stickinessSeconds * 1000;
        return this.start(t);
      }
    }
    let chosen: Target;
    if (this.config.flowHash && flow !== undefined) {
      pool.sort((a, b) => (a.spec.key < b.spec.key ? -1 : a.spec.key > b.spec.key ? 1 : 0));
      chosen = pool[flowIndex(flow, pool.length)]!;
    } else if (this.config.algorithm === 'least_outstanding_requests') {
      chosen = pool.reduce((best, t) => ((t.inflight + 1) / this.weight(t, now) < (best.inflight + 1) / this.weight(best, now) ? t : best));
      // Ties go round robin, so an idle group still spreads requests.
      const bestScore = (chosen.inflight + 1) / this.weight(chosen, now);
      const tied = pool.filter((t) => (t.inflight + 1) / this.weight(t, now) === bestScore);
      if (tied.length > 1) chosen = this.smoothRoundRobin(tied, now);
    } else chosen = this.smoothRoundRobin(pool, now);
    if (this.config.stickinessSeconds > 0 && client) this.sticky.set(client, { key: chosen.spec.key, until: now + this.config.stickinessSeconds * 1000 });
    return this.start(chosen);
  }

  /** nginx's smooth weighted round robin: exact shares, interleaved. */
  private smoothRoundRobin(pool: Target[], now: number): Target {
    let total = 0;
    let best: Target | undefined;
    for (const t of pool) {
      const w = this.weight(t, now);
      t.current += w;
      total += w;
      if (!best || t.current > best.current) best = t;
    }
    best!.current -= total;
    return best!;
  }

  private start(t: Target): Target {
    t.inflight++;
    return t;
  }

  /**
   * A request to `t` ended with `status` (0: no answer; undefined: a TCP connection) after
   * `latencyMs`, having carried `bytes` (none if not given).
   */
  done(t: Target, status: number | undefined, latencyMs: number, bytes?: Transfer): void {
    t.inflight = Math.max(0, t.inflight - 1);
    t.requestCount++;
    if (bytes) {
      t.bytesIn += bytes.in;
      t.bytesOut += bytes.out;
    }
    this.requestTotal++;
    if (status !== undefined) {
      const cls = status ? `${Math.floor(status / 100)}xx` : 'error';
      t.codes[cls] = (t.codes[cls] ?? 0) + 1;
      this.codeTotals[cls] = (this.codeTotals[cls] ?? 0) + 1;
    }
    // The last LATENCY_SAMPLES answers, as a ring (order does not matter to percentiles).
    if (t.latencies.length < LATENCY_SAMPLES) t.latencies.push(latencyMs);
    else t.latencies[t.requestCount % LATENCY_SAMPLES] = latencyMs;
    const sec = Math.floor(this.clock.now() / 1000);
    this.perSecond.set(sec, (this.perSecond.get(sec) ?? 0) + 1);
    if (this.perSecond.size > 120) for (const k of this.perSecond.keys()) if (k < sec - 60) this.perSecond.delete(k);
    // A draining target with nothing in flight is done draining.
    if (t.state === 'draining' && t.inflight === 0) this.remove(t);
  }

  /** Requests completed in the last minute of cluster time. */
  requestsLastMinute(): number {
    const sec = Math.floor(this.clock.now() / 1000);
    let n = 0;
    for (const [k, v] of this.perSecond) if (k > sec - REQUEST_WINDOW_MS / 1000 && k <= sec) n += v;
    return n;
  }

  /** ALB's RequestCountPerTarget: requests in the last minute over the healthy targets (all registered ones when none is). */
  requestCountPerTarget(): number {
    const all = this.list().filter((t) => t.state !== 'draining');
    const healthy = all.filter((t) => t.state === 'healthy').length || all.length;
    return healthy ? this.requestsLastMinute() / healthy : 0;
  }

  list(): Target[] {
    return [...this.targets.values()].sort((a, b) => (a.spec.id < b.spec.id ? -1 : a.spec.id > b.spec.id ? 1 : a.spec.port - b.spec.port));
  }

  /** Totals over the targets, and the load balancer's own 5xx. */
  totals(): { requestCount: number; activeConnections: number; httpCodes: Record<string, number>; latencyMs: { p50: number; p90: number; p99: number }; elb5xx: number; requestCountPerTarget: number } {
    let active = 0;
    const lat: number[] = [];
    for (const t of this.targets.values()) {
      active += t.inflight;
      lat.push(...t.latencies);
    }
    const codes = { ...this.codeTotals };
    return { requestCount: this.requestTotal, activeConnections: active, httpCodes: codes, latencyMs: percentiles(lat), elb5xx: this.elb5xx, requestCountPerTarget: Math.round(this.requestCountPerTarget() * 100) / 100 };
  }

  close(): void {
    this.closed = true;
    for (const t of this.targets.values()) {
      t.cancelCheck?.();
      t.cancelDrain?.();
    }
  }
}

/** Bytes of an HTTP/1.1 head: the start line, each header line, and the empty line that ends it. */
export function headBytes(startLine: string, rawHeaders: readonly string[]): number {
  let n = Buffer.byteLength(startLine) + 2 + 2;
  for (let k = 0; k + 1 < rawHeaders.length; k += 2) n += Buffer.byteLength(rawHeaders[k]!) + 2 + Buffer.byteLength(rawHeaders[k + 1]!) + 2;
  return n;
}
