/**
 * The bill, as a pure function of the ledger (UsageRecords), the reservations and Savings Plans,
 * and the Spot market: what AWS would charge for a window of cluster time, broken down by
 * purchase option, instance, instance type, Auto Scaling group, namespace and workload.
 *
 * The rules, each from the AWS page named beside it (PRICING_SOURCES in pricing.ts):
 * - On-Demand (and Dedicated Instances): per second while running, at least 60 s each time an
 *   instance starts; nothing while pending, stopping, stopped or terminated ([2] in
 *   AWS-SEMANTICS.md). The minimum's extra seconds are billed in the clock-hour of the start.
 * - Spot: the price in effect, per second, with the same minimum; an instance that *EC2*
 *   interrupts within its first hour is not charged at all, after that it pays for the seconds
 *   used (Linux; "Billing for interrupted Spot Instances"). Reservations and Savings Plans do not
 *   apply to Spot.
 * - Each clock-hour, in AWS's order: zonal Reserved Instances (exact type and zone), then
 *   regional ones (size-flexible within the family by normalization factor, smallest sizes
 *   first; dedicated-tenancy ones exact type), each covering at most 3600 instance-seconds per
 *   clock-hour; then EC2 Instance Savings Plans, then Compute Savings Plans, each applied to the
 *   usage with the highest savings percentage first (ties: the lower rate first) until the hour's
 *   commitment is spent; what is left is On-Demand. Reservations and commitments are paid every
 *   hour of their term, used or not.
 * - Dedicated Instances pay the Dedicated rate plus the per-Region fee for every clock-hour in
 *   which one runs; instances on a Dedicated Host cost nothing, the host is billed from
 *   allocation to release.
 *
 * A window that starts inside a clock-hour bills the usage from its start; commitments accrue in
 * proportion to the part of each hour inside the window, so "the bill so far" grows smoothly.
 * Namespaces and workloads get their share of each instance's cost by the average share of its
 * pods' requests over the whole interval (exact when the window covers the intervals); what no
 * pod requested is `__idle__`, and charges tied to no instance (unused reservations and
 * commitments, Dedicated Host and per-Region fees) are `__unallocated__`.
 */
import { parseTime } from '../clock/clock.js';
import type { DedicatedHost, ReservedInstance, SavingsPlan, UsageRecord } from './billing-types.js';
import type { Catalog } from './catalog.js';
import { normalizationFactor, NORMALIZATION_FACTORS } from './families.js';
import {
  DEDICATED_REGION_FEE_USD_PER_HOUR,
  reservedInstanceHourlyRate,
  roundUsd,
  savingsPlanDiscount,
  TERM_SECONDS,
  type OfferingClass,
  type PaymentOption,
  type ReservedTerm,
  type SavingsPlanType,
} from './pricing.js';
import type { SpotMarket } from './spot-market.js';
import { PURCHASE_OPTIONS, type PurchaseOption, type Tenancy } from './types.js';

const HOUR_MS = 3_600_000;
/** The On-Demand minimum charge per start, ms ([2]). */
export const MINIMUM_BILLED_MS = 60_000;
/** EC2 interrupting a Spot Instance before it has run this long makes the run free (Linux). */
export const SPOT_FREE_INTERRUPTION_MS = HOUR_MS;

/** One line of a breakdown. USD rounded to 1e-9. */
export interface CostLine {
  /** What was charged, USD (reservations and Savings Plans at the rates they applied at). */
  usd: number;
  /** What the same usage would have cost On-Demand with shared tenancy, USD. */
  onDemandEquivalentUSD: number;
  /** Instance-hours (for namespaces and workloads: instance-hours × share). */
  instanceHours: number;
  /** usd / instanceHours, USD per hour (0 without hours). */
  effectiveUSDPerHour: number;
}

/** An instance's line: a CostLine and what the instance was. */
export interface InstanceCostLine extends CostLine {
  instanceType: string;
  availabilityZone: string;
  purchaseOption: 'on-demand' | 'spot';
  tenancy: Tenancy;
  autoScalingGroup?: string;
}

/**
 * The bill for [fromMs, toMs). `berth cost -o json` prints it; `berth simulate` puts it in its
 * JSON as `cost`. Every USD amount is rounded to 1e-9.
 */
export interface CostReport {
  fromMs: number;
  toMs: number;
  from: string;
  to: string;
  /**
   * Everything EC2 charged in the window: instances, Dedicated Hosts and per-Region fees,
   * reservations and Savings Plans. Fargate and Lambda are billed apart (`fargate`, `lambda` in
   * `berth cost -o json` and `berth simulate`'s `cost`), and `allServicesUSD` adds them up.
   */
  totalUSD: number;
  /** The same split by how it was bought; the five keys are always present. */
  byPurchaseOption: Record<PurchaseOption, number>;
  /** Instance usage by type (Dedicated Host fees are under `byDedicatedHost`). */
  byInstanceType: Record<string, CostLine>;
  byInstance: Record<string, InstanceCostLine>;
  /** Instances launched by an Auto Scaling group, by group name. */
  byAutoScalingGroup: Record<string, CostLine>;
  /** By the namespace of the pods on each instance, plus `__idle__` and `__unallocated__`; sums to totalUSD. */
  byNamespace: Record<string, CostLine>;
  /** By `namespace/kind/name` of the pods' owner (a Deployment for ReplicaSet pods), plus `__idle__` and `__unallocated__`. */
  byWorkload: Record<string, CostLine>;
  /** Host fees by host id. */
  byDedicatedHost: Record<string, { usd: number; hostHours: number; instanceFamily: string }>;
  /** Reservations and commitments: what each cost and how much of it covered usage. */
  commitments: { id: string; kind: 'ReservedInstance' | 'SavingsPlan'; usd: number; usedUSD: number; utilization: number }[];
  /** Charges tied to no instance: unused reservations and commitments, host and per-Region fees. */
  unallocatedUSD: number;
  /** What the instance usage would have cost On-Demand with shared tenancy. */
  onDemandEquivalentUSD: number;
  /** onDemandEquivalentUSD − totalUSD. */
  savingsUSD: number;
  /** Instance-hours in the window (running time; the 60 s minimums are not hours used). */
  instanceHours: number;
  /** totalUSD / instanceHours. */
  effectiveUSDPerHour: number;
}

/** What computeBill needs. */
export interface BillInput {
  records: readonly UsageRecord[];
  reservedInstances?: readonly ReservedInstance[];
  savingsPlans?: readonly SavingsPlan[];
  /** For `byDedicatedHost` family names (optional). */
  hosts?: readonly DedicatedHost[];
  catalog: Catalog;
  market: SpotMarket;
  fromMs: number;
  /** The end of the window: open intervals are billed up to here. */
  toMs: number;
}

interface RecordView {
  rec: UsageRecord;
  id: string;
  isHost: boolean;
  type: string;
  family: string;
  nf: number;
  zone: string;
  tenancy: Tenancy;
  spot: boolean;
  od: number;
  rate: number;
  start: number;
  end: number;
  /** The whole run's duration so far, ms. */
  duration: number;
  free: boolean;
}

interface Piece {
  r: RecordView;
  hour: number;
  /** Billed ms in this hour (running ms, plus the minimum's extra in the start hour). */
  ms: number;
  /** Running ms in this hour. */
  runMs: number;
  /** List cost before reservations and plans (On-Demand or Dedicated rate; Spot at market). */
  list: number;
  /** Fraction of `list` not yet covered by a reservation or plan. */
  remaining: number;
  /** What the piece was charged, attributed. */
  effective: number;
  odEq: number;
  /** On-Demand usage that reservations and plans may cover. */
  eligible: boolean;
}

interface Commitment {
  id: string;
  kind: 'ReservedInstance' | 'SavingsPlan';
  usd: number;
  used: number;
}

function emptyLine(): CostLine {
  return { usd: 0, onDemandEquivalentUSD: 0, instanceHours: 0, effectiveUSDPerHour: 0 };
}

function add(map: Record<string, CostLine>, key: string, usd: number, odEq: number, hours: number): void {
  const l = (map[key] ??= emptyLine());
  l.usd += usd;
  l.onDemandEquivalentUSD += odEq;
  l.instanceHours += hours;
}

function finishLine<T extends CostLine>(l: T): T {
  l.usd = roundUsd(l.usd);
  l.onDemandEquivalentUSD = roundUsd(l.onDemandEquivalentUSD);
  l.instanceHours = Math.round(l.instanceHours * 1e9) / 1e9;
  l.effectiveUSDPerHour = l.instanceHours > 0 ? roundUsd(l.usd / l.instanceHours) : 0;
  return l;
}

function sortedRecord<T>(m: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
}

/** The start of a reservation or plan: `spec.start`, else its creation time; NaN if neither parses. */
export function termStart(o: { spec: { start?: string }; metadata: { creationTimestamp?: string } }): number {
  const s = parseTime(o.spec.start);
  return Number.isNaN(s) ? parseTime(o.metadata.creationTimestamp) : s;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** Computes the bill for [fromMs, toMs). Pure. */
export function computeBill(input: BillInput): CostReport {
  const { catalog, market, fromMs, toMs } = input;
  const views: RecordView[] = [];
  for (const rec of input.records) {
    const s = rec.spec;
    const start = s.startMs;
    const end = Math.min(s.endMs ?? toMs, toMs);
    // Outside the window (a run that starts inside it is kept for its 60 s minimum even if it ends at once).
    if (start >= toMs || (end <= fromMs && start < fromMs)) continue;
    const info = catalog.get(s.instanceType);
    const size = s.instanceType.split('.')[1] ?? '';
    const duration = Math.max(0, (s.endMs ?? toMs) - start);
    const spot = s.purchaseOption === 'spot';
    views.push({
      rec,
      id: s.resourceId,
      isHost: s.resourceType === 'dedicated-host',
      type: s.instanceType,
      family: s.instanceFamily,
      nf: info ? normalizationFactor(info) : (NORMALIZATION_FACTORS[size] ?? 1),
      zone: s.availabilityZone,
      tenancy: s.tenancy,
      spot,
      od: s.onDemandUsdPerHour,
      rate: s.rateUsdPerHour,
      start,
      end,
      duration,
      free: spot && s.endReason === 'spot-interruption' && duration < SPOT_FREE_INTERRUPTION_MS,
    });
  }

  // 1. Reservations and plans (applied hour by hour below: they bill even with no usage).
  const commitments: Commitment[] = [];
  const ris = (input.reservedInstances ?? [])
    .map((ri) => {
      const info = catalog.get(ri.spec.instanceType);
      const start = termStart(ri);
      if (!info || Number.isNaN(start)) return undefined;
      const term: ReservedTerm = ri.spec.term ?? '1yr';
      const cls: OfferingClass = ri.spec.offeringClass ?? 'standard';
      const pay: PaymentOption = ri.spec.offeringType ?? 'No Upfront';
      const tenancy = ri.spec.instanceTenancy ?? 'default';
      const zonal = ri.spec.scope === 'Availability Zone';
      const c: Commitment = { id: ri.metadata.name!, kind: 'ReservedInstance', usd: 0, used: 0 };
      commitments.push(c);
      return { c, info, start, end: start + TERM_SECONDS[term] * 1000, count: ri.spec.instanceCount, rate: reservedInstanceHourlyRate(info, cls, term, pay, tenancy), zonal, zone: ri.spec.availabilityZone, tenancy, flexible: !zonal && tenancy === 'default', nf: normalizationFactor(info) };
    })
    .filter((x): x is NonNullable<typeof x> => !!x)
    // Zonal reservations first, then regional ones; by name within each.
    .sort((a, b) => Number(b.zonal) - Number(a.zonal) || (a.c.id < b.c.id ? -1 : 1));
  const sps = (input.savingsPlans ?? [])
    .map((sp) => {
      const start = termStart(sp);
      const commitment = Number(sp.spec.commitment);
      if (Number.isNaN(start) || !Number.isFinite(commitment)) return undefined;
      const term: ReservedTerm = sp.spec.term ?? '1yr';
      const c: Commitment = { id: sp.metadata.name!, kind: 'SavingsPlan', usd: 0, used: 0 };
      commitments.push(c);
      return { c, type: sp.spec.savingsPlanType as SavingsPlanType, family: sp.spec.ec2InstanceFamily, start, end: start + TERM_SECONDS[term] * 1000, commitment, term, pay: sp.spec.paymentOption ?? ('No Upfront' as PaymentOption) };
    })
    .filter((x): x is NonNullable<typeof x> => !!x)
    // EC2 Instance plans before Compute plans; by name within each.
    .sort((a, b) => (a.type === b.type ? (a.c.id < b.c.id ? -1 : 1) : a.type === 'EC2Instance' ? -1 : 1));

  // 2. Slice every interval into clock-hours inside the window.
  const byHour = new Map<number, Piece[]>();
  const pieces: Piece[] = [];
  for (const r of views) {
    const from = Math.max(r.start, fromMs);
    // The 60 s minimum: only for a run that starts inside the window, and not for a free Spot run.
    const extra = !r.isHost && !r.free && r.duration < MINIMUM_BILLED_MS && r.start >= fromMs ? MINIMUM_BILLED_MS - r.duration : 0;
    const last = extra ? Math.max(r.end, r.start + 1) : r.end;
    // Clock-hours matter only where reservations and plans apply (On-Demand usage, when there are
    // any) and for the Dedicated per-Region fee; anything else is one piece (Spot is still priced
    // hour by hour by the market).
    const perHour = r.tenancy === 'dedicated' || (!r.isHost && !r.spot && r.tenancy !== 'host' && (ris.length > 0 || sps.length > 0));
    const step = perHour ? HOUR_MS : Infinity;
    for (let h = Math.floor(from / HOUR_MS) * HOUR_MS; h < last && h < toMs; h += step) {
      const a = Math.max(from, h);
      const b = Math.min(r.end, h + step);
      const runMs = Math.max(0, b - a);
      const extraHere = extra && r.start >= h && r.start < h + step ? extra : 0;
      const ms = runMs + extraHere;
      if (ms <= 0) continue;
      let list: number;
      if (r.isHost) list = (r.rate * ms) / HOUR_MS;
      else if (r.free) list = 0;
      else if (r.spot) list = (runMs > 0 ? market.cost(r.type, r.zone, a, b) : 0) + (extraHere ? (market.price(r.type, r.zone, r.start) * extraHere) / HOUR_MS : 0);
      else list = (r.rate * ms) / HOUR_MS;
      const p: Piece = {
        r,
        hour: h,
        ms,
        runMs,
        list,
        remaining: 1,
        effective: 0,
        odEq: r.isHost ? 0 : (r.od * runMs) / HOUR_MS + (r.od * extraHere) / HOUR_MS,
        eligible: !r.isHost && !r.spot && r.tenancy !== 'host' && list > 0,
      };
      pieces.push(p);
      let arr = byHour.get(h);
      if (!arr) byHour.set(h, (arr = []));
      arr.push(p);
    }
  }
  // Deterministic order inside an hour: by start, then id.
  for (const arr of byHour.values()) arr.sort((a, b) => a.r.start - b.r.start || (a.r.id < b.r.id ? -1 : a.r.id > b.r.id ? 1 : 0));

  const buckets: Record<PurchaseOption, number> = { 'on-demand': 0, spot: 0, reserved: 0, 'savings-plan': 0, 'dedicated-host': 0 };
  let unallocated = 0;

  const hours = new Set<number>(byHour.keys());
  for (const x of [...ris, ...sps]) {
    for (let h = Math.floor(Math.max(fromMs, x.start) / HOUR_MS) * HOUR_MS; h < Math.min(toMs, x.end); h += HOUR_MS) hours.add(h);
  }
  for (const h of [...hours].sort((a, b) => a - b)) {
    const arr = byHour.get(h) ?? [];
    const eligible = arr.filter((p) => p.eligible);
    // What part of the hour lies in the window (commitments accrue by it) and in each term.
    const inWindow = (start: number, end: number): number => Math.max(0, Math.min(h + HOUR_MS, toMs, end) - Math.max(h, fromMs, start)) / HOUR_MS;

    for (const ri of ris) {
      const part = inWindow(ri.start, ri.end);
      if (part <= 0) continue;
      const charged = ri.count * ri.rate * part;
      ri.c.usd += charged;
      // Capacity in normalized-unit·ms (exact-type reservations: instance·ms, unit 1): 3600 s per
      // reserved instance per clock-hour, for the part of the hour in the window.
      const unitOf = (p: Piece): number => (ri.flexible ? p.r.nf : 1);
      let cap = ri.count * (ri.flexible ? ri.nf : 1) * HOUR_MS * part;
      const perUnitMs = charged / cap;
      const match = eligible.filter((p) => {
        if (p.remaining <= 0) return false;
        if (p.r.tenancy !== ri.tenancy) return false;
        if (ri.zonal) return p.r.type === ri.info.name && p.r.zone === ri.zone;
        return ri.flexible ? p.r.family === ri.info.family : p.r.type === ri.info.name;
      });
      // Size-flexible benefit goes to the smallest sizes first.
      if (ri.flexible) match.sort((a, b) => a.r.nf - b.r.nf || a.r.start - b.r.start || (a.r.id < b.r.id ? -1 : 1));
      for (const p of match) {
        if (cap <= 0) break;
        const needUnits = unitOf(p) * p.ms * p.remaining;
        const take = Math.min(needUnits, cap);
        cap -= take;
        const frac = take / (unitOf(p) * p.ms);
        p.remaining -= frac;
        if (p.remaining < 1e-12) p.remaining = 0;
        const attributed = take * perUnitMs;
        p.effective += attributed;
        ri.c.used += attributed;
      }
    }

    for (const sp of sps) {
      // The hour's commitment (the part of the hour in the window) is paid whatever it covers.
      let left = sp.commitment * inWindow(sp.start, sp.end);
      if (left <= 0) continue;
      sp.c.usd += left;
      const match = eligible
        .filter((p) => p.remaining > 0 && (sp.type === 'Compute' || p.r.family === sp.family))
        .map((p) => ({ p, d: savingsPlanDiscount({ family: p.r.family }, sp.type, sp.term, sp.pay) }))
        // Highest savings percentage first; then the lower rate.
        .sort((a, b) => b.d - a.d || a.p.r.rate * (1 - a.d) - b.p.r.rate * (1 - b.d) || a.p.r.start - b.p.r.start || (a.p.r.id < b.p.r.id ? -1 : 1));
      for (const { p, d } of match) {
        if (left <= 1e-15) break;
        const spCost = p.list * p.remaining * (1 - d);
        if (spCost <= 0) continue;
        const take = Math.min(spCost, left);
        left -= take;
        p.remaining *= 1 - take / spCost;
        if (p.remaining < 1e-12) p.remaining = 0;
        p.effective += take;
        sp.c.used += take;
      }
    }

    // Dedicated per-Region fee: any Dedicated Instance running this hour inside the window.
    if (arr.some((p) => p.r.tenancy === 'dedicated' && p.runMs > 0)) {
      buckets['on-demand'] += DEDICATED_REGION_FEE_USD_PER_HOUR;
      unallocated += DEDICATED_REGION_FEE_USD_PER_HOUR;
    }
  }

  // 3. What is left is On-Demand (or Spot, or host fees).
  for (const p of pieces) {
    if (p.r.isHost) {
      p.effective = p.list;
      buckets['dedicated-host'] += p.list;
      unallocated += p.list;
    } else if (p.r.spot) {
      p.effective = p.list;
      buckets.spot += p.list;
    } else {
      const od = p.list * p.remaining;
      p.effective += od;
      buckets['on-demand'] += od;
    }
  }
  for (const c of commitments) {
    buckets[c.kind === 'ReservedInstance' ? 'reserved' : 'savings-plan'] += c.usd;
    unallocated += c.usd - c.used;
  }

  // 4. Breakdowns.
  const byInstance: Record<string, InstanceCostLine> = {};
  const byInstanceType: Record<string, CostLine> = {};
  const byAutoScalingGroup: Record<string, CostLine> = {};
  const byNamespace: Record<string, CostLine> = {};
  const byWorkload: Record<string, CostLine> = {};
  const byDedicatedHost: CostReport['byDedicatedHost'] = {};
  const perRecord = new Map<RecordView, { usd: number; odEq: number; hours: number }>();
  for (const p of pieces) {
    let t = perRecord.get(p.r);
    if (!t) perRecord.set(p.r, (t = { usd: 0, odEq: 0, hours: 0 }));
    t.usd += p.effective;
    t.odEq += p.odEq;
    t.hours += p.runMs / HOUR_MS;
  }
  let odEquivalent = 0;
  let instanceHours = 0;
  for (const [r, t] of perRecord) {
    if (r.isHost) {
      const h = (byDedicatedHost[r.id] ??= { usd: 0, hostHours: 0, instanceFamily: r.family });
      h.usd += t.usd;
      h.hostHours += t.hours;
      continue;
    }
    odEquivalent += t.odEq;
    instanceHours += t.hours;
    const s = r.rec.spec;
    const line = (byInstance[r.id] ??= { ...emptyLine(), instanceType: s.instanceType, availabilityZone: s.availabilityZone, purchaseOption: s.purchaseOption, tenancy: s.tenancy, ...(s.autoScalingGroup ? { autoScalingGroup: s.autoScalingGroup } : {}) });
    line.usd += t.usd;
    line.onDemandEquivalentUSD += t.odEq;
    line.instanceHours += t.hours;
    add(byInstanceType, s.instanceType, t.usd, t.odEq, t.hours);
    if (s.autoScalingGroup) add(byAutoScalingGroup, s.autoScalingGroup, t.usd, t.odEq, t.hours);
    for (const [key, share] of averageShares(r, toMs)) {
      const ns = key === IDLE ? IDLE : key.split('/')[0]!;
      add(byNamespace, ns, t.usd * share, t.odEq * share, t.hours * share);
      add(byWorkload, key, t.usd * share, t.odEq * share, t.hours * share);
    }
  }
  if (unallocated > 1e-12) {
    add(byNamespace, UNALLOCATED, unallocated, 0, 0);
    add(byWorkload, UNALLOCATED, unallocated, 0, 0);
  }

  for (const k of PURCHASE_OPTIONS) buckets[k] = roundUsd(buckets[k]);
  const total = roundUsd(PURCHASE_OPTIONS.reduce((s, k) => s + buckets[k], 0));
  const finishAll = <T extends CostLine>(m: Record<string, T>): Record<string, T> => {
    for (const l of Object.values(m)) finishLine(l);
    return sortedRecord(m);
  };
  for (const h of Object.values(byDedicatedHost)) {
    h.usd = roundUsd(h.usd);
    h.hostHours = Math.round(h.hostHours * 1e9) / 1e9;
  }
  const hoursRounded = Math.round(instanceHours * 1e9) / 1e9;
  return {
    fromMs,
    toMs,
    from: rfc3339(fromMs),
    to: rfc3339(toMs),
    totalUSD: total,
    byPurchaseOption: buckets,
    byInstanceType: finishAll(byInstanceType),
    byInstance: finishAll(byInstance),
    byAutoScalingGroup: finishAll(byAutoScalingGroup),
    byNamespace: finishAll(byNamespace),
    byWorkload: finishAll(byWorkload),
    byDedicatedHost: sortedRecord(byDedicatedHost),
    commitments: commitments
      .sort((a, b) => (a.kind === b.kind ? (a.id < b.id ? -1 : 1) : a.kind < b.kind ? -1 : 1))
      .map((c) => ({ id: c.id, kind: c.kind, usd: roundUsd(c.usd), usedUSD: roundUsd(c.used), utilization: c.usd > 0 ? Math.round((c.used / c.usd) * 1e6) / 1e6 : 0 })),
    unallocatedUSD: roundUsd(Math.max(0, unallocated)),
    onDemandEquivalentUSD: roundUsd(odEquivalent),
    savingsUSD: roundUsd(odEquivalent - total),
    instanceHours: hoursRounded,
    effectiveUSDPerHour: hoursRounded > 0 ? roundUsd(total / hoursRounded) : 0,
  };
}

/** The breakdown key for capacity no pod requested. */
export const IDLE = '__idle__';
/** The breakdown key for charges tied to no instance. */
export const UNALLOCATED = '__unallocated__';

/** A record's average pod shares over its interval (up to `toMs` if open), with the rest as IDLE. */
function averageShares(r: RecordView, toMs: number): [string, number][] {
  const a = r.rec.status?.allocation;
  const end = r.rec.spec.endMs ?? toMs;
  const duration = end - r.start;
  const out: [string, number][] = [];
  let sum = 0;
  if (a && duration > 0) {
    const weights = new Map<string, number>();
    for (const [k, v] of Object.entries(a.accumulated ?? {})) weights.set(k, (weights.get(k) ?? 0) + v);
    const tail = Math.max(0, end - a.sinceMs);
    for (const [k, v] of Object.entries(a.current ?? {})) weights.set(k, (weights.get(k) ?? 0) + v * tail);
    for (const k of [...weights.keys()].sort()) {
      const share = Math.min(1, weights.get(k)! / duration);
      if (share <= 0) continue;
      out.push([k, share]);
      sum += share;
    }
  }
  if (sum > 1) {
    for (const e of out) e[1] /= sum;
    sum = 1;
  }
  if (sum < 1 - 1e-12) out.push([IDLE, 1 - sum]);
  return out;
}
