import t from 'tap';
import { makeNode, makePod } from '../../testing/builders.js';
import { nodeInfo, runScore } from '../test-helpers.js';
import { ImageLocality, imageScore, normalizedImageName } from './image-locality.js';
import { kubeSchedulerProfile, defaultProfile } from './registry.js';

const MiB = 1024 * 1024;
const node = (name: string, images: { names: string[]; sizeBytes: number }[]) => {
  const n = makeNode(name).obj();
  n.status = { ...n.status, images };
  return nodeInfo(n);
};

t.test('normalizedImageName adds :latest only when the reference has no tag', async (t) => {
  t.equal(normalizedImageName('nginx'), 'nginx:latest');
  t.equal(normalizedImageName('nginx:1.25'), 'nginx:1.25');
  t.equal(normalizedImageName('localhost:5000/app'), 'localhost:5000/app:latest', 'a registry port is not a tag');
  t.equal(normalizedImageName('localhost:5000/app:v2'), 'localhost:5000/app:v2');
});

t.test('calculatePriority clamps the sum to [23 MiB, 1000 MiB × containers] and scales it onto 0..100', async (t) => {
  t.equal(imageScore(0, 1), 0);
  t.equal(imageScore(23 * MiB, 1), 0);
  t.equal(imageScore(5000 * MiB, 1), 100);
  // 100 × (500 − 23) / (1000 − 23) = 47700 / 977 = 48.8 → 48.
  t.equal(imageScore(500 * MiB, 1), 48);
});

t.test('Score: image sizes scaled by how many nodes have them', async (t) => {
  // n1 has nginx:latest (300 MiB) and redis:7 (100 MiB); n2 has nginx:latest; n3 and n4 have neither.
  const nodes = [
    node('n1', [
      { names: ['docker.io/library/nginx:latest', 'nginx:latest'], sizeBytes: 300 * MiB },
      { names: ['redis:7'], sizeBytes: 100 * MiB },
    ]),
    node('n2', [{ names: ['nginx:latest'], sizeBytes: 300 * MiB }]),
    node('n3', []),
    node('n4', [{ names: ['busybox:latest'], sizeBytes: 5 * MiB }]),
  ];
  // Two containers: max threshold 2000 MiB. nginx is on 2 of 4 nodes (× 0.5), redis:7 on 1 of 4 (× 0.25).
  // n1: 150 + 25 = 175 MiB → 100 × (175 − 23) / (2000 − 23) = 15200 / 1977 = 7.7 → 7.
  // n2: 150 MiB → 12700 / 1977 = 6.4 → 6. n3, n4: below 23 MiB → 0.
  const pod = makePod('web').spec((s) => (s.containers = [{ name: 'web', image: 'nginx' }, { name: 'cache', image: 'redis:7' }])).obj();
  t.same(runScore(new ImageLocality(), pod, nodes), [7, 6, 0, 0]);
  // Init containers count too: an init container with nginx adds another 150 MiB on n1 and n2
  // over three containers (max 3000 MiB): n1 325 → 100 × 302 / 2977 = 10.1 → 10; n2 300 → 27700 / 2977 = 9.3 → 9.
  const withInit = makePod('web2').spec((s) => ((s.containers = [{ name: 'web', image: 'nginx' }, { name: 'cache', image: 'redis:7' }]), (s.initContainers = [{ name: 'warm', image: 'nginx:latest' }]))).obj();
  t.same(runScore(new ImageLocality(), withInit, nodes), [10, 9, 0, 0]);
  // No node has the image: the plugin skips the pod and is neutral.
  t.equal(runScore(new ImageLocality(), makePod('x').spec((s) => (s.containers = [{ name: 'x', image: 'unknown:1' }])).obj(), nodes), undefined);
});

t.test('ImageLocality is in kube-scheduler\'s profile at weight 1, not in berth\'s packing profile', async (t) => {
  t.same(kubeSchedulerProfile('kube').scores.find((s) => s.name === 'ImageLocality'), { name: 'ImageLocality', weight: 1 });
  t.equal(defaultProfile().scores.find((s) => s.name === 'ImageLocality'), undefined);
});
