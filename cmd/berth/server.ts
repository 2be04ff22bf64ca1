/**
 * `berth server`: the all-in-one control plane behind the Kubernetes HTTP API, on 127.0.0.1.
 * Writes `<data-dir>/kubeconfig`, answers /healthz, /livez and /readyz, and stops cleanly on
 * SIGINT or SIGTERM (every acknowledged write is already on disk; closing flushes the rest).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { renderKubeconfig } from '../../pkg/client/kubeconfig.js';
import { RealClock, ScaledClock } from '../../pkg/clock/clock.js';
import { defaultDockerHost, DockerRuntime, RUNTIME_NAMES } from '../../pkg/agent/index.js';
import { dockerOptions, DockerHostError } from '../../pkg/agent/runtimes/docker/engine.js';
import { componentsForRoles, createControlPlane } from '../../pkg/controlplane/index.js';
import { gracePeriod, leaseTimings, type LeaseTimingFlags } from './remote.js';
import { createLogger } from '../../pkg/runtime/logger.js';
import { openBackend } from '../../pkg/storage/index.js';
import { AccessControl, bootstrapPolicy, MASTERS_GROUP, parseTokenFile, TokenFileError, type RbacObjects, type UserInfo } from '../../pkg/auth/index.js';
import { isAlreadyExists } from '../../pkg/api/errors.js';
import type { KubeObject } from '../../pkg/api/types.js';
import type { Client } from '../../pkg/client/client.js';
import { randomBytes } from 'node:crypto';

export interface ServerFlags extends LeaseTimingFlags {
  dataDir?: string;
  port?: string;
  host?: string;
  store?: string;
  /** kube-apiserver's `--token-auth-file`: CSV `token,user,uid[,"group1,group2"]`. */
  tokenAuthFile?: string;
  /** PEM certificate and key to serve TLS with. */
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  /** PEM CA bundle: client certificates it signed authenticate (CN user, O groups). */
  clientCaFile?: string;
  /** Append an audit.k8s.io/v1 Event (Metadata level) per write to this file. */
  auditLogPath?: string;
  /** Roles run in this process (must include `apiserver` or `all`; see componentsForRoles). Default all. */
  components?: string[];
  /** Seconds without a heartbeat before a node is NotReady (`--node-monitor-grace-period`, default 40). */
  nodeMonitorGracePeriod?: string;
  /** Take the `kube-system/berth-control-plane` Lease before running components (default: on with etcd, off otherwise). */
  leaderElect?: boolean;
  /** Prepended to every etcd key (with `--store etcd://…`). */
  etcdPrefix?: string;
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

/** Authentication and TLS read from the flags. */
interface Security {
  authn: boolean;
  tokens: Map<string, UserInfo>;
  https?: { key: string; cert: string; ca?: string; requestCert?: boolean; rejectUnauthorized?: boolean };
}

function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ServerError(`cannot read ${flag} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** Reads the token file, TLS files and client CA the flags name. Throws ServerError naming the flag and file. */
function loadSecurity(flags: ServerFlags): Security {
  let tokens = new Map<string, UserInfo>();
  if (flags.tokenAuthFile) {
    try {
      tokens = parseTokenFile(readFlagFile('--token-auth-file', flags.tokenAuthFile), flags.tokenAuthFile);
    } catch (e) {
      if (e instanceof TokenFileError) throw new ServerError(`invalid --token-auth-file: ${e.message}`);
      throw e;
    }
  }
  if (!!flags.tlsCertFile !== !!flags.tlsPrivateKeyFile) throw new ServerError('--tls-cert-file and --tls-private-key-file go together');
  if (flags.clientCaFile && !flags.tlsCertFile) throw new ServerError('--client-ca-file needs TLS: give --tls-cert-file and --tls-private-key-file');
  // client-go (kubectl, client-node) never sends a bearer token over plain http.
  if (flags.tokenAuthFile && !flags.tlsCertFile) throw new ServerError('--token-auth-file needs TLS (kubectl sends bearer tokens only over https): give --tls-cert-file and --tls-private-key-file');
  const https = flags.tlsCertFile
    ? {
        cert: readFlagFile('--tls-cert-file', flags.tlsCertFile),
        key: readFlagFile('--tls-private-key-file', flags.tlsPrivateKeyFile!),
        ...(flags.clientCaFile ? { ca: readFlagFile('--client-ca-file', flags.clientCaFile), requestCert: true, rejectUnauthorized: false } : {}),
      }
    : undefined;
  return { authn: !!flags.tokenAuthFile || !!flags.clientCaFile, tokens, ...(https ? { https } : {}) };
}

/** The admin's bearer token for the kubeconfig berth writes: kept in `file` (mode 600) across restarts. */
function readOrCreateAdminToken(file: string): string {
  if (existsSync(file)) {
    const t = readFileSync(file, 'utf8').trim();
    if (t) return t;
  }
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}

/** Creates the bootstrap ClusterRoles and ClusterRoleBindings that are missing (pkg/auth bootstrapPolicy). */
async function seedBootstrapPolicy(client: Client): Promise<void> {
  const policy = bootstrapPolicy();
  const objs = [
    ...policy.clusterRoles.map((r) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: r.name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } }, rules: r.rules })),
    ...policy.clusterRoleBindings.map((b) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: b.name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: b.role }, subjects: b.subjects })),
  ];
  for (const o of objs) {
    try {
      await client.create(o as KubeObject);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
}

/** Runs the server until SIGINT/SIGTERM. Throws ServerError for bad flags. */
export async function runServer(flags: ServerFlags, io: ServerIO): Promise<void> {
  const dataDir = resolve(flags.dataDir ?? join(homedir(), '.berth'));
  const port = parseNumber('--port', flags.port, 6443, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'must be an integer from 0 to 65535');
  const host = flags.host ?? '127.0.0.1';
  if (!isIP(host)) throw new ServerError(`invalid --host "${host}": give an IP address such as 127.0.0.1`);
  const security = loadSecurity(flags);
  if (!host.startsWith('127.') && host !== '::1' && (!security.authn || !security.https)) {
    throw new ServerError(`refusing to listen on ${host} without authentication and TLS: give --token-auth-file or --client-ca-file, and --tls-cert-file with --tls-private-key-file (loopback addresses need neither)`);
  }
  const timeScale = parseNumber('--time-scale', flags.timeScale, 1, (n) => n > 0, 'must be a positive number');
  // Without --boot-delay, each instance family boots in its own time (pkg/cloud/families.ts).
  const bootDelay = flags.bootDelay === undefined ? undefined : parseNumber('--boot-delay', flags.bootDelay, 30, (n) => n >= 0, 'must be a number of seconds ≥ 0');
  const storeSpec = flags.store ?? 'sqlite';
  if (!['sqlite', 'memory'].includes(storeSpec) && !storeSpec.startsWith('sqlite://') && !/^etcd:\/\/[^\s/:,]+:\d+(,[^\s/:,]+:\d+)*$/.test(storeSpec)) {
    throw new ServerError(`unknown --store "${storeSpec}": use sqlite (default, at <data-dir>/state.db), memory, or etcd://host:port[,host:port…]`);
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
  const backend = openBackend(storeSpec, dataDir, flags.etcdPrefix ? { etcdPrefix: flags.etcdPrefix } : {});
  if (backend.kind === 'etcd' && timeScale !== 1) {
    await backend.close();
    unlock();
    throw new ServerError(`--time-scale ${timeScale} with --store etcd: servers sharing a store run on real time (1), or they would disagree on cluster time`);
  }
  if (backend.kind === 'etcd') {
    // Fail now, with the address, rather than on the first request.
    await backend.currentRevision().catch(async (e: Error) => {
      await backend.close();
      unlock();
      throw new ServerError(`cannot reach etcd at ${storeSpec.slice('etcd://'.length)}: ${e.message}`);
    });
  }
  // Docker is always at hand: a node group can ask for it (launchTemplate.containerRuntime) even when the default is sim.
  // On a shared store (etcd) several servers may run: the components act only while this one holds the Lease.
  const leaderElect = flags.leaderElect ?? backend.kind === 'etcd';
  const identity = `${hostname()}_${process.pid}`;
  let plan: ReturnType<typeof componentsForRoles>;
  try {
    plan = componentsForRoles(flags.components ?? ['all']);
  } catch (e) {
    await backend.close();
    unlock();
    throw new ServerError((e as Error).message);
  }
  let graceSeconds: number | undefined;
  let timings: ReturnType<typeof leaseTimings>;
  try {
    graceSeconds = flags.nodeMonitorGracePeriod === undefined ? undefined : gracePeriod(flags.nodeMonitorGracePeriod);
    timings = leaseTimings(flags);
  } catch (e) {
    await backend.close();
    unlock();
    throw new ServerError((e as Error).message);
  }
  const cp = await createControlPlane({ backend, clock, log, components: plan.components, ...(graceSeconds !== undefined ? { controllers: { nodelifecycle: { gracePeriodSeconds: graceSeconds } } } : {}), ...(leaderElect ? { leaderElection: { name: 'berth-control-plane', identity, ...timings } } : {}), cloud: bootDelay === undefined ? {} : { bootDelaySeconds: bootDelay }, agent: { runtime }, docker: { host: dockerHost, dataDir: join(dataDir, 'docker') } });
  let adminToken: string | undefined;
  let access: AccessControl | undefined;
  if (security.authn || flags.auditLogPath) {
    if (security.authn) {
      adminToken = readOrCreateAdminToken(join(dataDir, 'admin-token'));
      security.tokens.set(adminToken, { name: 'berth-admin', groups: [MASTERS_GROUP, 'system:authenticated'] });
    }
    access = new AccessControl({
      // Without authentication (loopback only), every caller is the cluster admin, as before; the audit log still records them.
      open: !security.authn,
      tokens: security.tokens,
      clientCertificates: !!security.https?.ca,
      ...(flags.auditLogPath ? { auditLogPath: resolve(flags.auditLogPath) } : {}),
      readRbac: async () => {
        const [roles, clusterRoles, roleBindings, clusterRoleBindings] = await Promise.all(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].map((kind) => cp.client.list({ apiVersion: 'rbac.authorization.k8s.io/v1', kind }).then((l) => l.items)));
        return { roles, clusterRoles, roleBindings, clusterRoleBindings } as unknown as RbacObjects;
      },
    });
  }
  const app = cp.api.http({ ready: cp.ready, ...(access ? { auth: access } : {}), ...(security.https ? { https: security.https } : {}) });
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
  writeFileSync(kubeconfig, renderKubeconfig(url, 'berth', adminToken, security.https?.cert), { mode: 0o600 });
  if (security.authn) await seedBootstrapPolicy(cp.client);
  io.stdout(`berth server listening on ${url}\n`);
  io.stdout(`store: ${backend.kind}${backend.kind === 'sqlite' ? ` (${storeSpec === 'sqlite' ? join(dataDir, 'state.db') : storeSpec.slice('sqlite://'.length)})` : backend.kind === 'etcd' ? ` (${storeSpec.slice('etcd://'.length)}${flags.etcdPrefix ? `, prefix ${flags.etcdPrefix}` : ''})` : ''}, time scale: ${timeScale}\n`);
  if (leaderElect) io.stdout(`leader election: lease kube-system/berth-control-plane, identity ${identity} (lease ${timings.leaseDurationSeconds}s, renew deadline ${timings.renewDeadlineSeconds}s, retry ${timings.retryPeriodSeconds}s)\n`);
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
    // Losing the Lease does not end this: only the leader's components stop, and the server campaigns again.
    cp.done().catch((e: Error) => {
      if (stopping) return;
      io.stderr(`error: control plane failed: ${e.message}\n`);
      process.exitCode = 1;
      stop('control plane failed');
    });
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  if (existsSync(kubeconfig)) io.stdout('stopped\n');
}
