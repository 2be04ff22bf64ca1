/**
 * Cluster Autoscaler's expanders: how it chooses among the node groups that could help the
 * pending pods (https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/FAQ.md,
 * "What are Expanders?"). Each expander keeps the best options; a list of them (`--expander=
 * priority,least-waste`) is applied in order, each breaking the previous one's ties, and what
 * is left is decided by the group name (random: by the seeded generator).
 */
import { parse as parseYaml } from 'yaml';

/** One way to scale up: `nodeCount` new nodes in `group` would take `podCount` pending pods. */
export interface ScaleUpOption {
  group: string;
  instanceType: string;
  nodeCount: number;
  podCount: number;
  /** Requested cpu and memory of the pods it takes, and the allocatable of its new nodes (millicores, bytes). */
  podCpu: number;
  podMemory: number;
  nodeCpu: number;
  nodeMemory: number;
  /** The new nodes' price, USD per hour. */
  hourlyPrice: number;
}

export type ExpanderName = 'random' | 'most-pods' | 'least-waste' | 'price' | 'priority';
export const EXPANDERS: readonly ExpanderName[] = ['random', 'most-pods', 'least-waste', 'price', 'priority'];

/** The `priorities` of the ConfigMap `kube-system/cluster-autoscaler-priority-expander`: priority → group-name regexes. */
export type Priorities = { priority: number; patterns: RegExp[] }[];

/**
 * Parses the priority expander's ConfigMap value (YAML: `10: [".*spot.*"]`, `50: ["^big-"]`).
 * Throws Error naming the bad entry.
 */
export function parsePriorities(text: string): Priorities {
  const doc = parseYaml(text) as unknown;
  if (!doc || typeof doc !== 'object') throw new Error('priorities must be a map of priority to a list of node group name regexes');
  const out: Priorities = [];
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const priority = Number(k);
    if (!Number.isInteger(priority)) throw new Error(`priorities: key ${JSON.stringify(k)} is not an integer`);
    if (!Array.isArray(v)) throw new Error(`priorities: ${k}: must be a list of regexes`);
    out.push({ priority, patterns: v.map((p) => new RegExp(String(p))) });
  }
  return out.sort((a, b) => b.priority - a.priority);
}

/** Least-waste's score: the unused fraction of the new nodes' cpu plus that of their memory (lower is better). */
export function wasteScore(o: ScaleUpOption): number {
  const cpu = o.nodeCpu > 0 ? (o.nodeCpu - o.podCpu) / o.nodeCpu : 0;
  const mem = o.nodeMemory > 0 ? (o.nodeMemory - o.podMemory) / o.nodeMemory : 0;
  return cpu + mem;
}

function keepBest(options: ScaleUpOption[], score: (o: ScaleUpOption) => number): ScaleUpOption[] {
  let best = Infinity;
  for (const o of options) best = Math.min(best, score(o));
  return options.filter((o) => score(o) <= best + 1e-12);
}

/**
 * Picks one option with the expanders in order. `random` draws from `random`; `priority` needs
 * `priorities` (without them it keeps every option). Returns undefined for no options.
 */
export function expand(options: ScaleUpOption[], expanders: readonly ExpanderName[], ctx: { random: () => number; priorities?: Priorities }): ScaleUpOption | undefined {
  let left = options.filter((o) => o.podCount > 0);
  for (const e of expanders) {
    if (left.length <= 1) break;
    switch (e) {
      case 'most-pods':
        left = keepBest(left, (o) => -o.podCount);
        break;
      case 'least-waste':
        left = keepBest(left, wasteScore);
        break;
      case 'price':
        // Price per pod helped: a cheaper way to run the same pods wins.
        left = keepBest(left, (o) => o.hourlyPrice / o.podCount);
        break;
      case 'priority': {
        const pr = ctx.priorities;
        if (!pr) break;
        const prio = (o: ScaleUpOption): number => pr.find((p) => p.patterns.some((re) => re.test(o.group)))?.priority ?? -Infinity;
        left = keepBest(left, (o) => -prio(o));
        break;
      }
      case 'random':
        left = [left[Math.min(left.length - 1, Math.floor(ctx.random() * left.length))]!];
        break;
    }
  }
  left.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  return left[0];
}
