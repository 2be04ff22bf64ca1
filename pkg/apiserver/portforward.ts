/**
 * `pods/<name>/portforward` (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#get-connect-portforward-pod):
 * `kubectl port-forward` relays TCP connections to a pod's port over one upgraded connection.
 *
 * - kubectl 1.27–1.30 upgrade to SPDY/3.1 (`X-Stream-Protocol-Version: portforward.k8s.io`).
 *   For every local connection the client opens two streams with the headers `streamType`
 *   (`error` or `data`), `port` and `requestID`; once both streams of a request are there the
 *   server connects to the pod's port and copies bytes both ways over the data stream, writing
 *   any failure as text on the error stream, and closes both when the connection ends (the
 *   kubelet's httpStreamHandler, pkg/kubelet/cri/streaming/portforward/httpstream.go).
 * - kubectl 1.31+ (PortForwardWebsockets, beta; 1.30 with `KUBECTL_PORT_FORWARD_WEBSOCKETS=true`)
 *   open a WebSocket with the subprotocol `SPDY/3.1+portforward.k8s.io` and speak the same SPDY
 *   inside its binary messages (KEP-4006's tunnelling; client-go's
 *   tools/portforward/tunneling_connection.go), falling back to plain SPDY when the upgrade fails.
 *
 * - @kubernetes/client-node's `PortForward` opens a WebSocket with a channel subprotocol
 *   (`v5.channel.k8s.io`, `v4.channel.k8s.io`) and `?ports=8080[,9090]`: for the i-th port, channel
 *   2i carries data and 2i+1 errors, and the first message on each starts with the port number
 *   (16-bit little-endian), one TCP connection per port for the life of the WebSocket (the
 *   kubelet's pkg/kubelet/cri/streaming/portforward/websocket.go).
 *
 * Where the pod's port is comes from `PodPortForwardSource` (the elb component: a simulated pod's
 * application server, or a Docker pod's published host port).
 */
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { badRequest, internalError, StatusError } from '../api/errors.js';
import type { ResourceRegistry } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import type { PodPortForwardSource } from './app.js';
import { writeHttpError } from './exec.js';
import { SpdySession, type SpdyStream } from './spdy.js';
import type { ObjectStore } from './store.js';

/** The SPDY subprotocol of port forwarding (client-go `PortForwardProtocolV1Name`). */
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** The WebSocket subprotocol that tunnels it (`SPDY/3.1+` + PORT_FORWARD_PROTOCOL). */
export const PORT_FORWARD_WS_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;
/** The channel subprotocols of the WebSocket port-forward that @kubernetes/client-node speaks, most preferred first. */
export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

/**
 * The name the WebSocket library negotiates in place of PORT_FORWARD_WS_PROTOCOL: `/` and `+` are
 * not token characters (RFC 6455 §4.1, RFC 7230 §3.2.6), so `ws` refuses the real name; the
 * handshake response is given the real name back (`restorePortForwardProtocol`).
 */
export const PORT_FORWARD_WS_ALIAS = 'berth.portforward-tunnel';
/** Milliseconds the server waits for the second stream of a request (kubelet's streamCreationTimeout, 30 s). */
const STREAM_CREATION_TIMEOUT_MS = 30_000;

/** Parses `/api/v1/namespaces/<ns>/pods/<name>/portforward`; undefined for any other path. */
export function parsePortForwardPath(url: string): { namespace: string; pod: string } | undefined {
  const path = new URL(url, 'http://x').pathname;
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward\/?$/.exec(path);
  return m ? { namespace: decodeURIComponent(m[1]!), pod: decodeURIComponent(m[2]!) } : undefined;
}

/** Checks a port-forward target before upgrading: the pod runs. Throws BadRequest. */
export function checkPortForwardPod(pod: KubeObject): void {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (phase !== 'Running') throw badRequest(`pod ${pod.metadata.name} is not running (phase ${phase ?? 'Pending'}): cannot forward ports to it`);
}

/**
 * A WebSocket as a byte stream: each binary message's bytes are read in order, each write goes
 * out as one binary message (what client-go's TunnelingConnection expects on the other side).
 */
export function webSocketDuplex(ws: WebSocket): Duplex {
  const d = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) return cb();
      ws.send(chunk, { binary: true }, () => cb());
    },
    final(cb) {
      ws.close(1000);
      cb();
    },
    destroy(_err, cb) {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
      cb(null);
    },
  });
  ws.on('message', (data: Buffer | Buffer[] | ArrayBuffer) => {
    d.push(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
  });
  ws.on('close', () => {
    d.push(null);
    d.destroy();
  });
  ws.on('error', () => d.destroy());
  return d;
}

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Serves port forwarding on a SPDY session (on an upgraded socket or inside a WebSocket): each
 * request's data stream is joined to a TCP connection to the pod's port. `signal` aborts when the
 * API server closes.
 */
export function servePortForward(session: SpdySession, pod: KubeObject, source: PodPortForwardSource, signal: AbortSignal): void {
  const pairs = new Map<string, Pair>();
  const sockets = new Set<Socket>();
  const closeAll = (): void => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
    for (const s of sockets) s.destroy();
  };
  session.on('close', closeAll);
  signal.addEventListener('abort', () => session.close(), { once: true });
  session.on('stream', (s: SpdyStream) => {
    const type = s.headers.streamtype;
    const portText = s.headers.port ?? '';
    // Older clients send no requestID: pair by stream id as the kubelet does (error = id, data = id - 2).
    const id = s.headers.requestid ?? String(type === 'data' ? s.id - 2 : s.id);
    let p = pairs.get(id);
    if (!p) {
      const timer = setTimeout(() => {
        pairs.delete(id);
        p?.error?.end(Buffer.from(`(request=${id}) timed out waiting for streams`));
        p?.data?.end();
      }, STREAM_CREATION_TIMEOUT_MS);
      timer.unref?.();
      pairs.set(id, (p = { timer }));
    }
    const port = Number(portText);
    if (type !== 'data' && type !== 'error') {
      s.end();
      return;
    }
    if (p[type]) {
      p.error?.write(Buffer.from(`error processing stream for request ${id}: ${type} stream already assigned`));
      s.end();
      return;
    }
    p[type] = s;
    if (!p.data || !p.error) return;
    clearTimeout(p.timer);
    pairs.delete(id);
    const { data, error } = p;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      error.end(Buffer.from(`unable to parse "${portText}" as a port`));
      data.end();
      return;
    }
    forward(pod, port, data, error, source, sockets);
  });
}

/** Joins one data stream to a new TCP connection to the pod's `port`; closes both streams when it ends. */
function forward(pod: KubeObject, port: number, data: SpdyStream, error: SpdyStream, source: PodPortForwardSource, sockets: Set<Socket>): void {
  const fail = (e: unknown): void => {
    error.end(Buffer.from(`error forwarding port ${port} to pod ${pod.metadata.namespace}/${pod.metadata.name}, uid ${pod.metadata.uid}: ${(e as Error).message ?? String(e)}`));
    data.end();
  };
  // Bytes the client sends before the connection is up wait here.
  const early: Buffer[] = [];
  let clientEnded = false;
  let sock: Socket | undefined;
  data.on('data', (b: Buffer) => (sock ? sock.write(b) : early.push(b)));
  data.on('end', () => {
    clientEnded = true;
    sock?.end();
  });
  source.dial(pod, port).then(
    (addr) => {
      const s = connect(addr.port, addr.host);
      sock = s;
      sockets.add(s);
      for (const b of early.splice(0)) s.write(b);
      if (clientEnded) s.end();
      s.on('data', (b: Buffer) => data.write(b));
      s.on('error', (e) => fail(new Error(`dial tcp ${addr.host}:${addr.port}: ${e.message}`)));
      s.on('close', () => {
        sockets.delete(s);
        data.end();
        error.end();
      });
    },
    (e: unknown) => fail(e),
  );
}

/** What the port-forward upgrade needs from the API server. */
export interface PortForwardContext {
  store: ObjectStore;
  registry: ResourceRegistry;
  /** Where pods' ports are, read at request time; without one port forwarding answers BadRequest. */
  source: () => PodPortForwardSource | undefined;
  /** An AbortController per session, aborted when the server closes. */
  track: () => AbortController;
}

/**
 * Handles an HTTP upgrade on the API server's port when it is a port-forward (SPDY/3.1, or a
 * WebSocket tunnelling SPDY); returns false for any other path. A pod that does not exist or does
 * not run is answered with its Status (NotFound, BadRequest) and no upgrade.
 */
export function handlePortForwardUpgrade(ctx: PortForwardContext, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
  const target = parsePortForwardPath(req.url ?? '');
  if (!target) return false;
  const upgrade = (req.headers.upgrade ?? '').toLowerCase();
  void (async () => {
    let pod: KubeObject;
    let source: PodPortForwardSource;
    try {
      pod = await ctx.store.get(ctx.registry.get('', 'v1', 'pods')!, target.namespace, target.pod);
      checkPortForwardPod(pod);
      const s = ctx.source();
      if (!s) throw badRequest('no component on this server reaches pod ports (the elb component serves them)');
      source = s;
    } catch (e) {
      writeHttpError(socket, e instanceof StatusError ? e : internalError((e as Error).message));
      return;
    }
    const serve = (session: SpdySession): void => {
      const ac = ctx.track();
      session.on('close', () => ac.abort());
      servePortForward(session, pod, source, ac.signal);
    };
    if (upgrade === 'websocket') {
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim());
      if (!offered.includes(PORT_FORWARD_WS_PROTOCOL)) {
        const channel = CHANNEL_PROTOCOLS.find((p) => offered.includes(p));
        const ports = new URL(req.url ?? '', 'http://x').searchParams
          .getAll('ports')
          .flatMap((p) => p.split(','))
          .map((p) => p.trim())
          .filter(Boolean);
        if (!channel) {
          writeHttpError(socket, badRequest(`unable to upgrade: no supported subprotocol among [${offered.join(', ')}]: berth speaks ${[PORT_FORWARD_WS_PROTOCOL, ...CHANNEL_PROTOCOLS].join(', ')}`));
          return;
        }
        const nums = ports.map(Number);
        if (!nums.length || nums.some((n) => !Number.isInteger(n) || n < 1 || n > 65535)) {
          writeHttpError(socket, badRequest(ports.length ? `invalid port in "ports": ${ports.join(',')}` : 'query parameter "ports" is required'));
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          const ac = ctx.track();
          ws.on('close', () => ac.abort());
          serveChannelPortForward(ws, pod, nums, source, ac.signal);
        });
        return;
      }
      req.headers['sec-websocket-protocol'] = PORT_FORWARD_WS_ALIAS;
      wss.handleUpgrade(req, socket, head, (ws) => serve(new SpdySession(webSocketDuplex(ws))));
    } else if (upgrade.startsWith('spdy/3.1')) {
      const offered = String(req.headers['x-stream-protocol-version'] ?? '')
        .split(',')
        .map((p) => p.trim());
      if (!offered.includes(PORT_FORWARD_PROTOCOL)) {
        writeHttpError(socket, badRequest(`unable to upgrade: no supported stream protocol among [${offered.join(', ')}]: berth speaks ${PORT_FORWARD_PROTOCOL}`));
        return;
      }
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n\r\n`);
      if (head.length) socket.unshift(head);
      serve(new SpdySession(socket));
    } else {
      writeHttpError(socket, badRequest(`unable to upgrade: the upgrade "${upgrade}" is not supported: use websocket or SPDY/3.1`));
    }
  })();
  return true;
}

/**
 * A WebSocketServer `headers` listener: puts the real subprotocol name (`SPDY/3.1+portforward.k8s.io`)
 * in the handshake response of a port-forward in place of PORT_FORWARD_WS_ALIAS.
 */
export function restorePortForwardProtocol(headers: string[], req: IncomingMessage): void {
  if (!parsePortForwardPath(req.url ?? '')) return;
  for (let i = 0; i < headers.length; i++) {
    if (headers[i]!.toLowerCase() === `sec-websocket-protocol: ${PORT_FORWARD_WS_ALIAS}`) headers[i] = `Sec-WebSocket-Protocol: ${PORT_FORWARD_WS_PROTOCOL}`;
  }
}

/**
 * Port forwarding over a WebSocket channel protocol: one TCP connection to each of `ports`,
 * data on channel 2i, errors on 2i+1, each channel's first message starting with its port
 * (little-endian uint16). The WebSocket closes when a connection ends, as the kubelet's does.
 */
export function serveChannelPortForward(ws: WebSocket, pod: KubeObject, ports: number[], source: PodPortForwardSource, signal: AbortSignal): void {
  const send = (ch: number, data: Uint8Array): void => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), data]));
  };
  const prefix = (port: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(port, 0);
    return b;
  };
  const socks: (Socket | undefined)[] = [];
  const early: Buffer[][] = ports.map(() => []);
  const done = (): void => {
    for (const s of socks) s?.destroy();
    if (ws.readyState === ws.OPEN) ws.close(1000);
  };
  signal.addEventListener('abort', done, { once: true });
  ports.forEach((port, i) => {
    send(2 * i, prefix(port));
    send(2 * i + 1, prefix(port));
    source.dial(pod, port).then(
      (addr) => {
        if (signal.aborted) return;
        const s = connect(addr.port, addr.host);
        socks[i] = s;
        for (const b of early[i]!.splice(0)) s.write(b);
        s.on('data', (b: Buffer) => send(2 * i, b));
        s.on('error', (e) => send(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${pod.metadata.namespace}/${pod.metadata.name}, uid ${pod.metadata.uid}: dial tcp ${addr.host}:${addr.port}: ${e.message}`)));
        s.on('close', done);
      },
      (e: unknown) => {
        send(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${pod.metadata.namespace}/${pod.metadata.name}, uid ${pod.metadata.uid}: ${(e as Error).message ?? String(e)}`));
        done();
      },
    );
  });
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    const data = isBinary ? raw : Buffer.from(raw);
    if (!data.length) return;
    const ch = data[0]!;
    if (ch === 255) {
      // v5: the client closed its side of a channel (data[1]): half-close that connection.
      const i = data[1]! / 2;
      if (Number.isInteger(i)) socks[i]?.end();
      return;
    }
    if (ch % 2 !== 0 || ch / 2 >= ports.length) return;
    const i = ch / 2;
    const body = Buffer.from(data.subarray(1));
    if (!body.length) return;
    if (socks[i]) socks[i]!.write(body);
    else early[i]!.push(body);
  });
  ws.on('close', () => {
    for (const s of socks) s?.destroy();
  });
}
