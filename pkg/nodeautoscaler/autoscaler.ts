/**
 * The node autoscaler: Cluster Autoscaler's semantics over berth's Auto Scaling groups
 * (https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/FAQ.md).
 *
 * A group takes part when it carries the tag `k8s.io/cluster-autoscaler/enabled: "true"` in
 * `spec.tags` (the tag Cluster Autoscaler's auto-discovery looks for; see isAutoscalerEnabled). Every `scanIntervalSeconds` (10 s):
 *
 * Scale-up. Pods the scheduler marked Unschedulable are first tried on the nodes there are and on
 * the nodes already coming (a group's desired capacity above its registered nodes: "upcoming
 * nodes"), so booting instances are not asked for twice. For the rest, each eligible group (below
 * its maxSize) is simulated: new template nodes of its launch template (type, labels, taints) are
 * added one at a time while pods fit on them, with the scheduler's own filters (simulator.ts). An
 * expander picks one option (expanders.ts) and the group's desired capacity is raised.
 *
 * Scale-down. A node of a taking-part group whose requested utilization (max of cpu and memory
 * requests over allocatable) stays under `scaleDownUtilizationThreshold` (0.5) for
 * `scaleDownUnneededSeconds` (600) is removed when its pods fit on the other nodes and may move:
 * DaemonSet and mirror pods are ignored; a pod with `cluster-autoscaler.kubernetes.io/safe-to-evict:
 * "false"`, one with no controller, a kube-system pod without a PodDisruptionBudget, a pod with
 * local storage (emptyDir) unless annotated safe-to-evict "true", and a pod whose budget allows no
 * disruption all keep the node. A node annotated `cluster-autoscaler.kubernetes.io/scale-down-disabled:
 * "true"` is never removed, nor any while a group would go below minSize, nor within
 * `scaleDownDelayAfterAddSeconds` (600) of a scale-up. Empty nodes go together; at most one
 * non-empty node per scan. Draining taints the node `ToBeDeletedByClusterAutoscaler:NoSchedule`,
 * evicts its pods through the Eviction API (PDBs checked by the API server), then terminates its
 * instance and lowers the group's desired capacity (TerminateInstanceInAutoScalingGroup with
 * ShouldDecrementDesiredCapacity).
 */
import type { KubeObject, Node, Pod } from '../api/types.js';
import { rfc3339 } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import type { Catalog } from '../cloud/catalog.js';
import { groupInstanceTypes } from '../cloud/asg-controller.js';
import { GROUP_NAME_LABEL, launchTemplateNodeLabels, SCALING_CAUSE_ANNOTATION, TERMINATE_FIRST_ANNOTATION, type AutoScalingGroup } from '../cloud/types.js';
import type { Manager, Runnable } from '../runtime/manager.js';
import type { EventRecorder } from '../runtime/events.js';
import { labelSelectorMatches } from './selectors.js';
import { Idle } from '../autoscaling/idle.js';
import { expand, parsePriorities, type ExpanderName, type Priorities, type ScaleUpOption } from './expanders.js';
import { cpuMemory, FitSimulator, isDaemonOrMirror, templateNode } from './simulator.js';

/** Auto-discovery tag of Cluster Autoscaler (`--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled`). */
export const AUTOSCALER_ENABLED_LABEL = 'k8s.io/cluster-autoscaler/enabled';
/**
 * True for a group that takes part: its tag `k8s.io/cluster-autoscaler/enabled` (`spec.tags`, as
 * on AWS) is "true". The key has two slashes, so it cannot be a Kubernetes label; a label or an
 * annotation `cluster-autoscaler.kubernetes.io/enabled: "true"` is taken too.
 */
export function isAutoscalerEnabled(g: AutoScalingGroup): boolean {
  return g.spec.tags?.[AUTOSCALER_ENABLED_LABEL] === 'true' || g.metadata.labels?.[ENABLED_LABEL_ALT] === 'true' || g.metadata.annotations?.[ENABLED_LABEL_ALT] === 'true';
}
const ENABLED_LABEL_ALT = 'cluster-autoscaler.kubernetes.io/enabled';
export const SAFE_TO_EVICT_ANNOTATION = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
export const SCALE_DOWN_DISABLED_ANNOTATION = 'cluster-autoscaler.kubernetes.io/scale-down-disabled';
/** The taint Cluster Autoscaler puts on a node it is removing. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';
/** The ConfigMap the priority expander reads (`data.priorities`). */
export const PRIORITY_CONFIGMAP = { namespace: 'kube-system', name: 'cluster-autoscaler-priority-expander' };

/** Cluster Autoscaler's flags berth models, with its defaults. */
export interface NodeAutoscalerOptions {
  /** Default 10. */
  scanIntervalSeconds?: number;
  /** Default ['least-waste'] (Cluster Autoscaler's default is random; least-waste is what most setups pick). */
  expanders?: ExpanderName[];
  /** Default 0.5. */
  scaleDownUtilizationThreshold?: number;
  /** Default 600. */
  scaleDownUnneededSeconds?: number;
  /** Default 600. */
  scaleDownDelayAfterAddSeconds?: number;
  /** The catalogue (types' shapes and prices). */
  catalog: Catalog;
  region: string;
  /** Evicts a pod through the Eviction API; rejects with 429 when a budget forbids it. */
  evict: (namespace: string, name: string) => Promise<unknown>;
  random: () => number;
}

interface Pdb extends KubeObject {
  spec?: { selector?: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } };
  status?: { disruptionsAllowed?: number };
}

/** What one scan did (tests and `berth describe` read it). */
export interface ScanResult {
  scaledUp?: { group: string; from: number; to: number; pods: number };
  removedNodes: string[];
  unneeded: string[];
}

export class NodeAutoscaler implements Runnable {
  readonly name = 'node-autoscaler';
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly groups: Informer<AutoScalingGroup>;
  private readonly pdbs: Informer<Pdb>;
  private readonly recorder: EventRecorder;
  /** Node name → when it was first seen under the utilization threshold (ms). */
  private readonly unneededSince = new Map<string, number>();
  private lastScaleUp = -Infinity;
  private readonly o: Required<Omit<NodeAutoscalerOptions, 'catalog' | 'region' | 'evict' | 'random'>>;
  /** The last scan's outcome. */
  last: ScanResult = { removedNodes: [], unneeded: [] };

  constructor(
    private readonly mgr: Manager,
    private readonly opts: NodeAutoscalerOptions,
  ) {
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.groups = mgr.informer<AutoScalingGroup>(Kinds.AutoScalingGroup);
    this.pdbs = mgr.informer<Pdb>(Kinds.PodDisruptionBudget);
    this.recorder = mgr.recorder('cluster-autoscaler');
    this.o = {
      scanIntervalSeconds: opts.scanIntervalSeconds ?? 10,
      expanders: opts.expanders ?? ['least-waste'],
      scaleDownUtilizationThreshold: opts.scaleDownUtilizationThreshold ?? 0.5,
      scaleDownUnneededSeconds: opts.scaleDownUnneededSeconds ?? 600,
      scaleDownDelayAfterAddSeconds: opts.scaleDownDelayAfterAddSeconds ?? 600,
    };
  }

  async start(signal: AbortSignal): Promise<void> {
    await Promise.all([this.pods, this.nodes, this.groups, this.pdbs].map((i) => i.waitForSync(signal)));
    const idle = new Idle([this.groups as unknown as Informer<KubeObject>]);
    while (!signal.aborted) {
      // Only with a group taking part is there anything to do.
      if (!this.enabledGroups().length) {
        await idle.until(signal);
        continue;
      }
      try {
        this.last = await this.scan();
      } catch (e) {
        this.mgr.log.warn({ err: e }, 'node autoscaler scan failed');
      }
      try {
        await this.mgr.clock.sleep(this.o.scanIntervalSeconds * 1000, signal);
      } catch {
        return;
      }
    }
  }

  private enabledGroups(): AutoScalingGroup[] {
    return this.groups.cache.list().filter((g) => isAutoscalerEnabled(g) && !g.metadata.deletionTimestamp);
  }

  /** One loop of Cluster Autoscaler's RunOnce: scale up if pods wait, else consider scale-down. */
  async scan(): Promise<ScanResult> {
    const now = this.mgr.clock.now();
    const groups = this.enabledGroups();
    const byName = new Map(groups.map((g) => [g.metadata.name!, g]));
    const { sim, nodes, pending } = FitSimulator.fromCluster(this.nodes.cache.list(), this.pods.cache.list());
    // Upcoming nodes: capacity asked of a group whose Nodes have not registered yet.
    const registered = new Map<string, number>();
    for (const n of nodes) {
      const g = n.metadata.labels?.[GROUP_NAME_LABEL];
      if (g) registered.set(g, (registered.get(g) ?? 0) + 1);
    }
    const upcoming: number[] = [];
    for (const g of groups) {
      const desired = g.spec.desiredCapacity ?? g.spec.minSize;
      const missing = desired - (registered.get(g.metadata.name!) ?? 0);
      for (let k = 0; k < missing; k++) {
        const t = this.template(g, `upcoming-${g.metadata.name}-${k}`);
        if (t) upcoming.push(sim.addNode(t));
      }
    }
    // Biggest first, as first-fit decreasing.
    pending.sort((a, b) => cpuMemory(b).cpu - cpuMemory(a).cpu || cpuMemory(b).memory - cpuMemory(a).memory);
    const stillPending = pending.filter((p) => sim.findNode(p, undefined, true) < 0);
    const result: ScanResult = { removedNodes: [], unneeded: [] };
    if (stillPending.length) {
      const up = await this.scaleUp(groups, stillPending);
      if (up) {
        result.scaledUp = up;
        this.lastScaleUp = now;
        this.unneededSince.clear();
        return result;
      }
    }
    if (stillPending.length < pending.length || upcoming.length) return result; // capacity is on its way: wait
    await this.scaleDown(sim, nodes, byName, now, result);
    return result;
  }

  /** The template node of a group (its launch template's type, in its first zone), or undefined for a type the catalogue lacks. */
  private template(g: AutoScalingGroup, name: string): Node | undefined {
    const type = groupInstanceTypes(g)[0]!;
    const info = this.opts.catalog.get(type);
    if (!info) return undefined;
    const lt = g.spec.launchTemplate;
    return templateNode(name, info, {
      zone: g.spec.availabilityZones[0] ?? `${this.opts.region}a`,
      region: this.opts.region,
      labels: { ...launchTemplateNodeLabels(lt), [GROUP_NAME_LABEL]: g.metadata.name! },
      ...(lt.nodeTaints ? { taints: lt.nodeTaints } : {}),
    });
  }

  /** Simulates each group taking the pods, picks one with the expanders and raises its desired capacity. */
  private async scaleUp(groups: AutoScalingGroup[], pending: Pod[]): Promise<ScanResult['scaledUp']> {
    const options: ScaleUpOption[] = [];
    for (const g of groups) {
      const desired = g.spec.desiredCapacity ?? g.spec.minSize;
      const room = g.spec.maxSize - desired;
      if (room <= 0) continue;
      const probe = this.template(g, `template-${g.metadata.name}`);
      if (!probe) continue;
      const sim = new FitSimulator();
      const slots: number[] = [];
      let podCount = 0;
      let podCpu = 0;
      let podMemory = 0;
      for (const p of pending) {
        let i = sim.findNode(p, slots, true);
        if (i < 0 && slots.length < room) {
          const n = sim.addNode(this.template(g, `template-${g.metadata.name}-${slots.length}`)!);
          if (sim.fits(p, n)) {
            sim.place(p, n);
            slots.push(n);
            i = n;
          } else sim.removeNode(sim.cluster.names[n]!);
        }
        if (i >= 0) {
          podCount++;
          const r = cpuMemory(p);
          podCpu += r.cpu;
          podMemory += r.memory;
        }
      }
      if (!podCount) continue;
      const info = this.opts.catalog.get(groupInstanceTypes(g)[0]!)!;
      options.push({
        group: g.metadata.name!,
        instanceType: info.name,
        nodeCount: slots.length,
        podCount,
        podCpu,
        podMemory,
        nodeCpu: slots.reduce((s, i) => s + sim.cluster.allocCpu[i]!, 0),
        nodeMemory: slots.reduce((s, i) => s + sim.cluster.allocMemory[i]!, 0),
        hourlyPrice: slots.length * info.onDemandUsdPerHour,
      });
    }
    if (!options.length) return undefined;
    let priorities: Priorities | undefined;
    if (this.o.expanders.includes('priority')) priorities = await this.priorities();
    const pick = expand(options, this.o.expanders, { random: this.opts.random, ...(priorities ? { priorities } : {}) });
    if (!pick) return undefined;
    const g = groups.find((x) => x.metadata.name === pick.group)!;
    const from = g.spec.desiredCapacity ?? g.spec.minSize;
    const to = from + pick.nodeCount;
    await this.mgr.client.patch(Kinds.AutoScalingGroup, pick.group, undefined, 'merge', {
      metadata: { annotations: { [SCALING_CAUSE_ANNOTATION]: `At ${rfc3339(this.mgr.clock.now())} cluster-autoscaler scaled up for ${pick.podCount} unschedulable pod${pick.podCount === 1 ? '' : 's'} (expander ${this.o.expanders.join(',')}), changing the desired capacity from ${from} to ${to}.` } },
      spec: { desiredCapacity: to },
    });
    this.recorder.event(g, 'Normal', 'TriggeredScaleUp', `pod triggered scale-up: [{${pick.group} ${from}->${to} (max: ${g.spec.maxSize})}]`);
    for (const p of pending.slice(0, 50)) this.recorder.event(p, 'Normal', 'TriggeredScaleUp', `pod triggered scale-up: [{${pick.group} ${from}->${to} (max: ${g.spec.maxSize})}]`);
    return { group: pick.group, from, to, pods: pick.podCount };
  }

  private async priorities(): Promise<Priorities | undefined> {
    const cm = await this.mgr.client.tryGet<KubeObject & { data?: Record<string, string> }>(Kinds.ConfigMap, PRIORITY_CONFIGMAP.name, PRIORITY_CONFIGMAP.namespace);
    const text = cm?.data?.priorities;
    if (!text) return undefined;
    try {
      return parsePriorities(text);
    } catch (e) {
      if (cm) this.recorder.event(cm, 'Warning', 'PriorityConfigMapInvalid', (e as Error).message);
      return undefined;
    }
  }

  /** Why a pod keeps its node (Cluster Autoscaler's drain rules), or undefined if it may move. */
  private blocker(pod: Pod, pdbBudget: Map<Pdb, number>): string | undefined {
    const ann = pod.metadata.annotations?.[SAFE_TO_EVICT_ANNOTATION];
    const name = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (ann === 'false') return `pod ${name} is annotated ${SAFE_TO_EVICT_ANNOTATION}: "false"`;
    const pdbs = [...pdbBudget.keys()].filter((b) => b.metadata.namespace === pod.metadata.namespace && labelSelectorMatches(b.spec?.selector, pod.metadata.labels));
    for (const b of pdbs) if ((pdbBudget.get(b) ?? 0) < 1) return `pod ${name} is protected by PodDisruptionBudget ${b.metadata.name}, which allows no more disruptions`;
    if (ann === 'true') return undefined;
    if (!(pod.metadata.ownerReferences ?? []).some((o) => o.controller)) return `pod ${name} is not replicated (it has no controller)`;
    if (pod.metadata.namespace === 'kube-system' && !pdbs.length) return `non-daemonset, non-mirrored kube-system pod ${name} has no PodDisruptionBudget`;
    if (((pod.spec as { volumes?: { emptyDir?: unknown }[] }).volumes ?? []).some((v) => v.emptyDir !== undefined)) return `pod ${name} has local storage (emptyDir)`;
    return undefined;
  }

  private async scaleDown(sim: FitSimulator, nodes: Node[], groups: Map<string, AutoScalingGroup>, now: number, result: ScanResult): Promise<void> {
    const threshold = this.o.scaleDownUtilizationThreshold;
    const candidates: { node: Node; i: number; util: number }[] = [];
    const seen = new Set<string>();
    for (const n of nodes) {
      const name = n.metadata.name!;
      const group = n.metadata.labels?.[GROUP_NAME_LABEL];
      if (!group || !groups.has(group)) continue;
      const i = sim.cluster.indexOf(name);
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      if (i < 0 || !ready || n.spec?.unschedulable) continue;
      const util = sim.utilization(i);
      seen.add(name);
      if (util >= threshold || n.metadata.annotations?.[SCALE_DOWN_DISABLED_ANNOTATION] === 'true') {
        this.unneededSince.delete(name);
        continue;
      }
      if (!this.unneededSince.has(name)) this.unneededSince.set(name, now);
      result.unneeded.push(name);
      if (now - this.unneededSince.get(name)! >= this.o.scaleDownUnneededSeconds * 1000) candidates.push({ node: n, i, util });
    }
    for (const k of [...this.unneededSince.keys()]) if (!seen.has(k)) this.unneededSince.delete(k);
    if (!candidates.length || now - this.lastScaleUp < this.o.scaleDownDelayAfterAddSeconds * 1000) return;

    const budget = new Map<Pdb, number>(this.pdbs.cache.list().map((b) => [b, b.status?.disruptionsAllowed ?? 0]));
    const room = new Map<string, number>();
    for (const [name, g] of groups) room.set(name, (g.spec.desiredCapacity ?? g.spec.minSize) - g.spec.minSize);
    // Empty nodes first, then the least utilized.
    candidates.sort((a, b) => a.util - b.util || (a.node.metadata.name! < b.node.metadata.name! ? -1 : 1));
    const removing = new Set<number>();
    const plans: { node: Node; pods: Pod[] }[] = [];
    let nonEmpty = 0;
    for (const c of candidates) {
      const group = c.node.metadata.labels![GROUP_NAME_LABEL]!;
      if ((room.get(group) ?? 0) < 1) continue;
      const all = sim.podsOnNode(c.i);
      const movable = all.filter((p) => !isDaemonOrMirror(p));
      if (movable.length && nonEmpty >= 1) continue;
      const blocked = movable.map((p) => this.blocker(p, budget)).find((b) => b !== undefined);
      if (blocked) {
        this.recorder.event(c.node, 'Normal', 'ScaleDownFailed', `node ${c.node.metadata.name} cannot be removed: ${blocked}`);
        continue;
      }
      // Would its pods fit on the nodes that stay?
      const exclude = new Set([...removing, c.i]);
      const placed: [Pod, number][] = [];
      let ok = true;
      for (const bound of movable) {
        // As a pod its controller would create anew: not bound to any node.
        const p: Pod = { ...bound, spec: { ...bound.spec } };
        delete p.spec.nodeName;
        const to = sim.findNode(p, undefined, false, exclude);
        if (to < 0) {
          ok = false;
          this.recorder.event(c.node, 'Normal', 'ScaleDownFailed', `node ${c.node.metadata.name} cannot be removed: pod ${p.metadata.namespace}/${p.metadata.name} fits on no other node (${sim.explain(p, exclude)})`);
          break;
        }
        sim.place(p, to);
        placed.push([p, to]);
      }
      if (!ok) {
        for (const [p, to] of placed) sim.cluster.removePods(sim.cluster.classes.intern(p), to, 1);
        continue;
      }
      for (const p of movable) for (const b of budget.keys()) if (b.metadata.namespace === p.metadata.namespace && labelSelectorMatches(b.spec?.selector, p.metadata.labels)) budget.set(b, budget.get(b)! - 1);
      removing.add(c.i);
      room.set(group, room.get(group)! - 1);
      if (movable.length) nonEmpty++;
      plans.push({ node: c.node, pods: movable });
    }
    const drained: Node[] = [];
    for (const plan of plans) if (await this.drain(plan.node, plan.pods)) drained.push(plan.node);
    await this.removeNodes(drained, groups, now);
    result.removedNodes.push(...drained.map((n) => n.metadata.name!));
  }

  /**
   * Terminates the drained nodes' instances and lowers their groups' desired capacity, in one
   * write per group (TerminateInstanceInAutoScalingGroup with ShouldDecrementDesiredCapacity).
   */
  private async removeNodes(nodes: Node[], groups: Map<string, AutoScalingGroup>, now: number): Promise<void> {
    const byGroup = new Map<string, { node: Node; id: string }[]>();
    for (const n of nodes) {
      const id = n.spec?.providerID?.split('/').pop();
      if (!id?.startsWith('i-')) continue;
      const g = n.metadata.labels![GROUP_NAME_LABEL]!;
      if (!byGroup.has(g)) byGroup.set(g, []);
      byGroup.get(g)!.push({ node: n, id });
    }
    for (const [groupName, list] of byGroup) {
      const fresh = await this.mgr.client.get<AutoScalingGroup>(Kinds.AutoScalingGroup, groupName);
      const desired = fresh.spec.desiredCapacity ?? fresh.spec.minSize;
      const members = new Set((fresh.status?.instances ?? []).filter((i) => i.lifecycleState !== 'Terminating').map((i) => i.instanceId));
      const earlier = (fresh.metadata.annotations?.[TERMINATE_FIRST_ANNOTATION] ?? '').split(',').filter((x) => members.has(x));
      const ids = [...new Set([...earlier, ...list.map((x) => x.id)])];
      const names = list.map((x) => x.node.metadata.name).join(', ');
      await this.mgr.client.patch(Kinds.AutoScalingGroup, groupName, undefined, 'merge', {
        metadata: { annotations: { [TERMINATE_FIRST_ANNOTATION]: ids.join(','), [SCALING_CAUSE_ANNOTATION]: `At ${rfc3339(now)} cluster-autoscaler removed unneeded node${list.length === 1 ? '' : 's'} ${names}, changing the desired capacity from ${desired} to ${Math.max(fresh.spec.minSize, desired - list.length)}.` } },
        spec: { desiredCapacity: Math.max(fresh.spec.minSize, desired - list.length) },
      });
      const g = groups.get(groupName) ?? fresh;
      for (const { node } of list) this.recorder.event(node, 'Normal', 'ScaleDown', `node removed by cluster autoscaler`);
      this.recorder.event(g, 'Normal', 'ScaleDown', `Scale-down: removing ${list.length} node${list.length === 1 ? '' : 's'} (${names}), requested utilization below ${this.o.scaleDownUtilizationThreshold}`);
      for (const { node } of list) this.unneededSince.delete(node.metadata.name!);
    }
  }

  /** Taints the node and evicts its pods. False (taint removed) if an eviction was refused. */
  private async drain(node: Node, pods: Pod[]): Promise<boolean> {
    const name = node.metadata.name!;
    const client = this.mgr.client;
    const now = this.mgr.clock.now();
    const taints = [...(node.spec?.taints ?? []).filter((t) => t.key !== TO_BE_DELETED_TAINT), { key: TO_BE_DELETED_TAINT, value: String(Math.floor(now / 1000)), effect: 'NoSchedule' as const }];
    await client.patch(Kinds.Node, name, undefined, 'merge', { spec: { taints } });
    for (const p of pods) {
      try {
        await this.opts.evict(p.metadata.namespace!, p.metadata.name!);
      } catch (e) {
        if ((e as { code?: number }).code === 404) continue;
        // A budget said no: give the node back.
        await client.patch(Kinds.Node, name, undefined, 'merge', { spec: { taints: node.spec?.taints?.length ? node.spec.taints : null } });
        this.recorder.event(node, 'Warning', 'ScaleDownFailed', `failed to drain node ${name}: evicting ${p.metadata.namespace}/${p.metadata.name}: ${(e as Error).message}`);
        return false;
      }
    }
    return true;
  }
}
