import t from 'tap';
import type { Node, Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import type { AutoScalingGroup } from '../cloud/types.js';
import type { AutoscalingHandle } from '../autoscaling/install.js';
import { deployment, group, virtualCluster } from './vcluster.testutil.js';

const MIN = 60_000;

t.test('100 pods of 1 cpu: an empty group grows to the fewest nodes in under 5 virtual minutes, and back to minSize', async (t) => {
  const vc = await virtualCluster();
  t.teardown(() => vc.stop());
  const c = vc.cp.client;
  await vc.apply(group('workers', 'm5.xlarge'));
  await vc.run(3 * MIN);
  t.equal((await c.list<Node>(Kinds.Node)).items.length, 1, 'minSize: one node');
  await vc.apply(deployment('web', 100, '1'));
  const running = async () => (await c.list<Pod>(Kinds.Pod)).items.filter((p) => p.status?.phase === 'Running').length;
  const took = await vc.until(async () => (await running()) === 100, 5 * MIN);
  t.ok(took >= 0 && took < 5 * MIN, `all 100 pods running after ${took / 1000} virtual s`);
  // An m5.xlarge offers 3920m: three 1-cpu pods each, so 34 nodes is the lower bound.
  const nodes = (await c.list<Node>(Kinds.Node)).items.length;
  t.ok(nodes >= 34 && nodes <= 35, `${nodes} nodes (lower bound 34)`);
  const asg = await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'workers');
  t.match(asg.status?.activities?.at(-1)?.cause ?? '', /cluster-autoscaler scaled up for \d+ unschedulable pods/);

  // Scale to zero: after the 10-minute unneeded time the group goes back to minSize.
  await c.patch(Kinds.Deployment, 'web', 'default', 'merge', { spec: { replicas: 0 } });
  const back = await vc.until(async () => (await c.list<Node>(Kinds.Node)).items.length === 1, 30 * MIN);
  t.ok(back > 10 * MIN - 1 && back < 20 * MIN, `back to one node after ${back / 60000} virtual min`);
  const after = await c.get<AutoScalingGroup>(Kinds.AutoScalingGroup, 'workers');
  t.equal(after.spec.desiredCapacity, 1);
  const handle = vc.cp.handles.autoscaling as AutoscalingHandle;
  t.ok(handle.nodeAutoscaler, 'the node autoscaler is installed');
});

