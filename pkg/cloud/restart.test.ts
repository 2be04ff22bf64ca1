import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { SqliteBackend } from '../storage/index.js';
import { startTestApi } from '../testing/api.js';
import { installCloudWithHandle, seededRandom, type AutoScalingGroup, type Instance } from './index.js';

t.test('a restart over the same store changes nothing: same instances, addresses and Nodes', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'berth-cloud-')), 'state.db');
  const clock = new VirtualClock();
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 60; i++) await clock.advance(0);
  };
  const boot = async () => {
    const h = await startTestApi({ clock, backend: new SqliteBackend({ path }) });
    await installCloudWithHandle(h.api, h.mgr, { random: seededRandom(3), bootDelaySeconds: 30 });
    await h.start();
    return h;
  };
  const snapshot = async (h: Awaited<ReturnType<typeof boot>>) => ({
    instances: (await h.client.list<Instance>(Kinds.Instance)).items.map((i) => [i.metadata.name, i.status?.state, i.status?.privateIpAddress, i.metadata.resourceVersion]),
    nodes: (await h.client.list<Node>(Kinds.Node)).items.map((n) => [n.metadata.name, n.spec.podCIDR, n.metadata.resourceVersion]),
    types: (await h.client.list(Kinds.InstanceType)).items.length,
  });

  const a = await boot();
  await a.client.create<AutoScalingGroup>({
    apiVersion: 'autoscaling.berth.dev/v1',
    kind: 'AutoScalingGroup',
    metadata: { name: 'general' },
    spec: { minSize: 1, maxSize: 10, desiredCapacity: 4, launchTemplate: { instanceType: 'c5.large' }, availabilityZones: ['us-east-1a', 'us-east-1b'] },
  });
  await settle();
  await clock.advance(30_000);
  await settle();
  const before = await snapshot(a);
  t.equal(before.instances.length, 4);
  t.equal(before.nodes.length, 4);
  await a.stop();

  const b = await boot();
  await settle();
  await clock.advance(60_000);
  await settle();
  t.same(await snapshot(b), before, 'no write at all: the catalogue, instances, statuses and Nodes are as they were');
  await b.stop();
});
