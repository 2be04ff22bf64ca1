/**
 * Karpenter's API and behaviour in berth (see controller.ts), and the provisioning planner and
 * its benchmark (planner.ts, bench.ts). `installKarpenter(api, mgr, opts)` registers NodePool,
 * NodeClaim and EC2NodeClass with their validation and tables, and the Karpenter runnable.
 */
import { fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../api/errors.js';
import type { KindHooks } from '../api/hooks.js';
import { isObject } from '../api/meta.js';
import type { KubeObject } from '../api/types.js';
import { resourceAmount } from '../api/quantity.js';
import type { ApiServer } from '../apiserver/index.js';
import { age, col, type TablePrinter } from '../apiserver/tables.js';
import type { Catalog } from '../cloud/catalog.js';
import { ensureMarketSeed } from '../cloud/cost.js';
import type { Region } from '../cloud/network.js';
import { SpotMarket } from '../cloud/spot-market.js';
import type { Manager } from '../runtime/manager.js';
import { Karpenter } from './controller.js';
import { KARPENTER_AWS_GROUP, KARPENTER_GROUP, KARPENTER_RESOURCES, NODEPOOL_LABEL, parseKarpenterDuration, type NodeClaim, type NodePool } from './types.js';

export * from './types.js';
export * from './planner.js';
export { Karpenter, type KarpenterOptions } from './controller.js';
export { runProvisionerBench, runBenchProvisioner, benchTypes, benchPods, offeringOf, type ProvisionerBenchResult } from './bench.js';

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'];

/** Errors of a NodePool: requirement operators and values, budgets, durations, limits, weight (Karpenter's CRD validation). */
export function nodePoolErrors(obj: KubeObject): FieldError[] {
  const out: FieldError[] = [];
  const spec = obj.spec;
  if (!isObject(spec)) return [fieldRequired('spec')];
  const tmpl = spec.template;
  if (!isObject(tmpl) || !isObject(tmpl.spec)) return [fieldRequired('spec.template.spec')];
  const reqs = tmpl.spec.requirements;
  if (reqs !== undefined && !Array.isArray(reqs)) out.push(fieldInvalid('spec.template.spec.requirements', reqs, 'must be a list'));
  (Array.isArray(reqs) ? reqs : []).forEach((r: unknown, i) => {
    const p = `spec.template.spec.requirements[${i}]`;
    if (!isObject(r)) return void out.push(fieldInvalid(p, r, 'must be {key, operator, values}'));
    if (typeof r.key !== 'string' || !r.key) out.push(fieldRequired(`${p}.key`));
    if (!OPERATORS.includes(r.operator as string)) out.push(fieldNotSupported(`${p}.operator`, r.operator, OPERATORS));
    const values = r.values as unknown;
    if ((r.operator === 'In' || r.operator === 'NotIn') && (!Array.isArray(values) || !values.length)) out.push(fieldRequired(`${p}.values`, `operator ${String(r.operator)} needs values`));
    if ((r.operator === 'Gt' || r.operator === 'Lt') && (!Array.isArray(values) || values.length !== 1 || !/^\d+$/.test(String(values[0])))) out.push(fieldInvalid(`${p}.values`, values, `operator ${String(r.operator)} needs exactly one integer value`));
  });
  const d = spec.disruption;
  if (isObject(d)) {
    if (d.consolidationPolicy !== undefined && !['WhenEmptyOrUnderutilized', 'WhenEmpty'].includes(d.consolidationPolicy as string)) out.push(fieldNotSupported('spec.disruption.consolidationPolicy', d.consolidationPolicy, ['WhenEmptyOrUnderutilized', 'WhenEmpty']));
    try {
      parseKarpenterDuration(d.consolidateAfter as string | undefined, 0);
    } catch (e) {
      out.push(fieldInvalid('spec.disruption.consolidateAfter', d.consolidateAfter, (e as Error).message));
    }
    const budgets = d.budgets as unknown;
    (Array.isArray(budgets) ? budgets : []).forEach((b: unknown, i) => {
      const p = `spec.disruption.budgets[${i}]`;
      if (!isObject(b) || typeof b.nodes !== 'string' || !/^(\d+|\d+%)$/.test(b.nodes)) out.push(fieldInvalid(`${p}.nodes`, isObject(b) ? b.nodes : b, 'must be a count ("5") or a percentage ("10%")'));
      if (isObject(b) && (b.schedule === undefined) !== (b.duration === undefined)) out.push(fieldInvalid(p, b, 'schedule and duration go together'));
    });
  }
  const limits = spec.limits;
  if (isObject(limits))
    for (const [k, v] of Object.entries(limits)) {
      try {
        resourceAmount(k, v as string);
      } catch {
        out.push(fieldInvalid(`spec.limits.${k}`, v, 'must be a quantity'));
      }
    }
  if (spec.weight !== undefined && (typeof spec.weight !== 'number' || !Number.isInteger(spec.weight) || spec.weight < 1 || spec.weight > 100)) out.push(fieldInvalid('spec.weight', spec.weight, 'must be an integer from 1 to 100'));
  return out;
}

const nodePoolHooks: KindHooks = { validate: (obj) => nodePoolErrors(obj) };

/** The EC2NodeClass fields berth has nothing to do with: accepted, kept, and shown as not applicable. */
export const EC2NODECLASS_NOT_APPLICABLE = ['role', 'instanceProfile', 'subnetSelectorTerms', 'securityGroupSelectorTerms', 'amiSelectorTerms', 'amiFamily', 'userData', 'blockDeviceMappings', 'metadataOptions', 'tags', 'kubelet', 'associatePublicIPAddress', 'detailedMonitoring', 'instanceStorePolicy', 'capacityReservationSelectorTerms'];

const nodePoolTable: TablePrinter = {
  columns: [col('NodeClass', 'The EC2NodeClass.'), col('Nodes', 'NodeClaims of the pool.', 0, 'integer'), col('Weight', 'Higher pools are tried first.', 0, 'integer'), col('Age', '')],
  cells: (o, now) => {
    const p = o as NodePool;
    return [p.spec?.template?.spec?.nodeClassRef?.name ?? '', p.status?.nodes ?? 0, p.spec?.weight ?? 0, age(o, now)];
  },
};
const nodeClaimTable: TablePrinter = {
  columns: [col('Type', 'Instance type.'), col('Capacity', 'on-demand or spot.'), col('Zone', ''), col('Node', 'The Node it registered.'), col('Ready', ''), col('Age', ''), col('ID', 'Provider ID.', 1), col('NodePool', '', 1)],
  cells: (o, now) => {
    const c = o as NodeClaim;
    const req = (k: string): string => c.spec?.requirements?.find((r) => r.key === k)?.values?.[0] ?? '';
    return [req('node.kubernetes.io/instance-type'), req('karpenter.sh/capacity-type'), req('topology.kubernetes.io/zone'), c.status?.nodeName ?? '', c.status?.conditions?.find((x) => x.type === 'Ready')?.status ?? 'Unknown', age(o, now), c.status?.providerID ?? '', c.metadata.labels?.[NODEPOOL_LABEL] ?? ''];
  },
};
const ec2NodeClassTable: TablePrinter = {
  columns: [col('Ready', 'Always True: berth needs none of the AWS-side settings to launch.'), col('Not-Applicable', 'Fields berth accepts and keeps but does not model.'), col('Age', '')],
  cells: (o, now) => ['True', Object.keys(isObject(o.spec) ? o.spec : {}).filter((k) => EC2NODECLASS_NOT_APPLICABLE.includes(k)).join(',') || '<none>', age(o, now)],
};

export interface InstallKarpenterOptions {
  catalog: Catalog;
  region: Region;
  random: () => number;
  evict: (namespace: string, name: string) => Promise<unknown>;
  intervalSeconds?: number;
}

/** Registers the kinds, hooks and tables, and adds the Karpenter runnable to `mgr`. */
export async function installKarpenter(api: ApiServer, mgr: Manager, opts: InstallKarpenterOptions): Promise<Karpenter> {
  for (const r of KARPENTER_RESOURCES) if (!api.registry.get(r.group, r.version, r.resource)) api.registry.add(r);
  api.store.setHooks(KARPENTER_GROUP, 'NodePool', nodePoolHooks);
  api.tables.set(KARPENTER_GROUP, 'NodePool', nodePoolTable);
  api.tables.set(KARPENTER_GROUP, 'NodeClaim', nodeClaimTable);
  api.tables.set(KARPENTER_AWS_GROUP, 'EC2NodeClass', ec2NodeClassTable);
  // The same Spot market the cloud prices instances with: its seed is kept in the store.
  const market = new SpotMarket(await ensureMarketSeed(api, opts.random), opts.catalog);
  const k = new Karpenter(mgr, { ...opts, market });
  mgr.add(k);
  return k;
}
