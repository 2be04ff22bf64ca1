/**
 * The Deployment controller (pkg/controller/deployment): a Deployment owns ReplicaSets, one per
 * pod template (named `<deployment>-<pod-template-hash>`), and moves pods from old templates to
 * the new one with the RollingUpdate strategy (maxSurge, maxUnavailable) or Recreate; it scales
 * proportionally, keeps `revisionHistoryLimit` old ReplicaSets, and reports replicas and the
 * Available and Progressing conditions (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/).
 *
 * Level-based: each reconcile reads the Deployment, its ReplicaSets and (for Recreate) their pods,
 * and takes the next step of the rollout; the ReplicaSets' own changes wake it for the next.
 */
import { isAlreadyExists, isNotFound, StatusError } from '../../api/errors.js';
import { selectorFromLabelSelector } from '../../api/labels.js';
import { canonicalJson, clone, controllerRef, deepEqual, getCondition, ownerRef } from '../../api/meta.js';
import type { Condition, Deployment, KubeObject, Pod, PodTemplateSpec, ReplicaSet } from '../../api/types.js';
import { parseTime, rfc3339 } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';

export const REVISION = 'deployment.kubernetes.io/revision';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const TEMPLATE_HASH = 'pod-template-hash';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';

/** Annotations that belong to the controller or to kubectl, not copied from a Deployment onto its ReplicaSets. */
const SKIPPED_ANNOTATIONS = new Set([REVISION, DESIRED_REPLICAS, MAX_REPLICAS, 'kubectl.kubernetes.io/last-applied-configuration', 'deployment.kubernetes.io/revision-history']);

// ------------------------------------------------------------------------------------------------
// Pure helpers

/** FNV-1a, 32 bits, as Kubernetes's ComputeHash uses. */
function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(s, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** A pod template's hash, encoded with Kubernetes's vowel-free alphabet (rand.SafeEncodeString). */
export function templateHash(t: PodTemplateSpec, collisionCount = 0): string {
  const h = fnv32a(canonicalJson(withoutHashLabel(t)) + (collisionCount ? String(collisionCount) : ''));
  // SafeEncodeString maps each character of the decimal hash through the alphabet.
  return String(h)
    .split('')
    .map((c) => SAFE[c.charCodeAt(0) % SAFE.length])
    .join('');
}

function withoutHashLabel(t: PodTemplateSpec): PodTemplateSpec {
  const c = clone(t);
  if (c.metadata?.labels) {
    delete c.metadata.labels[TEMPLATE_HASH];
    if (Object.keys(c.metadata.labels).length === 0) delete c.metadata.labels;
  }
  if (c.metadata && Object.keys(c.metadata).length === 0) delete c.metadata;
  return c;
}

/** True if two templates are equal apart from the pod-template-hash label. */
export function equalIgnoreHash(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  return deepEqual(withoutHashLabel(a), withoutHashLabel(b));
}

/**
 * Resolves an int-or-percent against `total`: surge rounds up, unavailable rounds down
 * (intstr.GetScaledValueFromIntOrPercent).
 */
export function resolveIntOrPercent(v: number | string | undefined, total: number, roundUp: boolean): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const pct = Number(v.replace('%', ''));
  const x = (pct * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** maxSurge and maxUnavailable of a Deployment; both 0 becomes maxUnavailable 1 (ResolveFenceposts). */
export function fenceposts(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  const replicas = d.spec.replicas ?? 1;
  const ru = d.spec.strategy?.rollingUpdate ?? {};
  const maxSurge = resolveIntOrPercent(ru.maxSurge ?? '25%', replicas, true);
  let maxUnavailable = resolveIntOrPercent(ru.maxUnavailable ?? '25%', replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

function maxUnavailableOf(d: Deployment): number {
  if (d.spec.strategy?.type === 'Recreate') return 0;
  return fenceposts(d).maxUnavailable;
}

const specReplicas = (rs: ReplicaSet): number => rs.spec.replicas ?? 0;
const revisionOf = (rs: ReplicaSet): number => Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;
const createdAt = (o: KubeObject): number => parseTime(o.metadata.creationTimestamp) || 0;
const byAge = (a: ReplicaSet, b: ReplicaSet): number => createdAt(a) - createdAt(b) || (a.metadata.name! < b.metadata.name! ? -1 : 1);

/** A Deployment is complete when every replica is updated and available and nothing old remains. */
export function deploymentComplete(d: Deployment, s: NonNullable<Deployment['status']>): boolean {
  const r = d.spec.replicas ?? 1;
  return (s.updatedReplicas ?? 0) === r && (s.replicas ?? 0) === r && (s.availableReplicas ?? 0) === r && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 1);
}

// ------------------------------------------------------------------------------------------------

export class DeploymentController implements Reconciler {
  private readonly deployments: Informer<Deployment>;
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  /** ReplicaSet uid → the resourceVersion of our last write, to skip acting on a cache older than it. */
  private readonly written = new Map<string, number>();

  constructor(mgr: Manager) {
    this.deployments = mgr.informer<Deployment>(Kinds.Deployment);
    this.sets = mgr.informer<ReplicaSet>(Kinds.ReplicaSet);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.sets.cache.addIndex('controller', (rs) => {
      const c = controllerRef(rs);
      return c ? [c.uid] : [];
    });
    this.pods.cache.addIndex('controller', (p) => {
      const c = controllerRef(p);
      return c ? [c.uid] : [];
    });
  }

  static install(mgr: Manager): Controller {
    const reconciler = new DeploymentController(mgr);
    return controllerFor(mgr, Kinds.Deployment)
      .named('deployment')
      .owns(Kinds.ReplicaSet)
      .watches(Kinds.Pod, (pod) => reconciler.recreateDeploymentOf(pod))
      .concurrency(4)
      .complete(reconciler);
  }

  /**
   * The key (`namespace/name`) of the Recreate Deployment whose ReplicaSet controls `pod`, or
   * none. A Recreate rollout waits for the old pods to be gone, and a pod going away changes no
   * ReplicaSet (its status dropped the pod when it began terminating), so pod events must wake
   * the Deployment, as kube-controller-manager's deployment controller does in its deletePod
   * handler (pkg/controller/deployment/deployment_controller.go).
   */
  recreateDeploymentOf(pod: KubeObject): string[] {
    const rsRef = controllerRef(pod);
    if (rsRef?.kind !== 'ReplicaSet') return [];
    const rs = this.sets.cache.getByName(rsRef.name, pod.metadata.namespace);
    const dRef = rs && rs.metadata.uid === rsRef.uid ? controllerRef(rs) : undefined;
    if (dRef?.kind !== 'Deployment') return [];
    const d = this.deployments.cache.getByName(dRef.name, pod.metadata.namespace);
    return d?.spec.strategy?.type === 'Recreate' ? [`${pod.metadata.namespace}/${dRef.name}`] : [];
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const d = this.deployments.cache.get(key);
    if (!d || d.metadata.deletionTimestamp) return;
    const all = this.sets.cache.byIndex('controller', d.metadata.uid!);
    for (const rs of all) {
      const w = this.written.get(rs.metadata.uid!);
      if (w !== undefined && Number(rs.metadata.resourceVersion) < w) return; // the cache has not caught up with our last write
    }
    const selector = selectorFromLabelSelector(d.spec.selector);
    if (selector.empty) return; // validation forbids it; never adopt everything
    const rsList = all.filter((rs) => !rs.metadata.deletionTimestamp);
    let newRS = rsList.find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
    const oldRSs = rsList.filter((rs) => rs !== newRS).sort(byAge);

    if (d.spec.paused || this.isScalingEvent(d, newRS, oldRSs)) {
      await this.scale(ctx, d, newRS, oldRSs);
      if (!d.spec.paused && newRS && deploymentComplete(d, this.calculateStatus(d, newRS, oldRSs))) await this.cleanup(ctx, d, oldRSs);
      return this.syncStatus(ctx, d, newRS, oldRSs, undefined);
    }

    if (d.spec.strategy?.type === 'Recreate') return this.recreate(ctx, d, newRS, oldRSs);

    let created: string | undefined;
    if (!newRS) {
      const r = await this.createNewRS(ctx, d, oldRSs, this.newRSReplicas(d, rsList, undefined));
      newRS = r.rs;
      created = r.created ? newRS.metadata.name : undefined;
      if (r.created) return this.syncStatus(ctx, d, newRS, oldRSs, created);
    } else {
      newRS = await this.syncRevision(ctx, d, newRS, oldRSs);
    }
    const allRSs = [...oldRSs, newRS];

    // Scale up the new ReplicaSet within maxSurge…
    const want = d.spec.replicas ?? 1;
    if (specReplicas(newRS) !== want) {
      const target = specReplicas(newRS) > want ? want : this.newRSReplicas(d, allRSs, newRS);
      if (target !== specReplicas(newRS)) {
        newRS = await this.scaleRS(ctx, d, newRS, target);
        return this.syncStatus(ctx, d, newRS, oldRSs, created);
      }
    }
    // …then scale old ones down within maxUnavailable.
    if (await this.reconcileOldReplicaSets(ctx, d, allRSs, oldRSs, newRS)) return this.syncStatus(ctx, d, newRS, oldRSs, created);
    if (deploymentComplete(d, this.calculateStatus(d, newRS, oldRSs))) await this.cleanup(ctx, d, oldRSs);
    return this.syncStatus(ctx, d, newRS, oldRSs, created);
  }

  /** A replicas change on a settled Deployment: the desired-replicas annotation of an active ReplicaSet differs. */
  private isScalingEvent(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): boolean {
    const want = d.spec.replicas ?? 1;
    const active = [newRS, ...oldRSs].filter((rs): rs is ReplicaSet => !!rs && specReplicas(rs) > 0);
    for (const rs of active) {
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS];
      if (desired !== undefined && Number(desired) !== want) return true;
    }
    return false;
  }

  /** Replicas for the new ReplicaSet under RollingUpdate (deploymentutil.NewRSNewReplicas). */
  private newRSReplicas(d: Deployment, allRSs: ReplicaSet[], newRS: ReplicaSet | undefined): number {
    const want = d.spec.replicas ?? 1;
    const { maxSurge } = fenceposts(d);
    const current = allRSs.reduce((n, rs) => n + specReplicas(rs), 0);
    const maxTotal = want + maxSurge;
    const cur = newRS ? specReplicas(newRS) : 0;
    if (current >= maxTotal) return cur;
    return cur + Math.max(0, Math.min(maxTotal - current, want - cur));
  }

  private async reconcileOldReplicaSets(ctx: ReconcileContext, d: Deployment, allRSs: ReplicaSet[], oldRSs: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
    const active = oldRSs.filter((rs) => specReplicas(rs) > 0);
    if (active.reduce((n, rs) => n + specReplicas(rs), 0) === 0) return false;
    const want = d.spec.replicas ?? 1;
    const allPods = allRSs.reduce((n, rs) => n + specReplicas(rs), 0);
    const minAvailable = want - maxUnavailableOf(d);
    const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;

    // First drop unhealthy old replicas (they count for nothing), oldest ReplicaSets first.
    let cleaned = 0;
    const current = new Map(active.map((rs) => [rs.metadata.uid!, rs]));
    for (const rs of active) {
      if (cleaned >= maxScaledDown) break;
      const unhealthy = specReplicas(rs) - (rs.status?.availableReplicas ?? 0);
      if (unhealthy <= 0) continue;
      const n = Math.min(maxScaledDown - cleaned, unhealthy);
      current.set(rs.metadata.uid!, await this.scaleRS(ctx, d, rs, specReplicas(rs) - n));
      cleaned += n;
    }
    // Then scale down available old replicas while keeping minAvailable.
    const available = [...current.values(), newRS].reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
    let toScaleDown = available - minAvailable;
    let scaled = 0;
    if (toScaleDown > 0) {
      for (const rs of [...current.values()].sort(byAge)) {
        if (toScaleDown <= 0) break;
        if (specReplicas(rs) === 0) continue;
        const n = Math.min(specReplicas(rs), toScaleDown);
        await this.scaleRS(ctx, d, rs, specReplicas(rs) - n);
        toScaleDown -= n;
        scaled += n;
      }
    }
    return cleaned + scaled > 0;
  }

  private async recreate(ctx: ReconcileContext, d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<Result | void> {
    const activeOld = oldRSs.filter((rs) => specReplicas(rs) > 0);
    if (activeOld.length) {
      for (const rs of activeOld) await this.scaleRS(ctx, d, rs, 0);
      return this.syncStatus(ctx, d, newRS, oldRSs, undefined);
    }
    // Wait until every old pod has stopped (terminating pods still count).
    for (const rs of oldRSs) {
      const running = this.pods.cache.byIndex('controller', rs.metadata.uid!).filter((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded');
      if (running.length) return this.syncStatus(ctx, d, newRS, oldRSs, undefined);
    }
    let created: string | undefined;
    if (!newRS) {
      const r = await this.createNewRS(ctx, d, oldRSs, d.spec.replicas ?? 1);
      newRS = r.rs;
      if (r.created) created = newRS.metadata.name;
    } else {
      newRS = await this.syncRevision(ctx, d, newRS, oldRSs);
      if (specReplicas(newRS) !== (d.spec.replicas ?? 1)) newRS = await this.scaleRS(ctx, d, newRS, d.spec.replicas ?? 1);
    }
    if (deploymentComplete(d, this.calculateStatus(d, newRS, oldRSs))) await this.cleanup(ctx, d, oldRSs);
    return this.syncStatus(ctx, d, newRS, oldRSs, created);
  }

  /**
   * Scales for a replicas change (sync.go scale): one active ReplicaSet takes the whole count;
   * several share the change in proportion to their sizes, the remainder going to the largest.
   */
  private async scale(ctx: ReconcileContext, d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const want = d.spec.replicas ?? 1;
    const all = [newRS, ...oldRSs].filter((rs): rs is ReplicaSet => !!rs);
    const active = all.filter((rs) => specReplicas(rs) > 0);
    if (active.length <= 1) {
      const target = active[0] ?? newRS ?? [...all].sort(byAge).at(-1);
      if (target && (specReplicas(target) !== want || target.metadata.annotations?.[DESIRED_REPLICAS] !== String(want))) await this.scaleRS(ctx, d, target, want);
      return;
    }
    if (newRS && specReplicas(newRS) === want && (newRS.status?.availableReplicas ?? 0) === want) {
      for (const rs of oldRSs) if (specReplicas(rs) > 0) await this.scaleRS(ctx, d, rs, 0);
      return;
    }
    const allowed = want > 0 ? want + (d.spec.strategy?.type === 'Recreate' ? 0 : fenceposts(d).maxSurge) : 0;
    const total = active.reduce((n, rs) => n + specReplicas(rs), 0);
    const delta = allowed - total;
    const sized = [...active].sort((a, b) => specReplicas(b) - specReplicas(a) || (delta > 0 ? createdAt(b) - createdAt(a) : createdAt(a) - createdAt(b)));
    const targets = new Map<string, number>();
    let added = 0;
    for (const rs of sized) {
      const share = total > 0 ? Math.trunc((specReplicas(rs) * delta) / total) : 0;
      targets.set(rs.metadata.uid!, specReplicas(rs) + share);
      added += share;
    }
    const first = sized[0]!;
    targets.set(first.metadata.uid!, Math.max(0, targets.get(first.metadata.uid!)! + (delta - added)));
    for (const rs of sized) {
      const t = Math.max(0, targets.get(rs.metadata.uid!)!);
      if (t !== specReplicas(rs) || rs.metadata.annotations?.[DESIRED_REPLICAS] !== String(want)) await this.scaleRS(ctx, d, rs, t);
    }
  }

  private async createNewRS(ctx: ReconcileContext, d: Deployment, oldRSs: ReplicaSet[], replicas: number): Promise<{ rs: ReplicaSet; created: boolean }> {
    const collisions = d.status?.collisionCount ?? 0;
    const hash = templateHash(d.spec.template, collisions);
    const template = clone(d.spec.template);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [TEMPLATE_HASH]: hash } };
    const revision = Math.max(0, ...oldRSs.map(revisionOf)) + 1;
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!SKIPPED_ANNOTATIONS.has(k)) annotations[k] = v;
    annotations[REVISION] = String(revision);
    annotations[DESIRED_REPLICAS] = String(d.spec.replicas ?? 1);
    annotations[MAX_REPLICAS] = String((d.spec.replicas ?? 1) + (d.spec.strategy?.type === 'Recreate' ? 0 : fenceposts(d).maxSurge));
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace!,
        labels: { ...(d.spec.template.metadata?.labels ?? {}), [TEMPLATE_HASH]: hash },
        annotations,
        ownerReferences: [ownerRef(d)],
      },
      spec: {
        replicas,
        ...(d.spec.minReadySeconds ? { minReadySeconds: d.spec.minReadySeconds } : {}),
        selector: { ...clone(d.spec.selector), matchLabels: { ...(d.spec.selector.matchLabels ?? {}), [TEMPLATE_HASH]: hash } },
        template,
      },
    };
    try {
      const created = await ctx.client.create(rs);
      this.written.set(created.metadata.uid!, Number(created.metadata.resourceVersion));
      if (replicas > 0) ctx.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`);
      return { rs: created, created: true };
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const existing = await ctx.client.get<ReplicaSet>(Kinds.ReplicaSet, rs.metadata.name!, rs.metadata.namespace);
      const mine = controllerRef(existing)?.uid === d.metadata.uid;
      if (mine && equalIgnoreHash(existing.spec.template, d.spec.template)) return { rs: existing, created: false };
      // A hash collision: count it so the next name differs (DeploymentStatus.collisionCount).
      await ctx.client.updateStatus({ ...d, status: { ...(d.status ?? {}), collisionCount: collisions + 1 } } as KubeObject);
      throw new StatusError(409, 'Conflict', `hash collision for ReplicaSet ${rs.metadata.name}; retrying with collisionCount ${collisions + 1}`);
    }
  }

  /**
   * Keeps the new ReplicaSet in step with its Deployment (deploymentutil.SetNewReplicaSetAnnotations
   * and getNewReplicaSet): the Deployment's own annotations copied on (so `kubectl rollout history`
   * shows `kubernetes.io/change-cause` and `kubectl rollout undo` can copy them back), the highest
   * revision (a rollback makes an old template new again; its former revisions are kept in
   * `deployment.kubernetes.io/revision-history`), and `minReadySeconds`.
   */
  private async syncRevision(ctx: ReconcileContext, d: Deployment, newRS: ReplicaSet, oldRSs: ReplicaSet[]): Promise<ReplicaSet> {
    const next = clone(newRS);
    const annotations = (next.metadata.annotations ??= {});
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!SKIPPED_ANNOTATIONS.has(k) && annotations[k] !== v) annotations[k] = v;
    const maxOld = Math.max(0, ...oldRSs.map(revisionOf));
    const current = revisionOf(newRS);
    if (current <= maxOld) {
      annotations[REVISION] = String(maxOld + 1);
      if (newRS.metadata.annotations?.[REVISION] !== undefined) {
        const history = annotations[REVISION_HISTORY];
        annotations[REVISION_HISTORY] = history ? `${history},${current}` : String(current);
      }
    }
    if ((d.spec.minReadySeconds ?? 0) !== (next.spec.minReadySeconds ?? 0)) {
      if (d.spec.minReadySeconds) next.spec.minReadySeconds = d.spec.minReadySeconds;
      else delete next.spec.minReadySeconds;
    }
    if (deepEqual(next, newRS)) return newRS;
    return this.write(ctx, next);
  }

  private async scaleRS(ctx: ReconcileContext, d: Deployment, rs: ReplicaSet, replicas: number): Promise<ReplicaSet> {
    const want = d.spec.replicas ?? 1;
    const maxReplicas = want + (d.spec.strategy?.type === 'Recreate' ? 0 : fenceposts(d).maxSurge);
    const from = specReplicas(rs);
    const next = clone(rs);
    next.spec.replicas = replicas;
    next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [DESIRED_REPLICAS]: String(want), [MAX_REPLICAS]: String(maxReplicas) };
    if (deepEqual(next, rs)) return rs;
    const out = await this.write(ctx, next);
    if (from !== replicas) {
      ctx.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${replicas > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${replicas}`);
    }
    return out;
  }

  private async write(ctx: ReconcileContext, rs: ReplicaSet): Promise<ReplicaSet> {
    const out = await ctx.client.update(rs);
    this.written.set(out.metadata.uid!, Number(out.metadata.resourceVersion));
    return out;
  }

  /** Deletes old, empty ReplicaSets beyond `revisionHistoryLimit`, oldest revision first. */
  private async cleanup(ctx: ReconcileContext, d: Deployment, oldRSs: ReplicaSet[]): Promise<void> {
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const empty = oldRSs.filter((rs) => specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0).sort((a, b) => revisionOf(a) - revisionOf(b) || byAge(a, b));
    for (const rs of empty.slice(0, Math.max(0, empty.length - limit))) {
      try {
        await ctx.client.delete(Kinds.ReplicaSet, rs.metadata.name!, rs.metadata.namespace, { preconditions: { uid: rs.metadata.uid! } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  private calculateStatus(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): NonNullable<Deployment['status']> {
    const all = [newRS, ...oldRSs].filter((rs): rs is ReplicaSet => !!rs);
    const sum = (f: (rs: ReplicaSet) => number | undefined): number => all.reduce((n, rs) => n + (f(rs) ?? 0), 0);
    const replicas = sum((rs) => rs.status?.replicas);
    const available = sum((rs) => rs.status?.availableReplicas);
    return {
      ...(d.status ?? {}),
      observedGeneration: d.metadata.generation ?? 1,
      replicas,
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, (d.spec.replicas ?? 1) - available),
    };
  }

  /** Writes status with the Available and Progressing conditions; requeues for the progress deadline. */
  private async syncStatus(ctx: ReconcileContext, d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[], createdRS: string | undefined): Promise<Result | void> {
    const now = ctx.clock.now();
    const nowText = rfc3339(now);
    const status = this.calculateStatus(d, newRS, oldRSs);
    const conditions: Condition[] = clone(d.status?.conditions ?? []);
    const set = (c: Condition): void => {
      const i = conditions.findIndex((x) => x.type === c.type);
      const cur = i >= 0 ? conditions[i] : undefined;
      const same = cur && cur.status === c.status && cur.reason === c.reason && cur.message === c.message;
      const next: Condition = {
        ...c,
        lastUpdateTime: same ? (cur!.lastUpdateTime ?? nowText) : nowText,
        lastTransitionTime: cur && cur.status === c.status ? (cur.lastTransitionTime ?? nowText) : nowText,
      };
      if (i >= 0) conditions[i] = next;
      else conditions.push(next);
    };
    const want = d.spec.replicas ?? 1;
    const minAvailable = want - maxUnavailableOf(d);
    if ((status.availableReplicas ?? 0) >= minAvailable) set({ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' });
    else set({ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' });

    let requeue: number | undefined;
    const deadline = d.spec.progressDeadlineSeconds;
    const rsName = newRS?.metadata.name ?? '';
    const progressing = getCondition(conditions, 'Progressing');
    if (d.spec.paused) {
      set({ type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' });
    } else if (progressing?.reason === 'DeploymentPaused') {
      set({ type: 'Progressing', status: 'Unknown', reason: 'DeploymentResumed', message: 'Deployment is resumed' });
    } else if (createdRS) {
      set({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${createdRS}"` });
    } else if (newRS && deploymentComplete(d, status)) {
      set({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` });
    } else if (newRS) {
      const old = d.status ?? {};
      const moved =
        (status.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
        (status.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
        (status.availableReplicas ?? 0) > (old.availableReplicas ?? 0) ||
        (status.replicas ?? 0) < (old.replicas ?? 0) ||
        !progressing;
      if (moved) {
        set({ type: 'Progressing', status: 'True', reason: progressing ? 'ReplicaSetUpdated' : 'FoundNewReplicaSet', message: progressing ? `ReplicaSet "${rsName}" is progressing.` : `Found new replica set "${rsName}"` });
      } else if (deadline !== undefined && progressing?.status === 'True') {
        const since = parseTime(progressing.lastUpdateTime ?? progressing.lastTransitionTime);
        const due = since + deadline * 1000;
        if (now >= due) set({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` });
        else requeue = due - now + 1;
      }
    }
    const next: Deployment['status'] = { ...status, conditions: sortConditions(conditions) };
    const annotations = newRS ? { ...(d.metadata.annotations ?? {}), [REVISION]: newRS.metadata.annotations?.[REVISION] ?? '1' } : d.metadata.annotations;
    if (annotations && !deepEqual(annotations, d.metadata.annotations)) {
      await ctx.client.patch(Kinds.Deployment, d.metadata.name!, d.metadata.namespace, 'merge', { metadata: { annotations: { [REVISION]: annotations[REVISION] } } });
    }
    if (!deepEqual(next, d.status)) {
      try {
        await ctx.client.modify<Deployment>(Kinds.Deployment, d.metadata.name!, d.metadata.namespace, (cur) => ({ ...cur, status: next }), { status: true });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return requeue !== undefined ? { requeueAfter: requeue } : undefined;
  }
}

function sortConditions(cs: Condition[]): Condition[] {
  const order = ['Available', 'Progressing', 'ReplicaFailure'];
  return [...cs].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}
