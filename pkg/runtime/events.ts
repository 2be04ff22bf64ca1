/**
 * Event recording (core/v1 Event), as client-go's EventRecorder and its EventCorrelator
 * (k8s.io/client-go/tools/record/events_cache.go, design: kubernetes docs/design/event_compression.md)
 * do it, per recorder (one component, one host):
 * - repeats (same object, type, reason and message) are folded into `count` and `lastTimestamp`
 *   of one Event (EventLogger);
 * - similar events (same object, type and reason, different messages): from the 10th distinct
 *   message within 10 minutes on, they are folded into one Event whose message is
 *   `(combined from similar events): <latest message>` (EventAggregator, defaultAggregateMaxEvents
 *   10, defaultAggregateIntervalInSeconds 600);
 * - spam filter: each object may get a burst of 25 events from this recorder, then one more every
 *   5 minutes; the rest are dropped (EventSourceObjectSpamFilter, defaultSpamBurst 25,
 *   defaultSpamQPS 1/300).
 * So a ReplicaSet creating 10,000 pods records 25 Events about itself, not 10,000, as on Kubernetes.
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
/** Distinct messages of similar events before they are aggregated (client-go defaultAggregateMaxEvents). */
export const AGGREGATE_MAX_EVENTS = 10;
/** Window of the aggregation, ms (client-go defaultAggregateIntervalInSeconds, 600 s). */
export const AGGREGATE_INTERVAL_MS = 600_000;
/** Events an object may get at once from one recorder (client-go defaultSpamBurst). */
export const SPAM_BURST = 25;
/** Events per second an object's allowance refills at (client-go defaultSpamQPS, one per 300 s). */
export const SPAM_QPS = 1 / 300;

/** Similar events of one object, type and reason: their distinct messages and when the last came (ms). */
interface Similar {
  messages: Set<string>;
  last: number;
}

/** One object's spam-filter token bucket: tokens left and when they were counted (ms). */
interface Allowance {
  tokens: number;
  at: number;
}

/** Sets `key` in an insertion-ordered map used as an LRU of `MAX_SEEN` entries (client-go's lru.New(4096)). */
function remember<V>(m: Map<string, V>, key: string, v: V): void {
  m.delete(key);
  if (m.size >= MAX_SEEN) m.delete(m.keys().next().value!);
  m.set(key, v);
}

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private readonly similar = new Map<string, Similar>();
  private readonly allowances = new Map<string, Allowance>();
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
    const at = this.clock.now();
    const objectKey = `${obj.kind}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}|${obj.metadata.uid ?? ''}|${obj.apiVersion}`;
    // EventAggregator: the 10th distinct message of similar events, and every one after, becomes the aggregate.
    const similarKey = `${objectKey}|${type}|${reason}`;
    let sim = this.similar.get(similarKey);
    if (!sim || at - sim.last > AGGREGATE_INTERVAL_MS) sim = { messages: new Set(), last: at };
    sim.messages.add(message);
    sim.last = at;
    remember(this.similar, similarKey, sim);
    let key = `${objectKey}|${type}|${reason}|${message}`;
    if (sim.messages.size >= AGGREGATE_MAX_EVENTS) {
      // Keep the set from growing past the threshold (client-go: record.localKeys.PopAny()).
      sim.messages.delete(sim.messages.values().next().value!);
      message = `(combined from similar events): ${message}`;
      key = similarKey;
    }
    // EventSourceObjectSpamFilter: a token bucket per object; an event without a token is dropped.
    // As in client-go, a dropped repeat still counts towards the Event's `count`.
    const allowed = this.allow(objectKey, at);
    const now = rfc3339(at);
    const prev = this.seen.get(key);
    if (prev) {
      prev.count++;
      if (!allowed) return;
      try {
        await this.client.patch({ apiVersion: 'v1', kind: 'Event' }, prev.name, prev.namespace, 'merge', { count: prev.count, lastTimestamp: now, message });
        return;
      } catch (e) {
        if (!(e instanceof StatusError && e.reason === 'NotFound')) throw e;
        this.seen.delete(key);
      }
    }
    if (!allowed) return;
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
    // Remembered before the create returns, so a repeat issued meanwhile patches this Event.
    remember(this.seen, key, { name, namespace, count: 1, first: now });
    try {
      await this.client.create(ev);
    } catch (e) {
      this.seen.delete(key);
      throw e;
    }
  }

  /** Takes one of `objectKey`'s spam-filter tokens at `at` (ms); false when it has none. */
  private allow(objectKey: string, at: number): boolean {
    let a = this.allowances.get(objectKey);
    if (!a) a = { tokens: SPAM_BURST, at };
    a.tokens = Math.min(SPAM_BURST, a.tokens + (Math.max(0, at - a.at) * SPAM_QPS) / 1000);
    a.at = at;
    remember(this.allowances, objectKey, a);
    if (a.tokens < 1) return false;
    a.tokens -= 1;
    return true;
  }
}
