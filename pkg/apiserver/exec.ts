/**
 * `pods/<name>/exec` (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#get-connect-exec-pod):
 * the API server upgrades the connection and relays the command's standard streams between the
 * client and the pod's runtime (`PodExecSource`). kubectl 1.30+ speaks WebSocket with the
 * `v5.channel.k8s.io` subprotocol (v4 too): each binary message starts with its channel byte —
 * 0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4 terminal resize, and (v5) 255 to close a
 * channel. kubectl 1.27–1.29 upgrade to SPDY/3.1 (`X-Stream-Protocol-Version:
 * v4.channel.k8s.io`) and open one stream per channel instead. Both end with the Status on the
 * error channel: Success, or NonZeroExitCode with the exit code as cause, as the kubelet writes it.
 *
 * `pods/<name>/attach` (`kubectl attach`, `kubectl run -i`) speaks the same protocols: instead of
 * running a command it joins the container's own output (and its stdin when the container has
 * `stdin: true`) through `PodExecSource.attach`, and ends with Success when the container's
 * process ends.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { badRequest, StatusError, internalError } from '../api/errors.js';
import type { ResourceRegistry } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import type { ExecStreams, PodExecSource } from './app.js';
import { SpdySession, type SpdyStream } from './spdy.js';
import type { ObjectStore } from './store.js';

/** WebSocket subprotocols berth speaks, most preferred first. */
export const EXEC_WS_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

/**
 * Milliseconds a WebSocket exec waits between the upgrade and running the command, so that the
 * client has created its stream pipes (client-go's wsStreamCreator.readDemuxLoop discards frames
 * for streams it does not know yet).
 */
const WS_START_DELAY_MS = 100;
const CH = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/**
 * What an exec or attach request asks for (`?command=…&container=…&stdin=true&stdout=true&stderr=true&tty=true`;
 * attach has no command).
 */
export interface ExecRequest {
  /** `exec` runs `command` in the container; `attach` joins the streams of its main process. */
  subresource: 'exec' | 'attach';
  namespace: string;
  pod: string;
  container?: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Parses `/api/v1/namespaces/<ns>/pods/<name>/exec?…` (or `/attach?…`); undefined for any other path. */
export function parseExecRequest(url: string): ExecRequest | undefined {
  const u = new URL(url, 'http://x');
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach)\/?$/.exec(u.pathname);
  if (!m) return undefined;
  const flag = (k: string): boolean => ['true', '1'].includes(u.searchParams.get(k) ?? '');
  const container = u.searchParams.get('container');
  return {
    subresource: m[3] as 'exec' | 'attach',
    namespace: decodeURIComponent(m[1]!),
    pod: decodeURIComponent(m[2]!),
    ...(container ? { container } : {}),
    command: u.searchParams.getAll('command'),
    stdin: flag('stdin'),
    stdout: flag('stdout'),
    stderr: flag('stderr'),
    tty: flag('tty'),
  };
}

/** The Status the kubelet writes on the error channel for an exit code. */
export function exitStatus(code: number, command: string[]): object {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** A push-fed async iterable (stdin, resize events); shared with the agent's kubelet endpoint. */
export class Feed<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private done = false;

  push(x: T): void {
    if (this.done) return;
    this.items.push(x);
    this.wake?.();
  }

  end(): void {
    this.done = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.items.length) yield this.items.shift()!;
      if (this.done) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

export interface ExecContext {
  store: ObjectStore;
  registry: ResourceRegistry;
  source: () => PodExecSource | undefined;
  /** Called with an AbortController per session, aborted when the server closes. */
  track: () => AbortController;
}

/** Answers an upgrade request with a Status error instead of upgrading. */
export function writeHttpError(socket: Duplex, err: StatusError): void {
  const body = JSON.stringify(err.status);
  const text = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' }[err.code] ?? 'Error';
  socket.end(`HTTP/1.1 ${err.code} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Checks an exec request before upgrading: the pod exists, the container is one of its own
 * (default: the `kubectl.kubernetes.io/default-container` annotation, else the first), a command
 * is given. Throws StatusError (NotFound, BadRequest).
 */
async function resolve(ctx: ExecContext, req: ExecRequest): Promise<{ pod: KubeObject; container: string; source: PodExecSource }> {
  const pods = ctx.registry.get('', 'v1', 'pods')!;
  const pod = await ctx.store.get(pods, req.namespace, req.pod);
  const containers = ((pod.spec as { containers?: { name: string }[]; initContainers?: { name: string }[] }).containers ?? []).map((c) => c.name);
  const inits = ((pod.spec as { initContainers?: { name: string }[] }).initContainers ?? []).map((c) => c.name);
  const container = req.container ?? pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'] ?? containers[0];
  if (!container || (!containers.includes(container) && !inits.includes(container))) {
    throw badRequest(`container ${container ?? ''} is not valid for pod ${req.pod}`);
  }
  if (req.subresource === 'exec' && !req.command.length) throw badRequest('you must specify at least one command for the container');
  if (!req.stdin && !req.stdout && !req.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  const source = ctx.source();
  if (!source) throw badRequest('no container runtime runs commands on this server');
  if (req.subresource === 'attach' && !source.attach) throw badRequest('no container runtime attaches to containers on this server');
  return { pod, container, source };
}

/**
 * Handles an HTTP upgrade on the API server's port; returns false when the request is not an
 * exec (the caller answers it).
 */
export function handleExecUpgrade(ctx: ExecContext, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
  const er = parseExecRequest(req.url ?? '');
  if (!er) return false;
  const upgrade = (req.headers.upgrade ?? '').toLowerCase();
  void (async () => {
    let resolved: Awaited<ReturnType<typeof resolve>>;
    try {
      resolved = await resolve(ctx, er);
    } catch (e) {
      writeHttpError(socket, e instanceof StatusError ? e : internalError((e as Error).message));
      return;
    }
    if (upgrade === 'websocket') {
      wss.handleUpgrade(req, socket, head, (ws) => runWebSocket(ctx, ws, er, resolved));
    } else if (upgrade.startsWith('spdy/3.1')) {
      const offered = String(req.headers['x-stream-protocol-version'] ?? '')
        .split(',')
        .map((s) => s.trim());
      if (!offered.includes('v4.channel.k8s.io')) {
        writeHttpError(socket, badRequest(`unable to upgrade: no supported stream protocol among [${offered.join(', ')}]: berth speaks v4.channel.k8s.io`));
        return;
      }
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n');
      if (head.length) socket.unshift(head);
      runSpdy(ctx, new SpdySession(socket), er, resolved);
    } else {
      writeHttpError(socket, badRequest(`unable to upgrade: the upgrade "${upgrade}" is not supported: use websocket or SPDY/3.1`));
    }
  })();
  return true;
}

async function run(ctx: ExecContext, er: ExecRequest, r: Awaited<ReturnType<typeof resolve>>, io: ExecStreams, signal: AbortSignal): Promise<object> {
  try {
    if (er.subresource === 'attach') {
      // The kubelet writes Success once the attached process's streams end (kubelet/cri/streaming serveAttach).
      await r.source.attach!(r.pod, r.container, io, signal);
      return exitStatus(0, []);
    }
    const code = await r.source.exec(r.pod, r.container, er.command, io, signal);
    return exitStatus(code, er.command);
  } catch (e) {
    const status = e instanceof StatusError ? e.status : internalError((e as Error).message).status;
    return status;
  }
}

function runWebSocket(ctx: ExecContext, ws: WebSocket, er: ExecRequest, r: Awaited<ReturnType<typeof resolve>>): void {
  const ac = ctx.track();
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  const stdin = er.stdin ? new Feed<Uint8Array>() : undefined;
  const resize = er.tty ? new Feed<{ width: number; height: number }>() : undefined;
  const send = (ch: number, data: Uint8Array): void => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(Buffer.concat([Buffer.from([ch]), data]));
  };
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    const data = isBinary ? raw : Buffer.from(raw);
    if (!data.length) return;
    const ch = data[0]!;
    const body = data.subarray(1);
    if (ch === CH.stdin) {
      if (body.length) stdin?.push(Buffer.from(body));
    } else if (ch === CH.resize) {
      try {
        const s = JSON.parse(body.toString('utf8')) as { Width?: number; Height?: number };
        resize?.push({ width: s.Width ?? 0, height: s.Height ?? 0 });
      } catch {
        // A malformed resize message is ignored, as the kubelet does.
      }
    } else if (ch === CH.close && v5 && body[0] === CH.stdin) {
      stdin?.end();
    }
  });
  ws.on('close', () => {
    stdin?.end();
    resize?.end();
    ac.abort();
  });
  const io: ExecStreams = {
    ...(stdin ? { stdin } : {}),
    ...(er.stdout ? { stdout: (c: Uint8Array) => send(CH.stdout, c) } : {}),
    ...(er.stderr && !er.tty ? { stderr: (c: Uint8Array) => send(CH.stderr, c) } : {}),
    tty: er.tty,
    ...(resize ? { resize } : {}),
  };
  // client-go creates its stream pipes only after the upgrade returns and drops any frame that
  // arrives for a stream it has not created yet ("Unknown stream id, discarding message"), so a
  // command that prints at once could lose its output on a busy machine. A real container's exec
  // start takes longer than this; the simulated one waits the same before it runs.
  const start = setTimeout(() => {
    void run(ctx, er, r, io, ac.signal).then((status) => {
      send(CH.error, Buffer.from(JSON.stringify(status)));
      ws.close(1000);
      ac.abort();
    });
  }, WS_START_DELAY_MS);
  ac.signal.addEventListener('abort', () => clearTimeout(start), { once: true });
}

function runSpdy(ctx: ExecContext, session: SpdySession, er: ExecRequest, r: Awaited<ReturnType<typeof resolve>>): void {
  const ac = ctx.track();
  const want = new Set(['error', ...(er.stdin ? ['stdin'] : []), ...(er.stdout ? ['stdout'] : []), ...(er.stderr && !er.tty ? ['stderr'] : []), ...(er.tty ? ['resize'] : [])]);
  const streams = new Map<string, SpdyStream>();
  const stdin = er.stdin ? new Feed<Uint8Array>() : undefined;
  const resize = er.tty ? new Feed<{ width: number; height: number }>() : undefined;
  // The client opens every stream before anything runs; give up after 30 s (kubelet's
  // streamCreationTimeout).
  const timer = setTimeout(() => session.close(), 30_000);
  timer.unref?.();
  session.on('close', () => {
    stdin?.end();
    resize?.end();
    ac.abort();
  });
  session.on('stream', (s: SpdyStream) => {
    const type = s.headers.streamtype ?? '';
    streams.set(type, s);
    if (type === 'stdin') {
      s.on('data', (d: Buffer) => stdin?.push(d));
      s.on('end', () => stdin?.end());
    } else if (type === 'resize') {
      let pending = '';
      s.on('data', (d: Buffer) => {
        pending += d.toString('utf8');
        for (let i = pending.indexOf('}'); i >= 0; i = pending.indexOf('}')) {
          try {
            const sz = JSON.parse(pending.slice(0, i + 1)) as { Width?: number; Height?: number };
            resize?.push({ width: sz.Width ?? 0, height: sz.Height ?? 0 });
          } catch {
            // ignored, as above
          }
          pending = pending.slice(i + 1);
        }
      });
    }
    if ([...want].every((w) => streams.has(w))) {
      clearTimeout(timer);
      const out = streams.get('stdout');
      const err = streams.get('stderr');
      const io: ExecStreams = {
        ...(stdin ? { stdin } : {}),
        ...(out ? { stdout: (c: Uint8Array) => out.write(c) } : {}),
        ...(err ? { stderr: (c: Uint8Array) => err.write(c) } : {}),
        tty: er.tty,
        ...(resize ? { resize } : {}),
      };
      void run(ctx, er, r, io, ac.signal).then((status) => {
        out?.end();
        err?.end();
        streams.get('error')!.end(Buffer.from(JSON.stringify(status)));
        // Let the client read the last frames before the session goes.
        setTimeout(() => session.close(), 100).unref?.();
        ac.abort();
      });
    }
  });
}
