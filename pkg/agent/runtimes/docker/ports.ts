/**
 * Host ports for Docker pods. The Docker runtime runs containers with host networking (this
 * machine carries traffic on loopback only, and there is no bridge), so two replicas of one image
 * would fight over its port. Instead the agent gives every declared `containerPort` of a pod a
 * free port of the host, the way Cloud Run and Heroku do:
 *
 * - the container's environment gets `PORT` (the container's first declared port) and
 *   `PORT_<NAME>` for every named port of the pod (`http-metrics` → `PORT_HTTP_METRICS`);
 * - **an image must listen on `$PORT`** (and on `$PORT_<NAME>` for its other ports);
 * - a port with a `hostPort` keeps that port (`hostPort` is a port on the node already);
 * - the pod's endpoints are `127.0.0.1:<host port>`: `status.podIP` is 127.0.0.1 and the
 *   mapping is the pod annotation `node.berth.dev/ports` (JSON, see `PortMapping`), written
 *   before any container starts and kept for the pod's life (an agent restart reads it back).
 *
 * Services and load balancers resolve a Service's `targetPort` (number or name) with
 * `hostPortFor(pod, targetPort)`.
 *
 * Probes follow the same rule: an httpGet or tcpSocket probe on a declared port (by number or
 * name) goes to its host port; on any other port it goes to that port as written.
 */
import { createServer } from 'node:net';
import type { Container, Pod } from '../../../api/types.js';

/** Pod annotation holding the pod's allocated ports: a JSON array of `PortMapping`. */
export const PORTS_ANNOTATION = 'node.berth.dev/ports';

/** The address a Docker pod's endpoints are on (host networking on the loopback interface). */
export const DOCKER_POD_IP = '127.0.0.1';

/** One declared container port and the host port the agent gave it. */
export interface PortMapping {
  /** The container declaring it. */
  container: string;
  /** The port's name, if it has one. */
  name?: string;
  /** `containerPort` as declared. */
  containerPort: number;
  /** `TCP` (default), `UDP` or `SCTP`. */
  protocol: string;
  /** The port on the host (127.0.0.1) the process must listen on. */
  hostPort: number;
}

/** The mapping a pod's annotation holds; undefined when it has none (or it is not valid JSON of the right shape). */
export function portsOf(pod: Pod): PortMapping[] | undefined {
  const raw = pod.metadata.annotations?.[PORTS_ANNOTATION];
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    if (!Array.isArray(v)) return undefined;
    const ok = v.every((m: Partial<PortMapping>) => typeof m?.container === 'string' && Number.isInteger(m.containerPort) && Number.isInteger(m.hostPort) && typeof m.protocol === 'string');
    return ok ? (v as PortMapping[]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The host port serving a Service `targetPort` on this pod: a port name, or a container port
 * number (as a Service's targetPort resolves, https://kubernetes.io/docs/concepts/services-networking/service/#field-spec-ports),
 * for `protocol` (default TCP). Undefined when the pod has no allocated port for it.
 */
export function hostPortFor(pod: Pod, targetPort: number | string, protocol = 'TCP'): number | undefined {
  const list = portsOf(pod) ?? [];
  const match = list.find((m) => m.protocol === protocol && (typeof targetPort === 'string' && !/^\d+$/.test(targetPort) ? m.name === targetPort : m.containerPort === Number(targetPort)));
  return match?.hostPort;
}

/** Every declared port of the pod, init (sidecar) containers first, as `[container, port]`. */
function declaredPorts(pod: Pod): { c: Container; port: NonNullable<Container['ports']>[number] }[] {
  const out: { c: Container; port: NonNullable<Container['ports']>[number] }[] = [];
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) for (const port of c.ports ?? []) out.push({ c, port });
  return out;
}

/** Asks the kernel for a free TCP port on 127.0.0.1 (bind to port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, DOCKER_POD_IP, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Host ports handed out by this agent, so two pods never get the same one even before either
 * binds it. A port is the kernel's choice of a free one, skipping those taken here.
 */
export class HostPorts {
  private readonly taken = new Map<number, string>();

  /** Records ports a pod already holds (from its annotation, after a restart). */
  adopt(podUid: string, list: PortMapping[]): void {
    for (const m of list) this.taken.set(m.hostPort, podUid);
  }

  /** Frees the pod's ports. */
  release(podUid: string): void {
    for (const [port, uid] of this.taken) if (uid === podUid) this.taken.delete(port);
  }

  /** Allocates a port for every declared container port of the pod (a `hostPort` keeps its number). */
  async allocate(pod: Pod): Promise<PortMapping[]> {
    const uid = pod.metadata.uid ?? '';
    const out: PortMapping[] = [];
    for (const { c, port } of declaredPorts(pod)) {
      let hostPort = port.hostPort;
      if (!hostPort) {
        for (let tries = 0; ; tries++) {
          hostPort = await freePort();
          if (!this.taken.has(hostPort) || tries > 20) break;
        }
      }
      this.taken.set(hostPort, uid);
      out.push({ container: c.name, ...(port.name ? { name: port.name } : {}), containerPort: port.containerPort, protocol: port.protocol ?? 'TCP', hostPort });
    }
    return out;
  }
}

/** `http-metrics` → `PORT_HTTP_METRICS`. */
export function portEnvName(name: string): string {
  return `PORT_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The port variables of one container: `PORT` (its first declared port), `PORT_<NAME>` (every named port of the pod). */
export function portEnv(container: string, list: PortMapping[]): Record<string, string> {
  const env: Record<string, string> = {};
  const first = list.find((m) => m.container === container);
  if (first) env.PORT = String(first.hostPort);
  for (const m of list) if (m.name) env[portEnvName(m.name)] ??= String(m.hostPort);
  return env;
}

/** The host port a probe on `port` (number or name) of `container` reaches: its allocated one if declared, else the port itself. */
export function probePort(container: Container, list: PortMapping[], port: number | string): number | undefined {
  if (typeof port === 'string' && !/^\d+$/.test(port)) {
    const m = list.find((x) => x.name === port && x.container === container.name) ?? list.find((x) => x.name === port);
    return m?.hostPort;
  }
  const n = Number(port);
  const m = list.find((x) => x.containerPort === n && x.container === container.name) ?? list.find((x) => x.containerPort === n);
  return m ? m.hostPort : n;
}
