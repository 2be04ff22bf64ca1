/**
 * The benchmark's check of a placement, written apart from the scheduler's plugins so a bug there
 * cannot hide here: every node's requests within its allocatable (cpu, memory, ephemeral storage,
 * pods, extended resources); every pod on a node its nodeSelector, required node affinity, taints
 * and cordon allow; required pod anti-affinity and affinity honoured; DoNotSchedule topology spread
 * honoured, replayed in placement order; and, for each template with pods left over, a brute-force
 * search over every node confirming that none could take one more.
 *
 * It understands what the generator writes (label-map selectors, node selector requirements of
 * every operator, tolerations); it is not a second scheduler.
 */
import type { Node, NodeSelectorRequirement, Pod, Taint, Toleration } from '../../api/types.js';
import { podRequests, toAmounts } from '../framework/resources.js';
import type { GeneratedCluster } from './generate.js';

export interface Validation {
  valid: boolean;
  /** The first few problems found. */
  violations: string[];
}

interface Term {
  key: string;
  matchLabels: Record<string, string>;
}

interface SpreadRule {
  template: number;
  maxSkew: number;
  key: string;
  matchLabels: Record<string, string>;
  /** Pods per eligible domain. */
  counts: Map<string, number>;
}

function requirementHolds(expr: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = expr.key in labels;
  const v = labels[expr.key];
  switch (expr.operator) {
    case 'In':
      return has && (expr.values ?? []).includes(v!);
    case 'NotIn':
      return !has || !(expr.values ?? []).includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
      return has && /^-?\d+$/.test(v!) && Number(v) > Number(expr.values![0]);
    case 'Lt':
      return has && /^-?\d+$/.test(v!) && Number(v) < Number(expr.values![0]);
  }
}

/** nodeSelector and required node affinity. */
function affinityAllows(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return !terms || terms.some((t) => (t.matchExpressions ?? []).length > 0 && (t.matchExpressions ?? []).every((e) => requirementHolds(e, labels)));
}

/** Why `node` may not hold `pod` at all (node constraints, taints, cordon), or undefined. */
function nodeForbids(pod: Pod, node: Node): string | undefined {
  if (!affinityAllows(pod, node)) return 'node selector or affinity';
  const tolerates = (taint: Taint): boolean =>
    (pod.spec.tolerations ?? []).some((t: Toleration) => (!t.effect || t.effect === taint.effect) && (!t.key || t.key === taint.key) && (t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '')));
  for (const taint of node.spec.taints ?? []) if ((taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !tolerates(taint)) return `taint ${taint.key}`;
  if (node.spec.unschedulable) return 'cordon';
  return undefined;
}

function termsOf(list: unknown): Term[] {
  return ((list as { labelSelector?: { matchLabels?: Record<string, string> }; topologyKey: string }[] | undefined) ?? []).map((t) => ({ key: t.topologyKey, matchLabels: t.labelSelector?.matchLabels ?? {} }));
}

function selects(matchLabels: Record<string, string>, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  return true;
}

/** Items indexed by one label pair of their selector, to find those that may select a label set. */
class SelectorIndex<T extends { matchLabels: Record<string, string> }> {
  private readonly byPair = new Map<string, T[]>();
  private readonly all: T[] = [];

  add(x: T): void {
    const first = Object.entries(x.matchLabels)[0];
    if (!first) this.all.push(x);
    else {
      const k = `${first[0]}\u0000${first[1]}`;
      const l = this.byPair.get(k);
      if (l) l.push(x);
      else this.byPair.set(k, [x]);
    }
  }

  selecting(labels: Record<string, string>): T[] {
    const out = this.all.filter((x) => selects(x.matchLabels, labels));
    for (const [k, v] of Object.entries(labels)) for (const x of this.byPair.get(`${k}\u0000${v}`) ?? []) if (selects(x.matchLabels, labels)) out.push(x);
    return out;
  }
}

/**
 * Checks `node[p]` (a node index into `g.nodes`, -1 for unplaced) for every pod; `order` lists the
 * placed pods in the order they were placed (for topology spread).
 */
export function validatePlacement(g: GeneratedCluster, node: Int32Array, order: Int32Array): Validation {
  const violations: string[] = [];
  const bad = (s: string): void => {
    if (violations.length < 10) violations.push(s);
  };
  const n = g.nodes.length;
  const alloc = g.nodes.map((nd) => toAmounts(nd.status?.allocatable));
  const req = g.templates.map((p) => ({ ...podRequests(p), pods: 1 }));
  const labelsOf = g.templates.map((p) => p.metadata.labels ?? {});
  const anti = g.templates.map((p) => termsOf(p.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution));
  const aff = g.templates.map((p) => termsOf(p.spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution));

  // Per node: requests, and pods per template.
  const used = g.nodes.map(() => new Map<string, number>());
  const perNode = g.nodes.map(() => new Map<number, number>());
  for (let p = 0; p < node.length; p++) {
    const i = node[p]!;
    if (i < 0) continue;
    const k = g.templateOf[p]!;
    const u = used[i]!;
    for (const [r, q] of Object.entries(req[k]!)) u.set(r, (u.get(r) ?? 0) + q);
    perNode[i]!.set(k, (perNode[i]!.get(k) ?? 0) + 1);
  }
  for (let i = 0; i < n; i++) {
    for (const [r, q] of used[i]!) if (q > (alloc[i]![r] ?? 0)) bad(`node ${g.nodes[i]!.metadata.name} over-committed: ${r} ${q} > ${alloc[i]![r] ?? 0}`);
    for (const k of perNode[i]!.keys()) {
      const why = nodeForbids(g.templates[k]!, g.nodes[i]!);
      if (why) bad(`pods of ${g.templates[k]!.metadata.name} on ${g.nodes[i]!.metadata.name}, which its ${why} forbids`);
    }
  }

  // Pods per topology domain and template, for the keys inter-pod terms use.
  const keys = new Set<string>();
  for (const l of [...anti, ...aff]) for (const t of l) keys.add(t.key);
  const byDomain = new Map<string, Map<string, Map<number, number>>>();
  for (const key of keys) {
    const m = new Map<string, Map<number, number>>();
    for (let i = 0; i < n; i++) {
      const d = g.nodes[i]!.metadata.labels?.[key];
      if (d === undefined) continue;
      let dm = m.get(d);
      if (!dm) m.set(d, (dm = new Map()));
      for (const [k, c] of perNode[i]!) dm.set(k, (dm.get(k) ?? 0) + c);
    }
    byDomain.set(key, m);
  }
  const inDomain = (i: number, term: Term, exceptTemplate = -1): number => {
    const d = g.nodes[i]!.metadata.labels?.[term.key];
    if (d === undefined) return 0;
    let c = 0;
    for (const [k, cnt] of byDomain.get(term.key)!.get(d) ?? []) if (k !== exceptTemplate && selects(term.matchLabels, labelsOf[k]!)) c += cnt;
    return c;
  };
  for (let i = 0; i < n; i++) {
    for (const k of perNode[i]!.keys()) {
      for (const term of anti[k]!) {
        const d = g.nodes[i]!.metadata.labels?.[term.key];
        if (d === undefined) continue;
        const own = byDomain.get(term.key)!.get(d)!.get(k)!;
        if (inDomain(i, term, k) > 0 || (selects(term.matchLabels, labelsOf[k]!) && own > 1)) bad(`pods of ${g.templates[k]!.metadata.name} share ${term.key}=${d} with pods their anti-affinity excludes`);
      }
      for (const term of aff[k]!) if (inDomain(i, term) === 0) bad(`pods of ${g.templates[k]!.metadata.name} on ${g.nodes[i]!.metadata.name} without a pod their affinity needs`);
    }
  }

  // Topology spread (DoNotSchedule), replayed in placement order.
  const rules = new SelectorIndex<SpreadRule>();
  const rulesOf: SpreadRule[][] = g.templates.map(() => []);
  g.templates.forEach((p, k) => {
    for (const c of (p.spec.topologySpreadConstraints ?? []) as { maxSkew: number; topologyKey: string; whenUnsatisfiable?: string; labelSelector?: { matchLabels?: Record<string, string> } }[]) {
      if ((c.whenUnsatisfiable ?? 'DoNotSchedule') !== 'DoNotSchedule') continue;
      const counts = new Map<string, number>();
      for (const nd of g.nodes) {
        const d = nd.metadata.labels?.[c.topologyKey];
        if (d !== undefined && affinityAllows(p, nd)) counts.set(d, 0);
      }
      const rule: SpreadRule = { template: k, maxSkew: c.maxSkew, key: c.topologyKey, matchLabels: c.labelSelector?.matchLabels ?? {}, counts };
      rules.add(rule);
      rulesOf[k]!.push(rule);
    }
  });
  const counted = g.templates.map((_, k) => rules.selecting(labelsOf[k]!));
  const minOf = (m: Map<string, number>): number => {
    let min = Infinity;
    for (const v of m.values()) if (v < min) min = v;
    return min === Infinity ? 0 : min;
  };
  for (const p of order) {
    const k = g.templateOf[p]!;
    const i = node[p]!;
    for (const rule of rulesOf[k]!) {
      const d = g.nodes[i]!.metadata.labels?.[rule.key];
      const c = d === undefined ? undefined : rule.counts.get(d);
      if (c === undefined) bad(`pod ${p} of ${g.templates[k]!.metadata.name} on a node outside its spread domains`);
      else if (c + (selects(rule.matchLabels, labelsOf[k]!) ? 1 : 0) - minOf(rule.counts) > rule.maxSkew) bad(`pod ${p} of ${g.templates[k]!.metadata.name} skews ${rule.key} beyond ${rule.maxSkew}`);
    }
    for (const rule of counted[k]!) {
      const d = g.nodes[i]!.metadata.labels?.[rule.key];
      if (d !== undefined && rule.counts.has(d)) rule.counts.set(d, rule.counts.get(d)! + 1);
    }
  }

  // Unplaced pods: no node may have room for one more.
  const unplaced = new Set<number>();
  for (let p = 0; p < node.length; p++) if (node[p]! < 0) unplaced.add(g.templateOf[p]!);
  for (const k of unplaced) {
    for (let i = 0; i < n; i++) {
      if (nodeForbids(g.templates[k]!, g.nodes[i]!)) continue;
      let fits = true;
      for (const [r, q] of Object.entries(req[k]!)) if (q > 0 && (used[i]!.get(r) ?? 0) + q > (alloc[i]![r] ?? 0)) fits = false;
      if (!fits) continue;
      if (anti[k]!.some((term) => inDomain(i, term) > 0)) continue;
      if (aff[k]!.some((term) => inDomain(i, term) === 0)) continue;
      const spreadOk = rulesOf[k]!.every((rule) => {
        const d = g.nodes[i]!.metadata.labels?.[rule.key];
        const c = d === undefined ? undefined : rule.counts.get(d);
        return c !== undefined && c + 1 - minOf(rule.counts) <= rule.maxSkew;
      });
      if (!spreadOk) continue;
      bad(`a pod of ${g.templates[k]!.metadata.name} was left unplaced, but ${g.nodes[i]!.metadata.name} has room for it`);
      break;
    }
  }
  return { valid: violations.length === 0, violations };
}
