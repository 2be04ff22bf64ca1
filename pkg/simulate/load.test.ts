/**
 * `load` events in `berth simulate`: a step of requests at a LoadBalancer Service makes the HPA
 * scale its Deployment out within two minutes of virtual time and back in only after the 300 s
 * scale-down stabilization window; the summary counts requests served, errors and latency and
 * lists the healthy targets over time. Also: the load balancer's own 503s when no pod is behind
 * it, and events-file mistakes reported with the file, line and field path.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseManifest } from '../cli/manifest.js';
import { runCli } from '../cli/program.js';
import type { IO } from '../cli/types.js';
import { renderSummary } from './command.js';
import { runSimulation } from './engine.js';
import { parseEvents } from './events.js';
import { FLEET, HPA, WEB } from './load.testutil.js';

const docs = (text: string) => parseManifest('test.yaml', text);
const MIN = 60_000;

t.test('a load step scales the Deployment out within 2 minutes and back in after the 300 s window', async (t) => {
  const events = parseEvents('/sim/events.yaml', `
- at: 5m
  action: load
  target: service/web
  profile: {type: steps, steps: [{at: 0s, rps: 40}, {at: 10m, rps: 0}]}
`);
  const s = await runSimulation({ manifests: docs(`${FLEET}---${WEB(1)}---${HPA}`), events, durationMs: 30 * MIN, seed: 7 });
  t.equal(s.events[0]!.result, 'steps 40→0 rps to target group web-80');
  t.equal(s.load.length, 1);
  const l = s.load[0]!;
  t.match(l, { target: 'service/web', namespace: 'default', targetGroup: 'web-80' });
  // 40 a second for 600 s.
  t.ok(l.requests >= 23_900 && l.requests <= 24_040, `requests ${l.requests}`);
  t.equal(l.served, l.requests, 'every request served');
  t.equal(l.targetErrors, 0);
  t.equal(l.noTargets, 0);
  t.same(l.httpCodes, { '2xx': l.requests });
  t.same(l.latencyMs, { p50: 20, p90: 20, p99: 20, max: 20 }, "the pods' 20 ms service time");
  // Eight pods at 50 % of their 100m carry 400m; the HPA may overshoot by one while the older
  // pods' 15 s CPU windows still hold the load they carried alone (as metrics lag does in Kubernetes).
  t.ok(l.peakHealthy >= 8 && l.peakHealthy <= 9, `peak ${l.peakHealthy} healthy targets`);
  const first8 = l.targets.find((x) => x.healthy >= 8)!;
  t.ok(first8, `reached 8 healthy targets: ${JSON.stringify(l.targets)}`);
  const upAfter = first8.seconds - 300;
  t.ok(upAfter > 0 && upAfter <= 120, `8 healthy targets ${upAfter} s after the step`);
  // Load ends at 15m: nothing goes before the 300 s stabilization window, then back to 1.
  const during = l.targets.filter((x) => x.seconds > first8.seconds && x.seconds < 900 + 300);
  t.ok(during.every((x) => x.healthy >= 8), `no scale-in below 8 before 20m: ${JSON.stringify(during)}`);
  const back = l.targets.find((x) => x.seconds >= 900 && x.healthy === 1);
  t.ok(back, 'back to one target');
  const downAfter = back!.seconds - 900;
  t.ok(downAfter >= 300 && downAfter <= 360, `down to 1 target ${downAfter} s after the load stopped`);
  t.equal(l.targets.at(-1)!.healthy, 1);
  t.equal(s.pods.running, 1, 'one pod at the end');
  t.ok(s.pods.created >= 8 && s.pods.created <= 9, `${s.pods.created - 1} pods added for the load`);
});

t.test('no pod behind the load balancer: it answers 503 itself; the report shows the load', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-load-'));
  writeFileSync(join(dir, 'app.yaml'), `${FLEET}---${WEB(0)}`);
  writeFileSync(join(dir, 'traffic.csv'), 'seconds,rps\n0,10\n60,10\n');
  writeFileSync(join(dir, 'events.yaml'), '- {at: 1m, action: load, target: svc/web, port: 80, profile: {type: series, file: traffic.csv}}\n');
  let stdout = '';
  let stderr = '';
  const io: IO = { stdout: (x) => void (stdout += x), stderr: (x) => void (stderr += x), stdin: async () => '', env: {} };
  const code = await runCli(['simulate', '-f', join(dir, 'app.yaml'), '--duration', '3m', '--events', join(dir, 'events.yaml'), '-o', 'json'], io);
  t.equal(code, 0, stderr);
  const s = JSON.parse(stdout) as { load: { requests: number; noTargets: number; served: number; latencyMs: { p50: number | null } }[] };
  t.equal(s.load[0]!.requests, 1200, '10 a second for 2 minutes');
  t.equal(s.load[0]!.noTargets, 1200, 'all answered 503 by the load balancer');
  t.equal(s.load[0]!.served, 0);
  t.equal(s.load[0]!.latencyMs.p50, null);
  stdout = '';
  t.equal(await runCli(['simulate', '-f', join(dir, 'app.yaml'), '--duration', '3m', '--events', join(dir, 'events.yaml')], io), 0);
  t.match(stdout, /TARGET-GROUP\s+REQUESTS\s+SERVED\s+TARGET-ERRORS\s+NO-TARGET-503[^\n]*\ndefault\/web-80\s+1200\s+0\s+0\s+1200\s+-/);
  t.match(stdout, /Targets of default\/web-80 over time:\nAT\s+TARGETS\s+HEALTHY\n1m\s+0\s+0\n/);

  // A target that is not a LoadBalancer Service is an error naming the event.
  writeFileSync(join(dir, 'cm.yaml'), `${FLEET}---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{name: a, port: 80}, {name: b, port: 81}]}\n`);
  writeFileSync(join(dir, 'ev2.yaml'), '- {at: 0s, action: load, target: service/web, profile: {type: constant, rps: 1}}\n');
  stderr = '';
  t.equal(await runCli(['simulate', '-f', join(dir, 'cm.yaml'), '--duration', '1m', '--events', join(dir, 'ev2.yaml')], io), 1);
  t.match(stderr, /ev2\.yaml:1: event 1 \(load\) at 0s: target: service\/web is of type ClusterIP: a load event needs a Service of type LoadBalancer/);
});

t.test('load events are checked when the file is read, with line and field path', async (t) => {
  const files: Record<string, string> = { '/sim/bad.csv': 'seconds,rps\n0,5\n60,lots\n' };
  const parse = (text: string) => parseEvents('/sim/events.yaml', text, { durationMs: 3_600_000, readFile: (p) => files[p] ?? (() => { throw new Error('ENOENT'); })() });
  const ok = parse(`
- {at: 0s, action: load, target: service/web, profile: {type: constant, rps: 5}}
- {at: 1m, action: load, target: lb/web, port: 80, profile: {type: ramp, fromRps: 0, toRps: 100, over: 10m}}
- {at: 2m, action: load, target: tg/web-80, namespace: shop, profile: {type: daily, minRps: 1, maxRps: 9, peakHour: 20}}
`);
  t.same(ok.map((e) => (e.action === 'load' ? e.profile : undefined)), [
    { type: 'constant', rps: 5 },
    { type: 'series', points: [{ atSeconds: 0, rps: 0 }, { atSeconds: 600, rps: 100 }] },
    { type: 'daily', minRps: 1, maxRps: 9, peakHour: 20 },
  ]);
  const bad: [string, RegExp][] = [
    ['- {at: 0s, action: load, target: deployment/web, profile: {type: constant, rps: 5}}', /events\.yaml:1: event 1 \(load\): target: "deployment\/web" must be service\/NAME/],
    ['- {at: 0s, action: load, target: service/web}', /event 1 \(load\): profile: required/],
    ['- {at: 0s, action: load, target: service/web, profile: {type: wave}}', /profile\.type: must be one of constant, steps, ramp, daily, series, got "wave"/],
    ['- at: 0s\n  action: load\n  target: service/web\n  profile:\n    type: steps\n    steps: [{at: 0s, rps: 5}, {at: 1m, rps: -1}]', /events\.yaml:4: event 1 \(load\): profile\.steps\[1\]\.rps: must be requests per second, a number ≥ 0, got -1/],
    ['- {at: 0s, action: load, target: service/web, profile: {type: steps, steps: [{at: 5m, rps: 1}, {at: 1m, rps: 2}]}}', /profile\.steps\[1\]\.at: must be later than the point before \(5m\)/],
    ['- {at: 0s, action: load, target: service/web, profile: {type: constant, rps: 5, peak: 3}}', /profile\.peak: unknown field for a constant profile/],
    ['- {at: 0s, action: load, target: service/web, profile: {type: series, file: bad.csv}}', /profile\.file: \/sim\/bad\.csv:3: expected "seconds,requests per second", got "60,lots"/],
    ['- {at: 0s, action: load, target: service/web, profile: {type: series, file: none.csv}}', /profile\.file: cannot read "none\.csv"/],
    ['- {at: 0s, action: load, target: service/web, port: 0, profile: {type: constant, rps: 1}}', /port: must be a port number 1–65535, got 0/],
    ['- {at: 0s, action: load, target: tg/web-80, port: 80, profile: {type: constant, rps: 1}}', /port: a target group has no port to choose/],
  ];
  for (const [text, re] of bad) t.throws(() => parse(text), re, text);
});

t.test('a load on a Lambda function: invocations, cold starts and the Lambda bill in the summary', async (t) => {
  const fnDoc = `
apiVersion: lambda.berth.dev/v1
kind: Function
metadata:
  name: resize
  annotations: {sim.berth.dev/duration-ms: "120", sim.berth.dev/init-ms: "250"}
spec: {handler: index.handler, code: {inline: "exports.handler = async () => null;"}, memorySize: 512, timeout: 30}
`;
  const events = parseEvents('/sim/events.yaml', '- {at: 1m, action: load, target: function/resize, profile: {type: constant, rps: 10}}\n');
  const s = await runSimulation({ manifests: docs(fnDoc), events, durationMs: 11 * MIN + 500 }); // the last tick's invocations end before the end
  t.same(s.invocations, [{ target: 'function/resize', function: 'resize', invocations: 6000, succeeded: 6000, functionErrors: 0, throttled: 0, coldStarts: 10, billedDurationMs: { p50: 120, p99: 120, max: 370 } }], '10 invocations each second run at once: 10 environments, made cold once');
  const l = s.cost.lambda!;
  t.equal(l.requests, 6000);
  // 6,000 × 0.120 s × 0.5 GB = 360 GB-s, plus 10 INIT phases × 0.250 s × 0.5 GB = 1.25 GB-s.
  t.equal(l.gbSeconds, 361.25);
  // 361.25 × $0.0000166667 + 6,000 × $0.0000002 = $0.006020845375 + $0.0012.
  t.equal(l.usd.toFixed(12), '0.007220845375');
  t.match(l.byFunction, { resize: { requests: 6000 } });
  t.equal(s.cost.totalUSD, 0, 'no instance ran: the EC2 bill is nothing');
  t.equal(s.cost.allServicesUSD.toFixed(12), '0.007220845375', 'all services: Lambda alone');
  t.match(renderSummary(s), /\nAll services \$0\.0072: EC2 \$0\.0000, Lambda \$0\.007221\n/, 'the summary closes with the total over every service');
});
