/**
 * Fargate's part of the bill: `GET /billing/v1/fargate?since=…|from=…&to=…` on the API server's
 * port, computed on the server's clock from the FargateUsage records (one per Fargate pod run).
 * Each run is billed per second with a one-minute minimum (https://aws.amazon.com/fargate/pricing/)
 * at its size's price — On-Demand, or Fargate Spot's for an ECS task on FARGATE_SPOT (rates in
 * data/fargate.json) — and the bill is split by capacity provider; a run still going is billed up
 * to now, an interrupted Spot run up to its stop. A run belongs to the
 * window its start falls in (as Lambda's invocations do in pkg/aws/lambda/cost.ts).
 *
 * ```json
 * {"from": "…", "to": "…", "pods": 1, "vcpuHours": 0.33, "gbHours": 1.5, "usd": 0.0202,
 *  "byCapacityProvider": {"FARGATE": {"pods": 1, "vcpuHours": 0.33, "gbHours": 1.5, "usd": 0.0202}, "FARGATE_SPOT": {…}},
 *  "byPod": [{"namespace": "prod", "pod": "web", "size": "2vCPU 9GB", "capacityProvider": "FARGATE", "billedSeconds": 600, "usd": 0.0202}], "source": "…"}
 * ```
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../clock/clock.js';
import type { Client } from '../client/client.js';
import { parseTimeArgument, TimeArgumentError } from '../cloud/cost.js';
import { capacityProvisioned, fargateBilledSeconds, fargateCost, fargateData, type FargateCapacity } from '../fargate/fargate.js';
import { EksKinds, type FargateUsage } from './types.js';

export interface FargatePodCost {
  namespace: string;
  pod: string;
  profile: string;
  /** `2vCPU 9GB`. */
  size: string;
  /** `FARGATE` (On-Demand) or `FARGATE_SPOT`. */
  capacityProvider: FargateCapacity;
  /** The ECS cluster, for an ECS task. */
  ecsCluster?: string;
  /** Why Fargate stopped it (`Your Spot Task was interrupted.`), when it did. */
  stoppedReason?: string;
  start: string;
  /** Absent while the pod runs. */
  end?: string;
  billedSeconds: number;
  usd: number;
}

/** One capacity provider's share of the bill: runs, vCPU-hours and GB-hours billed, USD. */
export interface FargateCapacityCost {
  pods: number;
  vcpuHours: number;
  gbHours: number;
  usd: number;
}

/** The Fargate bill of a window (times RFC 3339, cluster time; amounts USD). */
export interface FargateCostReport {
  from: string;
  to: string;
  pods: number;
  vcpuHours: number;
  gbHours: number;
  usd: number;
  /** On-Demand and Spot apart. */
  byCapacityProvider: Record<FargateCapacity, FargateCapacityCost>;
  /** By run, in start order. */
  byPod: FargatePodCost[];
  /** Where the prices come from. */
  source: string;
}

/** The bill of the runs that started in [fromMs, toMs); open runs are billed up to `nowMs`. */
export function fargateCostReport(records: FargateUsage[], fromMs: number, toMs: number, nowMs: number): FargateCostReport {
  const byPod: FargatePodCost[] = [];
  let vcpuHours = 0;
  let gbHours = 0;
  let usd = 0;
  const byCapacityProvider: Record<FargateCapacity, FargateCapacityCost> = { FARGATE: { pods: 0, vcpuHours: 0, gbHours: 0, usd: 0 }, FARGATE_SPOT: { pods: 0, vcpuHours: 0, gbHours: 0, usd: 0 } };
  const d = fargateData();
  for (const r of [...records].sort((a, b) => Date.parse(a.spec.start) - Date.parse(b.spec.start) || (a.metadata.name! < b.metadata.name! ? -1 : 1))) {
    const start = Date.parse(r.spec.start);
    if (!(start >= fromMs && start < toMs)) continue;
    const end = r.spec.end ? Date.parse(r.spec.end) : nowMs;
    const size = { vcpu: r.spec.vcpu, memoryGB: r.spec.memoryGB };
    const capacity: FargateCapacity = r.spec.capacityProvider === 'FARGATE_SPOT' ? 'FARGATE_SPOT' : 'FARGATE';
    const billedSeconds = fargateBilledSeconds(end - start, d);
    const cost = fargateCost(size, end - start, d, capacity);
    const line = byCapacityProvider[capacity];
    line.pods++;
    line.vcpuHours += (size.vcpu * billedSeconds) / 3600;
    line.gbHours += (size.memoryGB * billedSeconds) / 3600;
    line.usd += cost;
    vcpuHours += (size.vcpu * billedSeconds) / 3600;
    gbHours += (size.memoryGB * billedSeconds) / 3600;
    usd += cost;
    byPod.push({
      namespace: r.spec.namespace,
      pod: r.spec.pod,
      profile: r.spec.profile,
      size: capacityProvisioned(size),
      capacityProvider: capacity,
      ...(r.spec.ecsCluster !== undefined ? { ecsCluster: r.spec.ecsCluster } : {}),
      start: r.spec.start,
      ...(r.spec.end ? { end: r.spec.end } : {}),
      ...(r.spec.stoppedReason ? { stoppedReason: r.spec.stoppedReason } : {}),
      billedSeconds,
      usd: cost,
    });
  }
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    pods: byPod.length,
    vcpuHours,
    gbHours,
    usd,
    byCapacityProvider,
    byPod,
    source: `${d.source.prices} (retrieved ${d.source.retrieved}; ${d.region}, Linux/x86 On-Demand); Fargate Spot: ${d.source.spotPrices ?? 'data/fargate.json'}`,
  };
}

/** The Fargate bill through any Client. */
export async function fargateCostFromApi(client: Client, fromMs: number, toMs: number, nowMs: number): Promise<FargateCostReport> {
  const records = (await client.list<FargateUsage>(EksKinds.FargateUsage)).items;
  return fargateCostReport(records, fromMs, toMs, nowMs);
}

/** The route `GET /billing/v1/fargate`, with `berth cost`'s window parameters (`since`, or `from` and `to`). */
export function fargateCostRoute(client: Client, clock: Clock): FastifyPluginAsync {
  return async (app) => {
    app.get('/billing/v1/fargate', async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      const now = clock.now();
      try {
        const to = q.to ? parseTimeArgument(q.to, now) : now + 1;
        const from = q.since ? parseTimeArgument(q.since, now) : q.from ? parseTimeArgument(q.from, now) : 0;
        if (from > to) throw new TimeArgumentError(`the window starts (${new Date(from).toISOString()}) after it ends (${new Date(to).toISOString()})`);
        return await fargateCostFromApi(client, from, to, Math.min(now, to));
      } catch (e) {
        if (e instanceof TimeArgumentError) return reply.code(400).send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: 'BadRequest', code: 400 });
        throw e;
      }
    });
  };
}
