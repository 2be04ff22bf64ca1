/**
 * SQS data-plane throughput on the SQLite store: sends, receives (10 at a time) and deletes of
 * `n` messages through the SqsEngine, one durable write each, and the time to rebuild the
 * in-memory index of a queue holding `n` messages at start; and how fast a consumer works
 * (send, receive, delete, one message at a time) on a queue with `n` messages in flight, where
 * a receive must not cost a scan of the queue.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealClock } from '../../pkg/clock/clock.js';
import { SqsEngine } from '../../pkg/aws/sqs/engine.js';
import { SqliteBackend } from '../../pkg/storage/sqlite/sqlite.js';

export interface SqsBenchResult {
  messages: number;
  sendPerSec: number;
  receivePerSec: number;
  deletePerSec: number;
  /** ms to load a queue of `messages` stored messages at start. */
  loadMs: number;
  /** Store writes per message over send + receive + delete (the design target is 3). */
  writesPerMessage: number;
  /** Messages a second through send → receive → delete, one at a time, beside `messages` in flight. */
  roundTripsPerSecWithInFlight: number;
}

export async function sqsBench(n: number): Promise<SqsBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-sqs-bench-'));
  const path = join(dir, 'sqs.db');
  try {
    const clock = new RealClock();
    let backend = new SqliteBackend({ path });
    let sqs = new SqsEngine({ backend, clock });
    sqs.upsertQueue('bench', { visibilityTimeout: 3600 }, clock.now());
    const rev0 = await backend.currentRevision();
    let t = performance.now();
    for (let i = 0; i < n; i++) await sqs.send('bench', { body: `message ${i}`, attrs: { i: { DataType: 'Number', StringValue: String(i) } } });
    const sendMs = performance.now() - t;
    await backend.close();

    t = performance.now();
    backend = new SqliteBackend({ path });
    sqs = new SqsEngine({ backend, clock });
    await sqs.load([{ name: 'bench', spec: { visibilityTimeout: 3600 }, created: clock.now() }]);
    const loadMs = performance.now() - t;

    const handles: string[] = [];
    t = performance.now();
    for (;;) {
      const got = await sqs.receive('bench', { max: 10 });
      if (!got.length) break;
      for (const m of got) handles.push(m.receiptHandle);
    }
    const receiveMs = performance.now() - t;
    t = performance.now();
    for (const h of handles) await sqs.deleteMessage('bench', h);
    const deleteMs = performance.now() - t;
    const writes = (await backend.currentRevision()) - rev0;

    // The queue again, all in flight, and a consumer working beside them.
    for (let i = 0; i < n; i++) await sqs.send('bench', { body: `in flight ${i}` });
    while ((await sqs.receive('bench', { max: 10 })).length);
    const rounds = 2000;
    t = performance.now();
    for (let i = 0; i < rounds; i++) {
      await sqs.send('bench', { body: `round ${i}` });
      const [m] = await sqs.receive('bench', { max: 1 });
      if (!m) throw new Error('round trip: no message received');
      await sqs.deleteMessage('bench', m.receiptHandle);
    }
    const roundMs = performance.now() - t;
    sqs.close();
    await backend.close();
    return {
      messages: n,
      sendPerSec: Math.round(n / (sendMs / 1000)),
      receivePerSec: Math.round(handles.length / (receiveMs / 1000)),
      deletePerSec: Math.round(n / (deleteMs / 1000)),
      loadMs: Math.round(loadMs),
      writesPerMessage: Number((writes / n).toFixed(2)),
      roundTripsPerSecWithInFlight: Math.round(rounds / (roundMs / 1000)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
