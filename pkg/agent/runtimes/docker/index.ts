/** The Docker runtime of the node agent: real containers through dockerode. */
export { DockerRuntime, type DockerRuntimeOptions } from './docker.js';
export { DockerEngine, DockerHostError, defaultDockerHost, dockerOptions } from './engine.js';
export { PORTS_ANNOTATION, DOCKER_POD_IP, hostPortFor, portsOf, portEnv, type PortMapping } from './ports.js';
export { LABELS as CONTAINER_LABELS } from './spec.js';
export { imageImportRoutes, IMAGE_IMPORT_PATH, type ImageImportResult } from './routes.js';
