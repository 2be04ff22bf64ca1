/**
 * Quantities as kubectl prints them: `resource.Quantity.String()` keeps the format a quantity was
 * written in (binary `Ki Mi Gi`, decimal `m k M G`, or an exponent) and prints the canonical form
 * of that format (`0.5` → `500m`, `1024Mi` → `1Gi`, `1500000` → `1500k`). `describe` shows
 * requests, limits, capacity and their sums this way, so berth keeps the format beside the value.
 *
 * Values are exact: a bigint count of nano-units (the finest precision a Quantity keeps).
 */

export type QuantityFormat = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

export interface Qty {
  /** The value in nano-units (1 core = 1e9, 1 byte = 1e9). */
  nanos: bigint;
  format: QuantityFormat;
}

const NANO = 1_000_000_000n;
const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const RE = /^([+-]?)(\d*)(?:\.(\d*))?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

export const ZERO: Qty = { nanos: 0n, format: 'DecimalSI' };

/** Parses a quantity (`"500m"`, `"1Gi"`, `3`); undefined if it is not one. Rounds up below nano. */
export function parseQty(input: string | number | undefined | null): Qty | undefined {
  if (input === undefined || input === null) return undefined;
  const s = typeof input === 'number' ? numberText(input) : input.trim();
  const m = RE.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const sign = m[1] === '-' ? -1n : 1n;
  const whole = BigInt(m[2] || '0');
  const frac = m[3] ?? '';
  const suffix = m[4] ?? '';
  // mantissa = whole.frac as an integer over 10^frac.length
  const scale = 10n ** BigInt(frac.length);
  const mantissa = whole * scale + BigInt(frac || '0');
  let num: bigint; // the value in nanos is num / den
  let den = scale;
  let format: QuantityFormat;
  if (suffix in BINARY) {
    num = mantissa * BINARY[suffix]! * NANO;
    format = 'BinarySI';
  } else {
    const exp = suffix in DECIMAL_EXP ? DECIMAL_EXP[suffix]! : Number(suffix.slice(1));
    format = suffix in DECIMAL_EXP ? 'DecimalSI' : 'DecimalExponent';
    if (exp + 9 >= 0) num = mantissa * 10n ** BigInt(exp + 9);
    else {
      num = mantissa;
      den = scale * 10n ** BigInt(-(exp + 9));
    }
  }
  return { nanos: sign * ceilDiv(num, den), format };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

function numberText(n: number): string {
  if (Number.isInteger(n)) return BigInt(n).toString();
  return String(n);
}

/** `Quantity.String()`: the canonical text of a quantity in its format. */
export function qtyString(q: Qty): string {
  if (q.nanos === 0n) return '0';
  const neg = q.nanos < 0n;
  const abs = neg ? -q.nanos : q.nanos;
  const sign = neg ? '-' : '';
  if (q.format === 'BinarySI' && abs >= 1024n * NANO && abs % NANO === 0n) {
    let v = abs / NANO;
    let i = 0;
    const suffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
    while (i < 6 && v % 1024n === 0n) {
      v /= 1024n;
      i++;
    }
    return `${sign}${v}${suffixes[i]}`;
  }
  // Decimal: the largest exponent (a multiple of 3) that leaves an integer mantissa.
  let exp = -9;
  let v = abs;
  while (exp < 18 && v % 1000n === 0n) {
    v /= 1000n;
    exp += 3;
  }
  if (q.format === 'DecimalExponent') return `${sign}${v}${exp === 0 ? '' : `e${exp}`}`;
  const suffix = Object.entries(DECIMAL_EXP).find(([, e]) => e === exp)![0];
  return `${sign}${v}${suffix}`;
}

/** Formats a quantity string the way kubectl shows it (`"0.5"` → `500m`); unparsable text as is. */
export function canonical(input: string | number | undefined): string {
  const q = parseQty(input);
  return q ? qtyString(q) : String(input ?? '');
}

/** A quantity, or zero when it is absent or unparsable. */
export function qtyOrZero(input: string | number | undefined | null): Qty {
  return parseQty(input) ?? ZERO;
}

/** `Quantity.Add`: the sum keeps the first operand's format, unless that one is zero. */
export function addQty(a: Qty | undefined, b: Qty): Qty {
  if (!a) return { ...b };
  return { nanos: a.nanos + b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

/** `Quantity.MilliValue()`: thousandths, rounded up. */
export function milliValue(q: Qty | undefined): number {
  if (!q) return 0;
  return Number(ceilDiv(q.nanos, 1_000_000n));
}

/** `Quantity.Value()`: whole units, rounded up. */
export function unitValue(q: Qty | undefined): number {
  if (!q) return 0;
  return Number(ceilDiv(q.nanos, NANO));
}

/** A list of resources (`{cpu: 500m, memory: 1Gi}`) with kubectl's formats. */
export type QtyList = Map<string, Qty>;

export function parseList(list: Record<string, string | number> | undefined): QtyList {
  const out: QtyList = new Map();
  for (const [k, v] of Object.entries(list ?? {})) {
    const q = parseQty(v);
    if (q) out.set(k, q);
  }
  return out;
}

export function addList(into: QtyList, more: QtyList): void {
  for (const [k, q] of more) into.set(k, addQty(into.get(k), q));
}

/** Raises each of `into`'s entries to `other`'s where that is larger (or absent in `into`). */
export function maxList(into: QtyList, other: QtyList): void {
  for (const [k, q] of other) {
    const cur = into.get(k);
    if (!cur || q.nanos > cur.nanos) into.set(k, { ...q });
  }
}
