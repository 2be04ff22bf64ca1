/**
 * The ReplicaSet controller (pkg/controller/replicaset): keeps `spec.replicas` active pods that
 * match the selector, adopting orphans and releasing pods that no longer match, and reports
 * replicas, ready and available counts in status.
 *
 * Level-based: every reconcile looks at the ReplicaSet and all its pods and acts on the
 * difference. Expectations stop it from acting twice on a stale cache after its own writes.
 */
import { isAlreadyExists, isNotFound, StatusError } from '../../api/errors.js';
import { selectorFromLabelSelector } from '../../api/labels.js';
import { clone, controllerRef, deepEqual, objectKeyOf, ownerRef, splitKey } from '../../api/meta.js';
import { isPodActive, isPodAvailable, isPodReady, msUntilAvailable, podRestarts } from '../../api/podutil.js';
import type { KubeObject, Pod, ReplicaSet } from '../../api/types.js';
import { parseTime } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';
import { Expectations } from '../expectations.js';

/** Most pods created or deleted in one reconcile (kube-controller-manager's burstReplicas). */
export const BURST_REPLICAS = 500;

export class ReplicaSetController implements Reconciler {
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  readonly expectations: Expectations;

  constructor(private readonly mgr: Manager) {
    this.sets = mgr.informer<ReplicaSet>(Kinds.ReplicaSet);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.pods.cache.addIndex('controller', (p) => {
      const c = controllerRef(p);
      return c ? [c.uid] : [];
    });
    // Only orphans can be adopted: indexing just them keeps a reconcile from scanning every pod of the namespace.
    this.pods.cache.addIndex('orphans-by-namespace', (p) => (controllerRef(p) ? [] : [p.metadata.namespace ?? '']));
    this.expectations = new Expectations(mgr.clock);
  }

  /** Registers the controller with the manager. */
  static install(mgr: Manager): Controller {
    const r = new ReplicaSetController(mgr);
    const c = controllerFor(mgr, Kinds.ReplicaSet).named('replicaset').concurrency(4).complete(r);
    r.watchPods(c);
    return c;
  }

  private ownerKey(pod: Pod): string | undefined {
    const c = controllerRef(pod);
    if (!c || c.kind !== 'ReplicaSet') return undefined;
    return `${pod.metadata.namespace}/${c.name}`;
  }

  private watchPods(c: Controller): void {
    const orphanOwners = (pod: Pod): void => {
      // An orphan may be adopted by any ReplicaSet in its namespace whose selector matches it.
      for (const rs of this.sets.cache.list()) {
        if (rs.metadata.namespace !== pod.metadata.namespace) continue;
        if (selectorFromLabelSelector(rs.spec.selector).matches(pod.metadata.labels)) c.enqueue(objectKeyOf(rs));
      }
    };
    this.pods.on({
      add: (pod) => {
        const key = this.ownerKey(pod);
        if (key) {
          this.expectations.observedAdd(key);
          c.enqueue(key);
        } else if (!controllerRef(pod)) orphanOwners(pod);
      },
      update: (old, pod) => {
        const key = this.ownerKey(pod);
        const oldKey = this.ownerKey(old);
        if (pod.metadata.deletionTimestamp && !old.metadata.deletionTimestamp && key) this.expectations.observedDelete(key, pod.metadata.uid!);
        if (oldKey && oldKey !== key) c.enqueue(oldKey);
        // Only a change the ReplicaSet's decisions or status depend on (kube's updatePod enqueues on
        // every change; being bound or going ContainerCreating changes nothing here, and skipping
        // those halves the reconciles of a large ReplicaSet, each of which reads all its pods).
        if (key) {
          if (oldKey !== key || countsChanged(old, pod)) c.enqueue(key);
        } else if (!controllerRef(pod) && !deepEqual(old.metadata.labels, pod.metadata.labels)) orphanOwners(pod);
      },
      delete: (pod) => {
        const key = this.ownerKey(pod);
        if (key) {
          this.expectations.observedDelete(key, pod.metadata.uid!);
          c.enqueue(key);
        }
      },
    });
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const rs = this.sets.cache.get(key);
    if (!rs) {
      this.expectations.forget(key);
      return;
    }
    if (rs.metadata.deletionTimestamp) return;
    const { namespace } = splitKey(key);
    const selector = selectorFromLabelSelector(rs.spec.selector);
    const uid = rs.metadata.uid!;

    // Claim: our pods that still match, plus orphans that match (adopted); release ours that no longer match.
    const owned: Pod[] = [];
    for (const pod of this.pods.cache.byIndex('controller', uid)) {
      if (selector.matches(pod.metadata.labels)) owned.push(pod);
      else await this.release(ctx, rs, pod);
    }
    for (const pod of this.pods.cache.byIndex('orphans-by-namespace', namespace ?? '')) {
      if (controllerRef(pod) || pod.metadata.deletionTimestamp || !selector.matches(pod.metadata.labels)) continue;
      const adopted = await this.adopt(ctx, rs, pod);
      if (adopted) owned.push(adopted);
    }
    const active = owned.filter(isPodActive);

    if (this.expectations.satisfied(key)) {
      await this.manageReplicas(ctx, rs, active);
    }
    return this.updateStatus(ctx, rs, owned);
  }

  private async adopt(ctx: ReconcileContext, rs: ReplicaSet, pod: Pod): Promise<Pod | undefined> {
    try {
      const refs = [...(pod.metadata.ownerReferences ?? []), ownerRef(rs)];
      return await ctx.client.patch<Pod>(Kinds.Pod, pod.metadata.name!, pod.metadata.namespace, 'merge', {
        metadata: { ownerReferences: refs, resourceVersion: pod.metadata.resourceVersion },
      });
    } catch (e) {
      if (e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict')) return undefined;
      throw e;
    }
  }

  private async release(ctx: ReconcileContext, rs: ReplicaSet, pod: Pod): Promise<void> {
    try {
      const refs = (pod.metadata.ownerReferences ?? []).filter((o) => o.uid !== rs.metadata.uid);
      await ctx.client.patch(Kinds.Pod, pod.metadata.name!, pod.metadata.namespace, 'merge', { metadata: { ownerReferences: refs.length ? refs : null } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async manageReplicas(ctx: ReconcileContext, rs: ReplicaSet, active: Pod[]): Promise<void> {
    const key = objectKeyOf(rs);
    const want = rs.spec.replicas ?? 1;
    const diff = active.length - want;
    if (diff < 0) {
      const n = Math.min(-diff, BURST_REPLICAS);
      this.expectations.expect(key, n);
      // Slow start (controller_utils slowStartBatch): batches of 1, 2, 4 … so a failing template fails fast.
      let created = 0;
      let batch = 1;
      try {
        while (created < n) {
          const size = Math.min(batch, n - created);
          const results = await Promise.allSettled(Array.from({ length: size }, () => this.createPod(ctx, rs)));
          const failed = results.filter((r) => r.status === 'rejected');
          created += size;
          if (failed.length) {
            this.expectations.lowerAdds(key, failed.length + (n - created));
            const err = (failed[0] as PromiseRejectedResult).reason as Error;
            ctx.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${err.message}`);
            throw err;
          }
          batch *= 2;
        }
      } finally {
        if (created < n) this.expectations.lowerAdds(key, n - created);
      }
    } else if (diff > 0) {
      const victims = podsToDelete(active, Math.min(diff, BURST_REPLICAS));
      this.expectations.expect(key, 0, victims.map((p) => p.metadata.uid!));
      await Promise.all(
        victims.map(async (p) => {
          try {
            await ctx.client.delete(Kinds.Pod, p.metadata.name!, p.metadata.namespace, { preconditions: { uid: p.metadata.uid! } });
            ctx.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
          } catch (e) {
            this.expectations.observedDelete(key, p.metadata.uid!);
            if (!isNotFound(e)) throw e;
          }
        }),
      );
    }
  }

  private async createPod(ctx: ReconcileContext, rs: ReplicaSet): Promise<void> {
    const t = rs.spec.template;
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace!,
        labels: { ...(t.metadata?.labels ?? {}) },
        ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        ownerReferences: [ownerRef(rs)],
      },
      spec: clone(t.spec),
    };
    try {
      const created = await ctx.client.create(pod);
      ctx.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
    } catch (e) {
      if (isAlreadyExists(e)) return;
      throw e;
    }
  }

  private async updateStatus(ctx: ReconcileContext, rs: ReplicaSet, owned: Pod[]): Promise<Result | void> {
    const now = ctx.clock.now();
    const minReady = rs.spec.minReadySeconds ?? 0;
    const templateLabels = Object.entries(rs.spec.template.metadata?.labels ?? {});
    // One pass over the pods: a ReplicaSet of thousands is reconciled on every change of one of them.
    let replicas = 0;
    let fullyLabeled = 0;
    let ready = 0;
    let available = 0;
    let wait = 0;
    for (const p of owned) {
      if (!isPodActive(p)) continue;
      replicas++;
      const labels = p.metadata.labels;
      if (templateLabels.every(([k, v]) => labels?.[k] === v)) fullyLabeled++;
      if (!isPodReady(p)) continue;
      ready++;
      if (!minReady) {
        available++;
        continue;
      }
      if (isPodAvailable(p, minReady, now)) available++;
      const ms = msUntilAvailable(p, minReady, now);
      if (ms > 0) wait = wait ? Math.min(wait, ms) : ms;
    }
    const status: NonNullable<ReplicaSet['status']> = {
      ...(rs.status ?? {}),
      replicas,
      fullyLabeledReplicas: fullyLabeled,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation ?? 1,
    };
    if (!deepEqual(status, rs.status)) {
      try {
        await ctx.client.updateStatus({ ...rs, status } as KubeObject);
      } catch (e) {
        if (!(e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
        return { requeue: true };
      }
    }
    return wait ? { requeueAfter: wait + 1 } : undefined;
  }
}

/**
 * True if a pod update changes what a ReplicaSet reconcile reads of it: labels (selector, fully
 * labeled), owner, deletion, phase (active), or its Ready condition (ready, available).
 */
function countsChanged(old: Pod, cur: Pod): boolean {
  if (old.status?.phase !== cur.status?.phase || old.metadata.deletionTimestamp !== cur.metadata.deletionTimestamp) return true;
  if (controllerRef(old)?.uid !== controllerRef(cur)?.uid || !deepEqual(old.metadata.labels, cur.metadata.labels)) return true;
  const a = old.status?.conditions?.find((c) => c.type === 'Ready');
  const b = cur.status?.conditions?.find((c) => c.type === 'Ready');
  const ready = a?.status === 'True';
  return ready !== (b?.status === 'True') || (ready && a.lastTransitionTime !== b!.lastTransitionTime);
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * The pods to delete when scaling down, in Kubernetes's order (controller.ActivePodsWithRanks):
 * unscheduled before scheduled, Pending before Unknown before Running, not ready before ready,
 * lower `controller.kubernetes.io/pod-deletion-cost` first, ready for less time first, more
 * restarts first, newer first.
 */
export function podsToDelete(pods: Pod[], n: number): Pod[] {
  const cost = (p: Pod): number => Number(p.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost'] ?? 0) || 0;
  const readySince = (p: Pod): number => parseTime(p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime) || 0;
  const sorted = [...pods].sort((a, b) => {
    const assigned = Number(!!a.spec.nodeName) - Number(!!b.spec.nodeName);
    if (assigned) return assigned;
    const phase = (PHASE_RANK[a.status?.phase ?? 'Pending'] ?? 0) - (PHASE_RANK[b.status?.phase ?? 'Pending'] ?? 0);
    if (phase) return phase;
    const ready = Number(isPodReady(a)) - Number(isPodReady(b));
    if (ready) return ready;
    const c = cost(a) - cost(b);
    if (c) return c;
    if (isPodReady(a) && isPodReady(b)) {
      const since = readySince(b) - readySince(a);
      if (since) return since;
    }
    const restarts = podRestarts(b) - podRestarts(a);
    if (restarts) return restarts;
    const created = (parseTime(b.metadata.creationTimestamp) || 0) - (parseTime(a.metadata.creationTimestamp) || 0);
    if (created) return created;
    return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? 1 : -1;
  });
  return sorted.slice(0, n);
}
