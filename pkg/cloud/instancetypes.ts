/**
 * The catalogue as `ec2.berth.dev/v1 InstanceType` objects, so `kubectl get instancetypes -l
 * family=c` (the series), `-l instance-family=m5` and `kubectl get it m5.large -o yaml` answer from
 * the API. The kind is read-only:
 * only berth writes it, at startup, with `{system: true}`.
 */
import { isAlreadyExists } from '../api/errors.js';
import { deepEqual } from '../api/meta.js';
import type { KubeObject, ResourceList } from '../api/types.js';
import type { ApiServer } from '../apiserver/index.js';
import { nodeResources } from './allocatable.js';
import type { Catalog, InstanceTypeInfo } from './catalog.js';
import { instanceSeries } from './families.js';
import { EC2_GROUP } from './types.js';
import { CLOUD_RESOURCES } from './resources.js';

/** The catalogue's facts (everything but the name), plus the Node resources an instance of the type registers with. */
export interface InstanceTypeSpec extends Omit<InstanceTypeInfo, 'name'> {
  /** What a Node of this type reports as capacity (allocatable.ts). */
  nodeCapacity: ResourceList;
  /** Capacity less the EKS AMI's kube-reserved and eviction thresholds. */
  nodeAllocatable: ResourceList;
}

export interface InstanceTypeObject extends KubeObject {
  spec: InstanceTypeSpec;
}

/** A label value from free text: characters labels allow, at most 63, alphanumeric at both ends. */
function labelValue(s: string): string {
  return s
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

/** The generation digit(s) in a family name: `c5` → `5`, `m7i` → `7`, `x2idn` → `2`; '' if none. */
export function familyGeneration(family: string): string {
  return /\d+/.exec(family)?.[0] ?? '';
}

/**
 * Labels of an InstanceType: `family` (the series letters, as people say "the c family": c, m, r,
 * t, x, p, g, inf, trn, i, d), `instance-family` (`c5`, EC2's and Karpenter's sense),
 * `category`, `size`, `arch` (EC2's names: x86_64, arm64), and numeric facts under
 * `ec2.berth.dev/` (vcpu, memory-mib, gpu-count, max-pods, …), so label selectors can pick types.
 */
export function instanceTypeLabels(t: InstanceTypeInfo): Record<string, string> {
  const labels: Record<string, string> = {
    family: instanceSeries(t.family),
    'instance-family': t.family,
    category: t.category,
    size: t.size,
    arch: t.arch,
    [`${EC2_GROUP}/vcpu`]: String(t.vcpu),
    [`${EC2_GROUP}/memory-mib`]: String(t.memoryMiB),
    [`${EC2_GROUP}/gpu-count`]: String(t.gpuCount),
    [`${EC2_GROUP}/accelerator-count`]: String(t.acceleratorCount),
    [`${EC2_GROUP}/local-storage-gb`]: String(t.localNvmeGB),
    [`${EC2_GROUP}/max-pods`]: String(t.maxPods),
    [`${EC2_GROUP}/bare-metal`]: String(t.bareMetal),
  };
  const generation = familyGeneration(t.family);
  if (generation) labels[`${EC2_GROUP}/generation`] = generation;
  if (t.gpuModel) labels[`${EC2_GROUP}/gpu-model`] = labelValue(t.gpuModel);
  if (t.acceleratorModel) labels[`${EC2_GROUP}/accelerator-model`] = labelValue(t.acceleratorModel);
  return labels;
}

/** The InstanceType object of a catalogue entry. */
export function instanceTypeObject(t: InstanceTypeInfo): InstanceTypeObject {
  const { name, ...facts } = t;
  const { capacity, allocatable } = nodeResources(t);
  return {
    apiVersion: `${EC2_GROUP}/v1`,
    kind: 'InstanceType',
    metadata: { name, labels: instanceTypeLabels(t) },
    spec: { ...facts, nodeCapacity: capacity, nodeAllocatable: allocatable },
  };
}

/**
 * Writes the catalogue into the store: creates missing types and updates changed ones, so a
 * restart over the same store writes nothing. Returns how many were created and updated.
 * Types that left the catalogue stay (the store refuses to delete read-only kinds).
 */
export async function seedInstanceTypes(api: ApiServer, cat: Catalog): Promise<{ created: number; updated: number }> {
  let r = api.registry.get(EC2_GROUP, 'v1', 'instancetypes');
  if (!r) {
    r = CLOUD_RESOURCES.find((x) => x.resource === 'instancetypes')!;
    api.registry.add(r);
  }
  const existing = new Map((await api.store.list(r, undefined)).items.map((o) => [o.metadata.name!, o]));
  let created = 0;
  let updated = 0;
  for (const t of cat.list()) {
    const want = instanceTypeObject(t);
    const have = existing.get(t.name);
    if (!have) {
      try {
        await api.store.create(r, undefined, want, { system: true });
        created++;
      } catch (e) {
        // Another server on the same store (etcd) seeded it at the same time.
        if (!isAlreadyExists(e)) throw e;
      }
    } else if (!deepEqual(have.spec, want.spec) || !deepEqual(have.metadata.labels, want.metadata.labels)) {
      await api.store.update(r, undefined, t.name, { ...have, metadata: { ...have.metadata, labels: want.metadata.labels! }, spec: want.spec }, { system: true });
      updated++;
    }
  }
  return { created, updated };
}
