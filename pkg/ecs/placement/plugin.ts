/**
 * EcsPlacement: ECS task placement as a plugin of berth's one scheduler (a Filter and a Score), for
 * pods carrying the ECS annotations (ECS-CONTRACT.md); for every other pod it is a no-op that
 * costs one annotation lookup per pod class (PreFilter and PreScore return null, and `neutral`
 * tells batch placement it has no preference).
 *
 * Filter — the constraints (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-constraints.html):
 * - `distinctInstance`: "places each task in the group on a different instance" — a node already
 *   running a task of the pod's group (label `ecs.berth.dev/group`, same ECS cluster and
 *   namespace, not terminating) is rejected: `node(s) didn't match ECS distinctInstance constraint`;
 * - `memberOf`: the node must satisfy the cluster query language expression (query.ts) against
 *   its ECS attributes (attributes.ts), instance id, task groups and task count:
 *   `node(s) didn't match ECS memberOf constraint "attribute:ecs.instance-type =~ t3.*"`.
 * A malformed annotation rejects every node with a message naming the annotation, the rule and,
 * for an expression, the position.
 *
 * Score — the strategies (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-strategies.html),
 * applied in order, the first deciding and later ones breaking its ties:
 * - `binpack` on cpu or memory: "the instance with the least amount of remaining memory but still
 *   enough to run the task" (API_PlacementStrategy) — least allocatable − requested of that
 *   resource (millicores or bytes; the pod's requests, which pkg/ecs sets from
 *   memoryReservation, else memory); feasibility is NodeResourcesFit's;
 * - `spread` on `instanceId`/`host` or `attribute:<name>`: the value with the fewest tasks of the
 *   pod's group ("service tasks are spread based on the tasks from that service; standalone tasks
 *   … from the same task group"); an instance without the attribute counts as its own value;
 * - `random`: a per-pod, per-node hash (deterministic, so runs repeat; uniform over the nodes).
 * The feasible nodes are ranked lexicographically by those keys and scored by rank; the profile
 * gives the plugin a weight (ECS_PLACEMENT_WEIGHT) large enough that the ECS ranking always
 * decides over the other scores, which then only break the ECS ties (then the node name).
 * Because the plugin has a preference for ECS pods with a strategy, batch placement places those
 * one at a time through the full cycle, so a batch gives the placement ECS would.
 */
import { Selector } from '../../api/labels.js';
import type { Node } from '../../api/types.js';
import type { ClusterState, Session } from '../../scheduler/framework/cluster.js';
import type { PodClass } from '../../scheduler/framework/pod-class.js';
import { Status } from '../../scheduler/framework/status.js';
import { MAX_NODE_SCORE, type FilterPlugin, type NodeFilter, type NodeScorer, type ScorePlugin } from '../../scheduler/framework/types.js';
import { attributeLabel, CLUSTER_LABEL, ecsAttributes, ecsInstanceId, GROUP_KEY, PLACEMENT_CONSTRAINTS_ANNOTATION, PLACEMENT_STRATEGY_ANNOTATION } from './attributes.js';
import { attributesOnly, evaluate, type QueryTarget } from './query.js';
import { parsePlacement, PlacementSpecError, type PlacementSpec, type Strategy } from './spec.js';

export const ERR_REASON_DISTINCT_INSTANCE = "node(s) didn't match ECS distinctInstance constraint";
/** The reason for a memberOf rejection, naming the expression. */
export function memberOfReason(expression: string): string {
  return `node(s) didn't match ECS memberOf constraint "${expression}"`;
}

/**
 * The score weight the default profile gives EcsPlacement: its normalized score (0–100, by rank)
 * times this exceeds the other plugins' largest possible total (10 × 100) for up to 100,000
 * distinct ranks, so ECS's order is never overturned by them.
 */
export const ECS_PLACEMENT_WEIGHT = 1_000_000;

const EMPTY = new Set<string>();

/** Tasks of the same ECS cluster on each node: their count and groups (unsanitized), kept current through the session. */
class TaskIndex {
  readonly groups = new Map<number, Map<string, number>>();
  readonly tasks = new Map<number, number>();

  constructor(cluster: ClusterState, session: Session, pod: PodClass) {
    const ecsCluster = pod.labels[CLUSTER_LABEL];
    for (const c of cluster.classes.candidates(new Selector([{ key: CLUSTER_LABEL, operator: 'Exists', values: [] }]))) {
      if (c.labels[CLUSTER_LABEL] !== ecsCluster || c.namespace !== pod.namespace || c.terminating) continue;
      const group = c.pod.metadata.annotations?.[GROUP_KEY] ?? c.labels[GROUP_KEY];
      const add = (node: number, k: number): void => {
        this.tasks.set(node, (this.tasks.get(node) ?? 0) + k);
        if (group === undefined) return;
        let m = this.groups.get(node);
        if (!m) this.groups.set(node, (m = new Map()));
        const n = (m.get(group) ?? 0) + k;
        if (n <= 0) m.delete(group);
        else m.set(group, n);
      };
      for (const [node, k] of c.placed) add(node, k);
      session.watch(c, add);
    }
  }

  groupsOn(i: number): ReadonlySet<string> {
    const m = this.groups.get(i);
    return m ? new Set(m.keys()) : EMPTY;
  }
}

/**
 * Tasks of the pod's group (same ECS cluster and namespace, not terminating) per node; with
 * `session`, kept current as the session places more (a filter compiled once for a batch needs
 * that; a score is compiled afresh for each attempt and does not).
 */
function groupCounts(cluster: ClusterState, pod: PodClass, session?: Session): Map<number, number> {
  const counts = new Map<number, number>();
  const group = pod.labels[GROUP_KEY];
  const add = (node: number, k: number): void => {
    const n = (counts.get(node) ?? 0) + k;
    if (n <= 0) counts.delete(node);
    else counts.set(node, n);
  };
  const members = group === undefined ? [pod] : cluster.classes.candidates(new Selector([{ key: GROUP_KEY, operator: 'In', values: [group] }]));
  for (const c of members) {
    if (c !== pod && (c.namespace !== pod.namespace || c.labels[CLUSTER_LABEL] !== pod.labels[CLUSTER_LABEL] || c.terminating)) continue;
    for (const [node, k] of c.placed) add(node, k);
    session?.watch(c, add);
  }
  return counts;
}

function readyOf(node: Node): boolean {
  return !!node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** FNV-1a, 32 bits, as a number in [0, 1). */
function hashUnit(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) {
    h ^= s.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) / 2 ** 32;
}

export class EcsPlacement implements FilterPlugin, ScorePlugin {
  static readonly name = 'EcsPlacement';
  readonly name = EcsPlacement.name;
  /** Parsed annotations by their text (pods of one service share them). */
  private readonly parsed = new Map<string, PlacementSpec | PlacementSpecError>();

  /** The pod's placement, undefined when it carries neither annotation. Throws PlacementSpecError. */
  spec(pod: PodClass): PlacementSpec | undefined {
    const ann = pod.pod.metadata.annotations;
    if (!ann) return undefined;
    const s = ann[PLACEMENT_STRATEGY_ANNOTATION];
    const c = ann[PLACEMENT_CONSTRAINTS_ANNOTATION];
    if (s === undefined && c === undefined) return undefined;
    const key = `${s ?? ''}\u0000${c ?? ''}`;
    let p = this.parsed.get(key);
    if (!p) {
      try {
        p = parsePlacement(ann, PLACEMENT_STRATEGY_ANNOTATION, PLACEMENT_CONSTRAINTS_ANNOTATION);
      } catch (e) {
        if (!(e instanceof PlacementSpecError)) throw e;
        p = e;
      }
      if (this.parsed.size >= 4096) this.parsed.clear();
      this.parsed.set(key, p);
    }
    if (p instanceof PlacementSpecError) throw p;
    return p;
  }

  compileFilter(pod: PodClass, cluster: ClusterState, session: Session): NodeFilter | Status | null {
    const ann = pod.pod.metadata.annotations;
    if (!ann || (ann[PLACEMENT_STRATEGY_ANNOTATION] === undefined && ann[PLACEMENT_CONSTRAINTS_ANNOTATION] === undefined)) return null;
    let spec: PlacementSpec | undefined;
    try {
      spec = this.spec(pod);
    } catch (e) {
      return Status.unschedulableAndUnresolvable(`invalid ECS placement: ${(e as Error).message}`);
    }
    if (!spec || (!spec.distinctInstance && spec.memberOf.length === 0)) return null;
    const distinct = spec.distinctInstance ? groupCounts(cluster, pod, session) : undefined;
    const DISTINCT = Status.unschedulable(ERR_REASON_DISTINCT_INSTANCE);
    const exprs = spec.memberOf.map(({ expression, expr }) => ({
      expr,
      // Per node class (labels) only when every attribute it reads is a label: `ecs.ami-id` may be a node annotation.
      static: attributesOnly(expr) && !expression.includes('ecs.ami-id'),
      status: attributesOnly(expr) ? Status.unschedulableAndUnresolvable(memberOfReason(expression)) : Status.unschedulable(memberOfReason(expression)),
    }));
    const needsTasks = exprs.some((e) => !e.static);
    const tasks = needsTasks ? new TaskIndex(cluster, session, pod) : undefined;
    // Attribute-only expressions give the same answer for nodes of one class (same labels): per class, 0 unknown, 1 pass, 2 fail.
    const byClass = exprs.map(() => new Uint8Array(cluster.nodeClassIdLimit));
    const attrs = new Map<number, Record<string, string>>();
    const attributesOf = (i: number): Record<string, string> => {
      let a = attrs.get(i);
      if (!a) attrs.set(i, (a = ecsAttributes(cluster.nodes[i]!)));
      return a;
    };
    const target = (i: number): QueryTarget => {
      const node = cluster.nodes[i]!;
      return {
        attributes: attributesOf(i),
        ec2InstanceId: ecsInstanceId(node),
        taskGroups: tasks ? tasks.groupsOn(i) : EMPTY,
        runningTasksCount: tasks?.tasks.get(i) ?? 0,
        registeredAt: node.metadata.creationTimestamp,
        agentConnected: readyOf(node),
      };
    };
    const passes = (k: number, i: number): boolean => {
      const e = exprs[k]!;
      if (!e.static) return evaluate(e.expr, target(i));
      const c = cluster.nodeClassOf[i]!;
      const memo = byClass[k]!;
      if (c < memo.length && memo[c] !== 0) return memo[c] === 1;
      const ok = evaluate(e.expr, { attributes: attributesOf(i), taskGroups: EMPTY, runningTasksCount: 0, agentConnected: true });
      if (c < memo.length) memo[c] = ok ? 1 : 2;
      return ok;
    };
    const firstFailing = (i: number): Status | undefined => {
      if (distinct && (distinct.get(i) ?? 0) > 0) return DISTINCT;
      for (let k = 0; k < exprs.length; k++) if (!passes(k, i)) return exprs[k]!.status;
      return undefined;
    };
    return {
      scope: 'node',
      fits: (i) => firstFailing(i) === undefined,
      status: (i) => firstFailing(i) ?? Status.success(),
    };
  }

  neutral(pod: PodClass): boolean {
    const ann = pod.pod.metadata.annotations;
    if (!ann || ann[PLACEMENT_STRATEGY_ANNOTATION] === undefined) return true;
    try {
      return (this.spec(pod)?.strategies.length ?? 0) === 0;
    } catch {
      return true; // the filter rejects the pod everywhere
    }
  }

  compileScore(pod: PodClass, cluster: ClusterState, feasible: Int32Array): NodeScorer | Status | null {
    const ann = pod.pod.metadata.annotations;
    if (!ann || ann[PLACEMENT_STRATEGY_ANNOTATION] === undefined) return null;
    let spec: PlacementSpec | undefined;
    try {
      spec = this.spec(pod);
    } catch (e) {
      return Status.error(e);
    }
    if (!spec || spec.strategies.length === 0) return null;
    const n = feasible.length;
    const keys = spec.strategies.map((s) => this.keysOf(s, pod, cluster, feasible));
    const order = Array.from({ length: n }, (_, k) => k);
    const cmp = (a: number, b: number): number => {
      for (const col of keys) {
        const d = col[a]! - col[b]!;
        if (d !== 0) return d;
      }
      return 0;
    };
    order.sort(cmp);
    const rank = new Map<number, number>();
    let r = 0;
    order.forEach((k, pos) => {
      if (pos > 0 && cmp(order[pos - 1]!, k) !== 0) r++;
      rank.set(feasible[k]!, r);
    });
    const maxRank = r;
    return {
      score: (i) => rank.get(i) ?? maxRank,
      normalize: (scores) => {
        for (let k = 0; k < scores.length; k++) scores[k] = maxRank === 0 ? MAX_NODE_SCORE : MAX_NODE_SCORE * (1 - scores[k]! / maxRank);
      },
    };
  }

  /** One strategy's key per feasible node (lower is better). */
  private keysOf(s: Strategy, pod: PodClass, cluster: ClusterState, feasible: Int32Array): Float64Array {
    const out = new Float64Array(feasible.length);
    switch (s.kind) {
      case 'binpack': {
        const alloc = s.resource === 'cpu' ? cluster.allocCpu : cluster.allocMemory;
        const used = s.resource === 'cpu' ? cluster.usedCpu : cluster.usedMemory;
        feasible.forEach((i, k) => (out[k] = alloc[i]! - used[i]!));
        return out;
      }
      case 'spread-instance': {
        const counts = groupCounts(cluster, pod);
        feasible.forEach((i, k) => (out[k] = counts.get(i) ?? 0));
        return out;
      }
      case 'spread-attribute': {
        const counts = groupCounts(cluster, pod);
        // Attributes read from one label use the cluster's per-label topology index (cached per node set).
        const label = attributeLabel(s.attribute);
        const topo = label !== undefined ? cluster.topology(label) : undefined;
        const valueOf = (i: number): string => {
          if (topo) {
            const d = topo.domainOf[i] ?? -1;
            return d >= 0 ? topo.values[d]! : '\u0000missing';
          }
          const node = cluster.nodes[i];
          return node ? (ecsAttributes(node)[s.attribute] ?? '\u0000missing') : '\u0000missing';
        };
        const byValue = new Map<string, number>();
        for (const [i, k] of counts) {
          if (!cluster.alive(i)) continue;
          const v = valueOf(i);
          byValue.set(v, (byValue.get(v) ?? 0) + k);
        }
        feasible.forEach((i, k) => (out[k] = byValue.get(valueOf(i)) ?? 0));
        return out;
      }
      case 'random': {
        let placed = 0;
        for (const k of pod.placed.values()) placed += k;
        const who = `${pod.pod.metadata.uid ?? pod.pod.metadata.name ?? pod.key}/${placed}/`;
        feasible.forEach((i, k) => (out[k] = hashUnit(who + cluster.names[i]!)));
        return out;
      }
    }
  }
}
