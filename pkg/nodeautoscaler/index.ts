/**
 * The node autoscaler (Cluster Autoscaler's semantics over Auto Scaling groups labelled
 * `k8s.io/cluster-autoscaler/enabled: "true"`; see autoscaler.ts) and the fit simulator it shares
 * with the Karpenter provisioner.
 *
 * ```ts
 * const ca = installNodeAutoscaler(api, mgr, { expanders: ['priority', 'least-waste'] });
 * ```
 */
import type { ApiServer } from '../apiserver/index.js';
import { evictPod } from '../apiserver/index.js';
import { catalog as defaultCatalog } from '../cloud/catalog.js';
import { DEFAULT_REGION } from '../cloud/network.js';
import { secureRandom } from '../cloud/types.js';
import type { Manager } from '../runtime/manager.js';
import { NodeAutoscaler, type NodeAutoscalerOptions } from './autoscaler.js';

export * from './autoscaler.js';
export * from './expanders.js';
export * from './simulator.js';
export { labelSelectorMatches } from './selectors.js';

/** Installs the node autoscaler on `mgr`; evictions go through `api`'s Eviction subresource logic (PDBs honoured). */
export function installNodeAutoscaler(api: ApiServer, mgr: Manager, opts: Partial<NodeAutoscalerOptions> = {}): NodeAutoscaler {
  const ca = new NodeAutoscaler(mgr, {
    catalog: opts.catalog ?? defaultCatalog(),
    region: opts.region ?? DEFAULT_REGION,
    random: opts.random ?? secureRandom,
    evict: opts.evict ?? ((ns, name) => evictPod(api.store, api.registry, ns, name, {})),
    ...opts,
  });
  mgr.add(ca);
  return ca;
}
