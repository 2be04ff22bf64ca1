/**
 * Byte streams of Docker containers: logs (`GET /containers/<id>/logs`) and exec sessions
 * (`POST /exec/<id>/start`, hijacked). Without a TTY Docker multiplexes stdout and stderr in one
 * stream of frames: an 8-byte header (stream 1 = stdout, 2 = stderr; 3 bytes zero; a 32-bit
 * big-endian length) then the payload
 * (https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerAttach).
 */
import type Dockerode from 'dockerode';
import type { Duplex, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ExecStreams } from '../../../apiserver/app.js';

/** Splits a multiplexed stream into frames, across chunk boundaries. */
export class Demuxer {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly emit: (stream: 1 | 2, data: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) return;
      const kind = this.buf[0] === 2 ? 2 : 1;
      this.emit(kind, this.buf.subarray(8, 8 + size));
      this.buf = this.buf.subarray(8 + size);
    }
  }
}

/** The text of a whole multiplexed buffer (stdout and stderr interleaved in order), or the buffer itself with a TTY. */
export function demuxAll(buf: Buffer, tty: boolean): string {
  if (tty) return buf.toString('utf8');
  const parts: Buffer[] = [];
  new Demuxer((_, d) => parts.push(d)).push(buf);
  return Buffer.concat(parts).toString('utf8');
}

/** Cuts text to at most `limit` bytes of UTF-8 (the kubelet cuts the stream, even mid-line). */
export function cutBytes(text: string, limit: number): string {
  if (limit === Infinity || Buffer.byteLength(text) <= limit) return text;
  return Buffer.from(text).subarray(0, limit).toString('utf8');
}

/**
 * A followed log as text chunks, until the container stops (Docker ends the stream), `limit`
 * bytes have been sent, or `signal` aborts.
 */
export async function* followLog(stream: Readable, tty: boolean, limit: number, signal: AbortSignal): AsyncGenerator<string> {
  const stop = (): void => void stream.destroy();
  signal.addEventListener('abort', stop, { once: true });
  const decoder = new StringDecoder('utf8');
  let left = limit;
  const pending: Buffer[] = [];
  const demux = new Demuxer((_, d) => pending.push(d));
  try {
    for await (const chunk of stream) {
      if (tty) pending.push(chunk as Buffer);
      else demux.push(chunk as Buffer);
      const text = decoder.write(Buffer.concat(pending.splice(0)));
      if (!text) continue;
      const out = cutBytes(text, left);
      left -= Buffer.byteLength(out);
      if (out) yield out;
      if (left <= 0) return;
    }
  } catch (e) {
    if (!signal.aborted) throw e;
  } finally {
    signal.removeEventListener('abort', stop);
    stream.destroy();
  }
}

/**
 * Runs an exec session: wires `io` to the hijacked connection, resizes the terminal on request,
 * and resolves with the command's exit code once its output ends. Aborting `signal` closes the
 * connection (Docker cannot kill an exec'd process: it ends when its stdin and stdout close, or
 * with the container).
 */
export async function runExec(exec: Dockerode.Exec, io: ExecStreams, signal: AbortSignal): Promise<number> {
  const tty = !!io.tty;
  const conn = (await exec.start({ hijack: true, stdin: !!io.stdin, Tty: tty })) as Duplex;
  const stop = (): void => void conn.destroy();
  signal.addEventListener('abort', stop, { once: true });
  const demux = new Demuxer((kind, data) => (kind === 2 && io.stderr ? io.stderr(data) : io.stdout?.(data)));
  if (io.stdin) {
    const input = io.stdin;
    void (async () => {
      try {
        for await (const chunk of input) if (!conn.destroyed) conn.write(chunk);
      } catch {
        // The client went: closing stdin is all that is left to do.
      }
      if (!conn.destroyed) conn.end();
    })();
  }
  if (io.resize) {
    const sizes = io.resize;
    void (async () => {
      try {
        for await (const s of sizes) await exec.resize({ h: s.height, w: s.width }).catch(() => undefined);
      } catch {
        // The session ended.
      }
    })();
  }
  try {
    await new Promise<void>((resolve, reject) => {
      conn.on('data', (d: Buffer) => (tty ? io.stdout?.(d) : demux.push(d)));
      conn.once('end', resolve);
      conn.once('close', resolve);
      conn.once('error', (e) => (signal.aborted ? resolve() : reject(e)));
    });
  } finally {
    signal.removeEventListener('abort', stop);
    conn.destroy();
  }
  // The output has ended; the process may take a moment to be reaped.
  for (let i = 0; i < 50; i++) {
    const info = await exec.inspect();
    if (!info.Running) return info.ExitCode ?? 0;
    await new Promise((r) => setTimeout(r, 20));
  }
  return (await exec.inspect()).ExitCode ?? 0;
}
