/**
 * The bill through the API: `costReport(client, fromMs, toMs)` reads the ledger, the
 * reservations and plans and the Spot market's seed through any Client (in-process or HTTP) and
 * computes the bill (bill.ts); the API server serves the same at `GET /billing/v1/cost`
 * (`?since=2h` or `?from=…&to=…`), computed on the server's clock, which is what `berth cost`
 * asks.
 */
import type { FastifyPluginAsync } from 'fastify';
import { isAlreadyExists, isNotFound } from '../api/errors.js';
import type { KubeObject } from '../api/types.js';
import type { ApiServer } from '../apiserver/index.js';
import type { Clock } from '../clock/clock.js';
import { Client, Kinds } from '../client/client.js';
import { computeBill, termStart, type CostReport } from './bill.js';
import { BillingKinds, type DedicatedHost, type ReservedInstance, type SavingsPlan, type UsageRecord } from './billing-types.js';
import { catalog as defaultCatalog, type Catalog } from './catalog.js';
import { SpotMarket } from './spot-market.js';

/** Where the Spot market's seed is kept: drawn once from the cloud's `random`, then read on every start. */
export const MARKET_CONFIGMAP = { namespace: 'kube-system', name: 'berth-ec2-spot-market' } as const;

/** Reads the market's seed, or creates it from `random` (store-level, so it exists before any controller runs). */
export async function ensureMarketSeed(api: ApiServer, random: () => number): Promise<number> {
  const r = api.registry.get('', 'v1', 'configmaps')!;
  const have = await api.store.tryGet(r, MARKET_CONFIGMAP.namespace, MARKET_CONFIGMAP.name);
  const seed = Number((have?.data as Record<string, string> | undefined)?.seed);
  if (have && Number.isInteger(seed)) return seed;
  const fresh = Math.floor(random() * 2 ** 32) >>> 0;
  const cm: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: MARKET_CONFIGMAP.name, namespace: MARKET_CONFIGMAP.namespace, labels: { 'app.kubernetes.io/managed-by': 'berth' } },
    data: { seed: String(fresh), model: 'berth spot market v1: see pkg/cloud/spot-market.ts' },
  };
  if (have) await api.store.update(r, MARKET_CONFIGMAP.namespace, MARKET_CONFIGMAP.name, { ...have, data: cm.data });
  else {
    try {
      await api.store.create(r, MARKET_CONFIGMAP.namespace, cm);
    } catch (e) {
      // Another server on the same store (etcd) seeded it first: every server uses that seed.
      if (!isAlreadyExists(e)) throw e;
      return ensureMarketSeed(api, random);
    }
  }
  return fresh;
}

/** The market's seed as the API has it. Throws if the cloud has never been installed on this store. */
export async function readMarketSeed(client: Client): Promise<number> {
  const cm = await client.tryGet(Kinds.ConfigMap, MARKET_CONFIGMAP.name, MARKET_CONFIGMAP.namespace);
  const seed = Number((cm?.data as Record<string, string> | undefined)?.seed);
  if (!Number.isInteger(seed)) throw new Error(`the Spot market's seed is missing (ConfigMap ${MARKET_CONFIGMAP.namespace}/${MARKET_CONFIGMAP.name}): is the cloud component running?`);
  return seed;
}

export interface CostReportOptions {
  /** Default: the repository's catalogue. */
  catalog?: Catalog;
  /** The Spot market's seed (default: read from the API). */
  seed?: number;
  /**
   * Start the window no earlier than the first billable moment (the earliest usage interval,
   * reservation or plan term): "the bill so far" then reads from when the account was first used
   * rather than from `fromMs` (the route passes 0). The amounts are the same either way.
   */
  fromFirstUse?: boolean;
}

async function listAll<T extends KubeObject>(client: Client, ref: { apiVersion: string; kind: string }): Promise<T[]> {
  try {
    return (await client.list<T>(ref)).items;
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

/**
 * The bill for [fromMs, toMs) of cluster time, USD (see CostReport in bill.ts for the shape and
 * bill.ts for the rules). Works over any Client; open intervals are billed up to `toMs`, which
 * should not be later than the cluster's now.
 */
export async function costReport(client: Client, fromMs: number, toMs: number, opts: CostReportOptions = {}): Promise<CostReport> {
  if (!(toMs >= fromMs)) throw new RangeError(`the end of the window (${toMs}) is before its start (${fromMs})`);
  const catalog = opts.catalog ?? defaultCatalog();
  const seed = opts.seed ?? (await readMarketSeed(client));
  const [records, reservedInstances, savingsPlans, hosts] = await Promise.all([
    listAll<UsageRecord>(client, BillingKinds.UsageRecord),
    listAll<ReservedInstance>(client, BillingKinds.ReservedInstance),
    listAll<SavingsPlan>(client, BillingKinds.SavingsPlan),
    listAll<DedicatedHost>(client, BillingKinds.DedicatedHost),
  ]);
  if (opts.fromFirstUse) {
    let first = toMs;
    for (const r of records) first = Math.min(first, r.spec.startMs);
    for (const c of [...reservedInstances, ...savingsPlans]) {
      const start = termStart(c);
      if (!Number.isNaN(start)) first = Math.min(first, start);
    }
    fromMs = Math.max(fromMs, first);
  }
  return computeBill({ records, reservedInstances, savingsPlans, hosts, catalog, market: new SpotMarket(seed, catalog), fromMs, toMs });
}

/** Thrown for a time or duration that does not parse. */
export class TimeArgumentError extends Error {
  readonly code = 'InvalidTimeArgument';
  constructor(message: string) {
    super(message);
    this.name = 'TimeArgumentError';
  }
}

/** A duration as Go and kubectl write them (`90s`, `30m`, `1h30m`, `2d`), ms. Throws TimeArgumentError. */
export function parseDurationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]!]!;
    matched = re.lastIndex;
  }
  if (!text || matched !== text.length) throw new TimeArgumentError(`invalid duration "${text}": use a number and a unit, e.g. 90s, 30m, 2h, 1h30m, 7d`);
  return Math.round(total);
}

/** A point in time given as RFC 3339, ms since the epoch, or a duration back from `now`. Throws TimeArgumentError. */
export function parseTimeArgument(text: string, now: number): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (Number.isNaN(t)) throw new TimeArgumentError(`invalid time "${text}": use RFC 3339, e.g. 2026-01-01T00:00:00Z`);
    return t;
  }
  if (/^\d+$/.test(text)) return Number(text);
  return now - parseDurationMs(text);
}

/**
 * The route `GET /billing/v1/cost?since=…|from=…&to=…`: the bill on the server's clock, up to now
 * by default; without `since` or `from`, from the first billable moment.
 */
export function costRoute(api: ApiServer, clock: Clock, catalog: Catalog): FastifyPluginAsync {
  return async (app) => {
    app.get('/billing/v1/cost', async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      const now = clock.now();
      try {
        const to = q.to ? parseTimeArgument(q.to, now) : now;
        const from = q.since ? parseTimeArgument(q.since, now) : q.from ? parseTimeArgument(q.from, now) : 0;
        if (to > now) throw new TimeArgumentError(`"to" is in the future: the bill so far ends at the cluster's now, ${new Date(now).toISOString()}`);
        if (from > to) throw new TimeArgumentError(`the window starts (${new Date(from).toISOString()}) after it ends (${new Date(to).toISOString()})`);
        return await costReport(new Client(api.transport), from, to, { catalog, fromFirstUse: !q.since && !q.from });
      } catch (e) {
        if (e instanceof TimeArgumentError) {
          return reply.code(400).send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: 'BadRequest', code: 400 });
        }
        throw e;
      }
    });
  };
}

/** One entry of DescribeSpotPriceHistory. */
export interface SpotPricePoint {
  AvailabilityZone: string;
  InstanceType: string;
  ProductDescription: 'Linux/UNIX';
  /** USD per hour, as EC2 writes it (a decimal string, six places). */
  SpotPrice: string;
  Timestamp: string;
}

/**
 * DescribeSpotPriceHistory over the model: for each pool, the price in effect at `start` and each
 * change after it up to `end`, newest first (as EC2 returns them).
 */
export function spotPriceHistory(market: SpotMarket, instanceTypes: readonly string[], zones: readonly string[], start: number, end: number): SpotPricePoint[] {
  const HOUR = 3_600_000;
  const out: (SpotPricePoint & { t: number })[] = [];
  for (const type of instanceTypes) {
    for (const zone of zones) {
      let prev: number | undefined;
      for (let h = Math.floor(start / HOUR) * HOUR; h <= end; h += HOUR) {
        const p = market.price(type, zone, h);
        if (p === prev) continue;
        prev = p;
        const t = Math.max(h, start);
        out.push({ t, AvailabilityZone: zone, InstanceType: type, ProductDescription: 'Linux/UNIX', SpotPrice: p.toFixed(6), Timestamp: new Date(t).toISOString() });
      }
    }
  }
  out.sort((a, b) => b.t - a.t || (a.InstanceType < b.InstanceType ? -1 : a.InstanceType > b.InstanceType ? 1 : a.AvailabilityZone < b.AvailabilityZone ? -1 : 1));
  return out.map(({ t: _t, ...p }) => p);
}

/** The route `GET /ec2/v1/spot-price-history?instanceTypes=a,b&availabilityZone=…&startTime=…&endTime=…` (default: the last 6 hours). */
export function spotPriceHistoryRoute(clock: Clock, market: SpotMarket, catalog: Catalog, zones: readonly string[]): FastifyPluginAsync {
  return async (app) => {
    app.get('/ec2/v1/spot-price-history', async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      const now = clock.now();
      const bad = (message: string) => reply.code(400).send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'BadRequest', code: 400 });
      const types = (q.instanceTypes ?? '').split(',').filter(Boolean);
      if (!types.length) return bad('instanceTypes is required');
      const unknown = types.filter((t) => !catalog.has(t));
      if (unknown.length) return bad(`InvalidParameterValue: unknown instance type(s) ${unknown.join(', ')}`);
      if (q.availabilityZone && !zones.includes(q.availabilityZone)) return bad(`InvalidParameterValue: unknown Availability Zone ${q.availabilityZone}: one of ${zones.join(', ')}`);
      try {
        const end = q.endTime ? parseTimeArgument(q.endTime, now) : now;
        const start = q.startTime ? parseTimeArgument(q.startTime, now) : end - 6 * 3_600_000;
        if (start > end) return bad('startTime is after endTime');
        return { SpotPriceHistory: spotPriceHistory(market, types, q.availabilityZone ? [q.availabilityZone] : zones, start, Math.min(end, now)) };
      } catch (e) {
        if (e instanceof TimeArgumentError) return bad(e.message);
        throw e;
      }
    });
  };
}
