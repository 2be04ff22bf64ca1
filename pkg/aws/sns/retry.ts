/**
 * SNS delivery policies (Amazon SNS Developer Guide, "Amazon SNS message delivery retries" and
 * "Creating an HTTP/S delivery policy"): a retry policy has four phases — immediate retries
 * (`numNoDelayRetries`), pre-backoff retries `minDelayTarget` seconds apart
 * (`numMinDelayRetries`), a backoff phase whose delays grow from `minDelayTarget` to
 * `maxDelayTarget` by `backoffFunction`, and post-backoff retries `maxDelayTarget` apart
 * (`numMaxDelayRetries`); `numRetries` counts all of them.
 */
import { isObject } from '../../api/meta.js';

/** A delivery policy's healthyRetryPolicy (SNS Developer Guide, "Creating an HTTP/S delivery policy"). */
export interface RetryPolicy {
  numRetries: number;
  numNoDelayRetries: number;
  minDelayTarget: number;
  maxDelayTarget: number;
  numMinDelayRetries: number;
  numMaxDelayRetries: number;
  backoffFunction: 'linear' | 'arithmetic' | 'geometric' | 'exponential';
}

/** AWS-managed endpoints (SQS, Lambda): 3 immediate, 2 at 1 s, 10 backing off 1→20 s, 100,000 at 20 s. */
export const AWS_MANAGED_RETRY: RetryPolicy = { numRetries: 100_015, numNoDelayRetries: 3, minDelayTarget: 1, maxDelayTarget: 20, numMinDelayRetries: 2, numMaxDelayRetries: 100_000, backoffFunction: 'exponential' };
/** The default for http(s): 3 retries, 20 s apart. */
export const HTTP_DEFAULT_RETRY: RetryPolicy = { numRetries: 3, numNoDelayRetries: 0, minDelayTarget: 20, maxDelayTarget: 20, numMinDelayRetries: 0, numMaxDelayRetries: 0, backoffFunction: 'linear' };

/** Seconds to wait before retry `i` (0-based) under a policy, or undefined when retries are spent. */
export function retryDelaySeconds(p: RetryPolicy, i: number): number | undefined {
  if (i >= p.numRetries) return undefined;
  if (i < p.numNoDelayRetries) return 0;
  if (i < p.numNoDelayRetries + p.numMinDelayRetries) return p.minDelayTarget;
  const backoff = p.numRetries - p.numNoDelayRetries - p.numMinDelayRetries - p.numMaxDelayRetries;
  const j = i - p.numNoDelayRetries - p.numMinDelayRetries;
  if (j >= backoff) return p.maxDelayTarget;
  const f = backoff <= 1 ? 1 : (j + 1) / backoff;
  const span = p.maxDelayTarget - p.minDelayTarget;
  switch (p.backoffFunction) {
    case 'exponential':
      return Math.round(p.minDelayTarget * Math.pow(p.maxDelayTarget / Math.max(1, p.minDelayTarget), f));
    case 'geometric':
      return Math.round(p.minDelayTarget + span * f * f);
    case 'arithmetic':
      return Math.round(p.minDelayTarget + span * Math.sqrt(f));
    default:
      return Math.round(p.minDelayTarget + span * f);
  }
}

export const BACKOFF_FUNCTIONS = ['arithmetic', 'exponential', 'geometric', 'linear'];

/**
 * What is wrong with an http(s) `healthyRetryPolicy` (AWS's limits: numRetries 0–100; delays
 * whole seconds with 1 ≤ minDelayTarget ≤ maxDelayTarget ≤ 3,600; the phase counts ≥ 0 and
 * together at most numRetries; the whole policy's retry time at most 3,600 s), as
 * `[field, message]` pairs under `path`.
 */
export function retryPolicyErrors(p: unknown, path: string): [string, string][] {
  if (!isObject(p)) return [[path, 'must be an object']];
  const out: [string, string][] = [];
  const merged = { ...HTTP_DEFAULT_RETRY, ...(p as Partial<RetryPolicy>) } as RetryPolicy;
  const int = (k: keyof RetryPolicy, lo: number, hi: number): boolean => {
    const v = merged[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      out.push([`${path}.${k}`, `must be a whole number from ${lo} to ${hi}`]);
      return false;
    }
    return true;
  };
  const ok = [int('numRetries', 0, 100), int('numNoDelayRetries', 0, 100), int('numMinDelayRetries', 0, 100), int('numMaxDelayRetries', 0, 100), int('minDelayTarget', 1, 3600), int('maxDelayTarget', 1, 3600)].every(Boolean);
  if (!BACKOFF_FUNCTIONS.includes(merged.backoffFunction)) out.push([`${path}.backoffFunction`, `must be one of ${BACKOFF_FUNCTIONS.join(', ')}`]);
  if (!ok) return out;
  if (merged.minDelayTarget > merged.maxDelayTarget) out.push([`${path}.minDelayTarget`, `must not exceed maxDelayTarget (${merged.maxDelayTarget})`]);
  if (merged.numNoDelayRetries + merged.numMinDelayRetries + merged.numMaxDelayRetries > merged.numRetries) out.push([`${path}.numRetries`, 'must be at least numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries']);
  if (out.length) return out;
  let total = 0;
  for (let i = 0; i < merged.numRetries; i++) total += retryDelaySeconds(merged, i) ?? 0;
  if (total > 3600) out.push([path, `retries over ${total} s: the total retry time of an HTTP/S delivery policy may not exceed 3,600 s`]);
  return out;
}
