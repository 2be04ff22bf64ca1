/**
 * Property tests over random clusters and workloads (fast-check): whatever the fleet, the mix of
 * constraints and how full it is, a placement by batch placement or by the kube-scheduler
 * baseline never over-commits a node, never breaks a required constraint (nodeSelector, node
 * affinity, taints, pod anti-affinity, DoNotSchedule topology spread), is the same for the same
 * seed, and leaves a pod unplaced only when a brute-force search over every node finds none that
 * could take it (all checked by validate.ts, which shares no code with the plugins).
 */
import fc from 'fast-check';
import t from 'tap';
import { runSchedulerBench, type Algorithm } from './run.js';

const spec = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  nodes: fc.integer({ min: 1, max: 40 }),
  pods: fc.integer({ min: 0, max: 400 }),
  workload: fc.constantFrom('resources' as const, 'mixed' as const),
  fill: fc.double({ min: 0.3, max: 1, noNaN: true }),
  fleet: fc.constantFrom<string[] | undefined>(undefined, ['m5.xlarge'], ['m5.large', 'r5.2xlarge', 'c5.4xlarge']),
});

for (const algorithm of ['berth', 'kube-baseline'] as Algorithm[]) {
  t.test(`${algorithm}: valid on any cluster, deterministic, unschedulable only when nothing fits`, async (t) => {
    let withLeftovers = 0;
    fc.assert(
      fc.property(spec, (s) => {
        const opts = { nodes: s.nodes, pods: s.pods, workload: s.workload, seed: s.seed, fill: s.fill, algorithm, keepPlacement: true, ...(s.fleet ? { instanceTypes: s.fleet } : {}) };
        const r = runSchedulerBench(opts);
        if (!r.valid) throw new Error(`invalid placement: ${r.violations.join('; ')}`);
        if (r.placed + r.unschedulable !== s.pods) throw new Error('pods lost');
        if (r.placed > 0 && r.nodesUsed < r.lowerBoundNodes) throw new Error(`nodesUsed ${r.nodesUsed} below the lower bound ${r.lowerBoundNodes}`);
        if (r.unschedulable > 0) withLeftovers++;
        const again = runSchedulerBench(opts);
        if (JSON.stringify(again.placement) !== JSON.stringify(r.placement)) throw new Error('not deterministic for the same seed');
      }),
      { numRuns: 15, seed: 4242 },
    );
    t.pass('every generated case held');
    t.comment(`${withLeftovers} of 15 cases left pods unscheduled (checked by brute force)`);
  });
}
