import t from 'tap';
import { runBenchE2e } from './bench-e2e.js';

t.test('berth bench e2e: every replica bound and Running, with the figures the issue names', async (t) => {
  let printed = '';
  const r = await runBenchE2e({ out: (s) => (printed += s) }, { nodes: '3', replicas: '12', store: 'sqlite' });
  t.equal(r.replicas, 12);
  t.equal(r.nodes, 3);
  t.equal(r.store, 'sqlite');
  t.ok(r.seconds > 0 && r.podsPerSecond > 0);
  t.ok(r.createToBoundP99Ms >= r.createToBoundP50Ms && r.createToBoundP50Ms >= 0);
  t.ok(r.writesPerSecond > 0, 'the controllers, scheduler and agent wrote');
  t.ok(r.peakRssBytes > 10_000_000);
  t.ok(r.allCreatedSeconds <= r.allBoundSeconds && r.allBoundSeconds <= r.seconds, 'created, then bound, then Running');
  // Each pod: created, bound, then one status write per transition (ContainerCreating, Running).
  t.ok((r.writesByResource.pods ?? 0) >= 4 * 12, 'the pod writes are counted by resource');
  t.ok((r.writesByResource.events ?? 0) > 0, 'and the Events');
  t.same(JSON.parse(printed), r, 'the JSON printed is the result');
  await t.rejects(runBenchE2e({ out: () => undefined }, { nodes: '0' }), { message: /invalid --nodes "0"/ });
  await t.rejects(runBenchE2e({ out: () => undefined }, { store: 'postgres' }), { message: /invalid --store "postgres"/ });
});
