/**
 * The SQS API (2012-11-05) as the AWS CLI and SDKs call it: the JSON protocol
 * (`X-Amz-Target: AmazonSQS.<Action>`, what botocore ≥ 1.31 sends) and the query protocol of
 * older clients (`Action=SendMessage&…`, answered in XML). Queue configuration goes through the
 * `sqs.berth.dev/v1 Queue` objects (so kubectl sees what the CLI made and the reverse);
 * messages go to the SqsEngine.
 */
import { isReason, StatusError } from '../../api/errors.js';
import type { Client } from '../../client/client.js';
import { queueNameFromArn } from '../protocol/arn.js';
import { AwsError } from '../protocol/errors.js';
import { pairsToMap, XmlFlat, XmlMap, type XmlValue } from '../protocol/query.js';
import type { AwsRequestContext } from '../protocol/router.js';
import { invalidParameterValue, missingParameter, queueDoesNotExist, sequenceNumber, type ReceivedMessage, type SendInput, type SqsEngine } from './engine.js';
import { md5Hex as createMd5, md5OfAttributes as md5Attrs, type MessageAttributeValue } from './md5.js';
import { AttributeError, attributesFromSpec, COMPUTED_ATTRIBUTES, isFifoName, QUEUE_ATTRIBUTES, queueArn, QueueKind, queueNameError, queueNameFromUrl, queueUrl, specFromAttributes, type Queue, type QueueSpec } from './types.js';

type Input = Record<string, unknown>;

export const SQS_XMLNS = 'http://queue.amazonaws.com/doc/2012-11-05/';

const BATCH_ID_RE = /^[A-Za-z0-9_-]{1,80}$/;

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));

/** An integer parameter (JSON number or query string); undefined when absent. Throws InvalidParameterValue. */
function int(input: Input, name: string): number | undefined {
  const v = input[name];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n)) throw invalidParameterValue(`Value ${String(v)} for parameter ${name} is invalid. Reason: must be an integer.`);
  return n;
}

function required(input: Input, name: string): string {
  const v = input[name];
  if (v === undefined || v === null || v === '') throw missingParameter(name);
  return String(v);
}

/** The SQS operations over an engine and the Queue objects. */
export class SqsApi {
  constructor(
    private readonly engine: SqsEngine,
    private readonly client: Client,
  ) {}

  /** A queue name from a QueueUrl parameter. Throws QueueDoesNotExist for an unknown queue. */
  private queueOf(input: Input): string {
    const url = required(input, 'QueueUrl');
    const name = queueNameFromUrl(url) ?? (url.includes('/') ? undefined : url);
    if (!name || !this.engine.has(name)) throw queueDoesNotExist();
    return name;
  }

  /** Serves one JSON-protocol action. */
  handle = async (action: string, input: Input, ctx: AwsRequestContext): Promise<Record<string, unknown>> => {
    switch (action) {
      case 'CreateQueue':
        return this.createQueue(input, ctx);
      case 'GetQueueUrl': {
        const name = required(input, 'QueueName');
        if (!this.engine.has(name)) throw queueDoesNotExist();
        return { QueueUrl: queueUrl(ctx.baseUrl, name) };
      }
      case 'ListQueues': {
        const prefix = str(input.QueueNamePrefix) ?? '';
        const max = int(input, 'MaxResults');
        if (max !== undefined && (max < 1 || max > 1000)) throw invalidParameterValue(`Value ${max} for parameter MaxResults is invalid. Reason: must be between 1 and 1000.`);
        let names = this.engine.names().filter((n) => n.startsWith(prefix));
        const token = str(input.NextToken);
        if (token) names = names.filter((n) => n > Buffer.from(token, 'base64').toString('utf8'));
        const page = max !== undefined ? names.slice(0, max) : names.slice(0, 1000);
        const out: Record<string, unknown> = {};
        if (page.length) out.QueueUrls = page.map((n) => queueUrl(ctx.baseUrl, n));
        if (max !== undefined && names.length > page.length) out.NextToken = Buffer.from(page.at(-1)!).toString('base64');
        return out;
      }
      case 'DeleteQueue': {
        const name = this.queueOf(input);
        await this.client.deleteIfExists(QueueKind, name);
        return {};
      }
      case 'GetQueueAttributes':
        return this.getAttributes(this.queueOf(input), input);
      case 'SetQueueAttributes': {
        const name = this.queueOf(input);
        const attrs = (input.Attributes ?? {}) as Record<string, unknown>;
        const patch = this.specPatch(attrs);
        if ('fifoQueue' in patch && patch.fifoQueue !== this.engine.info(name).config.fifo) throw new AwsError('InvalidAttributeValue', 'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.', 400, { queryCode: 'InvalidAttributeValue' });
        await this.writeSpec(name, (spec) => ({ ...spec, ...patch }));
        return {};
      }
      case 'PurgeQueue':
        await this.engine.purge(this.queueOf(input));
        return {};
      case 'SendMessage': {
        const name = this.queueOf(input);
        const r = await this.engine.send(name, this.sendInput(input, ctx));
        return {
          MD5OfMessageBody: r.md5OfBody,
          ...(r.md5OfAttributes ? { MD5OfMessageAttributes: r.md5OfAttributes } : {}),
          ...(r.md5OfSystemAttributes ? { MD5OfMessageSystemAttributes: r.md5OfSystemAttributes } : {}),
          MessageId: r.id,
          ...(r.sequenceNumber ? { SequenceNumber: r.sequenceNumber } : {}),
        };
      }
      case 'SendMessageBatch': {
        const name = this.queueOf(input);
        const entries = this.batch(input, (e) => e.MessageBody);
        const max = this.engine.info(name).config.maximumMessageSize;
        const total = entries.reduce((n, e) => n + Buffer.byteLength(String(e.MessageBody ?? '')), 0);
        if (total > max) throw new AwsError('BatchRequestTooLong', `Batch requests cannot be longer than ${max} bytes. You have sent ${total} bytes.`, 400, { queryCode: 'AWS.SimpleQueueService.BatchRequestTooLong' });
        const Successful: unknown[] = [];
        const Failed: unknown[] = [];
        for (const e of entries) {
          try {
            const r = await this.engine.send(name, this.sendInput(e, ctx));
            Successful.push({
              Id: e.Id,
              MessageId: r.id,
              MD5OfMessageBody: r.md5OfBody,
              ...(r.md5OfAttributes ? { MD5OfMessageAttributes: r.md5OfAttributes } : {}),
              ...(r.md5OfSystemAttributes ? { MD5OfMessageSystemAttributes: r.md5OfSystemAttributes } : {}),
              ...(r.sequenceNumber ? { SequenceNumber: r.sequenceNumber } : {}),
            });
          } catch (err) {
            if (!(err instanceof AwsError)) throw err;
            Failed.push({ Id: e.Id, SenderFault: true, Code: err.opts.queryCode ?? err.code, Message: err.message });
          }
        }
        return { Successful, Failed };
      }
      case 'ReceiveMessage':
        return this.receive(input);
      case 'DeleteMessage':
        await this.engine.deleteMessage(this.queueOf(input), required(input, 'ReceiptHandle'));
        return {};
      case 'DeleteMessageBatch': {
        const name = this.queueOf(input);
        return this.eachEntry(this.batch(input, (e) => e.ReceiptHandle), (e) => this.engine.deleteMessage(name, required(e, 'ReceiptHandle')));
      }
      case 'ChangeMessageVisibility': {
        const name = this.queueOf(input);
        const vt = int(input, 'VisibilityTimeout');
        if (vt === undefined) throw missingParameter('VisibilityTimeout');
        await this.engine.changeVisibility(name, required(input, 'ReceiptHandle'), vt);
        return {};
      }
      case 'ChangeMessageVisibilityBatch': {
        const name = this.queueOf(input);
        return this.eachEntry(this.batch(input, (e) => e.ReceiptHandle), (e) => {
          const vt = int(e, 'VisibilityTimeout');
          if (vt === undefined) throw missingParameter('VisibilityTimeout');
          return this.engine.changeVisibility(name, required(e, 'ReceiptHandle'), vt);
        });
      }
      case 'ListDeadLetterSourceQueues': {
        const name = this.queueOf(input);
        return { queueUrls: this.engine.deadLetterSources(name).map((n) => queueUrl(ctx.baseUrl, n)) };
      }
      case 'TagQueue': {
        const name = this.queueOf(input);
        const tags = (input.Tags ?? {}) as Record<string, string>;
        await this.writeSpec(name, (spec) => ({ ...spec, tags: { ...(spec.tags ?? {}), ...tags } }));
        return {};
      }
      case 'UntagQueue': {
        const name = this.queueOf(input);
        const keys = (input.TagKeys ?? []) as string[];
        await this.writeSpec(name, (spec) => {
          const tags = { ...(spec.tags ?? {}) };
          for (const k of keys) delete tags[k];
          return { ...spec, tags };
        });
        return {};
      }
      case 'ListQueueTags': {
        const tags = this.engine.info(this.queueOf(input)).spec.tags ?? {};
        return Object.keys(tags).length ? { Tags: tags } : {};
      }
      case 'StartMessageMoveTask': {
        const source = queueNameFromArn(required(input, 'SourceArn'));
        if (!source) throw invalidParameterValue('You must use this format to specify the SourceArn: arn:<partition>:<service>:<region>:<account-id>:<resource-id>');
        const destArn = str(input.DestinationArn);
        const dest = destArn ? queueNameFromArn(destArn) : undefined;
        if (destArn && !dest) throw invalidParameterValue('You must use this format to specify the DestinationArn: arn:<partition>:<service>:<region>:<account-id>:<resource-id>');
        const t = this.engine.startMoveTask(source, dest, int(input, 'MaxNumberOfMessagesPerSecond'));
        return { TaskHandle: t.handle };
      }
      case 'CancelMessageMoveTask':
        return { ApproximateNumberOfMessagesMoved: this.engine.cancelMoveTask(required(input, 'TaskHandle')) };
      case 'ListMessageMoveTasks': {
        const source = queueNameFromArn(required(input, 'SourceArn'));
        if (!source || !this.engine.has(source)) throw new AwsError('ResourceNotFoundException', 'The resource that you specified for the SourceArn parameter doesn\'t exist.', 400, { queryCode: 'ResourceNotFoundException' });
        const max = int(input, 'MaxResults') ?? 1;
        return {
          Results: this.engine.listMoveTasks(source).slice(0, max).map((t) => ({
            ...(t.status === 'RUNNING' ? { TaskHandle: t.handle } : {}),
            Status: t.status,
            SourceArn: queueArn(t.source),
            ...(t.destination ? { DestinationArn: queueArn(t.destination) } : {}),
            ...(t.rate ? { MaxNumberOfMessagesPerSecond: t.rate } : {}),
            ApproximateNumberOfMessagesMoved: t.moved,
            ApproximateNumberOfMessagesToMove: t.toMove,
            ...(t.failureReason ? { FailureReason: t.failureReason } : {}),
            StartedTimestamp: t.started,
          })),
        };
      }
      case 'AddPermission':
      case 'RemovePermission':
        throw new AwsError('UnsupportedOperation', `${action} is not supported by berth: queue policies are kept (SetQueueAttributes Policy) but not enforced.`, 400, { queryCode: 'AWS.SimpleQueueService.UnsupportedOperation' });
      default:
        throw new AwsError('InvalidAction', `The action ${action} is not valid for this endpoint.`, 400, { queryCode: 'InvalidAction' });
    }
  };

  private async createQueue(input: Input, ctx: AwsRequestContext): Promise<Record<string, unknown>> {
    const name = required(input, 'QueueName');
    const attrs = (input.Attributes ?? {}) as Record<string, unknown>;
    const patch = this.specPatch(attrs);
    const fifoAttr = patch.fifoQueue === true;
    if (queueNameError(name) || (fifoAttr && !isFifoName(name)) || (!fifoAttr && isFifoName(name))) {
      throw invalidParameterValue(
        fifoAttr || isFifoName(name)
          ? 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.'
          : 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    }
    const tags = input.tags as Record<string, string> | undefined;
    if (this.engine.has(name)) {
      const current = attributesFromSpec(name, this.engine.info(name).spec);
      for (const [k, v] of Object.entries(attrs)) {
        const want = QUEUE_ATTRIBUTES.find((d) => d.name === k)?.type === 'json' ? JSON.stringify(JSON.parse(String(v))) : String(v);
        if ((current[k] ?? '') !== want && !(k === 'FifoQueue' && String(v).toLowerCase() === String(current[k]))) {
          throw new AwsError('QueueNameExists', 'The specified queue already exists.', 400, { queryCode: 'QueueAlreadyExists' });
        }
      }
      return { QueueUrl: queueUrl(ctx.baseUrl, name) };
    }
    const spec: QueueSpec = { ...patch, ...(tags && Object.keys(tags).length ? { tags } : {}) };
    for (const k of Object.keys(spec) as (keyof QueueSpec)[]) if (spec[k] === undefined) delete spec[k];
    try {
      await this.client.create<Queue>({ apiVersion: QueueKind.apiVersion, kind: QueueKind.kind, metadata: { name }, spec });
    } catch (e) {
      if (isReason(e, 'AlreadyExists')) return { QueueUrl: queueUrl(ctx.baseUrl, name) };
      throw statusToAws(e);
    }
    return { QueueUrl: queueUrl(ctx.baseUrl, name) };
  }

  private specPatch(attrs: Record<string, unknown>): QueueSpec {
    try {
      return specFromAttributes(attrs);
    } catch (e) {
      if (e instanceof AttributeError) {
        throw e.unknownName
          ? new AwsError('InvalidAttributeName', e.message, 400, { queryCode: 'InvalidAttributeName' })
          : new AwsError('InvalidAttributeValue', e.message, 400, { queryCode: 'InvalidAttributeValue' });
      }
      throw e;
    }
  }

  private async writeSpec(name: string, change: (spec: QueueSpec) => QueueSpec): Promise<void> {
    try {
      await this.client.modify<Queue>(QueueKind, name, undefined, (q) => {
        const spec = change(q.spec ?? {});
        for (const k of Object.keys(spec) as (keyof QueueSpec)[]) if (spec[k] === undefined) delete spec[k];
        q.spec = spec;
        return q;
      });
    } catch (e) {
      if (isReason(e, 'NotFound')) throw queueDoesNotExist();
      throw statusToAws(e);
    }
  }

  private getAttributes(name: string, input: Input): Record<string, unknown> {
    const names = (input.AttributeNames ?? []) as string[];
    const info = this.engine.info(name);
    const counts = this.engine.counts(name);
    const all: Record<string, string> = {
      QueueArn: queueArn(name),
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.notVisible),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: String(Math.floor(info.created / 1000)),
      LastModifiedTimestamp: String(Math.floor(info.lastModified / 1000)),
      ...attributesFromSpec(name, info.spec),
    };
    const known = new Set([...COMPUTED_ATTRIBUTES, ...QUEUE_ATTRIBUTES.map((d) => d.name), 'All']);
    for (const n of names) if (!known.has(n)) throw new AwsError('InvalidAttributeName', `Unknown Attribute ${n}.`, 400, { queryCode: 'InvalidAttributeName' });
    if (!names.length) return {};
    if (names.includes('All')) return { Attributes: all };
    const out: Record<string, string> = {};
    for (const n of names) if (all[n] !== undefined) out[n] = all[n];
    return Object.keys(out).length ? { Attributes: out } : {};
  }

  private sendInput(e: Input, ctx: AwsRequestContext): SendInput {
    const delay = int(e, 'DelaySeconds');
    return {
      body: str(e.MessageBody) ?? '',
      ...(e.MessageAttributes ? { attrs: e.MessageAttributes as Record<string, MessageAttributeValue> } : {}),
      ...(e.MessageSystemAttributes ? { sys: e.MessageSystemAttributes as Record<string, MessageAttributeValue> } : {}),
      ...(delay !== undefined ? { delaySeconds: delay } : {}),
      ...(e.MessageGroupId !== undefined ? { groupId: String(e.MessageGroupId) } : {}),
      ...(e.MessageDeduplicationId !== undefined ? { dedupId: String(e.MessageDeduplicationId) } : {}),
      ...(ctx.accessKey ? { sender: ctx.accessKey } : {}),
    };
  }

  /** Entries of a batch call, checked as SQS checks them. */
  private batch(input: Input, _field: (e: Input) => unknown): Input[] {
    const entries = (input.Entries ?? []) as Input[];
    if (!Array.isArray(entries) || entries.length === 0) throw new AwsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.', 400, { queryCode: 'AWS.SimpleQueueService.EmptyBatchRequest' });
    if (entries.length > 10) throw new AwsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`, 400, { queryCode: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest' });
    const ids = new Set<string>();
    for (const e of entries) {
      const id = String(e.Id ?? '');
      if (!BATCH_ID_RE.test(id)) throw new AwsError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.', 400, { queryCode: 'AWS.SimpleQueueService.InvalidBatchEntryId' });
      if (ids.has(id)) throw new AwsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`, 400, { queryCode: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct' });
      ids.add(id);
    }
    return entries;
  }

  private async eachEntry(entries: Input[], fn: (e: Input) => Promise<void>): Promise<Record<string, unknown>> {
    const Successful: unknown[] = [];
    const Failed: unknown[] = [];
    for (const e of entries) {
      try {
        await fn(e);
        Successful.push({ Id: e.Id });
      } catch (err) {
        if (!(err instanceof AwsError)) throw err;
        Failed.push({ Id: e.Id, SenderFault: true, Code: err.opts.queryCode ?? err.code, Message: err.message });
      }
    }
    return { Successful, Failed };
  }

  private async receive(input: Input): Promise<Record<string, unknown>> {
    const name = this.queueOf(input);
    const max = int(input, 'MaxNumberOfMessages');
    const vt = int(input, 'VisibilityTimeout');
    const wait = int(input, 'WaitTimeSeconds');
    const msgs = await this.engine.receive(name, { ...(max !== undefined ? { max } : {}), ...(vt !== undefined ? { visibilityTimeout: vt } : {}), ...(wait !== undefined ? { waitSeconds: wait } : {}) });
    const attrNames = [...((input.AttributeNames ?? []) as string[]), ...((input.MessageSystemAttributeNames ?? []) as string[])];
    const msgAttrNames = (input.MessageAttributeNames ?? []) as string[];
    if (!msgs.length) return {};
    return { Messages: msgs.map((m) => messageJson(m, attrNames, msgAttrNames)) };
  }
}

/** The system attributes of a received message, as ReceiveMessage names them. */
export function systemAttributes(m: ReceivedMessage | (Omit<ReceivedMessage, 'receiptHandle'> & { receiptHandle?: string })): Record<string, string> {
  return {
    SenderId: m.sender,
    SentTimestamp: String(m.sent),
    ApproximateReceiveCount: String(m.receives),
    ApproximateFirstReceiveTimestamp: String(m.firstReceive ?? m.sent),
    ...(m.group !== undefined ? { MessageGroupId: m.group, SequenceNumber: sequenceNumber(m.seq) } : {}),
    ...(m.dedup !== undefined ? { MessageDeduplicationId: m.dedup } : {}),
    ...(m.sys?.AWSTraceHeader?.StringValue ? { AWSTraceHeader: m.sys.AWSTraceHeader.StringValue } : {}),
    ...(m.dlqSource ? { DeadLetterQueueSourceArn: m.dlqSource } : {}),
  };
}

/** Message attributes selected by ReceiveMessage's MessageAttributeNames (`All`, `.*`, `prefix.*`, names). */
export function selectAttributes(attrs: Record<string, MessageAttributeValue> | undefined, names: string[]): Record<string, MessageAttributeValue> | undefined {
  if (!attrs || !names.length) return undefined;
  const out: Record<string, MessageAttributeValue> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (names.some((n) => n === 'All' || n === '.*' || n === k || (n.endsWith('.*') && k.startsWith(n.slice(0, -1))))) out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

function messageJson(m: ReceivedMessage, attrNames: string[], msgAttrNames: string[]): Record<string, unknown> {
  const sys = systemAttributes(m);
  const wantAll = attrNames.includes('All');
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(sys)) if (wantAll || attrNames.includes(k)) attributes[k] = v;
  const selected = selectAttributes(m.attrs, msgAttrNames);
  return {
    MessageId: m.id,
    ReceiptHandle: m.receiptHandle,
    MD5OfBody: createMd5(m.body),
    Body: m.body,
    ...(Object.keys(attributes).length ? { Attributes: attributes } : {}),
    ...(selected ? { MD5OfMessageAttributes: md5Attrs(selected), MessageAttributes: selected } : {}),
  };
}

/** A 422 from the Queue object's validation as SQS's InvalidAttributeValue; other API errors as they are. */
function statusToAws(e: unknown): unknown {
  if (e instanceof StatusError && e.code === 422) {
    const causes = (e.status.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`).join('; ');
    return new AwsError('InvalidAttributeValue', `Invalid value for a queue attribute. Reason: ${causes || e.message}`, 400, { queryCode: 'InvalidAttributeValue' });
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// Query protocol (older SDKs): flattened parameters in, XML out.

function attrsFromQuery(v: unknown): Record<string, MessageAttributeValue> | undefined {
  const m = pairsToMap(v) as Record<string, Record<string, unknown>> | undefined;
  if (!m) return undefined;
  const out: Record<string, MessageAttributeValue> = {};
  for (const [k, x] of Object.entries(m)) out[k] = { DataType: String(x?.DataType ?? ''), ...(x?.StringValue !== undefined ? { StringValue: String(x.StringValue) } : {}), ...(x?.BinaryValue !== undefined ? { BinaryValue: String(x.BinaryValue) } : {}) };
  return out;
}

function entryFromQuery(e: Input): Input {
  const out: Input = { ...e };
  if (e.MessageAttribute) {
    out.MessageAttributes = attrsFromQuery(e.MessageAttribute);
    delete out.MessageAttribute;
  }
  if (e.MessageSystemAttribute) {
    out.MessageSystemAttributes = attrsFromQuery(e.MessageSystemAttribute);
    delete out.MessageSystemAttribute;
  }
  return out;
}

const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v.map(String) : [String(v)]);

/** Query parameters (`Attribute.1.Name`, `SendMessageBatchRequestEntry.1.Id`…) to the JSON protocol's input. */
export function sqsInputFromQuery(action: string, p: Input): Input {
  const out: Input = entryFromQuery(p);
  if (p.Attribute) out.Attributes = pairsToMap(p.Attribute);
  if (p.Tag) out.tags = out.Tags = pairsToMap(p.Tag, 'Key', 'Value');
  if (p.AttributeName) out.AttributeNames = list(p.AttributeName);
  if (p.MessageSystemAttributeName) out.MessageSystemAttributeNames = list(p.MessageSystemAttributeName);
  if (p.MessageAttributeName) out.MessageAttributeNames = list(p.MessageAttributeName);
  if (p.TagKey) out.TagKeys = list(p.TagKey);
  const entryKey = `${action}RequestEntry`;
  if (p[entryKey]) out.Entries = (p[entryKey] as Input[]).map(entryFromQuery);
  return out;
}

const FLAT_LISTS: Record<string, string> = { QueueUrls: 'QueueUrl', queueUrls: 'QueueUrl', Messages: 'Message', Failed: 'BatchResultErrorEntry', Results: 'ListMessageMoveTasksResultEntry' };

function toXmlValue(key: string, v: unknown, action: string): XmlValue | XmlFlat | XmlMap {
  if (Array.isArray(v)) {
    const name = key === 'Successful' ? `${action}ResultEntry` : (FLAT_LISTS[key] ?? 'member');
    return new XmlFlat(name, v.map((x) => toXmlValue('', x, action) as XmlValue));
  }
  if (v && typeof v === 'object') {
    if (key === 'Attributes') return new XmlMap(v as Record<string, XmlValue>, { key: 'Name', value: 'Value', flatName: 'Attribute' });
    if (key === 'Tags') return new XmlMap(v as Record<string, XmlValue>, { key: 'Key', value: 'Value', flatName: 'Tag' });
    if (key === 'MessageAttributes') {
      const entries: Record<string, XmlValue> = {};
      for (const [k, a] of Object.entries(v as Record<string, Record<string, unknown>>)) entries[k] = { ...(a as Record<string, XmlValue>) };
      return new XmlMap(entries, { key: 'Name', value: 'Value', flatName: 'MessageAttribute' });
    }
    const out: Record<string, XmlValue> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toXmlValue(k, x, action) as XmlValue;
    return out;
  }
  return v as XmlValue;
}

/** The JSON protocol's output as the query protocol's XML result members. */
export function sqsOutputToXml(action: string, out: Record<string, unknown>): Record<string, XmlValue | XmlFlat> {
  const r: Record<string, XmlValue | XmlFlat> = {};
  for (const [k, v] of Object.entries(out)) r[k] = toXmlValue(k, v, action) as XmlValue;
  return r;
}
