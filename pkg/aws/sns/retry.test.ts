/**
 * SNS delivery retries on a virtual clock (Amazon SNS Developer Guide, "Amazon SNS message
 * delivery retries"): the phases of a delivery policy; an http endpoint on loopback that fails
 * gets the default policy's 3 retries 20 s apart, then the subscription's dead-letter queue has
 * the message; a 4xx answer counts as delivered; a subscribed queue that was deleted is a
 * client-side error, sent to the dead-letter queue without retries; delivery policies beyond
 * AWS's limits are refused with the field.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { VirtualClock } from '../../clock/clock.js';
import { createControlPlane } from '../../controlplane/controlplane.js';
import { MemoryBackend } from '../../storage/memory/memory.js';
import type { AwsHandle } from '../index.js';
import { policyFrom } from './engine.js';
import { AWS_MANAGED_RETRY, HTTP_DEFAULT_RETRY, retryDelaySeconds, retryPolicyErrors, type RetryPolicy } from './retry.js';

const delays = (p: RetryPolicy, n = p.numRetries + 1): (number | undefined)[] => Array.from({ length: n }, (_, i) => retryDelaySeconds(p, i));

t.test('the phases of a delivery policy', async (t) => {
  t.same(delays(HTTP_DEFAULT_RETRY), [20, 20, 20, undefined], 'http(s) default: 3 retries, 20 s apart, then none');
  const managed = delays(AWS_MANAGED_RETRY, 16);
  t.same(managed.slice(0, 5), [0, 0, 0, 1, 1], 'SQS and Lambda: 3 immediate retries, 2 at 1 s');
  const backoff = managed.slice(5, 15) as number[];
  t.ok(backoff.every((d, i) => d >= 1 && d <= 20 && (i === 0 || d >= backoff[i - 1]!)), `10 backoff retries growing from 1 to 20 s: ${backoff}`);
  t.equal(backoff.at(-1), 20);
  t.equal(managed[15], 20, 'then 20 s apart');
  t.equal(retryDelaySeconds(AWS_MANAGED_RETRY, 100_014), 20, 'the 100,015th retry');
  t.equal(retryDelaySeconds(AWS_MANAGED_RETRY, 100_015), undefined, 'none after 100,015');
  // The guide's example policy: 3 immediate, 2 at 1 s, backoff to 60 s, 35 at 60 s, 50 in all.
  const custom: RetryPolicy = { minDelayTarget: 1, maxDelayTarget: 60, numRetries: 50, numNoDelayRetries: 3, numMinDelayRetries: 2, numMaxDelayRetries: 35, backoffFunction: 'linear' };
  const c = delays(custom) as number[];
  t.same(c.slice(0, 5), [0, 0, 0, 1, 1]);
  t.same(c.slice(5, 15), [7, 13, 19, 25, 31, 36, 42, 48, 54, 60], 'linear backoff over 10 retries from 1 to 60 s');
  t.ok(c.slice(15, 50).every((d) => d === 60), '35 post-backoff retries at 60 s');
  t.equal(c[50], undefined);
  t.same(retryPolicyErrors(custom, 'p'), [], '2,437 s of retries: within the hour');
  t.same(retryPolicyErrors({ ...custom, numRetries: 100, numMaxDelayRetries: 85 }, 'p').map((e) => e[0]), ['p'], 'over an hour of retries is refused');
  t.same(retryPolicyErrors({ minDelayTarget: 30, maxDelayTarget: 20 }, 'p'), [['p.minDelayTarget', 'must not exceed maxDelayTarget (20)']]);
  t.same(retryPolicyErrors({ numRetries: 101 }, 'p'), [['p.numRetries', 'must be a whole number from 0 to 100']]);
  t.same(retryPolicyErrors({ backoffFunction: 'cubic' }, 'p'), [['p.backoffFunction', 'must be one of arithmetic, exponential, geometric, linear']]);
});

interface Endpoint {
  url: string;
  /** Notification bodies received, in order, with the virtual time they came at. */
  got: { at: number; type: string; body: Record<string, unknown> }[];
  /** The status code for the next notifications (then the last one repeats). */
  answers: number[];
}

async function setup(t: { teardown(fn: () => unknown): void }) {
  const clock = new VirtualClock();
  const cp = await createControlPlane({ backend: new MemoryBackend(), clock, components: ['aws'] });
  await cp.start();
  t.teardown(() => cp.stop());
  const aws = cp.handles.aws as AwsHandle;
  const create = (kind: string, apiVersion: string, name: string, spec: Record<string, unknown>) => cp.client.create({ apiVersion, kind, metadata: { name }, spec });
  const servers: Server[] = [];
  t.teardown(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
  /** An http endpoint on loopback: confirms its subscription, then answers notifications with `answers`. */
  const endpoint = async (topic: string, answers: number[]): Promise<Endpoint> => {
    const ep: Endpoint = { url: '', got: [], answers };
    const server = createServer((req: IncomingMessage, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        const type = String(req.headers['x-amz-sns-message-type']);
        const body = JSON.parse(text) as Record<string, unknown>;
        if (type === 'SubscriptionConfirmation') {
          res.end();
          void aws.sns.confirm(topic, String(body.Token));
          return;
        }
        ep.got.push({ at: clock.now(), type, body });
        const status = ep.answers.length > 1 ? ep.answers.shift()! : ep.answers[0]!;
        res.statusCode = status;
        res.end();
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    ep.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sns`;
    return ep;
  };
  /** Real-time wait (the endpoint's socket) for a condition. */
  const until = async (what: string, f: () => boolean): Promise<void> => {
    for (let i = 0; i < 400 && !f(); i++) await new Promise((r) => setTimeout(r, 25));
    if (!f()) throw new Error(`timed out waiting for ${what}`);
  };
  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  };
  return { clock, cp, aws, create, endpoint, until, settle };
}

const TOPIC = 'arn:aws:sns:us-east-1:000000000000:orders';
const QUEUE = (name: string) => `arn:aws:sqs:us-east-1:000000000000:${name}`;

t.test('an http endpoint that fails: 3 retries 20 s apart, then the dead-letter queue', async (t) => {
  const { clock, aws, create, endpoint, until, settle } = await setup(t);
  await create('Topic', 'sns.berth.dev/v1', 'orders', {});
  await create('Queue', 'sqs.berth.dev/v1', 'orders-dlq', {});
  const flaky = await endpoint('orders', [500, 503, 200]);
  const down = await endpoint('orders', [502]);
  const gone = await endpoint('orders', [404]);
  await create('Subscription', 'sns.berth.dev/v1', 'flaky', { topicArn: TOPIC, protocol: 'http', endpoint: flaky.url });
  await create('Subscription', 'sns.berth.dev/v1', 'down', { topicArn: TOPIC, protocol: 'http', endpoint: down.url, redrivePolicy: { deadLetterTargetArn: QUEUE('orders-dlq') } });
  await create('Subscription', 'sns.berth.dev/v1', 'gone', { topicArn: TOPIC, protocol: 'http', endpoint: gone.url });
  await until('three confirmed subscriptions', () => aws.sns.subscriptions('orders').every((s) => s.status?.pendingConfirmation === false));
  const t0 = clock.now();
  const { messageId } = await aws.sns.publish('orders', { message: 'order 1' });
  await until('first attempts', () => flaky.got.length === 1 && down.got.length === 1 && gone.got.length === 1);
  await settle();
  await clock.advance(19_999);
  await settle();
  t.equal(flaky.got.length, 1, 'no retry before 20 s');
  await clock.advance(1);
  await until('the first retry at 20 s', () => flaky.got.length === 2 && down.got.length === 2);
  await settle();
  await clock.advance(20_000);
  await until('the second retry at 40 s', () => flaky.got.length === 3 && down.got.length === 3);
  t.same(flaky.got.map((g) => (g.at - t0) / 1000), [0, 20, 40], 'answered 500, 503, then 200');
  t.same(flaky.got.map((g) => g.body.MessageId), [messageId, messageId, messageId], 'the same message each time');
  const arn = (name: string) => `${TOPIC}:${aws.sns.subscriptions('orders').find((s) => s.metadata.name === name)!.metadata.uid}`;
  t.equal(aws.sns.delivered.get(arn('flaky')), 1, 'delivered on the second retry');
  t.equal(gone.got.length, 1, 'a 404 answer is not retried');
  t.equal(aws.sns.delivered.get(arn('gone')), 1, 'SNS counts a 4xx answer as delivered');
  await settle();
  await clock.advance(20_000);
  await until('the third retry at 60 s', () => down.got.length === 4);
  await settle();
  await clock.advance(3_600_000);
  await settle();
  t.same(down.got.map((g) => (g.at - t0) / 1000), [0, 20, 40, 60], 'the initial attempt and 3 retries, no more');
  t.equal(aws.sns.failedAttempts.get(arn('down')), 4);
  t.equal(aws.sns.undeliverable.get(arn('down')), 1);
  await until('the dead-letter message', () => (aws.sns.undeliverable.get(arn('down')) ?? 0) === 1);
  const dlq = await aws.sqs.receive('orders-dlq', { max: 10 });
  t.equal(dlq.length, 1, 'the dead-letter queue has the message');
  t.match(JSON.parse(dlq[0]!.body), { Type: 'Notification', MessageId: messageId, Message: 'order 1', TopicArn: TOPIC });
  t.match(dlq[0]!.attrs, { ErrorCode: { StringValue: 'EndpointUnavailable' }, ErrorMessage: { StringValue: 'endpoint answered 502' } });
});

t.test("a subscription's own policy, unless the topic disables overrides", async (t) => {
  const { clock, create, endpoint, until, settle, aws } = await setup(t);
  const fast = { healthyRetryPolicy: { numRetries: 2, minDelayTarget: 5, maxDelayTarget: 5 } };
  await create('Topic', 'sns.berth.dev/v1', 'orders', {});
  const own = await endpoint('orders', [500]);
  await create('Subscription', 'sns.berth.dev/v1', 'own', { topicArn: TOPIC, protocol: 'http', endpoint: own.url, deliveryPolicy: fast });
  await until('confirmed', () => aws.sns.subscriptions('orders').every((s) => s.status?.pendingConfirmation === false));
  const t0 = clock.now();
  await aws.sns.publish('orders', { message: 'x' });
  await until('the first attempt', () => own.got.length === 1);
  for (let i = 1; i <= 3; i++) {
    await settle();
    await clock.advance(5_000);
    if (i <= 2) await until(`retry ${i}`, () => own.got.length === i + 1);
  }
  await settle();
  t.same(own.got.map((g) => (g.at - t0) / 1000), [0, 5, 10], '2 retries, 5 s apart');
  // The topic's http default, and its disableSubscriptionOverrides.
  const sub = aws.sns.subscriptions('orders')[0]!;
  const topic = (disable: boolean) => ({ apiVersion: 'sns.berth.dev/v1', kind: 'Topic', metadata: { name: 'orders' }, spec: { deliveryPolicy: { http: { defaultHealthyRetryPolicy: { numRetries: 1, minDelayTarget: 7, maxDelayTarget: 7 }, disableSubscriptionOverrides: disable } } } });
  t.match(policyFrom(sub, topic(false)), { numRetries: 2, minDelayTarget: 5 }, "the subscription's policy wins");
  t.match(policyFrom(sub, topic(true)), { numRetries: 1, minDelayTarget: 7 }, 'the topic disables subscription overrides');
  t.match(policyFrom({ ...sub, spec: { ...sub.spec, protocol: 'sqs' } }, topic(true)), AWS_MANAGED_RETRY, 'SQS: AWS-managed, not settable');
  await t.rejects(
    create('Subscription', 'sns.berth.dev/v1', 'bad', { topicArn: TOPIC, protocol: 'http', endpoint: own.url, deliveryPolicy: { healthyRetryPolicy: { numRetries: 100, minDelayTarget: 60, maxDelayTarget: 60 } } }),
    { code: 422, message: /spec\.deliveryPolicy\.healthyRetryPolicy.*total retry time of an HTTP\/S delivery policy may not exceed 3,600 s/ },
  );
});

t.test('a deleted queue is a client-side error: no retries, straight to the dead-letter queue', async (t) => {
  const { aws, cp, create, settle } = await setup(t);
  await create('Topic', 'sns.berth.dev/v1', 'orders', {});
  await create('Queue', 'sqs.berth.dev/v1', 'work', {});
  await create('Queue', 'sqs.berth.dev/v1', 'work-dlq', {});
  await create('Subscription', 'sns.berth.dev/v1', 'work', { topicArn: TOPIC, protocol: 'sqs', endpoint: QUEUE('work'), rawMessageDelivery: true, redrivePolicy: { deadLetterTargetArn: QUEUE('work-dlq') } });
  await settle();
  await aws.sns.publish('orders', { message: 'first' });
  t.same((await aws.sqs.receive('work', { max: 10 })).map((m) => m.body), ['first']);
  await cp.client.delete({ apiVersion: 'sqs.berth.dev/v1', kind: 'Queue' }, 'work');
  await settle();
  t.notOk(aws.sqs.has('work'), 'the queue is gone');
  await aws.sns.publish('orders', { message: 'second' });
  await settle();
  const arn = `${TOPIC}:${aws.sns.subscriptions('orders')[0]!.metadata.uid}`;
  t.equal(aws.sns.failedAttempts.get(arn), 1, 'one attempt, no retry (no time passed, none scheduled)');
  const dlq = await aws.sqs.receive('work-dlq', { max: 10 });
  t.same(dlq.map((m) => m.body), ['second'], 'raw delivery: the message itself in the dead-letter queue');
  t.match(dlq[0]!.attrs, { ErrorCode: { StringValue: 'QueueDoesNotExist' } });
});
