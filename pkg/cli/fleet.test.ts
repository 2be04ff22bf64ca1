import t from 'tap';
import type { KubeObject } from '../api/types.js';
import { makeNode, makePod } from '../testing/builders.js';
import { startCliEnv } from './testenv.js';

const env = await startCliEnv();
t.teardown(() => env.close());
const c = env.client;

async function pod(name: string, node: string | undefined, phase: string, requests: Record<string, string>, init?: Record<string, string>): Promise<void> {
  let b = makePod(name).req(requests);
  if (node) b = b.node(node);
  if (init) b = b.init('init', init);
  const created = await c.create<KubeObject>(b.obj());
  await c.updateStatus({ ...created, status: { phase } });
}

t.test('an empty cluster', async (t) => {
  const r = await env.run(['fleet']);
  t.same(r, { code: 0, stdout: 'Fleet: 0 nodes, 0 pods, $0.0000 per hour (On-Demand, us-east-1)\n', stderr: '' });
});

t.test('nodes, their fill and their price', async (t) => {
  await c.create(makeNode('ip-10-0-1-10').capacity({ cpu: '2', memory: '8Gi' }).allocatable({ cpu: '1930m', memory: '7Gi', pods: '29' }).label('node.kubernetes.io/instance-type', 'm5.large').label('topology.kubernetes.io/zone', 'us-east-1a').obj());
  await c.create(makeNode('ip-10-0-2-20').capacity({ cpu: '4', memory: '8Gi' }).allocatable({ cpu: '3920m', memory: '7Gi', pods: '58' }).label('node.kubernetes.io/instance-type', 'c5.xlarge').label('topology.kubernetes.io/zone', 'us-east-1b').obj());
  await c.create(makeNode('hand-made').capacity({ cpu: '1', memory: '512Mi', pods: '10' }).obj());
  // ip-10-0-1-10: 500m + 250m + max(init 1, app 100m) = 1750m; 256Mi + 256Mi = 512Mi.
  await pod('a', 'ip-10-0-1-10', 'Running', { cpu: '500m', memory: '256Mi' });
  await pod('b', 'ip-10-0-1-10', 'Running', { cpu: '250m', memory: '256Mi' });
  await pod('c', 'ip-10-0-1-10', 'Pending', { cpu: '100m' }, { cpu: '1' });
  await pod('done', 'ip-10-0-1-10', 'Succeeded', { cpu: '1' });
  // ip-10-0-2-20: 2500m of 3920m is 63.8%: printed 63%. 1536Mi of 7Gi.
  await pod('d', 'ip-10-0-2-20', 'Running', { cpu: '2500m', memory: '1536Mi' });
  await pod('unscheduled', undefined, 'Pending', { cpu: '1' });
  const instance = async (id: string, node: string, price: number, type: string, zone: string): Promise<void> => {
    const i = await c.create<KubeObject>({ apiVersion: 'ec2.berth.dev/v1', kind: 'Instance', metadata: { name: id }, spec: { instanceType: type, availabilityZone: zone } });
    await c.updateStatus({ ...i, status: { state: 'running', nodeName: node, hourlyPrice: price } });
  };
  await instance('i-0aaaaaaaaaaaaaaa1', 'ip-10-0-1-10', 0.096, 'm5.large', 'us-east-1a');
  await instance('i-0aaaaaaaaaaaaaaa2', 'ip-10-0-2-20', 0.17, 'c5.xlarge', 'us-east-1b');

  let r = await env.run(['fleet']);
  t.equal(r.code, 0, r.stderr);
  t.equal(
    r.stdout,
    `NODE           INSTANCE-TYPE   ZONE         PODS   CPU                 MEMORY            $/HOUR
hand-made      <none>          <none>       0/10   0m/1000m (0%)       0Mi/512Mi (0%)    -
ip-10-0-1-10   m5.large        us-east-1a   3/29   1750m/1930m (90%)   512Mi/7Gi (7%)    $0.0960
ip-10-0-2-20   c5.xlarge       us-east-1b   1/58   2500m/3920m (63%)   1.5Gi/7Gi (21%)   $0.1700
Fleet: 3 nodes, 4 pods, $0.2660 per hour (On-Demand, us-east-1)
`,
  );
  r = await env.run(['fleet', '-o', 'json']);
  const f = JSON.parse(r.stdout) as { nodes: Record<string, unknown>[]; totalHourlyUSD: number; pods: number };
  t.equal(f.totalHourlyUSD, 0.266);
  t.equal(f.pods, 4);
  t.same(f.nodes[1], {
    name: 'ip-10-0-1-10',
    instanceType: 'm5.large',
    zone: 'us-east-1a',
    instance: 'i-0aaaaaaaaaaaaaaa1',
    market: 'On-Demand',
    pods: 3,
    allocatablePods: 29,
    cpuRequestedMillis: 1750,
    cpuAllocatableMillis: 1930,
    memoryRequestedBytes: 512 * 1024 * 1024,
    memoryAllocatableBytes: 7 * 1024 ** 3,
    hourlyUSD: 0.096,
  });
  t.equal(f.nodes[0]!.hourlyUSD, null, 'a node without an Instance has no price');
  r = await env.run(['fleet', '-o', 'yaml']);
  t.same(r, { code: 1, stdout: '', stderr: 'error: unable to match a printer suitable for the output format "yaml", allowed formats are: json\n' });
});
