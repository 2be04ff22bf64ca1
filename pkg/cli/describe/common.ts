/**
 * The writing side of kubectl's describers: its PrefixWriter over a Go tabwriter, and the helpers
 * every describer shares (labels, annotations, taints, tolerations, selectors, times, events).
 */
import { StatusError } from '../../api/errors.js';
import type { Event, KubeObject, LabelSelector, Taint, Toleration } from '../../api/types.js';
import { humanDuration, parseTime } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import type { Session } from '../session.js';
import { DESCRIBE_TABS, TabWriter } from '../tabwriter.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const MAX_ANNOTATION_LEN = 140;

/** kubectl's PrefixWriter: two spaces per level, into a tabwriter. */
export class PrefixWriter {
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
export function since(ts: string | undefined | null, now: number): string {
  const t = parseTime(ts);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

export function printLabelsMultiline(w: PrefixWriter, title: string, labels: Record<string, string> | undefined, initialIndent = ''): void {
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

export function printAnnotationsMultiline(w: PrefixWriter, title: string, annotations: Record<string, string> | undefined): void {
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

export function printTaintsMultiline(w: PrefixWriter, title: string, taints: Taint[] | undefined): void {
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

export function printTolerationsMultiline(w: PrefixWriter, title: string, tolerations: Toleration[] | undefined, initialIndent = ''): void {
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

export function cmp(a: string, b: string): number {
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
export function formatLabelSelector(ls: LabelSelector | undefined): string {
  const s = selectorString(ls);
  return s || '<none>';
}

export function controllerOf(obj: KubeObject): string {
  const ref = obj.metadata.ownerReferences?.find((o) => o.controller);
  return ref ? `${ref.kind}/${ref.name}` : '';
}


/**
 * The events about an object, as kubectl finds them: by `involvedObject` name, namespace and uid
 * (and kind, except for Pods).
 */
export async function searchEvents(s: Session, obj: KubeObject, kind: string | undefined): Promise<Event[]> {
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

export function describeEvents(w: PrefixWriter, events: Event[] | undefined, now: number): void {
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


export function formatMap(m: Record<string, string>): string {
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${m[k]}`)
    .join(',');
}
