/**
 * Kubeconfig files: the one berth writes reads back as the same server, token and namespace; the
 * path comes from the flag, then `$KUBECONFIG` (its first entry), then `~/.berth/kubeconfig`; and
 * every broken file gets an error naming the file and what is wrong, never a JavaScript message.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { resolveKubeconfigPath } from '../cli/session.js';
import { kubeconfigPath, loadKubeconfig, renderKubeconfig } from './kubeconfig.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-kubeconfig-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

t.test('what berth server writes reads back', async (t) => {
  const plain = loadKubeconfig(file('plain', renderKubeconfig('http://127.0.0.1:6443')));
  t.same(plain, { path: join(dir, 'plain'), context: 'berth', namespace: 'default', transport: { server: 'http://127.0.0.1:6443', insecureSkipTlsVerify: true } });
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const tls = loadKubeconfig(file('tls', renderKubeconfig('https://127.0.0.1:6443', 'berth', 's3cret', pem)));
  t.same(tls.transport, { server: 'https://127.0.0.1:6443', token: 's3cret', ca: pem });
});

t.test('--context picks another context, with its namespace', async (t) => {
  const p = file(
    'two',
    `apiVersion: v1
kind: Config
current-context: a
clusters: [{name: one, cluster: {server: "http://127.0.0.1:1"}}, {name: two, cluster: {server: "http://127.0.0.1:2"}}]
contexts: [{name: a, context: {cluster: one, user: u}}, {name: b, context: {cluster: two, user: u, namespace: team}}]
users: [{name: u, user: {token: tok}}]
`,
  );
  t.match(loadKubeconfig(p), { context: 'a', namespace: 'default', transport: { server: 'http://127.0.0.1:1', token: 'tok' } });
  t.match(loadKubeconfig(p, 'b'), { context: 'b', namespace: 'team', transport: { server: 'http://127.0.0.1:2', token: 'tok' } });
  t.throws(() => loadKubeconfig(p, 'c'), { name: 'KubeconfigError', message: `${p}: context "c" not found` });
});

t.test('broken files: the file and what is wrong', async (t) => {
  const missing = join(dir, 'nope');
  t.throws(() => loadKubeconfig(missing), { name: 'KubeconfigError', message: `no kubeconfig at ${missing}: start a server with 'berth server' (it writes ~/.berth/kubeconfig), or pass --kubeconfig` });
  const empty = file('empty', '');
  t.throws(() => loadKubeconfig(empty), { name: 'KubeconfigError', message: `${empty}: not a valid kubeconfig: the file is empty` });
  const scalar = file('scalar', 'just words\n');
  t.throws(() => loadKubeconfig(scalar), { name: 'KubeconfigError', message: `${scalar}: not a valid kubeconfig: expected a mapping with clusters, contexts and users` });
  const list = file('list', '- a\n- b\n');
  t.throws(() => loadKubeconfig(list), { name: 'KubeconfigError', message: `${list}: not a valid kubeconfig: expected a mapping with clusters, contexts and users` });
  const yaml = file('yaml', 'clusters: [\n');
  t.throws(() => loadKubeconfig(yaml), { name: 'KubeconfigError', message: new RegExp(`^${yaml}: not a valid kubeconfig: `) });
  const noContext = file('nocontext', 'apiVersion: v1\nkind: Config\nclusters: []\n');
  t.throws(() => loadKubeconfig(noContext), { name: 'KubeconfigError', message: `${noContext}: context "" not found` });
  const noCluster = file('nocluster', 'current-context: a\ncontexts: [{name: a, context: {cluster: gone}}]\n');
  t.throws(() => loadKubeconfig(noCluster), { name: 'KubeconfigError', message: `${noCluster}: cluster "gone" not found` });
});

t.test('the path: --kubeconfig, then the first entry of $KUBECONFIG, then ~/.berth/kubeconfig', async (t) => {
  // The CLI's resolution (environment passed in) …
  t.equal(resolveKubeconfigPath('/flag', { KUBECONFIG: '/env', HOME: '/home/u' }), '/flag');
  t.equal(resolveKubeconfigPath(undefined, { KUBECONFIG: '/env/a:/env/b', HOME: '/home/u' }), '/env/a');
  t.equal(resolveKubeconfigPath(undefined, { KUBECONFIG: ':/env/b', HOME: '/home/u' }), '/env/b', 'empty entries are skipped');
  t.equal(resolveKubeconfigPath(undefined, { KUBECONFIG: '', HOME: '/home/u' }), '/home/u/.berth/kubeconfig');
  t.equal(resolveKubeconfigPath(undefined, { HOME: '/home/u' }), '/home/u/.berth/kubeconfig');
  // … and the library's (process.env), the same order.
  const saved = process.env.KUBECONFIG;
  t.teardown(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });
  process.env.KUBECONFIG = '/env/a:/env/b';
  t.equal(kubeconfigPath('/flag'), '/flag');
  t.equal(kubeconfigPath(), '/env/a');
  delete process.env.KUBECONFIG;
  t.equal(kubeconfigPath(), join(homedir(), '.berth', 'kubeconfig'));
});
