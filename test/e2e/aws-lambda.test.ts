/**
 * Lambda through the real `aws` CLI and boto3 against the built `berth server`: invoke with its
 * payload, function error and log tail; an SQS-triggered function whose failing item returns
 * to the queue as a partial batch failure; and `berth logs function/NAME`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { run, startServer } from './harness.js';
import { aws, BOTO, errorCode, lastJson, python } from './awsutil.js';

// Each aws CLI call starts a Python interpreter (about a second, far more on a loaded machine).
t.setTimeout(480_000);

t.test('Lambda from the aws CLI and boto3', async (t) => {
  const s = await startServer({ timeScale: 1 });
  t.teardown(() => s.stop());
  const url = s.url;

  t.test('aws lambda create-function and invoke: the payload, a function error, the log tail', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-fn-'));
    writeFileSync(join(dir, 'index.js'), 'exports.handler = async (e) => { console.log("adding"); if (e.boom) throw new RangeError("too big"); return { sum: e.a + e.b }; };\n');
    run('python3', ['-c', `import zipfile; z = zipfile.ZipFile('${dir}/fn.zip', 'w'); z.write('${dir}/index.js', 'index.js'); z.close()`]);
    const created = aws(url, ['lambda', 'create-function', '--function-name', 'adder', '--runtime', 'nodejs20.x', '--handler', 'index.handler', '--role', 'arn:aws:iam::000000000000:role/r', '--zip-file', `fileb://${dir}/fn.zip`]);
    t.equal(created.json.State, 'Active', created.stderr);
    t.equal(created.json.FunctionArn, 'arn:aws:lambda:us-east-1:000000000000:function:adder');
    const out = join(dir, 'out.json');
    const inv = aws(url, ['lambda', 'invoke', '--function-name', 'adder', '--payload', '{"a": 2, "b": 3}', '--log-type', 'Tail', out]);
    t.equal(inv.json.StatusCode, 200, inv.stderr);
    t.same(JSON.parse(readFileSync(out, 'utf8')), { sum: 5 });
    t.match(Buffer.from(inv.json.LogResult as string, 'base64').toString(), /\tINFO\tadding\nEND RequestId: [0-9a-f-]{36}\nREPORT RequestId/);
    const bad = await python(
      `${BOTO}
r = lam.invoke(FunctionName='adder', Payload=b'{"boom": true}')
print(json.dumps({'error': r.get('FunctionError'), 'payload': json.loads(r['Payload'].read())}))
`,
      url,
    );
    const b = lastJson<{ error: string; payload: { errorType: string; errorMessage: string } }>(bad);
    t.equal(b.error, 'Unhandled');
    t.match(b.payload, { errorType: 'RangeError', errorMessage: 'too big' });
    t.equal(errorCode(aws(url, ['lambda', 'get-function', '--function-name', 'nope'])), 'ResourceNotFoundException');
    // Reserved concurrency 0 throttles every invocation (429 TooManyRequestsException).
    t.equal(aws(url, ['lambda', 'put-function-concurrency', '--function-name', 'adder', '--reserved-concurrent-executions', '0']).json.ReservedConcurrentExecutions, 0);
    const throttled = aws(url, ['lambda', 'invoke', '--function-name', 'adder', '--payload', '{"a": 1, "b": 1}', out]);
    t.match(throttled.stderr, /\(TooManyRequestsException\).*Rate Exceeded/, 'throttled at its reserved concurrency');
    t.equal(aws(url, ['lambda', 'delete-function-concurrency', '--function-name', 'adder']).code, 0);
    t.match(s.kubectl(['get', 'functions', '-o', 'wide']).stdout, /^adder\s+nodejs20\.x\s+128MB\s+3s\s+\d+\/\d+\s+0\s+\S+\s+index\.handler/m, 'kubectl lists the function');
  });

  t.test('an SQS-triggered function processes a batch; a failing item returns to the queue as a partial batch failure', async (t) => {
    const r = await python(
      `${BOTO}
src = '''exports.handler = async (event) => {
  const failures = [];
  for (const r of event.Records) {
    console.log('item', r.body, 'receive', r.attributes.ApproximateReceiveCount);
    if (r.body === 'bad' && r.attributes.ApproximateReceiveCount === '1') failures.push({ itemIdentifier: r.messageId });
  }
  return { batchItemFailures: failures };
};'''
lam.create_function(FunctionName='worker', Runtime='nodejs20.x', Role='arn:aws:iam::000000000000:role/r', Handler='index.handler', Code={'ZipFile': zipped(src)}, Timeout=10, MemorySize=256)
lam.invoke(FunctionName='worker', Payload=b'{"Records": []}')
q = sqs.create_queue(QueueName='jobs', Attributes={'VisibilityTimeout': '5'})['QueueUrl']
sqs.send_message_batch(QueueUrl=q, Entries=[{'Id': b, 'MessageBody': b} for b in ['ok-1', 'bad', 'ok-2']])
m = lam.create_event_source_mapping(FunctionName='worker', EventSourceArn='arn:aws:sqs:us-east-1:000000000000:jobs', BatchSize=10, FunctionResponseTypes=['ReportBatchItemFailures'], ScalingConfig={'MaximumConcurrency': 2})
deadline = time.time() + 60
while time.time() < deadline:
    a = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['All'])['Attributes']
    if a['ApproximateNumberOfMessages'] == '0' and a['ApproximateNumberOfMessagesNotVisible'] == '0': break
    time.sleep(0.3)
print(json.dumps({'state': m['State'], 'left': a, 'result': lam.get_event_source_mapping(UUID=m['UUID'])['LastProcessingResult']}))
`,
      url,
    );
    t.equal(r.code, 0, r.stderr);
    const o = lastJson<{ state: string; left: Record<string, string>; result: string }>(r);
    t.equal(o.state, 'Creating');
    t.equal(o.left.ApproximateNumberOfMessages, '0', 'the queue drained');
    t.equal(o.result, 'OK');
    const logs = s.berth(['logs', 'function/worker']);
    t.equal(logs.code, 0, logs.stderr);
    const items = logs.stdout.split('\n').filter((l) => /\tINFO\titem /.test(l)).map((l) => l.split('\tINFO\t')[1]!);
    t.ok(items.includes('item bad receive 1') && items.includes('item bad receive 2'), `the failed item came back: ${items.join(', ')}`);
    t.same(items.filter((i) => i.startsWith('item ok-')).sort(), ['item ok-1 receive 1', 'item ok-2 receive 1'], 'the others were deleted after the first batch');
    t.match(logs.stdout, /^START RequestId: [0-9a-f-]{36} Version: \$LATEST$/m);
    t.match(logs.stdout, /^END RequestId: [0-9a-f-]{36}$/m);
    t.match(logs.stdout, /^REPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms\t$/m, 'a cold start reports its INIT');
    t.match(s.berth(['logs', 'function/worker', '--tail', '1']).stdout, /^REPORT RequestId: [^\n]*\n$/, '--tail 1: the last REPORT line');
    t.match(s.berth(['logs', 'function/nope']).stderr, /not found/);
    // Both functions' invocations are on the bill, per 1 ms × memory plus requests.
    const cost = s.berth(['cost']);
    t.equal(cost.code, 0, cost.stderr);
    t.match(cost.stdout, /^Lambda \$0\.\d{6} for \d+ requests \(\$0\.\d{6}\) and [\d.]+ GB-s of duration/m);
    t.match(cost.stdout, /^adder\s+2\s+[\d.]+\s+\$0\.\d{6}$/m, 'adder: two invocations');
    t.match(cost.stdout, /^worker\s+\d+\s+[\d.]+\s+\$0\.\d{6}$/m);
  });
});
