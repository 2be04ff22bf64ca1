/** The node agent: a kubelet for every served node, its container runtimes (simulated, Docker), pod lifecycle stages. */
export { NodeAgent, POD_NODE_INDEX, sampleDelay } from './agent.js';
export type { AgentOptions, Stage, StageContext, StageDelay, StageResult } from './types.js';
export { RUNTIME_LABEL, RUNTIME_NAMES, type RuntimeName, type ContainerRuntime, type PodSyncContext, type RuntimeHealth, type RuntimeHooks, type LogInstance } from './runtime.js';
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
export { SimRuntime, SimContainers, ContainerInstance } from './runtimes/sim.js';
export { DockerRuntime, defaultDockerHost, hostPortFor, portsOf, imageImportRoutes, IMAGE_IMPORT_PATH, PORTS_ANNOTATION, DOCKER_POD_IP, type DockerRuntimeOptions, type PortMapping, type ImageImportResult } from './runtimes/docker/index.js';
export { seededRandom } from './util.js';
export { startKubeletServer, KubeletProxy, NODE_AGENT_LABEL, KUBELET_TOKEN_SECRET_TYPE, KUBELET_TOKEN_NAMESPACE, kubeletTokenSecretName, type KubeletServer, type KubeletServerOptions, type KubeletSource } from './kubelet.js';
