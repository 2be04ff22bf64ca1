import t from 'tap';
import type { Affinity, NodeSelectorTerm } from '../../api/types.js';
import { makeNode, makePod } from '../../testing/builders.js';
import { nodeInfo, runFilter, runScore } from '../test-helpers.js';
import { ERR_REASON_POD, NodeAffinity } from './node-affinity.js';

const node = makeNode('n1').label('topology.kubernetes.io/zone', 'us-east-1a').label('gen', '5').label('disk', 'ssd').obj();

function required(...terms: NodeSelectorTerm[]): Affinity {
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } };
}

t.test('Filter: nodeSelector and required node affinity', async (t) => {
  const plugin = new NodeAffinity();
  const zone = 'topology.kubernetes.io/zone';
  const cases: { name: string; selector?: Record<string, string>; affinity?: Affinity; fits: boolean }[] = [
    { name: 'no constraints', fits: true },
    { name: 'nodeSelector matches', selector: { disk: 'ssd', gen: '5' }, fits: true },
    { name: 'nodeSelector: one label differs', selector: { disk: 'ssd', gen: '6' }, fits: false },
    { name: 'nodeSelector: label missing', selector: { gpu: 'true' }, fits: false },
    { name: 'In', affinity: required({ matchExpressions: [{ key: zone, operator: 'In', values: ['us-east-1b', 'us-east-1a'] }] }), fits: true },
    { name: 'In, no value matches', affinity: required({ matchExpressions: [{ key: zone, operator: 'In', values: ['us-east-1b'] }] }), fits: false },
    { name: 'NotIn', affinity: required({ matchExpressions: [{ key: zone, operator: 'NotIn', values: ['us-east-1a'] }] }), fits: false },
    { name: 'NotIn, label absent', affinity: required({ matchExpressions: [{ key: 'spot', operator: 'NotIn', values: ['true'] }] }), fits: true },
    { name: 'Exists', affinity: required({ matchExpressions: [{ key: 'disk', operator: 'Exists' }] }), fits: true },
    { name: 'DoesNotExist', affinity: required({ matchExpressions: [{ key: 'disk', operator: 'DoesNotExist' }] }), fits: false },
    { name: 'Gt: 5 > 4', affinity: required({ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }), fits: true },
    { name: 'Gt: 5 > 5 is false', affinity: required({ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['5'] }] }), fits: false },
    { name: 'Lt: 5 < 6', affinity: required({ matchExpressions: [{ key: 'gen', operator: 'Lt', values: ['6'] }] }), fits: true },
    { name: 'Gt on a non-integer label', affinity: required({ matchExpressions: [{ key: 'disk', operator: 'Gt', values: ['1'] }] }), fits: false },
    { name: 'Gt with a non-integer value: the term is invalid', affinity: required({ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['four'] }] }), fits: false },
    { name: 'NotIn without values: the term is invalid', affinity: required({ matchExpressions: [{ key: 'spot', operator: 'NotIn', values: [] }] }), fits: false },
    {
      name: 'expressions in a term are ANDed',
      affinity: required({ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }, { key: 'gen', operator: 'Lt', values: ['5'] }] }),
      fits: false,
    },
    {
      name: 'terms are ORed',
      affinity: required({ matchExpressions: [{ key: 'gen', operator: 'Lt', values: ['5'] }] }, { matchExpressions: [{ key: 'disk', operator: 'Exists' }] }),
      fits: true,
    },
    { name: 'matchFields metadata.name In', affinity: required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }), fits: true },
    { name: 'matchFields metadata.name In, another node', affinity: required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }), fits: false },
    { name: 'matchFields metadata.name NotIn', affinity: required({ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['n1'] }] }), fits: false },
    { name: 'matchFields with Exists: invalid', affinity: required({ matchFields: [{ key: 'metadata.name', operator: 'Exists' }] }), fits: false },
    { name: 'an empty term selects nothing', affinity: required({}), fits: false },
    { name: 'an empty term beside a matching one', affinity: required({}, { matchExpressions: [{ key: 'disk', operator: 'Exists' }] }), fits: true },
    { name: 'nodeSelector AND affinity', selector: { disk: 'hdd' }, affinity: required({ matchExpressions: [{ key: 'disk', operator: 'Exists' }] }), fits: false },
  ];
  for (const c of cases) {
    const pb = makePod('p');
    if (c.selector) pb.nodeSelector(c.selector);
    if (c.affinity) pb.spec((s) => (s.affinity = c.affinity));
    const s = runFilter(plugin, pb.obj(), nodeInfo(node));
    t.same(s.reasons, c.fits ? [] : [ERR_REASON_POD], c.name);
    if (!c.fits) t.equal(s.code, 'UnschedulableAndUnresolvable', `${c.name}: code`);
  }
});

t.test('Score: weights of the preferred terms a node matches, scaled to 100', async (t) => {
  const nodes = [
    nodeInfo(makeNode('a').label('zone', 'a').label('gen', '5').obj()),
    nodeInfo(makeNode('b').label('zone', 'a').label('gen', '3').obj()),
    nodeInfo(makeNode('c').label('zone', 'b').obj()),
  ];
  const pod = makePod('p')
    .spec(
      (s) =>
        (s.affinity = {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
              { weight: 5, preference: { matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] } },
              { weight: 50, preference: {} },
            ],
          },
        }),
    )
    .obj();
  // raw: a 10 + 5 = 15, b 10, c 0 (the empty term counts for nothing); scaled by 100/15: [100, 66, 0]
  t.same(runScore(new NodeAffinity(), pod, nodes), [100, 66, 0]);
  t.equal(runScore(new NodeAffinity(), makePod('p').obj(), nodes), undefined, 'skipped without preferred terms');
});
