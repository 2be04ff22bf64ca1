/**
 * Where an Auto Scaling group launches and which instances it terminates, as pure functions.
 *
 * Launch: each new instance goes to the group's zone with the fewest instances, ties broken by the
 * order of `availabilityZones`, so a group stays balanced across its zones (EC2 Auto Scaling
 * "balances capacity across Availability Zones").
 *
 * Scale-in follows the Default termination policy (EC2 Auto Scaling User Guide, "Configure
 * termination policies", [19] in AWS-SEMANTICS.md), one instance at a time:
 *   1. the zone with the most instances (instances in a zone the group no longer uses go first;
 *      among equal zones, the one listed last);
 *   2. in it, an instance from an outdated launch template (here: a different instance type,
 *      labels or taints than the template now has);
 *   3. then the instance closest to its next billing hour;
 *   4. then — where AWS picks at random — the newest instance, then the highest id, so a
 *      simulation repeats exactly.
 */

const HOUR_MS = 3_600_000;

/** What the planner needs to know of a group member. */
export interface Member {
  instanceId: string;
  zone: string;
  /** When it last launched, ms of cluster time; NaN if it has not yet (then it counts as launched now). */
  launchTime: number;
  /** True if it differs from the group's current launch template. */
  outdated: boolean;
  /**
   * For the AllocationStrategy termination policy: how strongly the allocation strategy would
   * drop it (higher goes first): the override's position under `prioritized`, the price under
   * `lowest-price`. Default 0.
   */
  allocationRank?: number;
}

/** Zones for `n` new instances, given the zones of the members that count; ties go to the earlier zone. */
export function launchZones(zones: readonly string[], members: readonly Pick<Member, 'zone'>[], n: number): string[] {
  const counts = new Map<string, number>(zones.map((z) => [z, 0]));
  for (const m of members) if (counts.has(m.zone)) counts.set(m.zone, counts.get(m.zone)! + 1);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let best = zones[0]!;
    for (const z of zones) if (counts.get(z)! < counts.get(best)!) best = z;
    out.push(best);
    counts.set(best, counts.get(best)! + 1);
  }
  return out;
}

/** ms from `now` to the end of the instance's current billing hour (1 h after launch, 2 h after, …). */
export function msToNextBillingHour(launchTime: number, now: number): number {
  const launched = Number.isNaN(launchTime) ? now : launchTime;
  const ran = Math.max(0, now - launched);
  return HOUR_MS - (ran % HOUR_MS);
}

/**
 * Comparators of the termination policies (negative: `a` goes first). Each runs after the zone is
 * chosen, in the order the group lists them; the Default policy's steps follow them
 * ([19] in AWS-SEMANTICS.md).
 */
const POLICY_ORDER: Record<string, (a: Member, b: Member, now: number) => number> = {
  OldestLaunchTemplate: (a, b) => Number(b.outdated) - Number(a.outdated),
  OldestInstance: (a, b, now) => launchedAt(a, now) - launchedAt(b, now),
  NewestInstance: (a, b, now) => launchedAt(b, now) - launchedAt(a, now),
  ClosestToNextInstanceHour: (a, b, now) => msToNextBillingHour(a.launchTime, now) - msToNextBillingHour(b.launchTime, now),
  AllocationStrategy: (a, b) => (b.allocationRank ?? 0) - (a.allocationRank ?? 0),
  Default: () => 0,
};

/**
 * The `n` members to terminate, in order: the zone with the most instances first, then in it by
 * `policies` in order (default `['Default']`), then the Default policy's own steps (see the module
 * comment). Protected instances must be left out by the caller.
 */
export function terminationOrder(zones: readonly string[], members: readonly Member[], n: number, now: number, policies: readonly string[] = ['Default']): Member[] {
  const left = [...members];
  const out: Member[] = [];
  while (out.length < n && left.length) {
    // 1. The zone to shrink: a zone outside the group first, then the most instances, then the later zone.
    const counts = new Map<string, number>();
    for (const m of left) counts.set(m.zone, (counts.get(m.zone) ?? 0) + 1);
    const score = (z: string): number[] => (zones.includes(z) ? [0, counts.get(z)!, zones.indexOf(z)] : [1, counts.get(z)!, 0]);
    let zone = left[0]!.zone;
    for (const z of counts.keys()) if (compareTuples(score(z), score(zone)) > 0) zone = z;
    const candidates = left.filter((m) => m.zone === zone);
    // 2–4. Outdated first, then closest to the billing hour, then newest, then highest id.
    candidates.sort(
      (a, b) =>
        policies.reduce((r, p) => r || (POLICY_ORDER[p]?.(a, b, now) ?? 0), 0) ||
        Number(b.outdated) - Number(a.outdated) ||
        msToNextBillingHour(a.launchTime, now) - msToNextBillingHour(b.launchTime, now) ||
        launchedAt(b, now) - launchedAt(a, now) ||
        (a.instanceId < b.instanceId ? 1 : a.instanceId > b.instanceId ? -1 : 0),
    );
    const victim = candidates[0]!;
    out.push(victim);
    left.splice(left.indexOf(victim), 1);
  }
  return out;
}

function compareTuples(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function launchedAt(m: Member, now: number): number {
  return Number.isNaN(m.launchTime) ? now : m.launchTime;
}
