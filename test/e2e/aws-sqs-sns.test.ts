/**
 * SQS and SNS through the real `aws` CLI and boto3 against the built `berth server`: visibility
 * timeout and receive count, the dead-letter queue after maxReceiveCount, FIFO order and
 * deduplication, and an SNS filter policy reaching only matching SQS subscribers.
 */
import t from 'tap';
import { startServer } from './harness.js';
import { ACCOUNT, aws, BOTO, errorCode, lastJson, python } from './awsutil.js';

// Each aws CLI call starts a Python interpreter (about a second, far more on a loaded machine).
t.setTimeout(480_000);

t.test('SQS and SNS from the aws CLI and boto3', async (t) => {
  const s = await startServer({ timeScale: 1 });
  t.teardown(() => s.stop());
  const url = s.url;
  const qurl = (name: string) => `${url}/${ACCOUNT}/${name}`;

  t.test('visibility timeout hides a received message until it expires; it returns with its receive count up', async (t) => {
    t.equal(aws(url, ['sqs', 'create-queue', '--queue-name', 'vis', '--attributes', 'VisibilityTimeout=5']).json.QueueUrl, qurl('vis'), 'a queue URL on the server itself');
    t.equal(aws(url, ['sqs', 'send-message', '--queue-url', qurl('vis'), '--message-body', 'hello']).code, 0);
    const r = await python(
      `${BOTO}
q = os.environ['BERTH_URL'] + '/000000000000/vis'
first = sqs.receive_message(QueueUrl=q, AttributeNames=['All'])['Messages'][0]
t0 = time.time()
hidden = sqs.receive_message(QueueUrl=q).get('Messages', [])
counts = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'])['Attributes']
early = time.time() - t0
time.sleep(max(0, 5.3 - (time.time() - t0)))
again = sqs.receive_message(QueueUrl=q, AttributeNames=['ApproximateReceiveCount'])['Messages'][0]
print(json.dumps({'first': first, 'hidden': hidden, 'counts': counts, 'early': early, 'again': again}))
`,
      url,
    );
    t.equal(r.code, 0, r.stderr);
    const o = lastJson<{ first: { Body: string; MessageId: string; Attributes: Record<string, string> }; hidden: unknown[]; counts: Record<string, string>; early: number; again: { MessageId: string; Attributes: Record<string, string> } }>(r);
    t.equal(o.first.Body, 'hello');
    t.equal(o.first.Attributes.ApproximateReceiveCount, '1');
    t.ok(o.early < 5, `the checks ran within the visibility timeout (${o.early.toFixed(2)} s)`);
    t.same(o.hidden, [], 'hidden while in flight');
    t.same(o.counts, { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '1' });
    t.equal(o.again.MessageId, o.first.MessageId, 'the same message returns after 5 s');
    t.equal(o.again.Attributes.ApproximateReceiveCount, '2');
    t.match(s.kubectl(['get', 'queues']).stdout, /^vis\s+Standard\s+\d+\s+\d+\s+0\s+5s\s+/m, 'kubectl lists the queue the CLI made');
    t.equal(errorCode(aws(url, ['sqs', 'get-queue-url', '--queue-name', 'nope'])), 'AWS.SimpleQueueService.NonExistentQueue');
  });

  t.test('after maxReceiveCount receives a message moves to the dead-letter queue on the next receive; redrive brings it back', async (t) => {
    const r = await python(
      `${BOTO}
dlq = sqs.create_queue(QueueName='dead')['QueueUrl']
work = sqs.create_queue(QueueName='work', Attributes={'RedrivePolicy': json.dumps({'deadLetterTargetArn': 'arn:aws:sqs:us-east-1:000000000000:dead', 'maxReceiveCount': 2})})['QueueUrl']
sent = sqs.send_message(QueueUrl=work, MessageBody='poison')['MessageId']
counts = [sqs.receive_message(QueueUrl=work, VisibilityTimeout=0, AttributeNames=['ApproximateReceiveCount'])['Messages'][0]['Attributes']['ApproximateReceiveCount'] for _ in range(2)]
third = sqs.receive_message(QueueUrl=work).get('Messages', [])
dead = sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0, AttributeNames=['All'])['Messages'][0]
sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq)['queueUrls']
task = sqs.start_message_move_task(SourceArn='arn:aws:sqs:us-east-1:000000000000:dead')['TaskHandle']
time.sleep(0.5)
tasks = sqs.list_message_move_tasks(SourceArn='arn:aws:sqs:us-east-1:000000000000:dead')['Results']
back = sqs.receive_message(QueueUrl=work, AttributeNames=['ApproximateReceiveCount'])['Messages'][0]
print(json.dumps({'sent': sent, 'counts': counts, 'third': third, 'dead': dead, 'sources': sources, 'tasks': tasks, 'back': back}))
`,
      url,
    );
    t.equal(r.code, 0, r.stderr);
    const o = lastJson<{ sent: string; counts: string[]; third: unknown[]; dead: { MessageId: string; Body: string; Attributes: Record<string, string> }; sources: string[]; tasks: { Status: string; ApproximateNumberOfMessagesMoved: number }[]; back: { MessageId: string; Attributes: Record<string, string> } }>(r);
    t.same(o.counts, ['1', '2']);
    t.same(o.third, [], 'the third receive moves it instead');
    t.equal(o.dead.MessageId, o.sent);
    t.equal(o.dead.Body, 'poison');
    t.equal(o.dead.Attributes.DeadLetterQueueSourceArn, `arn:aws:sqs:us-east-1:${ACCOUNT}:work`);
    t.same(o.sources, [qurl('work')]);
    t.match(o.tasks[0], { Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 1 });
    t.equal(o.back.MessageId, o.sent, 'redrive sent it back to its source');
    t.equal(o.back.Attributes.ApproximateReceiveCount, '1');
  });

  t.test('FIFO keeps group order and drops duplicates within 5 minutes', async (t) => {
    t.equal(aws(url, ['sqs', 'create-queue', '--queue-name', 'orders.fifo', '--attributes', 'FifoQueue=true,VisibilityTimeout=60']).code, 0);
    const r = await python(
      `${BOTO}
q = os.environ['BERTH_URL'] + '/000000000000/orders.fifo'
e = lambda i, g, d, b=None: {'Id': i, 'MessageBody': b or i, 'MessageGroupId': g, 'MessageDeduplicationId': d}
sent = sqs.send_message_batch(QueueUrl=q, Entries=[e('a1', 'a', 'a1'), e('b1', 'b', 'b1'), e('a2', 'a', 'a2'), e('a1dup', 'a', 'a1', 'a1 again'), e('a3', 'a', 'a3')])['Successful']
got = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, AttributeNames=['All'])['Messages']
locked = sqs.receive_message(QueueUrl=q).get('Messages', [])
dup = sqs.send_message(QueueUrl=q, MessageBody='b1', MessageGroupId='b', MessageDeduplicationId='b1')['MessageId']
counts = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'])['Attributes']
print(json.dumps({'sent': {x['Id']: x['MessageId'] for x in sent}, 'got': [m['Body'] for m in got], 'groups': [m['Attributes']['MessageGroupId'] for m in got], 'locked': locked, 'dup': dup, 'counts': counts}))
`,
      url,
    );
    t.equal(r.code, 0, r.stderr);
    const o = lastJson<{ sent: Record<string, string>; got: string[]; locked: unknown[]; dup: string; counts: Record<string, string> }>(r);
    t.equal(Object.keys(o.sent).length, 5, 'a duplicate send is accepted');
    t.equal(o.sent.a1dup, o.sent.a1, '… as the message it duplicates');
    t.same(o.got.filter((b) => b.startsWith('a')), ['a1', 'a2', 'a3'], 'group a in order');
    t.equal(o.got.length, 4, 'the duplicate was not enqueued');
    t.same(o.locked, [], 'groups are locked while their messages are in flight');
    t.equal(o.dup, o.sent.b1, 'a duplicate of a delivered message, within 5 minutes');
    t.same(o.counts, { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '4' });
    t.equal(errorCode(aws(url, ['sqs', 'send-message', '--queue-url', qurl('orders.fifo'), '--message-body', 'x'])), 'MissingParameter', 'a FIFO send needs MessageGroupId');
  });

  t.test('an SNS publish with a filter policy reaches only matching SQS subscribers', async (t) => {
    const topic = aws(url, ['sns', 'create-topic', '--name', 'orders']).json.TopicArn as string;
    t.equal(topic, `arn:aws:sns:us-east-1:${ACCOUNT}:orders`);
    const r = await python(
      `${BOTO}
topic = 'arn:aws:sns:us-east-1:000000000000:orders'
urls = {q: sqs.create_queue(QueueName=q)['QueueUrl'] for q in ['eu-orders', 'big-orders', 'all-orders']}
def sub(q, attrs):
    return sns.subscribe(TopicArn=topic, Protocol='sqs', Endpoint='arn:aws:sqs:us-east-1:000000000000:' + q, Attributes=attrs, ReturnSubscriptionArn=True)['SubscriptionArn']
arns = [sub('eu-orders', {'FilterPolicy': json.dumps({'region': [{'prefix': 'eu-'}]}), 'RawMessageDelivery': 'true'}),
        sub('big-orders', {'FilterPolicy': json.dumps({'total': [{'numeric': ['>=', 100]}]})}),
        sub('all-orders', {})]
def pub(msg, region, total):
    sns.publish(TopicArn=topic, Message=msg, MessageAttributes={'region': {'DataType': 'String', 'StringValue': region}, 'total': {'DataType': 'Number', 'StringValue': str(total)}})
pub('small-eu', 'eu-west-1', 5)
print('published', flush=True)
`,
      url,
    );
    t.equal(r.code, 0, r.stderr);
    // The second publish through the CLI itself.
    const pub = aws(url, ['sns', 'publish', '--topic-arn', topic, '--message', 'big-us', '--message-attributes', JSON.stringify({ region: { DataType: 'String', StringValue: 'us-east-1' }, total: { DataType: 'Number', StringValue: '500' } })]);
    t.match(pub.json.MessageId, /^[0-9a-f-]{36}$/);
    const got = await python(
      `${BOTO}
out = {}
for q in ['eu-orders', 'big-orders', 'all-orders']:
    u = os.environ['BERTH_URL'] + '/000000000000/' + q
    out[q] = sqs.receive_message(QueueUrl=u, MaxNumberOfMessages=10, MessageAttributeNames=['All']).get('Messages', [])
print(json.dumps(out))
`,
      url,
    );
    const o = lastJson<Record<string, { Body: string; MessageAttributes?: Record<string, { StringValue: string }> }[]>>(got);
    t.same(o['eu-orders']!.map((m) => m.Body), ['small-eu'], 'raw delivery: the message itself');
    t.equal(o['eu-orders']![0]!.MessageAttributes?.region?.StringValue, 'eu-west-1', '… with its attributes');
    t.same(o['big-orders']!.map((m) => (JSON.parse(m.Body) as { Message: string }).Message), ['big-us'], 'the JSON envelope otherwise');
    t.match(JSON.parse(o['big-orders']![0]!.Body), { Type: 'Notification', TopicArn: topic, MessageAttributes: { total: { Type: 'Number', Value: '500' } } });
    t.equal(o['all-orders']!.length, 2, 'no filter policy: everything');
    t.equal(errorCode(aws(url, ['sns', 'publish', '--topic-arn', `arn:aws:sns:us-east-1:${ACCOUNT}:nope`, '--message', 'x'])), 'NotFound');
    t.match(s.kubectl(['get', 'subscriptions.sns.berth.dev']).stdout, /orders\s+sqs\s+arn:aws:sqs:us-east-1:000000000000:eu-orders\s+Confirmed/, 'kubectl lists the subscriptions');
  });
});
