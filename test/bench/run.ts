/**
 * `make bench`: runs the benchmarks and writes one JSON file each under test/bench/results/.
 * Figures are for the machine they run on; compare runs on the same machine.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryBackend } from '../../pkg/storage/memory/memory.js';
import { SqliteBackend } from '../../pkg/storage/sqlite/sqlite.js';
import type { Backend } from '../../pkg/storage/types.js';
import { apiBench } from './api.js';
import type { E2eBenchResult } from '../../pkg/controlplane/bench-e2e.js';
import { berthBenchJson } from './berth-json.js';
import { schedulerBench } from './scheduler.js';
import { haveEtcd, startEtcdCluster } from '../../pkg/storage/etcd/testcluster.js';
import { runProvisionerBench } from '../../pkg/karpenter/bench.js';
import { simulateBench, simulateLoadBench } from './simulate.js';
import { sqsBench } from './sqs.js';

const RESULTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/bench/results');

/** Writes, reads and a watch on one store: `n` creates, `n` updates, a full list. */
async function storageBench(name: string, b: Backend, n: number): Promise<Record<string, number | string>> {
  const value = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] } });
  const ac = new AbortController();
  let seen = 0;
  const watching = (async () => {
    for await (const _ of b.watch('/registry/core/pods/', await b.currentRevision(), ac.signal)) if (++seen === 2 * n) break;
  })();
  let t = performance.now();
  for (let i = 0; i < n; i++) await b.create(`/registry/core/pods/default/p${i}`, value);
  const createS = (performance.now() - t) / 1000;
  t = performance.now();
  for (let i = 0; i < n; i++) await b.update(`/registry/core/pods/default/p${i}`, value);
  const updateS = (performance.now() - t) / 1000;
  t = performance.now();
  const list = await b.list('/registry/core/pods/');
  const listS = (performance.now() - t) / 1000;
  await watching;
  ac.abort();
  await b.close();
  return { store: name, objects: n, createsPerSecond: Math.round(n / createS), updatesPerSecond: Math.round(n / updateS), listSeconds: Number(listS.toFixed(4)), listed: list.items.length, watchEvents: seen };
}

/** One `berth bench e2e` in a process of its own, so its `peakRssBytes` is its own (not an earlier run's heap). */
function e2eRun(nodes: number, replicas: number, store: string): E2eBenchResult {
  return berthBenchJson<E2eBenchResult>(['e2e', '--nodes', String(nodes), '--replicas', String(replicas), '--store', store]);
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const n = Number(process.env.BENCH_OBJECTS ?? 20_000);
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const results = [await storageBench('memory', new MemoryBackend({ historyLimit: 4 * n }), n), await storageBench('sqlite', new SqliteBackend({ path: join(dir, 'bench.db') }), n)];
  const out = { benchmark: 'storage', date: new Date().toISOString(), node: process.version, results };
  writeFileSync(join(RESULTS, 'storage.json'), `${JSON.stringify(out, null, 2)}\n`);
  for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
  process.stdout.write(`wrote ${join(RESULTS, 'storage.json')}\n`);

  const api = await apiBench(Number(process.env.BENCH_API_OBJECTS ?? 3000));
  writeFileSync(join(RESULTS, 'api.json'), `${JSON.stringify({ benchmark: 'api', date: new Date().toISOString(), node: process.version, results: [api] }, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(api)}\nwrote ${join(RESULTS, 'api.json')}\n`);

  // The control plane end to end (berth bench e2e), issue 11: at the size (1,000 nodes,
  // 10,000 replicas) on SQLite (target ≥ 5,000 pods/s) and memory; and a three-member etcd on
  // loopback against SQLite at BENCH_E2E_ETCD_NODES/REPLICAS (default 100/1,000; target: etcd
  // within 2× of SQLite), when an `etcd` binary is installed.
  const e2eNodes = Number(process.env.BENCH_E2E_NODES ?? 1000);
  const e2eReplicas = Number(process.env.BENCH_E2E_REPLICAS ?? 10_000);
  const e2e = [e2eRun(e2eNodes, e2eReplicas, 'memory'), e2eRun(e2eNodes, e2eReplicas, 'sqlite')];
  const e2eTargets: { target: string; measured: number; goal: number; met: boolean }[] = [{ target: `sqlite ${e2eNodes} nodes ${e2eReplicas} replicas: pods/s`, measured: e2e[1]!.podsPerSecond, goal: 5000, met: e2e[1]!.podsPerSecond >= 5000 }];
  if (await haveEtcd()) {
    const nodes = Number(process.env.BENCH_E2E_ETCD_NODES ?? 100);
    const replicas = Number(process.env.BENCH_E2E_ETCD_REPLICAS ?? 1000);
    const cluster = await startEtcdCluster(3);
    try {
      const sqlite = e2eRun(nodes, replicas, 'sqlite');
      const etcd = e2eRun(nodes, replicas, cluster.storeSpec);
      e2e.push(sqlite, { ...etcd, store: 'etcd (3 members)' });
      const ratio = sqlite.podsPerSecond / Math.max(1, etcd.podsPerSecond);
      e2eTargets.push({ target: `${nodes} nodes ${replicas} replicas: sqlite / etcd (3 members) pods/s`, measured: Number(ratio.toFixed(3)), goal: 2, met: ratio <= 2 });
    } finally {
      await cluster.stop();
    }
  }
  writeFileSync(join(RESULTS, 'e2e.json'), `${JSON.stringify({ benchmark: 'e2e', date: new Date().toISOString(), node: process.version, targets: e2eTargets, results: e2e }, null, 2)}\n`);
  for (const r of [...e2e, ...e2eTargets]) process.stdout.write(`${JSON.stringify(r)}\n`);
  process.stdout.write(`wrote ${join(RESULTS, 'e2e.json')}\n`);

  // berth simulate: 24 virtual hours of a 1,000-node cluster (target: under a minute of wall time).
  // and a day of traffic at an autoscaled service, replayed in virtual time (issue 7: in seconds).
  const sim = await simulateBench(Number(process.env.BENCH_SIMULATE_HOURS ?? 24));
  const simLoad = await simulateLoadBench(Number(process.env.BENCH_SIMULATE_HOURS ?? 24));
  writeFileSync(join(RESULTS, 'simulate.json'), `${JSON.stringify({ benchmark: 'simulate', date: new Date().toISOString(), node: process.version, results: [sim, simLoad] }, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(sim)}\n${JSON.stringify(simLoad)}\nwrote ${join(RESULTS, 'simulate.json')}\n`);

  // SQS on SQLite: one durable write per send, receive and delete.
  const sqs = await sqsBench(Number(process.env.BENCH_SQS_MESSAGES ?? 20_000));
  writeFileSync(join(RESULTS, 'sqs.json'), `${JSON.stringify({ benchmark: 'sqs', date: new Date().toISOString(), node: process.version, results: [sqs] }, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(sqs)}\nwrote ${join(RESULTS, 'sqs.json')}\n`);

  // The scheduler (issue 4): berth bench scheduler runs, each in its own process, and the targets.
  const sched = schedulerBench();
  writeFileSync(join(RESULTS, 'scheduler.json'), `${JSON.stringify({ benchmark: 'scheduler', date: new Date().toISOString(), node: process.version, targets: sched.targets, figures: sched.figures, results: sched.runs }, null, 2)}\n`);
  for (const x of sched.targets) process.stdout.write(`${JSON.stringify(x)}\n`);
  process.stdout.write(`wrote ${join(RESULTS, 'scheduler.json')}\n`);

  // The provisioner (issue 6): 10,000 pods over 400 types (target ≤ 1 s, ≤ 1.05 × the LP bound), and 200 pods against the MILP optimum.
  const prov = [await runProvisionerBench({ pods: 10_000, instanceTypes: 400, seed: 1 }), await runProvisionerBench({ pods: 200, instanceTypes: 'all', seed: 1 })];
  writeFileSync(join(RESULTS, 'provisioner.json'), `${JSON.stringify({ benchmark: 'provisioner', date: new Date().toISOString(), node: process.version, results: prov }, null, 2)}\n`);
  for (const r of prov) process.stdout.write(`${JSON.stringify(r)}\n`);
  process.stdout.write(`wrote ${join(RESULTS, 'provisioner.json')}\n`);
}

await main();
