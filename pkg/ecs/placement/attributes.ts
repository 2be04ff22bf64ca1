/**
 * The contract between pkg/ecs and the placement plugins (/tmp/berth-team/ECS-CONTRACT.md): the
 * labels and annotations an ECS task's Pod carries, and a container instance's ECS attributes
 * read from its Node.
 */
import type { Node } from '../../api/types.js';

/** Pod label: the ECS cluster (also the nodeSelector of EC2 tasks, and a container instance's Node label). */
export const CLUSTER_LABEL = 'ecs.berth.dev/cluster';
/** Pod label (sanitized: `service:web` → `service.web`) and annotation (as written) of the task's group. */
export const GROUP_KEY = 'ecs.berth.dev/group';
/** Pod annotation: the placement strategies, a JSON array as the ECS API takes them. */
export const PLACEMENT_STRATEGY_ANNOTATION = 'ecs.berth.dev/placement-strategy';
/** Pod annotation: the placement constraints, a JSON array as the ECS API takes them. */
export const PLACEMENT_CONSTRAINTS_ANNOTATION = 'ecs.berth.dev/placement-constraints';
/** Pod annotation: the capacity provider the task was placed with (`FARGATE`, `FARGATE_SPOT`, or an Auto Scaling group provider). */
export const CAPACITY_PROVIDER_ANNOTATION = 'ecs.berth.dev/capacity-provider';
/** Pod annotation of a Fargate task: its task-level size, `"<cpu units>/<memory MiB>"`, e.g. `"1024/2048"`. */
export const FARGATE_SIZE_ANNOTATION = 'ecs.berth.dev/fargate-size';
/** Node label prefix of custom attributes: `attribute.ecs.berth.dev/stack: prod` is the attribute `stack`. */
export const CUSTOM_ATTRIBUTE_PREFIX = 'attribute.ecs.berth.dev/';
/** Node label or annotation berth reads `ecs.ami-id` from, when present. */
export const AMI_ID_KEY = 'ecs.berth.dev/ami-id';

/** Built-in attributes and the well-known Node labels they come from (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-constraints.html#attributes). */
const FROM_LABELS: readonly [string, string][] = [
  ['ecs.instance-type', 'node.kubernetes.io/instance-type'],
  ['ecs.availability-zone', 'topology.kubernetes.io/zone'],
  ['ecs.cpu-architecture', 'kubernetes.io/arch'],
  ['ecs.os-type', 'kubernetes.io/os'],
];

/**
 * The ECS attributes of a container instance's Node, by name (as `attribute:<name>` refers to
 * them): `ecs.instance-type` ← `node.kubernetes.io/instance-type`, `ecs.availability-zone` ←
 * `topology.kubernetes.io/zone`, `ecs.cpu-architecture` ← `kubernetes.io/arch` (`amd64` is
 * reported as ECS's `x86_64`), `ecs.os-type` ← `kubernetes.io/os`, `ecs.ami-id` ← the label or
 * annotation `ecs.berth.dev/ami-id`, and custom attributes from labels
 * `attribute.ecs.berth.dev/<name>: <value>`. Absent labels give absent attributes.
 */
export function ecsAttributes(node: Node): Record<string, string> {
  const labels = node.metadata.labels ?? {};
  const out: Record<string, string> = {};
  for (const [attr, label] of FROM_LABELS) {
    const v = labels[label];
    if (v !== undefined) out[attr] = attr === 'ecs.cpu-architecture' && v === 'amd64' ? 'x86_64' : v;
  }
  const ami = labels[AMI_ID_KEY] ?? node.metadata.annotations?.[AMI_ID_KEY];
  if (ami !== undefined) out['ecs.ami-id'] = ami;
  for (const [k, v] of Object.entries(labels)) if (k.startsWith(CUSTOM_ATTRIBUTE_PREFIX)) out[k.slice(CUSTOM_ATTRIBUTE_PREFIX.length)] = v;
  return out;
}

/**
 * The EC2 instance id of a Node (ECS's `instanceId` and `ec2InstanceId`): from its providerID
 * `aws:///<zone>/<instance id>` (pkg/cloud), else undefined.
 */
export function ecsInstanceId(node: Node): string | undefined {
  const id = node.spec?.providerID;
  if (!id) return undefined;
  const m = /^aws:\/\/\/[^/]*\/([^/]+)$/.exec(id);
  return m ? m[1] : undefined;
}

/**
 * The Node label an ECS attribute is read from, when it is read from one label alone (every
 * attribute but `ecs.ami-id`, which may be an annotation): lets the scheduler use its per-label
 * topology index instead of working out each node's attributes. Values are compared for equality
 * only, so `amd64` standing for `x86_64` does not matter there.
 */
export function attributeLabel(name: string): string | undefined {
  for (const [attr, label] of FROM_LABELS) if (attr === name) return label;
  if (name === 'ecs.ami-id') return undefined;
  return `${CUSTOM_ATTRIBUTE_PREFIX}${name}`;
}
