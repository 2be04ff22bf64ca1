/**
 * Writing the ledger: one UsageRecord per billable interval, opened when the interval begins and
 * closed when it ends, both at the exact cluster time of the transition. Writes are idempotent —
 * a record's name is its resource id and start time, and closing an already closed record writes
 * nothing — so a controller may repeat them after a crash or a conflict, and must write the
 * record before the instance status that reports the transition.
 */
import { isAlreadyExists, isNotFound } from '../api/errors.js';
import { rfc3339Micro } from '../clock/clock.js';
import type { Client } from '../client/client.js';
import type { Informer } from '../client/informer.js';
import type { Manager } from '../runtime/manager.js';
import { BillingKinds, RECORD_OPEN_LABEL, RECORD_RESOURCE_LABEL, type EndReason, type UsageRecord, type UsageRecordSpec } from './billing-types.js';
import { LocalView } from './view.js';

/** The name of the record of the interval of `resourceId` that began at `startMs`. */
export function usageRecordName(resourceId: string, startMs: number): string {
  return `${resourceId}-${startMs}`;
}

const RESOURCE_INDEX = RECORD_RESOURCE_LABEL;

export class Ledger {
  readonly records: LocalView<UsageRecord>;

  constructor(mgr: Manager) {
    const inf: Informer<UsageRecord> = mgr.informer<UsageRecord>(BillingKinds.UsageRecord);
    // Shared informers keep the first definition of an index name.
    inf.cache.addIndex(RESOURCE_INDEX, (r) => {
      const id = r.metadata.labels?.[RECORD_RESOURCE_LABEL];
      return id ? [id] : [];
    });
    this.records = new LocalView(inf);
  }

  /** The open records of a resource (normally at most one). */
  open(resourceId: string): UsageRecord[] {
    return this.records.list((r) => r.spec.resourceId === resourceId && r.spec.endMs === undefined, { name: RESOURCE_INDEX, value: resourceId });
  }

  /** Opens the interval (idempotent). `spec` without `start`, which is derived from `startMs`. */
  async begin(client: Client, spec: Omit<UsageRecordSpec, 'start'>): Promise<void> {
    const name = usageRecordName(spec.resourceId, spec.startMs);
    if (this.records.get(name)) return;
    const rec: UsageRecord = {
      apiVersion: BillingKinds.UsageRecord.apiVersion,
      kind: BillingKinds.UsageRecord.kind,
      metadata: { name, labels: { [RECORD_RESOURCE_LABEL]: spec.resourceId, [RECORD_OPEN_LABEL]: 'true' } },
      spec: { ...spec, start: rfc3339Micro(spec.startMs) },
    };
    try {
      this.records.wrote(await client.create(rec));
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }

  /** Closes every open interval of the resource that began at or before `endMs` (idempotent). */
  async end(client: Client, resourceId: string, endMs: number, reason: EndReason): Promise<void> {
    for (const r of this.open(resourceId)) {
      if (r.spec.startMs > endMs) continue;
      try {
        const out = await client.modify<UsageRecord>(BillingKinds.UsageRecord, r.metadata.name!, undefined, (o) => {
          if (o.spec.endMs !== undefined) return undefined;
          o.spec = { ...o.spec, endMs, end: rfc3339Micro(endMs), endReason: reason };
          const labels = { ...(o.metadata.labels ?? {}) };
          delete labels[RECORD_OPEN_LABEL];
          o.metadata.labels = labels;
          return o;
        });
        if (out) this.records.wrote(out);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }
}
