import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendContract } from './contract.js';
import { MemoryBackend, SqliteBackend, openBackend } from './index.js';

t.test('memory backend', async (t) => {
  backendContract(t, (o) => new MemoryBackend(o));
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

t.test('openBackend names its stores', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-open-'));
  const m = openBackend('memory', dir);
  t.equal(m.kind, 'memory');
  const s = openBackend('sqlite', dir);
  t.equal(s.kind, 'sqlite');
  await s.close();
  t.throws(() => openBackend('postgres://x', dir), { code: 'UnknownStore' });
});
