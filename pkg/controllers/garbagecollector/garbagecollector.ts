/**
 * The garbage collector (https://kubernetes.io/docs/concepts/architecture/garbage-collection/):
 * follows `metadata.ownerReferences` across every kind. An object whose owners are all gone is
 * deleted (background cascading); an owner deleted with `propagationPolicy: Foreground` keeps the
 * `foregroundDeletion` finalizer until its dependents that block owner deletion are gone; one
 * deleted with `Orphan` has its dependents' references to it removed, then its `orphan`
 * finalizer.
 *
 * It keeps a graph of uid → owners and dependents, built from one informer per kind (CRDs added
 * as they appear), and a work queue of uids to look at, level-based: each look reads the object's
 * whole current state.
 */
import { isNotFound, StatusError } from '../../api/errors.js';
import type { ResourceInfo } from '../../api/resources.js';
import { groupVersion } from '../../api/resources.js';
import type { KubeObject, OwnerReference } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import type { KindRef } from '../../client/types.js';
import { FINALIZER_FOREGROUND, FINALIZER_ORPHAN } from '../../apiserver/store.js';
import type { Manager, Runnable } from '../../runtime/manager.js';
import { WorkQueue } from '../../runtime/workqueue.js';

interface GraphNode {
  ref: KindRef & { namespace?: string; name: string; uid: string };
  owners: OwnerReference[];
  deleting: boolean;
  finalizers: string[];
}

/** Kinds the collector never tracks: events are never owners and would only cost memory. */
const IGNORED = new Set(['events', 'events.events.k8s.io', 'bindings', 'componentstatuses', 'instancetypes.ec2.berth.dev']);

export class GarbageCollector implements Runnable {
  readonly name = 'garbage-collector';
  private readonly graph = new Map<string, GraphNode>();
  /** owner uid → uids of objects naming it, whether or not the owner itself has been seen. */
  private readonly children = new Map<string, Set<string>>();
  private readonly watched = new Set<string>();
  private readonly queue: WorkQueue;

  constructor(private readonly mgr: Manager) {
    this.queue = new WorkQueue(mgr.clock);
    const crds = mgr.informer(Kinds.CustomResourceDefinition);
    crds.on({ add: () => void this.watchAll(), update: () => void this.watchAll() });
  }

  static install(mgr: Manager): GarbageCollector {
    const gc = new GarbageCollector(mgr);
    mgr.add(gc);
    return gc;
  }

  /** Number of objects in the graph (for tests and metrics). */
  get size(): number {
    return this.graph.size;
  }

  async start(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.queue.shutdown(), { once: true });
    await this.watchAll();
    const worker = async (): Promise<void> => {
      for (;;) {
        const uid = await this.queue.get();
        if (uid === undefined) return;
        try {
          await this.process(uid);
          this.queue.forget(uid);
        } catch (e) {
          if (!signal.aborted) {
            this.mgr.log.debug({ uid, err: (e as Error).message }, 'garbage collection failed; will retry');
            this.queue.addRateLimited(uid);
          }
        } finally {
          this.queue.done(uid);
        }
      }
    };
    await Promise.all([worker(), worker()]);
  }

  /** Starts an informer for every served kind not watched yet. */
  private async watchAll(): Promise<void> {
    let resources: ResourceInfo[];
    try {
      resources = (await this.mgr.client.resources()).all();
    } catch {
      return;
    }
    for (const r of resources) {
      const id = r.group ? `${r.resource}.${r.group}` : r.resource;
      if (IGNORED.has(id) || this.watched.has(id)) continue;
      if (!['list', 'watch', 'delete'].every((v) => r.verbs.includes(v as never))) continue;
      // One version per group/resource: they share storage.
      if ([...this.watched].some((w) => w === id)) continue;
      this.watched.add(id);
      const inf = this.mgr.informer({ apiVersion: groupVersion(r), kind: r.kind });
      inf.on({
        add: (o) => this.observe(o),
        update: (_, o) => this.observe(o),
        delete: (o) => this.forget(o),
      });
    }
  }

  private observe(o: KubeObject): void {
    const uid = o.metadata.uid;
    if (!uid) return;
    const owners = o.metadata.ownerReferences ?? [];
    let n = this.graph.get(uid);
    const prevOwners = n?.owners ?? [];
    if (!n) {
      n = { ref: refOf(o), owners, deleting: false, finalizers: [] };
      this.graph.set(uid, n);
    }
    n.ref = refOf(o);
    n.owners = owners;
    n.deleting = !!o.metadata.deletionTimestamp;
    n.finalizers = o.metadata.finalizers ?? [];
    for (const p of prevOwners) if (!owners.some((x) => x.uid === p.uid)) this.unlink(p.uid, uid);
    let ownerMissing = false;
    for (const p of owners) {
      let set = this.children.get(p.uid);
      if (!set) this.children.set(p.uid, (set = new Set()));
      set.add(uid);
      const owner = this.graph.get(p.uid);
      if (!owner || (owner.deleting && owner.finalizers.includes(FINALIZER_FOREGROUND))) ownerMissing = true;
    }
    if (ownerMissing) this.queue.add(uid);
    if (n.deleting && (n.finalizers.includes(FINALIZER_FOREGROUND) || n.finalizers.includes(FINALIZER_ORPHAN))) this.queue.add(uid);
  }

  private forget(o: KubeObject): void {
    const uid = o.metadata.uid;
    if (!uid) return;
    const n = this.graph.get(uid);
    if (!n) return;
    this.graph.delete(uid);
    for (const d of this.dependentsOf(uid)) this.queue.add(d);
    // An owner waiting in the foreground for this dependent may be done now.
    for (const p of n.owners) {
      this.unlink(p.uid, uid);
      if (this.graph.get(p.uid)?.deleting) this.queue.add(p.uid);
    }
  }

  private dependentsOf(uid: string): Set<string> {
    return this.children.get(uid) ?? new Set();
  }

  private unlink(ownerUid: string, uid: string): void {
    const set = this.children.get(ownerUid);
    if (!set) return;
    set.delete(uid);
    if (set.size === 0) this.children.delete(ownerUid);
  }

  private async process(uid: string): Promise<void> {
    const n = this.graph.get(uid);
    if (!n) return;
    if (n.deleting && n.finalizers.includes(FINALIZER_ORPHAN)) {
      await this.orphanDependents(n);
      return;
    }
    if (n.deleting && n.finalizers.includes(FINALIZER_FOREGROUND)) {
      await this.foreground(n);
      return;
    }
    if (!n.owners.length || n.deleting) return;
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const p of n.owners) {
      const state = await this.ownerState(n, p);
      if (state === 'absent') dangling.push(p);
      else if (state === 'foreground') waiting.push(p);
      else if (state === 'present') solid.push(p);
      else return; // an owner of a kind we cannot resolve: leave the object alone
    }
    if (solid.length) {
      if (dangling.length || waiting.length) {
        const keep = n.owners.filter((o) => !dangling.some((d) => d.uid === o.uid) && !waiting.some((w) => w.uid === o.uid));
        await this.patchOwners(n, keep);
      }
      return;
    }
    // Every owner is gone or going: delete, in the foreground if an owner waits on us and we have dependents.
    const policy = waiting.length && this.dependentsOf(uid).size ? 'Foreground' : 'Background';
    try {
      await this.mgr.client.delete(n.ref, n.ref.name, n.ref.namespace, { propagationPolicy: policy, preconditions: { uid } });
    } catch (e) {
      if (!(e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
    }
  }

  /** `present`, `absent` (confirmed with the API), `foreground` (being deleted, waiting on dependents), or `unknown` kind. */
  private async ownerState(n: GraphNode, p: OwnerReference): Promise<'present' | 'absent' | 'foreground' | 'unknown'> {
    const g = this.graph.get(p.uid);
    if (g) return g.deleting && g.finalizers.includes(FINALIZER_FOREGROUND) ? 'foreground' : 'present';
    let info: ResourceInfo;
    try {
      info = await this.mgr.client.info({ apiVersion: p.apiVersion, kind: p.kind });
    } catch {
      return 'unknown';
    }
    try {
      const owner = await this.mgr.client.get(p, p.name, info.namespaced ? n.ref.namespace : undefined);
      if (owner.metadata.uid !== p.uid) return 'absent';
      return owner.metadata.deletionTimestamp && (owner.metadata.finalizers ?? []).includes(FINALIZER_FOREGROUND) ? 'foreground' : 'present';
    } catch (e) {
      if (isNotFound(e)) return 'absent';
      throw e;
    }
  }

  private async patchOwners(n: GraphNode, owners: OwnerReference[]): Promise<void> {
    try {
      await this.mgr.client.patch(n.ref, n.ref.name, n.ref.namespace, 'merge', { metadata: { ownerReferences: owners.length ? owners : null } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Foreground deletion: delete the dependents, and drop the finalizer once the blocking ones are gone. */
  private async foreground(n: GraphNode): Promise<void> {
    let blocking = 0;
    for (const dUid of [...this.dependentsOf(n.ref.uid)]) {
      const d = this.graph.get(dUid);
      if (!d) continue;
      const ref = d.owners.find((o) => o.uid === n.ref.uid);
      if (ref?.blockOwnerDeletion) blocking++;
      if (!d.deleting) {
        try {
          await this.mgr.client.delete(d.ref, d.ref.name, d.ref.namespace, { propagationPolicy: this.dependentsOf(dUid).size ? 'Foreground' : 'Background', preconditions: { uid: dUid } });
        } catch (e) {
          if (!(e instanceof StatusError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
        }
      }
    }
    if (blocking === 0) await this.removeFinalizer(n, FINALIZER_FOREGROUND);
  }

  /** Orphan deletion: remove our owner reference from every dependent, then the finalizer. */
  private async orphanDependents(n: GraphNode): Promise<void> {
    for (const dUid of [...this.dependentsOf(n.ref.uid)]) {
      const d = this.graph.get(dUid);
      if (!d) continue;
      await this.patchOwners(d, d.owners.filter((o) => o.uid !== n.ref.uid));
    }
    await this.removeFinalizer(n, FINALIZER_ORPHAN);
  }

  private async removeFinalizer(n: GraphNode, finalizer: string): Promise<void> {
    try {
      await this.mgr.client.modify(n.ref, n.ref.name, n.ref.namespace, (o) => {
        if (o.metadata.uid !== n.ref.uid || !(o.metadata.finalizers ?? []).includes(finalizer)) return undefined;
        return { ...o, metadata: { ...o.metadata, finalizers: o.metadata.finalizers!.filter((f) => f !== finalizer) } };
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

function refOf(o: KubeObject): GraphNode['ref'] {
  return {
    apiVersion: o.apiVersion!,
    kind: o.kind!,
    name: o.metadata.name!,
    uid: o.metadata.uid!,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
  };
}
