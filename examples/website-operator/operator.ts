/**
 * An example operator written with berth's SDK (`import … from 'berth'`): for each
 * `example.com/v1 Website` (crd.yaml) it keeps a Deployment of `spec.image` with `spec.replicas`
 * pods and a ClusterIP Service on `spec.port`, both owned by the Website (deleting the Website
 * deletes them), and reports `status.availableReplicas`, `status.url` and a `Ready` condition.
 * A finalizer lets it record the Website's removal before the object goes.
 *
 * Run it against any berth server (or Kubernetes cluster):
 *
 * ```sh
 * kubectl apply -f examples/website-operator/crd.yaml
 * node dist/examples/website-operator/operator.js &      # uses $KUBECONFIG or ~/.berth/kubeconfig
 * kubectl apply -f examples/website-operator/website.yaml
 * kubectl get websites
 * ```
 */
import {
  addFinalizer,
  connect,
  controllerFor,
  createLogger,
  createOrUpdate,
  hasFinalizer,
  Kinds,
  Manager,
  RealClock,
  removeFinalizer,
  setControllerReference,
  type Condition,
  type Deployment,
  type KubeObject,
  type ReconcileContext,
  type Reconciler,
  type Result,
} from 'berth';

export const WEBSITE = { apiVersion: 'example.com/v1', kind: 'Website' } as const;
export const FINALIZER = 'example.com/website-cleanup';

export interface Website extends KubeObject {
  spec: { image: string; replicas?: number; port?: number; tier?: string };
  status?: { replicas?: number; availableReplicas?: number; selector?: string; url?: string; observedGeneration?: number; conditions?: Condition[] };
}

/** The labels of a Website's pods. */
function labelsFor(w: Website): Record<string, string> {
  return { 'app.kubernetes.io/name': 'website', 'app.kubernetes.io/instance': w.metadata.name! };
}

export class WebsiteReconciler implements Reconciler {
  async reconcile(ctx: ReconcileContext, key: string): Promise<Result | void> {
    const [namespace, name] = key.split('/') as [string, string];
    const w = await ctx.client.tryGet<Website>(WEBSITE, name, namespace);
    if (!w) return; // gone: what it owned is garbage-collected

    if (w.metadata.deletionTimestamp) {
      if (hasFinalizer(w, FINALIZER)) {
        ctx.recorder.event(w, 'Normal', 'Deleting', `Website ${name} is being deleted; its Deployment and Service go with it`);
        await removeFinalizer(ctx.client, w, FINALIZER);
      }
      return;
    }
    const site = await addFinalizer(ctx.client, w, FINALIZER);
    const labels = labelsFor(site);
    const port = site.spec.port ?? 80;

    const deployment: Deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace }, spec: { selector: { matchLabels: labels }, template: { spec: { containers: [] } } } };
    const { object: d, operation } = await createOrUpdate(ctx.client, deployment, (o) => {
      setControllerReference(site, o);
      o.metadata.labels = { ...(o.metadata.labels ?? {}), ...labels };
      o.spec.replicas = site.spec.replicas ?? 1;
      o.spec.selector = { matchLabels: labels };
      o.spec.template = {
        ...o.spec.template,
        metadata: { ...(o.spec.template.metadata ?? {}), labels },
        spec: { ...o.spec.template.spec, containers: [{ ...(o.spec.template.spec.containers[0] ?? {}), name: 'web', image: site.spec.image, ports: [{ containerPort: port, protocol: 'TCP' }] }] },
      };
    });
    if (operation !== 'unchanged') ctx.recorder.event(site, 'Normal', operation === 'created' ? 'Created' : 'Updated', `${operation === 'created' ? 'Created' : 'Updated'} Deployment ${name}`);

    await createOrUpdate(ctx.client, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: {} } as KubeObject, (o) => {
      setControllerReference(site, o);
      o.spec = { ...(o.spec as object), selector: labels, ports: [{ name: 'http', port, targetPort: port, protocol: 'TCP' }] };
    });

    const want = site.spec.replicas ?? 1;
    const available = (d.status?.availableReplicas as number | undefined) ?? 0;
    const ready = available >= want;
    const cond: Condition = ready
      ? { type: 'Ready', status: 'True', reason: 'Available', message: `${available}/${want} replicas available` }
      : { type: 'Ready', status: 'False', reason: 'Progressing', message: `${available}/${want} replicas available` };
    const prev = site.status?.conditions?.find((c) => c.type === 'Ready');
    const status: NonNullable<Website['status']> = {
      replicas: (d.status?.replicas as number | undefined) ?? 0,
      availableReplicas: available,
      selector: Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      url: `http://${name}.${namespace}.svc.cluster.local${port === 80 ? '' : `:${port}`}/`,
      observedGeneration: site.metadata.generation ?? 1,
      conditions: [{ ...cond, lastTransitionTime: prev && prev.status === cond.status ? prev.lastTransitionTime! : new Date(ctx.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z') }],
    };
    if (JSON.stringify(status) !== JSON.stringify(site.status)) await ctx.client.updateStatus({ ...site, status });
  }
}

/** Registers the Website controller with a manager: it watches Websites and the Deployments they own. */
export function installWebsiteOperator(mgr: Manager): void {
  controllerFor(mgr, WEBSITE).named('website').owns(Kinds.Deployment).complete(new WebsiteReconciler());
}

/** `node dist/examples/website-operator/operator.js`: runs the operator with leader election until SIGTERM. */
async function main(): Promise<void> {
  const client = connect();
  const mgr = new Manager({ client, clock: new RealClock(), log: createLogger(process.env.BERTH_LOG ?? 'info', 'website-operator'), leaderElection: { name: 'website-operator', namespace: 'default' } });
  installWebsiteOperator(mgr);
  const ac = new AbortController();
  process.once('SIGTERM', () => ac.abort());
  process.once('SIGINT', () => ac.abort());
  await mgr.start(ac.signal);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
