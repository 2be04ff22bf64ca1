import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Pod } from '../api/types.js';
import { renderKubeconfig } from '../client/kubeconfig.js';
import { Kinds } from '../client/client.js';
import { runCli } from '../cli/program.js';
import type { IO } from '../cli/types.js';
import { VirtualClock } from '../clock/clock.js';
import { eventually, makeNode, makePod, startTestApi } from '../testing/index.js';
import { installScheduler } from './install.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-sched-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[], kubeconfig?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: IO = { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), stdin: async () => '', env: { KUBECONFIG: kubeconfig ?? join(dir, 'none'), HOME: dir } };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

t.test('berth bench scheduler prints and writes the figures the issue names', async (t) => {
  const file = join(dir, 'out.json');
  const r = await run(['bench', 'scheduler', '--nodes', '60', '--pods', '600', '--workload', 'mixed', '--seed', '7', '--json', file]);
  t.equal(r.code, 0, r.stderr);
  const printed = JSON.parse(r.stdout);
  t.same(JSON.parse(readFileSync(file, 'utf8')), printed, 'the file holds what was printed');
  for (const k of ['algorithm', 'workload', 'nodes', 'pods', 'placed', 'unschedulable', 'seconds', 'podsPerSecond', 'nodesUsed', 'lowerBoundNodes', 'peakRssBytes']) t.ok(k in printed, `has ${k}`);
  t.match(printed, { algorithm: 'berth', workload: 'mixed', nodes: 60, pods: 600, valid: true, violations: [] });
  t.equal(printed.placed + printed.unschedulable, 600);
  t.ok(printed.nodesUsed >= printed.lowerBoundNodes, 'no packing beats the lower bound');

  const base = await run(['bench', 'scheduler', '--nodes', '60', '--pods', '600', '--workload', 'mixed', '--seed', '7', '--algorithm', 'kube-baseline']);
  t.equal(base.code, 0, base.stderr);
  t.match(JSON.parse(base.stdout), { algorithm: 'kube-baseline', valid: true, pods: 600 });

  const again = JSON.parse((await run(['bench', 'scheduler', '--nodes', '60', '--pods', '600', '--workload', 'mixed', '--seed', '7'])).stdout);
  t.same([again.placed, again.nodesUsed, again.placementSteps], [printed.placed, printed.nodesUsed, printed.placementSteps], 'the same seed gives the same placement');

  // The warm-up (1/20 the size, the next seed) is reported, and --no-warmup measures a cold process with the same placement.
  t.match(printed.warmup, { nodes: 3, pods: 30, seed: 8 });
  t.ok(printed.warmup.seconds >= 0, 'the warm-up has its own time');
  const cold = JSON.parse((await run(['bench', 'scheduler', '--nodes', '60', '--pods', '600', '--workload', 'mixed', '--seed', '7', '--no-warmup'])).stdout);
  t.equal(cold.warmup, null, 'no warm-up with --no-warmup');
  t.same([cold.placed, cold.nodesUsed, cold.placementSteps], [printed.placed, printed.nodesUsed, printed.placementSteps], 'the warm-up does not change the measured placement');
});

t.test('berth bench scheduler restricts the fleet with --instance-types and rejects bad flags in one line', async (t) => {
  const r = await run(['bench', 'scheduler', '--nodes', '20', '--pods', '200', '--instance-types', 'm5.xlarge']);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout).instanceTypes, ['m5.xlarge']);
  for (const [args, msg] of [
    [['--workload', 'gpu'], /--workload must be resources or mixed, got "gpu"/],
    [['--algorithm', 'nomad'], /--algorithm must be berth or kube-baseline/],
    [['--nodes', 'ten'], /--nodes must be a non-negative integer, got "ten"/],
    [['--fill', '1.5'], /--fill must be a number in \(0, 1\]/],
    [['--instance-types', 'm5.huge'], /unknown instance type "m5.huge"/],
  ] as const) {
    const bad = await run(['bench', 'scheduler', '--nodes', '5', '--pods', '5', ...args]);
    t.equal(bad.code, 1);
    t.match(bad.stderr, msg);
    t.equal(bad.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  }
});

t.test('berth explain pod: the top nodes and plugin scores of a scheduled pod; the reasons of a pending one', async (t) => {
  const clock = new VirtualClock();
  const api = await startTestApi({ clock });
  await installScheduler(api.api, api.mgr, { batchThreshold: Infinity });
  await api.start();
  const app = api.api.http();
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, renderKubeconfig(url));
  t.teardown(async () => {
    await app.close();
    await api.stop();
  });
  const c = api.client;
  await c.create(makeNode('n1').capacity({ cpu: '4', memory: '16Gi' }).obj());
  await c.create(makeNode('n2').capacity({ cpu: '4', memory: '16Gi' }).obj());
  await c.create(makeNode('gpu').capacity({ cpu: '4', memory: '16Gi' }).taint({ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }).obj());
  await c.create(makePod('busy').req({ cpu: '2', memory: '2Gi' }).node('n2').obj());
  await c.create(makePod('web').req({ cpu: '1', memory: '1Gi' }).obj());
  const node = await eventually(async () => (await c.get<Pod>(Kinds.Pod, 'web', 'default')).spec.nodeName, 'web bound', 10_000, clock);
  t.equal(node, 'n2', 'MostAllocated: the node already in use');

  const r = await run(['explain', 'pod', 'web'], kubeconfig);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /Node:\s+n2/);
  t.match(r.stdout, /Feasible:\s+2\/3 nodes/);
  t.match(r.stdout, /Rejected:\s+1 node\(s\) had untolerated taint \{dedicated: gpu\}/);
  t.match(r.stdout, /NODE\s+TOTAL\s+.*NodeResourcesFit/);
  const rows = r.stdout.split('\n').filter((l) => /^[* ] (n1|n2)\b/.test(l));
  t.equal(rows.length, 2, 'both feasible nodes are listed');
  t.match(rows[0], /^\* n2/, 'the chosen node first, marked');

  const j = JSON.parse((await run(['explain', 'pod', 'web', '-o', 'json'], kubeconfig)).stdout);
  t.equal(j.node, 'n2');
  t.equal(j.top[0].node, 'n2');
  t.ok(j.top[0].total > j.top[1].total, 'the chosen node has the best total');
  const fit = j.plugins.indexOf('NodeResourcesFit');
  t.ok(fit >= 0 && j.top[0].scores[fit] > j.top[1].scores[fit], 'NodeResourcesFit (MostAllocated) is what preferred n2');

  await c.create(makePod('huge').req({ cpu: '8' }).obj());
  const pending = await eventually(async () => {
    const out = await run(['explain', 'pod', 'huge'], kubeconfig);
    return /not scheduled/.test(out.stdout) && !/no scheduling attempt/.test(out.stdout) ? out : undefined;
  }, 'huge explained', 10_000, clock);
  t.match(pending.stdout, /0\/3 nodes are available: 1 node\(s\) had untolerated taint \{dedicated: gpu\}, 2 Insufficient cpu/);

  const missing = await run(['explain', 'pod', 'nope'], kubeconfig);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /NotFound/);
  const kind = await run(['explain', 'node', 'n1'], kubeconfig);
  t.equal(kind.code, 1);
  t.match(kind.stderr, /explain supports pods only/);
});
