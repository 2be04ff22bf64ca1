/**
 * The DaemonSet controller (pkg/controller/daemon;
 * https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/): one pod on every eligible
 * node. A node is eligible when it matches the template's `nodeSelector` and required node
 * affinity and its NoSchedule/NoExecute taints are tolerated (a pod already running there stays
 * unless a NoExecute taint is not tolerated). Pods are placed by the default scheduler, with the
 * node pinned through node affinity (`matchFields metadata.name`), and get the tolerations
 * Kubernetes adds to every daemon pod (`node.kubernetes.io/not-ready` and `unreachable` NoExecute
 * without a time limit; disk-, memory- and pid-pressure and unschedulable NoSchedule;
 * network-unavailable for host-network pods; see
 * https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/#taints-and-tolerations).
 *
 * Rolling update (`updateStrategy.rollingUpdate`): with `maxSurge` 0, old pods are deleted on at
 * most `maxUnavailable` nodes at a time (counting nodes whose daemon pod is already unavailable);
 * with `maxSurge` > 0 a new pod starts beside the old one on at most `maxSurge` nodes and the old
 * pod goes once the new one is available. `OnDelete` replaces a pod only when it is deleted.
 * Templates are kept as ControllerRevisions; pods carry `controller-revision-hash` and
 * `pod-template-generation`.
 */
import { isAlreadyExists, StatusError } from '../../api/errors.js';
import { selectorFromLabelSelector } from '../../api/labels.js';
import { clone, controllerRef, deepEqual, ownerRef } from '../../api/meta.js';
import { isPodAvailable, isPodReady, msUntilAvailable } from '../../api/podutil.js';
import type { KubeObject, Node, Pod, PodSpec, Taint, Toleration } from '../../api/types.js';
import { parseTime } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';
import { requiredNodeAffinity, tolerationsTolerateTaint } from '../../scheduler/index.js';
import { resolveIntOrPercent } from '../deployment/deployment.js';
import { Expectations } from '../expectations.js';
import { CONTROLLER_REVISION_HASH, ensureRevision, ownedRevisions, revisionHash, truncateHistory } from '../history.js';
import type { ControllerRevision, DaemonSet } from '../types.js';

export const TEMPLATE_GENERATION = 'pod-template-generation';

/** The tolerations every daemon pod gets (pkg/controller/daemon/util AddOrUpdateDaemonPodTolerations). */
export function daemonTolerations(spec: PodSpec): Toleration[] {
  const out: Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (spec.hostNetwork) out.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  return out;
}

/** The template's pod spec with the daemon tolerations added (replacing any with the same key and effect). */
export function withDaemonTolerations(spec: PodSpec): PodSpec {
  const s = clone(spec);
  const added = daemonTolerations(s);
  s.tolerations = [...(s.tolerations ?? []).filter((t) => !added.some((a) => a.key === t.key && a.effect === t.effect)), ...added];
  return s;
}

/**
 * Whether a daemon pod should run on the node (`NodeShouldRunDaemonPod`): `run` if it matches the
 * node selector and affinity and tolerates every NoSchedule and NoExecute taint; `keep` if a pod
 * already there may stay (only NoSchedule taints are untolerated); `no` otherwise.
 */
export function shouldRun(ds: DaemonSet, node: Node): 'run' | 'keep' | 'no' {
  const spec = withDaemonTolerations(ds.spec.template.spec);
  const probe = { metadata: {}, spec } as Pod;
  const affinity = requiredNodeAffinity(probe);
  if (affinity && !affinity(node)) return 'no';
  const taints: Taint[] = node.spec?.taints ?? [];
  let untoleratedNoSchedule = false;
  for (const taint of taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (tolerationsTolerateTaint(spec.tolerations, taint)) continue;
    if (taint.effect === 'NoExecute') return 'no';
    untoleratedNoSchedule = true;
  }
  return untoleratedNoSchedule ? 'keep' : 'run';
}

/** Pins a pod to a node through required node affinity (ReplaceDaemonSetPodNodeNameNodeAffinity). */
function pinToNode(spec: PodSpec, nodeName: string): void {
  const affinity = (spec.affinity ??= {});
  const nodeAffinity = (affinity.nodeAffinity ??= {});
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }] };
}

/** The node a daemon pod is for: its binding, or the node its affinity pins it to. */
export function targetNode(pod: Pod): string | undefined {
  if (pod.spec.nodeName) return pod.spec.nodeName;
  for (const term of pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    const f = term.matchFields?.find((m) => m.key === 'metadata.name' && m.operator === 'In' && m.values?.length === 1);
    if (f) return f.values![0];
  }
  return undefined;
}

const createdAt = (p: Pod): number => parseTime(p.metadata.creationTimestamp) || 0;

export class DaemonSetController implements Reconciler {
  private readonly sets: Informer<DaemonSet>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly revisions: Informer<ControllerRevision>;
  readonly expectations: Expectations;

  constructor(mgr: Manager) {
    this.sets = mgr.informer<DaemonSet>(Kinds.DaemonSet);
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.revisions = mgr.informer<ControllerRevision>(Kinds.ControllerRevision);
    this.pods.cache.addIndex('controller', (p) => {
      const c = controllerRef(p);
      return c ? [c.uid] : [];
    });
    this.revisions.cache.addIndex('controller', (r) => {
      const c = controllerRef(r);
      return c ? [c.uid] : [];
    });
    this.expectations = new Expectations(mgr.clock);
  }

  static install(mgr: Manager): Controller {
    const r = new DaemonSetController(mgr);
    const c = controllerFor(mgr, Kinds.DaemonSet)
      .named('daemonset')
      .owns(Kinds.ControllerRevision)
      // Any node change may change where daemons run.
      .watches(Kinds.Node, () => r.sets.cache.keys())
      .concurrency(2)
      .complete(r);
    r.pods.on({
      add: (p) => r.podEvent(c, p, 'add'),
      update: (old, p) => r.podEvent(c, p, p.metadata.deletionTimestamp && !old.metadata.deletionTimestamp ? 'delete' : undefined),
      delete: (p) => r.podEvent(c, p, 'delete'),
    });
    return c;
  }

  private podEvent(c: Controller, p: Pod, what?: 'add' | 'delete'): void {
    const ref = controllerRef(p);
    if (ref?.kind !== 'DaemonSet') return;
    const key = `${p.metadata.namespace}/${ref.name}`;
    if (what === 'add') this.expectations.observedAdd(key);
    if (what === 'delete') this.expectations.observedDelete(key, p.metadata.uid!);
    c.enqueue(key);
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const ds = this.sets.cache.get(key);
    if (!ds) {
      this.expectations.forget(key);
      return;
    }
    if (ds.metadata.deletionTimestamp) return;
    const selector = selectorFromLabelSelector(ds.spec.selector);
    if (selector.empty) return;
    const now = ctx.clock.now();
    const minReady = ds.spec.minReadySeconds ?? 0;
    const revisions = ownedRevisions(this.revisions.cache.byIndex('controller', ds.metadata.uid!), ds);
    const updateRev = await ensureRevision(ctx, ds, ds.spec.template, revisions);
    const hash = revisionHash(updateRev);
    const generation = String(ds.metadata.generation ?? 1);
    const isUpdated = (p: Pod): boolean => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === hash;

    const pods = this.pods.cache.byIndex('controller', ds.metadata.uid!).filter((p) => selector.matches(p.metadata.labels));
    const byNode = new Map<string, Pod[]>();
    for (const p of pods) {
      const n = targetNode(p);
      if (!n) continue;
      const list = byNode.get(n) ?? [];
      list.push(p);
      byNode.set(n, list);
    }
    const nodes = this.nodes.cache.list();
    const toCreate: string[] = [];
    const toDelete: Pod[] = [];
    let desired = 0;
    let scheduled = 0;
    let misscheduled = 0;
    let ready = 0;
    let available = 0;
    let updated = 0;
    let requeue: number | undefined;
    const onEligible: { node: string; pods: Pod[] }[] = [];
    for (const node of nodes) {
      const name = node.metadata.name!;
      const verdict = shouldRun(ds, node);
      const all = byNode.get(name) ?? [];
      byNode.delete(name);
      const here = all.filter((p) => !p.metadata.deletionTimestamp);
      if (verdict !== 'run') {
        // Running where it should not (status numberMisscheduled); a NoExecute taint or a
        // selector change removes it, an untolerated NoSchedule taint lets it stay.
        if (here.length) misscheduled++;
        if (verdict === 'no') toDelete.push(...here);
        continue;
      }
      desired++;
      // Failed daemon pods are deleted and replaced.
      toDelete.push(...here.filter((p) => p.status?.phase === 'Failed'));
      const running = here.filter((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded');
      if (running.length === 0) {
        // A pod still terminating there is waited for (it may hold host ports).
        if (all.length === here.length) toCreate.push(name);
        continue;
      }
      scheduled++;
      onEligible.push({ node: name, pods: running });
      const newest = running.find(isUpdated) ?? running[0]!;
      if (isPodReady(newest)) ready++;
      if (isPodAvailable(newest, minReady, now)) available++;
      else if (isPodReady(newest)) requeue = Math.min(requeue ?? Infinity, msUntilAvailable(newest, minReady, now) + 1);
      if (running.some(isUpdated)) updated++;
      // More than one daemon pod on a node (outside a surge): keep the oldest updated one.
      if (running.length > 1 && !this.surging(ds)) {
        const keep = [...running].sort((a, b) => Number(isUpdated(b)) - Number(isUpdated(a)) || createdAt(a) - createdAt(b))[0]!;
        toDelete.push(...running.filter((p) => p !== keep));
      }
    }
    // Pods pinned to nodes that no longer exist.
    for (const rest of byNode.values()) toDelete.push(...rest.filter((p) => !p.metadata.deletionTimestamp));

    if (this.expectations.satisfied(key)) {
      const rolling = (ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' ? this.rollingUpdate(ds, onEligible, desired, isUpdated, now) : { create: [], remove: [] };
      await this.sync(ctx, ds, key, [...toCreate, ...rolling.create], [...toDelete, ...rolling.remove], updateRev, generation);
    }

    const status: NonNullable<DaemonSet['status']> = {
      ...(ds.status ?? {}),
      currentNumberScheduled: scheduled,
      numberMisscheduled: misscheduled,
      desiredNumberScheduled: desired,
      numberReady: ready,
      observedGeneration: ds.metadata.generation ?? 1,
      updatedNumberScheduled: updated,
      numberAvailable: available,
      numberUnavailable: Math.max(0, desired - available),
    };
    if (!status.numberAvailable) delete status.numberAvailable;
    if (!status.numberUnavailable) delete status.numberUnavailable;
    if (!deepEqual(status, ds.status)) {
      try {
        await ctx.client.updateStatus({ ...ds, status } as KubeObject);
      } catch (e) {
        if (!(e instanceof StatusError && (e.reason === 'Conflict' || e.reason === 'NotFound'))) throw e;
      }
    }
    const live = new Set([updateRev.metadata.name!]);
    for (const r of revisions) if (pods.some((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === revisionHash(r))) live.add(r.metadata.name!);
    await truncateHistory(ctx, revisions, live, ds.spec.revisionHistoryLimit ?? 10);
    return requeue !== undefined && Number.isFinite(requeue) ? { requeueAfter: requeue } : undefined;
  }

  private surging(ds: DaemonSet): boolean {
    const ru = ds.spec.updateStrategy?.rollingUpdate;
    return (ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && resolveIntOrPercent(ru?.maxSurge ?? 0, 1, true) > 0;
  }

  /**
   * One step of a rolling update (rolling_update.go rollingUpdate): which nodes get a new pod and
   * which old pods go, within maxUnavailable (rounded up from a percentage of the desired count)
   * or maxSurge.
   */
  private rollingUpdate(ds: DaemonSet, nodes: { node: string; pods: Pod[] }[], desired: number, isUpdated: (p: Pod) => boolean, now: number): { create: string[]; remove: Pod[] } {
    const ru = ds.spec.updateStrategy?.rollingUpdate ?? {};
    const minReady = ds.spec.minReadySeconds ?? 0;
    const maxSurge = resolveIntOrPercent(ru.maxSurge ?? 0, desired, true);
    let maxUnavailable = resolveIntOrPercent(ru.maxUnavailable ?? 1, desired, true);
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    const create: string[] = [];
    const remove: Pod[] = [];
    if (maxSurge === 0) {
      let unavailable = 0;
      const candidates: Pod[] = [];
      for (const { pods } of nodes) {
        const old = pods.filter((p) => !isUpdated(p));
        const newPod = pods.find(isUpdated);
        if (newPod && !isPodAvailable(newPod, minReady, now)) unavailable++;
        if (!newPod && old.length) {
          if (old.some((p) => !isPodAvailable(p, minReady, now))) {
            // An unavailable old pod may go at once (it costs no availability).
            remove.push(...old);
            unavailable++;
          } else candidates.push(old[0]!);
        }
      }
      // Nodes with no pod at all count as unavailable too.
      unavailable += Math.max(0, desired - nodes.length);
      for (const p of candidates.sort((a, b) => createdAt(a) - createdAt(b))) {
        if (unavailable >= maxUnavailable) break;
        remove.push(p);
        unavailable++;
      }
      return { create, remove };
    }
    let surging = 0;
    const waiting: string[] = [];
    for (const { node, pods } of nodes) {
      const old = pods.filter((p) => !isUpdated(p));
      const newPod = pods.find(isUpdated);
      if (!old.length) continue;
      if (newPod) {
        if (isPodAvailable(newPod, minReady, now)) remove.push(...old);
        else surging++;
      } else if (old.some((p) => !isPodAvailable(p, minReady, now))) {
        remove.push(...old);
      } else waiting.push(node);
    }
    for (const node of waiting) {
      if (surging >= maxSurge) break;
      create.push(node);
      surging++;
    }
    return { create, remove };
  }

  private async sync(ctx: ReconcileContext, ds: DaemonSet, key: string, create: string[], remove: Pod[], rev: ControllerRevision, generation: string): Promise<void> {
    const uniqueRemove = [...new Map(remove.map((p) => [p.metadata.uid!, p])).values()];
    this.expectations.expect(key, create.length, uniqueRemove.map((p) => p.metadata.uid!));
    let made = 0;
    try {
      for (const node of create) {
        const pod = this.podFor(ds, node, rev, generation);
        try {
          const out = await ctx.client.create(pod);
          ctx.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${out.metadata.name}`);
        } catch (e) {
          if (!isAlreadyExists(e)) {
            ctx.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
            throw e;
          }
        }
        made++;
      }
    } finally {
      this.expectations.lowerAdds(key, create.length - made);
    }
    for (const p of uniqueRemove) {
      try {
        await ctx.client.delete(Kinds.Pod, p.metadata.name!, p.metadata.namespace, { preconditions: { uid: p.metadata.uid! } });
        ctx.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
      } catch (e) {
        this.expectations.observedDelete(key, p.metadata.uid!);
        if (!(e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
      }
    }
  }

  /** The daemon pod for one node. */
  podFor(ds: DaemonSet, nodeName: string, rev: ControllerRevision, generation: string): Pod {
    const t = ds.spec.template;
    const spec = withDaemonTolerations(t.spec);
    pinToNode(spec, nodeName);
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${ds.metadata.name}-`,
        namespace: ds.metadata.namespace!,
        labels: { ...(t.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH]: revisionHash(rev), [TEMPLATE_GENERATION]: generation },
        ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        ownerReferences: [ownerRef(ds)],
      },
      spec,
    };
  }
}
