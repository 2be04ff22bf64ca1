/**
 * Real listeners: each load balancer listens on its own loopback address (127.0.1.x; the whole
 * 127/8 range reaches this machine) on its listeners' ports. An HTTP listener (Application Load
 * Balancer) proxies each request to the target its target group picks, adding
 * `X-Forwarded-For`/`-Proto`/`-Port`; a TCP listener (Network Load Balancer) pipes each
 * connection to the one target a hash of its flow picks, for the connection's life, from the
 * load balancer's own address — or, with `preserve_client_ip.enabled`, from the client's own
 * address (any 127/8 address is this machine's, so the target's socket sees the client's IP as
 * on AWS). Targets are reached through a `Dialer` (a pod's loopback port).
 */
import { Agent, createServer as createHttpServer, request, Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { Clock } from '../clock/clock.js';
import { headBytes, type CheckResult, type HealthCheck, type TargetGroupEngine, type TargetSpec, type TargetTransport } from './targetgroup.js';

/** Where a target answers on this machine. Throws when it cannot be reached (no such pod). */
export type Dialer = (t: TargetSpec) => Promise<{ host: string; port: number }>;

/** Health checks over real sockets, timed out on the cluster clock. */
export function socketTransport(dial: Dialer, clock: Clock): TargetTransport {
  return {
    async healthCheck(t: TargetSpec, hc: HealthCheck): Promise<CheckResult> {
      let addr: { host: string; port: number };
      try {
        addr = await dial(t);
      } catch {
        return { error: 'connect' };
      }
      return new Promise<CheckResult>((resolve) => {
        let settled = false;
        let cancel = (): void => {};
        const finish = (r: CheckResult): void => {
          if (settled) return;
          settled = true;
          cancel();
          resolve(r);
        };
        if (hc.protocol === 'TCP') {
          const sock = connect(addr.port, addr.host, () => {
            sock.destroy();
            finish({ status: 200 });
          });
          sock.on('error', () => finish({ error: 'connect' }));
          cancel = clock.setTimer(hc.timeoutSeconds * 1000, () => {
            sock.destroy();
            finish({ error: 'timeout' });
          });
          return;
        }
        const req = request({ host: addr.host, port: addr.port, path: hc.path, method: 'GET', agent: false, headers: { 'user-agent': 'ELB-HealthChecker/2.0', connection: 'close' } }, (res) => {
          res.resume();
          finish({ status: res.statusCode ?? 0 });
        });
        req.on('error', () => finish({ error: 'connect' }));
        req.end();
        cancel = clock.setTimer(hc.timeoutSeconds * 1000, () => {
          req.destroy();
          finish({ error: 'timeout' });
        });
      });
    },
  };
}

/** One listener: a port of a load balancer's address, forwarding to a target group. */
export class Listener {
  private server?: HttpServer | TcpServer;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly address: string,
    readonly port: number,
    readonly protocol: 'HTTP' | 'TCP',
    public group: TargetGroupEngine,
    private readonly dial: Dialer,
    private readonly clock: Clock,
  ) {}

  /** The port it listens on (the one asked for, or the one the system chose for port 0). */
  get boundPort(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.port;
  }

  /** Starts listening. Throws (EADDRINUSE, EACCES) when the port cannot be had. */
  async listen(): Promise<void> {
    const server = this.protocol === 'HTTP' ? createHttpServer((req, res) => this.proxy(req, res)) : createTcpServer((s) => this.pipe(s));
    if (server instanceof HttpServer) server.keepAliveTimeout = 60_000; // idle_timeout.timeout_seconds default
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  private proxy(req: IncomingMessage, res: ServerResponse, attempt = 0): void {
    const group = this.group;
    const started = this.clock.now();
    const client = req.socket.remoteAddress ?? '';
    const t = group.pick(client);
    if (!t) {
      group.elb5xx++;
      res.writeHead(503, { 'content-type': 'text/plain', server: 'awselb/2.0' }).end('503 Service Temporarily Unavailable: the target group has no registered targets\n');
      return;
    }
    let finished = false;
    // Bytes carried: the request as the client sent it, the response as the target sent it.
    const bytes = { in: headBytes(`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}`, req.rawHeaders), out: 0 };
    const finish = (status: number): void => {
      if (finished) return;
      finished = true;
      group.done(t, status, this.clock.now() - started, bytes);
    };
    this.dial(t.spec)
      .then(({ host, port }) => {
        const fwd = req.headers['x-forwarded-for'];
        const headers = { ...req.headers, 'x-forwarded-for': fwd ? `${fwd}, ${client}` : client, 'x-forwarded-proto': 'http', 'x-forwarded-port': String(this.port) };
        const up = request({ host, port, method: req.method, path: req.url, headers, agent: this.agent }, (ur) => {
          bytes.out += headBytes(`HTTP/${ur.httpVersion} ${ur.statusCode ?? 502} ${ur.statusMessage ?? ''}`, ur.rawHeaders);
          ur.on('data', (c: Buffer) => (bytes.out += c.length));
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
          ur.on('end', () => finish(ur.statusCode ?? 0));
          ur.on('error', () => finish(0));
        });
        up.on('error', (e: NodeJS.ErrnoException) => {
          // A reused keep-alive connection the target had closed, before any answer: an
          // idempotent request goes to another target once (nginx's `proxy_next_upstream error`).
          const retry = !res.headersSent && attempt === 0 && (req.method === 'GET' || req.method === 'HEAD') && (e.code === 'ECONNRESET' || e.code === 'ECONNREFUSED' || e.code === 'EPIPE');
          if (retry) {
            finished = true;
            group.done(t, 0, this.clock.now() - started);
            this.proxy(req, res, 1);
            return;
          }
          finish(0);
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain', server: 'awselb/2.0' }).end('502 Bad Gateway\n');
          else res.destroy();
        });
        if (attempt === 0) {
          // Counted as it flows to the target (a listener added earlier would start the flow before the pipe).
          req.on('data', (c: Buffer) => (bytes.in += c.length));
          req.pipe(up);
        } else up.end();
      })
      .catch(() => {
        finish(0);
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain', server: 'awselb/2.0' }).end('502 Bad Gateway\n');
      });
    res.on('close', () => finish(res.writableFinished ? res.statusCode : 0));
  }

  private pipe(s: Socket): void {
    const group = this.group;
    const started = this.clock.now();
    const client = s.remoteAddress ?? '';
    const t = group.pick(client, `${client}:${s.remotePort ?? 0}->${this.address}:${this.port}/tcp`);
    if (!t) {
      group.elb5xx++;
      s.destroy();
      return;
    }
    let finished = false;
    const bytes = { in: 0, out: 0 };
    const finish = (): void => {
      if (finished) return;
      finished = true;
      group.done(t, undefined, this.clock.now() - started, bytes);
    };
    s.on('close', finish);
    s.on('error', () => s.destroy());
    this.dial(t.spec)
      .then(({ host, port }) => {
        // The source address the target sees: the client's, or the load balancer's own.
        const localAddress = group.settings.preserveClientIp && client ? client.replace(/^::ffff:/, '') : this.address;
        const up = connect({ port, host, localAddress });
        s.on('data', (c: Buffer) => (bytes.in += c.length));
        up.on('data', (c: Buffer) => (bytes.out += c.length));
        up.on('error', () => s.destroy());
        up.on('close', () => s.destroy());
        s.pipe(up).pipe(s);
      })
      .catch(() => s.destroy());
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

