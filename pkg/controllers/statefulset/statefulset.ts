/**
 * The StatefulSet controller (pkg/controller/statefulset;
 * https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/): pods with stable names
 * `<set>-0 … <set>-(N−1)` (from `spec.ordinals.start`), each with its own PersistentVolumeClaims
 * `<template>-<pod>` made from `volumeClaimTemplates`, hostname the pod name and subdomain
 * `serviceName`.
 *
 * - `podManagementPolicy: OrderedReady` (default): pods are created one at a time in ordinal
 *   order, each waiting for its predecessors to be Running and Ready; scale-down removes the
 *   highest ordinal first, waiting for each to be gone. `Parallel` creates and deletes at once.
 * - `updateStrategy: RollingUpdate` replaces pods whose `controller-revision-hash` is not the
 *   update revision, highest ordinal first, one at a time, each waiting for the replacement to
 *   be Ready; only ordinals ≥ `rollingUpdate.partition` are updated. `OnDelete` updates a pod
 *   only when someone deletes it.
 * - Templates are kept as ControllerRevisions (`history.ts`); `status.currentRevision` becomes the
 *   update revision once every pod runs it.
 * - `persistentVolumeClaimRetentionPolicy`: `whenDeleted: Delete` makes the claims owned by the
 *   set (deleted with it); `whenScaled: Delete` makes a condemned pod own its claims.
 *
 * Level-based: each reconcile reads the set, its pods and revisions, and takes the next step.
 */
import { isAlreadyExists, isNotFound, StatusError } from '../../api/errors.js';
import { selectorFromLabelSelector } from '../../api/labels.js';
import { clone, controllerRef, deepEqual, ownerRef } from '../../api/meta.js';
import { isPodAvailable, isPodReady, msUntilAvailable } from '../../api/podutil.js';
import type { KubeObject, OwnerReference, Pod, PodTemplateSpec } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';
import { CONTROLLER_REVISION_HASH, ensureRevision, ownedRevisions, templateOf, truncateHistory } from '../history.js';
import type { ControllerRevision, PersistentVolumeClaim, StatefulSet } from '../types.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

/** The ordinal of a pod of `set` from its name (`web-3` → 3), or undefined. */
export function ordinalOf(set: StatefulSet, pod: Pod): number | undefined {
  const prefix = `${set.metadata.name}-`;
  const name = pod.metadata.name ?? '';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

/** The name of the claim of `template` for the pod `podName`: `<template>-<pod>`. */
export function claimName(template: PersistentVolumeClaim, podName: string): string {
  return `${template.metadata.name}-${podName}`;
}

const isRunningAndReady = (p: Pod): boolean => p.status?.phase === 'Running' && isPodReady(p);
const isTerminating = (p: Pod): boolean => !!p.metadata.deletionTimestamp;
const isFailed = (p: Pod): boolean => p.status?.phase === 'Failed';

export class StatefulSetController implements Reconciler {
  private readonly sets: Informer<StatefulSet>;
  private readonly pods: Informer<Pod>;
  private readonly revisions: Informer<ControllerRevision>;

  constructor(mgr: Manager) {
    this.sets = mgr.informer<StatefulSet>(Kinds.StatefulSet);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.revisions = mgr.informer<ControllerRevision>(Kinds.ControllerRevision);
    this.pods.cache.addIndex('controller', (p) => {
      const c = controllerRef(p);
      return c ? [c.uid] : [];
    });
    this.revisions.cache.addIndex('controller', (r) => {
      const c = controllerRef(r);
      return c ? [c.uid] : [];
    });
  }

  static install(mgr: Manager): Controller {
    return controllerFor(mgr, Kinds.StatefulSet).named('statefulset').owns(Kinds.Pod).owns(Kinds.ControllerRevision).concurrency(4).complete(new StatefulSetController(mgr));
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const set = this.sets.cache.get(key);
    if (!set || set.metadata.deletionTimestamp) return;
    const selector = selectorFromLabelSelector(set.spec.selector);
    if (selector.empty) return;
    const pods = this.pods.cache.byIndex('controller', set.metadata.uid!).filter((p) => selector.matches(p.metadata.labels));
    const revisions = ownedRevisions(this.revisions.cache.byIndex('controller', set.metadata.uid!), set);
    const updateRev = await ensureRevision(ctx, set, set.spec.template, revisions);
    const allRevs = revisions.some((r) => r.metadata.name === updateRev.metadata.name) ? revisions.map((r) => (r.metadata.name === updateRev.metadata.name ? updateRev : r)) : [...revisions, updateRev];
    const currentName = set.status?.currentRevision && allRevs.some((r) => r.metadata.name === set.status!.currentRevision) ? set.status.currentRevision : updateRev.metadata.name!;
    const currentRev = allRevs.find((r) => r.metadata.name === currentName)!;

    const replicas = set.spec.replicas ?? 1;
    const start = set.spec.ordinals?.start ?? 0;
    const ordered = (set.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
    const minReady = set.spec.minReadySeconds ?? 0;
    const now = ctx.clock.now();
    const slots = new Map<number, Pod>();
    const condemned: Pod[] = [];
    for (const p of pods) {
      const ord = ordinalOf(set, p);
      if (ord === undefined) continue;
      if (ord >= start && ord < start + replicas) slots.set(ord, p);
      else condemned.push(p);
    }
    condemned.sort((a, b) => ordinalOf(set, b)! - ordinalOf(set, a)!);
    const strategy = set.spec.updateStrategy?.type ?? 'RollingUpdate';
    const partition = strategy === 'RollingUpdate' ? (set.spec.updateStrategy?.rollingUpdate?.partition ?? 0) : 0;

    let requeue: number | undefined;
    const step = async (): Promise<void> => {
      // 1. Create missing pods, replace failed ones, in ordinal order.
      for (let ord = start; ord < start + replicas; ord++) {
        const pod = slots.get(ord);
        if (!pod) {
          const rev = strategy === 'RollingUpdate' && ord - start < partition ? currentRev : updateRev;
          await this.createPod(ctx, set, ord, rev);
          if (ordered) return;
          continue;
        }
        if (isFailed(pod) && !isTerminating(pod)) {
          await this.deletePod(ctx, set, pod);
          if (ordered) return;
          continue;
        }
        if (ordered && (isTerminating(pod) || !isRunningAndReady(pod))) return;
        if (ordered && !isPodAvailable(pod, minReady, now)) {
          requeue = msUntilAvailable(pod, minReady, now) + 1;
          return;
        }
      }
      // 2. Scale down: highest ordinal first.
      if (condemned.length) {
        if (ordered) {
          if (condemned.some(isTerminating)) return;
          // Every pod that stays must be healthy before one goes.
          if ([...slots.values()].some((p) => !isRunningAndReady(p))) return;
          await this.deletePod(ctx, set, condemned[0]!);
          return;
        }
        for (const p of condemned) if (!isTerminating(p)) await this.deletePod(ctx, set, p);
        return;
      }
      // 3. Rolling update: highest ordinal first, down to the partition, one at a time.
      if (strategy !== 'RollingUpdate') return;
      if (ordered && [...slots.values()].some((p) => !isRunningAndReady(p) || isTerminating(p))) return;
      for (let ord = start + replicas - 1; ord >= start + partition; ord--) {
        const pod = slots.get(ord);
        if (!pod) return;
        if (pod.metadata.labels?.[CONTROLLER_REVISION_HASH] !== updateRev.metadata.name) {
          if (!isTerminating(pod)) await this.deletePod(ctx, set, pod);
          return;
        }
        if (!isRunningAndReady(pod) || isTerminating(pod)) return;
      }
    };
    await step();
    await this.updateStatus(ctx, set, slots, currentRev, updateRev, now);
    const live = new Set([currentRev.metadata.name!, updateRev.metadata.name!, ...pods.map((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] ?? '')]);
    await truncateHistory(ctx, allRevs, live, set.spec.revisionHistoryLimit ?? 10);
    return requeue !== undefined ? { requeueAfter: requeue } : undefined;
  }

  /** The pod of ordinal `ord` from the template in `rev`, with identity, labels and claims. */
  podFor(set: StatefulSet, ord: number, rev: ControllerRevision): Pod {
    const template: PodTemplateSpec = templateOf(rev) ?? set.spec.template;
    const name = `${set.metadata.name}-${ord}`;
    const spec = clone(template.spec);
    spec.hostname = name;
    if (set.spec.serviceName) spec.subdomain = set.spec.serviceName;
    const volumes = ((spec.volumes as { name: string }[] | undefined) ?? []).filter((v) => !(set.spec.volumeClaimTemplates ?? []).some((c) => c.metadata.name === v.name));
    for (const c of set.spec.volumeClaimTemplates ?? []) volumes.push({ name: c.metadata.name!, persistentVolumeClaim: { claimName: claimName(c, name) } } as { name: string });
    if (volumes.length) spec.volumes = volumes;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: set.metadata.namespace!,
        labels: { ...(template.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH]: rev.metadata.name!, [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ord) },
        ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ownerReferences: [ownerRef(set)],
      },
      spec,
    };
  }

  /** The claims a pod needs, as `getPersistentVolumeClaims` makes them: template labels plus the selector's. */
  claimsFor(set: StatefulSet, podName: string): PersistentVolumeClaim[] {
    return (set.spec.volumeClaimTemplates ?? []).map((t) => {
      const c = clone(t);
      const owners: OwnerReference[] = set.spec.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete' ? [ownerRef(set, false)] : [];
      return {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name: claimName(t, podName),
          namespace: set.metadata.namespace!,
          labels: { ...(c.metadata.labels ?? {}), ...(set.spec.selector.matchLabels ?? {}) },
          ...(c.metadata.annotations ? { annotations: c.metadata.annotations } : {}),
          ...(owners.length ? { ownerReferences: owners } : {}),
        },
        spec: c.spec ?? {},
        status: { phase: 'Pending' },
      };
    });
  }

  private async createPod(ctx: ReconcileContext, set: StatefulSet, ord: number, rev: ControllerRevision): Promise<void> {
    const pod = this.podFor(set, ord, rev);
    for (const claim of this.claimsFor(set, pod.metadata.name!)) {
      try {
        await ctx.client.create(claim);
        ctx.recorder.event(set, 'Normal', 'SuccessfulCreate', `create Claim ${claim.metadata.name} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success`);
      } catch (e) {
        if (!isAlreadyExists(e)) {
          ctx.recorder.event(set, 'Warning', 'FailedCreate', `create Claim ${claim.metadata.name} for Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(e as Error).message}`);
          throw e;
        }
      }
    }
    try {
      await ctx.client.create(pod);
      ctx.recorder.event(set, 'Normal', 'SuccessfulCreate', `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
    } catch (e) {
      if (isAlreadyExists(e)) return;
      ctx.recorder.event(set, 'Warning', 'FailedCreate', `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(e as Error).message}`);
      throw e;
    }
  }

  private async deletePod(ctx: ReconcileContext, set: StatefulSet, pod: Pod): Promise<void> {
    const ord = ordinalOf(set, pod);
    const replicas = set.spec.replicas ?? 1;
    const start = set.spec.ordinals?.start ?? 0;
    // whenScaled: Delete — a pod leaving because of a scale-down takes its claims with it.
    if (set.spec.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete' && ord !== undefined && ord >= start + replicas) {
      for (const t of set.spec.volumeClaimTemplates ?? []) {
        try {
          await ctx.client.modify<KubeObject>(Kinds.PersistentVolumeClaim, claimName(t, pod.metadata.name!), set.metadata.namespace, (c) => {
            if ((c.metadata.ownerReferences ?? []).some((o) => o.uid === pod.metadata.uid)) return undefined;
            return { ...c, metadata: { ...c.metadata, ownerReferences: [...(c.metadata.ownerReferences ?? []), ownerRef(pod, false)] } };
          });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
    }
    try {
      await ctx.client.delete(Kinds.Pod, pod.metadata.name!, pod.metadata.namespace, { preconditions: { uid: pod.metadata.uid! } });
      ctx.recorder.event(set, 'Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
    } catch (e) {
      if (!(e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
    }
  }

  private async updateStatus(ctx: ReconcileContext, set: StatefulSet, slots: Map<number, Pod>, currentRev: ControllerRevision, updateRev: ControllerRevision, now: number): Promise<void> {
    const minReady = set.spec.minReadySeconds ?? 0;
    const pods = [...slots.values()].filter((p) => !isTerminating(p) || isPodReady(p));
    const updated = pods.filter((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === updateRev.metadata.name).length;
    const current = pods.filter((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === currentRev.metadata.name).length;
    const replicas = set.spec.replicas ?? 1;
    const done = updated === replicas && pods.length === replicas;
    const status: NonNullable<StatefulSet['status']> = {
      ...(set.status ?? {}),
      observedGeneration: set.metadata.generation ?? 1,
      replicas: pods.length,
      readyReplicas: pods.filter(isPodReady).length,
      availableReplicas: pods.filter((p) => isPodAvailable(p, minReady, now)).length,
      currentReplicas: done ? updated : current,
      updatedReplicas: updated,
      currentRevision: done ? updateRev.metadata.name! : currentRev.metadata.name!,
      updateRevision: updateRev.metadata.name!,
      collisionCount: set.status?.collisionCount ?? 0,
    };
    if (deepEqual(status, set.status)) return;
    try {
      await ctx.client.updateStatus({ ...set, status } as KubeObject);
    } catch (e) {
      if (!(e instanceof StatusError && (e.reason === 'Conflict' || e.reason === 'NotFound'))) throw e;
    }
  }
}
