/**
 * The result of running a plugin, as kube-scheduler's `framework.Status`
 * (pkg/scheduler/framework/interface.go): "does not fit" is a value, never an exception.
 */

/**
 * - `Success`: the plugin is satisfied.
 * - `Unschedulable`: the pod does not fit this node now; it may after preemption or a change.
 * - `UnschedulableAndUnresolvable`: the pod can never fit this node as things stand (taints,
 *   affinity): preemption would not help.
 * - `Skip`: from PreFilter or PreScore, the plugin has nothing to say about this pod; its
 *   Filter or Score is not run.
 * - `Error`: the plugin failed; the scheduling attempt is aborted and retried with back-off.
 */
export type Code = 'Success' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Skip' | 'Error';

/** An immutable plugin result with its reasons (each one a line of the pod's FailedScheduling message). */
export class Status {
  private static readonly SUCCESS = new Status('Success', []);
  private static readonly SKIP = new Status('Skip', []);

  private constructor(
    readonly code: Code,
    readonly reasons: readonly string[],
    readonly error?: Error,
  ) {}

  static success(): Status {
    return Status.SUCCESS;
  }

  static skip(): Status {
    return Status.SKIP;
  }

  static unschedulable(...reasons: string[]): Status {
    return new Status('Unschedulable', reasons);
  }

  static unschedulableAndUnresolvable(...reasons: string[]): Status {
    return new Status('UnschedulableAndUnresolvable', reasons);
  }

  static error(e: unknown): Status {
    const err = e instanceof Error ? e : new Error(String(e));
    return new Status('Error', [err.message], err);
  }

  isSuccess(): boolean {
    return this.code === 'Success';
  }

  isSkip(): boolean {
    return this.code === 'Skip';
  }

  /** True if the pod does not fit (either unschedulable code), as opposed to success or a failure of the plugin. */
  isRejected(): boolean {
    return this.code === 'Unschedulable' || this.code === 'UnschedulableAndUnresolvable';
  }

  /** The reasons joined with `, `. */
  message(): string {
    return this.reasons.join(', ');
  }
}
