/**
 * Pod helpers the workload controllers share (k8s.io/kubernetes/pkg/api/v1/pod and
 * pkg/controller/controller_utils.go).
 */
import { parseTime } from '../clock/clock.js';
import { getCondition } from './meta.js';
import type { Pod } from './types.js';

/** True when the pod's `Ready` condition is True. */
export function isPodReady(pod: Pod): boolean {
  return getCondition(pod.status?.conditions, 'Ready')?.status === 'True';
}

/**
 * True when the pod has been Ready for at least `minReadySeconds` at `now` (ms): the definition of
 * an available pod (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#min-ready-seconds).
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const c = getCondition(pod.status?.conditions, 'Ready');
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const since = parseTime(c.lastTransitionTime);
  return !Number.isNaN(since) && since + minReadySeconds * 1000 <= now;
}

/** Ms until a Ready pod becomes available, or 0 if it already is or is not Ready. */
export function msUntilAvailable(pod: Pod, minReadySeconds: number, now: number): number {
  const c = getCondition(pod.status?.conditions, 'Ready');
  if (c?.status !== 'True' || !minReadySeconds) return 0;
  const since = parseTime(c.lastTransitionTime);
  return Number.isNaN(since) ? 0 : Math.max(0, since + minReadySeconds * 1000 - now);
}

/** Active pods are neither finished (Succeeded, Failed) nor being deleted (controller_utils.IsPodActive). */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

/** Total restarts of a pod's containers. */
export function podRestarts(pod: Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((n, s) => n + (s.restartCount ?? 0), 0);
}

/**
 * The name of the informer-cache index of pods by node, and its function (`[spec.nodeName]`, or
 * none for an unbound pod). Controllers sharing the pod informer register the same index with
 * `cache.addIndex(POD_NODE_INDEX, podNodeIndex)` and look pods up with `byIndex(POD_NODE_INDEX, node)`.
 */
export const POD_NODE_INDEX = 'node';
export function podNodeIndex(pod: Pod): string[] {
  return pod.spec.nodeName ? [pod.spec.nodeName] : [];
}
