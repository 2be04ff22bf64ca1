/**
 * A pod's effective requests and limits, as `k8s.io/component-helpers/resource` computes them for
 * `kubectl describe node` (and as the scheduler counts them):
 *
 *   max( sum of app containers + sidecars,  max over init containers of (that container + the
 *        sidecars started before it) )  then pod-level `spec.resources` where set, plus overhead.
 *
 * Sidecars are init containers with `restartPolicy: Always`: they keep running beside the app
 * containers, so they add up rather than take turns. berth's scheduler has no shared helper yet;
 * this one keeps the formats kubectl prints with (see quantity.ts).
 */
import type { Container, Pod } from '../api/types.js';
import { addList, maxList, parseList, type QtyList } from './quantity.js';

/** Resources a pod may set at pod level (PodLevelResources: cpu, memory, hugepages). */
function podLevelSupported(name: string): boolean {
  return name === 'cpu' || name === 'memory' || name.startsWith('hugepages-');
}

function aggregate(pod: Pod, pick: (c: Container) => Record<string, string | number> | undefined): QtyList {
  const total: QtyList = new Map();
  for (const c of pod.spec?.containers ?? []) addList(total, parseList(pick(c)));
  const sidecars: QtyList = new Map();
  const initMax: QtyList = new Map();
  for (const c of pod.spec?.initContainers ?? []) {
    const own = parseList(pick(c));
    if (c.restartPolicy === 'Always') {
      addList(total, own);
      addList(sidecars, own);
      maxList(initMax, sidecars);
    } else {
      const withSidecars: QtyList = new Map();
      addList(withSidecars, own);
      addList(withSidecars, sidecars);
      maxList(initMax, withSidecars);
    }
  }
  maxList(total, initMax);
  return total;
}

/** `resourcehelper.PodRequests`: effective requests with pod-level resources and overhead. */
export function podRequests(pod: Pod): QtyList {
  const reqs = aggregate(pod, (c) => c.resources?.requests);
  for (const [name, q] of parseList(pod.spec?.resources?.requests)) if (podLevelSupported(name)) reqs.set(name, q);
  addList(reqs, parseList(pod.spec?.overhead));
  return reqs;
}

/** `resourcehelper.PodLimits`: effective limits; overhead is added only to limits that are set. */
export function podLimits(pod: Pod): QtyList {
  const limits = aggregate(pod, (c) => c.resources?.limits);
  for (const [name, q] of parseList(pod.spec?.resources?.limits)) if (podLevelSupported(name)) limits.set(name, q);
  for (const [name, q] of parseList(pod.spec?.overhead)) {
    const cur = limits.get(name);
    if (cur) limits.set(name, { nanos: cur.nanos + q.nanos, format: cur.format });
  }
  return limits;
}

/** True for a pod that still holds its node's resources (not Succeeded or Failed). */
export function isNonTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}
