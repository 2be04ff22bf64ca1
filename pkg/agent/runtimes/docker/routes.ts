/**
 * The image import endpoint on the API server's port, for `berth image import NAME ROOTFS.tar`:
 * the tarball goes to the server, which imports it into the Docker engine its agent uses (no
 * registry is needed, and the user need not know where that engine is).
 *
 * `POST /berth/v1/images/import?name=NAME` with the tar as the body (`application/x-tar`,
 * streamed, any size) answers `201 {"kind":"ImageImport","name":"web:1","id":"sha256:…"}`, or a
 * Kubernetes Status: 400 for a bad name or archive, 503 when the engine cannot be reached.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Readable } from 'node:stream';
import { badRequest } from '../../../api/errors.js';
import type { DockerRuntime } from './docker.js';

/** The path of the endpoint. */
export const IMAGE_IMPORT_PATH = '/berth/v1/images/import';

/** The answer to an import. */
export interface ImageImportResult {
  kind: 'ImageImport';
  name: string;
  id: string;
}

/** The fastify plugin serving image imports into `runtime`'s engine. */
export function imageImportRoutes(runtime: DockerRuntime): FastifyPluginAsync {
  return async (app) => {
    // The archive arrives as a stream, handed to the engine as it comes.
    for (const type of ['application/x-tar', 'application/octet-stream']) app.addContentTypeParser(type, (_req, payload, done) => done(null, payload));
    app.post(IMAGE_IMPORT_PATH, async (req, reply) => {
      const name = (req.query as { name?: string }).name;
      if (!name) throw badRequest('the name query parameter is required: POST /berth/v1/images/import?name=REPOSITORY[:TAG]');
      const body = req.body as Readable | undefined;
      if (!body || typeof (body as Readable).pipe !== 'function') throw badRequest('the request body must be a tar archive sent as application/x-tar');
      const out: ImageImportResult = { kind: 'ImageImport', ...(await runtime.importImage(name, body)) };
      return reply.code(201).send(out);
    });
  };
}
