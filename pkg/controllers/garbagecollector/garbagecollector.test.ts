/**
 * Foreground deletion waits only for the dependents whose owner reference says
 * `blockOwnerDeletion: true`
 * (https://kubernetes.io/docs/concepts/architecture/garbage-collection/#foreground-deletion):
 * the owner keeps its `foregroundDeletion` finalizer while such a dependent exists, and goes as
 * soon as the blocking ones are gone, even if other dependents are still being deleted.
 */
import t, { type Test } from 'tap';
import type { KubeObject } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import { eventually, startTestApi, type TestApi } from '../../testing/api.js';
import { installControllers } from '../index.js';

const HOLD = 'example.com/hold';

async function cluster(t: Test): Promise<TestApi> {
  const c = await startTestApi();
  installControllers(c.mgr, ['garbagecollector']);
  await c.start();
  t.teardown(() => c.stop());
  return c;
}

/** A ConfigMap owned by `owner`, kept by a finalizer of ours until the test removes it. */
async function dependent(c: TestApi, name: string, owner: KubeObject, blockOwnerDeletion: boolean): Promise<void> {
  await c.client.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', finalizers: [HOLD], ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata.name!, uid: owner.metadata.uid!, blockOwnerDeletion }] },
  } as KubeObject);
}

const release = (c: TestApi, name: string) => c.client.patch(Kinds.ConfigMap, name, 'default', 'merge', { metadata: { finalizers: null } });
const exists = async (c: TestApi, name: string) => Boolean(await c.client.tryGet(Kinds.ConfigMap, name, 'default'));
const terminating = async (c: TestApi, name: string) => Boolean((await c.client.tryGet(Kinds.ConfigMap, name, 'default'))?.metadata.deletionTimestamp);

t.test('a blocking dependent holds its owner in foreground deletion; a non-blocking one does not', async (t) => {
  const c = await cluster(t);
  const owner = await c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner', namespace: 'default' } } as KubeObject);
  await dependent(c, 'blocking', owner, true);
  await dependent(c, 'free', owner, false);
  await c.client.delete(Kinds.ConfigMap, 'owner', 'default', { propagationPolicy: 'Foreground' });
  // The collector deletes both dependents; our finalizer keeps them, terminating.
  await eventually(async () => (await terminating(c, 'blocking')) && (await terminating(c, 'free')), 'both dependents being deleted');
  const held = await c.client.get(Kinds.ConfigMap, 'owner', 'default');
  t.ok(held.metadata.deletionTimestamp, 'the owner is being deleted');
  t.same(held.metadata.finalizers, ['foregroundDeletion'], 'held by foregroundDeletion while a blocking dependent exists');
  await release(c, 'blocking');
  await eventually(async () => !(await exists(c, 'owner')), 'the owner goes once the blocking dependent is gone');
  t.ok(await terminating(c, 'free'), 'the non-blocking dependent is still there, being deleted');
  await release(c, 'free');
  await eventually(async () => !(await exists(c, 'free')), 'the non-blocking dependent goes when released');
});

t.test('an owner whose only dependents do not block goes at once', async (t) => {
  const c = await cluster(t);
  const owner = await c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner2', namespace: 'default' } } as KubeObject);
  await dependent(c, 'loose', owner, false);
  await c.client.delete(Kinds.ConfigMap, 'owner2', 'default', { propagationPolicy: 'Foreground' });
  await eventually(async () => !(await exists(c, 'owner2')), 'the owner gone');
  await eventually(() => terminating(c, 'loose'), 'the dependent deleted too');
  await release(c, 'loose');
  await eventually(async () => !(await exists(c, 'loose')), 'the dependent gone when released');
  t.pass();
});
