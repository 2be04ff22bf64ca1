/**
 * The `autoscaling` component of the control plane: the node autoscaler (pkg/nodeautoscaler),
 * Karpenter's provisioner and consolidation (pkg/karpenter) and the Auto Scaling groups' scaling
 * policies and scheduled actions (this folder).
 */
import type { ApiServer } from '../apiserver/index.js';
import type { Catalog } from '../cloud/catalog.js';
import { catalog as defaultCatalog } from '../cloud/catalog.js';
import { seededRandom } from '../clock/random.js';
import type { Manager } from '../runtime/manager.js';
import { installNodeAutoscaler, type NodeAutoscaler, type NodeAutoscalerOptions } from '../nodeautoscaler/index.js';
import { installKarpenter, type Karpenter } from '../karpenter/index.js';
import { evictPod } from '../apiserver/index.js';
import { DEFAULT_REGION, type Region } from '../cloud/network.js';
import { AUTOSCALING_GROUP } from '../cloud/types.js';
import { POLICY_RESOURCES, PolicyRunner, scalingPolicyHooks, scheduledActionHooks } from './policies.js';

export interface AutoscalingOptions {
  /** The node autoscaler's options (scan interval, expanders, scale-down thresholds); `false` leaves it out. */
  nodeAutoscaler?: Partial<NodeAutoscalerOptions> | false;
  catalog?: Catalog;
  /** Seed of the random expander's and Karpenter's choices (default 1, so simulations repeat). */
  seed?: number;
  /** Karpenter's round interval in seconds (default 5); `false` leaves Karpenter out. */
  karpenter?: { intervalSeconds?: number } | false;
  region?: Region;
}

export interface AutoscalingHandle {
  nodeAutoscaler?: NodeAutoscaler;
  karpenter?: Karpenter;
  policies: PolicyRunner;
}

/** Installs the node autoscaler, Karpenter and the scaling policies. */
export async function installAutoscaling(api: ApiServer, mgr: Manager, opts: AutoscalingOptions = {}): Promise<AutoscalingHandle> {
  const catalog = opts.catalog ?? defaultCatalog();
  const random = seededRandom(opts.seed ?? 1);
  for (const r of POLICY_RESOURCES) if (!api.registry.get(r.group, r.version, r.resource)) api.registry.add(r);
  api.store.setHooks(AUTOSCALING_GROUP, 'ScalingPolicy', scalingPolicyHooks);
  api.store.setHooks(AUTOSCALING_GROUP, 'ScheduledAction', scheduledActionHooks);
  const policies = new PolicyRunner(mgr);
  mgr.add(policies);
  const handle: AutoscalingHandle = { policies };
  if (opts.nodeAutoscaler !== false) handle.nodeAutoscaler = installNodeAutoscaler(api, mgr, { catalog, random, ...(opts.nodeAutoscaler ?? {}) });
  if (opts.karpenter !== false) {
    handle.karpenter = await installKarpenter(api, mgr, {
      catalog,
      region: opts.region ?? DEFAULT_REGION,
      random: seededRandom((opts.seed ?? 1) + 1),
      evict: (ns, name) => evictPod(api.store, api.registry, ns, name, {}),
      ...(opts.karpenter?.intervalSeconds !== undefined ? { intervalSeconds: opts.karpenter.intervalSeconds } : {}),
    });
  }
  return handle;
}
