/**
 * Event recording (core/v1 Event), as client-go's EventRecorder does it: one Event per object,
 * reason and message, with repeats folded into `count` and `lastTimestamp` instead of new objects.
 * Writing never blocks or fails the caller: events are best-effort.
 */
import { StatusError } from '../api/errors.js';
import { rfc3339 } from '../clock/clock.js';
import type { Clock } from '../clock/clock.js';
import type { Event, KubeObject } from '../api/types.js';
import type { Client } from '../client/client.js';
import type { Logger } from './logger.js';

interface Seen {
  name: string;
  namespace: string;
  count: number;
  first: string;
}

const MAX_SEEN = 4096;

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private seq = 0;

  constructor(
    private readonly client: Client,
    private readonly clock: Clock,
    readonly component: string,
    private readonly log: Logger,
    private readonly host?: string,
  ) {}

  /** Records `type` (Normal or Warning) `reason` with `message` about `obj`. */
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    void this.write(obj, type, reason, message).catch((e: unknown) => this.log.debug({ err: String(e), reason }, 'event not recorded'));
  }

  /** Like `event`, awaited (tests and places that want the event stored before moving on). */
  async write(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace || 'default';
    const key = `${obj.metadata.uid ?? obj.metadata.name}|${type}|${reason}|${message}`;
    const now = rfc3339(this.clock.now());
    const prev = this.seen.get(key);
    if (prev) {
      prev.count++;
      try {
        await this.client.patch({ apiVersion: 'v1', kind: 'Event' }, prev.name, prev.namespace, 'merge', { count: prev.count, lastTimestamp: now });
        return;
      } catch (e) {
        if (!(e instanceof StatusError && e.reason === 'NotFound')) throw e;
        this.seen.delete(key);
      }
    }
    const name = `${obj.metadata.name}.${(this.clock.now() * 1000 + (this.seq++ % 1000)).toString(16)}`;
    const ev: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        kind: obj.kind!,
        ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
        name: obj.metadata.name!,
        ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
        apiVersion: obj.apiVersion!,
        ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}),
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      eventTime: null,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      reportingComponent: this.component,
      reportingInstance: this.host ?? '',
    };
    await this.client.create(ev);
    if (this.seen.size >= MAX_SEEN) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, { name, namespace, count: 1, first: now });
  }
}
