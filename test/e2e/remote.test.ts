/**
 * The control plane in parts: an API server alone, the controllers and scheduler in another
 * process over HTTP, and two remote node agents registering their own nodes. When one agent is
 * killed, its node goes NotReady and its pods are evicted and rescheduled onto the other's node.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { BERTH, startServer, waitFor, type ServerProcess } from './harness.js';

/** Starts `berth <args>` and resolves once its stdout matches `ready`. */
async function startBerth(args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BERTH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`berth ${args.join(' ')} did not start: ${out}${err}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        res();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`berth ${args.join(' ')} exited with ${code}: ${out}${err}`));
    });
  });
  return child;
}

const children: ChildProcess[] = [];
let api: ServerProcess | undefined;
t.teardown(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await api?.stop();
});

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: web}}}
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers:
      - name: web
        image: nginx:1.27
        resources: {requests: {cpu: 100m, memory: 64Mi}}
`;

t.test('an API server, remote controllers and scheduler, and two remote agents', async (t) => {
  api = await startServer({ timeScale: 1, extraArgs: ['--components', 'apiserver'] });
  children.push(await startBerth(['server', '--components', 'controllers,scheduler', '--server', api.url, '--node-monitor-grace-period', '15', '--leader-elect=false'], /→/));
  const east = await startBerth(['agent', '--server', api.url, '--name', 'east'], /berth agent east/);
  children.push(east);
  children.push(await startBerth(['agent', '--server', api.url, '--name', 'west', '--instance-type', 'm5.xlarge'], /berth agent west/));

  const nodes = await waitFor(() => {
    const out = api!.kubectl(['get', 'nodes', '-l', 'node.berth.dev/agent', '--no-headers']).stdout;
    return (out.match(/ Ready /g) ?? []).length === 2 && out;
  }, 'both agents\' nodes Ready', 30_000);
  t.match(nodes, /east-0/);
  t.match(nodes, /west-0/);
  t.equal(api.kubectl(['get', 'node', 'west-0', '-o', 'jsonpath={.status.capacity.cpu}']).stdout, '4', 'sized as an m5.xlarge');
  t.equal(api.kubectl(['get', 'lease', '-n', 'kube-node-lease', 'east-0', '-o', 'jsonpath={.spec.holderIdentity}']).stdout, 'east-0', 'heartbeats through a node Lease');

  const applied = api.kubectl(['apply', '-f', '-'], { input: WEB });
  t.equal(applied.code, 0, applied.stderr);
  const rolled = api.kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s']);
  t.equal(rolled.code, 0, rolled.stderr);
  // Nodes of the Running pods not being deleted (an evicted pod on an unreachable node stays Terminating, as in Kubernetes).
  const where = (): string[] =>
    api!.kubectl(['get', 'pods', '-l', 'app=web', '--field-selector', 'status.phase=Running', '-o', 'jsonpath={range .items[*]}{.spec.nodeName} {.metadata.deletionTimestamp}{"\\n"}{end}']).stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.includes(' '))
      .sort();
  t.same(where(), ['east-0', 'west-0'], 'one pod on each agent\'s node');

  await t.test('logs and exec of a remote agent\'s pod go through the API server to its kubelet endpoint', async (t) => {
    const pod = api!.kubectl(['get', 'pods', '-l', 'app=web', '--field-selector', 'spec.nodeName=east-0', '-o', 'jsonpath={.items[0].metadata.name}']).stdout;
    t.ok(pod, 'the pod on east-0');
    const logs = api!.kubectl(['logs', pod]);
    t.equal(logs.code, 0, logs.stderr);
    t.ok(logs.stdout.trim().length > 0, `its log: ${logs.stdout.split('\n')[0]}`);
    const echo = api!.kubectl(['exec', pod, '--', 'echo', 'hello from east']);
    t.equal(echo.code, 0, echo.stderr);
    t.equal(echo.stdout, 'hello from east\n');
    const failed = api!.kubectl(['exec', pod, '--', 'sh', '-c', 'exit 3']);
    t.equal(failed.code, 3, 'the exit code comes back');
    t.match(failed.stderr, /command terminated with exit code 3/);
    t.equal(api!.kubectl(['exec', '-i', pod, '--', 'sh'], { input: 'hostname\n' }).stdout, `${pod}\n`, 'stdin reaches the command');
    // The endpoint recorded on the node refuses callers without the agent's token.
    const port = api!.kubectl(['get', 'node', 'east-0', '-o', 'jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}']).stdout;
    const address = api!.kubectl(['get', 'node', 'east-0', '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}']).stdout;
    t.equal(address, '127.0.0.1');
    t.not(port, '10250', 'the agent reports its own kubelet port');
    const direct = await fetch(`http://${address}:${port}/containerLogs/default/${pod}/web`);
    t.equal(direct.status, 401, 'no token: 401');
  });

  east.kill('SIGKILL');
  await waitFor(() => api!.kubectl(['get', 'node', 'east-0', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout === 'Unknown', 'east-0 NotReady (Unknown) after the grace period', 40_000);
  t.pass('the killed agent\'s node went NotReady');
  await waitFor(() => {
    const w = where();
    return w.length === 2 && w.every((n) => n === 'west-0');
  }, 'both pods running on west-0', 60_000);
  t.pass('its pod was evicted and rescheduled onto the other agent\'s node');
  t.match(api.kubectl(['get', 'pods', '-l', 'app=web', '--field-selector', 'spec.nodeName=east-0', '-o', 'jsonpath={.items[*].metadata.deletionTimestamp}']).stdout, /\d{4}-/, 'the pod on the lost node is marked for deletion');
});
