/**
 * The same `aws` CLI script against moto (`moto_server`, the peer berth compares with) and
 * berth gives the same answers where moto is right: queue URLs and ARNs (up to the account id
 * and address), message digests, bodies and attributes, queue attributes, and error codes; an
 * SNS topic's raw SQS subscription with a filter policy, its listing, and what it delivers.
 *
 * Where they differ on purpose: berth's account is 000000000000 (moto's 123456789012); moto
 * writes CreatedTimestamp as a float, AWS (and berth) as whole seconds; and berth also retries
 * deliveries, delivers to http(s) endpoints and Lambda, and runs Lambda functions, which moto does
 * not (the other aws-*.test files check those).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import t from 'tap';
import { startServer, waitFor, type Result } from './harness.js';
import { awsAsync, errorCode } from './awsutil.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Account ids, addresses and ids made comparable. */
function normalize(s: string, url: string): string {
  return s
    .split(url)
    .join('http://HOST')
    .replace(/\b(000000000000|123456789012)\b/g, 'ACCOUNT')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID');
}

/** The account id in a queue URL (`…/<account>/<queue>`). */
const accountOf = (queueUrl: string): string => queueUrl.split('/').at(-2)!;

/** The comparable part of one step's answer: normalized JSON, or the error code. */
function answer(r: Result, url: string, pick?: (j: Record<string, unknown>) => unknown): string {
  if (r.code !== 0) return `error ${errorCode(r) ?? r.stderr.trim()}`;
  const j = r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : {};
  return normalize(JSON.stringify(pick ? pick(j) : j), url);
}

const ATTRS = ['VisibilityTimeout', 'DelaySeconds', 'MessageRetentionPeriod', 'MaximumMessageSize', 'ReceiveMessageWaitTimeSeconds', 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'QueueArn'];

/** The script: each step's arguments (given the queue URL) and what of the answer to compare. */
const STEPS: { name: string; args: (q: string) => string[]; pick?: (j: Record<string, unknown>) => unknown }[] = [
  { name: 'create-queue', args: () => ['sqs', 'create-queue', '--queue-name', 'cmp', '--attributes', 'VisibilityTimeout=40'] },
  { name: 'get-queue-url', args: () => ['sqs', 'get-queue-url', '--queue-name', 'cmp'] },
  {
    name: 'send-message',
    args: (q) => ['sqs', 'send-message', '--queue-url', q, '--message-body', 'hello moto', '--message-attributes', JSON.stringify({ color: { DataType: 'String', StringValue: 'blue' }, size: { DataType: 'Number', StringValue: '5' } })],
    pick: (j) => ({ body: j.MD5OfMessageBody, attrs: j.MD5OfMessageAttributes, id: typeof j.MessageId }),
  },
  {
    name: 'receive-message',
    args: (q) => ['sqs', 'receive-message', '--queue-url', q, '--message-attribute-names', 'All', '--attribute-names', 'ApproximateReceiveCount'],
    pick: (j) => (j.Messages as Record<string, unknown>[]).map((m) => ({ Body: m.Body, MD5OfBody: m.MD5OfBody, MD5OfMessageAttributes: m.MD5OfMessageAttributes, MessageAttributes: m.MessageAttributes, Attributes: m.Attributes })),
  },
  { name: 'get-queue-attributes', args: (q) => ['sqs', 'get-queue-attributes', '--queue-url', q, '--attribute-names', ...ATTRS] },
  { name: 'get-queue-url of a missing queue', args: () => ['sqs', 'get-queue-url', '--queue-name', 'missing'] },
  { name: 'create-queue with other attributes', args: () => ['sqs', 'create-queue', '--queue-name', 'cmp', '--attributes', 'VisibilityTimeout=5'] },
  { name: 'sns create-topic', args: () => ['sns', 'create-topic', '--name', 'cmp-topic'] },
  // SNS to SQS: a raw subscription with a filter policy; only the matching publish arrives.
  { name: 'create-queue for the subscription', args: () => ['sqs', 'create-queue', '--queue-name', 'cmp-sub'] },
  { name: 'sns subscribe sqs with a filter policy', args: (q) => ['sns', 'subscribe', '--topic-arn', `arn:aws:sns:us-east-1:${accountOf(q)}:cmp-topic`, '--protocol', 'sqs', '--notification-endpoint', `arn:aws:sqs:us-east-1:${accountOf(q)}:cmp-sub`, '--attributes', JSON.stringify({ RawMessageDelivery: 'true', FilterPolicy: JSON.stringify({ color: ['blue'] }) })] },
  { name: 'sns list-subscriptions-by-topic', args: (q) => ['sns', 'list-subscriptions-by-topic', '--topic-arn', `arn:aws:sns:us-east-1:${accountOf(q)}:cmp-topic`] },
  { name: 'sns publish, matching', args: (q) => ['sns', 'publish', '--topic-arn', `arn:aws:sns:us-east-1:${accountOf(q)}:cmp-topic`, '--message', 'blue one', '--message-attributes', JSON.stringify({ color: { DataType: 'String', StringValue: 'blue' } })] },
  { name: 'sns publish, filtered out', args: (q) => ['sns', 'publish', '--topic-arn', `arn:aws:sns:us-east-1:${accountOf(q)}:cmp-topic`, '--message', 'red one', '--message-attributes', JSON.stringify({ color: { DataType: 'String', StringValue: 'red' } })] },
  {
    name: 'receive what the subscription delivered',
    args: (q) => ['sqs', 'receive-message', '--queue-url', q.replace(/cmp$/, 'cmp-sub'), '--max-number-of-messages', '10', '--wait-time-seconds', '2', '--message-attribute-names', 'All'],
    pick: (j) => ((j.Messages ?? []) as Record<string, unknown>[]).map((m) => ({ Body: m.Body, MessageAttributes: m.MessageAttributes })),
  },
  { name: 'sns subscribe to a missing topic', args: (q) => ['sns', 'subscribe', '--topic-arn', `arn:aws:sns:us-east-1:${accountOf(q)}:missing`, '--protocol', 'sqs', '--notification-endpoint', `arn:aws:sqs:us-east-1:${accountOf(q)}:cmp-sub`] },
  { name: 'lambda list-functions', args: () => ['lambda', 'list-functions'] },
  { name: 'sns publish to a missing topic', args: () => ['sns', 'publish', '--topic-arn', 'arn:aws:sns:us-east-1:123456789012:missing', '--message', 'x'] },
  { name: 'lambda get-function of a missing function', args: () => ['lambda', 'get-function', '--function-name', 'missing'] },
  // Error codes as AWS returns them (botocore reports the query-protocol code).
  { name: 'receive-message of 11', args: (q) => ['sqs', 'receive-message', '--queue-url', q, '--max-number-of-messages', '11'] },
  { name: 'delete-message with a bad receipt handle', args: (q) => ['sqs', 'delete-message', '--queue-url', q, '--receipt-handle', 'garbage'] },
  { name: 'send-message delayed 901 s', args: (q) => ['sqs', 'send-message', '--queue-url', q, '--message-body', 'x', '--delay-seconds', '901'] },
  { name: 'send-message-batch with repeated ids', args: (q) => ['sqs', 'send-message-batch', '--queue-url', q, '--entries', 'Id=a,MessageBody=x', 'Id=a,MessageBody=y'] },
  { name: 'delete-message-batch with a bad handle', args: (q) => ['sqs', 'delete-message-batch', '--queue-url', q, '--entries', 'Id=a,ReceiptHandle=garbage'], pick: (j) => (j.Failed as { Id: string; Code: string }[]).map((f) => [f.Id, f.Code]) },
  { name: 'get-queue-attributes of an unknown attribute', args: (q) => ['sqs', 'get-queue-attributes', '--queue-url', q, '--attribute-names', 'Bogus'] },
  { name: 'delete-queue of a missing queue', args: (q) => ['sqs', 'delete-queue', '--queue-url', q.replace(/cmp$/, 'missing')] },
];

/**
 * Where moto is wrong and berth answers as AWS documents: a second PurgeQueue within 60 s
 * (PurgeQueue API reference), a VisibilityTimeout over 12 hours (SetQueueAttributes), a `.fifo`
 * name without FifoQueue=true (CreateQueue: the queue would be standard, whose names have no dot).
 */
const BERTH_ONLY: { name: string; args: (q: string) => string[]; code: string | undefined }[] = [
  { name: 'purge-queue', args: (q) => ['sqs', 'purge-queue', '--queue-url', q], code: undefined },
  { name: 'purge-queue again within 60 s', args: (q) => ['sqs', 'purge-queue', '--queue-url', q], code: 'AWS.SimpleQueueService.PurgeQueueInProgress' },
  { name: 'set-queue-attributes VisibilityTimeout=50000', args: (q) => ['sqs', 'set-queue-attributes', '--queue-url', q, '--attributes', 'VisibilityTimeout=50000'], code: 'InvalidAttributeValue' },
  { name: 'create-queue x.fifo without FifoQueue', args: () => ['sqs', 'create-queue', '--queue-name', 'x.fifo'], code: 'InvalidParameterValue' },
];

// Each aws CLI call starts a Python interpreter (about a second, far more on a loaded machine).
t.setTimeout(480_000);

t.test('the same aws CLI script against moto and berth', async (t) => {
  const berth = await startServer({ timeScale: 1 });
  t.teardown(() => berth.stop());
  const port = await freePort();
  const moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  t.teardown(() => void moto.kill('SIGTERM'));
  const motoUrl = `http://127.0.0.1:${port}`;
  await waitFor(() => fetch(`${motoUrl}/moto-api/`).then((r) => r.status < 500).catch(() => false), 'moto_server to start', 60_000);

  const urls = [motoUrl, berth.url];
  const queueUrl = [`${motoUrl}/123456789012/cmp`, `${berth.url}/000000000000/cmp`];
  for (const step of STEPS) {
    const [m, b] = await Promise.all(urls.map((u, i) => awsAsync(u, step.args(queueUrl[i]!))));
    const want = answer(m!, motoUrl, step.pick);
    const got = answer(b!, berth.url, step.pick);
    t.equal(got, want, `${step.name}: ${want}`);
  }
  // The two purges in turn; the refused changes beside them (they change nothing).
  const [purges, others] = [BERTH_ONLY.slice(0, 2), BERTH_ONLY.slice(2)];
  const answers = await Promise.all([
    (async () => {
      const out: Result[] = [];
      for (const step of purges) out.push(await awsAsync(berth.url, step.args(queueUrl[1]!)));
      return out;
    })(),
    Promise.all(others.map((step) => awsAsync(berth.url, step.args(queueUrl[1]!)))),
  ]);
  [...purges, ...others].forEach((step, i) => {
    const r = answers.flat()[i]!;
    t.equal(r.code === 0 ? undefined : errorCode(r), step.code, `berth, where moto differs from AWS: ${step.name} → ${step.code ?? 'success'}`);
  });
});
