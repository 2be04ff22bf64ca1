import fc from 'fast-check';
import t from 'tap';
import { makeNode, makePod } from '../../testing/builders.js';
import { laterGroups, leastResidue, gcd } from './batch.js';
import { CapacityIndex, type SearchMemo } from './capacity-index.js';
import { ClusterState } from './cluster.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

t.test('laterGroups: the grain, ratio and least request of the groups placed after each one', async (t) => {
  const c = new ClusterState();
  const cls = (name: string, cpu: string, memory: string) => c.classes.intern(makePod(name).req({ cpu, memory }).obj());
  // Packing order: 0 (250m, 1Gi), 1 (150m, 640Mi), 2 (150m, 128Mi), 3 (100m, 384Mi), 4 (100m, 128Mi).
  const pods = [cls('a', '250m', '1Gi'), cls('b', '150m', '640Mi'), cls('c', '150m', '128Mi'), cls('d', '100m', '384Mi'), cls('e', '100m', '128Mi')];
  const later = laterGroups([0, 1, 2, 3, 4], pods, false);
  // cpu binds. After 0: smaller requests 150 and 100 → gcd 50 (250 is a multiple: no residue rule).
  // After 1 and 2: only the 100m groups are smaller (the other 150m group is not) → grain 100, and
  // 150 is not a multiple of it. After 3: 100 is not smaller than 100 → 0. After 4: nothing → 0.
  t.same(
    later.map((l) => l.grain),
    [50, 100, 100, 0, 0],
  );
  // ratio: the least memory per millicore among the later groups: for a and b, c's 128Mi / 150m;
  // for c and d, e's 128Mi / 100m; e has none after it. least: the smallest later cpu request.
  const rc = (128 * MiB) / 150;
  const re = (128 * MiB) / 100;
  t.same(
    later.map((l) => l.ratio),
    [rc, rc, re, re, 0],
  );
  t.same(
    later.map((l) => l.least),
    [100, 100, 100, 100, 0],
  );
});

t.test('leastResidue: the most replicas that leave the least unusable remainder', async (t) => {
  // 3870m free, 150m pods, grain 100 (only 100m pods follow). 10 pods leave 2370 (70 unusable), 9
  // leave 2520 (20): 9 wins. From 3920m free: 10 leave 2420 (20 unusable), which is already the least.
  t.equal(leastResidue(3870, 150, 100, 10), 9);
  t.equal(leastResidue(3920, 150, 100, 10), 10);
  // One pod only: nothing to choose.
  t.equal(leastResidue(3870, 150, 100, 1), 1);
  t.equal(gcd(250, 100), 50);
  t.equal(gcd(0, 150), 150);
});

t.test('CapacityIndex: a remembered failure re-examines only the nodes changed since', async (t) => {
  const c = new ClusterState();
  for (const n of ['a', 'b', 'c', 'd']) c.setNode(makeNode(n).capacity({ cpu: '4', memory: '16Gi', pods: '110' }).obj());
  const big = c.classes.intern(makePod('big').req({ cpu: '3', memory: '1Gi' }).obj());
  // Every node takes one 3-core pod: 1 core left on each.
  for (const i of c.order) c.addPods(big, i, 1);
  const idx = new CapacityIndex(c, c.order);
  const q = { cpu: 2000, memory: GiB, ephemeralStorage: 0, extended: [] };
  let asked = 0;
  const accept = (): boolean => {
    asked++;
    return true;
  };
  const memo: SearchMemo = { failedAt: -1 };
  t.equal(idx.bestAligned(q, accept, Infinity, memo), -1, 'no node has 2 cores free');
  t.ok(memo.failedAt >= 0, 'the failure is remembered');
  t.equal(idx.bestAligned(q, accept, Infinity, memo), -1, 'nothing changed: still none');
  // Node c's pod leaves: only c is looked at again, and it fits.
  const ci = c.indexOf('c');
  c.removePods(big, ci, 1);
  idx.markChanged(ci);
  asked = 0;
  t.equal(idx.bestAligned(q, accept, Infinity, memo), ci);
  t.equal(asked, 1, 'only the changed node was asked');
  t.equal(memo.failedAt, -1, 'a success clears the memory');
  // Without a memo the full search finds the same node.
  t.equal(idx.bestAligned(q, accept), ci);
});

t.test('CapacityIndex: the unbounded best-aligned search finds exactly the best node a scan finds (shape witnesses never hide a fit)', async (t) => {
  // Random fleets of half-full nodes, some with no pod slot left, and pods of every shape (one
  // resource, both, far from any octave): after random placements, removals and nodes switched
  // off and on, the index's answer
  // must equal a brute-force scan for the largest alignment score (ties: the earlier leaf).
  fc.assert(
    fc.property(
      fc.array(fc.record({ cpu: fc.integer({ min: 1, max: 64 }), memGiB: fc.integer({ min: 1, max: 256 }), pods: fc.integer({ min: 1, max: 20 }) }), { minLength: 1, maxLength: 40 }),
      fc.array(fc.record({ cpu: fc.integer({ min: 0, max: 8000 }), memMiB: fc.integer({ min: 0, max: 40_000 }) }), { minLength: 1, maxLength: 30 }),
      fc.array(fc.record({ node: fc.nat(), pod: fc.nat(), k: fc.integer({ min: 1, max: 6 }), remove: fc.boolean(), toggle: fc.integer({ min: 0, max: 9 }) }), { maxLength: 120 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (nodes, pods, steps, rejected) => {
        const c = new ClusterState();
        nodes.forEach((n, k) => c.setNode(makeNode(`n${k}`).capacity({ cpu: String(n.cpu), memory: `${n.memGiB}Gi`, pods: String(n.pods) }).obj()));
        const classes = pods.map((p, k) => c.classes.intern(makePod(`p${k}`).req({ ...(p.cpu ? { cpu: `${p.cpu}m` } : {}), ...(p.memMiB ? { memory: `${p.memMiB}Mi` } : {}) }).obj()));
        const slots = c.order;
        const idx = new CapacityIndex(c, slots);
        const free = (i: number) => ({ cpu: c.allocCpu[i]! - c.usedCpu[i]!, mem: c.allocMemory[i]! - c.usedMemory[i]!, pods: c.allocPods[i]! - c.usedPods[i]! });
        const fits = (i: number, q: { cpu: number; memory: number }): boolean => {
          const f = free(i);
          return f.pods >= 1 && (q.cpu <= 0 || f.cpu >= q.cpu) && (q.memory <= 0 || f.mem >= q.memory);
        };
        const no = new Set(rejected.map((r) => slots[r % slots.length]!));
        const accept = (i: number): boolean => !no.has(i);
        const check = (): void => {
          for (const cls of classes) {
            const q = { cpu: cls.cpu, memory: cls.memory, ephemeralStorage: 0, extended: [] };
            let best = -1;
            let bestScore = -Infinity;
            for (const i of slots) {
              if (!idx.isActive(i) || !fits(i, q) || !accept(i)) continue;
              const f = free(i);
              const ac = c.allocCpu[i]!;
              const am = c.allocMemory[i]!;
              const score = Math.max(q.cpu, 0) * (f.cpu / (ac * ac)) + Math.max(q.memory, 0) * (f.mem / (am * am));
              if (score > bestScore) {
                best = i;
                bestScore = score;
              }
            }
            const got = idx.bestAligned(q, accept);
            if (got !== best) throw new Error(`pod ${cls.cpu}m/${cls.memory}B: index chose ${got}, a scan ${best}`);
          }
        };
        check();
        for (const s of steps) {
          const i = slots[s.node % slots.length]!;
          const cls = classes[s.pod % classes.length]!;
          // Now and then a node is switched off or back on (a node class the pod may not use).
          if (s.toggle === 0) {
            idx.setActive(i, !idx.isActive(i));
            continue;
          }
          if (s.remove) {
            const k = Math.min(s.k, cls.countOn(i));
            if (k === 0) continue;
            c.removePods(cls, i, k);
          } else {
            const f = free(i);
            const k = Math.min(s.k, f.pods, cls.cpu > 0 ? Math.floor(f.cpu / cls.cpu) : Infinity, cls.memory > 0 ? Math.floor(f.mem / cls.memory) : Infinity);
            if (k <= 0) continue;
            c.addPods(cls, i, k);
          }
          idx.update(i);
        }
        check();
      },
    ),
    { numRuns: 150, seed: 7 },
  );
  t.pass('150 random fleets');
});
