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

t.test('warn and audit: pods and workload templates get warnings and audit annotations, enforce refuses only pods', async (t) => {
  const c = await cluster(t);
  await c.client.create(ns('pss-warn', { 'pod-security.kubernetes.io/warn': 'restricted', 'pod-security.kubernetes.io/audit': 'baseline', 'pod-security.kubernetes.io/audit-version': 'v1.30' }));
  const store = c.api.store;
  const pods = c.api.registry.get('', 'v1', 'pods')!;
  const deployments = c.api.registry.get('apps', 'v1', 'deployments')!;
  const cronjobs = c.api.registry.get('batch', 'v1', 'cronjobs')!;
  const restrictedWarning =
    'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), ' +
    'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), ' +
    'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")';

  // A plain pod: warned at restricted, within baseline so nothing to audit; it is stored.
  let out = { warnings: [] as string[], auditAnnotations: {} as Record<string, string> };
  await store.create(pods, 'pss-warn', pod('plain', 'pss-warn'), out);
  t.same(out.warnings, [restrictedWarning]);
  t.same(out.auditAnnotations, { 'pod-security.kubernetes.io/enforce-policy': 'privileged:latest' }, 'nothing to audit; the enforced level is recorded');
  t.ok(await c.client.tryGet(Kinds.Pod, 'plain', 'pss-warn'), 'warn does not refuse');

  // A privileged pod breaks baseline too: audited at the audit label's level and version.
  out = { warnings: [], auditAnnotations: {} };
  await store.create(pods, 'pss-warn', pod('priv', 'pss-warn', {}, { securityContext: { privileged: true } }), out);
  t.same(out.auditAnnotations, {
    'pod-security.kubernetes.io/audit-violations': 'would violate PodSecurity "baseline:v1.30": privileged (container "app" must not set securityContext.privileged=true)',
    'pod-security.kubernetes.io/enforce-policy': 'privileged:latest',
  });
  t.match(out.warnings[0], /^would violate PodSecurity "restricted:latest": privileged \(container "app" must not set securityContext.privileged=true\), allowPrivilegeEscalation != false/);

  // An update that changes only labels is not evaluated; one that changes the image is.
  out = { warnings: [], auditAnnotations: {} };
  const plain = (await c.client.get(Kinds.Pod, 'plain', 'pss-warn')) as Pod;
  await store.update(pods, 'pss-warn', 'plain', { ...plain, metadata: { ...plain.metadata, labels: { x: 'y' } } }, out);
  t.same(out.warnings, [], 'a metadata-only update is not evaluated');
  const relabelled = (await c.client.get(Kinds.Pod, 'plain', 'pss-warn')) as Pod;
  await store.update(pods, 'pss-warn', 'plain', { ...relabelled, spec: { ...relabelled.spec, containers: [{ ...relabelled.spec.containers[0]!, image: 'nginx:1.27' }] } }, out);
  t.same(out.warnings, [restrictedWarning], 'an image change is');

  // Workloads: the pod template is checked (warn, audit), never enforced.
  await c.client.patch(Kinds.Namespace, 'pss-warn', undefined, 'merge', { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
  const deploy: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'pss-warn' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.25-alpine' }] } } },
  };
  out = { warnings: [], auditAnnotations: {} };
  await store.create(deployments, 'pss-warn', deploy, out);
  t.same(out.warnings, [restrictedWarning], 'a Deployment is warned about, not refused, under enforce=restricted');
  const cron: KubeObject = {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'nightly', namespace: 'pss-warn' },
    spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'busybox', securityContext: { privileged: true } }] } } } } },
  };
  out = { warnings: [], auditAnnotations: {} };
  await store.create(cronjobs, 'pss-warn', cron, out);
  t.match(out.auditAnnotations['pod-security.kubernetes.io/audit-violations'], /^would violate PodSecurity "baseline:v1.30": privileged/, 'a CronJob job template is audited');
  // The pods themselves are refused under enforce, and a refused request carries no warning.
  out = { warnings: [], auditAnnotations: {} };
  await t.rejects(store.create(pods, 'pss-warn', pod('refused', 'pss-warn'), out), { code: 403 });
  t.same(out.warnings, [], 'no warning on a request that is refused');
  t.equal(out.auditAnnotations['pod-security.kubernetes.io/enforce-policy'], 'restricted:latest', 'the refusal is audited with the level');
  // A scale of the Deployment leaves the template alone: nothing to say.
  out = { warnings: [], auditAnnotations: {} };
  const d = await c.client.get(Kinds.Deployment, 'web', 'pss-warn');
  await store.update(deployments, 'pss-warn', 'web', { ...d, spec: { ...(d.spec as object), replicas: 3 } }, out);
  t.same(out.warnings, [], 'an update that keeps the pod template is not evaluated');
});

t.test('tightening a Namespace enforce label warns about the pods already there', async (t) => {
  const c = await cluster(t);
  await c.client.create(ns('legacy', {}));
  for (const n of ['b-web', 'a-web', 'c-web']) await c.client.create(pod(n, 'legacy'));
  await c.client.create(pod('priv', 'legacy', {}, { securityContext: { privileged: true } }));
  await c.client.create(pod('ok', 'legacy', {}, RESTRICTED_OK));
  const namespaces = c.api.registry.get('', 'v1', 'namespaces')!;
  const out = { warnings: [] as string[] };
  await c.api.store.patch(namespaces, undefined, 'legacy', 'merge', { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } }, out);
  t.same(out.warnings, ['existing pods in namespace "legacy" violate the new PodSecurity enforce level "baseline:latest"', 'priv: privileged']);
  const out2 = { warnings: [] as string[] };
  await c.api.store.patch(namespaces, undefined, 'legacy', 'merge', { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } }, out2);
  t.same(out2.warnings, [
    'existing pods in namespace "legacy" violate the new PodSecurity enforce level "restricted:latest"',
    'a-web (and 2 other pods): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile',
    'priv: privileged, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile',
  ]);
  const same = { warnings: [] as string[] };
  await c.api.store.patch(namespaces, undefined, 'legacy', 'merge', { metadata: { labels: { team: 'x' } } }, same);
  t.same(same.warnings, [], 'no warning when the enforce level does not change');
});
