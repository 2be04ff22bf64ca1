/**
 * `berth image import NAME ROOTFS.tar`: sends a root filesystem tarball to the server, which
 * imports it as image NAME into the Docker engine its node agent runs containers in (as
 * `docker import` does), so pods on Docker nodes can use `image: NAME` with no registry.
 */
import { createReadStream, statSync } from 'node:fs';
import { Agent, request } from 'undici';
import { StatusError } from '../api/errors.js';
import type { Status } from '../api/types.js';
import { ConnectionError } from '../client/http.js';
import { CliError } from './errors.js';
import type { Session } from './session.js';
import type { IO } from './types.js';

/** Where the server takes imports (the Docker runtime's route, pkg/agent/runtimes/docker/routes.ts). */
const IMPORT_PATH = '/berth/v1/images/import';

export async function runImageImport(s: Session, io: IO, args: string[]): Promise<void> {
  if (args.length !== 2) throw new CliError('expected an image NAME and a ROOTFS.tar; for example: berth image import web:1.0 rootfs.tar');
  const [name, file] = args as [string, string];
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new CliError(`${file} is not a file: give a tar archive of a root filesystem`);
    size = st.size;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const t = s.config.transport;
  const url = new URL(`${t.server.replace(/\/$/, '')}${IMPORT_PATH}`);
  url.searchParams.set('name', name);
  const dispatcher = new Agent({
    connect: { ...(t.ca ? { ca: t.ca } : {}), ...(t.cert ? { cert: t.cert } : {}), ...(t.key ? { key: t.key } : {}), rejectUnauthorized: !t.insecureSkipTlsVerify },
  });
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/x-tar', 'content-length': String(size), 'user-agent': 'berth/0.1', ...(t.token ? { authorization: `Bearer ${t.token}` } : {}) },
      body: createReadStream(file),
      headersTimeout: 10 * 60_000,
      bodyTimeout: 10 * 60_000,
    });
  } catch (e) {
    await dispatcher.close();
    throw new ConnectionError(t.server, (e as Error).message);
  }
  const text = await res.body.text();
  await dispatcher.close();
  let body: { kind?: string; name?: string; id?: string } & Partial<Status>;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new CliError(`the server answered ${res.statusCode}: ${text.trim().slice(0, 200)}`);
  }
  if (res.statusCode >= 400) throw StatusError.fromStatus(body as Status);
  io.stdout(`image ${body.name} imported (${body.id})\n`);
}
