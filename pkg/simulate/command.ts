/**
 * `berth simulate -f PATH [-f PATH…] --duration 24h [--seed N] [--events FILE] [-o json]`: the
 * whole cluster in virtual time (engine.ts), then its summary — a human-readable report, or with
 * `-o json` one JSON object on stdout. It needs no server: the control plane runs in this process.
 * On a terminal a progress bar is drawn on stderr (never on stdout).
 */
import { CliError } from '../cli/errors.js';
import { money, renderAllServices, renderFargateCost, renderLambdaCost } from '../cli/cost.js';
import { checkOutput } from '../cli/get.js';
import { readManifests } from '../cli/manifest.js';
import { GET_TABS, TabWriter } from '../cli/tabwriter.js';
import type { IO } from '../cli/types.js';
import type { CostLine } from '../cloud/index.js';
import { DurationError, formatDuration, parseDuration } from './duration.js';
import { runSimulation, purchaseOptionRows, type SimulationSummary } from './engine.js';
import { readEvents } from './events.js';
import type { LoadSummary } from './load.js';

export interface SimulateOptions {
  /** Manifest files, directories or `-`, applied at time zero in order. */
  filename: string[];
  recursive?: boolean;
  /** `24h`, `30m`, `1d12h`. */
  duration?: string;
  /** A whole number (default 1). */
  seed?: string;
  /** The timed events file. */
  events?: string;
  /** `json`, or absent for the report. */
  output?: string;
}

/** Longest simulation accepted: a year of virtual time. */
const MAX_DURATION_MS = 366 * 86_400_000;

/** Runs `berth simulate`. Throws CliError (and its kinds: EventsFileError, ApplyError, ManifestSyntaxError) for bad input. */
export async function runSimulate(io: IO, opts: SimulateOptions): Promise<void> {
  const output = checkOutput(opts.output, ['', 'json']);
  if (!opts.filename.length) throw new CliError('must specify -f with the manifests to apply at time zero');
  if (opts.duration === undefined) throw new CliError('--duration is required: how long to simulate, e.g. 30m, 2h, 24h');
  let durationMs: number;
  try {
    durationMs = parseDuration(opts.duration);
  } catch (e) {
    throw new CliError(`invalid --duration: ${e instanceof DurationError ? e.message : String(e)}`);
  }
  if (durationMs <= 0) throw new CliError('invalid --duration: it must be longer than 0s');
  if (durationMs > MAX_DURATION_MS) throw new CliError(`invalid --duration: ${opts.duration} is longer than the most berth simulates (366d)`);
  const seedText = opts.seed ?? '1';
  if (!/^\d+$/.test(seedText) || !Number.isSafeInteger(Number(seedText))) throw new CliError(`invalid --seed "${seedText}": must be a whole number ≥ 0`);
  const seed = Number(seedText);

  const manifests = await readManifests(opts.filename, !!opts.recursive, io);
  if (!manifests.length) throw new CliError('no objects passed to simulate');
  const events = opts.events !== undefined ? readEvents(opts.events, { durationMs }) : [];

  const progress = io.stderrIsTTY ? progressBar(io) : undefined;
  const started = performance.now();
  let summary: SimulationSummary;
  try {
    summary = await runSimulation({ manifests, events, durationMs, seed, ...(progress ? { onProgress: progress.update } : {}) });
  } finally {
    progress?.done();
  }
  const wallSeconds = (performance.now() - started) / 1000;
  if (output === 'json') {
    io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  io.stdout(renderSummary(summary, wallSeconds));
}

/** A one-line progress bar on stderr, redrawn at most ten times a second. */
function progressBar(io: IO): { update: (elapsedMs: number, totalMs: number) => void; done: () => void } {
  const width = 30;
  let last = 0;
  const t0 = performance.now();
  return {
    update(elapsedMs, totalMs) {
      const now = performance.now();
      if (now - last < 100 && elapsedMs < totalMs) return;
      last = now;
      const f = totalMs > 0 ? Math.min(1, elapsedMs / totalMs) : 1;
      const filled = Math.round(f * width);
      io.stderr(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}%  ${formatDuration(Math.floor(elapsedMs / 1000) * 1000)} of ${formatDuration(totalMs)}  (${((now - t0) / 1000).toFixed(1)} s)\x1b[K`);
    },
    done() {
      io.stderr('\r\x1b[K');
    },
  };
}

function table(header: string[], rows: string[][]): string {
  const tw = new TabWriter(GET_TABS);
  tw.write(`${header.join('\t')}\n`);
  for (const r of rows) tw.write(`${r.join('\t')}\n`);
  return tw.flush();
}

function seconds(s: number | null): string {
  if (s === null) return '-';
  return s < 120 ? `${s.toFixed(s < 10 ? 2 : 1)}s` : formatDuration(Math.round(s) * 1000);
}

function costLines(m: Record<string, CostLine>): string[][] {
  return Object.entries(m)
    .sort((a, b) => b[1].usd - a[1].usd || (a[0] < b[0] ? -1 : 1))
    .map(([k, l]) => [k, l.instanceHours.toFixed(2), money(l.usd), money(l.effectiveUSDPerHour)]);
}

/** The human-readable summary. */
export function renderSummary(s: SimulationSummary, wallSeconds?: number): string {
  const c = s.cost;
  const speed = wallSeconds && wallSeconds > 0 ? ` in ${wallSeconds.toFixed(1)} s (${Math.round(s.durationSeconds / wallSeconds).toLocaleString('en-US')}× real time)` : '';
  let out = `Simulated ${formatDuration(s.durationSeconds * 1000)} of cluster time (seed ${s.seed}), ${s.start} to ${s.end}${speed}\n\n`;
  out += `Cost ${money(c.totalUSD)} for ${s.instanceHours.toFixed(2)} instance-hours; On-Demand would be ${money(c.onDemandEquivalentUSD)}\n`;
  out += table(['PURCHASE-OPTION', 'USD'], purchaseOptionRows(c).map(([k, v]) => [k, money(v)]));
  const types = costLines(c.byInstanceType);
  if (types.length) out += `\n${table(['INSTANCE-TYPE', 'INSTANCE-HOURS', 'USD', 'EFFECTIVE/H'], types)}`;
  const groups = costLines(c.byAutoScalingGroup);
  if (groups.length) out += `\n${table(['AUTO-SCALING-GROUP', 'INSTANCE-HOURS', 'USD', 'EFFECTIVE/H'], groups)}`;
  const p = s.podPendingSeconds;
  out += `\nNodes: peak ${s.nodes.peak}, average ${s.nodes.average.toFixed(2)}, final ${s.nodes.final}\n`;
  out += `Pods: ${s.pods.created} created, ${s.pods.running} running and ${s.pods.pendingAtEnd} pending at the end (peak ${s.pods.peakRunning} running)\n`;
  out += `Pod pending time (creation to Running): p50 ${seconds(p.p50)}, p99 ${seconds(p.p99)}, max ${seconds(p.max)} over ${p.count} pods; scheduling: p50 ${seconds(s.podSchedulingSeconds.p50)}, p99 ${seconds(s.podSchedulingSeconds.p99)}\n`;
  out += `Spot interruptions: ${s.interruptions}; instance failures: ${s.instanceFailures}\n`;
  if (s.events.length) out += `\n${table(['AT', 'EVENT', 'RESULT'], s.events.map((e) => [e.at, e.event, e.result]))}`;
  if (s.timeline.length) {
    out += `\n${table(
      ['HOUR', 'TIME', 'NODES', 'PODS', 'PENDING', 'COST'],
      s.timeline.map((r) => [String(r.hour), r.time, String(r.nodes), String(r.pods), String(r.pendingPods), money(r.costUSD)]),
    )}`;
  }
  if (s.load?.length) out += renderLoad(s.load);
  if (s.invocations?.length) {
    out += `\n${table(
      ['FUNCTION', 'INVOCATIONS', 'SUCCEEDED', 'ERRORS', 'THROTTLED', 'COLD-STARTS', 'BILLED-P50', 'BILLED-P99'],
      s.invocations.map((f) => [f.function, String(f.invocations), String(f.succeeded), String(f.functionErrors), String(f.throttled), String(f.coldStarts), ms(f.billedDurationMs.p50), ms(f.billedDurationMs.p99)]),
    )}`;
  }
  if (c.lambda && c.lambda.requests > 0) out += renderLambdaCost(c.lambda);
  if (c.fargate && c.fargate.pods > 0) out += renderFargateCost(c.fargate);
  out += renderAllServices(c.totalUSD, c.lambda, c.fargate);
  return out;
}

const ms = (x: number | null): string => (x === null ? '-' : `${x}ms`);

/** The `load` section: totals per target group, then its targets over time (change points). */
function renderLoad(loads: LoadSummary[]): string {
  let out = `
${table(
    ['TARGET-GROUP', 'REQUESTS', 'SERVED', 'TARGET-ERRORS', 'NO-TARGET-503', 'P50', 'P90', 'P99', 'PEAK-HEALTHY'],
    loads.map((l) => [`${l.namespace}/${l.targetGroup}`, String(l.requests), String(l.served), String(l.targetErrors), String(l.noTargets), ms(l.latencyMs.p50), ms(l.latencyMs.p90), ms(l.latencyMs.p99), String(l.peakHealthy)]),
  )}`;
  for (const l of loads) {
    out += `
Targets of ${l.namespace}/${l.targetGroup} over time:
${table(
      ['AT', 'TARGETS', 'HEALTHY'],
      l.targets.map((x) => [x.at, String(x.targets), String(x.healthy)]),
    )}`;
  }
  return out;
}
