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
