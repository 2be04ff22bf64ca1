/**
 * Small helpers operators use over and over, in controller-runtime's controllerutil style:
 * finalizers, controller owner references, and create-or-update. All write through a Client, so
 * they behave the same in-process and over HTTP; writes retry on Conflict with a fresh copy.
 */
import { isNotFound } from '../api/errors.js';
import { clone, deepEqual, ownerRef } from '../api/meta.js';
import type { KubeObject } from '../api/types.js';
import type { Client } from '../client/client.js';

/** True if `obj` carries the finalizer. */
export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return (obj.metadata.finalizers ?? []).includes(finalizer);
}

/**
 * Adds a finalizer to the stored object (if missing) and returns the stored object. Throws
 * NotFound if it is gone.
 */
export async function addFinalizer<T extends KubeObject>(client: Client, obj: T, finalizer: string): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  const out = await client.modify<T>(refOf(obj), obj.metadata.name!, obj.metadata.namespace, (cur) => {
    if (hasFinalizer(cur, finalizer) || cur.metadata.deletionTimestamp) return undefined;
    return { ...cur, metadata: { ...cur.metadata, finalizers: [...(cur.metadata.finalizers ?? []), finalizer] } };
  });
  return out ?? obj;
}

/**
 * Removes a finalizer from the stored object (the object goes if it was being deleted and this
 * was its last finalizer). NotFound counts as done.
 */
export async function removeFinalizer(client: Client, obj: KubeObject, finalizer: string): Promise<void> {
  try {
    await client.modify(refOf(obj), obj.metadata.name!, obj.metadata.namespace, (cur) => {
      if (!hasFinalizer(cur, finalizer) || cur.metadata.uid !== obj.metadata.uid) return undefined;
      return { ...cur, metadata: { ...cur.metadata, finalizers: cur.metadata.finalizers!.filter((f) => f !== finalizer) } };
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/**
 * Makes `owner` the controller of `obj` (in memory), with blockOwnerDeletion, as
 * controllerutil.SetControllerReference does: deleting the owner then deletes `obj`. Throws Error
 * if another object already controls it, or if the owner is cluster-scoped-incompatible (a
 * namespaced owner of an object in another namespace).
 */
export function setControllerReference(owner: KubeObject, obj: KubeObject): void {
  if (owner.metadata.namespace && obj.metadata.namespace && owner.metadata.namespace !== obj.metadata.namespace) {
    throw new Error(`cross-namespace owner references are disallowed: owner's namespace ${owner.metadata.namespace}, obj's namespace ${obj.metadata.namespace}`);
  }
  const refs = obj.metadata.ownerReferences ?? [];
  const other = refs.find((r) => r.controller && r.uid !== owner.metadata.uid);
  if (other) throw new Error(`Object ${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''} is already owned by another ${other.kind} controller ${other.name}`);
  obj.metadata.ownerReferences = [...refs.filter((r) => r.uid !== owner.metadata.uid), ownerRef(owner)];
}

export type OperationResult = 'created' | 'updated' | 'unchanged';

/**
 * Creates `obj` or brings the stored one in line (controllerutil.CreateOrUpdate): `mutate` is
 * called on the existing object (or on `obj` when creating) and sets what this controller
 * manages; the object is written only if that changed something. Retries on Conflict.
 */
export async function createOrUpdate<T extends KubeObject>(client: Client, obj: T, mutate: (o: T) => void): Promise<{ object: T; operation: OperationResult }> {
  const ref = refOf(obj);
  for (let attempt = 0; ; attempt++) {
    const existing = await client.tryGet<T>(ref, obj.metadata.name!, obj.metadata.namespace);
    if (!existing) {
      const fresh = clone(obj);
      mutate(fresh);
      try {
        return { object: await client.create(fresh), operation: 'created' };
      } catch (e) {
        if ((e as { reason?: string }).reason === 'AlreadyExists' && attempt < 5) continue;
        throw e;
      }
    }
    const next = clone(existing);
    mutate(next);
    if (deepEqual(next, existing)) return { object: existing, operation: 'unchanged' };
    try {
      return { object: await client.update(next), operation: 'updated' };
    } catch (e) {
      if ((e as { reason?: string }).reason === 'Conflict' && attempt < 5) continue;
      throw e;
    }
  }
}

function refOf(obj: KubeObject): { apiVersion: string; kind: string } {
  if (!obj.apiVersion || !obj.kind) throw new Error('the object must name its apiVersion and kind');
  return { apiVersion: obj.apiVersion, kind: obj.kind };
}
