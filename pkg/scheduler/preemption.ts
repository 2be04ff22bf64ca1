/**
 * DefaultPreemption (kube-scheduler's pkg/scheduler/framework/plugins/defaultpreemption and
 * framework/preemption; https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/):
 * when a pod fits nowhere, find a node where evicting lower-priority pods would let it fit,
 * evicting the fewest and least important.
 *
 * 1. A pod with `preemptionPolicy: Never` does not preempt; nor does one whose nominated node
 *    still has a lower-priority pod terminating (it waits for that room instead).
 * 2. Candidates are the nodes whose rejection could be resolved (`Unschedulable`, not
 *    `UnschedulableAndUnresolvable`). On each, every pod of lower priority is taken off; if the
 *    pod still does not fit, the node is no candidate. Otherwise the victims are put back one by
 *    one and each that can stay without the pod losing its fit is reprieved: first the pods whose
 *    eviction would violate a PodDisruptionBudget, then the others, each list most important first
 *    (higher priority, then earlier start) (`selectVictimsOnNode`). A victim of the first list
 *    that cannot be reprieved counts as a PDB violation.
 * 3. Among candidates the node is picked by, in order: the fewest PDB violations, the lowest
 *    highest-victim priority, the lowest sum of victim priorities, the fewest victims, the latest
 *    start among the highest-priority victims, then name order (`pickOneNodeForPreemption`).
 *
 * Which pods' eviction violates a budget (`filterPodsWithPDBViolation`): in the order above, each
 * pod with labels takes one from the `status.disruptionsAllowed` of every budget in its namespace
 * whose selector (a nil or empty one matches nothing) matches it and that does not already list it
 * in `status.disruptedPods`; a pod that drives any such budget below zero violates it. As in
 * kube-scheduler, a budget only orders the choice: preemption still evicts when every candidate
 * violates one (the eviction is a deletion, not a call to the Eviction API).
 */
import { selectorFromLabelSelector, type Selector } from '../api/labels.js';
import type { LabelSelector } from '../api/types.js';
import { parseTime } from '../clock/clock.js';
import type { CachedPod, SchedulerCache } from './cache/cache.js';
import { byCodeUnit, type NodeRejection } from './framework/cycle.js';
import type { CompiledPod } from './framework/framework.js';

export const NO_VICTIMS = 'No preemption victims found for incoming pod';
export const NOT_HELPFUL = 'Preemption is not helpful for scheduling';

export interface PreemptionOutcome {
  /** The node chosen and the pods to evict there; absent when preemption cannot help. */
  node?: string;
  victims?: CachedPod[];
  /** What to add to the FailedScheduling message when no node was found (`preemption: 0/3 nodes are available: …`). */
  message?: string;
}

const MAX_INT32_PLUS_1 = 2 ** 31;

/** What preemption reads of a `policy/v1 PodDisruptionBudget`. */
export interface DisruptionBudget {
  metadata: { namespace?: string; name?: string };
  spec?: { selector?: LabelSelector | null };
  status?: { disruptionsAllowed?: number; disruptedPods?: Record<string, string> };
}

/**
 * Splits `pods` (most important first) into those whose eviction would violate one of `budgets`
 * and the others, as kube-scheduler's `filterPodsWithPDBViolation` (see the file comment). A budget
 * with a malformed selector is skipped.
 */
export function splitByBudgetViolation<T extends { pod: { metadata: { name?: string; namespace?: string; labels?: Record<string, string> } } }>(pods: readonly T[], budgets: readonly DisruptionBudget[]): { violating: T[]; nonViolating: T[] } {
  const allowed = budgets.map((b) => b.status?.disruptionsAllowed ?? 0);
  const selectors = budgets.map((b): Selector | undefined => {
    try {
      return selectorFromLabelSelector(b.spec?.selector ?? undefined);
    } catch {
      return undefined;
    }
  });
  const violating: T[] = [];
  const nonViolating: T[] = [];
  for (const p of pods) {
    const meta = p.pod.metadata;
    let violated = false;
    if (meta.labels && Object.keys(meta.labels).length > 0) {
      for (let b = 0; b < budgets.length; b++) {
        const budget = budgets[b]!;
        const sel = selectors[b];
        if ((budget.metadata.namespace ?? 'default') !== (meta.namespace ?? 'default')) continue;
        if (!sel || sel.empty || !budget.spec?.selector || !sel.matches(meta.labels)) continue;
        if (meta.name !== undefined && budget.status?.disruptedPods?.[meta.name] !== undefined) continue;
        allowed[b]--;
        if (allowed[b]! < 0) violated = true;
      }
    }
    (violated ? violating : nonViolating).push(p);
  }
  return { violating, nonViolating };
}

/**
 * Finds where `cp`'s pod could go by preempting (see the file comment), simulating evictions in the
 * cluster state (the session's watchers follow, so inter-pod rules are re-checked). Leaves the
 * cluster as it found it.
 */
export function findPreemption(cp: CompiledPod, cache: SchedulerCache, rejected: readonly NodeRejection[], nominatedNodeName: string | undefined, now: number, budgets: readonly DisruptionBudget[] = []): PreemptionOutcome {
  const pod = cp.pod;
  const cluster = cache.cluster;
  if (pod.preemptionPolicy === 'Never') return {};
  if (nominatedNodeName && cluster.indexOf(nominatedNodeName) >= 0) {
    const waiting = cache.podsOn(nominatedNodeName).some((p) => p.cls.terminating && p.cls.priority < pod.priority);
    if (waiting) return {};
  }
  const total = cluster.nodeCount;
  const counts = new Map<string, number>();
  const note = (reason: string): void => void counts.set(reason, (counts.get(reason) ?? 0) + 1);
  const message = (): string => {
    const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort(byCodeUnit);
    return `preemption: 0/${total} nodes are available: ${parts.join(', ')}.`;
  };
  if (!cp.usable) return {};
  const anyLower = cluster.hasPodsBelow(pod.priority);
  const rejectedCode = new Map(rejected.map((r) => [r.node, r.code]));

  interface Candidate {
    node: string;
    rank: number;
    victims: CachedPod[];
    /** Victims whose eviction violates a PodDisruptionBudget. */
    violations: number;
    highest: number;
    sum: number;
    latestStart: number;
  }
  const candidates: Candidate[] = [];
  for (const i of cluster.order) {
    const name = cluster.names[i]!;
    const code = rejectedCode.get(name);
    if (code === 'UnschedulableAndUnresolvable') {
      note(NOT_HELPFUL);
      continue;
    }
    if (!anyLower) {
      note(NO_VICTIMS);
      continue;
    }
    const potential = cache.podsOn(name).filter((p) => p.cls.priority < pod.priority);
    if (potential.length === 0) {
      note(NO_VICTIMS);
      continue;
    }
    for (const v of potential) cluster.removePods(v.cls, i, 1);
    if (!cp.fits(i)) {
      for (const v of potential) cluster.addPods(v.cls, i, 1);
      note(NO_VICTIMS);
      continue;
    }
    // Most important first: higher priority, then the one that started earlier.
    potential.sort((a, b) => b.cls.priority - a.cls.priority || startOf(a, now) - startOf(b, now));
    const victims: CachedPod[] = [];
    /** Puts v back; false (and v a victim) if the pod then no longer fits. */
    const reprieve = (v: CachedPod): boolean => {
      cluster.addPods(v.cls, i, 1);
      if (cp.fits(i)) return true;
      cluster.removePods(v.cls, i, 1);
      victims.push(v);
      return false;
    };
    const { violating, nonViolating } = splitByBudgetViolation(potential, budgets);
    let violations = 0;
    for (const v of violating) if (!reprieve(v)) violations++;
    for (const v of nonViolating) reprieve(v);
    for (const v of victims) cluster.addPods(v.cls, i, 1);
    if (victims.length === 0) {
      // It fits without evicting anyone: nothing to preempt here (the node changed since filtering).
      note(NO_VICTIMS);
      continue;
    }
    const highest = Math.max(...victims.map((v) => v.cls.priority));
    candidates.push({
      node: name,
      rank: cluster.rank[i]!,
      victims,
      violations,
      highest,
      sum: victims.reduce((s, v) => s + v.cls.priority + MAX_INT32_PLUS_1, 0),
      latestStart: Math.min(...victims.filter((v) => v.cls.priority === highest).map((v) => startOf(v, now))),
    });
  }
  if (candidates.length === 0) return { message: message() };
  candidates.sort((a, b) => a.violations - b.violations || a.highest - b.highest || a.sum - b.sum || a.victims.length - b.victims.length || b.latestStart - a.latestStart || a.rank - b.rank);
  const best = candidates[0]!;
  return { node: best.node, victims: best.victims };
}

/** A pod's start time in ms (its `status.startTime`, else its creation, else now). */
function startOf(p: CachedPod, now: number): number {
  const t = parseTime(p.pod.status?.startTime ?? p.pod.metadata.creationTimestamp);
  return Number.isNaN(t) ? now : t;
}
