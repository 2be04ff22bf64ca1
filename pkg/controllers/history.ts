/**
 * Controller history (pkg/controller/history): StatefulSets and DaemonSets keep every pod
 * template they have run as an immutable `apps/v1 ControllerRevision` named
 * `<owner>-<hash>`, whose `data` is the template patch (`{"spec":{"template":{…,"$patch":"replace"}}}`)
 * and whose `revision` counts up. Pods carry the hash in their `controller-revision-hash` label,
 * which is how a rolling update tells old pods from new.
 */
import { isAlreadyExists, isNotFound } from '../api/errors.js';
import { clone, controllerRef, deepEqual, ownerRef } from '../api/meta.js';
import type { KubeObject, PodTemplateSpec } from '../api/types.js';
import { Kinds } from '../client/client.js';
import type { ReconcileContext } from '../runtime/manager.js';
import { templateHash } from './deployment/deployment.js';
import type { ControllerRevision } from './types.js';

export const CONTROLLER_REVISION_HASH = 'controller-revision-hash';

/** The revision data of a template, as Kubernetes stores it. */
export function revisionData(template: PodTemplateSpec): unknown {
  return { spec: { template: { ...clone(template), $patch: 'replace' } } };
}

/** The template stored in a revision. */
export function templateOf(rev: ControllerRevision): PodTemplateSpec | undefined {
  const t = (rev.data as { spec?: { template?: PodTemplateSpec & { $patch?: string } } } | undefined)?.spec?.template;
  if (!t) return undefined;
  const { $patch: _p, ...rest } = t;
  return rest as PodTemplateSpec;
}

/** Revisions owned by `owner` (by controller uid), oldest revision first. */
export function ownedRevisions(all: ControllerRevision[], owner: KubeObject): ControllerRevision[] {
  return all.filter((r) => controllerRef(r)?.uid === owner.metadata.uid).sort((a, b) => a.revision - b.revision);
}

/**
 * The revision of `owner`'s current template: an existing one with an equal template (moved to
 * the highest revision number if it is not the newest, as a rollback does), or a new one. Returns
 * the revision object.
 */
export async function ensureRevision(ctx: ReconcileContext, owner: KubeObject, template: PodTemplateSpec, revisions: ControllerRevision[], collisionCount = 0): Promise<ControllerRevision> {
  const data = revisionData(template);
  const max = revisions.reduce((m, r) => Math.max(m, r.revision), 0);
  const equal = revisions.filter((r) => deepEqual(r.data, data));
  if (equal.length) {
    const newest = equal.reduce((a, b) => (a.revision >= b.revision ? a : b));
    if (newest.revision === max) return newest;
    // A rollback to an old template: it becomes the newest revision again.
    return (await ctx.client.patch<ControllerRevision>(Kinds.ControllerRevision, newest.metadata.name!, newest.metadata.namespace, 'merge', { revision: max + 1 })) as ControllerRevision;
  }
  const hash = templateHash(template, collisionCount);
  const rev: ControllerRevision = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: `${owner.metadata.name}-${hash}`,
      namespace: owner.metadata.namespace!,
      labels: { ...((owner.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {}), [CONTROLLER_REVISION_HASH]: hash },
      ownerReferences: [ownerRef(owner)],
    },
    data,
    revision: max + 1,
  };
  try {
    return await ctx.client.create(rev);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const existing = await ctx.client.get<ControllerRevision>(Kinds.ControllerRevision, rev.metadata.name!, rev.metadata.namespace);
    if (controllerRef(existing)?.uid === owner.metadata.uid && deepEqual(existing.data, data)) return existing;
    // A hash collision with a different template: try the next collision count.
    return ensureRevision(ctx, owner, template, revisions, collisionCount + 1);
  }
}

/** The hash part of a revision name (`web-7b9c8d` → `7b9c8d`). */
export function revisionHash(rev: ControllerRevision): string {
  return rev.metadata.labels?.[CONTROLLER_REVISION_HASH] ?? rev.metadata.name!.slice(rev.metadata.name!.lastIndexOf('-') + 1);
}

/** Deletes the oldest revisions beyond `limit` that no pod and no status names (`live`). */
export async function truncateHistory(ctx: ReconcileContext, revisions: ControllerRevision[], live: Set<string>, limit: number): Promise<void> {
  const unused = revisions.filter((r) => !live.has(r.metadata.name!));
  for (const r of unused.slice(0, Math.max(0, unused.length - limit))) {
    try {
      await ctx.client.delete(Kinds.ControllerRevision, r.metadata.name!, r.metadata.namespace);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
