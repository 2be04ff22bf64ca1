/**
 * Lambda billing: requests plus duration × memory, per 1 ms.
 *
 * Prices (x86, us-east-1, AWS Lambda pricing page, checked 2026-11; [41] in AWS-SEMANTICS.md):
 * $0.20 per 1M requests and $0.0000166667 per GB-second, where a GB is 1,024 MB (128 MB is
 * 0.125 GB). Billed duration is rounded up to the next 1 ms (since 2020-12) and includes the
 * INIT phase of cold starts (since 2025-08-01, "AWS Lambda standardizes billing for INIT
 * phase"). Not modelled: the free tier, arm64 prices, provisioned-concurrency charges, tiered
 * duration discounts above 6 billion GB-s a month, ephemeral storage above 512 MB.
 */

/** USD per request: $0.20 per million. */
export const PRICE_PER_REQUEST_USD = 0.2 / 1_000_000;
/** USD per GB-second (x86, us-east-1). */
export const PRICE_PER_GB_SECOND_USD = 0.0000166667;
/** Where the prices come from, and when they were read. */
export const LAMBDA_PRICE_SOURCE = 'https://aws.amazon.com/lambda/pricing/ (x86, us-east-1; read 2026-11)';

/** Billed duration in ms: the duration rounded up to 1 ms, at least 1 ms. */
export function billedDurationMs(durationMs: number): number {
  return Math.max(1, Math.ceil(durationMs - 1e-9));
}

/**
 * The cost in USD of `requests` invocations whose billed durations × memory add up to
 * `mbMs` (MB·ms, an integer). Computed in one division at the end, so 1,000 × 120 ms × 512 MB
 * gives exactly 60 GB-s × $0.0000166667 + 1,000 × $0.0000002.
 */
export function lambdaUsageCost(requests: number, mbMs: number): number {
  // GB-s = mbMs / (1024 × 1000); price per GB-s = 166667e-10 USD.
  const durationUsd = (mbMs * 166_667) / (1024 * 1000) / 1e10;
  const requestUsd = (requests * 2) / 1e7;
  return durationUsd + requestUsd;
}

/** The cost of one invocation: its billed ms at its memory, plus the request. */
export function invocationCost(billedMs: number, memoryMb: number): number {
  return lambdaUsageCost(1, billedMs * memoryMb);
}

/** Lambda usage and its cost over a window: what `GET /billing/v1/lambda` and `berth cost` report. */
export interface LambdaUsage {
  requests: number;
  /** Billed duration × memory, GB-seconds (a GB is 1,024 MB). */
  gbSeconds: number;
  /** USD: $0.20 per 1M requests. */
  requestUSD: number;
  /** USD: $0.0000166667 per GB-second. */
  durationUSD: number;
  /** requestUSD + durationUSD. */
  usd: number;
}

/** Usage and cost of `requests` invocations adding up to `mbMs` MB·ms. */
export function lambdaUsage(requests: number, mbMs: number): LambdaUsage {
  const requestUSD = (requests * 2) / 1e7;
  const usd = lambdaUsageCost(requests, mbMs);
  return { requests, gbSeconds: mbMs / (1024 * 1000), requestUSD, durationUSD: usd - requestUSD, usd };
}

/**
 * Per-invocation usage, kept in start-time order, answering "what did Lambda cost between two
 * times", in total and by function, in one pass. Typed arrays: 20 bytes an invocation.
 */
export class UsageLedger {
  private starts = new Float64Array(1024);
  private mbMs = new Float64Array(1024);
  private fns = new Int32Array(1024);
  private readonly names: string[] = [];
  private readonly ids = new Map<string, number>();
  private n = 0;

  /** Records one billed invocation of function `fn` that started at `startMs` (cluster time). */
  add(startMs: number, billedMs: number, memoryMb: number, fn = ''): void {
    if (this.n === this.starts.length) {
      const s = new Float64Array(this.n * 2);
      s.set(this.starts);
      this.starts = s;
      const m = new Float64Array(this.n * 2);
      m.set(this.mbMs);
      this.mbMs = m;
      const f = new Int32Array(this.n * 2);
      f.set(this.fns);
      this.fns = f;
    }
    let id = this.ids.get(fn);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(fn);
      this.ids.set(fn, id);
    }
    // Invocations finish out of order; keep the arrays sorted by start (insertion from the end).
    let i = this.n;
    while (i > 0 && this.starts[i - 1]! > startMs) {
      this.starts[i] = this.starts[i - 1]!;
      this.mbMs[i] = this.mbMs[i - 1]!;
      this.fns[i] = this.fns[i - 1]!;
      i--;
    }
    this.starts[i] = startMs;
    this.mbMs[i] = billedMs * memoryMb;
    this.fns[i] = id;
    this.n++;
  }

  get size(): number {
    return this.n;
  }

  private first(fromMs: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! < fromMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Requests and MB·ms of the invocations that started in [fromMs, toMs). */
  usage(fromMs: number, toMs: number): { requests: number; mbMs: number } {
    let requests = 0;
    let mbMs = 0;
    for (let i = this.first(fromMs); i < this.n && this.starts[i]! < toMs; i++) {
      requests++;
      mbMs += this.mbMs[i]!;
    }
    return { requests, mbMs };
  }

  /** Usage and cost of the invocations that started in [fromMs, toMs), by function name. */
  byFunction(fromMs: number, toMs: number): Record<string, LambdaUsage> {
    const acc = new Map<number, { requests: number; mbMs: number }>();
    for (let i = this.first(fromMs); i < this.n && this.starts[i]! < toMs; i++) {
      const a = acc.get(this.fns[i]!) ?? { requests: 0, mbMs: 0 };
      a.requests++;
      a.mbMs += this.mbMs[i]!;
      acc.set(this.fns[i]!, a);
    }
    const out: Record<string, LambdaUsage> = {};
    for (const [id, a] of [...acc].sort((x, y) => (this.names[x[0]]! < this.names[y[0]]! ? -1 : 1))) out[this.names[id]!] = lambdaUsage(a.requests, a.mbMs);
    return out;
  }

  /** USD for the invocations that started in [fromMs, toMs). */
  cost(fromMs: number, toMs: number): number {
    const u = this.usage(fromMs, toMs);
    return lambdaUsageCost(u.requests, u.mbMs);
  }
}
