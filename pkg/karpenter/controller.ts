/**
 * Karpenter in berth: provisioning, NodeClaim lifecycle and consolidation, every
 * `intervalSeconds` (default 5: Karpenter batches pending pods for 1–10 s).
 *
 * Provisioning. Pods the scheduler marked Unschedulable that fit neither on the nodes there are
 * nor on NodeClaims still launching go to the NodePools, highest `weight` first. For a pool, the
 * offerings are the catalogue's types × capacity types × zones its requirements allow (labels as
 * offeringLabels), priced On-Demand or at the Spot market's current price. Which pods an offering
 * may hold is asked of the scheduler's own filters on a template node (pkg/nodeautoscaler's
 * FitSimulator): node selectors, affinity, taints and tolerations, resources. The planner
 * (planner.ts: greedy, then column generation when the pool has no `limits`) picks the cheapest
 * set of nodes within the pool's `limits`; each becomes a NodeClaim and an Instance (On-Demand, or
 * Spot), labelled `karpenter.sh/nodepool`, with the pool's labels and taints. Pending pods are
 * batched while more keep arriving (1 s idle, 10 s at most, as Karpenter's batchIdleDuration and
 * batchMaxDuration), so one plan covers a burst. Each planned pod is nominated to its NodeClaim
 * (see `nominations`): the next rounds count it there, and the scheduler, told the node's name
 * in `status.nominatedNodeName`, keeps the planned packing. The scheduler binds the pods as the
 * nodes register. NodePool `status` (resources, NodeClassReady / ValidationSucceeded / Ready) is
 * kept each round.
 *
 * Consolidation (`disruption.consolidationPolicy`, after `consolidateAfter`), in Karpenter's
 * order: an empty node (only DaemonSet pods) is deleted; with WhenEmptyOrUnderutilized, several
 * nodes go at once when their pods fit on the nodes that stay plus at most one new node cheaper
 * than all of them (multi-node); else a node whose pods fit on the other nodes is deleted, and one
 * whose pods fit on a single cheaper new node is replaced (the replacement launched first). Never a node with a pod or node annotated `karpenter.sh/do-not-disrupt:
 * "true"`, nor one whose pods a PodDisruptionBudget protects, nor more at once than the pool's
 * disruption budgets allow (default `nodes: 10%`). Draining taints `karpenter.sh/disrupted:NoSchedule`,
 * evicts, then deletes the NodeClaim (its Instance terminates through the garbage collector).
 *
 * Not modelled: drift, expiration (`expireAfter` is accepted), interruption-queue handling beyond
 * replacing NodeClaims whose instance was terminated, inter-pod affinity and topology spread
 * across the planned nodes (the scheduler honours them; pods left pending get the next round).
 */
import { parseSchedule } from '../api/cron.js';
import type { KubeObject } from '../api/types.js';
import type { Node, Pod } from '../api/types.js';
import { ownerRef } from '../api/meta.js';
import { Kinds } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import type { Catalog } from '../cloud/catalog.js';
import { regionZones, type Region } from '../cloud/network.js';
import type { SpotMarket } from '../cloud/spot-market.js';
import { newInstanceId, type Instance } from '../cloud/types.js';
import type { Manager, Runnable } from '../runtime/manager.js';
import type { EventRecorder } from '../runtime/events.js';
import { cpuMemory, FitSimulator, isDaemonOrMirror, templateNode } from '../nodeautoscaler/simulator.js';
import { labelSelectorMatches } from '../nodeautoscaler/selectors.js';
import { Idle } from '../autoscaling/idle.js';
import { formatCpu, resourceAmount } from '../api/quantity.js';
import { rfc3339 } from '../clock/clock.js';
import { columnPlan, lowerBound, plan, type Offering, type PodGroup } from './planner.js';
import { offeringOf } from './bench.js';
import {
  CAPACITY_TYPE_LABEL,
  DISRUPTED_TAINT,
  DO_NOT_DISRUPT_ANNOTATION,
  KarpenterKinds,
  NODECLAIM_LABEL,
  NODEPOOL_LABEL,
  OFFERING_KEYS,
  offeringLabels,
  parseKarpenterDuration,
  requirementsMatch,
  type NodeClaim,
  type NodePool,
} from './types.js';

export interface KarpenterOptions {
  catalog: Catalog;
  region: Region;
  market: SpotMarket;
  random: () => number;
  evict: (namespace: string, name: string) => Promise<unknown>;
  /** Default 5. */
  intervalSeconds?: number;
}

interface PoolOffering extends Offering {
  labels: Record<string, string>;
}

interface Pdb extends KubeObject {
  spec?: { selector?: unknown };
  status?: { disruptionsAllowed?: number };
}

/** A node consolidation may take away: its NodeClaim and pool, its slot in the fit simulation, its price (USD per hour), and its pods (DaemonSet pods left out). */
interface ConsolidationCandidate {
  node: Node;
  claim: NodeClaim;
  pool: NodePool;
  i: number;
  price: number;
  pods: Pod[];
}

/** Most nodes one multi-node consolidation takes (Karpenter's MultiNodeConsolidationTimeoutDuration bounds its search by time; berth by count). */
const MULTI_NODE_MAX = 100;

export class Karpenter implements Runnable {
  readonly name = 'karpenter';
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly pools: Informer<NodePool>;
  private readonly claims: Informer<NodeClaim>;
  private readonly instances: Informer<Instance>;
  private readonly pdbs: Informer<Pdb>;
  private readonly nodeClasses: Informer<KubeObject>;
  private readonly recorder: EventRecorder;
  /** The pending pods seen growing: since when, and how many. */
  private batch = { start: 0, count: 0 };
  /** NodeClaims this process created and the cache has not shown yet. */
  private readonly launched = new Map<string, NodeClaim>();
  /**
   * Nominations: pod uid → the NodeClaim the plan put it on. While the claim launches, its pods
   * count on it (the next round does not plan them again, nor first-fit them differently), and
   * once the claim's instance has its private DNS name (the node name) the pod's
   * `status.nominatedNodeName` is set to it, so the scheduler holds the planned room for it
   * (as Karpenter and Cluster Autoscaler may since Kubernetes 1.34, KEP-5278
   * "NominatedNodeName for expected pod placement"). Dropped once the pod is bound, gone, or
   * 30 s after its node registered.
   */
  private readonly nominations = new Map<string, { claim: string; registeredAt?: number }>();

  constructor(
    private readonly mgr: Manager,
    private readonly opts: KarpenterOptions,
  ) {
    this.pods = mgr.informer<Pod>(Kinds.Pod);
    this.nodes = mgr.informer<Node>(Kinds.Node);
    this.pools = mgr.informer<NodePool>(KarpenterKinds.NodePool);
    this.claims = mgr.informer<NodeClaim>(KarpenterKinds.NodeClaim);
    this.instances = mgr.informer<Instance>(Kinds.Instance);
    this.pdbs = mgr.informer<Pdb>(Kinds.PodDisruptionBudget);
    this.nodeClasses = mgr.informer<KubeObject>(KarpenterKinds.EC2NodeClass);
    this.recorder = mgr.recorder('karpenter');
  }

  async start(signal: AbortSignal): Promise<void> {
    await Promise.all([this.pods, this.nodes, this.pools, this.claims, this.instances, this.pdbs, this.nodeClasses].map((i) => i.waitForSync(signal)));
    const idle = new Idle([this.pools, this.claims] as unknown as Informer<KubeObject>[]);
    while (!signal.aborted) {
      if (!this.pools.cache.list().length && !this.claims.cache.list().length) {
        await idle.until(signal);
        continue;
      }
      try {
        await this.scan();
      } catch (e) {
        this.mgr.log.warn({ err: e }, 'karpenter scan failed');
      }
      try {
        // A batch being gathered is looked at again after a second (Karpenter's batch idle duration).
        await this.mgr.clock.sleep(this.batch.count ? 1000 : (this.opts.intervalSeconds ?? 5) * 1000, signal);
      } catch {
        return;
      }
    }
  }

  private claimList(): NodeClaim[] {
    const byName = new Map(this.claims.cache.list().map((c) => [c.metadata.name!, c]));
    for (const [n, c] of this.launched) {
      if (byName.has(n)) this.launched.delete(n);
      else byName.set(n, c);
    }
    return [...byName.values()];
  }

  /** One round: NodeClaim status, provisioning, then (with nothing pending) consolidation. */
  async scan(): Promise<void> {
    const claims = this.claimList();
    await this.syncClaims(claims);
    await this.syncPools(claims);
    const { sim, nodes, pending } = FitSimulator.fromCluster(this.nodes.cache.list(), this.pods.cache.list());
    const registered = new Set(nodes.map((n) => n.metadata.name!));
    let inFlight = 0;
    const now = this.mgr.clock.now();
    const slotOf = new Map<string, number>();
    for (const c of claims) {
      if (c.metadata.deletionTimestamp) continue;
      if (c.status?.nodeName && registered.has(c.status.nodeName)) {
        slotOf.set(c.metadata.name!, sim.cluster.indexOf(c.status.nodeName));
        continue;
      }
      const t = this.claimTemplate(c);
      if (t) {
        slotOf.set(c.metadata.name!, sim.addNode(t));
        inFlight++;
      }
    }
    // Nominated pods first take the room planned for them.
    const nominated = new Set<Pod>();
    const pendingUids = new Set(pending.map((p) => p.metadata.uid!));
    for (const uid of [...this.nominations.keys()]) if (!pendingUids.has(uid)) this.nominations.delete(uid);
    const dnsOf = new Map<string, string>();
    for (const i of this.instances.cache.list()) {
      const c = i.metadata.labels?.[NODECLAIM_LABEL];
      if (c && i.status?.privateDnsName) dnsOf.set(c, i.status.privateDnsName);
    }
    for (const p of pending) {
      const n = this.nominations.get(p.metadata.uid!);
      const slot = n ? slotOf.get(n.claim) : undefined;
      if (!n || slot === undefined || slot < 0) {
        this.nominations.delete(p.metadata.uid!);
        continue;
      }
      const claim = claims.find((c) => c.metadata.name === n.claim);
      if (claim?.status?.nodeName && registered.has(claim.status.nodeName)) {
        n.registeredAt ??= now;
        if (now - n.registeredAt > 30_000) {
          this.nominations.delete(p.metadata.uid!);
          continue;
        }
      }
      sim.place({ ...p, spec: { ...p.spec, nodeName: undefined } } as Pod, slot);
      nominated.add(p);
      const dns = dnsOf.get(n.claim);
      if (dns && p.status?.nominatedNodeName !== dns) await this.nominate(p, dns);
    }
    pending.sort((a, b) => cpuMemory(b).cpu - cpuMemory(a).cpu);
    const rest = pending.filter((p) => !nominated.has(p) && sim.findNode(p, undefined, true) < 0);
    // Batching, as Karpenter's (1 s idle, 10 s at most): while more pods keep arriving, wait for them.
    if (rest.length && rest.length > this.batch.count && now - this.batch.start < 10_000) {
      if (!this.batch.count) this.batch.start = now;
      this.batch.count = rest.length;
      return;
    }
    this.batch = { start: now, count: 0 };
    if (rest.length) await this.provision(rest, claims);
    else if (!pending.length && !inFlight) await this.consolidate(sim, nodes, claims);
  }

  /**
   * NodePool status, as Karpenter's counter and readiness controllers keep it
   * (https://karpenter.sh/docs/concepts/nodepools/): `resources`, the capacity of the pool's
   * NodeClaims (cpu in cores, memory in Ki, pods, ephemeral-storage, and `nodes`, their count;
   * a claim still launching counts its instance type's capacity); `conditions`
   * NodeClassReady (the `nodeClassRef` names an EC2NodeClass that exists), ValidationSucceeded
   * (the API server validated the spec), and Ready when both hold.
   */
  private async syncPools(claims: NodeClaim[]): Promise<void> {
    const now = rfc3339(this.mgr.clock.now());
    for (const pool of this.pools.cache.list()) {
      if (pool.metadata.deletionTimestamp) continue;
      let cpu = 0;
      let mem = 0;
      let pods = 0;
      let disk = 0;
      let nodes = 0;
      for (const c of claims) {
        if (c.metadata.labels?.[NODEPOOL_LABEL] !== pool.metadata.name || c.metadata.deletionTimestamp) continue;
        nodes++;
        const cap = c.status?.capacity;
        const type = c.spec.requirements.find((r) => r.key === 'node.kubernetes.io/instance-type')?.values?.[0];
        const info = type ? this.opts.catalog.get(type) : undefined;
        cpu += cap?.cpu ? resourceAmount('cpu', cap.cpu) : (info?.vcpu ?? 0) * 1000;
        mem += cap?.memory ? resourceAmount('memory', cap.memory) : (info?.memoryMiB ?? 0) * 1024 * 1024;
        pods += cap?.pods ? resourceAmount('pods', cap.pods) : (info?.maxPods ?? 0);
        disk += cap?.['ephemeral-storage'] ? resourceAmount('ephemeral-storage', cap['ephemeral-storage']) : 0;
      }
      const resources: Record<string, string> = { cpu: formatCpu(cpu), memory: `${Math.round(mem / 1024)}Ki`, pods: String(pods), 'ephemeral-storage': `${Math.round(disk / 1024)}Ki`, nodes: String(nodes) };
      const ref = pool.spec.template.spec.nodeClassRef;
      const classOk = !!ref && !!this.nodeClasses.cache.getByName(ref.name);
      const old = pool.status?.conditions ?? [];
      const cond = (type: string, ok: boolean, reason: string, message: string) => {
        const prev = old.find((x) => x.type === type);
        const status = ok ? 'True' : 'False';
        return { type, status, reason, message, lastTransitionTime: prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now };
      };
      const conditions = [
        cond('NodeClassReady', classOk, classOk ? 'NodeClassReady' : 'NodeClassNotFound', classOk ? '' : `EC2NodeClass ${ref?.name ?? '(none)'} not found`),
        cond('ValidationSucceeded', true, 'ValidationSucceeded', ''),
        cond('Ready', classOk, classOk ? 'Ready' : 'NodeClassNotReady', classOk ? '' : 'NodeClassReady=False'),
      ];
      const status = { ...pool.status, resources, nodes, conditions };
      if (JSON.stringify(status) === JSON.stringify(pool.status)) continue;
      try {
        await this.mgr.client.updateStatus({ ...pool, metadata: { ...pool.metadata, resourceVersion: undefined }, status } as NodePool);
      } catch (e) {
        if ((e as { code?: number }).code !== 404) throw e;
      }
    }
  }

  /** Sets a pending pod's `status.nominatedNodeName` (see `nominations`). */
  private async nominate(p: Pod, nodeName: string): Promise<void> {
    try {
      await this.mgr.client.modify<Pod>(
        Kinds.Pod,
        p.metadata.name!,
        p.metadata.namespace,
        (cur) => {
          if (cur.metadata.uid !== p.metadata.uid || cur.spec.nodeName || cur.status?.nominatedNodeName === nodeName) return undefined;
          (cur.status ??= {}).nominatedNodeName = nodeName;
          return cur;
        },
        { status: true },
      );
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }

  /** The node a launching NodeClaim will register as. */
  private claimTemplate(c: NodeClaim): Node | undefined {
    const type = c.spec.requirements.find((r) => r.key === 'node.kubernetes.io/instance-type')?.values?.[0];
    const info = type ? this.opts.catalog.get(type) : undefined;
    if (!info) return undefined;
    const ct = c.spec.requirements.find((r) => r.key === CAPACITY_TYPE_LABEL)?.values?.[0] ?? 'on-demand';
    const zone = c.spec.requirements.find((r) => r.key === 'topology.kubernetes.io/zone')?.values?.[0] ?? regionZones(this.opts.region)[0]!;
    return templateNode(`nodeclaim-${c.metadata.name}`, info, { zone, region: this.opts.region, labels: { ...offeringLabels(info, ct, zone, this.opts.region), ...(c.metadata.labels ?? {}) }, ...(c.spec.taints ? { taints: c.spec.taints } : {}), spot: ct === 'spot' });
  }

  /** A pool's offerings: allowed types × capacity types × zones, priced now. */
  private offerings(pool: NodePool): PoolOffering[] {
    const reqs = pool.spec.template.spec.requirements ?? [];
    const now = this.mgr.clock.now();
    const out: PoolOffering[] = [];
    const key = `${pool.metadata.name}/${pool.metadata.resourceVersion}/${Math.floor(now / 3_600_000)}`;
    const hit = this.offeringCache.get(pool.metadata.name!);
    if (hit?.key === key) return hit.offerings;
    const allZones = regionZones(this.opts.region);
    const zoneReq = reqs.filter((r) => r.key === 'topology.kubernetes.io/zone');
    const zones = allZones.filter((z) => requirementsMatch(zoneReq, { 'topology.kubernetes.io/zone': z }));
    // On-Demand costs the same in every zone: one offering per type, in the zone that comes round next.
    const odZone = zones[this.zoneTurn++ % Math.max(1, zones.length)] ?? allZones[0]!;
    for (const t of this.opts.catalog.list()) {
      for (const ct of ['on-demand', 'spot'] as const) {
        for (const zone of ct === 'on-demand' ? [odZone] : zones) {
          const labels = offeringLabels(t, ct, zone, this.opts.region);
          const known = reqs.filter((r) => OFFERING_KEYS.has(r.key));
          // Karpenter launches On-Demand unless the pool allows spot (the default requirement is on-demand).
          if (!known.some((r) => r.key === CAPACITY_TYPE_LABEL) && ct === 'spot') continue;
          if (!requirementsMatch(known, labels)) continue;
          const price = ct === 'spot' ? this.opts.market.price(t.name, zone, now) : t.onDemandUsdPerHour;
          if (!(price > 0)) continue;
          out.push({ ...offeringOf(t, zone, ct, price), labels });
        }
      }
    }
    this.offeringCache.set(pool.metadata.name!, { key, offerings: out });
    return out;
  }

  /** Offerings per pool, recomputed when the pool changes and each hour (Spot prices move hourly). */
  private readonly offeringCache = new Map<string, { key: string; offerings: PoolOffering[] }>();
  private zoneTurn = 0;

  /** The labels a pool puts on its nodes: template labels, single-valued In requirements on other keys, the pool name. */
  private poolLabels(pool: NodePool): Record<string, string> {
    const labels: Record<string, string> = { ...(pool.spec.template.metadata?.labels ?? {}), [NODEPOOL_LABEL]: pool.metadata.name! };
    for (const r of pool.spec.template.spec.requirements ?? []) if (!OFFERING_KEYS.has(r.key) && r.operator === 'In' && r.values?.length === 1) labels[r.key] = r.values[0]!;
    return labels;
  }

  private async provision(pending: Pod[], claims: NodeClaim[]): Promise<void> {
    const pools = this.pools.cache.list().filter((p) => !p.metadata.deletionTimestamp).sort((a, b) => (b.spec.weight ?? 0) - (a.spec.weight ?? 0) || (a.metadata.name! < b.metadata.name! ? -1 : 1));
    let left = pending;
    for (const pool of pools) {
      if (!left.length) break;
      const offerings = this.offerings(pool);
      if (!offerings.length) continue;
      const sim = new FitSimulator();
      const poolLabels = this.poolLabels(pool);
      const taints = pool.spec.template.spec.taints ?? [];
      const slots = offerings.map((o, i) => sim.addNode(templateNode(`offering-${i}`, this.opts.catalog.get(o.instanceType)!, { zone: o.zone, region: this.opts.region, labels: { ...o.labels, ...poolLabels }, taints, spot: o.capacityType === 'spot' })));
      // Group pods by their scheduling class (identical requests and constraints).
      const groups = new Map<string, { group: PodGroup; pods: Pod[] }>();
      for (const p of left) {
        const cls = sim.cluster.classes.intern({ ...p, spec: { ...p.spec, nodeName: undefined } } as Pod);
        const key = `${cls.staticKey}|${cls.cpu}|${cls.memory}|${JSON.stringify(p.spec.affinity ?? {})}|${JSON.stringify(p.spec.topologySpreadConstraints ?? [])}`;
        let g = groups.get(key);
        if (!g) {
          const verdict = slots.map((s) => sim.fits(p, s));
          const r = cpuMemory(p);
          g = { group: { key, cpu: r.cpu, memory: r.memory, count: 0, compatible: (o) => verdict[o]! }, pods: [] };
          groups.set(key, g);
        }
        g.group.count++;
        g.pods.push(p);
      }
      const list = [...groups.values()];
      const limits = this.remainingLimits(pool, claims);
      const lb = await lowerBound(list.map((g) => g.group).filter((g) => offerings.some((_, o) => g.compatible(o))), offerings);
      let p = plan(list.map((g) => g.group), offerings, { limits, duals: lb.duals });
      // Column generation improves on the greedy plan; it knows no limits, so only without them.
      if (limits.cpu === undefined && limits.memory === undefined) p = (await columnPlan(list.map((g) => g.group), offerings, p, { duals: lb.duals })).plan;
      if (!p.nodes.length) continue;
      const placed = new Set<Pod>();
      const cursor = list.map(() => 0);
      for (const n of p.nodes) {
        const claim = await this.launch(pool, offerings[n.offering]!, poolLabels, n.counts.reduce((a, b) => a + b, 0));
        n.counts.forEach((c, gi) => {
          for (let k = 0; k < c; k++) {
            const pod = list[gi]!.pods[cursor[gi]!++]!;
            placed.add(pod);
            this.nominations.set(pod.metadata.uid!, { claim: claim.metadata.name! });
          }
        });
      }
      this.recorder.event(pool, 'Normal', 'Provisioned', `launched ${p.nodes.length} node${p.nodes.length === 1 ? '' : 's'} for ${placed.size} pending pod${placed.size === 1 ? '' : 's'}, $${p.hourlyCost.toFixed(4)}/hour`);
      left = left.filter((x) => !placed.has(x));
    }
  }

  /** What the pool may still add: its limits less its NodeClaims' capacity (vCPUs, bytes). */
  private remainingLimits(pool: NodePool, claims: NodeClaim[]): { cpu?: number; memory?: number } {
    const lim = pool.spec.limits ?? {};
    if (lim.cpu === undefined && lim.memory === undefined) return {};
    let cpu = 0;
    let mem = 0;
    for (const c of claims) {
      if (c.metadata.labels?.[NODEPOOL_LABEL] !== pool.metadata.name || c.metadata.deletionTimestamp) continue;
      const type = c.spec.requirements.find((r) => r.key === 'node.kubernetes.io/instance-type')?.values?.[0];
      const info = type ? this.opts.catalog.get(type) : undefined;
      if (!info) continue;
      cpu += info.vcpu;
      mem += info.memoryMiB * 1024 * 1024;
    }
    return {
      ...(lim.cpu !== undefined ? { cpu: resourceAmount('cpu', lim.cpu) / 1000 - cpu } : {}),
      ...(lim.memory !== undefined ? { memory: resourceAmount('memory', lim.memory) - mem } : {}),
    };
  }

  /** Creates a NodeClaim and its Instance. */
  private async launch(pool: NodePool, o: PoolOffering, poolLabels: Record<string, string>, pods: number): Promise<NodeClaim> {
    const suffix = Array.from({ length: 5 }, () => 'bcdfghjklmnpqrstvwxz2456789'[Math.floor(this.opts.random() * 27)]).join('');
    const name = `${pool.metadata.name}-${suffix}`;
    const taints = pool.spec.template.spec.taints ?? [];
    const claim: NodeClaim = {
      apiVersion: KarpenterKinds.NodeClaim.apiVersion,
      kind: KarpenterKinds.NodeClaim.kind,
      metadata: { name, labels: { ...poolLabels }, ownerReferences: [{ ...ownerRef(pool), controller: false, blockOwnerDeletion: true }] },
      spec: {
        requirements: [
          { key: 'node.kubernetes.io/instance-type', operator: 'In', values: [o.instanceType] },
          { key: CAPACITY_TYPE_LABEL, operator: 'In', values: [o.capacityType] },
          { key: 'topology.kubernetes.io/zone', operator: 'In', values: [o.zone] },
          { key: NODEPOOL_LABEL, operator: 'In', values: [pool.metadata.name!] },
        ],
        resources: { requests: { pods: String(pods) } },
        ...(taints.length ? { taints } : {}),
        ...(pool.spec.template.spec.nodeClassRef ? { nodeClassRef: pool.spec.template.spec.nodeClassRef } : {}),
      },
    };
    const created = await this.mgr.client.create(claim);
    this.launched.set(name, created);
    const id = newInstanceId(this.opts.random);
    const inst: Instance = {
      apiVersion: Kinds.Instance.apiVersion,
      kind: Kinds.Instance.kind,
      metadata: { name: id, labels: { [NODEPOOL_LABEL]: pool.metadata.name!, [NODECLAIM_LABEL]: name }, ownerReferences: [ownerRef(created)] },
      spec: {
        instanceType: o.instanceType,
        availabilityZone: o.zone,
        state: 'running',
        nodeLabels: { ...poolLabels, [NODECLAIM_LABEL]: name, [CAPACITY_TYPE_LABEL]: o.capacityType, ...Object.fromEntries(Object.entries(o.labels).filter(([k]) => k.startsWith('karpenter.k8s.aws/'))) },
        ...(taints.length ? { nodeTaints: taints.map((t) => ({ ...t })) } : {}),
        ...(o.capacityType === 'spot' ? { instanceMarketOptions: { marketType: 'spot' as const } } : {}),
      },
    };
    await this.mgr.client.create(inst);
    this.recorder.event(created, 'Normal', 'Launched', `launched ${o.capacityType} ${o.instanceType} in ${o.zone} as ${id} ($${o.price.toFixed(4)}/hour)`);
    return created;
  }

  /** NodeClaim status from its Instance and Node; a NodeClaim whose instance is gone is deleted. */
  private async syncClaims(claims: NodeClaim[]): Promise<void> {
    const byClaim = new Map<string, Instance>();
    for (const i of this.instances.cache.list()) {
      const c = i.metadata.labels?.[NODECLAIM_LABEL];
      if (c) byClaim.set(c, i);
    }
    for (const c of claims) {
      if (c.metadata.deletionTimestamp || this.launched.has(c.metadata.name!)) continue;
      const inst = byClaim.get(c.metadata.name!);
      const state = inst?.status?.state;
      if (!inst || state === 'terminated' || state === 'shutting-down') {
        if (inst || this.mgr.clock.now() - Date.parse(c.metadata.creationTimestamp ?? '') > 60_000) {
          await this.mgr.client.deleteIfExists(KarpenterKinds.NodeClaim, c.metadata.name!);
          this.recorder.event(c, 'Normal', 'Deleted', `instance ${inst?.metadata.name ?? '(none)'} is ${state ?? 'gone'}`);
        }
        continue;
      }
      const nodeName = inst.status?.nodeName;
      const node = nodeName ? this.nodes.cache.getByName(nodeName) : undefined;
      const ready = node?.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True';
      const cond = (type: string, ok: boolean) => ({ type, status: ok ? 'True' : 'Unknown' });
      const status: NodeClaim['status'] = {
        providerID: `aws:///${inst.spec.availabilityZone}/${inst.metadata.name}`,
        ...(nodeName ? { nodeName } : {}),
        ...(node?.status?.capacity ? { capacity: node.status.capacity as Record<string, string> } : {}),
        ...(node?.status?.allocatable ? { allocatable: node.status.allocatable as Record<string, string> } : {}),
        conditions: [cond('Launched', true), cond('Registered', !!node), cond('Initialized', ready), cond('Ready', ready)],
      };
      if (JSON.stringify(status) === JSON.stringify(c.status)) continue;
      try {
        await this.mgr.client.updateStatus({ ...c, metadata: { ...c.metadata, resourceVersion: undefined }, status } as NodeClaim);
      } catch (e) {
        if ((e as { code?: number }).code !== 404) throw e;
      }
    }
  }

  /** How many more of the pool's nodes may be disrupted now (its budgets: the smallest that applies). */
  private allowedDisruptions(pool: NodePool, poolNodes: number, disrupting: number): number {
    const budgets = pool.spec.disruption?.budgets ?? [{ nodes: '10%' }];
    const now = this.mgr.clock.now();
    let allowed = Infinity;
    for (const b of budgets) {
      if (b.schedule) {
        try {
          const prev = parseSchedule(b.schedule, 'UTC').prev(now + 1);
          if (now >= prev + parseKarpenterDuration(b.duration, 0)) continue;
        } catch {
          continue;
        }
      }
      const n = b.nodes.endsWith('%') ? Math.ceil((Number(b.nodes.slice(0, -1)) / 100) * poolNodes) : Number(b.nodes);
      allowed = Math.min(allowed, Number.isFinite(n) ? n : 0);
    }
    return Math.max(0, (Number.isFinite(allowed) ? allowed : poolNodes) - disrupting);
  }

  private async consolidate(sim: FitSimulator, nodes: Node[], claims: NodeClaim[]): Promise<void> {
    const now = this.mgr.clock.now();
    const claimOf = new Map(claims.filter((c) => c.status?.nodeName).map((c) => [c.status!.nodeName!, c]));
    const pools = new Map(this.pools.cache.list().map((p) => [p.metadata.name!, p]));
    const pdbs = this.pdbs.cache.list();
    const cands: ConsolidationCandidate[] = [];
    const perPool = new Map<string, { total: number; disrupting: number }>();
    for (const n of nodes) {
      const claim = claimOf.get(n.metadata.name!);
      const pool = claim ? pools.get(claim.metadata.labels?.[NODEPOOL_LABEL] ?? '') : undefined;
      if (!claim || !pool) continue;
      const stat = perPool.get(pool.metadata.name!) ?? { total: 0, disrupting: 0 };
      stat.total++;
      if (claim.metadata.deletionTimestamp || (n.spec?.taints ?? []).some((t) => t.key === DISRUPTED_TAINT)) stat.disrupting++;
      perPool.set(pool.metadata.name!, stat);
      const d = pool.spec.disruption ?? {};
      const after = parseKarpenterDuration(d.consolidateAfter, 0);
      if (!Number.isFinite(after) || claim.metadata.deletionTimestamp || n.metadata.annotations?.[DO_NOT_DISRUPT_ANNOTATION] === 'true') continue;
      if (now - Date.parse(n.metadata.creationTimestamp ?? '') < after) continue;
      const i = sim.cluster.indexOf(n.metadata.name!);
      if (i < 0) continue;
      const pods = sim.podsOnNode(i).filter((p) => !isDaemonOrMirror(p));
      if (pods.some((p) => p.metadata.annotations?.[DO_NOT_DISRUPT_ANNOTATION] === 'true')) continue;
      if (pods.length && d.consolidationPolicy === 'WhenEmpty') continue;
      if (pods.some((p) => pdbs.some((b) => b.metadata.namespace === p.metadata.namespace && labelSelectorMatches(b.spec?.selector, p.metadata.labels) && (b.status?.disruptionsAllowed ?? 0) < 1))) continue;
      const type = n.metadata.labels?.['node.kubernetes.io/instance-type'] ?? '';
      const ct = n.metadata.labels?.[CAPACITY_TYPE_LABEL] ?? 'on-demand';
      const zone = n.metadata.labels?.['topology.kubernetes.io/zone'] ?? '';
      const price = ct === 'spot' ? this.opts.market.price(type, zone, now) : (this.opts.catalog.get(type)?.onDemandUsdPerHour ?? 0);
      cands.push({ node: n, claim, pool, i, price, pods });
    }
    // Empty nodes first, then the fewest pods, then the most expensive.
    cands.sort((a, b) => a.pods.length - b.pods.length || b.price - a.price);
    const removing = new Set<number>();
    for (const c of cands) {
      if (c.pods.length) continue;
      const stat = perPool.get(c.pool.metadata.name!)!;
      if (this.allowedDisruptions(c.pool, stat.total, stat.disrupting) < 1) continue;
      await this.disrupt(c, [], 'Empty');
      stat.disrupting++;
      removing.add(c.i);
    }
    const busy = cands.filter((c) => c.pods.length > 0);
    if (await this.consolidateMany(sim, busy, removing, perPool)) return;
    for (const c of busy) {
      const stat = perPool.get(c.pool.metadata.name!)!;
      if (this.allowedDisruptions(c.pool, stat.total, stat.disrupting) < 1) continue;
      const move = this.moveOff(sim, [c], removing);
      // Delete: every pod fits on the nodes that stay.
      if (!move.left.length) {
        await this.disrupt(c, c.pods, 'Underutilized');
        stat.disrupting++;
        removing.add(c.i);
        // One non-empty node per round, as Karpenter's single-node consolidation.
        return;
      }
      // Replace: one cheaper new node holds all its pods (On-Demand only: Karpenter leaves spot-to-spot replacement off by default).
      if (c.node.metadata.labels?.[CAPACITY_TYPE_LABEL] === 'spot') continue;
      const o = this.cheapestHolding(c.pool, c.pods, c.price);
      if (!o) continue;
      await this.launch(c.pool, o, this.poolLabels(c.pool), c.pods.length);
      this.recorder.event(c.claim, 'Normal', 'DisruptionLaunching', `replacing ${c.node.metadata.labels?.['node.kubernetes.io/instance-type']} ($${c.price.toFixed(4)}/hour) with ${o.capacityType} ${o.instanceType} ($${o.price.toFixed(4)}/hour)`);
      await this.disrupt(c, c.pods, 'Underutilized', true);
      return;
    }
  }

  /**
   * Multi-node consolidation (Karpenter's "consolidate two or more nodes in parallel, possibly
   * launching a single replacement that is cheaper than the price of all nodes being removed",
   * https://karpenter.sh/docs/concepts/disruption/#consolidation): per pool, the longest prefix of
   * the candidates (in consolidation order, at most MULTI_NODE_MAX and what the budgets allow),
   * found by binary search as Karpenter does, whose pods fit on the nodes that stay plus at most
   * one new node cheaper than all of them together (On-Demand candidates only when a replacement
   * is needed). Disrupts them and returns true, or returns false when no two nodes go together.
   */
  private async consolidateMany(sim: FitSimulator, busy: ConsolidationCandidate[], removing: Set<number>, perPool: Map<string, { total: number; disrupting: number }>): Promise<boolean> {
    const byPool = new Map<string, ConsolidationCandidate[]>();
    for (const c of busy) {
      const list = byPool.get(c.pool.metadata.name!) ?? [];
      list.push(c);
      byPool.set(c.pool.metadata.name!, list);
    }
    for (const [name, list] of byPool) {
      const stat = perPool.get(name)!;
      const pool = list[0]!.pool;
      let hi = Math.min(list.length, MULTI_NODE_MAX, this.allowedDisruptions(pool, stat.total, stat.disrupting));
      let lo = 2;
      let found: { k: number; offering: PoolOffering | undefined } | undefined;
      while (lo <= hi) {
        const k = (lo + hi) >> 1;
        const group = list.slice(0, k);
        const { left } = this.moveOff(sim, group, removing);
        const price = group.reduce((a, c) => a + c.price, 0);
        const spot = group.some((c) => c.node.metadata.labels?.[CAPACITY_TYPE_LABEL] === 'spot');
        const offering = left.length && !spot ? this.cheapestHolding(pool, left, price) : undefined;
        if (!left.length || offering) {
          found = { k, offering };
          lo = k + 1;
        } else hi = k - 1;
      }
      if (!found) continue;
      const group = list.slice(0, found.k);
      const pods = group.flatMap((c) => c.pods);
      if (found.offering) {
        const o = found.offering;
        await this.launch(pool, o, this.poolLabels(pool), pods.length);
        const was = group.reduce((a, c) => a + c.price, 0);
        for (const c of group) this.recorder.event(c.claim, 'Normal', 'DisruptionLaunching', `replacing ${group.length} nodes ($${was.toFixed(4)}/hour) with ${o.capacityType} ${o.instanceType} ($${o.price.toFixed(4)}/hour)`);
      }
      for (const c of group) {
        await this.disrupt(c, c.pods, 'Underutilized', !!found.offering);
        stat.disrupting++;
        removing.add(c.i);
      }
      return true;
    }
    return false;
  }

  /**
   * Which pods of `group` find room on the nodes that stay (neither in `group` nor `removing`),
   * tried one by one; the simulation is left as it was. `left`: the pods that found none.
   */
  private moveOff(sim: FitSimulator, group: readonly ConsolidationCandidate[], removing: ReadonlySet<number>): { left: Pod[] } {
    const exclude = new Set([...removing, ...group.map((c) => c.i)]);
    const moved: [Pod, number][] = [];
    const left: Pod[] = [];
    for (const c of group) {
      for (const bound of c.pods) {
        const p: Pod = { ...bound, spec: { ...bound.spec } };
        delete p.spec.nodeName;
        const to = sim.findNode(p, undefined, false, exclude);
        if (to < 0) {
          left.push(p);
          continue;
        }
        sim.place(p, to);
        moved.push([p, to]);
      }
    }
    for (const [p, to] of moved) sim.cluster.removePods(sim.cluster.classes.intern(p), to, 1);
    return { left };
  }

  /** The cheapest offering of `pool` priced under `below` (USD per hour) whose one new node holds every pod of `pods`; undefined if none. */
  private cheapestHolding(pool: NodePool, pods: readonly Pod[], below: number): PoolOffering | undefined {
    const offerings = this.offerings(pool).filter((o) => o.price < below * 0.999);
    if (!offerings.length) return undefined;
    const poolLabels = this.poolLabels(pool);
    const s2 = new FitSimulator();
    const slots = offerings.map((o, k) => s2.addNode(templateNode(`offering-${k}`, this.opts.catalog.get(o.instanceType)!, { zone: o.zone, region: this.opts.region, labels: { ...o.labels, ...poolLabels }, taints: pool.spec.template.spec.taints ?? [], spot: o.capacityType === 'spot' })));
    const unbound = pods.map((b) => ({ ...b, spec: { ...b.spec, nodeName: undefined } }) as Pod);
    const groups: PodGroup[] = unbound.map((p, k) => {
      const r = cpuMemory(p);
      const verdict = slots.map((s) => s2.fits(p, s));
      return { key: String(k), cpu: r.cpu, memory: r.memory, count: 1, compatible: (o: number) => verdict[o]! };
    });
    // Requests add up on one node.
    let cpu = 0;
    let mem = 0;
    for (const g of groups) {
      cpu += g.cpu;
      mem += g.memory;
    }
    let best = -1;
    offerings.forEach((x, k) => {
      if (x.cpu < cpu || x.memory < mem || x.pods < groups.length || !groups.every((g) => g.compatible(k))) return;
      if (best < 0 || x.price < offerings[best]!.price) best = k;
    });
    return best < 0 ? undefined : offerings[best];
  }

  /** Taints, evicts the pods, deletes the NodeClaim. With `replacing`, the replacement has been launched and the pods wait for it. */
  private async disrupt(c: { node: Node; claim: NodeClaim }, pods: Pod[], reason: string, replacing = false): Promise<void> {
    const client = this.mgr.client;
    const taints = [...(c.node.spec?.taints ?? []).filter((t) => t.key !== DISRUPTED_TAINT), { key: DISRUPTED_TAINT, effect: 'NoSchedule' as const }];
    await client.patch(Kinds.Node, c.node.metadata.name!, undefined, 'merge', { spec: { taints } });
    for (const p of pods) {
      try {
        await this.opts.evict(p.metadata.namespace!, p.metadata.name!);
      } catch (e) {
        if ((e as { code?: number }).code === 404) continue;
        await client.patch(Kinds.Node, c.node.metadata.name!, undefined, 'merge', { spec: { taints: c.node.spec?.taints?.length ? c.node.spec.taints : null } });
        this.recorder.event(c.claim, 'Warning', 'DisruptionBlocked', `cannot evict ${p.metadata.namespace}/${p.metadata.name}: ${(e as Error).message}`);
        return;
      }
    }
    await client.deleteIfExists(KarpenterKinds.NodeClaim, c.claim.metadata.name!, undefined, { propagationPolicy: 'Background' });
    this.recorder.event(c.claim, 'Normal', 'DisruptionTerminating', `Disrupting NodeClaim: ${reason}${replacing ? '/Replace' : '/Delete'}`);
  }
}
