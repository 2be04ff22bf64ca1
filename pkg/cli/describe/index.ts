/**
 * `berth describe`: kubectl's describers (k8s.io/kubectl/pkg/describe, as kubectl 1.32 prints
 * them — the version berth's server makes the kubectl dispatcher pick), line for line, for Pod,
 * Node, Deployment, ReplicaSet, Job, CronJob, DaemonSet, StatefulSet, HorizontalPodAutoscaler,
 * Service, Namespace, ConfigMap and Secret, and kubectl's generic describer (every field as an
 * indented `Key: value` line) for every other kind — berth's own Instances and Auto Scaling groups
 * included. Each ends with the object's Events.
 *
 * The text goes through a Go tabwriter (minimum width 0, padding 2) exactly as kubectl's does, so
 * `Key:\tvalue` lines align the same way.
 */
import { isNotFound, StatusError } from '../../api/errors.js';
import type { ResourceInfo } from '../../api/resources.js';
import type { Deployment, KubeObject, Node, Pod, ReplicaSet } from '../../api/types.js';
import { resolveArgs } from '../args.js';
import { errorLine, ReportedError } from '../errors.js';
import { noResources } from '../get.js';
import type { Session } from '../session.js';
import type { IO } from '../types.js';
import { PrefixWriter, searchEvents } from './common.js';
import { describeConfigMap, describeNamespace, describeSecret, describeService } from './config.js';
import { describeGeneric } from './generic.js';
import { describeLoadBalancer, describeTargetGroup } from './elb.js';
import { describeNode } from './nodes.js';
import { describePod } from './pods.js';
import { describeCronJob, describeDaemonSet, describeDeployment, describeHpa, describeJob, describeReplicaSet, describeStatefulSet } from './workloads.js';

export { rfc1123z, selectorString } from './common.js';
export { smartLabelFor } from './generic.js';

export interface DescribeOptions {
  selector?: string;
  allNamespaces?: boolean;
  /** Show events (default true). */
  showEvents?: boolean;
}

export async function runDescribe(s: Session, io: IO, args: string[], opts: DescribeOptions): Promise<void> {
  const reqs = await resolveArgs(s.client, args, 'You must specify the type of resource to describe. Use "berth api-resources" for a complete list of supported resources.');
  const now = io.now ?? Date.now;
  const errors: unknown[] = [];
  const texts: string[] = [];
  for (const q of reqs) {
    const ns = q.r.namespaced ? (opts.allNamespaces && !q.names.length ? undefined : s.namespace) : undefined;
    const objects: KubeObject[] = [];
    if (q.names.length) {
      for (const name of q.names) {
        try {
          objects.push(await s.client.transport.get(q.r, ns, name));
        } catch (e) {
          if (!(e instanceof StatusError && isNotFound(e))) throw e;
          // `describe KIND NAME` with no such object describes every object whose name starts
          // with NAME, each followed by a blank line (kubectl's DescribeMatchingResources).
          if (reqs.length === 1 && q.names.length === 1) {
            const matching = (await s.client.transport.list(q.r, ns, {})).items.filter((o) => o.metadata.name?.startsWith(name));
            if (matching.length) {
              for (const o of matching) io.stdout(`${await describeObject(s, q.r, o, now(), opts.showEvents !== false)}\n`);
              return;
            }
          }
          errors.push(e);
        }
      }
    } else {
      objects.push(...(await s.client.transport.list(q.r, ns, opts.selector ? { labelSelector: opts.selector } : {})).items);
    }
    for (const o of objects) texts.push(await describeObject(s, q.r, o, now(), opts.showEvents !== false));
  }
  if (texts.length) io.stdout(texts.join('\n\n'));
  else if (!errors.length) noResources(io, reqs, opts, s.namespace);
  for (const e of errors) io.stderr(`${errorLine(e)}\n`);
  if (errors.length) throw new ReportedError(1);
}

/** The description of one object, as kubectl's describer for its kind prints it. */
export async function describeObject(s: Session, r: ResourceInfo, obj: KubeObject, now: number, showEvents = true): Promise<string> {
  const key = `${r.group}/${r.kind}`;
  const events = showEvents ? await searchEvents(s, obj, r.kind === 'Pod' && r.group === '' ? undefined : r.kind) : undefined;
  const w = new PrefixWriter();
  switch (key) {
    case '/Pod':
      describePod(w, obj as Pod, events, now);
      break;
    case '/Node': {
      const nodeEvents = showEvents ? [...(events ?? []), ...(await searchEvents(s, { ...obj, metadata: { ...obj.metadata, uid: obj.metadata.name! } }, r.kind))] : undefined;
      await describeNode(s, w, obj as Node, nodeEvents, now);
      break;
    }
    case 'apps/Deployment':
      await describeDeployment(s, w, obj as Deployment, events, now);
      break;
    case 'apps/ReplicaSet':
      await describeReplicaSet(s, w, obj as ReplicaSet, events, now);
      break;
    case '/Service':
      await describeService(s, w, obj, events, now);
      break;
    case '/Namespace':
      await describeNamespace(s, w, obj);
      break;
    case 'batch/Job':
      describeJob(w, obj, events, now);
      break;
    case 'batch/CronJob':
      describeCronJob(w, obj, events, now);
      break;
    case 'apps/DaemonSet':
      await describeDaemonSet(s, w, obj, events, now);
      break;
    case 'apps/StatefulSet':
      await describeStatefulSet(s, w, obj, events, now);
      break;
    case 'autoscaling/HorizontalPodAutoscaler':
      describeHpa(w, obj, events, now);
      break;
    case '/ConfigMap':
      describeConfigMap(w, obj, events, now);
      break;
    case '/Secret':
      describeSecret(w, obj);
      break;
    case 'elb.berth.dev/LoadBalancer':
      await describeLoadBalancer(s, w, obj, events, now);
      break;
    case 'elb.berth.dev/TargetGroup':
      describeTargetGroup(w, obj, events, now);
      break;
    default:
      describeGeneric(w, obj, events, now);
  }
  return w.text();
}
