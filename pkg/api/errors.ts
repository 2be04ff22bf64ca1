import type { Status, StatusCause, StatusDetails } from './types.js';

/**
 * The one catalogue of API errors. Each is a `metav1.Status` with a stable `reason` and HTTP
 * `code`, exactly as Kubernetes returns them
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#status-codes), so kubectl prints
 * `Error from server (NotFound): pods "web" not found`. Callers match on `reason`, never on text.
 */
export class StatusError extends Error {
  readonly status: Status;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'StatusError';
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
    if (details) this.status.details = details;
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): string {
    return this.status.reason ?? '';
  }

  /** Rebuilds the error from a Status received over the wire. */
  static fromStatus(s: Partial<Status> & { code?: number }): StatusError {
    return new StatusError(s.code ?? 500, s.reason ?? 'InternalError', s.message ?? 'unknown error', s.details);
  }
}

/** A group-qualified resource for messages: `pods`, `deployments.apps`. */
function qualified(resource: string, group?: string): string {
  return group ? `${resource}.${group}` : resource;
}

/** Thrown when an object does not exist (404 NotFound). */
export function notFound(resource: string, name: string, group?: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, {
    name,
    kind: resource,
    ...(group ? { group } : {}),
  });
}

/** Thrown for a path the server does not serve (404 NotFound with the generic message). */
export function noSuchResource(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

/** Thrown when creating an object whose name is taken (409 AlreadyExists). */
export function alreadyExists(resource: string, name: string, group?: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, {
    name,
    kind: resource,
    ...(group ? { group } : {}),
  });
}

/** Thrown when an update's resourceVersion is stale (409 Conflict). */
export function conflict(resource: string, name: string, group?: string, why?: string): StatusError {
  const reasonText = why ?? 'the object has been modified; please apply your changes to the latest version and try again';
  return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${reasonText}`, {
    name,
    kind: resource,
    ...(group ? { group } : {}),
  });
}

/** A field error, built like Kubernetes's `field.Invalid` / `field.Required`. */
export interface FieldError {
  /** `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueDuplicate`, `FieldValueForbidden`. */
  type: string;
  field: string;
  /** What to print after the field: `Invalid value: -1: must be greater than or equal to 0`. */
  detail: string;
}

export function fieldInvalid(field: string, value: unknown, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, detail: `Invalid value: ${formatValue(value)}: ${detail}` };
}

export function fieldRequired(field: string, detail = ''): FieldError {
  return { type: 'FieldValueRequired', field, detail: detail ? `Required value: ${detail}` : 'Required value' };
}

export function fieldNotSupported(field: string, value: unknown, supported: string[]): FieldError {
  return {
    type: 'FieldValueNotSupported',
    field,
    detail: `Unsupported value: ${formatValue(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
  };
}

export function fieldDuplicate(field: string, value: unknown): FieldError {
  return { type: 'FieldValueDuplicate', field, detail: `Duplicate value: ${formatValue(value)}` };
}

export function fieldForbidden(field: string, detail: string): FieldError {
  return { type: 'FieldValueForbidden', field, detail: `Forbidden: ${detail}` };
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'null';
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/**
 * Thrown when an object fails validation (422 Invalid). kubectl prints
 * `The Deployment "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`.
 */
export function invalid(kind: string, name: string, errors: FieldError[], group?: string): StatusError {
  const causes: StatusCause[] = errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field }));
  const list = errors.map((e) => `${e.field}: ${e.detail}`);
  const joined = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new StatusError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${joined}`, {
    name,
    kind,
    ...(group ? { group } : {}),
    causes,
  });
}

/** Thrown for a malformed request (400 BadRequest). */
export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

/** Thrown when the caller may not do this (403 Forbidden). */
export function forbidden(resource: string, name: string, why: string): StatusError {
  return new StatusError(403, 'Forbidden', `${resource} "${name}" is forbidden: ${why}`, { name, kind: resource });
}

/** Thrown for a verb a resource does not support (405 MethodNotAllowed). */
export function methodNotSupported(resource: string, verb: string): StatusError {
  return new StatusError(405, 'MethodNotAllowed', `${verb} is not supported on resources of kind "${resource}"`, { kind: resource });
}

/** Thrown when a watch or list asks for a revision that has been compacted (410 Expired). */
export function expired(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

/** Thrown for a body the server cannot decode (415 UnsupportedMediaType). */
export function unsupportedMediaType(contentType: string): StatusError {
  return new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got ${contentType})`);
}

/** Thrown when a namespace is being deleted (403 Forbidden as Kubernetes's NamespaceLifecycle). */
export function namespaceTerminating(namespace: string, resource: string, name: string): StatusError {
  return new StatusError(403, 'Forbidden', `${resource} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, { name, kind: resource });
}

/** Thrown on an unexpected failure (500 InternalError). */
export function internalError(message: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);
}

/** True for a StatusError with the given reason. */
export function isReason(err: unknown, reason: string): boolean {
  return err instanceof StatusError && err.reason === reason;
}

export const isNotFound = (err: unknown): boolean => isReason(err, 'NotFound');
export const isConflict = (err: unknown): boolean => isReason(err, 'Conflict');
export const isAlreadyExists = (err: unknown): boolean => isReason(err, 'AlreadyExists');
