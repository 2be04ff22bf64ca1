/**
 * The simulated container runtime: no processes. Its pods go through the lifecycle stages
 * (`stages.ts`, KWOK-style data) on the injected clock, and it keeps only what a runtime would be
 * asked about — container instances with ids, start and finish times, exit codes and their logs
 * (the current instance of each container and the one before it, as a CRI runtime keeps them for
 * `kubectl logs --previous`). What a simulated program prints is data on the pod; see `stages.ts`
 * for the `sim.berth.dev/*` annotations.
 */
import { badRequest } from '../../api/errors.js';
import { clone, deepEqual } from '../../api/meta.js';
import type { Container, ContainerStatus, Pod } from '../../api/types.js';
import type { ExecStreams, LogOptions } from '../../apiserver/app.js';
import { parseTime, type Clock } from '../../clock/clock.js';
import type { Logger } from '../../runtime/logger.js';
import { CONTAINER_RUNTIME_VERSION } from '../nodestatus.js';
import { isTerminalPhase, statusOf } from '../podstatus.js';
import type { ContainerRuntime, LogInstance, NodeImage, PodSyncContext, RuntimeHealth, RuntimeHooks, RuntimeName } from '../runtime.js';
import type { Stage, StageContext } from '../types.js';
import { runSimCommand } from './sim-shell.js';
import { findContainer, imageIdOf, normalizeImage, sampleDelay, sha256Hex, shellJoin } from '../util.js';

/** Most stages applied to one pod in one sync (a guard against stages that never settle). */
const MAX_STEPS = 32;

/** The annotation whose lines (newline-separated) the simulated program of each app container prints when it starts. */
export const ANNOTATION_LOG_LINES = 'sim.berth.dev/log-lines';

export interface LogLine {
  /** When it was written, ms since the epoch. */
  t: number;
  text: string;
}

/** One run of a container: a CRI container. */
export class ContainerInstance {
  readonly lines: LogLine[] = [];
  finishedAt: number | undefined;
  exitCode: number | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly containerID: string,
    readonly name: string,
    readonly startedAt: number,
  ) {}

  get running(): boolean {
    return this.finishedAt === undefined;
  }

  write(t: number, text: string): void {
    this.lines.push({ t, text });
    this.wake();
  }

  finish(t: number, exitCode: number): void {
    if (this.finishedAt !== undefined) return;
    this.finishedAt = t;
    this.exitCode = exitCode;
    this.wake();
  }

  /** Resolves on the next line or on finish (or at once if finished). */
  changed(signal: AbortSignal): Promise<void> {
    if (!this.running || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** The container instances of one pod, by container name: `[previous?, current]`. */
class PodContainers {
  readonly byName = new Map<string, ContainerInstance[]>();
}

/** Options of a log read, as `GET pods/<name>/log` takes them. */
export interface ReadOptions {
  follow?: boolean;
  tailLines?: number;
  timestamps?: boolean;
  sinceSeconds?: number;
  limitBytes?: number;
}

/** The container id of an instance: `berth-sim://` and 64 hex digits, stable for (pod, container, restart). */
export function containerIdFor(podUid: string, name: string, restartCount: number): string {
  return `berth-sim://${sha256Hex('container', podUid, name, String(restartCount))}`;
}

/** RFC 3339 with nanoseconds, nine digits always, as the kubelet prefixes `--timestamps` lines. */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** The simulated container instances of every pod, by pod uid. */
export class SimContainers {
  private readonly pods = new Map<string, PodContainers>();

  /** Number of pods with containers in the runtime. */
  get size(): number {
    return this.pods.size;
  }

  /**
   * Starts an instance of `container` (an app container if `app`) at `now`: its log opens with a
   * runtime line, an echo of its command line if it has one, then the program's lines.
   */
  startContainer(pod: Pod, container: Container, restartCount: number, now: number, app: boolean): ContainerInstance {
    const uid = pod.metadata.uid ?? '';
    const id = containerIdFor(uid, container.name, restartCount);
    let pc = this.pods.get(uid);
    if (!pc) this.pods.set(uid, (pc = new PodContainers()));
    const list = pc.byName.get(container.name) ?? [];
    const existing = list.find((i) => i.containerID === id);
    if (existing) return existing;
    const inst = new ContainerInstance(id, container.name, now);
    for (const text of programLines(pod, container, app)) inst.write(now, text);
    list.push(inst);
    while (list.length > 2) list.shift();
    pc.byName.set(container.name, list);
    return inst;
  }

  /** Ends the current instance of a container, writing its last line. */
  stopContainer(podUid: string, name: string, exitCode: number, signal: boolean, now: number): void {
    const inst = this.current(podUid, name);
    if (!inst?.running) return;
    inst.write(now, signal ? `berth-sim: received SIGTERM, exiting with code ${exitCode}` : `berth-sim: program finished with exit code ${exitCode}`);
    inst.finish(now, exitCode);
  }

  /** The newest instance of a container, if the runtime has one. */
  current(podUid: string, name: string): ContainerInstance | undefined {
    return this.pods.get(podUid)?.byName.get(name)?.at(-1);
  }

  /** The instance with this container id. */
  byId(podUid: string, name: string, containerID: string): ContainerInstance | undefined {
    return this.pods.get(podUid)?.byName.get(name)?.find((i) => i.containerID === containerID);
  }

  /**
   * The instance a container status names (`state` or `lastState`), rebuilt from the status when
   * the runtime does not have it (the agent restarted): same lines, times from the status.
   */
  instanceFor(pod: Pod, container: Container, status: ContainerStatus, which: 'state' | 'lastState', app: boolean): ContainerInstance | undefined {
    const uid = pod.metadata.uid ?? '';
    const term = status[which]?.terminated as { containerID?: string; startedAt?: string; finishedAt?: string; exitCode?: number } | undefined;
    const run = which === 'state' ? (status.state?.running as { startedAt?: string } | undefined) : undefined;
    const id = term?.containerID ?? (run ? status.containerID : undefined);
    if (!id) return undefined;
    const found = this.byId(uid, container.name, id);
    if (found) return found;
    const started = parseTime(term?.startedAt ?? run?.startedAt);
    const inst = new ContainerInstance(id, container.name, Number.isNaN(started) ? 0 : started);
    for (const text of programLines(pod, container, app)) inst.write(inst.startedAt, text);
    if (term) {
      const finished = parseTime(term.finishedAt);
      const t = Number.isNaN(finished) ? inst.startedAt : finished;
      inst.write(t, `berth-sim: program finished with exit code ${term.exitCode ?? 0}`);
      inst.finish(t, term.exitCode ?? 0);
    }
    let pc = this.pods.get(uid);
    if (!pc) this.pods.set(uid, (pc = new PodContainers()));
    const list = pc.byName.get(container.name) ?? [];
    list.unshift(inst);
    list.sort((a, b) => a.startedAt - b.startedAt);
    while (list.length > 2) list.shift();
    pc.byName.set(container.name, list);
    return inst;
  }

  /** Forgets a pod's containers (it is gone); anyone following their logs sees the end. */
  release(podUid: string, now: number): void {
    const pc = this.pods.get(podUid);
    if (!pc) return;
    this.pods.delete(podUid);
    for (const list of pc.byName.values()) for (const inst of list) inst.finish(now, inst.exitCode ?? 137);
  }

  /** Reads an instance's log: text, or with `follow` a stream of lines until it stops or `signal` aborts. */
  read(inst: ContainerInstance, opts: ReadOptions, now: number, signal: AbortSignal): string | AsyncIterable<string> {
    let lines = inst.lines;
    if (opts.sinceSeconds !== undefined && opts.sinceSeconds > 0) {
      const from = now - opts.sinceSeconds * 1000;
      lines = lines.filter((l) => l.t >= from);
    }
    if (opts.tailLines !== undefined && opts.tailLines >= 0) lines = opts.tailLines === 0 ? [] : lines.slice(-opts.tailLines);
    const fmt = (l: LogLine): string => `${opts.timestamps ? `${rfc3339Nano(l.t)} ` : ''}${l.text}\n`;
    const limit = opts.limitBytes !== undefined && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
    if (!opts.follow) return cut(lines.map(fmt).join(''), limit);
    return follow(inst, lines, inst.lines.length, fmt, limit, signal);
  }
}

/** Cuts text to at most `limit` bytes of UTF-8 (the kubelet cuts the stream, even mid-line). */
function cut(text: string, limit: number): string {
  if (limit === Infinity || Buffer.byteLength(text) <= limit) return text;
  return Buffer.from(text).subarray(0, limit).toString('utf8');
}

async function* follow(inst: ContainerInstance, first: LogLine[], next: number, fmt: (l: LogLine) => string, limit: number, signal: AbortSignal): AsyncGenerator<string> {
  let left = limit;
  const emit = (l: LogLine): string | undefined => {
    if (left <= 0) return undefined;
    const text = cut(fmt(l), left);
    left -= Buffer.byteLength(text);
    return text;
  };
  for (const l of first) {
    const t = emit(l);
    if (t === undefined) return;
    yield t;
  }
  while (!signal.aborted) {
    while (next < inst.lines.length) {
      const t = emit(inst.lines[next++]!);
      if (t === undefined) return;
      yield t;
    }
    if (!inst.running) return;
    await inst.changed(signal);
  }
}

/** The log lines a simulated container writes as it starts. */
export function programLines(pod: Pod, container: Container, app: boolean): string[] {
  const out = [`berth-sim: started container ${container.name} (image ${container.image ?? ''})`];
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  if (argv.length) out.push(`berth-sim: exec ${shellJoin(argv)}`);
  const text = app ? pod.metadata.annotations?.[ANNOTATION_LOG_LINES] : undefined;
  if (text) {
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    out.push(...lines);
  }
  return out;
}

/** The image id to show for a container's image. */
export function imageIdForContainer(c: Container): string {
  return imageIdOf(c.image);
}

export interface SimRuntimeOptions {
  clock: Clock;
  log: Logger;
  /** The pod lifecycle, in match order. */
  stages: Stage[];
  /** Uniform [0, 1) source for delay jitter. */
  random: () => number;
}

/** What the simulated runtime knows of a pod: the stage waiting for its delay. */
interface SimPod {
  pending: { stage: string; since: number; dueAt: number } | undefined;
}

/**
 * The simulated runtime: plays the stages on each pod (the first stage whose `match` holds; its
 * delay; `apply` on a private copy of the status; write; look again) over `SimContainers`.
 * Always healthy.
 */
export class SimRuntime implements ContainerRuntime {
  readonly name: RuntimeName = 'sim';
  /** The container instances and their logs. */
  readonly containers = new SimContainers();
  private readonly pods = new Map<string, SimPod>();
  /** Images on each node (node name → normalized reference → when pulled, ms). */
  private readonly images = new Map<string, Map<string, number>>();

  constructor(private readonly opts: SimRuntimeOptions) {}

  /** Number of pods with containers in the runtime. */
  get size(): number {
    return this.containers.size;
  }

  version(): string {
    return CONTAINER_RUNTIME_VERSION;
  }

  /**
   * The images pulled on the node, most recent first. The simulation knows no image sizes, so
   * `sizeBytes` is left out (ImageLocality then gives these nodes no preference).
   */
  nodeImages(nodeName: string): NodeImage[] {
    const known = this.images.get(nodeName);
    if (!known) return [];
    return [...known].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([ref]) => ({ names: [ref] }));
  }

  /** The agent's hooks (a program that ended by itself wakes its pod). */
  private hooks: RuntimeHooks | undefined;

  start(_signal: AbortSignal, hooks: RuntimeHooks): void {
    this.hooks = hooks;
  }

  async health(): Promise<RuntimeHealth> {
    return { ready: true };
  }

  async syncPod(cached: Pod, ctx: PodSyncContext): Promise<void> {
    const uid = cached.metadata.uid!;
    let sp = this.pods.get(uid);
    if (!sp) this.pods.set(uid, (sp = { pending: undefined }));
    const clear = (): void => {
      sp.pending = undefined;
      ctx.cancelWake();
    };
    let pod = cached;
    for (let step = 0; step < MAX_STEPS; step++) {
      const now = ctx.now();
      if (isTerminalPhase(pod)) ctx.ipam?.release(uid);
      else if (pod.status?.podIP && ctx.ipam && !pod.spec.hostNetwork && ctx.ipam.addressOf(uid) === undefined) ctx.ipam.adopt(uid, pod.status.podIP);

      const effects: (() => void)[] = [];
      const probe = this.context(ctx, pod, sp.pending?.since ?? now, effects);
      const stage = this.opts.stages.find((s) => s.match(pod, probe));
      if (!stage) {
        clear();
        return;
      }
      if (sp.pending?.stage !== stage.name) {
        clear();
        // The delay and its start are one instant: a stage whose delay runs to an absolute time
        // (a container's exit) is due exactly then, however long this sync takes.
        const sctx = this.context(ctx, pod, now, effects, now);
        const d = typeof stage.delay === 'function' ? stage.delay(pod, sctx) : stage.delay;
        sp.pending = { stage: stage.name, since: now, dueAt: now + sampleDelay(d, this.opts.random) };
        stage.begin?.(pod, sctx);
        for (const fx of effects.splice(0)) fx();
      }
      let dueAt = sp.pending.dueAt;
      const deadline = parseTime(pod.metadata.deletionTimestamp);
      if (!Number.isNaN(deadline)) dueAt = Math.min(dueAt, deadline);
      if (now < dueAt) {
        ctx.wakeAt(dueAt);
        return;
      }

      // Stages edit only the status: the rest of the draft is shared with the cache, read-only.
      const draft: Pod = { ...pod, status: clone(pod.status) ?? {} };
      const sctx = this.context(ctx, draft, sp.pending.since, effects);
      const result = stage.apply(draft, sctx) ?? {};
      if (result.delete) {
        for (const fx of effects.splice(0)) fx();
        sp.pending = undefined;
        await ctx.deletePod(pod);
        return;
      }
      if (deepEqual(draft.status, pod.status)) {
        for (const fx of effects.splice(0)) fx();
        this.opts.log.debug({ pod: ctx.key, stage: stage.name }, 'stage matched but changed nothing');
        return;
      }
      const written = await ctx.writeStatus(draft);
      sp.pending = undefined;
      for (const fx of effects.splice(0)) fx();
      pod = written;
    }
    this.opts.log.warn({ pod: ctx.key }, `more than ${MAX_STEPS} stages in one go; looking again later`);
    ctx.wakeAt(ctx.now() + 1000);
  }

  async forgetPod(uid: string): Promise<void> {
    this.pods.delete(uid);
    this.containers.release(uid, this.opts.clock.now());
  }

  forgetNode(name: string): void {
    this.images.delete(name);
  }

  async readLog(pod: Pod, container: Container, status: ContainerStatus, which: LogInstance, app: boolean, opts: LogOptions, signal: AbortSignal): Promise<string | AsyncIterable<string>> {
    const inst = this.containers.instanceFor(pod, container, status, which, app);
    if (!inst) throw badRequest(`container "${container.name}" in pod "${pod.metadata.name}" is waiting to start - no logs yet`);
    return this.containers.read(inst, opts, this.opts.clock.now(), signal);
  }

  /** Runs a command in a running simulated container through the simulated shell (`sim-shell.ts`). */
  async exec(pod: Pod, container: Container, _status: ContainerStatus, command: string[], io: ExecStreams, signal: AbortSignal): Promise<number> {
    return runSimCommand(command, io, { pod, container, now: this.opts.clock.now() }, signal);
  }

  /**
   * Attaches to a running simulated container's program: every log line it writes from now on
   * goes to `io.stdout` (lines end in CRLF with a terminal). A container with `stdin: true` runs
   * a program that reads its standard input and prints each line it reads (as `cat` does), so
   * what the client types shows in the attach session and in `kubectl logs`. When the client
   * closes its input and the container has `stdinOnce: true`, the container's stdin is closed
   * for good and the program exits 0 (`cat` at end of input); the pod then goes through the
   * usual container exit (restartPolicy decides what follows). Resolves when the program ends or
   * `signal` aborts.
   */
  async attach(pod: Pod, container: Container, status: ContainerStatus, io: ExecStreams, signal: AbortSignal): Promise<void> {
    const found = findContainer(pod, container.name);
    const inst = this.containers.instanceFor(pod, container, status, 'state', found?.app ?? true);
    if (!inst?.running) throw badRequest(`container not found ("${container.name}"): it is not running in pod ${pod.metadata.name}`);
    const eol = io.tty ? '\r\n' : '\n';
    const stdin = container.stdin && io.stdin ? io.stdin : undefined;
    if (stdin) void this.readStdin(pod, container, inst, stdin, signal);
    let next = inst.lines.length;
    while (!signal.aborted) {
      while (next < inst.lines.length) io.stdout?.(Buffer.from(inst.lines[next++]!.text + eol));
      if (!inst.running) break;
      await inst.changed(signal);
    }
  }

  /** The program's side of stdin: each line read is printed; end of input ends a `stdinOnce` container's program (exit 0). */
  private async readStdin(pod: Pod, container: Container, inst: ContainerInstance, stdin: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<void> {
    let pending = '';
    for await (const chunk of stdin) {
      if (signal.aborted || !inst.running) return;
      pending += Buffer.from(chunk).toString('utf8').replace(/\r\n?/g, '\n');
      for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
        inst.write(this.opts.clock.now(), pending.slice(0, i));
        pending = pending.slice(i + 1);
      }
    }
    if (signal.aborted || !inst.running || !container.stdinOnce) return;
    if (pending) inst.write(this.opts.clock.now(), pending);
    inst.finish(this.opts.clock.now(), 0);
    this.hooks?.podChanged(`${pod.metadata.namespace}/${pod.metadata.name}`);
  }

  /**
   * A stage's view of the world for one pod at `now` (default: the clock's now); effects are
   * queued in `effects` and run once the status write succeeds.
   */
  private context(ctx: PodSyncContext, pod: Pod, since: number, effects: (() => void)[], now = ctx.now()): StageContext {
    const uid = pod.metadata.uid!;
    const nodeName = ctx.node.metadata.name!;
    let images = this.images.get(nodeName);
    if (!images) this.images.set(nodeName, (images = new Map()));
    const known = images;
    const containers = this.containers;
    const times = (name: string): { started?: string; finished?: string } => {
      const s = statusOf(pod.status?.containerStatuses, name) ?? statusOf(pod.status?.initContainerStatuses, name);
      const term = (s?.state?.terminated ?? s?.lastState?.terminated) as { startedAt?: string; finishedAt?: string } | undefined;
      return { started: (s?.state?.running?.startedAt as string | undefined) ?? term?.startedAt, finished: term?.finishedAt };
    };
    return {
      now,
      since,
      node: ctx.node,
      hostIP: ctx.hostIP,
      random: this.opts.random,
      podIP: () => ctx.ipam?.allocate(uid),
      podIPAvailable: () => !!ctx.ipam?.canAllocate(uid),
      hasImage: (image) => {
        const t = known.get(normalizeImage(image));
        return t !== undefined && t <= since;
      },
      startContainer: (name, restartCount) => {
        const found = findContainer(pod, name);
        if (!found) throw new RangeError(`pod ${ctx.key} has no container ${name}`);
        effects.push(() => {
          containers.startContainer(pod, found.c, restartCount, now, found.app);
          const image = normalizeImage(found.c.image);
          if (!known.has(image)) known.set(image, now);
        });
        return { containerID: containerIdFor(uid, name, restartCount), imageID: imageIdOf(found.c.image) };
      },
      stopContainer: (name, exitCode, signal) => {
        effects.push(() => containers.stopContainer(uid, name, exitCode, signal, now));
      },
      startedAt: (name) => {
        const inst = containers.current(uid, name);
        if (inst) return inst.startedAt;
        const t = parseTime(times(name).started);
        return Number.isNaN(t) ? undefined : t;
      },
      finishedAt: (name) => {
        const inst = containers.current(uid, name);
        if (inst?.finishedAt !== undefined) return inst.finishedAt;
        const t = parseTime(times(name).finished);
        return Number.isNaN(t) ? undefined : t;
      },
      programEnded: (name) => {
        const inst = containers.current(uid, name);
        const s = statusOf(pod.status?.containerStatuses, name);
        return !!inst && !inst.running && !!s?.state?.running && s.containerID === inst.containerID;
      },
      event: (type, reason, message) => {
        effects.push(() => ctx.event(pod, type, reason, message));
      },
    };
  }
}
