/**
 * The scheduler: kube-scheduler's framework shape (queue → cluster state → Filter → Score →
 * Reserve → Bind, plus preemption) with berth's bin-packing default and batch placement. Wire it
 * with `mgr.add(new Scheduler(mgr))`, or install it with `installScheduler` (which also adds the
 * Priority admission plugin and the built-in PriorityClasses).
 */
export { Scheduler } from './scheduler.js';
export type { SchedulerOptions, SchedulingAttempt, SchedulerStats } from './types.js';
export { installScheduler, installPriority } from './install.js';
export { priorityAdmission, SYSTEM_PRIORITY_CLASSES, HIGHEST_USER_DEFINABLE_PRIORITY } from './priority.js';

export type { FilterPlugin, ScorePlugin, Plugin, PluginFactory, Profile, Registry, ScoreSpec, NodeFilter, NodeScorer, ResourceRequest } from './framework/types.js';
export { MAX_NODE_SCORE } from './framework/types.js';
export { Status, type Code } from './framework/status.js';
export { ClusterState, Session, type NodeClass, type Topology } from './framework/cluster.js';
export { PodClass, PodClassTable, HOSTNAME_LABEL, type AffinityTerm, type HostPort } from './framework/pod-class.js';
export { Framework, CompiledPod, SchedulerConfigError } from './framework/framework.js';
export { schedulePod, scheduleCompiled, scoreNodes, fitErrorMessage, NO_NODES_AVAILABLE, type ScheduleResult, type ScheduleOptions, type NodeRejection, type ScoreTable } from './framework/cycle.js';
export { placeBatch, packingOrder, preferenceOrder, maxFit, laterGroups, leastResidue, type BatchItem, type BatchSink, type BatchOutcome, type LaterGroups } from './framework/batch.js';
export { CapacityIndex, type SearchMemo } from './framework/capacity-index.js';
export { podRequests, nonZeroRequests, type ResourceAmounts } from './framework/resources.js';
export { toleratesTaint, tolerationsTolerateTaint, effectiveTaints, NOT_READY_TAINT, UNSCHEDULABLE_TAINT } from './framework/taints.js';
export { defaultNormalizeScore } from './framework/normalize.js';
export { SchedulerCache } from './cache/cache.js';
export { findPreemption, splitByBudgetViolation, type PreemptionOutcome, type DisruptionBudget } from './preemption.js';
export { EXPLAIN_ANNOTATION, explanationOf, encodeExplanation, decodeExplanation, ExplanationError, type Explanation, type ExplainedNode } from './explain.js';

export { inTreeRegistry, defaultProfile, kubeSchedulerProfile, DEFAULT_SCHEDULER_NAME } from './plugins/registry.js';
export {
  mostRequestedScore,
  leastRequestedScore,
  mostAllocatedScore,
  leastAllocatedScore,
  balancedAllocationScore,
  requestedToCapacityRatioScore,
  brokenLinear,
  DEFAULT_SCORING_RESOURCES,
  type ResourceSpec,
  type UtilizationShapePoint,
} from './plugins/resource-allocation.js';
export { NodeResourcesFit, insufficientResources, type NodeResourcesFitArgs, type ScoringStrategyType } from './plugins/node-resources-fit.js';
export { NodeResourcesBalancedAllocation, type NodeResourcesBalancedAllocationArgs } from './plugins/node-resources-balanced-allocation.js';
export { NodeName } from './plugins/node-name.js';
export { NodeUnschedulable } from './plugins/node-unschedulable.js';
export { NodePorts } from './plugins/node-ports.js';
export { TaintToleration, findUntoleratedTaint } from './plugins/taint-toleration.js';
export { NodeAffinity, requiredNodeAffinity, compileNodeSelectorTerm, type NodeMatcher } from './plugins/node-affinity.js';
export { InterPodAffinity, type InterPodAffinityArgs } from './plugins/inter-pod-affinity.js';
export { PodTopologySpread, SYSTEM_DEFAULT_CONSTRAINTS, defaultSelector, type PodTopologySpreadArgs, type SelectingObject } from './plugins/pod-topology-spread.js';
export { ImageLocality, normalizedImageName, imageScore, type ContainerImage } from './plugins/image-locality.js';
export type { QueueOptions } from './queue/scheduling-queue.js';
