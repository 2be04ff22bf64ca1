/** Deployments, ReplicaSets, Jobs, CronJobs, DaemonSets, StatefulSets and HorizontalPodAutoscalers. */
import { deepEqual } from '../../api/meta.js';
import type { Deployment, Event, KubeObject, LabelSelector, Pod, ReplicaSet } from '../../api/types.js';
import { humanDuration, parseTime } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import { canonical } from '../quantity.js';
import type { Session } from '../session.js';
import { cmp, controllerOf, describeEvents, formatLabelSelector, formatMap, printAnnotationsMultiline, printLabelsMultiline, rfc1123z, selectorString, type PrefixWriter } from './common.js';
import { describePodTemplate } from './pods.js';

export async function describeDeployment(s: Session, w: PrefixWriter, d: Deployment, events: Event[] | undefined, now: number): Promise<void> {
  const spec = d.spec ?? ({} as Deployment['spec']);
  const st = d.status ?? {};
  w.write(0, `Name:\t${d.metadata.name}\n`);
  w.write(0, `Namespace:\t${d.metadata.namespace ?? ''}\n`);
  w.write(0, `CreationTimestamp:\t${rfc1123z(d.metadata.creationTimestamp)}\n`);
  printLabelsMultiline(w, 'Labels', d.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', d.metadata.annotations);
  w.write(0, `Selector:\t${selectorString(spec.selector)}\n`);
  w.write(0, `Replicas:\t${spec.replicas ?? 1} desired | ${st.updatedReplicas ?? 0} updated | ${st.replicas ?? 0} total | ${st.availableReplicas ?? 0} available | ${st.unavailableReplicas ?? 0} unavailable\n`);
  w.write(0, `StrategyType:\t${spec.strategy?.type ?? ''}\n`);
  w.write(0, `MinReadySeconds:\t${spec.minReadySeconds ?? 0}\n`);
  const ru = spec.strategy?.rollingUpdate;
  if (ru) w.write(0, `RollingUpdateStrategy:\t${ru.maxUnavailable ?? 0} max unavailable, ${ru.maxSurge ?? 0} max surge\n`);
  describePodTemplate(w, spec.template);
  if (st.conditions?.length) {
    w.write(0, 'Conditions:\n  Type\tStatus\tReason\n');
    w.write(1, '----\t------\t------\n');
    for (const c of st.conditions) w.write(1, `${c.type} \t${c.status}\t${c.reason ?? ''}\n`);
  }
  const owned = (await s.client.list<ReplicaSet>(Kinds.ReplicaSet, { namespace: d.metadata.namespace! })).items.filter((rs) => rs.metadata.ownerReferences?.some((o) => o.controller && o.uid === d.metadata.uid));
  if (owned.length) {
    const byAge = [...owned].sort((a, b) => (parseTime(a.metadata.creationTimestamp) || 0) - (parseTime(b.metadata.creationTimestamp) || 0) || cmp(a.metadata.name!, b.metadata.name!));
    const newRs = byAge.find((rs) => sameTemplate(rs.spec?.template, spec.template));
    const old = owned.filter((rs) => rs !== newRs);
    const fmt = (list: ReplicaSet[]): string => list.map((rs) => `${rs.metadata.name} (${rs.status?.replicas ?? 0}/${rs.spec?.replicas ?? 1} replicas created)`).join(', ') || '<none>';
    w.write(0, `OldReplicaSets:\t${fmt(old)}\n`);
    w.write(0, `NewReplicaSet:\t${fmt(newRs ? [newRs] : [])}\n`);
  }
  describeEvents(w, events, now);
}

/** Templates equal apart from the `pod-template-hash` label (deploymentutil.EqualIgnoreHash). */
function sameTemplate(a: unknown, b: unknown): boolean {
  const strip = (t: unknown): unknown => {
    const c = JSON.parse(JSON.stringify(t ?? {})) as { metadata?: { labels?: Record<string, string> } };
    if (c.metadata?.labels) {
      delete c.metadata.labels['pod-template-hash'];
      if (!Object.keys(c.metadata.labels).length) delete c.metadata.labels;
    }
    return c;
  };
  return deepEqual(strip(a), strip(b));
}

export async function podPhases(s: Session, namespace: string, selector: LabelSelector | undefined, uid: string | undefined): Promise<string> {
  const sel = selectorString(selector);
  const pods = (await s.client.list<Pod>(Kinds.Pod, { namespace, ...(sel ? { labelSelector: sel } : {}) })).items.filter((p) => p.metadata.ownerReferences?.some((o) => o.controller && o.uid === uid));
  const count = (phase: string): number => pods.filter((p) => p.status?.phase === phase).length;
  return `${count('Running')} Running / ${count('Pending')} Waiting / ${count('Succeeded')} Succeeded / ${count('Failed')} Failed`;
}

export async function describeReplicaSet(s: Session, w: PrefixWriter, rs: ReplicaSet, events: Event[] | undefined, now: number): Promise<void> {
  let phases: string;
  try {
    phases = await podPhases(s, rs.metadata.namespace!, rs.spec?.selector, rs.metadata.uid);
  } catch (e) {
    phases = `error in fetching pods: ${(e as Error).message}`;
  }
  w.write(0, `Name:\t${rs.metadata.name}\n`);
  w.write(0, `Namespace:\t${rs.metadata.namespace ?? ''}\n`);
  w.write(0, `Selector:\t${formatLabelSelector(rs.spec?.selector)}\n`);
  printLabelsMultiline(w, 'Labels', rs.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', rs.metadata.annotations);
  const controlledBy = controllerOf(rs);
  if (controlledBy) w.write(0, `Controlled By:\t${controlledBy}\n`);
  w.write(0, `Replicas:\t${rs.status?.replicas ?? 0} current / ${rs.spec?.replicas ?? 1} desired\n`);
  w.write(0, `Pods Status:\t${phases}\n`);
  describePodTemplate(w, rs.spec?.template);
  if (rs.status?.conditions?.length) {
    w.write(0, 'Conditions:\n  Type\tStatus\tReason\n');
    w.write(1, '----\t------\t------\n');
    for (const c of rs.status.conditions) w.write(1, `${c.type} \t${c.status}\t${c.reason ?? ''}\n`);
  }
  describeEvents(w, events, now);
}

export function describeJob(w: PrefixWriter, job: KubeObject, events: Event[] | undefined, now: number): void {
  const spec = (job.spec ?? {}) as { selector?: LabelSelector; parallelism?: number; completions?: number; completionMode?: string; suspend?: boolean; backoffLimit?: number; ttlSecondsAfterFinished?: number; activeDeadlineSeconds?: number; template?: { metadata?: KubeObject['metadata']; spec?: Pod['spec'] } };
  const st = (job.status ?? {}) as { startTime?: string; completionTime?: string; active?: number; ready?: number; succeeded?: number; failed?: number; completedIndexes?: string };
  w.write(0, `Name:\t${job.metadata.name}\n`);
  w.write(0, `Namespace:\t${job.metadata.namespace ?? ''}\n`);
  w.write(0, `Selector:\t${selectorString(spec.selector)}\n`);
  printLabelsMultiline(w, 'Labels', job.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', job.metadata.annotations);
  const controlledBy = controllerOf(job);
  if (controlledBy) w.write(0, `Controlled By:\t${controlledBy}\n`);
  if (spec.parallelism !== undefined) w.write(0, `Parallelism:\t${spec.parallelism}\n`);
  w.write(0, spec.completions !== undefined ? `Completions:\t${spec.completions}\n` : 'Completions:\t<unset>\n');
  if (spec.completionMode) w.write(0, `Completion Mode:\t${spec.completionMode}\n`);
  if (spec.suspend !== undefined) w.write(0, `Suspend:\t${spec.suspend}\n`);
  if (spec.backoffLimit !== undefined) w.write(0, `Backoff Limit:\t${spec.backoffLimit}\n`);
  if (spec.ttlSecondsAfterFinished !== undefined) w.write(0, `TTL Seconds After Finished:\t${spec.ttlSecondsAfterFinished}\n`);
  if (st.startTime) w.write(0, `Start Time:\t${rfc1123z(st.startTime)}\n`);
  if (st.completionTime) w.write(0, `Completed At:\t${rfc1123z(st.completionTime)}\n`);
  if (st.startTime && st.completionTime) w.write(0, `Duration:\t${humanDuration(parseTime(st.completionTime) - parseTime(st.startTime))}\n`);
  if (spec.activeDeadlineSeconds !== undefined) w.write(0, `Active Deadline Seconds:\t${spec.activeDeadlineSeconds}s\n`);
  if (st.ready === undefined) w.write(0, `Pods Statuses:\t${st.active ?? 0} Active / ${st.succeeded ?? 0} Succeeded / ${st.failed ?? 0} Failed\n`);
  else w.write(0, `Pods Statuses:\t${st.active ?? 0} Active (${st.ready} Ready) / ${st.succeeded ?? 0} Succeeded / ${st.failed ?? 0} Failed\n`);
  if (spec.completionMode === 'Indexed') w.write(0, `Completed Indexes:\t${st.completedIndexes || '<none>'}\n`);
  describePodTemplate(w, spec.template);
  describeEvents(w, events, now);
}

export function describeCronJob(w: PrefixWriter, cj: KubeObject, events: Event[] | undefined, now: number): void {
  const spec = (cj.spec ?? {}) as { schedule?: string; concurrencyPolicy?: string; suspend?: boolean; timeZone?: string; successfulJobsHistoryLimit?: number; failedJobsHistoryLimit?: number; startingDeadlineSeconds?: number; jobTemplate?: { spec?: { selector?: LabelSelector; parallelism?: number; completions?: number; activeDeadlineSeconds?: number; template?: { metadata?: KubeObject['metadata']; spec?: Pod['spec'] } } } };
  const st = (cj.status ?? {}) as { lastScheduleTime?: string; active?: { name: string }[] };
  const unset = (v: unknown, suffix = ''): string => (v === undefined || v === null ? '<unset>' : `${String(v)}${suffix}`);
  w.write(0, `Name:\t${cj.metadata.name}\n`);
  w.write(0, `Namespace:\t${cj.metadata.namespace ?? ''}\n`);
  printLabelsMultiline(w, 'Labels', cj.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', cj.metadata.annotations);
  w.write(0, `Schedule:\t${spec.schedule ?? ''}\n`);
  w.write(0, `Concurrency Policy:\t${spec.concurrencyPolicy ?? ''}\n`);
  w.write(0, `Suspend:\t${spec.suspend === undefined ? '<unset>' : spec.suspend ? 'True' : 'False'}\n`);
  if (spec.timeZone) w.write(0, `Time Zone:\t${spec.timeZone}\n`);
  w.write(0, `Successful Job History Limit:\t${unset(spec.successfulJobsHistoryLimit)}\n`);
  w.write(0, `Failed Job History Limit:\t${unset(spec.failedJobsHistoryLimit)}\n`);
  w.write(0, `Starting Deadline Seconds:\t${unset(spec.startingDeadlineSeconds, 's')}\n`);
  const jt = spec.jobTemplate?.spec ?? {};
  w.write(0, `Selector:\t${jt.selector ? selectorString(jt.selector) : '<unset>'}\n`);
  w.write(0, `Parallelism:\t${unset(jt.parallelism)}\n`);
  w.write(0, `Completions:\t${unset(jt.completions)}\n`);
  if (jt.activeDeadlineSeconds !== undefined) w.write(0, `Active Deadline Seconds:\t${jt.activeDeadlineSeconds}s\n`);
  describePodTemplate(w, jt.template);
  w.write(0, `Last Schedule Time:\t${st.lastScheduleTime ? rfc1123z(st.lastScheduleTime) : '<unset>'}\n`);
  w.write(0, 'Active Jobs:\t');
  if (!st.active?.length) w.line('<none>');
  else w.line(st.active.map((j) => j.name).join(', '));
  describeEvents(w, events, now);
}

export async function describeDaemonSet(s: Session, w: PrefixWriter, ds: KubeObject, events: Event[] | undefined, now: number): Promise<void> {
  const spec = (ds.spec ?? {}) as { selector?: LabelSelector; template?: { metadata?: KubeObject['metadata']; spec?: Pod['spec'] } };
  const st = (ds.status ?? {}) as Record<string, number | undefined>;
  const phases = await podPhases(s, ds.metadata.namespace!, spec.selector, ds.metadata.uid);
  w.write(0, `Name:\t${ds.metadata.name}\n`);
  w.write(0, `Selector:\t${selectorString(spec.selector)}\n`);
  w.write(0, `Node-Selector:\t${Object.keys(spec.template?.spec?.nodeSelector ?? {}).length ? formatMap(spec.template!.spec!.nodeSelector!) : '<none>'}\n`);
  printLabelsMultiline(w, 'Labels', ds.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', ds.metadata.annotations);
  w.write(0, `Desired Number of Nodes Scheduled: ${st.desiredNumberScheduled ?? 0}\n`);
  w.write(0, `Current Number of Nodes Scheduled: ${st.currentNumberScheduled ?? 0}\n`);
  w.write(0, `Number of Nodes Scheduled with Up-to-date Pods: ${st.updatedNumberScheduled ?? 0}\n`);
  w.write(0, `Number of Nodes Scheduled with Available Pods: ${st.numberAvailable ?? 0}\n`);
  w.write(0, `Number of Nodes Misscheduled: ${st.numberMisscheduled ?? 0}\n`);
  w.write(0, `Pods Status:\t${phases}\n`);
  describePodTemplate(w, spec.template);
  describeEvents(w, events, now);
}

export async function describeStatefulSet(s: Session, w: PrefixWriter, sts: KubeObject, events: Event[] | undefined, now: number): Promise<void> {
  const spec = (sts.spec ?? {}) as { selector?: LabelSelector; replicas?: number; updateStrategy?: { type?: string; rollingUpdate?: { partition?: number; maxUnavailable?: number | string } }; template?: { metadata?: KubeObject['metadata']; spec?: Pod['spec'] }; volumeClaimTemplates?: KubeObject[] };
  const phases = await podPhases(s, sts.metadata.namespace!, spec.selector, sts.metadata.uid);
  w.write(0, `Name:\t${sts.metadata.name}\n`);
  w.write(0, `Namespace:\t${sts.metadata.namespace ?? ''}\n`);
  w.write(0, `CreationTimestamp:\t${rfc1123z(sts.metadata.creationTimestamp)}\n`);
  w.write(0, `Selector:\t${selectorString(spec.selector)}\n`);
  printLabelsMultiline(w, 'Labels', sts.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', sts.metadata.annotations);
  w.write(0, `Replicas:\t${spec.replicas ?? 1} desired | ${(sts.status as { replicas?: number } | undefined)?.replicas ?? 0} total\n`);
  w.write(0, `Update Strategy:\t${spec.updateStrategy?.type ?? ''}\n`);
  const ru = spec.updateStrategy?.rollingUpdate;
  if (ru?.partition !== undefined) {
    w.write(1, `Partition:\t${ru.partition}\n`);
    if (ru.maxUnavailable !== undefined) w.write(1, `MaxUnavailable:\t${ru.maxUnavailable}\n`);
  }
  w.write(0, `Pods Status:\t${phases}\n`);
  describePodTemplate(w, spec.template);
  const claims = spec.volumeClaimTemplates ?? [];
  if (!claims.length) w.write(0, 'Volume Claims:\t<none>\n');
  else {
    w.write(0, 'Volume Claims:\n');
    for (const pvc of claims) {
      const ps = (pvc.spec ?? {}) as { storageClassName?: string; accessModes?: string[]; resources?: { requests?: Record<string, string> } };
      w.write(1, `Name:\t${pvc.metadata?.name ?? ''}\n`);
      w.write(1, `StorageClass:\t${ps.storageClassName ?? ''}\n`);
      printLabelsMultiline(w, 'Labels', pvc.metadata?.labels, '  ');
      printLabelsMultiline(w, 'Annotations', pvc.metadata?.annotations, '  ');
      w.write(1, `Capacity:\t${ps.resources?.requests?.storage !== undefined ? canonical(ps.resources.requests.storage) : '<default>'}\n`);
      w.write(1, `Access Modes:\t[${(ps.accessModes ?? []).join(' ')}]\n`);
    }
  }
  describeEvents(w, events, now);
}

interface MetricTarget {
  type?: string;
  value?: string | number;
  averageValue?: string | number;
  averageUtilization?: number;
}

export function describeHpa(w: PrefixWriter, hpa: KubeObject, events: Event[] | undefined, now: number): void {
  type Metric = { type: string; resource?: { name: string; target?: MetricTarget }; containerResource?: { name: string; container: string; target?: MetricTarget }; pods?: { metric?: { name?: string }; target?: MetricTarget }; object?: { metric?: { name?: string }; describedObject?: { kind?: string; name?: string }; target?: MetricTarget }; external?: { metric?: { name?: string }; target?: MetricTarget } };
  type Current = { resource?: { current?: MetricTarget }; containerResource?: { current?: MetricTarget }; pods?: { current?: MetricTarget }; object?: { current?: MetricTarget }; external?: { current?: MetricTarget } };
  type Rules = { stabilizationWindowSeconds?: number; selectPolicy?: string; policies?: { type: string; value: number; periodSeconds: number }[] };
  const spec = (hpa.spec ?? {}) as { scaleTargetRef?: { kind?: string; name?: string }; minReplicas?: number; maxReplicas?: number; metrics?: Metric[]; behavior?: { scaleUp?: Rules; scaleDown?: Rules } };
  const st = (hpa.status ?? {}) as { currentReplicas?: number; desiredReplicas?: number; currentMetrics?: Current[]; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
  const q = (v: string | number | undefined): string => (v === undefined ? '<unknown>' : canonical(v));
  const cur = (i: number): Current | undefined => st.currentMetrics?.[i];
  w.write(0, `Name:\t${hpa.metadata.name}\n`);
  w.write(0, `Namespace:\t${hpa.metadata.namespace ?? ''}\n`);
  printLabelsMultiline(w, 'Labels', hpa.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', hpa.metadata.annotations);
  w.write(0, `CreationTimestamp:\t${rfc1123z(hpa.metadata.creationTimestamp)}\n`);
  w.write(0, `Reference:\t${spec.scaleTargetRef?.kind ?? ''}/${spec.scaleTargetRef?.name ?? ''}\n`);
  w.write(0, 'Metrics:\t( current / target )\n');
  (spec.metrics ?? []).forEach((m, i) => {
    switch (m.type) {
      case 'External': {
        const t = m.external?.target ?? {};
        if (t.averageValue !== undefined) w.write(1, `${JSON.stringify(m.external?.metric?.name ?? '')} (target average value):\t${cur(i)?.external?.current?.averageValue !== undefined ? q(cur(i)!.external!.current!.averageValue) : '<unknown>'} / ${q(t.averageValue)}\n`);
        else w.write(1, `${JSON.stringify(m.external?.metric?.name ?? '')} (target value):\t${cur(i)?.external ? q(cur(i)!.external!.current?.value) : '<unknown>'} / ${q(t.value ?? 0)}\n`);
        break;
      }
      case 'Pods':
        w.write(1, `${JSON.stringify(m.pods?.metric?.name ?? '')} on pods:\t${cur(i)?.pods ? q(cur(i)!.pods!.current?.averageValue) : '<unknown>'} / ${q(m.pods?.target?.averageValue ?? 0)}\n`);
        break;
      case 'Object': {
        const t = m.object?.target ?? {};
        w.write(1, `"${m.object?.metric?.name ?? ''}" on ${m.object?.describedObject?.kind ?? ''}/${m.object?.describedObject?.name ?? ''} `);
        if (t.type === 'AverageValue') w.write(0, `(target average value):\t${cur(i)?.object ? q(cur(i)!.object!.current?.averageValue) : '<unknown>'} / ${q(t.averageValue ?? 0)}\n`);
        else w.write(0, `(target value):\t${cur(i)?.object ? q(cur(i)!.object!.current?.value) : '<unknown>'} / ${q(t.value ?? 0)}\n`);
        break;
      }
      case 'Resource':
      case 'ContainerResource': {
        const src = m.type === 'Resource' ? m.resource : m.containerResource;
        const c = m.type === 'Resource' ? cur(i)?.resource : cur(i)?.containerResource;
        const t = src?.target ?? {};
        w.write(1, m.type === 'Resource' ? `resource ${src?.name ?? ''} on pods` : `resource ${src?.name ?? ''} of container "${m.containerResource?.container ?? ''}" on pods`);
        if (t.averageValue !== undefined) w.write(0, `:\t${c ? q(c.current?.averageValue) : '<unknown>'} / ${q(t.averageValue)}\n`);
        else {
          const current = c?.current?.averageUtilization !== undefined ? `${c.current.averageUtilization}% (${q(c.current.averageValue ?? 0)})` : '<unknown>';
          w.write(1, `(as a percentage of request):\t${current} / ${t.averageUtilization !== undefined ? `${t.averageUtilization}%` : '<auto>'}\n`);
        }
        break;
      }
      default:
        w.write(1, `<unknown metric type ${JSON.stringify(m.type)}>\n`);
    }
  });
  w.write(0, `Min replicas:\t${spec.minReplicas ?? '<unset>'}\n`);
  w.write(0, `Max replicas:\t${spec.maxReplicas ?? 0}\n`);
  if (spec.behavior) {
    w.write(0, 'Behavior:\n');
    for (const [direction, rules] of [
      ['Scale Up', spec.behavior.scaleUp],
      ['Scale Down', spec.behavior.scaleDown],
    ] as const) {
      if (!rules) continue;
      w.write(1, `${direction}:\n`);
      if (rules.stabilizationWindowSeconds !== undefined) w.write(2, `Stabilization Window: ${rules.stabilizationWindowSeconds} seconds\n`);
      if (rules.policies?.length) {
        w.write(2, `Select Policy: ${rules.selectPolicy ?? 'Max'}\n`);
        w.write(2, 'Policies:\n');
        for (const p of rules.policies) w.write(3, `- Type: ${p.type}\tValue: ${p.value}\tPeriod: ${p.periodSeconds} seconds\n`);
      }
    }
  }
  w.write(0, `${spec.scaleTargetRef?.kind ?? ''} pods:\t`);
  w.write(0, `${st.currentReplicas ?? 0} current / ${st.desiredReplicas ?? 0} desired\n`);
  if (st.conditions?.length) {
    w.write(0, 'Conditions:\n');
    w.write(1, 'Type\tStatus\tReason\tMessage\n');
    w.write(1, '----\t------\t------\t-------\n');
    for (const c of st.conditions) w.write(1, `${c.type}\t${c.status}\t${c.reason ?? ''}\t${c.message ?? ''}\n`);
  }
  describeEvents(w, events, now);
}
