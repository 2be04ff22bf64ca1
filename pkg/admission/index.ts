/**
 * Admission plugins that read the cluster's policy objects: ResourceQuota, LimitRanger,
 * ServiceAccount and PodSecurity (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/). Installed on
 * an API server with `installAdmission(api)`: LimitRanger's defaults are applied in the mutating
 * phase and its min/max checks and the quota in the validating phase, so quota sees the
 * resources a pod will really have.
 */
import type { ApiServer } from '../apiserver/index.js';
import { defaultLimitRange, LimitRangerAdmission, validateLimitRange } from './limitranger.js';
import { ResourceQuotaAdmission } from './quota.js';
import { PodSecurityAdmission } from './podsecurity.js';
import { ServiceAccountAdmission } from './serviceaccount.js';

export { LimitRangerAdmission, defaultLimitRange, validateLimitRange, violations, LIMIT_RANGER_ANNOTATION } from './limitranger.js';
export { ResourceQuotaAdmission, namespaceUsage, quotaSelects } from './quota.js';
export { ServiceAccountAdmission } from './serviceaccount.js';
export { PodSecurityAdmission, podSecurityViolations, formatViolations, enforcedPolicy, modePolicy, workloadPodSpec, PSS_ENFORCE_LABEL, PSS_ENFORCE_VERSION_LABEL, PSS_AUDIT_VIOLATIONS_ANNOTATION, PSS_ENFORCE_POLICY_ANNOTATION, type PssLevel, type PssMode, type PssViolation } from './podsecurity.js';
export { usageOf, podAmounts, amountOf, formatQuota, contributes, missingContainerResources, countName, type Usage } from './usage.js';

/** Adds LimitRange defaulting and validation, and the LimitRanger, ServiceAccount, PodSecurity and ResourceQuota plugins (quota last: it counts only what the others let through). */
export function installAdmission(api: ApiServer): void {
  api.store.setHooks('', 'LimitRange', { default: defaultLimitRange, validate: validateLimitRange });
  api.store.addAdmission(new LimitRangerAdmission(api.store));
  api.store.addAdmission(new ServiceAccountAdmission(api.store));
  api.store.addAdmission(new PodSecurityAdmission(api.store));
  api.store.addAdmission(new ResourceQuotaAdmission(api.store));
}
