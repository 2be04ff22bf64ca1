/**
 * The simulated runtime's built-in application server: every running pod on a simulated node
 * answers HTTP itself. It replies with its pod name (header `x-berth-pod` and the body), takes a
 * service time and a CPU cost per request from the pod's annotations, and reports the CPU it
 * spent as the pod's usage (so traffic through a load balancer is load the HPA sees).
 *
 * Pod annotations (on the pod template):
 * - `sim.berth.dev/service-time-ms`: cluster-time ms each request takes (default 10);
 * - `sim.berth.dev/cpu-ms-per-request`: CPU time each request spends, ms (default 5): at 100
 *   requests a second and 5 ms each the pod uses 500m;
 * - `sim.berth.dev/http-status`: the status code every answer has (default 200); set it to
 *   `503` on a running pod (`kubectl annotate pod … sim.berth.dev/http-status=503 --overwrite`)
 *   to make it fail its health checks;
 * - `sim.berth.dev/idle-cpu`: CPU the pod uses with no traffic (a quantity, default 1m).
 *
 * Which pods the model speaks for: those that have served a request, those carrying one of the
 * annotations above, and simulated pods a Service selects (a server waiting for traffic: idle CPU
 * until requests come, as `kubectl top` shows a real idle web server, so the Kubernetes HPA
 * walkthrough's php-apache stays at one replica until load arrives). Other simulated pods (batch
 * work) use what they request; Docker pods report what the engine measures.
 *
 * `AppModel` is the behaviour without sockets (used in virtual time by `berth simulate` and the
 * HPA tests); `AppServers` puts a real HTTP server on 127.0.0.1 (an ephemeral port) in front of
 * it for each pod port the data plane asks for.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resourceAmount } from '../api/quantity.js';
import type { Pod } from '../api/types.js';
import type { ContainerUsage, PodMetricsSource } from '../apiserver/virtual.js';
import type { Clock } from '../clock/clock.js';
import { PORTS_ANNOTATION } from '../agent/index.js';

export const SERVICE_TIME_ANNOTATION = 'sim.berth.dev/service-time-ms';
export const CPU_PER_REQUEST_ANNOTATION = 'sim.berth.dev/cpu-ms-per-request';
export const HTTP_STATUS_ANNOTATION = 'sim.berth.dev/http-status';
export const IDLE_CPU_ANNOTATION = 'sim.berth.dev/idle-cpu';
/** The response header naming the pod that answered. */
export const POD_HEADER = 'x-berth-pod';

const DEFAULT_SERVICE_MS = 10;
const DEFAULT_CPU_MS = 5;
const DEFAULT_IDLE_MILLICORES = 1;
/** The window usage is averaged over: metrics-server's default resolution (`--metric-resolution=15s`), the span of the kubelet's cpu rate. */
export const USAGE_WINDOW_MS = 15_000;

function num(v: string | undefined, d: number): number {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) && n >= 0 ? n : d;
}

/** Adds `v` to a per-second series of `uid`, keeping the last two minutes. */
function bump(series: Map<string, Map<number, number>>, uid: string, sec: number, v: number): void {
  let m = series.get(uid);
  if (!m) series.set(uid, (m = new Map()));
  m.set(sec, (m.get(sec) ?? 0) + v);
  if (m.size > 130) for (const k of m.keys()) if (k < sec - 120) m.delete(k);
}

/** What one request to a pod costs and answers. */
export interface AppResponse {
  status: number;
  /** Cluster-time ms the request takes. */
  serviceMs: number;
  /** CPU time it spends, ms. */
  cpuMs: number;
  body: string;
}

/** The behaviour of each pod's application, and the CPU it has spent (per pod UID, in cluster time). */
export class AppModel {
  /** Per pod UID: CPU-ms spent, bucketed by cluster second. */
  private readonly spent = new Map<string, Map<number, number>>();
  /** Per pod UID: requests answered, bucketed by cluster second. */
  private readonly answered = new Map<string, Map<number, number>>();
  /** Pods that have answered a request (their usage comes from the model from then on). */
  private readonly served = new Set<string>();

  /** True for a pod some Service selects (set by the component; default: none). */
  behindService: (pod: Pod) => boolean = () => false;

  constructor(private readonly clock: Clock) {}

  /** How `pod` answers one request at cluster time now; its CPU is recorded. */
  handle(pod: Pod): AppResponse {
    const a = pod.metadata.annotations ?? {};
    const status = Math.trunc(num(a[HTTP_STATUS_ANNOTATION], 200)) || 200;
    const serviceMs = num(a[SERVICE_TIME_ANNOTATION], DEFAULT_SERVICE_MS);
    const cpuMs = num(a[CPU_PER_REQUEST_ANNOTATION], DEFAULT_CPU_MS);
    this.record(pod.metadata.uid!, cpuMs);
    bump(this.answered, pod.metadata.uid!, Math.floor(this.clock.now() / 1000), 1);
    return { status, serviceMs, cpuMs, body: `${pod.metadata.name}\n` };
  }

  /** The status code the pod answers with now (health checks; no CPU is counted). */
  statusOf(pod: Pod): number {
    return Math.trunc(num(pod.metadata.annotations?.[HTTP_STATUS_ANNOTATION], 200)) || 200;
  }

  /** Requests a second the pod answered over the last minute (over its age when younger). */
  requestsPerSecond(pod: Pod): number {
    const m = this.answered.get(pod.metadata.uid!);
    if (!m) return 0;
    const now = this.clock.now();
    const to = Math.floor(now / 1000);
    let n = 0;
    for (const [sec, c] of m) if (sec > to - 60 && sec <= to) n += c;
    const start = Date.parse((pod.status?.startTime as string | undefined) ?? '') || now - 60_000;
    return n / Math.max(1, Math.min(60, (now - start) / 1000));
  }

  /** Adds CPU time spent by a pod now (ms). */
  record(uid: string, cpuMs: number): void {
    this.served.add(uid);
    bump(this.spent, uid, Math.floor(this.clock.now() / 1000), cpuMs);
  }

  /** True when the model speaks for this pod's usage: it has served traffic, is configured for it, or is a simulated pod behind a Service. */
  models(pod: Pod): boolean {
    const a = pod.metadata.annotations ?? {};
    if (this.served.has(pod.metadata.uid!) || a[CPU_PER_REQUEST_ANNOTATION] !== undefined || a[SERVICE_TIME_ANNOTATION] !== undefined) return true;
    // Docker pods (their published ports annotated) are measured by the engine.
    return a[PORTS_ANNOTATION] === undefined && this.behindService(pod);
  }

  /** The pod's CPU use over the last window, millicores: idle CPU plus what requests spent. */
  cpuMillicores(pod: Pod): number {
    const idle = pod.metadata.annotations?.[IDLE_CPU_ANNOTATION];
    let base = DEFAULT_IDLE_MILLICORES;
    if (idle !== undefined) {
      try {
        base = resourceAmount('cpu', idle);
      } catch {
        /* a malformed annotation keeps the default */
      }
    }
    const m = this.spent.get(pod.metadata.uid!);
    if (!m) return base;
    const now = this.clock.now();
    const from = Math.floor((now - USAGE_WINDOW_MS) / 1000);
    const to = Math.floor(now / 1000);
    let sum = 0;
    for (const [sec, ms] of m) if (sec > from && sec <= to) sum += ms;
    // Pods younger than the window average over their age (metrics-server's first samples do too).
    const start = Date.parse((pod.status?.startTime as string | undefined) ?? '') || now - USAGE_WINDOW_MS;
    const span = Math.max(1000, Math.min(USAGE_WINDOW_MS, now - start));
    return Math.round(base + (sum / span) * 1000);
  }

  /** Forgets a pod. */
  forget(uid: string): void {
    this.spent.delete(uid);
    this.answered.delete(uid);
    this.served.delete(uid);
  }

  /**
   * A metrics source for metrics.k8s.io: modelled pods report the model's CPU (spread over their
   * containers, the first taking the remainder) and their memory requests; others ask `fallback`.
   */
  metricsSource(fallback: PodMetricsSource | undefined): PodMetricsSource {
    return {
      podUsage: (pod: Pod): ContainerUsage[] | undefined => {
        if (!this.models(pod) || pod.status?.phase !== 'Running') return fallback?.podUsage(pod);
        const cs = pod.spec.containers;
        const cpu = this.cpuMillicores(pod);
        return cs.map((c, i) => ({
          name: c.name,
          cpuMillicores: i === 0 ? cpu - Math.floor(cpu / cs.length) * (cs.length - 1) : Math.floor(cpu / cs.length),
          memoryBytes: c.resources?.requests?.memory !== undefined ? resourceAmount('memory', c.resources.requests.memory) : 0,
        }));
      },
    };
  }
}

/** Real HTTP servers on 127.0.0.1 for simulated pods, started on demand, one per pod and port. */
export class AppServers {
  private readonly servers = new Map<string, { server: Server; port: number; uid: string; ready: Promise<number> }>();

  /**
   * @param podOf the pod now (from an informer cache) by UID, or undefined once it is gone.
   */
  constructor(
    private readonly model: AppModel,
    private readonly clock: Clock,
    private readonly podOf: (uid: string) => Pod | undefined,
  ) {}

  /** The loopback port serving `containerPort` of the pod (starting a server the first time). */
  async portFor(pod: Pod, containerPort: number): Promise<number> {
    const key = `${pod.metadata.uid}/${containerPort}`;
    let s = this.servers.get(key);
    if (!s) {
      const uid = pod.metadata.uid!;
      let last = pod;
      const server = createServer((req, res) => {
        // A pod being deleted keeps answering until its server is swept (in-flight requests finish).
        const p = this.podOf(uid) ?? last;
        last = p;
        if (p.status?.phase !== 'Running') {
          res.writeHead(503, { [POD_HEADER]: pod.metadata.name!, connection: 'close' }).end('pod is not running\n');
          return;
        }
        req.resume();
        const r = this.model.handle(p);
        const done = (): void => {
          if (res.destroyed) return;
          res.writeHead(r.status, { 'content-type': 'text/plain', [POD_HEADER]: p.metadata.name! }).end(r.body);
        };
        if (r.serviceMs > 0) this.clock.setTimer(r.serviceMs, done);
        else done();
      });
      server.keepAliveTimeout = 65_000;
      const ready = new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
      });
      s = { server, port: 0, uid, ready };
      this.servers.set(key, s);
      s.port = await ready;
    }
    return s.ready;
  }

  /** Stops the servers of pods that are gone or no longer running. */
  sweep(): void {
    for (const [key, s] of this.servers) {
      const p = this.podOf(s.uid);
      if (p && p.status?.phase === 'Running') continue;
      this.servers.delete(key);
      // Stop accepting; requests in flight finish, idle keep-alive connections close.
      s.server.close();
      s.server.closeIdleConnections();
      if (!p) this.model.forget(s.uid);
    }
  }

  /** Stops every server. */
  close(): void {
    for (const s of this.servers.values()) {
      s.server.close();
      s.server.closeAllConnections();
    }
    this.servers.clear();
  }
}
