import t from 'tap';
import type { Pod } from '../../api/types.js';
import { makeNode, makePod } from '../../testing/builders.js';
import { nodeInfo, runFilter, runScore } from '../test-helpers.js';
import { ERR_REASON_CONSTRAINTS, ERR_REASON_LABEL, PodTopologySpread } from './pod-topology-spread.js';

const zone = 'topology.kubernetes.io/zone';
const node = (name: string, z?: string) => {
  const b = makeNode(name).label('kubernetes.io/hostname', name);
  return (z ? b.label(zone, z) : b).obj();
};
const web = (name: string) => makePod(name).label('app', 'web').obj();
type C = NonNullable<Pod['spec']['topologySpreadConstraints']>[number];
const spread = (name: string, c: Partial<C>): Pod =>
  makePod(name).label('app', 'web').spec((s) => (s.topologySpreadConstraints = [{ maxSkew: 1, topologyKey: zone, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, ...c } as C])).obj();

t.test('Filter: count in the domain + 1 − global minimum ≤ maxSkew', async (t) => {
  const plugin = new PodTopologySpread();
  const a = node('a1', 'a');
  const b = node('b1', 'b');
  const c = node('c1', 'c');
  const pod = spread('web-new', {});
  // Zone a has 2 web pods, b 1, c 0: the minimum is 0. a: 2+1−0 = 3 > 1; b: 1+1−0 = 2 > 1; c: 0+1−0 = 1 ok.
  const cluster = [nodeInfo(a, web('w1'), web('w2')), nodeInfo(b, web('w3')), nodeInfo(c)];
  t.same(runFilter(plugin, pod, cluster[0]!, cluster[1]!, cluster[2]!).reasons, [ERR_REASON_CONSTRAINTS], 'zone a is too far ahead');
  t.same(runFilter(plugin, pod, cluster[1]!, cluster[0]!, cluster[2]!).reasons, [ERR_REASON_CONSTRAINTS], 'zone b is ahead too');
  t.same(runFilter(plugin, pod, cluster[2]!, cluster[0]!, cluster[1]!).reasons, [], 'the empty zone');
  // maxSkew 2 lets zone b take it: 1+1−0 = 2.
  t.same(runFilter(plugin, spread('w', { maxSkew: 2 }), cluster[1]!, cluster[0]!, cluster[2]!).reasons, []);
  // A node without the topology key is never eligible for DoNotSchedule.
  t.same(runFilter(plugin, pod, nodeInfo(node('bare')), ...cluster).reasons, [ERR_REASON_LABEL]);
  // Pods not selected (other labels, other namespace) do not count: every zone is at 0.
  const others = [nodeInfo(a, makePod('x').label('app', 'db').obj(), makePod('y', 'other').label('app', 'web').obj()), nodeInfo(b)];
  t.same(runFilter(plugin, pod, others[0]!, others[1]!).reasons, [], 'only selected pods of the namespace count');
});

t.test('Filter: minDomains and the node inclusion policies', async (t) => {
  const plugin = new PodTopologySpread();
  const a = node('a1', 'a');
  const b = node('b1', 'b');
  // Two zones with 1 pod each; with minDomains 3 the global minimum is taken as 0: 1+1−0 = 2 > 1.
  const cluster = [nodeInfo(a, web('w1')), nodeInfo(b, web('w2'))];
  t.same(runFilter(plugin, spread('p', {}), cluster[0]!, cluster[1]!).reasons, [], 'minDomains 1: 1+1−1 = 1');
  t.same(runFilter(plugin, spread('p', { minDomains: 3 }), cluster[0]!, cluster[1]!).reasons, [ERR_REASON_CONSTRAINTS], 'fewer domains than minDomains');

  // nodeTaintsPolicy Honor: a tainted zone the pod does not tolerate is not a domain, so its 0 is not the minimum.
  const tainted = makeNode('c1').label('kubernetes.io/hostname', 'c1').label(zone, 'c').taint({ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }).obj();
  const withC = [nodeInfo(a, web('w1')), nodeInfo(b, web('w2')), nodeInfo(tainted)];
  t.same(runFilter(plugin, spread('p', {}), withC[0]!, withC[1]!, withC[2]!).reasons, [ERR_REASON_CONSTRAINTS], 'Ignore (default): zone c counts, minimum 0');
  t.same(runFilter(plugin, spread('p', { nodeTaintsPolicy: 'Honor' }), withC[0]!, withC[1]!, withC[2]!).reasons, [], 'Honor: zone c is left out, minimum 1');
  // nodeAffinityPolicy Honor (default): zones the pod's nodeSelector excludes are not domains.
  const pinned = (policy: 'Honor' | 'Ignore') =>
    makePod('p').label('app', 'web').nodeSelector({ pool: 'x' }).spec((s) => (s.topologySpreadConstraints = [{ maxSkew: 1, topologyKey: zone, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, nodeAffinityPolicy: policy } as C])).obj();
  const ax = makeNode('a1').label(zone, 'a').label('pool', 'x').obj();
  const bx = makeNode('b1').label(zone, 'b').label('pool', 'x').obj();
  const cy = makeNode('c1').label(zone, 'c').label('pool', 'y').obj();
  const pools = [nodeInfo(ax, web('w1')), nodeInfo(bx, web('w2')), nodeInfo(cy)];
  t.same(runFilter(plugin, pinned('Honor'), pools[0]!, pools[1]!, pools[2]!).reasons, [], 'Honor: zone c (pool y) is not a domain');
  t.same(runFilter(plugin, pinned('Ignore'), pools[0]!, pools[1]!, pools[2]!).reasons, [ERR_REASON_CONSTRAINTS], 'Ignore: zone c counts with 0');
});

t.test('Score: ScheduleAnyway prefers the emptier domain', async (t) => {
  const plugin = new PodTopologySpread();
  const pod = spread('p', { whenUnsatisfiable: 'ScheduleAnyway' });
  // 3 zones: counts a 2, b 1, c 0. Raw score = round(count × ln(3 + 2) + (maxSkew − 1)), an int64
  // in kube-scheduler: round(3.22) = 3, round(1.61) = 2, 0.
  // Normalized 100 × (max + min − s) / max in integer arithmetic, max 3, min 0: a 0, b 100/3 = 33, c 100.
  const s = runScore(plugin, pod, [nodeInfo(node('a1', 'a'), web('w1'), web('w2')), nodeInfo(node('b1', 'b'), web('w3')), nodeInfo(node('c1', 'c'))]);
  t.same(s, [0, 33, 100]);
  // DoNotSchedule only: no preference.
  const none = runScore(plugin, spread('q', {}), [nodeInfo(node('a1', 'a'), web('w1')), nodeInfo(node('b1', 'b'))]);
  t.ok(none === undefined || none.every((x) => x === none[0]), 'no ScheduleAnyway constraint: every node alike');
});
