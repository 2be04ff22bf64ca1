/**
 * `berth server`: the all-in-one control plane behind the Kubernetes HTTP API, on 127.0.0.1.
 * Writes `<data-dir>/kubeconfig`, answers /healthz, /livez and /readyz, and stops cleanly on
 * SIGINT or SIGTERM (every acknowledged write is already on disk; closing flushes the rest).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { renderKubeconfig } from '../../pkg/client/kubeconfig.js';
import { RealClock, ScaledClock } from '../../pkg/clock/clock.js';
import { defaultDockerHost, DockerRuntime, RUNTIME_NAMES } from '../../pkg/agent/index.js';
import { dockerOptions, DockerHostError } from '../../pkg/agent/runtimes/docker/engine.js';
import { createControlPlane } from '../../pkg/controlplane/index.js';
import { createLogger } from '../../pkg/runtime/logger.js';
import { openBackend } from '../../pkg/storage/index.js';

export interface ServerFlags {
  dataDir?: string;
  port?: string;
  host?: string;
  store?: string;
  timeScale?: string;
  bootDelay?: string;
  logLevel?: string;
  /** `sim` (default) or `docker`: the runtime of nodes without a `node.berth.dev/runtime` label. */
  runtime?: string;
  /** The Docker engine (default `$DOCKER_HOST`, else `unix:///var/run/docker.sock`). */
  dockerHost?: string;
}

export interface ServerIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** Thrown for a bad flag or an unusable data directory; the message is for the user. */
export class ServerError extends Error {
  readonly code = 'ServerConfig';
}

function parseNumber(name: string, v: string | undefined, fallback: number, check: (n: number) => boolean, rule: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || !check(n)) throw new ServerError(`invalid ${name} "${v}": ${rule}`);
  return n;
}

/**
 * Takes `<dataDir>/server.lock` so two servers never share a store; a lock left by a process that
 * no longer runs (after kill -9) is taken over. Returns the release function.
 */
function lockDataDir(dir: string): () => void {
  const path = join(dir, 'server.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (pid && pid !== process.pid && isAlive(pid)) throw new ServerError(`another berth server (pid ${pid}) is using ${dir}; stop it or pick another --data-dir`);
      rmSync(path, { force: true });
    }
  }
  throw new ServerError(`could not lock ${dir}`);
}

/** Creates the data dir (and parents), or says clearly why it cannot. Throws ServerError. */
function prepareDataDir(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new ServerError(`--data-dir ${dir} is a file, not a directory`);
    return;
  }
  try {
    // Recursive mkdir only where the parent is missing: Node's recursive mkdir loops on /proc.
    mkdirSync(dir, { recursive: !existsSync(dirname(dir)) });
  } catch (e) {
    throw new ServerError(`cannot create --data-dir ${dir}: ${(e as Error).message}`);
  }
}

/** The cluster time a previous run saved, ms (0 if none). */
function readClusterTime(path: string): number {
  try {
    const t = (JSON.parse(readFileSync(path, 'utf8')) as { clusterTime?: unknown }).clusterTime;
    return typeof t === 'number' && Number.isFinite(t) ? t : 0;
  } catch {
    return 0;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs the server until SIGINT/SIGTERM. Throws ServerError for bad flags. */
export async function runServer(flags: ServerFlags, io: ServerIO): Promise<void> {
  const dataDir = resolve(flags.dataDir ?? join(homedir(), '.berth'));
  const port = parseNumber('--port', flags.port, 6443, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'must be an integer from 0 to 65535');
  const host = flags.host ?? '127.0.0.1';
  if (!isIP(host)) throw new ServerError(`invalid --host "${host}": give an IP address such as 127.0.0.1`);
  if (!host.startsWith('127.') && host !== '::1') {
    throw new ServerError(`refusing to listen on ${host}: berth serves only loopback addresses until authentication is configured`);
  }
  const timeScale = parseNumber('--time-scale', flags.timeScale, 1, (n) => n > 0, 'must be a positive number');
  // Without --boot-delay, each instance family boots in its own time (pkg/cloud/families.ts).
  const bootDelay = flags.bootDelay === undefined ? undefined : parseNumber('--boot-delay', flags.bootDelay, 30, (n) => n >= 0, 'must be a number of seconds ≥ 0');
  const storeSpec = flags.store ?? 'sqlite';
  if (!['sqlite', 'memory'].includes(storeSpec) && !storeSpec.startsWith('sqlite://')) {
    throw new ServerError(`unknown --store "${storeSpec}": use sqlite (default, at <data-dir>/state.db) or memory`);
  }
  const runtime = flags.runtime ?? 'sim';
  if (!(RUNTIME_NAMES as readonly string[]).includes(runtime)) throw new ServerError(`unknown --runtime "${runtime}": use sim (simulated containers) or docker (real ones, through a Docker engine)`);
  const dockerHost = flags.dockerHost ?? defaultDockerHost();
  try {
    dockerOptions(dockerHost);
  } catch (e) {
    if (e instanceof DockerHostError) throw new ServerError(`invalid --docker-host: ${e.message}`);
    throw e;
  }
  prepareDataDir(dataDir);
  const unlock = lockDataDir(dataDir);
  const log = createLogger(flags.logLevel ?? process.env.BERTH_LOG ?? 'warn', 'berth-server');
  // Cluster time never runs backwards across restarts: a scaled run may have left it ahead of now.
  const clockFile = join(dataDir, 'clock.json');
  const resumeAt = readClusterTime(clockFile);
  const clock = timeScale === 1 && resumeAt <= Date.now() ? new RealClock() : new ScaledClock(timeScale, Math.max(Date.now(), resumeAt));
  const saveClock = (): void => writeFileSync(clockFile, JSON.stringify({ clusterTime: clock.now() }));
  const clockTimer = setInterval(saveClock, 5000);
  clockTimer.unref();
  const backend = openBackend(storeSpec, dataDir);
  // Docker is always at hand: a node group can ask for it (launchTemplate.containerRuntime) even when the default is sim.
  const cp = await createControlPlane({ backend, clock, log, cloud: bootDelay === undefined ? {} : { bootDelaySeconds: bootDelay }, agent: { runtime }, docker: { host: dockerHost, dataDir: join(dataDir, 'docker') } });
  const app = cp.api.http({ ready: cp.ready });
  let url: string;
  try {
    url = await app.listen({ port, host });
  } catch (e) {
    await cp.stop();
    unlock();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new ServerError(`port ${port} on ${host} is in use: pick another with --port, or --port 0 for a free one`);
    throw e;
  }
  await cp.start();
  const kubeconfig = join(dataDir, 'kubeconfig');
  writeFileSync(kubeconfig, renderKubeconfig(url), { mode: 0o600 });
  io.stdout(`berth server listening on ${url}\n`);
  io.stdout(`store: ${backend.kind}${backend.kind === 'sqlite' ? ` (${storeSpec === 'sqlite' ? join(dataDir, 'state.db') : storeSpec.slice('sqlite://'.length)})` : ''}, time scale: ${timeScale}\n`);
  io.stdout(`container runtime: ${runtime}${runtime === 'docker' ? ` (${dockerHost})` : ''}\n`);
  if (runtime === 'docker') {
    const health = await (cp.agent?.runtimes.get('docker') as DockerRuntime | undefined)?.health();
    if (health && !health.ready) io.stderr(`warning: ${health.message}; nodes report NotReady until it answers\n`);
  }
  io.stdout(`kubeconfig: ${kubeconfig}\n`);
  io.stdout(`  kubectl --kubeconfig ${kubeconfig} get nodes\n`);

  await new Promise<void>((done) => {
    let stopping = false;
    const stop = (sig: string): void => {
      if (stopping) return;
      stopping = true;
      io.stdout(`${sig}: stopping\n`);
      void (async () => {
        try {
          clearInterval(clockTimer);
          saveClock();
          await app.close();
          await cp.stop();
        } finally {
          unlock();
          done();
        }
      })();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  if (existsSync(kubeconfig)) io.stdout('stopped\n');
}
