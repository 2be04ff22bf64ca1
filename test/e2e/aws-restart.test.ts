/**
 * Durability of SQS: a server killed with SIGKILL while boto3 is sending comes back on the same
 * data dir with every message it acknowledged.
 */
import t from 'tap';
import { startServer, waitFor } from './harness.js';
import { aws, BOTO, lastJson, python } from './awsutil.js';

// Each aws CLI call starts a Python interpreter (about a second, far more on a loaded machine).
t.setTimeout(480_000);

t.test('a server killed mid-stream loses no acknowledged message', async (t) => {
  const a = await startServer({ timeScale: 1 });
  t.equal(aws(a.url, ['sqs', 'create-queue', '--queue-name', 'stream']).code, 0);
  const acked: string[] = [];
  let killed = false;
  const out = await python(
    `${BOTO}
q = os.environ['BERTH_URL'] + '/000000000000/stream'
i = 0
try:
    while i < 5000:
        r = sqs.send_message(QueueUrl=q, MessageBody='m%d' % i)
        print(r['MessageId'], flush=True)
        i += 1
except Exception as e:
    print('stopped', type(e).__name__, flush=True)
`,
    a.url,
    (line) => {
      if (/^[0-9a-f-]{36}$/.test(line)) acked.push(line);
      if (acked.length >= 150 && !killed) {
        killed = true;
        a.child.kill('SIGKILL');
      }
    },
  );
  t.ok(killed, 'killed while sending');
  t.match(out.stdout, /stopped/, 'the producer saw the server go');
  await waitFor(() => a.child.exitCode !== null || a.child.signalCode !== null, 'the server to exit', 10_000);
  const b = await startServer({ timeScale: 1, dataDir: a.dataDir });
  t.teardown(() => b.stop());
  const r = await python(
    `${BOTO}
q = os.environ['BERTH_URL'] + '/000000000000/stream'
ids = set()
while True:
    got = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, VisibilityTimeout=300).get('Messages', [])
    if not got: break
    for m in got: ids.add(m['MessageId'])
print(json.dumps(sorted(ids)))
`,
    b.url,
  );
  t.equal(r.code, 0, r.stderr);
  const received = new Set(lastJson<string[]>(r));
  t.same(acked.filter((id) => !received.has(id)), [], `all ${acked.length} acknowledged messages came back (${received.size} stored)`);
});
