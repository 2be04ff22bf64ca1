import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { runCli } from '../cli/program.js';
import { parseManifest } from '../cli/manifest.js';
import type { IO } from '../cli/types.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import { runSimulation, type SimulationSummary } from './engine.js';
import { parseEvents } from './events.js';
import { ActivityBackend, quiescence } from './quiescence.js';

const HOUR = 3_600_000;
const M5_LARGE = 0.096; // USD per hour, us-east-1 On-Demand (data/ec2-instance-types.csv)

const FLEET = `
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: steady}
spec:
  minSize: 0
  maxSize: 10
  desiredCapacity: 3
  launchTemplate: {instanceType: m5.large}
  availabilityZones: [us-east-1a, us-east-1b]
`;
const WEB = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: nginx, image: nginx:1.27, resources: {requests: {cpu: 500m, memory: 512Mi}}}
`;
const EXTRA = WEB.replace(/web/g, 'extra').replace('replicas: 2', 'replicas: 1');

const dir = mkdtempSync(join(tmpdir(), 'berth-simulate-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const fleetFile = file('fleet.yaml', `${FLEET}---${WEB}`);
file('extra.yaml', EXTRA);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: IO = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stdin: async () => '', env: {} };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

const docs = (text: string) => parseManifest('test.yaml', text);
const near = (a: number, b: number, eps = 1e-6): boolean => Math.abs(a - b) < eps;

t.test('settling waits for work that yields with setImmediate between store calls', async (t) => {
  const backend = new ActivityBackend(new MemoryBackend());
  const settle = quiescence(backend);
  let written = 0;
  const work = (async () => {
    for (let i = 0; i < 50; i++) {
      await backend.create(`/registry/core/configmaps/default/c${i}`, '{}');
      written++;
      await new Promise<void>((r) => setImmediate(r));
    }
  })();
  await settle();
  t.equal(written, 50, 'every write happened before the cluster was called quiet');
  t.equal(backend.inFlight, 0);
  t.equal(backend.ops, 50);
  await work;
  await backend.close();
});

t.test('a day of a steady fleet costs instances × hourly price × 24', async (t) => {
  // Instances that boot at once, so the fleet runs the whole day: 3 × $0.096 × 24 h = $6.912.
  const s = await runSimulation({ manifests: docs(`${FLEET}---${WEB}`), durationMs: 24 * HOUR, cloud: { bootDelaySeconds: 0 } });
  t.equal(s.durationSeconds, 86_400);
  t.ok(near(s.cost.totalUSD, 3 * M5_LARGE * 24), `total ${s.cost.totalUSD} is $6.912`);
  t.ok(near(s.cost.byPurchaseOption['on-demand'], 6.912));
  t.same([s.cost.byPurchaseOption.spot, s.cost.byPurchaseOption.reserved, s.cost.byPurchaseOption['savings-plan'], s.cost.byPurchaseOption['dedicated-host']], [0, 0, 0, 0]);
  t.ok(near(s.cost.byInstanceType['m5.large']!.usd, 6.912));
  t.ok(near(s.instanceHours, 72), `instance-hours ${s.instanceHours} are 3 × 24`);
  t.same(s.nodes, { peak: 3, average: 3, final: 3 });
  t.equal(s.timeline.length, 24);
  t.ok(s.timeline.every((row) => near(row.costUSD, 3 * M5_LARGE)), 'every hour costs $0.288');
  t.same(s.pods, { created: 2, peakRunning: 2, running: 2, pendingAtEnd: 0, deletedWhilePending: 0 });
  t.equal(s.podPendingSeconds.count, 2);
  t.ok(s.podPendingSeconds.p99! < 60, 'the pods start within a minute on nodes that are already there');
});

t.test('berth simulate: the same seed gives the same JSON, byte for byte; another seed another run', async (t) => {
  const events = file('det-events.yaml', '- {at: 1h, action: fail-instance, count: 1}\n- {at: 90m, action: scale, target: deployment/web, replicas: 4}\n');
  const run = (seed: string) => cli(['simulate', '-f', fleetFile, '--duration', '3h', '--events', events, '--seed', seed, '-o', 'json']);
  const a = await run('7');
  const b = await run('7');
  const c = await run('8');
  t.equal(a.code, 0, a.stderr);
  t.equal(a.stderr, '', 'no progress bar when stderr is not a terminal');
  t.equal(a.stdout, b.stdout, 'seed 7 twice: identical');
  t.not(a.stdout, c.stdout, 'seed 8: a different run (other instance ids, boot times, victim)');
  const s = JSON.parse(a.stdout) as SimulationSummary;
  t.equal(s.instanceFailures, 1);
  t.match(s.events[0], { at: '1h', action: 'fail-instance', result: /^failed 1 instance: i-0[0-9a-f]{16}$/ });
});

t.test('-o json has the summary keys the issue names', async (t) => {
  const r = await cli(['simulate', '-f', fleetFile, '--duration', '90m', '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as SimulationSummary;
  t.match(s, {
    durationSeconds: 5400,
    cost: { totalUSD: Number, byPurchaseOption: { 'on-demand': Number, spot: 0, reserved: 0, 'savings-plan': 0, 'dedicated-host': 0 }, byInstanceType: { 'm5.large': { usd: Number } } },
    instanceHours: Number,
    nodes: { peak: 3, average: Number, final: 3 },
    podPendingSeconds: { p50: Number, p99: Number },
    interruptions: 0,
  });
  t.same(s.timeline.map((r) => r.hour), [1, 1.5], 'hourly rows, and a last one for the half hour');
  // Boot takes tens of seconds (per family, with jitter): the pods wait for the nodes.
  t.ok(s.podPendingSeconds.p50! > 20 && s.podPendingSeconds.p99! < 300, `pending p50 ${s.podPendingSeconds.p50}s, p99 ${s.podPendingSeconds.p99}s`);
  t.ok(s.nodes.average < 3 && s.nodes.average > 2.9, 'the nodes were missing while they booted');
  t.ok(near(s.cost.totalUSD, s.timeline.reduce((x, r) => x + r.costUSD, 0)), 'the timeline adds up to the bill');
});

t.test('-f given twice: both files are applied at time zero', async (t) => {
  const r = await cli(['simulate', '-f', fleetFile, '-f', join(dir, 'extra.yaml'), '--duration', '1h', '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as SimulationSummary;
  // fleet.yaml: the group and web (2 pods); extra.yaml: extra (1 pod), on the same three nodes.
  t.same(s.timeline.map((row) => [row.hour, row.nodes, row.pods, row.pendingPods]), [[1, 3, 3, 0]]);
  t.equal(s.pods.created, 3, 'web ×2 from the first file and extra ×1 from the second');
});

t.test('after boot, each day of the fleet costs exactly 3 × $0.096 × 24 (to the cent)', async (t) => {
  const r = await cli(['simulate', '-f', fleetFile, '--duration', '25h', '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as SimulationSummary;
  // Hour 1 holds the boot (not billed); hours 2 to 25 are a whole day of three running instances.
  const day = s.timeline.slice(1).reduce((x, row) => x + row.costUSD, 0);
  t.equal(s.timeline.length, 25);
  t.equal(Math.round(day * 100) / 100, 6.91);
  t.ok(near(day, 6.912), `the day after boot costs ${day}`);
  t.ok(s.timeline[0]!.costUSD < 0.288, 'the first hour costs less: instances were pending');
});

t.test('timed events: apply at 30m, scale at 2h, delete at 3h, scale the Auto Scaling group at 4h', async (t) => {
  const events = parseEvents(
    join(dir, 'events.yaml'),
    `
- {at: 30m, action: apply, file: extra.yaml}
- {at: 2h, action: scale, target: deployment/web, namespace: default, replicas: 6}
- {at: 3h, action: delete, target: deployment/extra}
- {at: 4h, action: scale, target: asg/steady, replicas: 4}
`,
  );
  const s = await runSimulation({ manifests: docs(`${FLEET}---${WEB}`), events, durationMs: 5 * HOUR, seed: 3 });
  // Rows give the state at the end of each hour (before that instant's events).
  t.same(
    s.timeline.map((r) => [r.hour, r.nodes, r.pods, r.pendingPods]),
    [
      [1, 3, 3, 0], // web 2 + extra 1 (applied at 30m)
      [2, 3, 3, 0],
      [3, 3, 7, 0], // web scaled to 6 at 2h
      [4, 3, 6, 0], // extra deleted at 3h
      [5, 4, 6, 0], // a fourth instance from 4h
    ],
  );
  t.ok(s.timeline[4]!.costUSD > s.timeline[3]!.costUSD, 'the fourth instance costs from then on');
  t.same(
    s.events.map((e) => [e.at, e.event, e.result]),
    [
      ['30m', 'apply extra.yaml', 'deployment.apps/extra created'],
      ['2h', 'scale deployment/web -n default to 6', 'deployment.apps/web scaled from 2 to 6'],
      ['3h', 'delete deployment/extra', 'deployment.apps/extra deleted'],
      ['4h', 'scale asg/steady to 4', 'autoscalinggroup.autoscaling.berth.dev/steady scaled from 3 to 4'],
    ],
  );
  t.same(s.nodes, { peak: 4, average: s.nodes.average, final: 4 });
  t.equal(s.pods.created, 7);
});

t.test('the report, and a progress bar on stderr when it is a terminal', async (t) => {
  let stdout = '';
  let stderr = '';
  const io: IO = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stdin: async () => '', env: {}, stderrIsTTY: true };
  const code = await runCli(['simulate', '-f', fleetFile, '--duration', '2h'], io);
  t.equal(code, 0, stderr);
  t.match(stdout, /^Simulated 2h of cluster time \(seed 1\), 2026-01-01T00:00:00Z to 2026-01-01T02:00:00Z in [\d.]+ s/);
  t.match(stdout, /\nPURCHASE-OPTION +USD\non-demand +\$0\.5\d{3}\nspot +\$0\.0000\nreserved +\$0\.0000\nsavings-plan +\$0\.0000\ndedicated-host +\$0\.0000\n/);
  t.match(stdout, /\nINSTANCE-TYPE +INSTANCE-HOURS +USD +EFFECTIVE\/H\nm5\.large +5\.9\d +\$0\.5\d{3} +\$0\.0960\n/);
  t.match(stdout, /\nNodes: peak 3, average 2\.9\d, final 3\n/);
  t.match(stdout, /\nPod pending time \(creation to Running\): p50 [\d.]+s, p99 [\d.]+s, max [\d.]+s over 2 pods/);
  t.match(stdout, /\nHOUR +TIME +NODES +PODS +PENDING +COST\n1 +2026-01-01T01:00:00Z +3 +2 +0 +\$0\.2\d{3}\n2 +2026-01-01T02:00:00Z +3 +2 +0 +\$0\.2880\n$/);
  t.match(stderr, /^\r\[[#.]{30}\] +\d+%  /, 'the bar is drawn on stderr');
  t.match(stderr, /\r\x1b\[K$/, 'and cleared at the end');
});

t.test('manifests/simulate/day.yaml: a day of the demo cluster', async (t) => {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');
  const r = await cli(['simulate', '-f', join(repo, 'manifests/demo'), '--duration', '24h', '--events', join(repo, 'manifests/simulate/day.yaml'), '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as SimulationSummary;
  t.same(
    s.events.map((e) => e.event),
    ['scale asg/general to 5', 'scale deployment/web -n default to 12', 'fail-instance 1', 'scale deployment/web to 6', 'scale asg/general to 3', 'delete deployment/worker'],
  );
  t.equal(s.instanceFailures, 1);
  const at = (hour: number) => s.timeline.find((row) => row.hour === hour)!;
  t.equal(at(8).nodes, 5, 'three general, one compute, one GPU node before the morning');
  t.equal(at(9).nodes, 7, 'two more general nodes from 8h');
  t.equal(at(19).nodes, 5, 'back to three general nodes in the evening');
  t.ok(s.timeline.every((row) => row.pendingPods === 0), 'no pod waits at any hour: the tainted compute group is kept for the workers');
  t.equal(at(8).pods, 15, 'the five Deployments of the demo run in full');
  t.equal(at(24).pods, at(8).pods - 3, 'the three batch workers are gone for the night');
  t.equal(at(21).pods, at(20).pods - 3, '…from 20h');
  // A steady hour: 3 × m5.xlarge $0.192 + c5.2xlarge $0.34 + g5.xlarge $1.006 = $1.922.
  t.ok(near(at(3).costUSD, 3 * 0.192 + 0.34 + 1.006), `a quiet hour costs ${at(3).costUSD}`);
  t.equal(s.pods.pendingAtEnd, 0);
});

t.test('every purchase option in one run: Spot interrupted by an event, a Reserved Instance, a Savings Plan, a Dedicated Host', async (t) => {
  const manifests = docs(`
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: od}
spec: {minSize: 0, maxSize: 4, desiredCapacity: 2, launchTemplate: {instanceType: m5.large}, availabilityZones: [us-east-1a]}
---
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: spot}
spec:
  minSize: 0
  maxSize: 8
  desiredCapacity: 4
  launchTemplate: {instanceType: c5.large}
  mixedInstancesPolicy:
    instancesDistribution: {onDemandPercentageAboveBaseCapacity: 0}
  availabilityZones: [us-east-1a, us-east-1b]
---
apiVersion: billing.berth.dev/v1
kind: ReservedInstance
metadata: {name: ri-m5-large}
spec: {instanceType: m5.large, instanceCount: 1}
---
apiVersion: billing.berth.dev/v1
kind: SavingsPlan
metadata: {name: sp-compute}
spec: {savingsPlanType: Compute, commitment: "0.03"}
---
apiVersion: ec2.berth.dev/v1
kind: DedicatedHost
metadata: {name: h-0123456789abcdef0}
spec: {instanceFamily: m5, availabilityZone: us-east-1a, autoPlacement: "on"}
---
apiVersion: ec2.berth.dev/v1
kind: Instance
metadata: {name: i-0123456789abcdef0}
spec: {instanceType: m5.2xlarge, availabilityZone: us-east-1a, tenancy: host}
`);
  const events = parseEvents(join(dir, 'spot-events.yaml'), '- {at: 2h, action: interrupt-spot, fraction: 0.5}\n');
  const s = await runSimulation({ manifests, events, durationMs: 4 * HOUR, seed: 5, cloud: { bootDelaySeconds: 0 } });
  const c = s.cost;
  // Each hour, by hand (modelled rates in pkg/cloud/pricing.ts): the RI (1-year standard No
  // Upfront, 37.5 % off) covers one m5.large at $0.06/h; the Compute plan's $0.03/h buys
  // $0.03 / ($0.096 × 0.72) of the other one, the rest of it is On-Demand; the m5 host is billed
  // at m5.24xlarge × 1.1 = $5.0688/h and the instance on it costs nothing.
  const odPerHour = M5_LARGE * (1 - 0.03 / (M5_LARGE * 0.72));
  t.ok(near(c.byPurchaseOption.reserved, 0.06 * 4), `reserved ${c.byPurchaseOption.reserved}`);
  t.ok(near(c.byPurchaseOption['savings-plan'], 0.03 * 4), `savings plan ${c.byPurchaseOption['savings-plan']}`);
  t.ok(near(c.byPurchaseOption['on-demand'], odPerHour * 4), `on-demand ${c.byPurchaseOption['on-demand']} = ${odPerHour * 4}`);
  t.ok(near(c.byPurchaseOption['dedicated-host'], 5.0688 * 4), `dedicated host ${c.byPurchaseOption['dedicated-host']}`);
  t.equal(c.byInstance['i-0123456789abcdef0']?.usd, 0, 'the instance on the host is not billed itself');
  // Spot: four c5.large all run, at the market's price (well below $0.085), two of them only until 2h02m.
  t.ok(c.byPurchaseOption.spot > 0 && c.byPurchaseOption.spot < 0.6 * 0.085 * (2 * 4 + 2 * 2 + 2 * 2), `spot ${c.byPurchaseOption.spot}`);
  t.ok(near(c.totalUSD, c.byPurchaseOption.reserved + c.byPurchaseOption['savings-plan'] + c.byPurchaseOption['on-demand'] + c.byPurchaseOption['dedicated-host'] + c.byPurchaseOption.spot));
  t.match(s.events[0], { at: '2h', action: 'interrupt-spot', result: /^sent interruption notices to 2 Spot instances: i-0[0-9a-f]{16}, i-0[0-9a-f]{16}$/ });
  t.equal(s.interruptions, 2, 'two notices, both from the event (the market interrupted none in these 4 hours)');
  const interrupted = Object.entries(c.byInstance).filter(([, l]) => l.purchaseOption === 'spot' && near(l.instanceHours, 2 + 2 / 60));
  t.equal(interrupted.length, 2, 'the two ran until the deadline, two minutes after the notice');
  const spotLines = Object.values(c.byInstance).filter((l) => l.purchaseOption === 'spot');
  t.equal(spotLines.length, 6, 'the group replaced both');
  t.equal(s.nodes.final, 2 + 4 + 1, 'two On-Demand, four Spot and the instance on the host');
  // 2 × 4 h On-Demand + 4 h on the host + Spot: 2 × 4 h, 2 × 2h02m, and the replacements from 2h02m.
  t.ok(near(s.instanceHours, 8 + 4 + 8 + 2 * (2 + 2 / 60) + 2 * (2 - 2 / 60)), `instance-hours ${s.instanceHours} are 28`);
  t.ok(near(c.byAutoScalingGroup.od!.instanceHours, 8) && near(c.byInstanceType['m5.2xlarge']!.instanceHours, 4), 'instance-hours by group and type');
  t.same(
    c.commitments.map((x) => [x.id, x.kind, x.utilization]),
    [
      ['ri-m5-large', 'ReservedInstance', 1],
      ['sp-compute', 'SavingsPlan', 1],
    ],
    'both commitments fully used',
  );
});

t.test('bad input: one clear line, exit code 1, nothing run', async (t) => {
  const bad = file('bad-events.yaml', '- {at: 2h, action: scale, target: deployment/web, replica: 4}\n');
  let r = await cli(['simulate', '-f', fleetFile, '--duration', '4h', '--events', bad]);
  t.same(r, { code: 1, stdout: '', stderr: `error: ${bad}:1: event 1 (scale): replica: unknown field for scale: it takes at, action, target, namespace, replicas\n` });

  r = await cli(['simulate', '-f', fleetFile]);
  t.same(r, { code: 1, stdout: '', stderr: 'error: --duration is required: how long to simulate, e.g. 30m, 2h, 24h\n' });
  r = await cli(['simulate', '-f', fleetFile, '--duration', '24']);
  t.same(r, { code: 1, stdout: '', stderr: 'error: invalid --duration: "24" has no unit: write it as 24s, 24m or 24h\n' });
  r = await cli(['simulate', '-f', fleetFile, '--duration', '1h', '--seed', 'abc']);
  t.same(r, { code: 1, stdout: '', stderr: 'error: invalid --seed "abc": must be a whole number ≥ 0\n' });
  r = await cli(['simulate', '--duration', '1h']);
  t.same(r, { code: 1, stdout: '', stderr: 'error: must specify -f with the manifests to apply at time zero\n' });
  r = await cli(['simulate', '-f', fleetFile, '--duration', '1h', '-o', 'yaml']);
  t.match(r, { code: 1, stderr: /^error: unable to match a printer suitable for the output format "yaml", allowed formats are: json\n$/ });

  const late = file('late.yaml', '- {at: 5h, action: fail-instance, count: 1}\n');
  r = await cli(['simulate', '-f', fleetFile, '--duration', '4h', '--events', late]);
  t.same(r, { code: 1, stdout: '', stderr: `error: ${late}:1: event 1 (fail-instance): at: 5h is after the end of the simulation (--duration 4h)\n` });

  const unknownKind = file('unknown-kind.yaml', '- {at: 2h, action: scale, target: deploymnt/web, replicas: 4}\n');
  r = await cli(['simulate', '-f', fleetFile, '--duration', '4h', '--events', unknownKind]);
  t.match(r, { code: 1, stdout: '', stderr: new RegExp(`^error: ${unknownKind}:1: event 1 \\(scale\\) at 2h: target: .*deploymnt.*\\n$`) });

  const notScalable = file('not-scalable.yaml', '- {at: 2h, action: scale, target: configmap/web, replicas: 4}\n');
  r = await cli(['simulate', '-f', fleetFile, '--duration', '4h', '--events', notScalable]);
  t.same(r, { code: 1, stdout: '', stderr: `error: ${notScalable}:1: event 1 (scale) at 2h: target: configmaps cannot be scaled: the server has no scale subresource for them\n` });

  const missing = file('missing.yaml', '- {at: 1h, action: delete, target: deployment/nope}\n');
  r = await cli(['simulate', '-f', fleetFile, '--duration', '2h', '--events', missing]);
  t.same(r, { code: 1, stdout: '', stderr: `error: ${missing}:1: event 1 (delete) at 1h: deployments.apps "nope" not found\n` });

  const invalid = file('invalid.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  replicas: -2\n  selector: {matchLabels: {app: bad}}\n  template:\n    metadata: {labels: {app: bad}}\n    spec:\n      containers: [{name: c, image: nginx}]\n');
  r = await cli(['simulate', '-f', invalid, '--duration', '1h']);
  t.match(r, { code: 1, stdout: '', stderr: new RegExp(`^error: ${invalid}:5: Deployment "bad" is invalid: spec.replicas: .*\\n$`) });
});
