import t from 'tap';
import type { KubeObject } from '../api/types.js';
import type { LogOptions } from '../apiserver/app.js';
import { startCliEnv } from './testenv.js';

t.test('logs reads pods/<name>/log with the flags kubectl has', async (t) => {
  const env = await startCliEnv();
  t.teardown(() => env.close());
  const asked: { pod: string; container: string; opts: LogOptions }[] = [];
  env.api.logs.current = {
    async logs(pod: KubeObject, container: string, opts: LogOptions, signal: AbortSignal) {
      asked.push({ pod: pod.metadata.name!, container, opts });
      const lines = ['one', 'two', 'three'].map((l) => `${container}: ${l}\n`);
      if (!opts.follow) return lines.slice(opts.tailLines !== undefined ? -opts.tailLines : 0).join('');
      return (async function* () {
        for (const l of lines) {
          if (signal.aborted) return;
          yield l;
        }
      })();
    },
  };
  const pod = (name: string, labels: Record<string, string>, created: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels, creationTimestamp: created },
    spec: { containers: [{ name: 'app', image: 'x' }, { name: 'side', image: 'y' }] },
  });
  await env.client.create(pod('web-1', { app: 'web' }, '2026-01-01T00:00:00Z'));
  await env.client.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'x' }] } } } });

  let r = await env.run(['logs', 'web-1', '-c', 'side']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'side: one\nside: two\nside: three\n');

  r = await env.run(['logs', 'web-1', '-c', 'app', '--tail', '1', '--timestamps', '-p']);
  t.equal(r.stdout, 'app: three\n');
  t.same(asked.at(-1)!.opts, { follow: false, previous: true, timestamps: true, tailLines: 1 });

  r = await env.run(['logs', 'web-1']);
  t.equal(r.code, 1);
  t.match(r.stderr, /a container name must be specified for pod web-1, choose one of: \[app side\]/);

  r = await env.run(['logs', 'deployment/web', '-c', 'app', '-f']);
  t.equal(r.stdout, 'app: one\napp: two\napp: three\n', 'a workload picks its first pod; -f streams');
  t.equal(asked.at(-1)!.pod, 'web-1');

  r = await env.run(['logs', 'nope']);
  t.match(r.stderr, /Error from server \(NotFound\): pods "nope" not found/);
});
