/**
 * Test helpers for the Docker runtime: a private Docker engine started for one test file (on a
 * socket in a temporary directory, stopped by its pid; never anyone else's engine), and a tiny
 * image built from Debian's `busybox-static` (`/bin/busybox` and a symlink per applet).
 *
 * CI installs both (`apt-get install -y docker.io busybox-static`, see `.ci/run`); without them
 * these helpers throw saying so, and the tests using them fail.
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
  /** Stops this engine (SIGTERM, SIGKILL after 20 s) and removes its directory. */
  stop(): Promise<void>;
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

/**
 * Starts `dockerd` with its own socket, data root and exec root (vfs storage, no iptables, no
 * bridge), and waits until it answers. Throws when dockerd is missing, we are not root, or it
 * does not come up in 30 s (its log is in the message).
 */
export async function startDockerd(): Promise<TestDockerd> {
  const bin = which('dockerd');
  if (!bin) throw new Error('dockerd is not installed: apt-get install -y docker.io busybox-static (as .ci/run does)');
  if (process.getuid?.() !== 0) throw new Error('dockerd needs root to start; run the Docker runtime tests as root (CI does)');
  const dir = mkdtempSync(join(tmpdir(), 'berth-dockerd-'));
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
  const host = `unix://${sock}`;
  const engine = new DockerEngine(host, 5000);
  const stop = async (): Promise<void> => {
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
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dockerd exited with ${child.exitCode}: see ${logPath}`);
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
