/**
 * The EKS flavour: Fargate profiles and the fargate-scheduler (fargate-controller.ts), the
 * Fargate bill (`GET /billing/v1/fargate`, cost.ts), and eksctl ClusterConfig files (eksctl.ts).
 *
 * ```ts
 * const eks = installEks(api, mgr);   // before api.http(); the control plane's `eks` component
 * ```
 */
import type { ApiServer } from '../apiserver/index.js';
import { col, age } from '../apiserver/tables.js';
import type { Manager } from '../runtime/manager.js';
import { fargateCostRoute } from './cost.js';
import { CLUSTER_CONFIG_RESOURCE, ClusterConfigController, validateClusterConfig } from './eksctl.js';
import { NODEGROUP_RESOURCE, NodegroupController, scalingOf, validateNodegroup, type Nodegroup } from './nodegroup.js';
import { regionZones } from '../cloud/network.js';
import { fargateAdmission, FargateScheduler } from './fargate-controller.js';
import { EKS_GROUP, EKS_RESOURCES, validateFargateProfile, type FargateProfile, type FargateUsage } from './types.js';

export * from './types.js';
export * from './cost.js';
export * from './eksctl.js';
export * from './nodegroup.js';
export { fargateAdmission, FargateScheduler, fargateNode, fargateNodeName } from './fargate-controller.js';

/**
 * Registers the EKS kinds (FargateProfile, FargateUsage, Nodegroup, eksctl's ClusterConfig), their
 * validation and tables, the Fargate admission step, the `/billing/v1/fargate` route, the
 * fargate-scheduler, the ClusterConfig controller and the Nodegroup controller (nodegroup.ts). The AutoScalingGroup kind must already be
 * registered (the cloud component's, installed before this one): the ClusterConfig controller
 * watches it, and the manager would otherwise never sync.
 */
export function installEks(api: ApiServer, mgr: Manager): { scheduler: FargateScheduler } {
  for (const r of [...EKS_RESOURCES, CLUSTER_CONFIG_RESOURCE, NODEGROUP_RESOURCE]) if (!api.registry.get(r.group, r.version, r.resource)) api.registry.add(r);
  api.store.setHooks(CLUSTER_CONFIG_RESOURCE.group, 'ClusterConfig', { validate: validateClusterConfig });
  api.store.setHooks(EKS_GROUP, 'FargateProfile', { validate: validateFargateProfile });
  api.store.setHooks(EKS_GROUP, 'Nodegroup', { validate: validateNodegroup });
  api.tables.set(EKS_GROUP, 'Nodegroup', {
    columns: [col('Status'), col('Instance Types'), col('Capacity Type'), col('Min'), col('Desired'), col('Max'), col('Ready'), col('Age')],
    cells: (o, now) => {
      const ng = o as Nodegroup;
      const z = scalingOf(ng);
      return [ng.status?.status ?? 'CREATING', (ng.spec?.instanceTypes ?? ['t3.medium']).join(','), ng.spec?.capacityType ?? 'ON_DEMAND', z.minSize, ng.status?.desiredSize ?? z.desiredSize, z.maxSize, ng.status?.readyNodes ?? 0, age(o, now)];
    },
  });
  api.tables.set(EKS_GROUP, 'FargateProfile', {
    columns: [col('Selectors', 'namespace[:labels] of each selector'), col('Age')],
    cells: (o, now) => [
      ((o as FargateProfile).spec?.selectors ?? []).map((s) => s.namespace + (s.labels && Object.keys(s.labels).length ? `:${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join('+')}` : '')).join(','),
      age(o, now),
    ],
  });
  api.tables.set(EKS_GROUP, 'FargateUsage', {
    columns: [col('Pod'), col('Size'), col('Start'), col('End')],
    cells: (o) => {
      const u = o as FargateUsage;
      return [`${u.spec.namespace}/${u.spec.pod}`, `${u.spec.vcpu}vCPU ${u.spec.memoryGB}GB`, u.spec.start, u.spec.end ?? '<running>'];
    },
  });
  api.store.addAdmission(fargateAdmission(api.store));
  api.routes.push(fargateCostRoute(mgr.client, mgr.clock));
  const scheduler = new FargateScheduler(mgr);
  FargateScheduler.installWith(mgr, scheduler);
  ClusterConfigController.installWith(mgr);
  NodegroupController.installWith(mgr, regionZones());
  return { scheduler };
}
