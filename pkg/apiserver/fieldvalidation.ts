/**
 * Field validation (https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation):
 * the fields of a request body that the kind's schema does not declare. With
 * `fieldValidation=Strict` the request fails (400 `strict decoding error: unknown field
 * "spec.foo"`), with `Warn` (the default) each unknown field comes back as a `Warning` header,
 * with `Ignore` nothing is said. Kinds without a schema (berth's own, custom resources) are not
 * checked here.
 */
import { badRequest } from '../api/errors.js';
import { isObject } from '../api/meta.js';
import type { SchemaNode } from './schema.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** Reads `fieldValidation`; absent means Warn. Throws BadRequest for any other value. */
export function parseFieldValidation(v: string | undefined): FieldValidation {
  if (v === undefined || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got: "${v}"`);
}

const DIRECTIVE = /^\$(patch|retainKeys)$|^\$setElementOrder\/|^\$deleteFromPrimitiveList\//;

/**
 * The paths of fields the schema does not declare (`spec.foo`, `spec.containers[0].bar`).
 * Strategic merge patch directives are allowed when `patch` is true.
 */
export function unknownFields(value: unknown, node: SchemaNode, patch = false, path = '', out: string[] = []): string[] {
  if (node.unknown) return out;
  if (Array.isArray(value)) {
    if (node.shape !== 'list') return out;
    value.forEach((v, i) => unknownFields(v, node.items, patch, `${path}[${i}]`, out));
    return out;
  }
  if (!isObject(value)) return out;
  const shape = node.shape;
  if (shape !== 'struct' && shape !== 'map') return out;
  for (const [k, v] of Object.entries(value)) {
    if (patch && DIRECTIVE.test(k)) continue;
    const child = node.field(k);
    const p = shape === 'map' ? `${path}[${k}]` : path ? `${path}.${k}` : k;
    if (!child) {
      out.push(p);
      continue;
    }
    unknownFields(v, child, patch, p, out);
  }
  return out;
}

/** The strict decoding error text Kubernetes gives for these fields. */
export function strictMessage(fields: string[]): string {
  return `strict decoding error: ${fields.map((f) => `unknown field "${f}"`).join(', ')}`;
}
