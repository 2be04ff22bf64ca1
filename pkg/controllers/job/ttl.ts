/**
 * The TTL-after-finished controller (pkg/controller/ttlafterfinished;
 * https://kubernetes.io/docs/concepts/workloads/controllers/ttlafterfinished/): a Job with
 * `spec.ttlSecondsAfterFinished` is deleted that many seconds (of cluster time) after its
 * Complete or Failed condition became True, in the foreground, so its pods go with it.
 */
import { StatusError } from '../../api/errors.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';
import type { Job } from '../types.js';
import { jobFinished, jobFinishTime } from './job.js';

export class TTLAfterFinishedController implements Reconciler {
  private readonly jobs: Informer<Job>;

  constructor(mgr: Manager) {
    this.jobs = mgr.informer<Job>(Kinds.Job);
  }

  static install(mgr: Manager): Controller {
    return controllerFor(mgr, Kinds.Job).named('ttl-after-finished').complete(new TTLAfterFinishedController(mgr));
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const job = this.jobs.cache.get(key);
    const ttl = job?.spec.ttlSecondsAfterFinished;
    if (!job || ttl === undefined || ttl === null || job.metadata.deletionTimestamp || !jobFinished(job)) return;
    const finishedAt = jobFinishTime(job);
    if (Number.isNaN(finishedAt)) return;
    const due = finishedAt + ttl * 1000;
    const now = ctx.clock.now();
    if (now < due) return { requeueAfter: due - now };
    try {
      await ctx.client.delete(Kinds.Job, job.metadata.name!, job.metadata.namespace, { propagationPolicy: 'Foreground', preconditions: { uid: job.metadata.uid! } });
      ctx.log.info({ job: key }, 'deleted finished job after its TTL');
    } catch (e) {
      if (!(e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
    }
  }
}
