import t from 'tap';
import type { Node } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { makeNode, makePod, startTestApi } from '../testing/index.js';
import { NodeAgent } from './agent.js';
import { desiredNodeStatus, NODE_STATUS_MAX_IMAGES } from './nodestatus.js';

t.test('status.images: the images the runtime reports, omitted while there are none, at most 50', async (t) => {
  const node = makeNode('n1').obj();
  const health = { ready: true } as const;
  const none = desiredNodeStatus(node, 0, { version: 'berth-sim://1.0', health, images: [] });
  t.equal(none.status.images, undefined, 'no images: the field is left out');
  const images = [{ names: ['nginx:1.25'] }, { names: ['registry.k8s.io/pause:3.9'], sizeBytes: 300_000 }];
  const first = desiredNodeStatus(node, 0, { version: 'berth-sim://1.0', health, images });
  t.same(first.status.images, images);
  t.equal(first.changed, true, 'a new image is a change to report');
  const again = desiredNodeStatus({ ...node, status: first.status }, 1000, { version: 'berth-sim://1.0', health, images });
  t.equal(again.changed, false, 'the same images: nothing to report but the heartbeat');
  const many = Array.from({ length: 60 }, (_, i) => ({ names: [`img-${i}:1`] }));
  t.equal((desiredNodeStatus(node, 0, { version: 'berth-sim://1.0', health, images: many }).status.images as unknown[]).length, NODE_STATUS_MAX_IMAGES);
  // A runtime that cannot tell (no images in the report) leaves what the node has.
  const kept = desiredNodeStatus({ ...node, status: first.status }, 0, { version: 'berth-sim://1.0', health });
  t.same(kept.status.images, images);
  t.equal(kept.changed, false);
});

t.test('the agent reports the images its pods pulled in the node status', async (t) => {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const h = await startTestApi({ clock });
  h.mgr.add(new NodeAgent(h.mgr, { random: () => 0.5 }));
  await h.start();
  t.teardown(() => h.stop());
  const node: Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } },
    spec: { podCIDR: '10.244.1.0/24' },
    status: { capacity: { cpu: '2', memory: '8Gi', pods: '110' }, allocatable: { cpu: '1930m', memory: '7Gi', pods: '110' }, addresses: [{ type: 'InternalIP', address: '10.0.1.15' }] },
  };
  await h.client.create(node);
  await h.client.create(makePod('web').node('n1').spec((s) => (s.containers = [{ name: 'nginx', image: 'nginx:1.14.2' }])).obj());
  await clock.advance(0);
  t.equal((await h.client.get<Node>(Kinds.Node, 'n1')).status?.images, undefined, 'nothing pulled yet');
  // The container starts at 1 s; the next status report (at most the report period later) lists its image.
  await clock.advance(1000);
  await clock.advance(5 * 60_000);
  t.same((await h.client.get<Node>(Kinds.Node, 'n1')).status?.images, [{ names: ['docker.io/library/nginx:1.14.2'] }]);
});
