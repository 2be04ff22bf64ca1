/**
 * Lambda's asynchronous invocation through boto3 against the built `berth server`: an event
 * whose function throws is retried twice (one, then two minutes later) and then sent to its
 * on-failure destination, under one request id.
 */
import t from 'tap';
import { startServer } from './harness.js';
import { BOTO, lastJson, python } from './awsutil.js';

// Each aws CLI call starts a Python interpreter (about a second, far more on a loaded machine).
t.setTimeout(480_000);

t.test('an asynchronous invocation that throws is retried twice, then sent to its destination', async (t) => {
  // One then two minutes between attempts: at time scale 60, three seconds of real time.
  const s = await startServer({ timeScale: 60 });
  t.teardown(() => s.stop());
  const r = await python(
    `${BOTO}
lam.create_function(FunctionName='flaky', Runtime='nodejs20.x', Role='arn:aws:iam::000000000000:role/r', Handler='index.handler', Code={'ZipFile': zipped('exports.handler = async (e) => { console.log("attempt for", e.order); throw new Error("payment service down"); };')}, Timeout=600)
q = sqs.create_queue(QueueName='failed-orders')['QueueUrl']
lam.put_function_event_invoke_config(FunctionName='flaky', MaximumRetryAttempts=2, DestinationConfig={'OnFailure': {'Destination': 'arn:aws:sqs:us-east-1:000000000000:failed-orders'}})
res = lam.invoke(FunctionName='flaky', InvocationType='Event', Payload=json.dumps({'order': 42}).encode())
assert res['StatusCode'] == 202, res
deadline = time.time() + 90
msgs = []
while time.time() < deadline and not msgs:
    msgs = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=20).get('Messages', [])
print(json.dumps(json.loads(msgs[0]['Body']) if msgs else None))
`,
    s.url,
  );
  t.equal(r.code, 0, r.stderr);
  const record = lastJson<{ requestContext: { condition: string; approximateInvokeCount: number; requestId: string }; requestPayload: unknown; responseContext: { functionError: string }; responsePayload: { errorMessage: string } }>(r);
  t.equal(record.requestContext.condition, 'RetriesExhausted');
  t.equal(record.requestContext.approximateInvokeCount, 3, 'the first try and two retries');
  t.same(record.requestPayload, { order: 42 });
  t.equal(record.responseContext.functionError, 'Unhandled');
  t.equal(record.responsePayload.errorMessage, 'payment service down');
  const logs = s.berth(['logs', 'function/flaky']).stdout;
  t.equal(logs.split('\n').filter((l) => l === `START RequestId: ${record.requestContext.requestId} Version: $LATEST`).length, 3, 'three attempts under one request id');
});
