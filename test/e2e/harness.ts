/**
 * End-to-end harness: starts the built `berth server` as a real process on a fresh data dir and
 * drives it with the real `kubectl` and the built `berth` CLI, as a user would.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (from dist/test/e2e/). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BERTH = join(ROOT, 'dist/cmd/berth/main.js');
/** The real manifests shared with the project, when present. */
export const CORPUS = resolve(ROOT, '../shared/corpus');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ServerProcess {
  url: string;
  dataDir: string;
  kubeconfig: string;
  child: ChildProcess;
  /** Runs the real kubectl against this server. */
  kubectl(args: string[], opts?: { input?: string; version?: string; env?: Record<string, string> }): Result;
  /** Runs the built berth CLI against this server. */
  berth(args: string[], opts?: { input?: string }): Result;
  /** Stops with a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  dataDir?: string;
  /** sqlite (default), memory, or etcd://host:port[,…]. */
  store?: string;
  timeScale?: number;
  bootDelay?: number;
  extraArgs?: string[];
  /** Environment variables for the server process, on top of this one's. */
  env?: Record<string, string>;
}

/** A started `berth server` process: its URL, what it printed so far, and its exit. */
export interface Launched {
  child: ChildProcess;
  url: string;
  /** Standard output so far. */
  out(): string;
  exited: Promise<number | null>;
}

/**
 * Spawns `node dist/cmd/berth/main.js ARGS` (with `env` over this process's environment) and
 * resolves once it prints its URL and kubeconfig. A server that does not start within a minute
 * is killed (on a loaded machine Node.js alone can take tens of seconds to load it), or the test
 * process would wait on it until its own timeout.
 */
export async function launch(args: string[], env?: Record<string, string>): Promise<Launched> {
  const child = spawn(process.execPath, [BERTH, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`server did not start: ${out}${err}`));
    }, 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m && out.includes('kubeconfig:')) {
        clearTimeout(timer);
        res(m[1]!);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`server exited with ${code}: ${out}${err}`));
    });
  });
  return { child, url, out: () => out, exited };
}

/** Starts `berth server --port 0` and resolves once it prints its URL. */
export async function startServer(opts: StartOptions = {}): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'berth-e2e-'));
  const args = ['server', '--data-dir', dataDir, '--port', '0', '--store', opts.store ?? 'sqlite', '--time-scale', String(opts.timeScale ?? 20), '--boot-delay', String(opts.bootDelay ?? 30), ...(opts.extraArgs ?? [])];
  const { child, url, exited } = await launch(args, opts.env);
  const kubeconfig = join(dataDir, 'kubeconfig');
  return {
    url,
    dataDir,
    kubeconfig,
    child,
    kubectl: (a, o = {}) => run(o.version ? `/usr/lib/google-cloud-sdk/bin/kubectl.${o.version}` : 'kubectl', ['--kubeconfig', kubeconfig, ...a], o.input, { KUBECACHEDIR: join(dataDir, 'kubecache'), ...(o.env ?? {}) }),
    berth: (a, o = {}) => run(process.execPath, [BERTH, '--kubeconfig', kubeconfig, ...a], o.input),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

export function run(cmd: string, args: string[], input?: string, env: Record<string, string> = {}): Result {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** Polls `fn` (real time) until it returns a truthy value; throws with `what` after `ms`. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, ms = 60_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
