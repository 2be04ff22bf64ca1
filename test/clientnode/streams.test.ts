/**
 * @kubernetes/client-node 1.4.0's streaming clients against berth's API server: `PortForward`
 * (a WebSocket with the `v5.channel.k8s.io` channel protocol and `?ports=`) reaches what the pod
 * serves, and `Attach` joins a container's streams. The pod's side here is an HTTP server on
 * loopback standing for what the pod listens on, and an attach source that prints what it reads
 * in upper case until its input ends; the runtime's own behaviour is checked with kubectl in
 * test/e2e/kubectl-streams.test.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import t from 'tap';
import type { KubeObject } from '../../pkg/api/types.js';
import { createApiServer } from '../../pkg/apiserver/index.js';
import { RealClock } from '../../pkg/clock/clock.js';
import { MemoryBackend } from '../../pkg/storage/memory/memory.js';

async function eventually<T>(fn: () => T | Promise<T>, what: string, ms = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A Writable collecting what is written. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(Buffer.from(c));
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

t.test('client-node PortForward and Attach', async (t) => {
  // What the pod serves on its port 8080.
  const web = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end(`web answers ${req.url}\n`));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  t.teardown(() => web.close());
  const webPort = (web.address() as AddressInfo).port;

  const api = await createApiServer({ backend: new MemoryBackend(), clock: new RealClock() });
  const dialed: number[] = [];
  api.portForward.current = {
    dial: async (_pod, port) => {
      dialed.push(port);
      if (port !== 8080) throw new Error(`nothing listens on port ${port}`);
      return { host: '127.0.0.1', port: webPort };
    },
  };
  api.exec.current = {
    exec: async () => 0,
    attach: async (_pod, _container, io) => {
      for await (const chunk of io.stdin ?? []) io.stdout?.(Buffer.from(Buffer.from(chunk).toString('utf8').toUpperCase()));
    },
  };
  const app = api.http();
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const pods = api.registry.get('', 'v1', 'pods')!;
  const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'nginx', stdin: true }] } };
  const created = await api.store.create(pods, 'default', pod);
  await api.store.update(pods, 'default', 'web', { ...created, status: { phase: 'Running' } }, { subresource: 'status' });

  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'berth', server: url, skipTLSVerify: true }],
    users: [{ name: 'berth' }],
    contexts: [{ name: 'berth', cluster: 'berth', user: 'berth', namespace: 'default' }],
    currentContext: 'berth',
  });

  // PortForward: an HTTP request written on the input comes back answered by the pod's server.
  const out = sink();
  const errOut = sink();
  const input = new PassThrough();
  const ws = (await new k8s.PortForward(kc).portForward('default', 'web', [8080], out.stream, errOut.stream, input)) as { close(): void };
  input.write('GET /hello HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n');
  await eventually(() => out.text().includes('web answers /hello'), 'the answer through the port-forward');
  t.match(out.text(), /^HTTP\/1\.1 200 OK\r\n/, 'the pod server’s response, status line first (the port prefix is stripped)');
  t.same(dialed, [8080]);
  t.equal(errOut.text(), '', 'no error on the error channel');
  ws.close();

  // A port nothing serves: the error channel says so.
  const out2 = sink();
  const err2 = sink();
  await new k8s.PortForward(kc).portForward('default', 'web', [9999], out2.stream, err2.stream, new PassThrough());
  await eventually(() => err2.text().includes('nothing listens on port 9999'), 'the error on the error channel');
  t.match(err2.text(), /^error forwarding port 9999 to pod default\/web, uid [0-9a-f-]+: nothing listens on port 9999$/);

  // Attach: stdin to the container, its output back; ends when the input ends.
  const aout = sink();
  const ain = new PassThrough();
  const status = new Promise<k8s.V1Status>((resolve) => {
    void new k8s.Attach(kc).attach('default', 'web', 'main', aout.stream, null, ain, false).then((w) => {
      (w as unknown as { on(e: string, f: () => void): void }).on('close', () => resolve({ status: 'closed' }));
    });
  });
  ain.write('hello\n');
  await eventually(() => aout.text() === 'HELLO\n', 'the attached output');
  ain.end();
  t.same(await status, { status: 'closed' }, 'the session ends with the input');
  t.equal(aout.text(), 'HELLO\n');
});
