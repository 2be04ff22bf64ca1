/**
 * The SQS data plane: every queue's messages, kept durably in the storage Backend, one key per
 * message (`/berth/sqs/messages/<queue>/<sequence>`), with an in-memory index rebuilt at start.
 * Each send, receive (per message), delete and visibility change is one write; nothing rewrites
 * a whole queue. An acknowledged send has been committed before it is answered, so a restart
 * (even kill -9 on SQLite) loses no acknowledged message. A receive from a standard queue looks
 * only at visible messages (VisibilityIndex), so messages in flight cost it nothing.
 * (test/bench/sqs.ts measures both.)
 *
 * A message's life, all on the injected clock:
 *
 * ```
 *  send ──(DelaySeconds)──▶ visible ──receive──▶ in flight ──(VisibilityTimeout)──▶ visible …
 *                              │                     │
 *                              │ receives ≥ maxReceiveCount at the next receive:
 *                              └────────────────▶ dead-letter queue
 *                                                    └──delete──▶ gone
 *  (any state) ──(MessageRetentionPeriod after enqueue)──▶ gone
 * ```
 *
 * FIFO queues deliver each message group in order, one batch in flight per group (a group is
 * locked while any of its messages is in flight), and drop a send whose deduplication id was
 * seen in the last 5 minutes (the id is the body's SHA-256 with content-based deduplication).
 * Deleted FIFO messages stay as tombstones until their 5-minute window ends, so deduplication
 * survives a restart too.
 *
 * Semantics are from the Amazon SQS Developer Guide and API reference ([27]–[32] in
 * AWS-SEMANTICS.md).
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../../clock/clock.js';
import type { Backend } from '../../storage/types.js';
import { uuid } from '../protocol/arn.js';
import { AwsError } from '../protocol/errors.js';
import { md5Hex, md5OfAttributes as attributesMd5, messageSize, type MessageAttributeValue } from './md5.js';
import { queueArn, resolveConfig, type QueueConfig, type QueueSpec } from './types.js';

/** The storage key prefix of messages. */
export const MESSAGE_PREFIX = '/berth/sqs/messages/';

/** FIFO deduplication interval: 5 minutes (SQS Developer Guide, "Exactly-once processing"). */
export const DEDUP_WINDOW_MS = 5 * 60 * 1000;
/** The longest a received message can stay hidden, counted from its receive: 12 hours (SQS quotas). */
export const MAX_VISIBILITY_MS = 43_200 * 1000;

/** A message as stored (JSON under its key) and indexed. */
export interface StoredMessage {
  id: string;
  seq: number;
  body: string;
  attrs?: Record<string, MessageAttributeValue>;
  /** Message system attributes (AWSTraceHeader). */
  sys?: Record<string, MessageAttributeValue>;
  /** SentTimestamp, ms. */
  sent: number;
  /** When retention counts from, ms: the first enqueue (standard), or the move into this queue (FIFO). */
  enqueued: number;
  /** Visible from this time on, ms (delay, then visibility timeouts). */
  visibleAt: number;
  receives: number;
  firstReceive?: number;
  /**
   * When the latest receive happened, ms: a message's visibility may be extended to at most
   * 12 hours (43,200 s) from it (ChangeMessageVisibility API reference).
   */
  received?: number;
  group?: string;
  dedup?: string;
  sender: string;
  /** The nonce of the latest receipt handle. */
  receipt?: string;
  /** FIFO tombstone kept for deduplication until `sent + 5 min`. */
  deleted?: boolean;
  /** The queue ARN a dead-lettered message came from. */
  dlqSource?: string;
}

/** A received message: the stored one with its new receipt handle. */
export interface ReceivedMessage extends StoredMessage {
  receiptHandle: string;
}

export interface SendInput {
  body: string;
  attrs?: Record<string, MessageAttributeValue>;
  sys?: Record<string, MessageAttributeValue>;
  /** Per-message delay in seconds (standard queues only). */
  delaySeconds?: number;
  groupId?: string;
  dedupId?: string;
  sender?: string;
}

export interface SendResult {
  id: string;
  md5OfBody: string;
  md5OfAttributes?: string;
  md5OfSystemAttributes?: string;
  /** FIFO: the 20-digit sequence number. */
  sequenceNumber?: string;
}

export interface ReceiveOptions {
  /** 1–10 (default 1). */
  max?: number;
  /** Seconds; the queue's VisibilityTimeout when absent. */
  visibilityTimeout?: number;
  /** Long polling, seconds 0–20; the queue's ReceiveMessageWaitTimeSeconds when absent. */
  waitSeconds?: number;
  signal?: AbortSignal;
}

/** A DLQ redrive (StartMessageMoveTask). */
export interface MoveTask {
  handle: string;
  source: string;
  destination?: string;
  rate?: number;
  status: 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';
  moved: number;
  toMove: number;
  started: number;
  failureReason?: string;
  cancel?: () => void;
}

/** Queue counters as GetQueueAttributes reports them. */
export interface QueueCounts {
  visible: number;
  notVisible: number;
  delayed: number;
}

/**
 * Which of a queue's messages can be received, without scanning the queue: the ones visible
 * when last seen, in the order they became so, and a min-heap of the times hidden ones (in
 * flight or delayed) become visible. Heap entries go stale when a message is deleted or its
 * visibility changes; they are checked against the message when they come due.
 */
export class VisibilityIndex {
  /** Sequence numbers of messages visible when last seen. */
  readonly visible = new Set<number>();
  private at: number[] = [];
  private seqs: number[] = [];

  /** Entries in the heap (stale ones included). */
  get hiddenEntries(): number {
    return this.at.length;
  }

  show(seq: number): void {
    this.visible.add(seq);
  }

  /** Hides a message until `at` (ms). */
  hide(seq: number, at: number): void {
    this.visible.delete(seq);
    const a = this.at;
    const s = this.seqs;
    let i = a.length;
    a.push(at);
    s.push(seq);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= at) break;
      a[i] = a[p]!;
      s[i] = s[p]!;
      i = p;
    }
    a[i] = at;
    s[i] = seq;
  }

  /** Forgets a message (deleted or moved); its heap entries go stale. */
  drop(seq: number): void {
    this.visible.delete(seq);
  }

  /** When the earliest hidden message may become visible, ms (Infinity when none). */
  nextAt(): number {
    return this.at.length ? this.at[0]! : Infinity;
  }

  /** Moves the messages due by `now` to the visible set. */
  promote(now: number, msgs: Map<number, StoredMessage>): void {
    while (this.at.length && this.at[0]! <= now) {
      const at = this.at[0]!;
      const seq = this.seqs[0]!;
      this.pop();
      const m = msgs.get(seq);
      if (m && !m.deleted && m.visibleAt === at) this.visible.add(seq);
    }
  }

  private pop(): void {
    const a = this.at;
    const s = this.seqs;
    const lastAt = a.pop()!;
    const lastSeq = s.pop()!;
    const n = a.length;
    if (!n) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && a[c + 1]! < a[c]!) c++;
      if (a[c]! >= lastAt) break;
      a[i] = a[c]!;
      s[i] = s[c]!;
      i = c;
    }
    a[i] = lastAt;
    s[i] = lastSeq;
  }

  clear(): void {
    this.visible.clear();
    this.at = [];
    this.seqs = [];
  }
}

class QueueState {
  readonly msgs = new Map<number, StoredMessage>();
  readonly index = new VisibilityIndex();
  /** FIFO: dedup key → the message it admitted. */
  readonly dedup = new Map<string, { expires: number; id: string; seq: number }>();
  readonly waiters = new Set<() => void>();
  lastPurge = -Infinity;
  expiryAt = Infinity;
  cancelExpiry?: () => void;
  removed = false;
  constructor(
    readonly name: string,
    public spec: QueueSpec,
    public config: QueueConfig,
    public created: number,
    public lastModified: number,
  ) {}
}

export const queueDoesNotExist = (): AwsError => new AwsError('QueueDoesNotExist', 'The specified queue does not exist.', 400, { queryCode: 'AWS.SimpleQueueService.NonExistentQueue' });
const receiptInvalid = (h: string): AwsError => new AwsError('ReceiptHandleIsInvalid', `The input receipt handle "${h}" is not a valid receipt handle.`, 400, { queryCode: 'ReceiptHandleIsInvalid' });
export const invalidParameterValue = (message: string): AwsError => new AwsError('InvalidParameterValue', message, 400, { queryCode: 'InvalidParameterValue' });
export const missingParameter = (name: string): AwsError => new AwsError('MissingParameter', `The request must contain the parameter ${name}.`, 400, { queryCode: 'MissingParameter' });

// Characters SQS allows in a body (SendMessage API reference): #x9 #xA #xD #x20–#xD7FF #xE000–#xFFFD #x10000–#x10FFFF.
// eslint-disable-next-line no-control-regex
const INVALID_CHARS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export interface SqsEngineOptions {
  backend: Backend;
  clock: Clock;
}

export class SqsEngine {
  private readonly backend: Backend;
  private readonly clock: Clock;
  private readonly queues = new Map<string, QueueState>();
  private readonly tasks: MoveTask[] = [];
  private seq = 0;
  private closed = false;

  constructor(opts: SqsEngineOptions) {
    this.backend = opts.backend;
    this.clock = opts.clock;
  }

  /**
   * Loads the queues and their stored messages (call once, before serving). Messages of queues
   * that no longer exist are deleted.
   */
  async load(queues: { name: string; spec: QueueSpec; created: number }[]): Promise<void> {
    for (const q of queues) this.upsertQueue(q.name, q.spec, q.created);
    let startAfter: string | undefined;
    const orphans: string[] = [];
    for (;;) {
      const page = await this.backend.list(MESSAGE_PREFIX, { limit: 1000, ...(startAfter ? { startAfter } : {}) });
      for (const kv of page.items) {
        const rest = kv.key.slice(MESSAGE_PREFIX.length);
        const slash = rest.lastIndexOf('/');
        const name = rest.slice(0, slash);
        const m = JSON.parse(kv.value) as StoredMessage;
        m.seq = Number(rest.slice(slash + 1));
        this.seq = Math.max(this.seq, m.seq);
        const q = this.queues.get(name);
        if (!q) {
          orphans.push(kv.key);
          continue;
        }
        q.msgs.set(m.seq, m);
        this.track(q, m);
        if (m.dedup !== undefined) q.dedup.set(this.dedupKey(q, m.group, m.dedup), { expires: m.sent + DEDUP_WINDOW_MS, id: m.id, seq: m.seq });
      }
      if (!page.more || !page.items.length) break;
      startAfter = page.items.at(-1)!.key;
    }
    for (const k of orphans) await this.backend.delete(k).catch(() => undefined);
    for (const q of this.queues.values()) this.scheduleExpiry(q, true);
  }

  /** Adds a queue or changes its attributes (from its Queue object). */
  upsertQueue(name: string, spec: QueueSpec, created: number): void {
    const now = this.clock.now();
    const q = this.queues.get(name);
    if (!q) {
      this.queues.set(name, new QueueState(name, spec, resolveConfig(name, spec), created, now));
      return;
    }
    if (JSON.stringify(q.spec) !== JSON.stringify(spec)) q.lastModified = now;
    q.spec = spec;
    q.config = resolveConfig(name, spec);
    this.scheduleExpiry(q, true);
    this.notify(q);
  }

  /** Removes a queue and deletes its messages; long polls on it return empty. */
  async removeQueue(name: string): Promise<void> {
    const q = this.queues.get(name);
    if (!q) return;
    this.queues.delete(name);
    q.removed = true;
    q.cancelExpiry?.();
    this.notify(q);
    const keys = [...q.msgs.keys()].map((s) => this.key(name, s));
    q.msgs.clear();
    q.index.clear();
    for (const k of keys) await this.backend.delete(k).catch(() => undefined);
  }

  has(name: string): boolean {
    return this.queues.has(name);
  }

  /** Queue names, sorted. */
  names(): string[] {
    return [...this.queues.keys()].sort();
  }

  /** The queue's spec, created and last-modified times (ms); throws QueueDoesNotExist. */
  info(name: string): { spec: QueueSpec; config: QueueConfig; created: number; lastModified: number } {
    const q = this.must(name);
    return { spec: q.spec, config: q.config, created: q.created, lastModified: q.lastModified };
  }

  /** Queues whose redrive policy names `dlq` as their dead-letter queue. */
  deadLetterSources(dlq: string): string[] {
    return this.names().filter((n) => this.queues.get(n)!.config.redrive?.queue === dlq);
  }

  /** Visible, in flight and delayed message counts now. */
  counts(name: string): QueueCounts {
    const q = this.must(name);
    const now = this.clock.now();
    const c: QueueCounts = { visible: 0, notVisible: 0, delayed: 0 };
    for (const m of q.msgs.values()) {
      if (m.deleted) continue;
      if (m.visibleAt <= now) c.visible++;
      else if (m.receives > 0) c.notVisible++;
      else c.delayed++;
    }
    return c;
  }

  /** Counts, or undefined for an unknown queue (for tables). */
  tryCounts(name: string): QueueCounts | undefined {
    return this.queues.has(name) ? this.counts(name) : undefined;
  }

  /**
   * Validates and stores one message; resolves once it is durable. Throws AwsError
   * (QueueDoesNotExist, MissingParameter, InvalidParameterValue, InvalidMessageContents).
   */
  async send(name: string, input: SendInput): Promise<SendResult> {
    const q = this.must(name);
    const { m, result, duplicate } = this.prepare(q, input);
    if (duplicate) return result;
    await this.backend.create(this.key(name, m.seq), JSON.stringify(m));
    if (q.removed) return result;
    q.msgs.set(m.seq, m);
    this.track(q, m);
    if (m.dedup !== undefined) q.dedup.set(this.dedupKey(q, m.group, m.dedup), { expires: m.sent + DEDUP_WINDOW_MS, id: m.id, seq: m.seq });
    this.expiryCandidate(q, this.expiryOf(q, m));
    this.notify(q);
    return result;
  }

  /** Checks a send against the queue (throws AwsError) and builds the message, or finds its duplicate. */
  checkSend(name: string, input: SendInput): void {
    this.prepare(this.must(name), input, true);
  }

  private prepare(q: QueueState, input: SendInput, dry = false): { m: StoredMessage; result: SendResult; duplicate: boolean } {
    const now = this.clock.now();
    const c = q.config;
    if (typeof input.body !== 'string' || input.body === '') throw missingParameter('MessageBody');
    if (INVALID_CHARS.test(input.body)) throw new AwsError('InvalidMessageContents', 'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF', 400, { queryCode: 'InvalidMessageContents' });
    validateMessageAttributes(input.attrs);
    const size = messageSize(input.body, input.attrs);
    if (size > c.maximumMessageSize) throw invalidParameterValue(`One or more parameters are invalid. Reason: Message must be shorter than ${c.maximumMessageSize} bytes.`);
    let delayMs = c.delayMs;
    if (input.delaySeconds !== undefined) {
      if (!Number.isInteger(input.delaySeconds) || input.delaySeconds < 0 || input.delaySeconds > 900) throw invalidParameterValue(`Value ${input.delaySeconds} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.`);
      if (c.fifo) throw invalidParameterValue(`Value ${input.delaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.`);
      delayMs = input.delaySeconds * 1000;
    }
    let dedup: string | undefined;
    if (c.fifo) {
      if (!input.groupId) throw missingParameter('MessageGroupId');
      dedup = input.dedupId ?? (c.contentBasedDeduplication ? createHash('sha256').update(input.body).digest('hex') : undefined);
      if (dedup === undefined) throw invalidParameterValue('The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
    }
    const md5OfBody = md5Hex(input.body);
    const md5OfAttributes = attributesMd5(input.attrs);
    const md5OfSystemAttributes = attributesMd5(input.sys);
    if (dedup !== undefined) {
      const seen = q.dedup.get(this.dedupKey(q, input.groupId, dedup));
      if (seen && seen.expires > now) {
        // A duplicate is accepted and not delivered again (SQS answers with the original message).
        const result: SendResult = { id: seen.id, md5OfBody, sequenceNumber: sequenceNumber(seen.seq), ...(md5OfAttributes ? { md5OfAttributes } : {}) };
        return { m: undefined as unknown as StoredMessage, result, duplicate: true };
      }
    }
    const seq = dry ? 0 : ++this.seq;
    const m: StoredMessage = {
      id: uuid(),
      seq,
      body: input.body,
      ...(input.attrs && Object.keys(input.attrs).length ? { attrs: input.attrs } : {}),
      ...(input.sys && Object.keys(input.sys).length ? { sys: input.sys } : {}),
      sent: now,
      enqueued: now,
      visibleAt: now + delayMs,
      receives: 0,
      ...(input.groupId !== undefined ? { group: input.groupId } : {}),
      ...(dedup !== undefined ? { dedup } : {}),
      sender: input.sender ?? 'AIDAIT2UOQQY3AUEKVGXU',
    };
    const result: SendResult = {
      id: m.id,
      md5OfBody,
      ...(md5OfAttributes ? { md5OfAttributes } : {}),
      ...(md5OfSystemAttributes ? { md5OfSystemAttributes } : {}),
      ...(c.fifo ? { sequenceNumber: sequenceNumber(seq) } : {}),
    };
    return { m, result, duplicate: false };
  }

  /**
   * Receives up to `max` messages, waiting up to the wait time for the first (long polling).
   * Each one becomes invisible for the visibility timeout and its receive count goes up; a
   * message already received maxReceiveCount times moves to the dead-letter queue instead.
   */
  async receive(name: string, opts: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const q = this.must(name);
    const max = opts.max ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > 10) throw invalidParameterValue(`Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`);
    if (opts.visibilityTimeout !== undefined && (!Number.isInteger(opts.visibilityTimeout) || opts.visibilityTimeout < 0 || opts.visibilityTimeout > 43_200)) {
      throw invalidParameterValue(`Value ${opts.visibilityTimeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.`);
    }
    if (opts.waitSeconds !== undefined && (!Number.isInteger(opts.waitSeconds) || opts.waitSeconds < 0 || opts.waitSeconds > 20)) {
      throw invalidParameterValue(`Value ${opts.waitSeconds} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`);
    }
    const deadline = this.clock.now() + (opts.waitSeconds !== undefined ? opts.waitSeconds * 1000 : q.config.waitMs);
    for (;;) {
      const vt = opts.visibilityTimeout !== undefined ? opts.visibilityTimeout * 1000 : q.config.visibilityMs;
      const { picked, writes } = this.take(q, max, vt);
      if (picked.length || q.removed || this.closed || opts.signal?.aborted || this.clock.now() >= deadline) {
        await Promise.all(writes);
        return picked;
      }
      await Promise.all(writes);
      await this.wait(q, deadline, opts.signal);
    }
  }

  /** Picks and marks messages, synchronously (no other receive can interleave). */
  private take(q: QueueState, max: number, visibilityMs: number): { picked: ReceivedMessage[]; writes: Promise<unknown>[] } {
    const now = this.clock.now();
    const picked: ReceivedMessage[] = [];
    const writes: Promise<unknown>[] = [];
    const blocked = new Set<string>();
    const redrive = q.config.redrive;
    const dlq = redrive ? this.queues.get(redrive.queue) : undefined;
    q.index.promote(now, q.msgs);
    // A FIFO queue is read in order, group by group; a standard one only where messages are
    // visible. Deleting the current entry of a Map or Set being iterated (a dead-letter move,
    // a message hidden) is safe in JS.
    for (const m of q.config.fifo ? q.msgs.values() : this.visibleMessages(q)) {
      if (picked.length >= max) break;
      if (m.deleted) continue;
      const group = m.group ?? '';
      if (q.config.fifo && blocked.has(group)) continue;
      if (m.visibleAt > now || m.enqueued + q.config.retentionMs <= now) {
        if (q.config.fifo) blocked.add(group);
        continue;
      }
      if (redrive && dlq && m.receives >= redrive.maxReceiveCount) {
        writes.push(this.move(q, m, dlq, { dlqSource: queueArn(q.name) }));
        continue;
      }
      m.receives++;
      m.firstReceive ??= now;
      m.received = now;
      m.visibleAt = now + visibilityMs;
      m.receipt = randomNonce();
      this.track(q, m);
      writes.push(this.backend.update(this.key(q.name, m.seq), JSON.stringify(m)));
      picked.push({ ...m, receiptHandle: encodeReceipt(q.name, m.seq, m.receipt) });
      if (visibilityMs === 0) this.notify(q);
    }
    return { picked, writes };
  }

  /** A standard queue's messages visible now (by its index), dropping what is no longer there. */
  private *visibleMessages(q: QueueState): Generator<StoredMessage> {
    for (const seq of q.index.visible) {
      const m = q.msgs.get(seq);
      if (!m || m.deleted) {
        q.index.drop(seq);
        continue;
      }
      yield m;
    }
  }

  /** Indexes a message's visibility after it was added or its visibility changed. */
  private track(q: QueueState, m: StoredMessage): void {
    if (m.deleted) q.index.drop(m.seq);
    else if (m.visibleAt <= this.clock.now()) q.index.show(m.seq);
    else q.index.hide(m.seq, m.visibleAt);
    // Stale heap entries (messages deleted while in flight) are dropped by rebuilding, now and then.
    if (q.index.hiddenEntries > 2 * q.msgs.size + 1024) {
      q.index.clear();
      const now = this.clock.now();
      for (const x of q.msgs.values()) {
        if (x.deleted) continue;
        if (x.visibleAt <= now) q.index.show(x.seq);
        else q.index.hide(x.seq, x.visibleAt);
      }
    }
  }

  /** Moves a message to another queue (dead-lettering or redrive): a delete and a create. */
  private move(from: QueueState, m: StoredMessage, to: QueueState, opts: { dlqSource?: string; resetReceives?: boolean }): Promise<unknown> {
    const now = this.clock.now();
    from.msgs.delete(m.seq);
    from.index.drop(m.seq);
    const moved: StoredMessage = { ...m, seq: ++this.seq, visibleAt: now, enqueued: to.config.fifo ? now : m.enqueued };
    delete moved.receipt;
    if (opts.dlqSource) moved.dlqSource = opts.dlqSource;
    if (opts.resetReceives) {
      moved.receives = 0;
      delete moved.firstReceive;
      delete moved.dlqSource;
    }
    to.msgs.set(moved.seq, moved);
    this.track(to, moved);
    this.expiryCandidate(to, this.expiryOf(to, moved));
    this.notify(to);
    return Promise.all([this.backend.delete(this.key(from.name, m.seq)), this.backend.create(this.key(to.name, moved.seq), JSON.stringify(moved))]);
  }

  /** Waits until something may have become receivable, the deadline, or abort. */
  private wait(q: QueueState, deadline: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const now = this.clock.now();
      // The index's earliest hidden message (maybe a stale entry: waking early only means another look).
      const next = Math.min(deadline, Math.max(now, q.index.nextAt()));
      let cancel = (): void => undefined;
      const done = (): void => {
        q.waiters.delete(done);
        cancel();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      q.waiters.add(done);
      cancel = this.clock.setTimer(Math.max(0, next - now), done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private notify(q: QueueState): void {
    for (const w of [...q.waiters]) w();
  }

  /**
   * Deletes the message a receipt handle names. A stale handle (the message was received again
   * since) succeeds without deleting, as SQS documents; an unparsable one is ReceiptHandleIsInvalid.
   */
  async deleteMessage(name: string, receiptHandle: string): Promise<void> {
    const q = this.must(name);
    const r = decodeReceipt(receiptHandle);
    if (!r || r.queue !== name) throw receiptInvalid(receiptHandle);
    const m = q.msgs.get(r.seq);
    if (!m || m.deleted || m.receipt !== r.nonce) return;
    const key = this.key(name, m.seq);
    if (q.config.fifo && m.sent + DEDUP_WINDOW_MS > this.clock.now()) {
      m.deleted = true;
      delete m.receipt;
      q.index.drop(m.seq);
      this.expiryCandidate(q, m.sent + DEDUP_WINDOW_MS);
      this.notify(q);
      await this.backend.update(key, JSON.stringify(m));
      return;
    }
    q.msgs.delete(m.seq);
    q.index.drop(m.seq);
    this.notify(q);
    await this.backend.delete(key);
  }

  /**
   * Sets an in-flight message's visibility timeout from now (0 makes it visible at once). Throws
   * InvalidParameterValue when the message would stay hidden past 12 hours (43,200 s) after the
   * receive that hid it: SQS rejects such an extension rather than shortening it (the
   * ChangeMessageVisibility API reference: "If you try to extend the visibility timeout beyond 12
   * hours, your request is rejected"); MessageNotInflight once it is visible again.
   */
  async changeVisibility(name: string, receiptHandle: string, seconds: number): Promise<void> {
    const q = this.must(name);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) throw invalidParameterValue(`Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.`);
    const r = decodeReceipt(receiptHandle);
    if (!r || r.queue !== name) throw receiptInvalid(receiptHandle);
    const m = q.msgs.get(r.seq);
    const now = this.clock.now();
    if (!m || m.deleted || m.receipt !== r.nonce) throw invalidParameterValue(`Value ${receiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`);
    if (m.visibleAt <= now) throw new AwsError('MessageNotInflight', 'The message referred to is not in flight.', 400, { queryCode: 'AWS.SimpleQueueService.MessageNotInflight' });
    if (m.received !== undefined && now + seconds * 1000 - m.received > MAX_VISIBILITY_MS) {
      throw invalidParameterValue(`Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]`);
    }
    m.visibleAt = now + seconds * 1000;
    this.track(q, m);
    if (seconds === 0) this.notify(q);
    await this.backend.update(this.key(name, m.seq), JSON.stringify(m));
  }

  /** Deletes every message. A second purge within 60 s is PurgeQueueInProgress (PurgeQueue API reference). */
  async purge(name: string): Promise<void> {
    const q = this.must(name);
    const now = this.clock.now();
    if (now - q.lastPurge < 60_000) {
      throw new AwsError('PurgeQueueInProgress', `Only one PurgeQueue operation on ${name} is allowed every 60 seconds.`, 400, { queryCode: 'AWS.SimpleQueueService.PurgeQueueInProgress' });
    }
    q.lastPurge = now;
    const seqs = [...q.msgs.keys()];
    q.msgs.clear();
    q.index.clear();
    q.dedup.clear();
    for (const s of seqs) await this.backend.delete(this.key(name, s)).catch(() => undefined);
  }

  /**
   * Starts moving a dead-letter queue's messages back to their source queues (or to
   * `destination`), at most `rate` per second (default 500). Throws AwsError when the source is
   * not a dead-letter queue or already has a task running.
   */
  startMoveTask(source: string, destination?: string, rate?: number): MoveTask {
    const src = this.queues.get(source);
    if (!src) throw new AwsError('ResourceNotFoundException', 'The resource that you specified for the SourceArn parameter doesn\'t exist.', 400, { queryCode: 'ResourceNotFoundException' });
    if (!this.deadLetterSources(source).length) throw invalidParameterValue('Source queue must be configured as a Dead Letter Queue.');
    if (destination !== undefined && !this.queues.has(destination)) throw new AwsError('ResourceNotFoundException', 'The resource that you specified for the DestinationArn parameter doesn\'t exist.', 400, { queryCode: 'ResourceNotFoundException' });
    if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > 500)) throw invalidParameterValue(`Value ${rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500.`);
    if (this.tasks.some((t) => t.source === source && t.status === 'RUNNING')) throw invalidParameterValue('There is already a task running. Only one active task is allowed for a source queue arn at a given time.');
    const task: MoveTask = {
      handle: Buffer.from(JSON.stringify({ taskId: uuid(), sourceArn: queueArn(source) })).toString('base64'),
      source,
      ...(destination !== undefined ? { destination } : {}),
      ...(rate !== undefined ? { rate } : {}),
      status: 'RUNNING',
      moved: 0,
      toMove: [...src.msgs.values()].filter((m) => !m.deleted).length,
      started: this.clock.now(),
    };
    this.tasks.unshift(task);
    const snapshot = new Set([...src.msgs.values()].filter((m) => !m.deleted).map((m) => m.seq));
    const step = (): void => {
      if (task.status !== 'RUNNING') return;
      const s = this.queues.get(source);
      if (!s) {
        task.status = 'FAILED';
        task.failureReason = 'AWS.SimpleQueueService.NonExistentQueue';
        return;
      }
      let budget = rate ?? 500;
      for (const m of [...s.msgs.values()]) {
        if (budget <= 0) break;
        if (!snapshot.has(m.seq) || m.deleted) continue;
        snapshot.delete(m.seq);
        const destName = destination ?? (m.dlqSource ? m.dlqSource.split(':').at(-1) : undefined);
        const dst = destName ? this.queues.get(destName) : undefined;
        if (!dst) continue;
        void this.move(s, m, dst, { resetReceives: true });
        task.moved++;
        budget--;
      }
      if ([...snapshot].every((seq) => !s.msgs.has(seq))) {
        task.status = 'COMPLETED';
        return;
      }
      task.cancel = this.clock.setTimer(1000, step);
    };
    step();
    return task;
  }

  /** The most recent move tasks of a source queue, newest first (at most 10). */
  listMoveTasks(source: string): MoveTask[] {
    return this.tasks.filter((t) => t.source === source).slice(0, 10);
  }

  /** Cancels a running move task; returns the number moved. Throws ResourceNotFoundException. */
  cancelMoveTask(handle: string): number {
    const t = this.tasks.find((x) => x.handle === handle);
    if (!t || t.status !== 'RUNNING') throw new AwsError('ResourceNotFoundException', 'Task does not exist.', 400, { queryCode: 'ResourceNotFoundException' });
    t.cancel?.();
    t.status = 'CANCELLED';
    return t.moved;
  }

  /** Stops timers and ends long polls. */
  close(): void {
    this.closed = true;
    for (const q of this.queues.values()) {
      q.cancelExpiry?.();
      this.notify(q);
    }
    for (const t of this.tasks) t.cancel?.();
  }

  // ---------------------------------------------------------------------------------------------
  // Retention

  private expiryOf(q: QueueState, m: StoredMessage): number {
    return m.deleted ? m.sent + DEDUP_WINDOW_MS : m.enqueued + q.config.retentionMs;
  }

  private expiryCandidate(q: QueueState, at: number): void {
    if (at < q.expiryAt) this.setExpiry(q, at);
  }

  private scheduleExpiry(q: QueueState, recompute: boolean): void {
    if (!recompute) return;
    let min = Infinity;
    for (const m of q.msgs.values()) min = Math.min(min, this.expiryOf(q, m));
    this.setExpiry(q, min);
  }

  private setExpiry(q: QueueState, at: number): void {
    q.cancelExpiry?.();
    delete q.cancelExpiry;
    q.expiryAt = at;
    if (at === Infinity || this.closed) return;
    // Expiry sweeps are at least a second apart: one scan removes everything due by then.
    const delay = Math.max(0, at - this.clock.now());
    q.cancelExpiry = this.clock.setTimer(delay, () => void this.sweep(q));
  }

  private async sweep(q: QueueState): Promise<void> {
    if (q.removed || this.closed) return;
    const now = this.clock.now() + 999;
    const gone: number[] = [];
    for (const m of q.msgs.values()) if (this.expiryOf(q, m) <= now) gone.push(m.seq);
    for (const s of gone) {
      const m = q.msgs.get(s)!;
      q.msgs.delete(s);
      q.index.drop(s);
      if (m.dedup !== undefined) {
        const k = this.dedupKey(q, m.group, m.dedup);
        if (q.dedup.get(k)?.seq === s && m.sent + DEDUP_WINDOW_MS <= now) q.dedup.delete(k);
      }
    }
    for (const [k, v] of q.dedup) if (v.expires <= now) q.dedup.delete(k);
    this.scheduleExpiry(q, true);
    for (const s of gone) await this.backend.delete(this.key(q.name, s)).catch(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------

  private must(name: string): QueueState {
    const q = this.queues.get(name);
    if (!q) throw queueDoesNotExist();
    return q;
  }

  private key(queue: string, seq: number): string {
    return `${MESSAGE_PREFIX}${queue}/${String(seq).padStart(16, '0')}`;
  }

  private dedupKey(q: QueueState, group: string | undefined, dedup: string): string {
    return q.config.deduplicationScope === 'messageGroup' ? `${group ?? ''}\n${dedup}` : dedup;
  }
}

/** A FIFO SequenceNumber: 20 digits. */
export function sequenceNumber(seq: number): string {
  return String(seq).padStart(20, '0');
}

function randomNonce(): string {
  return crypto.randomUUID().replace(/-/g, '').slice(0, 16);
}

/** An opaque receipt handle naming the queue, the message and the receive. */
export function encodeReceipt(queue: string, seq: number, nonce: string): string {
  return Buffer.from(JSON.stringify([queue, seq, nonce])).toString('base64');
}

export function decodeReceipt(h: string): { queue: string; seq: number; nonce: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(h, 'base64').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'string') return { queue: v[0], seq: v[1], nonce: v[2] };
  } catch {
    // not one of ours
  }
  return undefined;
}

const ATTR_NAME_RE = /^(?!\.)(?!.*\.\.)(?!.*\.$)[A-Za-z0-9_.-]{1,256}$/;

/**
 * Message attribute rules (SendMessage API reference): at most 10; names of A–Z a–z 0–9 _ - .
 * (not starting with `AWS.`/`Amazon.`, no `..`); DataType String, Number or Binary with an
 * optional `.label`; a value of the matching kind. Throws InvalidParameterValue.
 */
export function validateMessageAttributes(attrs: Record<string, MessageAttributeValue> | undefined): void {
  if (!attrs) return;
  const names = Object.keys(attrs);
  if (names.length > 10) throw invalidParameterValue(`Number of message attributes [${names.length}] exceeds the allowed maximum [10].`);
  for (const n of names) {
    const a = attrs[n]!;
    if (!ATTR_NAME_RE.test(n) || /^(aws\.|amazon\.)/i.test(n)) throw invalidParameterValue(`Message (user) attribute '${n}' must contain a non-empty message attribute name and only alphanumeric characters, hyphens, underscores and periods.`);
    if (!a || typeof a.DataType !== 'string' || a.DataType === '') throw invalidParameterValue(`The message attribute '${n}' must contain non-empty message attribute type.`);
    const base = a.DataType.split('.')[0];
    if (!['String', 'Number', 'Binary'].includes(base!)) throw invalidParameterValue(`The type of message (user) attribute '${n}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`);
    if (base === 'Binary') {
      if (a.BinaryValue === undefined || a.BinaryValue === '') throw invalidParameterValue(`The message attribute '${n}' with type 'Binary' must use field 'Binary'.`);
    } else {
      if (a.StringValue === undefined || a.StringValue === '') throw invalidParameterValue(`The message attribute '${n}' with type '${base}' must use field 'String'.`);
      if (base === 'Number' && !Number.isFinite(Number(a.StringValue))) throw invalidParameterValue(`Can't cast the value of message (user) attribute '${n}' to a number.`);
    }
  }
}
