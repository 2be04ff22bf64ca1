/**
 * The EC2 instance lifecycle (EC2 User Guide, "Instance state changes" and "Instance lifecycle",
 * [1][2] in AWS-SEMANTICS.md), as a pure function the Instance controller calls on every
 * reconcile: given the current state, when it was entered, the desired state and the time, it
 * returns the transitions that have happened and when to look again.
 *
 * ```
 *                  launch
 *                    │
 *                    ▼            boot delay
 *              ┌──────────┐  (default 30 s)  ┌──────────┐  stop   ┌───────────┐  stop delay  ┌─────────┐
 *              │ pending  │ ───────────────▶ │ running  │ ──────▶ │ stopping  │ ───────────▶ │ stopped │
 *              │   (0)    │                  │   (16)   │         │   (64)    │              │  (80)   │
 *              └──────────┘ ◀──────────────────────────────────── start ─────────────────── └─────────┘
 *                    │                             │                                             │
 *                    │ terminate                   │ terminate                         terminate │
 *                    ▼                             ▼                                             ▼
 *              ┌─────────────────────────────────────────────────────────────────────────────────────┐
 *              │ shutting-down (32) ──────── terminate delay ────────▶ terminated (48), final         │
 *              └─────────────────────────────────────────────────────────────────────────────────────┘
 * ```
 *
 * Billing runs only in `running` [2]. A terminate asked during `stopping` takes effect once the
 * instance is stopped; a stop asked during `pending` once it is running. Terminated instances stay
 * visible for an hour, then their entry goes [2].
 *
 * The delays are the simulation's (the boot delay is an option of installCloud); AWS gives no
 * fixed figures for them.
 */
import type { DesiredState } from './types.js';

/** EC2's instance states. */
export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** EC2's state codes (the low byte of `InstanceState.Code`) [1]. */
export const STATE_CODES: Readonly<Record<InstanceState, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** How long the timed transitions take, ms of cluster time. */
export interface LifecycleTimings {
  /** pending → running. */
  bootMs: number;
  /** stopping → stopped. */
  stopMs: number;
  /** shutting-down → terminated. */
  terminateMs: number;
}

/** A state and the cluster time (ms) it was entered. */
export interface StatePoint {
  state: InstanceState;
  since: number;
}

export interface LifecycleStep {
  /** The state entered and when (ms): a timed transition at the moment its delay ran out, a requested one at `now`. */
  to: StatePoint;
  /** True if the user's request caused it (a stop, start or terminate), false for a delay running out. */
  requested: boolean;
}

export interface LifecycleResult {
  /** Transitions made, in order (empty if nothing changed). */
  steps: LifecycleStep[];
  /** Where the instance is now. */
  current: StatePoint;
  /** When the pending timed transition is due (ms), if one is. */
  wakeAt?: number;
}

/**
 * Moves an instance along the lifecycle until it reaches `desired` or waits on a delay.
 * Level-based: call it with the whole current state on every reconcile.
 */
export function advanceLifecycle(start: StatePoint, desired: DesiredState, now: number, t: LifecycleTimings): LifecycleResult {
  const steps: LifecycleStep[] = [];
  let cur = start;
  const go = (state: InstanceState, since: number, requested: boolean): void => {
    cur = { state, since };
    steps.push({ to: cur, requested });
  };
  // Each pass makes at most one transition; the machine has no cycle without a request, so a
  // handful of passes always settles it.
  for (let pass = 0; pass < 8; pass++) {
    switch (cur.state) {
      case 'pending': {
        if (desired === 'terminated') {
          go('shutting-down', now, true);
          continue;
        }
        const due = cur.since + t.bootMs;
        if (now < due) return { steps, current: cur, wakeAt: due };
        go('running', due, false);
        continue;
      }
      case 'running':
        if (desired === 'terminated') go('shutting-down', now, true);
        else if (desired === 'stopped') go('stopping', now, true);
        else return { steps, current: cur };
        continue;
      case 'stopping': {
        const due = cur.since + t.stopMs;
        if (now < due) return { steps, current: cur, wakeAt: due };
        go('stopped', due, false);
        continue;
      }
      case 'stopped':
        if (desired === 'terminated') go('shutting-down', now, true);
        else if (desired === 'running') go('pending', now, true);
        else return { steps, current: cur };
        continue;
      case 'shutting-down': {
        const due = cur.since + t.terminateMs;
        if (now < due) return { steps, current: cur, wakeAt: due };
        go('terminated', due, false);
        continue;
      }
      case 'terminated':
        return { steps, current: cur };
    }
  }
  return { steps, current: cur };
}

/** True while the instance counts as running for billing: only `running` [2]. */
export function isBilled(state: InstanceState | undefined): boolean {
  return state === 'running';
}
