/**
 * Test helpers for the Docker runtime: a private Docker engine started for one test file (on a
 * socket in a temporary directory, stopped by its pid; never anyone else's engine), and a tiny
 * image built from Debian's `busybox-static` (`/bin/busybox` and a symlink per applet).
 *
 * CI installs both (`apt-get install -y docker.io busybox-static`, see `.ci/run`). Where Docker
 * truly cannot run (dockerd or busybox-static not installed, not root, or dockerd exits as it
 * starts), `dockerForTests` says why and the tests skip with that message; any other failure fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerEngine } from './engine.js';

export interface TestDockerd {
  /** `unix:///tmp/berth-dockerd-…/docker.sock` */
  host: string;
  dir: string;
  pid: number;
  engine: DockerEngine;
  /**
   * Stops this engine (SIGTERM, SIGKILL after 20 s) and removes its directory; with `keepData`
   * the directory (images, containers) stays, so `startDockerd(dir)` brings the same engine back.
   */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

const BUSYBOX = '/bin/busybox';

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Mount points under `dir`, deepest first (from /proc/self/mountinfo). */
function mountsUnder(dir: string): string[] {
  let info = '';
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return info
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** dockerd exited while starting: this machine cannot run it (no cgroups, no privileges…). */
export class DockerdExitedError extends Error {}

/** A new directory for a test engine (`/tmp/berth-dockerd-…`): its socket is `<dir>/docker.sock`. */
export function dockerdDir(): string {
  return mkdtempSync(join(tmpdir(), 'berth-dockerd-'));
}

/** The `host` of the engine `startDockerd(dir)` starts. */
export function dockerdHost(dir: string): string {
  return `unix://${join(dir, 'docker.sock')}`;
}

/** Why the Docker tests cannot run on this machine (undefined when they can): what is missing and how to get it. */
export function dockerUnavailable(): string | undefined {
  if (!which('dockerd')) return 'dockerd is not installed: apt-get install -y docker.io busybox-static (as .ci/run does)';
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing: apt-get install -y busybox-static (as .ci/run does)`;
  if (process.getuid?.() !== 0) return 'dockerd needs root to start: run the Docker runtime tests as root (CI does)';
  return undefined;
}

/**
 * A test engine, or why this machine cannot run one (the test then skips with that reason):
 * dockerd or busybox-static missing, not root, or dockerd exiting as it starts. Any other
 * failure (dockerd not answering, …) throws, failing the test.
 */
export async function dockerForTests(dir?: string): Promise<{ dockerd: TestDockerd; skip?: undefined } | { dockerd?: undefined; skip: string }> {
  const why = dockerUnavailable();
  if (why) return { skip: `Docker cannot run here: ${why}` };
  try {
    return { dockerd: await startDockerd(dir) };
  } catch (e) {
    if (e instanceof DockerdExitedError) return { skip: `Docker cannot run here: ${e.message}` };
    throw e;
  }
}

/**
 * Starts `dockerd` with its own socket, data root and exec root (vfs storage, no iptables, no
 * bridge) in `dir`, and waits until it answers. Throws when dockerd is missing, we are not root,
 * it exits as it starts (DockerdExitedError, with its log), or it does not answer in 30 s.
 */
export async function startDockerd(dir = dockerdDir()): Promise<TestDockerd> {
  const why = dockerUnavailable();
  if (why) throw new Error(why);
  const bin = which('dockerd')!;
  const sock = join(dir, 'docker.sock');
  const logPath = join(dir, 'dockerd.log');
  const log = openSync(logPath, 'a');
  const child = spawn(
    bin,
    [
      '--host', `unix://${sock}`,
      '--data-root', join(dir, 'root'),
      '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'docker.pid'),
      '--storage-driver=vfs',
      '--iptables=false',
      '--bridge=none',
    ],
    { stdio: ['ignore', log, log], detached: true },
  );
  child.unref();
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const host = dockerdHost(dir);
  const engine = new DockerEngine(host, 5000);
  const stop = async (opts: { keepData?: boolean } = {}): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }, 20_000);
      await exited;
      clearTimeout(timer);
    }
    // dockerd leaves its network namespace file mounted under the exec root.
    for (const m of mountsUnder(dir)) spawnSync('umount', ['-l', m]);
    if (!opts.keepData) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      const tail = readFileSync(logPath, 'utf8').trim().split('\n').slice(-5).join('\n');
      await stop();
      throw new DockerdExitedError(`dockerd exited with ${child.exitCode} as it started; the end of its log:\n${tail}`);
    }
    try {
      await engine.ping();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error('dockerd did not answer within 30 s');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { host, dir, pid, engine, stop };
}

/**
 * Writes a root filesystem tarball of busybox (`/bin/busybox`, `/bin/<applet>` symlinks, `/tmp`,
 * `/www`) to `<dir>/busybox-rootfs.tar` and returns its path. Throws when busybox-static is missing.
 */
export function busyboxRootfs(dir: string): string {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install -y busybox-static (as .ci/run does)`);
  const root = join(dir, 'busybox-rootfs');
  for (const d of ['bin', 'tmp', 'www', 'etc']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
  const applets = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) if (!existsSync(join(root, 'bin', a))) symlinkSync('busybox', join(root, 'bin', a));
  const tar = join(dir, 'busybox-rootfs.tar');
  const r = spawnSync('tar', ['-C', root, '-cf', tar, '.'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  return tar;
}
