/**
 * `berth bench e2e`: the control plane end to end. Starts a server (API over HTTP on loopback,
 * controllers, scheduler, node agent) on the chosen store with N simulated nodes, creates one
 * Deployment of R replicas through the HTTP API, and measures the time until every pod is bound
 * and Running — the Deployment and ReplicaSet controllers, the scheduler and the agent doing their
 * real work through watches.
 *
 * Output (JSON): `nodes`, `replicas`, `store`, `seconds` (Deployment created → all Running),
 * `allCreatedSeconds` and `allBoundSeconds` (→ the last pod seen, → the last pod seen bound),
 * `podsPerSecond` (replicas / seconds), `createToBoundP50Ms`/`createToBoundP99Ms` (per pod: first
 * seen by a watch → `spec.nodeName` seen, wall-clock milliseconds), `writesPerSecond` (store
 * revisions / seconds), `peakRssBytes` (sampled every 50 ms), `timeScale`, and
 * `writesByResource` (the store's successful writes in the measured interval, by resource).
 *
 * Everything runs on the wall clock except the simulated runtime's waits (see `timeScale`), so a
 * node renews its Lease every 10 s and the node lifecycle controller's grace period is 40 s, as on
 * a real cluster. The machine's load changes the figures a lot: compare runs made back to back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject, Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { connect } from '../client/connect.js';
import { RealClock } from '../clock/clock.js';
import { defaultStages } from '../agent/stages.js';
import { loadCatalog, nodeResources } from '../cloud/index.js';
import { silentLogger } from '../runtime/logger.js';
import { openBackend, type Backend } from '../storage/index.js';
import { createControlPlane } from './controlplane.js';

export interface E2eBenchOptions {
  nodes: number;
  replicas: number;
  /** `memory`, `sqlite` (a fresh file in a temporary directory) or `etcd://host:port[,…]`. */
  store: string;
  /** The simulated runtime's waits (image pull and container start 1 s ± 250 ms, stop 0–1 s) are divided by this (default 1000, so container start-up costs no wall time); everything else runs on the wall clock. */
  timeScale?: number;
  /** Instance type the nodes are sized as (default m5.4xlarge: 16 vCPU, 64 GiB, 234 pods). */
  instanceType?: string;
}

export interface E2eBenchResult {
  benchmark: 'e2e';
  store: string;
  nodes: number;
  replicas: number;
  seconds: number;
  /** Deployment created → the last pod seen by the watch (the ReplicaSet controller's share). */
  allCreatedSeconds: number;
  /** Deployment created → the last pod seen bound (the scheduler's share). */
  allBoundSeconds: number;
  podsPerSecond: number;
  createToBoundP50Ms: number;
  createToBoundP99Ms: number;
  writesPerSecond: number;
  peakRssBytes: number;
  timeScale: number;
  /** Writes during the measured interval by resource (`pods`, `events`, `leases`, …), most first. */
  writesByResource: Record<string, number>;
}

/** The store with its successful writes counted by resource (`pods`, `events`, `leases`, …), read by `writesByResource`. */
function countWrites(b: Backend): Backend & { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const count = (key: string): void => {
    // /registry/<group>/<resource>/…
    const r = key.split('/')[3] ?? key;
    counts.set(r, (counts.get(r) ?? 0) + 1);
  };
  const counted = {
    counts,
    create: async (k: string, v: string) => {
      const r = await b.create(k, v);
      count(k);
      return r;
    },
    update: async (k: string, v: string, e?: number) => {
      const r = await b.update(k, v, e);
      count(k);
      return r;
    },
    delete: async (k: string, e?: number) => {
      const r = await b.delete(k, e);
      count(k);
      return r;
    },
  };
  // Everything else goes to the store itself, bound to it.
  const wrapped = new Proxy(b, {
    get: (target, prop) => {
      if (prop in counted) return counted[prop as keyof typeof counted];
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Backend & { counts: Map<string, number> };
  return wrapped;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs the benchmark once. Throws if the pods are not all Running within 10 minutes. */
export async function benchE2e(o: E2eBenchOptions): Promise<E2eBenchResult> {
  const timeScale = o.timeScale ?? 1000;
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-e2e-'));
  const storeName = o.store === 'sqlite' ? 'sqlite' : o.store;
  const backend = countWrites(openBackend(o.store, dir, o.store.startsWith('etcd://') ? { etcdPrefix: `/bench-${Date.now()}` } : {}));
  // The control plane runs on the wall clock, so node heartbeats (Lease every 10 s), node status
  // reports and the node lifecycle controller's 40 s grace period cost what they cost on a real
  // cluster. Only the simulated runtime's waits (image pull and container start, 1 s ± 250 ms;
  // stop, 0–1 s) are divided by `timeScale`. Scaling the whole clock instead made 1,000 nodes
  // renew 100,000 Leases a second and let any 40 ms stall mark every node NotReady and evict its pods.
  const clock = new RealClock();
  const stages = defaultStages({ start: { ms: 1000 / timeScale, jitterMs: 250 / timeScale }, stop: { ms: 500 / timeScale, jitterMs: 500 / timeScale } });
  // A kubelet syncs each of its pods in its own worker; the agent plays every node's kubelet, so
  // it gets a worker per node (its default of 16 for the whole fleet made pod start-up, not the
  // control plane, the bottleneck: each worker waits for its status write to commit).
  const workers = Math.max(16, o.nodes);
  // Only the parts this benchmark measures: workload controllers, scheduler, node agent.
  const cp = await createControlPlane({ backend, clock, log: silentLogger(), components: ['controllers', 'scheduler', 'agent'], agent: { stages, workers } });
  const app = cp.api.http({ ready: cp.ready });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  await cp.start();
  const client = connect({ server: url });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  try {
    const info = loadCatalog().get(o.instanceType ?? 'm5.4xlarge');
    if (!info) throw new Error(`unknown instance type ${o.instanceType}`);
    const { capacity, allocatable } = nodeResources(info);
    const names = Array.from({ length: o.nodes }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
    // Each node its own /24 of 10.64.0.0/10, so clusters beyond 256 nodes fit.
    const cidr = (i: number) => `10.${64 + (i >> 8)}.${i & 255}.0/24`;
    for (let i = 0; i < names.length; i += 64) {
      await Promise.all(
        names.slice(i, i + 64).map((name, j) =>
          client.create({
            apiVersion: 'v1',
            kind: 'Node',
            metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'node.kubernetes.io/instance-type': info.name } },
            spec: { podCIDR: cidr(i + j), podCIDRs: [cidr(i + j)] },
            status: { capacity, allocatable },
          } as KubeObject),
        ),
      );
    }
    const readyNodes = async () => (await client.list(Kinds.Node)).items.filter((n) => (n.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    for (let waited = 0; (await readyNodes()) < o.nodes; waited += 100) {
      if (waited > 120_000) throw new Error('nodes did not become Ready in 2 minutes');
      await new Promise((r) => setTimeout(r, 100));
    }

    const seen = new Map<string, number>();
    const bound = new Map<string, number>();
    const running = new Set<string>();
    const ac = new AbortController();
    let allRunning!: () => void;
    const done = new Promise<void>((r) => (allRunning = r));
    const startRevision = await backend.currentRevision();
    backend.counts.clear();
    const events = await client.watch(Kinds.Pod, { namespace: 'default', labelSelector: 'app=bench' }, ac.signal);
    const watching = (async () => {
      for await (const ev of events) {
        if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') continue;
        const pod = ev.object as Pod;
        const name = pod.metadata.name!;
        const now = performance.now();
        if (!seen.has(name)) seen.set(name, now);
        if (pod.spec?.nodeName && !bound.has(name)) bound.set(name, now);
        if (pod.status?.phase === 'Running') running.add(name);
        if (running.size >= o.replicas) allRunning();
      }
    })().catch(() => undefined);

    const t0 = performance.now();
    await client.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'bench', namespace: 'default' },
      spec: {
        replicas: o.replicas,
        selector: { matchLabels: { app: 'bench' } },
        template: { metadata: { labels: { app: 'bench' } }, spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } },
      },
    } as KubeObject);
    const timeout = setTimeout(() => allRunning(), 600_000);
    await done;
    clearTimeout(timeout);
    const seconds = (performance.now() - t0) / 1000;
    if (running.size < o.replicas) throw new Error(`only ${running.size} of ${o.replicas} pods Running after 10 minutes`);
    const writes = (await backend.currentRevision()) - startRevision;
    ac.abort();
    await watching;
    const latencies = [...bound].map(([n, t]) => t - seen.get(n)!).sort((a, b) => a - b);
    const last = (m: Map<string, number>): number => Number(((Math.max(...m.values()) - t0) / 1000).toFixed(3));
    return {
      benchmark: 'e2e',
      store: storeName,
      nodes: o.nodes,
      replicas: o.replicas,
      seconds: Number(seconds.toFixed(3)),
      allCreatedSeconds: last(seen),
      allBoundSeconds: last(bound),
      podsPerSecond: Math.round(o.replicas / seconds),
      createToBoundP50Ms: Number(percentile(latencies, 50).toFixed(1)),
      createToBoundP99Ms: Number(percentile(latencies, 99).toFixed(1)),
      writesPerSecond: Math.round(writes / seconds),
      peakRssBytes: peakRss,
      timeScale,
      writesByResource: Object.fromEntries([...backend.counts].sort((a, b) => b[1] - a[1])),
    };
  } finally {
    clearInterval(sampler);
    await app.close();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `berth bench e2e` flags → one run → JSON on stdout (and `--json FILE`). Throws RangeError for bad flags. */
export async function runBenchE2e(io: { out: (s: string) => void }, o: Record<string, string | undefined>): Promise<E2eBenchResult> {
  const nodes = Number(o.nodes ?? '1000');
  const replicas = Number(o.replicas ?? '10000');
  if (!Number.isInteger(nodes) || nodes < 1) throw new RangeError(`invalid --nodes "${o.nodes}": a positive integer`);
  if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`invalid --replicas "${o.replicas}": a positive integer`);
  const store = o.store ?? 'sqlite';
  if (!['memory', 'sqlite'].includes(store) && !store.startsWith('etcd://')) throw new RangeError(`invalid --store "${store}": memory, sqlite or etcd://host:port[,…]`);
  const result = await benchE2e({ nodes, replicas, store, ...(o.timeScale ? { timeScale: Number(o.timeScale) } : {}) });
  const json = JSON.stringify(result, null, 2);
  io.out(json + '\n');
  if (o.json) writeFileSync(o.json, json + '\n');
  return result;
}
