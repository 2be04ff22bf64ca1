/**
 * The resource quota controller (pkg/controller/resourcequota;
 * https://kubernetes.io/docs/concepts/policy/resource-quotas/): keeps each ResourceQuota's
 * `status.hard` (a copy of `spec.hard`) and `status.used` (what the namespace uses of each of
 * those resources, counted as the admission plugin counts: `pkg/admission/usage.ts`), as
 * `kubectl describe quota` shows them. It recounts when the quota or a contributing object in its
 * namespace changes, and every 5 minutes (the controller's full resync period) for kinds it does
 * not watch (`count/<resource>.<group>` of any kind).
 */
import { StatusError } from '../../api/errors.js';
import { deepEqual } from '../../api/meta.js';
import type { KubeObject } from '../../api/types.js';
import { formatQuota, namespaceUsage } from '../../admission/index.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { KindRef } from '../../client/types.js';
import { groupVersion } from '../../api/resources.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';
import type { ResourceQuota } from '../types.js';

/** Full recount period (kube-controller-manager `--resource-quota-sync-period`, 5 m). */
export const QUOTA_RESYNC_MS = 5 * 60 * 1000;

/** Kinds whose changes trigger a recount of the quotas in their namespace. */
const WATCHED: KindRef[] = [Kinds.Pod, Kinds.Service, Kinds.PersistentVolumeClaim, Kinds.ConfigMap, Kinds.Secret, Kinds.Deployment, Kinds.ReplicaSet, Kinds.StatefulSet, Kinds.Job];

export class ResourceQuotaController implements Reconciler {
  private readonly quotas: Informer<ResourceQuota>;

  constructor(mgr: Manager) {
    this.quotas = mgr.informer<ResourceQuota>(Kinds.ResourceQuota);
  }

  static install(mgr: Manager): Controller {
    const r = new ResourceQuotaController(mgr);
    const inNamespace = (o: KubeObject): string[] =>
      r.quotas.cache
        .list()
        .filter((q) => q.metadata.namespace === o.metadata.namespace)
        .map((q) => `${q.metadata.namespace}/${q.metadata.name}`);
    let b = controllerFor(mgr, Kinds.ResourceQuota).named('resourcequota');
    for (const k of WATCHED) b = b.watches(k, inNamespace);
    return b.complete(r);
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const q = this.quotas.cache.get(key);
    if (!q || q.metadata.deletionTimestamp) return;
    const hard = q.spec?.hard ?? {};
    const resources = (await ctx.client.resources()).all();
    const { used } = await namespaceUsage(
      q,
      resources,
      async (r) => {
        const l = await ctx.client.list({ apiVersion: groupVersion(r), kind: r.kind }, { namespace: q.metadata.namespace! });
        return { items: l.items, resourceVersion: Number(l.metadata.resourceVersion) };
      },
      ctx.clock.now(),
    );
    const status: NonNullable<ResourceQuota['status']> = {
      hard: { ...hard },
      used: Object.fromEntries(Object.keys(hard).map((k) => [k, formatQuota(k, used.get(k) ?? 0)])),
    };
    if (!deepEqual(status, q.status)) {
      try {
        await ctx.client.updateStatus({ ...q, status } as KubeObject);
      } catch (e) {
        if (!(e instanceof StatusError && (e.reason === 'Conflict' || e.reason === 'NotFound'))) throw e;
        return { requeue: true };
      }
    }
    return { requeueAfter: QUOTA_RESYNC_MS };
  }
}
