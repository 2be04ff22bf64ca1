/**
 * `berth describe`: kubectl's describers (k8s.io/kubectl/pkg/describe), line for line, for Pod,
 * Node, Deployment, ReplicaSet, Service, Namespace, ConfigMap and Secret, and kubectl's generic
 * describer (every field as an indented `Key: value` line) for every other kind — berth's own
 * Instances and Auto Scaling groups included. Each ends with the object's Events.
 *
 * The text goes through a Go tabwriter (minimum width 0, padding 2) exactly as kubectl's does, so
 * `Key:\tvalue` lines align the same way.
 */
import { isNotFound, StatusError } from '../api/errors.js';
import { qosClass } from '../api/defaults.js';
import { deepEqual } from '../api/meta.js';
import type { ResourceInfo } from '../api/resources.js';
import type { Container, ContainerStatus, Deployment, Event, KubeObject, LabelSelector, Node, Pod, ReplicaSet, Taint, Toleration } from '../api/types.js';
import { humanDuration, parseTime } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import { resolveArgs } from './args.js';
import { errorLine, ReportedError } from './errors.js';
import { noResources } from './get.js';
import { isNonTerminated, podLimits, podRequests } from './podresources.js';
import { canonical, milliValue, parseQty, qtyString, unitValue, ZERO, type Qty, type QtyList } from './quantity.js';
import type { Session } from './session.js';
import { DESCRIBE_TABS, TabWriter } from './tabwriter.js';
import type { IO } from './types.js';

export interface DescribeOptions {
  selector?: string;
  allNamespaces?: boolean;
  /** Show events (default true). */
  showEvents?: boolean;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const MAX_ANNOTATION_LEN = 140;

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
    case '/ConfigMap':
      describeConfigMap(w, obj, events, now);
      break;
    case '/Secret':
      describeSecret(w, obj);
      break;
    default:
      describeGeneric(w, obj, events, now);
  }
  return w.text();
}

// -----------------------------------------------------------------------------------------------
// Writing

/** kubectl's PrefixWriter: two spaces per level, into a tabwriter. */
class PrefixWriter {
  private readonly tw = new TabWriter(DESCRIBE_TABS);
  private out = '';

  write(level: number, text: string): void {
    this.tw.write('  '.repeat(level) + text);
  }

  /** `WriteLine`: the text and a newline, no indentation. */
  line(text: string): void {
    this.tw.write(`${text}\n`);
  }

  flush(): void {
    this.out += this.tw.flush();
  }

  text(): string {
    this.flush();
    return this.out;
  }
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's `time.RFC1123Z` in local time: `Sun, 29 Nov 2026 14:43:21 +0000`; Go's zero time if unset. */
export function rfc1123z(ts: string | undefined | null): string {
  const t = parseTime(ts);
  if (Number.isNaN(t)) return 'Mon, 01 Jan 0001 00:00:00 +0000';
  const d = new Date(t);
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${WEEKDAYS[d.getDay()]}, ${p2(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${sign}${p2(Math.floor(abs / 60))}${p2(abs % 60)}`;
}

/** `translateTimestampSince`: the age of a timestamp, `<unknown>` if unset. */
function since(ts: string | undefined | null, now: number): string {
  const t = parseTime(ts);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

function printLabelsMultiline(w: PrefixWriter, title: string, labels: Record<string, string> | undefined, initialIndent = ''): void {
  w.write(0, `${initialIndent}${title}:\t`);
  const keys = Object.keys(labels ?? {}).sort();
  if (!keys.length) {
    w.line('<none>');
    return;
  }
  keys.forEach((k, i) => {
    if (i) w.write(0, `${initialIndent}\t`);
    w.write(0, `${k}=${labels![k]}\n`);
  });
}

function printAnnotationsMultiline(w: PrefixWriter, title: string, annotations: Record<string, string> | undefined): void {
  w.write(0, `${title}:\t`);
  const keys = Object.keys(annotations ?? {})
    .filter((k) => k !== LAST_APPLIED)
    .sort();
  if (!keys.length) {
    w.line('<none>');
    return;
  }
  keys.forEach((k, i) => {
    if (i) w.write(0, '\t');
    const value = String(annotations![k]).replace(/\n$/, '');
    if (value.length + k.length + 2 > MAX_ANNOTATION_LEN || value.includes('\n')) {
      w.write(0, `${k}:\n`);
      for (const line of value.split('\n')) w.write(0, `\t  ${line.length > MAX_ANNOTATION_LEN - 2 ? `${line.slice(0, MAX_ANNOTATION_LEN - 2)}...` : line}\n`);
    } else {
      w.write(0, `${k}: ${value}\n`);
    }
  });
}

function taintString(t: Taint): string {
  return t.value ? `${t.key}=${t.value}:${t.effect}` : `${t.key}:${t.effect}`;
}

function printTaintsMultiline(w: PrefixWriter, title: string, taints: Taint[] | undefined): void {
  w.write(0, `${title}:\t`);
  if (!taints?.length) {
    w.line('<none>');
    return;
  }
  const sorted = [...taints].sort((a, b) => cmp(`${a.effect},${a.key}`, `${b.effect},${b.key}`));
  sorted.forEach((t, i) => {
    if (i) w.write(0, '\t');
    w.write(0, `${taintString(t)}\n`);
  });
}

function printTolerationsMultiline(w: PrefixWriter, title: string, tolerations: Toleration[] | undefined, initialIndent = ''): void {
  w.write(0, `${initialIndent}${title}:\t`);
  if (!tolerations?.length) {
    w.line('<none>');
    return;
  }
  const sorted = [...tolerations].sort((a, b) => cmp(a.key ?? '', b.key ?? ''));
  sorted.forEach((t, i) => {
    if (i) w.write(0, `${initialIndent}\t`);
    let text = t.key ?? '';
    if (t.value) text += `=${t.value}`;
    if (t.effect) text += `:${t.effect}`;
    if (t.operator === 'Exists' && !t.value) text += t.key || t.effect ? ' op=Exists' : 'op=Exists';
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null) text += ` for ${t.tolerationSeconds}s`;
    w.write(0, `${text}\n`);
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `labels.Selector.String()` of a LabelSelector: requirements sorted by key; `''` if empty. */
export function selectorString(ls: LabelSelector | undefined): string {
  if (!ls) return '';
  const reqs: [string, string][] = [];
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) reqs.push([k, `${k}=${v}`]);
  for (const e of ls.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort().join(',');
    const text = e.operator === 'In' ? `${e.key} in (${vals})` : e.operator === 'NotIn' ? `${e.key} notin (${vals})` : e.operator === 'Exists' ? e.key : `!${e.key}`;
    reqs.push([e.key, text]);
  }
  return reqs
    .map((r, i) => [r, i] as const)
    .sort((a, b) => cmp(a[0][0], b[0][0]) || a[1] - b[1])
    .map(([r]) => r[1])
    .join(',');
}

/** `metav1.FormatLabelSelector`: like selectorString, `<none>` when empty. */
function formatLabelSelector(ls: LabelSelector | undefined): string {
  const s = selectorString(ls);
  return s || '<none>';
}

function controllerOf(obj: KubeObject): string {
  const ref = obj.metadata.ownerReferences?.find((o) => o.controller);
  return ref ? `${ref.kind}/${ref.name}` : '';
}

// -----------------------------------------------------------------------------------------------
// Events

/**
 * The events about an object, as kubectl finds them: by `involvedObject` name, namespace and uid
 * (and kind, except for Pods).
 */
async function searchEvents(s: Session, obj: KubeObject, kind: string | undefined): Promise<Event[]> {
  const ns = obj.metadata.namespace ?? '';
  const fields = [`involvedObject.name=${obj.metadata.name}`, `involvedObject.namespace=${ns}`, ...(kind ? [`involvedObject.kind=${kind}`] : []), `involvedObject.uid=${obj.metadata.uid ?? ''}`];
  try {
    const list = await s.client.list<Event>(Kinds.Event, { ...(ns ? { namespace: ns } : {}), fieldSelector: fields.join(',') });
    return list.items;
  } catch (e) {
    if (e instanceof StatusError) return [];
    throw e;
  }
}

function describeEvents(w: PrefixWriter, events: Event[] | undefined, now: number): void {
  if (!events) return;
  if (!events.length) {
    w.write(0, 'Events:\t<none>\n');
    return;
  }
  w.flush();
  const sorted = events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (parseTime(a.e.lastTimestamp) || 0) - (parseTime(b.e.lastTimestamp) || 0) || a.i - b.i)
    .map((x) => x.e);
  w.write(0, 'Events:\n  Type\tReason\tAge\tFrom\tMessage\n');
  w.write(1, '----\t------\t----\t----\t-------\n');
  for (const e of sorted) {
    const series = e.series as { count?: number; lastObservedTime?: string } | undefined;
    const first = e.eventTime ? since(e.eventTime, now) : since(e.firstTimestamp, now);
    let interval: string;
    if (series) interval = `${since(series.lastObservedTime, now)} (x${series.count ?? 0} over ${first})`;
    else if ((e.count ?? 0) > 1) interval = `${since(e.lastTimestamp, now)} (x${e.count} over ${first})`;
    else interval = first;
    const source = e.source?.component || (e.reportingController as string | undefined) || e.reportingComponent || '';
    // (kubectl 1.33+ prefixes the message with involvedObject.fieldPath; 1.32, which berth's
    // version selects, does not.)
    const message = (e.message ?? '').trim();
    w.write(1, `${e.type ?? ''}\t${e.reason ?? ''}\t${interval}\t${source}\t${message}\n`);
  }
}

// -----------------------------------------------------------------------------------------------
// Pods and containers

function describePod(w: PrefixWriter, pod: Pod, events: Event[] | undefined, now: number): void {
  const spec = pod.spec ?? ({ containers: [] } as Pod['spec']);
  const status = pod.status ?? {};
  w.write(0, `Name:\t${pod.metadata.name}\n`);
  w.write(0, `Namespace:\t${pod.metadata.namespace ?? ''}\n`);
  if (spec.priority !== undefined) w.write(0, `Priority:\t${spec.priority}\n`);
  if (spec.priorityClassName) w.write(0, `Priority Class Name:\t${spec.priorityClassName}\n`);
  if (spec.runtimeClassName) w.write(0, `Runtime Class Name:\t${String(spec.runtimeClassName)}\n`);
  if (spec.serviceAccountName) w.write(0, `Service Account:\t${String(spec.serviceAccountName)}\n`);
  w.write(0, spec.nodeName ? `Node:\t${spec.nodeName}/${status.hostIP ?? ''}\n` : 'Node:\t<none>\n');
  if (status.startTime) w.write(0, `Start Time:\t${rfc1123z(status.startTime)}\n`);
  printLabelsMultiline(w, 'Labels', pod.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', pod.metadata.annotations);
  if (pod.metadata.deletionTimestamp && status.phase !== 'Failed' && status.phase !== 'Succeeded') {
    w.write(0, `Status:\tTerminating (lasts ${since(pod.metadata.deletionTimestamp, now)})\n`);
    w.write(0, `Termination Grace Period:\t${pod.metadata.deletionGracePeriodSeconds ?? 0}s\n`);
  } else {
    w.write(0, `Status:\t${status.phase ?? ''}\n`);
  }
  if (status.reason) w.write(0, `Reason:\t${status.reason}\n`);
  if (status.message) w.write(0, `Message:\t${status.message}\n`);
  w.write(0, `IP:\t${status.podIP ?? ''}\n`);
  if (!status.podIPs?.length) w.write(0, 'IPs:\t<none>\n');
  else {
    w.write(0, 'IPs:\n');
    for (const ip of status.podIPs) w.write(1, `IP:\t${ip.ip}\n`);
  }
  const controlledBy = controllerOf(pod);
  if (controlledBy) w.write(0, `Controlled By:\t${controlledBy}\n`);
  if (status.nominatedNodeName) w.write(0, `NominatedNodeName:\t${status.nominatedNodeName}\n`);
  if (spec.resources) {
    w.write(0, 'Resources:\n');
    describeResources(w, spec.resources, 1);
  }
  if (spec.initContainers?.length) describeContainers(w, 'Init Containers', spec.initContainers, status.initContainerStatuses, pod, '');
  describeContainers(w, 'Containers', spec.containers ?? [], status.containerStatuses, pod, '');
  const gates = (spec.readinessGates as { conditionType: string }[] | undefined) ?? [];
  if (gates.length) {
    w.write(0, 'Readiness Gates:\n  Type\tStatus\n');
    for (const g of gates) w.write(1, `${g.conditionType} \t${status.conditions?.find((c) => c.type === g.conditionType)?.status ?? '<none>'} \n`);
  }
  if (status.conditions?.length) {
    w.write(0, 'Conditions:\n  Type\tStatus\n');
    for (const c of status.conditions) w.write(1, `${c.type} \t${c.status} \n`);
  }
  describeVolumes(w, spec.volumes as Volume[] | undefined, '');
  w.write(0, `QoS Class:\t${status.qosClass ?? safeQos(pod)}\n`);
  printLabelsMultiline(w, 'Node-Selectors', spec.nodeSelector);
  printTolerationsMultiline(w, 'Tolerations', spec.tolerations);
  describeTopologySpread(w, spec.topologySpreadConstraints, '');
  describeEvents(w, events, now);
}

function safeQos(pod: Pod): string {
  try {
    return qosClass(pod.spec);
  } catch {
    return '';
  }
}

function describeContainers(w: PrefixWriter, label: string, containers: Container[], statuses: ContainerStatus[] | undefined, pod: Pod | undefined, space: string): void {
  const byName = new Map((statuses ?? []).map((s) => [s.name, s] as const));
  w.write(0, `${space}${label}:${containers.length ? '' : ' <none>'}\n`);
  for (const c of containers) {
    const st = byName.get(c.name);
    w.write(1, `${space ? ' ' : ''}${c.name}:\n`);
    if (st) w.write(2, `Container ID:\t${st.containerID ?? ''}\n`);
    w.write(2, `Image:\t${c.image ?? ''}\n`);
    if (st) w.write(2, `Image ID:\t${st.imageID ?? ''}\n`);
    const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? ''}${p.name ? ` (${p.name})` : ''}`).join(', ');
    w.write(2, ports.includes(',') ? `Ports:\t${ports}\n` : `Port:\t${ports || '<none>'}\n`);
    const hostPorts = (c.ports ?? []).map((p) => `${p.hostPort ?? 0}/${p.protocol ?? ''}${p.name ? ` (${p.name})` : ''}`).join(', ');
    w.write(2, hostPorts.includes(',') ? `Host Ports:\t${hostPorts}\n` : `Host Port:\t${hostPorts || '<none>'}\n`);
    if (c.command?.length) {
      w.write(2, 'Command:\n');
      for (const cmd of c.command) for (const line of String(cmd).split('\n')) w.write(3, `${line}\n`);
    }
    if (c.args?.length) {
      w.write(2, 'Args:\n');
      for (const a of c.args) for (const line of String(a).split('\n')) w.write(3, `${line}\n`);
    }
    if (st) {
      describeState(w, 'State', st.state);
      if (st.lastState?.terminated) describeState(w, 'Last State', st.lastState);
      w.write(2, `Ready:\t${st.ready ? 'True' : 'False'}\n`);
      w.write(2, `Restart Count:\t${st.restartCount ?? 0}\n`);
    }
    if (c.resources) describeResources(w, c.resources, 2);
    for (const [title, probe] of [
      ['Liveness', c.livenessProbe],
      ['Readiness', c.readinessProbe],
      ['Startup', c.startupProbe],
    ] as const) {
      if (probe) w.write(2, `${title}:\t${describeProbe(probe as Probe)}\n`);
    }
    const envFrom = (c.envFrom as EnvFrom[] | undefined) ?? [];
    if (envFrom.length) {
      w.write(2, 'Environment Variables from:\n');
      for (const e of envFrom) {
        const from = e.configMapRef ? 'ConfigMap' : e.secretRef ? 'Secret' : '';
        const ref = e.configMapRef ?? e.secretRef;
        const optional = ref?.optional === true;
        w.write(3, e.prefix ? `${ref?.name ?? ''}\t${from} with prefix '${e.prefix}'\tOptional: ${optional}\n` : `${ref?.name ?? ''}\t${from}\tOptional: ${optional}\n`);
      }
    }
    w.write(2, `Environment:${c.env?.length ? '' : '\t<none>'}\n`);
    for (const e of c.env ?? []) {
      const vf = e.valueFrom as EnvValueFrom | undefined;
      if (!vf) {
        String(e.value ?? '')
          .split('\n')
          .forEach((line, i) => w.write(3, i === 0 ? `${e.name}:\t${line}\n` : `\t${line}\n`));
        continue;
      }
      if (vf.fieldRef) w.write(3, `${e.name}:\t${pod ? fieldRefValue(pod, vf.fieldRef.fieldPath) : ''} (${vf.fieldRef.apiVersion ?? 'v1'}:${vf.fieldRef.fieldPath})\n`);
      else if (vf.resourceFieldRef) w.write(3, `${e.name}:\t${resourceFieldValue(c, vf.resourceFieldRef.resource)} (${vf.resourceFieldRef.resource})\n`);
      else if (vf.secretKeyRef) w.write(3, `${e.name}:\t<set to the key '${vf.secretKeyRef.key}' in secret '${vf.secretKeyRef.name ?? ''}'>\tOptional: ${vf.secretKeyRef.optional === true}\n`);
      else if (vf.configMapKeyRef) w.write(3, `${e.name}:\t<set to the key '${vf.configMapKeyRef.key}' of config map '${vf.configMapKeyRef.name ?? ''}'>\tOptional: ${vf.configMapKeyRef.optional === true}\n`);
    }
    const mounts = [...((c.volumeMounts as VolumeMount[] | undefined) ?? [])].sort((a, b) => cmp(a.mountPath, b.mountPath));
    w.write(2, `Mounts:${mounts.length ? '' : '\t<none>'}\n`);
    for (const m of mounts) {
      const flags = [m.readOnly ? 'ro' : 'rw', ...(m.subPath ? [`path=${JSON.stringify(m.subPath)}`] : [])];
      w.write(3, `${m.mountPath} from ${m.name} (${flags.join(',')})\n`);
    }
    const devices = [...((c.volumeDevices as { devicePath: string; name: string }[] | undefined) ?? [])].sort((a, b) => cmp(a.devicePath, b.devicePath));
    if (devices.length) {
      w.write(2, 'Devices:\n');
      for (const d of devices) w.write(3, `${d.devicePath} from ${d.name}\n`);
    }
  }
}

interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}
interface EnvFrom {
  prefix?: string;
  configMapRef?: { name?: string; optional?: boolean };
  secretRef?: { name?: string; optional?: boolean };
}
interface EnvValueFrom {
  fieldRef?: { apiVersion?: string; fieldPath: string };
  resourceFieldRef?: { resource: string; containerName?: string };
  secretKeyRef?: { name?: string; key: string; optional?: boolean };
  configMapKeyRef?: { name?: string; key: string; optional?: boolean };
}
interface Probe {
  exec?: { command?: string[] };
  httpGet?: { path?: string; port?: number | string; host?: string; scheme?: string };
  tcpSocket?: { port?: number | string; host?: string };
  grpc?: { port?: number; service?: string };
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

function describeProbe(p: Probe): string {
  const attrs = `delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 0}s period=${p.periodSeconds ?? 0}s #success=${p.successThreshold ?? 0} #failure=${p.failureThreshold ?? 0}`;
  if (p.exec) return `exec [${(p.exec.command ?? []).join(' ')}] ${attrs}`;
  if (p.httpGet) {
    const scheme = (p.httpGet.scheme ?? '').toLowerCase();
    const port = p.httpGet.port === undefined ? '' : String(p.httpGet.port);
    const host = port ? `${p.httpGet.host ?? ''}:${port}` : (p.httpGet.host ?? '');
    return `http-get ${scheme ? `${scheme}:` : ''}//${host}${p.httpGet.path ?? ''} ${attrs}`;
  }
  if (p.tcpSocket) return `tcp-socket ${p.tcpSocket.host ?? ''}:${p.tcpSocket.port ?? ''} ${attrs}`;
  if (p.grpc) return `grpc <pod>:${p.grpc.port ?? 0} ${p.grpc.service ?? ''} ${attrs}`;
  return `unknown ${attrs}`;
}

function fieldRefValue(pod: Pod, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  if (m) return (pod.metadata[m[1] as 'labels' | 'annotations'] ?? {})[m[2]!] ?? '';
  const map: Record<string, unknown> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'spec.nodeName': pod.spec.nodeName,
    'spec.serviceAccountName': pod.spec.serviceAccountName,
    'status.hostIP': pod.status?.hostIP,
    'status.podIP': pod.status?.podIP,
  };
  const v = map[path];
  return v === undefined || v === null ? '' : String(v);
}

function resourceFieldValue(c: Container, resource: string): string {
  const [kind, name] = resource.split('.') as ['limits' | 'requests', string];
  const v = c.resources?.[kind]?.[name];
  if (v === undefined) return kind === 'limits' && (name === 'cpu' || name === 'memory') ? 'node allocatable' : '0';
  return name === 'cpu' ? String(Math.ceil(milliValue(parseQtyOrZero(v)) / 1000)) : String(unitValue(parseQtyOrZero(v)));
}

function describeState(w: PrefixWriter, name: string, state: Record<string, Record<string, unknown>> | undefined): void {
  const s = state ?? {};
  if (s.running) {
    w.write(2, `${name}:\tRunning\n`);
    w.write(3, `Started:\t${rfc1123z(s.running.startedAt as string | undefined)}\n`);
  } else if (s.waiting) {
    w.write(2, `${name}:\tWaiting\n`);
    if (s.waiting.reason) w.write(3, `Reason:\t${String(s.waiting.reason)}\n`);
  } else if (s.terminated) {
    const t = s.terminated;
    w.write(2, `${name}:\tTerminated\n`);
    if (t.reason) w.write(3, `Reason:\t${String(t.reason)}\n`);
    if (t.message) w.write(3, `Message:\t${String(t.message)}\n`);
    w.write(3, `Exit Code:\t${Number(t.exitCode ?? 0)}\n`);
    if (Number(t.signal ?? 0) > 0) w.write(3, `Signal:\t${Number(t.signal)}\n`);
    w.write(3, `Started:\t${rfc1123z(t.startedAt as string | undefined)}\n`);
    w.write(3, `Finished:\t${rfc1123z(t.finishedAt as string | undefined)}\n`);
  } else {
    w.write(2, `${name}:\tWaiting\n`);
  }
}

function describeResources(w: PrefixWriter, res: { limits?: Record<string, string | number>; requests?: Record<string, string | number> }, level: number): void {
  const limits = Object.keys(res.limits ?? {}).sort();
  if (limits.length) w.write(level, 'Limits:\n');
  for (const k of limits) w.write(level + 1, `${k}:\t${canonical(res.limits![k])}\n`);
  const requests = Object.keys(res.requests ?? {}).sort();
  if (requests.length) w.write(level, 'Requests:\n');
  for (const k of requests) w.write(level + 1, `${k}:\t${canonical(res.requests![k])}\n`);
}

interface Volume {
  name: string;
  [source: string]: unknown;
}

function describeVolumes(w: PrefixWriter, volumes: Volume[] | undefined, space: string): void {
  if (!volumes?.length) {
    w.write(0, `${space}Volumes:\t<none>\n`);
    return;
  }
  w.write(0, `${space}Volumes:\n`);
  for (const v of volumes) {
    w.write(1, `${space ? ' ' : ''}${v.name}:\n`);
    const src = v as Record<string, Record<string, unknown> | undefined>;
    if (src.hostPath) w.write(2, `Type:\tHostPath (bare host directory volume)\n    Path:\t${String(src.hostPath.path ?? '')}\n    HostPathType:\t${String(src.hostPath.type ?? '<none>')}\n`);
    else if (src.emptyDir) w.write(2, `Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t${String(src.emptyDir.medium ?? '')}\n    SizeLimit:\t${src.emptyDir.sizeLimit ? canonical(src.emptyDir.sizeLimit as string) : '<unset>'}\n`);
    else if (src.secret) w.write(2, `Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t${String(src.secret.secretName ?? '')}\n    Optional:\t${src.secret.optional === true}\n`);
    else if (src.configMap) w.write(2, `Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t${String(src.configMap.name ?? '')}\n    Optional:\t${src.configMap.optional === true}\n`);
    else if (src.persistentVolumeClaim) w.write(2, `Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t${String(src.persistentVolumeClaim.claimName ?? '')}\n    ReadOnly:\t${src.persistentVolumeClaim.readOnly === true}\n`);
    else if (src.projected) {
      w.write(2, 'Type:\tProjected (a volume that contains injected data from multiple sources)\n');
      for (const source of (src.projected.sources as Record<string, Record<string, unknown>>[] | undefined) ?? []) {
        if (source.secret) w.write(2, `SecretName:\t${String(source.secret.name ?? '')}\n    Optional:\t${source.secret.optional === true}\n`);
        else if (source.downwardAPI) w.write(2, 'DownwardAPI:\ttrue\n');
        else if (source.configMap) w.write(2, `ConfigMapName:\t${String(source.configMap.name ?? '')}\n    Optional:\t${source.configMap.optional === true}\n`);
        else if (source.serviceAccountToken) w.write(2, `TokenExpirationSeconds:\t${Number(source.serviceAccountToken.expirationSeconds ?? 0)}\n`);
      }
    } else w.write(1, '<unknown>\n');
  }
}

function describeTopologySpread(w: PrefixWriter, tscs: Record<string, unknown>[] | undefined, space: string): void {
  if (!tscs?.length) return;
  const sorted = [...tscs].sort((a, b) => cmp(String(a.topologyKey ?? ''), String(b.topologyKey ?? '')));
  w.write(0, `${space}Topology Spread Constraints:\t`);
  sorted.forEach((t, i) => {
    if (i) w.write(0, `${space}\t`);
    const sel = t.labelSelector ? ` for selector ${formatLabelSelector(t.labelSelector as LabelSelector)}` : '';
    w.write(0, `${String(t.topologyKey ?? '')}:${String(t.whenUnsatisfiable ?? '')} when max skew ${Number(t.maxSkew ?? 0)} is exceeded${sel}\n`);
  });
}

function describePodTemplate(w: PrefixWriter, template: { metadata?: KubeObject['metadata']; spec?: Pod['spec'] } | undefined): void {
  w.write(0, 'Pod Template:\n');
  if (!template) {
    w.write(1, '<unset>');
    return;
  }
  const spec = template.spec ?? ({ containers: [] } as Pod['spec']);
  printLabelsMultiline(w, '  Labels', template.metadata?.labels);
  if (Object.keys(template.metadata?.annotations ?? {}).length) printAnnotationsMultiline(w, '  Annotations', template.metadata?.annotations);
  if (spec.serviceAccountName) w.write(1, `Service Account:\t${String(spec.serviceAccountName)}\n`);
  if (spec.initContainers?.length) describeContainers(w, 'Init Containers', spec.initContainers, undefined, undefined, '  ');
  describeContainers(w, 'Containers', spec.containers ?? [], undefined, undefined, '  ');
  describeVolumes(w, spec.volumes as Volume[] | undefined, '  ');
  describeTopologySpread(w, spec.topologySpreadConstraints, '  ');
  if (spec.priorityClassName) w.write(1, `Priority Class Name:\t${spec.priorityClassName}\n`);
  printLabelsMultiline(w, '  Node-Selectors', spec.nodeSelector);
  printTolerationsMultiline(w, '  Tolerations', spec.tolerations);
}

// -----------------------------------------------------------------------------------------------
// Nodes

async function describeNode(s: Session, w: PrefixWriter, node: Node, events: Event[] | undefined, now: number): Promise<void> {
  const pods = (await s.client.list<Pod>(Kinds.Pod, { fieldSelector: `spec.nodeName=${node.metadata.name},status.phase!=Succeeded,status.phase!=Failed` })).items;
  const spec = node.spec ?? {};
  const status = node.status ?? {};
  w.write(0, `Name:\t${node.metadata.name}\n`);
  const roles = nodeRoles(node);
  w.write(0, `Roles:\t${roles.length ? roles.join(',') : '<none>'}\n`);
  printLabelsMultiline(w, 'Labels', node.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', node.metadata.annotations);
  w.write(0, `CreationTimestamp:\t${rfc1123z(node.metadata.creationTimestamp)}\n`);
  printTaintsMultiline(w, 'Taints', spec.taints);
  w.write(0, `Unschedulable:\t${spec.unschedulable === true}\n`);
  try {
    const lease = await s.client.get(Kinds.Lease, node.metadata.name!, 'kube-node-lease');
    const ls = (lease.spec ?? {}) as { holderIdentity?: string; acquireTime?: string; renewTime?: string };
    w.write(0, 'Lease:\n');
    w.write(1, `HolderIdentity:\t${ls.holderIdentity ?? '<unset>'}\n`);
    w.write(1, `AcquireTime:\t${ls.acquireTime ? rfc1123z(ls.acquireTime) : '<unset>'}\n`);
    w.write(1, `RenewTime:\t${ls.renewTime ? rfc1123z(ls.renewTime) : '<unset>'}\n`);
  } catch (e) {
    if (!(e instanceof StatusError)) throw e;
    w.write(0, `Lease:\tFailed to get lease: ${e.message}\n`);
  }
  if (status.conditions?.length) {
    w.write(0, 'Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n');
    w.write(1, '----\t------\t-----------------\t------------------\t------\t-------\n');
    for (const c of status.conditions) {
      w.write(1, `${c.type} \t${c.status} \t${rfc1123z(c.lastHeartbeatTime)} \t${rfc1123z(c.lastTransitionTime)} \t${c.reason ?? ''} \t${c.message ?? ''}\n`);
    }
  }
  w.write(0, 'Addresses:\n');
  for (const a of status.addresses ?? []) w.write(1, `${a.type}:\t${a.address}\n`);
  const printList = (list: Record<string, string | number>): void => {
    for (const k of Object.keys(list).sort()) w.write(0, `  ${k}:\t${canonical(list[k])}\n`);
  };
  if (Object.keys(status.capacity ?? {}).length) {
    w.write(0, 'Capacity:\n');
    printList(status.capacity!);
  }
  if (Object.keys(status.allocatable ?? {}).length) {
    w.write(0, 'Allocatable:\n');
    printList(status.allocatable!);
  }
  const info = status.nodeInfo ?? {};
  w.write(0, 'System Info:\n');
  for (const [label, key] of [
    ['Machine ID', 'machineID'],
    ['System UUID', 'systemUUID'],
    ['Boot ID', 'bootID'],
    ['Kernel Version', 'kernelVersion'],
    ['OS Image', 'osImage'],
    ['Operating System', 'operatingSystem'],
    ['Architecture', 'architecture'],
    ['Container Runtime Version', 'containerRuntimeVersion'],
    ['Kubelet Version', 'kubeletVersion'],
    ['Kube-Proxy Version', 'kubeProxyVersion'],
  ] as const) {
    w.write(0, `  ${label}:\t${info[key] ?? ''}\n`);
  }
  if (spec.podCIDR) w.write(0, `PodCIDR:\t${spec.podCIDR}\n`);
  if (spec.podCIDRs?.length) w.write(0, `PodCIDRs:\t${spec.podCIDRs.join(',')}\n`);
  if (spec.providerID) w.write(0, `ProviderID:\t${spec.providerID}\n`);
  describeNodeResource(w, pods, node, now);
  describeEvents(w, events, now);
}

function nodeRoles(node: KubeObject): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return [...roles].sort();
}

function pct(part: number, whole: number): number {
  if (!whole) return 0;
  return Math.trunc((part / whole) * 100);
}

function describeNodeResource(w: PrefixWriter, pods: Pod[], node: Node, now: number): void {
  w.write(0, `Non-terminated Pods:\t(${pods.length} in total)\n`);
  w.write(1, 'Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n');
  w.write(1, '---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n');
  const alloc = Object.keys(node.status?.allocatable ?? {}).length ? node.status!.allocatable! : (node.status?.capacity ?? {});
  const allocCpu = milliValue(parseQtyOrZero(alloc.cpu));
  const allocMem = unitValue(parseQtyOrZero(alloc.memory));
  const allocEph = unitValue(parseQtyOrZero(alloc['ephemeral-storage']));
  const q = (list: QtyList, name: string): Qty => list.get(name) ?? ZERO;
  const totalReq: QtyList = new Map();
  const totalLim: QtyList = new Map();
  for (const pod of pods) {
    const req = podRequests(pod);
    const lim = podLimits(pod);
    w.write(
      1,
      `${pod.metadata.namespace ?? ''}\t${pod.metadata.name}\t\t${qtyString(q(req, 'cpu'))} (${pct(milliValue(q(req, 'cpu')), allocCpu)}%)\t${qtyString(q(lim, 'cpu'))} (${pct(milliValue(q(lim, 'cpu')), allocCpu)}%)\t${qtyString(q(req, 'memory'))} (${pct(unitValue(q(req, 'memory')), allocMem)}%)\t${qtyString(q(lim, 'memory'))} (${pct(unitValue(q(lim, 'memory')), allocMem)}%)\t${since(pod.metadata.creationTimestamp, now)}\n`,
    );
    for (const [k, v] of req) totalReq.set(k, totalReq.has(k) ? { nanos: totalReq.get(k)!.nanos + v.nanos, format: totalReq.get(k)!.format } : { ...v });
    for (const [k, v] of lim) totalLim.set(k, totalLim.has(k) ? { nanos: totalLim.get(k)!.nanos + v.nanos, format: totalLim.get(k)!.format } : { ...v });
  }
  w.write(0, 'Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n');
  w.write(1, 'Resource\tRequests\tLimits\n');
  w.write(1, '--------\t--------\t------\n');
  const row = (name: string, whole: number, value: (x: Qty) => number): void => {
    const r = q(totalReq, name);
    const l = q(totalLim, name);
    w.write(1, `${name}\t${qtyString(r)} (${pct(value(r), whole)}%)\t${qtyString(l)} (${pct(value(l), whole)}%)\n`);
  };
  row('cpu', allocCpu, milliValue);
  row('memory', allocMem, unitValue);
  row('ephemeral-storage', allocEph, unitValue);
  const names = Object.keys(alloc).sort();
  for (const name of names.filter((n) => n.startsWith('hugepages-'))) row(name, unitValue(parseQtyOrZero(alloc[name])), unitValue);
  for (const name of names.filter((n) => !isStandardResource(n) && n !== 'pods' && !n.startsWith('hugepages-'))) {
    w.write(1, `${name}\t${qtyString(q(totalReq, name))}\t${qtyString(q(totalLim, name))}\n`);
  }
}

function isStandardResource(name: string): boolean {
  return ['cpu', 'memory', 'ephemeral-storage', 'storage', 'pods'].includes(name) || name.startsWith('hugepages-') || name.startsWith('requests.') || name.startsWith('limits.');
}

function parseQtyOrZero(v: string | number | undefined): Qty {
  return parseQty(v) ?? ZERO;
}

// -----------------------------------------------------------------------------------------------
// Workloads

async function describeDeployment(s: Session, w: PrefixWriter, d: Deployment, events: Event[] | undefined, now: number): Promise<void> {
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

async function podPhases(s: Session, namespace: string, selector: LabelSelector | undefined, uid: string | undefined): Promise<string> {
  const sel = selectorString(selector);
  const pods = (await s.client.list<Pod>(Kinds.Pod, { namespace, ...(sel ? { labelSelector: sel } : {}) })).items.filter((p) => p.metadata.ownerReferences?.some((o) => o.controller && o.uid === uid));
  const count = (phase: string): number => pods.filter((p) => p.status?.phase === phase).length;
  return `${count('Running')} Running / ${count('Pending')} Waiting / ${count('Succeeded')} Succeeded / ${count('Failed')} Failed`;
}

async function describeReplicaSet(s: Session, w: PrefixWriter, rs: ReplicaSet, events: Event[] | undefined, now: number): Promise<void> {
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

// -----------------------------------------------------------------------------------------------
// Services, namespaces, config

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

async function describeService(s: Session, w: PrefixWriter, svc: KubeObject, events: Event[] | undefined, now: number): Promise<void> {
  const spec = (svc.spec ?? {}) as {
    selector?: Record<string, string>;
    type?: string;
    ipFamilyPolicy?: string;
    ipFamilies?: string[];
    clusterIP?: string;
    clusterIPs?: string[];
    externalIPs?: string[];
    loadBalancerIP?: string;
    externalName?: string;
    ports?: ServicePort[];
    sessionAffinity?: string;
    externalTrafficPolicy?: string;
    internalTrafficPolicy?: string;
    healthCheckNodePort?: number;
    loadBalancerSourceRanges?: string[];
    trafficDistribution?: string;
  };
  const ingress = ((svc.status as { loadBalancer?: { ingress?: { ip?: string; hostname?: string; ipMode?: string }[] } } | undefined)?.loadBalancer?.ingress ?? []).map((i) => (i.ip ? `${i.ip}${i.ipMode ? ` (${i.ipMode})` : ''}` : (i.hostname ?? '')));
  const endpoints = await serviceEndpoints(s, svc);
  w.write(0, `Name:\t${svc.metadata.name}\n`);
  w.write(0, `Namespace:\t${svc.metadata.namespace ?? ''}\n`);
  printLabelsMultiline(w, 'Labels', svc.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', svc.metadata.annotations);
  w.write(0, `Selector:\t${Object.keys(spec.selector ?? {}).length ? formatMap(spec.selector!) : '<none>'}\n`);
  w.write(0, `Type:\t${spec.type ?? ''}\n`);
  if (spec.ipFamilyPolicy) w.write(0, `IP Family Policy:\t${spec.ipFamilyPolicy}\n`);
  w.write(0, `IP Families:\t${spec.ipFamilies?.length ? spec.ipFamilies.join(',') : '<none>'}\n`);
  w.write(0, `IP:\t${spec.clusterIP ?? ''}\n`);
  w.write(0, `IPs:\t${spec.clusterIPs?.length ? spec.clusterIPs.join(',') : '<none>'}\n`);
  if (spec.externalIPs?.length) w.write(0, `External IPs:\t${spec.externalIPs.join(',')}\n`);
  if (spec.loadBalancerIP) w.write(0, `Desired LoadBalancer IP:\t${spec.loadBalancerIP}\n`);
  if (spec.externalName) w.write(0, `External Name:\t${spec.externalName}\n`);
  if (ingress.length) w.write(0, `LoadBalancer Ingress:\t${ingress.join(', ')}\n`);
  for (const p of spec.ports ?? []) {
    const name = p.name || '<unset>';
    const proto = p.protocol ?? '';
    w.write(0, `Port:\t${name}\t${p.port}/${proto}\n`);
    w.write(0, `TargetPort:\t${p.targetPort ?? p.port}/${proto}\n`);
    if (p.appProtocol) w.write(0, `AppProtocol:\t${p.appProtocol}\n`);
    if (p.nodePort) w.write(0, `NodePort:\t${name}\t${p.nodePort}/${proto}\n`);
    w.write(0, `Endpoints:\t${endpoints(p.name ?? '')}\n`);
  }
  w.write(0, `Session Affinity:\t${spec.sessionAffinity ?? ''}\n`);
  if (spec.externalTrafficPolicy) w.write(0, `External Traffic Policy:\t${spec.externalTrafficPolicy}\n`);
  if (spec.internalTrafficPolicy) w.write(0, `Internal Traffic Policy:\t${spec.internalTrafficPolicy}\n`);
  if (spec.healthCheckNodePort) w.write(0, `HealthCheck NodePort:\t${spec.healthCheckNodePort}\n`);
  if (spec.loadBalancerSourceRanges?.length) w.write(0, `LoadBalancer Source Ranges:\t${spec.loadBalancerSourceRanges.join(',')}\n`);
  if (spec.trafficDistribution) w.write(0, `Traffic Distribution:\t${spec.trafficDistribution}\n`);
  describeEvents(w, events, now);
}

function formatMap(m: Record<string, string>): string {
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${m[k]}`)
    .join(',');
}

/**
 * A Service's endpoints for one port name, as `ip:port` (at most three, then `+ N more...`): from
 * its EndpointSlices, else its Endpoints object, else `<none>`.
 */
async function serviceEndpoints(s: Session, svc: KubeObject): Promise<(portName: string) => string> {
  type Addr = { ip: string; port?: number };
  const groups: { ports: { name: string; port: number }[]; addresses: string[] }[] = [];
  try {
    const slices = (await s.client.list({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' }, { namespace: svc.metadata.namespace!, labelSelector: `kubernetes.io/service-name=${svc.metadata.name}` })).items;
    for (const sl of slices) {
      const ports = ((sl.ports as { name?: string; port?: number }[] | undefined) ?? []).map((p) => ({ name: p.name ?? '', port: p.port ?? 0 }));
      const addresses = ((sl.endpoints as { addresses?: string[] }[] | undefined) ?? []).map((e) => e.addresses?.[0] ?? '').filter(Boolean);
      groups.push({ ports, addresses });
    }
  } catch {
    // no EndpointSlices served: fall back to Endpoints
  }
  if (!groups.length) {
    try {
      const ep = await s.client.get(Kinds.Endpoints, svc.metadata.name!, svc.metadata.namespace);
      for (const ss of (ep.subsets as { addresses?: { ip: string }[]; ports?: { name?: string; port: number }[] }[] | undefined) ?? []) {
        groups.push({ ports: (ss.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port })), addresses: (ss.addresses ?? []).map((a) => a.ip) });
      }
    } catch (e) {
      if (!(e instanceof StatusError)) throw e;
    }
  }
  return (portName: string) => {
    if (!groups.length) return '<none>';
    const list: string[] = [];
    let count = 0;
    const add = (a: Addr): void => {
      if (list.length < 3) list.push(a.port === undefined ? a.ip : a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`);
      count++;
    };
    for (const g of groups) {
      if (!g.ports.length) for (const ip of g.addresses) add({ ip });
      else for (const p of g.ports) if (p.name === portName) for (const ip of g.addresses) add({ ip, port: p.port });
    }
    const text = list.join(',');
    return count > 3 ? `${text} + ${count - 3} more...` : text;
  };
}

async function describeNamespace(s: Session, w: PrefixWriter, ns: KubeObject): Promise<void> {
  const name = ns.metadata.name!;
  const list = async (kind: string): Promise<KubeObject[] | undefined> => {
    try {
      return (await s.client.list({ apiVersion: 'v1', kind }, { namespace: name })).items;
    } catch (e) {
      if (e instanceof StatusError) return undefined;
      throw e;
    }
  };
  const quotas = await list('ResourceQuota');
  const limits = await list('LimitRange');
  w.write(0, `Name:\t${name}\n`);
  printLabelsMultiline(w, 'Labels', ns.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', ns.metadata.annotations);
  const status = (ns.status ?? {}) as { phase?: string; conditions?: { type: string; status: string; lastTransitionTime?: string; reason?: string; message?: string }[] };
  w.write(0, `Status:\t${status.phase ?? ''}\n`);
  if (status.conditions?.length) {
    w.write(0, 'Conditions:\n');
    w.write(1, 'Type\tStatus\tLastTransitionTime\tReason\tMessage\n');
    w.write(1, '----\t------\t------------------\t------\t-------\n');
    for (const c of status.conditions) w.write(1, `${c.type}\t${c.status}\t${rfc1123z(c.lastTransitionTime)}\t${c.reason ?? ''}\t${c.message ?? ''}\n`);
  }
  if (quotas) {
    w.write(0, '\n');
    if (!quotas.length) w.write(0, 'No resource quota.\n');
    else {
      w.write(0, 'Resource Quotas\n');
      for (const q of [...quotas].sort((a, b) => cmp(a.metadata.name!, b.metadata.name!))) {
        const st = (q.status ?? {}) as { hard?: Record<string, string>; used?: Record<string, string> };
        w.write(1, `Name:\t${q.metadata.name}\n`);
        w.write(1, 'Resource\tUsed\tHard\n');
        w.write(1, '--------\t---\t---\n');
        for (const k of Object.keys(st.hard ?? {}).sort()) w.write(1, `${k}\t${canonical(st.used?.[k] ?? '0')}\t${canonical(st.hard![k])}\n`);
      }
    }
  }
  if (limits) {
    w.write(0, '\n');
    if (!limits.length) w.write(0, 'No LimitRange resource.\n');
    else {
      w.write(0, 'Resource Limits\n Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n');
      w.write(0, ' ----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n');
      for (const lr of limits) {
        for (const item of ((lr.spec as { limits?: Record<string, unknown>[] } | undefined)?.limits ?? []) as Record<string, Record<string, string> | string | undefined>[]) {
          const parts = ['min', 'max', 'defaultRequest', 'default', 'maxLimitRequestRatio'].map((k) => (item[k] ?? {}) as Record<string, string>);
          const names = new Set(parts.flatMap((p) => Object.keys(p)));
          for (const n of names) {
            const [min, max, defReq, def, ratio] = parts.map((p) => (p[n] !== undefined ? canonical(p[n]) : '-'));
            w.write(0, ` ${String(item.type ?? '')}\t${n}\t${min}\t${max}\t${defReq}\t${def}\t${ratio}\n`);
          }
        }
      }
    }
  }
}

function describeConfigMap(w: PrefixWriter, cm: KubeObject, events: Event[] | undefined, now: number): void {
  w.write(0, `Name:\t${cm.metadata.name}\n`);
  w.write(0, `Namespace:\t${cm.metadata.namespace ?? ''}\n`);
  printLabelsMultiline(w, 'Labels', cm.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', cm.metadata.annotations);
  w.write(0, '\nData\n====\n');
  const data = (cm.data ?? {}) as Record<string, string>;
  for (const k of Object.keys(data).sort()) {
    w.write(0, `${k}:\n----\n`);
    w.write(0, `${data[k]}\n`);
    w.write(0, '\n');
  }
  w.write(0, '\nBinaryData\n====\n');
  const bin = (cm.binaryData ?? {}) as Record<string, string>;
  for (const k of Object.keys(bin).sort()) w.write(0, `${k}: ${Buffer.from(bin[k]!, 'base64').length} bytes\n`);
  w.write(0, '\n');
  describeEvents(w, events, now);
}

function describeSecret(w: PrefixWriter, secret: KubeObject): void {
  w.write(0, `Name:\t${secret.metadata.name}\n`);
  w.write(0, `Namespace:\t${secret.metadata.namespace ?? ''}\n`);
  printLabelsMultiline(w, 'Labels', secret.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', secret.metadata.annotations);
  w.write(0, `\nType:\t${String(secret.type ?? '')}\n`);
  w.write(0, '\nData\n====\n');
  const data = (secret.data ?? {}) as Record<string, string>;
  for (const k of Object.keys(data).sort()) {
    const bytes = Buffer.from(data[k] ?? '', 'base64');
    if (k === 'token' && secret.type === 'kubernetes.io/service-account-token') w.write(0, `${k}:\t${bytes.toString('utf8')}\n`);
    else w.write(0, `${k}:\t${bytes.length} bytes\n`);
  }
}

// -----------------------------------------------------------------------------------------------
// Everything else

function describeGeneric(w: PrefixWriter, obj: KubeObject, events: Event[] | undefined, now: number): void {
  w.write(0, `Name:\t${obj.metadata.name ?? ''}\n`);
  w.write(0, `Namespace:\t${obj.metadata.namespace ?? ''}\n`);
  printLabelsMultiline(w, 'Labels', obj.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', obj.metadata.annotations);
  printUnstructured(w, 0, obj as Record<string, unknown>, '', ['.metadata.managedFields', '.metadata.name', '.metadata.namespace', '.metadata.labels', '.metadata.annotations']);
  describeEvents(w, events, now);
}

/** kubectl's `printUnstructuredContent`: sorted keys, maps and lists indented under their key. */
function printUnstructured(w: PrefixWriter, level: number, content: Record<string, unknown>, skipPrefix: string, skip: string[]): void {
  for (const field of Object.keys(content).sort()) {
    const value = content[field];
    const path = `${skipPrefix}.${field}`;
    if (skip.includes(path)) continue;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      w.write(level, `${smartLabelFor(field)}:\n`);
      printUnstructured(w, level + 1, value as Record<string, unknown>, path, skip);
    } else if (Array.isArray(value)) {
      w.write(level, `${smartLabelFor(field)}:\n`);
      for (const child of value) {
        if (child !== null && typeof child === 'object' && !Array.isArray(child)) printUnstructured(w, level + 1, child as Record<string, unknown>, path, skip);
        else w.write(level + 1, `${goValue(child)}\n`);
      }
    } else {
      w.write(level, `${smartLabelFor(field)}:\t${goValue(value)}\n`);
    }
  }
}

/** Go's `%v` of a decoded JSON value. */
function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    return `map[${Object.keys(v as object)
      .sort()
      .map((k) => `${k}:${goValue((v as Record<string, unknown>)[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

const ACRONYMS = ['API', 'URL', 'UID', 'OSB', 'GUID'];

/** `apiVersion` → `API Version`, `podCIDR` → `Pod CIDR`; names with other characters stay as they are. */
export function smartLabelFor(field: string): string {
  if (/[^\p{L}-]/u.test(field)) return field;
  return camelSplit(field)
    .filter((p) => p !== '_')
    .map((p) => (ACRONYMS.includes(p.toUpperCase()) ? p.toUpperCase() : p.charAt(0).toUpperCase() + p.slice(1)))
    .join(' ');
}

/** github.com/fatih/camelcase `Split`: runs of lower, upper, digit and other; `PDFLoader` → `PDF Loader`. */
function camelSplit(s: string): string[] {
  const cls = (ch: string): number => (/\p{Ll}/u.test(ch) ? 1 : /\p{Lu}/u.test(ch) ? 2 : /\p{Nd}/u.test(ch) ? 3 : 4);
  const runs: string[][] = [];
  let last = 0;
  for (const ch of s) {
    const c = cls(ch);
    if (c === last && runs.length) runs[runs.length - 1]!.push(ch);
    else runs.push([ch]);
    last = c;
  }
  for (let i = 0; i < runs.length - 1; i++) {
    if (cls(runs[i]![0]!) === 2 && cls(runs[i + 1]![0]!) === 1) {
      runs[i + 1]!.unshift(runs[i]!.pop()!);
    }
  }
  return runs.filter((r) => r.length).map((r) => r.join(''));
}
