import t from 'tap';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { rfc1123z, selectorString, smartLabelFor } from './describe/index.js';
import { kubectl, kubectlAvailable } from './kubectl.testutil.js';
import { seedCluster, startCliEnv } from './testenv.js';

process.env.TZ = 'UTC';
const clock = new VirtualClock();
const env = await startCliEnv({ clock });
t.teardown(() => env.close());
await seedCluster(env.client);
await clock.advance(3 * 3_600_000 + 25 * 60_000);

// Expected text, checked line for line against kubectl 1.32 describing the same objects
// (the last test below does that again whenever kubectl is installed).
const POD = `Name:             web-5d8f7-a
Namespace:        default
Priority:         0
Service Account:  default
Node:             n1/10.0.1.23
Start Time:       Thu, 01 Jan 2026 00:00:00 +0000
Labels:           app=web
                  pod-template-hash=5d8f7
Annotations:      <none>
Status:           Running
IP:               10.244.1.5
IPs:
  IP:           10.244.1.5
Controlled By:  ReplicaSet/web-5d8f7
Containers:
  nginx:
    Container ID:   berth://web-a
    Image:          nginx:1.25
    Image ID:       docker.io/library/nginx@sha256:0123
    Port:           80/TCP
    Host Port:      0/TCP
    State:          Running
      Started:      Thu, 01 Jan 2026 00:00:00 +0000
    Ready:          True
    Restart Count:  0
    Limits:
      cpu:     500m
      memory:  128Mi
    Requests:
      cpu:        250m
      memory:     64Mi
    Environment:  <none>
    Mounts:       <none>
Conditions:
  Type              Status
  Initialized       True 
  Ready             True 
  ContainersReady   True 
  PodScheduled      True 
Volumes:            <none>
QoS Class:          Burstable
Node-Selectors:     <none>
Tolerations:        dedicated=web:NoSchedule
                    node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
                    node.kubernetes.io/unreachable:NoExecute op=Exists for 300s
Events:
  Type    Reason     Age                    From               Message
  ----    ------     ----                   ----               -------
  Normal  Scheduled  3h25m                  default-scheduler  Successfully assigned default/web-5d8f7-a to n1
  Normal  Pulled     3h25m (x3 over 3h25m)  kubelet            Container image "nginx:1.25" already present on machine
`;

const PENDING_POD = `Name:             db-0
Namespace:        default
Priority:         0
Service Account:  default
Node:             <none>
Labels:           app=db
Annotations:      <none>
Status:           Pending
IP:               
IPs:              <none>
Init Containers:
  init:
    Image:      busybox
    Port:       <none>
    Host Port:  <none>
    Command:
      sh
      -c
      echo ready
    Requests:
      cpu:        1
    Environment:  <none>
    Mounts:       <none>
Containers:
  db:
    Image:      postgres:16
    Port:       <none>
    Host Port:  <none>
    Environment:
      PGDATA:    /data
    Mounts:      <none>
Volumes:         <none>
QoS Class:       Burstable
Node-Selectors:  disktype=ssd
Tolerations:     node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
                 node.kubernetes.io/unreachable:NoExecute op=Exists for 300s
Events:          <none>
`;

const NODE = `Name:               n1
Roles:              worker
Labels:             kubernetes.io/hostname=n1
                    node-role.kubernetes.io/worker=
                    node.kubernetes.io/instance-type=m5.large
                    topology.kubernetes.io/zone=us-east-1a
Annotations:        node.alpha.kubernetes.io/ttl: 0
CreationTimestamp:  Thu, 01 Jan 2026 00:00:00 +0000
Taints:             dedicated=web:NoSchedule
Unschedulable:      false
Lease:              Failed to get lease: leases.coordination.k8s.io "n1" not found
Conditions:
  Type             Status  LastHeartbeatTime                 LastTransitionTime                Reason                       Message
  ----             ------  -----------------                 ------------------                ------                       -------
  MemoryPressure   False   Thu, 01 Jan 2026 00:00:00 +0000   Thu, 01 Jan 2026 00:00:00 +0000   KubeletHasSufficientMemory   kubelet has sufficient memory available
  Ready            True    Thu, 01 Jan 2026 00:00:00 +0000   Thu, 01 Jan 2026 00:00:00 +0000   KubeletReady                 kubelet is posting ready status
Addresses:
  InternalIP:  10.0.1.23
  Hostname:    n1
Capacity:
  cpu:                2
  ephemeral-storage:  20Gi
  memory:             8Gi
  pods:               29
Allocatable:
  cpu:                1930m
  ephemeral-storage:  18Gi
  memory:             7Gi
  pods:               29
System Info:
  Machine ID:                 m-1
  System UUID:                u-1
  Boot ID:                    b-1
  Kernel Version:             6.1.0
  OS Image:                   Amazon Linux 2023
  Operating System:           linux
  Architecture:               amd64
  Container Runtime Version:  berth://0.1.0
  Kubelet Version:            v1.32.0-berth
  Kube-Proxy Version:         v1.32.0-berth
PodCIDR:                      10.244.1.0/24
PodCIDRs:                     10.244.1.0/24
ProviderID:                   aws:///us-east-1a/i-0123456789abcdef0
Non-terminated Pods:          (2 in total)
  Namespace                   Name           CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age
  ---------                   ----           ------------  ----------  ---------------  -------------  ---
  default                     web-5d8f7-a    250m (12%)    500m (25%)  64Mi (0%)        128Mi (1%)     3h25m
  default                     web-5d8f7-b    250m (12%)    500m (25%)  64Mi (0%)        128Mi (1%)     3h25m
Allocated resources:
  (Total limits may be over 100 percent, i.e., overcommitted.)
  Resource           Requests    Limits
  --------           --------    ------
  cpu                500m (25%)  1 (51%)
  memory             128Mi (1%)  256Mi (3%)
  ephemeral-storage  0 (0%)      0 (0%)
Events:
  Type    Reason          Age    From             Message
  ----    ------          ----   ----             -------
  Normal  RegisteredNode  3h25m  node-controller  Node n1 event: Registered Node n1 in Controller
`;

const DEPLOYMENT = `Name:                   web
Namespace:              default
CreationTimestamp:      Thu, 01 Jan 2026 00:00:00 +0000
Labels:                 app=web
Annotations:            <none>
Selector:               app=web
Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable
StrategyType:           RollingUpdate
MinReadySeconds:        0
RollingUpdateStrategy:  25% max unavailable, 25% max surge
Pod Template:
  Labels:           app=web
  Service Account:  default
  Containers:
   nginx:
    Image:      nginx:1.25
    Port:       80/TCP
    Host Port:  0/TCP
    Limits:
      cpu:     500m
      memory:  128Mi
    Requests:
      cpu:         250m
      memory:      64Mi
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Conditions:
  Type           Status  Reason
  ----           ------  ------
  Available      True    MinimumReplicasAvailable
  Progressing    True    NewReplicaSetAvailable
OldReplicaSets:  <none>
NewReplicaSet:   web-5d8f7 (2/2 replicas created)
Events:
  Type    Reason             Age    From                   Message
  ----    ------             ----   ----                   -------
  Normal  ScalingReplicaSet  3h25m  deployment-controller  Scaled up replica set web-5d8f7 to 2
`;

t.test('describe pod, node and deployment: kubectl\'s layout', async (t) => {
  for (const [args, want] of [
    [['describe', 'pod', 'web-5d8f7-a'], POD],
    [['describe', 'pod', 'db-0'], PENDING_POD],
    [['describe', 'node', 'n1'], NODE],
    [['describe', 'deploy', 'web'], DEPLOYMENT],
  ] as const) {
    const r = await env.run([...args]);
    t.equal(r.stdout, want, args.join(' '));
    t.equal(r.stderr, '');
    t.equal(r.code, 0);
  }
});

t.test('several objects are separated by a blank line; a name prefix matches as in kubectl', async (t) => {
  const r = await env.run(['describe', 'pods']);
  t.equal(r.stdout, `${PENDING_POD}\n\n${POD}\n\n${POD.replace(/web-5d8f7-a/g, 'web-5d8f7-b').replace('10.244.1.5\nIPs', '10.244.1.6\nIPs').replace('IP:           10.244.1.5', 'IP:           10.244.1.6').replace('berth://web-a', 'berth://web-b').replace(/Events:\n[\s\S]*$/, 'Events:             <none>\n')}`);
  const prefix = await env.run(['describe', 'pod', 'web']);
  t.equal(prefix.stdout.split('\nName:').length, 2, 'both web pods');
  t.match(prefix.stdout, /^Name: {13}web-5d8f7-a\n/);
  t.ok(prefix.stdout.endsWith('<none>\n\n'), 'each followed by an empty line');
});

t.test('the node\'s lease, and its pods from every namespace', async (t) => {
  await env.client.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n2', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'n2', leaseDurationSeconds: 40, renewTime: '2026-01-01T03:24:50.000000Z' } });
  const r = await env.run(['describe', 'node', 'n2']);
  t.match(r.stdout, 'Lease:\n  HolderIdentity:  n2\n  AcquireTime:     <unset>\n  RenewTime:       Thu, 01 Jan 2026 03:24:50 +0000\n');
  t.match(r.stdout, 'Non-terminated Pods:          (1 in total)\n');
  // 100m of 3920m is 2.55%, printed truncated as kubectl does.
  t.match(r.stdout, /\n  kube-system +dns +100m \(2%\) +0 \(0%\) +70Mi \(0%\) +0 \(0%\) +3h25m\n/);
  t.match(r.stdout, /\n  cpu +100m \(2%\) +0 \(0%\)\n/);
});

t.test('every other kind: the generic describer', async (t) => {
  await env.client.create({ apiVersion: 'ec2.berth.dev/v1', kind: 'Instance', metadata: { name: 'i-0123456789abcdef0', labels: { fleet: 'web' } }, spec: { instanceType: 'm5.large', availabilityZone: 'us-east-1a', nodeLabels: { tier: 'web' }, nodeTaints: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }] } });
  const r = await env.run(['describe', 'instance', 'i-0123456789abcdef0']);
  t.equal(
    r.stdout.replace(/UID: {17}.*/, 'UID:                 X').replace(/Resource Version: {4}\d+/, 'Resource Version:    N'),
    `Name:         i-0123456789abcdef0
Namespace:    
Labels:       fleet=web
Annotations:  <none>
API Version:  ec2.berth.dev/v1
Kind:         Instance
Metadata:
  Creation Timestamp:  2026-01-01T03:25:00Z
  Generation:          1
  Resource Version:    N
  UID:                 X
Spec:
  Availability Zone:  us-east-1a
  Instance Type:      m5.large
  Node Labels:
    Tier:  web
  Node Taints:
    Effect:  NoSchedule
    Key:     dedicated
    Value:   web
Events:      <none>
`,
  );
  const secret = await env.run(['apply', '-f', '-'], { stdin: 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: hunter2\n' });
  t.equal(secret.code, 0, secret.stderr);
  const s = await env.run(['describe', 'secret', 'creds']);
  t.equal(s.stdout, 'Name:         creds\nNamespace:    default\nLabels:       <none>\nAnnotations:  <none>\n\nType:  Opaque\n\nData\n====\npassword:  7 bytes\n', 'secret values are never shown');
});

t.test('errors', async (t) => {
  let r = await env.run(['describe', 'pod', 'nope']);
  t.same(r, { code: 1, stdout: '', stderr: 'Error from server (NotFound): pods "nope" not found\n' });
  r = await env.run(['describe', 'cm']);
  t.same(r, { code: 0, stdout: '', stderr: 'No resources found in default namespace.\n' });
  r = await env.run(['describe', 'widgets', 'x']);
  t.same(r, { code: 1, stdout: '', stderr: 'error: the server doesn\'t have a resource type "widgets"\n' });
});

t.test('helpers', async (t) => {
  t.equal(smartLabelFor('apiVersion'), 'API Version');
  t.equal(smartLabelFor('podCIDR'), 'Pod CIDR');
  t.equal(smartLabelFor('apiURL'), 'API URL');
  t.equal(smartLabelFor('uid'), 'UID');
  t.equal(smartLabelFor('example.com/dongle'), 'example.com/dongle');
  t.equal(smartLabelFor('hourlyPrice'), 'Hourly Price');
  t.equal(selectorString({ matchLabels: { tier: 'web', app: 'x' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }, { key: 'canary', operator: 'DoesNotExist' }] }), 'app=x,!canary,env in (dev,prod),tier=web');
  t.equal(rfc1123z('2026-11-29T14:43:21Z'), 'Sun, 29 Nov 2026 14:43:21 +0000');
  t.equal(rfc1123z(undefined), 'Mon, 01 Jan 0001 00:00:00 +0000');
});

t.test('the same output as kubectl, against the same server', { skip: !(await kubectlAvailable()) && 'kubectl is not installed' }, async (t) => {
  // kubectl ages events and pods by its own clock: give describe the same.
  for (const args of [
    ['describe', 'pod', 'web-5d8f7-a'],
    ['describe', 'pods', '-A'],
    ['describe', 'node', 'n1'],
    ['describe', 'nodes'],
    ['describe', 'deploy', 'web'],
    ['describe', 'rs', 'web-5d8f7'],
    ['describe', 'svc', 'web'],
    ['describe', 'ns', 'default'],
    ['describe', 'instance'],
    ['describe', 'pod', 'web'],
  ]) {
    const ours = await env.run(args, { now: Date.now });
    const theirs = await kubectl(env, args);
    t.equal(ours.stdout, theirs.stdout, args.join(' '));
  }
  t.ok(await env.client.get(Kinds.Node, 'n1'));
});

t.test('workload describers: Job, CronJob, DaemonSet, StatefulSet, HorizontalPodAutoscaler', async (t) => {
  const corpus = '/work/shared/corpus';
  for (const f of ['k8s-website/job.yaml', 'k8s-website/daemonset.yaml', 'k8s-examples/horizontal-pod-autoscaler.yaml', 'k8s-website/hpa/php-apache.yaml']) {
    t.equal((await env.run(['apply', '-f', `${corpus}/${f}`])).code, 0, f);
  }
  const more = env.file(
    'workloads.yaml',
    `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 0}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: pg
        image: postgres
        volumeMounts: [{name: data, mountPath: /var/lib/pg}]
        livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 5}
        envFrom: [{configMapRef: {name: cfg}}]
        env:
        - {name: POD, valueFrom: {fieldRef: {apiVersion: v1, fieldPath: metadata.name}}}
        - {name: PW, valueFrom: {secretKeyRef: {name: s, key: pw}}}
      volumes:
      - {name: conf, configMap: {name: cfg}}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: busybox, args: [echo, hi]}]
`,
  );
  t.equal((await env.run(['apply', '-f', more])).code, 0);
  const hpa = await env.run(['describe', 'hpa', 'gemma-server-hpa']);
  t.equal(
    hpa.stdout,
    `Name:                                   gemma-server-hpa
Namespace:                              default
Labels:                                 <none>
Annotations:                            <none>
CreationTimestamp:                      Thu, 01 Jan 2026 03:25:00 +0000
Reference:                              Deployment/vllm-gemma-deployment
Metrics:                                ( current / target )
  "vllm_num_requests_running" on pods:  <unknown> / 4
Min replicas:                           1
Max replicas:                           5
Behavior:
  Scale Down:
    Stabilization Window: 30 seconds
    Select Policy: Max
    Policies:
      - Type: Percent  Value: 100  Period: 15 seconds
Deployment pods:       0 current / 0 desired
Events:                <none>
`,
  );
  if (!(await kubectlAvailable())) return;
  for (const args of [
    ['describe', 'job', 'pi'],
    ['describe', 'cronjob', 'nightly'],
    ['describe', 'ds', '-n', 'kube-system'],
    ['describe', 'sts', 'db'],
    ['describe', 'hpa'],
  ]) {
    const ours = await env.run(args, { now: Date.now });
    const theirs = await kubectl(env, args);
    t.equal(ours.stdout, theirs.stdout, `${args.join(' ')}: as kubectl prints it`);
  }
});
