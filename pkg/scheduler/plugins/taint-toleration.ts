/**
 * TaintToleration (kube-scheduler's pkg/scheduler/framework/plugins/tainttoleration,
 * https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/):
 * Filter rejects a node with a NoSchedule or NoExecute taint the pod does not tolerate (the
 * first such taint is named); Score prefers nodes with fewer untolerated PreferNoSchedule taints.
 * Taints belong to the node class, so both are worked out once per node class.
 */
import type { Taint, Toleration } from '../../api/types.js';
import type { ClusterState } from '../framework/cluster.js';
import { defaultNormalizeScore } from '../framework/normalize.js';
import type { PodClass } from '../framework/pod-class.js';
import { Status } from '../framework/status.js';
import { tolerationsTolerateTaint } from '../framework/taints.js';
import { MAX_NODE_SCORE, type FilterPlugin, type NodeFilter, type NodeScorer, type ScorePlugin } from '../framework/types.js';

/** The first NoSchedule or NoExecute taint in `taints` that no toleration tolerates. */
export function findUntoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[] | undefined): Taint | undefined {
  for (const taint of taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

/** The number of PreferNoSchedule taints in `taints` that `tolerations` do not tolerate. */
export function countIntolerablePreferNoSchedule(taints: readonly Taint[], tolerations: readonly Toleration[] | undefined): number {
  const usable = (tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
  let n = 0;
  for (const taint of taints) if (taint.effect === 'PreferNoSchedule' && !tolerationsTolerateTaint(usable, taint)) n++;
  return n;
}

export class TaintToleration implements FilterPlugin, ScorePlugin {
  static readonly name = 'TaintToleration';
  readonly name = TaintToleration.name;
  readonly staticOnly = true;

  compileFilter(pod: PodClass, cluster: ClusterState): NodeFilter {
    const tolerations = pod.pod.spec.tolerations;
    return {
      scope: 'class',
      fits: (i) => findUntoleratedTaint(cluster.nodeClass(i).taints, tolerations) === undefined,
      status: (i) => {
        const taint = findUntoleratedTaint(cluster.nodeClass(i).taints, tolerations)!;
        // Go's "{%s: %s}": an empty value leaves "{key: }".
        return Status.unschedulableAndUnresolvable(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
      },
    };
  }

  /** Raw score: the node's untolerated PreferNoSchedule taints; fewer is better (normalized reversed). */
  compileScore(pod: PodClass, cluster: ClusterState): NodeScorer {
    const byClass = new Int32Array(cluster.nodeClassIdLimit).fill(-1);
    const tolerations = pod.pod.spec.tolerations;
    return {
      score: (i) => {
        const c = cluster.nodeClassOf[i]!;
        let n = byClass[c]!;
        if (n < 0) n = byClass[c] = countIntolerablePreferNoSchedule(cluster.nodeClass(i).taints, tolerations);
        return n;
      },
      normalize: (scores) => defaultNormalizeScore(MAX_NODE_SCORE, true, scores),
    };
  }

  private neutralMemo = { version: -1, cluster: undefined as ClusterState | undefined, byStaticKey: new Map<string, boolean>() };

  /** Neutral when no node carries a PreferNoSchedule taint the pod does not tolerate (memoized per node-set version). */
  neutral(pod: PodClass, cluster: ClusterState): boolean {
    const m = this.neutralMemo;
    if (m.cluster !== cluster || m.version !== cluster.version) {
      m.cluster = cluster;
      m.version = cluster.version;
      m.byStaticKey.clear();
    }
    let v = m.byStaticKey.get(pod.staticKey);
    if (v === undefined) {
      v = true;
      for (const nc of cluster.nodeClasses) if (nc && countIntolerablePreferNoSchedule(nc.taints, pod.pod.spec.tolerations) > 0) v = false;
      m.byStaticKey.set(pod.staticKey, v);
    }
    return v;
  }
}
