/**
 * ECS placement strategies and constraints as pods carry them (JSON arrays in the
 * `ecs.berth.dev/placement-strategy` and `ecs.berth.dev/placement-constraints` annotations, in
 * the ECS API's shape: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PlacementStrategy.html,
 * API_PlacementConstraint.html), parsed and checked.
 */
import { parseQuery, QueryLanguageError, type Expr } from './query.js';

/** One strategy rule: `binpack` on `cpu` or `memory`; `spread` on `instanceId` (or `host`) or `attribute:<name>`; `random`. */
export interface PlacementStrategy {
  type: 'binpack' | 'spread' | 'random';
  field?: string;
}

/** One constraint: `distinctInstance`, or `memberOf` with a cluster query language expression. */
export interface PlacementConstraint {
  type: 'distinctInstance' | 'memberOf';
  expression?: string;
}

/** A strategy rule ready to apply: what it ranks nodes by. */
export type Strategy = { kind: 'binpack'; resource: 'cpu' | 'memory' } | { kind: 'spread-instance' } | { kind: 'spread-attribute'; attribute: string } | { kind: 'random' };

/** A pod's parsed placement: strategies in order (the first decides, later ones break ties), distinctInstance, memberOf expressions. */
export interface PlacementSpec {
  strategies: Strategy[];
  distinctInstance: boolean;
  memberOf: { expression: string; expr: Expr }[];
}

/** A malformed annotation; the message names the annotation, the rule's index and the field. */
export class PlacementSpecError extends Error {
  override name = 'PlacementSpecError';
}

/** ECS's limits: "a maximum of five strategy rules" and ten constraints per task or service (API_CreateService). */
export const MAX_STRATEGIES = 5;
export const MAX_CONSTRAINTS = 10;

function parseArray(raw: string, annotation: string): unknown[] {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new PlacementSpecError(`annotation ${annotation}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v)) throw new PlacementSpecError(`annotation ${annotation}: must be a JSON array`);
  return v;
}

/**
 * Parses the strategy annotation (`undefined`: none). Throws PlacementSpecError for malformed
 * JSON, an unknown type, a binpack field other than cpu/memory, a spread without a field, or more
 * than five rules.
 */
export function parseStrategies(raw: string | undefined, annotation = 'ecs.berth.dev/placement-strategy'): Strategy[] {
  if (raw === undefined) return [];
  const list = parseArray(raw, annotation);
  if (list.length > MAX_STRATEGIES) throw new PlacementSpecError(`annotation ${annotation}: ${list.length} strategy rules, at most ${MAX_STRATEGIES} are allowed`);
  return list.map((item, k) => {
    const where = `annotation ${annotation}[${k}]`;
    if (!item || typeof item !== 'object') throw new PlacementSpecError(`${where}: must be an object with "type" and "field"`);
    const { type, field } = item as PlacementStrategy;
    if (field !== undefined && typeof field !== 'string') throw new PlacementSpecError(`${where}.field: must be a string`);
    switch (type) {
      case 'random':
        return { kind: 'random' };
      case 'binpack': {
        const f = field?.toLowerCase();
        if (f !== 'cpu' && f !== 'memory') throw new PlacementSpecError(`${where}.field: binpack takes "cpu" or "memory", got ${JSON.stringify(field)}`);
        return { kind: 'binpack', resource: f };
      }
      case 'spread': {
        if (!field) throw new PlacementSpecError(`${where}.field: spread needs a field (instanceId, host, or attribute:<name>)`);
        if (field === 'instanceId' || field === 'host') return { kind: 'spread-instance' };
        if (field.startsWith('attribute:') && field.length > 'attribute:'.length) return { kind: 'spread-attribute', attribute: field.slice('attribute:'.length) };
        throw new PlacementSpecError(`${where}.field: spread takes instanceId, host or attribute:<name>, got ${JSON.stringify(field)}`);
      }
      default:
        throw new PlacementSpecError(`${where}.type: must be binpack, spread or random, got ${JSON.stringify(type)}`);
    }
  });
}

/**
 * Parses the constraint annotation (`undefined`: none). Throws PlacementSpecError for malformed
 * JSON, an unknown type, a memberOf without an expression or with a malformed one (the message
 * carries the QueryLanguageError's position), or more than ten constraints.
 */
export function parseConstraints(raw: string | undefined, annotation = 'ecs.berth.dev/placement-constraints'): Pick<PlacementSpec, 'distinctInstance' | 'memberOf'> {
  const out: Pick<PlacementSpec, 'distinctInstance' | 'memberOf'> = { distinctInstance: false, memberOf: [] };
  if (raw === undefined) return out;
  const list = parseArray(raw, annotation);
  if (list.length > MAX_CONSTRAINTS) throw new PlacementSpecError(`annotation ${annotation}: ${list.length} constraints, at most ${MAX_CONSTRAINTS} are allowed`);
  list.forEach((item, k) => {
    const where = `annotation ${annotation}[${k}]`;
    if (!item || typeof item !== 'object') throw new PlacementSpecError(`${where}: must be an object with "type"`);
    const { type, expression } = item as PlacementConstraint;
    if (type === 'distinctInstance') {
      if (expression !== undefined && expression !== '') throw new PlacementSpecError(`${where}.expression: distinctInstance takes no expression`);
      out.distinctInstance = true;
    } else if (type === 'memberOf') {
      if (typeof expression !== 'string' || !expression.trim()) throw new PlacementSpecError(`${where}.expression: memberOf needs a cluster query language expression`);
      try {
        out.memberOf.push({ expression, expr: parseQuery(expression) });
      } catch (e) {
        if (e instanceof QueryLanguageError) throw new PlacementSpecError(`${where}.expression: ${e.message}`);
        throw e;
      }
    } else throw new PlacementSpecError(`${where}.type: must be distinctInstance or memberOf, got ${JSON.stringify(type)}`);
  });
  return out;
}

/** Both annotations of a pod parsed. Throws PlacementSpecError. */
export function parsePlacement(annotations: Readonly<Record<string, string>> | undefined, strategyKey: string, constraintsKey: string): PlacementSpec {
  return { strategies: parseStrategies(annotations?.[strategyKey], strategyKey), ...parseConstraints(annotations?.[constraintsKey], constraintsKey) };
}
