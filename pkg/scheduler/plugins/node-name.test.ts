import t from 'tap';
import { makeNode, makePod } from '../../testing/builders.js';
import { nodeInfo, runFilter } from '../test-helpers.js';
import { NodeName } from './node-name.js';

t.test('NodeName: a pod naming a node fits only there', async (t) => {
  const plugin = new NodeName();
  const ni = nodeInfo(makeNode('n1').obj());
  t.same(runFilter(plugin, makePod('p').obj(), ni).reasons, [], 'no nodeName');
  t.same(runFilter(plugin, makePod('p').node('n1').obj(), ni).reasons, [], 'this node');
  t.same(runFilter(plugin, makePod('p').node('n2').obj(), ni).reasons, ["node(s) didn't match the requested node name"], 'another node');
});
