/**
 * ServiceAccount admission: a pod may only name a ServiceAccount that exists in its namespace
 * (https://kubernetes.io/docs/concepts/security/service-accounts/); with the ServiceAccount
 * controller running, a new namespace's pods can use `default` at once.
 */
import t from 'tap';
import type { Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { installControllers } from '../controllers/index.js';
import { VirtualClock } from '../clock/clock.js';
import { startTestApi } from '../testing/api.js';
import { installAdmission } from './index.js';

const pod = (name: string, namespace: string, serviceAccountName?: string): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace },
  spec: { ...(serviceAccountName ? { serviceAccountName } : {}), containers: [{ name: 'c', image: 'nginx' }] } as Pod['spec'],
});

t.test('a pod naming a missing ServiceAccount is refused; once it exists the pod is admitted', async (t) => {
  const c = await startTestApi({ clock: new VirtualClock() });
  installAdmission(c.api);
  installControllers(c.mgr, ['serviceaccount']);
  await c.start();
  t.teardown(() => c.stop());
  await t.rejects(c.client.create(pod('build', 'default', 'builder')), {
    code: 403,
    reason: 'Forbidden',
    message: 'pods "build" is forbidden: error looking up service account default/builder: serviceaccount "builder" not found',
  });
  t.notOk(await c.client.tryGet(Kinds.Pod, 'build', 'default'), 'nothing stored');
  await c.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: 'default' } });
  const p = await c.client.create(pod('build', 'default', 'builder'));
  t.equal(p.spec.serviceAccountName, 'builder');
  // The default ServiceAccount: a fresh namespace's pods are admitted.
  await c.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fresh' } });
  const q = await c.client.create(pod('web', 'fresh'));
  t.equal(q.spec.serviceAccountName, 'default');
});
