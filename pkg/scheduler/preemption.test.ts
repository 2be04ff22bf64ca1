import t from 'tap';
import type { Pod } from '../api/types.js';
import { makeNode, makePod } from '../testing/index.js';
import { SchedulerCache } from './cache/cache.js';
import { scheduleCompiled } from './framework/cycle.js';
import { Framework } from './framework/framework.js';
import { defaultProfile, inTreeRegistry } from './plugins/registry.js';
import { findPreemption, splitByBudgetViolation, type DisruptionBudget } from './preemption.js';

const pdb = (name: string, matchLabels: Record<string, string> | undefined, disruptionsAllowed: number, disruptedPods?: Record<string, string>): DisruptionBudget => ({
  metadata: { namespace: 'default', name },
  spec: { selector: matchLabels === undefined ? undefined : { matchLabels } },
  status: { disruptionsAllowed, ...(disruptedPods ? { disruptedPods } : {}) },
});
const entry = (name: string, labels: Record<string, string> = {}, namespace = 'default') => ({ pod: { metadata: { name, namespace, labels } } });

t.test('splitByBudgetViolation: each matching pod takes one from the budget; below zero is a violation', async (t) => {
  // Budget "web" allows 1 disruption. Pods in order: w1 takes it (0 left: fine), w2 drives it to −1
  // (violation), w3 to −2 (violation). "db" allows 0: d1 is in disruptedPods (already counted by
  // the API server: skipped, not a violation); d2 drives it to −1 (violation). n has no labels and
  // x sits in another namespace: neither matches anything. An empty selector matches nothing.
  const pods = [entry('w1', { app: 'web' }), entry('w2', { app: 'web' }), entry('d1', { app: 'db' }), entry('n'), entry('w3', { app: 'web' }), entry('d2', { app: 'db' }), entry('x', { app: 'web' }, 'other'), entry('e', { team: 'a' })];
  const { violating, nonViolating } = splitByBudgetViolation(pods, [pdb('web', { app: 'web' }, 1), pdb('db', { app: 'db' }, 0, { d1: '2026-01-01T00:00:00Z' }), pdb('everything', {}, 0), pdb('nil', undefined, 0)]);
  t.same(
    violating.map((p) => p.pod.metadata.name),
    ['w2', 'w3', 'd2'],
  );
  t.same(
    nonViolating.map((p) => p.pod.metadata.name),
    ['w1', 'd1', 'n', 'x', 'e'],
  );
});

/** Two 4-cpu nodes, each full with two 2-cpu low-priority pods; returns the cache and a compiled high-priority 2-cpu pod that fits nowhere. */
function fullCluster() {
  const cache = new SchedulerCache();
  cache.setNode(makeNode('n1').capacity({ cpu: '4', memory: '16Gi', pods: '110' }).obj());
  cache.setNode(makeNode('n2').capacity({ cpu: '4', memory: '16Gi', pods: '110' }).obj());
  const low = (name: string, node: string, app: string, priority: number): Pod =>
    makePod(name)
      .req({ cpu: '2' })
      .label('app', app)
      .node(node)
      .spec((s) => (s.priority = priority))
      .obj();
  // n1: web-1 and web-2 (priority 10); n2: db-1 and db-2 (priority 20, so n1 would win without budgets).
  cache.addPod(low('web-1', 'n1', 'web', 10));
  cache.addPod(low('web-2', 'n1', 'web', 10));
  cache.addPod(low('db-1', 'n2', 'db', 20));
  cache.addPod(low('db-2', 'n2', 'db', 20));
  const fw = new Framework(defaultProfile(), inTreeRegistry());
  const cluster = cache.cluster;
  const session = cluster.beginSession();
  const urgent = makePod('urgent').req({ cpu: '2' }).spec((s) => (s.priority = 1000)).obj();
  const cp = fw.compile(cluster.classes.intern(urgent), cluster, session);
  const result = scheduleCompiled(fw, cp, cluster, session);
  return { cache, cp, result };
}

t.test('preemption prefers the node whose victims violate no PodDisruptionBudget', async (t) => {
  const { cache, cp, result } = fullCluster();
  t.equal(result.node, undefined, 'the urgent pod fits nowhere');
  // Without budgets: one victim either way; n1's victim has priority 10 < n2's 20, so n1.
  const plain = findPreemption(cp, cache, result.rejected, undefined, 0);
  t.equal(plain.node, 'n1');
  t.equal(plain.victims?.length, 1);
  // A budget on web allowing no disruption: evicting a web pod violates it (1 violation on n1,
  // 0 on n2), so n2 is chosen despite its higher-priority victim.
  const guarded = findPreemption(cp, cache, result.rejected, undefined, 0, [pdb('web', { app: 'web' }, 0)]);
  t.equal(guarded.node, 'n2');
  t.same(
    guarded.victims?.map((v) => v.pod.metadata.labels?.app),
    ['db'],
  );
  // Budgets on both with nothing allowed: one violation on either node, so priority decides again: n1.
  const both = findPreemption(cp, cache, result.rejected, undefined, 0, [pdb('web', { app: 'web' }, 0), pdb('db', { app: 'db' }, 0)]);
  t.equal(both.node, 'n1', 'a budget orders the choice but does not forbid the eviction');
  // web allows one disruption: the first web pod considered takes it, the second violates. The
  // violating one is reprieved first (it fits back: the pod needs only one slot of 2 cpu), so the
  // victim is the non-violating one and n1 has no violation: n1 wins on priority.
  const oneAllowed = findPreemption(cp, cache, result.rejected, undefined, 0, [pdb('web', { app: 'web' }, 1)]);
  t.equal(oneAllowed.node, 'n1');
  t.equal(oneAllowed.victims?.length, 1);
  t.equal(cache.cluster.usedCpu[cache.cluster.indexOf('n1')], 4000, 'the cluster state is left as it was');
});
