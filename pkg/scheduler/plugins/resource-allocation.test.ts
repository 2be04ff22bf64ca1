import t from 'tap';
import { balancedAllocationScore, leastAllocatedScore, leastRequestedScore, mostAllocatedScore, mostRequestedScore } from './resource-allocation.js';

const Gi = 2 ** 30;
const W = [1, 1];

t.test('mostRequestedScore and leastRequestedScore, one resource', async (t) => {
  const cases: [number, number, number, number, string][] = [
    // [requested, capacity, most, least, why]
    [0, 4000, 0, 100, 'empty: most 0, least 100'],
    [1000, 4000, 25, 75, '1000×100/4000 = 25; 3000×100/4000 = 75'],
    [3000, 4000, 75, 25, ''],
    [1000, 3000, 33, 66, '100000/3000 = 33.3 → 33; 200000/3000 = 66.6 → 66 (truncated)'],
    [4000, 4000, 100, 0, 'full'],
    [5000, 4000, 100, 0, 'over capacity: most counts it as full (kube-scheduler clamps), least scores 0'],
    [10, 0, 0, 0, 'no capacity scores 0'],
  ];
  for (const [req, cap, most, least, why] of cases) {
    t.equal(mostRequestedScore(req, cap), most, `most ${req}/${cap} ${why}`);
    t.equal(leastRequestedScore(req, cap), least, `least ${req}/${cap} ${why}`);
  }
});

t.test('mostAllocatedScore: weighted mean over cpu and memory', async (t) => {
  const cases: { name: string; requested: number[]; allocatable: number[]; weights: number[]; want: number }[] = [
    // cpu 3000/4000 → 75; memory 4Gi/16Gi → 25; (75 + 25) / 2 = 50
    { name: 'three quarters and one quarter', requested: [3000, 4 * Gi], allocatable: [4000, 16 * Gi], weights: W, want: 50 },
    // cpu 25; memory 1Gi/16Gi → 6.25 → 6; (25 + 6) / 2 = 15.5 → 15
    { name: 'truncates twice', requested: [1000, Gi], allocatable: [4000, 16 * Gi], weights: W, want: 15 },
    // cpu 5000 > 4000 → 100; memory 0 → 0; 100 / 2 = 50
    { name: 'over capacity counts as full', requested: [5000, 0], allocatable: [4000, 16 * Gi], weights: W, want: 50 },
    // (75×2 + 25×1) / 3 = 175 / 3 = 58.3 → 58
    { name: 'cpu weighted 2', requested: [3000, 4 * Gi], allocatable: [4000, 16 * Gi], weights: [2, 1], want: 58 },
    // memory allocatable 0: left out, weight and all → 75 / 1
    { name: 'a resource the node lacks is left out', requested: [3000, Gi], allocatable: [4000, 0], weights: W, want: 75 },
    { name: 'nothing allocatable: 0', requested: [1, 1], allocatable: [0, 0], weights: W, want: 0 },
  ];
  for (const c of cases) t.equal(mostAllocatedScore(c.requested, c.allocatable, c.weights), c.want, c.name);
});

t.test('leastAllocatedScore: weighted mean over cpu and memory', async (t) => {
  const cases: { name: string; requested: number[]; allocatable: number[]; weights: number[]; want: number }[] = [
    // cpu (4000−3000)×100/4000 = 25; memory 12Gi×100/16Gi = 75; (25 + 75) / 2 = 50
    { name: 'three quarters and one quarter', requested: [3000, 4 * Gi], allocatable: [4000, 16 * Gi], weights: W, want: 50 },
    // cpu 75; memory 15Gi×100/16Gi = 93.75 → 93; (75 + 93) / 2 = 84
    { name: 'truncates', requested: [1000, Gi], allocatable: [4000, 16 * Gi], weights: W, want: 84 },
    // cpu over capacity → 0; memory empty → 100; 100 / 2 = 50
    { name: 'over capacity scores 0', requested: [5000, 0], allocatable: [4000, 16 * Gi], weights: W, want: 50 },
    // (25×1 + 75×3) / 4 = 250 / 4 = 62.5 → 62
    { name: 'memory weighted 3', requested: [3000, 4 * Gi], allocatable: [4000, 16 * Gi], weights: [1, 3], want: 62 },
  ];
  for (const c of cases) t.equal(leastAllocatedScore(c.requested, c.allocatable, c.weights), c.want, c.name);
});

t.test('balancedAllocationScore: 100 × (1 − std of the used fractions)', async (t) => {
  const cases: { name: string; requested: number[]; allocatable: number[]; want: number }[] = [
    // fractions 0.5, 0.5: std 0 → 100
    { name: 'even', requested: [2000, 8 * Gi], allocatable: [4000, 16 * Gi], want: 100 },
    // fractions 0.75, 0.25: std |0.75 − 0.25| / 2 = 0.25 → 75
    { name: 'uneven', requested: [3000, 4 * Gi], allocatable: [4000, 16 * Gi], want: 75 },
    // cpu 1.25 → capped at 1; memory 0.5: std 0.25 → 75
    { name: 'fractions cap at 1', requested: [5000, 8 * Gi], allocatable: [4000, 16 * Gi], want: 75 },
    // fractions 0.5, 0.5, 0.8: mean 0.6; variance (0.01 + 0.01 + 0.04) / 3 = 0.02; std 0.1414 → 85.86 → 85
    { name: 'three resources: population std', requested: [2000, 8 * Gi, 8], allocatable: [4000, 16 * Gi, 10], want: 85 },
    // only cpu: a single fraction has std 0 → 100
    { name: 'a resource the node lacks is left out', requested: [3000, Gi], allocatable: [4000, 0], want: 100 },
  ];
  for (const c of cases) t.equal(balancedAllocationScore(c.requested, c.allocatable), c.want, c.name);
});
