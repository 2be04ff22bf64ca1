/**
 * `berth cost [--since T] [-o json]`: the bill so far, as the server computes it from its ledger
 * on its own clock (`GET /billing/v1/cost`): by purchase option, instance type, Auto Scaling
 * group, namespace, workload and instance, with the effective rate and what the same usage would
 * cost On-Demand; then Lambda's requests and GB-seconds by function (`GET /billing/v1/lambda`,
 * when the server runs Lambda); then Fargate's runs (`GET /billing/v1/fargate`, when the server runs
 * the EKS/ECS flavours): per second with a one-minute minimum, On-Demand (FARGATE) and Spot
 * (FARGATE_SPOT) apart, by pod. `--since` takes a duration back from the cluster's now (`2h`,
 * `30m`) or a time (RFC 3339); without it the bill runs from the first billable moment (the
 * earliest run, reservation or plan). `-o json` prints the CostReport, the same `cost` shape `berth
 * simulate` gives, with Lambda's bill under `lambda` and Fargate's under `fargate`.
 */
import type { LambdaCostReport } from '../aws/lambda/cost.js';
import type { CostLine, CostReport } from '../cloud/bill.js';
import type { FargateCostReport } from '../eks/cost.js';
import { PURCHASE_OPTIONS } from '../cloud/types.js';
import { CliError } from './errors.js';
import { checkOutput } from './get.js';
import type { Session } from './session.js';
import { GET_TABS, TabWriter } from './tabwriter.js';
import type { IO } from './types.js';

/** USD with four decimals, as AWS's price list writes hourly rates: `$0.0960`. */
export function money(usd: number): string {
  return `${usd < 0 ? '-' : ''}$${Math.abs(usd).toFixed(4)}`;
}

function hours(h: number): string {
  return h.toFixed(2);
}

function section(title: string, header: string[], rows: string[][]): string {
  if (!rows.length) return '';
  const tw = new TabWriter(GET_TABS);
  tw.write(`${[title, ...header].join('\t')}\n`);
  for (const r of rows) tw.write(`${r.join('\t')}\n`);
  return `\n${tw.flush()}`;
}

function lines(m: Record<string, CostLine>, label: (k: string) => string = (k) => k): string[][] {
  return Object.entries(m)
    .sort((a, b) => b[1].usd - a[1].usd || (a[0] < b[0] ? -1 : 1))
    .map(([k, l]) => [label(k), hours(l.instanceHours), money(l.usd), money(l.effectiveUSDPerHour), money(l.onDemandEquivalentUSD)]);
}

const LINE_HEADER = ['INSTANCE-HOURS', 'USD', 'EFFECTIVE/H', 'ON-DEMAND-EQUIVALENT'];

/** The human-readable bill. */
export function renderCost(b: CostReport): string {
  const pct = b.onDemandEquivalentUSD > 0 ? ` (${((b.savingsUSD / b.onDemandEquivalentUSD) * 100).toFixed(1)}%)` : '';
  let out = `Bill from ${b.from} to ${b.to} (cluster time)\n`;
  out += `Total ${money(b.totalUSD)} for ${hours(b.instanceHours)} instance-hours (effective ${money(b.effectiveUSDPerHour)}/h); On-Demand would be ${money(b.onDemandEquivalentUSD)}, saving ${money(b.savingsUSD)}${pct}\n`;
  out += section('PURCHASE-OPTION', ['USD'], PURCHASE_OPTIONS.map((k) => [k, money(b.byPurchaseOption[k])]));
  out += section('INSTANCE-TYPE', LINE_HEADER, lines(b.byInstanceType));
  out += section('AUTO-SCALING-GROUP', LINE_HEADER, lines(b.byAutoScalingGroup));
  out += section('NAMESPACE', LINE_HEADER, lines(b.byNamespace));
  out += section('WORKLOAD', LINE_HEADER, lines(b.byWorkload));
  out += section(
    'INSTANCE',
    ['INSTANCE-TYPE', 'OPTION', 'TENANCY', 'ZONE', 'GROUP', ...LINE_HEADER],
    Object.entries(b.byInstance)
      .sort((a, c) => c[1].usd - a[1].usd || (a[0] < c[0] ? -1 : 1))
      .map(([id, l]) => [id, l.instanceType, l.purchaseOption, l.tenancy, l.availabilityZone, l.autoScalingGroup ?? '<none>', hours(l.instanceHours), money(l.usd), money(l.effectiveUSDPerHour), money(l.onDemandEquivalentUSD)]),
  );
  out += section('DEDICATED-HOST', ['FAMILY', 'HOST-HOURS', 'USD'], Object.entries(b.byDedicatedHost).map(([id, h]) => [id, h.instanceFamily, hours(h.hostHours), money(h.usd)]));
  out += section('COMMITMENT', ['KIND', 'USD', 'USED', 'UTILIZATION'], b.commitments.map((c) => [c.id, c.kind, money(c.usd), money(c.usedUSD), `${(c.utilization * 100).toFixed(1)}%`]));
  if (b.unallocatedUSD > 0) out += `\nUnallocated (unused reservations and commitments, host and per-Region fees): ${money(b.unallocatedUSD)}\n`;
  return out;
}

export async function runCost(s: Session, io: IO, opts: { since?: string; output?: string }): Promise<void> {
  const output = checkOutput(opts.output, ['', 'json']);
  if (opts.since !== undefined && !opts.since.trim()) throw new CliError('--since needs a duration (2h, 30m) or a time (2026-01-01T00:00:00Z)');
  const report = (await s.transport.call('GET', '/billing/v1/cost', { query: opts.since ? { since: opts.since } : {} })) as CostReport;
  const lambda = await lambdaBill(s, opts.since);
  const fargate = await optionalBill<FargateCostReport>(s, '/billing/v1/fargate', opts.since);
  const all = allServicesUSD(report.totalUSD, lambda, fargate);
  if (output === 'json') {
    io.stdout(`${JSON.stringify({ ...report, ...(lambda ? { lambda } : {}), ...(fargate ? { fargate } : {}), allServicesUSD: all }, null, 2)}\n`);
    return;
  }
  io.stdout(renderCost(report) + (lambda ? renderLambdaCost(lambda) : '') + (fargate ? renderFargateCost(fargate) : '') + renderAllServices(report.totalUSD, lambda, fargate));
}

/** EC2's total plus Fargate's and Lambda's, USD. */
export function allServicesUSD(ec2: number, lambda?: { usd: number }, fargate?: { usd: number }): number {
  return ec2 + (lambda?.usd ?? 0) + (fargate?.usd ?? 0);
}

/** The closing line over every service, when Fargate or Lambda charged something (else EC2's total says it all). */
export function renderAllServices(ec2: number, lambda?: { usd: number }, fargate?: { usd: number }): string {
  if (!(lambda?.usd ?? 0) && !(fargate?.usd ?? 0)) return '';
  return `\nAll services ${money(allServicesUSD(ec2, lambda, fargate))}: EC2 ${money(ec2)}${fargate?.usd ? `, Fargate ${money(fargate.usd)}` : ''}${lambda?.usd ? `, Lambda $${lambda.usd.toFixed(6)}` : ''}\n`;
}

/** A bill from a route the server may not serve (404: the component is not running). */
async function optionalBill<T>(s: Session, path: string, since: string | undefined): Promise<T | undefined> {
  try {
    return (await s.transport.call('GET', path, { query: since ? { since } : {} })) as T;
  } catch (e) {
    if ((e as { code?: unknown }).code === 404) return undefined;
    throw e;
  }
}

/** Fargate's part of the bill (nothing when no Fargate pod ran in the window): On-Demand and Spot, then by pod. */
export function renderFargateCost(f: FargateCostReport): string {
  if (!f.pods) return '';
  let out = `\nFargate ${money(f.usd)} for ${f.pods} pod${f.pods === 1 ? '' : 's'}: ${f.vcpuHours.toFixed(4)} vCPU-hours and ${f.gbHours.toFixed(4)} GB-hours, per second with a one-minute minimum\n`;
  out += section(
    'CAPACITY-PROVIDER',
    ['PODS', 'VCPU-HOURS', 'GB-HOURS', 'USD'],
    (['FARGATE', 'FARGATE_SPOT'] as const).filter((k) => f.byCapacityProvider?.[k]?.pods).map((k) => [k, String(f.byCapacityProvider[k].pods), f.byCapacityProvider[k].vcpuHours.toFixed(4), f.byCapacityProvider[k].gbHours.toFixed(4), money(f.byCapacityProvider[k].usd)]),
  );
  out += section(
    'POD',
    ['SIZE', 'CAPACITY', 'START', 'END', 'BILLED-SECONDS', 'USD'],
    f.byPod.map((p) => [`${p.namespace}/${p.pod}`, p.size, p.capacityProvider ?? 'FARGATE', p.start, p.end ?? '<running>', String(p.billedSeconds), money(p.usd)]),
  );
  return out;
}

/** Lambda's bill from `GET /billing/v1/lambda`, or undefined when the server runs no Lambda. */
async function lambdaBill(s: Session, since: string | undefined): Promise<LambdaCostReport | undefined> {
  try {
    return (await s.transport.call('GET', '/billing/v1/lambda', { query: since ? { since } : {} })) as LambdaCostReport;
  } catch (e) {
    if ((e as { code?: unknown }).code === 404) return undefined;
    throw e;
  }
}

/** USD with six decimals: Lambda's bills are fractions of a cent. */
function micro(usd: number): string {
  return `$${usd.toFixed(6)}`;
}

/** Lambda's part of the bill (nothing when no function ran in the window): requests plus GB-seconds, by function. */
export function renderLambdaCost(l: LambdaCostReport): string {
  if (!l.requests) return '';
  let out = `\nLambda ${micro(l.usd)} for ${l.requests} request${l.requests === 1 ? '' : 's'} (${micro(l.requestUSD)}) and ${l.gbSeconds.toFixed(3)} GB-s of duration (${micro(l.durationUSD)})\n`;
  out += section('FUNCTION', ['REQUESTS', 'GB-SECONDS', 'USD'], Object.entries(l.byFunction).map(([name, u]) => [name, String(u.requests), u.gbSeconds.toFixed(3), micro(u.usd)]));
  return out;
}
