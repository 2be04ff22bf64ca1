/**
 * The kubelet's own HTTP endpoint, for node agents in another process than the API server
 * (`berth agent --server URL`), and the API server's side of it.
 *
 * As in Kubernetes, `kubectl logs` and `kubectl exec` go to the API server, which proxies them to
 * the kubelet of the pod's node at the node's address and `status.daemonEndpoints.kubeletEndpoint.Port`
 * (https://kubernetes.io/docs/concepts/architecture/control-plane-node-communication/#api-server-to-kubelet).
 * The endpoint serves the kubelet's paths (pkg/kubelet/server/server.go):
 *
 * - `GET /containerLogs/{namespace}/{pod}/{container}?follow&tailLines&previous&timestamps&sinceSeconds&limitBytes`
 * - `GET /exec/{namespace}/{pod}/{container}?command=…&stdin&stdout&stderr&tty` and
 *   `/attach/{namespace}/{pod}/{container}?…`, upgraded to WebSocket with the
 *   `v5.channel.k8s.io` (or v4) subprotocol: binary messages prefixed by their channel, 0 stdin,
 *   1 stdout, 2 stderr, 3 the final Status, 4 resize, 255 close (v5), as the kubelet speaks them.
 *
 * Every request must carry `Authorization: Bearer <token>` (401 otherwise). The token is random
 * per agent process and kept in the Secret `kube-node-lease/berth-agent-<agent name>` (type
 * `berth.dev/kubelet-token`), which only the API server (and whoever RBAC lets read Secrets
 * there) can read; the API server presents it, as kube-apiserver authenticates to kubelets with
 * `--kubelet-client-certificate`. Pods of nodes served in the API server's process keep the
 * direct path.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { badRequest, internalError, isNotFound, notFound, StatusError } from '../api/errors.js';
import type { KubeObject, Node, Pod } from '../api/types.js';
import type { ExecStreams, LogOptions, PodExecSource, PodLogSource } from '../apiserver/app.js';
import { Feed } from '../apiserver/exec.js';
import { Kinds, type Client } from '../client/client.js';
import { internalIP } from './nodestatus.js';

/** The label that ties a Node to the remote `berth agent` serving it (value: the agent's name). */
export const NODE_AGENT_LABEL = 'node.berth.dev/agent';
/** The type of the Secret holding an agent's kubelet endpoint token (key `token`). */
export const KUBELET_TOKEN_SECRET_TYPE = 'berth.dev/kubelet-token';
/** The namespace of those Secrets (beside the agents' node Leases). */
export const KUBELET_TOKEN_NAMESPACE = 'kube-node-lease';

/** The Secret name holding the kubelet endpoint token of the agent named `agent`. */
export function kubeletTokenSecretName(agent: string): string {
  return `berth-agent-${agent}`;
}

/** What the agent serves: logs and commands of its pods. */
export type KubeletSource = PodLogSource & PodExecSource;

const CH = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

export interface KubeletServerOptions {
  source: KubeletSource;
  /** The pod `namespace/name` if it is one of this agent's (undefined: 404, the kubelet knows only its own pods). */
  pod(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** The bearer token callers must present. */
  token: string;
  /** Address to listen on (default 127.0.0.1, loopback). */
  host?: string;
  /** TCP port (default 0: a free one). */
  port?: number;
}

export interface KubeletServer {
  host: string;
  /** The port it listens on. */
  port: number;
  close(): Promise<void>;
}

/** Starts the kubelet endpoint; resolves once it listens. Rejects if the port is taken. */
export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const want = Buffer.from(`Bearer ${opts.token}`);
  const authorized = (req: IncomingMessage): boolean => {
    const got = Buffer.from(req.headers.authorization ?? '');
    return got.length === want.length && timingSafeEqual(got, want);
  };
  const sessions = new Set<AbortController>();
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false });
  const parse = (url: string): { verb: string; namespace: string; pod: string; container: string; q: URLSearchParams } | undefined => {
    const u = new URL(url, 'http://kubelet');
    const m = /^\/(containerLogs|exec|attach)\/([^/]+)\/([^/]+)\/([^/]+)\/?$/.exec(u.pathname);
    return m ? { verb: m[1]!, namespace: decodeURIComponent(m[2]!), pod: decodeURIComponent(m[3]!), container: decodeURIComponent(m[4]!), q: u.searchParams } : undefined;
  };
  const findPod = async (namespace: string, name: string): Promise<KubeObject> => {
    const pod = await opts.pod(namespace, name);
    if (!pod) throw notFound('pods', name);
    return pod;
  };
  const server = createServer((req, res) => {
    void (async () => {
      if (!authorized(req)) return sendStatus(res, new StatusError(401, 'Unauthorized', 'Unauthorized'));
      const p = parse(req.url ?? '');
      if (!p || req.method !== 'GET') return sendStatus(res, notFound('', req.url ?? ''));
      if (p.verb !== 'containerLogs') return sendStatus(res, badRequest('Upgrade request required'));
      const ac = new AbortController();
      res.on('close', () => ac.abort());
      const out = await opts.source.logs(await findPod(p.namespace, p.pod), p.container, logOptions(p.q), ac.signal);
      if (typeof out === 'string') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(out);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      for await (const chunk of out) {
        if (ac.signal.aborted) break;
        res.write(chunk);
      }
      res.end();
    })().catch((e: unknown) => {
      if (!res.headersSent) sendStatus(res, e instanceof StatusError ? e : internalError((e as Error).message));
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    void (async () => {
      if (!authorized(req)) throw new StatusError(401, 'Unauthorized', 'Unauthorized');
      const p = parse(req.url ?? '');
      if (!p || p.verb === 'containerLogs') throw notFound('', req.url ?? '');
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') throw badRequest('unable to upgrade: use websocket');
      const pod = await findPod(p.namespace, p.pod);
      const command = p.q.getAll('command');
      if (p.verb === 'exec' && !command.length) throw badRequest('you must specify at least one command for the container');
      wss.handleUpgrade(req, socket, head, (ws) => serveStream(ws, p.verb as 'exec' | 'attach', pod, p.container, command, p.q, opts.source, sessions));
    })().catch((e: unknown) => {
      const err = e instanceof StatusError ? e : internalError((e as Error).message);
      const body = JSON.stringify(err.status);
      socket.end(`HTTP/1.1 ${err.code} ${err.status.reason ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  return {
    host,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sessions) s.abort();
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function logOptions(q: URLSearchParams): LogOptions {
  const flag = (k: string): boolean => ['true', '1'].includes(q.get(k) ?? '');
  const int = (k: string): number | undefined => {
    const v = q.get(k);
    if (v === null) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw badRequest(`invalid ${k} "${v}": an integer`);
    return n;
  };
  const tailLines = int('tailLines');
  const sinceSeconds = int('sinceSeconds');
  const limitBytes = int('limitBytes');
  return {
    follow: flag('follow'),
    previous: flag('previous'),
    timestamps: flag('timestamps'),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
  };
}

function sendStatus(res: ServerResponse, err: StatusError): void {
  res.writeHead(err.code, { 'content-type': 'application/json' }).end(JSON.stringify(err.status));
}


/** The Status the kubelet writes on the error channel for an exit code. */
function exitStatus(code: number, command: string[]): object {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** Relays one exec or attach between a WebSocket and the agent's runtime. */
function serveStream(ws: WebSocket, verb: 'exec' | 'attach', pod: KubeObject, container: string, command: string[], q: URLSearchParams, source: KubeletSource, sessions: Set<AbortController>): void {
  const ac = new AbortController();
  sessions.add(ac);
  const flag = (k: string): boolean => ['true', '1'].includes(q.get(k) ?? '');
  const tty = flag('tty');
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  const stdin = flag('stdin') ? new Feed<Uint8Array>() : undefined;
  const resize = tty ? new Feed<{ width: number; height: number }>() : undefined;
  const send = (ch: number, data: Uint8Array): void => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), data]));
  };
  ws.on('message', (raw: Buffer) => {
    const data = Buffer.from(raw);
    if (!data.length) return;
    const body = data.subarray(1);
    if (data[0] === CH.stdin) {
      if (body.length) stdin?.push(Buffer.from(body));
    } else if (data[0] === CH.resize) {
      try {
        const s = JSON.parse(body.toString('utf8')) as { Width?: number; Height?: number };
        resize?.push({ width: s.Width ?? 0, height: s.Height ?? 0 });
      } catch {
        // A malformed resize message is ignored, as the kubelet does.
      }
    } else if (data[0] === CH.close && v5 && body[0] === CH.stdin) stdin?.end();
  });
  ws.on('close', () => {
    stdin?.end();
    resize?.end();
    ac.abort();
    sessions.delete(ac);
  });
  const io: ExecStreams = {
    ...(stdin ? { stdin } : {}),
    ...(flag('stdout') ? { stdout: (c: Uint8Array) => send(CH.stdout, c) } : {}),
    ...(flag('stderr') && !tty ? { stderr: (c: Uint8Array) => send(CH.stderr, c) } : {}),
    tty,
    ...(resize ? { resize } : {}),
  };
  const run = async (): Promise<object> => {
    try {
      if (verb === 'attach') {
        if (!source.attach) throw badRequest('the container runtime cannot attach');
        await source.attach(pod, container, io, ac.signal);
        return exitStatus(0, []);
      }
      return exitStatus(await source.exec(pod, container, command, io, ac.signal), command);
    } catch (e) {
      return e instanceof StatusError ? e.status : internalError((e as Error).message).status;
    }
  };
  void run().then((status) => {
    send(CH.error, Buffer.from(JSON.stringify(status)));
    ws.close(1000);
  });
}

/**
 * The API server's logs and exec source: pods on nodes of a remote agent (labelled
 * `node.berth.dev/agent`) are proxied to that agent's kubelet endpoint at the node's InternalIP
 * and `status.daemonEndpoints.kubeletEndpoint.Port`, with the agent's token; every other pod goes
 * to `local` (the in-process agent). Errors are StatusErrors: the kubelet's own answer (404 for a
 * pod it does not run, 400 for a bad container), or 500 naming the node and address when the
 * kubelet cannot be reached (as kube-apiserver answers "dial tcp …: connection refused").
 */
export class KubeletProxy implements KubeletSource {
  constructor(
    private readonly client: Client,
    private readonly local: KubeletSource | undefined,
  ) {}

  async logs(pod: KubeObject, container: string, opts: LogOptions, signal: AbortSignal): Promise<AsyncIterable<string> | string> {
    const k = await this.kubelet(pod);
    if (!k) return this.localSource().logs(pod, container, opts, signal);
    const q = new URLSearchParams();
    for (const [key, v] of Object.entries(opts)) if (v !== undefined && v !== false) q.set(key, String(v));
    let res: Response;
    try {
      res = await fetch(`${k.base}/containerLogs/${path(pod, container)}?${q}`, { headers: { authorization: `Bearer ${k.token}` }, signal });
    } catch (e) {
      throw unreachable(k, e);
    }
    if (!res.ok) throw await statusOf(res);
    if (!opts.follow) return res.text();
    const body = res.body!;
    return (async function* () {
      const decoder = new TextDecoder();
      for await (const chunk of body) yield decoder.decode(chunk as Uint8Array, { stream: true });
    })();
  }

  async exec(pod: KubeObject, container: string, command: string[], io: ExecStreams, signal: AbortSignal): Promise<number> {
    const k = await this.kubelet(pod);
    if (!k) return this.localSource().exec(pod, container, command, io, signal);
    const status = await this.stream(k, 'exec', pod, container, command, io, signal);
    if (status.status === 'Success') return 0;
    if (status.reason === 'NonZeroExitCode') return Number(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message ?? 1);
    throw new StatusError(status.code ?? 500, status.reason ?? 'InternalError', status.message ?? 'exec failed');
  }

  async attach(pod: KubeObject, container: string, io: ExecStreams, signal: AbortSignal): Promise<void> {
    const k = await this.kubelet(pod);
    if (!k) {
      const local = this.localSource();
      if (!local.attach) throw badRequest('the container runtime cannot attach');
      return local.attach(pod, container, io, signal);
    }
    const status = await this.stream(k, 'attach', pod, container, [], io, signal);
    if (status.status !== 'Success') throw new StatusError(status.code ?? 500, status.reason ?? 'InternalError', status.message ?? 'attach failed');
  }

  private localSource(): KubeletSource {
    if (!this.local) throw badRequest('no container runtime serves this pod on this server');
    return this.local;
  }

  /** Where the kubelet of the pod's node listens, if the node belongs to a remote agent. */
  private async kubelet(pod: KubeObject): Promise<{ node: string; base: string; token: string } | undefined> {
    const nodeName = (pod as Pod).spec?.nodeName;
    if (!nodeName) return undefined;
    let node: Node;
    try {
      node = (await this.client.get(Kinds.Node, nodeName)) as Node;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    const agent = node.metadata.labels?.[NODE_AGENT_LABEL];
    if (!agent) return undefined;
    const port = (node.status as { daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } | undefined)?.daemonEndpoints?.kubeletEndpoint?.Port;
    const address = internalIP(node);
    if (!port || !address) throw internalError(`node ${nodeName} of agent ${agent} reports no kubelet endpoint (address ${address ?? 'none'}, port ${port ?? 'none'})`);
    let token: string | undefined;
    try {
      const secret = await this.client.get(Kinds.Secret, kubeletTokenSecretName(agent), KUBELET_TOKEN_NAMESPACE);
      const data = (secret as { data?: Record<string, string> }).data?.token;
      token = data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (!token) throw internalError(`no kubelet token for agent ${agent}: Secret ${KUBELET_TOKEN_NAMESPACE}/${kubeletTokenSecretName(agent)} is missing`);
    const host = address.includes(':') ? `[${address}]` : address;
    return { node: nodeName, base: `http://${host}:${port}`, token };
  }

  private stream(k: { node: string; base: string; token: string }, verb: 'exec' | 'attach', pod: KubeObject, container: string, command: string[], io: ExecStreams, signal: AbortSignal): Promise<ExecStatus> {
    const q = new URLSearchParams();
    for (const c of command) q.append('command', c);
    if (io.stdin) q.set('stdin', 'true');
    if (io.stdout) q.set('stdout', 'true');
    if (io.stderr) q.set('stderr', 'true');
    if (io.tty) q.set('tty', 'true');
    const url = `${k.base.replace(/^http/, 'ws')}/${verb}/${path(pod, container)}?${q}`;
    return new Promise<ExecStatus>((resolve, reject) => {
      const ws = new WebSocket(url, PROTOCOLS, { headers: { authorization: `Bearer ${k.token}` } });
      let status: ExecStatus | undefined;
      const onAbort = (): void => ws.close(1000);
      signal.addEventListener('abort', onAbort, { once: true });
      const send = (ch: number, data: Uint8Array): void => {
        if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), data]));
      };
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          signal.removeEventListener('abort', onAbort);
          try {
            const s = JSON.parse(body) as ExecStatus;
            reject(new StatusError(s.code ?? res.statusCode ?? 500, s.reason ?? 'InternalError', s.message ?? body));
          } catch {
            reject(internalError(`the kubelet of node ${k.node} answered ${res.statusCode}: ${body}`));
          }
        });
      });
      ws.on('error', (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(unreachable(k, e));
      });
      ws.on('open', () => {
        void (async () => {
          if (io.stdin) {
            for await (const chunk of io.stdin) send(CH.stdin, chunk);
            if (ws.protocol === 'v5.channel.k8s.io') send(CH.close, Buffer.from([CH.stdin]));
          }
        })();
        void (async () => {
          if (io.resize) for await (const s of io.resize) send(CH.resize, Buffer.from(JSON.stringify({ Width: s.width, Height: s.height })));
        })();
      });
      ws.on('message', (raw: Buffer) => {
        const data = Buffer.from(raw);
        const body = data.subarray(1);
        if (data[0] === CH.stdout) io.stdout?.(body);
        else if (data[0] === CH.stderr) io.stderr?.(body);
        else if (data[0] === CH.error) {
          try {
            status = JSON.parse(body.toString('utf8')) as ExecStatus;
          } catch {
            status = { status: 'Failure', message: body.toString('utf8') };
          }
        }
      });
      ws.on('close', () => {
        signal.removeEventListener('abort', onAbort);
        if (status) resolve(status);
        else if (signal.aborted) resolve({ status: 'Success' });
        else reject(internalError(`the kubelet of node ${k.node} closed the ${verb} stream without a status`));
      });
    });
  }
}

interface ExecStatus {
  status?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

function path(pod: KubeObject, container: string): string {
  return [pod.metadata.namespace ?? 'default', pod.metadata.name!, container].map(encodeURIComponent).join('/');
}

function unreachable(k: { node: string; base: string }, e: unknown): StatusError {
  return internalError(`cannot reach the kubelet of node ${k.node} at ${k.base}: ${(e as Error).message}`);
}

async function statusOf(res: Response): Promise<StatusError> {
  const text = await res.text();
  try {
    const s = JSON.parse(text) as ExecStatus;
    return new StatusError(s.code ?? res.status, s.reason ?? 'InternalError', s.message ?? text);
  } catch {
    return new StatusError(res.status, 'InternalError', text);
  }
}
