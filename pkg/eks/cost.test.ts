/** The Fargate bill from FargateUsage records, and how `berth cost` shows it. */
import t from 'tap';
import { renderFargateCost } from '../cli/cost.js';
import { fargateCostReport } from './cost.js';
import { EksKinds, type FargateUsage } from './types.js';

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();

function run(name: string, vcpu: number, memoryGB: number, startS: number, endS: number | undefined, spot: boolean, stoppedReason?: string): FargateUsage {
  return {
    apiVersion: EksKinds.FargateUsage.apiVersion,
    kind: 'FargateUsage',
    metadata: { name: `uid-${name}` },
    spec: {
      namespace: 'ecs',
      pod: name,
      podUID: `uid-${name}`,
      nodeName: `fargate-${name}`,
      profile: '',
      vcpu,
      memoryGB,
      start: iso(T0 + startS * 1000),
      ...(endS !== undefined ? { end: iso(T0 + endS * 1000) } : {}),
      ...(spot ? { capacityProvider: 'FARGATE_SPOT' as const } : {}),
      ecsCluster: 'prod',
      ...(stoppedReason ? { stoppedReason } : {}),
    },
  };
}

t.test('On-Demand and Spot apart, per second with a one-minute minimum', async (t) => {
  const records = [
    run('od', 1, 2, 0, 600, false), // 600 s × $0.04937/h
    run('spot', 1, 2, 0, 600, true), // 600 s × $0.01627031/h
    run('blip', 0.25, 0.5, 10, 25, true), // 15 s → billed 60 s at Spot rates
    run('open', 2, 4, 100, undefined, false, undefined), // still running at now = 700 s → 600 s
    run('spot-stopped', 0.5, 1, 0, 300, true, 'Your Spot Task was interrupted.'),
  ];
  const r = fargateCostReport(records, T0, T0 + 3_600_000, T0 + 700_000);
  const od = 0.04048 + 2 * 0.004445;
  const sp = 0.01334053 + 2 * 0.00146489;
  const by = Object.fromEntries(r.byPod.map((p) => [p.pod, p]));
  t.ok(Math.abs(by.od!.usd - od / 6) < 1e-12);
  t.ok(Math.abs(by.spot!.usd - sp / 6) < 1e-12);
  t.equal(by.blip!.billedSeconds, 60);
  t.ok(Math.abs(by.blip!.usd - ((0.25 * 0.01334053 + 0.5 * 0.00146489) * 60) / 3600) < 1e-12);
  t.equal(by.open!.billedSeconds, 600);
  t.equal(by['spot-stopped']!.stoppedReason, 'Your Spot Task was interrupted.');
  t.same(
    [r.byCapacityProvider.FARGATE.pods, r.byCapacityProvider.FARGATE_SPOT.pods],
    [2, 3],
  );
  t.ok(Math.abs(r.byCapacityProvider.FARGATE.usd + r.byCapacityProvider.FARGATE_SPOT.usd - r.usd) < 1e-12);
  const text = renderFargateCost(r);
  t.match(text, /^\nFargate \$0\.\d{4} for 5 pods/);
  t.match(text, /FARGATE\s+2\s+/);
  t.match(text, /FARGATE_SPOT\s+3\s+/);
  t.match(text, /ecs\/blip\s+0\.25vCPU 0\.5GB\s+FARGATE_SPOT\s+\S+\s+\S+\s+60\s+\$0\.0001/);
  t.match(text, /ecs\/open\s+2vCPU 4GB\s+FARGATE\s+\S+\s+<running>\s+600/);
  t.equal(renderFargateCost(fargateCostReport([], T0, T0 + 1, T0)), '', 'nothing when no Fargate pod ran');
});
