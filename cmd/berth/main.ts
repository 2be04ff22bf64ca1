#!/usr/bin/env node
/**
 * The `berth` command: the CLI verbs of pkg/cli plus `server`, which starts the all-in-one
 * control plane. Exit code 0 on success, 1 after one clear error line on stderr.
 */
import { buildProgram, runCli, type IO } from '../../pkg/cli/index.js';
import { runServer, ServerError } from './server.js';

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

const program = buildProgram(io);
let serverFailed = false;
program
  .command('server')
  .description('run the all-in-one control plane: API server, controllers, scheduler, node agent and the simulated EC2 account')
  .option('--data-dir <dir>', 'where the store and kubeconfig live', '~/.berth')
  .option('--port <n>', 'port to listen on; 0 picks a free one', '6443')
  .option('--host <ip>', 'address to listen on (loopback only)', '127.0.0.1')
  .option('--store <kind>', 'sqlite (at <data-dir>/state.db) or memory', 'sqlite')
  .option('--time-scale <x>', 'cluster seconds per real second (60: one real second is a cluster minute)', '1')
  .option('--boot-delay <seconds>', 'seconds of cluster time every EC2 instance takes to boot (default: per instance family, 35–120 s with jitter)')
  .option('--log-level <level>', 'error, warn, info or debug (JSON lines on stderr)', 'warn')
  .option('--runtime <name>', 'container runtime of nodes without a node.berth.dev/runtime label: sim (simulated) or docker (real containers)', 'sim')
  .option('--docker-host <url>', 'the Docker engine for docker nodes (default $DOCKER_HOST, else unix:///var/run/docker.sock)')
  .action(async (o: Record<string, string>) => {
    const dataDir = o.dataDir === '~/.berth' ? undefined : o.dataDir?.replace(/^~(?=$|\/)/, process.env.HOME ?? '~');
    try {
      await runServer({ ...(dataDir ? { dataDir } : {}), port: o.port!, host: o.host!, store: o.store!, timeScale: o.timeScale!, ...(o.bootDelay !== undefined ? { bootDelay: o.bootDelay } : {}), logLevel: o.logLevel!, runtime: o.runtime!, ...(o.dockerHost ? { dockerHost: o.dockerHost } : {}) }, io);
    } catch (e) {
      if (!(e instanceof ServerError)) throw e;
      io.stderr(`error: ${e.message}\n`);
      serverFailed = true;
    }
  });

const code = await runCli(process.argv.slice(2), io, program);
process.exitCode = serverFailed ? 1 : code;
