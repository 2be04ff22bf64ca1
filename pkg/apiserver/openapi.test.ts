/**
 * `kubectl explain` and apply's server-side validation read /openapi/v3: every built-in kind
 * (each group/version berth serves outside its own `*.berth.dev` groups) has a schema carrying
 * its `x-kubernetes-group-version-kind`, and a patch operation that takes `fieldValidation`.
 */
import t from 'tap';
import { VirtualClock } from '../clock/clock.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import { createApiServer } from './index.js';

t.test('every built-in kind has an OpenAPI v3 schema and a patch operation with fieldValidation', async (t) => {
  const api = await createApiServer({ backend: new MemoryBackend(), clock: new VirtualClock(0) });
  const app = api.http();
  t.teardown(() => app.close());
  const index = (await app.inject({ url: '/openapi/v3' })).json() as { paths: Record<string, { serverRelativeURL: string }> };
  type Doc = { paths: Record<string, Record<string, { 'x-kubernetes-group-version-kind'?: { kind: string }; parameters?: { name: string }[] }>>; components: { schemas: Record<string, { 'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[] }> } };
  const docs = new Map<string, Doc>();
  const builtin = api.registry.all().filter((r) => !r.group.endsWith('berth.dev') && !r.crd);
  t.ok(builtin.length >= 30, `${builtin.length} built-in resources`);
  const missing: string[] = [];
  for (const r of builtin) {
    const gv = r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
    const entry = index.paths[gv];
    if (!entry) {
      missing.push(`${gv}: no document`);
      continue;
    }
    if (!docs.has(gv)) docs.set(gv, (await app.inject({ url: entry.serverRelativeURL })).json() as Doc);
    const doc = docs.get(gv)!;
    const schema = Object.values(doc.components.schemas).some((s) => (s['x-kubernetes-group-version-kind'] ?? []).some((g) => g.group === r.group && g.version === r.version && g.kind === r.kind));
    if (!schema) missing.push(`${gv} ${r.kind}: no schema`);
    if (!r.verbs.includes('patch')) continue;
    const patch = Object.values(doc.paths).find((p) => p.patch?.['x-kubernetes-group-version-kind']?.kind === r.kind)?.patch;
    if (!patch?.parameters?.some((p) => p.name === 'fieldValidation')) missing.push(`${gv} ${r.kind}: no patch operation with fieldValidation`);
  }
  t.same(missing, []);
});
