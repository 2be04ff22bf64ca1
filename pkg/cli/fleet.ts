/**
 * `berth fleet`: the simulated fleet at a glance — one row per Node with its instance type, zone,
 * how full it is (pods, cpu and memory requested against allocatable) and what its EC2 Instance
 * costs per hour, then the fleet's totals.
 *
 * Requests are the effective pod requests of the pods that hold the node (not Succeeded or
 * Failed): max(largest init container, sum of app containers and sidecars) plus overhead — the
 * scheduler's own `podRequests`, so the fleet is as full as the scheduler thinks it is.
 * Prices come from `ec2.berth.dev/v1 Instance` objects (`status.nodeName`, `status.hourlyPrice`);
 * they are read defensively, and a cluster without them still gets its table.
 */
import { StatusError } from '../api/errors.js';
import { UnknownResourceError } from '../api/resources.js';
import type { KubeObject, Node, Pod } from '../api/types.js';
import { Kinds } from '../client/client.js';
import { checkOutput } from './get.js';
import { isNonTerminated } from './podresources.js';
import { milliValue, parseQty, unitValue } from './quantity.js';
import type { Session } from './session.js';
import { GET_TABS, TabWriter } from './tabwriter.js';
import type { IO } from './types.js';

export const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
const DEFAULT_REGION = 'us-east-1';

/** One node's line of the fleet. Amounts are integers: millicores and bytes. */
export interface FleetNode {
  name: string;
  instanceType?: string;
  zone?: string;
  /** The Instance backing the node, if one says so. */
  instance?: string;
  /** `On-Demand` or `Spot`. */
  market: string;
  pods: number;
  allocatablePods: number;
  cpuRequestedMillis: number;
  cpuAllocatableMillis: number;
  memoryRequestedBytes: number;
  memoryAllocatableBytes: number;
  /** USD per hour, or null when no Instance gives a price. */
  hourlyUSD: number | null;
}

export interface FleetSummary {
  nodes: FleetNode[];
  /** Sum of the known hourly prices. */
  totalHourlyUSD: number;
  /** Non-terminated pods on the fleet's nodes. */
  pods: number;
  /** Pods not bound to any node yet. */
  pendingPods: number;
  regions: string[];
}

/** Reads nodes, pods and Instances and adds them up. */
export async function collectFleet(s: Session): Promise<FleetSummary> {
  // Loaded on use: the scheduler is a large module the other commands do not need.
  const { podRequests } = await import('../scheduler/index.js');
  const nodes = (await s.client.list<Node>(Kinds.Node)).items;
  const pods = (await s.client.list<Pod>(Kinds.Pod)).items.filter(isNonTerminated);
  const instances = await listInstances(s);
  const byNode = new Map<string, KubeObject>();
  for (const inst of instances) {
    const nodeName = str((inst.status as Record<string, unknown> | undefined)?.nodeName) ?? str((inst.spec as Record<string, unknown> | undefined)?.nodeName);
    if (nodeName) byNode.set(nodeName, inst);
  }
  // A Node may also name its Instance through its providerID (aws:///us-east-1a/i-0abc).
  const byInstanceId = new Map(instances.map((i) => [i.metadata.name!, i] as const));

  const out: FleetNode[] = [];
  for (const node of [...nodes].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1))) {
    const name = node.metadata.name!;
    const inst = byNode.get(name) ?? byInstanceId.get(node.spec?.providerID?.split('/').pop() ?? '');
    const onNode = pods.filter((p) => p.spec?.nodeName === name);
    let cpu = 0;
    let mem = 0;
    for (const p of onNode) {
      const req = podRequests(p);
      cpu += req.cpu ?? 0;
      mem += req.memory ?? 0;
    }
    const alloc = Object.keys(node.status?.allocatable ?? {}).length ? node.status!.allocatable! : (node.status?.capacity ?? {});
    const labels = node.metadata.labels ?? {};
    const instSpec = (inst?.spec ?? {}) as Record<string, unknown>;
    const instStatus = (inst?.status ?? {}) as Record<string, unknown>;
    const instanceType = labels[INSTANCE_TYPE_LABEL] ?? str(instSpec.instanceType);
    const zone = labels[ZONE_LABEL] ?? str(instSpec.availabilityZone) ?? str(instStatus.availabilityZone);
    const price = num(instStatus.hourlyPrice) ?? num(instStatus.hourlyPriceUSD) ?? num(instSpec.hourlyPrice);
    out.push({
      name,
      ...(instanceType ? { instanceType } : {}),
      ...(zone ? { zone } : {}),
      ...(inst ? { instance: inst.metadata.name! } : {}),
      market: marketOf(node, inst),
      pods: onNode.length,
      allocatablePods: unitValue(parseQty(alloc.pods)),
      cpuRequestedMillis: cpu,
      cpuAllocatableMillis: milliValue(parseQty(alloc.cpu)),
      memoryRequestedBytes: mem,
      memoryAllocatableBytes: unitValue(parseQty(alloc.memory)),
      hourlyUSD: price ?? null,
    });
  }
  const nodeNames = new Set(out.map((n) => n.name));
  const regions = [...new Set(out.map((n) => (n.zone ? regionOf(n.zone) : undefined)).filter((r): r is string => !!r))].sort();
  return {
    nodes: out,
    totalHourlyUSD: round4(out.reduce((sum, n) => sum + (n.hourlyUSD ?? 0), 0)),
    pods: pods.filter((p) => p.spec?.nodeName && nodeNames.has(p.spec.nodeName)).length,
    pendingPods: pods.filter((p) => !p.spec?.nodeName).length,
    regions: regions.length ? regions : [DEFAULT_REGION],
  };
}

async function listInstances(s: Session): Promise<KubeObject[]> {
  try {
    return (await s.client.list(Kinds.Instance)).items;
  } catch (e) {
    // The kind may not be served (yet): the fleet is still worth showing.
    if (e instanceof UnknownResourceError || e instanceof StatusError) return [];
    throw e;
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function round4(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}

/** `us-east-1a` → `us-east-1`. */
function regionOf(zone: string): string {
  return /^[a-z]{2}(-[a-z]+)+-\d+[a-z]$/.test(zone) ? zone.slice(0, -1) : zone;
}

/** Spot or On-Demand, from the Instance (several spellings) or the node's capacity-type labels. */
function marketOf(node: Node, inst: KubeObject | undefined): string {
  const spec = (inst?.spec ?? {}) as Record<string, unknown>;
  const status = (inst?.status ?? {}) as Record<string, unknown>;
  const options = (spec.instanceMarketOptions ?? {}) as Record<string, unknown>;
  const labels = node.metadata.labels ?? {};
  const hints = [spec.market, spec.marketType, spec.lifecycle, spec.instanceLifecycle, spec.capacityType, spec.purchaseOption, options.marketType, status.lifecycle, status.instanceLifecycle, labels['karpenter.sh/capacity-type'], labels['eks.amazonaws.com/capacityType'], labels['node.berth.dev/capacity-type']];
  return hints.some((h) => typeof h === 'string' && h.toLowerCase().includes('spot')) ? 'Spot' : 'On-Demand';
}

function fmtMem(bytes: number): string {
  const gi = 1024 ** 3;
  const mi = 1024 ** 2;
  if (bytes >= gi) {
    const v = bytes / gi;
    return `${Number.isInteger(v) ? v : Number(v.toFixed(1))}Gi`;
  }
  return `${Math.round(bytes / mi)}Mi`;
}

function pct(part: number, whole: number): string {
  return whole ? `${Math.trunc((part / whole) * 100)}%` : '0%';
}

export function usd(n: number): string {
  return `$${n.toFixed(4)}`;
}

/** The table and footer `berth fleet` prints. */
export function renderFleet(f: FleetSummary): string {
  const tw = new TabWriter(GET_TABS);
  tw.write('NODE\tINSTANCE-TYPE\tZONE\tPODS\tCPU\tMEMORY\t$/HOUR\n');
  for (const n of f.nodes) {
    tw.write(
      [
        n.name,
        n.instanceType ?? '<none>',
        n.zone ?? '<none>',
        `${n.pods}/${n.allocatablePods}`,
        `${n.cpuRequestedMillis}m/${n.cpuAllocatableMillis}m (${pct(n.cpuRequestedMillis, n.cpuAllocatableMillis)})`,
        `${fmtMem(n.memoryRequestedBytes)}/${fmtMem(n.memoryAllocatableBytes)} (${pct(n.memoryRequestedBytes, n.memoryAllocatableBytes)})`,
        n.hourlyUSD === null ? '-' : usd(n.hourlyUSD),
      ].join('\t') + '\n',
    );
  }
  const table = f.nodes.length ? tw.flush() : '';
  const markets = new Map<string, number>();
  for (const n of f.nodes) markets.set(n.market, (markets.get(n.market) ?? 0) + 1);
  const market = markets.size <= 1 ? ([...markets.keys()][0] ?? 'On-Demand') : [...markets].map(([m, c]) => `${c} ${m}`).join(', ');
  const footer = `Fleet: ${f.nodes.length} node${f.nodes.length === 1 ? '' : 's'}, ${f.pods} pod${f.pods === 1 ? '' : 's'}, ${usd(f.totalHourlyUSD)} per hour (${market}, ${f.regions.join(', ')})\n`;
  return `${table}${footer}`;
}

export async function runFleet(s: Session, io: IO, opts: { output?: string }): Promise<void> {
  const output = checkOutput(opts.output, ['', 'json']);
  const f = await collectFleet(s);
  if (output === 'json') {
    io.stdout(`${JSON.stringify({ nodes: f.nodes, totalHourlyUSD: f.totalHourlyUSD, pods: f.pods }, null, 2)}\n`);
    return;
  }
  io.stdout(renderFleet(f));
}
