/**
 * Pod phase and conditions from container states, table-driven against kubelet's getPhase and
 * condition generators (pkg/kubelet/kubelet_pods.go, pkg/kubelet/status/generate.go).
 */
import t from 'tap';
import type { ContainerStatus, Pod } from '../api/types.js';
import { kubeletConditions, podPhase, syncPodStatus } from './podstatus.js';

const running: ContainerStatus['state'] = { running: { startedAt: '2026-01-01T00:00:01Z' } };
const waiting = (reason: string): ContainerStatus['state'] => ({ waiting: { reason } });
const exited = (exitCode: number): ContainerStatus['state'] => ({ terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed' } });

function cs(name: string, state: ContainerStatus['state'], extra: Partial<ContainerStatus> = {}): ContainerStatus {
  return { name, image: 'x', imageID: '', ready: !!state.running, started: !!state.running, restartCount: 0, state, ...extra };
}

function pod(opts: { policy?: 'Always' | 'OnFailure' | 'Never'; init?: { name: string; sidecar?: boolean }[]; apps?: string[]; init_?: ContainerStatus[]; app?: ContainerStatus[] }): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: {
      restartPolicy: opts.policy ?? 'Always',
      containers: (opts.apps ?? ['a']).map((name) => ({ name, image: 'x' })),
      ...(opts.init ? { initContainers: opts.init.map((c) => ({ name: c.name, image: 'x', ...(c.sidecar ? { restartPolicy: 'Always' as const } : {}) })) } : {}),
    },
    status: { podIP: '10.0.0.2', startTime: '2026-01-01T00:00:00Z', ...(opts.init_ ? { initContainerStatuses: opts.init_ } : {}), ...(opts.app ? { containerStatuses: opts.app } : {}) },
  };
}

t.test('podPhase', async (t) => {
  const cases: { name: string; pod: Pod; terminal?: boolean; want: string }[] = [
    { name: 'no statuses yet', pod: pod({}), want: 'Pending' },
    { name: 'creating', pod: pod({ app: [cs('a', waiting('ContainerCreating'))] }), want: 'Pending' },
    { name: 'running', pod: pod({ app: [cs('a', running)] }), want: 'Running' },
    { name: 'one of two still creating', pod: pod({ apps: ['a', 'b'], app: [cs('a', running), cs('b', waiting('ContainerCreating'))] }), want: 'Pending' },
    { name: 'Never, exit 0', pod: pod({ policy: 'Never', app: [cs('a', exited(0))] }), want: 'Succeeded' },
    { name: 'Never, exit 1', pod: pod({ policy: 'Never', app: [cs('a', exited(1))] }), want: 'Failed' },
    { name: 'OnFailure, exit 0', pod: pod({ policy: 'OnFailure', app: [cs('a', exited(0))] }), want: 'Succeeded' },
    { name: 'OnFailure, exit 1: restarting', pod: pod({ policy: 'OnFailure', app: [cs('a', exited(1))] }), want: 'Running' },
    { name: 'Always, exit 0: restarting', pod: pod({ app: [cs('a', exited(0))] }), want: 'Running' },
    { name: 'CrashLoopBackOff counts as stopped', pod: pod({ app: [cs('a', waiting('CrashLoopBackOff'), { lastState: exited(1) })] }), want: 'Running' },
    { name: 'deleted, stopped with 0', pod: pod({ app: [cs('a', exited(0))] }), terminal: true, want: 'Succeeded' },
    { name: 'deleted, stopped with 137', pod: pod({ app: [cs('a', exited(137))] }), terminal: true, want: 'Failed' },
    { name: 'init pending', pod: pod({ init: [{ name: 'i' }], init_: [cs('i', waiting('PodInitializing'))], app: [cs('a', waiting('PodInitializing'))] }), want: 'Pending' },
    { name: 'init failed, Never', pod: pod({ policy: 'Never', init: [{ name: 'i' }], init_: [cs('i', exited(2))], app: [cs('a', waiting('PodInitializing'))] }), want: 'Failed' },
    { name: 'sidecar started, app running', pod: pod({ init: [{ name: 's', sidecar: true }], init_: [cs('s', running)], app: [cs('a', running)] }), want: 'Running' },
    // A running sidecar keeps the pod Running until the kubelet stops it.
    { name: 'app done, sidecar running', pod: pod({ policy: 'Never', init: [{ name: 's', sidecar: true }], init_: [cs('s', running)], app: [cs('a', exited(0))] }), want: 'Running' },
    { name: 'app done, sidecar stopped', pod: pod({ policy: 'Never', init: [{ name: 's', sidecar: true }], init_: [cs('s', exited(0))], app: [cs('a', exited(0))] }), want: 'Succeeded' },
  ];
  for (const c of cases) t.equal(podPhase(c.pod, c.terminal), c.want, c.name);
});

t.test('kubeletConditions: reasons and messages', async (t) => {
  const creating = pod({ apps: ['a', 'b'], app: [cs('a', waiting('ContainerCreating')), cs('b', waiting('ContainerCreating'))] });
  t.same(kubeletConditions(creating, 'Pending'), [
    { type: 'PodReadyToStartContainers', status: 'True' },
    { type: 'Initialized', status: 'True' },
    { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [a b]' },
    { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [a b]' },
    { type: 'PodScheduled', status: 'True' },
  ]);
  const noStatus = pod({});
  delete noStatus.status!.podIP;
  t.match(kubeletConditions(noStatus, 'Pending'), [{ status: 'False' }, {}, { message: 'containers with unknown status: [a]' }]);

  const init = pod({ init: [{ name: 'i1' }, { name: 'i2' }], init_: [cs('i1', exited(0)), cs('i2', waiting('PodInitializing'))], app: [cs('a', waiting('PodInitializing'))] });
  t.match(kubeletConditions(init, 'Pending')[1], { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [i2]' });

  const done = pod({ policy: 'Never', app: [cs('a', exited(0))] });
  t.same(
    kubeletConditions(done, 'Succeeded').map((c) => [c.type, c.status, c.reason]),
    [
      ['PodReadyToStartContainers', 'False', undefined],
      ['Initialized', 'True', 'PodCompleted'],
      ['Ready', 'False', 'PodCompleted'],
      ['ContainersReady', 'False', 'PodCompleted'],
      ['PodScheduled', 'True', undefined],
    ],
  );
  t.match(kubeletConditions(pod({ policy: 'Never', app: [cs('a', exited(1))] }), 'Failed')[2], { type: 'Ready', status: 'False', reason: 'PodFailed' });

  const gated = pod({ app: [cs('a', running)] });
  gated.spec.readinessGates = [{ conditionType: 'example.com/lb' }];
  t.match(kubeletConditions(gated, 'Running')[2], { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: 'corresponding condition of pod readiness gate "example.com/lb" does not exist.' });
  t.match(kubeletConditions(gated, 'Running')[3], { type: 'ContainersReady', status: 'True' });
});

t.test('syncPodStatus keeps transition times and foreign conditions', async (t) => {
  const p = pod({ app: [cs('a', waiting('ContainerCreating'))] });
  p.status!.conditions = [
    { type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-12-31T23:59:59Z' },
    { type: 'example.com/lb', status: 'True', lastTransitionTime: '2025-12-31T23:59:59Z' },
  ];
  syncPodStatus(p, Date.UTC(2026, 0, 1));
  t.same(
    p.status!.conditions!.map((c) => c.type),
    ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled', 'example.com/lb'],
  );
  t.equal(p.status!.conditions![4]!.lastTransitionTime, '2025-12-31T23:59:59Z', 'PodScheduled keeps the bind time');
  t.equal(p.status!.conditions![2]!.lastTransitionTime, '2026-01-01T00:00:00Z');
  p.status!.containerStatuses = [cs('a', running)];
  syncPodStatus(p, Date.UTC(2026, 0, 1, 0, 0, 5));
  t.equal(p.status!.phase, 'Running');
  t.same(p.status!.conditions![1], { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-01-01T00:00:00Z' }, 'unchanged status keeps its time');
  t.same(p.status!.conditions![2], { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-01-01T00:00:05Z' }, 'reason and message go with the change');
});
