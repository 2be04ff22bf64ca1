/**
 * The Job controller in virtual time, with the scheduler and the node agent running its pods.
 * Expected behaviour from https://kubernetes.io/docs/concepts/workloads/controllers/job/.
 * A simulated pod starts 1 s after it is bound and its program runs for the pod's
 * `sim.berth.dev/run-seconds`, exiting with `sim.berth.dev/exit-code`.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { applyStrategicMergePatch } from '../../apiserver/patch/patch.js';
import type { KubeObject, Pod } from '../../api/types.js';
import { parseTime } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import { simNode, virtualCluster, type VirtualCluster } from '../testcluster.js';
import type { Job } from '../types.js';
import { formatIndexes, matchPodFailurePolicy, parseIndexes, podBackoffMs } from './job.js';

const CORPUS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/corpus');

function job(name: string, spec: Partial<Job['spec']> = {}, annotations: Record<string, string> = { 'sim.berth.dev/run-seconds': '10' }): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default' },
    spec: {
      template: { metadata: { annotations }, spec: { containers: [{ name: 'main', image: 'busybox' }], restartPolicy: 'Never' } },
      ...spec,
    },
  };
}

const getJob = (c: VirtualCluster, name: string): Promise<Job> => c.client.get<Job>(Kinds.Job, name, 'default');
const cond = (j: Job, type: string): string | undefined => j.status?.conditions?.find((x) => x.type === type && x.status === 'True')?.reason;

t.test('the corpus pi Job, given a run time by a kustomize-style patch, runs to completion', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  const [doc] = parseAllDocuments(readFileSync(`${CORPUS}/k8s-website/job.yaml`, 'utf8')).map((d) => d.toJS() as KubeObject);
  // What a kustomization's patch would do: give the pod template the simulated run time.
  const patched = applyStrategicMergePatch(doc!, { spec: { template: { metadata: { annotations: { 'sim.berth.dev/run-seconds': '7' } } } } }) as Job;
  const created = await c.client.create({ ...patched, metadata: { ...patched.metadata, namespace: 'default' } });
  const uid = created.metadata.uid!;
  // The Job strategy's generated selector and labels.
  t.same(created.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
  t.match(created.spec.template.metadata?.labels, { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': uid, 'job-name': 'pi' });
  t.equal(created.spec.completions, 1);
  t.equal(created.spec.parallelism, 1);
  t.equal(created.spec.completionMode, 'NonIndexed');
  t.equal(created.spec.backoffLimit, 4, 'kept from the manifest');

  const pod = await c.until(async () => (await c.pods('default', 'job-name=pi'))[0], 'the Job pod');
  t.match(pod.metadata.name, /^pi-[a-z0-9]{5}$/);
  t.same(pod.metadata.finalizers, ['batch.kubernetes.io/job-tracking'], 'the pod is tracked with a finalizer');
  t.equal(pod.metadata.ownerReferences?.[0]?.kind, 'Job');

  const done = await c.until(async () => {
    const j = await getJob(c, 'pi');
    return cond(j, 'Complete') ? j : undefined;
  }, 'the Job to complete', 60_000);
  t.equal(done.status?.succeeded, 1);
  t.equal(done.status?.active ?? 0, 0, 'no active pods (the API server omits a zero active, as Kubernetes does)');
  t.same(done.status?.uncountedTerminatedPods, {});
  // Bound at 0, started 1 s later, ran 7 s: finished at 8 s of cluster time.
  const ran = parseTime(done.status!.completionTime) - parseTime(done.status!.startTime);
  t.ok(ran >= 8_000 && ran <= 9_000, `completed 8 s after it started (${ran} ms)`);
  const finishedPod = (await c.pods('default', 'job-name=pi'))[0]!;
  t.equal(finishedPod.status?.phase, 'Succeeded');
  t.same(finishedPod.metadata.finalizers ?? [], [], 'the tracking finalizer is removed once counted');
});

t.test('completions and parallelism: never more than parallelism pods at once', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(job('batch', { completions: 5, parallelism: 2 }));
  let most = 0;
  const done = await c.until(async () => {
    const active = (await c.pods('default', 'job-name=batch')).filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    most = Math.max(most, active.length);
    const j = await getJob(c, 'batch');
    return cond(j, 'Complete') ? j : undefined;
  }, 'the Job to complete', 120_000, 1000);
  t.equal(most, 2, 'two at a time');
  t.equal(done.status?.succeeded, 5);
  t.equal((await c.pods('default', 'job-name=batch')).length, 5, 'five pods ran, none needlessly');
});

t.test('failed pods are replaced with back-off until backoffLimit, then the Job fails', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(job('flaky', { backoffLimit: 2 }, { 'sim.berth.dev/run-seconds': '1', 'sim.berth.dev/exit-code': '1' }));
  const failed = await c.until(async () => {
    const j = await getJob(c, 'flaky');
    return cond(j, 'Failed') ? j : undefined;
  }, 'the Job to fail', 300_000, 1000);
  t.equal(cond(failed, 'Failed'), 'BackoffLimitExceeded');
  t.equal(failed.status?.conditions?.find((x) => x.type === 'Failed')?.message, 'Job has reached the specified backoff limit');
  t.equal(failed.status?.failed, 3, 'backoffLimit 2: the third failure fails the Job');
  const pods = (await c.pods('default', 'job-name=flaky')).sort((a, b) => parseTime(a.metadata.creationTimestamp) - parseTime(b.metadata.creationTimestamp));
  t.equal(pods.length, 3);
  // Each pod fails 2 s after creation (1 s start + 1 s run); the next waits 10 s, then 20 s.
  const gaps = pods.slice(1).map((p, i) => (parseTime(p.metadata.creationTimestamp) - parseTime(pods[i]!.metadata.creationTimestamp)) / 1000);
  t.ok(gaps[0]! >= 12 && gaps[0]! <= 13, `second pod ~12 s after the first (${gaps[0]} s)`);
  t.ok(gaps[1]! >= 22 && gaps[1]! <= 23, `third pod ~22 s after the second (${gaps[1]} s)`);
  t.same([podBackoffMs(1), podBackoffMs(2), podBackoffMs(6), podBackoffMs(7)], [10_000, 20_000, 320_000, 360_000], 'capped at 6 min');
});

t.test('activeDeadlineSeconds fails a Job that runs too long and stops its pods', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(job('slow', { activeDeadlineSeconds: 30 }, {}));
  await c.until(async () => (await c.pods('default', 'job-name=slow'))[0]?.status?.phase === 'Running', 'the pod to run');
  await c.advance(20_000);
  t.notOk(cond(await getJob(c, 'slow'), 'Failed'), 'not yet at 20 s');
  const failed = await c.until(async () => {
    const j = await getJob(c, 'slow');
    return cond(j, 'Failed') ? j : undefined;
  }, 'the deadline', 20_000, 1000);
  t.equal(cond(failed, 'Failed'), 'DeadlineExceeded');
  t.equal(failed.status?.conditions?.find((x) => x.type === 'Failed')?.message, 'Job was active longer than specified deadline');
  await c.until(async () => (await c.pods('default', 'job-name=slow')).every((p) => p.metadata.deletionTimestamp || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed'), 'the pod to be stopped', 60_000);
  t.pass();
});

t.test('an Indexed Job runs one pod per index and reports completedIndexes', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(job('idx', { completions: 3, parallelism: 3, completionMode: 'Indexed' }));
  const pods = await c.until(async () => {
    const ps = await c.pods('default', 'job-name=idx');
    return ps.length === 3 ? ps : undefined;
  }, 'three pods');
  const byIndex = pods.map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index']).sort();
  t.same(byIndex, ['0', '1', '2']);
  for (const p of pods) {
    const i = p.metadata.annotations!['batch.kubernetes.io/job-completion-index'];
    t.match(p.metadata.name, new RegExp(`^idx-${i}-[a-z0-9]{5}$`));
    t.equal(p.metadata.labels?.['batch.kubernetes.io/job-completion-index'], i);
    t.equal(p.spec.hostname, `idx-${i}`);
    t.same(p.spec.containers[0]!.env?.find((e) => e.name === 'JOB_COMPLETION_INDEX')?.valueFrom, { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']" } });
  }
  const done = await c.until(async () => {
    const j = await getJob(c, 'idx');
    return cond(j, 'Complete') ? j : undefined;
  }, 'completion', 60_000);
  t.equal(done.status?.completedIndexes, '0-2');
  t.equal(done.status?.succeeded, 3);
  t.same([...parseIndexes('1,3-5,7')], [1, 3, 4, 5, 7]);
  t.equal(formatIndexes([7, 1, 3, 4, 5]), '1,3-5,7');
});

t.test('a pod failure policy FailJob rule fails the Job at the first matching exit code', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(
    job('pfp', { backoffLimit: 6, podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } }] } }, { 'sim.berth.dev/run-seconds': '2', 'sim.berth.dev/exit-code': '42' }),
  );
  const failed = await c.until(async () => {
    const j = await getJob(c, 'pfp');
    return cond(j, 'Failed') ? j : undefined;
  }, 'the Job to fail', 60_000);
  t.equal(cond(failed, 'Failed'), 'PodFailurePolicy');
  t.match(failed.status?.conditions?.find((x) => x.type === 'Failed')?.message, /^Container main for pod default\/pfp-[a-z0-9]{5} failed with exit code 42 matching FailJob rule at index 0$/);
  t.equal((await c.pods('default', 'job-name=pfp')).length, 1, 'no retry');

  const pod = { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [] }, status: { phase: 'Failed', containerStatuses: [{ name: 'main', state: { terminated: { exitCode: 3 } } }], conditions: [{ type: 'DisruptionTarget', status: 'True' }] } } as unknown as Pod;
  t.equal(matchPodFailurePolicy([{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }], pod)?.rule.action, 'Ignore', 'a pod condition rule');
  t.equal(matchPodFailurePolicy([{ action: 'Count', onExitCodes: { operator: 'NotIn', values: [3] } }], pod), undefined, 'NotIn: 3 is in the list');
});

t.test('ttlSecondsAfterFinished deletes a finished Job and its pods', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(job('short', { ttlSecondsAfterFinished: 30 }, { 'sim.berth.dev/run-seconds': '1' }));
  await c.until(async () => cond(await getJob(c, 'short'), 'Complete'), 'completion', 60_000);
  await c.advance(25_000);
  t.ok(await c.client.tryGet(Kinds.Job, 'short', 'default'), 'still there before its TTL');
  await c.until(async () => !(await c.client.tryGet(Kinds.Job, 'short', 'default')), 'the Job to be deleted', 30_000);
  await c.until(async () => (await c.pods('default', 'job-name=short')).length === 0, 'its pods to go', 60_000);
  t.pass();
});

t.test('suspend deletes active pods; resume starts again', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')] });
  await c.client.create(job('pause', { parallelism: 2, completions: 4 }, { 'sim.berth.dev/run-seconds': '60' }));
  await c.until(async () => (await c.pods('default', 'job-name=pause')).length === 2, 'two pods');
  await c.client.patch(Kinds.Job, 'pause', 'default', 'merge', { spec: { suspend: true } });
  const j = await c.until(async () => {
    const x = await getJob(c, 'pause');
    return x.status?.conditions?.some((k) => k.type === 'Suspended' && k.status === 'True') ? x : undefined;
  }, 'Suspended');
  t.equal(j.status?.active ?? 0, 0, 'no active pods (a zero active is omitted)');
  await c.client.patch(Kinds.Job, 'pause', 'default', 'merge', { spec: { suspend: false } });
  const resumed = await c.until(async () => {
    const x = await getJob(c, 'pause');
    return x.status?.active === 2 ? x : undefined;
  }, 'two active pods again', 60_000);
  t.equal(resumed.status?.conditions?.find((k) => k.type === 'Suspended')?.reason, 'JobResumed');
});
