import t from 'tap';
import type { Taint, Toleration } from '../../api/types.js';
import { makeNode, makePod } from '../../testing/builders.js';
import { nodeInfo, runFilter, runScore } from '../test-helpers.js';
import { TaintToleration } from './taint-toleration.js';

const gpu: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };

t.test('Filter: NoSchedule and NoExecute taints need a toleration', async (t) => {
  const plugin = new TaintToleration();
  const cases: { name: string; taints: Taint[]; tolerations: Toleration[]; want: string[]; notReady?: boolean }[] = [
    { name: 'untainted node', taints: [], tolerations: [], want: [] },
    { name: 'untolerated', taints: [gpu], tolerations: [], want: ['node(s) had untolerated taint {dedicated: gpu}'] },
    { name: 'Equal, same value', taints: [gpu], tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }], want: [] },
    { name: 'operator defaults to Equal', taints: [gpu], tolerations: [{ key: 'dedicated', value: 'gpu' }], want: [] },
    { name: 'Equal, other value', taints: [gpu], tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml' }], want: ['node(s) had untolerated taint {dedicated: gpu}'] },
    { name: 'Exists ignores the value', taints: [gpu], tolerations: [{ key: 'dedicated', operator: 'Exists' }], want: [] },
    { name: 'other effect', taints: [gpu], tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }], want: ['node(s) had untolerated taint {dedicated: gpu}'] },
    { name: 'empty key with Exists tolerates everything', taints: [gpu, { key: 'x', effect: 'NoExecute' }], tolerations: [{ operator: 'Exists' }], want: [] },
    { name: 'NoExecute blocks too', taints: [{ key: 'evict', value: 'now', effect: 'NoExecute' }], tolerations: [], want: ['node(s) had untolerated taint {evict: now}'] },
    { name: 'PreferNoSchedule does not block', taints: [{ key: 'spot', value: 'true', effect: 'PreferNoSchedule' }], tolerations: [], want: [] },
    {
      name: 'the first untolerated taint is named',
      taints: [gpu, { key: 'zone', value: 'b', effect: 'NoSchedule' }],
      tolerations: [{ key: 'dedicated', operator: 'Exists' }],
      want: ['node(s) had untolerated taint {zone: b}'],
    },
    { name: 'an empty value prints empty', taints: [{ key: 'maintenance', effect: 'NoSchedule' }], tolerations: [], want: ['node(s) had untolerated taint {maintenance: }'] },
    // The default NoExecute tolerations every pod gets do not cover the NoSchedule not-ready taint.
    {
      name: 'a node that is not Ready carries the not-ready taint',
      taints: [],
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      notReady: true,
      want: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'],
    },
    { name: 'which a pod may tolerate', taints: [], tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }], notReady: true, want: [] },
  ];
  for (const c of cases) {
    const nb = makeNode('n1').capacity({ cpu: '4' });
    for (const taint of c.taints) nb.taint(taint);
    if (c.notReady) nb.notReady();
    const pb = makePod('p');
    for (const tol of c.tolerations) pb.toleration(tol);
    const s = runFilter(plugin, pb.obj(), nodeInfo(nb.obj()));
    t.same(s.reasons, c.want, c.name);
    if (c.want.length) t.equal(s.code, 'UnschedulableAndUnresolvable', `${c.name}: code`);
  }
});

t.test('Score: fewer untolerated PreferNoSchedule taints is better', async (t) => {
  const prefer = (key: string): Taint => ({ key, value: 'x', effect: 'PreferNoSchedule' });
  const nodes = [
    nodeInfo(makeNode('clean').obj()),
    nodeInfo(makeNode('one').taint(prefer('a')).obj()),
    nodeInfo(makeNode('two').taint(prefer('a')).taint(prefer('b')).obj()),
  ];
  // raw counts [0, 1, 2], reversed over the maximum 2: 100 − 100×c/2 → [100, 50, 0]
  t.same(runScore(new TaintToleration(), makePod('p').obj(), nodes), [100, 50, 0]);
  // tolerating `a` leaves counts [0, 0, 1] → [100, 100, 0]
  t.same(runScore(new TaintToleration(), makePod('p').toleration({ key: 'a', operator: 'Exists', effect: 'PreferNoSchedule' }).obj(), nodes), [100, 100, 0]);
  // nothing intolerable anywhere: every node gets 100
  t.same(runScore(new TaintToleration(), makePod('p').toleration({ operator: 'Exists' }).obj(), nodes), [100, 100, 100]);
});
