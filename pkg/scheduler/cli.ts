/**
 * The scheduler's commands:
 *
 * - `berth bench scheduler --nodes N --pods P --workload resources|mixed --seed S
 *   [--algorithm berth|kube-baseline] [--instance-types m5.xlarge,…] [--fill 0.85] [--no-warmup]
 *   [--json FILE]` runs the scheduler benchmark in this process (bench/run.ts) and prints its
 *   result as JSON (one object; also written to FILE with `--json`). It places a warm-up workload
 *   of 1/20 the size first unless `--no-warmup` (see BenchOptions.warmup).
 * - `berth explain pod NAME [-o json]` shows why a pod is where it is: for a scheduled pod the
 *   explanation its binding carried (the `scheduler.berth.dev/explain` annotation: the top nodes
 *   with each score plugin's weighted score, and how many nodes each filter rejected); for a pod
 *   not yet scheduled, its `PodScheduled` condition's message (`0/12 nodes are available: …`).
 */
import { writeFileSync } from 'node:fs';
import type { Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { CliError } from '../cli/errors.js';
import type { Session } from '../cli/session.js';
import { DESCRIBE_TABS, TabWriter } from '../cli/tabwriter.js';
import type { IO } from '../cli/types.js';
import { runSchedulerBench, type Algorithm, type BenchResult } from './bench/run.js';
import type { Workload } from './bench/generate.js';
import { decodeExplanation, EXPLAIN_ANNOTATION, type Explanation } from './explain.js';

/** The flags of `berth bench scheduler`, as commander hands them over (strings). */
export interface BenchSchedulerFlags {
  nodes?: string;
  pods?: string;
  workload?: string;
  seed?: string;
  algorithm?: string;
  instanceTypes?: string;
  fill?: string;
  json?: string;
  /** False with `--no-warmup`. */
  warmup?: boolean;
}

function intFlag(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new CliError(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
}

/**
 * Parses the flags into benchmark options. Defaults: 1,000 nodes, 10,000 pods, `resources`, seed 1,
 * `berth`, fill 0.85. Throws CliError naming the bad flag.
 */
export function benchOptionsOf(f: BenchSchedulerFlags): Parameters<typeof runSchedulerBench>[0] {
  const workload = (f.workload ?? 'resources') as Workload;
  if (workload !== 'resources' && workload !== 'mixed') throw new CliError(`--workload must be resources or mixed, got "${f.workload}"`);
  const algorithm = (f.algorithm ?? 'berth') as Algorithm;
  if (algorithm !== 'berth' && algorithm !== 'kube-baseline') throw new CliError(`--algorithm must be berth or kube-baseline, got "${f.algorithm}"`);
  const nodes = intFlag('nodes', f.nodes, 1000);
  if (nodes < 1) throw new CliError('--nodes must be at least 1');
  const fill = f.fill === undefined ? 0.85 : Number(f.fill);
  if (!(fill > 0 && fill <= 1)) throw new CliError(`--fill must be a number in (0, 1], got "${f.fill}"`);
  const types = f.instanceTypes?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return {
    nodes,
    pods: intFlag('pods', f.pods, 10_000),
    workload,
    seed: intFlag('seed', f.seed, 1),
    algorithm,
    fill,
    warmup: f.warmup !== false,
    ...(types && types.length ? { instanceTypes: types } : {}),
  };
}

/** `berth bench scheduler`: runs the benchmark, prints the result as JSON, writes it to `--json FILE`. Throws CliError for bad flags or an invalid placement. */
export function runBenchScheduler(io: IO, flags: BenchSchedulerFlags): BenchResult {
  let result: BenchResult;
  try {
    result = runSchedulerBench(benchOptionsOf(flags));
  } catch (e) {
    if ((e as { code?: string }).code === 'InvalidBenchSpec') throw new CliError((e as Error).message);
    throw e;
  }
  const text = `${JSON.stringify(result, null, 2)}\n`;
  io.stdout(text);
  if (flags.json) {
    try {
      writeFileSync(flags.json, text);
    } catch (e) {
      throw new CliError(`cannot write --json ${flags.json}: ${(e as Error).message}`);
    }
  }
  if (!result.valid) throw new CliError(`the placement is not valid: ${result.violations.slice(0, 3).join('; ')}`);
  return result;
}

/** `berth explain KIND NAME` (args as typed): only pods are explained. Throws CliError for anything else. */
export async function runExplain(s: () => Session, io: IO, args: string[], output?: string): Promise<void> {
  const [kind, name, ...rest] = args;
  if (!['pod', 'pods', 'po'].includes(kind ?? '')) throw new CliError(`explain supports pods only (berth explain pod NAME), got "${kind ?? ''}"`);
  if (rest.length) throw new CliError(`explain pod takes one pod name, got ${args.length - 1}`);
  await runExplainPod(s(), io, name, output);
}

/** `berth explain pod NAME`: see the file comment. `output` may be `json`. Throws NotFound (StatusError) or CliError. */
export async function runExplainPod(s: Session, io: IO, name: string | undefined, output?: string): Promise<void> {
  if (!name) throw new CliError('explain pod needs a pod name: berth explain pod NAME');
  if (output !== undefined && output !== 'json') throw new CliError(`--output must be json, got "${output}"`);
  const pod = await s.client.get<Pod>(Kinds.Pod, name, s.namespace);
  const raw = pod.metadata.annotations?.[EXPLAIN_ANNOTATION];
  if (pod.spec.nodeName) {
    if (raw === undefined) {
      if (output === 'json') io.stdout(`${JSON.stringify({ pod: name, node: pod.spec.nodeName, explanation: null }, null, 2)}\n`);
      else io.stdout(`Pod ${s.namespace}/${name} is on node ${pod.spec.nodeName}, bound without an explanation (not by berth's scheduler, or spec.nodeName was set).\n`);
      return;
    }
    let e: Explanation;
    try {
      e = decodeExplanation(raw);
    } catch (err) {
      throw new CliError(`pod ${s.namespace}/${name}: ${(err as Error).message}`);
    }
    if (output === 'json') io.stdout(`${JSON.stringify({ pod: name, ...e }, null, 2)}\n`);
    else io.stdout(formatExplanation(`${s.namespace}/${name}`, e));
    return;
  }
  const cond = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const message = cond && cond.status === 'False' ? (cond.message ?? cond.reason ?? '') : '';
  if (output === 'json') {
    io.stdout(`${JSON.stringify({ pod: name, node: null, reason: cond?.reason ?? null, message: message || null }, null, 2)}\n`);
    return;
  }
  io.stdout(message ? `Pod ${s.namespace}/${name} is not scheduled (${cond?.reason ?? 'Unschedulable'}): ${message}\n` : `Pod ${s.namespace}/${name} is not scheduled yet: no scheduling attempt has been reported.\n`);
}

/** The human form of an explanation: header lines, then one row per top node with each plugin's weighted score. */
export function formatExplanation(pod: string, e: Explanation): string {
  const lines: string[] = [];
  lines.push(`Pod:        ${pod}`);
  lines.push(`Node:       ${e.node}`);
  lines.push(`Scheduler:  ${e.scheduler} (${e.mode === 'batch' ? `batch placement${e.pods ? `, ${e.pods} pods in this step` : ''}` : 'per-pod cycle'})`);
  lines.push(`Feasible:   ${e.feasible}/${e.nodes} nodes`);
  const rejected = Object.entries(e.rejected);
  if (rejected.length) lines.push(`Rejected:   ${rejected.map(([r, n]) => `${n} ${r}`).join(', ')}`);
  let out = `${lines.join('\n')}\n`;
  if (e.top.length && e.plugins.length) {
    const w = new TabWriter(DESCRIBE_TABS);
    w.write(`\nNODE\tTOTAL\t${e.plugins.map((p, k) => `${p}(×${e.weights[k] ?? 1})`).join('\t')}\n`);
    for (const row of e.top) w.write(`${row.node === e.node ? '* ' : '  '}${row.node}\t${row.total}\t${row.scores.join('\t')}\n`);
    out += w.flush();
  }
  return out;
}
