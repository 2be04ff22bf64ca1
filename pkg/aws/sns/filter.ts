/**
 * SNS subscription filter policies (Amazon SNS Developer Guide, "Amazon SNS message
 * filtering"; [34] in AWS-SEMANTICS.md): every top-level key must match (AND), any value in a
 * key's list may match (OR). A value is an exact string or number, or an operator object:
 * `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (a value, a list, or a prefix/suffix),
 * `numeric` (`["=", 5]`, `[">", 0, "<=", 100]`), `exists` (true/false), `cidr`; `$or` holds
 * alternative policies. The scope is the message attributes (String, Number, String.Array) or
 * the JSON body, where keys nest as the body does and an array matches if any element does.
 */

export type FilterPolicy = Record<string, unknown>;

/** A message attribute as SNS carries it. */
export interface SnsAttribute {
  Type: string;
  Value: string;
}

const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists', 'cidr'];

/** Why a policy is not one SNS accepts (empty when it is). */
export function filterPolicyErrors(policy: FilterPolicy, path = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(policy)) {
    const p = path ? `${path}.${k}` : k;
    if (k === '$or') {
      if (!Array.isArray(v) || v.length < 2) out.push(`${p}: $or needs a list of at least two policies`);
      else for (const alt of v) out.push(...(alt && typeof alt === 'object' && !Array.isArray(alt) ? filterPolicyErrors(alt as FilterPolicy, path) : [`${p}: each $or alternative must be an object`]));
      continue;
    }
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      out.push(...filterPolicyErrors(v as FilterPolicy, p));
      continue;
    }
    if (!Array.isArray(v)) {
      out.push(`${p}: match criteria must be a list: "${k}": [${JSON.stringify(v)}]`);
      continue;
    }
    if (!v.length) out.push(`${p}: empty arrays are not allowed`);
    for (const c of v) {
      if (c === null || typeof c === 'string' || typeof c === 'number') continue;
      if (typeof c === 'object' && !Array.isArray(c)) {
        const keys = Object.keys(c);
        if (keys.length !== 1 || !OPERATORS.includes(keys[0]!)) out.push(`${p}: unrecognized match type ${keys.join(',')}`);
        else if (keys[0] === 'numeric' && !numericValid((c as { numeric: unknown }).numeric)) out.push(`${p}: value of numeric must be an array of operator and number pairs, such as ["=", 5] or [">", 0, "<=", 10]`);
        else if (keys[0] === 'exists' && typeof (c as { exists: unknown }).exists !== 'boolean') out.push(`${p}: exists match pattern must be either true or false`);
        continue;
      }
      out.push(`${p}: match value must be a string, number, null or operator object`);
    }
  }
  return out;
}

function numericValid(v: unknown): boolean {
  if (!Array.isArray(v) || v.length === 0 || v.length % 2 !== 0 || v.length > 4) return false;
  for (let i = 0; i < v.length; i += 2) if (!['=', '>', '>=', '<', '<='].includes(v[i] as string) || typeof v[i + 1] !== 'number') return false;
  return true;
}

/** A value being matched: a string or number; `undefined` when the key is absent. */
type Value = string | number | null | undefined;

function ipv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((n) => n > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

function numericMatch(cond: unknown[], n: number): boolean {
  for (let i = 0; i < cond.length; i += 2) {
    const op = cond[i] as string;
    const x = cond[i + 1] as number;
    const ok = op === '=' ? n === x : op === '>' ? n > x : op === '>=' ? n >= x : op === '<' ? n < x : n <= x;
    if (!ok) return false;
  }
  return true;
}

/** Does one condition match one present value. */
function conditionMatches(c: unknown, v: Value): boolean {
  if (c === null) return v === null;
  if (v === null || v === undefined) return false;
  if (typeof c === 'string') return typeof v === 'string' && v === c;
  if (typeof c === 'number') return typeof v === 'number' && v === c;
  const [op, arg] = Object.entries(c as Record<string, unknown>)[0]!;
  const s = String(v);
  switch (op) {
    case 'prefix':
      return typeof v === 'string' && s.startsWith(String(arg));
    case 'suffix':
      return typeof v === 'string' && s.endsWith(String(arg));
    case 'equals-ignore-case':
      return typeof v === 'string' && s.toLowerCase() === String(arg).toLowerCase();
    case 'numeric':
      return typeof v === 'number' && numericMatch(arg as unknown[], v);
    case 'cidr': {
      const [net, bits] = String(arg).split('/');
      const a = ipv4(s);
      const b = ipv4(net ?? '');
      if (a === undefined || b === undefined) return false;
      const n = Number(bits ?? 32);
      const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
      return (a & mask) >>> 0 === (b & mask) >>> 0;
    }
    case 'anything-but': {
      if (Array.isArray(arg)) return !arg.some((x) => conditionMatches(x, v));
      if (arg && typeof arg === 'object') return !conditionMatches(arg, v);
      return !conditionMatches(arg, v);
    }
    default:
      return false;
  }
}

/** Does a key's condition list match its values (several for arrays); `exists` looks at presence. */
function keyMatches(conds: unknown[], values: Value[] | undefined): boolean {
  for (const c of conds) {
    if (c && typeof c === 'object' && 'exists' in (c as object)) {
      if ((c as { exists: boolean }).exists === (values !== undefined)) return true;
      continue;
    }
    if (values === undefined) continue;
    if (values.some((v) => conditionMatches(c, v))) return true;
  }
  return false;
}

/** The values of a message attribute for matching: numbers for Number, each element for String.Array. */
function attributeValues(a: SnsAttribute | undefined): Value[] | undefined {
  if (!a) return undefined;
  if (a.Type === 'Number') return [Number(a.Value)];
  if (a.Type === 'String.Array') {
    try {
      const arr = JSON.parse(a.Value) as unknown;
      if (Array.isArray(arr)) return arr.map((x) => (typeof x === 'number' || typeof x === 'string' || x === null ? x : JSON.stringify(x)));
    } catch {
      return [a.Value];
    }
  }
  if (a.Type === 'Binary') return undefined;
  return [a.Value];
}

/** Does a policy match a message's attributes (scope MessageAttributes). */
export function matchesAttributes(policy: FilterPolicy, attrs: Record<string, SnsAttribute>): boolean {
  for (const [k, conds] of Object.entries(policy)) {
    if (k === '$or') {
      if (!(conds as FilterPolicy[]).some((alt) => matchesAttributes(alt, attrs))) return false;
      continue;
    }
    if (!keyMatches(conds as unknown[], attributeValues(attrs[k]))) return false;
  }
  return true;
}

function bodyValues(v: unknown): Value[] | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.filter((x) => x === null || typeof x !== 'object') as Value[];
  if (v !== null && typeof v === 'object') return undefined;
  return [v as Value];
}

/** Does a policy match a JSON message body (scope MessageBody); a body that is not JSON matches nothing. */
export function matchesBody(policy: FilterPolicy, body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false;
  const obj = body as Record<string, unknown>;
  for (const [k, conds] of Object.entries(policy)) {
    if (k === '$or') {
      if (!(conds as FilterPolicy[]).some((alt) => matchesBody(alt, obj))) return false;
      continue;
    }
    if (conds && typeof conds === 'object' && !Array.isArray(conds)) {
      const inner = obj[k];
      const items = Array.isArray(inner) ? inner : [inner];
      if (!items.some((x) => x !== null && typeof x === 'object' && matchesBody(conds as FilterPolicy, x))) return false;
      continue;
    }
    if (!keyMatches(conds as unknown[], bodyValues(obj[k]))) return false;
  }
  return true;
}

/** Does a subscription's policy let a message through. */
export function filterAccepts(policy: FilterPolicy | undefined, scope: string | undefined, attrs: Record<string, SnsAttribute>, message: string): boolean {
  if (!policy || !Object.keys(policy).length) return true;
  if (scope === 'MessageBody') {
    let body: unknown;
    try {
      body = JSON.parse(message);
    } catch {
      return false;
    }
    return matchesBody(policy, body);
  }
  return matchesAttributes(policy, attrs);
}
