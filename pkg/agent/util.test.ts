import t from 'tap';
import { sampleDelay } from './agent.js';
import { backOffMs } from './stages.js';
import { goDuration, imageIdOf, normalizeImage, seededRandom, shellJoin } from './util.js';

t.test('goDuration prints as Go does, truncated to ms', async (t) => {
  const cases: [number, string][] = [
    [0, '0s'],
    [512, '512ms'],
    [1000, '1s'],
    [1200, '1.2s'],
    [1234.9, '1.234s'],
    [62_500, '1m2.5s'],
    [3_600_000, '1h0m0s'],
    [3_723_000, '1h2m3s'],
  ];
  for (const [ms, want] of cases) t.equal(goDuration(ms), want, `${ms} ms`);
});

t.test('image names as containerd reports them', async (t) => {
  const cases: [string, string][] = [
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.14.2', 'docker.io/library/nginx:1.14.2'],
    ['bitnami/redis:7', 'docker.io/bitnami/redis:7'],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app:v1', 'localhost:5000/app:v1'],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2', '123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2'],
  ];
  for (const [image, want] of cases) t.equal(normalizeImage(image), want, image);
  t.match(imageIdOf('nginx:1.14.2'), /^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
  t.equal(imageIdOf('nginx:1.14.2'), imageIdOf('docker.io/library/nginx:1.14.2'), 'same image, same id');
});

t.test('sampleDelay: uniform in ms ± jitter, clamped', async (t) => {
  t.equal(sampleDelay({ ms: 1000, jitterMs: 250 }, () => 0.5), 1000, 'random 0.5 gives the base');
  t.equal(sampleDelay({ ms: 1000, jitterMs: 250 }, () => 0), 750);
  t.equal(sampleDelay({ ms: 1000, jitterMs: 250 }, () => 0.999999), 1250);
  t.equal(sampleDelay({ ms: 100, jitterMs: 500 }, () => 0), 0, 'never negative');
  t.equal(sampleDelay({ ms: 500, jitterMs: 500, maxMs: 300 }, () => 0.9), 300, 'capped');
  let calls = 0;
  sampleDelay({ ms: 10 }, () => (calls++, 0.5));
  t.equal(calls, 0, 'no jitter, no random number used');
});

t.test('seededRandom replays', async (t) => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const xs = Array.from({ length: 5 }, () => a());
  t.same(xs, Array.from({ length: 5 }, () => b()));
  for (const x of xs) t.ok(x >= 0 && x < 1);
});

t.test('back-off: at once, then 10 s doubling to 300 s', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 6, 7].map(backOffMs), [0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
});

t.test('shellJoin quotes what a shell would split', async (t) => {
  t.equal(shellJoin(['sh', '-c', "echo 'hi' && sleep 1"]), `sh -c 'echo '\\''hi'\\'' && sleep 1'`);
  t.equal(shellJoin(['nginx', '-g', 'daemon off;']), "nginx -g 'daemon off;'");
});
