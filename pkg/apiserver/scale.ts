/**
 * The `scale` subresource (`autoscaling/v1 Scale`), read and written through the JSON paths a
 * resource declares (`ResourceInfo.scale`), the same way for Deployments, Auto Scaling groups and
 * custom resources.
 */
import { badRequest, invalid, fieldInvalid } from '../api/errors.js';
import { formatLabelSelector } from '../api/labels.js';
import { clone, isObject } from '../api/meta.js';
import type { ResourceInfo, ScalePaths } from '../api/resources.js';
import type { KubeObject, LabelSelector } from '../api/types.js';
import { simpleJsonPath } from './tables.js';

export interface Scale extends KubeObject {
  spec: { replicas?: number };
  status: { replicas: number; selector?: string };
}

/** The Scale view of an object. */
export function toScale(r: ResourceInfo, obj: KubeObject): Scale {
  const paths = r.scale!;
  const sel = paths.labelSelectorPath ? simpleJsonPath(obj, paths.labelSelectorPath) : undefined;
  const selector = typeof sel === 'string' ? sel : isObject(sel) ? formatLabelSelector(sel as LabelSelector) : undefined;
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, ...(namespace ? { namespace } : {}), uid, resourceVersion, creationTimestamp },
    spec: { replicas: Number(simpleJsonPath(obj, paths.specReplicasPath) ?? 0) },
    status: { replicas: Number(simpleJsonPath(obj, paths.statusReplicasPath) ?? 0), ...(selector && selector !== '<none>' ? { selector } : {}) },
  };
}

/**
 * The object with its replica count set from a Scale. Throws Invalid for a negative or
 * non-integer count, BadRequest for a Scale without spec.
 */
export function fromScale(r: ResourceInfo, obj: KubeObject, scale: KubeObject): KubeObject {
  const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
  if (replicas === undefined) throw badRequest('the Scale must set spec.replicas');
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw invalid('Scale', obj.metadata.name ?? '', [fieldInvalid('spec.replicas', replicas, 'must be greater than or equal to 0')], 'autoscaling');
  }
  const out = clone(obj);
  setPath(out, r.scale as ScalePaths, replicas);
  const rv = scale.metadata?.resourceVersion;
  if (rv) out.metadata.resourceVersion = rv;
  return out;
}

function setPath(obj: KubeObject, paths: ScalePaths, value: number): void {
  const parts = paths.specReplicasPath.replace(/^\./, '').split('.');
  let cur: Record<string, unknown> = obj;
  for (const p of parts.slice(0, -1)) {
    if (!isObject(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}
