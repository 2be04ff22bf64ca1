/**
 * ServiceAccount admission (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#serviceaccount):
 * a pod may only run as a ServiceAccount that exists in its namespace. A pod naming a missing one
 * is refused with 403 Forbidden, in kube-apiserver's words:
 * `pods "p" is forbidden: error looking up service account default/builder: serviceaccount "builder" not found`.
 *
 * Differences from Kubernetes: the `default` ServiceAccount is not looked up (Kubernetes retries
 * for it for about a second while the ServiceAccount controller creates it; berth's controller
 * creates it as the namespace appears, and a pod never waits on it), mirror pods are not
 * special (berth has no static pods), and no token volume is mounted (berth issues no tokens).
 */
import { forbidden, isNotFound } from '../api/errors.js';
import type { AdmissionPlugin, AdmissionRequest, ObjectStore } from '../apiserver/store.js';

export class ServiceAccountAdmission implements AdmissionPlugin {
  readonly name = 'ServiceAccount';

  constructor(private readonly store: ObjectStore) {}

  async validate(req: AdmissionRequest): Promise<void> {
    if (req.operation !== 'CREATE' || req.subresource || req.resource.group !== '' || req.resource.kind !== 'Pod' || !req.object || !req.namespace) return;
    const spec = (req.object.spec ?? {}) as { serviceAccountName?: string; serviceAccount?: string };
    const name = spec.serviceAccountName || spec.serviceAccount || 'default';
    if (name === 'default') return;
    try {
      await req.store.get(this.store.registry.get('', 'v1', 'serviceaccounts')!, req.namespace, name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      throw forbidden('pods', req.name, `error looking up service account ${req.namespace}/${name}: serviceaccount "${name}" not found`);
    }
  }
}
