/**
 * The in-tree plugins by name, and berth's default profile. Profiles are data: a profile lists
 * plugin names, and the registry turns names into instances (add out-of-tree plugins to a copy of
 * the registry and pass it in `SchedulerOptions.registry`).
 */
import { ECS_PLACEMENT_WEIGHT, EcsPlacement } from '../../ecs/placement/plugin.js';
import type { PluginFactory, Profile } from '../framework/types.js';
import { InterPodAffinity, type InterPodAffinityArgs } from './inter-pod-affinity.js';
import { NodeAffinity } from './node-affinity.js';
import { NodeName } from './node-name.js';
import { NodePorts } from './node-ports.js';
import { NodeResourcesBalancedAllocation, type NodeResourcesBalancedAllocationArgs } from './node-resources-balanced-allocation.js';
import { NodeResourcesFit, type NodeResourcesFitArgs } from './node-resources-fit.js';
import { NodeUnschedulable } from './node-unschedulable.js';
import { ImageLocality } from './image-locality.js';
import { PodTopologySpread, type PodTopologySpreadArgs } from './pod-topology-spread.js';
import { TaintToleration } from './taint-toleration.js';

/** The name of the default profile, and the `spec.schedulerName` the API server defaults pods to. */
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** A fresh map of the in-tree plugin factories. */
export function inTreeRegistry(): Map<string, PluginFactory> {
  return new Map<string, PluginFactory>([
    [NodeUnschedulable.name, () => new NodeUnschedulable()],
    [NodeName.name, () => new NodeName()],
    [TaintToleration.name, () => new TaintToleration()],
    [NodeAffinity.name, () => new NodeAffinity()],
    [NodePorts.name, () => new NodePorts()],
    [NodeResourcesFit.name, (args) => new NodeResourcesFit(args as NodeResourcesFitArgs | undefined)],
    [NodeResourcesBalancedAllocation.name, (args) => new NodeResourcesBalancedAllocation(args as NodeResourcesBalancedAllocationArgs | undefined)],
    [PodTopologySpread.name, (args) => new PodTopologySpread(args as PodTopologySpreadArgs | undefined)],
    [ImageLocality.name, () => new ImageLocality()],
    [InterPodAffinity.name, (args) => new InterPodAffinity(args as InterPodAffinityArgs | undefined)],
    [EcsPlacement.name, () => new EcsPlacement()],
  ]);
}

/**
 * berth's default profile: kube-scheduler's default filters in its order (cheap, node-level
 * checks first; a node stops at the first rejection, and that rejection is what the pod's message
 * counts) and its score weights (TaintToleration 3, NodeAffinity 2, PodTopologySpread 2,
 * InterPodAffinity 2, NodeResourcesFit 1; pkg/scheduler/apis/config/v1/default_plugins.go), with
 * two differences: NodeResourcesFit scores MostAllocated (bin-packing) rather than
 * LeastAllocated, and NodeResourcesBalancedAllocation is left out because it works against
 * packing. DefaultPreemption is on. Two more differences for the same reason: PodTopologySpread
 * has no default constraints (`defaultingType: List`, an empty list: Kubernetes' system defaults
 * spread every Deployment's replicas over hosts and zones), and ImageLocality is left out (see
 * image-locality.ts).
 *
 * EcsPlacement (pkg/ecs/placement) runs ECS tasks' placement constraints (a filter, after
 * NodeAffinity) and strategies (a score whose weight makes ECS's order decide, the other scores
 * only breaking its ties); it does nothing for pods without the ECS placement annotations.
 */
export function defaultProfile(schedulerName = DEFAULT_SCHEDULER_NAME): Profile {
  return {
    schedulerName,
    filters: [NodeUnschedulable.name, NodeName.name, TaintToleration.name, NodeAffinity.name, EcsPlacement.name, NodePorts.name, NodeResourcesFit.name, PodTopologySpread.name, InterPodAffinity.name],
    scores: [
      { name: TaintToleration.name, weight: 3 },
      { name: NodeAffinity.name, weight: 2 },
      { name: PodTopologySpread.name, weight: 2 },
      { name: InterPodAffinity.name, weight: 2 },
      { name: NodeResourcesFit.name, weight: 1 },
      { name: EcsPlacement.name, weight: ECS_PLACEMENT_WEIGHT },
    ],
    preemption: true,
    pluginArgs: {
      [PodTopologySpread.name]: { defaultingType: 'List', defaultConstraints: [] } satisfies PodTopologySpreadArgs,
      [NodeResourcesFit.name]: {
        scoringStrategy: {
          type: 'MostAllocated',
          resources: [
            { name: 'cpu', weight: 1 },
            { name: 'memory', weight: 1 },
          ],
        },
      } satisfies NodeResourcesFitArgs,
    },
  };
}

/**
 * kube-scheduler's own default profile, for clusters that want its behaviour rather than berth's
 * packing: the same filters, and the scores of pkg/scheduler/apis/config/v1/default_plugins.go —
 * TaintToleration 3, NodeAffinity 2, PodTopologySpread 2, InterPodAffinity 2, NodeResourcesFit 1
 * with LeastAllocated over cpu and memory (weights 1), NodeResourcesBalancedAllocation 1,
 * ImageLocality 1; PodTopologySpread with the system default constraints (`defaultingType:
 * System`). Serve it under a name of its own
 * (`SchedulerOptions.profiles`) and pods pick it with `spec.schedulerName`.
 */
export function kubeSchedulerProfile(schedulerName: string): Profile {
  const p = defaultProfile(schedulerName);
  return {
    ...p,
    scores: [...p.scores, { name: NodeResourcesBalancedAllocation.name, weight: 1 }, { name: ImageLocality.name, weight: 1 }],
    pluginArgs: {
      [PodTopologySpread.name]: { defaultingType: 'System' } satisfies PodTopologySpreadArgs,
      [NodeResourcesFit.name]: {
        scoringStrategy: {
          type: 'LeastAllocated',
          resources: [
            { name: 'cpu', weight: 1 },
            { name: 'memory', weight: 1 },
          ],
        },
      } satisfies NodeResourcesFitArgs,
      [NodeResourcesBalancedAllocation.name]: { resources: [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }] } satisfies NodeResourcesBalancedAllocationArgs,
    },
  };
}
