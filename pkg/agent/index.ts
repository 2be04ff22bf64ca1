/** The node agent: a kubelet for simulated nodes, its pod lifecycle stages and simulated runtime. */
export { NodeAgent, POD_NODE_INDEX, sampleDelay } from './agent.js';
export type { AgentOptions, Stage, StageContext, StageDelay, StageResult } from './types.js';
export {
  defaultStages,
  runSeconds,
  exitCode,
  backOffMs,
  ANNOTATION_RUN_SECONDS,
  ANNOTATION_EXIT_CODE,
  ANNOTATION_LOG_LINES,
  type DefaultStageOptions,
} from './stages.js';
export { podPhase, kubeletConditions, syncPodStatus, isSidecar, waitingStatus } from './podstatus.js';
export { PodCidrAllocator, PodCidrError } from './ipam.js';
export { desiredNodeStatus, nodeInfo, nodeLease, KUBELET_VERSION, CONTAINER_RUNTIME_VERSION, NODE_LEASE_NAMESPACE } from './nodestatus.js';
export { SimRuntime, ContainerInstance } from './runtimes/sim.js';
export { seededRandom } from './util.js';
