/**
 * The scheduler component's installer: the Priority admission plugin and PriorityClass hooks on
 * the API server, the system PriorityClasses, and the Scheduler on the manager.
 */
import type { ApiServer } from '../apiserver/index.js';
import type { Manager } from '../runtime/manager.js';
import { ensureSystemPriorityClasses, priorityAdmission, priorityClassHooks } from './priority.js';
import { Scheduler } from './scheduler.js';
import type { SchedulerOptions } from './types.js';

/** Adds pod priority to an API server: admission, PriorityClass validation, the system classes. */
export async function installPriority(api: ApiServer): Promise<void> {
  api.store.setHooks('scheduling.k8s.io', 'PriorityClass', priorityClassHooks);
  api.store.addAdmission(priorityAdmission(api.store));
  await ensureSystemPriorityClasses(api.store);
}

/** Installs priority (see installPriority) and a Scheduler on `mgr`; returns the scheduler. Throws as the Scheduler constructor does. */
export async function installScheduler(api: ApiServer, mgr: Manager, opts?: SchedulerOptions): Promise<Scheduler> {
  await installPriority(api);
  const scheduler = new Scheduler(mgr, opts);
  mgr.add(scheduler);
  return scheduler;
}
