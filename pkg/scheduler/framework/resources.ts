/**
 * Resource arithmetic of pods, in the integers berth computes with.
 *
 * A pod's effective request follows `PodRequests` in k8s.io/component-helpers/resource/helpers.go
 * (Kubernetes 1.32+), which both the scheduler and the kubelet's admission use:
 *
 *   request = max(sum(app containers) + sum(sidecars), peak of the init phase)
 *             then pod-level `spec.resources.requests` replace it where set (cpu, memory, hugepages-*)
 *             + `spec.overhead`
 *
 * where the init phase runs init containers one at a time, each beside the sidecars
 * (init containers with `restartPolicy: Always`) declared before it
 * (https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/#resource-sharing-within-containers,
 * https://kubernetes.io/docs/concepts/workloads/pods/init-containers/#resource-sharing-within-containers,
 * https://kubernetes.io/docs/concepts/containers/pod-level-resources/,
 * https://kubernetes.io/docs/concepts/scheduling-eviction/pod-overhead/).
 */
import { resourceAmount } from '../../api/quantity.js';
import type { Container, Pod, ResourceList } from '../../api/types.js';

/**
 * Integer amounts by resource name, present only for resources named: `cpu` in millicores,
 * `memory`, `ephemeral-storage` and `hugepages-*` in bytes, `pods` and extended resources
 * (`nvidia.com/gpu`) as counts.
 */
export type ResourceAmounts = Record<string, number>;

/** kube-scheduler's `DefaultMilliCPURequest`: what scoring counts for a container with no cpu request, in millicores. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
/** kube-scheduler's `DefaultMemoryRequest`: what scoring counts for a container with no memory request, in bytes (200Mi). */
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/**
 * Parses a ResourceList into amounts. An unparsable quantity is left out: the API server
 * validates pods, and a node reporting garbage must not stop the scheduler's informer.
 */
export function toAmounts(list: ResourceList | undefined): ResourceAmounts {
  const out: ResourceAmounts = {};
  if (!list) return out;
  for (const [name, q] of Object.entries(list)) {
    try {
      out[name] = resourceAmount(name, q);
    } catch {
      // left out, see above
    }
  }
  return out;
}

/** Adds `b` into `a`, in place. */
export function addAmounts(a: ResourceAmounts, b: ResourceAmounts): void {
  for (const k in b) a[k] = (a[k] ?? 0) + b[k]!;
}

/** Raises each amount of `a` to at least that of `b`, in place. */
function maxAmounts(a: ResourceAmounts, b: ResourceAmounts): void {
  for (const k in b) if (!(k in a) || b[k]! > a[k]!) a[k] = b[k]!;
}

/** Resources a pod-level `spec.resources.requests` may set (`IsSupportedPodLevelResource`). */
function isPodLevelResource(name: string): boolean {
  return name === 'cpu' || name === 'memory' || name.startsWith('hugepages-');
}

function containerRequests(c: Container, nonMissing: ResourceAmounts | undefined): ResourceAmounts {
  const r = toAmounts(c.resources?.requests);
  if (nonMissing) for (const k in nonMissing) if (!(k in r)) r[k] = nonMissing[k]!;
  return r;
}

/** `AggregateContainerRequests`: containers only, no pod-level resources, no overhead. */
function aggregateContainerRequests(pod: Pod, nonMissing: ResourceAmounts | undefined): ResourceAmounts {
  const reqs: ResourceAmounts = {};
  for (const c of pod.spec.containers ?? []) addAmounts(reqs, containerRequests(c, nonMissing));
  // Sidecars declared so far run through the rest of the init phase and beside the app.
  const sidecars: ResourceAmounts = {};
  const initPeak: ResourceAmounts = {};
  for (const c of pod.spec.initContainers ?? []) {
    const r = containerRequests(c, nonMissing);
    if (c.restartPolicy === 'Always') {
      addAmounts(reqs, r);
      addAmounts(sidecars, r);
      maxAmounts(initPeak, sidecars);
    } else {
      const during = { ...sidecars };
      addAmounts(during, r);
      maxAmounts(initPeak, during);
    }
  }
  maxAmounts(reqs, initPeak);
  return reqs;
}

function podLevelRequests(pod: Pod): ResourceAmounts | undefined {
  const set = pod.spec.resources?.requests;
  if (!set) return undefined;
  const out: ResourceAmounts = {};
  let any = false;
  for (const [k, v] of Object.entries(toAmounts(set))) {
    if (!isPodLevelResource(k)) continue;
    out[k] = v;
    any = true;
  }
  return any ? out : undefined;
}

function requestsWith(pod: Pod, nonMissing: ResourceAmounts | undefined, podLevel: ResourceAmounts | undefined): ResourceAmounts {
  const reqs = aggregateContainerRequests(pod, nonMissing);
  if (podLevel) Object.assign(reqs, podLevel);
  addAmounts(reqs, toAmounts(pod.spec.overhead));
  return reqs;
}

/**
 * A pod's effective requests: what it takes from a node's allocatable (see the file comment).
 * Resources no container, pod-level request or overhead names are absent.
 *
 * ```
 * podRequests(makePod('p').req({ cpu: '500m', memory: '1Gi' }).obj())  // { cpu: 500, memory: 1073741824 }
 * ```
 */
export function podRequests(pod: Pod): ResourceAmounts {
  return requestsWith(pod, undefined, podLevelRequests(pod));
}

/**
 * The cpu (millicores) and memory (bytes) scoring counts for a pod: like `podRequests`, but a
 * container with no cpu or memory request counts as 100m and 200Mi, so that best-effort pods
 * still spread (`calculateResource` and `getNonMissingContainerRequests` in
 * pkg/scheduler/framework/types.go). With pod-level requests, the defaults apply only to a
 * resource that neither the pod nor any container requests.
 */
export function nonZeroRequests(pod: Pod): { cpu: number; memory: number } {
  const podLevel = podLevelRequests(pod);
  let nonMissing: ResourceAmounts = { cpu: DEFAULT_MILLI_CPU_REQUEST, memory: DEFAULT_MEMORY_REQUEST };
  if (podLevel) {
    const reqs = requestsWith(pod, undefined, podLevel);
    nonMissing = {};
    if (!('cpu' in reqs)) nonMissing.cpu = DEFAULT_MILLI_CPU_REQUEST;
    if (!('memory' in reqs)) nonMissing.memory = DEFAULT_MEMORY_REQUEST;
  }
  const r = requestsWith(pod, nonMissing, podLevel);
  return { cpu: r.cpu ?? 0, memory: r.memory ?? 0 };
}
