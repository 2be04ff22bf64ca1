/**
 * CronJobs on a virtual clock starting 2026-01-01T00:00:00Z (a Thursday), with the Job
 * controller, scheduler and node agent running the Jobs. Expected behaviour from
 * https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/.
 */
import t from 'tap';
import { mostRecentScheduleTime, parseSchedule } from '../../api/cron.js';
import { Kinds } from '../../client/client.js';
import { START, simNode, virtualCluster, type VirtualCluster } from '../testcluster.js';
import type { CronJob, Job } from '../types.js';
import { jobNameFor, rfc3339In } from './cronjob.js';

const MIN = 60_000;

function cron(name: string, schedule: string, extra: Partial<CronJob['spec']> = {}, runSeconds = '10'): CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: 'default' },
    spec: {
      schedule,
      jobTemplate: {
        metadata: { labels: { team: 'batch' } },
        spec: { template: { metadata: { annotations: { 'sim.berth.dev/run-seconds': runSeconds } }, spec: { containers: [{ name: 'hello', image: 'busybox:1.28' }], restartPolicy: 'OnFailure' } } },
      },
      ...extra,
    },
  };
}

const jobs = async (c: VirtualCluster): Promise<Job[]> => (await c.client.list<Job>(Kinds.Job, { namespace: 'default' })).items.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
const getCj = (c: VirtualCluster, name: string): Promise<CronJob> => c.client.get<CronJob>(Kinds.CronJob, name, 'default');
const finished = (j: Job): boolean => !!j.status?.conditions?.some((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');

t.test('schedule arithmetic: fields, macros, either day field, time zones, validation', async (t) => {
  const every5 = parseSchedule('*/5 * * * *');
  t.equal(new Date(every5.next(START + 7 * MIN)).toISOString(), '2026-01-01T00:10:00.000Z');
  // Both day fields restricted: the 13th OR a Friday (2026-01-02 is a Friday).
  t.equal(new Date(parseSchedule('0 0 13 * 5').next(START)).toISOString(), '2026-01-02T00:00:00.000Z');
  t.equal(new Date(parseSchedule('@hourly').next(START)).toISOString(), '2026-01-01T01:00:00.000Z');
  // 09:00 in New York in January is 14:00 UTC (EST, UTC−5); in July 13:00 UTC (EDT).
  const ny = parseSchedule('0 9 * * *', 'America/New_York');
  t.equal(new Date(ny.next(START)).toISOString(), '2026-01-01T14:00:00.000Z');
  t.equal(new Date(ny.next(Date.UTC(2026, 6, 1))).toISOString(), '2026-07-01T13:00:00.000Z');
  t.equal(rfc3339In(Date.UTC(2026, 0, 1, 14), 'America/New_York'), '2026-01-01T09:00:00-05:00');
  t.throws(() => parseSchedule('0 0 * * * *'), { message: 'expected exactly 5 fields, found 6: [0 0 * * * *]' });
  t.throws(() => parseSchedule('TZ=UTC 0 0 * * *'), { message: 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead' });
  t.throws(() => parseSchedule('0 0 * * *', 'Mars/Olympus'), { message: 'unknown time zone Mars/Olympus' });
  // From 00:00 to 00:07:30 every minute: 7 missed times, the last at 00:07.
  t.same(mostRecentScheduleTime(parseSchedule('* * * * *'), START, START + 7.5 * MIN), { time: START + 7 * MIN, missed: 7 });
  t.equal(jobNameFor(cron('hello', '* * * * *'), START + MIN), `hello-${START / MIN + 1}`, 'named after the scheduled minute');
});

t.test('an invalid schedule is rejected with the field', async (t) => {
  const c = await virtualCluster(t, { run: false, controllers: ['cronjob'] });
  await t.rejects(c.client.create(cron('bad', '61 * * * *')), { code: 422, message: /spec\.schedule: Invalid value: "61 \* \* \* \*"/ });
  await t.rejects(c.client.create(cron('tz', '0 0 * * *', { timeZone: 'Nowhere/Land' })), { code: 422, message: /spec\.timeZone: Invalid value: "Nowhere\/Land": unknown time zone Nowhere\/Land/ });
});

t.test('Allow: a Job every minute, finished Jobs kept to the history limits', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')], controllers: ['cronjob', 'job', 'garbagecollector'] });
  await c.client.create(cron('hello', '* * * * *'));
  await c.advance(MIN - 1000);
  t.equal((await jobs(c)).length, 0, 'nothing before 00:01');
  await c.advance(2000);
  const first = await jobs(c);
  t.same(first.map((j) => j.metadata.name), [`hello-${START / MIN + 1}`], 'the 00:01 Job');
  t.equal(first[0]!.metadata.labels?.team, 'batch');
  t.equal(first[0]!.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2026-01-01T00:01:00Z');
  t.equal(first[0]!.metadata.ownerReferences?.[0]?.kind, 'CronJob');
  let cj = await getCj(c, 'hello');
  t.equal(cj.status?.lastScheduleTime, '2026-01-01T00:01:00Z');
  t.same(cj.status?.active?.map((a) => a.name), [first[0]!.metadata.name]);

  // Seven more minutes: Jobs for 00:02 … 00:07 ran, each finishing ~11 s after its time.
  await c.advance(7 * MIN);
  const all = await jobs(c);
  const done = all.filter(finished);
  t.equal(done.length, 3, 'successfulJobsHistoryLimit 3: older finished Jobs are deleted');
  cj = await getCj(c, 'hello');
  t.ok(cj.status?.lastSuccessfulTime, 'lastSuccessfulTime set');
  t.equal(cj.status?.lastScheduleTime, '2026-01-01T00:08:00Z');
  t.equal(all.length, 4, 'three finished and the running 00:08 Job');
});

t.test('Forbid skips a time while a Job runs; Replace replaces it', async (t) => {
  const c = await virtualCluster(t, { nodes: [simNode('n1')], controllers: ['cronjob', 'job', 'garbagecollector'] });
  // Jobs that run 150 s, every minute.
  await c.client.create(cron('forbid', '* * * * *', { concurrencyPolicy: 'Forbid' }, '150'));
  await c.client.create(cron('replace', '* * * * *', { concurrencyPolicy: 'Replace' }, '150'));
  await c.advance(3 * MIN + 10_000);
  const byOwner = (name: string, js: Job[]): Job[] => js.filter((j) => j.metadata.ownerReferences?.[0]?.name === name);
  const all = await jobs(c);
  const f = byOwner('forbid', all);
  t.same(f.map((j) => j.metadata.name), [`forbid-${START / MIN + 1}`], 'Forbid: the 00:02 and 00:03 times were skipped while the 00:01 Job ran');
  const r = byOwner('replace', all).filter((j) => !j.metadata.deletionTimestamp);
  t.same(r.map((j) => j.metadata.name), [`replace-${START / MIN + 3}`], 'Replace: only the newest Job remains');
  t.equal((await getCj(c, 'replace')).status?.active?.length, 1);
  // Once the 00:01 Job finishes (at ~00:03:31), Forbid starts a Job at its next time.
  await c.advance(MIN);
  t.ok(byOwner('forbid', await jobs(c)).length >= 2, 'a new Job after the first finished');
});

t.test('a time zone shifts the schedule; suspend and startingDeadlineSeconds skip missed times', async (t) => {
  const c = await virtualCluster(t, { run: false, controllers: ['cronjob'] });
  await c.client.create(cron('ny', '0 9 * * *', { timeZone: 'America/New_York' }));
  await c.advance(13 * 60 * MIN + 59 * MIN);
  t.equal((await jobs(c)).length, 0, 'nothing at 13:59 UTC');
  await c.advance(2 * MIN);
  const [j] = await jobs(c);
  t.equal(j?.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2026-01-01T09:00:00-05:00');

  await c.client.create(cron('late', '*/10 * * * *', { suspend: true, startingDeadlineSeconds: 60 }));
  await c.advance(25 * MIN);
  const lateJobs = (): Promise<Job[]> => jobs(c).then((js) => js.filter((x) => x.metadata.name!.startsWith('late-')));
  t.equal((await lateJobs()).length, 0, 'suspended: nothing');
  // Resumed 5 minutes after a scheduled time: older than the 60 s deadline, so skipped.
  await c.client.patch(Kinds.CronJob, 'late', 'default', 'merge', { spec: { suspend: false } });
  await c.advance(1000);
  t.equal((await lateJobs()).length, 0, 'the missed time is past its starting deadline');
  await c.advance(10 * MIN);
  t.equal((await lateJobs()).length, 1, 'the next time runs');
});
