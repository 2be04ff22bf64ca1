/**
 * What `berth simulate` asks of the simulated AWS account (pkg/cloud): the bill for a window
 * (`costReport`, the shape `berth cost -o json` prints), the two disruptions events cause
 * (`interruptSpot`, `failInstance`), and a count of the Spot interruptions EC2 announced —
 * whether an event asked for them or the Spot market decided them.
 */
import { Kinds, type Client } from '../client/client.js';
import { costReport, failInstance, interruptSpot, type CostReport, type Instance } from '../cloud/index.js';
import type { Manager } from '../runtime/manager.js';

export type { CostReport } from '../cloud/index.js';

/** The account as the simulation drives it. */
export interface SimulatedAccount {
  /** The bill for [fromMs, toMs) of cluster time; `toMs` must not be after now. */
  costReport(fromMs: number, toMs: number): Promise<CostReport>;
  /** Sends interruption notices to `fraction` of the running Spot Instances; returns their ids. */
  interruptSpot(fraction: number, random: () => number): Promise<string[]>;
  /** Fails `count` running instances chosen with `random`; returns their ids. */
  failInstance(count: number, random: () => number): Promise<string[]>;
  /** Spot interruption notices EC2 has given so far (one per instance and notice). */
  interruptions(): number;
}

/** The account of a control plane: its client for actions and the bill, its Instance informer for interruptions. */
export function simulatedAccount(mgr: Manager, client: Client): SimulatedAccount {
  const notices = new Set<string>();
  const seen = (i: Instance): void => {
    const n = i.status?.spotInterruption;
    if (n) notices.add(`${i.metadata.name}@${n.noticeTime}`);
  };
  mgr.informer<Instance>(Kinds.Instance).on({ add: seen, update: (_, i) => seen(i) });
  return {
    costReport: (fromMs, toMs) => costReport(client, fromMs, toMs),
    interruptSpot: (fraction, random) => interruptSpot(client, fraction, random),
    failInstance: (count, random) => failInstance(client, count, random),
    interruptions: () => notices.size,
  };
}
