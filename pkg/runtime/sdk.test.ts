/**
 * The SDK as a user sees it, through the public entry (pkg/index.ts, `import … from 'berth'`):
 * the rate-limited work queue (client-go's semantics and back-off), a controller's retries on
 * error and requeue after a delay on the injected clock, owned objects waking their owner,
 * finalizers holding a deletion until removed, createOrUpdate, controller references, events.
 */
import t, { type Test } from 'tap';
import { addFinalizer, controllerFor, createOrUpdate, hasFinalizer, Kinds, removeFinalizer, setControllerReference, VirtualClock, WorkQueue, type KubeObject } from '../index.js';
import { TokenBucket } from './workqueue.js';

type ConfigMap = KubeObject & { data?: Record<string, string> };
import { settleMicrotasks } from '../clock/clock.js';
import { startTestApi, type TestApi } from '../testing/api.js';

async function api(t: Test): Promise<TestApi & { clock: VirtualClock }> {
  const clock = new VirtualClock();
  const c = await startTestApi({ clock });
  t.teardown(() => c.stop());
  return { ...c, clock };
}

/** Waits (real time) for `fn`, advancing the virtual clock by `stepMs` between tries. */
async function until(clock: VirtualClock, fn: () => boolean | Promise<boolean>, what: string, stepMs = 0): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await fn()) return;
    if (stepMs) await clock.advance(stepMs);
    else await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const cm = (name: string, data: Record<string, string> = {}): ConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data });

t.test('WorkQueue: one entry per key, re-processing of keys added while in flight, per-key exponential back-off', async (t) => {
  const clock = new VirtualClock();
  const q = new WorkQueue(clock);
  q.add('a');
  q.add('a');
  q.add('b');
  t.equal(q.length, 2, 'a key is queued once');
  t.equal(await q.get(), 'a');
  q.add('a'); // added while being processed: comes back after done
  t.equal(q.length, 1);
  q.done('a');
  t.equal(q.length, 2);
  t.equal(await q.get(), 'b');
  t.equal(await q.get(), 'a');
  q.done('b');
  q.done('a');

  // Failures back off 5 ms, 10 ms, 20 ms… (client-go's default per-item limiter); forget resets.
  const readyAfter = async (): Promise<number> => {
    const start = clock.now();
    while (q.length === 0) await clock.advance(1);
    const k = (await q.get())!;
    q.done(k);
    return clock.now() - start;
  };
  q.addRateLimited('a');
  t.equal(await readyAfter(), 5);
  q.addRateLimited('a');
  t.equal(await readyAfter(), 10);
  q.addRateLimited('a');
  t.equal(await readyAfter(), 20);
  t.equal(q.retries('a'), 3);
  q.forget('a');
  q.addRateLimited('a');
  t.equal(await readyAfter(), 5, 'back-off starts again after forget');

  // addAfter: the sooner of two delayed adds wins.
  q.addAfter('c', 1000);
  q.addAfter('c', 300);
  t.equal(await readyAfter(), 300);
  q.shutdown();
  t.equal(await q.get(), undefined, 'get returns undefined once shut down');
});

t.test('WorkQueue: rate-limited re-adds also wait for the overall token bucket (10/s, burst 100); plain adds do not', async (t) => {
  const clock = new VirtualClock();
  const q = new WorkQueue(clock);
  // 100 different keys fail at once: the burst covers them, each waits only its own 5 ms.
  for (let i = 0; i < 100; i++) q.addRateLimited(`k${i}`);
  await clock.advance(5);
  t.equal(q.length, 100, 'the first 100 rate-limited adds are due after their 5 ms back-off');
  // The bucket is empty now: the next ones come at 10 a second (100 ms apart), whatever their back-off.
  q.addRateLimited('x1');
  q.addRateLimited('x2');
  await clock.advance(94);
  t.equal(q.length, 100, 'nothing more before the bucket refills');
  await clock.advance(1);
  t.equal(q.length, 101, 'x1 after 100 ms less the 5 ms the bucket refilled meanwhile');
  await clock.advance(99);
  t.equal(q.length, 101);
  await clock.advance(1);
  t.equal(q.length, 102, 'x2 a tenth of a second later');
  // Plain adds are never held back.
  q.add('plain');
  t.equal(q.length, 103);
  q.shutdown();

  // The bucket alone, as x/time/rate reserves: burst, then one token per 1/qps, refilling to burst.
  const b = new TokenBucket(10, 2);
  t.same([b.reserve(0), b.reserve(0), b.reserve(0), b.reserve(0)], [0, 0, 100, 200]);
  t.equal(b.reserve(10_000), 0, 'refilled after a quiet spell');
  t.equal(new TokenBucket(Infinity, 1).reserve(0) + new TokenBucket(Infinity, 1).reserve(0), 0, 'Infinity turns it off');
});

t.test('a controller retries a failing reconcile with back-off, and requeues after the delay it asks for', async (t) => {
  const c = await api(t);
  const attempts: number[] = [];
  let fail = 3;
  controllerFor(c.mgr, Kinds.ConfigMap)
    .named('flaky')
    .complete({
      async reconcile(ctx, key) {
        if (key !== 'default/flaky') return;
        attempts.push(ctx.clock.now());
        if (fail-- > 0) throw new Error('not yet');
        return { requeueAfter: 30_000 };
      },
    });
  await c.start();
  const t0 = c.clock.now();
  await c.client.create(cm('flaky'));
  await until(c.clock, () => attempts.length >= 4, 'three failures and a success', 1);
  t.same(attempts.slice(1, 4).map((a, i) => a - attempts[i]!), [5, 10, 20], 'retried after 5, 10 and 20 ms of cluster time');
  const succeeded = attempts[3]!;
  await c.clock.advance(29_000);
  await settleMicrotasks();
  t.equal(attempts.length, 4, 'no reconcile before requeueAfter');
  await until(c.clock, () => attempts.length === 5, 'the requeue', 500);
  t.ok(attempts[4]! - succeeded >= 30_000 && attempts[4]! - succeeded < 30_500, `requeued 30 s after success (${attempts[4]! - succeeded} ms)`);
  t.ok(attempts[0]! >= t0);
});

t.test('owned objects wake their owner; finalizers, createOrUpdate, controller references and events', async (t) => {
  const c = await api(t);
  const FINALIZER = 'example.com/cleanup';
  const reconciled: string[] = [];
  // A controller that keeps a ConfigMap `<name>-copy` of each Secret's keys, owned by the Secret,
  // and holds each Secret's deletion with a finalizer until it has recorded an event.
  controllerFor(c.mgr, Kinds.Secret)
    .owns(Kinds.ConfigMap)
    .complete({
      async reconcile(ctx, key) {
        reconciled.push(key);
        const [namespace, name] = key.split('/') as [string, string];
        const secret = await ctx.client.tryGet(Kinds.Secret, name, namespace);
        if (!secret) return;
        if (secret.metadata.deletionTimestamp) {
          ctx.recorder.event(secret, 'Normal', 'CleanedUp', `released ${name}`);
          await removeFinalizer(ctx.client, secret, FINALIZER);
          return;
        }
        const held = await addFinalizer(ctx.client, secret, FINALIZER);
        const keys = Object.keys((secret as KubeObject & { data?: Record<string, string> }).data ?? {}).sort();
        const { operation } = await createOrUpdate(ctx.client, cm(`${name}-copy`), (o) => {
          o.data = { keys: keys.join(',') };
          setControllerReference(held, o);
        });
        ctx.recorder.event(held, 'Normal', operation === 'created' ? 'Created' : 'Synced', `${operation} ${name}-copy`);
      },
    });
  await c.start();
  await c.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'default' }, data: { user: 'YQ==', pass: 'Yg==' } });
  const copy = async (): Promise<ConfigMap | undefined> => c.client.tryGet<ConfigMap>(Kinds.ConfigMap, 'db-copy', 'default');
  await until(c.clock, async () => (await copy())?.data?.keys === 'pass,user', 'the copy', 10);
  const secret = await c.client.get(Kinds.Secret, 'db', 'default');
  t.ok(hasFinalizer(secret, FINALIZER), 'the finalizer was added');
  t.match((await copy())!.metadata.ownerReferences, [{ kind: 'Secret', name: 'db', uid: secret.metadata.uid, controller: true, blockOwnerDeletion: true }]);

  // Someone edits the owned ConfigMap: the owner is reconciled and the copy put back.
  const before = reconciled.length;
  await c.client.patch(Kinds.ConfigMap, 'db-copy', 'default', 'merge', { data: { keys: 'tampered' } });
  await until(c.clock, async () => (await copy())?.data?.keys === 'pass,user', 'the copy restored', 10);
  t.ok(reconciled.length > before && reconciled.slice(before).every((k) => k === 'default/db'), 'the ConfigMap event reconciled its owner');

  // createOrUpdate writes nothing when nothing changes.
  const rv = (await copy())!.metadata.resourceVersion;
  const again = await createOrUpdate(c.client, cm('db-copy'), (o) => {
    o.data = { keys: 'pass,user' };
  });
  t.equal(again.operation, 'unchanged');
  t.equal((await copy())!.metadata.resourceVersion, rv);

  // A second controller may not take over; references stay within a namespace.
  const owned = (await copy())!;
  t.throws(() => setControllerReference({ ...secret, metadata: { ...secret.metadata, uid: 'other', name: 'other' } }, owned), /already owned by another Secret controller db/);
  t.throws(() => setControllerReference(secret, { ...cm('x'), metadata: { name: 'x', namespace: 'elsewhere' } }), /cross-namespace owner references are disallowed/);

  // Deleting the Secret: the finalizer holds it until the controller releases it; then the
  // garbage collector would take the copy (not installed here, so the reference stays).
  await c.client.delete(Kinds.Secret, 'db', 'default');
  await until(c.clock, async () => !(await c.client.tryGet(Kinds.Secret, 'db', 'default')), 'the Secret released and gone', 10);
  const reasons = (await c.client.list(Kinds.Event, { namespace: 'default' })).items.map((e) => (e as { reason?: string }).reason);
  t.ok(reasons.includes('Created') && reasons.includes('CleanedUp'), `events recorded (${reasons.join(',')})`);
});
