/**
 * Taints and tolerations (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/),
 * matched as `Toleration.ToleratesTaint` in k8s.io/api/core/v1/toleration.go does.
 */
import type { Node, Taint, Toleration } from '../../api/types.js';

/** The taint the node lifecycle controller puts on a node whose Ready condition is not True. */
export const NOT_READY_TAINT: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };

/** The taint `spec.unschedulable` stands for (a pod tolerating it may land on a cordoned node). */
export const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

/**
 * True if `t` tolerates `taint`: an empty effect matches every effect, an empty key (with
 * `Exists`) every key; `Exists` ignores the value, `Equal` (the default) compares it.
 */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? 'Equal') {
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/** True if any of `tolerations` tolerates `taint`. */
export function tolerationsTolerateTaint(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  if (!tolerations) return false;
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/**
 * The taints the scheduler sees on a node: its own, plus `node.kubernetes.io/not-ready:NoSchedule`
 * when its Ready condition is not True (absent counts as not True, as for a node still
 * registering), as the node lifecycle controller would add
 * (https://kubernetes.io/docs/reference/labels-annotations-taints/#node-kubernetes-io-not-ready).
 */
export function effectiveTaints(node: Node): readonly Taint[] {
  const taints = node.spec?.taints ?? [];
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (ready || taints.some((t) => t.key === NOT_READY_TAINT.key && t.effect === NOT_READY_TAINT.effect)) return taints;
  return [...taints, NOT_READY_TAINT];
}
