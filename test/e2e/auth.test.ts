/**
 * Access control against the built server with the real kubectl: tokens and client
 * certificates over TLS, RBAC on every verb (`kubectl auth can-i` agrees), 401 for a caller
 * without credentials on a non-loopback listener, and the audit log of writes without bodies.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { run, startServer, type ServerProcess } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-auth-'));
const f = (n: string) => join(dir, n);
const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
// The serving certificate (self-signed, for 127.0.0.1) and a client CA with one client: carol in group dev.
ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', f('server.key'), '-out', f('server.crt'));
ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=berth-client-ca', '-keyout', f('ca.key'), '-out', f('ca.crt'));
ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/O=dev/CN=carol', '-keyout', f('carol.key'), '-out', f('carol.csr'));
ssl('x509', '-req', '-in', f('carol.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-out', f('carol.crt'));
writeFileSync(f('tokens.csv'), 'alice-token,alice,1001\nbob-token,bob,1002,"ops"\n');

let s: ServerProcess | undefined;
t.teardown(async () => {
  await s?.stop();
});

t.test('a server on every address refuses to start without authentication', async (t) => {
  const r = run(process.execPath, [join(process.cwd(), 'dist/cmd/berth/main.js'), 'server', '--data-dir', f('refused'), '--host', '0.0.0.0', '--port', '0']);
  t.equal(r.code, 1);
  t.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without authentication and TLS/);
  const plain = run(process.execPath, [join(process.cwd(), 'dist/cmd/berth/main.js'), 'server', '--data-dir', f('plain'), '--port', '0', '--token-auth-file', f('tokens.csv')]);
  t.equal(plain.code, 1);
  t.match(plain.stderr, /--token-auth-file needs TLS \(kubectl sends bearer tokens only over https\)/);
  const badTokens = f('bad-tokens.csv');
  writeFileSync(badTokens, 'ok,alice,1\nbroken-line\n');
  const bad = run(process.execPath, [join(process.cwd(), 'dist/cmd/berth/main.js'), 'server', '--data-dir', f('bad'), '--port', '0', '--token-auth-file', badTokens, '--tls-cert-file', f('server.crt'), '--tls-private-key-file', f('server.key')]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /bad-tokens\.csv:2: want token,user,uid/, 'the bad line is named');
});

t.test('tokens, client certificates, RBAC, can-i, audit', async (t) => {
  s = await startServer({
    timeScale: 1,
    extraArgs: ['--host', '0.0.0.0', '--token-auth-file', f('tokens.csv'), '--tls-cert-file', f('server.crt'), '--tls-private-key-file', f('server.key'), '--client-ca-file', f('ca.crt'), '--audit-log-path', f('audit.log')],
  });
  const url = s.url.replace('0.0.0.0', '127.0.0.1');
  t.match(url, /^https:/);
  const dispatcher = new Agent({ connect: { ca: readFileSync(f('server.crt'), 'utf8') } });

  const anon = await request(`${url}/api/v1/namespaces/default/secrets`, { dispatcher });
  t.equal(anon.statusCode, 401, 'no credentials: 401');
  t.match(await anon.body.json(), { kind: 'Status', reason: 'Unauthorized', code: 401 });
  t.equal((await request(`${url}/healthz`, { dispatcher })).statusCode, 200, 'health stays public');

  // The admin kubeconfig berth wrote carries its own token and the serving certificate.
  const kc = (args: string[]) => s!.kubectl(['--server', url, ...args]);
  for (const ns of ['team-a', 'team-b']) t.equal(kc(['create', 'namespace', ns]).code, 0);
  t.equal(kc(['create', 'secret', 'generic', 'db', '-n', 'team-b', '--from-literal=password=hunter2']).code, 0);
  t.equal(kc(['create', 'secret', 'generic', 'db', '-n', 'team-a', '--from-literal=password=s3cret']).code, 0);
  t.equal(kc(['create', 'role', 'secret-reader', '-n', 'team-a', '--verb=get,list', '--resource=secrets']).code, 0);
  t.equal(kc(['create', 'rolebinding', 'alice-reads', '-n', 'team-a', '--role=secret-reader', '--user=alice']).code, 0);
  t.equal(kc(['create', 'rolebinding', 'dev-view', '-n', 'team-b', '--clusterrole=view', '--group=dev']).code, 0);

  const alice = (args: string[]) => s!.kubectl(['--server', url, '--token', 'alice-token', ...args]);
  const own = alice(['get', 'secret', 'db', '-n', 'team-a', '-o', 'jsonpath={.metadata.name}']);
  t.equal(own.code, 0, own.stderr);
  const other = alice(['get', 'secret', 'db', '-n', 'team-b']);
  t.not(other.code, 0);
  t.match(other.stderr, /secrets "db" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "team-b"/);
  t.match(alice(['auth', 'can-i', 'get', 'secrets', '-n', 'team-b']), { code: 1, stdout: /^no/ }, 'can-i agrees: no');
  t.match(alice(['auth', 'can-i', 'list', 'secrets', '-n', 'team-a']), { code: 0, stdout: /^yes/ }, 'can-i agrees: yes');
  t.match(alice(['auth', 'can-i', 'delete', 'secrets', '-n', 'team-a']), { code: 1, stdout: /^no/ });
  t.match(alice(['get', 'pods', '-n', 'team-a']), { code: 1, stderr: /forbidden/ });

  const bad = s.kubectl(['--server', url, '--token', 'not-a-token', 'get', 'pods']);
  t.match(bad.stderr, /Unauthorized|must be logged in/, 'a wrong token is 401');

  // carol authenticates with a client certificate; her group dev may view team-b (but not its Secrets).
  const carol = (args: string[]) => run('kubectl', ['--kubeconfig', '/dev/null', '--server', url, '--certificate-authority', f('server.crt'), '--client-certificate', f('carol.crt'), '--client-key', f('carol.key'), ...args]);
  t.match(carol(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}']), { code: 0, stdout: /^carol .*dev/ });
  t.match(carol(['get', 'pods', '-n', 'team-b']), { code: 0 });
  t.match(carol(['get', 'secrets', '-n', 'team-b']), { code: 1, stderr: /forbidden: User "carol" cannot list resource "secrets"/ });

  const audit = readFileSync(f('audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { verb: string; user: { username: string }; objectRef: { resource: string; namespace?: string; name?: string }; responseStatus: { code: number } });
  const secretCreates = audit.filter((e) => e.objectRef.resource === 'secrets' && e.verb === 'create');
  t.equal(secretCreates.length, 2, 'both Secret creations are audited');
  t.same(secretCreates.map((e) => [e.user.username, e.objectRef.namespace, e.responseStatus.code]).sort(), [['berth-admin', 'team-a', 201], ['berth-admin', 'team-b', 201]]);
  t.notMatch(readFileSync(f('audit.log'), 'utf8'), /hunter2|aHVudGVyMg|s3cret|czNjcmV0/, 'no Secret value is ever logged');
  t.notOk(audit.some((e) => e.verb === 'get' || e.verb === 'list'), 'reads are not audited');
});
