/**
 * Structural schemas of CustomResourceDefinitions
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
 * pruning of unknown fields, defaulting, and validation with a JSON-schema library (Ajv),
 * reporting errors as the Kubernetes API server words them, e.g.
 * `spec.size: Unsupported value: "XL": supported values: "S", "M", "L"`.
 *
 * What is supported: `type`, `properties`, `required`, `items`, `additionalProperties`, `enum`,
 * `pattern`, `minimum`/`maximum` (and exclusive), `minLength`/`maxLength`, `minItems`/`maxItems`,
 * `uniqueItems`, `multipleOf`, `nullable`, `default`, `allOf`/`anyOf`/`oneOf`/`not`,
 * `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-int-or-string`,
 * `x-kubernetes-embedded-resource`. Not supported: CEL rules (`x-kubernetes-validations`), which
 * are accepted and ignored, and `format` checks.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../api/errors.js';
import { isObject } from '../api/meta.js';
import type { KubeObject } from '../api/types.js';

/** An OpenAPI v3 schema as a CRD writes it. */
export type JSONSchemaProps = Record<string, unknown> & {
  type?: string;
  properties?: Record<string, JSONSchemaProps>;
  items?: JSONSchemaProps;
  additionalProperties?: boolean | JSONSchemaProps;
  required?: string[];
  default?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
};

const ajv = new Ajv({ strict: false, allErrors: true, useDefaults: true, validateFormats: false, validateSchema: false, verbose: true });

/** The Ajv schema for a CRD schema: int-or-string as a type union, the object's own metadata left to the API server. */
function toAjv(s: JSONSchemaProps, root: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-kubernetes-') || k === 'format' || k === 'description' || k === 'example' || k === 'externalDocs') continue;
    if (k === 'properties' && isObject(v)) {
      const props: Record<string, unknown> = {};
      for (const [pk, pv] of Object.entries(v)) {
        if (root && (pk === 'metadata' || pk === 'apiVersion' || pk === 'kind')) continue;
        props[pk] = toAjv(pv as JSONSchemaProps, false);
      }
      out.properties = props;
    } else if (k === 'items' && isObject(v)) out.items = toAjv(v as JSONSchemaProps, false);
    else if (k === 'additionalProperties' && isObject(v)) out.additionalProperties = toAjv(v as JSONSchemaProps, false);
    else if ((k === 'allOf' || k === 'anyOf' || k === 'oneOf') && Array.isArray(v)) out[k] = v.map((x) => toAjv(x as JSONSchemaProps, false));
    else if (k === 'not' && isObject(v)) out.not = toAjv(v as JSONSchemaProps, false);
    else if (k === 'required' && Array.isArray(v) && root) out.required = v.filter((x) => x !== 'metadata' && x !== 'apiVersion' && x !== 'kind');
    else out[k] = v;
  }
  if (s['x-kubernetes-int-or-string']) {
    delete out.type;
    out.anyOf = [...((out.anyOf as unknown[]) ?? []), { type: 'integer' }, { type: 'string' }];
  }
  // Kubernetes treats `number` as including integers, and `nullable` as allowing null.
  if (s.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  delete out.nullable;
  return out;
}

/**
 * Removes fields the schema does not specify (pruning), in place. Objects under
 * `x-kubernetes-preserve-unknown-fields` keep unknown fields; embedded resources keep
 * apiVersion, kind and metadata; the root keeps apiVersion, kind and metadata.
 */
export function prune(value: unknown, s: JSONSchemaProps | undefined, root = false): void {
  if (!s) return;
  if (Array.isArray(value)) {
    if (s.items) for (const v of value) prune(v, s.items);
    return;
  }
  if (!isObject(value)) return;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  const keep = root || s['x-kubernetes-embedded-resource'] ? new Set(['apiVersion', 'kind', 'metadata']) : new Set<string>();
  const props = s.properties;
  const additional = s.additionalProperties;
  for (const key of Object.keys(value)) {
    const sub = props?.[key];
    if (sub) {
      if (!(root && key === 'metadata')) prune(value[key], sub);
      continue;
    }
    if (keep.has(key)) continue;
    if (isObject(additional)) {
      prune(value[key], additional as JSONSchemaProps);
      continue;
    }
    if (additional === true || preserve) continue;
    delete value[key];
  }
}

/**
 * The fields pruning would remove, as paths (`spec.sleeves`, `spec.items[0].x`), for
 * `fieldValidation=Strict|Warn` (`unknown field "spec.sleeves"`). Does not change `value`.
 */
export function unknownFields(value: unknown, s: JSONSchemaProps | undefined, path = '', root = true): string[] {
  if (!s) return [];
  const out: string[] = [];
  if (Array.isArray(value)) {
    if (s.items) value.forEach((v, i) => out.push(...unknownFields(v, s.items, `${path}[${i}]`, false)));
    return out;
  }
  if (!isObject(value)) return out;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  const keep = root || s['x-kubernetes-embedded-resource'] ? new Set(['apiVersion', 'kind', 'metadata']) : new Set<string>();
  for (const key of Object.keys(value)) {
    const p = path ? `${path}.${key}` : key;
    const sub = s.properties?.[key];
    if (sub) {
      if (!(root && key === 'metadata')) out.push(...unknownFields(value[key], sub, p, false));
    } else if (keep.has(key)) continue;
    else if (isObject(s.additionalProperties)) out.push(...unknownFields(value[key], s.additionalProperties as JSONSchemaProps, p, false));
    else if (s.additionalProperties !== true && !preserve) out.push(p);
  }
  return out;
}

/** A JSON pointer (`/spec/items/0/name`) as a Kubernetes field path (`spec.items[0].name`). */
export function fieldPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function valueAt(obj: unknown, pointer: string): unknown {
  let cur: unknown = obj;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** One Ajv error in the Kubernetes API server's words (kube-openapi validate errors). */
export function toFieldError(e: ErrorObject, data: unknown): FieldError | undefined {
  const path = fieldPath(e.instancePath);
  const value = valueAt(data, e.instancePath);
  const p = e.params as Record<string, unknown>;
  const at = path || '<root>';
  switch (e.keyword) {
    case 'required':
      return fieldRequired(path ? `${path}.${String(p.missingProperty)}` : String(p.missingProperty));
    case 'enum':
      return fieldNotSupported(path, value, (p.allowedValues as unknown[]).map((x) => (typeof x === 'string' ? x : JSON.stringify(x))));
    case 'type':
      return fieldInvalid(path, typeName(value), `${at} in body must be of type ${Array.isArray(p.type) ? (p.type as string[]).filter((x) => x !== 'null').join(',') : String(p.type)}: "${typeName(value)}"`);
    case 'pattern':
      return fieldInvalid(path, value, `${at} in body should match '${String(p.pattern)}'`);
    case 'minimum':
      return fieldInvalid(path, value, `${at} in body should be greater than or equal to ${String(p.limit)}`);
    case 'maximum':
      return fieldInvalid(path, value, `${at} in body should be less than or equal to ${String(p.limit)}`);
    case 'exclusiveMinimum':
      return fieldInvalid(path, value, `${at} in body should be greater than ${String(p.limit)}`);
    case 'exclusiveMaximum':
      return fieldInvalid(path, value, `${at} in body should be less than ${String(p.limit)}`);
    case 'minLength':
      return fieldInvalid(path, value, `${at} in body should be at least ${String(p.limit)} chars long`);
    case 'maxLength':
      return { type: 'FieldValueTooLong', field: path, detail: `Too long: may not be more than ${String(p.limit)} bytes` };
    case 'minItems':
      return fieldInvalid(path, Array.isArray(value) ? value.length : value, `${at} in body should have at least ${String(p.limit)} items`);
    case 'maxItems':
      return { type: 'FieldValueTooMany', field: path, detail: `Too many: ${Array.isArray(value) ? value.length : '?'}: must have at most ${String(p.limit)} items` };
    case 'minProperties':
      return fieldInvalid(path, value, `${at} in body should have at least ${String(p.limit)} properties`);
    case 'maxProperties':
      return fieldInvalid(path, value, `${at} in body should have at most ${String(p.limit)} properties`);
    case 'uniqueItems':
      return { type: 'FieldValueDuplicate', field: `${path}[${String(p.j)}]`, detail: `Duplicate value: ${JSON.stringify((value as unknown[])?.[p.j as number])}` };
    case 'multipleOf':
      return fieldInvalid(path, value, `${at} in body should be a multiple of ${String(p.multipleOf)}`);
    case 'if':
      return undefined;
    default:
      return fieldInvalid(path, value, e.message ?? 'invalid');
  }
}

/** An anyOf/oneOf failure: int-or-string fields read as a type error, others as Kubernetes's generic message. */
function combinatorError(e: ErrorObject, data: unknown): FieldError {
  const path = fieldPath(e.instancePath);
  const value = valueAt(data, e.instancePath);
  const branches = ((e.parentSchema as { anyOf?: { type?: string }[] } | undefined)?.anyOf ?? []).map((b) => b.type);
  if (e.keyword === 'anyOf' && branches.includes('integer') && branches.includes('string')) {
    return fieldInvalid(path, typeName(value), `${path || '<root>'} in body must be of type integer,string: "${typeName(value)}"`);
  }
  return fieldInvalid(path, value, e.keyword === 'oneOf' ? 'must validate one and only one schema (oneOf)' : 'must validate at least one schema (anyOf)');
}

/** One version's compiled schema. */
export interface VersionSchema {
  schema: JSONSchemaProps;
  validate: ValidateFunction;
}

/**
 * Compiles a version's `openAPIV3Schema`. Throws Error with Ajv's message for a schema that
 * does not compile (a malformed pattern, say).
 */
export function compileSchema(schema: JSONSchemaProps): VersionSchema {
  return { schema, validate: ajv.compile(toAjv(schema, true)) };
}

/**
 * Prunes, defaults and validates a custom resource against its version's schema, in place.
 * Returns the field errors (empty if valid), one per field and kind of error.
 */
export function admitCustomResource(obj: KubeObject, vs: VersionSchema): FieldError[] {
  prune(obj, vs.schema, true);
  const { apiVersion: _a, kind: _k, metadata: _m, ...body } = obj;
  const ok = vs.validate(body);
  // Defaults Ajv filled in on the body go back onto the object.
  for (const [k, v] of Object.entries(body)) obj[k] = v;
  if (ok) return [];
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of vs.validate.errors ?? []) {
    // anyOf/oneOf report their branches' errors and then a summary; keep the summary only.
    if (e.keyword !== 'anyOf' && e.keyword !== 'oneOf' && (vs.validate.errors ?? []).some((x) => (x.keyword === 'anyOf' || x.keyword === 'oneOf') && e.schemaPath.startsWith(x.schemaPath) && x !== e)) continue;
    const fe = e.keyword === 'anyOf' || e.keyword === 'oneOf' ? combinatorError(e, body) : toFieldError(e, body);
    if (!fe) continue;
    const id = `${fe.field}|${fe.type}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(fe);
  }
  return out;
}

/**
 * Structural-schema checks the apiextensions API server makes of a CRD version's schema: a type
 * at the root (`object`) and on every specified property, unless it is int-or-string or
 * preserves unknown fields. Returns field errors under `base`.
 */
export function structuralErrors(schema: JSONSchemaProps | undefined, base: string): FieldError[] {
  const out: FieldError[] = [];
  if (!schema) return out;
  if (schema.type !== 'object') out.push(schema.type ? fieldNotSupported(`${base}.type`, schema.type, ['object']) : fieldRequired(`${base}.type`, 'must not be empty at the root'));
  const walk = (s: JSONSchemaProps, path: string): void => {
    for (const [k, sub] of Object.entries(s.properties ?? {})) {
      const p = `${path}.properties[${k}]`;
      if (!isObject(sub)) continue;
      if (!sub.type && !sub['x-kubernetes-int-or-string'] && !sub['x-kubernetes-preserve-unknown-fields']) out.push(fieldRequired(`${p}.type`, 'must not be empty for specified object fields'));
      walk(sub, p);
    }
    if (isObject(s.items)) {
      const it = s.items as JSONSchemaProps;
      if (!it.type && !it['x-kubernetes-int-or-string'] && !it['x-kubernetes-preserve-unknown-fields']) out.push(fieldRequired(`${path}.items.type`, 'must not be empty for specified array items'));
      walk(it, `${path}.items`);
    }
    if (isObject(s.additionalProperties)) walk(s.additionalProperties as JSONSchemaProps, `${path}.additionalProperties`);
  };
  walk(schema, base);
  try {
    compileSchema(schema);
  } catch (e) {
    out.push(fieldInvalid(base, '', `the schema does not compile: ${(e as Error).message}`));
  }
  return out;
}
