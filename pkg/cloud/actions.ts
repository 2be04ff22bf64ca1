/**
 * What AWS can do to your instances, as actions through the API (what `berth simulate`'s
 * `interrupt-spot` and `fail-instance` events and `berth ec2 send-spot-interruption` use): they
 * mark chosen instances with an annotation the simulated EC2 acts on, as AWS Fault Injection
 * Service's `aws:ec2:send-spot-instance-interruptions` does for Spot, and as a hardware failure
 * does for any instance.
 */
import type { Client } from '../client/client.js';
import { Kinds } from '../client/client.js';
import { isNotFound } from '../api/errors.js';
import { FAIL_INSTANCE_ANNOTATION, SEND_SPOT_INTERRUPTION_ANNOTATION, type Instance } from './types.js';

/** `k` of `items` chosen by `random` (a partial Fisher–Yates shuffle), in the order drawn. Deterministic for a seeded `random`. */
export function choose<T>(items: readonly T[], k: number, random: () => number): T[] {
  const a = [...items];
  const n = Math.min(k, a.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.min(a.length - i - 1, Math.floor(random() * (a.length - i)));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}

async function mark(client: Client, ids: string[], annotation: string, value: string): Promise<string[]> {
  const done: string[] = [];
  for (const id of ids) {
    try {
      await client.patch(Kinds.Instance, id, undefined, 'merge', { metadata: { annotations: { [annotation]: value } } });
      done.push(id);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return done;
}

/** Running instances, by id (so a seeded choice repeats whatever order the API lists them in). */
async function running(client: Client, filter: (i: Instance) => boolean): Promise<Instance[]> {
  const all = (await client.list<Instance>(Kinds.Instance)).items;
  return all.filter((i) => i.status?.state === 'running' && !i.metadata.deletionTimestamp && i.spec.state !== 'terminated' && filter(i)).sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
}

/**
 * Sends Spot interruption notices to `fraction` (0–1, rounded to the nearest whole instance) of
 * the running Spot Instances that have none yet, chosen with `random`. Each gets the two-minute
 * notice at once and is interrupted at its deadline. Returns the instance ids. Throws RangeError
 * for a fraction outside [0, 1].
 */
export async function interruptSpot(client: Client, fraction: number, random: () => number): Promise<string[]> {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction must be between 0 and 1, got ${fraction}`);
  const spot = await running(client, (i) => i.spec.instanceMarketOptions?.marketType === 'spot' && !i.status?.spotInterruption && i.metadata.annotations?.[SEND_SPOT_INTERRUPTION_ANNOTATION] === undefined);
  const picked = choose(spot, Math.round(fraction * spot.length), random);
  return mark(client, picked.map((i) => i.metadata.name!), SEND_SPOT_INTERRUPTION_ANNOTATION, 'interrupt-spot');
}

/**
 * Makes `count` running instances (any market) fail, chosen with `random`: EC2 shuts each down
 * and terminates it (StateReason `Server.InternalError`); an Auto Scaling group replaces it.
 * Returns the instance ids. Throws RangeError for a negative or fractional count.
 */
export async function failInstance(client: Client, count: number, random: () => number): Promise<string[]> {
  if (!(Number.isInteger(count) && count >= 0)) throw new RangeError(`count must be a whole number ≥ 0, got ${count}`);
  const live = await running(client, (i) => i.metadata.annotations?.[FAIL_INSTANCE_ANNOTATION] === undefined);
  const picked = choose(live, count, random);
  return mark(client, picked.map((i) => i.metadata.name!), FAIL_INSTANCE_ANNOTATION, 'fail-instance');
}
