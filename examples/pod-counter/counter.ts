// counter.ts — logs how many pods each ReplicaSet owns; run with `node counter.js` against `berth server`.
import { connect, controllerFor, createLogger, Kinds, Manager, RealClock, controllerRef, type Pod } from 'berth';

const mgr = new Manager({ client: connect(), clock: new RealClock(), log: createLogger('info', 'counter'), leaderElection: { name: 'counter', namespace: 'default' } });
const pods = mgr.informer<Pod>(Kinds.Pod);
controllerFor(mgr, Kinds.ReplicaSet).owns(Kinds.Pod).complete({
  async reconcile(ctx, key) {
    const rs = mgr.informer(Kinds.ReplicaSet).cache.get(key);
    if (!rs) return;
    const mine = pods.cache.list().filter((p) => controllerRef(p)?.uid === rs.metadata.uid);
    ctx.log.info({ key, pods: mine.length }, 'counted');
    return { requeueAfter: 60_000 }; // look again in a minute
  },
});
await mgr.start(AbortSignal.timeout(10 * 60_000));
