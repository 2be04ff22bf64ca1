/**
 * The watch protocol as Kubernetes clients rely on it
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes),
 * over real HTTP on a loopback port: the response headers go out before any event (Go clients
 * wait for them: `kubectl rollout status` would hang until the next change), `timeoutSeconds`
 * ends the stream, a resourceVersion older than the kept history gets an `ERROR` event with a
 * 410 Expired Status (and the stream ends), a Table watch sends one-row Tables (`kubectl get -w`),
 * and BOOKMARK events come only to a watch that asked for them.
 */
import t, { type Test } from 'tap';
import type { KubeObject, WatchEvent } from '../api/types.js';
import { VirtualClock } from '../clock/clock.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import { createApiServer } from './index.js';

const CM = '/api/v1/namespaces/default/configmaps';
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

async function setup(t: Test) {
  const clock = new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
  // A short history, so a few writes compact an old resourceVersion away.
  const api = await createApiServer({ backend: new MemoryBackend({ historyLimit: 5 }), clock });
  const app = api.http();
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const cms = api.registry.get('', 'v1', 'configmaps')!;
  const put = (name: string, data: Record<string, string> = {}) => api.store.create(cms, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data } as KubeObject);
  const listRv = async (): Promise<string> => ((await (await fetch(`${url}${CM}`)).json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  return { api, url, cms, put, listRv };
}

/** Reads newline-delimited watch events from a response body as they arrive. */
async function* events(res: Response): AsyncGenerator<{ type: string; object: Record<string, unknown> }> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) yield JSON.parse(line) as { type: string; object: Record<string, unknown> };
    }
  }
}

/** Rejects after `ms` of real time (generous: a guard against a hang, not a timing assertion). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

t.test('the headers of a watch go out at once, before any event', async (t) => {
  const s = await setup(t);
  await s.put('a');
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  // Nothing changes after this resourceVersion: only flushed headers let fetch resolve.
  const res = await within(fetch(`${s.url}${CM}?watch=true&resourceVersion=${await s.listRv()}`, { signal: ac.signal }), 20_000, 'the watch response headers');
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^application\/json/);
  const it = events(res);
  await s.put('b');
  const first = await within(it.next(), 20_000, 'the first event');
  t.match(first.value, { type: 'ADDED', object: { kind: 'ConfigMap', metadata: { name: 'b' } } });
});

t.test('timeoutSeconds ends the stream; a watch from the list resourceVersion sees only later changes', async (t) => {
  const s = await setup(t);
  await s.put('a');
  const rv = await s.listRv();
  await s.put('b');
  await s.api.store.patch(s.cms, 'default', 'a', 'merge', { data: { v: '2' } });
  await s.api.store.delete(s.cms, 'default', 'b');
  const res = await fetch(`${s.url}${CM}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
  const seen: string[] = [];
  for await (const ev of events(res)) seen.push(`${ev.type} ${(ev.object.metadata as { name: string }).name}`);
  t.same(seen, ['ADDED b', 'MODIFIED a', 'DELETED b'], 'the stream ended by itself after replaying the changes');
});

t.test('a compacted resourceVersion: 200, one ERROR event with a 410 Expired Status, then the end', async (t) => {
  const s = await setup(t);
  await s.put('a');
  const old = await s.listRv();
  for (let i = 0; i < 10; i++) await s.api.store.patch(s.cms, 'default', 'a', 'merge', { data: { i: String(i) } });
  const res = await within(fetch(`${s.url}${CM}?watch=true&resourceVersion=${old}`), 20_000, 'the expired watch');
  t.equal(res.status, 200, 'the error travels in the stream, as Kubernetes sends it');
  const all: { type: string; object: Record<string, unknown> }[] = [];
  for await (const ev of events(res)) all.push(ev);
  t.match(all, [{ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', message: /too old resource version/ } }]);
  t.equal(all.length, 1, 'nothing after the error');
  // The list's own resourceVersion is never expired: resuming from it works (no re-list loop).
  const fresh = await s.listRv();
  const again = await fetch(`${s.url}${CM}?watch=true&resourceVersion=${fresh}&timeoutSeconds=1`);
  const types: string[] = [];
  for await (const ev of events(again)) types.push(ev.type);
  t.same(types, [], 'a watch from a fresh list is accepted and ends only at its timeout');
});

t.test('a Table watch (kubectl get -w) sends one-row Tables with the object metadata', async (t) => {
  const s = await setup(t);
  const rv = await s.listRv();
  const res = await fetch(`${s.url}${CM}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`, { headers: { accept: TABLE_ACCEPT } });
  await s.put('w', { k: 'v' });
  const all: { type: string; object: Record<string, unknown> }[] = [];
  for await (const ev of events(res)) all.push(ev);
  t.equal(all.length, 1);
  const table = all[0]!.object as { kind: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[]; object: { kind: string; metadata: { name: string } } }[] };
  t.equal(all[0]!.type, 'ADDED');
  t.equal(table.kind, 'Table');
  t.same(table.columnDefinitions.map((c) => c.name), ['Name', 'Data', 'Age']);
  t.equal(table.rows.length, 1);
  t.match(table.rows[0], { cells: ['w', 1], object: { kind: 'PartialObjectMetadata', metadata: { name: 'w' } } });
});

t.test('BOOKMARK events only when asked for, carrying the latest resourceVersion', async (t) => {
  const s = await setup(t);
  await s.put('a');
  const watchFor = async (allowWatchBookmarks: boolean, name: string): Promise<WatchEvent[]> => {
    const ac = new AbortController();
    const stream = await s.api.store.watch(s.cms, 'default', { resourceVersion: await s.listRv(), allowWatchBookmarks, bookmarkIntervalMs: 20 }, ac.signal);
    const got: WatchEvent[] = [];
    const reading = (async () => {
      for await (const ev of stream) got.push(ev);
    })();
    await s.put(name);
    // Several bookmark intervals of real time.
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    await s.put(`${name}-after`); // wakes a reader waiting on the store so it sees the abort
    await reading.catch(() => undefined);
    return got;
  };
  const without = await watchFor(false, 'b');
  t.same(without.map((e) => e.type).filter((x) => x !== 'ADDED'), [], 'no BOOKMARK without allowWatchBookmarks');
  const withBm = await watchFor(true, 'c');
  const bookmarks = withBm.filter((e) => e.type === 'BOOKMARK');
  t.ok(bookmarks.length >= 1, `bookmarks arrive (${bookmarks.length})`);
  const addedB = withBm.find((e) => e.type === 'ADDED' && e.object.metadata.name === 'c')!;
  t.match(bookmarks.at(-1)!.object, { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: addedB.object.metadata.resourceVersion } }, 'the bookmark names the last event seen');
  t.notOk(bookmarks.at(-1)!.object.metadata.name, 'a bookmark carries only the resourceVersion');
});
