/**
 * The scheduler: kube-scheduler's framework shape (queue → snapshot → Filter → Score → assume →
 * bind) with berth's bin-packing default. Wire it with `mgr.add(new Scheduler(mgr))`.
 */
export { Scheduler } from './scheduler.js';
export type { SchedulerOptions, SchedulingAttempt } from './types.js';

export type { FilterPlugin, ScorePlugin, Plugin, PluginFactory, Profile, Registry, ScoreSpec } from './framework/types.js';
export { MAX_NODE_SCORE } from './framework/types.js';
export { Status, type Code } from './framework/status.js';
export { CycleState } from './framework/cycle-state.js';
export { NodeInfo, newPodInfo, type PodInfo } from './framework/node-info.js';
export { Framework, SchedulerConfigError } from './framework/framework.js';
export { schedulePod, fitErrorMessage, NO_NODES_AVAILABLE, type ScheduleResult, type NodeRejection, type ScoreTable } from './framework/cycle.js';
export { podRequests, type ResourceAmounts } from './framework/resources.js';
export { toleratesTaint, tolerationsTolerateTaint, effectiveTaints, NOT_READY_TAINT, UNSCHEDULABLE_TAINT } from './framework/taints.js';
export { defaultNormalizeScore } from './framework/normalize.js';

export { inTreeRegistry, defaultProfile, DEFAULT_SCHEDULER_NAME } from './plugins/registry.js';
export {
  mostRequestedScore,
  leastRequestedScore,
  mostAllocatedScore,
  leastAllocatedScore,
  balancedAllocationScore,
  DEFAULT_SCORING_RESOURCES,
  type ResourceSpec,
} from './plugins/resource-allocation.js';
export { NodeResourcesFit, insufficientResources, type NodeResourcesFitArgs, type ScoringStrategyType } from './plugins/node-resources-fit.js';
export { NodeResourcesBalancedAllocation, type NodeResourcesBalancedAllocationArgs } from './plugins/node-resources-balanced-allocation.js';
export { NodeName } from './plugins/node-name.js';
export { NodeUnschedulable } from './plugins/node-unschedulable.js';
export { TaintToleration, findUntoleratedTaint } from './plugins/taint-toleration.js';
export { NodeAffinity, requiredNodeAffinity, compileNodeSelectorTerm, type NodeMatcher } from './plugins/node-affinity.js';
export type { QueueOptions } from './queue/scheduling-queue.js';
