import type { LabelSelector } from './types.js';

/**
 * Label selectors (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors):
 * the string form (`app=web,tier!=db,env in (a,b),!canary,team`) and the structured
 * `metav1.LabelSelector` form compile to the same list of requirements, all of which must hold.
 */
export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

/** A compiled selector. `empty` matches everything; `nothing` matches nothing (a nil selector in some APIs). */
export class Selector {
  constructor(readonly requirements: Requirement[], readonly nothing = false) {}

  static everything(): Selector {
    return new Selector([]);
  }

  static nothingMatches(): Selector {
    return new Selector([], true);
  }

  get empty(): boolean {
    return !this.nothing && this.requirements.length === 0;
  }

  matches(labels: Record<string, string> | undefined): boolean {
    if (this.nothing) return false;
    for (const r of this.requirements) {
      if (!matchRequirement(r, labels)) return false;
    }
    return true;
  }

  /** The string form, as kubectl shows it in `SELECTOR` columns. */
  toString(): string {
    return this.requirements.map(requirementString).join(',');
  }
}

function requirementString(r: Requirement): string {
  switch (r.operator) {
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
    case 'In':
      return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
    case 'NotIn':
      return r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${r.values.join(',')})`;
    case 'Gt':
      return `${r.key}>${r.values[0]}`;
    case 'Lt':
      return `${r.key}<${r.values[0]}`;
  }
}

/** One requirement against a label map. `Gt`/`Lt` compare integers, as node affinity does. */
export function matchRequirement(r: Requirement, labels: Record<string, string> | undefined): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels![r.key]! : undefined;
  switch (r.operator) {
    case 'In':
      return has && r.values.includes(v!);
    case 'NotIn':
      return !has || !r.values.includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || !/^-?\d+$/.test(v!)) return false;
      const n = Number(v);
      const bound = Number(r.values[0]);
      return r.operator === 'Gt' ? n > bound : n < bound;
    }
  }
}

/** Thrown when a selector string or structure is malformed. */
export class SelectorError extends Error {
  readonly code = 'InvalidSelector';
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

/**
 * Parses the string form. Throws SelectorError, e.g. for `app in (a`.
 * An empty string selects everything.
 */
export function parseSelector(input: string | undefined): Selector {
  if (input === undefined || input.trim() === '') return Selector.everything();
  const reqs: Requirement[] = [];
  let i = 0;
  const s = input;
  const skipWs = (): void => {
    while (i < s.length && s[i] === ' ') i++;
  };
  const readKey = (): string => {
    skipWs();
    const start = i;
    while (i < s.length && !' ,=!()<>'.includes(s[i]!)) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skipWs();
    let negate = false;
    if (s[i] === '!') {
      negate = true;
      i++;
    }
    const key = readKey();
    if (!key) throw new SelectorError(`unable to parse requirement: found '${s[i] ?? ''}', expected: identifier in "${input}"`);
    skipWs();
    if (negate) {
      reqs.push({ key, operator: 'DoesNotExist', values: [] });
    } else if (i >= s.length || s[i] === ',') {
      reqs.push({ key, operator: 'Exists', values: [] });
    } else if (s.startsWith('!=', i)) {
      i += 2;
      reqs.push({ key, operator: 'NotIn', values: [readValue()] });
    } else if (s.startsWith('==', i)) {
      i += 2;
      reqs.push({ key, operator: 'In', values: [readValue()] });
    } else if (s[i] === '=') {
      i += 1;
      reqs.push({ key, operator: 'In', values: [readValue()] });
    } else if (s[i] === '>' || s[i] === '<') {
      const op = s[i] === '>' ? 'Gt' : 'Lt';
      i += 1;
      const v = readValue();
      if (!/^-?\d+$/.test(v)) throw new SelectorError(`for '${op === 'Gt' ? '>' : '<'}' operator, the value must be an integer in "${input}"`);
      reqs.push({ key, operator: op, values: [v] });
    } else if (/^notin\b/.test(s.slice(i)) || /^in\b/.test(s.slice(i)) || s.startsWith('notin(', i) || s.startsWith('in(', i)) {
      const op: Operator = s.startsWith('notin', i) ? 'NotIn' : 'In';
      i += op === 'NotIn' ? 5 : 2;
      skipWs();
      if (s[i] !== '(') throw new SelectorError(`found '${s[i] ?? ''}', expected: '(' in "${input}"`);
      i++;
      const values: string[] = [];
      for (;;) {
        skipWs();
        const v = readValue();
        values.push(v);
        skipWs();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === ')') {
          i++;
          break;
        }
        throw new SelectorError(`found '${s[i] ?? 'end of string'}', expected: ',' or ')' in "${input}"`);
      }
      reqs.push({ key, operator: op, values });
    } else {
      throw new SelectorError(`found '${s[i]}', expected: '=', '!=', '==', 'in', notin' in "${input}"`);
    }
    skipWs();
    if (i < s.length) {
      if (s[i] !== ',') throw new SelectorError(`found '${s[i]}', expected: ',' or 'end of string' in "${input}"`);
      i++;
    }
  }
  return new Selector(reqs);

  function readValue(): string {
    skipWs();
    const start = i;
    while (i < s.length && !' ,()'.includes(s[i]!)) i++;
    return s.slice(start, i);
  }
}

/**
 * Compiles a `metav1.LabelSelector`. An empty selector (`{}`) matches everything; an absent one
 * (undefined) matches nothing, as `metav1.LabelSelectorAsSelector` does.
 */
export function selectorFromLabelSelector(ls: LabelSelector | undefined | null): Selector {
  if (ls === undefined || ls === null) return Selector.nothingMatches();
  const reqs: Requirement[] = [];
  for (const [key, v] of Object.entries(ls.matchLabels ?? {})) reqs.push({ key, operator: 'In', values: [String(v)] });
  for (const e of ls.matchExpressions ?? []) {
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) {
      throw new SelectorError(`"${e.operator}" is not a valid label selector operator`);
    }
    reqs.push({ key: e.key, operator: e.operator, values: (e.values ?? []).map(String) });
  }
  return new Selector(reqs);
}

/** A map selector (`nodeSelector`, Service `selector`): every key must equal its value. */
export function selectorFromMap(m: Record<string, string> | undefined): Selector {
  return new Selector(Object.entries(m ?? {}).map(([key, v]) => ({ key, operator: 'In' as const, values: [String(v)] })));
}

/** The string form of a `metav1.LabelSelector`, as kubectl shows it (`app=web,tier in (a,b)`). */
export function formatLabelSelector(ls: LabelSelector | undefined): string {
  if (!ls) return '<none>';
  const s = selectorFromLabelSelector(ls).toString();
  return s === '' ? '<none>' : s;
}
