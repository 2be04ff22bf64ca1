/**
 * Load in `berth simulate`: the `load` event drives requests at a load balancer following a
 * profile (requests per second over virtual time) through pkg/elb's replay engine
 * (`VirtualLoad`, pkg/elb/load.ts): the same target selection, health states, slow start and
 * draining as the real listeners, no sockets. Each request costs its pod the CPU of its
 * `sim.berth.dev/cpu-ms-per-request` annotation, which metrics.k8s.io reports, so a
 * HorizontalPodAutoscaler scales the workload as the load moves.
 *
 * ```yaml
 * - at: 0s
 *   action: load
 *   target: service/web          # a Service of type LoadBalancer, loadbalancer/NAME, targetgroup/NAME or function/NAME
 *   port: 80                     # the Service (or listener) port; optional when there is one
 *   profile: {type: steps, steps: [{at: 0s, rps: 40}, {at: 10m, rps: 0}]}
 * ```
 *
 * Profiles (times are after the event; a later `load` event on the same target group replaces
 * the profile from its own time on):
 * - `{type: constant, rps: 50}`;
 * - `{type: steps, steps: [{at: 0s, rps: 10}, {at: 30m, rps: 80}]}` (0 before the first step);
 * - `{type: ramp, fromRps: 10, toRps: 100, over: 1h}` (linear, then `toRps`);
 * - `{type: daily, minRps: 5, maxRps: 200, peakHour: 14}` (a cosine over 24 h of the event's time:
 *   highest at `peakHour`, lowest 12 h away; `peakHour` defaults to 14);
 * - `{type: series, file: traffic.csv}` (`seconds,rps` lines, linear between points, relative to
 *   the events file) or `{type: series, points: [{at: 0s, rps: 5}, {at: 1h, rps: 50}]}`.
 *
 * A `function/NAME` target (a `lambda.berth.dev/v1 Function`) gets the profile as synchronous
 * invocations (`FunctionLoad`); the summary's `invocations` section counts them and `cost.lambda`
 * bills them.
 *
 * The summary's `load` section has, per target group: requests sent, served (2xx/3xx), target
 * errors by status class, the load balancer's own 503s (no registered target), latency
 * percentiles of answered requests (cluster ms), and the registered and healthy targets over time.
 */
import type { LambdaEngine } from '../aws/lambda/engine.js';
import type { Clock } from '../clock/clock.js';
import type { LoadProfile, VirtualLoad } from '../elb/load.js';
import { LatencyHistogram, parseSeriesCsv, rateAt, SeriesError } from '../elb/load.js';
import type { TargetGroupEngine } from '../elb/targetgroup.js';
import { DurationError, formatDuration, parseDuration } from './duration.js';

export const PROFILE_TYPES = ['constant', 'steps', 'ramp', 'daily', 'series'] as const;

/** A mistake in a profile: the field path under `profile` and what is wrong. */
export class ProfileError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a profile as written in an events file and returns the replay engine's form (times in
 * seconds). `readFile` reads a series CSV (already resolved against the events file's folder).
 * Throws ProfileError naming the field (`profile.steps[1].rps`).
 */
export function parseLoadProfile(value: unknown, readFile: (file: string) => { path: string; text: string }): LoadProfile {
  const f = 'profile';
  if (!isRecord(value)) throw new ProfileError(f, `must be a map such as {type: constant, rps: 50}`);
  const type = value.type;
  if (typeof type !== 'string' || !(PROFILE_TYPES as readonly string[]).includes(type)) throw new ProfileError(`${f}.type`, `must be one of ${PROFILE_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  const allowed: Record<string, string[]> = { constant: ['rps'], steps: ['steps'], ramp: ['fromRps', 'toRps', 'over'], daily: ['minRps', 'maxRps', 'peakHour'], series: ['file', 'points'] };
  for (const k of Object.keys(value)) if (k !== 'type' && !allowed[type]!.includes(k)) throw new ProfileError(`${f}.${k}`, `unknown field for a ${type} profile: it takes ${['type', ...allowed[type]!].join(', ')}`);
  const rps = (v: unknown, path: string, required = true): number => {
    if (v === undefined && !required) return NaN;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ProfileError(path, v === undefined ? 'required: requests per second, a number ≥ 0' : `must be requests per second, a number ≥ 0, got ${JSON.stringify(v)}`);
    return v;
  };
  const seconds = (v: unknown, path: string): number => {
    if (v === 0) return 0;
    if (typeof v !== 'string') throw new ProfileError(path, v === undefined ? 'required: a duration after the event, e.g. 0s, 10m, 2h' : `${JSON.stringify(v)} is not a duration: write it with a unit, e.g. 90s, 10m, 2h`);
    try {
      return parseDuration(v) / 1000;
    } catch (e) {
      throw new ProfileError(path, e instanceof DurationError ? e.message : String(e));
    }
  };
  const points = (v: unknown, path: string): { atSeconds: number; rps: number }[] => {
    if (!Array.isArray(v) || !v.length) throw new ProfileError(path, 'must be a non-empty list of {at: DURATION, rps: NUMBER}');
    const out = v.map((p, i) => {
      if (!isRecord(p)) throw new ProfileError(`${path}[${i}]`, 'must be a map {at: DURATION, rps: NUMBER}');
      for (const k of Object.keys(p)) if (k !== 'at' && k !== 'rps') throw new ProfileError(`${path}[${i}].${k}`, 'unknown field: a point takes at and rps');
      return { atSeconds: seconds(p.at, `${path}[${i}].at`), rps: rps(p.rps, `${path}[${i}].rps`) };
    });
    out.forEach((p, i) => {
      if (i > 0 && p.atSeconds <= out[i - 1]!.atSeconds) throw new ProfileError(`${path}[${i}].at`, `must be later than the point before (${formatDuration(out[i - 1]!.atSeconds * 1000)})`);
    });
    return out;
  };
  switch (type) {
    case 'constant':
      return { type: 'constant', rps: rps(value.rps, `${f}.rps`) };
    case 'steps':
      return { type: 'steps', steps: points(value.steps, `${f}.steps`) };
    case 'ramp': {
      const from = rps(value.fromRps, `${f}.fromRps`);
      const to = rps(value.toRps, `${f}.toRps`);
      const over = seconds(value.over, `${f}.over`);
      if (!(over > 0)) throw new ProfileError(`${f}.over`, 'must be longer than 0s');
      return { type: 'series', points: [{ atSeconds: 0, rps: from }, { atSeconds: over, rps: to }] };
    }
    case 'daily': {
      const min = rps(value.minRps, `${f}.minRps`);
      const max = rps(value.maxRps, `${f}.maxRps`);
      if (max < min) throw new ProfileError(`${f}.maxRps`, `must be at least minRps (${min})`);
      const peak = value.peakHour;
      if (peak !== undefined && (typeof peak !== 'number' || !(peak >= 0 && peak < 24))) throw new ProfileError(`${f}.peakHour`, `must be an hour of the day in [0, 24), got ${JSON.stringify(peak)}`);
      return { type: 'daily', minRps: min, maxRps: max, ...(peak !== undefined ? { peakHour: peak as number } : {}) };
    }
    case 'series': {
      if ((value.file === undefined) === (value.points === undefined)) throw new ProfileError(f, 'a series profile takes either file (a CSV of seconds,rps lines) or points');
      if (value.points !== undefined) return { type: 'series', points: points(value.points, `${f}.points`) };
      if (typeof value.file !== 'string' || !value.file) throw new ProfileError(`${f}.file`, `must be a file name, got ${JSON.stringify(value.file)}`);
      let read: { path: string; text: string };
      try {
        read = readFile(value.file);
      } catch {
        throw new ProfileError(`${f}.file`, `cannot read "${value.file}"`);
      }
      try {
        return parseSeriesCsv(read.text, read.path);
      } catch (e) {
        if (e instanceof SeriesError) throw new ProfileError(`${f}.file`, e.message);
        throw e;
      }
    }
  }
  throw new ProfileError(`${f}.type`, `unknown type ${type}`);
}

/** The targets of a target group at one instant, as the summary lists them. */
export interface TargetSample {
  /** Seconds since time zero. */
  seconds: number;
  /** `2h10m`: the same time as written in events. */
  at: string;
  /** Registered targets not draining (the Service's ready pods). */
  targets: number;
  healthy: number;
}

/** What the `load` events did to one target group, in the summary. */
export interface LoadSummary {
  /** As the first event on it wrote it: `service/web`. */
  target: string;
  namespace: string;
  /** The TargetGroup the requests went to. */
  targetGroup: string;
  /** Requests sent. */
  requests: number;
  /** Answered 2xx or 3xx by a target. */
  served: number;
  /** Answered 4xx or 5xx by a target (502 when its pod was gone). */
  targetErrors: number;
  /** Answered 503 by the load balancer itself: no registered target (none ready, or the Service had no pods). */
  noTargets: number;
  /** Targets' answers by status class: `{"2xx": 1000, "5xx": 3}`. */
  httpCodes: Record<string, number>;
  /** Latency of answered requests, cluster ms (nearest rank); null when none was answered. */
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
  /** Most healthy targets at once. */
  peakHealthy: number;
  /** The registered and healthy targets each time they changed (sampled every tick of the load, 1 s). */
  targets: TargetSample[];
}

/** Collects the `load` events' drivers, per target group, for the summary. */
export class LoadRecorder {
  private readonly byGroup = new Map<string, { target: string; namespace: string; name: string; drivers: VirtualLoad[]; samples: TargetSample[]; peak: number; group: TargetGroupEngine }>();

  constructor(private readonly t0: number) {}

  /** Starts `driver` for the group `namespace/name`, stopping the group's earlier one. */
  add(target: string, namespace: string, name: string, group: TargetGroupEngine, driver: VirtualLoad, now: () => number): void {
    const key = `${namespace}/${name}`;
    let rec = this.byGroup.get(key);
    if (!rec) this.byGroup.set(key, (rec = { target, namespace, name, drivers: [], samples: [], peak: 0, group }));
    rec.drivers.at(-1)?.stop();
    rec.drivers.push(driver);
    rec.group = group;
    const r = rec;
    const sample = (): void => {
      let targets = 0;
      let healthy = 0;
      for (const t of r.group.list()) {
        if (t.state === 'draining') continue;
        targets++;
        if (t.state === 'healthy') healthy++;
      }
      const last = r.samples.at(-1);
      if (last && last.targets === targets && last.healthy === healthy) return;
      const ms = now() - this.t0;
      r.samples.push({ seconds: ms / 1000, at: formatDuration(ms), targets, healthy });
      if (healthy > r.peak) r.peak = healthy;
    };
    driver.onTick = sample;
    sample();
  }

  /** Stops every driver. */
  stop(): void {
    for (const r of this.byGroup.values()) r.drivers.at(-1)?.stop();
  }

  /** The summary's `load` section, by namespace and target group. */
  summary(): LoadSummary[] {
    return [...this.byGroup.values()]
      .sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => {
        const lat = new LatencyHistogram();
        const codes: Record<string, number> = {};
        let requests = 0;
        let served = 0;
        let errors = 0;
        let noTargets = 0;
        for (const d of r.drivers) {
          lat.merge(d.latency);
          for (const [k, v] of Object.entries(d.codes)) codes[k] = (codes[k] ?? 0) + v;
          requests += d.stats.sent;
          served += d.stats.ok;
          errors += d.stats.failed;
          noTargets += d.stats.elb503;
        }
        return {
          target: r.target,
          namespace: r.namespace,
          targetGroup: r.name,
          requests,
          served,
          targetErrors: errors,
          noTargets,
          httpCodes: Object.fromEntries(Object.entries(codes).sort()),
          latencyMs: { p50: lat.percentile(50), p90: lat.percentile(90), p99: lat.percentile(99), max: lat.percentile(100) },
          peakHealthy: r.peak,
          targets: r.samples,
        };
      });
  }
}

/**
 * A load profile as Lambda invocations: each request of the profile is one synchronous
 * (RequestResponse) invocation of the function, as a client calling `aws lambda invoke` would
 * make; it runs on the cluster clock (a simulated function's `sim.berth.dev/duration-ms`), makes
 * cold starts and warm reuse as concurrency moves, is throttled at the concurrency limits, and is
 * billed in the Lambda usage ledger the summary's `cost.lambda` reads.
 */
export class FunctionLoad {
  /** Invocations started. */
  sent = 0;
  succeeded = 0;
  /** Invocations that failed in the function (an error, a timeout, a crash). */
  functionErrors = 0;
  /** Refused with TooManyRequestsException (429): concurrency exhausted. */
  throttled = 0;
  /** Invocations that started cold (an INIT phase). */
  coldStarts = 0;
  /** Billed duration of each invocation, ms. */
  readonly billed = new LatencyHistogram();
  private cancel?: () => void;
  private carry = 0;
  private startedAt = 0;

  constructor(
    private readonly clock: Clock,
    private readonly lambda: Pick<LambdaEngine, 'invoke'>,
    readonly functionName: string,
    private readonly profile: LoadProfile,
    private readonly tickMs = 1000,
  ) {}

  start(): void {
    this.startedAt = this.clock.now();
    const tick = (): void => {
      this.cancel = this.clock.setTimer(this.tickMs, () => {
        this.carry += (rateAt(this.profile, (this.clock.now() - this.startedAt) / 1000) * this.tickMs) / 1000;
        const n = Math.floor(this.carry);
        this.carry -= n;
        for (let i = 0; i < n; i++) this.one();
        tick();
      });
    };
    tick();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private one(): void {
    this.sent++;
    this.lambda.invoke(this.functionName, { source: 'berth.simulate', time: new Date(this.clock.now()).toISOString() }).then(
      (r) => {
        if (r.status === 'ok') this.succeeded++;
        else this.functionErrors++;
        if (r.record.initMs !== undefined) this.coldStarts++;
        this.billed.add(r.record.billedMs);
      },
      (e: unknown) => {
        if ((e as { code?: string }).code === 'TooManyRequestsException') this.throttled++;
        else this.functionErrors++;
      },
    );
  }
}

/** What `load` events on a function did, in the summary. */
export interface FunctionLoadSummary {
  /** `function/resize`. */
  target: string;
  function: string;
  /** Invocations started; those still running at the end of the simulation are in none of the outcome counts below. */
  invocations: number;
  succeeded: number;
  functionErrors: number;
  throttled: number;
  coldStarts: number;
  /** Billed duration per invocation (INIT included on cold starts), ms, nearest rank; null when none ran. */
  billedDurationMs: { p50: number | null; p99: number | null; max: number | null };
}

/** Sums a function's drivers (a later event replaces an earlier one's profile). */
export function functionLoadSummary(target: string, drivers: FunctionLoad[]): FunctionLoadSummary {
  const billed = new LatencyHistogram();
  const sum = (f: (d: FunctionLoad) => number): number => drivers.reduce((x, d) => x + f(d), 0);
  for (const d of drivers) billed.merge(d.billed);
  return {
    target,
    function: drivers[0]!.functionName,
    invocations: sum((d) => d.sent),
    succeeded: sum((d) => d.succeeded),
    functionErrors: sum((d) => d.functionErrors),
    throttled: sum((d) => d.throttled),
    coldStarts: sum((d) => d.coldStarts),
    billedDurationMs: { p50: billed.percentile(50), p99: billed.percentile(99), max: billed.percentile(100) },
  };
}
