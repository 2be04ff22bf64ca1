/**
 * The default pod lifecycle, as data: the stages a real kubelet's pod goes through, each with the
 * status the kubelet shows at that point (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/,
 * kubelet's generateAPIPodStatus and kuberuntime container start/kill); `podstatus.ts` derives
 * the phase and conditions from the container states each stage sets.
 *
 * Pod phases the agent drives (each arrow is a stage below, with its default delay):
 * ```
 *   bound to a served node
 *      │ pod-create (at once): hostIP, podIP, startTime, containers waiting
 *      ▼
 *   Pending: ContainerCreating, or Init:i/N and PodInitializing with init containers
 *      │ init-container-start, once per init container in order (1 s ± 250 ms each)
 *      │ pod-start (1 s ± 250 ms): Pulled, Created, Started
 *      ▼
 *   Running ──container-exit (after sim.berth.dev/run-seconds)──▶ container exited
 *      ▲                                                                │
 *      │   restartPolicy Always, or OnFailure with exit ≠ 0:            │
 *      └── container-restart ◀── container-backoff (CrashLoopBackOff) ◀─┤
 *          (at once the first time, then after 10 s, 20 s … 300 s)      │
 *                                                                       │ restartPolicy Never,
 *                                                                       ▼ or OnFailure with exit 0
 *                                                   Succeeded (all exited 0) | Failed
 *
 *   any of these with a deletionTimestamp:
 *      pod-stop (Killing at once; containers stop after 0–1 s, never past the grace period)
 *        ──▶ Succeeded | Failed ──pod-remove (at once)──▶ deleted with gracePeriodSeconds 0
 * ```
 *
 * ## Simulated programs: the `sim.berth.dev/*` pod annotations
 *
 * A simulated container runs no process; what its program does is said on the pod:
 *
 * - `sim.berth.dev/run-seconds`: seconds each app container runs before its program exits
 *   (a non-negative number; absent: it runs until the pod is deleted). What happens next follows
 *   the pod's `restartPolicy` as on a real node: `Never` ends the pod (Succeeded if every app
 *   container exited 0, else Failed); `OnFailure` ends it on exit 0 and restarts the container
 *   otherwise; `Always` restarts it (CrashLoopBackOff back-off: at once, then 10 s, 20 s, 40 s …
 *   up to 300 s; reset after 10 minutes of running).
 * - `sim.berth.dev/exit-code`: the exit code of that exit (integer 0–255, default 0). 0 shows
 *   `terminated: {reason: Completed}`, anything else `reason: Error`.
 * - `sim.berth.dev/log-lines`: what each app container's program prints when it starts, one log
 *   line per line of the value.
 *
 * A deleted pod's containers are sent SIGTERM; a simulated program exits on SIGTERM at once with
 * exit code 0, so the kubelet reports `terminated: {exitCode: 0, reason: Completed}` (as for nginx,
 * which exits 0 on SIGTERM; a program that ignored it would be SIGKILLed after the grace period
 * and show 137). The pod then reaches phase Succeeded before the kubelet deletes it.
 *
 * Init containers run one at a time, in order, each taking the start delay and exiting 0;
 * sidecars (`restartPolicy: Always` init containers) start and keep running until the pod ends.
 */
import type { Container, ContainerStatus, Pod } from '../api/types.js';
import { rfc3339 } from '../clock/clock.js';
import {
  ContainerCreating,
  CrashLoopBackOff,
  PodInitializing,
  hostNetwork,
  isRunning,
  isSidecar,
  isTerminalPhase,
  isTerminated,
  nextInitContainer,
  statusOf,
  syncPodStatus,
  waitingStatus,
} from './podstatus.js';
import type { Stage, StageContext, StageDelay } from './types.js';
import { goDuration, normalizeImage } from './util.js';

export const ANNOTATION_RUN_SECONDS = 'sim.berth.dev/run-seconds';
export const ANNOTATION_EXIT_CODE = 'sim.berth.dev/exit-code';
export { ANNOTATION_LOG_LINES } from './runtimes/sim.js';

/** Kubelet's container restart back-off (pkg/kubelet/kubelet.go: 10 s initial, 300 s cap). */
export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;
/** A container that ran this long before exiting restarts without back-off (kubelet resets its back-off after 2 × the cap). */
export const BACKOFF_RESET_MS = 2 * BACKOFF_MAX_MS;

export interface DefaultStageOptions {
  /** Time from the start of a container's image pull to its running (default 1 s ± 250 ms). */
  start?: StageDelay;
  /** Time a deleted pod's containers take to stop after SIGTERM (default 0–1 s, never past the grace period). */
  stop?: StageDelay;
}

/** Seconds an app container runs, from the annotation; undefined: forever. */
export function runSeconds(pod: Pod): number | undefined {
  const v = pod.metadata.annotations?.[ANNOTATION_RUN_SECONDS];
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The exit code the simulated program ends with, from the annotation (default 0). */
export function exitCode(pod: Pod): number {
  const n = Number(pod.metadata.annotations?.[ANNOTATION_EXIT_CODE] ?? 0);
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : 0;
}

/** True if the pod's restart policy restarts a container that exited with `code`. */
export function restarts(pod: Pod, code: number): boolean {
  const policy = pod.spec.restartPolicy ?? 'Always';
  return policy === 'Always' || (policy === 'OnFailure' && code !== 0);
}

/** Kubelet's back-off before restarting a container that has restarted `restartCount` times already. */
export function backOffMs(restartCount: number): number {
  if (restartCount <= 0) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** (restartCount - 1));
}

const started = (pod: Pod): boolean => !!pod.status?.startTime;
const deleting = (pod: Pod): boolean => !!pod.metadata.deletionTimestamp;
const sandboxReady = (pod: Pod): boolean => !!pod.status?.podIP || (hostNetwork(pod) && started(pod));
const live = (pod: Pod): boolean => !deleting(pod) && !isTerminalPhase(pod);

function appStatuses(pod: Pod): ContainerStatus[] {
  return pod.status?.containerStatuses ?? [];
}

/** Every container status of the pod, init ones first, with its spec. */
function allContainers(pod: Pod): { c: Container; s: ContainerStatus | undefined; init: boolean }[] {
  const out: { c: Container; s: ContainerStatus | undefined; init: boolean }[] = [];
  for (const c of pod.spec.initContainers ?? []) out.push({ c, s: statusOf(pod.status?.initContainerStatuses, c.name), init: true });
  for (const c of pod.spec.containers) out.push({ c, s: statusOf(pod.status?.containerStatuses, c.name), init: false });
  return out;
}

/** App containers that have never run: waiting, with no previous instance. */
function neverStarted(pod: Pod): Container[] {
  return pod.spec.containers.filter((c) => {
    const s = statusOf(appStatuses(pod), c.name);
    return !s || (!!s.state?.waiting && !s.lastState?.terminated && !s.containerID);
  });
}

/** App containers that exited and will restart, with whether they must wait out a back-off first. */
function toRestart(pod: Pod, ctx: StageContext): { c: Container; s: ContainerStatus; backOff: boolean }[] {
  const out: { c: Container; s: ContainerStatus; backOff: boolean }[] = [];
  for (const c of pod.spec.containers) {
    const s = statusOf(appStatuses(pod), c.name);
    if (!s) continue;
    const term = (s.state?.terminated ?? (s.state?.waiting?.reason === CrashLoopBackOff ? s.lastState?.terminated : undefined)) as { exitCode?: number } | undefined;
    if (!term || !restarts(pod, term.exitCode ?? 0)) continue;
    const from = ctx.startedAt(c.name);
    const to = ctx.finishedAt(c.name);
    const ran = from !== undefined && to !== undefined ? to - from : 0;
    const needsBackOff = s.restartCount >= 1 && ran < BACKOFF_RESET_MS;
    out.push({ c, s, backOff: needsBackOff });
  }
  return out;
}

function pullEvents(c: Container, ctx: StageContext): void {
  if (needsPull(c, ctx)) ctx.event('Normal', 'Pulling', `Pulling image "${c.image}"`);
}

function needsPull(c: Container, ctx: StageContext): boolean {
  return c.imagePullPolicy === 'Always' || !ctx.hasImage(normalizeImage(c.image));
}

/** How long the image pull took, or undefined if the image was already on the node when the stage began. */
function pullTime(c: Container, ctx: StageContext): number | undefined {
  return needsPull(c, ctx) ? ctx.now - ctx.since : undefined;
}

/**
 * Starts container `c`: the Pulled (or "already present"), Created and Started events, a new
 * runtime instance, and the status of a running container.
 */
function startContainer(c: Container, prev: ContainerStatus | undefined, ctx: StageContext, pullMs: number | undefined): ContainerStatus {
  const restartCount = prev && (prev.state?.terminated || prev.lastState?.terminated) ? prev.restartCount + 1 : (prev?.restartCount ?? 0);
  if (pullMs !== undefined) {
    const took = goDuration(pullMs);
    ctx.event('Normal', 'Pulled', `Successfully pulled image "${c.image}" in ${took} (${took} including waiting)`);
  } else {
    ctx.event('Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
  }
  ctx.event('Normal', 'Created', `Created container ${c.name}`);
  ctx.event('Normal', 'Started', `Started container ${c.name}`);
  const { containerID, imageID } = ctx.startContainer(c.name, restartCount);
  const lastTerm = prev?.state?.terminated ?? prev?.lastState?.terminated;
  return {
    name: c.name,
    image: normalizeImage(c.image),
    imageID,
    containerID,
    ready: true,
    started: true,
    restartCount,
    state: { running: { startedAt: rfc3339(ctx.now) } },
    lastState: lastTerm ? { terminated: lastTerm } : {},
  };
}

/** The terminated state of a container that ran from `s` and exited now. */
function terminated(s: ContainerStatus, ctx: StageContext, code: number, reason = code === 0 ? 'Completed' : 'Error'): ContainerStatus {
  return {
    ...s,
    ready: false,
    started: false,
    state: {
      terminated: {
        exitCode: code,
        reason,
        startedAt: (s.state?.running?.startedAt as string | undefined) ?? rfc3339(ctx.now),
        finishedAt: rfc3339(ctx.now),
        ...(s.containerID ? { containerID: s.containerID } : {}),
      },
    },
  };
}

function setStatus(list: ContainerStatus[], next: ContainerStatus): void {
  const i = list.findIndex((s) => s.name === next.name);
  if (i < 0) list.push(next);
  else list[i] = next;
}

/** Stops every running or waiting container of the pod now (SIGTERM: exit 0; never-run: 137 ContainerStatusUnknown). */
function stopAll(pod: Pod, ctx: StageContext, which: (x: { c: Container; init: boolean }) => boolean = () => true): void {
  const st = pod.status!;
  for (const x of allContainers(pod)) {
    if (!which(x) || !x.s || isTerminated(x.s)) continue;
    const list = x.init ? (st.initContainerStatuses ??= []) : (st.containerStatuses ??= []);
    if (isRunning(x.s)) {
      ctx.stopContainer(x.c.name, 0, true);
      setStatus(list, terminated(x.s, ctx, 0));
    } else {
      // Never ran (or between restarts): kubelet reports it as lost when the pod ends.
      setStatus(list, {
        ...x.s,
        ready: false,
        started: false,
        state: { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated', startedAt: null, finishedAt: null } },
      });
    }
  }
}

/**
 * The default stages, in match order: deletion first (it overrides everything), then start-up,
 * then what happens to running containers.
 */
export function defaultStages(opts: DefaultStageOptions = {}): Stage[] {
  const start: StageDelay = opts.start ?? { ms: 1000, jitterMs: 250 };
  const stop: StageDelay = opts.stop ?? { ms: 500, jitterMs: 500 };

  /** A deleted pod whose containers have stopped (or never started) goes: the kubelet deletes it with grace 0. */
  const podRemove: Stage = {
    name: 'pod-remove',
    match: (pod) => deleting(pod) && (!started(pod) || isTerminalPhase(pod) || allContainers(pod).every((x) => !x.s || isTerminated(x.s))),
    delay: { ms: 0 },
    apply: () => ({ delete: true }),
  };

  /** A deleted pod: SIGTERM (Killing events) at once, containers stopped after the stop delay, phase terminal. */
  const podStop: Stage = {
    name: 'pod-stop',
    match: (pod) => deleting(pod) && started(pod),
    delay: (pod) => ({ ...stop, maxMs: Math.min(stop.maxMs ?? Infinity, (pod.metadata.deletionGracePeriodSeconds ?? 30) * 1000) }),
    begin(pod, ctx) {
      for (const x of allContainers(pod)) if (isRunning(x.s)) ctx.event('Normal', 'Killing', `Stopping container ${x.c.name}`);
    },
    apply(pod, ctx) {
      stopAll(pod, ctx);
      syncPodStatus(pod, ctx.now, true);
    },
  };

  /** A pod bound to the node: accepted at once, Pending with containers ContainerCreating (PodInitializing with init containers), host and pod IPs. */
  const podCreate: Stage = {
    name: 'pod-create',
    match: (pod, ctx) => live(pod) && (!started(pod) || (!sandboxReady(pod) && ctx.podIPAvailable())),
    delay: { ms: 0 },
    apply(pod, ctx) {
      const st = (pod.status ??= {});
      if (ctx.hostIP) {
        st.hostIP = ctx.hostIP;
        st.hostIPs = [{ ip: ctx.hostIP }];
      }
      const ip = hostNetwork(pod) ? ctx.hostIP : ctx.podIP();
      if (ip) {
        st.podIP = ip;
        st.podIPs = [{ ip }];
      } else if (!st.startTime) {
        const why = ctx.node.spec.podCIDR ? `no IP addresses available in range set: ${ctx.node.spec.podCIDR}` : `node "${ctx.node.metadata.name}" has no podCIDR`;
        ctx.event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: failed to set up pod network: ${why}`);
      }
      st.startTime ??= rfc3339(ctx.now);
      const hasInit = (pod.spec.initContainers ?? []).length > 0;
      const reason = hasInit ? PodInitializing : ContainerCreating;
      if (hasInit) st.initContainerStatuses = pod.spec.initContainers!.map((c) => statusOf(st.initContainerStatuses, c.name) ?? waitingStatus(c, PodInitializing));
      st.containerStatuses = pod.spec.containers.map((c) => statusOf(st.containerStatuses, c.name) ?? waitingStatus(c, reason));
      syncPodStatus(pod, ctx.now);
    },
  };

  /** The next init container: pulled and started after the start delay; a regular one runs to completion (exit 0), a sidecar keeps running. */
  const initContainerStart: Stage = {
    name: 'init-container-start',
    match: (pod) => live(pod) && sandboxReady(pod) && nextInitContainer(pod) !== undefined,
    delay: start,
    begin: (pod, ctx) => pullEvents(nextInitContainer(pod)!, ctx),
    apply(pod, ctx) {
      const c = nextInitContainer(pod)!;
      const list = (pod.status!.initContainerStatuses ??= []);
      const run = startContainer(c, statusOf(list, c.name), ctx, pullTime(c, ctx));
      if (isSidecar(c)) setStatus(list, run);
      else {
        ctx.stopContainer(c.name, 0, false);
        setStatus(list, terminated(run, ctx, 0));
      }
      syncPodStatus(pod, ctx.now);
    },
  };

  /** The app containers: pulled and started after the start delay; Running, ready. */
  const podStart: Stage = {
    name: 'pod-start',
    match: (pod) => live(pod) && sandboxReady(pod) && nextInitContainer(pod) === undefined && neverStarted(pod).length > 0,
    delay: start,
    begin(pod, ctx) {
      for (const c of neverStarted(pod)) pullEvents(c, ctx);
    },
    apply(pod, ctx) {
      const list = (pod.status!.containerStatuses ??= []);
      for (const c of neverStarted(pod)) setStatus(list, startContainer(c, statusOf(list, c.name), ctx, pullTime(c, ctx)));
      syncPodStatus(pod, ctx.now);
    },
  };

  /** Running app containers of a pod with `sim.berth.dev/run-seconds` exit when their time is up. */
  const exitDueAt = (pod: Pod, ctx: StageContext): number => {
    const secs = runSeconds(pod)!;
    let due = Infinity;
    for (const s of appStatuses(pod)) if (isRunning(s)) due = Math.min(due, (ctx.startedAt(s.name) ?? ctx.now) + secs * 1000);
    return due;
  };
  const containerExit: Stage = {
    name: 'container-exit',
    match: (pod) => live(pod) && runSeconds(pod) !== undefined && appStatuses(pod).some(isRunning),
    delay: (pod, ctx) => ({ ms: Math.max(0, exitDueAt(pod, ctx) - ctx.now) }),
    apply(pod, ctx) {
      const secs = runSeconds(pod)!;
      const code = exitCode(pod);
      const list = pod.status!.containerStatuses!;
      for (const s of [...list]) {
        if (!isRunning(s) || (ctx.startedAt(s.name) ?? ctx.now) + secs * 1000 > ctx.now) continue;
        ctx.stopContainer(s.name, code, false);
        setStatus(list, terminated(s, ctx, code));
      }
      // Every app container has finished for good: the kubelet stops the sidecars and the pod completes.
      const done = pod.spec.containers.every((c) => {
        const s = statusOf(list, c.name);
        return isTerminated(s) && !restarts(pod, (s!.state!.terminated!.exitCode as number) ?? 0);
      });
      if (done) stopAll(pod, ctx, (x) => x.init && isSidecar(x.c));
      syncPodStatus(pod, ctx.now);
    },
  };

  /**
   * A program that ended by itself while its container shows running (a `stdinOnce` container
   * whose attached client closed its input: it exits 0, as `cat` does) is reported exited.
   */
  const programExit: Stage = {
    name: 'program-exit',
    match: (pod, ctx) => !!ctx.programEnded && live(pod) && appStatuses(pod).some((s) => isRunning(s) && ctx.programEnded!(s.name)),
    delay: { ms: 0 },
    apply(pod, ctx) {
      const list = pod.status!.containerStatuses!;
      for (const s of [...list]) if (isRunning(s) && ctx.programEnded?.(s.name)) setStatus(list, terminated(s, ctx, 0));
      const done = pod.spec.containers.every((c) => {
        const s = statusOf(list, c.name);
        return isTerminated(s) && !restarts(pod, (s!.state!.terminated!.exitCode as number) ?? 0);
      });
      if (done) stopAll(pod, ctx, (x) => x.init && isSidecar(x.c));
      syncPodStatus(pod, ctx.now);
    },
  };

  /** A container that exited and restarts after a back-off shows CrashLoopBackOff meanwhile. */
  const containerBackOff: Stage = {
    name: 'container-backoff',
    match: (pod, ctx) => live(pod) && toRestart(pod, ctx).some((x) => x.backOff && isTerminated(x.s)),
    delay: { ms: 0 },
    apply(pod, ctx) {
      const list = pod.status!.containerStatuses!;
      for (const x of toRestart(pod, ctx)) {
        if (!x.backOff || !isTerminated(x.s)) continue;
        const wait = goDuration(backOffMs(x.s.restartCount));
        const who = `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
        ctx.event('Warning', 'BackOff', `Back-off restarting failed container ${x.c.name} in pod ${who}`);
        setStatus(list, {
          ...x.s,
          ready: false,
          started: false,
          state: { waiting: { reason: CrashLoopBackOff, message: `back-off ${wait} restarting failed container=${x.c.name} pod=${who}` } },
          lastState: { terminated: x.s.state!.terminated! },
        });
      }
      syncPodStatus(pod, ctx.now);
    },
  };

  /** A container that exited restarts: at once the first time, else when its back-off is over. */
  const restartDueAt = (x: { c: Container; s: ContainerStatus; backOff: boolean }, ctx: StageContext): number =>
    x.backOff ? (ctx.finishedAt(x.c.name) ?? ctx.now) + backOffMs(x.s.restartCount) : ctx.now;
  const containerRestart: Stage = {
    name: 'container-restart',
    match: (pod, ctx) => live(pod) && toRestart(pod, ctx).length > 0,
    delay: (pod, ctx) => ({ ms: Math.max(0, Math.min(...toRestart(pod, ctx).map((x) => restartDueAt(x, ctx))) - ctx.now) }),
    apply(pod, ctx) {
      const list = pod.status!.containerStatuses!;
      for (const x of toRestart(pod, ctx)) {
        if (restartDueAt(x, ctx) > ctx.now) continue;
        // A restart pulls again only with imagePullPolicy Always (a quick check of an image it has).
        const always = x.c.imagePullPolicy === 'Always';
        if (always) ctx.event('Normal', 'Pulling', `Pulling image "${x.c.image}"`);
        setStatus(list, startContainer(x.c, x.s, ctx, always ? 0 : undefined));
      }
      syncPodStatus(pod, ctx.now);
    },
  };

  return [podRemove, podStop, podCreate, initContainerStart, podStart, containerBackOff, containerRestart, programExit, containerExit];
}
