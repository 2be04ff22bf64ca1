/**
 * TaintToleration (kube-scheduler's pkg/scheduler/framework/plugins/tainttoleration,
 * https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/):
 * Filter rejects a node with a NoSchedule or NoExecute taint the pod does not tolerate (the
 * first such taint is named); Score prefers nodes with fewer untolerated PreferNoSchedule taints.
 */
import type { Pod, Taint, Toleration } from '../../api/types.js';
import type { CycleState } from '../framework/cycle-state.js';
import type { NodeInfo } from '../framework/node-info.js';
import { defaultNormalizeScore } from '../framework/normalize.js';
import { Status } from '../framework/status.js';
import { tolerationsTolerateTaint } from '../framework/taints.js';
import { MAX_NODE_SCORE, type FilterPlugin, type ScorePlugin } from '../framework/types.js';

const PRE_SCORE_KEY = 'PreScoreTaintToleration';

/** The first NoSchedule or NoExecute taint in `taints` that no toleration tolerates. */
export function findUntoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[] | undefined): Taint | undefined {
  for (const taint of taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

export class TaintToleration implements FilterPlugin, ScorePlugin {
  static readonly name = 'TaintToleration';
  readonly name = TaintToleration.name;

  filter(_state: CycleState, pod: Pod, ni: NodeInfo): Status {
    const taint = findUntoleratedTaint(ni.taints, pod.spec.tolerations);
    if (!taint) return Status.success();
    // Go's "{%s: %s}": an empty value leaves "{key: }".
    return Status.unschedulableAndUnresolvable(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
  }

  /** Keeps the tolerations that can tolerate PreferNoSchedule (that effect, or any effect). */
  preScore(state: CycleState, pod: Pod): Status {
    state.write(PRE_SCORE_KEY, (pod.spec.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule'));
    return Status.success();
  }

  /** The number of PreferNoSchedule taints on the node the pod does not tolerate. */
  score(state: CycleState, _pod: Pod, ni: NodeInfo): number {
    const tolerations = state.read<Toleration[]>(PRE_SCORE_KEY)!;
    let n = 0;
    for (const taint of ni.taints) if (taint.effect === 'PreferNoSchedule' && !tolerationsTolerateTaint(tolerations, taint)) n++;
    return n;
  }

  /** Fewer intolerable taints score higher: the count is scaled and reversed. */
  normalizeScores(_state: CycleState, _pod: Pod, scores: number[]): void {
    defaultNormalizeScore(MAX_NODE_SCORE, true, scores);
  }
}
