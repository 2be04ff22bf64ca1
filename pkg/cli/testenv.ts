/**
 * A test harness for the CLI: an in-process API server listening on a free port, a kubeconfig
 * for it in a temporary directory, and `run(argv)` that drives `runCli` capturing output.
 * No controllers run: objects just sit in the store.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { KubeObject } from '../api/types.js';
import { createApiServer, type ApiServer } from '../apiserver/index.js';
import { CLOUD_RESOURCES } from '../cloud/resources.js';
import { Client } from '../client/client.js';
import { renderKubeconfig } from '../client/kubeconfig.js';
import { RealClock, type Clock } from '../clock/clock.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import { runCli } from './program.js';
import type { IO } from './types.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliEnv {
  api: ApiServer;
  /** An in-process client onto the same store, for arranging and checking objects. */
  client: Client;
  url: string;
  dir: string;
  kubeconfig: string;
  clock: Clock;
  /** Runs one command line; `stdin` feeds `-f -`. */
  run(argv: string[], opts?: { stdin?: string; signal?: AbortSignal; onStdout?: (all: string) => void; now?: () => number }): Promise<RunResult>;
  /** Writes a file into the temporary directory and returns its path. */
  file(name: string, text: string): string;
  close(): Promise<void>;
}

export async function startCliEnv(opts: { clock?: Clock } = {}): Promise<CliEnv> {
  const clock = opts.clock ?? new RealClock();
  const api = await createApiServer({ backend: new MemoryBackend(), clock });
  // berth's own kinds are served (their controllers are not needed: objects just sit in the store).
  for (const r of CLOUD_RESOURCES) api.registry.add(r);
  const app = api.http();
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, renderKubeconfig(url));
  return {
    api,
    client: new Client(api.transport),
    url,
    dir,
    kubeconfig,
    clock,
    async run(argv, o = {}) {
      let stdout = '';
      let stderr = '';
      const io: IO = {
        stdout: (s) => {
          stdout += s;
          o.onStdout?.(stdout);
        },
        stderr: (s) => {
          stderr += s;
        },
        stdin: async () => o.stdin ?? '',
        env: { KUBECONFIG: kubeconfig, HOME: dir },
        now: o.now ?? (() => clock.now()),
        ...(o.signal ? { signal: o.signal } : {}),
      };
      const code = await runCli(argv, io);
      return { code, stdout, stderr };
    },
    file(name, text) {
      const p = join(dir, name);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
      return p;
    },
    async close() {
      await app.close();
      await api.store.backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Where a VirtualClock starts (its default): every object's creationTimestamp in seeded tests. */
export const T0 = '2026-01-01T00:00:00Z';

/**
 * A small cluster, the same every time: two Nodes, a Deployment with its ReplicaSet and two
 * running Pods on node n1, a pending Pod, a Pod in kube-system on n2, a Service, and Events.
 * Status is written through the status subresource, as controllers would.
 */
export async function seedCluster(c: Client): Promise<void> {
  const cond = (type: string, status: 'True' | 'False', reason: string, message: string) => ({ type, status, lastHeartbeatTime: T0, lastTransitionTime: T0, reason, message });
  const n1 = await c.create<KubeObject>({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: 'n1',
      labels: { 'kubernetes.io/hostname': 'n1', 'node.kubernetes.io/instance-type': 'm5.large', 'topology.kubernetes.io/zone': 'us-east-1a', 'node-role.kubernetes.io/worker': '' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: { providerID: 'aws:///us-east-1a/i-0123456789abcdef0', taints: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }], podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
    status: {
      capacity: { cpu: '2', memory: '8Gi', pods: '29', 'ephemeral-storage': '20Gi' },
      allocatable: { cpu: '1930m', memory: '7Gi', pods: '29', 'ephemeral-storage': '18Gi' },
      conditions: [cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'), cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status')],
      addresses: [
        { type: 'InternalIP', address: '10.0.1.23' },
        { type: 'Hostname', address: 'n1' },
      ],
      nodeInfo: { machineID: 'm-1', systemUUID: 'u-1', bootID: 'b-1', kernelVersion: '6.1.0', osImage: 'Amazon Linux 2023', containerRuntimeVersion: 'berth://0.1.0', kubeletVersion: 'v1.32.0-berth', kubeProxyVersion: 'v1.32.0-berth', operatingSystem: 'linux', architecture: 'amd64' },
    },
  });
  await c.create<KubeObject>({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n2', labels: { 'kubernetes.io/hostname': 'n2', 'node.kubernetes.io/instance-type': 'c5.xlarge', 'topology.kubernetes.io/zone': 'us-east-1b' } },
    spec: {},
    status: { capacity: { cpu: '4', memory: '8Gi', pods: '58' }, allocatable: { cpu: '3920m', memory: '7Gi', pods: '58' }, conditions: [cond('Ready', 'False', 'KubeletNotReady', 'container runtime is down')] },
  });
  const template = {
    metadata: { labels: { app: 'web' } },
    spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }], resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } } }] },
  };
  const dep = await c.create<KubeObject>({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template } });
  await c.updateStatus({
    ...dep,
    status: {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      conditions: [
        { type: 'Available', status: 'True', lastUpdateTime: T0, lastTransitionTime: T0, reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
        { type: 'Progressing', status: 'True', lastUpdateTime: T0, lastTransitionTime: T0, reason: 'NewReplicaSetAvailable', message: 'ReplicaSet "web-5d8f7" has successfully progressed.' },
      ],
    },
  });
  const rsTemplate = { ...template, metadata: { labels: { app: 'web', 'pod-template-hash': '5d8f7' } } };
  const rs = await c.create<KubeObject>({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-5d8f7', namespace: 'default', labels: { app: 'web', 'pod-template-hash': '5d8f7' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: dep.metadata.uid!, controller: true, blockOwnerDeletion: true }] },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d8f7' } }, template: rsTemplate },
  });
  await c.updateStatus({ ...rs, status: { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 } });
  const running = (ip: string, host: string) => ({
    phase: 'Running',
    hostIP: host,
    hostIPs: [{ ip: host }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: T0,
    qosClass: 'Burstable',
    conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: T0 })),
  });
  for (const [suffix, ip] of [
    ['a', '10.244.1.5'],
    ['b', '10.244.1.6'],
  ] as const) {
    const pod = await c.create<KubeObject>({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `web-5d8f7-${suffix}`, namespace: 'default', labels: { app: 'web', 'pod-template-hash': '5d8f7' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f7', uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true }] },
      spec: { ...rsTemplate.spec, nodeName: 'n1', tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }] },
    });
    await c.updateStatus({
      ...pod,
      status: { ...running(ip, '10.0.1.23'), containerStatuses: [{ name: 'nginx', ready: true, started: true, restartCount: 0, image: 'docker.io/library/nginx:1.25', imageID: 'docker.io/library/nginx@sha256:0123', containerID: `berth://web-${suffix}`, state: { running: { startedAt: T0 } } }] },
    });
    if (suffix === 'a') {
      const ref = { kind: 'Pod', namespace: 'default', name: pod.metadata.name!, uid: pod.metadata.uid!, apiVersion: 'v1' };
      await c.create<KubeObject>({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'web-a.1', namespace: 'default' }, involvedObject: ref, reason: 'Scheduled', message: 'Successfully assigned default/web-5d8f7-a to n1', type: 'Normal', count: 1, firstTimestamp: T0, lastTimestamp: T0, source: { component: 'default-scheduler' } });
      await c.create<KubeObject>({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'web-a.2', namespace: 'default' }, involvedObject: { ...ref, fieldPath: 'spec.containers{nginx}' }, reason: 'Pulled', message: 'Container image "nginx:1.25" already present on machine', type: 'Normal', count: 3, firstTimestamp: T0, lastTimestamp: T0, source: { component: 'kubelet', host: 'n1' } });
    }
  }
  await c.create<KubeObject>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db-0', namespace: 'default', labels: { app: 'db' } },
    spec: { initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'echo ready'], resources: { requests: { cpu: '1' } } }], containers: [{ name: 'db', image: 'postgres:16', env: [{ name: 'PGDATA', value: '/data' }] }], nodeSelector: { disktype: 'ssd' } },
  });
  const dns = await c.create<KubeObject>({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'dns', namespace: 'kube-system', labels: { k8s: 'dns' } }, spec: { containers: [{ name: 'coredns', image: 'coredns:1.11', resources: { requests: { cpu: '100m', memory: '70Mi' } } }], nodeName: 'n2' } });
  await c.updateStatus({ ...dns, status: running('10.244.2.2', '10.0.2.9') });
  await c.create<KubeObject>({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
  await c.create<KubeObject>({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'web.1', namespace: 'default' }, involvedObject: { kind: 'Deployment', namespace: 'default', name: 'web', uid: dep.metadata.uid!, apiVersion: 'apps/v1' }, reason: 'ScalingReplicaSet', message: 'Scaled up replica set web-5d8f7 to 2', type: 'Normal', count: 1, firstTimestamp: T0, lastTimestamp: T0, source: { component: 'deployment-controller' } });
  await c.create<KubeObject>({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'n1.1', namespace: 'default' }, involvedObject: { kind: 'Node', name: 'n1', uid: n1.metadata.uid!, apiVersion: 'v1' }, reason: 'RegisteredNode', message: 'Node n1 event: Registered Node n1 in Controller', type: 'Normal', count: 1, firstTimestamp: T0, lastTimestamp: T0, source: { component: 'node-controller' } });
}
