/**
 * The SNS data plane: publishing to a topic fans the message out to every confirmed
 * subscription whose filter policy accepts it — an SQS queue (the JSON envelope, or the raw
 * message with its attributes), a Lambda function (an asynchronous invocation with the
 * `aws:sns` event), or an http(s) endpoint (a POST, after the endpoint confirmed the
 * subscription by its token).
 *
 * Failed deliveries (Amazon SNS Developer Guide, "Amazon SNS message delivery retries",
 * "Amazon SNS dead-letter queues" and "Preparing your HTTP/S endpoint"; [33] in AWS-SEMANTICS.md):
 * - a server-side error — an http(s) endpoint that answers outside 200–499, does not answer in
 *   15 s or cannot be reached; an SQS or Lambda failure of the service itself — is retried on the
 *   cluster clock by the delivery policy: for SQS and Lambda AWS's fixed policy (3 immediate
 *   retries, 2 one second apart, 10 backing off exponentially from 1 to 20 s, then 100,000 at
 *   20 s: 100,015 retries over 23 days); for http(s) the subscription's `healthyRetryPolicy`,
 *   else the topic's `http.defaultHealthyRetryPolicy` (which wins when the topic sets
 *   `disableSubscriptionOverrides`), else 3 retries 20 s apart;
 * - a client-side error — the queue or function no longer exists, a message SQS refuses — is not
 *   retried;
 * - an http(s) endpoint that answers 4xx has the message: SNS counts it delivered;
 * when retries are spent, or at once on a client-side error, the subscription's dead-letter
 * queue (`redrivePolicy.deadLetterTargetArn`) gets the message, or it is dropped. AWS adds
 * jitter to retry times; berth does not, so runs repeat exactly.
 *
 * Retries in progress live in memory: a restart of the server forgets them (delivered messages
 * are in their queues, durably).
 */
import type { Client } from '../../client/client.js';
import type { Clock } from '../../clock/clock.js';
import { functionNameFrom, parseArn, uuid } from '../protocol/arn.js';
import { AwsError } from '../protocol/errors.js';
import type { LambdaEngine } from '../lambda/engine.js';
import type { SqsEngine } from '../sqs/engine.js';
import { md5Hex } from '../sqs/md5.js';
import { createHash } from 'node:crypto';
import { filterAccepts, type SnsAttribute } from './filter.js';
import { AWS_MANAGED_RETRY, HTTP_DEFAULT_RETRY, retryDelaySeconds, type RetryPolicy } from './retry.js';
import { subscriptionArn, SubscriptionKind, topicArn, type Subscription, type Topic } from './types.js';

/** A message attribute as Publish takes it. */
export interface PublishAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

export interface PublishInput {
  message: string;
  subject?: string;
  /** `json`: `message` is a JSON object of per-protocol messages with a `default`. */
  messageStructure?: string;
  attributes?: Record<string, PublishAttribute>;
  groupId?: string;
  dedupId?: string;
}

/** One published message on its way to subscribers. */
export interface Notification {
  messageId: string;
  topicArn: string;
  subject?: string;
  /** Per protocol (`default` for the rest). */
  messages: Record<string, string>;
  attributes: Record<string, PublishAttribute>;
  timestamp: string;
  groupId?: string;
  dedupId?: string;
  sequenceNumber?: string;
}

export { AWS_MANAGED_RETRY, HTTP_DEFAULT_RETRY, retryDelaySeconds, type RetryPolicy } from './retry.js';

/** The retry policy a subscription's deliveries follow (see the file's comment). */
export function policyFrom(sub: Subscription, topic: Topic | undefined): RetryPolicy {
  const isHttp = sub.spec.protocol === 'http' || sub.spec.protocol === 'https';
  if (!isHttp) return AWS_MANAGED_RETRY;
  const own = (sub.spec.deliveryPolicy as { healthyRetryPolicy?: Partial<RetryPolicy> } | undefined)?.healthyRetryPolicy;
  const http = (topic?.spec?.deliveryPolicy as { http?: { defaultHealthyRetryPolicy?: Partial<RetryPolicy>; disableSubscriptionOverrides?: boolean } } | undefined)?.http;
  return { ...HTTP_DEFAULT_RETRY, ...(http?.defaultHealthyRetryPolicy ?? {}), ...(http?.disableSubscriptionOverrides ? {} : (own ?? {})) };
}

/** A delivery failure SNS does not retry (the endpoint is gone or refuses the message). */
export class ClientSideError extends Error {
  constructor(
    message: string,
    /** For the dead-letter message's `ErrorCode`. */
    readonly code: string,
  ) {
    super(message);
  }
}

/** SQS's and Lambda's own errors: a 4xx AwsError is the client's (no retry); anything else the service's. */
function classify(e: unknown): Error {
  if (e instanceof AwsError && e.status < 500) return new ClientSideError(e.message, e.code);
  return e instanceof Error ? e : new Error(String(e));
}

export const topicNotFound = (): AwsError => new AwsError('NotFound', 'Topic does not exist', 404);
export const invalidParameter = (message: string): AwsError => new AwsError('InvalidParameter', message, 400);

export interface SnsEngineOptions {
  clock: Clock;
  client: Client;
  sqs: SqsEngine;
  lambda: LambdaEngine;
  /** The server's own address, for SubscribeURL and UnsubscribeURL. */
  baseUrl: () => string;
}

export class SnsEngine {
  private readonly topics = new Map<string, Topic>();
  private readonly subs = new Map<string, Subscription>();
  private readonly dedup = new Map<string, Map<string, { expires: number; messageId: string; seq: string }>>();
  private readonly timers = new Set<() => void>();
  private seq = 0;
  private closed = false;
  /** Deliveries made, by subscription ARN (for tests and `describe`). */
  readonly delivered = new Map<string, number>();
  /** Delivery attempts that failed, by subscription ARN (every retry counts, as NumberOfNotificationsFailed does for http(s)). */
  readonly failedAttempts = new Map<string, number>();
  /** Messages given up on (sent to the dead-letter queue, or dropped), by subscription ARN. */
  readonly undeliverable = new Map<string, number>();

  constructor(private readonly o: SnsEngineOptions) {}

  upsertTopic(t: Topic): void {
    this.topics.set(t.metadata.name!, t);
  }

  removeTopic(name: string): void {
    this.topics.delete(name);
    this.dedup.delete(name);
  }

  upsertSubscription(s: Subscription): void {
    this.subs.set(s.metadata.uid!, s);
    const http = s.spec.protocol === 'http' || s.spec.protocol === 'https';
    if (http && !s.status?.confirmationToken) setImmediate(() => void this.startConfirmation(s.metadata.name!).catch(() => undefined));
  }

  removeSubscription(uid: string): void {
    this.subs.delete(uid);
  }

  hasTopic(name: string): boolean {
    return this.topics.has(name);
  }

  topic(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  topicNames(): string[] {
    return [...this.topics.keys()].sort();
  }

  subscriptions(topic?: string): Subscription[] {
    const arn = topic !== undefined ? topicArn(topic) : undefined;
    return [...this.subs.values()].filter((s) => arn === undefined || s.spec.topicArn === arn);
  }

  subscriptionByArn(arn: string): Subscription | undefined {
    const uid = arn.split(':').at(-1) ?? '';
    const s = this.subs.get(uid);
    return s && subscriptionArn(s) === arn ? s : undefined;
  }

  subscriptionByToken(token: string): Subscription | undefined {
    return [...this.subs.values()].find((s) => s.status?.confirmationToken === token);
  }

  static pending(s: Subscription): boolean {
    const http = s.spec.protocol === 'http' || s.spec.protocol === 'https';
    return http && s.status?.pendingConfirmation !== false;
  }

  /** Sends an http(s) subscription its SubscriptionConfirmation, once, with a new token. */
  private async startConfirmation(name: string): Promise<void> {
    const token = createHash('sha256').update(uuid()).digest('hex');
    const updated = await this.o.client.modify<Subscription>(SubscriptionKind, name, undefined, (s) => {
      if (s.status?.confirmationToken) return undefined;
      s.status = { pendingConfirmation: true, confirmationToken: token };
      return s;
    }, { status: true });
    if (!updated) return;
    const base = this.o.baseUrl();
    const topic = updated.spec.topicArn;
    const body = {
      Type: 'SubscriptionConfirmation',
      MessageId: uuid(),
      Token: token,
      TopicArn: topic,
      Message: `You have chosen to subscribe to the topic ${topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
      SubscribeURL: `${base}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topic)}&Token=${token}`,
      Timestamp: new Date(this.o.clock.now()).toISOString(),
      SignatureVersion: '1',
    };
    await this.post(updated.spec.endpoint, body, { 'x-amz-sns-message-type': 'SubscriptionConfirmation', 'x-amz-sns-message-id': body.MessageId, 'x-amz-sns-topic-arn': topic });
  }

  /** Confirms a pending subscription by its token; returns it. Throws InvalidParameter for an unknown token. */
  async confirm(topic: string, token: string): Promise<Subscription> {
    const s = this.subscriptionByToken(token);
    if (!s || s.spec.topicArn !== topicArn(topic)) throw invalidParameter('Invalid parameter: Token');
    const out = await this.o.client.modify<Subscription>(SubscriptionKind, s.metadata.name!, undefined, (x) => {
      x.status = { ...(x.status ?? {}), pendingConfirmation: false };
      return x;
    }, { status: true });
    return out ?? s;
  }

  /**
   * Publishes to a topic: checks the message as SNS does (throws AwsError), then delivers to
   * SQS and Lambda subscribers before answering and to http(s) ones in the background.
   */
  async publish(topic: string, input: PublishInput): Promise<{ messageId: string; sequenceNumber?: string }> {
    const t = this.topics.get(topic);
    if (!t) throw topicNotFound();
    const fifo = t.spec?.fifoTopic ?? topic.endsWith('.fifo');
    if (typeof input.message !== 'string' || input.message === '') throw invalidParameter('Invalid parameter: Empty message');
    if (Buffer.byteLength(input.message) > 262_144) throw invalidParameter('Invalid parameter: Message too long');
    if (input.subject !== undefined && (input.subject === '' || input.subject.length > 100 || /[\n\r]/.test(input.subject))) throw invalidParameter('Invalid parameter: Subject');
    const messages: Record<string, string> = { default: input.message };
    if (input.messageStructure !== undefined) {
      if (input.messageStructure !== 'json') throw invalidParameter('Invalid parameter: MessageStructure');
      let parsed: unknown;
      try {
        parsed = JSON.parse(input.message);
      } catch {
        throw invalidParameter('Invalid parameter: Message Structure - JSON message body failed to parse');
      }
      if (!parsed || typeof parsed !== 'object' || typeof (parsed as Record<string, unknown>).default !== 'string') throw invalidParameter('Invalid parameter: Message Structure - No default entry in JSON message body');
      for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) if (typeof v === 'string') messages[k] = v;
    }
    const attributes = input.attributes ?? {};
    for (const [k, a] of Object.entries(attributes)) {
      const base = a?.DataType?.split('.')[0];
      if (!a || !['String', 'Number', 'Binary'].includes(base ?? '')) throw new AwsError('ParameterValueInvalid', `The message attribute '${k}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`, 400);
      if (base === 'Binary' ? !a.BinaryValue : a.StringValue === undefined || a.StringValue === '') throw new AwsError('ParameterValueInvalid', `The message attribute '${k}' must contain non-empty message attribute value for message attribute type '${a.DataType}'.`, 400);
      if (a.DataType === 'Number' && !Number.isFinite(Number(a.StringValue))) throw new AwsError('ParameterValueInvalid', `An error occurred while processing the message attribute '${k}': the value is not a number.`, 400);
      if (a.DataType === 'String.Array') {
        try {
          if (!Array.isArray(JSON.parse(a.StringValue!))) throw new Error();
        } catch {
          throw new AwsError('ParameterValueInvalid', `The message attribute '${k}' with type 'String.Array' must be a JSON array.`, 400);
        }
      }
    }
    const now = this.o.clock.now();
    let dedupId: string | undefined;
    let sequenceNumber: string | undefined;
    if (fifo) {
      if (!input.groupId) throw invalidParameter('Invalid parameter: The MessageGroupId parameter is required for FIFO topics');
      dedupId = input.dedupId ?? (t.spec?.contentBasedDeduplication ? createHash('sha256').update(input.message).digest('hex') : undefined);
      if (!dedupId) throw invalidParameter('Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
      let seen = this.dedup.get(topic);
      if (!seen) this.dedup.set(topic, (seen = new Map()));
      const hit = seen.get(dedupId);
      if (hit && hit.expires > now) return { messageId: hit.messageId, sequenceNumber: hit.seq };
      sequenceNumber = String(++this.seq).padStart(20, '0');
    } else if (input.groupId !== undefined) {
      throw invalidParameter('Invalid parameter: MessageGroupId Reason: The request includes MessageGroupId parameter that is not valid for this topic type');
    }
    const n: Notification = {
      messageId: uuid(),
      topicArn: topicArn(topic),
      ...(input.subject !== undefined ? { subject: input.subject } : {}),
      messages,
      attributes,
      timestamp: new Date(now).toISOString(),
      ...(input.groupId !== undefined ? { groupId: input.groupId } : {}),
      ...(dedupId !== undefined ? { dedupId } : {}),
      ...(sequenceNumber !== undefined ? { sequenceNumber } : {}),
    };
    if (dedupId !== undefined) this.dedup.get(topic)!.set(dedupId, { expires: now + 5 * 60_000, messageId: n.messageId, seq: sequenceNumber! });
    const snsAttrs: Record<string, SnsAttribute> = {};
    for (const [k, a] of Object.entries(attributes)) snsAttrs[k] = { Type: a.DataType, Value: a.StringValue ?? a.BinaryValue ?? '' };
    const waits: Promise<void>[] = [];
    for (const s of this.subscriptions(topic)) {
      if (SnsEngine.pending(s)) continue;
      const text = messages[s.spec.protocol] ?? messages.default!;
      if (!filterAccepts(s.spec.filterPolicy, s.spec.filterPolicyScope, snsAttrs, text)) continue;
      const p = this.attempt(s, n, 0);
      if (s.spec.protocol === 'sqs' || s.spec.protocol === 'lambda') waits.push(p);
    }
    await Promise.all(waits);
    return { messageId: n.messageId, ...(sequenceNumber ? { sequenceNumber } : {}) };
  }

  /** The JSON envelope SNS wraps a message in (for SQS without raw delivery, and http(s)). */
  envelope(s: Subscription, n: Notification): Record<string, unknown> {
    const base = this.o.baseUrl();
    const attrs: Record<string, { Type: string; Value: string }> = {};
    for (const [k, a] of Object.entries(n.attributes)) attrs[k] = { Type: a.DataType, Value: a.StringValue ?? a.BinaryValue ?? '' };
    return {
      Type: 'Notification',
      MessageId: n.messageId,
      ...(n.sequenceNumber ? { SequenceNumber: n.sequenceNumber } : {}),
      TopicArn: n.topicArn,
      ...(n.subject !== undefined ? { Subject: n.subject } : {}),
      Message: n.messages[s.spec.protocol] ?? n.messages.default,
      Timestamp: n.timestamp,
      SignatureVersion: '1',
      UnsubscribeURL: `${base}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(subscriptionArn(s))}`,
      ...(Object.keys(attrs).length ? { MessageAttributes: attrs } : {}),
    };
  }

  private async attempt(s: Subscription, n: Notification, retry: number): Promise<void> {
    if (this.closed || !this.subs.has(s.metadata.uid!)) return;
    const arn = subscriptionArn(s);
    let error: Error;
    try {
      await this.deliverOnce(s, n);
      this.delivered.set(arn, (this.delivered.get(arn) ?? 0) + 1);
      return;
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
    }
    this.failedAttempts.set(arn, (this.failedAttempts.get(arn) ?? 0) + 1);
    const delay = error instanceof ClientSideError ? undefined : retryDelaySeconds(policyFrom(s, this.topics.get(n.topicArn.split(':').at(-1)!)), retry);
    if (delay === undefined) {
      this.undeliverable.set(arn, (this.undeliverable.get(arn) ?? 0) + 1);
      await this.deadLetter(s, n, error);
      return;
    }
    let cancel: () => void = () => undefined;
    cancel = this.o.clock.setTimer(delay * 1000, () => {
      this.timers.delete(cancel);
      void this.attempt(s, n, retry + 1);
    });
    this.timers.add(cancel);
  }

  private async deliverOnce(s: Subscription, n: Notification): Promise<void> {
    const text = n.messages[s.spec.protocol] ?? n.messages.default!;
    switch (s.spec.protocol) {
      case 'sqs': {
        const queue = parseArn(s.spec.endpoint)!.resource;
        const fifo = queue.endsWith('.fifo');
        const raw = !!s.spec.rawMessageDelivery;
        const body = raw ? text : JSON.stringify(this.envelope(s, n));
        const attrs: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }> = {};
        if (raw) for (const [k, a] of Object.entries(n.attributes)) attrs[k] = { DataType: a.DataType, ...(a.StringValue !== undefined ? { StringValue: a.StringValue } : {}), ...(a.BinaryValue !== undefined ? { BinaryValue: a.BinaryValue } : {}) };
        await this.o.sqs
          .send(queue, {
            body,
            ...(Object.keys(attrs).length ? { attrs } : {}),
            ...(fifo ? { groupId: n.groupId ?? 'sns', dedupId: n.dedupId ?? md5Hex(n.messageId) } : {}),
          })
          .catch((e: unknown) => {
            throw classify(e);
          });
        return;
      }
      case 'lambda': {
        const attrs: Record<string, { Type: string; Value: string }> = {};
        for (const [k, a] of Object.entries(n.attributes)) attrs[k] = { Type: a.DataType, Value: a.StringValue ?? a.BinaryValue ?? '' };
        const base = this.o.baseUrl();
        const event = {
          Records: [
            {
              EventSource: 'aws:sns',
              EventVersion: '1.0',
              EventSubscriptionArn: subscriptionArn(s),
              Sns: {
                Type: 'Notification',
                MessageId: n.messageId,
                TopicArn: n.topicArn,
                Subject: n.subject ?? null,
                Message: text,
                Timestamp: n.timestamp,
                SignatureVersion: '1',
                UnsubscribeUrl: `${base}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(subscriptionArn(s))}`,
                MessageAttributes: attrs,
              },
            },
          ],
        };
        await this.o.lambda.invokeAsync(functionNameFrom(s.spec.endpoint), event).catch((e: unknown) => {
          throw classify(e);
        });
        return;
      }
      default: {
        const raw = !!s.spec.rawMessageDelivery;
        await this.post(s.spec.endpoint, raw ? text : this.envelope(s, n), {
          'x-amz-sns-message-type': 'Notification',
          'x-amz-sns-message-id': n.messageId,
          'x-amz-sns-topic-arn': n.topicArn,
          'x-amz-sns-subscription-arn': subscriptionArn(s),
          ...(raw ? { 'x-amz-sns-rawdelivery': 'true' } : {}),
        });
      }
    }
  }

  /**
   * POSTs to an http(s) endpoint. An answer outside 200–499, no answer in 15 s (real time: the
   * endpoint is outside the cluster) or no connection is a failure; a 4xx answer counts as
   * delivered, as SNS counts it ("Preparing your HTTP/S endpoint to receive Amazon SNS messages").
   */
  private async post(url: string, body: unknown, headers: Record<string, string>): Promise<void> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=UTF-8', 'user-agent': 'Amazon Simple Notification Service Agent', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status > 499) throw new Error(`endpoint answered ${res.status}`);
  }

  private async deadLetter(s: Subscription, n: Notification, error: Error): Promise<void> {
    const dlq = s.spec.redrivePolicy?.deadLetterTargetArn;
    const queue = dlq ? parseArn(dlq)?.resource : undefined;
    if (!queue || !this.o.sqs.has(queue)) return;
    const body = s.spec.rawMessageDelivery ? (n.messages[s.spec.protocol] ?? n.messages.default!) : JSON.stringify(this.envelope(s, n));
    await this.o.sqs
      .send(queue, {
        body,
        attrs: { ErrorCode: { DataType: 'String', StringValue: error instanceof ClientSideError ? error.code : 'EndpointUnavailable' }, ErrorMessage: { DataType: 'String', StringValue: (error.message || 'delivery failed').slice(0, 1024) }, TopicArn: { DataType: 'String', StringValue: n.topicArn } },
        ...(queue.endsWith('.fifo') ? { groupId: n.groupId ?? 'sns', dedupId: n.dedupId ?? md5Hex(n.messageId) } : {}),
      })
      .catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    for (const c of this.timers) c();
    this.timers.clear();
  }
}
