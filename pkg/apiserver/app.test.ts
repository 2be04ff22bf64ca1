/**
 * The HTTP surface added for kubectl's workflows: field validation, OpenAPI v3, the Eviction API,
 * metrics and access reviews, watch-list options, list pagination, and exec over WebSocket and
 * SPDY (with a fake runtime).
 */
import { connect } from 'node:net';
import { constants, createDeflate } from 'node:zlib';
import t from 'tap';
import WebSocket from 'ws';
import type { KubeObject } from '../api/types.js';
import { VirtualClock } from '../clock/clock.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import type { ExecStreams, PodExecSource } from './app.js';
import { createApiServer } from './index.js';
import { SPDY_DICTIONARY, adler32 } from './spdy.js';

async function setup() {
  const clock = new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
  const api = await createApiServer({ backend: new MemoryBackend({ historyLimit: 50 }), clock });
  return { api, app: api.http(), clock };
}

const DEPLOY = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } };

t.test('fieldValidation: Strict fails, Warn warns, Ignore is silent', async (t) => {
  const { app } = await setup();
  const body = { ...DEPLOY, spec: { foo: 1, selector: DEPLOY.spec.selector, template: { ...DEPLOY.spec.template, spec: { containers: [{ name: 'c', image: 'x', bar: true }] } } } };
  const post = (mode: string) => app.inject({ method: 'POST', url: `/apis/apps/v1/namespaces/default/deployments?fieldValidation=${mode}`, headers: { 'content-type': 'application/json' }, payload: body });
  const strict = await post('Strict');
  t.equal(strict.statusCode, 400);
  t.equal((strict.json() as { message: string }).message, 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo", unknown field "spec.template.spec.containers[0].bar"', JSON.stringify(strict.json()));
  const warn = await post('Warn');
  t.equal(warn.statusCode, 201);
  t.same(warn.headers.warning, ['299 - "unknown field \\"spec.foo\\""', '299 - "unknown field \\"spec.template.spec.containers[0].bar\\""'], JSON.stringify(warn.headers.warning));
  const bad = await post('Sometimes');
  t.equal(bad.statusCode, 400);
  // Strategic merge patch directives are not unknown fields.
  const patch = await app.inject({ method: 'PATCH', url: '/apis/apps/v1/namespaces/default/deployments/web?fieldValidation=Strict', headers: { 'content-type': 'application/strategic-merge-patch+json' }, payload: { spec: { template: { spec: { $setElementOrder: undefined, 'containers': [{ name: 'c', image: 'y' }], '$setElementOrder/containers': [{ name: 'c' }] } } } } });
  t.equal(patch.statusCode, 200, patch.body);
  const ignored = await app.inject({ method: 'PATCH', url: '/apis/apps/v1/namespaces/default/deployments/web?fieldValidation=Ignore', headers: { 'content-type': 'application/merge-patch+json' }, payload: { spec: { nope: 1 } } });
  t.equal(ignored.statusCode, 200);
  t.notOk(ignored.headers.warning);
  await app.close();
});

t.test('OpenAPI v3: an index with hashes, documents with kinds, patch operations and schemas', async (t) => {
  const { app } = await setup();
  const index = (await app.inject({ url: '/openapi/v3' })).json() as { paths: Record<string, { serverRelativeURL: string }> };
  t.match(index.paths['apis/apps/v1']!.serverRelativeURL, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
  t.ok(index.paths['api/v1'] && index.paths['apis/metrics.k8s.io/v1beta1'] && index.paths['apis/policy/v1']);
  const doc = (await app.inject({ url: index.paths['apis/apps/v1']!.serverRelativeURL })).json() as { paths: Record<string, Record<string, { 'x-kubernetes-group-version-kind'?: object; parameters?: { name: string }[] }>>; components: { schemas: Record<string, Record<string, unknown>> } };
  const item = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']!;
  t.same(item.patch!['x-kubernetes-group-version-kind'], { group: 'apps', kind: 'Deployment', version: 'v1' });
  t.ok(item.patch!.parameters!.some((p) => p.name === 'fieldValidation'), 'kubectl then leaves validation to the server');
  const dep = doc.components.schemas['io.k8s.api.apps.v1.Deployment']!;
  t.same(dep['x-kubernetes-group-version-kind'], [{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
  t.ok(doc.components.schemas['io.k8s.api.core.v1.PodSpec'], 'referenced definitions come along');
  t.match(doc.components.schemas['io.k8s.api.core.v1.Container']!.properties, { ports: { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['containerPort', 'protocol'], 'x-kubernetes-patch-merge-key': 'containerPort' } });
  t.equal((await app.inject({ url: '/openapi/v3/apis/nope/v1' })).statusCode, 404);
  await app.close();
});

t.test('eviction honours a PodDisruptionBudget; reviews allow; metrics sum running pods', async (t) => {
  const { api, app } = await setup();
  const pods = api.registry.get('', 'v1', 'pods')!;
  const pdbs = api.registry.get('policy', 'v1', 'poddisruptionbudgets')!;
  for (const name of ['p1', 'p2']) {
    await api.store.create(pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'web' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '250m', memory: '64Mi' } } }] } } as KubeObject);
    const p = await api.store.get(pods, 'default', name);
    await api.store.update(pods, 'default', name, { ...p, status: { phase: 'Running', containerStatuses: [{ name: 'c', ready: true, restartCount: 0, image: 'x', imageID: '', state: { running: {} } }] } }, { subresource: 'status' });
  }
  await api.store.create(pdbs, 'default', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } } as KubeObject);
  const setAllowed = async (n: number) => {
    const b = await api.store.get(pdbs, 'default', 'web');
    await api.store.update(pdbs, 'default', 'web', { ...b, status: { observedGeneration: 1, disruptionsAllowed: n, currentHealthy: 2, desiredHealthy: 2 - n + 0, expectedPods: 2 } }, { subresource: 'status' });
  };
  await setAllowed(0);
  const evict = (name: string) => app.inject({ method: 'POST', url: `/api/v1/namespaces/default/pods/${name}/eviction`, headers: { 'content-type': 'application/json' }, payload: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' } } });
  const refused = await evict('p1');
  t.equal(refused.statusCode, 429);
  t.match(refused.json(), { reason: 'TooManyRequests', message: "Cannot evict pod as it would violate the pod's disruption budget.", details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 2 healthy pods and has 2 currently' }] } });
  t.ok(await api.store.tryGet(pods, 'default', 'p1'), 'not evicted');
  await setAllowed(1);
  const done = await evict('p1');
  t.equal(done.statusCode, 201, done.body);
  t.match((await api.store.get(pdbs, 'default', 'web')).status, { disruptionsAllowed: 0, disruptedPods: { p1: '2026-01-01T00:00:00Z' } });
  t.match((await api.store.get(pods, 'default', 'p1')).metadata, { deletionTimestamp: '2026-01-01T00:00:30Z' }, 'graceful deletion started');

  const top = (await app.inject({ url: '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods' })).json() as { items: { metadata: { name: string }; containers: { usage: { cpu: string; memory: string } }[] }[] };
  t.same(top.items.map((i) => [i.metadata.name, i.containers[0]!.usage]).sort(), [['p1', { cpu: '250m', memory: '65536Ki' }], ['p2', { cpu: '250m', memory: '65536Ki' }]]);
  const ssar = await app.inject({ method: 'POST', url: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', headers: { 'content-type': 'application/json' }, payload: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'create', resource: 'pods', namespace: 'default' } } } });
  t.equal(ssar.statusCode, 201);
  t.match(ssar.json(), { status: { allowed: true } });
  t.equal((await app.inject({ method: 'POST', url: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', headers: { 'content-type': 'application/json' }, payload: { spec: {} } })).statusCode, 400);
  await app.close();
});

t.test('lists page with remainingItemCount; an old continue token expires; watch-list options', async (t) => {
  const { api, app } = await setup();
  const cms = api.registry.get('', 'v1', 'configmaps')!;
  for (let i = 0; i < 5; i++) await api.store.create(cms, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}` } });
  const page = (await app.inject({ url: '/api/v1/namespaces/default/configmaps?limit=2' })).json() as { items: unknown[]; metadata: { continue: string; remainingItemCount: number } };
  t.equal(page.items.length, 2);
  t.equal(page.metadata.remainingItemCount, 3);
  const page2 = (await app.inject({ url: `/api/v1/namespaces/default/configmaps?limit=2&continue=${page.metadata.continue}` })).json() as { metadata: { remainingItemCount: number } };
  t.equal(page2.metadata.remainingItemCount, 1);
  const filtered = (await app.inject({ url: '/api/v1/namespaces/default/configmaps?limit=2&labelSelector=x%3Dy' })).json() as { metadata: { remainingItemCount?: number } };
  t.equal(filtered.metadata.remainingItemCount, undefined, 'not with a selector');
  // Churn past the history window (50 events): the first page's revision is compacted.
  for (let i = 0; i < 60; i++) await api.store.patch(cms, 'default', 'c0', 'merge', { data: { i: String(i) } });
  const old = await app.inject({ url: `/api/v1/namespaces/default/configmaps?limit=2&continue=${page.metadata.continue}` });
  t.equal(old.statusCode, 410);
  t.match(old.json(), { reason: 'Expired', message: /The provided continue parameter is too old/ });

  const invalid = await app.inject({ url: '/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true' });
  t.equal(invalid.statusCode, 422);
  t.match(invalid.json(), { reason: 'Invalid', message: /ListOptions\.meta\.k8s\.io "" is invalid: \[resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true\]/ });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const res = await fetch(`${url}/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1`);
  const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: KubeObject });
  t.same(lines.slice(0, 5).map((l) => `${l.type} ${l.object.metadata.name}`), ['ADDED c0', 'ADDED c1', 'ADDED c2', 'ADDED c3', 'ADDED c4']);
  t.match(lines[5], { type: 'BOOKMARK', object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
  await app.close();
});

/** A runtime that echoes: `echo ARGS` prints them, `cat` copies stdin, `fail N` exits N. */
const fakeExec: PodExecSource = {
  async exec(_pod: KubeObject, _c: string, command: string[], io: ExecStreams): Promise<number> {
    if (command[0] === 'echo') io.stdout?.(Buffer.from(`${command.slice(1).join(' ')}\n`));
    if (command[0] === 'cat') for await (const chunk of io.stdin ?? []) io.stdout?.(chunk);
    if (command[0] === 'fail') {
      io.stderr?.(Buffer.from('failing\n'));
      return Number(command[1]);
    }
    return 0;
  },
};

async function execServer() {
  const { api } = await setup();
  api.exec.current = fakeExec;
  const pods = api.registry.get('', 'v1', 'pods')!;
  await api.store.create(pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } } as KubeObject);
  const app = api.http();
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

t.test('exec over WebSocket (v5.channel.k8s.io): channels, stdin close, exit status', async (t) => {
  const { app, url } = await execServer();
  const run = (query: string, stdin?: string): Promise<{ protocol: string; frames: [number, string][] }> =>
    new Promise((res, rej) => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/api/v1/namespaces/default/pods/p/exec?${query}`, ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
      const frames: [number, string][] = [];
      ws.on('open', () => {
        if (stdin !== undefined) {
          ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(stdin)]));
          ws.send(Buffer.from([255, 0]));
        }
      });
      ws.on('message', (d: Buffer) => frames.push([d[0]!, d.subarray(1).toString()]));
      ws.on('close', () => res({ protocol: ws.protocol, frames }));
      ws.on('error', rej);
    });
  const hi = await run('command=echo&command=hi&container=c&stdout=true&stderr=true');
  t.equal(hi.protocol, 'v5.channel.k8s.io');
  t.same(hi.frames, [[1, 'hi\n'], [3, '{"metadata":{},"status":"Success"}']]);
  const cat = await run('command=cat&stdin=true&stdout=true', 'typed');
  t.same(cat.frames, [[1, 'typed'], [3, '{"metadata":{},"status":"Success"}']]);
  const fail = await run('command=fail&command=3&stdout=true&stderr=true');
  t.same(fail.frames[0], [2, 'failing\n']);
  t.match(JSON.parse(fail.frames[1]![1]), { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
  // Errors before the upgrade are plain HTTP answers.
  const missing = await fetch(`${url}/api/v1/namespaces/default/pods/nope/exec?command=ls&stdout=true`, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } }).catch((e: Error) => e);
  t.ok(missing instanceof Error || (missing as Response).status === 404);
  t.equal((await fetch(`${url}/api/v1/namespaces/default/pods/p/exec?command=ls&stdout=true`, { method: 'POST' })).status, 400, 'no upgrade: Upgrade request required');
  await app.close();
});

/** Frames of a SPDY/3.1 session, as a test client reads them. */
function spdyFrames(buf: Buffer): { control: boolean; type?: number; stream: number; flags: number; data: Buffer }[] {
  const out = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const len = buf.readUIntBE(off + 5, 3);
    const f = buf.subarray(off, off + 8 + len);
    const control = (f[0]! & 0x80) !== 0;
    out.push({ control, ...(control ? { type: f.readUInt16BE(2) } : {}), stream: control ? (f.length >= 12 ? f.readUInt32BE(8) & 0x7fffffff : 0) : f.readUInt32BE(0) & 0x7fffffff, flags: f[4]!, data: f.subarray(control ? 12 : 8) });
    off += 8 + len;
  }
  return out;
}

t.test('exec over SPDY/3.1 (kubectl 1.27–1.29): streams by header, replies, data and status', async (t) => {
  t.equal(adler32(SPDY_DICTIONARY), 0xe3c6a7c2, 'the SPDY/3 dictionary (draft 3 §2.6.10.1)');
  const { app, url } = await execServer();
  const port = Number(new URL(url).port);
  const deflate = createDeflate({ dictionary: SPDY_DICTIONARY });
  const compressed: Buffer[] = [];
  deflate.on('data', (d: Buffer) => compressed.push(d));
  const headerBlock = async (headers: Record<string, string>): Promise<Buffer> => {
    const parts: Buffer[] = [Buffer.alloc(4)];
    parts[0]!.writeUInt32BE(Object.keys(headers).length);
    for (const [k, v] of Object.entries(headers)) {
      for (const s of [k, v]) {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(s.length);
        parts.push(b, Buffer.from(s));
      }
    }
    compressed.length = 0;
    deflate.write(Buffer.concat(parts));
    await new Promise<void>((r) => deflate.flush(constants.Z_SYNC_FLUSH, () => r()));
    return Buffer.concat(compressed);
  };
  const syn = async (id: number, type: string): Promise<Buffer> => {
    const block = await headerBlock({ streamtype: type });
    const f = Buffer.alloc(18);
    f.writeUInt16BE(0x8003, 0);
    f.writeUInt16BE(1, 2);
    f.writeUIntBE(10 + block.length, 5, 3);
    f.writeUInt32BE(id, 8);
    return Buffer.concat([f, block]);
  };
  const sock = connect(port, '127.0.0.1');
  let received = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
  sock.write('POST /api/v1/namespaces/default/pods/p/exec?command=echo&command=spdy&container=c&stdout=true&stderr=true HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n');
  const waitFor = async (pred: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  };
  await waitFor(() => received.includes('\r\n\r\n'));
  t.match(received.toString('latin1'), /^HTTP\/1\.1 101 Switching Protocols\r\n(.|\r\n)*X-Stream-Protocol-Version: v4\.channel\.k8s\.io/);
  received = received.subarray(received.indexOf('\r\n\r\n') + 4);
  sock.write(await syn(1, 'error'));
  sock.write(await syn(3, 'stdout'));
  sock.write(await syn(5, 'stderr'));
  await waitFor(() => received.includes('Success'));
  sock.end();
  const frames = spdyFrames(received);
  t.same(frames.filter((f) => f.control && f.type === 2).map((f) => f.stream), [1, 3, 5], 'SYN_REPLY for each stream');
  t.equal(Buffer.concat(frames.filter((f) => !f.control && f.stream === 3).map((f) => f.data)).toString(), 'spdy\n');
  t.ok(frames.some((f) => !f.control && f.stream === 3 && f.flags & 1), 'stdout closed with FIN');
  t.equal(Buffer.concat(frames.filter((f) => !f.control && f.stream === 1).map((f) => f.data)).toString(), '{"metadata":{},"status":"Success"}');
  await app.close();
});
