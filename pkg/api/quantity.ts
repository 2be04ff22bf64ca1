/**
 * Kubernetes resource quantities (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/).
 *
 * Grammar: `<sign><digits>[.<digits>]<suffix>` where suffix is a binary SI suffix
 * (Ki Mi Gi Ti Pi Ei), a decimal SI suffix (n u m "" k M G T P E) or a decimal exponent (e3, E-2).
 * Internally berth computes with integers: cpu in millicores, everything else in units (bytes for
 * memory and storage, a count for pods and extended resources). Like Kubernetes's
 * `Quantity.MilliValue()` / `Value()`, fractions round up.
 */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const QUANTITY_RE = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** apimachinery's resource.ErrFormatWrong: what Kubernetes says of a string that is not a quantity. */
export const QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** Thrown when a string is not a quantity; `message` is the Kubernetes wording. */
export class QuantityError extends Error {
  readonly code = 'InvalidQuantity';
  constructor(readonly input: string) {
    super(QUANTITY_FORMAT_ERROR);
    this.name = 'QuantityError';
  }
}

/**
 * Parses a quantity into a plain number of base units (cores for cpu, bytes for memory).
 * Numbers pass through (YAML `3` arrives as a number). Throws QuantityError.
 */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') {
    if (!Number.isFinite(q)) throw new QuantityError(String(q));
    return q;
  }
  const m = QUANTITY_RE.exec(q.trim());
  if (!m) throw new QuantityError(q);
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (suffix in BINARY) return n * BINARY[suffix]!;
  if (suffix in DECIMAL) return n * DECIMAL[suffix]!;
  return n * 10 ** Number(suffix.slice(1));
}

/** True if `q` parses as a quantity. */
export function isQuantity(q: unknown): boolean {
  if (typeof q !== 'string' && typeof q !== 'number') return false;
  try {
    parseQuantity(q);
    return true;
  } catch {
    return false;
  }
}

/** A quantity in thousandths of its unit, rounded up: `"500m"` → 500, `"0.5"` → 500, `2` → 2000. */
export function milliValue(q: string | number): number {
  return Math.ceil(roundTiny(parseQuantity(q) * 1000));
}

/** A quantity in whole units, rounded up: `"1Gi"` → 1073741824, `"1.5"` → 2. */
export function value(q: string | number): number {
  return Math.ceil(roundTiny(parseQuantity(q)));
}

// 0.1 * 1000 is 100.00000000000001 in binary floating point; ceil would make it 101.
function roundTiny(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - r) < 1e-6 ? r : x;
}

/**
 * The integer berth computes with for resource `name`: millicores for `cpu`, units otherwise
 * (bytes for memory and ephemeral-storage, a count for pods and extended resources).
 */
export function resourceAmount(name: string, q: string | number): number {
  if (typeof q === 'number') return name === 'cpu' ? milliValue(q) : value(q);
  // Clusters write the same few quantities over and over ("500m", "1Gi"): remember them.
  const memo = name === 'cpu' ? MILLI_MEMO : UNIT_MEMO;
  let v = memo.get(q);
  if (v === undefined) {
    v = name === 'cpu' ? milliValue(q) : value(q); // throws QuantityError before anything is remembered
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(q, v);
  }
  return v;
}

/** Parsed quantities by their text: millicores, and whole units. Cleared when full. */
const MILLI_MEMO = new Map<string, number>();
const UNIT_MEMO = new Map<string, number>();
const MEMO_LIMIT = 4096;

/** Formats millicores as Kubernetes prints them: 2000 → "2", 1500 → "1500m". */
export function formatCpu(millicores: number): string {
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}

/** Formats bytes with the largest binary suffix that divides them exactly: 1073741824 → "1Gi". */
export function formatBytes(bytes: number): string {
  if (bytes === 0) return '0';
  for (const s of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const unit = BINARY[s]!;
    if (bytes % unit === 0) return `${bytes / unit}${s}`;
  }
  return String(bytes);
}

/** Formats bytes for people, rounded: 1610612736 → "1.5Gi". */
export function humanBytes(bytes: number): string {
  for (const s of ['Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const unit = BINARY[s]!;
    if (bytes >= unit) {
      const v = bytes / unit;
      return `${Number.isInteger(v) ? v : v.toFixed(1)}${s}`;
    }
  }
  return String(bytes);
}

/** Formats the integer amount of resource `name` back into a quantity string. */
export function formatAmount(name: string, amount: number): string {
  if (name === 'cpu') return formatCpu(amount);
  if (name === 'memory' || name === 'ephemeral-storage' || name.startsWith('hugepages-')) return formatBytes(amount);
  return String(amount);
}
