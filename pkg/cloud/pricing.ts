/**
 * Every price berth charges besides the catalogue's On-Demand rates, as data with its source.
 *
 * The catalogue (`data/ec2-instance-types.csv`) has real us-east-1 On-Demand prices (Karpenter's
 * generated price list, 2026-07-20). AWS publishes the other rates per type on its pricing pages
 * and Price List API, which this repository does not carry; so the rates below are **modelled**:
 * a discount (or uplift) applied to the type's On-Demand price, chosen inside the ranges AWS
 * documents, with the page each range comes from. A bill in berth is therefore exact for On-Demand
 * usage and faithful in shape (what is billed when, what covers what, in which order) but only
 * representative in level for Reserved Instances, Savings Plans, Spot, Dedicated Instances and
 * Dedicated Hosts.
 *
 * All rates are USD per hour.
 */
import type { Catalog, InstanceTypeInfo } from './catalog.js';
import { instanceSeries } from './families.js';

/** Where each modelled number comes from; `berth cost` and the docs cite these. */
export const PRICING_SOURCES = {
  onDemand: 'data/ec2-instance-types.csv (Karpenter zz_generated.pricing_aws.go, us-east-1, 2026-07-20)',
  reservedInstances: 'https://aws.amazon.com/ec2/pricing/reserved-instances/ ("up to 72%" off On-Demand); per-term discounts modelled on the m5.large offerings',
  savingsPlans: 'https://aws.amazon.com/savingsplans/compute-pricing/ (Compute up to 66%, EC2 Instance up to 72%); order of application: https://docs.aws.amazon.com/savingsplans/latest/userguide/sp-applying.html',
  spot: 'https://aws.amazon.com/ec2/spot/pricing/ ("up to 90%" off On-Demand); billing: https://docs.aws.amazon.com/whitepapers/latest/cost-optimization-leveraging-ec2-spot-instances/how-spot-instances-work.html',
  interruptedSpot: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/billing-for-interrupted-spot-instances.html',
  dedicatedInstances: 'https://aws.amazon.com/ec2/pricing/dedicated-instances/ (per-instance rate above shared tenancy, plus a per-Region fee for every hour a Dedicated Instance runs)',
  dedicatedHosts: 'https://aws.amazon.com/ec2/dedicated-hosts/pricing/ (one hourly rate per host, whatever runs on it); https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/dedicated-hosts-overview.html',
  reservedBilling: 'https://docs.aws.amazon.com/whitepapers/latest/cost-optimization-reservation-models/usage-billing.html',
  dated: '2026-11-29',
} as const;

export type ReservedTerm = '1yr' | '3yr';
export type OfferingClass = 'standard' | 'convertible';
export type PaymentOption = 'No Upfront' | 'Partial Upfront' | 'All Upfront';
export const RESERVED_TERMS: readonly ReservedTerm[] = ['1yr', '3yr'];
export const OFFERING_CLASSES: readonly OfferingClass[] = ['standard', 'convertible'];
export const PAYMENT_OPTIONS: readonly PaymentOption[] = ['No Upfront', 'Partial Upfront', 'All Upfront'];
/** Term lengths in seconds, as EC2 reports `Duration` (31536000 for one year). */
export const TERM_SECONDS: Readonly<Record<ReservedTerm, number>> = { '1yr': 31_536_000, '3yr': 94_608_000 };

/**
 * Modelled Reserved Instance discounts off On-Demand, by class, term and payment option: the
 * effective rate (upfront amortized over the term, plus the hourly charge). Close to the
 * m5.large us-east-1 offerings (1-year standard No Upfront about 37 % off; 3-year standard All
 * Upfront about 62 %); AWS's ceiling is 72 %. Modelled, see PRICING_SOURCES.reservedInstances.
 */
export const RESERVED_DISCOUNTS: Readonly<Record<OfferingClass, Record<ReservedTerm, Record<PaymentOption, number>>>> = {
  standard: {
    '1yr': { 'No Upfront': 0.375, 'Partial Upfront': 0.405, 'All Upfront': 0.42 },
    '3yr': { 'No Upfront': 0.57, 'Partial Upfront': 0.595, 'All Upfront': 0.615 },
  },
  convertible: {
    '1yr': { 'No Upfront': 0.28, 'Partial Upfront': 0.31, 'All Upfront': 0.33 },
    '3yr': { 'No Upfront': 0.49, 'Partial Upfront': 0.53, 'All Upfront': 0.55 },
  },
};

/** USD rounded to 1e-9, so sums of binary fractions print as people write them. */
export function roundUsd(n: number): number {
  return Math.round(n * 1e9) / 1e9;
}

/**
 * The effective hourly rate of one Reserved Instance of `info`, USD per hour (modelled). A
 * dedicated-tenancy reservation starts from the Dedicated Instance rate.
 */
export function reservedInstanceHourlyRate(info: InstanceTypeInfo, cls: OfferingClass, term: ReservedTerm, payment: PaymentOption, tenancy: 'default' | 'dedicated' = 'default'): number {
  const base = tenancy === 'dedicated' ? dedicatedInstanceHourly(info) : info.onDemandUsdPerHour;
  return roundUsd(base * (1 - RESERVED_DISCOUNTS[cls][term][payment]));
}

/**
 * The upfront part of a reservation's price, USD for the whole term (modelled): none for No
 * Upfront, about half for Partial Upfront, all of it for All Upfront.
 */
export function reservedUpfrontShare(payment: PaymentOption): number {
  return payment === 'No Upfront' ? 0 : payment === 'Partial Upfront' ? 0.5 : 1;
}

export type SavingsPlanType = 'Compute' | 'EC2Instance';
export const SAVINGS_PLAN_TYPES: readonly SavingsPlanType[] = ['Compute', 'EC2Instance'];

/**
 * Modelled Savings Plans discounts off On-Demand for an m-series type, by plan, term and payment.
 * EC2 Instance Savings Plans match standard Reserved Instances; Compute Savings Plans give less.
 */
export const SAVINGS_PLAN_DISCOUNTS: Readonly<Record<SavingsPlanType, Record<ReservedTerm, Record<PaymentOption, number>>>> = {
  EC2Instance: {
    '1yr': { 'No Upfront': 0.375, 'Partial Upfront': 0.405, 'All Upfront': 0.42 },
    '3yr': { 'No Upfront': 0.57, 'Partial Upfront': 0.595, 'All Upfront': 0.615 },
  },
  Compute: {
    '1yr': { 'No Upfront': 0.28, 'Partial Upfront': 0.31, 'All Upfront': 0.33 },
    '3yr': { 'No Upfront': 0.49, 'Partial Upfront': 0.53, 'All Upfront': 0.55 },
  },
};

/**
 * How a series' Savings Plans discount differs from the m series' (modelled): AWS's per-family
 * rates differ (which is why "highest savings percentage first" matters); the spread here keeps
 * every rate under AWS's ceilings (66 % Compute, 72 % EC2 Instance).
 */
export const SAVINGS_PLAN_SERIES_ADJUSTMENT: Readonly<Record<string, number>> = {
  t: -0.05,
  m: 0,
  c: 0.03,
  r: 0.02,
  x: 0.05,
  i: 0.03,
  d: 0.03,
  g: -0.03,
  p: -0.05,
  inf: 0,
  trn: 0,
};

const SP_CEILING: Readonly<Record<SavingsPlanType, number>> = { Compute: 0.66, EC2Instance: 0.72 };

/** The Savings Plans discount (fraction off On-Demand) for usage of `info` (modelled). */
export function savingsPlanDiscount(info: Pick<InstanceTypeInfo, 'family'>, type: SavingsPlanType, term: ReservedTerm, payment: PaymentOption): number {
  const d = SAVINGS_PLAN_DISCOUNTS[type][term][payment] + (SAVINGS_PLAN_SERIES_ADJUSTMENT[instanceSeries(info.family)] ?? 0);
  return Math.max(0, Math.min(SP_CEILING[type], Math.round(d * 1e6) / 1e6));
}

/**
 * Dedicated Instances cost more than shared tenancy: modelled as 10 % above the On-Demand rate
 * (the pricing page lists m5.large at $0.106 against $0.096 shared). See PRICING_SOURCES.
 */
export const DEDICATED_INSTANCE_UPLIFT = 1.1;

/**
 * The Dedicated per Region fee: USD for every clock-hour in which at least one Dedicated
 * Instance runs in the Region (PRICING_SOURCES.dedicatedInstances).
 */
export const DEDICATED_REGION_FEE_USD_PER_HOUR = 2;

/** The On-Demand rate of a Dedicated Instance of `info`, USD per hour (modelled). */
export function dedicatedInstanceHourly(info: Pick<InstanceTypeInfo, 'onDemandUsdPerHour'>): number {
  return roundUsd(info.onDemandUsdPerHour * DEDICATED_INSTANCE_UPLIFT);
}

/** The largest size of a family that is not bare metal: what a Dedicated Host of the family is sized as. */
export function hostSizingType(cat: Catalog, family: string): InstanceTypeInfo | undefined {
  let best: InstanceTypeInfo | undefined;
  for (const t of cat.filter({ family, bareMetal: false })) if (!best || t.vcpu > best.vcpu) best = t;
  return best;
}

/**
 * What a Dedicated Host of `family` offers and costs (modelled): as many vCPUs as the family's
 * largest size, at that size's On-Demand rate plus the Dedicated uplift (an m5 host at
 * $4.608 × 1.1 = $5.0688/h, near the published $5.069). Undefined for a family the catalogue
 * lacks.
 */
export function dedicatedHostOffering(cat: Catalog, family: string): { vcpus: number; hourlyUSD: number; sizedAs: string } | undefined {
  const t = hostSizingType(cat, family);
  if (!t) return undefined;
  return { vcpus: t.vcpu, hourlyUSD: roundUsd(t.onDemandUsdPerHour * DEDICATED_INSTANCE_UPLIFT), sizedAs: t.name };
}

/**
 * The rate an instance's launch is billed at while it runs, before any Reserved Instance or
 * Savings Plan: On-Demand for shared tenancy, the Dedicated rate for dedicated tenancy, nothing
 * for an instance on a Dedicated Host (the host is billed).
 */
export function instanceHourlyRate(info: Pick<InstanceTypeInfo, 'onDemandUsdPerHour'>, tenancy: 'default' | 'dedicated' | 'host'): number {
  if (tenancy === 'host') return 0;
  return tenancy === 'dedicated' ? dedicatedInstanceHourly(info) : info.onDemandUsdPerHour;
}
