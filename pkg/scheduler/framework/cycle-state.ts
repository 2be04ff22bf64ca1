/**
 * Per-pod scratch space for one scheduling cycle (kube-scheduler's `CycleState`): a PreFilter or
 * PreScore writes what it worked out once, and the per-node Filter or Score reads it. Keys are
 * plugin names, or a plugin name with a suffix.
 */
export class CycleState {
  private readonly data = new Map<string, unknown>();

  write(key: string, value: unknown): void {
    this.data.set(key, value);
  }

  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
}
