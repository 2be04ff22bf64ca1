/**
 * Helpers for the scheduler's unit tests: build a cluster state from Nodes and the pods on them,
 * and run one plugin the way a cycle would.
 */
import type { Node, Pod } from '../api/types.js';
import { ClusterState } from './framework/cluster.js';
import { Status } from './framework/status.js';
import type { FilterPlugin, ScorePlugin } from './framework/types.js';

/** A node and the pods counted on it. */
export interface TestNode {
  node: Node;
  pods: Pod[];
}

/** A node with `pods` counted on it (their `spec.nodeName` is set to the node). */
export function nodeInfo(node: Node, ...pods: Pod[]): TestNode {
  return { node, pods: pods.map((p) => ({ ...p, spec: { ...p.spec, nodeName: node.metadata.name! } })) };
}

/** A cluster state holding `nodes` and their pods. */
export function clusterOf(...nodes: TestNode[]): ClusterState {
  const c = new ClusterState();
  for (const n of nodes) {
    const i = c.setNode(n.node);
    for (const p of n.pods) {
      const { nodeName: _, ...spec } = p.spec;
      c.addPods(c.classes.ref({ ...p, spec: spec as Pod['spec'] }), i, 1);
    }
  }
  return c;
}

/** PreFilter then Filter of `plugin` for `pod` on the first node of `nodes` (the others are there to be counted). */
export function runFilter(plugin: FilterPlugin, pod: Pod, ni: TestNode, ...others: TestNode[]): Status {
  const c = clusterOf(ni, ...others);
  const session = c.beginSession();
  const f = plugin.compileFilter(c.classes.intern(pod), c, session);
  if (f === null) return Status.success();
  if (f instanceof Status) return f;
  const i = c.indexOf(ni.node.metadata.name!);
  return f.fits(i) ? Status.success() : f.status(i);
}

/** PreScore, Score and NormalizeScore over `nodes` (all feasible, in order); undefined if the plugin skips the pod. */
export function runScore(plugin: ScorePlugin, pod: Pod, nodes: TestNode[]): number[] | undefined {
  const c = clusterOf(...nodes);
  const session = c.beginSession();
  const feasible = Int32Array.from(nodes, (n) => c.indexOf(n.node.metadata.name!));
  const s = plugin.compileScore(c.classes.intern(pod), c, feasible, session);
  if (s === null) return undefined;
  if (s instanceof Status) throw new Error(s.message());
  const scores = Float64Array.from(feasible, (i) => s.score(i));
  s.normalize?.(scores);
  return Array.from(scores);
}
