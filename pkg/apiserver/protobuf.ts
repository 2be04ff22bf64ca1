/**
 * Kubernetes's protobuf wire format (https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding),
 * decoded into the JSON form of an object. kubectl 1.32+ sends `create configmap|secret|namespace|
 * deployment|service` and `autoscale` bodies as `application/vnd.kubernetes.protobuf`: the four
 * bytes `k8s\0`, then a `runtime.Unknown` whose `typeMeta` names the kind and whose `raw` is the
 * object's message. The messages are k8s.io/api's own (`data/kubernetes/proto.json.gz`, see its
 * SOURCES.md), read with protobufjs.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { badRequest } from '../api/errors.js';
import type { KubeObject } from '../api/types.js';

/** The media type kubectl sends. */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
/** The four bytes every Kubernetes protobuf body starts with. */
export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../data/kubernetes/proto.json.gz');
let root: protobuf.Root | undefined;

function protoRoot(): protobuf.Root {
  root ??= protobuf.Root.fromJSON(JSON.parse(gunzipSync(readFileSync(DATA)).toString('utf8')) as protobuf.INamespace);
  return root;
}

/** The protobuf package of an API group-version: `apps/v1` → `k8s.io.api.apps.v1`. */
export function protoPackage(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  const group = i < 0 ? '' : apiVersion.slice(0, i);
  const version = i < 0 ? apiVersion : apiVersion.slice(i + 1);
  if (group === 'metrics.k8s.io') return `k8s.io.metrics.pkg.apis.metrics.${version}`;
  const short = group === '' ? 'core' : group.split('.')[0]!;
  return `k8s.io.api.${short}.${version}`;
}

/**
 * Fields that are pointers in k8s.io/api, where a zero is a value the client chose (gogo-protobuf
 * writes every non-pointer field, zero or not, so a zero elsewhere means "unset", as it does for
 * the Go API server, and is dropped so defaulting fills it in).
 */
const POINTER_FIELDS = new Set([
  'replicas',
  'minReplicas',
  'targetCPUUtilizationPercentage',
  'averageUtilization',
  'terminationGracePeriodSeconds',
  'activeDeadlineSeconds',
  'backoffLimit',
  'completions',
  'parallelism',
  'revisionHistoryLimit',
  'progressDeadlineSeconds',
  'automountServiceAccountToken',
  'immutable',
  'suspend',
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'fsGroup',
  'privileged',
  'allowPrivilegeEscalation',
  'readOnlyRootFilesystem',
  'enableServiceLinks',
  'shareProcessNamespace',
  'hostUsers',
  'optional',
  'defaultMode',
  'mode',
  'ttlSecondsAfterFinished',
  'startingDeadlineSeconds',
  'successfulJobsHistoryLimit',
  'failedJobsHistoryLimit',
  'minAvailable',
  'maxUnavailable',
  'allocateLoadBalancerNodePorts',
  'publishNotReadyAddresses',
  'priority',
  'seconds',
  'expirationSeconds',
]);

const SPECIAL = {
  time: new Set(['.k8s.io.apimachinery.pkg.apis.meta.v1.Time', '.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime']),
  quantity: '.k8s.io.apimachinery.pkg.api.resource.Quantity',
  intOrString: '.k8s.io.apimachinery.pkg.util.intstr.IntOrString',
  raw: new Set(['.k8s.io.apimachinery.pkg.runtime.RawExtension', '.k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1']),
  duration: '.k8s.io.apimachinery.pkg.apis.meta.v1.Duration',
};

/**
 * Decodes a protobuf request body into the JSON form of the object it carries.
 * Throws BadRequest for a body without the `k8s\0` prefix, a kind berth has no message for, or
 * bytes that do not decode.
 */
export function decodeProtobufObject(body: Buffer): KubeObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(PROTOBUF_MAGIC)) throw badRequest('the protobuf body does not start with the Kubernetes magic number "k8s\\x00"');
  const r = protoRoot();
  let apiVersion: string;
  let kind: string;
  let raw: Uint8Array;
  try {
    const unknown = r.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown').decode(body.subarray(4)) as unknown as { typeMeta?: { apiVersion?: string; kind?: string }; raw?: Uint8Array; contentEncoding?: string };
    apiVersion = unknown.typeMeta?.apiVersion ?? '';
    kind = unknown.typeMeta?.kind ?? '';
    raw = unknown.raw ?? new Uint8Array();
    if (unknown.contentEncoding) throw badRequest(`unsupported protobuf content encoding "${unknown.contentEncoding}"`);
  } catch (e) {
    if ((e as { status?: unknown }).status) throw e;
    throw badRequest(`the protobuf body could not be decoded: ${(e as Error).message}`);
  }
  if (!apiVersion || !kind) throw badRequest('the protobuf body does not name its apiVersion and kind');
  let type: protobuf.Type;
  try {
    type = r.lookupType(`${protoPackage(apiVersion)}.${kind}`);
  } catch {
    throw badRequest(`no protobuf message is known for ${apiVersion} ${kind}: send it as application/json`);
  }
  let msg: protobuf.Message;
  try {
    msg = type.decode(raw);
  } catch (e) {
    throw badRequest(`the ${kind} in the protobuf body could not be decoded: ${(e as Error).message}`);
  }
  const obj = toJson(type, msg as unknown as Record<string, unknown>) as KubeObject;
  return { apiVersion, kind, ...obj, metadata: (obj.metadata ?? {}) as KubeObject['metadata'] };
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

/** A decoded message as Kubernetes's JSON: special types, bytes as base64, zeros of non-pointer fields dropped. */
function toJson(type: protobuf.Type, msg: Record<string, unknown>): unknown {
  const full = type.fullName;
  if (SPECIAL.time.has(full)) {
    const seconds = num(msg.seconds);
    const nanos = num(msg.nanos);
    if (!seconds && !nanos) return undefined;
    const iso = new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString();
    return full.endsWith('MicroTime') ? iso.replace(/(\.\d{3})Z$/, `$1${String(Math.floor((nanos % 1e6) / 1e3)).padStart(3, '0')}Z`) : iso.replace(/\.\d{3}Z$/, 'Z');
  }
  if (full === SPECIAL.quantity) return (msg.string as string | undefined) ?? '0';
  if (full === SPECIAL.intOrString) return num(msg.type) === 1 ? ((msg.strVal as string | undefined) ?? '') : num(msg.intVal);
  if (full === SPECIAL.duration) return goDuration(num(msg.duration));
  if (SPECIAL.raw.has(full)) {
    const raw = msg.raw as Uint8Array | undefined;
    if (!raw || !raw.length) return undefined;
    try {
      return JSON.parse(Buffer.from(raw).toString('utf8'));
    } catch {
      return Buffer.from(raw).toString('base64');
    }
  }
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    if (!Object.prototype.hasOwnProperty.call(msg, field.name)) continue;
    const v = msg[field.name];
    field.resolve();
    const conv = (x: unknown): unknown => {
      if (field.resolvedType instanceof protobuf.Type) {
        // Wrapper messages holding one repeated `items` field are plain lists in JSON (ExtraValue).
        const rt = field.resolvedType;
        if (rt.fieldsArray.length === 1 && rt.fieldsArray[0]!.name === 'items' && rt.fieldsArray[0]!.repeated) return ((x as { items?: unknown[] }).items ?? []).map((i) => scalar(i));
        return toJson(rt, x as Record<string, unknown>);
      }
      return scalar(x);
    };
    let value: unknown;
    if (field instanceof protobuf.MapField || (field as { map?: boolean }).map) {
      const m: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) m[k] = conv(x);
      // Repeated fields and maps have no presence on the wire: empty is absent, as in Go's JSON.
      if (!Object.keys(m).length) continue;
      value = m;
    } else if (field.repeated) {
      if (!(v as unknown[]).length) continue;
      value = (v as unknown[]).map(conv);
    } else {
      value = conv(v);
      if (value === undefined) continue;
      if (!field.resolvedType && isZero(value) && !POINTER_FIELDS.has(field.name)) continue;
    }
    out[field.name] = value;
  }
  return out;
}

function scalar(x: unknown): unknown {
  if (x instanceof Uint8Array) return Buffer.from(x).toString('base64');
  if (x !== null && typeof x === 'object' && 'low' in (x as object)) return num(x);
  return x;
}

function num(x: unknown): number {
  if (x === undefined || x === null) return 0;
  if (typeof x === 'number') return x;
  if (typeof x === 'object' && 'toNumber' in (x as object)) return (x as { toNumber(): number }).toNumber();
  return Number(x);
}

/** A Go `time.Duration` string: 90 s → `1m30s`. */
function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const s = ns / 1e9;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s - h * 3600 - m * 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${rest}s`;
}
