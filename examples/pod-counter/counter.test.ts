/**
 * The README's SDK example is this folder's counter.ts, word for word (so it compiles with the
 * project), and it works: run as its own process with `KUBECONFIG` pointing at a berth control
 * plane served over HTTP, it logs the number of pods each ReplicaSet owns as they change.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createControlPlane, MemoryBackend, RealClock } from 'berth';
import { renderKubeconfig } from '../../pkg/client/kubeconfig.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

t.test("the README's SDK example is examples/pod-counter/counter.ts", async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Writing controllers: the SDK'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  t.equal(block, readFileSync(join(ROOT, 'examples/pod-counter/counter.ts'), 'utf8'));
});

t.test('the counter, as its own process, counts the pods of each ReplicaSet', async (t) => {
  const cp = await createControlPlane({ backend: new MemoryBackend(), clock: new RealClock(), components: ['controllers'] });
  await cp.start();
  const app = cp.api.http();
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const dir = mkdtempSync(join(tmpdir(), 'berth-counter-'));
  writeFileSync(join(dir, 'kubeconfig'), renderKubeconfig(url));
  const child = spawn(process.execPath, [join(ROOT, 'dist/examples/pod-counter/counter.js')], { env: { ...process.env, NODE_OPTIONS: '', KUBECONFIG: join(dir, 'kubeconfig') }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await app.close();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The last count the counter logged for `key`. */
  const counted = (key: string): number | undefined => {
    let n: number | undefined;
    for (const line of log.split('\n')) {
      if (!line.startsWith('{')) continue;
      const r = JSON.parse(line) as { msg?: string; key?: string; pods?: number };
      if (r.msg === 'counted' && r.key === key) n = r.pods;
    }
    return n;
  };
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!ok()) {
      if (child.exitCode !== null) throw new Error(`the counter exited with ${child.exitCode}: ${log}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the counter logged:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const rs = (replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  });
  await cp.client.create(rs(2));
  await until('2 pods counted', () => counted('default/web') === 2);
  await cp.client.patch({ apiVersion: 'apps/v1', kind: 'ReplicaSet' }, 'web', 'default', 'merge', { spec: { replicas: 3 } });
  await until('3 pods counted after scaling', () => counted('default/web') === 3);
  t.equal(counted('default/web'), 3);
  t.match(log, /"msg":"counted"/, 'JSON log lines on stderr');
  // It held the Lease while it ran.
  const lease = await cp.client.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' }, 'counter', 'default');
  t.ok((lease.spec as { holderIdentity?: string }).holderIdentity, 'the counter holds the counter Lease');
});
