/**
 * SQS through the real `aws` CLI, boto3 and kubectl against the built `berth server`: a Queue
 * and a Function applied as manifests are what the CLI sees; long polling returns as soon as a
 * message arrives; a delayed message waits out its delay.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startServer } from './harness.js';
import { ACCOUNT, aws, BOTO, errorCode, lastJson, python } from './awsutil.js';

// Each aws CLI call starts a Python interpreter (about a second, far more on a loaded machine).
t.setTimeout(480_000);

t.test('SQS queues from manifests, long polling and delays', async (t) => {
  const s = await startServer({ timeScale: 1 });
  t.teardown(() => s.stop());
  const url = s.url;
  const qurl = (name: string) => `${url}/${ACCOUNT}/${name}`;

  t.test('a Queue and a Function applied as manifests are what the aws CLI sees', async (t) => {
    const manifests = `apiVersion: sqs.berth.dev/v1
kind: Queue
metadata: {name: from-manifest}
spec: {visibilityTimeout: 45, delaySeconds: 2}
---
apiVersion: lambda.berth.dev/v1
kind: Function
metadata: {name: greeter}
spec:
  handler: index.handler
  memorySize: 256
  code:
    inline: |
      exports.handler = async (event) => ({ hello: event.name });
`;
    const applied = s.kubectl(['apply', '-f', '-'], { input: manifests });
    t.equal(applied.code, 0, applied.stderr);
    const attrs = aws(url, ['sqs', 'get-queue-attributes', '--queue-url', qurl('from-manifest'), '--attribute-names', 'VisibilityTimeout', 'DelaySeconds']);
    t.same(attrs.json, { Attributes: { VisibilityTimeout: '45', DelaySeconds: '2' } }, attrs.stderr);
    const dir = mkdtempSync(join(tmpdir(), 'berth-greeter-'));
    const inv = aws(url, ['lambda', 'invoke', '--function-name', 'greeter', '--payload', '{"name": "berth"}', join(dir, 'out.json')]);
    t.equal(inv.json.StatusCode, 200, inv.stderr);
    t.same(JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')), { hello: 'berth' });
  });

  t.test('long polling returns as soon as a message arrives; a delayed message waits out its delay', async (t) => {
    const r = await python(
      `${BOTO}
import threading
q = sqs.create_queue(QueueName='poll')['QueueUrl']
threading.Timer(1.0, lambda: boto3.client('sqs', **kw).send_message(QueueUrl=q, MessageBody='late')).start()
t0 = time.time()
got = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=10).get('Messages', [])
waited = time.time() - t0
sqs.delete_message(QueueUrl=q, ReceiptHandle=got[0]['ReceiptHandle'])
sqs.send_message(QueueUrl=q, MessageBody='delayed', DelaySeconds=2)
early = sqs.receive_message(QueueUrl=q).get('Messages', [])
counts = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'])['Attributes']
t1 = time.time()
later = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=5).get('Messages', [])
print(json.dumps({'got': [m['Body'] for m in got], 'waited': waited, 'early': early, 'counts': counts, 'later': [m['Body'] for m in later], 'delay': time.time() - t1}))
`,
      url,
    );
    t.equal(r.code, 0, r.stderr);
    const o = lastJson<{ got: string[]; waited: number; early: unknown[]; counts: Record<string, string>; later: string[]; delay: number }>(r);
    t.same(o.got, ['late'], 'the long poll got the message sent while it waited');
    t.ok(o.waited >= 0.9 && o.waited < 9, `it returned when the message came, not at the wait time (${o.waited.toFixed(2)} s)`);
    t.same(o.early, [], 'a delayed message is not received before its delay');
    t.same(o.counts, { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesDelayed: '1' });
    t.same(o.later, ['delayed'], '… and is after it');
    t.ok(o.delay < 4.5, `a long poll returns it when the delay ends (${o.delay.toFixed(2)} s)`);
    t.equal(errorCode(aws(url, ['sqs', 'receive-message', '--queue-url', qurl('poll'), '--wait-time-seconds', '21'])), 'InvalidParameterValue', 'WaitTimeSeconds is at most 20');
  });

});
