/**
 * The built-in workload controllers, all written with the public runtime (the same API users
 * extend berth with).
 */
import type { Manager } from '../runtime/manager.js';
import { DeploymentController } from './deployment/deployment.js';
import { GarbageCollector } from './garbagecollector/garbagecollector.js';
import { NamespaceController } from './namespace/namespace.js';
import { PodGCController } from './podgc/podgc.js';
import { ReplicaSetController } from './replicaset/replicaset.js';

export { DeploymentController, templateHash, fenceposts, resolveIntOrPercent, deploymentComplete, REVISION } from './deployment/deployment.js';
export { ReplicaSetController, podsToDelete } from './replicaset/replicaset.js';
export { GarbageCollector } from './garbagecollector/garbagecollector.js';
export { NamespaceController } from './namespace/namespace.js';
export { PodGCController } from './podgc/podgc.js';
export { Expectations } from './expectations.js';

/** The controllers every cluster runs, in registration order (as data: a name and its installer). */
export const BUILTIN_CONTROLLERS: { name: string; install: (mgr: Manager) => unknown }[] = [
  { name: 'deployment', install: (m) => DeploymentController.install(m) },
  { name: 'replicaset', install: (m) => ReplicaSetController.install(m) },
  { name: 'garbagecollector', install: (m) => GarbageCollector.install(m) },
  { name: 'namespace', install: (m) => NamespaceController.install(m) },
  { name: 'podgc', install: (m) => PodGCController.install(m) },
];

/** Installs the built-in controllers (all, or those named in `only`). */
export function installControllers(mgr: Manager, only?: string[]): void {
  for (const c of BUILTIN_CONTROLLERS) if (!only || only.includes(c.name)) c.install(mgr);
}
