/**
 * PodDisruptionBudget status, worked out as https://kubernetes.io/docs/tasks/run-application/configure-pdb/
 * describes ("Think about how your application reacts to disruptions"): pods are marked Ready
 * here by the test, as a kubelet would.
 */
import t from 'tap';
import type { Deployment, KubeObject, Pod } from '../../api/types.js';
import { rfc3339 } from '../../clock/clock.js';
import { Kinds } from '../../client/client.js';
import { virtualCluster, type VirtualCluster } from '../testcluster.js';
import type { PodDisruptionBudget } from '../types.js';
import { scaled } from './disruption.js';

function zk(replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'zk', namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app: 'zookeeper' } }, template: { metadata: { labels: { app: 'zookeeper' } }, spec: { containers: [{ name: 'zk', image: 'zookeeper' }] } } },
  };
}

function pdb(name: string, spec: Partial<PodDisruptionBudget['spec']>): PodDisruptionBudget {
  return { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: 'default' }, spec: { selector: { matchLabels: { app: 'zookeeper' } }, ...spec } };
}

async function markReady(c: VirtualCluster, n: number): Promise<void> {
  const pods = (await c.pods('default', 'app=zookeeper')).filter((p) => p.status?.phase !== 'Running').slice(0, n);
  for (const p of pods) {
    await c.client.updateStatus({ ...p, status: { ...p.status, phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: rfc3339(c.clock.now()) }] } } as KubeObject);
  }
}

const status = async (c: VirtualCluster, name: string): Promise<PodDisruptionBudget['status']> => (await c.client.get<PodDisruptionBudget>(Kinds.PodDisruptionBudget, name, 'default')).status;

t.test('minAvailable, maxUnavailable and percentages against a 3-replica Deployment', async (t) => {
  const c = await virtualCluster(t, { run: false, controllers: ['deployment', 'replicaset', 'disruption'] });
  await c.client.create(zk(3));
  await c.until(async () => (await c.pods('default', 'app=zookeeper')).length === 3, 'three pods');
  await c.client.create(pdb('min2', { minAvailable: 2 }));
  await c.client.create(pdb('max1', { maxUnavailable: 1 }));
  await c.client.create(pdb('min50', { minAvailable: '50%' }));
  await c.client.create(pdb('max34', { maxUnavailable: '34%' }));
  await markReady(c, 2);
  await c.advance(1000);
  // Two of three Ready. min2: desired 2 → 0 allowed; max1: expected 3 (the Deployment's replicas), desired 2 → 0.
  t.match(await status(c, 'min2'), { expectedPods: 3, desiredHealthy: 2, currentHealthy: 2, disruptionsAllowed: 0, conditions: [{ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' }] });
  t.match(await status(c, 'max1'), { expectedPods: 3, desiredHealthy: 2, currentHealthy: 2, disruptionsAllowed: 0 });
  await markReady(c, 1);
  await c.advance(1000);
  t.match(await status(c, 'min2'), { currentHealthy: 3, disruptionsAllowed: 1, conditions: [{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' }] });
  t.match(await status(c, 'max1'), { desiredHealthy: 2, disruptionsAllowed: 1 });
  // 50% of 3 rounds up to 2; 34% of 3 is 1.02, rounded up to 2 unavailable → desired 1.
  t.match(await status(c, 'min50'), { expectedPods: 3, desiredHealthy: 2, disruptionsAllowed: 1 });
  t.match(await status(c, 'max34'), { expectedPods: 3, desiredHealthy: 1, disruptionsAllowed: 2 });
  // Scaling the Deployment moves expectedPods even before the pods exist.
  await c.client.patch(Kinds.Deployment, 'zk', 'default', 'merge', { spec: { replicas: 5 } });
  await c.until(async () => (await status(c, 'max1'))?.expectedPods === 5, 'expectedPods 5');
  t.match(await status(c, 'max1'), { desiredHealthy: 4, currentHealthy: 3, disruptionsAllowed: 0 });
  t.equal(scaled('25%', 10), 3);
});

t.test('an eviction recorded in disruptedPods counts as unhealthy for 2 minutes', async (t) => {
  const c = await virtualCluster(t, { run: false, controllers: ['deployment', 'replicaset', 'disruption'] });
  await c.client.create(zk(3));
  await c.until(async () => (await c.pods('default', 'app=zookeeper')).length === 3, 'three pods');
  await markReady(c, 3);
  await c.client.create(pdb('min2', { minAvailable: 2 }));
  await c.until(async () => (await status(c, 'min2'))?.disruptionsAllowed === 1, 'one disruption allowed');
  const victim = (await c.pods('default', 'app=zookeeper'))[0] as Pod;
  // What the Eviction API writes before deleting a pod.
  await c.client.modify<PodDisruptionBudget>(Kinds.PodDisruptionBudget, 'min2', 'default', (cur) => ({ ...cur, status: { ...cur.status!, disruptionsAllowed: 0, disruptedPods: { [victim.metadata.name!]: rfc3339(c.clock.now()) } } }), { status: true });
  await c.advance(1000);
  t.match(await status(c, 'min2'), { currentHealthy: 2, disruptionsAllowed: 0 }, 'the pod about to go does not count');
  await c.advance(120_000);
  t.match(await status(c, 'min2'), { currentHealthy: 3, disruptionsAllowed: 1 }, 'forgotten after 2 minutes when the pod was never deleted');
  t.notOk((await status(c, 'min2'))?.disruptedPods);
});

t.test('a bare pod under a percentage budget cannot be counted', async (t) => {
  const c = await virtualCluster(t, { run: false, controllers: ['disruption'] });
  await c.client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'lone', namespace: 'default', labels: { app: 'zookeeper' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } as KubeObject);
  await c.client.create(pdb('pct', { maxUnavailable: '10%' }));
  await c.until(async () => (await status(c, 'pct'))?.conditions?.length, 'a condition');
  t.match(await status(c, 'pct'), { disruptionsAllowed: 0, conditions: [{ type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: 'found no controller ref for pod "lone"' }] });
});
