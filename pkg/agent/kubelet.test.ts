/**
 * The kubelet endpoint of a remote agent and the API server's proxy to it: logs and exec of a pod
 * on a remote agent's node go to that agent's endpoint with its token; other pods go to the local
 * source; callers without the token get 401; a pod the agent does not run is 404.
 */
import t from 'tap';
import { startTestApi } from '../testing/api.js';
import type { KubeObject } from '../api/types.js';
import type { ExecStreams, LogOptions } from '../apiserver/app.js';
import { KubeletProxy, KUBELET_TOKEN_NAMESPACE, kubeletTokenSecretName, NODE_AGENT_LABEL, startKubeletServer, type KubeletSource } from './kubelet.js';

/** A source that answers with its own name, so a test can tell which one served a request. */
function source(name: string): KubeletSource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async logs(pod: KubeObject, container: string, opts: LogOptions): Promise<string> {
      calls.push(`logs ${pod.metadata.name}/${container}`);
      return `${name}: log of ${pod.metadata.name}/${container}${opts.tailLines !== undefined ? ` tail ${opts.tailLines}` : ''}\n`;
    },
    async exec(pod: KubeObject, _container: string, command: string[], io: ExecStreams): Promise<number> {
      calls.push(`exec ${pod.metadata.name} ${command.join(' ')}`);
      let input = '';
      if (io.stdin) for await (const c of io.stdin) input += Buffer.from(c).toString();
      io.stdout?.(Buffer.from(`${name}: ${command.join(' ')}${input ? ` <${input}>` : ''}\n`));
      io.stderr?.(Buffer.from('to stderr\n'));
      return command[0] === 'fail' ? 7 : 0;
    },
    async attach(pod: KubeObject, container: string, io: ExecStreams): Promise<void> {
      calls.push(`attach ${pod.metadata.name}/${container}`);
      io.stdout?.(Buffer.from(`${name}: attached\n`));
    },
  };
}

const pod = (name: string, nodeName: string): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName, containers: [{ name: 'app', image: 'nginx' }] } }) as KubeObject;

t.test('logs and exec proxied to a remote agent\'s kubelet endpoint', async (t) => {
  const c = await startTestApi();
  t.teardown(() => c.stop());
  const remote = source('remote');
  const kubelet = await startKubeletServer({ source: remote, token: 's3cret', pod: async (_ns, name) => (name === 'far' ? pod('far', 'rack-0') : undefined) });
  t.teardown(() => kubelet.close());
  await c.client.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'rack-0', labels: { [NODE_AGENT_LABEL]: 'rack' } }, spec: {}, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] } } as KubeObject);
  await c.client.updateStatus({ ...(await c.client.get({ apiVersion: 'v1', kind: 'Node' }, 'rack-0')), status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } } } } as KubeObject);
  await c.client.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'local-0' }, spec: {} } as KubeObject);
  const local = source('local');
  const proxy = new KubeletProxy(c.client, local);
  const signal = new AbortController().signal;

  await t.rejects(proxy.logs(pod('far', 'rack-0'), 'app', {}, signal), { code: 500, message: /no kubelet token for agent rack: Secret kube-node-lease\/berth-agent-rack is missing/ }, 'no token Secret: a clear 500');
  await c.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: kubeletTokenSecretName('rack'), namespace: KUBELET_TOKEN_NAMESPACE }, data: { token: Buffer.from('s3cret').toString('base64') } } as KubeObject);

  t.equal(await proxy.logs(pod('far', 'rack-0'), 'app', { tailLines: 5 }, signal), 'remote: log of far/app tail 5\n', 'a remote node\'s pod: the agent answers');
  t.equal(await proxy.logs(pod('near', 'local-0'), 'app', {}, signal), 'local: log of near/app\n', 'another pod: the local source');
  await t.rejects(proxy.logs(pod('stranger', 'rack-0'), 'app', {}, signal), { code: 404 }, 'a pod the agent does not run: 404 from the kubelet');

  let out = '';
  let err = '';
  const io = (stdin?: string): ExecStreams => ({
    stdout: (b) => void (out += Buffer.from(b).toString()),
    stderr: (b) => void (err += Buffer.from(b).toString()),
    ...(stdin !== undefined ? { stdin: (async function* () { yield Buffer.from(stdin); })() } : {}),
  });
  t.equal(await proxy.exec(pod('far', 'rack-0'), 'app', ['echo', 'hi'], io('typed'), signal), 0);
  t.equal(out, 'remote: echo hi <typed>\n', 'stdout and stdin cross the endpoint');
  t.equal(err, 'to stderr\n');
  t.equal(await proxy.exec(pod('far', 'rack-0'), 'app', ['fail'], io(), signal), 7, 'the exit code comes back from the Status');
  out = '';
  await proxy.attach(pod('far', 'rack-0'), 'app', io(), signal);
  t.equal(out, 'remote: attached\n', 'attach crosses the endpoint too');
  t.same(remote.calls, ['logs far/app', 'exec far echo hi', 'exec far fail', 'attach far/app']);
  t.same(local.calls, ['logs near/app']);

  // The endpoint itself: no token or a wrong one is 401.
  const url = `http://127.0.0.1:${kubelet.port}/containerLogs/default/far/app`;
  t.equal((await fetch(url)).status, 401);
  t.equal((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  t.equal(await (await fetch(url, { headers: { authorization: 'Bearer s3cret' } })).text(), 'remote: log of far/app\n');

  await kubelet.close();
  await t.rejects(proxy.logs(pod('far', 'rack-0'), 'app', {}, signal), { code: 500, message: /cannot reach the kubelet of node rack-0 at http:\/\/127\.0\.0\.1:\d+/ }, 'an agent that is gone: 500 naming node and address');
});
