/**
 * The billing kinds (`billing.berth.dev/v1` UsageRecord, ReservedInstance, SavingsPlan) and the
 * Dedicated Host (`ec2.berth.dev/v1 DedicatedHost`).
 *
 * The ledger: every billable interval — an instance running from one start to the next stop, a
 * Dedicated Host from allocation to release — is one UsageRecord, created by the cloud when the
 * interval begins (on the injected clock) and closed when it ends. Records live in the API store
 * like every other object, so a bill survives a server restart and is the same in real, scaled
 * and virtual time; the bill is computed from them on request (`costReport`).
 */
import type { KubeObject } from '../api/types.js';
import type { KindRef } from '../client/types.js';
import type { OfferingClass, PaymentOption, ReservedTerm, SavingsPlanType } from './pricing.js';
import type { Tenancy } from './types.js';

export const BILLING_GROUP = 'billing.berth.dev';

/** Kind references for the kinds this module defines. */
export const BillingKinds = {
  UsageRecord: { apiVersion: 'billing.berth.dev/v1', kind: 'UsageRecord' },
  ReservedInstance: { apiVersion: 'billing.berth.dev/v1', kind: 'ReservedInstance' },
  SavingsPlan: { apiVersion: 'billing.berth.dev/v1', kind: 'SavingsPlan' },
  DedicatedHost: { apiVersion: 'ec2.berth.dev/v1', kind: 'DedicatedHost' },
} as const satisfies Record<string, KindRef>;

/** Label on a UsageRecord: the instance or host id it is for. */
export const RECORD_RESOURCE_LABEL = 'billing.berth.dev/resource-id';
/** Label on a UsageRecord while its interval is open (`"true"`); removed when it closes. */
export const RECORD_OPEN_LABEL = 'billing.berth.dev/open';

/** Why a billable interval ended. */
export type EndReason = 'stopped' | 'terminated' | 'spot-interruption' | 'released';

/** What a UsageRecord is for and when, in cluster ms. Written by the cloud only. */
export interface UsageRecordSpec {
  resourceType: 'instance' | 'dedicated-host';
  /** `i-…` or `h-…`. */
  resourceId: string;
  /** The market: `on-demand` or `spot` (hosts: on-demand). */
  purchaseOption: 'on-demand' | 'spot';
  tenancy: Tenancy;
  /** The instance type (a host: the type it is sized as). */
  instanceType: string;
  /** `m5`. */
  instanceFamily: string;
  availabilityZone: string;
  region: string;
  /** The Auto Scaling group that launched the instance. */
  autoScalingGroup?: string;
  /** The Dedicated Host an instance ran on. */
  hostId?: string;
  /** The instance's Node (its private DNS name): where its pods' shares come from. */
  nodeName?: string;
  /** The type's On-Demand price with shared tenancy, USD per hour, when the interval began (what the usage would cost On-Demand). */
  onDemandUsdPerHour: number;
  /** The rate billed before Reserved Instances and Savings Plans, USD per hour (Dedicated uplift included; 0 on a host; Spot: the market's price applies instead). */
  rateUsdPerHour: number;
  /** When the interval began, ms since the epoch (cluster time), and the same as RFC 3339. */
  startMs: number;
  start: string;
  /** When it ended; absent while open. */
  endMs?: number;
  end?: string;
  endReason?: EndReason;
}

/**
 * The interval's pods, by requests: share-ms accumulated per workload key
 * (`namespace/kind/name`), and the shares in effect since `sinceMs`. A pod's share of its node
 * is the mean of its cpu and memory requests over the node's allocatable.
 */
export interface UsageAllocation {
  /** Share × ms accumulated up to `sinceMs`, by workload key. */
  accumulated: Record<string, number>;
  /** The shares in effect from `sinceMs` (sum ≤ 1). */
  current: Record<string, number>;
  sinceMs: number;
}

export interface UsageRecord extends KubeObject {
  spec: UsageRecordSpec;
  status?: { allocation?: UsageAllocation };
}

/**
 * `billing.berth.dev/v1 ReservedInstance`: a reservation for `instanceCount` instances of
 * `instanceType`, billed every clock-hour of its term whether used or not; each covers at most
 * 3600 instance-seconds per clock-hour ([10] in AWS-SEMANTICS.md). Regional reservations of
 * default tenancy are size-flexible within the family by normalization factor; zonal ones need
 * the exact type and zone.
 */
export interface ReservedInstanceSpec {
  instanceType: string;
  instanceCount: number;
  /** `Region` (default) or `Availability Zone`, as EC2 names the scopes. */
  scope?: 'Region' | 'Availability Zone';
  /** Required with the zonal scope. */
  availabilityZone?: string;
  /** Default `standard`. */
  offeringClass?: OfferingClass;
  /** Default `No Upfront`. */
  offeringType?: PaymentOption;
  /** Default `1yr`. */
  term?: ReservedTerm;
  /** `default` (default) or `dedicated`. */
  instanceTenancy?: 'default' | 'dedicated';
  /** When the term starts, RFC 3339 (default: when created, cluster time). */
  start?: string;
}

export interface ReservedInstance extends KubeObject {
  spec: ReservedInstanceSpec;
}

/**
 * `billing.berth.dev/v1 SavingsPlan`: a commitment of `commitment` USD per hour for the term,
 * paid every hour whether used or not, applied each hour to eligible On-Demand usage at the
 * plan's rates: EC2 Instance plans (one family) before Compute plans, usage with the highest
 * savings percentage first ([9] in AWS-SEMANTICS.md).
 */
export interface SavingsPlanSpec {
  savingsPlanType: SavingsPlanType;
  /** USD per hour, a number or a decimal string (`"0.05"`). */
  commitment: number | string;
  /** Default `1yr`. */
  term?: ReservedTerm;
  /** Default `No Upfront`. */
  paymentOption?: PaymentOption;
  /** Required for EC2Instance plans: the family they cover (`m5`). */
  ec2InstanceFamily?: string;
  /** The Region (default and only: us-east-1). */
  region?: string;
  /** When the term starts, RFC 3339 (default: when created). */
  start?: string;
}

export interface SavingsPlan extends KubeObject {
  spec: SavingsPlanSpec;
}

/** The host id format: `h-` and 17 hex digits. */
export const HOST_ID_RE = /^h-[0-9a-f]{17}$/;

/** Finalizer that keeps a Dedicated Host until its instances have stopped or terminated, then releases it. */
export const HOST_FINALIZER = 'ec2.berth.dev/release-host';

/**
 * `ec2.berth.dev/v1 DedicatedHost`, cluster-scoped, named by its host id: a physical server for
 * one family (or one type), billed per host from allocation to release whatever runs on it
 * ([12] in AWS-SEMANTICS.md). Deleting it releases it (AWS's ReleaseHosts), once no instance
 * runs on it.
 */
export interface DedicatedHostSpec {
  /** The family the host runs, any size (`m5`); or give instanceType. */
  instanceFamily?: string;
  /** One type only (`m5.large`). */
  instanceType?: string;
  availabilityZone: string;
  /** `on`: instances without a host id may be placed here; `off` (default, as EC2): only those naming it. */
  autoPlacement?: 'on' | 'off';
}

export interface DedicatedHostStatus {
  state?: 'available' | 'released';
  allocationTime?: string;
  releaseTime?: string;
  /** The host's capacity: vCPUs, and the type it is sized as. */
  hostProperties?: { instanceFamily: string; instanceType?: string; totalVCpus: number; sizedAs: string };
  availableCapacity?: { availableVCpus: number };
  /** Instances placed on the host (pending, running, stopping or shutting down). */
  instances?: { instanceId: string; instanceType: string }[];
  /** USD per hour while allocated. */
  hourlyPrice?: number;
}

export interface DedicatedHost extends KubeObject {
  spec: DedicatedHostSpec;
  status?: DedicatedHostStatus;
}
