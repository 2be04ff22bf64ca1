import t from 'tap';
import type { Pod } from '../../api/types.js';
import { makeNode, makePod } from '../../testing/builders.js';
import { Status } from '../framework/status.js';
import { clusterOf, nodeInfo, runFilter, runScore } from '../test-helpers.js';
import { defaultSelector, ERR_REASON_CONSTRAINTS, ERR_REASON_LABEL, PodTopologySpread } from './pod-topology-spread.js';

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

/** PreScore + Score + NormalizeScore of `plugin` over `nodes`, with the pods' owners given by `owner`. */
function scoreWithOwners(plugin: PodTopologySpread, pod: Pod, nodes: ReturnType<typeof nodeInfo>[], owner: (p: Pod) => ReturnType<typeof defaultSelector>): number[] | undefined {
  const c = clusterOf(...nodes);
  c.ownerSelector = owner;
  const feasible = Int32Array.from(nodes, (n) => c.indexOf(n.node.metadata.name!));
  const s = plugin.compileScore(c.classes.intern(pod), c, feasible);
  if (s === null) return undefined;
  if (s instanceof Status) throw new Error(s.message());
  const scores = Float64Array.from(feasible, (i) => s.score(i));
  s.normalize?.(scores);
  return Array.from(scores);
}

t.test('defaultSelector: the Services selecting the pod, merged, and its ReplicaSet or StatefulSet', async (t) => {
  const pod = makePod('web-1').label('app', 'web').label('tier', 'front').obj();
  const svc = (name: string, selector: Record<string, string> | undefined, namespace = 'default') => ({ metadata: { name, namespace }, spec: selector ? { selector } : {} });
  const rs = { metadata: { name: 'web-rs', namespace: 'default' }, spec: { selector: { matchExpressions: [{ key: 'app', operator: 'In' as const, values: ['web'] }] } } };
  // "web" selects the pod; "db" does not; "all" has no selector (selects nothing); "other" is in another namespace.
  const sel = defaultSelector(pod, [svc('web', { app: 'web' }), svc('front', { tier: 'front' }), svc('db', { app: 'db' }), svc('all', undefined), svc('other', { app: 'web' }, 'other')], rs);
  t.equal(sel.toString(), 'app=web,tier=front,app=web', 'the Services web and front, then the ReplicaSet (app in (web))');
  t.ok(defaultSelector(makePod('lonely').label('app', 'x').obj(), [svc('web', { app: 'web' })], undefined).empty, 'no owners: an empty selector (no default constraints)');
});

t.test('Score: the system default constraints for an owned pod without constraints of its own', async (t) => {
  const plugin = new PodTopologySpread(); // defaultingType System (Kubernetes' default)
  const owner = (p: Pod) => defaultSelector(p, [{ metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' } } }], undefined);
  const pod = web('web-new');
  const nodes = [nodeInfo(node('a1', 'a'), web('w1'), web('w2')), nodeInfo(node('a2', 'a')), nodeInfo(node('b1', 'b'), web('w3'))];
  // hostname, maxSkew 3: 3 feasible nodes, weight ln(3 + 2) = 1.6094; per node count × weight + (3 − 1):
  //   a1 2 → 5.2189, a2 0 → 2, b1 1 → 3.6094.
  // zone, maxSkew 5: 2 zones, weight ln(2 + 2) = 1.3863; count of the zone × weight + (5 − 1):
  //   zone a (2 pods) → 6.7726 for a1 and a2, zone b (1) → 5.3863.
  // Sums rounded: a1 11.9915 → 12, a2 8.7726 → 9, b1 8.9957 → 9.
  // Normalized 100 × (max + min − s) / max, max 12, min 9: a1 900/12 = 75, a2 and b1 1200/12 = 100.
  t.same(scoreWithOwners(plugin, pod, nodes, owner), [75, 100, 100]);
  // A node without a zone label is not ignored under system defaulting: it scores by hostname alone.
  // With it: hostname weight ln 6 = 1.7918: a1 5.5835, a2 2, b1 3.7918, bare 2; zone as before
  // (a and b: weight ln 4). Sums: a1 12.356 → 12, a2 8.7726 → 9, b1 9.178 → 9, bare 2.
  // max 12, min 2: a1 100 × 2 / 12 = 16, a2 and b1 500/12 = 41, bare 1200/12 = 100.
  const bare = makeNode('bare').label('kubernetes.io/hostname', 'bare').obj();
  t.same(scoreWithOwners(plugin, pod, [...nodes, nodeInfo(bare)], owner), [16, 41, 41, 100]);
  // Not owned: no default constraints, the plugin skips the pod, and it is neutral for batch placement.
  t.equal(scoreWithOwners(plugin, makePod('x').label('app', 'x').obj(), nodes, owner), undefined);
  const c = clusterOf(...nodes);
  c.ownerSelector = owner;
  t.equal(plugin.neutral(c.classes.intern(pod), c), false, 'an owned pod is not neutral: it is scored per pod');
  t.equal(plugin.neutral(c.classes.intern(makePod('x').label('app', 'x').obj()), c), true);
  // A pod with constraints of its own never gets the defaults (its DoNotSchedule one has no score).
  t.equal(scoreWithOwners(plugin, spread('own', {}), nodes, owner), undefined);
  // List with no constraints (berth's packing profile): nothing.
  t.equal(scoreWithOwners(new PodTopologySpread({ defaultingType: 'List', defaultConstraints: [] }), pod, nodes, owner), undefined);
  // List with a zone constraint, maxSkew 1, ScheduleAnyway: zone a 2 × ln 4 + 0 = 2.77 → 3, zone b 1.39 → 1;
  // max 3, min 1: a 100 × 1 / 3 = 33, b 100.
  const list = new PodTopologySpread({ defaultingType: 'List', defaultConstraints: [{ maxSkew: 1, topologyKey: zone, whenUnsatisfiable: 'ScheduleAnyway' }] });
  t.same(scoreWithOwners(list, pod, nodes, owner), [33, 33, 100]);
  t.throws(() => new PodTopologySpread({ defaultingType: 'System', defaultConstraints: [{ maxSkew: 1, topologyKey: zone, whenUnsatisfiable: 'ScheduleAnyway' }] }), /must be empty when defaultingType is System/);
  t.throws(() => new PodTopologySpread({ defaultingType: 'List', defaultConstraints: [{ maxSkew: 1, topologyKey: zone, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { a: 'b' } } }] }), /labelSelector must not be set/);
});
