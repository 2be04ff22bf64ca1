/**
 * The disruption controller (pkg/controller/disruption;
 * https://kubernetes.io/docs/concepts/workloads/pods/disruptions/ and
 * https://kubernetes.io/docs/tasks/run-application/configure-pdb/): keeps each PodDisruptionBudget's
 * status, which the Eviction API reads to allow or refuse an eviction:
 *
 * - `expectedPods`: with an integer `minAvailable`, the number of matching pods; otherwise the
 *   sum of the replicas of the pods' controllers (a ReplicaSet counts through its Deployment;
 *   StatefulSets and ReplicationControllers directly; anything with a scale subresource by it).
 * - `desiredHealthy`: `minAvailable` (a percentage of expectedPods, rounded up), or expectedPods
 *   minus `maxUnavailable` (a percentage rounded up).
 * - `currentHealthy`: matching pods that are Ready and not being deleted, less the ones the
 *   Eviction API has just disrupted (`status.disruptedPods`, forgotten after 2 minutes).
 * - `disruptionsAllowed`: `currentHealthy − desiredHealthy`, at least 0; the DisruptionAllowed
 *   condition says whether it is positive (reasons SufficientPods / InsufficientPods, SyncFailed
 *   when the expected count cannot be worked out).
 */
import { StatusError } from '../../api/errors.js';
import { selectorFromLabelSelector } from '../../api/labels.js';
import { clone, controllerRef, deepEqual } from '../../api/meta.js';
import { isPodReady } from '../../api/podutil.js';
import type { Condition, KubeObject, OwnerReference, Pod } from '../../api/types.js';
import { parseTime, rfc3339 } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';
import type { PodDisruptionBudget } from '../types.js';

/** How long an eviction's entry in `status.disruptedPods` is trusted (DeletionTimeout, 2 minutes). */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60 * 1000;

/** An int-or-percent against a total, percentages rounded up (GetScaledValueFromIntOrPercent with roundUp). */
export function scaled(v: number | string, total: number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v.trim());
  if (!m) throw new Error(`invalid value for IntOrString: invalid value "${v}"`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/** Thrown when a budget's expected pod count cannot be worked out; `message` is the SyncFailed reason. */
export class ExpectedScaleError extends Error {
  readonly code = 'ExpectedScale';
}

export class DisruptionController implements Reconciler {
  private readonly budgets: Informer<PodDisruptionBudget>;
  private readonly pods: Informer<Pod>;

  constructor(mgr: Manager) {
    this.budgets = mgr.informer<PodDisruptionBudget>(Kinds.PodDisruptionBudget);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.pods.cache.addIndex('namespace', (p) => [p.metadata.namespace ?? '']);
  }

  static install(mgr: Manager): Controller {
    const r = new DisruptionController(mgr);
    const budgetsFor = (o: KubeObject): string[] =>
      r.budgets.cache
        .list()
        .filter((b) => b.metadata.namespace === o.metadata.namespace)
        .map((b) => `${b.metadata.namespace}/${b.metadata.name}`);
    return controllerFor(mgr, Kinds.PodDisruptionBudget)
      .named('disruption')
      .watches(Kinds.Pod, (p) => r.budgets.cache.list().filter((b) => b.metadata.namespace === p.metadata.namespace && b.spec.selector && selectorFromLabelSelector(b.spec.selector).matches(p.metadata.labels)).map((b) => `${b.metadata.namespace}/${b.metadata.name}`))
      // Scale changes move expectedPods.
      .watches(Kinds.Deployment, budgetsFor)
      .watches(Kinds.ReplicaSet, budgetsFor)
      .watches(Kinds.StatefulSet, budgetsFor)
      .complete(r);
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const pdb = this.budgets.cache.get(key);
    if (!pdb || pdb.metadata.deletionTimestamp) return;
    const now = ctx.clock.now();
    const nowText = rfc3339(now);
    // A nil selector selects nothing; an empty one every pod of the namespace (policy/v1).
    const sel = pdb.spec.selector ? selectorFromLabelSelector(pdb.spec.selector) : undefined;
    const pods = sel ? this.pods.cache.byIndex('namespace', pdb.metadata.namespace ?? '').filter((p) => sel.matches(p.metadata.labels)) : [];
    const status: NonNullable<PodDisruptionBudget['status']> = clone(pdb.status ?? { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 });
    const conditions: Condition[] = status.conditions ?? [];

    // Evictions the API has just granted: trusted for 2 minutes, or until the pod is going.
    const disrupted: Record<string, string> = {};
    let requeue: number | undefined;
    for (const [name, at] of Object.entries(status.disruptedPods ?? {})) {
      const p = pods.find((x) => x.metadata.name === name);
      if (!p || p.metadata.deletionTimestamp) continue;
      const expires = parseTime(at) + DISRUPTED_POD_TIMEOUT_MS;
      if (expires <= now) continue;
      disrupted[name] = at;
      requeue = Math.min(requeue ?? Infinity, expires - now);
    }

    let expected: number;
    let desired: number;
    try {
      ({ expected, desired } = await this.expectedAndDesired(ctx, pdb, pods));
    } catch (e) {
      if (!(e instanceof ExpectedScaleError)) throw e;
      setCond(conditions, { type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: e.message }, nowText);
      const failed = { ...status, disruptionsAllowed: 0, conditions, observedGeneration: pdb.metadata.generation ?? 1 };
      await this.write(ctx, pdb, failed);
      return;
    }
    const healthy = pods.filter((p) => !p.metadata.deletionTimestamp && isPodReady(p) && !(p.metadata.name! in disrupted)).length;
    const allowed = expected <= 0 ? 0 : Math.max(0, healthy - desired);
    const next: NonNullable<PodDisruptionBudget['status']> = {
      ...status,
      observedGeneration: pdb.metadata.generation ?? 1,
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: desired,
      expectedPods: expected,
      conditions,
    };
    if (Object.keys(disrupted).length) next.disruptedPods = disrupted;
    else delete next.disruptedPods;
    if (allowed > 0) setCond(conditions, { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '' }, nowText);
    else setCond(conditions, { type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: '' }, nowText);
    await this.write(ctx, pdb, next);
    return requeue !== undefined ? { requeueAfter: requeue + 1 } : undefined;
  }

  private async expectedAndDesired(ctx: ReconcileContext, pdb: PodDisruptionBudget, pods: Pod[]): Promise<{ expected: number; desired: number }> {
    const { minAvailable, maxUnavailable } = pdb.spec;
    if (maxUnavailable !== undefined && maxUnavailable !== null) {
      const expected = await this.expectedScale(ctx, pdb, pods);
      return { expected, desired: Math.max(0, expected - scaled(maxUnavailable, expected)) };
    }
    if (typeof minAvailable === 'number') return { expected: pods.length, desired: minAvailable };
    if (typeof minAvailable === 'string') {
      const expected = await this.expectedScale(ctx, pdb, pods);
      return { expected, desired: scaled(minAvailable, expected) };
    }
    return { expected: pods.length, desired: 0 };
  }

  /** The sum of the scales of the matching pods' controllers (getExpectedScale). Throws ExpectedScaleError. */
  private async expectedScale(ctx: ReconcileContext, pdb: PodDisruptionBudget, pods: Pod[]): Promise<number> {
    const seen = new Map<string, number>();
    for (const p of pods) {
      const ref = controllerRef(p);
      if (!ref) throw new ExpectedScaleError(`found no controller ref for pod "${p.metadata.name}"`);
      if (seen.has(ref.uid)) continue;
      const top = await this.scaleOwner(ctx, ref, p.metadata.namespace!);
      if (!top) throw new ExpectedScaleError(`found no controllers for pod "${p.metadata.name}"`);
      seen.set(top.uid, top.replicas);
      seen.set(ref.uid, 0);
    }
    let sum = 0;
    for (const v of seen.values()) sum += v;
    return sum;
  }

  /** The controller whose replicas count for a pod: a ReplicaSet's Deployment, else the owner itself. */
  private async scaleOwner(ctx: ReconcileContext, ref: OwnerReference, namespace: string): Promise<{ uid: string; replicas: number } | undefined> {
    const owner = await ctx.client.tryGet({ apiVersion: ref.apiVersion, kind: ref.kind }, ref.name, namespace).catch(() => undefined);
    if (!owner || owner.metadata.uid !== ref.uid) return undefined;
    if (ref.kind === 'ReplicaSet') {
      const d = controllerRef(owner);
      if (d?.kind === 'Deployment') {
        const dep = await ctx.client.tryGet(Kinds.Deployment, d.name, namespace);
        if (dep && dep.metadata.uid === d.uid) return { uid: d.uid, replicas: ((dep.spec as { replicas?: number }).replicas ?? 1) };
      }
    }
    const replicas = (owner.spec as { replicas?: unknown } | undefined)?.replicas;
    if (typeof replicas === 'number') return { uid: ref.uid, replicas };
    if (['ReplicaSet', 'StatefulSet', 'ReplicationController', 'Deployment'].includes(ref.kind)) return { uid: ref.uid, replicas: 1 };
    return undefined;
  }

  private async write(ctx: ReconcileContext, pdb: PodDisruptionBudget, status: NonNullable<PodDisruptionBudget['status']>): Promise<void> {
    if (deepEqual(status, pdb.status)) return;
    try {
      await ctx.client.updateStatus({ ...pdb, status } as KubeObject);
    } catch (e) {
      if (!(e instanceof StatusError && (e.reason === 'Conflict' || e.reason === 'NotFound'))) throw e;
    }
  }
}

function setCond(list: Condition[], c: Condition, now: string): void {
  const i = list.findIndex((x) => x.type === c.type);
  const cur = i >= 0 ? list[i] : undefined;
  if (cur && cur.status === c.status && cur.reason === c.reason && cur.message === c.message) return;
  const next: Condition = { ...c, lastTransitionTime: cur && cur.status === c.status ? (cur.lastTransitionTime ?? now) : now };
  if (i >= 0) list[i] = next;
  else list.push(next);
}
