/**
 * The API server through HTTP, as kubectl and client libraries drive it: creates, strategic merge
 * patches, server-side applies and paged lists of Pods on the memory store, with `concurrency`
 * requests in flight. Requests carry a kubectl User-Agent, so field management is on.
 */
import { Pool } from 'undici';
import { createApiServer } from '../../pkg/apiserver/index.js';
import { RealClock } from '../../pkg/clock/clock.js';
import { MemoryBackend } from '../../pkg/storage/memory/memory.js';

const UA = 'kubectl/v1.33.0 (linux/amd64) kubernetes/bench';

function pod(i: number): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p${i}`, labels: { app: 'web', tier: 'front' } },
    spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }], resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
  };
}

async function inParallel(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i);
    }),
  );
  return (performance.now() - t) / 1000;
}

/** Runs the benchmark; returns its figures (per second, and seconds for a full paged list). */
export async function apiBench(n: number, concurrency = 16): Promise<Record<string, number | string>> {
  const api = await createApiServer({ backend: new MemoryBackend({ historyLimit: 8 * n }), clock: new RealClock() });
  const app = api.http();
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const pool = new Pool(url, { connections: concurrency });
  const call = async (method: string, path: string, body: unknown, contentType = 'application/json'): Promise<void> => {
    const res = await pool.request({ method: method as 'POST', path, headers: { 'content-type': contentType, 'user-agent': UA, accept: 'application/json' }, body: JSON.stringify(body) });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
  };
  try {
    const base = '/api/v1/namespaces/default/pods';
    const createS = await inParallel(n, concurrency, (i) => call('POST', `${base}?fieldManager=kubectl-create`, pod(i)));
    const patchS = await inParallel(n, concurrency, (i) => call('PATCH', `${base}/p${i}`, { metadata: { labels: { rev: '2' } } }, 'application/strategic-merge-patch+json'));
    const applyS = await inParallel(n, concurrency, (i) => call('PATCH', `${base}/p${i}?fieldManager=bench&force=true`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, annotations: { applied: 'yes' } } }, 'application/apply-patch+yaml'));
    let t = performance.now();
    let pages = 0;
    let items = 0;
    for (let cont = ''; ; ) {
      const res = await pool.request({ method: 'GET', path: `/api/v1/pods?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`, headers: { 'user-agent': UA } });
      const list = (await res.body.json()) as { items: unknown[]; metadata: { continue?: string } };
      pages++;
      items += list.items.length;
      if (!list.metadata.continue) break;
      cont = list.metadata.continue;
    }
    const listS = (performance.now() - t) / 1000;
    t = performance.now();
    const tres = await pool.request({ method: 'GET', path: '/api/v1/pods', headers: { 'user-agent': UA, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
    await tres.body.text();
    const tableS = (performance.now() - t) / 1000;
    return {
      objects: n,
      concurrency,
      createsPerSecond: Math.round(n / createS),
      strategicPatchesPerSecond: Math.round(n / patchS),
      appliesPerSecond: Math.round(n / applyS),
      pagedListSeconds: Number(listS.toFixed(4)),
      listedItems: items,
      pages,
      tableListSeconds: Number(tableS.toFixed(4)),
    };
  } finally {
    await pool.close();
    await app.close();
  }
}
