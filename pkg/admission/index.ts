/**
 * Admission plugins that read the cluster's policy objects: ResourceQuota and LimitRanger
 * (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/). Installed on
 * an API server with `installAdmission(api)`: LimitRanger's defaults are applied in the mutating
 * phase and its min/max checks and the quota in the validating phase, so quota sees the
 * resources a pod will really have.
 */
import type { ApiServer } from '../apiserver/index.js';
import { defaultLimitRange, LimitRangerAdmission, validateLimitRange } from './limitranger.js';
import { ResourceQuotaAdmission } from './quota.js';

export { LimitRangerAdmission, defaultLimitRange, validateLimitRange, violations, LIMIT_RANGER_ANNOTATION } from './limitranger.js';
export { ResourceQuotaAdmission, namespaceUsage, quotaSelects } from './quota.js';
export { usageOf, podAmounts, amountOf, formatQuota, contributes, missingContainerResources, countName, type Usage } from './usage.js';

/** Adds LimitRange defaulting and validation, and the LimitRanger and ResourceQuota plugins. */
export function installAdmission(api: ApiServer): void {
  api.store.setHooks('', 'LimitRange', { default: defaultLimitRange, validate: validateLimitRange });
  api.store.addAdmission(new LimitRangerAdmission(api.store));
  api.store.addAdmission(new ResourceQuotaAdmission(api.store));
}
