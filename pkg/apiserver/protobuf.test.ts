import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import t from 'tap';
import { VirtualClock } from '../clock/clock.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import { createApiServer } from './index.js';
import { decodeProtobufObject, PROTOBUF_MAGIC, protoPackage } from './protobuf.js';

const root = protobuf.Root.fromJSON(JSON.parse(gunzipSync(readFileSync(join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'data/kubernetes/proto.json.gz'))).toString('utf8')));

/** Encodes an object as kubectl does: `k8s\0` + runtime.Unknown{typeMeta, raw}. */
function envelope(apiVersion: string, kind: string, message: Record<string, unknown>): Buffer {
  const type = root.lookupType(`${protoPackage(apiVersion)}.${kind}`);
  const raw = type.encode(type.fromObject(message)).finish();
  const unknown = root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');
  return Buffer.concat([PROTOBUF_MAGIC, unknown.encode(unknown.fromObject({ typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '' })).finish()]);
}

t.test('a ConfigMap and a Secret decode to their JSON form', async (t) => {
  const cm = decodeProtobufObject(envelope('v1', 'ConfigMap', { metadata: { name: 'cm', namespace: '', creationTimestamp: {} }, data: { a: '1' }, binaryData: { b: Buffer.from([0, 1, 2]) } }));
  t.same(cm, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { a: '1' }, binaryData: { b: 'AAEC' } });
  const secret = decodeProtobufObject(envelope('v1', 'Secret', { metadata: { name: 's' }, data: { p: Buffer.from('q') }, type: 'Opaque' }));
  t.same(secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { p: 'cQ==' }, type: 'Opaque' });
});

t.test('a Deployment: pointer zeros kept, other zeros dropped, IntOrString and Quantity as JSON', async (t) => {
  const d = decodeProtobufObject(
    envelope('apps/v1', 'Deployment', {
      metadata: { name: 'web', labels: { app: 'web' }, creationTimestamp: { seconds: 1767225600 } },
      spec: {
        replicas: 0,
        minReadySeconds: 0,
        selector: { matchLabels: { app: 'web' } },
        strategy: { rollingUpdate: { maxSurge: { type: 1, strVal: '25%' }, maxUnavailable: { type: 0, intVal: 1 } } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx', imagePullPolicy: '', resources: { requests: { cpu: { string: '100m' } } }, ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 0 }] }] } },
      },
    }),
  );
  t.same(d, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' }, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web' } },
      strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx', resources: { requests: { cpu: '100m' } }, ports: [{ containerPort: 80, protocol: 'TCP' }] }] } },
    },
  });
});

t.test('malformed bodies are rejected with a reason', async (t) => {
  const err = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    return undefined;
  };
  t.match(err(() => decodeProtobufObject(Buffer.from('{"kind":"ConfigMap"}'))), { code: 400, message: /does not start with the Kubernetes magic number/ });
  t.match(err(() => decodeProtobufObject(envelope('v1', 'ConfigMap', {}).subarray(0, 12))), { code: 400 });
  const unknownKind = Buffer.concat([PROTOBUF_MAGIC, root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown').encode({ typeMeta: { apiVersion: 'example.com/v1', kind: 'Widget' }, raw: new Uint8Array() }).finish()]);
  t.match(err(() => decodeProtobufObject(unknownKind)), { code: 400, message: 'no protobuf message is known for example.com/v1 Widget: send it as application/json' });
});

t.test('POST with application/vnd.kubernetes.protobuf creates the object (kubectl 1.32+ create)', async (t) => {
  const api = await createApiServer({ backend: new MemoryBackend(), clock: new VirtualClock(0) });
  const app = api.http();
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create&fieldValidation=Strict',
    headers: { 'content-type': 'application/vnd.kubernetes.protobuf', accept: 'application/vnd.kubernetes.protobuf,application/json' },
    payload: envelope('v1', 'ConfigMap', { metadata: { name: 'from-proto' }, data: { k: 'v' } }),
  });
  t.equal(res.statusCode, 201, res.body);
  t.match(res.headers['content-type'], /application\/json/);
  t.match(res.json(), { kind: 'ConfigMap', metadata: { name: 'from-proto', namespace: 'default', managedFields: [{ manager: 'kubectl-create' }] }, data: { k: 'v' } });
  await app.close();
});
