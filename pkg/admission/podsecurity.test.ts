/**
 * PodSecurity admission against an in-process API server: namespaces labelled with
 * `pod-security.kubernetes.io/enforce` refuse pods that break their level, with the messages of
 * https://kubernetes.io/docs/tutorials/security/ns-level-pss/ and
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/.
 */
import t, { type Test } from 'tap';
import type { KubeObject, Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { VirtualClock } from '../clock/clock.js';
import { startTestApi, type TestApi } from '../testing/api.js';
import { installAdmission } from './index.js';
import { podSecurityViolations } from './podsecurity.js';

async function cluster(t: Test): Promise<TestApi> {
  const c = await startTestApi({ clock: new VirtualClock() });
  installAdmission(c.api);
  await c.start();
  t.teardown(() => c.stop());
  return c;
}

const ns = (name: string, labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const pod = (name: string, namespace: string, spec: Partial<Pod['spec']> = {}, container: Record<string, unknown> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace },
  spec: { containers: [{ name: 'app', image: 'nginx:1.25-alpine', ...container }], ...spec } as Pod['spec'],
});

/** A pod that meets the restricted level. */
const RESTRICTED_OK = {
  securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 1000, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, seccompProfile: { type: 'RuntimeDefault' } },
};

t.test('restricted: a bare pod is refused with every reason, a hardened one is admitted', async (t) => {
  const c = await cluster(t);
  await c.client.create(ns('pss-lab', { 'pod-security.kubernetes.io/enforce': 'restricted' }));
  await t.rejects(c.client.create(pod('bad-pod', 'pss-lab')), {
    code: 403,
    reason: 'Forbidden',
    message:
      'pods "bad-pod" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  });
  t.notOk(await c.client.tryGet(Kinds.Pod, 'bad-pod', 'pss-lab'), 'nothing stored');
  const ok = await c.client.create(pod('good-pod', 'pss-lab', {}, RESTRICTED_OK));
  t.ok(ok.metadata.uid, 'the hardened pod is admitted');
  // Pod-level settings count for every container.
  const podLevel = await c.client.create(
    pod('pod-level', 'pss-lab', { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } } as Partial<Pod['spec']>, {
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    }),
  );
  t.ok(podLevel.metadata.uid, 'runAsNonRoot and seccompProfile may be set on the pod');
  // The version label is named in the message; a privileged container fails baseline's check too.
  await c.client.patch(Kinds.Namespace, 'pss-lab', undefined, 'merge', { metadata: { labels: { 'pod-security.kubernetes.io/enforce-version': 'v1.30' } } });
  await t.rejects(c.client.create(pod('priv', 'pss-lab', {}, { securityContext: { ...RESTRICTED_OK.securityContext, privileged: true, runAsUser: 0 } })), {
    code: 403,
    message: 'pods "priv" is forbidden: violates PodSecurity "restricted:v1.30": privileged (container "app" must not set securityContext.privileged=true), runAsUser=0 (container "app" must not set runAsUser=0)',
  });
});

t.test('baseline: host namespaces, privileged, hostPath and hostPort are refused; an ordinary pod is admitted', async (t) => {
  const c = await cluster(t);
  await c.client.create(ns('team', { 'pod-security.kubernetes.io/enforce': 'baseline' }));
  await t.rejects(
    c.client.create(
      pod('node-debugger', 'team', { hostNetwork: true, hostPID: true, volumes: [{ name: 'host', hostPath: { path: '/' } }] } as Partial<Pod['spec']>, {
        securityContext: { privileged: true },
        ports: [{ containerPort: 80, hostPort: 8080 }],
      }),
    ),
    {
      code: 403,
      message:
        'pods "node-debugger" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true, hostPID=true), hostPath volumes (volume "host"), ' +
        'hostPort (container "app" uses hostPort 8080), privileged (container "app" must not set securityContext.privileged=true)',
    },
  );
  t.ok((await c.client.create(pod('web', 'team'))).metadata.uid, 'a pod with no special settings meets baseline');
  // Unlabelled namespaces are privileged: anything goes.
  t.ok((await c.client.create(pod('anything', 'default', { hostNetwork: true } as Partial<Pod['spec']>, { securityContext: { privileged: true } }))).metadata.uid);
});

t.test('invalid pod-security labels on a Namespace are refused', async (t) => {
  const c = await cluster(t);
  await t.rejects(c.client.create(ns('typo', { 'pod-security.kubernetes.io/enforce': 'restricted-ish' })), {
    code: 422,
    message: /metadata\.labels\[pod-security\.kubernetes\.io\/enforce\]: Invalid value: "restricted-ish": must be one of privileged, baseline, restricted/,
  });
  await c.client.create(ns('fine', { 'pod-security.kubernetes.io/enforce': 'baseline' }));
  await t.rejects(c.client.patch(Kinds.Namespace, 'fine', undefined, 'merge', { metadata: { labels: { 'pod-security.kubernetes.io/warn-version': '1.30' } } }), { code: 422, message: /warn-version\]: Invalid value: "1\.30"/ });
});

t.test('check arithmetic: capabilities, volumes, sysctls, several containers', async (t) => {
  const spec = {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, sysctls: [{ name: 'net.ipv4.tcp_syncookies', value: '1' }, { name: 'kernel.msgmax', value: '1' }] },
    volumes: [{ name: 'data', emptyDir: {} }, { name: 'nfs', nfs: { server: 'x', path: '/' } }],
    initContainers: [{ name: 'init', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } } }],
    containers: [
      { name: 'a', securityContext: { capabilities: { add: ['CHOWN'] } } },
      { name: 'b', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'Unconfined' } } },
    ],
  };
  t.same(
    podSecurityViolations(spec, 'baseline').map((v) => `${v.reason} (${v.detail})`),
    ['non-default capabilities (container "init" must not include "NET_ADMIN" in securityContext.capabilities.add)', 'seccompProfile (container "b" must not set securityContext.seccompProfile.type to "Unconfined")', 'forbidden sysctls (kernel.msgmax)'],
  );
  t.same(
    podSecurityViolations(spec, 'restricted').map((v) => `${v.reason} (${v.detail})`),
    [
      'forbidden sysctls (kernel.msgmax)',
      'allowPrivilegeEscalation != false (container "a" must set securityContext.allowPrivilegeEscalation=false)',
      'unrestricted capabilities (container "a" must set securityContext.capabilities.drop=["ALL"]; containers "init", "a" must not include "NET_ADMIN", "CHOWN" in securityContext.capabilities.add)',
      'restricted volume types (volume "nfs" uses restricted volume type "nfs")',
      'seccompProfile (container "b" must not set securityContext.seccompProfile.type to "Unconfined")',
    ],
  );
  t.same(podSecurityViolations(spec, 'privileged'), []);
});
