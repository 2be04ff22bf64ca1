/**
 * The scheduler benchmark for `make bench`: `berth bench scheduler` runs, each in its own process
 * (so `peakRssBytes` is that run's alone), at sizes that fit in about two minutes on the 2-core
 * machine, and the issue's targets checked against the figures:
 *
 * - `resources`, 10,000 nodes, 1,000,000 pods, berth: ≥ 1,000,000 pods/s, ≤ 1 KiB per pod, and
 *   ≥ 20× kube-baseline on the same cluster and workload in the same run;
 * - `mixed`, 10,000 nodes, 100,000 pods, berth: ≥ 100,000 pods/s;
 * - `resources` on m5.xlarge only, 2,000 nodes, 40,000 pods: nodesUsed ≤ 1.01 × lowerBoundNodes.
 *
 * Besides the targets, `figures` keeps berth / kube-baseline at 100,000 pods (batch placement's
 * cost grows with pod templates and placement steps rather than pods, so the ratio is smaller
 * there; the issue sets its target at 1,000,000), the 1,000,000-pod run in a cold process, and the
 * targets per CPU second (see figuresOf).
 *
 * Every run places a warm-up workload of 1/20 the size first, as `berth bench scheduler` does by
 * default (see BenchOptions.warmup in pkg/scheduler/bench/run.ts), for both algorithms.
 *
 * Each target's configuration runs BENCH_SCHEDULER_REPEAT times (default 3; twice for
 * kube-baseline at 1,000,000 pods, about 35 s a run, and the figures' runs),
 * each in a fresh process, and the fastest run is kept, as benchmark
 * tools report the least time: on a shared 2-core machine one run swings by ±20% with whatever
 * else had the cores, and V8 compiles the same loop into a fast or a slow form from one process to
 * the next (both berth's and the baseline's, and a bare typed-array loop's too). Every run's
 * `seconds` is kept beside it (`secondsOfRuns`). BENCH_SCHEDULER_SCALE (default 1) divides every
 * node and pod count, for a quick run.
 */
import { berthBenchJson } from './berth-json.js';

export interface SchedulerBenchRun {
  name: string;
  args: string[];
  result: Record<string, unknown>;
}

export interface SchedulerTarget {
  target: string;
  measured: number;
  goal: number;
  met: boolean;
}

const REPEAT = Math.max(1, Number(process.env.BENCH_SCHEDULER_REPEAT ?? 3));

function benchRun(name: string, args: string[], repeat = REPEAT): SchedulerBenchRun {
  let best: Record<string, unknown> | undefined;
  const secondsOfRuns: number[] = [];
  for (let k = 0; k < repeat; k++) {
    const result = berthBenchJson(['scheduler', ...args]);
    secondsOfRuns.push(Number(result.seconds));
    if (!best || Number(result.seconds) < Number(best.seconds)) best = result;
  }
  return { name, args, result: { ...best!, secondsOfRuns } };
}

/** Runs the configurations above; returns each run's result and the targets with their figures. */
export function schedulerBench(scale = Number(process.env.BENCH_SCHEDULER_SCALE ?? 1)): { runs: SchedulerBenchRun[]; targets: SchedulerTarget[]; figures: SchedulerTarget[] } {
  const n = (x: number): string => String(Math.max(1, Math.round(x / scale)));
  const runs = [
    benchRun('resources-1m', ['--nodes', n(10_000), '--pods', n(1_000_000), '--workload', 'resources', '--seed', '1']),
    benchRun('resources-1m-cold', ['--nodes', n(10_000), '--pods', n(1_000_000), '--workload', 'resources', '--seed', '1', '--no-warmup'], Math.min(REPEAT, 2)),
    benchRun('resources-1m-kube-baseline', ['--nodes', n(10_000), '--pods', n(1_000_000), '--workload', 'resources', '--seed', '1', '--algorithm', 'kube-baseline'], Math.min(REPEAT, 2)),
    benchRun('resources-100k', ['--nodes', n(10_000), '--pods', n(100_000), '--workload', 'resources', '--seed', '1'], Math.min(REPEAT, 2)),
    benchRun('resources-100k-kube-baseline', ['--nodes', n(10_000), '--pods', n(100_000), '--workload', 'resources', '--seed', '1', '--algorithm', 'kube-baseline'], Math.min(REPEAT, 2)),
    benchRun('mixed-100k', ['--nodes', n(10_000), '--pods', n(100_000), '--workload', 'mixed', '--seed', '1']),
    benchRun('resources-m5xlarge', ['--nodes', n(2_000), '--pods', n(40_000), '--workload', 'resources', '--seed', '1', '--instance-types', 'm5.xlarge']),
  ];
  return { runs, targets: targetsOf(runs), figures: figuresOf(runs) };
}

/** The issue's targets, checked against the runs' figures. */
export function targetsOf(runs: SchedulerBenchRun[]): SchedulerTarget[] {
  const r = (name: string, key: string): number => Number(runs.find((x) => x.name === name)!.result[key]);
  const t = (target: string, measured: number, goal: number, atMost = false): SchedulerTarget => ({ target, measured: Number(measured.toFixed(4)), goal, met: atMost ? measured <= goal : measured >= goal });
  return [
    t('resources 10k nodes 1M pods: pods/s', r('resources-1m', 'podsPerSecond'), 1_000_000),
    t('resources 10k nodes 1M pods: berth / kube-baseline pods/s', r('resources-1m', 'podsPerSecond') / r('resources-1m-kube-baseline', 'podsPerSecond'), 20),
    t('mixed 10k nodes 100k pods: pods/s', r('mixed-100k', 'podsPerSecond'), 100_000),
    t('m5.xlarge: nodesUsed / lowerBoundNodes', r('resources-m5xlarge', 'nodesUsed') / r('resources-m5xlarge', 'lowerBoundNodes'), 1.01, true),
    t('resources 1M pods: peak RSS bytes per pod', r('resources-1m', 'bytesPerPod'), 1024, true),
  ];
}

/**
 * Figures beside the issue's targets, each held to the goal of the target it is a variant of:
 * berth / kube-baseline at 100,000 pods, the 1,000,000-pod run without a warm-up (V8 compiling
 * the scheduler code as it goes), and the targets per CPU second of the placement rather
 * than per second of wall time. CPU time counts every thread of the process, V8's garbage
 * collection helpers included, and not the time other processes held the cores.
 */
export function figuresOf(runs: SchedulerBenchRun[]): SchedulerTarget[] {
  const r = (name: string, key: string): number => Number(runs.find((x) => x.name === name)!.result[key]);
  const t = (target: string, measured: number, goal: number): SchedulerTarget => ({ target, measured: Number(measured.toFixed(4)), goal, met: measured >= goal });
  return [
    t('resources 10k nodes 100k pods: berth / kube-baseline pods/s', r('resources-100k', 'podsPerSecond') / r('resources-100k-kube-baseline', 'podsPerSecond'), 20),
    t('resources 10k nodes 100k pods: berth / kube-baseline pods per CPU second', r('resources-100k', 'podsPerCpuSecond') / r('resources-100k-kube-baseline', 'podsPerCpuSecond'), 20),
    t('resources 10k nodes 1M pods, cold process (--no-warmup): pods/s', r('resources-1m-cold', 'podsPerSecond'), 1_000_000),
    t('resources 10k nodes 1M pods: pods per CPU second', r('resources-1m', 'podsPerCpuSecond'), 1_000_000),
    t('resources 10k nodes 1M pods: berth / kube-baseline pods per CPU second', r('resources-1m', 'podsPerCpuSecond') / r('resources-1m-kube-baseline', 'podsPerCpuSecond'), 20),
    t('mixed 10k nodes 100k pods: pods per CPU second', r('mixed-100k', 'podsPerCpuSecond'), 100_000),
  ];
}
