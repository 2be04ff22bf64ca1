/**
 * OpenAPI documents, as far as kubectl needs them (KUBECTL-SURFACE.md §3): an index of
 * per-group-version OpenAPI v3 documents and a v2 document. The documents carry no schemas yet,
 * so kubectl falls back to its compiled-in types for strategic merge patches and does no
 * client-side schema validation; the server validates every write itself.
 */
import { groupVersion, type ResourceRegistry } from '../api/resources.js';

const INFO = { title: 'Kubernetes', version: 'v1.32.0' };

/** `GET /openapi/v2` as JSON (kubectl asks for protobuf and gets an empty document instead). */
export function openApiV2(_reg: ResourceRegistry): object {
  return { swagger: '2.0', info: INFO, paths: {}, definitions: {} };
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** `GET /openapi/v3`: where each group-version's document is. */
export function openApiV3Index(reg: ResourceRegistry): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [group, versions] of reg.groups()) {
    for (const v of versions) {
      const p = gvPath(group, v);
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hashOf(p)}` };
    }
  }
  return { paths };
}

/** `GET /openapi/v3/<api/v1 | apis/g/v>`, or undefined for a group-version berth does not serve. */
export function openApiV3Document(reg: ResourceRegistry, path: string): object | undefined {
  const clean = path.split('?')[0]!.replace(/\/$/, '');
  const served = [...reg.groups()].some(([g, vs]) => vs.some((v) => gvPath(g, v) === clean));
  if (!served) return undefined;
  const gv = clean.startsWith('api/') ? clean.slice(4) : clean.slice(5);
  return { openapi: '3.0.0', info: { ...INFO, description: `berth ${groupVersion({ group: gv.includes('/') ? gv.split('/')[0]! : '', version: gv.split('/').at(-1)! })}` }, paths: {}, components: { schemas: {} } };
}

function hashOf(s: string): string {
  let h = 5381;
  for (let i = 0; i < s.length; i++) h = ((h << 5) + h + s.charCodeAt(i)) | 0;
  return (h >>> 0).toString(16).toUpperCase().padStart(16, '0');
}
