/**
 * What `berth simulate` asks of the simulated AWS account (pkg/cloud): the bill for a window
 * (`costReport`, the shape `berth cost -o json` prints), the two disruptions events cause
 * (`interruptSpot`, `failInstance`; `interruptFargateSpot` for Fargate Spot tasks), and a count of
 * the Spot interruptions EC2 and Fargate announced — whether an event asked for them or the Spot
 * model decided them.
 */
import { Kinds, type Client } from '../client/client.js';
import { costReport, failInstance, interruptSpot, type CostReport, type Instance } from '../cloud/index.js';
import type { Pod } from '../api/types.js';
import type { FargateScheduler } from '../eks/fargate-controller.js';
import type { Manager } from '../runtime/manager.js';

export type { CostReport } from '../cloud/index.js';

/** The account as the simulation drives it. */
export interface SimulatedAccount {
  /** The bill for [fromMs, toMs) of cluster time; `toMs` must not be after now. */
  costReport(fromMs: number, toMs: number): Promise<CostReport>;
  /** Sends interruption notices to `fraction` of the running Spot Instances; returns their ids. */
  interruptSpot(fraction: number, random: () => number): Promise<string[]>;
  /** Sends the two-minute warning to `fraction` of the running Fargate Spot tasks (rounded), chosen with `random`; returns their pods (`namespace/name`). */
  interruptFargateSpot(fraction: number, random: () => number): Promise<string[]>;
  /** Fails `count` running instances chosen with `random`; returns their ids. */
  failInstance(count: number, random: () => number): Promise<string[]>;
  /** Spot interruption notices EC2 and Fargate have given so far (one per instance or task and notice). */
  interruptions(): number;
}

/**
 * The account of a control plane: its client for actions and the bill, its Instance informer for
 * EC2's interruptions, and (when the EKS component runs) the fargate-scheduler for Fargate Spot's,
 * counted from the pods' `DisruptionTarget: SpotInterruption` condition.
 */
export function simulatedAccount(mgr: Manager, client: Client, fargate?: FargateScheduler): SimulatedAccount {
  const notices = new Set<string>();
  const seen = (i: Instance): void => {
    const n = i.status?.spotInterruption;
    if (n) notices.add(`${i.metadata.name}@${n.noticeTime}`);
  };
  mgr.informer<Instance>(Kinds.Instance).on({ add: seen, update: (_, i) => seen(i) });
  if (fargate) {
    const warned = (p: Pod): void => {
      const c = p.status?.conditions?.find((x) => x.type === 'DisruptionTarget' && x.reason === 'SpotInterruption' && x.status === 'True');
      if (c) notices.add(`${p.metadata.uid}@fargate-spot`);
    };
    mgr.informer<Pod>(Kinds.Pod).on({ update: (_, p) => warned(p) });
  }
  return {
    costReport: (fromMs, toMs) => costReport(client, fromMs, toMs),
    interruptSpot: (fraction, random) => interruptSpot(client, fraction, random),
    interruptFargateSpot: async (fraction, random) => {
      if (!fargate) return [];
      const pool = fargate.spotTasks();
      const picked: string[] = [];
      for (let n = Math.round(pool.length * fraction); n > 0 && pool.length; n--) picked.push(pool.splice(Math.floor(random() * pool.length), 1)[0]!);
      const done: string[] = [];
      for (const key of picked.sort()) if (await fargate.interrupt(key)) done.push(key);
      return done;
    },
    failInstance: (count, random) => failInstance(client, count, random),
    interruptions: () => notices.size,
  };
}
