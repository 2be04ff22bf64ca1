/**
 * The service account controller (pkg/controller/serviceaccount): every namespace has a
 * ServiceAccount named `default`, which pods use unless they name another
 * (https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts).
 */
import { isAlreadyExists } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import type { Controller, Manager, ReconcileContext, Reconciler } from '../../runtime/manager.js';
import { controllerFor } from '../../runtime/manager.js';

const SERVICE_ACCOUNT = { apiVersion: 'v1', kind: 'ServiceAccount' };

export class ServiceAccountController implements Reconciler {
  private readonly namespaces: Informer;
  private readonly accounts: Informer;

  constructor(mgr: Manager) {
    this.namespaces = mgr.informer(Kinds.Namespace);
    this.accounts = mgr.informer(SERVICE_ACCOUNT, { fieldSelector: 'metadata.name=default' });
  }

  /** Reconciles per namespace; a deleted `default` account wakes its namespace. */
  static install(mgr: Manager): Controller {
    return controllerFor(mgr, Kinds.Namespace)
      .named('serviceaccount')
      .watches(SERVICE_ACCOUNT, (sa) => [sa.metadata.namespace!], { fieldSelector: 'metadata.name=default' })
      .complete(new ServiceAccountController(mgr));
  }

  async reconcile(ctx: ReconcileContext, namespace: string): Promise<void> {
    const ns = this.namespaces.cache.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp) return;
    if (this.accounts.cache.get(`${namespace}/default`)) return;
    const sa: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } };
    try {
      await ctx.client.create(sa);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
}
