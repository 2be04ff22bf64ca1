/**
 * The Spot market berth simulates: for every pool (instance type × Availability Zone) a price
 * that moves slowly over time, well below On-Demand, a spare-capacity level, and an interruption
 * frequency that follows from it. A pure, seeded model: the same seed gives the same market at
 * every moment, whatever order it is asked in, so bills computed after a restart match.
 *
 * What AWS documents and berth keeps ([6]–[8] in AWS-SEMANTICS.md, PRICING_SOURCES.spot):
 * - the price is set per type and zone by long-term supply and demand, changes gradually and not
 *   often, and is up to 90 % below On-Demand; you pay the price in effect, per second;
 * - interruptions come with a two-minute notice, a rebalance recommendation may come earlier;
 * - the Spot Instance Advisor groups pools by interruption frequency per month: <5 %, 5–10 %,
 *   10–15 %, 15–20 %, >20 % (https://aws.amazon.com/ec2/spot/instance-advisor/).
 *
 * What is modelled (berth's numbers): a pool's base discount is drawn in 55–85 %; the price
 * drifts ±5 points over a cycle of 3–10 days, plus a small step every 6 hours, and is quoted to
 * four decimals, constant within each clock-hour; spare capacity is drawn per pool, lower for
 * larger sizes, and drifts over a day or two; the interruption band follows from it.
 */
import type { Catalog, InstanceTypeInfo } from './catalog.js';
import { hashUnit } from './hash.js';

const HOUR_MS = 3_600_000;
/** A month as the Spot Instance Advisor counts it, hours (365 × 24 / 12). */
const MONTH_HOURS = 730;

/** The Spot Instance Advisor's frequency-of-interruption bands, with the monthly probability berth uses for each. */
export const INTERRUPTION_BANDS = [
  { band: '<5%', perMonth: 0.03 },
  { band: '5-10%', perMonth: 0.075 },
  { band: '10-15%', perMonth: 0.125 },
  { band: '15-20%', perMonth: 0.175 },
  { band: '>20%', perMonth: 0.25 },
] as const;

export type InterruptionBand = (typeof INTERRUPTION_BANDS)[number]['band'];

/** What EC2 will do to a Spot Instance, decided at launch: a rebalance recommendation, then the interruption notice. */
export interface SpotInterruptionPlan {
  /** When the rebalance recommendation arrives, ms (at or before the notice). */
  rebalanceAt: number;
  /** When the two-minute interruption notice arrives, ms. */
  noticeAt: number;
}

/** The two-minute warning of a Spot interruption, ms ([6]). */
export const SPOT_NOTICE_MS = 120_000;
/** The earliest a rebalance recommendation precedes the notice in berth's model, ms. */
export const REBALANCE_LEAD_MAX_MS = 30 * 60_000;

export class SpotMarket {
  constructor(
    /** The model's seed (a 32-bit integer). */
    readonly seed: number,
    private readonly catalog: Catalog,
  ) {}

  private info(instanceType: string): InstanceTypeInfo {
    const t = this.catalog.get(instanceType);
    if (!t) throw new RangeError(`unknown instance type ${instanceType}`);
    return t;
  }

  /** The fraction off On-Demand for a pool in a clock-hour (0.45–0.9). */
  discount(instanceType: string, zone: string, hour: number): number {
    const s = this.seed;
    const base = 0.55 + 0.3 * hashUnit(s, 'spot-base', instanceType, zone);
    const periodHours = 24 * (3 + 7 * hashUnit(s, 'spot-period', instanceType, zone));
    const phase = 2 * Math.PI * hashUnit(s, 'spot-phase', instanceType, zone);
    const step = 0.02 * (hashUnit(s, 'spot-step', instanceType, zone, Math.floor(hour / 6)) - 0.5);
    const d = base + 0.05 * Math.sin((2 * Math.PI * hour) / periodHours + phase) + step;
    return Math.min(0.9, Math.max(0.45, d));
  }

  /** The Spot price of a pool at cluster time `t` (ms), USD per hour, four decimals, at least $0.0001. */
  price(instanceType: string, zone: string, t: number): number {
    const od = this.info(instanceType).onDemandUsdPerHour;
    const hour = Math.floor(t / HOUR_MS);
    return Math.max(0.0001, Math.round(od * (1 - this.discount(instanceType, zone, hour)) * 1e4) / 1e4);
  }

  /** What running one instance of the pool over [start, end) ms costs at the prices in effect, USD (per second, exact to the ms). */
  cost(instanceType: string, zone: string, start: number, end: number): number {
    let usd = 0;
    for (let h = Math.floor(start / HOUR_MS) * HOUR_MS; h < end; h += HOUR_MS) {
      const from = Math.max(start, h);
      const to = Math.min(end, h + HOUR_MS);
      if (to > from) usd += (this.price(instanceType, zone, h) * (to - from)) / HOUR_MS;
    }
    return usd;
  }

  /** The pool's long-run spare capacity, (0, 1]: lower for larger sizes. */
  private baseCapacity(instanceType: string, zone: string): number {
    const t = this.info(instanceType);
    const size = 1 / (1 + 0.15 * Math.log2(Math.max(1, t.vcpu / 2)));
    return (0.15 + 0.85 * hashUnit(this.seed, 'spot-capacity', instanceType, zone)) * size;
  }

  /** The pool's spare capacity at time `t`, in [0.02, 1]: what capacity-optimized allocation ranks by. */
  capacity(instanceType: string, zone: string, t: number): number {
    const hour = Math.floor(t / HOUR_MS);
    const period = 24 * (1 + hashUnit(this.seed, 'spot-capacity-period', instanceType, zone));
    const phase = 2 * Math.PI * hashUnit(this.seed, 'spot-capacity-phase', instanceType, zone);
    return Math.min(1, Math.max(0.02, this.baseCapacity(instanceType, zone) + 0.1 * Math.sin((2 * Math.PI * hour) / period + phase)));
  }

  /** The pool's Spot Instance Advisor band. */
  interruptionBand(instanceType: string, zone: string): (typeof INTERRUPTION_BANDS)[number] {
    const c = this.baseCapacity(instanceType, zone);
    const i = c >= 0.8 ? 0 : c >= 0.6 ? 1 : c >= 0.4 ? 2 : c >= 0.2 ? 3 : 4;
    return INTERRUPTION_BANDS[i]!;
  }

  /**
   * When EC2 reclaims a Spot Instance launched (entered `running`) at `launchMs`: a time drawn
   * from the exponential distribution whose rate gives the pool's monthly probability, and a
   * rebalance recommendation up to 30 minutes before it. Undefined past ten years.
   */
  interruptionPlan(instanceId: string, instanceType: string, zone: string, launchMs: number): SpotInterruptionPlan | undefined {
    const noticeAt = spotNoticeAt(this.seed, instanceId, this.interruptionBand(instanceType, zone).perMonth, launchMs);
    if (noticeAt === undefined) return undefined;
    const lead = Math.round(REBALANCE_LEAD_MAX_MS * hashUnit(this.seed, 'spot-rebalance', instanceId, launchMs));
    return { noticeAt, rebalanceAt: Math.max(launchMs, noticeAt - lead) };
  }
}

/**
 * The Spot model's interruption draw, for any Spot capacity (EC2 instances above, Fargate Spot
 * tasks in pkg/eks): when the interruption notice for `id`, launched at `launchMs`, arrives —
 * exponentially distributed with the rate that gives probability `perMonth` within a month
 * (730 hours), drawn from `seed`, `id` and `launchMs` alone, so it is the same on every run and
 * restart. Undefined past ten years.
 */
export function spotNoticeAt(seed: number, id: string, perMonth: number, launchMs: number): number | undefined {
  const ratePerMs = -Math.log(1 - perMonth) / (MONTH_HOURS * HOUR_MS);
  const u = hashUnit(seed, 'spot-interruption', id, launchMs);
  const after = Math.round(-Math.log(1 - u) / ratePerMs);
  if (!Number.isFinite(after) || after > 10 * 365 * 24 * HOUR_MS) return undefined;
  return launchMs + after;
}
