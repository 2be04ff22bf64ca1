/**
 * The Docker runtime: each container of a pod on a Docker node is a real Docker container, run
 * through dockerode. The agent plays the kubelet around it, level-based — every sync lists the
 * pod's containers (by label), compares them with the spec and acts:
 *
 * ```
 *   bound ─▶ accepted (hostIP, podIP 127.0.0.1, startTime; ports allocated, node.berth.dev/ports)
 *        ─▶ volumes set up (FailedMount and retry while a ConfigMap/Secret is missing)
 *        ─▶ init containers, one at a time, each to exit 0 (a sidecar: until started)
 *        ─▶ app containers: image (IfNotPresent/Always/Never; ErrImagePull ▸ ImagePullBackOff),
 *           environment (CreateContainerConfigError), create, start; probes run
 *   a container exits ─▶ the restart policy: restart at once the first time, then after the
 *           kubelet's back-off (10 s, 20 s … 300 s; CrashLoopBackOff meanwhile), or stay exited
 *   a liveness or startup probe fails ─▶ Killing, then the same
 *   deleted ─▶ stop signal, SIGKILL after the grace period ─▶ terminal phase ─▶ containers and
 *           volumes removed, the pod deleted (grace 0)
 * ```
 *
 * Status comes from what Docker reports: exit codes, `OOMKilled` (reason OOMKilled), start and
 * finish times (converted to cluster time), `docker://` container ids. Containers carry the
 * kubelet's labels (`io.kubernetes.pod.uid`, …), `node.berth.dev/node` and `node.berth.dev/node-uid`,
 * so a restarted agent adopts what runs instead of starting it again (and cleans up only its own
 * Node's containers). Networking is the host's (see ports.ts: an
 * image must listen on `$PORT`).
 *
 * Time: back-offs, probe periods and grace periods are cluster time (the injected clock, so
 * `--time-scale` speeds them up); pull and probe timeouts are real time.
 */
import type Dockerode from 'dockerode';
import type { Readable } from 'node:stream';
import { badRequest, isNotFound, StatusError } from '../../../api/errors.js';
import { deepEqual } from '../../../api/meta.js';
import type { Container, ContainerStatus, Node, Pod } from '../../../api/types.js';
import type { ExecStreams, LogOptions } from '../../../apiserver/app.js';
import { parseTime, rfc3339, type Clock } from '../../../clock/clock.js';
import { Kinds, type Client } from '../../../client/client.js';
import type { Logger } from '../../../runtime/logger.js';
import { ContainerCreating, CrashLoopBackOff, isSidecar, isTerminalPhase, PodInitializing, statusOf, syncPodStatus, waitingStatus } from '../../podstatus.js';
import type { ContainerRuntime, LogInstance, PodSyncContext, RuntimeHealth, RuntimeHooks, RuntimeName } from '../../runtime.js';
import { backOffMs, BACKOFF_MAX_MS, BACKOFF_RESET_MS, BACKOFF_INITIAL_MS } from '../../stages.js';
import { goDuration, normalizeImage } from '../../util.js';
import { defaultDockerHost, dockerMessage, dockerStatus, DockerEngine, parseImageName } from './engine.js';
import { DOCKER_POD_IP, HostPorts, portsOf, PORTS_ANNOTATION, probePort, type PortMapping } from './ports.js';
import { ContainerProber, type ProbeKind, type ProbeSpec } from './probes.js';
import { containerEnv, ContainerConfigError, createOptions, LABELS, type ConfigLookup } from './spec.js';
import { cutBytes, demuxAll, followLog, runExec } from './streams.js';
import { mountsFor, prepareVolumes, removePodDir, VolumeError, type HostVolume } from './volumes.js';

export interface DockerRuntimeOptions {
  /** The engine: `unix:///path/docker.sock` or `tcp://host:port` (default `$DOCKER_HOST`, else `unix:///var/run/docker.sock`). */
  host?: string;
  /** Reads ConfigMaps and Secrets, writes the ports annotation. */
  client: Client;
  clock: Clock;
  log: Logger;
  /** Where pod volumes live on the host (`<dataDir>/pods/<uid>/volumes/…`). */
  dataDir: string;
  /** Seconds (real) an image pull may take before it counts as failed (default 30). */
  pullTimeoutSeconds?: number;
  /** Seconds of cluster time between syncs of a pod when nothing happens (default 30): a safety net under the engine's events. */
  resyncSeconds?: number;
}

/** One run of a container, as Docker reports it. */
interface Run {
  id: string;
  name: string;
  attempt: number;
  info: Dockerode.ContainerInspectInfo;
}

/** A run's state in Kubernetes terms. */
interface RunState {
  running: boolean;
  /** Created, never started, no error: it should be started. */
  created: boolean;
  terminated?: { exitCode: number; reason: string; message?: string; startedAt: number; finishedAt: number };
  startedAt: number;
}

/** Why a container has no run yet (or cannot get its next one). */
interface Waiting {
  reason: string;
  message?: string;
}

/** What the runtime keeps about a pod between syncs (all of it can be rebuilt from the pod and the engine). */
interface DockerPod {
  uid: string;
  key: string;
  ports: PortMapping[] | undefined;
  probers: Map<string, ContainerProber>;
  waiting: Map<string, Waiting>;
  /** Per image: failed pulls in a row, the end of the back-off (cluster ms), and the last pull's ErrImagePull message. */
  pullBackOff: Map<string, { failures: number; until: number; message: string }>;
  /** Runs killed because a probe failed: they restart whatever their exit code (except with restartPolicy Never). */
  probeKilled: Set<string>;
  /** Runs whose back-off has been announced with a BackOff event. */
  backOffAnnounced: Set<string>;
  /** The last FailedMount or config error message, so each is recorded once. */
  lastWarning: Map<string, string>;
}

/** What a container should do next. */
type Decision =
  | { kind: 'start'; attempt: number }
  | { kind: 'start-created'; run: Run }
  | { kind: 'running'; run: Run }
  | { kind: 'backoff'; run: Run; until: number }
  | { kind: 'done'; run: Run }
  | { kind: 'blocked' };

const DOCKER_ID = 'docker://';

/** A Docker engine's timestamp (RFC 3339, or Go's zero time) as ms since the epoch; NaN for the zero time. */
function dockerTime(s: string | undefined): number {
  if (!s || s.startsWith('0001-')) return NaN;
  return Date.parse(s);
}

export class DockerRuntime implements ContainerRuntime {
  readonly name: RuntimeName = 'docker';
  readonly host: string;
  private engine: DockerEngine | undefined;
  private engineError: string | undefined;
  private engineVersion = '';
  private health_: { at: number; value: RuntimeHealth } | undefined;
  private healthCheck: Promise<RuntimeHealth> | undefined;
  private hooks: RuntimeHooks | undefined;
  private signal: AbortSignal | undefined;
  private eventsRunning = false;
  private readonly pods = new Map<string, DockerPod>();
  private readonly ports = new HostPorts();
  private readonly lastCleanup = new Map<string, number>();
  private readonly pullTimeoutMs: number;
  private readonly resyncMs: number;

  constructor(private readonly opts: DockerRuntimeOptions) {
    this.host = opts.host ?? defaultDockerHost();
    this.pullTimeoutMs = (opts.pullTimeoutSeconds ?? 30) * 1000;
    this.resyncMs = (opts.resyncSeconds ?? 30) * 1000;
    try {
      this.engine = new DockerEngine(this.host);
    } catch (e) {
      this.engineError = (e as Error).message;
    }
  }

  version(): string {
    return `docker://${this.engineVersion || 'unknown'}`;
  }

  start(signal: AbortSignal, hooks: RuntimeHooks): void {
    this.signal = signal;
    this.hooks = hooks;
    signal.addEventListener('abort', () => {
      for (const dp of this.pods.values()) for (const p of dp.probers.values()) p.stop();
    });
  }

  /** Cluster time (ms) of a wall-clock time from the engine. */
  private toCluster(wallMs: number): number {
    const scale = (this.opts.clock as { scale?: number }).scale ?? 1;
    return this.opts.clock.now() - (Date.now() - wallMs) * scale;
  }

  /** The engine, if it answers; throws an Error saying why not. */
  private async connected(): Promise<DockerEngine> {
    const h = await this.health();
    if (!h.ready) throw new Error(h.message);
    return this.engine!;
  }

  /**
   * Pings the engine (at most every 2 s of real time; answers in between come from the last
   * ping). The first successful ping starts following the engine's events.
   */
  async health(): Promise<RuntimeHealth> {
    if (!this.engine) return { ready: false, message: `container runtime is down: ${this.engineError}` };
    const now = Date.now();
    if (this.health_ && now - this.health_.at < 2000) return this.health_.value;
    this.healthCheck ??= (async (): Promise<RuntimeHealth> => {
      try {
        await this.engine!.ping();
        if (!this.engineVersion) this.engineVersion = await this.engine!.version();
        return { ready: true };
      } catch (e) {
        return { ready: false, message: `container runtime is down: cannot reach the Docker engine at ${this.host}: ${dockerMessage(e)}` };
      }
    })().finally(() => (this.healthCheck = undefined));
    const value = await this.healthCheck;
    const was = this.health_?.value.ready;
    this.health_ = { at: Date.now(), value };
    if (was !== undefined && was !== value.ready) this.hooks?.healthChanged();
    if (value.ready) this.followEvents();
    return value;
  }

  /** Follows the engine's container events (once), re-syncing a pod when one of its containers dies. */
  private followEvents(): void {
    if (this.eventsRunning || !this.signal || this.signal.aborted || !this.engine) return;
    this.eventsRunning = true;
    const signal = this.signal;
    void (async () => {
      while (!signal.aborted) {
        try {
          await this.engine!.events(LABELS.node, signal, (e) => {
            const a = e.Actor?.Attributes;
            if (!a || !['die', 'oom', 'destroy', 'start'].includes(e.Action ?? '')) return;
            const ns = a[LABELS.podNamespace];
            const name = a[LABELS.podName];
            if (ns && name) this.hooks?.podChanged(`${ns}/${name}`);
          });
        } catch (e) {
          this.opts.log.debug({ err: dockerMessage(e) }, 'docker events stream failed');
          this.health_ = undefined;
        }
        if (signal.aborted) break;
        await new Promise((r) => setTimeout(r, 1000));
        // Events may have been missed meanwhile: look at every pod.
        for (const dp of this.pods.values()) this.hooks?.podChanged(dp.key);
      }
      this.eventsRunning = false;
    })();
  }

  // ---------------------------------------------------------------------------------------------
  // Containers

  /** The pod's runs, by container name, newest first. */
  private async runsOf(engine: DockerEngine, uid: string): Promise<Map<string, Run[]>> {
    const list = await engine.list([`${LABELS.podUid}=${uid}`]);
    const byName = new Map<string, { id: string; attempt: number }[]>();
    for (const c of list) {
      const name = c.Labels[LABELS.containerName];
      if (!name) continue;
      const arr = byName.get(name) ?? [];
      arr.push({ id: c.Id, attempt: Number(c.Labels[LABELS.restartCount] ?? 0) || 0 });
      byName.set(name, arr);
    }
    const out = new Map<string, Run[]>();
    for (const [name, arr] of byName) {
      arr.sort((a, b) => b.attempt - a.attempt);
      // The kubelet keeps the current run and the one before it (for `logs --previous`).
      for (const old of arr.slice(2)) await engine.api.getContainer(old.id).remove({ force: true }).catch(() => undefined);
      const runs: Run[] = [];
      for (const r of arr.slice(0, 2)) {
        const info = await engine.inspect(r.id);
        if (info) runs.push({ id: r.id, name, attempt: r.attempt, info });
      }
      out.set(name, runs);
    }
    return out;
  }

  private runState(run: Run): RunState {
    const st = run.info.State;
    const created = this.toCluster(Date.parse(run.info.Created));
    const started = dockerTime(st.StartedAt);
    const startedAt = Number.isNaN(started) ? created : this.toCluster(started);
    if (st.Running || st.Restarting || st.Paused) return { running: true, created: false, startedAt };
    if (st.Status === 'created') {
      if (!st.Error) return { running: false, created: true, startedAt };
      // Docker could not start it (no such executable, …): the kubelet's StartError.
      return { running: false, created: false, startedAt, terminated: { exitCode: 128, reason: 'StartError', message: st.Error, startedAt, finishedAt: startedAt } };
    }
    const finished = dockerTime(st.FinishedAt);
    const finishedAt = Number.isNaN(finished) ? startedAt : this.toCluster(finished);
    const reason = st.OOMKilled ? 'OOMKilled' : st.ExitCode === 0 ? 'Completed' : 'Error';
    return { running: false, created: false, startedAt, terminated: { exitCode: st.ExitCode, reason, ...(st.Error ? { message: st.Error } : {}), startedAt, finishedAt } };
  }

  /** Whether a run that exited restarts (the pod's restart policy; init containers only on failure; sidecars always). */
  private restarts(pod: Pod, c: Container, init: boolean, run: Run, term: NonNullable<RunState['terminated']>, dp: DockerPod): boolean {
    const policy = pod.spec.restartPolicy ?? 'Always';
    if (init && isSidecar(c)) return true;
    if (policy === 'Never') return false;
    if (init) return term.exitCode !== 0;
    return policy === 'Always' || term.exitCode !== 0 || dp.probeKilled.has(run.id);
  }

  /** What container `c` does next, from its runs alone (pure, given `now`). */
  private decide(pod: Pod, c: Container, init: boolean, runs: Run[], dp: DockerPod, now: number): Decision {
    const latest = runs[0];
    if (!latest) return { kind: 'start', attempt: 0 };
    const st = this.runState(latest);
    if (st.created) return { kind: 'start-created', run: latest };
    if (st.running) return { kind: 'running', run: latest };
    const term = st.terminated!;
    if (!this.restarts(pod, c, init, latest, term, dp)) return { kind: 'done', run: latest };
    // As the simulated runtime: the first restart is at once, then the kubelet's back-off by restart count.
    const ran = term.finishedAt - term.startedAt;
    const until = term.finishedAt + (latest.attempt >= 1 && ran < BACKOFF_RESET_MS ? backOffMs(latest.attempt) : 0);
    if (now < until) return { kind: 'backoff', run: latest, until };
    return { kind: 'start', attempt: latest.attempt + 1 };
  }

  // ---------------------------------------------------------------------------------------------
  // Sync

  private podState(pod: Pod, key: string): DockerPod {
    const uid = pod.metadata.uid!;
    let dp = this.pods.get(uid);
    if (!dp) {
      dp = { uid, key, ports: portsOf(pod), probers: new Map(), waiting: new Map(), pullBackOff: new Map(), probeKilled: new Set(), backOffAnnounced: new Set(), lastWarning: new Map() };
      if (dp.ports) this.ports.adopt(uid, dp.ports);
      this.pods.set(uid, dp);
    }
    return dp;
  }

  async syncPod(cached: Pod, ctx: PodSyncContext): Promise<void> {
    const engine = await this.connected();
    const dp = this.podState(cached, ctx.key);
    let pod = cached;
    let runs = await this.runsOf(engine, dp.uid);

    if (pod.metadata.deletionTimestamp) return this.terminate(engine, pod, ctx, dp, runs);
    if (isTerminalPhase(pod)) {
      // Nothing runs in a finished pod; its exited containers stay for `logs` until it is deleted.
      await this.stopRuns(engine, pod, ctx, dp, runs, (r) => this.runState(r).running, 'Stopping container %s');
      return;
    }

    // Accept the pod: its ports first (an annotation), then hostIP, podIP and startTime.
    if (!dp.ports) {
      dp.ports = portsOf(pod) ?? (await this.ports.allocate(pod));
      if (pod.metadata.annotations?.[PORTS_ANNOTATION] === undefined) {
        const value = JSON.stringify(dp.ports);
        // JSON patch with a test of the uid: only this pod, not a new one of the same name.
        const patch = [
          { op: 'test', path: '/metadata/uid', value: dp.uid },
          pod.metadata.annotations ? { op: 'add', path: `/metadata/annotations/${PORTS_ANNOTATION.replace('/', '~1')}`, value } : { op: 'add', path: '/metadata/annotations', value: { [PORTS_ANNOTATION]: value } },
        ];
        pod = await this.opts.client.patch<Pod>(Kinds.Pod, pod.metadata.name!, pod.metadata.namespace, 'json', patch);
      }
    }
    if (!pod.status?.startTime) {
      const draft: Pod = { ...pod, status: { ...(pod.status ?? {}) } };
      const st = draft.status!;
      if (ctx.hostIP) {
        st.hostIP = ctx.hostIP;
        st.hostIPs = [{ ip: ctx.hostIP }];
      }
      st.podIP = DOCKER_POD_IP;
      st.podIPs = [{ ip: DOCKER_POD_IP }];
      st.startTime = rfc3339(ctx.now());
      const hasInit = (pod.spec.initContainers ?? []).length > 0;
      if (hasInit) st.initContainerStatuses = pod.spec.initContainers!.map((c) => waitingStatus(c, PodInitializing));
      st.containerStatuses = pod.spec.containers.map((c) => waitingStatus(c, hasInit ? PodInitializing : ContainerCreating));
      syncPodStatus(draft, ctx.now());
      pod = await ctx.writeStatus(draft);
    }

    const wakes: number[] = [ctx.now() + this.resyncMs];
    let volumes: Map<string, HostVolume> | undefined;
    try {
      volumes = await prepareVolumes(pod, { root: this.opts.dataDir, lookup: this.lookup, hostIP: ctx.hostIP, allocatable: ctx.node.status?.allocatable });
      dp.lastWarning.delete('volumes');
    } catch (e) {
      if (!(e instanceof VolumeError)) throw e;
      this.warnOnce(dp, 'volumes', e.message, () => ctx.event(pod, 'Warning', 'FailedMount', e.message));
      wakes.push(ctx.now() + 2000);
    }

    if (volumes && (await this.act(engine, pod, ctx, dp, runs, volumes, wakes))) runs = await this.runsOf(engine, dp.uid);
    await this.writeStatus(pod, ctx, dp, runs);
    ctx.wakeAt(Math.min(...wakes));
  }

  /** Starts, restarts and kills containers as their decisions say; true if it changed anything. */
  private async act(engine: DockerEngine, pod: Pod, ctx: PodSyncContext, dp: DockerPod, runs: Map<string, Run[]>, volumes: Map<string, HostVolume>, wakes: number[]): Promise<boolean> {
    let changed = false;
    const now = ctx.now();
    const live = new Set<string>();
    const step = async (c: Container, init: boolean): Promise<Decision> => {
      let d = this.decide(pod, c, init, runs.get(c.name) ?? [], dp, now);
      if (d.kind === 'running') {
        live.add(d.run.id);
        this.ensureProber(engine, pod, ctx, dp, c, d.run);
        const failed = dp.probers.get(d.run.id)?.failed;
        if (failed) {
          await this.killForProbe(engine, pod, ctx, dp, c, d.run, failed.kind, failed.spec);
          changed = true;
          return { kind: 'blocked' };
        }
      }
      if (d.kind === 'backoff') {
        wakes.push(d.until);
        if (!dp.backOffAnnounced.has(d.run.id)) {
          dp.backOffAnnounced.add(d.run.id);
          ctx.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${dp.uid})`);
        }
      }
      if (d.kind === 'start' || d.kind === 'start-created') {
        const ok = await this.startRun(engine, pod, ctx, dp, c, d, volumes, wakes);
        changed = true;
        d = ok ? { kind: 'blocked' } : d;
      }
      return d;
    };

    const steps = async (): Promise<void> => {
      // Init containers, one at a time, in order; then every app container.
      for (const c of pod.spec.initContainers ?? []) {
        const d = await step(c, true);
        if (isSidecar(c)) {
          if (d.kind === 'running' && (dp.probers.get(d.run.id)?.started ?? true)) continue;
          return;
        }
        if (d.kind === 'done' && this.runState(d.run).terminated?.exitCode === 0) continue;
        return;
      }
      for (const c of pod.spec.containers) await step(c, false);
    };
    await steps();
    // Probes of runs that no longer run stop.
    for (const [id, p] of dp.probers) {
      if (live.has(id)) continue;
      p.stop();
      dp.probers.delete(id);
    }

    // Every app container has finished for good: the sidecars stop and the pod completes.
    const appDone = pod.spec.containers.every((c) => this.decide(pod, c, false, runs.get(c.name) ?? [], dp, now).kind === 'done');
    if (appDone && (pod.spec.initContainers ?? []).some(isSidecar)) {
      const sidecars = new Set((pod.spec.initContainers ?? []).filter(isSidecar).map((c) => c.name));
      if (await this.stopRuns(engine, pod, ctx, dp, runs, (r) => sidecars.has(r.name) && this.runState(r).running, 'Stopping container %s')) changed = true;
    }
    return changed;
  }

  /** Starts the next run of a container (or the created one); false when it has to wait (image, config). */
  private async startRun(engine: DockerEngine, pod: Pod, ctx: PodSyncContext, dp: DockerPod, c: Container, d: Extract<Decision, { kind: 'start' | 'start-created' }>, volumes: Map<string, HostVolume>, wakes: number[]): Promise<boolean> {
    let id: string;
    if (d.kind === 'start-created') id = d.run.id;
    else {
      if (!(await this.ensureImage(engine, pod, ctx, dp, c, wakes))) return false;
      let env: Map<string, string>;
      try {
        env = await containerEnv(pod, c, { ports: dp.ports ?? [], lookup: this.lookup, hostIP: ctx.hostIP, allocatable: ctx.node.status?.allocatable });
      } catch (e) {
        if (!(e instanceof ContainerConfigError)) throw e;
        dp.waiting.set(c.name, { reason: 'CreateContainerConfigError', message: e.message });
        this.warnOnce(dp, `config/${c.name}`, e.message, () => ctx.event(pod, 'Warning', 'Failed', `Error: ${e.message}`));
        wakes.push(ctx.now() + 2000);
        return false;
      }
      dp.lastWarning.delete(`config/${c.name}`);
      const mounts = await mountsFor(c, volumes);
      const create = createOptions({ pod, container: c, nodeName: ctx.node.metadata.name!, nodeUid: ctx.node.metadata.uid ?? '', attempt: d.attempt, env, mounts });
      try {
        id = (await engine.api.createContainer(create)).id;
      } catch (e) {
        // A run of this number exists already (a sync that failed half-way): start again from the engine's view.
        if (dockerStatus(e) === 409) return false;
        dp.waiting.set(c.name, { reason: 'CreateContainerError', message: dockerMessage(e) });
        ctx.event(pod, 'Warning', 'Failed', `Error: ${dockerMessage(e)}`);
        wakes.push(ctx.now() + 2000);
        return false;
      }
      ctx.event(pod, 'Normal', 'Created', `Created container ${c.name}`);
    }
    dp.waiting.delete(c.name);
    try {
      await engine.api.getContainer(id).start();
      ctx.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    } catch (e) {
      // Docker keeps the error on the container: the next look shows it as StartError.
      ctx.event(pod, 'Warning', 'Failed', `Error: failed to start container "${c.name}": ${dockerMessage(e)}`);
    }
    return true;
  }

  /**
   * Makes sure the container's image is on the engine, by its pull policy. False (with the
   * container's waiting reason set) when it is not: ErrImageNeverPull, ErrImagePull, or
   * ImagePullBackOff while the image's pull back-off lasts.
   */
  private async ensureImage(engine: DockerEngine, pod: Pod, ctx: PodSyncContext, dp: DockerPod, c: Container, wakes: number[]): Promise<boolean> {
    const ref = c.image ?? '';
    const policy = c.imagePullPolicy ?? 'IfNotPresent';
    const present = await engine.image(ref);
    if (policy === 'Never' || (present && policy !== 'Always')) {
      if (present) {
        ctx.event(pod, 'Normal', 'Pulled', `Container image "${ref}" already present on machine`);
        return true;
      }
      const message = `Container image "${ref}" is not present with pull policy of Never`;
      dp.waiting.set(c.name, { reason: 'ErrImageNeverPull', message });
      this.warnOnce(dp, `image/${c.name}`, message, () => ctx.event(pod, 'Warning', 'ErrImageNeverPull', message));
      wakes.push(ctx.now() + BACKOFF_INITIAL_MS);
      return false;
    }
    const now = ctx.now();
    const bo = dp.pullBackOff.get(ref);
    if (bo && now < bo.until) {
      const message = `Back-off pulling image "${ref}"`;
      // As the kubelet since 1.32 (pkg/kubelet/images/image_manager.go, prevPullErrMsg): the
      // waiting message carries the last pull's error, so the reason (and how to import the
      // image) stays in the status after ErrImagePull turns into ImagePullBackOff.
      dp.waiting.set(c.name, { reason: 'ImagePullBackOff', message: `${message}: ErrImagePull: ${bo.message}` });
      this.warnOnce(dp, `image/${c.name}`, `${message}@${bo.until}`, () => ctx.event(pod, 'Normal', 'BackOff', message));
      wakes.push(bo.until);
      return false;
    }
    ctx.event(pod, 'Normal', 'Pulling', `Pulling image "${ref}"`);
    const t0 = Date.now();
    try {
      await engine.pull(ref, this.pullTimeoutMs);
      const took = goDuration(Date.now() - t0);
      ctx.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${ref}" in ${took} (${took} including waiting)`);
      dp.pullBackOff.delete(ref);
      return true;
    } catch (e) {
      const why = dockerMessage(e);
      if (present) {
        ctx.event(pod, 'Warning', 'Failed', `Failed to pull image "${ref}": ${why}; using the image already on the node`);
        return true;
      }
      const failures = (bo?.failures ?? 0) + 1;
      const message = `failed to pull image "${ref}": ${why}; no registry answered and the Docker engine has no such image: import one with \`berth image import ${ref} ROOTFS.tar\``;
      dp.pullBackOff.set(ref, { failures, until: ctx.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** (failures - 1)), message });
      dp.waiting.set(c.name, { reason: 'ErrImagePull', message });
      ctx.event(pod, 'Warning', 'Failed', `Failed to pull image "${ref}": ${why}`);
      ctx.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull');
      // The next look shows ImagePullBackOff, as the kubelet's next sync does.
      wakes.push(ctx.now() + 1000);
      return false;
    }
  }

  /** Runs `record` when `message` differs from the last one recorded under `key`. */
  private warnOnce(dp: DockerPod, key: string, message: string, record: () => void): void {
    if (dp.lastWarning.get(key) === message) return;
    dp.lastWarning.set(key, message);
    record();
  }

  /** Starts the probes of a running run, once. */
  private ensureProber(engine: DockerEngine, pod: Pod, ctx: PodSyncContext, dp: DockerPod, c: Container, run: Run): void {
    if (dp.probers.has(run.id) || !(c.livenessProbe || c.readinessProbe || c.startupProbe)) return;
    const prober = new ContainerProber(c, this.runState(run).startedAt, {
      clock: this.opts.clock,
      host: DOCKER_POD_IP,
      port: (p) => probePort(c, dp.ports ?? [], p),
      exec: (command, timeoutMs) => this.execCapture(engine, run.id, command, timeoutMs),
      changed: () => this.hooks?.podChanged(dp.key),
      event: (type, reason, message) => ctx.event(pod, type, reason, message),
    });
    dp.probers.set(run.id, prober);
  }

  /** Runs a command in a container for a probe: exit code and output; rejects after `timeoutMs`. */
  private async execCapture(engine: DockerEngine, id: string, command: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    const chunks: Buffer[] = [];
    try {
      const exec = await engine.streams.getContainer(id).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
      const code = await runExec(exec, { stdout: (d) => chunks.push(Buffer.from(d)), stderr: (d) => chunks.push(Buffer.from(d)) }, ac.signal);
      if (ac.signal.aborted) throw new Error(`command timed out after ${timeoutMs / 1000}s`);
      return { code, output: Buffer.concat(chunks).toString('utf8') };
    } finally {
      clearTimeout(timer);
    }
  }

  /** A failed liveness or startup probe: Killing, then the stop (the restart follows on the next sync). */
  private async killForProbe(engine: DockerEngine, pod: Pod, ctx: PodSyncContext, dp: DockerPod, c: Container, run: Run, kind: ProbeKind, spec: ProbeSpec): Promise<void> {
    ctx.event(pod, 'Normal', 'Killing', `Container ${c.name} failed ${kind} probe, will be restarted`);
    dp.probeKilled.add(run.id);
    dp.probers.get(run.id)?.stop();
    const grace = spec.terminationGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    await this.stopContainer(engine, run, grace * 1000);
  }

  /**
   * Stops a run as the kubelet does: its stop signal (the image's, else SIGTERM), then SIGKILL
   * when `graceMs` of cluster time pass first.
   */
  private async stopContainer(engine: DockerEngine, run: Run, graceMs: number): Promise<void> {
    const c = engine.api.getContainer(run.id);
    const signal = (run.info.Config as { StopSignal?: string } | undefined)?.StopSignal || 'SIGTERM';
    const exited = engine.streams
      .getContainer(run.id)
      .wait({ condition: 'not-running' })
      .then(() => true)
      .catch(() => true);
    if (graceMs > 0) {
      await c.kill({ signal }).catch(() => undefined);
      const ac = new AbortController();
      const stopped = await Promise.race([exited, this.opts.clock.sleep(graceMs, ac.signal).then(() => false, () => false)]);
      ac.abort();
      if (stopped) return;
    }
    await c.kill({ signal: 'SIGKILL' }).catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }

  /** Stops the runs `which` picks (with the pod's grace period), recording `Killing`; true if any ran. */
  private async stopRuns(engine: DockerEngine, pod: Pod, ctx: PodSyncContext, dp: DockerPod, runs: Map<string, Run[]>, which: (r: Run) => boolean, message: string, graceMs?: number): Promise<boolean> {
    const todo: Run[] = [];
    for (const list of runs.values()) for (const r of list) if (which(r)) todo.push(r);
    if (!todo.length) return false;
    const grace = graceMs ?? (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    for (const r of todo) {
      ctx.event(pod, 'Normal', 'Killing', message.replace('%s', r.name));
      dp.probers.get(r.id)?.stop();
    }
    await Promise.all(todo.map((r) => this.stopContainer(engine, r, grace)));
    return true;
  }

  /** A deleted pod: stop what runs within the grace period, write the final status, remove everything, delete the pod. */
  private async terminate(engine: DockerEngine, pod: Pod, ctx: PodSyncContext, dp: DockerPod, runs: Map<string, Run[]>): Promise<void> {
    const deadline = parseTime(pod.metadata.deletionTimestamp);
    const grace = Math.max(0, Number.isNaN(deadline) ? (pod.metadata.deletionGracePeriodSeconds ?? 30) * 1000 : deadline - ctx.now());
    if (await this.stopRuns(engine, pod, ctx, dp, runs, (r) => this.runState(r).running, 'Stopping container %s', grace)) runs = await this.runsOf(engine, dp.uid);
    // A terminal status stays as written (the kubelet never rewrites a finished pod's status): a
    // pod kept by a finalizer comes back here after its containers are removed, and must not then
    // turn into ContainerStatusUnknown.
    if (pod.status?.startTime && !isTerminalPhase(pod)) await this.writeStatus(pod, ctx, dp, runs, true);
    await this.removeAll(engine, dp.uid);
    await ctx.deletePod(pod);
  }

  /** Removes every container of the pod, its volumes, its ports and probes. */
  private async removeAll(engine: DockerEngine, uid: string): Promise<void> {
    const dp = this.pods.get(uid);
    for (const p of dp?.probers.values() ?? []) p.stop();
    for (const c of await engine.list([`${LABELS.podUid}=${uid}`])) await engine.api.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    await removePodDir(this.opts.dataDir, uid);
    this.ports.release(uid);
  }

  async forgetPod(uid: string, key: string): Promise<void> {
    const dp = this.pods.get(uid);
    this.pods.delete(uid);
    for (const p of dp?.probers.values() ?? []) p.stop();
    this.ports.release(uid);
    const h = await this.health();
    // With the engine away, `cleanup` removes them once it is back.
    if (h.ready) await this.removeAll(this.engine!, uid);
    else this.opts.log.warn({ pod: key, why: h.message }, 'cannot remove the containers of a pod that went');
  }

  forgetNode(name: string): void {
    this.lastCleanup.delete(name);
  }

  /**
   * Removes containers of the node whose pods are gone (deleted while the agent was down), at
   * most once a minute per node. Only containers carrying the Node's uid as well as its name are
   * the node's: another cluster on the same engine may have a node of the same name.
   */
  async cleanup(nodeName: string, liveUids: Set<string>): Promise<void> {
    const last = this.lastCleanup.get(nodeName);
    if (last !== undefined && Date.now() - last < 60_000) return;
    const engine = await this.connected();
    const nodeUid = (await this.opts.client.tryGet<Node>(Kinds.Node, nodeName))?.metadata.uid;
    if (!nodeUid) return;
    this.lastCleanup.set(nodeName, Date.now());
    const orphans = new Set<string>();
    for (const c of await engine.list([`${LABELS.node}=${nodeName}`, `${LABELS.nodeUid}=${nodeUid}`])) {
      const uid = c.Labels[LABELS.podUid];
      if (uid && !liveUids.has(uid)) orphans.add(uid);
    }
    for (const uid of orphans) {
      this.opts.log.info({ node: nodeName, uid }, 'removing the containers of a pod that no longer exists');
      await this.removeAll(engine, uid);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Status

  /** The status of one container from its runs and its decision. */
  private containerStatus(pod: Pod, c: Container, init: boolean, runs: Run[], dp: DockerPod, now: number, reached: boolean, terminal: boolean): ContainerStatus {
    const hasInit = (pod.spec.initContainers ?? []).length > 0;
    const latest = runs[0];
    const base = (run: Run | undefined): ContainerStatus => ({
      name: c.name,
      image: normalizeImage(c.image),
      imageID: run ? `${DOCKER_ID}${run.info.Image}` : '',
      ...(run ? { containerID: `${DOCKER_ID}${run.id}` } : {}),
      ready: false,
      started: false,
      restartCount: run?.attempt ?? 0,
      state: {},
      lastState: {},
    });
    const termOf = (run: Run): Record<string, unknown> | undefined => {
      const t = this.runState(run).terminated;
      if (!t) return undefined;
      return { exitCode: t.exitCode, reason: t.reason, ...(t.message ? { message: t.message } : {}), startedAt: rfc3339(t.startedAt), finishedAt: rfc3339(t.finishedAt), containerID: `${DOCKER_ID}${run.id}` };
    };
    if (!latest) {
      if (terminal) {
        // Its containers are gone: a run that had finished keeps its recorded end (as the kubelet's status manager does).
        const known = (init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses)?.find((s) => s.name === c.name);
        if (known?.state?.terminated) return { ...known, ready: false, started: false };
        return { ...waitingStatus(c, ''), state: { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated', startedAt: null, finishedAt: null } } };
      }
      const w = reached ? dp.waiting.get(c.name) : undefined;
      const s = waitingStatus(c, w?.reason ?? (init || hasInit ? PodInitializing : ContainerCreating));
      if (w?.message) s.state.waiting!.message = w.message;
      return s;
    }
    const d = this.decide(pod, c, init, runs, dp, now);
    const st = this.runState(latest);
    const prevTerm = runs[1] ? termOf(runs[1]) : undefined;
    const s = base(latest);
    if (st.running) {
      const prober = dp.probers.get(latest.id);
      s.state = { running: { startedAt: rfc3339(st.startedAt) } };
      // Before its probes have run (just started, or adopted): not started while a startup probe
      // is unproven, not ready while a startup or readiness probe is, as the kubelet reports it.
      s.started = prober?.started ?? !c.startupProbe;
      s.ready = prober?.ready ?? !(c.startupProbe || c.readinessProbe);
      if (prevTerm) s.lastState = { terminated: prevTerm };
      return s;
    }
    const term = termOf(latest);
    if (st.created || !term) {
      s.state = { waiting: { reason: ContainerCreating } };
      if (prevTerm) s.lastState = { terminated: prevTerm };
      return s;
    }
    if (!terminal && d.kind === 'backoff') {
      s.state = { waiting: { reason: CrashLoopBackOff, message: `back-off ${goDuration(d.until - (this.runState(latest).terminated?.finishedAt ?? now))} restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${dp.uid})` } };
      s.lastState = { terminated: term };
      return s;
    }
    if (!terminal && d.kind === 'start') {
      // Restarting, but the next run could not start yet (its image, its config).
      const w = dp.waiting.get(c.name);
      s.state = { waiting: { reason: w?.reason ?? ContainerCreating, ...(w?.message ? { message: w.message } : {}) } };
      s.lastState = { terminated: term };
      return s;
    }
    s.state = { terminated: term };
    if (prevTerm) s.lastState = { terminated: prevTerm };
    return s;
  }

  /** Writes the pod's status from its runs if it changed. */
  private async writeStatus(pod: Pod, ctx: PodSyncContext, dp: DockerPod, runs: Map<string, Run[]>, terminal = false): Promise<void> {
    const now = ctx.now();
    const draft: Pod = { ...pod, status: { ...(pod.status ?? {}) } };
    const st = draft.status!;
    let reached = true;
    const inits: ContainerStatus[] = [];
    for (const c of pod.spec.initContainers ?? []) {
      const r = runs.get(c.name) ?? [];
      const s = this.containerStatus(pod, c, true, r, dp, now, reached, terminal);
      inits.push(s);
      if (isSidecar(c) ? !s.started : (s.state.terminated?.exitCode as number | undefined) !== 0) reached = false;
    }
    if (inits.length) st.initContainerStatuses = inits;
    st.containerStatuses = pod.spec.containers.map((c) => this.containerStatus(pod, c, false, runs.get(c.name) ?? [], dp, now, reached, terminal));
    syncPodStatus(draft, now, terminal);
    if (deepEqual(draft.status, pod.status)) return;
    await ctx.writeStatus(draft);
  }

  // ---------------------------------------------------------------------------------------------
  // ConfigMaps and Secrets

  /** ConfigMap and Secret data as text (Secret values base64-decoded; ConfigMap binaryData decoded too). */
  private readonly lookup: ConfigLookup = async (kind, namespace, name) => {
    const ref = kind === 'ConfigMap' ? Kinds.ConfigMap : Kinds.Secret;
    let obj: { data?: Record<string, string>; binaryData?: Record<string, string>; stringData?: Record<string, string> } | undefined;
    try {
      obj = (await this.opts.client.get(ref, name, namespace)) as typeof obj;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    const out: Record<string, string> = {};
    if (kind === 'Secret') for (const [k, v] of Object.entries(obj?.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
    else {
      for (const [k, v] of Object.entries(obj?.data ?? {})) out[k] = v;
      for (const [k, v] of Object.entries(obj?.binaryData ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
    }
    return out;
  };

  // ---------------------------------------------------------------------------------------------
  // Logs and exec

  async readLog(pod: Pod, container: Container, status: ContainerStatus, which: LogInstance, _app: boolean, opts: LogOptions, signal: AbortSignal): Promise<string | AsyncIterable<string>> {
    const q = `container "${container.name}" in pod "${pod.metadata.name}"`;
    const state = status[which] ?? {};
    const ref = ((state.terminated as { containerID?: string } | undefined)?.containerID ?? (state.running ? status.containerID : undefined)) as string | undefined;
    if (!ref?.startsWith(DOCKER_ID)) throw badRequest(`${q} is waiting to start - no logs yet`);
    const id = ref.slice(DOCKER_ID.length);
    const engine = await this.connected().catch((e: Error) => {
      throw new StatusError(503, 'ServiceUnavailable', e.message);
    });
    const info = await engine.inspect(id);
    if (!info) throw badRequest(which === 'lastState' ? `previous terminated ${q} not found` : `${q} is not available: its Docker container ${id.slice(0, 12)} is gone`);
    const tty = !!info.Config?.Tty;
    const scale = (this.opts.clock as { scale?: number }).scale ?? 1;
    const base = {
      stdout: true,
      stderr: true,
      timestamps: !!opts.timestamps,
      ...(opts.tailLines !== undefined && opts.tailLines >= 0 ? { tail: opts.tailLines } : {}),
      ...(opts.sinceSeconds !== undefined && opts.sinceSeconds > 0 ? { since: Math.floor(Date.now() / 1000 - opts.sinceSeconds / scale) } : {}),
    };
    const limit = opts.limitBytes !== undefined && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
    if (!opts.follow) {
      const buf = (await engine.api.getContainer(id).logs({ ...base, follow: false })) as unknown as Buffer;
      return cutBytes(demuxAll(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)), tty), limit);
    }
    const stream = (await engine.streams.getContainer(id).logs({ ...base, follow: true })) as unknown as Readable;
    return followLog(stream, tty, limit, signal);
  }

  async exec(_pod: Pod, _container: Container, status: ContainerStatus, command: string[], io: ExecStreams, signal: AbortSignal): Promise<number> {
    const id = (status.containerID ?? '').slice(DOCKER_ID.length);
    const engine = await this.connected().catch((e: Error) => {
      throw new StatusError(503, 'ServiceUnavailable', e.message);
    });
    let exec: Dockerode.Exec;
    try {
      exec = await engine.streams.getContainer(id).exec({ Cmd: command, AttachStdin: !!io.stdin, AttachStdout: true, AttachStderr: true, Tty: !!io.tty });
    } catch (e) {
      throw badRequest(`cannot exec in container ${id.slice(0, 12)}: ${dockerMessage(e)}`);
    }
    return runExec(exec, io, signal);
  }

  // ---------------------------------------------------------------------------------------------
  // Images

  /**
   * Imports a root filesystem tarball as image `name` (`berth image import`), resolving with the
   * full name (`web:latest`) and the image id (`sha256:…`). Throws StatusError: BadRequest for a bad name or archive, ServiceUnavailable when the
   * engine cannot be reached.
   */
  async importImage(name: string, tar: Readable): Promise<{ name: string; id: string }> {
    const ref = parseImageName(name);
    if (!ref) throw badRequest(`invalid image name "${name}": use lowercase REPOSITORY[:TAG], for example web:1.0`);
    const engine = await this.connected().catch((e: Error) => {
      throw new StatusError(503, 'ServiceUnavailable', e.message);
    });
    try {
      return { name: `${ref.repository}:${ref.tag}`, id: await engine.importImage(tar, ref.repository, ref.tag) };
    } catch (e) {
      throw badRequest(`cannot import ${name}: ${dockerMessage(e)}`);
    }
  }
}
