/**
 * Durability: a server killed with SIGKILL right after acknowledging an apply comes back on the
 * same data dir with every object; a clean SIGTERM stop and restart keeps the resourceVersion
 * moving forward.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startServer } from './harness.js';

const MANY = Array.from({ length: 20 }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-${i}}\ndata: {n: "${i}"}\n`).join('---\n');

t.test('SIGKILL right after an acknowledged apply loses nothing', async (t) => {
  const a = await startServer({ store: 'sqlite' });
  const file = join(a.dataDir, 'many.yaml');
  writeFileSync(file, MANY);
  const applied = a.kubectl(['apply', '-f', file]);
  t.equal(applied.code, 0, applied.stderr);
  t.equal(applied.stdout.trim().split('\n').length, 20);
  const ns = a.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n' });
  t.equal(ns.code, 0, ns.stderr);
  const rvBefore = Number(JSON.parse(a.kubectl(['get', 'configmap', 'cm-19', '-o', 'json']).stdout).metadata.resourceVersion);
  t.equal(await a.stop('SIGKILL'), null, 'killed');

  const b = await startServer({ store: 'sqlite', dataDir: a.dataDir });
  t.teardown(() => b.stop());
  const names = b.kubectl(['get', 'configmaps', '-o', 'name']).stdout.trim().split('\n');
  for (let i = 0; i < 20; i++) t.ok(names.includes(`configmap/cm-${i}`), `cm-${i} survived`);
  t.equal(b.kubectl(['get', 'namespace', 'team-a', '-o', 'name']).stdout.trim(), 'namespace/team-a');
  const again = b.kubectl(['apply', '-f', file]);
  t.match(again.stdout, /configmap\/cm-0 unchanged/, 'the last-applied state survived too');
  b.kubectl(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after}\n' });
  const rvAfter = Number(JSON.parse(b.kubectl(['get', 'configmap', 'after', '-o', 'json']).stdout).metadata.resourceVersion);
  t.ok(rvAfter > rvBefore, `resourceVersion moves forward across the restart (${rvBefore} → ${rvAfter})`);
});

t.test('SIGTERM stops cleanly and a second server refuses a data dir in use', async (t) => {
  const a = await startServer({ store: 'sqlite' });
  const clash = await startServer({ store: 'sqlite', dataDir: a.dataDir }).then(
    () => 'started',
    (e: Error) => e.message,
  );
  t.match(clash, /another berth server \(pid \d+\) is using/);
  t.equal(await a.stop('SIGTERM'), 0, 'exit code 0');
  const b = await startServer({ store: 'sqlite', dataDir: a.dataDir });
  t.equal(await b.stop('SIGINT'), 0);
});
