/**
 * `sns.berth.dev/v1 Topic` and `Subscription`, cluster-scoped, named as in AWS (a topic) or
 * freely (a subscription, whose ARN is `<topic ARN>:<metadata.uid>`).
 *
 * ```yaml
 * apiVersion: sns.berth.dev/v1
 * kind: Topic
 * metadata: {name: orders}
 * ---
 * apiVersion: sns.berth.dev/v1
 * kind: Subscription
 * metadata: {name: orders-eu}
 * spec:
 *   topicArn: arn:aws:sns:us-east-1:000000000000:orders
 *   protocol: sqs                  # sqs | lambda | http | https
 *   endpoint: arn:aws:sqs:us-east-1:000000000000:orders-eu
 *   filterPolicy: {region: [eu-west-1, {prefix: eu-}]}
 *   rawMessageDelivery: true
 * ```
 *
 * An http(s) subscription waits for its endpoint to confirm (`status.pendingConfirmation`), as
 * SNS's handshake asks ([35] in AWS-SEMANTICS.md).
 */
import { fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../../api/errors.js';
import type { KindHooks } from '../../api/hooks.js';
import { isObject } from '../../api/meta.js';
import { defineResource, type ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { validateObjectMeta } from '../../api/validation.js';
import { arn, parseArn, topicNameFromArn } from '../protocol/arn.js';
import { filterPolicyErrors } from './filter.js';
import { retryPolicyErrors } from './retry.js';

export const SNS_GROUP = 'sns.berth.dev';
export const TopicKind = { apiVersion: 'sns.berth.dev/v1', kind: 'Topic' } as const;
export const SubscriptionKind = { apiVersion: 'sns.berth.dev/v1', kind: 'Subscription' } as const;

export const SNS_RESOURCES: ResourceInfo[] = [
  defineResource({ gv: 'sns.berth.dev/v1', resource: 'topics', kind: 'Topic', ns: false, short: ['sns'], cat: ['berth', 'aws'] }),
  defineResource({ gv: 'sns.berth.dev/v1', resource: 'subscriptions', kind: 'Subscription', ns: false, short: ['snssub'], cat: ['berth', 'aws'], sub: ['status'], fields: ['spec.topicArn', 'spec.protocol'] }),
];

export const PROTOCOLS = ['sqs', 'lambda', 'http', 'https'];

export interface TopicSpec {
  fifoTopic?: boolean;
  contentBasedDeduplication?: boolean;
  displayName?: string;
  /** IAM policy JSON text (kept, not enforced). */
  policy?: string;
  /** The topic's delivery policy for http(s) subscriptions (`{http: {defaultHealthyRetryPolicy: …}}`). */
  deliveryPolicy?: Record<string, unknown>;
  tags?: Record<string, string>;
}

export interface Topic extends KubeObject {
  spec?: TopicSpec;
}

export interface SubscriptionSpec {
  topicArn: string;
  protocol: string;
  /** A queue or function ARN, or a URL. */
  endpoint: string;
  filterPolicy?: Record<string, unknown>;
  /** `MessageAttributes` (default) or `MessageBody`. */
  filterPolicyScope?: string;
  rawMessageDelivery?: boolean;
  /** Where messages SNS could not deliver go: `{deadLetterTargetArn: <SQS queue ARN>}`. */
  redrivePolicy?: { deadLetterTargetArn: string };
  deliveryPolicy?: Record<string, unknown>;
}

export interface SubscriptionStatus {
  pendingConfirmation?: boolean;
  confirmationToken?: string;
}

export interface Subscription extends KubeObject {
  spec: SubscriptionSpec;
  status?: SubscriptionStatus;
}

export function topicArn(name: string): string {
  return arn('sns', name);
}

export function subscriptionArn(sub: Subscription): string {
  return `${sub.spec.topicArn}:${sub.metadata.uid}`;
}

/** SNS topic names: 1–256 of A–Z a–z 0–9 - _, a FIFO topic's ending in `.fifo`. */
export function topicNameError(name: string, fifo: boolean): string | undefined {
  const base = fifo ? (name.endsWith('.fifo') ? name.slice(0, -5) : '') : name;
  if (name.length > 256 || !/^[A-Za-z0-9_-]+$/.test(base)) {
    return fifo ? 'Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.' : 'Topic names must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.';
  }
  return undefined;
}

export function validateTopic(obj: KubeObject): FieldError[] {
  const t = obj as Topic;
  const out = validateObjectMeta(t.metadata, false, 'path');
  const name = t.metadata.name ?? '';
  const fifo = t.spec?.fifoTopic ?? name.endsWith('.fifo');
  const err = name ? topicNameError(name, fifo) : undefined;
  if (err) out.push(fieldInvalid('metadata.name', name, err));
  if (t.spec?.fifoTopic === false && name.endsWith('.fifo')) out.push(fieldInvalid('spec.fifoTopic', false, 'only FIFO topics may have names ending in .fifo'));
  if (t.spec?.contentBasedDeduplication && !fifo) out.push(fieldInvalid('spec.contentBasedDeduplication', true, 'applies to FIFO topics only'));
  const http = (t.spec?.deliveryPolicy as { http?: { defaultHealthyRetryPolicy?: unknown } } | undefined)?.http;
  if (http?.defaultHealthyRetryPolicy !== undefined) for (const [f, m] of retryPolicyErrors(http.defaultHealthyRetryPolicy, 'spec.deliveryPolicy.http.defaultHealthyRetryPolicy')) out.push(fieldInvalid(f, JSON.stringify(http.defaultHealthyRetryPolicy), m));
  return out;
}

/** Where a subscription's endpoint points, checked for its protocol. */
function endpointErrors(protocol: string, endpoint: unknown): FieldError[] {
  if (typeof endpoint !== 'string' || !endpoint) return [fieldRequired('spec.endpoint')];
  if (protocol === 'sqs' && parseArn(endpoint)?.service !== 'sqs') return [fieldInvalid('spec.endpoint', endpoint, 'an sqs subscription needs an SQS queue ARN')];
  if (protocol === 'lambda' && parseArn(endpoint)?.service !== 'lambda') return [fieldInvalid('spec.endpoint', endpoint, 'a lambda subscription needs a Lambda function ARN')];
  if ((protocol === 'http' || protocol === 'https') && !endpoint.startsWith(`${protocol}://`)) return [fieldInvalid('spec.endpoint', endpoint, `an ${protocol} subscription needs a URL beginning with ${protocol}://`)];
  return [];
}

export function validateSubscription(obj: KubeObject): FieldError[] {
  const s = obj as Subscription;
  const out = validateObjectMeta(s.metadata, false, 'path');
  const spec = s.spec;
  if (!isObject(spec)) return [...out, fieldRequired('spec')];
  if (!spec.topicArn) out.push(fieldRequired('spec.topicArn'));
  else if (!topicNameFromArn(spec.topicArn)) out.push(fieldInvalid('spec.topicArn', spec.topicArn, 'must be an SNS topic ARN: arn:aws:sns:us-east-1:000000000000:NAME'));
  if (!PROTOCOLS.includes(spec.protocol)) out.push(fieldNotSupported('spec.protocol', spec.protocol, PROTOCOLS));
  else out.push(...endpointErrors(spec.protocol, spec.endpoint));
  if (spec.filterPolicy !== undefined) {
    if (!isObject(spec.filterPolicy)) out.push(fieldInvalid('spec.filterPolicy', spec.filterPolicy, 'must be an object'));
    else for (const e of filterPolicyErrors(spec.filterPolicy)) out.push(fieldInvalid('spec.filterPolicy', spec.filterPolicy, e));
  }
  if (spec.filterPolicyScope !== undefined && !['MessageAttributes', 'MessageBody'].includes(spec.filterPolicyScope)) out.push(fieldNotSupported('spec.filterPolicyScope', spec.filterPolicyScope, ['MessageAttributes', 'MessageBody']));
  if (spec.rawMessageDelivery !== undefined && typeof spec.rawMessageDelivery !== 'boolean') out.push(fieldInvalid('spec.rawMessageDelivery', spec.rawMessageDelivery, 'must be true or false'));
  if (spec.rawMessageDelivery && spec.protocol === 'lambda') out.push(fieldInvalid('spec.rawMessageDelivery', true, 'raw message delivery applies to sqs, http and https subscriptions'));
  const r = spec.redrivePolicy;
  if (r !== undefined && (!isObject(r) || parseArn(r.deadLetterTargetArn as string)?.service !== 'sqs')) out.push(fieldInvalid('spec.redrivePolicy.deadLetterTargetArn', (r as { deadLetterTargetArn?: unknown })?.deadLetterTargetArn, 'must be an SQS queue ARN'));
  const hrp = (spec.deliveryPolicy as { healthyRetryPolicy?: unknown } | undefined)?.healthyRetryPolicy;
  if (hrp !== undefined) for (const [f, m] of retryPolicyErrors(hrp, 'spec.deliveryPolicy.healthyRetryPolicy')) out.push(fieldInvalid(f, JSON.stringify(hrp), m));
  return out;
}

export const topicHooks: KindHooks = { validate: (o) => validateTopic(o) };
export const subscriptionHooks: KindHooks = { validate: (o) => validateSubscription(o) };
