/**
 * The shared contract every Backend must pass. A store's test file calls
 * `backendContract(t, open)` where `open()` returns a fresh, empty backend.
 */
import type { Test } from 'tap';
import { RevisionMismatchError, type Backend, type StorageEvent } from './types.js';

/** Reads `n` events from a watch, or fails after `ms`. */
export async function take(it: AsyncIterable<StorageEvent>, n: number, ms = 2000): Promise<StorageEvent[]> {
  const out: StorageEvent[] = [];
  const iter = it[Symbol.asyncIterator]();
  const deadline = Date.now() + ms;
  while (out.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`watch gave ${out.length} of ${n} events`);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      iter.next(),
      new Promise<'timeout'>((res) => {
        timer = setTimeout(() => res('timeout'), left);
      }),
    ]);
    clearTimeout(timer);
    if (r === 'timeout') throw new Error(`watch gave ${out.length} of ${n} events`);
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/** Options the contract passes when it needs a small compaction window. */
export interface OpenOptions {
  historyLimit?: number;
}

export function backendContract(t: Test, open: (opts?: OpenOptions) => Backend | Promise<Backend>): void {
  t.test('create, get, revisions increase by one per write', async (t) => {
    const b = await open();
    const r0 = await b.currentRevision();
    const a = await b.create('/registry/core/pods/default/a', '{"a":1}');
    t.equal(a.revision, r0 + 1);
    t.equal(a.createRevision, a.revision);
    const got = await b.get('/registry/core/pods/default/a');
    t.same(got, a);
    t.equal(await b.get('/registry/core/pods/default/zzz'), undefined);
    await t.rejects(b.create('/registry/core/pods/default/a', '{}'), { code: 'KeyExists' });
    t.equal(await b.currentRevision(), r0 + 1, 'a failed create does not move the revision');
    await b.close();
  });

  t.test('update with compare-and-swap', async (t) => {
    const b = await open();
    const a = await b.create('/k/a', 'v1');
    const u = await b.update('/k/a', 'v2', a.revision);
    t.equal(u.revision, a.revision + 1);
    t.equal(u.createRevision, a.revision);
    t.equal((await b.get('/k/a'))!.value, 'v2');
    const err = await b.update('/k/a', 'v3', a.revision).catch((e: unknown) => e);
    t.ok(err instanceof RevisionMismatchError);
    t.equal((err as RevisionMismatchError).actual, u.revision);
    await t.rejects(b.update('/k/missing', 'x'), { code: 'KeyNotFound' });
    const uncond = await b.update('/k/a', 'v4');
    t.equal(uncond.value, 'v4');
    await b.close();
  });

  t.test('delete returns the last value at the delete revision', async (t) => {
    const b = await open();
    const a = await b.create('/k/a', 'v1');
    await t.rejects(b.delete('/k/a', a.revision + 5), { code: 'RevisionMismatch' });
    const d = await b.delete('/k/a', a.revision);
    t.equal(d.value, 'v1');
    t.equal(d.revision, a.revision + 1);
    t.equal(await b.get('/k/a'), undefined);
    await t.rejects(b.delete('/k/a'), { code: 'KeyNotFound' });
    await b.close();
  });

  t.test('list by prefix, in key order, with limit and continue', async (t) => {
    const b = await open();
    for (const k of ['c', 'a', 'e', 'b', 'd']) await b.create(`/registry/core/pods/ns1/${k}`, k);
    await b.create('/registry/core/pods/ns2/x', 'x');
    await b.create('/registry/core/podsx/ns1/y', 'y');
    const all = await b.list('/registry/core/pods/ns1/');
    t.same(
      all.items.map((i) => i.value),
      ['a', 'b', 'c', 'd', 'e'],
    );
    t.equal(all.more, false);
    t.equal(all.revision, await b.currentRevision());
    t.equal(await b.count('/registry/core/pods/'), 6);
    const p1 = await b.list('/registry/core/pods/', { limit: 4 });
    t.same(
      p1.items.map((i) => i.value),
      ['a', 'b', 'c', 'd'],
    );
    t.equal(p1.more, true);
    const p2 = await b.list('/registry/core/pods/', { limit: 4, startAfter: p1.items.at(-1)!.key });
    t.same(
      p2.items.map((i) => i.value),
      ['e', 'x'],
    );
    t.equal(p2.more, false);
    await b.close();
  });

  t.test('watch from a revision replays, then streams live, filtered by prefix', async (t) => {
    const b = await open();
    const a = await b.create('/w/a', '1');
    await b.update('/w/a', '2');
    await b.create('/other/x', 'x');
    const ac = new AbortController();
    const events = b.watch('/w/', a.revision - 1, ac.signal);
    await b.delete('/w/a');
    await b.create('/w/b', '3');
    const got = await take(events, 4);
    ac.abort();
    t.same(
      got.map((e) => [e.type, e.key, e.value]),
      [
        ['create', '/w/a', '1'],
        ['update', '/w/a', '2'],
        ['delete', '/w/a', '2'],
        ['create', '/w/b', '3'],
      ],
    );
    t.equal(got[1]!.prevValue, '1');
    for (let i = 1; i < got.length; i++) t.ok(got[i]!.revision > got[i - 1]!.revision, 'revisions increase');
    await b.close();
  });

  t.test('a watch from the current revision sees only later writes', async (t) => {
    const b = await open();
    await b.create('/w/a', '1');
    const ac = new AbortController();
    const events = b.watch('/w/', await b.currentRevision(), ac.signal);
    await b.create('/w/b', '2');
    const got = await take(events, 1);
    ac.abort();
    t.same(
      got.map((e) => e.key),
      ['/w/b'],
    );
    await b.close();
  });

  t.test('aborting a watch ends its iteration', async (t) => {
    const b = await open();
    const ac = new AbortController();
    const events = b.watch('/w/', await b.currentRevision(), ac.signal);
    setTimeout(() => ac.abort(), 20);
    const seen: StorageEvent[] = [];
    for await (const e of events) seen.push(e);
    t.same(seen, []);
    await b.close();
  });

  t.test('many concurrent writers keep unique, gapless revisions', async (t) => {
    const b = await open();
    const start = await b.currentRevision();
    const writes = [];
    for (let i = 0; i < 200; i++) writes.push(b.create(`/c/${String(i).padStart(4, '0')}`, String(i)));
    const results = await Promise.all(writes);
    const revs = results.map((r) => r.revision).sort((x, y) => x - y);
    t.same(
      revs,
      Array.from({ length: 200 }, (_, i) => start + 1 + i),
    );
    await b.close();
  });

  t.test('a watch older than the compaction window throws CompactedError', async (t) => {
    const b = await open({ historyLimit: 10 });
    for (let i = 0; i < 60; i++) await b.create(`/h/${i}`, String(i));
    const compacted = await b.compactedRevision();
    t.ok(compacted > 0, 'the store compacted old revisions');
    t.throws(() => b.watch('/h/', 1, new AbortController().signal), { code: 'Compacted' });
    const ac = new AbortController();
    const recent = b.watch('/h/', (await b.currentRevision()) - 3, ac.signal);
    const got = await take(recent, 3);
    ac.abort();
    t.same(
      got.map((e) => e.value),
      ['57', '58', '59'],
    );
    await b.close();
  });
}
