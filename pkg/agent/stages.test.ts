/**
 * Golden timelines of the default stages, KWOK-style: a pod goes in, the stages are played on a
 * fake context without an API server (first matching stage, its delay, apply), and the sequence of
 * (time ms, stage, phase, kubectl STATUS) and kubelet events comes out.
 */
import t from 'tap';
import { clone } from '../api/meta.js';
import type { Pod } from '../api/types.js';
import { podStatusReason } from '../apiserver/tables.js';
import { sampleDelay } from './agent.js';
import { defaultStages } from './stages.js';
import type { Stage, StageContext } from './types.js';

interface Played {
  pod: Pod | undefined;
  timeline: string[];
  events: string[];
  now: number;
}

/** Plays `stages` on `pod` from time `from` until nothing matches, the pod is deleted, or `until`. */
function play(pod: Pod, until: number, stages: Stage[] = defaultStages(), from = 0): Played {
  const out: Played = { pod: clone(pod), timeline: [], events: [], now: from };
  const started = new Map<string, number>();
  const finished = new Map<string, number>();
  const images = new Set<string>();
  let pending: { stage: string; since: number; dueAt: number } | undefined;
  for (let guard = 0; guard < 200; guard++) {
    const cur = out.pod!;
    const ctx = (p: Pod, since: number): StageContext => ({
      now: out.now,
      since,
      node: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDR: '10.244.0.0/24' } },
      hostIP: '10.0.1.15',
      random: () => 0.5,
      podIP: () => '10.244.0.2',
      podIPAvailable: () => true,
      hasImage: (image) => images.has(image),
      startContainer: (name, restarts) => {
        started.set(name, out.now);
        finished.delete(name);
        images.add(p.spec.containers.concat(p.spec.initContainers ?? []).find((c) => c.name === name)!.image!);
        return { containerID: `berth-sim://${name}-${restarts}`, imageID: 'sha' };
      },
      stopContainer: (name) => void finished.set(name, out.now),
      startedAt: (name) => started.get(name),
      finishedAt: (name) => finished.get(name),
      event: (type, reason, message) => void out.events.push(`${out.now} ${type} ${reason}: ${message}`),
    });
    const stage = stages.find((s) => s.match(cur, ctx(cur, pending?.since ?? out.now)));
    if (!stage) return out;
    if (pending?.stage !== stage.name) {
      const c = ctx(cur, out.now);
      const d = typeof stage.delay === 'function' ? stage.delay(cur, c) : stage.delay;
      pending = { stage: stage.name, since: out.now, dueAt: out.now + sampleDelay(d, () => 0.5) };
      stage.begin?.(cur, c);
    }
    if (pending.dueAt > until) return out;
    out.now = pending.dueAt;
    const draft = clone(cur);
    const res = stage.apply(draft, ctx(draft, pending.since));
    pending = undefined;
    if (res?.delete) {
      out.timeline.push(`${out.now} ${stage.name} deleted`);
      out.pod = undefined;
      return out;
    }
    out.pod = draft;
    out.timeline.push(`${out.now} ${stage.name} ${draft.status!.phase} ${podStatusReason(draft)}`);
  }
  throw new Error('stages did not settle');
}

function nginx(annotations: Record<string, string> = {}, policy: 'Always' | 'OnFailure' | 'Never' = 'Always'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'u1', annotations },
    spec: { nodeName: 'n1', restartPolicy: policy, terminationGracePeriodSeconds: 30, containers: [{ name: 'nginx', image: 'nginx:1.14.2', imagePullPolicy: 'IfNotPresent' }] },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
  };
}

t.test('a long-running pod', async (t) => {
  const r = play(nginx(), 60_000);
  t.same(r.timeline, ['0 pod-create Pending ContainerCreating', '1000 pod-start Running Running']);
  t.same(r.events, [
    '0 Normal Pulling: Pulling image "nginx:1.14.2"',
    '1000 Normal Pulled: Successfully pulled image "nginx:1.14.2" in 1s (1s including waiting)',
    '1000 Normal Created: Created container nginx',
    '1000 Normal Started: Started container nginx',
  ]);
});

t.test('run-seconds and exit codes by restart policy', async (t) => {
  const cases: { name: string; ann: Record<string, string>; policy: 'Always' | 'OnFailure' | 'Never'; until: number; want: string[] }[] = [
    {
      name: 'Never, exit 0',
      ann: { 'sim.berth.dev/run-seconds': '5' },
      policy: 'Never',
      until: 60_000,
      want: ['0 pod-create Pending ContainerCreating', '1000 pod-start Running Running', '6000 container-exit Succeeded Completed'],
    },
    {
      name: 'Never, exit 2',
      ann: { 'sim.berth.dev/run-seconds': '0.5', 'sim.berth.dev/exit-code': '2' },
      policy: 'Never',
      until: 60_000,
      want: ['0 pod-create Pending ContainerCreating', '1000 pod-start Running Running', '1500 container-exit Failed Error'],
    },
    {
      name: 'OnFailure, exit 0 ends the pod',
      ann: { 'sim.berth.dev/run-seconds': '5' },
      policy: 'OnFailure',
      until: 60_000,
      want: ['0 pod-create Pending ContainerCreating', '1000 pod-start Running Running', '6000 container-exit Succeeded Completed'],
    },
    {
      // Exits at 3 s, restarts at once; exits at 5 s, back-off 10 s; at 17 s, back-off 20 s.
      name: 'Always, exit 1: CrashLoopBackOff',
      ann: { 'sim.berth.dev/run-seconds': '2', 'sim.berth.dev/exit-code': '1' },
      policy: 'Always',
      until: 40_000,
      want: [
        '0 pod-create Pending ContainerCreating',
        '1000 pod-start Running Running',
        '3000 container-exit Running Error',
        '3000 container-restart Running Running',
        '5000 container-exit Running Error',
        '5000 container-backoff Running CrashLoopBackOff',
        '15000 container-restart Running Running',
        '17000 container-exit Running Error',
        '17000 container-backoff Running CrashLoopBackOff',
        '37000 container-restart Running Running',
        '39000 container-exit Running Error',
        '39000 container-backoff Running CrashLoopBackOff',
      ],
    },
  ];
  for (const c of cases) t.same(play(nginx(c.ann, c.policy), c.until).timeline, c.want, c.name);

  const crash = play(nginx({ 'sim.berth.dev/run-seconds': '2', 'sim.berth.dev/exit-code': '1' }), 16_000);
  const s = crash.pod!.status!.containerStatuses![0]!;
  t.equal(s.restartCount, 2);
  t.match(s.lastState, { terminated: { exitCode: 1, reason: 'Error', containerID: 'berth-sim://nginx-1' } });
  t.equal(s.containerID, 'berth-sim://nginx-2');
  t.match(crash.events.filter((e) => /BackOff|already/.test(e)), [
    '3000 Normal Pulled: Container image "nginx:1.14.2" already present on machine',
    /^5000 Warning BackOff: Back-off restarting failed container nginx in pod web_default\(u1\)$/,
    '15000 Normal Pulled: Container image "nginx:1.14.2" already present on machine',
  ]);
});

t.test('init containers, then a sidecar, then the app', async (t) => {
  const pod = nginx({ 'sim.berth.dev/run-seconds': '10' }, 'Never');
  pod.spec.initContainers = [
    { name: 'migrate', image: 'busybox:1.36' },
    { name: 'proxy', image: 'envoy:v1', restartPolicy: 'Always' },
  ];
  const r = play(pod, 60_000);
  t.same(r.timeline, [
    '0 pod-create Pending Init:0/2', // the first init container has not started: kubectl prints Init:0/2
    '1000 init-container-start Pending Init:1/2',
    '2000 init-container-start Pending PodInitializing',
    '3000 pod-start Running Running',
    '13000 container-exit Succeeded Completed',
  ]);
  t.match(r.pod!.status!.initContainerStatuses, [
    { name: 'migrate', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
    { name: 'proxy', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
  ], 'the sidecar is stopped when the app is done');
});

t.test('deletion: SIGTERM, stop delay, terminal phase, delete', async (t) => {
  const running = play(nginx(), 10_000);
  const pod = running.pod!;
  pod.metadata.deletionTimestamp = '2026-01-01T00:00:40Z';
  pod.metadata.deletionGracePeriodSeconds = 30;
  const r = play(pod, 60_000, defaultStages(), 10_000);
  t.same(r.timeline, ['10500 pod-stop Succeeded Terminating', '10500 pod-remove deleted']);
  t.same(r.events, ['10000 Normal Killing: Stopping container nginx']);

  // Deleted while its image was still being pulled: nothing ran, so it goes Failed, then away.
  const creating = play(nginx(), 500).pod!;
  creating.metadata.deletionTimestamp = '2026-01-01T00:00:30Z';
  creating.metadata.deletionGracePeriodSeconds = 30;
  const r2 = play(creating, 60_000, defaultStages(), 500);
  t.same(r2.timeline, ['1000 pod-stop Failed Terminating', '1000 pod-remove deleted']);

  // Never accepted by the kubelet: removed at once.
  const fresh = nginx();
  fresh.metadata.deletionTimestamp = '2026-01-01T00:00:30Z';
  t.same(play(fresh, 60_000).timeline, ['0 pod-remove deleted']);
});
