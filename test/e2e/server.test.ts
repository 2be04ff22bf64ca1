/**
 * `berth server` with its defaults, as a new user starts it: the data dir `~/.berth` (HOME points
 * at a fresh folder), the SQLite store at `~/.berth/state.db`, time scale 1, loopback only, the
 * kubeconfig it writes (read by the CLI through `--kubeconfig`, then `$KUBECONFIG`, then
 * `~/.berth/kubeconfig`, and by kubectl), `/healthz`, `/livez` and `/readyz`, and a clean SIGTERM
 * stop that keeps everything (SIGKILL right after an apply: restart.test.ts).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BERTH, launch, run, waitFor } from './harness.js';

interface Started {
  out: string;
  url: string;
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/** Starts `berth server ARGS` with HOME set to `home`; resolves once it printed its kubeconfig. */
async function start(home: string, args: string[]): Promise<Started> {
  const { child, url, out, exited } = await launch(['server', ...args], { HOME: home });
  return {
    get out() {
      return out();
    },
    url,
    async stop(signal) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept}\ndata: {n: "1"}\n';

t.test('defaults: ~/.berth, SQLite at ~/.berth/state.db, time scale 1, 127.0.0.1; health endpoints; the CLI finds the kubeconfig', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'berth-home-'));
  const dir = join(home, '.berth');
  const kubeconfig = join(dir, 'kubeconfig');
  const s = await start(home, ['--port', '0']);
  t.teardown(() => s.stop('SIGKILL'));
  t.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'loopback only, by default');
  t.match(s.out, `store: sqlite (${join(dir, 'state.db')}), time scale: 1\n`);
  t.match(s.out, `kubeconfig: ${kubeconfig}\n`);
  t.ok(existsSync(join(dir, 'state.db')), 'the store is ~/.berth/state.db');
  t.ok(existsSync(kubeconfig), 'the kubeconfig is ~/.berth/kubeconfig');

  for (const path of ['/healthz', '/livez', '/readyz']) {
    const body = await waitFor(async () => {
      const r = await fetch(`${s.url}${path}`);
      return r.status === 200 ? r.text() : undefined;
    }, `${path} ok`);
    t.equal(body, 'ok', path);
  }

  // No flag and no $KUBECONFIG: ~/.berth/kubeconfig.
  const env = { HOME: home, KUBECONFIG: '' };
  const applied = run(process.execPath, [BERTH, 'apply', '-f', '-'], CM, env);
  t.equal(applied.code, 0, applied.stderr);
  t.equal(applied.stdout, 'configmap/kept created\n');
  // $KUBECONFIG comes before ~/.berth/kubeconfig, and --kubeconfig before $KUBECONFIG.
  const elsewhere = join(home, 'elsewhere.yaml');
  const fromEnv = run(process.execPath, [BERTH, 'get', 'configmap', 'kept'], undefined, { HOME: home, KUBECONFIG: elsewhere });
  t.equal(fromEnv.code, 1);
  t.match(fromEnv.stderr, `error: no kubeconfig at ${elsewhere}`);
  const fromFlag = run(process.execPath, [BERTH, '--kubeconfig', kubeconfig, 'get', 'configmap', 'kept', '-o', 'name'], undefined, { HOME: home, KUBECONFIG: elsewhere });
  t.equal(fromFlag.code, 0, fromFlag.stderr);
  t.equal(fromFlag.stdout, 'configmap/kept\n');
  // The same file serves the real kubectl.
  const kubectl = run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'configmap', 'kept', '-o', 'jsonpath={.data.n}'], undefined, { KUBECACHEDIR: join(home, 'kubecache') });
  t.equal(kubectl.code, 0, kubectl.stderr);
  t.equal(kubectl.stdout, '1');
  const get = async (url: string) => (await (await fetch(`${url}/api/v1/namespaces/default/configmaps/kept`)).json()) as { data: { n: string }; metadata: { resourceVersion: string } };
  const rv = (await get(s.url)).metadata.resourceVersion;

  // A clean stop keeps everything: the next server on the same data dir serves the same object.
  t.equal(await s.stop('SIGTERM'), 0, 'SIGTERM: exit code 0');
  t.match(s.out, /SIGTERM: stopping\n[^]*stopped\n$/);
  const again = await start(home, ['--port', '0']);
  t.teardown(() => again.stop('SIGKILL'));
  const kept = await get(again.url);
  t.same(kept.data, { n: '1' });
  t.equal(kept.metadata.resourceVersion, rv, 'the same object, not a new one');
  t.equal(await again.stop('SIGINT'), 0, 'SIGINT: exit code 0');
});
