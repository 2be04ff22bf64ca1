/** `berth simulate` reports what Fargate pods cost: per second, one-minute minimum, On-Demand and Spot apart. */
import t from 'tap';
import { parseManifest } from '../cli/manifest.js';
import { renderSummary } from './command.js';
import { runSimulation } from './engine.js';
import { parseEvents } from './events.js';

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata: {name: serverless}
---
apiVersion: eks.berth.dev/v1
kind: FargateProfile
metadata: {name: serverless}
spec:
  selectors: [{namespace: serverless}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: serverless}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - {name: api, image: nginx:1.27, resources: {requests: {cpu: '1', memory: 2Gi}}}
`;

t.test('a scenario with Fargate pods reports their cost', async (t) => {
  const summary = await runSimulation({ manifests: parseManifest('fargate.yaml', MANIFESTS), durationMs: 3_600_000, seed: 7 });
  const f = summary.cost.fargate!;
  t.ok(f, 'the summary carries the Fargate bill');
  t.equal(f.pods, 2, 'both replicas ran on Fargate');
  // EKS sizing: 1 vCPU, 2 GiB + 256 MiB → 1 vCPU / 3 GB, $0.04048 + 3 × $0.004445 = $0.053815 per hour.
  const hourly = 1 * 0.04048 + 3 * 0.004445;
  let expected = 0;
  for (const p of f.byPod) {
    t.equal(p.size, '1vCPU 3GB');
    t.equal(p.capacityProvider, 'FARGATE');
    t.notOk(p.end, 'still running at the end: billed up to the end');
    t.equal(p.billedSeconds, Math.ceil((Date.parse(summary.end) - Date.parse(p.start)) / 1000));
    t.ok(p.billedSeconds > 3500 && p.billedSeconds <= 3600, `${p.pod}: ${p.billedSeconds} s`);
    expected += (hourly * p.billedSeconds) / 3600;
  }
  t.ok(Math.abs(f.usd - expected) < 1e-12, `Fargate $${f.usd.toFixed(6)} (about 2 × $0.0538)`);
  t.ok(Math.abs(summary.cost.allServicesUSD - (summary.cost.totalUSD + f.usd)) < 1e-9, `all services $${summary.cost.allServicesUSD}: EC2 $${summary.cost.totalUSD} plus Fargate`);
  t.ok(f.usd > 0 && summary.cost.allServicesUSD > summary.cost.totalUSD, 'Fargate is in the all-services total, not in EC2\'s');
  t.equal(f.byCapacityProvider.FARGATE.pods, 2);
  t.equal(f.byCapacityProvider.FARGATE_SPOT.pods, 0);
  t.equal(summary.cost.instanceHours, 0, 'no EC2 instance ran');
  const text = renderSummary(summary);
  t.match(text, /Fargate \$0\.10\d\d for 2 pods/);
  t.match(text, /FARGATE\s+2/);
});

// ECS tasks on FARGATE_SPOT as pkg/ecs makes their pods (ECS-CONTRACT.md), here from a Deployment so they come back.
const SPOT = `
apiVersion: v1
kind: Namespace
metadata: {name: ecs}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: ecs}
spec:
  replicas: 2
  selector: {matchLabels: {app: worker}}
  template:
    metadata:
      labels: {app: worker, ecs.berth.dev/cluster: prod, ecs.berth.dev/group: service.worker}
      annotations: {ecs.berth.dev/capacity-provider: FARGATE_SPOT, ecs.berth.dev/fargate-size: "512/1024", ecs.berth.dev/group: "service:worker"}
    spec:
      schedulerName: fargate-scheduler
      containers:
      - {name: worker, image: busybox, resources: {requests: {cpu: 500m, memory: 1Gi}}}
`;

t.test('an interrupt-spot event reaches Fargate Spot tasks: warned, stopped two minutes later, billed at Spot rates', async (t) => {
  const events = parseEvents('spot.yaml', '- {at: 10m, action: interrupt-spot, fraction: 1}\n');
  const summary = await runSimulation({ manifests: parseManifest('spot.yaml', SPOT), events, durationMs: 30 * 60_000, seed: 3 });
  t.match(summary.events[0]!.result, /sent interruption notices to 0 Spot instances and to 2 Fargate Spot tasks: ecs\/worker-/);
  t.equal(summary.interruptions, 2);
  const f = summary.cost.fargate!;
  const stopped = f.byPod.filter((p) => p.stoppedReason === 'Your Spot Task was interrupted.');
  t.equal(stopped.length, 2, 'both interrupted tasks stopped');
  for (const p of stopped) {
    t.equal(p.end, new Date(Date.parse(summary.start) + 12 * 60_000).toISOString(), 'stopped two minutes after the 10m warning');
    t.equal(p.capacityProvider, 'FARGATE_SPOT');
  }
  t.equal(f.pods, 4, 'the Deployment replaced them: two more Spot runs');
  t.equal(f.byCapacityProvider.FARGATE_SPOT.pods, 4);
  // 0.5 vCPU / 1 GB at Spot rates: $0.01334053 × 0.5 + $0.00146489 × 1 per hour.
  const hourly = 0.5 * 0.01334053 + 1 * 0.00146489;
  const expected = f.byPod.reduce((sum, p) => sum + (hourly * p.billedSeconds) / 3600, 0);
  t.ok(Math.abs(f.usd - expected) < 1e-12);
});
