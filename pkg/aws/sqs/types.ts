/**
 * `sqs.berth.dev/v1 Queue`: an SQS queue, cluster-scoped (one simulated account and region),
 * named exactly as in AWS (`orders`, `Orders_2`, `events.fifo`). Its spec holds the queue
 * attributes in lower camel case (`VisibilityTimeout` → `spec.visibilityTimeout`, seconds);
 * AWS's CreateQueue and SetQueueAttributes write the same object.
 *
 * ```yaml
 * apiVersion: sqs.berth.dev/v1
 * kind: Queue
 * metadata: {name: orders.fifo}
 * spec:
 *   fifoQueue: true
 *   contentBasedDeduplication: true
 *   visibilityTimeout: 60
 *   redrivePolicy: {deadLetterTargetArn: "arn:aws:sqs:us-east-1:000000000000:orders-dlq.fifo", maxReceiveCount: 3}
 * ```
 *
 * Limits and defaults are SQS's (Amazon SQS Developer Guide, "Quotas" and the CreateQueue API
 * reference; [27]–[32] in AWS-SEMANTICS.md).
 */
import { fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../../api/errors.js';
import type { KindHooks } from '../../api/hooks.js';
import { isObject } from '../../api/meta.js';
import { defineResource, type ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { validateObjectMeta } from '../../api/validation.js';
import { arn, queueNameFromArn } from '../protocol/arn.js';

export const SQS_GROUP = 'sqs.berth.dev';
export const QueueKind = { apiVersion: 'sqs.berth.dev/v1', kind: 'Queue' } as const;

export const SQS_RESOURCES: ResourceInfo[] = [defineResource({ gv: 'sqs.berth.dev/v1', resource: 'queues', kind: 'Queue', ns: false, short: ['sqs'], cat: ['berth', 'aws'] })];

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  /** Receives after which the next receive moves the message to the dead-letter queue (1–1,000). */
  maxReceiveCount: number;
}

export interface RedriveAllowPolicy {
  redrivePermission: 'allowAll' | 'denyAll' | 'byQueue';
  sourceQueueArns?: string[];
}

export interface QueueSpec {
  fifoQueue?: boolean;
  contentBasedDeduplication?: boolean;
  /** Seconds, 0–900 (default 0). */
  delaySeconds?: number;
  /** Bytes, 1,024–1,048,576 (default 1,048,576). */
  maximumMessageSize?: number;
  /** Seconds, 60–1,209,600 (default 345,600: 4 days). */
  messageRetentionPeriod?: number;
  /** Seconds, 0–20 (default 0: short polling). */
  receiveMessageWaitTimeSeconds?: number;
  /** Seconds, 0–43,200 (default 30). */
  visibilityTimeout?: number;
  redrivePolicy?: RedrivePolicy;
  redriveAllowPolicy?: RedriveAllowPolicy;
  /** FIFO: `messageGroup` or `queue` (default). */
  deduplicationScope?: string;
  /** FIFO: `perQueue` (default) or `perMessageGroupId`. */
  fifoThroughputLimit?: string;
  kmsMasterKeyId?: string;
  kmsDataKeyReusePeriodSeconds?: number;
  sqsManagedSseEnabled?: boolean;
  /** An IAM policy document as JSON text (kept, not enforced). */
  policy?: string;
  tags?: Record<string, string>;
}

export interface Queue extends KubeObject {
  spec: QueueSpec;
}

/** How one queue attribute maps to the spec, with its range and default. */
interface AttributeDef {
  name: string;
  field: keyof QueueSpec;
  type: 'int' | 'bool' | 'string' | 'json';
  min?: number;
  max?: number;
  dflt?: number | boolean | string;
  fifoOnly?: boolean;
}

/** The settable queue attributes (CreateQueue / SetQueueAttributes), in AWS's order. */
export const QUEUE_ATTRIBUTES: AttributeDef[] = [
  { name: 'DelaySeconds', field: 'delaySeconds', type: 'int', min: 0, max: 900, dflt: 0 },
  { name: 'MaximumMessageSize', field: 'maximumMessageSize', type: 'int', min: 1024, max: 1_048_576, dflt: 1_048_576 },
  { name: 'MessageRetentionPeriod', field: 'messageRetentionPeriod', type: 'int', min: 60, max: 1_209_600, dflt: 345_600 },
  { name: 'ReceiveMessageWaitTimeSeconds', field: 'receiveMessageWaitTimeSeconds', type: 'int', min: 0, max: 20, dflt: 0 },
  { name: 'VisibilityTimeout', field: 'visibilityTimeout', type: 'int', min: 0, max: 43_200, dflt: 30 },
  { name: 'RedrivePolicy', field: 'redrivePolicy', type: 'json' },
  { name: 'RedriveAllowPolicy', field: 'redriveAllowPolicy', type: 'json' },
  { name: 'Policy', field: 'policy', type: 'string' },
  { name: 'KmsMasterKeyId', field: 'kmsMasterKeyId', type: 'string' },
  { name: 'KmsDataKeyReusePeriodSeconds', field: 'kmsDataKeyReusePeriodSeconds', type: 'int', min: 60, max: 86_400 },
  { name: 'SqsManagedSseEnabled', field: 'sqsManagedSseEnabled', type: 'bool', dflt: true },
  { name: 'FifoQueue', field: 'fifoQueue', type: 'bool' },
  { name: 'ContentBasedDeduplication', field: 'contentBasedDeduplication', type: 'bool', fifoOnly: true },
  { name: 'DeduplicationScope', field: 'deduplicationScope', type: 'string', fifoOnly: true },
  { name: 'FifoThroughputLimit', field: 'fifoThroughputLimit', type: 'string', fifoOnly: true },
];

/** The attributes GetQueueAttributes computes rather than stores. */
export const COMPUTED_ATTRIBUTES = ['QueueArn', 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed', 'CreatedTimestamp', 'LastModifiedTimestamp'];

/** SQS queue names: 1–80 of A–Z a–z 0–9 - _, a FIFO queue's ending in `.fifo` (counted). */
export const QUEUE_NAME_RE = /^[A-Za-z0-9_-]{1,80}$/;

export function isFifoName(name: string): boolean {
  return name.endsWith('.fifo');
}

/** Why a queue name is not one SQS accepts, or undefined. */
export function queueNameError(name: string): string | undefined {
  if (name.length > 80) return 'must be at most 80 characters';
  const base = isFifoName(name) ? name.slice(0, -5) : name;
  if (!QUEUE_NAME_RE.test(base)) return 'can only include alphanumeric characters, hyphens, or underscores, 1 to 80 in length (a FIFO queue name ends in .fifo)';
  return undefined;
}

export function queueArn(name: string): string {
  return arn('sqs', name);
}

/** The queue URL AWS SDKs use: `<base>/000000000000/<name>`. */
export function queueUrl(baseUrl: string, name: string, account = '000000000000'): string {
  return `${baseUrl}/${account}/${name}`;
}

/** The queue name in a queue URL (`http://host/000000000000/orders`), or undefined. */
export function queueNameFromUrl(url: string): string | undefined {
  const m = /\/(\d{12})\/([^/?#]+)\/?(?:[?#].*)?$/.exec(url);
  if (m) return decodeURIComponent(m[2]!);
  return undefined;
}

/** Resolved numbers of a queue's spec, in ms where they are durations. */
export interface QueueConfig {
  fifo: boolean;
  contentBasedDeduplication: boolean;
  delayMs: number;
  maximumMessageSize: number;
  retentionMs: number;
  waitMs: number;
  visibilityMs: number;
  /** The dead-letter queue's name and the receive count that sends a message there. */
  redrive?: { queue: string; maxReceiveCount: number };
  deduplicationScope: string;
}

export function resolveConfig(name: string, spec: QueueSpec): QueueConfig {
  const fifo = spec.fifoQueue ?? isFifoName(name);
  const dlq = spec.redrivePolicy ? queueNameFromArn(spec.redrivePolicy.deadLetterTargetArn) : undefined;
  return {
    fifo,
    contentBasedDeduplication: !!spec.contentBasedDeduplication,
    delayMs: (spec.delaySeconds ?? 0) * 1000,
    maximumMessageSize: spec.maximumMessageSize ?? 1_048_576,
    retentionMs: (spec.messageRetentionPeriod ?? 345_600) * 1000,
    waitMs: (spec.receiveMessageWaitTimeSeconds ?? 0) * 1000,
    visibilityMs: (spec.visibilityTimeout ?? 30) * 1000,
    ...(dlq && spec.redrivePolicy ? { redrive: { queue: dlq, maxReceiveCount: spec.redrivePolicy.maxReceiveCount } } : {}),
    deduplicationScope: spec.deduplicationScope ?? 'queue',
  };
}

/** A spec's attributes as GetQueueAttributes returns them (strings; JSON for the policies). */
export function attributesFromSpec(name: string, spec: QueueSpec): Record<string, string> {
  const out: Record<string, string> = {};
  const fifo = spec.fifoQueue ?? isFifoName(name);
  for (const d of QUEUE_ATTRIBUTES) {
    if (d.fifoOnly && !fifo) continue;
    let v = spec[d.field] as unknown;
    if (d.name === 'FifoQueue') v = fifo ? true : undefined;
    if (d.name === 'DeduplicationScope' && v === undefined && fifo) v = 'queue';
    if (d.name === 'FifoThroughputLimit' && v === undefined && fifo) v = 'perQueue';
    if (d.name === 'ContentBasedDeduplication' && v === undefined && fifo) v = false;
    if (v === undefined) v = d.dflt;
    if (v === undefined) continue;
    out[d.name] = d.type === 'json' ? JSON.stringify(v) : String(v);
  }
  return out;
}

/** Thrown (as a message) for an attribute value SQS refuses. */
export class AttributeError extends Error {
  constructor(
    readonly attribute: string,
    message: string,
    readonly unknownName = false,
  ) {
    super(message);
  }
}

/**
 * Attributes as CreateQueue/SetQueueAttributes send them (strings) to a spec patch. Throws
 * AttributeError for an unknown name or a value out of range.
 */
export function specFromAttributes(attrs: Record<string, unknown>): QueueSpec {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(attrs)) {
    const d = QUEUE_ATTRIBUTES.find((x) => x.name === name);
    if (!d) throw new AttributeError(name, `Unknown Attribute ${name}.`, true);
    const s = String(raw);
    const bad = (why = '') => new AttributeError(name, `Invalid value for the parameter ${name}.${why ? ` Reason: ${why}` : ''}`);
    switch (d.type) {
      case 'int': {
        if (!/^-?\d+$/.test(s.trim())) throw bad('must be an integer');
        const n = Number(s);
        if ((d.min !== undefined && n < d.min) || (d.max !== undefined && n > d.max)) throw bad(`must be between ${d.min} and ${d.max}`);
        out[d.field] = n;
        break;
      }
      case 'bool':
        if (!/^(true|false)$/i.test(s)) throw bad('must be true or false');
        out[d.field] = s.toLowerCase() === 'true';
        break;
      case 'json': {
        if (s === '') {
          out[d.field] = undefined;
          break;
        }
        let v: unknown;
        try {
          v = JSON.parse(s);
        } catch {
          throw bad('Invalid JSON');
        }
        if (d.name === 'RedrivePolicy') {
          const r = v as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
          const n = Number(r.maxReceiveCount);
          if (typeof r.deadLetterTargetArn !== 'string' || !queueNameFromArn(r.deadLetterTargetArn)) throw bad('Dead letter target ARN is not a valid queue ARN');
          if (!Number.isInteger(n) || n < 1 || n > 1000) throw bad('Value maxReceiveCount must be an integer from 1 to 1000');
          v = { deadLetterTargetArn: r.deadLetterTargetArn, maxReceiveCount: n };
        }
        out[d.field] = v;
        break;
      }
      default:
        out[d.field] = s;
    }
  }
  return out as QueueSpec;
}

const INT_FIELDS = QUEUE_ATTRIBUTES.filter((d) => d.type === 'int');

/** Field errors of a Queue object (names and ranges as SQS checks them). */
export function validateQueue(obj: KubeObject): FieldError[] {
  const q = obj as Queue;
  const out = validateObjectMeta(q.metadata, false, 'path');
  const name = q.metadata.name ?? '';
  const nameErr = name ? queueNameError(name) : undefined;
  if (nameErr) out.push(fieldInvalid('metadata.name', name, nameErr));
  const spec = q.spec;
  if (spec === undefined || spec === null) return out;
  if (!isObject(spec)) return [...out, fieldInvalid('spec', spec, 'must be an object')];
  for (const d of INT_FIELDS) {
    const v = spec[d.field];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < d.min! || v > d.max!) out.push(fieldInvalid(`spec.${d.field}`, v, `must be an integer from ${d.min} to ${d.max}`));
  }
  for (const f of ['fifoQueue', 'contentBasedDeduplication', 'sqsManagedSseEnabled'] as const) {
    if (spec[f] !== undefined && typeof spec[f] !== 'boolean') out.push(fieldInvalid(`spec.${f}`, spec[f], 'must be true or false'));
  }
  const fifoName = isFifoName(name);
  if (spec.fifoQueue === true && !fifoName) out.push(fieldInvalid('spec.fifoQueue', true, 'a FIFO queue name must end with the .fifo suffix'));
  if (spec.fifoQueue === false && fifoName) out.push(fieldInvalid('spec.fifoQueue', false, 'only FIFO queues may have names ending in .fifo'));
  const fifo = spec.fifoQueue ?? fifoName;
  if (!fifo) {
    for (const f of ['contentBasedDeduplication', 'deduplicationScope', 'fifoThroughputLimit'] as const) {
      if (spec[f] !== undefined && spec[f] !== false) out.push(fieldInvalid(`spec.${f}`, spec[f], 'applies to FIFO queues only'));
    }
  }
  if (spec.deduplicationScope !== undefined && !['messageGroup', 'queue'].includes(spec.deduplicationScope as string)) out.push(fieldNotSupported('spec.deduplicationScope', spec.deduplicationScope, ['messageGroup', 'queue']));
  if (spec.fifoThroughputLimit !== undefined && !['perQueue', 'perMessageGroupId'].includes(spec.fifoThroughputLimit as string)) out.push(fieldNotSupported('spec.fifoThroughputLimit', spec.fifoThroughputLimit, ['perQueue', 'perMessageGroupId']));
  const r = spec.redrivePolicy;
  if (r !== undefined) {
    if (!isObject(r)) out.push(fieldInvalid('spec.redrivePolicy', r, 'must be {deadLetterTargetArn, maxReceiveCount}'));
    else {
      const dlq = queueNameFromArn(r.deadLetterTargetArn as string | undefined);
      if (!r.deadLetterTargetArn) out.push(fieldRequired('spec.redrivePolicy.deadLetterTargetArn'));
      else if (!dlq) out.push(fieldInvalid('spec.redrivePolicy.deadLetterTargetArn', r.deadLetterTargetArn, 'must be an SQS queue ARN: arn:aws:sqs:us-east-1:000000000000:NAME'));
      else if (isFifoName(dlq) !== fifo) out.push(fieldInvalid('spec.redrivePolicy.deadLetterTargetArn', r.deadLetterTargetArn, 'the dead-letter queue of a FIFO queue must be a FIFO queue, and of a standard queue a standard queue'));
      else if (dlq === name) out.push(fieldInvalid('spec.redrivePolicy.deadLetterTargetArn', r.deadLetterTargetArn, 'a queue cannot be its own dead-letter queue'));
      const n = r.maxReceiveCount;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1000) out.push(fieldInvalid('spec.redrivePolicy.maxReceiveCount', n, 'must be an integer from 1 to 1000'));
    }
  }
  if (spec.tags !== undefined && (!isObject(spec.tags) || Object.values(spec.tags).some((v) => typeof v !== 'string'))) out.push(fieldInvalid('spec.tags', spec.tags, 'must be a map of strings'));
  return out;
}

export const queueHooks: KindHooks = {
  default(obj) {
    if (obj.spec === undefined || obj.spec === null) obj.spec = {};
  },
  validate: (obj) => validateQueue(obj),
};
