/**
 * `berth exec POD [-c CONTAINER] [-i] -- COMMAND [ARGS...]`: runs a command in a running
 * container through the API server's `pods/<name>/exec`, as `kubectl exec` does: a WebSocket
 * with the `v5.channel.k8s.io` subprotocol (each message starts with its channel: 0 stdin,
 * 1 stdout, 2 stderr, 3 the final Status, 255 to close a channel), the container defaulting to
 * the `kubectl.kubernetes.io/default-container` annotation, else the first one. The command's
 * exit code becomes berth's, after kubectl's `command terminated with exit code N`.
 *
 * `-i` sends berth's standard input, read to its end, then closes the command's; an interactive
 * terminal (`-t`) is `kubectl exec -it`'s job.
 */
import { StringDecoder } from 'node:string_decoder';
import WebSocket from 'ws';
import { StatusError } from '../api/errors.js';
import type { Pod, Status } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { CliError, ReportedError } from './errors.js';
import type { Session } from './session.js';
import type { IO } from './types.js';

export interface ExecOptions {
  container?: string;
  stdin?: boolean;
}

/** The WebSocket subprotocols berth exec offers, newest first (as kubectl 1.30+). */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const CLOSE = 255;

/** The exit code a final Status carries: 0 for Success, the NonZeroExitCode cause, else undefined (an error). */
export function exitCodeOf(status: Partial<Status> & { details?: { causes?: { reason?: string; message?: string }[] } }): number | undefined {
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const n = Number(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message);
    return Number.isInteger(n) ? n : 1;
  }
  return undefined;
}

export async function runExec(s: Session, io: IO, args: string[], opts: ExecOptions): Promise<void> {
  const [podName, ...command] = args;
  if (!podName) throw new CliError('expected a POD and a command; for example: berth exec web-abc12 -- ls /');
  if (!command.length) throw new CliError('you must specify at least one command for the container: berth exec POD -- COMMAND [ARGS...]');
  const name = podName.startsWith('pod/') ? podName.slice(4) : podName;
  const pod = await s.client.get<Pod>(Kinds.Pod, name, s.namespace);
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') throw new CliError(`cannot exec into a container in a completed pod; current phase is ${phase}`);
  let container = opts.container;
  if (!container) {
    const names = pod.spec.containers.map((c) => c.name);
    container = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'] ?? names[0]!;
    if (names.length > 1) io.stderr(`Defaulted container "${container}" out of: ${names.join(', ')}\n`);
  }
  const input = opts.stdin ? await io.stdin() : undefined;

  const t = s.config.transport;
  const url = new URL(`${t.server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(s.namespace)}/pods/${encodeURIComponent(name)}/exec`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const c of command) url.searchParams.append('command', c);
  url.searchParams.set('container', container);
  url.searchParams.set('stdout', 'true');
  url.searchParams.set('stderr', 'true');
  if (input !== undefined) url.searchParams.set('stdin', 'true');

  const ws = new WebSocket(url, EXEC_PROTOCOLS, {
    headers: { 'user-agent': 'berth/0.1', ...(t.token ? { authorization: `Bearer ${t.token}` } : {}) },
    ...(t.ca ? { ca: t.ca } : {}),
    ...(t.cert ? { cert: t.cert } : {}),
    ...(t.key ? { key: t.key } : {}),
    rejectUnauthorized: !t.insecureSkipTlsVerify,
  });
  const out = new StringDecoder('utf8');
  const err = new StringDecoder('utf8');
  let status: (Partial<Status> & { details?: { causes?: { reason?: string; message?: string }[] } }) | undefined;
  const abort = (): void => ws.close();
  io.signal?.addEventListener('abort', abort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          try {
            reject(StatusError.fromStatus(JSON.parse(body) as Status));
          } catch {
            reject(new CliError(`unable to upgrade connection: ${res.statusCode} ${body.trim()}`));
          }
        });
      });
      ws.on('open', () => {
        if (input === undefined) return;
        if (input.length) ws.send(Buffer.concat([Buffer.from([STDIN]), Buffer.from(input)]));
        // v5 closes stdin with a CLOSE message; v4 has no way but to leave it open.
        if (ws.protocol === 'v5.channel.k8s.io') ws.send(Buffer.from([CLOSE, STDIN]));
      });
      ws.on('message', (data: Buffer) => {
        const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
        if (!buf.length) return;
        const body = buf.subarray(1);
        if (buf[0] === STDOUT) io.stdout(out.write(body));
        else if (buf[0] === STDERR) io.stderr(err.write(body));
        else if (buf[0] === ERROR && body.length) status = JSON.parse(body.toString('utf8')) as typeof status;
      });
      ws.on('close', () => resolve());
      ws.on('error', (e) => reject(new CliError(`exec failed: ${e.message}`)));
    });
  } finally {
    io.signal?.removeEventListener('abort', abort);
  }
  io.stdout(out.end());
  io.stderr(err.end());
  if (!status) return;
  const code = exitCodeOf(status);
  if (code === 0) return;
  if (code !== undefined) {
    io.stderr(`command terminated with exit code ${code}\n`);
    throw new ReportedError(code);
  }
  throw StatusError.fromStatus(status as Status);
}
