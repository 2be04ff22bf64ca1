/**
 * The namespace controller (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/):
 * a deleted namespace stays `Terminating` while everything in it is deleted; once it is empty its
 * `kubernetes` finalizer is removed and the namespace goes.
 */
import { isNotFound, StatusError } from '../../api/errors.js';
import { groupVersion } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import type { Controller, Manager, ReconcileContext, Reconciler, Result } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';

/** How often to look again while content remains (ms of cluster time). */
const RECHECK_MS = 1000;

export class NamespaceController implements Reconciler {
  static install(mgr: Manager): Controller {
    return controllerFor(mgr, Kinds.Namespace).named('namespace').complete(new NamespaceController());
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const ns = await ctx.client.tryGet(Kinds.Namespace, key);
    if (!ns || !ns.metadata.deletionTimestamp) return;
    let remaining = 0;
    const resources = (await ctx.client.resources()).all().filter((r) => r.namespaced && r.verbs.includes('delete') && r.verbs.includes('list'));
    const seen = new Set<string>();
    for (const r of resources) {
      const id = `${r.group}/${r.resource}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const ref = { apiVersion: groupVersion(r), kind: r.kind };
      const items = (await ctx.client.list(ref, { namespace: key })).items;
      for (const o of items) {
        remaining++;
        if (o.metadata.deletionTimestamp) continue;
        try {
          await ctx.client.delete(ref, o.metadata.name!, key, { propagationPolicy: 'Background' });
        } catch (e) {
          if (!(e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
        }
      }
    }
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
