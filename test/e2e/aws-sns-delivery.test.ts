/**
 * SNS delivery beyond SQS, through boto3 and the `aws` CLI against the built `berth server`:
 * http subscriptions confirm by the handshake (a POST with a SubscribeURL the endpoint visits,
 * or `aws sns confirm-subscription` with its token), notifications are POSTed with SNS's headers
 * and envelope, a failing endpoint is retried by the default http policy (3 retries, 20 s
 * apart) and then its message goes to the subscription's dead-letter queue; a lambda
 * subscription runs the function with the `aws:sns` event.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import t from 'tap';
import { startServer, waitFor } from './harness.js';
import { aws, BOTO, lastJson, python } from './awsutil.js';

// Each aws CLI call starts a Python interpreter (about a second, far more on a loaded machine).
t.setTimeout(480_000);

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** Real time of arrival, ms. */
  at: number;
}

t.test('SNS to http(s) endpoints and Lambda: confirmation, delivery, retries, dead-letter queue', async (t) => {
  // Time scale 20: the default http retry policy's 20 s between attempts is one real second.
  const s = await startServer({ timeScale: 20 });
  t.teardown(() => s.stop());
  const hits: Hit[] = [];
  let flakyFailures = 1;
  const http = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      hits.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      const notification = body.Type === 'Notification';
      let status = 200;
      if (notification && req.url === '/down') status = 500;
      if (notification && req.url === '/flaky' && flakyFailures-- > 0) status = 503;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  t.teardown(() => void http.close());
  const port = (http.address() as { port: number }).port;
  const endpoint = (p: string) => `http://127.0.0.1:${port}${p}`;
  const topic = 'arn:aws:sns:us-east-1:000000000000:alerts';

  const setup = await python(
    `${BOTO}
topic = sns.create_topic(Name='alerts')['TopicArn']
sqs.create_queue(QueueName='alerts-dlq')
lam.create_function(FunctionName='on-alert', Runtime='nodejs20.x', Role='arn:aws:iam::000000000000:role/r', Handler='index.handler', Code={'ZipFile': zipped('exports.handler = async (e) => { const r = e.Records[0]; console.log(r.EventSource, r.Sns.Message, r.Sns.MessageAttributes.level.Value); };')})
subs = {}
for p in ['/ok', '/flaky', '/down']:
    attrs = {'RedrivePolicy': json.dumps({'deadLetterTargetArn': 'arn:aws:sqs:us-east-1:000000000000:alerts-dlq'})} if p == '/down' else {}
    subs[p] = sns.subscribe(TopicArn=topic, Protocol='http', Endpoint='http://127.0.0.1:${port}' + p, Attributes=attrs)['SubscriptionArn']
subs['lambda'] = sns.subscribe(TopicArn=topic, Protocol='lambda', Endpoint='arn:aws:lambda:us-east-1:000000000000:function:on-alert')['SubscriptionArn']
print(json.dumps(subs))
`,
    s.url,
  );
  t.equal(setup.code, 0, setup.stderr);
  const subs = lastJson<Record<string, string>>(setup);
  t.equal(subs['/ok'], 'pending confirmation', 'an http subscription waits for its endpoint to confirm');
  t.match(subs.lambda, new RegExp(`^${topic}:[0-9a-f-]{36}$`));

  // The handshake: each endpoint gets a SubscriptionConfirmation with a token and a SubscribeURL.
  const confirmations = await waitFor(() => {
    const c = hits.filter((h) => h.body.Type === 'SubscriptionConfirmation');
    return c.length === 3 ? c : undefined;
  }, 'three SubscriptionConfirmation POSTs', 60_000);
  const byPath = (p: string) => confirmations.find((h) => h.path === p)!;
  t.equal(byPath('/ok').headers['x-amz-sns-message-type'], 'SubscriptionConfirmation');
  t.match(byPath('/ok').body, { TopicArn: topic, Token: /^[0-9a-f]{64}$/, SubscribeURL: new RegExp(`^${s.url}/\\?Action=ConfirmSubscription&`) });
  // Two endpoints confirm by visiting the SubscribeURL, as a web app does …
  for (const p of ['/ok', '/down']) {
    const r = await fetch(byPath(p).body.SubscribeURL as string);
    t.equal(r.status, 200, `${p}: the SubscribeURL answers`);
    t.match(await r.text(), /<ConfirmSubscriptionResponse[^>]*><ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:us-east-1:000000000000:alerts:/);
  }
  // … one with the CLI and its token.
  const confirmed = aws(s.url, ['sns', 'confirm-subscription', '--topic-arn', topic, '--token', byPath('/flaky').body.Token as string]);
  t.match(confirmed.json.SubscriptionArn, new RegExp(`^${topic}:`), confirmed.stderr);
  const bad = aws(s.url, ['sns', 'confirm-subscription', '--topic-arn', topic, '--token', 'f'.repeat(64)]);
  t.match(bad.stderr, /\(InvalidParameter\)/, 'an unknown token is refused');

  const pub = aws(s.url, ['sns', 'publish', '--topic-arn', topic, '--subject', 'disk', '--message', 'disk full on web-1', '--message-attributes', JSON.stringify({ level: { DataType: 'String', StringValue: 'critical' } })]);
  t.equal(pub.code, 0, pub.stderr);
  const id = pub.json.MessageId as string;
  const notes = (p: string) => hits.filter((h) => h.path === p && h.body.Type === 'Notification');
  await waitFor(() => notes('/ok').length >= 1 && notes('/flaky').length >= 2 && notes('/down').length >= 4, 'deliveries and retries', 90_000);
  const ok = notes('/ok')[0]!;
  t.match(ok.headers, { 'x-amz-sns-message-type': 'Notification', 'x-amz-sns-message-id': id, 'x-amz-sns-topic-arn': topic, 'user-agent': 'Amazon Simple Notification Service Agent' });
  t.match(ok.body, { Type: 'Notification', MessageId: id, TopicArn: topic, Subject: 'disk', Message: 'disk full on web-1', MessageAttributes: { level: { Type: 'String', Value: 'critical' } } });
  t.equal(notes('/ok').length, 1, 'a healthy endpoint gets it once');
  t.equal(notes('/flaky').length, 2, 'a failed delivery is retried until the endpoint takes it');
  const down = notes('/down');
  t.equal(down.length, 4, 'the first attempt and the default 3 retries');
  const gaps = down.slice(1).map((h, i) => h.at - down[i]!.at);
  t.ok(gaps.every((g) => g >= 700 && g < 6000), `retries ~20 s of cluster time (1 s real) apart: ${gaps.join(', ')} ms`);

  // Retries spent: the message goes to the subscription's dead-letter queue, and the function ran.
  const after = await python(
    `${BOTO}
q = os.environ['BERTH_URL'] + '/000000000000/alerts-dlq'
msgs = []
deadline = time.time() + 30
while not msgs and time.time() < deadline:
    msgs = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=1, MessageAttributeNames=['All']).get('Messages', [])
down = [x for x in sns.list_subscriptions_by_topic(TopicArn='${topic}')['Subscriptions'] if x['Endpoint'].endswith('/down')][0]
attrs = sns.get_subscription_attributes(SubscriptionArn=down['SubscriptionArn'])['Attributes']
print(json.dumps({'dlq': msgs, 'pending': attrs['PendingConfirmation']}))
`,
    s.url,
  );
  t.equal(after.code, 0, after.stderr);
  const o = lastJson<{ dlq: { Body: string; MessageAttributes: Record<string, { StringValue: string }> }[]; pending: string }>(after);
  t.equal(o.pending, 'false', 'confirmed');
  t.equal(o.dlq.length, 1, 'the undeliverable message is in the dead-letter queue');
  t.match(JSON.parse(o.dlq[0]!.Body), { Type: 'Notification', MessageId: id, Message: 'disk full on web-1' });
  t.equal(o.dlq[0]!.MessageAttributes.ErrorCode?.StringValue, 'EndpointUnavailable');
  const logs = await waitFor(() => {
    const l = s.berth(['logs', 'function/on-alert']).stdout;
    return /\tINFO\taws:sns disk full on web-1 critical/.test(l) ? l : undefined;
  }, 'the lambda subscriber to run', 60_000);
  t.match(logs, /^REPORT RequestId: /m, 'the lambda subscriber ran with the aws:sns event');
});
