/**
 * Field validation (https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation):
 * the fields of a request body that the kind's schema does not declare. With
 * `fieldValidation=Strict` the request fails (400 `strict decoding error: unknown field
 * "spec.foo"`), with `Warn` (the default) each unknown field comes back as a `Warning` header,
 * with `Ignore` nothing is said; under Warn and Ignore the unknown fields are dropped, never
 * stored. Values of the wrong JSON type (`replicas: "three"`) are refused whatever the mode, as
 * Kubernetes's decoder refuses them ({@link checkTypes}, called by the ObjectStore). Kinds
 * without a schema (berth's own, custom resources) are not checked here.
 */
import { badRequest } from '../api/errors.js';
import { clone, isObject } from '../api/meta.js';
import { isQuantity, QUANTITY_FORMAT_ERROR } from '../api/quantity.js';
import { schemaNodeFor, type SchemaNode } from './schema.js';

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

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
  // Path segments are kept as keys and kinds and joined only for an unknown field (the walk runs
  // on every write, in-process ones included, and almost never finds one).
  const keys: (string | number)[] = [];
  const kinds: Seg[] = [];
  walkUnknown(value, node, patch, path, keys, kinds, out);
  return out;
}

/** How a path segment prints: `.name` (a struct field) or `[key]` (a map key, a list index). */
type Seg = 0 | 1;
const Seg = { Field: 0, Key: 1 } as const;

function joinPath(root: string, keys: (string | number)[], kinds: Seg[]): string {
  let p = root;
  for (let i = 0; i < keys.length; i++) p += kinds[i] === Seg.Field ? (p ? `.${keys[i]}` : String(keys[i])) : `[${keys[i]}]`;
  return p;
}

function walkUnknown(value: unknown, node: SchemaNode, patch: boolean, root: string, keys: (string | number)[], kinds: Seg[], out: string[]): void {
  if (node.unknown) return;
  if (Array.isArray(value)) {
    if (node.shape !== 'list') return;
    const items = node.items;
    for (let i = 0; i < value.length; i++) {
      keys.push(i);
      kinds.push(Seg.Key);
      walkUnknown(value[i], items, patch, root, keys, kinds, out);
      keys.pop();
      kinds.pop();
    }
    return;
  }
  if (!isObject(value)) return;
  const shape = node.shape;
  if (shape !== 'struct' && shape !== 'map') return;
  const kind: Seg = shape === 'map' ? Seg.Key : Seg.Field;
  for (const k in value) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
    if (patch && DIRECTIVE.test(k)) continue;
    const child = node.field(k);
    keys.push(k);
    kinds.push(kind);
    if (!child) out.push(joinPath(root, keys, kinds));
    else walkUnknown((value as Record<string, unknown>)[k], child, patch, root, keys, kinds, out);
    keys.pop();
    kinds.pop();
  }
}

/**
 * Removes the fields the schema does not declare from `value` (in place), as Kubernetes's decoder
 * drops them under `fieldValidation=Warn|Ignore`: they are never stored. Strategic merge patch
 * directives stay when `patch` is true.
 */
export function dropUnknownFields(value: unknown, node: SchemaNode, patch = false): void {
  if (node.unknown) return;
  if (Array.isArray(value)) {
    if (node.shape === 'list') for (const v of value) dropUnknownFields(v, node.items, patch);
    return;
  }
  if (!isObject(value)) return;
  const shape = node.shape;
  if (shape !== 'struct' && shape !== 'map') return;
  for (const [k, v] of Object.entries(value)) {
    if (patch && DIRECTIVE.test(k)) continue;
    const child = node.field(k);
    if (!child) delete (value as Record<string, unknown>)[k];
    else dropUnknownFields(v, child, patch);
  }
}

/** The strict decoding error text Kubernetes gives for these fields. */
export function strictMessage(fields: string[]): string {
  return `strict decoding error: ${fields.map((f) => `unknown field "${f}"`).join(', ')}`;
}

/** The JSON kind of a value as Go's encoding/json names it in an UnmarshalTypeError. */
function jsonKind(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

/** The Go type of a schema node as Kubernetes's decoder prints it: `int32`, `[]v1.Container`, `map[string]string`. */
function goType(node: SchemaNode): string {
  const s = node.resolvedSchema;
  const def = node.definitionName;
  if (def && s?.properties) return def.split('.').slice(-2).join('.');
  switch (node.shape) {
    case 'list':
      return `[]${goType(node.items)}`;
    case 'map':
      return `map[string]${goType(node.field('x')!)}`;
    case 'struct':
      return def ? def.split('.').slice(-2).join('.') : 'struct';
    default:
      break;
  }
  if (s?.type === 'integer') return s.format === 'int64' ? 'int64' : 'int32';
  if (s?.type === 'number') return 'float64';
  if (s?.type === 'boolean') return 'bool';
  if (def) return def.split('.').slice(-2).join('.');
  return 'string';
}

const INT_RANGE: Record<string, [number, number]> = { int32: [-2147483648, 2147483647], int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] };

/**
 * The first value whose JSON type the schema does not allow (a string where `int32` is declared,
 * an object where a list is), as the text Kubernetes's JSON decoder gives for it:
 * `json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`
 * (the path without list indexes, the struct being the innermost one holding the field). `null`
 * is accepted anywhere (Go decodes it as the zero value); fields the schema does not declare are
 * left to {@link unknownFields}. Undefined when every value fits.
 */
export function typeMismatch(value: unknown, root: SchemaNode, rootType: string): string | undefined {
  // Runs on every write: the path is kept as a stack of field names and joined only for the error,
  // and objects are walked with for…in, so a body that fits allocates nothing here.
  const path: string[] = [];
  const where = (v: unknown, node: SchemaNode, struct: string): string => {
    const p = path.join('.');
    return `json: cannot unmarshal ${jsonKind(v)}${typeof v === 'number' ? ` ${v}` : ''} into Go ${p ? `struct field ${struct}.${p}` : 'value'} of type ${goType(node)}`;
  };
  const walk = (v: unknown, node: SchemaNode, struct: string): string | undefined => {
    if (v === null || v === undefined || node.unknown) return undefined;
    const s = node.resolvedSchema;
    if (s && (s['x-kubernetes-int-or-string'] || Array.isArray(s.oneOf) || Array.isArray(s.anyOf))) {
      // IntOrString and Quantity: a number or a string; a Quantity's string must parse
      // (resource.Quantity's UnmarshalJSON fails the whole decode with ErrFormatWrong).
      if (typeof v === 'string' && node.definitionName === QUANTITY && !isQuantity(v)) return QUANTITY_FORMAT_ERROR;
      return typeof v === 'number' || typeof v === 'string' ? undefined : where(v, node, struct);
    }
    switch (node.shape) {
      case 'list':
        if (!Array.isArray(v)) return where(v, node, struct);
        for (let i = 0; i < v.length; i++) {
          const e = walk(v[i], node.items, struct);
          if (e) return e;
        }
        return undefined;
      case 'struct':
      case 'map': {
        if (!isObject(v)) return where(v, node, struct);
        const isStruct = node.shape === 'struct';
        const inner = isStruct && node.definitionName ? structName(node.definitionName) : struct;
        // A struct's fields go into the path; a map's keys do not (the path names the map field).
        for (const k in v) {
          if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
          const child = node.field(k);
          if (!child) continue;
          if (isStruct) path.push(k);
          const e = walk(v[k], child, inner);
          if (isStruct) path.pop();
          if (e) return e;
        }
        return undefined;
      }
      default:
        break;
    }
    switch (s?.type) {
      case 'string':
        return typeof v === 'string' ? undefined : where(v, node, struct);
      case 'boolean':
        return typeof v === 'boolean' ? undefined : where(v, node, struct);
      case 'number':
        return typeof v === 'number' ? undefined : where(v, node, struct);
      case 'integer': {
        if (typeof v !== 'number') return where(v, node, struct);
        const [lo, hi] = INT_RANGE[s.format === 'int32' ? 'int32' : 'int64']!;
        return Number.isInteger(v) && v >= lo && v <= hi ? undefined : where(v, node, struct);
      }
      default:
        return undefined;
    }
  };
  // The root is the kind itself: its fields are reported against its own name (`Deployment.spec`).
  if (!isObject(value) || root.unknown) return undefined;
  for (const k in value) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
    const child = root.field(k);
    if (!child) continue;
    path.push(k);
    const e = walk(value[k], child, rootType);
    path.pop();
    if (e) return e;
  }
  return undefined;
}

/** `io.k8s.api.apps.v1.DeploymentSpec` → `DeploymentSpec`, memoized (asked for every struct of every write). */
const structNames = new Map<string, string>();
function structName(def: string): string {
  let n = structNames.get(def);
  if (n === undefined) structNames.set(def, (n = def.slice(def.lastIndexOf('.') + 1)));
  return n;
}

/**
 * Throws BadRequest, as Kubernetes answers a body it cannot decode
 * (`Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string
 * into Go struct field DeploymentSpec.spec.replicas of type int32`), when a value of `obj` has a
 * JSON type the kind's schema does not allow. Kinds without a built-in schema are not checked.
 */
export function checkTypes(r: { group: string; version: string; kind: string }, obj: unknown): void {
  const node = schemaNodeFor(r);
  if (node.unknown) return;
  const e = typeMismatch(obj, node, r.kind);
  if (e) throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${e}`);
}

/**
 * Applies `fieldValidation` to a write's body, as kube-apiserver's decoder does whichever way the
 * request came (HTTP or the in-process transport): Strict throws BadRequest naming the unknown
 * fields (a create/update's message names the kind: `Deployment in version "v1" cannot be handled
 * as a Deployment: strict decoding error: unknown field "spec.foo"`); Warn and Ignore return the
 * body without them (a copy: the caller's object is left alone) and, for Warn, the warning texts
 * (`unknown field "spec.foo"`). `patch` is true for merge and strategic patches (their
 * directives are allowed); JSON patches are not checked.
 */
export function applyFieldValidation<T>(r: { group: string; version: string; kind: string }, body: T, mode: FieldValidation, patch: boolean): { body: T; warnings: string[] } {
  const node = schemaNodeFor(r);
  if (node.unknown) return { body, warnings: [] };
  const fields = unknownFields(body, node, patch);
  if (!fields.length) return { body, warnings: [] };
  if (mode === 'Strict') throw badRequest(patch ? strictMessage(fields) : `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${strictMessage(fields)}`);
  const copy = clone(body);
  dropUnknownFields(copy, node, patch);
  return { body: copy, warnings: mode === 'Warn' ? fields.map((f) => `unknown field ${JSON.stringify(f)}`) : [] };
}
