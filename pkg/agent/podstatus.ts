/**
 * What the kubelet derives from its containers' states: the pod phase and the kubelet-owned pod
 * conditions. Pure functions over a Pod, ported from kubelet's `getPhase`
 * (pkg/kubelet/kubelet_pods.go) and the condition generators in pkg/kubelet/status/generate.go,
 * as described on https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/.
 *
 * The stages that drive these phases, with the phase diagram, are in `stages.ts`.
 */
import type { Condition, Container, ContainerStatus, Pod, PodStatus } from '../api/types.js';
import { rfc3339 } from '../clock/clock.js';
import { normalizeImage } from './util.js';

/** Waiting reasons the kubelet reports (pkg/kubelet/kuberuntime and container/sync_result.go). */
export const ContainerCreating = 'ContainerCreating';
export const PodInitializing = 'PodInitializing';
export const CrashLoopBackOff = 'CrashLoopBackOff';

/**
 * The pod conditions the kubelet writes, in the order it lists them. PodScheduled is among them:
 * "when kubelet sees the pod, PodScheduled condition must be true" (generateAPIPodStatus), which
 * matters for pods created with `spec.nodeName` set, which no scheduler bound.
 */
export const KUBELET_CONDITIONS = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'] as const;

type Phase = NonNullable<PodStatus['phase']>;

/** An init container with `restartPolicy: Always`: a sidecar that keeps running beside the app. */
export function isSidecar(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

/** The status of a container the kubelet has not started: waiting for `reason`. */
export function waitingStatus(c: Container, reason: string): ContainerStatus {
  return { name: c.name, image: normalizeImage(c.image), imageID: '', ready: false, restartCount: 0, started: false, state: { waiting: { reason } }, lastState: {} };
}

export function statusOf(list: ContainerStatus[] | undefined, name: string): ContainerStatus | undefined {
  return list?.find((s) => s.name === name);
}

export const isRunning = (s: ContainerStatus | undefined): boolean => !!s?.state?.running;
export const isTerminated = (s: ContainerStatus | undefined): boolean => !!s?.state?.terminated;
export const exitCodeOf = (s: ContainerStatus | undefined): number | undefined => s?.state?.terminated?.exitCode as number | undefined;

/** True once an init container has done its part: exited 0, or (a sidecar) started. */
export function initDone(c: Container, s: ContainerStatus | undefined): boolean {
  if (!s) return false;
  if (isSidecar(c)) return !!s.started && isRunning(s);
  return exitCodeOf(s) === 0;
}

/** The first init container that has not done its part (they run one at a time, in order). */
export function nextInitContainer(pod: Pod): Container | undefined {
  const list = pod.status?.initContainerStatuses;
  return (pod.spec.initContainers ?? []).find((c) => !initDone(c, statusOf(list, c.name)));
}

/** True if the pod's phase is Succeeded or Failed: nothing runs in it again. */
export function isTerminalPhase(pod: Pod): boolean {
  const p = pod.status?.phase;
  return p === 'Succeeded' || p === 'Failed';
}

/**
 * The pod phase from its container statuses: kubelet's `getPhase` (pkg/kubelet/kubelet_pods.go,
 * v1.32). `terminal` says the pod is being shut down for good (it was deleted), so stopped
 * containers will not restart whatever the restart policy. A running sidecar counts as running:
 * the kubelet stops sidecars before a pod can complete.
 */
export function podPhase(pod: Pod, terminal = false): Phase {
  const spec = pod.spec;
  const st = pod.status ?? {};
  let pendingRegularInit = 0;
  let pendingSidecars = 0;
  let failedInit = 0;
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of spec.initContainers ?? []) {
    const s = statusOf(st.initContainerStatuses, c.name);
    if (isSidecar(c)) {
      if (!s) unknown++;
      else if (s.state?.running) {
        if (!s.started) pendingSidecars++;
        running++;
      } else if (s.state?.terminated) {
        // neither running nor stopped
      } else if (!s.lastState?.terminated) pendingSidecars++;
      continue;
    }
    if (!s || s.state?.running) pendingRegularInit++;
    else if (s.state?.terminated) {
      if (exitCodeOf(s) !== 0) failedInit++;
    } else if (s.lastState?.terminated) {
      if (s.lastState.terminated.exitCode !== 0) failedInit++;
    } else pendingRegularInit++;
  }
  for (const c of spec.containers) {
    const s = statusOf(st.containerStatuses, c.name);
    if (!s) unknown++;
    else if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (exitCodeOf(s) === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  if (failedInit > 0 && spec.restartPolicy === 'Never') return 'Failed';
  if (pendingRegularInit > 0 || (pendingSidecars > 0 && !anyRegularContainerStarted(pod)) || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (terminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    const policy = spec.restartPolicy ?? 'Always';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** True once any app container has run (kubecontainer.HasAnyRegularContainerStarted). */
export function anyRegularContainerStarted(pod: Pod): boolean {
  return pod.spec.containers.some((c) => {
    const s = statusOf(pod.status?.containerStatuses, c.name);
    return !!s && (!!s.state?.running || !!s.state?.terminated || !!s.lastState?.terminated);
  });
}

/** Go's `%s` of a []string, as kubelet puts container names into condition messages: `[a b]`. */
function names(list: string[]): string {
  return `[${list.join(' ')}]`;
}

/**
 * The kubelet's pod conditions for the pod's current container states and `phase`:
 * PodReadyToStartContainers (the sandbox has its network), Initialized (init containers done),
 * ContainersReady and Ready (every app container and sidecar ready; Ready also needs the
 * readiness gates), with kubelet's reasons and messages.
 */
export function kubeletConditions(pod: Pod, phase: Phase): Condition[] {
  const st = pod.status ?? {};
  const spec = pod.spec;
  const terminalPhase = phase === 'Succeeded' || phase === 'Failed';
  const out: Condition[] = [];

  out.push({ type: 'PodReadyToStartContainers', status: !terminalPhase && (st.podIP || hostNetwork(pod)) && st.startTime ? 'True' : 'False' });

  // Initialized (GeneratePodInitializedCondition).
  const unknownInit: string[] = [];
  const incompleteInit: string[] = [];
  for (const c of spec.initContainers ?? []) {
    const s = statusOf(st.initContainerStatuses, c.name);
    if (!s) unknownInit.push(c.name);
    else if (!initDone(c, s)) incompleteInit.push(c.name);
  }
  const anyAppStarted = anyRegularContainerStarted(pod);
  if (phase === 'Succeeded' && unknownInit.length === 0) out.push({ type: 'Initialized', status: 'True', reason: 'PodCompleted' });
  else if (anyAppStarted || (unknownInit.length === 0 && incompleteInit.length === 0)) out.push({ type: 'Initialized', status: 'True' });
  else {
    const msgs: string[] = [];
    if (unknownInit.length) msgs.push(`containers with unknown status: ${names(unknownInit)}`);
    if (incompleteInit.length) msgs.push(`containers with incomplete status: ${names(incompleteInit)}`);
    out.push({ type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: msgs.join(', ') });
  }

  // ContainersReady (GenerateContainersReadyCondition).
  const unknown: string[] = [];
  const unready: string[] = [];
  const check = (c: Container, s: ContainerStatus | undefined): void => {
    if (!s) unknown.push(c.name);
    else if (!s.ready) unready.push(c.name);
  };
  for (const c of spec.initContainers ?? []) if (isSidecar(c)) check(c, statusOf(st.initContainerStatuses, c.name));
  for (const c of spec.containers) check(c, statusOf(st.containerStatuses, c.name));
  let containersReady: Condition;
  if (phase === 'Succeeded' && unknown.length === 0) containersReady = { type: 'ContainersReady', status: 'False', reason: 'PodCompleted' };
  else if (phase === 'Failed') containersReady = { type: 'ContainersReady', status: 'False', reason: 'PodFailed' };
  else {
    const msgs: string[] = [];
    if (unknown.length) msgs.push(`containers with unknown status: ${names(unknown)}`);
    if (unready.length) msgs.push(`containers with unready status: ${names(unready)}`);
    containersReady = msgs.length ? { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: msgs.join(', ') } : { type: 'ContainersReady', status: 'True' };
  }

  // Ready (GeneratePodReadyCondition): ContainersReady, then the readiness gates.
  let ready: Condition = { ...containersReady, type: 'Ready' };
  if (ready.status === 'True') {
    const gates = ((spec.readinessGates as { conditionType: string }[] | undefined) ?? []).map((g) => g.conditionType);
    const missing: string[] = [];
    for (const g of gates) {
      const c = st.conditions?.find((x) => x.type === g);
      if (!c) missing.push(`corresponding condition of pod readiness gate "${g}" does not exist.`);
      else if (c.status !== 'True') missing.push(`the status of pod readiness gate "${g}" is not "True", but ${c.status}`);
    }
    if (missing.length) ready = { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: missing.join(', ') };
  }
  out.push(ready, containersReady, { type: 'PodScheduled', status: 'True' });
  return out;
}

export function hostNetwork(pod: Pod): boolean {
  return pod.spec.hostNetwork === true;
}

/**
 * Brings the phase and the kubelet's conditions in line with the container states, in place.
 * A condition whose status does not change keeps its `lastTransitionTime`; conditions the kubelet
 * does not own (DisruptionTarget, readiness gates) are kept as they are, after the
 * kubelet's own, as a real pod lists them.
 */
export function syncPodStatus(pod: Pod, now: number, terminal = false): void {
  const st = (pod.status ??= {});
  const phase = podPhase(pod, terminal);
  st.phase = phase;
  const nowText = rfc3339(now);
  const existing = st.conditions ?? [];
  const next: Condition[] = [];
  for (const want of kubeletConditions(pod, phase)) {
    const cur = existing.find((c) => c.type === want.type);
    const same = cur?.status === want.status;
    next.push({
      type: want.type,
      status: want.status,
      lastProbeTime: null,
      lastTransitionTime: same && cur?.lastTransitionTime ? cur.lastTransitionTime : nowText,
      ...(want.reason ? { reason: want.reason } : {}),
      ...(want.message ? { message: want.message } : {}),
    });
  }
  const owned = new Set<string>(KUBELET_CONDITIONS);
  for (const c of existing) if (!owned.has(c.type)) next.push(c);
  st.conditions = next;
}
