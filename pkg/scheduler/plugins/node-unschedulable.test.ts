import t from 'tap';
import { makeNode, makePod } from '../../testing/builders.js';
import { nodeInfo, runFilter } from '../test-helpers.js';
import { NodeUnschedulable } from './node-unschedulable.js';

t.test('NodeUnschedulable: cordoned nodes take only pods tolerating the unschedulable taint', async (t) => {
  const plugin = new NodeUnschedulable();
  const cordoned = nodeInfo(makeNode('n1').unschedulable().obj());
  const cases = [
    { name: 'schedulable node', ni: nodeInfo(makeNode('n1').obj()), pod: makePod('p').obj(), want: [] },
    { name: 'cordoned', ni: cordoned, pod: makePod('p').obj(), want: ['node(s) were unschedulable'] },
    {
      name: 'tolerated',
      ni: cordoned,
      pod: makePod('p').toleration({ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }).obj(),
      want: [],
    },
    { name: 'tolerate-everything', ni: cordoned, pod: makePod('p').toleration({ operator: 'Exists' }).obj(), want: [] },
    { name: 'a NoExecute toleration is not enough', ni: cordoned, pod: makePod('p').toleration({ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoExecute' }).obj(), want: ['node(s) were unschedulable'] },
  ];
  for (const c of cases) t.same(runFilter(plugin, c.pod, c.ni).reasons, c.want, c.name);
});
