#!/usr/bin/env node
/**
 * The `berth` command: the CLI verbs of pkg/cli plus `server`, which starts the all-in-one
 * control plane. Exit code 0 on success, 1 after one clear error line on stderr.
 */
import { buildProgram, runCli, type IO } from '../../pkg/cli/index.js';
// `server` and `agent` load the control plane only when they run: every other command starts
// in about half the time (it was 1.4 s of CPU for `berth --help`, most of it loading the server).
const loadServer = (): Promise<typeof import('./server.js')> => import('./server.js');
const loadRemote = (): Promise<typeof import('./remote.js')> => import('./remote.js');

const io: IO = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  env: process.env,
  stderrIsTTY: process.stderr.isTTY === true,
};

// Output piped into `head` and closed early: stop quietly, as kubectl does (141: SIGPIPE).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  });
}

/** The `--leader-elect-*` flags given, as LeaseTimingFlags (parsed and checked by leaseTimings in remote.ts). */
function leaseTimings(o: Record<string, string>): { leaseDuration?: string; renewDeadline?: string; retryPeriod?: string } {
  return {
    ...(o.leaderElectLeaseDuration ? { leaseDuration: o.leaderElectLeaseDuration } : {}),
    ...(o.leaderElectRenewDeadline ? { renewDeadline: o.leaderElectRenewDeadline } : {}),
    ...(o.leaderElectRetryPeriod ? { retryPeriod: o.leaderElectRetryPeriod } : {}),
  };
}

const program = buildProgram(io);
let serverFailed = false;
program
  .command('server')
  .description('run the all-in-one control plane: API server, controllers, scheduler, node agent and the simulated EC2 account')
  .option('--data-dir <dir>', 'where the store and kubeconfig live', '~/.berth')
  .option('--port <n>', 'port to listen on; 0 picks a free one', '6443')
  .option('--host <ip>', 'address to listen on; other than loopback it needs authentication and TLS', '127.0.0.1')
  .option('--store <kind>', 'sqlite (at <data-dir>/state.db), memory, or etcd://host:port[,host:port…] (an etcd v3 cluster several servers can share)', 'sqlite')
  .option('--token-auth-file <file>', 'require authentication: bearer tokens, CSV lines token,user,uid,"group1,group2" (RBAC then decides every request)')
  .option('--client-ca-file <file>', 'require authentication: client certificates signed by this CA (CN is the user, O the groups); needs TLS')
  .option('--tls-cert-file <file>', 'serve HTTPS with this PEM certificate')
  .option('--tls-private-key-file <file>', 'the PEM private key of --tls-cert-file')
  .option('--audit-log-path <file>', 'append an audit.k8s.io/v1 Event (Metadata level: no bodies) for every write')
  .option('--components <roles>', 'which parts run in this process, comma-separated: apiserver, controllers, scheduler, agent, all (without apiserver, give --server)', 'all')
  .option('--server <url>', 'with --components not including apiserver: the API server to talk to')
  .option('--token <token>', 'bearer token for --server')
  .option('--node-monitor-grace-period <seconds>', 'seconds without a node heartbeat before the node is NotReady (Kubernetes default 40)')
  .option('--leader-elect [bool]', 'run the components only while holding the kube-system/berth-control-plane Lease (default: true with etcd, false otherwise)')
  .option('--leader-elect-lease-duration <duration>', 'how long a leader\'s Lease is valid after its last renewal, e.g. 15s (Kubernetes default 15s)')
  .option('--leader-elect-renew-deadline <duration>', 'how long the leader keeps trying to renew before it stops leading, e.g. 10s (default 10s)')
  .option('--leader-elect-retry-period <duration>', 'time between attempts to acquire or renew the Lease, e.g. 2s (default 2s)')
  .option('--etcd-prefix <prefix>', 'prepended to every etcd key, so clusters can share one etcd (with --store etcd://…)')
  .option('--time-scale <x>', 'cluster seconds per real second (60: one real second is a cluster minute)', '1')
  .option('--boot-delay <seconds>', 'seconds of cluster time every EC2 instance takes to boot (default: per instance family, 35–120 s with jitter)')
  .option('--log-level <level>', 'error, warn, info or debug (JSON lines on stderr)', 'warn')
  .option('--runtime <name>', 'container runtime of nodes without a node.berth.dev/runtime label: sim (simulated) or docker (real containers)', 'sim')
  .option('--docker-host <url>', 'the Docker engine for docker nodes (default $DOCKER_HOST, else unix:///var/run/docker.sock)')
  .action(async (o: Record<string, string>) => {
    const dataDir = o.dataDir === '~/.berth' ? undefined : o.dataDir?.replace(/^~(?=$|\/)/, process.env.HOME ?? '~');
    const [{ runServer, ServerError }, { RemoteError, runRemoteComponents }] = await Promise.all([loadServer(), loadRemote()]);
    try {
      const roles = String(o.components ?? 'all').split(',').map((r) => r.trim()).filter(Boolean);
      if (!roles.includes('all') && !roles.includes('apiserver')) {
        await runRemoteComponents(roles, { ...(o.server ? { server: o.server } : {}), ...(o.token ? { token: o.token } : {}), timeScale: o.timeScale!, logLevel: o.logLevel!, ...(o.nodeMonitorGracePeriod ? { nodeMonitorGracePeriod: o.nodeMonitorGracePeriod } : {}), ...(o.leaderElect !== undefined ? { leaderElect: String(o.leaderElect) !== 'false' } : {}), ...leaseTimings(o) }, io);
        return;
      }
      await runServer({ components: roles, ...Object.fromEntries(['tokenAuthFile', 'clientCaFile', 'tlsCertFile', 'tlsPrivateKeyFile', 'auditLogPath'].filter((k) => o[k]).map((k) => [k, o[k]])), ...(o.nodeMonitorGracePeriod ? { nodeMonitorGracePeriod: o.nodeMonitorGracePeriod } : {}), ...(dataDir ? { dataDir } : {}), port: o.port!, host: o.host!, store: o.store!, ...(o.etcdPrefix ? { etcdPrefix: o.etcdPrefix } : {}), ...(o.leaderElect !== undefined ? { leaderElect: String(o.leaderElect) !== 'false' } : {}), ...leaseTimings(o), timeScale: o.timeScale!, ...(o.bootDelay !== undefined ? { bootDelay: o.bootDelay } : {}), logLevel: o.logLevel!, runtime: o.runtime!, ...(o.dockerHost ? { dockerHost: o.dockerHost } : {}) }, io);
    } catch (e) {
      if (!(e instanceof ServerError) && !(e instanceof RemoteError)) throw e;
      io.stderr(`error: ${e.message}\n`);
      serverFailed = true;
    }
  });

program
  .command('agent')
  .description('run a node agent against an API server: registers its nodes, heartbeats through Leases, runs their pods (simulated runtime)')
  .requiredOption('--server <url>', 'the API server, e.g. http://127.0.0.1:6443')
  .option('--token <token>', 'bearer token to authenticate with')
  .option('--certificate-authority <file>', 'PEM file of the CA that signed the server certificate (https)')
  .option('--name <name>', 'this agent\'s name; its nodes are <name>-0, <name>-1, … (default: the host name)')
  .option('--nodes <n>', 'how many nodes to run', '1')
  .option('--instance-type <type>', 'the EC2 instance type the nodes are sized as (capacity, EKS allocatable)', 'm5.large')
  .option('--labels <k=v,…>', 'extra node labels')
  .option('--address <ip>', 'the loopback address its kubelet endpoint (logs, exec, attach for the API server; plain HTTP) listens on, recorded as its nodes\' InternalIP', '127.0.0.1')
  .option('--port <port>', 'the kubelet endpoint\'s port, reported as the nodes\' daemonEndpoints.kubeletEndpoint.Port (default 0: a free port)', '0')
  .option('--runtime <name>', 'container runtime of its nodes: sim (simulated) or docker (real containers)', 'sim')
  .option('--docker-host <url>', 'the Docker engine for --runtime docker (default $DOCKER_HOST, else unix:///var/run/docker.sock)')
  .option('--data-dir <dir>', 'where pod volumes of docker nodes live (default ~/.berth/agent-<name>)')
  .option('--time-scale <x>', 'must be 1: processes sharing a cluster run on real time', '1')
  .option('--log-level <level>', 'error, warn, info or debug (JSON lines on stderr)', 'warn')
  .action(async (o: Record<string, string>) => {
    const { RemoteError, runAgent } = await loadRemote();
    try {
      await runAgent({ server: o.server!, ...(o.token ? { token: o.token } : {}), ...(o.certificateAuthority ? { caFile: o.certificateAuthority } : {}), ...(o.name ? { name: o.name } : {}), nodes: o.nodes!, instanceType: o.instanceType!, ...(o.labels ? { labels: o.labels } : {}), address: o.address!, port: o.port!, runtime: o.runtime!, ...(o.dockerHost ? { dockerHost: o.dockerHost } : {}), ...(o.dataDir ? { dataDir: o.dataDir } : {}), timeScale: o.timeScale!, logLevel: o.logLevel! }, io);
    } catch (e) {
      if (!(e instanceof RemoteError)) throw e;
      io.stderr(`error: ${e.message}\n`);
      serverFailed = true;
    }
  });

const code = await runCli(process.argv.slice(2), io, program);
process.exitCode = serverFailed ? 1 : code;
