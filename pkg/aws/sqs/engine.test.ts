import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { VirtualClock } from '../../clock/clock.js';
import { MemoryBackend } from '../../storage/memory/memory.js';
import { SqliteBackend } from '../../storage/sqlite/sqlite.js';
import type { Backend } from '../../storage/types.js';
import { DEDUP_WINDOW_MS, MESSAGE_PREFIX, SqsEngine } from './engine.js';
import { md5OfAttributes } from './md5.js';
import { queueArn, type QueueSpec } from './types.js';

function setup(backend: Backend = new MemoryBackend()) {
  const clock = new VirtualClock();
  const sqs = new SqsEngine({ backend, clock });
  const queue = (name: string, spec: QueueSpec = {}) => sqs.upsertQueue(name, spec, clock.now());
  return { clock, sqs, queue, backend };
}

t.test('a received message is hidden for the visibility timeout, then returns with its receive count up', async (t) => {
  const { clock, sqs, queue } = setup();
  queue('jobs', { visibilityTimeout: 10 });
  await sqs.send('jobs', { body: 'hello' });
  const [first] = await sqs.receive('jobs');
  t.equal(first?.body, 'hello');
  t.equal(first?.receives, 1);
  t.same(await sqs.receive('jobs'), [], 'invisible while in flight');
  t.same(sqs.counts('jobs'), { visible: 0, notVisible: 1, delayed: 0 });
  await clock.advance(9_999);
  t.same(await sqs.receive('jobs'), [], 'still invisible 1 ms before the timeout');
  await clock.advance(1);
  const [again] = await sqs.receive('jobs');
  t.equal(again?.id, first?.id);
  t.equal(again?.receives, 2, 'ApproximateReceiveCount is 2');
  t.not(again?.receiptHandle, first?.receiptHandle, 'a new receipt handle per receive');
  // The stale handle deletes nothing (SQS: the request succeeds, the message stays).
  await sqs.deleteMessage('jobs', first!.receiptHandle);
  t.equal(sqs.counts('jobs').notVisible, 1);
  await sqs.deleteMessage('jobs', again!.receiptHandle);
  t.same(sqs.counts('jobs'), { visible: 0, notVisible: 0, delayed: 0 });
  await t.rejects(sqs.deleteMessage('jobs', 'garbage'), { code: 'ReceiptHandleIsInvalid' });
});

t.test('a receive may override the visibility timeout; ChangeMessageVisibility 0 releases at once', async (t) => {
  const { sqs, queue, clock } = setup();
  queue('q');
  await sqs.send('q', { body: 'x' });
  const [m] = await sqs.receive('q', { visibilityTimeout: 100 });
  await sqs.changeVisibility('q', m!.receiptHandle, 0);
  const [m2] = await sqs.receive('q', { visibilityTimeout: 5 });
  t.equal(m2?.receives, 2);
  await clock.advance(5_000);
  await t.rejects(sqs.changeVisibility('q', m2!.receiptHandle, 10), { code: 'MessageNotInflight' }, 'visible again: not in flight');
});

t.test('ChangeMessageVisibility extends up to 12 hours from the receive, and no further', async (t) => {
  const { sqs, queue, clock } = setup();
  queue('long', { visibilityTimeout: 300 });
  await sqs.send('long', { body: 'x' });
  const [m] = await sqs.receive('long');
  // 3 minutes in, 10 minutes more: hidden until 13 minutes after the receive (the API reference's example).
  await clock.advance(180_000);
  await sqs.changeVisibility('long', m!.receiptHandle, 600);
  await clock.advance(599_999);
  t.same(await sqs.receive('long'), [], 'still hidden 1 ms before 13 minutes');
  // Released a second later; the next receive starts a new 12-hour allowance.
  await sqs.changeVisibility('long', m!.receiptHandle, 1);
  await clock.advance(1000);
  const [again] = await sqs.receive('long', { visibilityTimeout: 43_200 });
  t.equal(again?.id, m?.id, 'visible after its last change');
  // 6 hours after this receive (hidden for 12): 6 more hours reach the limit exactly; one second more does not.
  await clock.advance(6 * 3600_000);
  await t.rejects(sqs.changeVisibility('long', again!.receiptHandle, 21_601), { code: 'InvalidParameterValue', message: /Total VisibilityTimeout for the message is beyond the limit \[43200 seconds\]/ }, '12 h 1 s after this receive');
  await sqs.changeVisibility('long', again!.receiptHandle, 21_600);
  t.equal(sqs.counts('long').notVisible, 1, 'the rejected change changed nothing; the allowed one holds');
  await clock.advance(21_600_000);
  t.same((await sqs.receive('long')).map((x) => x.receives), [3], 'visible again 12 hours after the receive');
});

t.test('after maxReceiveCount receives, the next receive moves the message to the dead-letter queue', async (t) => {
  const { sqs, queue, clock } = setup();
  queue('dlq');
  queue('work', { visibilityTimeout: 1, redrivePolicy: { deadLetterTargetArn: queueArn('dlq'), maxReceiveCount: 2 } });
  const sent = await sqs.send('work', { body: 'poison', attrs: { k: { DataType: 'String', StringValue: 'v' } } });
  t.equal((await sqs.receive('work'))[0]?.receives, 1);
  await clock.advance(1000);
  t.equal((await sqs.receive('work'))[0]?.receives, 2);
  await clock.advance(1000);
  t.same(await sqs.receive('work'), [], 'the third receive moves it instead of returning it');
  t.same(sqs.counts('work'), { visible: 0, notVisible: 0, delayed: 0 });
  const [dead] = await sqs.receive('dlq');
  t.equal(dead?.id, sent.id, 'same message id');
  t.equal(dead?.body, 'poison');
  t.same(dead?.attrs, { k: { DataType: 'String', StringValue: 'v' } });
  t.equal(dead?.dlqSource, queueArn('work'));
  t.same(sqs.deadLetterSources('dlq'), ['work']);

  // Redrive: StartMessageMoveTask sends it back to its source queue.
  await clock.advance(30_000);
  const task = sqs.startMoveTask('dlq');
  t.equal(task.status, 'COMPLETED');
  t.equal(task.moved, 1);
  const [back] = await sqs.receive('work');
  t.equal(back?.id, sent.id);
  t.equal(back?.receives, 1, 'receive count starts again');
  t.throws(() => sqs.startMoveTask('work'), { code: 'InvalidParameterValue' }, 'only a dead-letter queue can be redriven');
});

t.test('FIFO: one group in order with one batch in flight; duplicates dropped for 5 minutes', async (t) => {
  const { sqs, queue, clock } = setup();
  queue('orders.fifo', { fifoQueue: true, visibilityTimeout: 30 });
  const a1 = await sqs.send('orders.fifo', { body: 'a1', groupId: 'a', dedupId: '1' });
  await sqs.send('orders.fifo', { body: 'b1', groupId: 'b', dedupId: '2' });
  await sqs.send('orders.fifo', { body: 'a2', groupId: 'a', dedupId: '3' });
  const dup = await sqs.send('orders.fifo', { body: 'a1 again', groupId: 'a', dedupId: '1' });
  t.equal(dup.id, a1.id, 'a duplicate answers with the first message id');
  t.equal(sqs.counts('orders.fifo').visible, 3, 'and is not stored');
  const first = await sqs.receive('orders.fifo', { max: 1 });
  t.same(first.map((m) => m.body), ['a1']);
  const second = await sqs.receive('orders.fifo', { max: 10 });
  t.same(second.map((m) => m.body), ['b1'], 'group a is locked while a1 is in flight');
  await sqs.deleteMessage('orders.fifo', first[0]!.receiptHandle);
  t.same((await sqs.receive('orders.fifo', { max: 10 })).map((m) => m.body), ['a2'], 'then a2, in order');
  t.match(a1.sequenceNumber, /^\d{20}$/);

  // Still a duplicate after the message was deleted, until 5 minutes from the first send.
  await clock.advance(DEDUP_WINDOW_MS - 1000);
  const again = await sqs.send('orders.fifo', { body: 'a1', groupId: 'a', dedupId: '1' });
  t.equal(again.id, a1.id);
  await clock.advance(2000);
  const later = await sqs.send('orders.fifo', { body: 'a1', groupId: 'a', dedupId: '1' });
  t.not(later.id, a1.id, 'accepted again after 5 minutes');

  await t.rejects(sqs.send('orders.fifo', { body: 'x', dedupId: '9' }), { code: 'MissingParameter' });
  await t.rejects(sqs.send('orders.fifo', { body: 'x', groupId: 'g' }), { code: 'InvalidParameterValue' }, 'needs a dedup id without content-based deduplication');
});

t.test('FIFO content-based deduplication uses the body hash', async (t) => {
  const { sqs, queue } = setup();
  queue('c.fifo', { fifoQueue: true, contentBasedDeduplication: true });
  const a = await sqs.send('c.fifo', { body: 'same', groupId: 'g' });
  const b = await sqs.send('c.fifo', { body: 'same', groupId: 'g' });
  const c = await sqs.send('c.fifo', { body: 'other', groupId: 'g' });
  t.equal(a.id, b.id);
  t.not(a.id, c.id);
  t.equal(sqs.counts('c.fifo').visible, 2);
});

t.test('delay seconds: delayed until due, counted as delayed', async (t) => {
  const { sqs, queue, clock } = setup();
  queue('d', { delaySeconds: 5 });
  await sqs.send('d', { body: 'queue delay' });
  await sqs.send('d', { body: 'own delay', delaySeconds: 0 });
  t.same(sqs.counts('d'), { visible: 1, notVisible: 0, delayed: 1 });
  t.same((await sqs.receive('d', { max: 10 })).map((m) => m.body), ['own delay']);
  await clock.advance(5000);
  t.same((await sqs.receive('d', { max: 10 })).map((m) => m.body), ['queue delay']);
  await t.rejects(sqs.send('d', { body: 'x', delaySeconds: 901 }), { code: 'InvalidParameterValue' });
});

t.test('long polling waits for a message, or returns empty at the wait time', async (t) => {
  const { sqs, queue, clock } = setup();
  queue('lp');
  const waiting = sqs.receive('lp', { waitSeconds: 20 });
  await clock.advance(3000);
  await sqs.send('lp', { body: 'arrives' });
  const got = await waiting;
  t.same(got.map((m) => m.body), ['arrives']);
  const empty = sqs.receive('lp', { waitSeconds: 2 });
  let done = false;
  void empty.then(() => (done = true));
  await clock.advance(1999);
  t.notOk(done, 'still waiting');
  await clock.advance(1);
  t.same(await empty, []);
  // A long poll also wakes when an in-flight message's visibility timeout ends.
  await sqs.send('lp', { body: 'again' });
  await sqs.receive('lp', { visibilityTimeout: 4 });
  const p = sqs.receive('lp', { waitSeconds: 20 });
  await clock.advance(4000);
  t.same((await p).map((m) => m.body), ['again']);
});

t.test('retention: a message is deleted MessageRetentionPeriod after it was sent', async (t) => {
  const { sqs, queue, clock, backend } = setup();
  queue('r', { messageRetentionPeriod: 60 });
  await sqs.send('r', { body: 'old' });
  await clock.advance(30_000);
  await sqs.send('r', { body: 'new' });
  await clock.advance(30_000);
  t.same(sqs.counts('r').visible, 1, 'the first is gone at 60 s');
  t.equal(await backend.count(MESSAGE_PREFIX), 1, 'and deleted from the store');
  t.same((await sqs.receive('r')).map((m) => m.body), ['new']);
});

t.test('bad input: size, attributes, batch limits', async (t) => {
  const { sqs, queue } = setup();
  queue('s', { maximumMessageSize: 1024 });
  await t.rejects(sqs.send('s', { body: 'x'.repeat(1025) }), { code: 'InvalidParameterValue' });
  await t.rejects(sqs.send('s', { body: '' }), { code: 'MissingParameter' });
  await t.rejects(sqs.send('s', { body: 'bad \u0000' }), { code: 'InvalidMessageContents' });
  await t.rejects(sqs.send('s', { body: 'x', attrs: { n: { DataType: 'Number', StringValue: 'abc' } } }), { code: 'InvalidParameterValue' });
  await t.rejects(sqs.send('nope', { body: 'x' }), { code: 'QueueDoesNotExist', opts: { queryCode: 'AWS.SimpleQueueService.NonExistentQueue' } });
  await t.rejects(sqs.receive('s', { max: 11 }), { code: 'InvalidParameterValue' });
  await sqs.purge('s');
  await t.rejects(sqs.purge('s'), { code: 'PurgeQueueInProgress' }, 'one purge per 60 s');
});

t.test('MD5 of message attributes matches the SQS algorithm', async (t) => {
  // Value from moto and AWS for {a: String "x"} (checked against moto_server: a512aac9938034acb0b3c3d965944bf1).
  t.equal(md5OfAttributes({ a: { DataType: 'String', StringValue: 'x' } }), 'a512aac9938034acb0b3c3d965944bf1');
});

t.test('a restart loses no acknowledged message: state is rebuilt from SQLite', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-sqs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'state.db');
  const one = setup(new SqliteBackend({ path }));
  one.queue('dur', { visibilityTimeout: 60 });
  one.queue('dur.fifo', { fifoQueue: true });
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push((await one.sqs.send('dur', { body: `m${i}` })).id);
  const inflight = await one.sqs.receive('dur', { max: 3 });
  await one.sqs.deleteMessage('dur', inflight[0]!.receiptHandle);
  const f = await one.sqs.send('dur.fifo', { body: 'f', groupId: 'g', dedupId: 'd1' });
  await one.backend.close();

  const two = setup(new SqliteBackend({ path }));
  await two.sqs.load([
    { name: 'dur', spec: { visibilityTimeout: 60 }, created: 0 },
    { name: 'dur.fifo', spec: { fifoQueue: true }, created: 0 },
  ]);
  t.same(two.sqs.counts('dur'), { visible: 17, notVisible: 2, delayed: 0 }, 'the deleted one is gone, two still in flight');
  const all = await two.sqs.receive('dur', { max: 10 });
  const rest = await two.sqs.receive('dur', { max: 10 });
  const seen = new Set([...all, ...rest].map((m) => m.id));
  for (const m of inflight.slice(1)) seen.add(m.id);
  t.equal(seen.size, 19);
  for (const id of ids.filter((x) => x !== inflight[0]!.id)) t.ok(seen.has(id));
  t.equal((await two.sqs.send('dur.fifo', { body: 'f', groupId: 'g', dedupId: 'd1' })).id, f.id, 'deduplication survives the restart');
  await two.backend.close();
});
