/**
 * Durations as `berth simulate` reads and prints them: Go's `time.ParseDuration` units (`ms`, `s`,
 * `m`, `h`, as kubectl's `--timeout` and Kubernetes' own durations use) plus `d` for days, in any
 * combination (`90s`, `30m`, `2h`, `1h30m`, `1d12h`, `1.5h`). A bare `0` is zero, as in Go.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/y;

/** Thrown for text that is not a duration; the message says what is wrong (no location: callers add it). */
export class DurationError extends Error {
  readonly code = 'InvalidDuration';
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

/**
 * Parses a duration to whole milliseconds. Throws DurationError for anything else (a missing unit,
 * an unknown unit, a negative or empty value).
 */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  if (!s) throw new DurationError('a duration is required (e.g. 30m, 2h, 24h)');
  if (/^[+-]?\d+(\.\d+)?$/.test(s)) throw new DurationError(`"${s}" has no unit: write it as ${s}s, ${s}m or ${s}h`);
  if (s.startsWith('-')) throw new DurationError(`"${s}" is negative`);
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m) throw new DurationError(`"${s}" is not a duration (at "${s.slice(at)}"): use a number and a unit among ms, s, m, h, d, e.g. 90s, 30m, 1h30m`);
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return Math.round(ms);
}

/** A duration in the shortest exact form `parseDuration` reads back: `0s`, `90s` → `1m30s`, `2h`, `1d2h`, `1500ms` → `1.5s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n) out += `${n}${unit}`;
    rest -= n * size;
  }
  if (rest) out += `${rest / 1000}s`;
  return out;
}
