import t from 'tap';
import type { Affinity, LabelSelector } from '../../api/types.js';

interface PodAffinityTerm {
  labelSelector: LabelSelector;
  topologyKey: string;
}
import { makeNode, makePod } from '../../testing/builders.js';
import { nodeInfo, runFilter, runScore } from '../test-helpers.js';
import { ERR_REASON_AFFINITY, ERR_REASON_ANTI_AFFINITY, ERR_REASON_EXISTING_ANTI_AFFINITY, InterPodAffinity } from './inter-pod-affinity.js';

const zone = 'topology.kubernetes.io/zone';
const host = 'kubernetes.io/hostname';
const node = (name: string, z: string) => makeNode(name).label(host, name).label(zone, z).obj();
const term = (app: string, topologyKey: string): PodAffinityTerm => ({ labelSelector: { matchLabels: { app } }, topologyKey });
const withAffinity = (name: string, app: string, a: Affinity) => makePod(name).label('app', app).spec((s) => (s.affinity = a)).obj();

t.test('Filter: required affinity and anti-affinity, over any topology key', async (t) => {
  const plugin = new InterPodAffinity();
  const a1 = node('a1', 'a');
  const a2 = node('a2', 'a');
  const b1 = node('b1', 'b');
  const db = makePod('db-0').label('app', 'db').obj();
  const reasons = (s: { reasons: readonly string[] }) => [...s.reasons];

  // Affinity to app=db in the same zone: a2 is in db-0's zone (a), b1 is not.
  const web = withAffinity('web', 'web', { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db', zone)] } });
  t.same(reasons(runFilter(plugin, web, nodeInfo(a2), nodeInfo(a1, db), nodeInfo(b1))), [], 'same zone as the db pod');
  t.same(reasons(runFilter(plugin, web, nodeInfo(b1), nodeInfo(a1, db), nodeInfo(a2))), [ERR_REASON_AFFINITY]);
  // With no matching pod anywhere, a pod whose term selects itself may go anywhere (the first of a group).
  const first = withAffinity('db-1', 'db', { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db', zone)] } });
  t.same(reasons(runFilter(plugin, first, nodeInfo(b1), nodeInfo(a1))), [], 'the first pod of a self-affine group');
  t.same(reasons(runFilter(plugin, web, nodeInfo(b1), nodeInfo(a1))), [ERR_REASON_AFFINITY], 'no db pod at all: nowhere');

  // Anti-affinity on hostname: not on the node with a replica, fine elsewhere in the same zone.
  const rep = withAffinity('web-1', 'web', { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web', host)] } });
  const other = makePod('web-0').label('app', 'web').obj();
  t.same(reasons(runFilter(plugin, rep, nodeInfo(a1, other), nodeInfo(a2))), [ERR_REASON_ANTI_AFFINITY]);
  t.same(reasons(runFilter(plugin, rep, nodeInfo(a2), nodeInfo(a1, other))), []);
  // Anti-affinity on zone: the whole zone is out.
  const zonal = withAffinity('web-2', 'web', { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web', zone)] } });
  t.same(reasons(runFilter(plugin, zonal, nodeInfo(a2), nodeInfo(a1, other), nodeInfo(b1))), [ERR_REASON_ANTI_AFFINITY]);
  t.same(reasons(runFilter(plugin, zonal, nodeInfo(b1), nodeInfo(a1, other), nodeInfo(a2))), []);

  // An existing pod's anti-affinity keeps matching pods away, even if the incoming pod has no rules.
  const loner = withAffinity('loner', 'loner', { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web', host)] } });
  const plainWeb = makePod('web-9').label('app', 'web').obj();
  t.same(reasons(runFilter(plugin, plainWeb, nodeInfo(a1, loner), nodeInfo(a2))), [ERR_REASON_EXISTING_ANTI_AFFINITY]);
  t.same(reasons(runFilter(plugin, plainWeb, nodeInfo(a2), nodeInfo(a1, loner))), []);
  // A pod in another namespace is not selected (terms default to the pod's own namespace).
  const elsewhere = makePod('web-x', 'other').label('app', 'web').obj();
  t.same(reasons(runFilter(plugin, rep, nodeInfo(a1, elsewhere), nodeInfo(a2))), [], 'namespaces default to the pod\'s own');
});

t.test('Score: preferred terms weigh matching pods in the domain, normalized to 0..100', async (t) => {
  const plugin = new InterPodAffinity();
  const a1 = node('a1', 'a');
  const b1 = node('b1', 'b');
  const c1 = node('c1', 'c');
  const cache = makePod('cache-0').label('app', 'cache').obj();
  const noisy = makePod('noisy-0').label('app', 'noisy').obj();
  // +80 for the zone with a cache pod, −20 for the node with a noisy pod.
  const web = withAffinity('web', 'web', {
    podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 80, podAffinityTerm: term('cache', zone) }] },
    podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 20, podAffinityTerm: term('noisy', host) }] },
  });
  // Raw: a1 = 80, b1 = −20, c1 = 0. Normalized 100 × (s − min) / (max − min): a1 100, b1 0, c1 20.
  t.same(runScore(plugin, web, [nodeInfo(a1, cache), nodeInfo(b1, noisy), nodeInfo(c1)]), [100, 0, 20]);
  // An existing pod's required affinity term counts at hardPodAffinityWeight (default 1) for pods it selects.
  const follower = withAffinity('f', 'f', { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web', zone)] } });
  const plain = makePod('web-2').label('app', 'web').obj();
  // Raw: a1 = 1 (follower's zone), b1 = 0 → 100 and 0.
  t.same(runScore(plugin, plain, [nodeInfo(a1, follower), nodeInfo(b1)]), [100, 0]);
  t.same(runScore(new InterPodAffinity({ hardPodAffinityWeight: 0 }), plain, [nodeInfo(a1, follower), nodeInfo(b1)]) ?? [0, 0], [0, 0], 'weight 0 switches it off');
  t.throws(() => new InterPodAffinity({ hardPodAffinityWeight: 101 }), /hardPodAffinityWeight must be an integer in 0..100/);
});
