/**
 * From a pod's container spec to Docker's create options, without an engine: the environment as
 * the kubelet builds it, `$(VAR)` expansion, ports, resources, labels.
 */
import t from 'tap';
import type { Pod } from '../../../api/types.js';
import { makePod } from '../../../testing/index.js';
import { hostPortFor, portEnv, portsOf, probePort, PORTS_ANNOTATION, type PortMapping } from './ports.js';
import { containerEnv, cpuShares, createOptions, expand, resourceConfig, type ConfigLookup } from './spec.js';
import { cutBytes, demuxAll, Demuxer } from './streams.js';

const data: Record<string, Record<string, string>> = {
  'ConfigMap/app': { MODE: 'fast', 'bad key': 'x', GREETING: 'hi' },
  'Secret/creds': { PASSWORD: 's3cret' },
};
const lookup: ConfigLookup = async (kind, _ns, name) => data[`${kind}/${name}`];

function pod(spec: Partial<Pod['spec']['containers'][number]> = {}): Pod {
  const p = makePod('web')
    .spec((s) => {
      s.containers = [{ name: 'app', image: 'busybox:local', ...spec }];
    })
    .obj();
  p.metadata.uid = 'u-1';
  p.metadata.labels = { app: 'web' };
  p.spec.nodeName = 'n1';
  return p;
}

const ports: PortMapping[] = [
  { container: 'app', name: 'http', containerPort: 8080, protocol: 'TCP', hostPort: 41001 },
  { container: 'app', containerPort: 9090, protocol: 'TCP', hostPort: 41002 },
  { container: 'side', name: 'http-metrics', containerPort: 9100, protocol: 'TCP', hostPort: 41003 },
];

t.test('$(VAR) expansion follows Kubernetes', async (t) => {
  const vars = new Map([
    ['A', 'x'],
    ['B', 'y'],
  ]);
  t.equal(expand('$(A)-$(B)', vars), 'x-y');
  t.equal(expand('$$(A)', vars), '$(A)', '$$ escapes');
  t.equal(expand('$(NOPE)', vars), '$(NOPE)', 'unknown stays');
  t.equal(expand('cost $5', vars), 'cost $5', 'a lone $ stays');
  t.equal(expand('$(A', vars), '$(A', 'unclosed stays');
});

t.test('environment: ports, HOSTNAME, envFrom, env with valueFrom and expansion', async (t) => {
  const p = pod({
    envFrom: [{ configMapRef: { name: 'app' }, prefix: 'CFG_' }],
    env: [
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'APP_LABEL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'PASSWORD' } } },
      { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'app', key: 'MODE' } } },
      { name: 'URL', value: 'http://localhost:$(PORT)/$(MODE)' },
      { name: 'MISSING', valueFrom: { configMapKeyRef: { name: 'nope', key: 'x', optional: true } } },
      { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
    ],
    resources: { limits: { memory: '64Mi' } },
  });
  const env = await containerEnv(p, p.spec.containers[0]!, { ports, lookup, hostIP: '10.0.1.15' });
  t.same(Object.fromEntries(env), {
    HOSTNAME: 'web',
    PORT: '41001',
    PORT_HTTP: '41001',
    PORT_HTTP_METRICS: '41003',
    CFG_MODE: 'fast',
    CFG_GREETING: 'hi',
    POD: 'web',
    APP_LABEL: 'web',
    IP: '127.0.0.1',
    PASS: 's3cret',
    MODE: 'fast',
    URL: 'http://localhost:41001/fast',
    MEM: '64',
  });
  t.notOk(env.has('CFG_bad key'), 'keys that are not variable names are skipped');
});

t.test('a missing ConfigMap, Secret or key is a CreateContainerConfigError', async (t) => {
  const env = async (e: Record<string, unknown>): Promise<unknown> => {
    const p = pod({ env: [{ name: 'X', valueFrom: e }] });
    return containerEnv(p, p.spec.containers[0]!, { ports: [], lookup, hostIP: undefined });
  };
  await t.rejects(env({ configMapKeyRef: { name: 'nope', key: 'x' } }), { code: 'CreateContainerConfigError', message: 'configmap "nope" not found' });
  await t.rejects(env({ secretKeyRef: { name: 'nope', key: 'x' } }), { code: 'CreateContainerConfigError', message: 'secret "nope" not found' });
  await t.rejects(env({ configMapKeyRef: { name: 'app', key: 'NOPE' } }), { code: 'CreateContainerConfigError', message: "couldn't find key NOPE in ConfigMap default/app" });
  await t.resolves(env({ secretKeyRef: { name: 'creds', key: 'NOPE', optional: true } }));
});

t.test('resources: limits as NanoCpus and Memory, requests as reservations', async (t) => {
  // 250m = 0.25 core = 250,000,000 nano-CPUs; 100m requested = 102 shares (1024 per core).
  t.same(resourceConfig({ name: 'a', resources: { limits: { cpu: '250m', memory: '64Mi' }, requests: { cpu: '100m', memory: '32Mi' } } }), {
    NanoCpus: 250_000_000,
    Memory: 67108864,
    MemorySwap: 67108864,
    MemoryReservation: 33554432,
    CpuShares: 102,
  });
  // Requests default to limits, as the API server defaults them.
  t.same(resourceConfig({ name: 'a', resources: { limits: { cpu: '1' } } }), { NanoCpus: 1_000_000_000, CpuShares: 1024 });
  t.same(resourceConfig({ name: 'a' }), {});
  t.equal(cpuShares(1), 2, 'at least 2 shares');
});

t.test('create options: command replaces ENTRYPOINT (and drops CMD), args replace CMD, labels, host network', async (t) => {
  const env = new Map([
    ['PORT', '41001'],
    ['GREETING', 'hi'],
  ]);
  const a = createOptions({ pod: pod({ command: ['sh', '-c'], args: ['echo $(GREETING) on $PORT'], workingDir: '/www' }), container: { name: 'app', image: 'busybox:local', command: ['sh', '-c'], args: ['echo $(GREETING) on $PORT'], workingDir: '/www' }, nodeName: 'n1', nodeUid: 'n-1', attempt: 2, env, mounts: [] });
  t.match(a, {
    name: 'k8s_app_web_default_u-1_2',
    Image: 'busybox:local',
    Entrypoint: ['sh', '-c'],
    Cmd: ['echo hi on $PORT'],
    WorkingDir: '/www',
    Env: ['PORT=41001', 'GREETING=hi'],
    Labels: {
      'io.kubernetes.pod.name': 'web',
      'io.kubernetes.pod.namespace': 'default',
      'io.kubernetes.pod.uid': 'u-1',
      'io.kubernetes.container.name': 'app',
      'io.kubernetes.container.restartCount': '2',
      'node.berth.dev/node': 'n1',
      'node.berth.dev/node-uid': 'n-1',
    },
    HostConfig: { NetworkMode: 'host', RestartPolicy: { Name: 'no' } },
  });
  const b = createOptions({ pod: pod(), container: { name: 'app', image: 'x', command: ['httpd'] }, nodeName: 'n1', nodeUid: 'n-1', attempt: 0, env: new Map(), mounts: [] });
  t.same(b.Cmd, [], "command without args: the image's CMD is not used");
  const c = createOptions({ pod: pod(), container: { name: 'app', image: 'x', args: ['-v'] }, nodeName: 'n1', nodeUid: 'n-1', attempt: 0, env: new Map(), mounts: [] });
  t.notOk('Entrypoint' in c, "args alone keep the image's ENTRYPOINT");
  t.same(c.Cmd, ['-v']);
});

t.test('ports: the annotation, Service targetPorts, probe ports, PORT variables', async (t) => {
  const p = pod();
  p.metadata.annotations = { [PORTS_ANNOTATION]: JSON.stringify(ports) };
  t.same(portsOf(p), ports);
  t.equal(hostPortFor(p, 'http'), 41001, 'by name');
  t.equal(hostPortFor(p, 9090), 41002, 'by number');
  t.equal(hostPortFor(p, '9090'), 41002, 'a number as text');
  t.equal(hostPortFor(p, 1234), undefined);
  t.equal(hostPortFor(p, 'http', 'UDP'), undefined, 'by protocol');
  const c = { name: 'app', image: 'x' };
  t.equal(probePort(c, ports, 'http'), 41001);
  t.equal(probePort(c, ports, 8080), 41001, 'a declared port goes to its host port');
  t.equal(probePort(c, ports, 7000), 7000, 'an undeclared one as written');
  t.equal(probePort(c, ports, 'nope'), undefined);
  t.same(portEnv('side', ports), { PORT: '41003', PORT_HTTP: '41001', PORT_HTTP_METRICS: '41003' });
  t.same(portEnv('none', []), {});
  p.metadata.annotations[PORTS_ANNOTATION] = 'not json';
  t.equal(portsOf(p), undefined);
});

t.test('multiplexed streams: frames across chunks, stdout and stderr in order', async (t) => {
  const frame = (kind: number, text: string): Buffer => {
    const body = Buffer.from(text);
    const h = Buffer.alloc(8);
    h[0] = kind;
    h.writeUInt32BE(body.length, 4);
    return Buffer.concat([h, body]);
  };
  const all = Buffer.concat([frame(1, 'out1\n'), frame(2, 'err1\n'), frame(1, 'out2\n')]);
  t.equal(demuxAll(all, false), 'out1\nerr1\nout2\n');
  t.equal(demuxAll(Buffer.from('raw tty'), true), 'raw tty');
  const got: string[] = [];
  const d = new Demuxer((k, b) => got.push(`${k}:${b.toString()}`));
  for (let i = 0; i < all.length; i += 3) d.push(all.subarray(i, i + 3));
  t.same(got, ['1:out1\n', '2:err1\n', '1:out2\n']);
  t.equal(cutBytes('héllo', 2), 'h\ufffd', 'cut mid-character as the kubelet cuts bytes');
  t.equal(cutBytes('hello', Infinity), 'hello');
});
