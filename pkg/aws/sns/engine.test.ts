/**
 * SNS fan-out in process, on a virtual clock, with topics, subscriptions and queues made as
 * Kubernetes-style objects (what `berth apply` of their manifests does): a FIFO topic keeps
 * group order into a FIFO queue and drops duplicates for 5 minutes; a filter policy on the
 * message body; raw delivery with attributes; an unconfirmed http subscription gets nothing.
 */
import t from 'tap';
import { VirtualClock } from '../../clock/clock.js';
import { createControlPlane } from '../../controlplane/controlplane.js';
import { MemoryBackend } from '../../storage/memory/memory.js';
import type { AwsHandle } from '../index.js';

async function setup(t: { teardown(fn: () => unknown): void }) {
  const clock = new VirtualClock();
  const cp = await createControlPlane({ backend: new MemoryBackend(), clock, components: ['aws'] });
  await cp.start();
  t.teardown(() => cp.stop());
  const aws = cp.handles.aws as AwsHandle;
  const create = (kind: string, apiVersion: string, name: string, spec: Record<string, unknown>) => cp.client.create({ apiVersion, kind, metadata: { name }, spec });
  const queue = (name: string, spec: Record<string, unknown> = {}) => create('Queue', 'sqs.berth.dev/v1', name, spec);
  const topic = (name: string, spec: Record<string, unknown> = {}) => create('Topic', 'sns.berth.dev/v1', name, spec);
  const subscribe = (name: string, spec: Record<string, unknown>) => create('Subscription', 'sns.berth.dev/v1', name, spec);
  /** Lets the store's commit hooks reach the engines. */
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  const bodies = async (q: string) => (await aws.sqs.receive(q, { max: 10, visibilityTimeout: 0 })).map((m) => m.body);
  return { clock, aws, queue, topic, subscribe, settle, bodies };
}

t.test('a FIFO topic keeps group order into a FIFO queue and drops duplicates for 5 minutes', async (t) => {
  const { clock, aws, queue, topic, subscribe, settle } = await setup(t);
  await queue('orders.fifo', { fifoQueue: true });
  await topic('orders.fifo', { fifoTopic: true });
  await subscribe('orders-to-queue', { topicArn: 'arn:aws:sns:us-east-1:000000000000:orders.fifo', protocol: 'sqs', endpoint: 'arn:aws:sqs:us-east-1:000000000000:orders.fifo', rawMessageDelivery: true });
  await settle();
  const pub = (message: string, groupId: string, dedupId: string) => aws.sns.publish('orders.fifo', { message, groupId, dedupId });
  const first = await pub('a1', 'a', 'd-a1');
  await pub('b1', 'b', 'd-b1');
  await pub('a2', 'a', 'd-a2');
  const dup = await pub('a1 again', 'a', 'd-a1');
  t.equal(dup.messageId, first.messageId, 'a duplicate is answered with the original message');
  t.equal(dup.sequenceNumber, first.sequenceNumber);
  await t.rejects(aws.sns.publish('orders.fifo', { message: 'x' }), { code: 'InvalidParameter', message: /MessageGroupId/ }, 'a FIFO topic needs a message group');
  const got = await aws.sqs.receive('orders.fifo', { max: 10 });
  t.same(got.map((m) => m.body), ['a1', 'b1', 'a2'], 'in order, the duplicate dropped');
  t.same(got.map((m) => m.group), ['a', 'b', 'a'], 'message groups carried to the queue');
  for (const m of got) await aws.sqs.deleteMessage('orders.fifo', m.receiptHandle);
  await clock.advance(5 * 60_000 + 1);
  await pub('a1 later', 'a', 'd-a1');
  t.same((await aws.sqs.receive('orders.fifo', { max: 10 })).map((m) => m.body), ['a1 later'], 'after 5 minutes the id is new again');
});

t.test('filter policies on the message body; raw delivery keeps attributes; an unconfirmed http subscription gets nothing', async (t) => {
  const { aws, queue, topic, subscribe, settle, bodies } = await setup(t);
  await topic('events');
  await queue('paid');
  await queue('not-test');
  await queue('raw');
  const arn = 'arn:aws:sns:us-east-1:000000000000:events';
  await subscribe('paid', { topicArn: arn, protocol: 'sqs', endpoint: 'arn:aws:sqs:us-east-1:000000000000:paid', rawMessageDelivery: true, filterPolicyScope: 'MessageBody', filterPolicy: { order: { status: ['paid'], total: [{ numeric: ['>', 10] }] } } });
  await subscribe('not-test', { topicArn: arn, protocol: 'sqs', endpoint: 'arn:aws:sqs:us-east-1:000000000000:not-test', rawMessageDelivery: true, filterPolicy: { env: [{ 'anything-but': ['test'] }], customer: [{ exists: true }] } });
  await subscribe('raw', { topicArn: arn, protocol: 'sqs', endpoint: 'arn:aws:sqs:us-east-1:000000000000:raw', rawMessageDelivery: true });
  await subscribe('web', { topicArn: arn, protocol: 'http', endpoint: 'http://127.0.0.1:9/never' });
  await settle();
  const attrs = (env: string, customer?: string) => ({ env: { DataType: 'String', StringValue: env }, ...(customer ? { customer: { DataType: 'String', StringValue: customer } } : {}) });
  await aws.sns.publish('events', { message: JSON.stringify({ order: { status: 'paid', total: 25 } }), attributes: attrs('prod', 'acme') });
  await aws.sns.publish('events', { message: JSON.stringify({ order: { status: 'paid', total: 5 } }), attributes: attrs('test', 'acme') });
  await aws.sns.publish('events', { message: JSON.stringify({ order: { status: 'open', total: 50 } }), attributes: attrs('prod') });
  t.same((await bodies('paid')).map((b) => JSON.parse(b)), [{ order: { status: 'paid', total: 25 } }], 'body scope: status paid AND total > 10');
  t.same((await bodies('not-test')).map((b) => JSON.parse(b).order.total), [25], 'anything-but test, AND customer exists');
  const raw = await aws.sqs.receive('raw', { max: 10 });
  t.equal(raw.length, 3, 'no filter: everything');
  t.same(raw[0]!.attrs, attrs('prod', 'acme'), 'raw delivery carries the message attributes as SQS attributes');
  const web = aws.sns.subscriptions('events').find((s) => s.spec.protocol === 'http')!;
  t.equal(aws.sns.delivered.get(`${arn}:${web.metadata.uid}`) ?? 0, 0, 'pending confirmation: nothing delivered');
});
