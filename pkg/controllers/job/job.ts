/**
 * The Job controller (pkg/controller/job; https://kubernetes.io/docs/concepts/workloads/controllers/job/):
 * runs pods from `spec.template` until `completions` of them succeed, at most `parallelism` at a
 * time, and fails the Job when more than `backoffLimit` pods have failed, when it has been active
 * longer than `activeDeadlineSeconds`, or when a pod failure policy rule says `FailJob`.
 *
 * - NonIndexed: any `completions` successful pods complete the Job; with `completions` unset
 *   (a work queue) the first success completes it once the other pods have ended.
 * - Indexed: each index 0…completions−1 gets its own pod (`<job>-<index>-<suffix>`, annotation and
 *   label `batch.kubernetes.io/job-completion-index`, env `JOB_COMPLETION_INDEX`, hostname
 *   `<job>-<index>`); the Job completes when every index has succeeded (`status.completedIndexes`).
 * - Failed pods are replaced after an exponential back-off: 10 s, 20 s, 40 s … capped at 6 min.
 *   With `restartPolicy: OnFailure`, container restarts of running pods count toward the limit.
 * - Finished pods are counted once, whatever happens to them later, through the
 *   `batch.kubernetes.io/job-tracking` finalizer and `status.uncountedTerminatedPods`, as
 *   Kubernetes does since 1.26: a finished pod's uid is first written to the uncounted list, then
 *   its finalizer is removed, then it moves to `succeeded` or `failed`.
 * - `suspend: true` deletes the active pods and sets the Suspended condition.
 *
 * Level-based: each reconcile reads the Job and all its pods and takes the next step.
 */
import { isNotFound, StatusError } from '../../api/errors.js';
import { selectorFromLabelSelector } from '../../api/labels.js';
import { clone, controllerRef, deepEqual, ownerRef } from '../../api/meta.js';
import { isPodReady } from '../../api/podutil.js';
import type { Condition, Container, KubeObject, Pod } from '../../api/types.js';
import { parseTime, rfc3339 } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';
import { Expectations } from '../expectations.js';
import type { Job, PodFailurePolicyRule } from '../types.js';

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';
/** Pod back-off after failures (pkg/controller/job: DefaultJobPodFailureBackOff 10 s, MaxJobPodFailureBackOff 6 min). */
export const POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 360_000;

/** True if the Job has a Complete or Failed condition that is True. */
export function jobFinished(job: Job): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return c.type;
  }
  return undefined;
}

/** The time a finished Job finished (its Complete or Failed condition's transition), ms; NaN if not finished. */
export function jobFinishTime(job: Job): number {
  const c = job.status?.conditions?.find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
  return parseTime(c?.lastTransitionTime);
}

/** Parses `status.completedIndexes` (`1,3-5`) into a set. */
export function parseIndexes(s: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (s ?? '').split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.add(i);
  }
  return out;
}

/** Formats a set of indexes as Kubernetes does: sorted, consecutive runs as `a-b`. */
export function formatIndexes(set: Iterable<number>): string {
  const xs = [...set].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    parts.push(i === j ? String(xs[i]) : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The completion index of an Indexed Job's pod, or undefined. */
export function podIndex(pod: Pod): number | undefined {
  const v = pod.metadata.annotations?.[COMPLETION_INDEX] ?? pod.metadata.labels?.[COMPLETION_INDEX];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * True if the pod counts as failed for the Job (job_controller.go isPodFailed): phase Failed, or,
 * unless `podReplacementPolicy` is Failed, deleted before it succeeded.
 */
export function isPodFailed(pod: Pod, job: Job): boolean {
  if (pod.status?.phase === 'Failed') return true;
  if (job.spec.podReplacementPolicy === 'Failed') return false;
  return !!pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded';
}

/** The back-off before creating a pod after `failures` failures (10 s × 2^(n−1), at most 6 min). */
export function podBackoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(MAX_POD_FAILURE_BACKOFF_MS, POD_FAILURE_BACKOFF_MS * 2 ** (failures - 1));
}

function terminatedStates(pod: Pod): { name: string; exitCode: number }[] {
  const out: { name: string; exitCode: number }[] = [];
  for (const s of pod.status?.containerStatuses ?? []) {
    const t = (s.state?.terminated ?? s.lastState?.terminated) as { exitCode?: number } | undefined;
    if (t && typeof t.exitCode === 'number') out.push({ name: s.name, exitCode: t.exitCode });
  }
  return out;
}

/**
 * The first pod failure policy rule matching a failed pod, and its index, as
 * `matchPodFailurePolicy` does: `onExitCodes` looks at app containers that exited non-zero
 * (In: a code in the list; NotIn: a code not in it), `onPodConditions` at the pod's conditions.
 */
export function matchPodFailurePolicy(rules: PodFailurePolicyRule[], pod: Pod): { rule: PodFailurePolicyRule; index: number; message: string } | undefined {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.onExitCodes) {
      const { containerName, operator, values } = r.onExitCodes;
      for (const s of terminatedStates(pod)) {
        if (containerName && s.name !== containerName) continue;
        if (s.exitCode === 0) continue;
        const inList = values.includes(s.exitCode);
        if ((operator === 'In') === inList) {
          return { rule: r, index: i, message: `Container ${s.name} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${s.exitCode} matching ${r.action} rule at index ${i}` };
        }
      }
    }
    for (const pc of r.onPodConditions ?? []) {
      const c = pod.status?.conditions?.find((x) => x.type === pc.type);
      if (c && c.status === (pc.status ?? 'True')) {
        return { rule: r, index: i, message: `Pod ${pod.metadata.namespace}/${pod.metadata.name} has condition ${pc.type} matching ${r.action} rule at index ${i}` };
      }
    }
  }
  return undefined;
}

const isTerminal = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const hasTracking = (p: Pod): boolean => (p.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);

export class JobController implements Reconciler {
  private readonly jobs: Informer<Job>;
  private readonly pods: Informer<Pod>;
  readonly expectations: Expectations;

  constructor(mgr: Manager) {
    this.jobs = mgr.informer<Job>(Kinds.Job);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.pods.cache.addIndex('controller', (p) => {
      const c = controllerRef(p);
      return c ? [c.uid] : [];
    });
    this.pods.cache.addIndex('job-key', (p) => {
      const c = controllerRef(p);
      return c?.kind === 'Job' ? [`${p.metadata.namespace}/${c.name}`] : [];
    });
    this.expectations = new Expectations(mgr.clock);
  }

  static install(mgr: Manager): Controller {
    const r = new JobController(mgr);
    const c = controllerFor(mgr, Kinds.Job).named('job').concurrency(4).complete(r);
    r.pods.on({
      add: (p) => r.podEvent(c, p, 'add'),
      update: (old, p) => {
        if (p.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) r.podEvent(c, p, 'delete');
        else r.podEvent(c, p);
      },
      delete: (p) => r.podEvent(c, p, 'delete'),
    });
    return c;
  }

  private podEvent(c: Controller, p: Pod, what?: 'add' | 'delete'): void {
    const ref = controllerRef(p);
    if (ref?.kind !== 'Job') return;
    const key = `${p.metadata.namespace}/${ref.name}`;
    if (what === 'add') this.expectations.observedAdd(key);
    if (what === 'delete') this.expectations.observedDelete(key, p.metadata.uid!);
    c.enqueue(key);
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const job = this.jobs.cache.get(key);
    if (!job) {
      this.expectations.forget(key);
      // Pods of a Job that is gone keep no tracking finalizer (they would never be deleted otherwise).
      for (const p of this.pods.cache.byIndex('job-key', key)) if (hasTracking(p)) await this.removeFinalizer(ctx, p);
      return;
    }
    const uid = job.metadata.uid!;
    const now = ctx.clock.now();
    const nowText = rfc3339(now);
    const pods = this.pods.cache.byIndex('controller', uid).filter((p) => {
      const sel = job.spec.selector;
      return !sel || selectorFromLabelSelector(sel).matches(p.metadata.labels);
    });
    const status: NonNullable<Job['status']> = clone(job.status ?? {});
    const conditions: Condition[] = status.conditions ?? [];
    const finished = jobFinished(job);

    // 1. Count finished pods exactly once: uid → uncounted → finalizer removed → counted.
    const uncounted = { succeeded: new Set(status.uncountedTerminatedPods?.succeeded ?? []), failed: new Set(status.uncountedTerminatedPods?.failed ?? []) };
    const byUid = new Map(pods.map((p) => [p.metadata.uid!, p]));
    let succeeded = status.succeeded ?? 0;
    let failed = status.failed ?? 0;
    const completed = parseIndexes(status.completedIndexes);
    const indexed = job.spec.completionMode === 'Indexed';
    const rules = job.spec.podFailurePolicy?.rules ?? [];
    let failJob: { reason: string; message: string } | undefined;
    const newlyFinished: Pod[] = [];
    for (const p of pods) {
      if (!hasTracking(p)) continue;
      const pu = p.metadata.uid!;
      if (uncounted.succeeded.has(pu) || uncounted.failed.has(pu)) continue;
      if (p.status?.phase === 'Succeeded') {
        uncounted.succeeded.add(pu);
        newlyFinished.push(p);
      } else if (isPodFailed(p, job)) {
        const m = rules.length && p.status?.phase === 'Failed' ? matchPodFailurePolicy(rules, p) : undefined;
        if (m?.rule.action === 'FailJob' && !finished) failJob ??= { reason: 'PodFailurePolicy', message: m.message };
        // An `Ignore` rule: the pod is not counted against the back-off limit (it is counted nowhere).
        if (m?.rule.action !== 'Ignore') uncounted.failed.add(pu);
        newlyFinished.push(p);
      }
    }
    // Indexed Jobs record a succeeded index in the same write that records the pod's uid.
    if (indexed) {
      for (const p of newlyFinished) {
        const idx = podIndex(p);
        if (p.status?.phase === 'Succeeded' && idx !== undefined && idx < (job.spec.completions ?? 0)) completed.add(idx);
      }
    }
    // Move uids whose pods no longer hold the finalizer (or are gone) into the counts.
    const stillUncounted = { succeeded: [] as string[], failed: [] as string[] };
    for (const [kind, set] of [['succeeded', uncounted.succeeded], ['failed', uncounted.failed]] as const) {
      for (const pu of set) {
        const p = byUid.get(pu);
        if (p && hasTracking(p)) stillUncounted[kind].push(pu);
        else if (kind === 'succeeded') succeeded++;
        else failed++;
      }
    }
    if (indexed) succeeded = completed.size;

    // 2. Decide whether the Job has finished.
    const active = pods.filter((p) => !isTerminal(p) && !p.metadata.deletionTimestamp);
    const terminating = pods.filter((p) => !isTerminal(p) && !!p.metadata.deletionTimestamp).length;
    const totalFailed = failed + stillUncounted.failed.length;
    const succeededSoFar = indexed ? completed.size : succeeded + stillUncounted.succeeded.length;
    const backoffLimit = job.spec.backoffLimit ?? 6;
    const suspended = job.spec.suspend === true;
    if (!finished && !failJob) {
      if (totalFailed > backoffLimit || this.pastBackoffLimitOnFailure(job, active, backoffLimit)) {
        failJob = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
      } else if (!suspended && job.spec.activeDeadlineSeconds !== undefined && status.startTime && parseTime(status.startTime) + job.spec.activeDeadlineSeconds * 1000 <= now) {
        failJob = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
      }
    }
    const completions = job.spec.completions;
    let complete = false;
    if (!finished && !failJob) {
      if (completions == null) complete = succeededSoFar > 0 && active.length === 0;
      else complete = succeededSoFar >= completions;
    }

    let requeue: number | undefined;
    let manageError: unknown;
    // 3. Act: fail, complete, suspend, or keep the right pods running.
    if (failJob || finished === 'Failed') {
      await this.deletePods(ctx, job, active);
      if (failJob) {
        setCond(conditions, { type: 'FailureTarget', status: 'True', reason: failJob.reason, message: failJob.message }, nowText);
        setCond(conditions, { type: 'Failed', status: 'True', reason: failJob.reason, message: failJob.message }, nowText);
        ctx.recorder.event(job, 'Warning', failJob.reason, failJob.message);
      }
    } else if (complete || finished === 'Complete') {
      if (complete) {
        // A work queue or a finished Indexed Job: whatever still runs is not needed.
        await this.deletePods(ctx, job, active);
        setCond(conditions, { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' }, nowText);
        setCond(conditions, { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' }, nowText);
        status.completionTime = nowText;
        ctx.recorder.event(job, 'Normal', 'Completed', 'Job completed');
      }
    } else if (suspended) {
      await this.deletePods(ctx, job, active);
      if (setCond(conditions, { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' }, nowText)) ctx.recorder.event(job, 'Normal', 'Suspended', 'Job suspended');
      delete status.startTime;
    } else {
      if (conditions.some((c) => c.type === 'Suspended' && c.status === 'True')) {
        setCond(conditions, { type: 'Suspended', status: 'False', reason: 'JobResumed', message: 'Job resumed' }, nowText);
        ctx.recorder.event(job, 'Normal', 'Resumed', 'Job resumed');
      }
      status.startTime ??= nowText;
      // A failed pod creation (quota, admission) still lets the status below be written, as
      // the job controller's syncJob does (startTime shows the Job started); the error is
      // rethrown after, so the key is retried with back-off.
      if (this.expectations.satisfied(key)) {
        try {
          requeue = await this.managePods(ctx, job, pods, active, completed, totalFailed, succeededSoFar, now);
        } catch (e) {
          manageError = e;
        }
      }
      if (job.spec.activeDeadlineSeconds !== undefined) {
        const due = parseTime(status.startTime) + job.spec.activeDeadlineSeconds * 1000 - now;
        requeue = Math.min(requeue ?? Infinity, Math.max(1, due));
      }
    }

    // 4. Status: counts, then remove the finalizers of pods now recorded as uncounted.
    status.conditions = conditions;
    status.active = failJob || complete || suspended || finished ? 0 : active.length;
    status.ready = active.filter(isPodReady).length;
    status.terminating = terminating;
    status.succeeded = succeeded;
    status.failed = failed;
    if (indexed) status.completedIndexes = formatIndexes(completed);
    const nextUncounted = stillUncounted;
    status.uncountedTerminatedPods = { ...(nextUncounted.succeeded.length ? { succeeded: nextUncounted.succeeded } : {}), ...(nextUncounted.failed.length ? { failed: nextUncounted.failed } : {}) };
    if (status.conditions.length === 0) delete status.conditions;
    if (!deepEqual(status, job.status ?? {})) {
      try {
        await ctx.client.updateStatus({ ...job, status } as KubeObject);
      } catch (e) {
        if (e instanceof StatusError && (e.reason === 'Conflict' || e.reason === 'NotFound')) return { requeue: true };
        throw e;
      }
    }
    // Finalizers come off only once the uids are safely in status (they then count exactly once).
    for (const p of pods) {
      if (!hasTracking(p)) continue;
      const pu = p.metadata.uid!;
      const recorded = nextUncounted.succeeded.includes(pu) || nextUncounted.failed.includes(pu);
      const ignored = (isTerminal(p) || isPodFailed(p, job)) && !recorded;
      if (recorded || ignored || (finished && isTerminal(p))) await this.removeFinalizer(ctx, p);
    }
    if (manageError !== undefined) throw manageError;
    return requeue !== undefined && Number.isFinite(requeue) ? { requeueAfter: requeue } : undefined;
  }

  /** With restartPolicy OnFailure, container restarts in running pods count toward the back-off limit. */
  private pastBackoffLimitOnFailure(job: Job, active: Pod[], limit: number): boolean {
    if (job.spec.template.spec.restartPolicy !== 'OnFailure') return false;
    let restarts = 0;
    for (const p of active) for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) restarts += s.restartCount ?? 0;
    return limit === 0 ? restarts > 0 : restarts >= limit;
  }

  /** Creates or deletes pods so that the right number run; returns when to look again (back-off). */
  private async managePods(ctx: ReconcileContext, job: Job, pods: Pod[], active: Pod[], completed: Set<number>, failed: number, succeeded: number, now: number): Promise<number | undefined> {
    const key = `${job.metadata.namespace}/${job.metadata.name}`;
    const parallelism = job.spec.parallelism ?? 1;
    const completions = job.spec.completions;
    let want: number;
    if (completions == null) want = succeeded > 0 ? Math.min(active.length, parallelism) : parallelism;
    else want = Math.max(0, Math.min(parallelism, completions - succeeded));

    if (active.length > want) {
      // Newest first, as the job controller's activePods ordering deletes.
      const extra = [...active].sort((a, b) => (parseTime(b.metadata.creationTimestamp) || 0) - (parseTime(a.metadata.creationTimestamp) || 0)).slice(0, active.length - want);
      await this.deletePods(ctx, job, extra);
      return undefined;
    }
    if (active.length === want) return undefined;

    // Back-off after failures: measured from the newest failure still visible.
    if (failed > 0) {
      let lastFailure = 0;
      for (const p of pods) {
        if (!isPodFailed(p, job)) continue;
        for (const s of p.status?.containerStatuses ?? []) {
          const t = (s.state?.terminated as { finishedAt?: string } | undefined)?.finishedAt;
          lastFailure = Math.max(lastFailure, parseTime(t) || 0);
        }
        lastFailure = Math.max(lastFailure, parseTime(p.metadata.deletionTimestamp) || 0);
      }
      const wait = lastFailure ? lastFailure + podBackoffMs(failed) - now : 0;
      if (wait > 0) return wait;
    }

    let toCreate: (number | undefined)[];
    if (job.spec.completionMode === 'Indexed') {
      const busy = new Set<number>();
      for (const p of active) {
        const i = podIndex(p);
        if (i !== undefined) busy.add(i);
      }
      for (const p of pods) if (p.status?.phase === 'Succeeded') {
        const i = podIndex(p);
        if (i !== undefined) busy.add(i);
      }
      toCreate = [];
      for (let i = 0; i < (completions ?? 0) && toCreate.length < want - active.length; i++) if (!completed.has(i) && !busy.has(i)) toCreate.push(i);
    } else {
      toCreate = Array.from({ length: want - active.length }, () => undefined);
    }
    if (!toCreate.length) return undefined;
    this.expectations.expect(key, toCreate.length);
    let created = 0;
    try {
      for (const index of toCreate) {
        const pod = await ctx.client.create(this.podFor(job, index));
        created++;
        ctx.recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      }
    } catch (e) {
      ctx.recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
      throw e;
    } finally {
      this.expectations.lowerAdds(key, toCreate.length - created);
    }
    return undefined;
  }

  /** The pod a Job runs for one completion (and index, for Indexed Jobs). */
  podFor(job: Job, index: number | undefined): Pod {
    const t = job.spec.template;
    const labels = { ...(t.metadata?.labels ?? {}) };
    const annotations = { ...(t.metadata?.annotations ?? {}) };
    const spec = clone(t.spec);
    let generateName = `${job.metadata.name}-`;
    if (index !== undefined) {
      annotations[COMPLETION_INDEX] = String(index);
      labels[COMPLETION_INDEX] = String(index);
      generateName = `${job.metadata.name}-${index}-`;
      spec.hostname ??= `${job.metadata.name}-${index}`;
      const env = { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${COMPLETION_INDEX}']` } } };
      for (const c of [...(spec.initContainers ?? []), ...spec.containers] as Container[]) {
        if (!(c.env ?? []).some((e) => e.name === 'JOB_COMPLETION_INDEX')) c.env = [...(c.env ?? []), env as never];
      }
    }
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName,
        namespace: job.metadata.namespace!,
        labels,
        ...(Object.keys(annotations).length ? { annotations } : {}),
        ownerReferences: [ownerRef(job)],
        finalizers: [JOB_TRACKING_FINALIZER],
      },
      spec,
    };
  }

  private async deletePods(ctx: ReconcileContext, job: Job, pods: Pod[]): Promise<void> {
    for (const p of pods) {
      if (p.metadata.deletionTimestamp) continue;
      try {
        await ctx.client.delete(Kinds.Pod, p.metadata.name!, p.metadata.namespace, { preconditions: { uid: p.metadata.uid! } });
        ctx.recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
      } catch (e) {
        if (!(e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
      }
    }
  }

  private async removeFinalizer(ctx: ReconcileContext, p: Pod): Promise<void> {
    try {
      await ctx.client.modify<Pod>(Kinds.Pod, p.metadata.name!, p.metadata.namespace, (cur) => {
        if (cur.metadata.uid !== p.metadata.uid || !hasTracking(cur)) return undefined;
        return { ...cur, metadata: { ...cur.metadata, finalizers: cur.metadata.finalizers!.filter((f) => f !== JOB_TRACKING_FINALIZER) } };
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** Sets a Job condition (`lastProbeTime` and `lastTransitionTime` now on a change); true if it changed. */
function setCond(list: Condition[], c: Condition, now: string): boolean {
  const i = list.findIndex((x) => x.type === c.type);
  const cur = i >= 0 ? list[i] : undefined;
  if (cur && cur.status === c.status && cur.reason === c.reason && cur.message === c.message) return false;
  const next: Condition = { ...c, lastProbeTime: now, lastTransitionTime: cur && cur.status === c.status ? (cur.lastTransitionTime ?? now) : now };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return true;
}

