/** The scheduler's options and what it reports. */
import type { ScheduleResult } from './framework/cycle.js';
import type { Profile, Registry } from './framework/types.js';
import type { QueueOptions } from './queue/scheduling-queue.js';

export interface SchedulerOptions extends QueueOptions {
  /** One profile per `spec.schedulerName` served (default: `[defaultProfile()]`, serving `default-scheduler`). */
  profiles?: Profile[];
  /** Plugin factories by name (default: `inTreeRegistry()`); add out-of-tree plugins to a copy. */
  registry?: Registry;
  /** How many pods' last attempts `explain` remembers, least recently attempted forgotten first (default 1024). */
  explainCapacity?: number;
  /** Pods ready at once from which they are placed as a batch (default 32; `Infinity`: always one at a time). */
  batchThreshold?: number;
  /** The most pods one batch takes (default 10000). */
  batchSize?: number;
}

/** A pod's last scheduling attempt, kept for `explain`. */
export interface SchedulingAttempt extends ScheduleResult {
  /** `namespace/name`. */
  pod: string;
  uid?: string;
  schedulerName: string;
  /** Cluster time of the attempt, in ms since the epoch. */
  time: number;
  /** Which attempt this was for the pod (1 for the first). */
  attempt: number;
}

/** What the scheduler has done since it started. */
export interface SchedulerStats {
  /** Pod attempts (a pod placed by a batch counts one). */
  attempts: number;
  /** Pods assumed and sent to bind. */
  scheduled: number;
  /** Attempts that found no node. */
  unschedulable: number;
  /** Batches run, and the pods they took. */
  batches: number;
  batchedPods: number;
  /** Preemptions started (victims evicted for a pod). */
  preemptions: number;
  /** Real time spent deciding (cycles and batches, not binds or status writes), ms. */
  schedulingMs: number;
}
