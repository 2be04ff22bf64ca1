/**
 * The namespace controller (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/):
 * a deleted namespace stays `Terminating` while everything in it is deleted; once it is empty its
 * `kubernetes` finalizer is removed and the namespace goes.
 */
import { isNotFound, StatusError } from '../../api/errors.js';
import { groupVersion } from '../../api/resources.js';
import { setCondition } from '../../api/meta.js';
import type { Condition, KubeObject } from '../../api/types.js';
import { rfc3339 } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';

/** How often to look again while content remains (ms of cluster time). */
const RECHECK_MS = 1000;

export class NamespaceController implements Reconciler {
  static install(mgr: Manager): Controller {
    return controllerFor(mgr, Kinds.Namespace).named('namespace').complete(new NamespaceController());
  }

  /**
   * The deletion conditions `kubectl describe namespace` shows (namespaced_resources_deleter.go):
   * discovery and parsing succeeded, content deleted, and what content and finalizers remain.
   */
  private async setConditions(ctx: ReconcileContext, ns: KubeObject, counts: Map<string, number>, finalizers: Map<string, number>): Promise<void> {
    const now = rfc3339(ctx.clock.now());
    const cur = ((ns.status ?? {}) as { conditions?: Condition[] }).conditions ?? [];
    const list: Condition[] = JSON.parse(JSON.stringify(cur)) as Condition[];
    const set = (c: Condition): void => {
      setCondition(list, c, now);
    };
    set({ type: 'NamespaceDeletionDiscoveryFailure', status: 'False', reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' });
    set({ type: 'NamespaceDeletionGroupVersionParsingFailure', status: 'False', reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' });
    set({ type: 'NamespaceDeletionContentFailure', status: 'False', reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' });
    if (counts.size) {
      const what = [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([r, n]) => `${r} has ${n} resource instances`);
      set({ type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${what.join(', ')}` });
    } else set({ type: 'NamespaceContentRemaining', status: 'False', reason: 'ContentRemoved', message: 'All content successfully removed' });
    if (finalizers.size) {
      const what = [...finalizers.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([f, n]) => `${f} in ${n} resource instances`);
      set({ type: 'NamespaceFinalizersRemaining', status: 'True', reason: 'SomeFinalizersRemain', message: `Some content in the namespace has finalizers remaining: ${what.join(', ')}` });
    } else set({ type: 'NamespaceFinalizersRemaining', status: 'False', reason: 'ContentHasNoFinalizers', message: 'All content-preserving finalizers finished' });
    if (JSON.stringify(list) === JSON.stringify(cur)) return;
    try {
      await ctx.client.modify<KubeObject>(Kinds.Namespace, ns.metadata.name!, undefined, (x) => ({ ...x, status: { ...((x.status ?? {}) as object), conditions: list } }), { status: true });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const ns = await ctx.client.tryGet(Kinds.Namespace, key);
    if (!ns || !ns.metadata.deletionTimestamp) return;
    let remaining = 0;
    const counts = new Map<string, number>();
    const finalizers = new Map<string, number>();
    const resources = (await ctx.client.resources()).all().filter((r) => r.namespaced && r.verbs.includes('delete') && r.verbs.includes('list'));
    const seen = new Set<string>();
    for (const r of resources) {
      const id = `${r.group}/${r.resource}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const ref = { apiVersion: groupVersion(r), kind: r.kind };
      const items = (await ctx.client.list(ref, { namespace: key })).items;
      if (items.length) counts.set(r.group ? `${r.resource}.${r.group}` : r.resource, items.length);
      for (const o of items) {
        remaining++;
        for (const f of o.metadata.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
        if (o.metadata.deletionTimestamp) continue;
        try {
          await ctx.client.delete(ref, o.metadata.name!, key, { propagationPolicy: 'Background' });
        } catch (e) {
          if (!(e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
        }
      }
    }
    await this.setConditions(ctx, ns, counts, finalizers);
    if (remaining > 0) return { requeueAfter: RECHECK_MS };
    try {
      await ctx.client.modify<KubeObject>(Kinds.Namespace, key, undefined, (cur) => {
        const spec = (cur.spec ?? {}) as { finalizers?: string[] };
        if (!(spec.finalizers ?? []).includes('kubernetes')) return undefined;
        return { ...cur, spec: { ...spec, finalizers: spec.finalizers!.filter((f) => f !== 'kubernetes') } };
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
