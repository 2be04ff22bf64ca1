/**
 * Processes that talk to an API server over HTTP with the same client code the all-in-one server
 * uses in process: `berth server --components scheduler|controllers|agent --server URL` (a
 * control-plane part run separately, leader-elected), and `berth agent --server URL` (a remote
 * node agent that registers its own nodes, heartbeats through Leases, and runs their pods).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { NodeAgent } from '../../pkg/agent/index.js';
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
export async function runRemoteComponents(roles: string[], t: RemoteTarget & { leaderElect?: boolean; nodeMonitorGracePeriod?: string }, io: RemoteIO): Promise<void> {
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
  const cp = await createControlPlane({
    backend: undefined as never, // unused with `remote`
    remote: transport,
    clock,
    log,
    components: plan.components,
    ...(t.nodeMonitorGracePeriod !== undefined ? { controllers: { nodelifecycle: { gracePeriodSeconds: gracePeriod(t.nodeMonitorGracePeriod) } } } : {}),
    ...(t.leaderElect !== false ? { leaderElection: { name: lease, identity } } : {}),
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
}

/** The label that ties a node to the remote agent serving it; the all-in-one agent skips such nodes. */
export const AGENT_LABEL = 'node.berth.dev/agent';

/**
 * `berth agent --server URL [--token T]`: registers `--nodes` Nodes named `<name>-<i>` (labelled
 * `node.berth.dev/agent=<name>`, sized as `--instance-type` with the EKS AMI's allocatable), then
 * runs their kubelet: Leases in `kube-node-lease` every 10 s, node status, and their pods on the
 * simulated runtime. When it stops heartbeating, the node lifecycle controller marks its nodes
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
      status: { capacity, allocatable, addresses: [{ type: 'Hostname', address: nodeName }], nodeInfo: { architecture: info.arch === 'arm64' ? 'arm64' : 'amd64', operatingSystem: 'linux' } },
    };
    try {
      await client.create(node);
    } catch (e) {
      if (!isAlreadyExists(e)) throw new RemoteError(`cannot register node ${nodeName} at ${f.server}: ${(e as Error).message}`);
      // A restarted agent takes its nodes back: status is refreshed by the agent's first report.
    }
  }
  const mgr = new Manager({ client, clock, log, component: 'kubelet' });
  const agent = new NodeAgent(mgr, { nodeSelector: `${AGENT_LABEL}=${name}` });
  mgr.add(agent);
  const ac = new AbortController();
  const running = mgr.start(ac.signal);
  await mgr.waitForSync(ac.signal);
  io.stdout(`berth agent ${name}: ${count} node${count === 1 ? '' : 's'} (${info.name}) → ${f.server}\n`);
  await runUntilSignal(io, running, async () => {
    ac.abort();
    await running.catch(() => undefined);
  });
}
