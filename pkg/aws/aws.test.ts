/**
 * Integration: the all-in-one control plane with only the AWS component, on a virtual clock,
 * listening on loopback, driven by real boto3 — the billing check of 1,000 invocations.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { awsCluster } from './awscluster.testutil.js';
import type { LambdaCostReport } from './index.js';
import { renderLambdaCost } from '../cli/cost.js';

/** Runs a Python script with boto3 pointed at `url`, without blocking the event loop. */
function python(script: string, url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('python3', ['-c', script], { env: { ...process.env, BERTH_URL: url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: 'us-east-1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

t.test('billing of 1,000 invocations of 120 ms at 512 MB matches the hand-computed cost', async (t) => {
  const c = await awsCluster({ listen: true });
  t.teardown(() => c.stop());
  const { cp, aws, clock } = c;
  const url = c.url!;
  // A simulated function: each invocation takes exactly 120 ms of cluster time (no INIT time).
  await cp.client.create({
    apiVersion: 'lambda.berth.dev/v1',
    kind: 'Function',
    metadata: { name: 'billed', annotations: { 'sim.berth.dev/duration-ms': '120', 'sim.berth.dev/response': '{"ok":true}' } },
    spec: { handler: 'index.handler', code: { inline: 'exports.handler = async () => ({ ok: true });' }, memorySize: 512 },
  });
  const from = clock.now();
  const r = await python(
    `
import boto3, os, json
lam = boto3.client('lambda', endpoint_url=os.environ['BERTH_URL'])
first = lam.invoke(FunctionName='billed', Payload=b'{}', LogType='Tail')
print(json.dumps({'status': first['StatusCode'], 'payload': first['Payload'].read().decode()}))
from concurrent.futures import ThreadPoolExecutor
def send(i):
    return lam.invoke(FunctionName='billed', InvocationType='Event', Payload=json.dumps({'i': i}).encode())['StatusCode']
with ThreadPoolExecutor(8) as ex:
    codes = list(ex.map(send, range(999)))
assert codes == [202] * 999, set(codes)
print('sent')
`,
    url,
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /"status": 200, "payload": "\{\\"ok\\":true\}"/);
  for (let i = 0; i < 3000 && (aws.lambda.ledger.size < 1000 || aws.lambda.pendingEvents() > 0); i++) await new Promise((res) => setTimeout(res, 10));
  t.equal(aws.lambda.ledger.size, 1000, 'every invocation billed once');
  const cost = aws.lambda.lambdaCost(from, clock.now() + 1);
  // 1000 × 0.120 s × 0.5 GB = 60 GB-s → 60 × $0.0000166667 = $0.001000002; requests 1000 × $0.0000002 = $0.0002.
  // Exactly 12,000,020 × 1e-10 USD = $0.001200002.
  const expectedE10 = 60n * 166_667n + 1000n * 2_000n;
  t.equal(cost.toFixed(12), '0.001200002000');
  t.ok(Math.abs(cost - Number(expectedE10) / 1e10) < 1e-18, `cost ${cost}`);
  t.equal(aws.lambda.lambdaCost(from - 10_000, from), 0, 'nothing before');
  // What `berth cost` shows: the server's Lambda bill, by function.
  const bill = (await (await fetch(`${url}/billing/v1/lambda`)).json()) as LambdaCostReport;
  t.match(bill, { requests: 1000, gbSeconds: 60, byFunction: { billed: { requests: 1000, gbSeconds: 60 } } });
  t.equal(bill.usd.toFixed(12), '0.001200002000');
  t.equal(bill.requestUSD.toFixed(12), '0.000200000000');
  const text = renderLambdaCost(bill);
  t.match(text, /^Lambda \$0\.001200 for 1000 requests \(\$0\.000200\) and 60\.000 GB-s of duration \(\$0\.001000\)$/m);
  t.match(text, /^billed\s+1000\s+60\.000\s+\$0\.001200$/m);
  const bad = await fetch(`${url}/billing/v1/lambda?since=yesterday`);
  t.equal(bad.status, 400);
  t.match(await bad.json(), { reason: 'BadRequest', message: /invalid duration "yesterday"/ });
});
