/**
 * `make demo`: the main job end to end, as a new user would run it. Starts `berth server` on a
 * fresh SQLite store in a temporary folder, applies `manifests/demo/` with the `berth` CLI, waits
 * until every pod is Running on the simulated EC2 fleet, prints the nodes (instance type, zone,
 * pods, cpu and memory requested against allocatable) and the fleet's cost per hour, then stops
 * the server. `--keep` (make demo KEEP=1) leaves the server running and says how to use kubectl.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node, Pod } from '../../pkg/api/types.js';
import { Client, Kinds } from '../../pkg/client/client.js';
import { HttpTransport } from '../../pkg/client/http.js';
import { loadKubeconfig } from '../../pkg/client/kubeconfig.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BERTH = join(ROOT, 'dist/cmd/berth/main.js');
const TIME_SCALE = 10;
const TIMEOUT_MS = 120_000;

const keep = process.argv.includes('--keep');
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const step = (s: string): void => say(`\n\x1b[1m== ${s}\x1b[0m`);

function berth(kubeconfig: string, args: string[]): number {
  say(`$ berth ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [BERTH, '--kubeconfig', kubeconfig, ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

async function main(): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-demo-'));
  step(`Starting the control plane: berth server --data-dir ${dataDir} --time-scale ${TIME_SCALE}`);
  say(`(SQLite store; one real second is ${TIME_SCALE} seconds of cluster time, so an m5 or c5 instance boots in about 4 s instead of 40 s, a GPU one in 9 s)`);
  // Kept servers log to a file, so they hold no terminal or pipe of ours once the demo exits.
  const serverLog = join(dataDir, 'server.log');
  const server = spawn(process.execPath, [BERTH, 'server', '--data-dir', dataDir, '--port', '0', '--time-scale', String(TIME_SCALE)], {
    stdio: ['ignore', 'pipe', keep ? openSync(serverLog, 'a') : 'inherit'],
    detached: keep,
  });
  let banner = '';
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`the server did not start:\n${banner}`)), 30_000);
    server.stdout!.on('data', (d: Buffer) => {
      banner += d.toString();
      const m = /listening on (\S+)/.exec(banner);
      if (m && banner.includes('kubeconfig:')) {
        clearTimeout(timer);
        res(m[1]!);
      }
    });
    server.once('exit', (code) => rej(new Error(`the server exited (${code}):\n${banner}`)));
  });
  process.stdout.write(banner.replace(/^/gm, '  '));
  const kubeconfig = join(dataDir, 'kubeconfig');
  const stopServer = async (): Promise<void> => {
    if (server.exitCode !== null) return;
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  };

  try {
    step('Applying manifests/demo/: three Auto Scaling groups and five Deployments');
    if (berth(kubeconfig, ['apply', '-f', join(ROOT, 'manifests/demo')]) !== 0) throw new Error('apply failed');

    step('Waiting for instances to boot, nodes to register and every pod to run');
    const client = new Client(new HttpTransport(loadKubeconfig(kubeconfig).transport));
    const deadline = Date.now() + TIMEOUT_MS;
    let last = '';
    for (;;) {
      const nodes = (await client.list<Node>(Kinds.Node)).items;
      const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
      const pods = (await client.list<Pod>(Kinds.Pod, { namespace: 'default' })).items.filter((p) => !p.metadata.deletionTimestamp);
      const running = pods.filter((p) => p.status?.phase === 'Running').length;
      const line = `  nodes Ready: ${ready}/5   pods Running: ${running}/${pods.length || 15}`;
      if (line !== last) say(line);
      last = line;
      if (ready === 5 && pods.length === 15 && running === 15) break;
      if (Date.now() > deadline) {
        say('\nNot every pod runs; what the scheduler says:');
        berth(kubeconfig, ['get', 'events', '--field-selector', 'type=Warning']);
        throw new Error('timed out waiting for the pods');
      }
      await new Promise((r) => setTimeout(r, 250));
    }

    step('Pods, bin-packed onto the fleet (web and api fill the general group; worker has a nodeSelector; inference tolerates the GPU taint)');
    berth(kubeconfig, ['get', 'pods', '-o', 'wide']);
    step('The fleet: requested resources against allocatable, and what it costs');
    berth(kubeconfig, ['fleet']);
  } catch (e) {
    say(`\ndemo failed: ${(e as Error).message}`);
    await stopServer();
    say(`  the server's data dir is kept for a look: ${dataDir}`);
    return 1;
  }

  if (keep) {
    step('The server keeps running');
    say(`  export KUBECONFIG=${kubeconfig}`);
    say('  kubectl get nodes,pods -o wide');
    say('  npx berth fleet');
    say(`  kill ${server.pid}     # to stop it (its log: ${serverLog})`);
    server.unref();
    server.stdout!.destroy();
    return 0;
  }
  step('Stopping the server');
  await stopServer();
  rmSync(dataDir, { recursive: true, force: true });
  say('  done (make demo KEEP=1 leaves the server running)');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`demo failed: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
