/**
 * The connection to a Docker engine (dockerode): where it is, whether it answers, its event
 * stream, and the image and container calls the Docker runtime makes. Two dockerode clients
 * share the address: one with a request timeout for quick calls, one without for streams
 * (events, followed logs, `wait`, exec sessions, image imports).
 */
import Dockerode from 'dockerode';
import type { Readable } from 'node:stream';

/** Thrown for a `--docker-host` berth cannot use; the message says what is accepted. */
export class DockerHostError extends Error {
  readonly code = 'InvalidDockerHost';
  constructor(host: string, why: string) {
    super(`invalid Docker host "${host}": ${why}; use unix:///path/to/docker.sock or tcp://127.0.0.1:2375`);
    this.name = 'DockerHostError';
  }
}

/** The default engine address: `$DOCKER_HOST`, else the system socket. */
export function defaultDockerHost(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** dockerode's options for an address: `unix:///path` or `tcp://host:port` (plain HTTP). Throws DockerHostError. */
export function dockerOptions(host: string): Dockerode.DockerOptions {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new DockerHostError(host, 'a unix socket path must be absolute');
    return { socketPath };
  }
  if (host.startsWith('tcp://') || host.startsWith('http://')) {
    let url: URL;
    try {
      url = new URL(host.replace(/^tcp:/, 'http:'));
    } catch {
      throw new DockerHostError(host, 'not a URL');
    }
    if (!url.port) throw new DockerHostError(host, 'a tcp address needs a port');
    return { host: url.hostname, port: Number(url.port), protocol: 'http' };
  }
  throw new DockerHostError(host, 'unsupported scheme');
}

/** A registry host (`registry.example.com`, `localhost`), as distribution/reference's domain-name. */
const DOMAIN = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
/** One path component of a repository (`web`, `my_app`, `a-b.c`), as distribution/reference's path-component. */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*$/;
/** A tag (`1`, `1.0`, `v2-rc.1`): up to 128 word characters, dots and dashes, not starting with either. */
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * Splits an image name for an import (`docker import … REPOSITORY[:TAG]`) into its repository
 * and tag (default `latest`), by the grammar of github.com/distribution/reference: the tag is
 * what follows the last `:` after the last `/` (so `web:1` is repository `web`, tag `1`, while
 * `registry:5000/web` is repository `registry:5000/web`, tag `latest`). A first component
 * before a `/` may be a registry host with a port; path components are lowercase. Undefined for
 * a name that is not valid (uppercase path, empty parts, a digest, …).
 */
export function parseImageName(name: string): { repository: string; tag: string } | undefined {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const [repository, tag] = colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, 'latest'];
  if (!TAG.test(tag) || repository.length > 255) return undefined;
  const parts = repository.split('/');
  // As Docker reads it: a first component with a dot or a port, or `localhost`, is the registry.
  if (parts.length > 1 && DOMAIN.test(parts[0]!) && /[.:]|^localhost$/.test(parts[0]!)) parts.shift();
  if (!parts.every((p) => PATH_COMPONENT.test(p))) return undefined;
  return { repository, tag };
}

/** The engine's message in a dockerode error (`No such image: x:1`), else the error's own. */
export function dockerMessage(e: unknown): string {
  const err = e as { json?: { message?: string }; message?: string; code?: string; address?: string };
  if (err?.json && typeof err.json === 'object' && err.json.message) return err.json.message;
  if (err?.code && err.address) return `${err.code === 'ENOENT' ? 'no such socket' : err.code} ${err.address}`;
  return (err?.message ?? String(e)).replace(/^\(HTTP code \d+\) [\w ]+ - /, '').trim();
}

/** The HTTP status of a dockerode error (404 for a missing container or image), if it has one. */
export function dockerStatus(e: unknown): number | undefined {
  return (e as { statusCode?: number })?.statusCode;
}

/** One event of the engine's stream (`GET /events`), as far as berth reads it. */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export class DockerEngine {
  /** For quick calls: a request that hangs past `timeoutMs` fails. */
  readonly api: Dockerode;
  /** For streams, which may stay open for as long as their container runs. */
  readonly streams: Dockerode;

  /** Throws DockerHostError for an address it cannot use. */
  constructor(
    readonly host: string,
    timeoutMs = 10_000,
  ) {
    const opts = dockerOptions(host);
    this.api = new Dockerode({ ...opts, timeout: timeoutMs });
    this.streams = new Dockerode(opts);
  }

  /** Resolves if the engine answers `GET /_ping`; rejects with the reason otherwise. */
  async ping(): Promise<void> {
    await this.api.ping();
  }

  /** The engine's version (`20.10.24+dfsg1`). */
  async version(): Promise<string> {
    return (await this.api.version()).Version;
  }

  /**
   * Calls `onEvent` for every container event of containers carrying `label` until the stream
   * ends or `signal` aborts. Rejects when the engine cannot be reached.
   */
  async events(label: string, signal: AbortSignal, onEvent: (e: EngineEvent) => void): Promise<void> {
    const stream = (await this.streams.getEvents({ filters: { type: ['container'], label: [label] } })) as Readable;
    const stop = (): void => void stream.destroy();
    signal.addEventListener('abort', stop, { once: true });
    let buf = '';
    try {
      for await (const chunk of stream) {
        buf += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          try {
            onEvent(JSON.parse(line) as EngineEvent);
          } catch {
            // A line that is not JSON: skip it.
          }
        }
      }
    } catch (e) {
      if (!signal.aborted) throw e;
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  /** Every container (running or not) carrying all of `labels` (`key=value`). */
  list(labels: string[]): Promise<Dockerode.ContainerInfo[]> {
    return this.api.listContainers({ all: true, filters: { label: labels } });
  }

  /** A container's details; undefined when it no longer exists. */
  async inspect(id: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
    try {
      return await this.api.getContainer(id).inspect();
    } catch (e) {
      if (dockerStatus(e) === 404) return undefined;
      throw e;
    }
  }

  /** An image's details; undefined when the engine does not have it. */
  async image(ref: string): Promise<Dockerode.ImageInspectInfo | undefined> {
    try {
      return await this.api.getImage(ref).inspect();
    } catch (e) {
      if (dockerStatus(e) === 404) return undefined;
      throw e;
    }
  }

  /** Pulls an image from its registry, failing after `timeoutMs` (real). Rejects with the engine's reason. */
  async pull(ref: string, timeoutMs: number): Promise<void> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
      const stream = (await this.streams.pull(ref, { abortSignal: ac.signal })) as Readable;
      await new Promise<void>((resolve, reject) => {
        ac.signal.addEventListener('abort', () => {
          stream.destroy();
          reject(new Error(`pull timed out after ${Math.round(timeoutMs / 1000)}s`));
        });
        this.streams.modem.followProgress(stream, (err: Error | null, out: { error?: string; errorDetail?: { message?: string } }[]) => {
          if (err) return reject(err);
          const failed = out.find((o) => o.error || o.errorDetail);
          if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error));
          else resolve();
        });
      });
    } catch (e) {
      if (ac.signal.aborted) throw new Error(`pull timed out after ${Math.round(timeoutMs / 1000)}s`);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Imports a root filesystem tarball as image `repo:tag` (`docker import`), resolving with the
   * image id (`sha256:…`). Rejects with the engine's reason (not a tar archive, …).
   */
  async importImage(tar: Readable, repo: string, tag: string): Promise<string> {
    const stream = (await this.streams.importImage(tar, { repo, tag })) as Readable;
    const out = await new Promise<{ status?: string; error?: string; errorDetail?: { message?: string } }[]>((resolve, reject) => {
      this.streams.modem.followProgress(stream, (err: Error | null, res: { status?: string; error?: string }[]) => (err ? reject(err) : resolve(res)));
    });
    const failed = out.find((o) => o.error || o.errorDetail);
    if (failed) throw new Error(failed.errorDetail?.message ?? failed.error);
    const img = await this.image(`${repo}:${tag}`);
    if (!img) throw new Error(`the engine did not keep image ${repo}:${tag}`);
    return img.Id;
  }
}
