/**
 * The SNS API (2010-03-31, query protocol: form-encoded requests, XML answers) as the AWS CLI
 * and SDKs call it, over the `sns.berth.dev/v1` Topic and Subscription objects and the
 * SnsEngine. ConfirmSubscription and Unsubscribe also answer GETs, so SubscribeURL and
 * UnsubscribeURL work from a browser or curl.
 */
import { isReason, StatusError } from '../../api/errors.js';
import type { Client } from '../../client/client.js';
import { ACCOUNT_ID, parseArn, topicNameFromArn } from '../protocol/arn.js';
import { AwsError } from '../protocol/errors.js';
import { XmlMap, type XmlValue } from '../protocol/query.js';
import type { AwsRequestContext } from '../protocol/router.js';
import { filterPolicyErrors } from './filter.js';
import { invalidParameter, SnsEngine, topicNotFound, type PublishAttribute, type PublishInput } from './engine.js';
import { PROTOCOLS, subscriptionArn, SubscriptionKind, topicArn, TopicKind, topicNameError, type Subscription, type SubscriptionSpec, type Topic, type TopicSpec } from './types.js';

export const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

type Params = Record<string, unknown>;

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));

function required(p: Params, name: string): string {
  const v = str(p[name]);
  if (v === undefined || v === '') throw invalidParameter(`Invalid parameter: ${name} Reason: no value for required parameter`);
  return v;
}

function statusToAws(e: unknown): unknown {
  if (e instanceof StatusError && e.code === 422) {
    const causes = (e.status.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`).join('; ');
    return invalidParameter(`Invalid parameter: ${causes || e.message}`);
  }
  return e;
}

/** Topic attributes by name ↔ spec fields. */
const TOPIC_ATTRS: Record<string, keyof TopicSpec> = { DisplayName: 'displayName', Policy: 'policy', DeliveryPolicy: 'deliveryPolicy', FifoTopic: 'fifoTopic', ContentBasedDeduplication: 'contentBasedDeduplication' };
const SUB_ATTRS: Record<string, keyof SubscriptionSpec> = { FilterPolicy: 'filterPolicy', FilterPolicyScope: 'filterPolicyScope', RawMessageDelivery: 'rawMessageDelivery', RedrivePolicy: 'redrivePolicy', DeliveryPolicy: 'deliveryPolicy' };

function topicSpecValue(name: string, value: string): unknown {
  if (name === 'FifoTopic' || name === 'ContentBasedDeduplication') return value.toLowerCase() === 'true';
  if (name === 'DeliveryPolicy') {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      throw invalidParameter(`Invalid parameter: Attributes Reason: DeliveryPolicy: failed to parse JSON`);
    }
  }
  return value;
}

function subSpecValue(name: string, value: string): unknown {
  switch (name) {
    case 'RawMessageDelivery':
      if (!/^(true|false)$/i.test(value)) throw invalidParameter('Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [' + value + ']. Must be true or false.');
      return value.toLowerCase() === 'true';
    case 'FilterPolicy': {
      if (value === '') return undefined;
      let v: unknown;
      try {
        v = JSON.parse(value);
      } catch {
        throw invalidParameter('Invalid parameter: FilterPolicy: failed to parse JSON.');
      }
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidParameter('Invalid parameter: FilterPolicy: Filter policy must be a JSON object');
      const errs = filterPolicyErrors(v as Record<string, unknown>);
      if (errs.length) throw invalidParameter(`Invalid parameter: FilterPolicy: ${errs[0]}`);
      return v;
    }
    case 'FilterPolicyScope':
      if (!['MessageAttributes', 'MessageBody'].includes(value)) throw invalidParameter('Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value [' + value + ']. Please use either MessageBody or MessageAttributes');
      return value;
    case 'RedrivePolicy':
    case 'DeliveryPolicy':
      if (value === '') return undefined;
      try {
        return JSON.parse(value) as unknown;
      } catch {
        throw invalidParameter(`Invalid parameter: ${name}: failed to parse JSON`);
      }
    default:
      return value;
  }
}

function attrsOf(p: Params, key = 'MessageAttributes'): Record<string, PublishAttribute> | undefined {
  const m = p[key] as Record<string, Record<string, unknown>> | undefined;
  if (!m) return undefined;
  const out: Record<string, PublishAttribute> = {};
  for (const [k, v] of Object.entries(m)) out[k] = { DataType: String(v?.DataType ?? ''), ...(v?.StringValue !== undefined ? { StringValue: String(v.StringValue) } : {}), ...(v?.BinaryValue !== undefined ? { BinaryValue: String(v.BinaryValue) } : {}) };
  return out;
}

export class SnsApi {
  constructor(
    private readonly engine: SnsEngine,
    private readonly client: Client,
  ) {}

  private topicOf(p: Params, key = 'TopicArn'): string {
    const arn = required(p, key);
    const name = topicNameFromArn(arn);
    if (!name) throw invalidParameter(`Invalid parameter: ${key}`);
    if (!this.engine.hasTopic(name)) throw topicNotFound();
    return name;
  }

  private subOf(p: Params): Subscription {
    const arn = required(p, 'SubscriptionArn');
    const s = this.engine.subscriptionByArn(arn);
    if (!s) {
      if (!parseArn(arn)) throw invalidParameter('Invalid parameter: SubscriptionArn');
      throw new AwsError('NotFound', 'Subscription does not exist', 404);
    }
    return s;
  }

  private subscriptionXml(s: Subscription): Record<string, XmlValue> {
    return { SubscriptionArn: SnsEngine.pending(s) ? 'PendingConfirmation' : subscriptionArn(s), Owner: ACCOUNT_ID, Protocol: s.spec.protocol, Endpoint: s.spec.endpoint, TopicArn: s.spec.topicArn };
  }

  private async modifyTopic(name: string, change: (spec: TopicSpec) => TopicSpec): Promise<void> {
    try {
      await this.client.modify<Topic>(TopicKind, name, undefined, (t) => {
        t.spec = change({ ...(t.spec ?? {}) });
        return t;
      });
    } catch (e) {
      if (isReason(e, 'NotFound')) throw topicNotFound();
      throw statusToAws(e);
    }
  }

  /** Serves one action; returns the `<Action>Result` members. */
  handle = async (action: string, p: Params, ctx: AwsRequestContext): Promise<Record<string, XmlValue> | undefined> => {
    switch (action) {
      case 'CreateTopic': {
        const name = required(p, 'Name');
        const attrs = (p.Attributes ?? {}) as Record<string, string>;
        const spec: TopicSpec = {};
        for (const [k, v] of Object.entries(attrs)) {
          const f = TOPIC_ATTRS[k];
          if (!f) throw invalidParameter(`Invalid parameter: Attributes Reason: Unknown attribute: ${k}`);
          (spec as Record<string, unknown>)[f] = topicSpecValue(k, String(v));
        }
        const fifo = spec.fifoTopic === true;
        const err = topicNameError(name, fifo);
        if (err || (!fifo && name.endsWith('.fifo'))) throw invalidParameter(`Invalid parameter: Topic Name`);
        const tags = (p.Tags ?? []) as { Key: string; Value: string }[];
        if (tags.length) spec.tags = Object.fromEntries(tags.map((t) => [t.Key, t.Value]));
        const existing = this.engine.topic(name);
        if (existing) {
          for (const [k, v] of Object.entries(attrs)) {
            const cur = (existing.spec as Record<string, unknown> | undefined)?.[TOPIC_ATTRS[k]!];
            if (JSON.stringify(cur ?? null) !== JSON.stringify(topicSpecValue(k, String(v)))) throw invalidParameter('Invalid parameter: Attributes Reason: Topic already exists with different attributes');
          }
          return { TopicArn: topicArn(name) };
        }
        try {
          await this.client.create<Topic>({ apiVersion: TopicKind.apiVersion, kind: TopicKind.kind, metadata: { name }, spec });
        } catch (e) {
          if (!isReason(e, 'AlreadyExists')) throw statusToAws(e);
        }
        return { TopicArn: topicArn(name) };
      }
      case 'DeleteTopic': {
        const arn = required(p, 'TopicArn');
        const name = topicNameFromArn(arn);
        if (!name) throw invalidParameter('Invalid parameter: TopicArn');
        // Deleting a topic that does not exist succeeds (DeleteTopic is idempotent); its subscriptions go with it.
        await this.client.deleteIfExists(TopicKind, name);
        for (const s of this.engine.subscriptions(name)) await this.client.deleteIfExists(SubscriptionKind, s.metadata.name!);
        return undefined;
      }
      case 'ListTopics': {
        const names = this.engine.topicNames();
        const start = p.NextToken ? Number(Buffer.from(String(p.NextToken), 'base64').toString()) : 0;
        const page = names.slice(start, start + 100);
        return { Topics: page.map((n) => ({ TopicArn: topicArn(n) })), ...(start + 100 < names.length ? { NextToken: Buffer.from(String(start + 100)).toString('base64') } : {}) };
      }
      case 'GetTopicAttributes': {
        const name = this.topicOf(p);
        const t = this.engine.topic(name)!;
        const subs = this.engine.subscriptions(name);
        const fifo = t.spec?.fifoTopic ?? name.endsWith('.fifo');
        const arn = topicArn(name);
        const attrs: Record<string, XmlValue> = {
          TopicArn: arn,
          Owner: ACCOUNT_ID,
          Policy:
            t.spec?.policy ??
            JSON.stringify({ Version: '2008-10-17', Id: '__default_policy_ID', Statement: [{ Effect: 'Allow', Sid: '__default_statement_ID', Principal: { AWS: '*' }, Action: ['SNS:Publish', 'SNS:Subscribe', 'SNS:ListSubscriptionsByTopic', 'SNS:GetTopicAttributes', 'SNS:SetTopicAttributes', 'SNS:DeleteTopic', 'SNS:AddPermission', 'SNS:RemovePermission', 'SNS:Receive'], Resource: arn, Condition: { StringEquals: { 'AWS:SourceOwner': ACCOUNT_ID } } }] }),
          DisplayName: t.spec?.displayName ?? '',
          SubscriptionsConfirmed: String(subs.filter((s) => !SnsEngine.pending(s)).length),
          SubscriptionsPending: String(subs.filter((s) => SnsEngine.pending(s)).length),
          SubscriptionsDeleted: '0',
          EffectiveDeliveryPolicy: JSON.stringify(t.spec?.deliveryPolicy ?? { http: { defaultHealthyRetryPolicy: { minDelayTarget: 20, maxDelayTarget: 20, numRetries: 3, numMaxDelayRetries: 0, numNoDelayRetries: 0, numMinDelayRetries: 0, backoffFunction: 'linear' }, disableSubscriptionOverrides: false, defaultRequestPolicy: { headerContentType: 'text/plain; charset=UTF-8' } } }),
          ...(t.spec?.deliveryPolicy ? { DeliveryPolicy: JSON.stringify(t.spec.deliveryPolicy) } : {}),
          ...(fifo ? { FifoTopic: 'true', ContentBasedDeduplication: String(!!t.spec?.contentBasedDeduplication) } : {}),
        };
        return { Attributes: new XmlMap(attrs) as unknown as XmlValue };
      }
      case 'SetTopicAttributes': {
        const name = this.topicOf(p);
        const attr = required(p, 'AttributeName');
        const f = TOPIC_ATTRS[attr];
        if (!f || attr === 'FifoTopic') throw invalidParameter(`Invalid parameter: AttributeName`);
        const value = str(p.AttributeValue) ?? '';
        await this.modifyTopic(name, (s) => ({ ...s, [f]: topicSpecValue(attr, value) }));
        return undefined;
      }
      case 'Subscribe': {
        const name = this.topicOf(p);
        const protocol = required(p, 'Protocol');
        if (!PROTOCOLS.includes(protocol)) throw invalidParameter(`Invalid parameter: Amazon SNS does not support this protocol string: ${protocol}${['email', 'email-json', 'sms', 'application', 'firehose'].includes(protocol) ? ' (berth delivers to sqs, lambda, http and https)' : ''}`);
        const endpoint = required(p, 'Endpoint');
        const attrs = (p.Attributes ?? {}) as Record<string, string>;
        const spec: SubscriptionSpec = { topicArn: topicArn(name), protocol, endpoint };
        for (const [k, v] of Object.entries(attrs)) {
          const f = SUB_ATTRS[k];
          if (!f) throw invalidParameter(`Invalid parameter: Attributes Reason: Unknown attribute: ${k}`);
          const val = subSpecValue(k, String(v));
          if (val !== undefined) (spec as unknown as Record<string, unknown>)[f] = val;
        }
        const same = this.engine.subscriptions(name).find((s) => s.spec.protocol === protocol && s.spec.endpoint === endpoint);
        const returnArn = String(p.ReturnSubscriptionArn ?? 'false') === 'true';
        if (same) {
          for (const [k] of Object.entries(attrs)) {
            const f = SUB_ATTRS[k]!;
            if (JSON.stringify((same.spec as unknown as Record<string, unknown>)[f] ?? null) !== JSON.stringify((spec as unknown as Record<string, unknown>)[f] ?? null)) throw invalidParameter('Invalid parameter: Attributes Reason: Subscription already exists with different attributes');
          }
          return { SubscriptionArn: SnsEngine.pending(same) && !returnArn ? 'pending confirmation' : subscriptionArn(same) };
        }
        let created: Subscription;
        try {
          created = await this.client.create<Subscription>({ apiVersion: SubscriptionKind.apiVersion, kind: SubscriptionKind.kind, metadata: { generateName: `${name.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 50)}-` }, spec });
        } catch (e) {
          throw statusToAws(e);
        }
        const http = protocol === 'http' || protocol === 'https';
        return { SubscriptionArn: http && !returnArn ? 'pending confirmation' : subscriptionArn(created) };
      }
      case 'ConfirmSubscription': {
        const name = this.topicOf(p);
        const s = await this.engine.confirm(name, required(p, 'Token'));
        return { SubscriptionArn: subscriptionArn(s) };
      }
      case 'Unsubscribe': {
        const s = this.subOf(p);
        await this.client.deleteIfExists(SubscriptionKind, s.metadata.name!);
        return undefined;
      }
      case 'ListSubscriptions':
        return { Subscriptions: this.engine.subscriptions().map((s) => this.subscriptionXml(s)) };
      case 'ListSubscriptionsByTopic':
        return { Subscriptions: this.engine.subscriptions(this.topicOf(p)).map((s) => this.subscriptionXml(s)) };
      case 'GetSubscriptionAttributes': {
        const s = this.subOf(p);
        const attrs: Record<string, XmlValue> = {
          SubscriptionArn: subscriptionArn(s),
          TopicArn: s.spec.topicArn,
          Owner: ACCOUNT_ID,
          Protocol: s.spec.protocol,
          Endpoint: s.spec.endpoint,
          ConfirmationWasAuthenticated: String(!SnsEngine.pending(s)),
          PendingConfirmation: String(SnsEngine.pending(s)),
          RawMessageDelivery: String(!!s.spec.rawMessageDelivery),
          SubscriptionPrincipal: `arn:aws:iam::${ACCOUNT_ID}:user/berth`,
          ...(s.spec.filterPolicy ? { FilterPolicy: JSON.stringify(s.spec.filterPolicy), FilterPolicyScope: s.spec.filterPolicyScope ?? 'MessageAttributes' } : {}),
          ...(s.spec.redrivePolicy ? { RedrivePolicy: JSON.stringify(s.spec.redrivePolicy) } : {}),
          ...(s.spec.deliveryPolicy ? { DeliveryPolicy: JSON.stringify(s.spec.deliveryPolicy) } : {}),
        };
        return { Attributes: new XmlMap(attrs) as unknown as XmlValue };
      }
      case 'SetSubscriptionAttributes': {
        const s = this.subOf(p);
        const attr = required(p, 'AttributeName');
        const f = SUB_ATTRS[attr];
        if (!f) throw invalidParameter('Invalid parameter: AttributeName');
        const val = subSpecValue(attr, str(p.AttributeValue) ?? '');
        try {
          await this.client.modify<Subscription>(SubscriptionKind, s.metadata.name!, undefined, (x) => {
            const spec = { ...x.spec } as unknown as Record<string, unknown>;
            if (val === undefined) delete spec[f];
            else spec[f] = val;
            x.spec = spec as unknown as SubscriptionSpec;
            return x;
          });
        } catch (e) {
          throw statusToAws(e);
        }
        return undefined;
      }
      case 'Publish': {
        const target = str(p.TopicArn) ?? str(p.TargetArn);
        if (str(p.PhoneNumber)) throw invalidParameter('Invalid parameter: PhoneNumber Reason: berth does not send SMS');
        if (!target) throw invalidParameter('Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter');
        const name = topicNameFromArn(target);
        if (!name) throw invalidParameter('Invalid parameter: TopicArn');
        const r = await this.engine.publish(name, this.publishInput(p));
        return { MessageId: r.messageId, ...(r.sequenceNumber ? { SequenceNumber: r.sequenceNumber } : {}) };
      }
      case 'PublishBatch': {
        const name = this.topicOf(p);
        const entries = (p.PublishBatchRequestEntries ?? []) as Params[];
        if (!entries.length) throw new AwsError('EmptyBatchRequest', 'The batch request doesn\'t contain any entries', 400);
        if (entries.length > 10) throw new AwsError('TooManyEntriesInBatchRequest', 'The batch request contains more entries than permissible', 400);
        const ids = new Set<string>();
        for (const e of entries) {
          const id = String(e.Id ?? '');
          if (!/^[A-Za-z0-9_-]{1,80}$/.test(id)) throw new AwsError('InvalidBatchEntryId', 'The Id of a batch entry in a batch request doesn\'t abide by the specification.', 400);
          if (ids.has(id)) throw new AwsError('BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.', 400);
          ids.add(id);
        }
        const Successful: XmlValue[] = [];
        const Failed: XmlValue[] = [];
        for (const e of entries) {
          try {
            const r = await this.engine.publish(name, this.publishInput(e));
            Successful.push({ Id: String(e.Id), MessageId: r.messageId, ...(r.sequenceNumber ? { SequenceNumber: r.sequenceNumber } : {}) });
          } catch (err) {
            if (!(err instanceof AwsError)) throw err;
            Failed.push({ Id: String(e.Id), Code: err.code, Message: err.message, SenderFault: 'true' });
          }
        }
        return { Successful, Failed };
      }
      case 'TagResource': {
        const name = this.topicOf(p, 'ResourceArn');
        const tags = (p.Tags ?? []) as { Key: string; Value: string }[];
        await this.modifyTopic(name, (s) => ({ ...s, tags: { ...(s.tags ?? {}), ...Object.fromEntries(tags.map((t) => [t.Key, t.Value])) } }));
        return undefined;
      }
      case 'UntagResource': {
        const name = this.topicOf(p, 'ResourceArn');
        const keys = (p.TagKeys ?? []) as string[];
        await this.modifyTopic(name, (s) => {
          const tags = { ...(s.tags ?? {}) };
          for (const k of keys) delete tags[k];
          return { ...s, tags };
        });
        return undefined;
      }
      case 'ListTagsForResource': {
        const name = this.topicOf(p, 'ResourceArn');
        const tags = this.engine.topic(name)?.spec?.tags ?? {};
        return { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
      }
      default:
        void ctx;
        throw new AwsError('InvalidAction', `The action ${action} is not valid for this endpoint.`, 400);
    }
  };

  private publishInput(p: Params): PublishInput {
    const attrs = attrsOf(p);
    return {
      message: str(p.Message) ?? '',
      ...(p.Subject !== undefined ? { subject: String(p.Subject) } : {}),
      ...(p.MessageStructure !== undefined ? { messageStructure: String(p.MessageStructure) } : {}),
      ...(attrs ? { attributes: attrs } : {}),
      ...(p.MessageGroupId !== undefined ? { groupId: String(p.MessageGroupId) } : {}),
      ...(p.MessageDeduplicationId !== undefined ? { dedupId: String(p.MessageDeduplicationId) } : {}),
    };
  }
}
