/**
 * An SNS `https` subscription against the built server (issue 10: "subscriptions with protocols
 * sqs, lambda, http/https (with the confirmation handshake)"): a TLS endpoint on loopback with a
 * certificate the server trusts (NODE_EXTRA_CA_CERTS, as a machine trusting a private CA) gets the
 * SubscriptionConfirmation over TLS, confirms by visiting its SubscribeURL, then receives the
 * notification. An endpoint whose certificate the server does not trust gets nothing: SNS
 * delivers only to endpoints with a certificate it can verify (SNS Developer Guide, "Fanout to
 * HTTP/S endpoints"), so its subscription stays pending.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startServer, waitFor } from './harness.js';
import { awsAsync } from './awsutil.js';

t.setTimeout(300_000);

/** A self-signed certificate for 127.0.0.1 (openssl), as PEM files in `dir`. */
function certificate(dir: string, name: string): { key: string; cert: string; certPath: string } {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.pem`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl: ${r.error?.message ?? r.stderr}`);
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), certPath };
}

interface Hit {
  type: string;
  body: Record<string, unknown>;
}

/** An https endpoint on loopback recording what SNS posts. */
async function endpoint(tls: { key: string; cert: string }): Promise<{ server: Server; url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer(tls, (req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      hits.push({ type: String(req.headers['x-amz-sns-message-type'] ?? body.Type), body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `https://127.0.0.1:${(server.address() as { port: number }).port}/hook`, hits };
}

t.test('an https subscription: the handshake and the notification over TLS; an untrusted certificate gets nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-sns-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const trusted = certificate(dir, 'trusted');
  const untrusted = certificate(dir, 'untrusted');
  const s = await startServer({ timeScale: 20, env: { NODE_EXTRA_CA_CERTS: trusted.certPath } });
  t.teardown(() => s.stop());
  const good = await endpoint(trusted);
  const bad = await endpoint(untrusted);
  t.teardown(() => void good.server.close());
  t.teardown(() => void bad.server.close());

  const aws = async (args: string[]): Promise<Record<string, unknown>> => {
    const r = await awsAsync(s.url, args);
    if (r.code !== 0) throw new Error(`aws ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : {};
  };
  const topic = (await aws(['sns', 'create-topic', '--name', 'tls'])).TopicArn as string;
  const [sub, badSub] = await Promise.all([good, bad].map((e) => aws(['sns', 'subscribe', '--topic-arn', topic, '--protocol', 'https', '--notification-endpoint', e.url])));
  t.equal(sub!.SubscriptionArn, 'pending confirmation');
  t.equal(badSub!.SubscriptionArn, 'pending confirmation');

  const confirmation = await waitFor(() => good.hits.find((h) => h.type === 'SubscriptionConfirmation'), 'the SubscriptionConfirmation over TLS', 60_000);
  t.match(confirmation.body, { TopicArn: topic, Token: /^[0-9a-f]{64}$/, SubscribeURL: /ConfirmSubscription/ });
  const visit = await fetch(confirmation.body.SubscribeURL as string);
  t.equal(visit.status, 200, 'visiting the SubscribeURL confirms');
  await visit.text();

  const { MessageId } = await aws(['sns', 'publish', '--topic-arn', topic, '--message', 'over tls']);
  const note = await waitFor(() => good.hits.find((h) => h.type === 'Notification'), 'the notification over TLS', 60_000);
  t.match(note.body, { Type: 'Notification', MessageId, TopicArn: topic, Message: 'over tls' });

  const subs = (await aws(['sns', 'list-subscriptions-by-topic', '--topic-arn', topic])).Subscriptions as { Endpoint: string; SubscriptionArn: string }[];
  t.match(subs.find((x) => x.Endpoint === good.url)?.SubscriptionArn, new RegExp(`^${topic}:`), 'confirmed: it has its ARN');
  t.equal(subs.find((x) => x.Endpoint === bad.url)?.SubscriptionArn, 'PendingConfirmation', 'the untrusted endpoint never got its confirmation');
  t.same(bad.hits, [], 'nothing reached the endpoint with an untrusted certificate');
});
