/**
 * Field selectors (https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/):
 * `metadata.name=web,status.phase!=Running`. Only `=`, `==` and `!=`; each resource lists the
 * fields it supports, and any other gives `400 field label not supported`.
 */
import { badRequest } from '../api/errors.js';
import type { ResourceInfo } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';

export interface FieldRequirement {
  field: string;
  equals: boolean;
  value: string;
}

/** Parses a field selector, checking each field against what `r` supports. Throws BadRequest. */
export function parseFieldSelector(input: string | undefined, r: ResourceInfo): FieldRequirement[] {
  if (!input) return [];
  const out: FieldRequirement[] = [];
  for (const part of input.split(',')) {
    const term = part.trim();
    if (!term) continue;
    const m = /^([^=!]+?)\s*(==|!=|=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${input}'; can't understand '${term}'`);
    const field = m[1]!.trim();
    if (!isSelectable(field, r)) throw badRequest(`field label not supported: ${field}`);
    out.push({ field, equals: m[2] !== '!=', value: m[3]!.trim() });
  }
  return out;
}

function isSelectable(field: string, r: ResourceInfo): boolean {
  return field === 'metadata.name' || (field === 'metadata.namespace' && r.namespaced) || r.selectableFields.includes(field);
}

/** The string value of a selectable field, as Kubernetes's field-label conversion gives it. */
export function fieldValue(obj: KubeObject, path: string): string {
  if (path === 'spec.unschedulable') return String(Boolean((obj.spec as { unschedulable?: boolean } | undefined)?.unschedulable));
  if (path === 'source' && obj.kind === 'Event') return (obj.source as { component?: string } | undefined)?.component ?? '';
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

export function matchesFields(obj: KubeObject, reqs: FieldRequirement[]): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if ((v === r.value) !== r.equals) return false;
  }
  return true;
}
