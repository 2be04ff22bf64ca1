/**
 * Processes that talk to an API server over HTTP with the same client code the all-in-one server
 * uses in process: `berth server --components scheduler|controllers|agent --server URL` (a
 * control-plane part run separately, leader-elected), and `berth agent --server URL` (a remote
 * node agent that registers its own nodes, heartbeats through Leases, and runs their pods).
 */
import { readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { defaultDockerHost, DockerRuntime, KUBELET_TOKEN_NAMESPACE, KUBELET_TOKEN_SECRET_TYPE, kubeletTokenSecretName, NODE_AGENT_LABEL, NodeAgent, RUNTIME_NAMES, startKubeletServer, type KubeletServer, type RuntimeName } from '../../pkg/agent/index.js';
import { dockerOptions, DockerHostError } from '../../pkg/agent/runtimes/docker/engine.js';
import type { KubeObject } from '../../pkg/api/types.js';
import { isAlreadyExists } from '../../pkg/api/errors.js';
import type { Node } from '../../pkg/api/types.js';
import { Client, Kinds } from '../../pkg/client/client.js';
import { HttpTransport } from '../../pkg/client/http.js';
import { RealClock, type Clock } from '../../pkg/clock/clock.js';
import { loadCatalog, nodeResources } from '../../pkg/cloud/index.js';
import { componentsForRoles, createControlPlane } from '../../pkg/controlplane/index.js';
import { Manager } from '../../pkg/runtime/manager.js';
import { createLogger } from '../../pkg/runtime/logger.js';

/** Thrown for a bad flag; the message is for the user. */
export class RemoteError extends Error {
  readonly code = 'RemoteConfig';
}

export interface RemoteIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** The API server a remote process talks to. */
export interface RemoteTarget {
  /** `http://127.0.0.1:6443` or `https://…`. */
  server?: string;
  /** A bearer token (`--token`), as kubelet's bootstrap token or a service account's. */
  token?: string;
  /** PEM file of the CA that signed the server's certificate (`--certificate-authority`). */
  caFile?: string;
  timeScale?: string;
  logLevel?: string;
}

function transportFor(t: RemoteTarget, flag: string): HttpTransport {
  if (!t.server) throw new RemoteError(`${flag} needs --server URL: the API server to talk to (e.g. http://127.0.0.1:6443)`);
  let url: URL;
  try {
    url = new URL(t.server);
  } catch {
    throw new RemoteError(`invalid --server "${t.server}": give a URL such as http://127.0.0.1:6443`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RemoteError(`invalid --server "${t.server}": the scheme must be http or https`);
  return new HttpTransport({
    server: t.server,
    ...(t.token ? { token: t.token } : {}),
    ...(t.caFile ? { ca: readPem(t.caFile) } : {}),
  });
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new RemoteError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/**
 * The clock of a process that shares a cluster with others: real time. A scaled clock starts at
 * its own process's start, so two processes would disagree on cluster time (Lease renewals would
 * look stale, ages would differ); scaled time is for one all-in-one server.
 */
function clockFor(t: RemoteTarget): Clock {
  const scale = t.timeScale === undefined ? 1 : Number(t.timeScale);
  if (scale !== 1) throw new RemoteError(`invalid --time-scale "${t.timeScale}": processes that share a cluster run on real time (1); scaled time is for one all-in-one berth server`);
  return new RealClock();
}

/**
 * Parses `--node-monitor-grace-period` (kube-controller-manager's flag): seconds without a node
 * heartbeat before the node is NotReady (Kubernetes default 40 s).
 */
export function gracePeriod(v: string): number {
  const n = Number(v.replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new RemoteError(`invalid --node-monitor-grace-period "${v}": a positive number of seconds`);
  return n;
}

/** The leader-election timing flags as given (`--leader-elect-lease-duration` …), Go durations such as `15s`. */
export interface LeaseTimingFlags {
  leaseDuration?: string;
  renewDeadline?: string;
  retryPeriod?: string;
}

/**
 * Parses a Go duration as Kubernetes flags take it (`1h2m3.5s`, `500ms`; a bare number is
 * seconds) into seconds. Throws RemoteError naming the flag.
 */
export function durationSeconds(flag: string, v: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (!parts.length || parts.map((m) => m[0]).join('') !== v) throw new RemoteError(`invalid ${flag} "${v}": give a duration such as 15s, 500ms or 1m30s`);
  return parts.reduce((sum, m) => sum + Number(m[1]) * units[m[2]!]!, 0);
}

/**
 * The Lease timings of `--leader-elect-lease-duration/--leader-elect-renew-deadline/
 * --leader-elect-retry-period` (kube-controller-manager's flags; defaults 15 s, 10 s, 2 s from
 * https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/),
 * in seconds. Throws RemoteError unless lease duration > renew deadline > retry period > 0, as
 * client-go's NewLeaderElector requires.
 */
export function leaseTimings(f: LeaseTimingFlags): { leaseDurationSeconds: number; renewDeadlineSeconds: number; retryPeriodSeconds: number } {
  const lease = f.leaseDuration === undefined ? 15 : durationSeconds('--leader-elect-lease-duration', f.leaseDuration);
  const renew = f.renewDeadline === undefined ? 10 : durationSeconds('--leader-elect-renew-deadline', f.renewDeadline);
  const retry = f.retryPeriod === undefined ? 2 : durationSeconds('--leader-elect-retry-period', f.retryPeriod);
  if (!(lease >= 1)) throw new RemoteError(`invalid --leader-elect-lease-duration "${f.leaseDuration}": at least 1s (the Lease records whole seconds)`);
  if (!(lease > renew)) throw new RemoteError(`--leader-elect-lease-duration (${lease}s) must be greater than --leader-elect-renew-deadline (${renew}s)`);
  if (!(renew > retry) || !(retry > 0)) throw new RemoteError(`--leader-elect-renew-deadline (${renew}s) must be greater than --leader-elect-retry-period (${retry}s), which must be more than 0`);
  return { leaseDurationSeconds: lease, renewDeadlineSeconds: renew, retryPeriodSeconds: retry };
}

/** Waits for SIGINT/SIGTERM or for `failed` to reject, then runs `stop`. */
async function runUntilSignal(io: RemoteIO, failed: Promise<void>, stop: () => Promise<void>): Promise<void> {
  await new Promise<void>((done) => {
    let stopping = false;
    const finish = (why: string): void => {
      if (stopping) return;
      stopping = true;
      io.stdout(`${why}: stopping\n`);
      void stop().finally(done);
    };
    failed.catch((e: Error) => {
      io.stderr(`error: ${e.message}\n`);
      process.exitCode = 1;
      finish('failed');
    });
    process.once('SIGINT', () => finish('SIGINT'));
    process.once('SIGTERM', () => finish('SIGTERM'));
  });
}

/**
 * `berth server --components R[,R…] --server URL` without `apiserver`: runs those control-plane
 * parts against the API server at URL, leader-elected on the Lease `kube-system/berth-<roles>`
 * with Kubernetes's timings (15 s / 10 s / 2 s), so several replicas may run and exactly one acts.
 */
export async function runRemoteComponents(roles: string[], t: RemoteTarget & LeaseTimingFlags & { leaderElect?: boolean; nodeMonitorGracePeriod?: string }, io: RemoteIO): Promise<void> {
  let plan: ReturnType<typeof componentsForRoles>;
  try {
    plan = componentsForRoles(roles);
  } catch (e) {
    throw new RemoteError((e as Error).message);
  }
  if (plan.apiserver) throw new RemoteError('internal: runRemoteComponents without the apiserver role');
  const transport = transportFor(t, `--components ${roles.join(',')}`);
  const clock = clockFor(t);
  const log = createLogger(t.logLevel ?? process.env.BERTH_LOG ?? 'warn', `berth-${roles.join('-')}`);
  const identity = `${hostname()}_${process.pid}`;
  const lease = `berth-${[...roles].sort().join('-')}`;
  const timings = leaseTimings(t);
  const cp = await createControlPlane({
    backend: undefined as never, // unused with `remote`
    remote: transport,
    clock,
    log,
    components: plan.components,
    ...(t.nodeMonitorGracePeriod !== undefined ? { controllers: { nodelifecycle: { gracePeriodSeconds: gracePeriod(t.nodeMonitorGracePeriod) } } } : {}),
    ...(t.leaderElect !== false ? { leaderElection: { name: lease, identity, ...timings } } : {}),
  });
  try {
    await new Client(transport).list(Kinds.Namespace, { limit: 1 });
  } catch (e) {
    throw new RemoteError(`cannot reach the API server at ${t.server}: ${(e as Error).message}`);
  }
  await cp.start();
  io.stdout(`berth ${plan.components.join(', ')} → ${t.server}\n`);
  if (t.leaderElect !== false) io.stdout(`leader election: lease kube-system/${lease}, identity ${identity}\n`);
  await runUntilSignal(io, cp.done(), () => cp.stop());
}

/** Flags of `berth agent`. */
export interface AgentFlags extends RemoteTarget {
  /** Name prefix of this agent's nodes (default the host name); nodes are `<name>-0`, `<name>-1`, … */
  name?: string;
  /** How many nodes this agent runs (default 1). */
  nodes?: string;
  /** The EC2 instance type whose capacity and EKS allocatable the nodes report (default m5.large). */
  instanceType?: string;
  /** Extra node labels, `k=v,k2=v2`. */
  labels?: string;
  /** The loopback IP its kubelet endpoint listens on (kubelet's `--address`; default 127.0.0.1), also its nodes' InternalIP. */
  address?: string;
  /** The kubelet endpoint's TCP port (kubelet's `--port`; default 0, a free port). */
  port?: string;
  /** `sim` (default) or `docker`: the container runtime of its nodes. */
  runtime?: string;
  /** The Docker engine (default `$DOCKER_HOST`, else `unix:///var/run/docker.sock`). */
  dockerHost?: string;
  /** Where docker nodes' pod volumes live (default `~/.berth/agent-<name>`). */
  dataDir?: string;
}

/** The label that ties a node to the remote agent serving it; the all-in-one agent skips such nodes. */
export const AGENT_LABEL = NODE_AGENT_LABEL;

/**
 * `berth agent --server URL [--token T]`: registers `--nodes` Nodes named `<name>-<i>` (labelled
 * `node.berth.dev/agent=<name>`, sized as `--instance-type` with the EKS AMI's allocatable), then
 * runs their kubelet: Leases in `kube-node-lease` every 10 s, node status, and their pods on the
 * simulated runtime. Its kubelet endpoint (pkg/agent/kubelet.ts) on `--address:--port` serves
 * their logs, exec and attach to API servers, which find it through the nodes' InternalIP and
 * `daemonEndpoints.kubeletEndpoint.Port` and authenticate with the token the agent keeps in the
 * Secret `kube-node-lease/berth-agent-<name>`. When it stops heartbeating, the node lifecycle controller marks its nodes
 * NotReady and taint-based eviction moves their pods elsewhere.
 */
export async function runAgent(f: AgentFlags, io: RemoteIO): Promise<void> {
  const name = f.name ?? hostname().toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 50) throw new RemoteError(`invalid --name "${name}": lower-case letters, digits and '-', at most 50 characters`);
  const count = Number(f.nodes ?? '1');
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RemoteError(`invalid --nodes "${f.nodes}": an integer from 1 to 1000`);
  const catalog = loadCatalog();
  const typeName = f.instanceType ?? 'm5.large';
  const info = catalog.get(typeName);
  if (!info) throw new RemoteError(`unknown --instance-type "${typeName}": see berth get instancetypes`);
  const extra: Record<string, string> = {};
  for (const kv of (f.labels ?? '').split(',').filter(Boolean)) {
    const [k, v = ''] = kv.split('=');
    if (!k) throw new RemoteError(`invalid --labels "${f.labels}": give k=v,k2=v2`);
    extra[k.trim()] = v.trim();
  }
  const address = f.address ?? '127.0.0.1';
  if (!isIP(address)) throw new RemoteError(`invalid --address "${address}": give an IP address such as 127.0.0.1`);
  // The endpoint speaks plain HTTP (no serving certificate yet), so its token must not cross a network.
  if (!address.startsWith('127.') && address !== '::1') throw new RemoteError(`refusing to serve the kubelet endpoint on ${address}: it speaks plain HTTP, so it listens on loopback only (127.0.0.1 or ::1)`);
  const port = Number(f.port ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RemoteError(`invalid --port "${f.port}": an integer from 0 to 65535`);
  const runtime = f.runtime ?? 'sim';
  if (!(RUNTIME_NAMES as readonly string[]).includes(runtime)) throw new RemoteError(`unknown --runtime "${runtime}": use sim (simulated containers) or docker (real ones, through a Docker engine)`);
  const dockerHost = f.dockerHost ?? defaultDockerHost();
  try {
    dockerOptions(dockerHost);
  } catch (e) {
    if (e instanceof DockerHostError) throw new RemoteError(`invalid --docker-host: ${e.message}`);
    throw e;
  }
  const transport = transportFor(f, 'berth agent');
  const clock = clockFor(f);
  const client = new Client(transport);
  const log = createLogger(f.logLevel ?? process.env.BERTH_LOG ?? 'warn', `berth-agent-${name}`);
  const { capacity, allocatable } = nodeResources(info);
  for (let i = 0; i < count; i++) {
    const nodeName = `${name}-${i}`;
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: nodeName,
        labels: {
          'kubernetes.io/hostname': nodeName,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': info.arch === 'arm64' ? 'arm64' : 'amd64',
          'node.kubernetes.io/instance-type': info.name,
          [AGENT_LABEL]: name,
          ...extra,
        },
      },
      spec: {},
      status: { capacity, allocatable, addresses: [{ type: 'InternalIP', address }, { type: 'Hostname', address: nodeName }], nodeInfo: { architecture: info.arch === 'arm64' ? 'arm64' : 'amd64', operatingSystem: 'linux' } },
    };
    try {
      await client.create(node);
    } catch (e) {
      if (!isAlreadyExists(e)) throw new RemoteError(`cannot register node ${nodeName} at ${f.server}: ${(e as Error).message}`);
      // A restarted agent takes its nodes back: status is refreshed by the agent's first report.
    }
  }
  const mgr = new Manager({ client, clock, log, component: 'kubelet' });
  // The kubelet endpoint listens first: the nodes report its port from the agent's first status write.
  const token = randomBytes(32).toString('base64url');
  let agent: NodeAgent | undefined;
  const mine = new Set(Array.from({ length: count }, (_, i) => `${name}-${i}`));
  let kubelet: KubeletServer;
  try {
    kubelet = await startKubeletServer({
      source: {
        logs: (...a) => agent!.logs(...a),
        exec: (...a) => agent!.exec(...a),
        attach: (...a) => agent!.attach(...a),
      },
      // The kubelet serves only its own pods.
      pod: async (namespace, podName) => {
        const pod = await client.get(Kinds.Pod, podName, namespace).catch(() => undefined);
        return pod && mine.has((pod.spec as { nodeName?: string } | undefined)?.nodeName ?? '') ? pod : undefined;
      },
      token,
      host: address,
      port,
    });
  } catch (e) {
    throw new RemoteError(`cannot listen on ${address}:${port} for the kubelet endpoint: ${(e as Error).message}`);
  }
  await writeKubeletToken(client, name, token).catch(async (e: Error) => {
    await kubelet.close();
    throw new RemoteError(`cannot store the kubelet token of agent ${name} at ${f.server}: ${e.message}`);
  });
  // With --runtime docker every node runs real containers; the simulated runtime stays for nodes labelled node.berth.dev/runtime=sim.
  const docker = runtime === 'docker' ? new DockerRuntime({ host: dockerHost, client, clock, log: log.child({ component: 'docker-runtime' }), dataDir: join(resolve(f.dataDir ?? join(homedir(), '.berth', `agent-${name}`)), 'docker') }) : undefined;
  agent = new NodeAgent(mgr, { nodeSelector: `${AGENT_LABEL}=${name}`, kubeletPort: kubelet.port, runtime: runtime as RuntimeName, ...(docker ? { runtimes: [docker] } : {}) });
  mgr.add(agent);
  const ac = new AbortController();
  const running = mgr.start(ac.signal);
  await mgr.waitForSync(ac.signal);
  io.stdout(`berth agent ${name}: ${count} node${count === 1 ? '' : 's'} (${info.name}, runtime ${runtime}) → ${f.server}, kubelet endpoint ${address}:${kubelet.port}\n`);
  if (docker) {
    const health = await docker.health();
    if (!health.ready) io.stderr(`warning: ${health.message}; its nodes report NotReady until it answers\n`);
  }
  await runUntilSignal(io, running, async () => {
    ac.abort();
    await running.catch(() => undefined);
    await kubelet.close();
  });
}

/** Creates or replaces the Secret `kube-node-lease/berth-agent-<agent>` holding the kubelet endpoint's token. */
async function writeKubeletToken(client: Client, agent: string, token: string): Promise<void> {
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: kubeletTokenSecretName(agent), namespace: KUBELET_TOKEN_NAMESPACE, labels: { [NODE_AGENT_LABEL]: agent } },
    type: KUBELET_TOKEN_SECRET_TYPE,
    data: { token: Buffer.from(token).toString('base64') },
  } as KubeObject;
  try {
    await client.create(secret);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const cur = await client.get(Kinds.Secret, secret.metadata.name!, KUBELET_TOKEN_NAMESPACE);
    await client.update({ ...secret, metadata: { ...secret.metadata, resourceVersion: cur.metadata.resourceVersion! } } as KubeObject);
  }
}
