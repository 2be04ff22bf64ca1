import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendContract, take } from './contract.js';
import { EtcdBackend, MemoryBackend, SqliteBackend, openBackend } from './index.js';
import { haveEtcd, startEtcdCluster } from './etcd/testcluster.js';

t.test('memory backend', async (t) => {
  backendContract(t, (o) => new MemoryBackend(o));
});

t.test('memory backend with group commit', async (t) => {
  backendContract(t, (o) => new MemoryBackend({ ...o, groupCommit: true }));
});

t.test('sqlite backend', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-sqlite-'));
  let n = 0;
  backendContract(t, (o) => new SqliteBackend({ path: join(dir, `s${n++}.db`), ...o }));
});

t.test('sqlite keeps everything across a reopen, revision included', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-sqlite-'));
  const path = join(dir, 'state.db');
  const a = new SqliteBackend({ path });
  await a.create('/k/a', '1');
  await a.create('/k/b', '2');
  await a.delete('/k/a');
  const rev = await a.currentRevision();
  await a.close();
  const b = new SqliteBackend({ path });
  t.equal(await b.currentRevision(), rev);
  t.same(
    (await b.list('/k/')).items.map((i) => i.value),
    ['2'],
  );
  const next = await b.create('/k/c', '3');
  t.equal(next.revision, rev + 1);
  await b.close();
});


t.test('sqlite group commit: writes of one turn share a commit, each fails alone, nothing is seen before it is durable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-sqlite-'));
  const path = join(dir, 'state.db');
  const a = new SqliteBackend({ path });
  t.teardown(() => a.close());
  const b0 = await a.create('/k/b', '0');
  const before = await a.currentRevision();
  const ac = new AbortController();
  const seen: number[] = [];
  const watching = (async () => {
    for await (const ev of a.watch('/k/', before, ac.signal)) if (seen.push(ev.revision) === 2) return;
  })();
  // Issued in one turn: they share one transaction.
  const writes = Promise.allSettled([a.create('/k/a', '1'), a.create('/k/a', 'again'), a.update('/k/b', '1', b0.revision + 99), a.create('/k/c', '1')]);
  // Not committed yet: the revision readers see has not moved, and a read waits for the commit.
  t.equal(await a.currentRevision(), before);
  t.equal(seen.length, 0, 'no watch event before the commit');
  const read = await a.get('/k/c');
  t.equal(read?.value, '1', 'a read issued during the batch sees it once committed');
  const [ok1, dup, stale, ok2] = await writes;
  t.equal(ok1.status, 'fulfilled');
  t.match(dup, { status: 'rejected', reason: { code: 'KeyExists' } });
  t.match(stale, { status: 'rejected', reason: { code: 'RevisionMismatch' } });
  t.equal(ok2.status, 'fulfilled');
  const revs = [ok1, ok2].map((r) => (r as PromiseFulfilledResult<{ revision: number }>).value.revision);
  t.same(revs, [before + 1, before + 2], 'the failed writes took no revision');
  await watching;
  ac.abort();
  t.same(seen, revs, 'watchers get the batch in order after the commit');
  // A resolved write is on disk: another connection to the file sees it.
  const other = new SqliteBackend({ path });
  t.same((await other.list('/k/')).items.map((i) => `${i.key}=${i.value}`), ['/k/a=1', '/k/b=0', '/k/c=1']);
  t.equal(await other.currentRevision(), before + 2);
  await other.close();
});
t.test('openBackend names its stores', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-open-'));
  const m = openBackend('memory', dir);
  t.equal(m.kind, 'memory');
  const s = openBackend('sqlite', dir);
  t.equal(s.kind, 'sqlite');
  await s.close();
  t.throws(() => openBackend('postgres://x', dir), { code: 'UnknownStore' });
});

t.test('etcd backend on a real three-member cluster', async (t) => {
  if (!(await haveEtcd())) {
    t.fail('etcd is not installed: apt-get install -y etcd-server (.ci/run does)');
    return;
  }
  const cluster = await startEtcdCluster(3);
  t.teardown(() => cluster.stop());
  let n = 0;
  backendContract(t, (o) => new EtcdBackend({ endpoints: cluster.endpoints, prefix: `/contract-${n++}`, ...o }));

  t.test('two backends on one cluster see each other’s writes through watches', async (t) => {
    const a = new EtcdBackend({ endpoints: [cluster.endpoints[0]!], prefix: '/shared' });
    const b = new EtcdBackend({ endpoints: [cluster.endpoints[1]!], prefix: '/shared' });
    const ac = new AbortController();
    const events = b.watch('/registry/', await b.currentRevision(), ac.signal);
    const made = await a.create('/registry/core/pods/default/x', '{"x":1}');
    const got = await take(events, 1);
    ac.abort();
    t.same(got.map((e) => [e.type, e.key, e.revision]), [['create', '/registry/core/pods/default/x', made.revision]]);
    t.same((await b.get('/registry/core/pods/default/x'))?.value, '{"x":1}');
    await a.close();
    await b.close();
  });

  t.test('openBackend parses etcd:// and the prefix keeps clusters apart', async (t) => {
    const spec = cluster.endpoints.map((e) => e.replace('http://', '')).join(',');
    const one = openBackend(`etcd://${spec}`, '/nonexistent', { etcdPrefix: '/one' });
    const two = openBackend(`etcd://${spec}`, '/nonexistent', { etcdPrefix: '/two' });
    t.equal(one.kind, 'etcd');
    await one.create('/registry/k', 'a');
    t.equal(await two.get('/registry/k'), undefined);
    t.equal(await two.count('/registry/'), 0);
    t.throws(() => openBackend('etcd://', '/x'), { code: 'UnknownStore' });
    t.throws(() => openBackend('etcd://host', '/x'), { code: 'UnknownStore' });
    await one.close();
    await two.close();
  });

  t.test('killing one member of three keeps the store writable', async (t) => {
    const b = new EtcdBackend({ endpoints: cluster.endpoints, prefix: '/quorum' });
    await b.create('/k/1-before', '1');
    await cluster.kill(2);
    const after = await b.create('/k/2-after', '2');
    t.ok(after.revision > 0);
    t.same((await b.list('/k/')).items.map((i) => i.value), ['1', '2']);
    await b.close();
  });
});
