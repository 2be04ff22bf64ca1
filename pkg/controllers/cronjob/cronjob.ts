/**
 * The CronJob controller (pkg/controller/cronjob, the v2 controller;
 * https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/), on the injected clock:
 * at each time the schedule names (in `spec.timeZone`, UTC by default) it creates a Job
 * `<cronjob>-<scheduled time in minutes since the epoch>` from `spec.jobTemplate`.
 *
 * - Only the most recent missed time runs; if it is older than `startingDeadlineSeconds` it is
 *   skipped (`MissSchedule`); more than 100 missed times are reported (`TooManyMissedTimes`).
 * - `concurrencyPolicy`: `Allow` runs Jobs side by side; `Forbid` skips a time while a Job is
 *   active; `Replace` deletes the active Jobs and starts the new one.
 * - `suspend: true` starts nothing new.
 * - Finished Jobs beyond `successfulJobsHistoryLimit` (default 3) and `failedJobsHistoryLimit`
 *   (default 1) are deleted, oldest first.
 * - `status.active` lists the running Jobs, `status.lastScheduleTime` the last time a Job was
 *   started for, `status.lastSuccessfulTime` when the last one completed.
 *
 * Level-based: every reconcile looks at the CronJob and its Jobs, does what is due, and asks to
 * be looked at again at the next scheduled time.
 */
import { mostRecentScheduleTime, parseSchedule } from '../../api/cron.js';
import { isAlreadyExists, StatusError } from '../../api/errors.js';
import { clone, controllerRef, deepEqual, ownerRef } from '../../api/meta.js';
import type { KubeObject } from '../../api/types.js';
import { parseTime, rfc3339 } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';
import { jobFinished } from '../job/job.js';
import type { CronJob, Job } from '../types.js';

export const SCHEDULED_TIMESTAMP = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

/** The name of the Job for a scheduled time: `<cronjob>-<minutes since the epoch>` (getJobName). */
export function jobNameFor(cj: CronJob, scheduled: number): string {
  return `${cj.metadata.name}-${Math.floor(scheduled / 60_000)}`;
}

/** RFC 3339 in a time zone (`2026-01-01T09:00:00-05:00`), as the scheduled-timestamp annotation shows it. */
export function rfc3339In(ms: number, timeZone: string | undefined): string {
  if (!timeZone || timeZone === 'UTC' || timeZone === 'Etc/UTC') return rfc3339(ms);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const local = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  const offsetMin = Math.round((local - Math.floor(ms / 1000) * 1000) / 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const off = offsetMin === 0 ? 'Z' : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${off}`;
}

export class CronJobController implements Reconciler {
  private readonly cronjobs: Informer<CronJob>;
  private readonly jobs: Informer<Job>;

  constructor(mgr: Manager) {
    this.cronjobs = mgr.informer<CronJob>(Kinds.CronJob);
    this.jobs = mgr.informer<Job>(Kinds.Job);
    this.jobs.cache.addIndex('controller', (j) => {
      const c = controllerRef(j);
      return c ? [c.uid] : [];
    });
  }

  static install(mgr: Manager): Controller {
    return controllerFor(mgr, Kinds.CronJob).named('cronjob').owns(Kinds.Job).complete(new CronJobController(mgr));
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const cj = this.cronjobs.cache.get(key);
    if (!cj || cj.metadata.deletionTimestamp) return;
    const now = ctx.clock.now();
    const jobs = this.jobs.cache.byIndex('controller', cj.metadata.uid!).filter((j) => !j.metadata.deletionTimestamp);
    const status: NonNullable<CronJob['status']> = clone(cj.status ?? {});

    // Jobs that have finished leave `active`; a completion moves lastSuccessfulTime.
    const active = jobs.filter((j) => !jobFinished(j));
    for (const j of jobs) {
      const done = jobFinished(j);
      if (!done) continue;
      if ((status.active ?? []).some((a) => a.uid === j.metadata.uid)) ctx.recorder.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata.name}, status: ${done}`);
      if (done === 'Complete' && j.status?.completionTime) {
        const t = parseTime(j.status.completionTime);
        if (!status.lastSuccessfulTime || t > parseTime(status.lastSuccessfulTime)) status.lastSuccessfulTime = j.status.completionTime;
      }
    }
    // Keep the references as first written (they name the Job's resourceVersion at creation).
    const listed = (status.active ?? []).filter((a) => active.some((j) => j.metadata.uid === a.uid));
    status.active = [...listed, ...active.filter((j) => !listed.some((a) => a.uid === j.metadata.uid)).map(refTo)];

    await this.cleanupHistory(ctx, cj, jobs);

    let schedule: ReturnType<typeof parseSchedule>;
    try {
      schedule = parseSchedule(cj.spec.schedule, cj.spec.timeZone);
    } catch (e) {
      ctx.recorder.event(cj, 'Warning', 'InvalidSchedule', `invalid schedule: ${cj.spec.schedule} : ${(e as Error).message}`);
      return this.writeStatus(ctx, cj, status);
    }
    if (cj.spec.suspend) return this.writeStatus(ctx, cj, status);

    const deadline = cj.spec.startingDeadlineSeconds;
    let earliest = parseTime(status.lastScheduleTime ?? cj.metadata.creationTimestamp);
    if (deadline !== undefined && deadline !== null) earliest = Math.max(earliest, now - deadline * 1000);
    const due = mostRecentScheduleTime(schedule, earliest, now);
    const nextAt = schedule.next(now);
    const result = { requeueAfter: Math.max(1, nextAt - now + 100) };
    if (!due) return this.writeStatus(ctx, cj, status, result);
    if (due.missed > 100) ctx.recorder.event(cj, 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
    if (deadline !== undefined && deadline !== null && due.time + deadline * 1000 < now) {
      ctx.recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${rfc3339In(due.time, cj.spec.timeZone)}`);
      return this.writeStatus(ctx, cj, status, result);
    }
    const name = jobNameFor(cj, due.time);
    if (jobs.some((j) => j.metadata.name === name) || (status.lastScheduleTime && parseTime(status.lastScheduleTime) >= due.time)) {
      return this.writeStatus(ctx, cj, status, result);
    }
    const policy = cj.spec.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && active.length) {
      // Skipped; the time stays unmet and is retried until a newer one supersedes it.
      ctx.log.debug({ cronjob: key, scheduled: rfc3339(due.time) }, 'a job is still active; skipping');
      return this.writeStatus(ctx, cj, status, { requeueAfter: Math.min(result.requeueAfter, 1000) });
    }
    if (policy === 'Replace') {
      for (const j of active) {
        try {
          await ctx.client.delete(Kinds.Job, j.metadata.name!, j.metadata.namespace, { propagationPolicy: 'Background', preconditions: { uid: j.metadata.uid! } });
          ctx.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`);
        } catch (e) {
          if (!(e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
        }
      }
      status.active = [];
    }
    const job = this.jobFor(cj, name, due.time);
    try {
      const created = await ctx.client.create(job);
      ctx.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata.name}`);
      status.active = [...(status.active ?? []), refTo(created)];
    } catch (e) {
      if (!isAlreadyExists(e)) {
        ctx.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(e as Error).message}`);
        throw e;
      }
    }
    status.lastScheduleTime = rfc3339(due.time);
    return this.writeStatus(ctx, cj, status, result);
  }

  /** The Job for a scheduled time: the template's labels and annotations, owned by the CronJob. */
  jobFor(cj: CronJob, name: string, scheduled: number): Job {
    const t = cj.spec.jobTemplate;
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: cj.metadata.namespace!,
        labels: { ...(t.metadata?.labels ?? {}) },
        annotations: { ...(t.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP]: rfc3339In(scheduled, cj.spec.timeZone) },
        ownerReferences: [ownerRef(cj)],
      },
      spec: clone(t.spec),
    };
  }

  /** Deletes finished Jobs beyond the history limits, oldest first. */
  private async cleanupHistory(ctx: ReconcileContext, cj: CronJob, jobs: Job[]): Promise<void> {
    const byAge = (a: Job, b: Job): number => (parseTime(a.status?.startTime ?? a.metadata.creationTimestamp) || 0) - (parseTime(b.status?.startTime ?? b.metadata.creationTimestamp) || 0);
    for (const [kind, limit] of [
      ['Complete', cj.spec.successfulJobsHistoryLimit ?? 3],
      ['Failed', cj.spec.failedJobsHistoryLimit ?? 1],
    ] as const) {
      const finished = jobs.filter((j) => jobFinished(j) === kind).sort(byAge);
      for (const j of finished.slice(0, Math.max(0, finished.length - limit))) {
        try {
          await ctx.client.delete(Kinds.Job, j.metadata.name!, j.metadata.namespace, { propagationPolicy: 'Background', preconditions: { uid: j.metadata.uid! } });
          ctx.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`);
        } catch (e) {
          if (!(e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
        }
      }
    }
  }

  private async writeStatus(ctx: ReconcileContext, cj: CronJob, status: NonNullable<CronJob['status']>, result?: Result): Promise<Result | void> {
    if (!status.active?.length) delete status.active;
    if (!deepEqual(status, cj.status ?? {})) {
      try {
        await ctx.client.updateStatus({ ...cj, status } as KubeObject);
      } catch (e) {
        if (e instanceof StatusError && (e.reason === 'Conflict' || e.reason === 'NotFound')) return { requeue: true };
        throw e;
      }
    }
    return result;
  }
}

function refTo(j: Job): NonNullable<NonNullable<CronJob['status']>['active']>[number] {
  return { apiVersion: 'batch/v1', kind: 'Job', name: j.metadata.name!, namespace: j.metadata.namespace!, uid: j.metadata.uid!, resourceVersion: j.metadata.resourceVersion! };
}
