/**
 * Pod priority (https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/):
 * the `Priority` admission plugin, which resolves a new pod's `spec.priorityClassName` (or the
 * `globalDefault` class) to `spec.priority` and `spec.preemptionPolicy`, and PriorityClass
 * defaulting and validation — as kube-apiserver's plugin/pkg/admission/priority and
 * pkg/apis/scheduling/validation do.
 *
 * berth's Pod defaulting runs before admission and sets `spec.priority: 0` and
 * `spec.preemptionPolicy: PreemptLowerPriority`; so a zero priority or that policy is taken as "not
 * given", and only a non-zero priority or a `Never` policy that disagree with the class are refused.
 */
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, forbidden, type FieldError } from '../api/errors.js';
import type { KindHooks } from '../api/hooks.js';
import type { ResourceInfo } from '../api/resources.js';
import type { KubeObject, Pod } from '../api/types.js';
import { validateObjectMeta } from '../api/validation.js';
import type { AdmissionPlugin, AdmissionRequest, ObjectStore } from '../apiserver/store.js';

/** `scheduling.k8s.io/v1 PriorityClass`. */
export interface PriorityClass extends KubeObject {
  value: number;
  globalDefault?: boolean;
  description?: string;
  preemptionPolicy?: 'PreemptLowerPriority' | 'Never';
}

/** The classes every cluster has (kube-apiserver creates them at start; `scheduling.SystemPriorityClasses`). */
export const SYSTEM_PRIORITY_CLASSES: readonly PriorityClass[] = [
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-node-critical' },
    value: 2_000_001_000,
    description: 'Used for system critical pods that must not be moved from their current node.',
    preemptionPolicy: 'PreemptLowerPriority',
  },
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-cluster-critical' },
    value: 2_000_000_000,
    description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
    preemptionPolicy: 'PreemptLowerPriority',
  },
];

/** `scheduling.HighestUserDefinablePriority`: user classes may not go above one billion. */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;

/** The priority of a pod with no class when no class is `globalDefault`. */
export const DEFAULT_PRIORITY = 0;

const POLICIES = ['PreemptLowerPriority', 'Never'];

function isSystemClass(pc: PriorityClass): boolean {
  return SYSTEM_PRIORITY_CLASSES.some((s) => s.metadata.name === pc.metadata.name && s.value === pc.value && !pc.globalDefault);
}

/** PriorityClass defaulting and validation (`ValidatePriorityClass`, `ValidatePriorityClassUpdate`). */
export const priorityClassHooks: KindHooks = {
  default(obj) {
    const pc = obj as PriorityClass;
    pc.preemptionPolicy ??= 'PreemptLowerPriority';
  },
  validate(obj, old) {
    const pc = obj as PriorityClass;
    const errs: FieldError[] = validateObjectMeta(pc.metadata, false);
    const name = pc.metadata.name ?? '';
    if (pc.value === undefined || pc.value === null) errs.push(fieldRequired('value'));
    else if (!Number.isInteger(pc.value) || pc.value < -2_147_483_648 || pc.value > 2_147_483_647) errs.push(fieldInvalid('value', pc.value, 'must be a 32-bit integer'));
    else if (name.startsWith('system-')) {
      if (!isSystemClass(pc)) errs.push(fieldForbidden('metadata.name', "priority class names with 'system-' prefix are reserved"));
    } else if (pc.value > HIGHEST_USER_DEFINABLE_PRIORITY) {
      errs.push(fieldForbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
    }
    if (pc.globalDefault !== undefined && typeof pc.globalDefault !== 'boolean') errs.push(fieldInvalid('globalDefault', pc.globalDefault, 'must be a boolean'));
    if (pc.preemptionPolicy !== undefined && !POLICIES.includes(pc.preemptionPolicy)) errs.push(fieldNotSupported('preemptionPolicy', pc.preemptionPolicy, POLICIES));
    if (old) {
      const o = old as PriorityClass;
      if (o.value !== pc.value) errs.push(fieldForbidden('value', 'may not be changed in an update.'));
      if ((o.preemptionPolicy ?? 'PreemptLowerPriority') !== (pc.preemptionPolicy ?? 'PreemptLowerPriority')) errs.push(fieldInvalid('preemptionPolicy', pc.preemptionPolicy, 'field is immutable'));
    }
    return errs;
  },
};

/**
 * The `Priority` admission plugin over `store`. PriorityClasses are read through a cache the
 * store's commits keep fresh, so pod creation costs no extra read.
 */
export function priorityAdmission(store: ObjectStore): AdmissionPlugin {
  let cached: PriorityClass[] | undefined;
  store.onCommit((e) => {
    if (e.resource.group === 'scheduling.k8s.io' && e.resource.kind === 'PriorityClass') cached = undefined;
  });
  const classes = async (): Promise<PriorityClass[]> => {
    if (cached) return cached;
    const r = priorityClassResource(store);
    cached = r ? ((await store.list(r, undefined)).items as PriorityClass[]) : [];
    return cached;
  };
  /** The global default: the lowest-valued class marked `globalDefault`, as Kubernetes picks after a race. */
  const globalDefault = (all: PriorityClass[]): PriorityClass | undefined => {
    let d: PriorityClass | undefined;
    for (const pc of all) if (pc.globalDefault && (!d || pc.value < d.value)) d = pc;
    return d;
  };
  return {
    name: 'Priority',
    async admit(req: AdmissionRequest): Promise<void> {
      if (req.subresource || req.operation !== 'CREATE' || req.resource.group !== '' || req.resource.kind !== 'Pod' || !req.object) return;
      const pod = req.object as Pod;
      const spec = pod.spec;
      if (!spec) return;
      const all = await classes();
      let pc: PriorityClass | undefined;
      if (spec.priorityClassName) {
        pc = all.find((c) => c.metadata.name === spec.priorityClassName) ?? SYSTEM_PRIORITY_CLASSES.find((c) => c.metadata.name === spec.priorityClassName);
        if (!pc) throw forbidden('pods', req.name, `no PriorityClass with name ${spec.priorityClassName} was found`);
      } else {
        pc = globalDefault(all);
        if (pc) spec.priorityClassName = pc.metadata.name;
      }
      const priority = pc ? pc.value : DEFAULT_PRIORITY;
      if (spec.priority !== undefined && spec.priority !== 0 && spec.priority !== priority) {
        throw forbidden('pods', req.name, `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`);
      }
      spec.priority = priority;
      if (pc) {
        const policy = pc.preemptionPolicy ?? 'PreemptLowerPriority';
        if (spec.preemptionPolicy === 'Never' && policy !== 'Never') {
          throw forbidden('pods', req.name, `the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`);
        }
        spec.preemptionPolicy = policy;
      }
    },
    async validate(req: AdmissionRequest): Promise<void> {
      if (req.subresource || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return;
      if (req.resource.group !== 'scheduling.k8s.io' || req.resource.kind !== 'PriorityClass' || !req.object) return;
      const pc = req.object as PriorityClass;
      if (!pc.globalDefault) return;
      const other = globalDefault((await classes()).filter((c) => c.metadata.name !== pc.metadata.name));
      if (other) throw forbidden('priorityclasses', req.name, `PriorityClass ${other.metadata.name} is already marked as default. Only one default can exist`);
    },
  };
}

function priorityClassResource(store: ObjectStore): ResourceInfo | undefined {
  return store.registry.get('scheduling.k8s.io', 'v1', 'priorityclasses');
}

/** Creates the system PriorityClasses if they are missing (a cluster always has them). */
export async function ensureSystemPriorityClasses(store: ObjectStore): Promise<void> {
  const r = priorityClassResource(store);
  if (!r) return;
  for (const pc of SYSTEM_PRIORITY_CLASSES) {
    if (await store.tryGet(r, undefined, pc.metadata.name!)) continue;
    try {
      await store.create(r, undefined, structuredClone(pc) as KubeObject, { system: true });
    } catch (e) {
      if ((e as { reason?: string }).reason !== 'AlreadyExists') throw e;
    }
  }
}
