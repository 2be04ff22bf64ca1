import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A local etcd cluster of real `etcd` processes on loopback ports, for tests. */
export interface EtcdTestCluster {
  /** Client URLs, one per member, e.g. `http://127.0.0.1:40123`. */
  endpoints: string[];
  /** `etcd://127.0.0.1:p1,127.0.0.1:p2,…`: the `--store` value for `berth server`. */
  storeSpec: string;
  /** Kills member `i` (SIGKILL) and waits for it to exit. */
  kill(i: number): Promise<void>;
  /** Kills every member and removes the data directories. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a small window before etcd binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** True when an `etcd` binary is on the PATH (Debian's etcd-server package installs it). */
export async function haveEtcd(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('etcd', ['--version'], { stdio: 'ignore' });
    p.once('error', () => resolve(false));
    p.once('exit', (code) => resolve(code === 0));
  });
}

/**
 * Starts an etcd cluster of `members` members (3 by default) on loopback, as in etcd's
 * clustering guide (https://etcd.io/docs/v3.4/op-guide/clustering/#static), and waits until every
 * member answers `/health`. Throws if `etcd` is missing or the cluster is not healthy in 20 s.
 */
export async function startEtcdCluster(members = 3): Promise<EtcdTestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-etcd-'));
  const ports: { client: number; peer: number }[] = [];
  for (let i = 0; i < members; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const initialCluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
  const procs: ChildProcess[] = ports.map((p, i) =>
    spawn(
      'etcd',
      [
        '--name', `m${i}`,
        '--data-dir', join(dir, `m${i}`),
        '--listen-client-urls', `http://127.0.0.1:${p.client}`,
        '--advertise-client-urls', `http://127.0.0.1:${p.client}`,
        '--listen-peer-urls', `http://127.0.0.1:${p.peer}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${p.peer}`,
        '--initial-cluster', initialCluster,
        '--initial-cluster-token', `berth-test-${process.pid}`,
        '--initial-cluster-state', 'new',
        '--log-level', 'error',
        '--logger', 'zap',
        '--heartbeat-interval', '50',
        '--election-timeout', '500',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  const stderr: string[] = procs.map(() => '');
  procs.forEach((p, i) => p.stderr?.on('data', (d: Buffer) => (stderr[i] = (stderr[i]! + d.toString()).slice(-4000))));
  const endpoints = ports.map((p) => `http://127.0.0.1:${p.client}`);
  const exited = procs.map((p) => new Promise<void>((resolve) => p.once('exit', () => resolve())));
  const stop = async (): Promise<void> => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await Promise.all(exited);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (const url of endpoints) {
    for (;;) {
      const ok = await fetch(`${url}/health`)
        .then(async (r) => r.ok && ((await r.json()) as { health?: string }).health === 'true')
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`etcd cluster did not become healthy in 20 s:\n${stderr.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    endpoints,
    storeSpec: 'etcd://' + ports.map((p) => `127.0.0.1:${p.client}`).join(','),
    async kill(i) {
      const p = procs[i]!;
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      await exited[i];
    },
    stop,
  };
}
