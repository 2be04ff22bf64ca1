import t from 'tap';
import { makeNode, makePod } from '../../testing/builders.js';
import { nodeInfo, runScore } from '../test-helpers.js';
import { NodeResourcesBalancedAllocation } from './node-resources-balanced-allocation.js';

t.test('BalancedAllocation favours even use and skips best-effort pods', async (t) => {
  const plugin = new NodeResourcesBalancedAllocation();
  // n1 runs cpu 1 / memory 4Gi, n2 runs cpu 3 / memory 0.
  const n1 = nodeInfo(makeNode('n1').capacity({ cpu: '4', memory: '16Gi' }).obj(), makePod('a').req({ cpu: '1', memory: '4Gi' }).obj());
  const n2 = nodeInfo(makeNode('n2').capacity({ cpu: '4', memory: '16Gi' }).obj(), makePod('b').req({ cpu: '3' }).obj());
  const pod = makePod('p').req({ cpu: '1', memory: '4Gi' }).obj();
  // n1: cpu 2000/4000 = 0.5, memory 8/16 = 0.5 → std 0 → 100
  // n2: cpu 4000/4000 = 1, memory 4/16 = 0.25 → std 0.375 → 62.5 → 62 (requests as given: no defaults)
  t.same(runScore(plugin, pod, [n1, n2]), [100, 62]);
  t.equal(runScore(plugin, makePod('be').obj(), [n1, n2]), undefined, 'skipped for a best-effort pod');
});
