/**
 * The timed events of `berth simulate --events FILE`: a YAML list of entries, each happening
 * `at` a duration after time zero, in file order when several share a time:
 *
 * ```yaml
 * - {at: 30m, action: apply, file: more.yaml}              # manifests, applied as `berth apply` does
 * - {at: 2h, action: scale, target: deployment/web, namespace: default, replicas: 40}
 * - {at: 3h, action: delete, target: deployment/web}       # namespace defaults to `default`
 * - {at: 5h, action: interrupt-spot, fraction: 0.3}        # 30% of the running Spot instances
 * - {at: 6h, action: fail-instance, count: 1}              # running instances, picked at random (seeded)
 * - {at: 0s, action: load, target: service/web, port: 80, profile: {type: constant, rps: 50}}  # see load.ts
 * ```
 *
 * Every entry is checked when the file is read, before anything runs; a mistake is reported as
 * `FILE:LINE: event N (ACTION): FIELD: what is wrong`. `apply` files are read (and their YAML
 * checked) at the same time, relative to the events file's folder.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { CliError } from '../cli/errors.js';
import { parseManifest, type ManifestDoc } from '../cli/manifest.js';
import type { LoadProfile } from '../elb/load.js';
import { DurationError, formatDuration, parseDuration } from './duration.js';
import { parseLoadProfile, ProfileError } from './load.js';

/** The actions an event may take, as written in the file. */
export const EVENT_ACTIONS = ['scale', 'apply', 'delete', 'interrupt-spot', 'fail-instance', 'load'] as const;
export type EventAction = (typeof EVENT_ACTIONS)[number];

/** Where an event came from, for messages. */
export interface EventSource {
  file: string;
  /** 1-based position in the list. */
  index: number;
  /** 1-based line of the entry. */
  line: number;
}

interface EventBase {
  /** When, in ms after time zero. */
  at: number;
  source: EventSource;
}

/** Sets a workload's replicas (or an Auto Scaling group's desired capacity) through its `scale` subresource. */
export interface ScaleEvent extends EventBase {
  action: 'scale';
  /** `KIND/NAME` as kubectl takes it (`deployment/web`, `asg/general`). */
  target: string;
  namespace?: string;
  replicas: number;
}

/** Applies manifests (create, or three-way merge patch of what exists), as `berth apply -f`. */
export interface ApplyEvent extends EventBase {
  action: 'apply';
  /** The file as written in the events file. */
  file: string;
  docs: ManifestDoc[];
}

/** Deletes an object with background propagation, as `berth delete KIND/NAME`. */
export interface DeleteEvent extends EventBase {
  action: 'delete';
  target: string;
  namespace?: string;
}

/** Interrupts a fraction of the running Spot instances (two-minute notice, then terminated). */
export interface InterruptSpotEvent extends EventBase {
  action: 'interrupt-spot';
  /** In (0, 1]: the share of running Spot instances interrupted, rounded to the nearest instance. */
  fraction: number;
}

/** Fails running instances picked at random (seeded). */
export interface FailInstanceEvent extends EventBase {
  action: 'fail-instance';
  /** How many instances fail, at least 1. */
  count: number;
}

/** Drives requests at a load balancer following a profile (load.ts), replacing the target group's earlier profile. */
export interface LoadEvent extends EventBase {
  action: 'load';
  /** `service/NAME` (type LoadBalancer), `loadbalancer/NAME`, `targetgroup/NAME` or `function/NAME` (Lambda invocations). */
  target: string;
  namespace?: string;
  /** The Service port or listener port (optional when there is only one). */
  port?: number;
  profile: LoadProfile;
}

/** The kinds a `load` event may target, as written, and what they mean. */
export const LOAD_TARGET_KINDS: Record<string, 'service' | 'loadbalancer' | 'targetgroup' | 'function'> = {
  service: 'service',
  services: 'service',
  svc: 'service',
  loadbalancer: 'loadbalancer',
  loadbalancers: 'loadbalancer',
  lb: 'loadbalancer',
  elb: 'loadbalancer',
  targetgroup: 'targetgroup',
  targetgroups: 'targetgroup',
  tg: 'targetgroup',
  function: 'function',
  functions: 'function',
};

export type SimEvent = ScaleEvent | ApplyEvent | DeleteEvent | InterruptSpotEvent | FailInstanceEvent | LoadEvent;

/** Thrown for a bad events file, with the file, line, entry and field in the message. */
export class EventsFileError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = 'EventsFileError';
  }
}

/** Fields each action takes besides `at` and `action`. */
const FIELDS: Record<EventAction, string[]> = {
  scale: ['target', 'namespace', 'replicas'],
  apply: ['file'],
  delete: ['target', 'namespace'],
  'interrupt-spot': ['fraction'],
  'fail-instance': ['count'],
  load: ['target', 'namespace', 'port', 'profile'],
};

export interface ParseEventsOptions {
  /** The simulation's length, ms: an event after it is an error. */
  durationMs?: number;
  /** Reads an `apply` file (default: from disk). */
  readFile?: (path: string) => string;
}

/** Reads and checks an events file. Throws EventsFileError (or the manifest parser's ManifestSyntaxError for an `apply` file). */
export function readEvents(path: string, opts: ParseEventsOptions = {}): SimEvent[] {
  let text: string;
  try {
    text = (opts.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(path);
  } catch {
    throw new EventsFileError(`the events file "${path}" cannot be read`);
  }
  return parseEvents(path, text, opts);
}

/**
 * Parses the text of an events file named `file` (for messages, and as the folder `apply` files
 * are relative to). Returns the events sorted by time (file order among equal times).
 */
export function parseEvents(file: string, text: string, opts: ParseEventsOptions = {}): SimEvent[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = syntax.linePos?.[0] ?? lc.linePos(syntax.pos[0]);
    throw new EventsFileError(`${file}:${pos.line}:${pos.col}: ${syntax.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').trim()}`);
  }
  const root = doc.contents as YamlNode | null;
  if (root === null || (isScalar(root) && (root.value === null || root.value === undefined))) return [];
  if (!isSeq(root)) throw new EventsFileError(`${file}:${lineOf(root, lc) ?? 1}: the events file must be a YAML list of entries such as {at: 2h, action: scale, target: deployment/web, replicas: 40}`);
  const values = doc.toJS({ maxAliasCount: 1000 }) as unknown[];
  const out: SimEvent[] = [];
  root.items.forEach((item, i) => {
    const node = item as YamlNode;
    const source: EventSource = { file, index: i + 1, line: lineOf(node, lc) ?? 1 };
    out.push(parseEntry(values[i], node, source, lc, opts));
  });
  // Stable: equal times keep file order.
  return out.map((e, i) => [e, i] as const).sort((a, b) => a[0].at - b[0].at || a[1] - b[1]).map(([e]) => e);
}

function lineOf(node: YamlNode | null | undefined, lc: LineCounter): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range ? lc.linePos(range[0]).line : undefined;
}

function parseEntry(value: unknown, node: YamlNode, source: EventSource, lc: LineCounter, opts: ParseEventsOptions): SimEvent {
  let label = `event ${source.index}`;
  const fail = (line: number | undefined, field: string | undefined, what: string): never => {
    throw new EventsFileError(`${source.file}:${line ?? source.line}: ${label}: ${field ? `${field}: ` : ''}${what}`);
  };
  if (!isMap(node) || typeof value !== 'object' || value === null) {
    return fail(undefined, undefined, 'an entry must be a map such as {at: 2h, action: scale, target: deployment/web, replicas: 40}');
  }
  // Values from the parsed tree, lines from the nodes of their keys.
  const fields = new Map<string, { value: unknown; line: number | undefined }>();
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    fields.set(key, { value: (value as Record<string, unknown>)[key], line: lineOf(pair.key as YamlNode, lc) });
  }
  const field = (name: string): { value: unknown; line: number | undefined } | undefined => fields.get(name);

  const action = field('action');
  if (!action) fail(undefined, 'action', `required: one of ${EVENT_ACTIONS.join(', ')}`);
  if (typeof action!.value !== 'string' || !(EVENT_ACTIONS as readonly string[]).includes(action!.value)) {
    fail(action!.line, 'action', `unknown action ${JSON.stringify(action!.value)}: use one of ${EVENT_ACTIONS.join(', ')}`);
  }
  const act = action!.value as EventAction;
  label = `event ${source.index} (${act})`;

  const allowed = new Set(['at', 'action', ...FIELDS[act]]);
  for (const [name, f] of fields) {
    if (!allowed.has(name)) fail(f.line, name, `unknown field for ${act}: it takes ${['at', 'action', ...FIELDS[act]].join(', ')}`);
  }

  const atField = field('at');
  if (!atField) fail(undefined, 'at', 'required: when the event happens after time zero, e.g. 30m or 2h');
  let at: number;
  if (atField!.value === 0) at = 0;
  else if (typeof atField!.value !== 'string') {
    at = fail(atField!.line, 'at', `${JSON.stringify(atField!.value)} is not a duration: write it with a unit, e.g. 90s, 30m, 2h`);
  } else {
    try {
      at = parseDuration(atField!.value);
    } catch (e) {
      at = fail(atField!.line, 'at', e instanceof DurationError ? e.message : String(e));
    }
  }
  if (opts.durationMs !== undefined && at > opts.durationMs) {
    fail(atField!.line, 'at', `${formatDuration(at)} is after the end of the simulation (--duration ${formatDuration(opts.durationMs)})`);
  }

  const str = (name: string, required: boolean): string | undefined => {
    const f = field(name);
    if (!f || f.value === null || f.value === undefined) {
      if (required) fail(undefined, name, 'required');
      return undefined;
    }
    if (typeof f.value !== 'string' || !f.value) fail(f.line, name, `must be a non-empty string, got ${JSON.stringify(f.value)}`);
    return f.value as string;
  };
  const target = (): string => {
    const t = str('target', true)!;
    const i = t.indexOf('/');
    if (i <= 0 || i === t.length - 1 || t.indexOf('/', i + 1) >= 0) fail(field('target')!.line, 'target', `"${t}" must be KIND/NAME, e.g. deployment/web`);
    return t;
  };
  const namespace = (): { namespace?: string } => {
    const ns = str('namespace', false);
    if (ns !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) fail(field('namespace')!.line, 'namespace', `"${ns}" is not a valid namespace name (lowercase letters, digits and '-')`);
    return ns !== undefined ? { namespace: ns } : {};
  };
  const base = { at, source };

  switch (act) {
    case 'scale': {
      const t = target();
      const r = field('replicas');
      if (!r) fail(undefined, 'replicas', 'required: the new number of replicas');
      if (typeof r!.value !== 'number' || !Number.isInteger(r!.value) || r!.value < 0) fail(r!.line, 'replicas', `must be a whole number ≥ 0, got ${JSON.stringify(r!.value)}`);
      return { ...base, action: 'scale', target: t, ...namespace(), replicas: r!.value as number };
    }
    case 'delete':
      return { ...base, action: 'delete', target: target(), ...namespace() };
    case 'apply': {
      const f = str('file', true)!;
      const path = isAbsolute(f) ? f : join(dirname(source.file), f);
      let text: string;
      try {
        text = (opts.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(path);
      } catch {
        return fail(field('file')!.line, 'file', `cannot read "${path}"`);
      }
      const docs = parseManifest(path, text);
      if (!docs.length) fail(field('file')!.line, 'file', `"${path}" holds no objects`);
      return { ...base, action: 'apply', file: f, docs };
    }
    case 'interrupt-spot': {
      const fr = field('fraction');
      if (!fr) fail(undefined, 'fraction', 'required: the share of running Spot instances to interrupt, in (0, 1]');
      if (typeof fr!.value !== 'number' || !(fr!.value > 0 && fr!.value <= 1)) fail(fr!.line, 'fraction', `must be a number in (0, 1], got ${JSON.stringify(fr!.value)}`);
      return { ...base, action: 'interrupt-spot', fraction: fr!.value as number };
    }
    case 'fail-instance': {
      const c = field('count');
      if (!c) fail(undefined, 'count', 'required: how many running instances fail');
      if (typeof c!.value !== 'number' || !Number.isInteger(c!.value) || c!.value < 1) fail(c!.line, 'count', `must be a whole number ≥ 1, got ${JSON.stringify(c!.value)}`);
      return { ...base, action: 'fail-instance', count: c!.value as number };
    }
    case 'load': {
      const t = target();
      const kind = t.slice(0, t.indexOf('/')).toLowerCase();
      if (!LOAD_TARGET_KINDS[kind]) fail(field('target')!.line, 'target', `"${t}" must be service/NAME (a Service of type LoadBalancer), loadbalancer/NAME, targetgroup/NAME or function/NAME`);
      const p = field('port');
      if (p && p.value !== null && (typeof p.value !== 'number' || !Number.isInteger(p.value) || p.value < 1 || p.value > 65535)) fail(p.line, 'port', `must be a port number 1–65535, got ${JSON.stringify(p.value)}`);
      if (p && (LOAD_TARGET_KINDS[kind] === 'targetgroup' || LOAD_TARGET_KINDS[kind] === 'function')) fail(p.line, 'port', `a ${LOAD_TARGET_KINDS[kind] === 'function' ? 'function' : 'target group'} has no port to choose: leave port out`);
      if (LOAD_TARGET_KINDS[kind] === 'function' && field('namespace')) fail(field('namespace')!.line, 'namespace', 'Lambda functions are not namespaced: leave namespace out');
      const pf = field('profile');
      if (!pf) fail(undefined, 'profile', 'required: requests per second over time, e.g. {type: constant, rps: 50}');
      let profile: LoadProfile;
      try {
        profile = parseLoadProfile(pf!.value, (f) => {
          const path = isAbsolute(f) ? f : join(dirname(source.file), f);
          return { path, text: (opts.readFile ?? ((x: string) => readFileSync(x, 'utf8')))(path) };
        });
      } catch (e) {
        if (e instanceof ProfileError) profile = fail(pf!.line, e.field, e.message);
        else throw e;
      }
      return { ...base, action: 'load', target: t, ...namespace(), ...(p && typeof p.value === 'number' ? { port: p.value } : {}), profile: profile! };
    }
  }
}

/** How an event is named in summaries: `scale deployment/web to 40`. */
export function describeEvent(e: SimEvent): string {
  switch (e.action) {
    case 'scale':
      return `scale ${e.target}${e.namespace ? ` -n ${e.namespace}` : ''} to ${e.replicas}`;
    case 'apply':
      return `apply ${e.file}`;
    case 'delete':
      return `delete ${e.target}${e.namespace ? ` -n ${e.namespace}` : ''}`;
    case 'interrupt-spot':
      return `interrupt-spot ${e.fraction}`;
    case 'fail-instance':
      return `fail-instance ${e.count}`;
    case 'load':
      return `load ${e.target}${e.port ? `:${e.port}` : ''}${e.namespace ? ` -n ${e.namespace}` : ''} ${describeProfile(e.profile)}`;
  }
}

/** A profile in a few words: `constant 50 rps`, `steps 40→0 rps`. */
export function describeProfile(p: LoadProfile): string {
  switch (p.type) {
    case 'constant':
      return `constant ${p.rps} rps`;
    case 'steps':
      return `steps ${p.steps.map((s) => s.rps).join('→')} rps`;
    case 'daily':
      return `daily ${p.minRps}–${p.maxRps} rps`;
    case 'series': {
      const r = p.points.map((x) => x.rps);
      return `series of ${p.points.length} points, ${Math.min(...r)}–${Math.max(...r)} rps`;
    }
  }
}
