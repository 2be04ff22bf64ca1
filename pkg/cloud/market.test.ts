/**
 * The pure models: families and normalization, boot delays, modelled rates, the Spot market,
 * allocation strategies, and bill arithmetic that needs no cluster.
 */
import t from 'tap';
import {
  allocateFleet,
  bootDelayMs,
  catalog,
  computeBill,
  dedicatedHostOffering,
  instanceSeries,
  normalizationFactor,
  onDemandCount,
  pickSpotPool,
  poolsOf,
  reservedInstanceHourlyRate,
  savingsPlanDiscount,
  SpotMarket,
  type UsageRecord,
} from './index.js';

const cat = catalog();
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

t.test('series, normalization factors and boot delays', async (t) => {
  t.same(['c5', 'x2idn', 'inf2', 'trn1', 'i3en', 'd3en', 'g4dn', 'p4d', 't4g', 'm7i', 'r6g'].map(instanceSeries), ['c', 'x', 'inf', 'trn', 'i', 'd', 'g', 'p', 't', 'm', 'r']);
  t.same(['m5.large', 'm5.xlarge', 'm5.24xlarge', 't3.nano', 'c5.9xlarge'].map((n) => normalizationFactor(cat.get(n)!)), [4, 8, 192, 0.25, 72]);
  t.equal(normalizationFactor(cat.get('m5.metal')!), 192, 'metal counts by vCPUs: 96 × 2');
  // m series: 40 s ± 20 %: u = 0 → 32 s, u = 0.5 → 40 s; p: 120 s; bare metal +300 s.
  t.equal(bootDelayMs(cat.get('m5.large')!, 0), 32_000);
  t.equal(bootDelayMs(cat.get('m5.large')!, 0.5), 40_000);
  t.equal(bootDelayMs(cat.get('p4d.24xlarge')!, 0.5), 120_000);
  t.equal(bootDelayMs(cat.get('m5.metal')!, 0.5), 340_000);
});

t.test('modelled rates stay inside AWS’s documented ranges', async (t) => {
  const m5 = cat.get('m5.xlarge')!;
  t.equal(reservedInstanceHourlyRate(m5, 'standard', '1yr', 'No Upfront'), 0.12, '$0.192 × (1 − 37.5 %)');
  for (const info of cat.list()) {
    for (const type of ['Compute', 'EC2Instance'] as const) {
      const d = savingsPlanDiscount(info, type, '3yr', 'All Upfront');
      t.ok(d > 0 && d <= (type === 'Compute' ? 0.66 : 0.72), `${info.name} ${type}`) || t.end();
    }
    t.ok(reservedInstanceHourlyRate(info, 'standard', '3yr', 'All Upfront') >= info.onDemandUsdPerHour * 0.28 - 1e-9, `${info.name} RI ≤ 72 % off`);
  }
  t.same(dedicatedHostOffering(cat, 'm5'), { vcpus: 96, hourlyUSD: 5.0688, sizedAs: 'm5.24xlarge' });
});

t.test('the Spot market: deterministic, well below On-Demand, moving slowly', async (t) => {
  const a = new SpotMarket(42, cat);
  const b = new SpotMarket(42, cat);
  const c = new SpotMarket(43, cat);
  t.equal(a.price('m5.large', 'us-east-1a', T0), b.price('m5.large', 'us-east-1a', T0), 'same seed, same price');
  t.not(a.price('m5.large', 'us-east-1a', T0), c.price('m5.large', 'us-east-1a', T0), 'another seed, another market');
  t.not(a.price('m5.large', 'us-east-1a', T0), a.price('m5.large', 'us-east-1b', T0), 'per zone');
  let changes = 0;
  let prev = a.price('c5.xlarge', 'us-east-1c', T0);
  for (let h = 1; h < 24 * 14; h++) {
    const p = a.price('c5.xlarge', 'us-east-1c', T0 + h * HOUR);
    t.ok(p >= 0.17 * 0.1 - 1e-9 && p <= 0.17 * 0.55 + 1e-9, 'between 45 % and 90 % off') || t.end();
    t.ok(Math.abs(p - prev) <= 0.17 * 0.03, 'no jump of more than 3 % of On-Demand in an hour') || t.end();
    if (p !== prev) changes++;
    prev = p;
    t.equal(a.price('c5.xlarge', 'us-east-1c', T0 + h * HOUR + 1_234_567 % HOUR), p, 'constant within the clock-hour') || t.end();
  }
  t.ok(changes > 10, `the price moves over two weeks (${changes} changes)`);
  // Cost over time is the integral of the hourly prices.
  const cost = a.cost('m5.large', 'us-east-1a', T0 + HOUR / 2, T0 + 2 * HOUR);
  t.ok(Math.abs(cost - (a.price('m5.large', 'us-east-1a', T0) / 2 + a.price('m5.large', 'us-east-1a', T0 + HOUR))) < 1e-12);
  // Interruptions: the same plan for the same instance run; none past the band's rate for most runs.
  const plan = a.interruptionPlan('i-0000000000000a001', 'm5.large', 'us-east-1a', T0);
  t.same(plan, b.interruptionPlan('i-0000000000000a001', 'm5.large', 'us-east-1a', T0));
  if (plan) t.ok(plan.rebalanceAt <= plan.noticeAt && plan.noticeAt - plan.rebalanceAt <= 30 * 60_000);
  let within = 0;
  for (let i = 0; i < 2000; i++) {
    const p = a.interruptionPlan(`i-${i}`, 'm5.large', 'us-east-1a', T0);
    if (p && p.noticeAt < T0 + 730 * HOUR) within++;
  }
  const band = a.interruptionBand('m5.large', 'us-east-1a');
  t.ok(Math.abs(within / 2000 - band.perMonth) < 0.03, `${within} of 2000 runs interrupted within a month, for the ${band.band} band (${band.perMonth})`);
});

t.test('allocation strategies', async (t) => {
  const m = new SpotMarket(7, cat);
  const pools = poolsOf(['m5.large', 'm5a.large', 'm6i.large', 'c5.large'], ['us-east-1a', 'us-east-1b']);
  const price = (p: { instanceType: string; availabilityZone: string }): number => m.price(p.instanceType, p.availabilityZone, T0);
  const cap = (p: { instanceType: string; availabilityZone: string }): number => m.capacity(p.instanceType, p.availabilityZone, T0);
  const cheapest = [...pools].sort((a, b) => price(a) - price(b))[0]!;
  t.same(pickSpotPool('lowest-price', pools, m, T0, new Map(), 1), cheapest, 'lowest-price: the cheapest pool');
  const roomiest = [...pools].sort((a, b) => cap(b) - cap(a))[0]!;
  t.same(pickSpotPool('capacity-optimized', pools, m, T0, new Map()), roomiest, 'capacity-optimized: the most spare capacity');
  const pco = pickSpotPool('price-capacity-optimized', pools, m, T0, new Map())!;
  t.ok(cap(pco) >= cap(roomiest) * 0.8 - 1e-12, 'price-capacity-optimized: a high-capacity pool…');
  t.ok(pools.filter((p) => cap(p) >= cap(roomiest) * 0.8).every((p) => price(p) >= price(pco)), '…the cheapest of them');
  // A big group: past the model's spare capacity in every pool, price-capacity-optimized still picks one.
  const crowded = new Map(pools.map((p) => [`${p.instanceType}/${p.availabilityZone}`, 500]));
  const full = pickSpotPool('price-capacity-optimized', pools, m, T0, crowded);
  // 500 instances take 500 × 0.02 = 10 of every pool's spare capacity: all are below zero.
  const left = (p: { instanceType: string; availabilityZone: string }): number => cap(p) - 10;
  t.ok(pools.every((p) => left(p) < 0));
  const floor = left(roomiest) - Math.abs(left(roomiest)) * 0.2;
  const band = pools.filter((p) => left(p) >= floor);
  t.ok(full && band.includes(full), 'every pool crowded: still a pool, within the band of the roomiest');
  t.ok(band.every((p) => price(p) >= price(full!)), '…the cheapest of them');
  // lowest-price with 2 pools spreads over the two cheapest.
  const fleet = allocateFleet({ instanceTypes: ['m5.large', 'm5a.large', 'm6i.large', 'c5.large'], availabilityZones: ['us-east-1a', 'us-east-1b'], totalTargetCapacity: 6, onDemandTargetCapacity: 2, spotAllocationStrategy: 'lowest-price', onDemandAllocationStrategy: 'lowest-price', spotInstancePools: 2 }, m, cat, T0);
  t.equal(fleet.filter((p) => p.market === 'on-demand').length, 2);
  t.ok(fleet.filter((p) => p.market === 'on-demand').every((p) => p.instanceType === 'c5.large'), 'the cheapest On-Demand type ($0.085)');
  t.same(new Set(fleet.filter((p) => p.market === 'on-demand').map((p) => p.availabilityZone)), new Set(['us-east-1a', 'us-east-1b']), 'On-Demand balanced across zones');
  const spotPools = new Set(fleet.filter((p) => p.market === 'spot').map((p) => `${p.instanceType}/${p.availabilityZone}`));
  t.equal(spotPools.size, 2, 'four Spot Instances over two pools');
  // Mixed instances: base plus a percentage of the rest On-Demand, rounded up.
  t.same([0, 1, 2, 5, 10].map((n) => onDemandCount(n, { onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 25 })), [0, 1, 2, 2, 4]);
});

t.test('bill arithmetic without a cluster', async (t) => {
  const m = new SpotMarket(1, cat);
  const rec = (id: string, startMs: number, endMs: number | undefined, extra: Partial<UsageRecord['spec']> = {}): UsageRecord => ({
    apiVersion: 'billing.berth.dev/v1',
    kind: 'UsageRecord',
    metadata: { name: `${id}-${startMs}` },
    spec: { resourceType: 'instance', resourceId: id, purchaseOption: 'on-demand', tenancy: 'default', instanceType: 'm5.large', instanceFamily: 'm5', availabilityZone: 'us-east-1a', region: 'us-east-1', onDemandUsdPerHour: 0.096, rateUsdPerHour: 0.096, startMs, start: '', ...(endMs !== undefined ? { endMs } : {}), ...extra },
  });
  // An open interval is billed up to the end of the window; a closed one that started before it, from its start.
  let b = computeBill({ records: [rec('i-1', T0, undefined)], catalog: cat, market: m, fromMs: T0 + HOUR, toMs: T0 + 3 * HOUR });
  t.equal(b.totalUSD, 0.192, 'two hours of the open run inside the window');
  // A zonal RI in another zone does not apply; the one in the right zone does.
  const ri = (zone: string) => ({ apiVersion: 'billing.berth.dev/v1', kind: 'ReservedInstance', metadata: { name: `ri-${zone}` }, spec: { instanceType: 'm5.large', instanceCount: 1, scope: 'Availability Zone' as const, availabilityZone: zone, start: new Date(T0).toISOString() } });
  b = computeBill({ records: [rec('i-1', T0, T0 + HOUR)], reservedInstances: [ri('us-east-1b')], catalog: cat, market: m, fromMs: T0, toMs: T0 + HOUR });
  // The 1b reservation is paid ($0.06) and the usage is On-Demand ($0.096).
  t.same([b.byPurchaseOption.reserved, b.byPurchaseOption['on-demand']], [0.06, 0.096]);
  b = computeBill({ records: [rec('i-1', T0, T0 + HOUR)], reservedInstances: [ri('us-east-1a')], catalog: cat, market: m, fromMs: T0, toMs: T0 + HOUR });
  t.same([b.byPurchaseOption.reserved, b.byPurchaseOption['on-demand']], [0.06, 0]);
  // One RI covers at most 3600 instance-seconds per clock-hour: four m5.large for 15 min each, one after the other, are all covered; together, only one hour of one.
  const seq = [0, 1, 2, 3].map((k) => rec(`i-${k}`, T0 + k * 15 * 60_000, T0 + (k + 1) * 15 * 60_000));
  b = computeBill({ records: seq, reservedInstances: [ri('us-east-1a')], catalog: cat, market: m, fromMs: T0, toMs: T0 + HOUR });
  t.equal(b.byPurchaseOption['on-demand'], 0, 'sequential: 4 × 900 s = 3600 s, all covered');
  const together = [0, 1, 2, 3].map((k) => rec(`i-${k}`, T0, T0 + HOUR));
  b = computeBill({ records: together, reservedInstances: [ri('us-east-1a')], catalog: cat, market: m, fromMs: T0, toMs: T0 + HOUR });
  t.equal(b.byPurchaseOption['on-demand'], 0.288, 'together: three of the four hours are On-Demand');
  // EC2 Instance Savings Plans apply before Compute ones, and only to their family.
  const sp = (name: string, type: 'Compute' | 'EC2Instance', commitment: number, family?: string) => ({ apiVersion: 'billing.berth.dev/v1', kind: 'SavingsPlan', metadata: { name }, spec: { savingsPlanType: type, commitment, ...(family ? { ec2InstanceFamily: family } : {}), start: new Date(T0).toISOString() } });
  b = computeBill({ records: [rec('i-1', T0, T0 + HOUR)], savingsPlans: [sp('a-compute', 'Compute', 1), sp('b-ec2', 'EC2Instance', 1, 'm5')], catalog: cat, market: m, fromMs: T0, toMs: T0 + HOUR });
  t.match(b.commitments, [{ id: 'a-compute', usedUSD: 0 }, { id: 'b-ec2', usedUSD: 0.06 }], 'the EC2 Instance plan took the m5 usage at 37.5 % off');
  b = computeBill({ records: [rec('i-1', T0, T0 + HOUR, { instanceType: 'c5.large', instanceFamily: 'c5', onDemandUsdPerHour: 0.085, rateUsdPerHour: 0.085 })], savingsPlans: [sp('b-ec2', 'EC2Instance', 1, 'm5')], catalog: cat, market: m, fromMs: T0, toMs: T0 + HOUR });
  t.equal(b.byPurchaseOption['on-demand'], 0.085, 'an m5 plan does not cover c5');
});
