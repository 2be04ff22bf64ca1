/**
 * An operator written with @kubernetes/client-node 1.4.0 against the built `berth server` (a
 * separate process, with its kubeconfig loaded from the file as any client-node program does):
 * a CRD created through ApiextensionsV1Api, its objects through CustomObjectsApi (defaults,
 * pruning, 422 causes, JSON and merge patches, the status and scale subresources, field
 * selectors on selectable fields), an informer on the custom resource, a Job run to completion
 * by berth's controllers through BatchV1Api, and the operator's own child objects removed by the
 * garbage collector through the owner reference it set.
 */
import * as k8s from '@kubernetes/client-node';
import t from 'tap';
import { startServer, waitFor } from '../e2e/harness.js';

const GROUP = 'stable.example.com';
const VERSION = 'v1';
const PLURAL = 'crontabs';

/** The CronTab CRD of https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/, with defaults, subresources and a selectable field. */
/** Written with client-node's model names (`_default`, `x_kubernetes_preserve_unknown_fields`), which its serializer turns into the wire names. */
const CRD: k8s.V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${PLURAL}.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: PLURAL, singular: 'crontab', kind: 'CronTab', shortNames: ['ct'] },
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['cronSpec'],
                properties: {
                  cronSpec: { type: 'string', pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$' },
                  image: { type: 'string', _default: 'busybox' },
                  replicas: { type: 'integer', minimum: 1, maximum: 10, _default: 1 },
                  extra: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
                },
              },
              status: { type: 'object', properties: { replicas: { type: 'integer' }, labelSelector: { type: 'string' }, lastRun: { type: 'string' } } },
            },
          },
        },
        subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.labelSelector' } },
        additionalPrinterColumns: [{ name: 'Spec', type: 'string', jsonPath: '.spec.cronSpec' }],
        selectableFields: [{ jsonPath: '.spec.image' }],
      },
    ],
  },
};

type CronTab = k8s.KubernetesObject & { spec: { cronSpec: string; image?: string; replicas?: number; extra?: unknown; unknown?: unknown }; status?: { replicas?: number; labelSelector?: string } };

t.test('a client-node operator against the built berth server', { timeout: 60_000 }, async (t) => {
  const s = await startServer({ store: 'memory', timeScale: 20, bootDelay: 30 });
  t.teardown(() => s.stop());
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(s.kubeconfig);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);

  await t.test('CRD and CustomObjectsApi: defaults, pruning, validation, patches, subresources', async (t) => {
    await ext.createCustomResourceDefinition({ body: CRD });
    await waitFor(async () => (await ext.readCustomResourceDefinition({ name: CRD.metadata!.name! })).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'), 'the CRD Established', 10_000);

    const created = (await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: PLURAL,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'CronTab', metadata: { name: 'nightly' }, spec: { cronSpec: '0 3 * * *', unknown: 'dropped', extra: { any: { thing: 1 } } } },
    })) as CronTab;
    t.equal(created.spec.image, 'busybox', 'default applied');
    t.equal(created.spec.replicas, 1, 'default applied');
    t.notOk('unknown' in created.spec, 'unknown field pruned');
    t.same(created.spec.extra, { any: { thing: 1 } }, 'x-kubernetes-preserve-unknown-fields keeps the subtree');

    await t.rejects(
      custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'CronTab', metadata: { name: 'bad' }, spec: { cronSpec: 'every day', replicas: 11 } } }),
      { code: 422, body: /spec\.replicas: Invalid value: 11: spec\.replicas in body should be less than or equal to 10/ },
    );

    // client-node's patch default is a JSON patch; a merge patch is asked for with a header.
    const jsonPatched = (await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, name: 'nightly', body: [{ op: 'replace', path: '/spec/cronSpec', value: '0 4 * * *' }] })) as CronTab;
    t.equal(jsonPatched.spec.cronSpec, '0 4 * * *', 'JSON patch');
    const merged = (await custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, name: 'nightly', body: { spec: { image: 'alpine' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    )) as CronTab;
    t.equal(merged.spec.image, 'alpine', 'merge patch');
    t.equal(merged.spec.cronSpec, '0 4 * * *');
    await t.rejects(
      custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, name: 'nightly', body: { spec: { image: 'x' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch)),
      { code: 415 },
      'custom resources take no strategic merge patch, as in Kubernetes',
    );

    // The status subresource: the main resource ignores status; /status ignores spec.
    await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, name: 'nightly', body: { status: { replicas: 9 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    t.notOk(((await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, name: 'nightly' })) as CronTab).status?.replicas, 'status is not written through the main resource');
    const withStatus = (await custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, name: 'nightly', body: { status: { replicas: 1, labelSelector: 'app=nightly' }, spec: { image: 'ignored' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    )) as CronTab;
    t.same(withStatus.status, { replicas: 1, labelSelector: 'app=nightly' });
    t.equal(withStatus.spec.image, 'alpine', 'spec is not written through /status');

    // The scale subresource (what `kubectl scale` and an HPA use).
    const scale = (await custom.getNamespacedCustomObjectScale({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, name: 'nightly' })) as k8s.V1Scale;
    t.match(scale, { kind: 'Scale', spec: { replicas: 1 }, status: { replicas: 1, selector: 'app=nightly' } });
    await custom.replaceNamespacedCustomObjectScale({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, name: 'nightly', body: { ...scale, spec: { replicas: 3 } } });
    t.equal(((await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, name: 'nightly' })) as CronTab).spec.replicas, 3, 'scaled');

    // Selectable fields.
    await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'CronTab', metadata: { name: 'hourly' }, spec: { cronSpec: '0 * * * *' } } });
    const alpine = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, fieldSelector: 'spec.image=alpine' })) as k8s.KubernetesListObject<CronTab>;
    t.same(alpine.items.map((o) => o.metadata?.name), ['nightly']);
    await t.rejects(custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, fieldSelector: 'spec.cronSpec=x' }), { code: 400 }, 'a field that is not selectable');
    const all = (await custom.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural: PLURAL })) as k8s.KubernetesListObject<CronTab>;
    t.same(all.items.map((o) => o.metadata?.name).sort(), ['hourly', 'nightly']);
  });

  await t.test('an operator: informer on the custom resource, owned children, garbage collection', async (t) => {
    // The operator: for each CronTab, a ConfigMap holding its schedule, owned by the CronTab.
    const informer = k8s.makeInformer<CronTab>(kc, `/apis/${GROUP}/${VERSION}/namespaces/default/${PLURAL}`, async () =>
      (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL })) as k8s.KubernetesListObject<CronTab>,
    );
    const events: string[] = [];
    const reconcile = async (ct: CronTab): Promise<void> => {
      await objects.patch(
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `${ct.metadata!.name}-schedule`, namespace: 'default', ownerReferences: [{ apiVersion: ct.apiVersion!, kind: ct.kind!, name: ct.metadata!.name!, uid: ct.metadata!.uid!, controller: true, blockOwnerDeletion: true }] },
          data: { schedule: ct.spec.cronSpec },
        } as k8s.KubernetesObject,
        undefined,
        undefined,
        'crontab-operator',
        true,
        k8s.PatchStrategy.ServerSideApply,
      );
    };
    const failures: unknown[] = [];
    informer.on('add', (o) => {
      events.push(`ADDED ${o.metadata?.name}`);
      reconcile(o).catch((e: unknown) => failures.push(e));
    });
    informer.on('update', (o) => {
      events.push(`MODIFIED ${o.metadata?.name} ${o.spec.cronSpec}`);
      reconcile(o).catch((e: unknown) => failures.push(e));
    });
    informer.on('delete', (o) => events.push(`DELETED ${o.metadata?.name}`));
    informer.on('error', (e) => failures.push(e));
    await informer.start();
    t.teardown(() => informer.stop());

    const schedule = async (name: string): Promise<string | undefined> => {
      try {
        return (await core.readNamespacedConfigMap({ name: `${name}-schedule`, namespace: 'default' })).data?.schedule;
      } catch {
        return undefined;
      }
    };
    await waitFor(async () => (await schedule('nightly')) === '0 4 * * *' && (await schedule('hourly')) === '0 * * * *', 'a ConfigMap per CronTab', 10_000);
    await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, name: 'hourly', body: [{ op: 'replace', path: '/spec/cronSpec', value: '30 * * * *' }] });
    await waitFor(async () => (await schedule('hourly')) === '30 * * * *', 'the ConfigMap follows the change', 10_000);

    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURAL, name: 'hourly' });
    await waitFor(async () => (await schedule('hourly')) === undefined, 'the garbage collector removes the owned ConfigMap', 15_000);
    await waitFor(() => events.includes('DELETED hourly'), 'the informer sees the deletion', 10_000);
    t.same(events.filter((e) => e.startsWith('ADDED')).sort(), ['ADDED hourly', 'ADDED nightly']);
    t.ok(events.includes('MODIFIED hourly 30 * * * *'));
    t.same(failures, [], 'no reconcile or watch failed');
    t.equal(await schedule('nightly'), '0 4 * * *', 'the other CronTab keeps its ConfigMap');

    // Deleting the CRD deletes its objects (and so, through the garbage collector, their children).
    await ext.deleteCustomResourceDefinition({ name: CRD.metadata!.name! });
    await waitFor(async () => (await schedule('nightly')) === undefined, 'the CRD, its objects and their children gone', 15_000);
  });

  await t.test('BatchV1Api: a Job runs to completion on berth nodes; Watch sees its pod', async (t) => {
    await objects.create({
      apiVersion: 'autoscaling.berth.dev/v1',
      kind: 'AutoScalingGroup',
      metadata: { name: 'pool' },
      spec: { minSize: 1, maxSize: 1, desiredCapacity: 1, launchTemplate: { instanceType: 'm5.large' }, availabilityZones: ['us-east-1a'] },
    } as k8s.KubernetesObject);
    const phases: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch('/api/v1/namespaces/default/pods', { labelSelector: 'job-name=pi' }, (type, pod: k8s.V1Pod) => phases.push(`${type} ${pod.status?.phase}`), () => undefined);
    t.teardown(() => req.abort());
    await batch.createNamespacedJob({
      namespace: 'default',
      body: {
        metadata: { name: 'pi' },
        spec: { completions: 2, parallelism: 1, backoffLimit: 2, template: {
          // The simulated runtime's run time for the container (cluster seconds; the server runs 20x).
          metadata: { annotations: { 'sim.berth.dev/run-seconds': '10' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl', command: ['perl', '-e', 'print 3.14'] }] },
        } },
      },
    });
    const job = await waitFor(async () => {
      const j = await batch.readNamespacedJob({ name: 'pi', namespace: 'default' });
      return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
    }, 'the Job Complete', 25_000);
    t.equal(job.status?.succeeded, 2);
    t.ok(job.status?.completionTime, 'completionTime set');
    await waitFor(() => phases.filter((p) => p === 'MODIFIED Succeeded').length >= 2, 'the watch sees both pods succeed', 5_000);
    t.ok(phases.includes('ADDED Pending'), 'the watch saw a pod created');
  });
});
