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
}

/** A pod's last scheduling attempt, kept for `berth explain pod`. */
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
