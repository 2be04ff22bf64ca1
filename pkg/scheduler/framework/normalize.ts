/**
 * kube-scheduler's `DefaultNormalizeScore` (pkg/scheduler/framework/plugins/helper/normalize_score.go):
 * scales raw scores so the highest becomes `maxScore`; `reverse` turns it around so the lowest
 * raw score gets `maxScore` (TaintToleration counts intolerable taints: fewer is better).
 * Integer arithmetic, truncating, as in Go. In place.
 *
 * ```
 * scores [2, 1, 0], maxScore 100:          [100, 50, 0]
 * scores [2, 1, 0], maxScore 100, reverse: [0, 50, 100]
 * all zero, reverse:                        every node gets maxScore
 * ```
 */
export function defaultNormalizeScore(maxScore: number, reverse: boolean, scores: number[] | Float64Array): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(maxScore);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const s = Math.trunc((maxScore * scores[i]!) / max);
    scores[i] = reverse ? maxScore - s : s;
  }
}
