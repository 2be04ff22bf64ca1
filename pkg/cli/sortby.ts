/**
 * `--sort-by`: kubectl's ordering of listed objects by one field (kubectl/pkg/cmd/get/sorter.go).
 *
 * The expression is a relaxed JSONPath as kubectl takes it: `.metadata.name`, `metadata.name` or
 * `{.metadata.name}`, with array indexes (`.spec.containers[0].image`) and keys in brackets
 * (`.metadata.labels['app.kubernetes.io/name']`). Values compare as kubectl's sorter compares them:
 * numbers numerically, quantities (`500m`, `1Gi`) by value, timestamps and other strings in
 * natural order (digit runs as numbers: `web-2` before `web-10`), booleans false before true; an
 * object without the field sorts first. A path no object has is an error, as in kubectl.
 */
import { CliError } from './errors.js';
import { parseQty } from './quantity.js';

/** A parsed `--sort-by` path: property names and array indexes, in order. */
export type SortPath = (string | number)[];

/**
 * Parses a `--sort-by` expression. Throws CliError naming the expression when it is not a field
 * path (kubectl: `error: unexpected path string, expected a 'name1.name2' or '.name1.name2' or
 * '{name1.name2}' or '{.name1.name2}'`).
 */
export function parseSortBy(expr: string): SortPath {
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1).trim();
  if (!s.startsWith('.')) s = `.${s}`;
  const path: SortPath = [];
  const bad = (): never => {
    throw new CliError(`unexpected path string "${expr}", expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'`);
  };
  let i = 0;
  while (i < s.length) {
    if (s[i] === '.') {
      const m = /^[^.[\]]+/.exec(s.slice(i + 1));
      if (!m) bad();
      path.push(m![0]);
      i += 1 + m![0].length;
    } else if (s[i] === '[') {
      const m = /^\[(?:(\d+)|'([^']*)'|"([^"]*)")\]/.exec(s.slice(i));
      if (!m) bad();
      path.push(m![1] !== undefined ? Number(m![1]) : (m![2] ?? m![3])!);
      i += m![0].length;
    } else bad();
  }
  if (!path.length) bad();
  return path;
}

/** The value at `path` in `obj`, or undefined when any step is missing. */
export function valueAt(obj: unknown, path: SortPath): unknown {
  let v: unknown = obj;
  for (const step of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[step];
  }
  return v;
}

/** Natural order (fvbommel/sortorder.NaturalLess, which kubectl uses): digit runs compare as numbers. */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+|\D+)/g;
  const xa = a.match(re) ?? [];
  const xb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(xa.length, xb.length); i++) {
    const pa = xa[i]!;
    const pb = xb[i]!;
    if (pa === pb) continue;
    const da = /^\d/.test(pa);
    const db = /^\d/.test(pb);
    if (da && db) {
      const na = BigInt(pa);
      const nb = BigInt(pb);
      if (na !== nb) return na < nb ? -1 : 1;
      // Equal numbers, different leading zeros: fewer zeros first.
      return pa.length - pb.length;
    }
    return pa < pb ? -1 : 1;
  }
  return xa.length - xb.length;
}

/** Compares two field values as kubectl's sorter does (see the file comment); undefined first. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === undefined || a === null) return b === undefined || b === null ? 0 : -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'string' && typeof b === 'string') {
    const qa = /\d/.test(a) ? parseQty(a) : undefined;
    const qb = qa && /\d/.test(b) ? parseQty(b) : undefined;
    if (qa && qb) return qa.nanos < qb.nanos ? -1 : qa.nanos > qb.nanos ? 1 : 0;
    return naturalCompare(a, b);
  }
  return naturalCompare(typeof a === 'string' ? a : JSON.stringify(a), typeof b === 'string' ? b : JSON.stringify(b));
}

/**
 * `items` ordered by the field at `expr` (a stable sort). Throws CliError for a malformed
 * expression, or when no item has the field (kubectl: `couldn't find any field with path …`).
 */
export function sortObjects<T>(items: T[], expr: string): T[] {
  const path = parseSortBy(expr);
  const keyed = items.map((item, i) => ({ item, i, v: valueAt(item, path) }));
  if (keyed.length && keyed.every((k) => k.v === undefined)) throw new CliError(`couldn't find any field with path "{${expr.replace(/^\{|\}$/g, '').replace(/^(?!\.)/, '.')}}" in the list of objects`);
  keyed.sort((x, y) => compareValues(x.v, y.v) || x.i - y.i);
  return keyed.map((k) => k.item);
}
