/**
 * The built-in workload controllers, all written with the public runtime (the same API users
 * extend berth with).
 */
import type { Manager } from '../runtime/manager.js';
import { DeploymentController } from './deployment/deployment.js';
import { GarbageCollector } from './garbagecollector/garbagecollector.js';
import { NamespaceController } from './namespace/namespace.js';
import { PodGCController } from './podgc/podgc.js';
import { ServiceAccountController } from './serviceaccount/serviceaccount.js';
import { EventTtlController } from './eventttl/eventttl.js';
import { ReplicaSetController } from './replicaset/replicaset.js';
import { JobController } from './job/job.js';
import { TTLAfterFinishedController } from './job/ttl.js';
import { StatefulSetController } from './statefulset/statefulset.js';
import { DaemonSetController } from './daemonset/daemonset.js';
import { CronJobController } from './cronjob/cronjob.js';
import { NodeLifecycleController, type NodeLifecycleOptions } from './nodelifecycle/nodelifecycle.js';
import { DisruptionController } from './disruption/disruption.js';
import { ResourceQuotaController } from './resourcequota/resourcequota.js';
import { TaintEvictionController } from './nodelifecycle/tainteviction.js';

import { NodeIpamController } from './nodeipam/nodeipam.js';
export { DeploymentController, templateHash, fenceposts, resolveIntOrPercent, deploymentComplete, REVISION } from './deployment/deployment.js';
export { ReplicaSetController, podsToDelete } from './replicaset/replicaset.js';
export { GarbageCollector } from './garbagecollector/garbagecollector.js';
export { NamespaceController } from './namespace/namespace.js';
export { PodGCController } from './podgc/podgc.js';
export { ServiceAccountController } from './serviceaccount/serviceaccount.js';
export { EventTtlController, lastOccurrence } from './eventttl/eventttl.js';
export { Expectations } from './expectations.js';
export { JobController, jobFinished, parseIndexes, formatIndexes, matchPodFailurePolicy, podBackoffMs, JOB_TRACKING_FINALIZER, COMPLETION_INDEX } from './job/job.js';
export { TTLAfterFinishedController } from './job/ttl.js';
export { StatefulSetController, ordinalOf, claimName } from './statefulset/statefulset.js';
export { CONTROLLER_REVISION_HASH } from './history.js';
export { DaemonSetController, daemonTolerations, shouldRun } from './daemonset/daemonset.js';
export { CronJobController, jobNameFor, SCHEDULED_TIMESTAMP } from './cronjob/cronjob.js';
export { NodeLifecycleController, lastHeartbeat, readinessTaints, NODE_MONITOR_GRACE_SECONDS, type NodeLifecycleOptions } from './nodelifecycle/nodelifecycle.js';
export { TaintEvictionController, evictionTime } from './nodelifecycle/tainteviction.js';
export { DisruptionController, DISRUPTED_POD_TIMEOUT_MS } from './disruption/disruption.js';
export { ResourceQuotaController, QUOTA_RESYNC_MS } from './resourcequota/resourcequota.js';
export type * from './types.js';

/** The controllers every cluster runs, in registration order (as data: a name and its installer). */
/** Options of the built-in controllers that take any, by controller name (`berth simulate` stretches the node-monitor grace period). */
export interface BuiltinControllerOptions {
  nodelifecycle?: NodeLifecycleOptions;
}

export const BUILTIN_CONTROLLERS: { name: string; install: (mgr: Manager, opts: BuiltinControllerOptions) => unknown }[] = [
  { name: 'deployment', install: (m) => DeploymentController.install(m) },
  { name: 'replicaset', install: (m) => ReplicaSetController.install(m) },
  { name: 'garbagecollector', install: (m) => GarbageCollector.install(m) },
  { name: 'namespace', install: (m) => NamespaceController.install(m) },
  { name: 'podgc', install: (m) => PodGCController.install(m) },
  { name: 'statefulset', install: (m) => StatefulSetController.install(m) },
  { name: 'daemonset', install: (m) => DaemonSetController.install(m) },
  { name: 'job', install: (m) => JobController.install(m) },
  { name: 'cronjob', install: (m) => CronJobController.install(m) },
  { name: 'resourcequota', install: (m) => ResourceQuotaController.install(m) },
  { name: 'disruption', install: (m) => DisruptionController.install(m) },
  { name: 'nodelifecycle', install: (m, o) => NodeLifecycleController.install(m, o.nodelifecycle) },
  { name: 'tainteviction', install: (m) => TaintEvictionController.install(m) },
  { name: 'ttlafterfinished', install: (m) => TTLAfterFinishedController.install(m) },
  { name: 'serviceaccount', install: (m) => ServiceAccountController.install(m) },
  { name: 'eventttl', install: (m) => EventTtlController.install(m) },
  { name: 'nodeipam', install: (m) => NodeIpamController.install(m) },
];

/** Installs the built-in controllers (all, or those named in `only`), with their options. */
export function installControllers(mgr: Manager, only?: string[], opts: BuiltinControllerOptions = {}): void {
  for (const c of BUILTIN_CONTROLLERS) if (!only || only.includes(c.name)) c.install(mgr, opts);
}
