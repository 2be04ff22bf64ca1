/**
 * Lambda's part of the bill: `GET /billing/v1/lambda?since=…|from=…&to=…` on the API server's
 * port, computed on the server's clock from the usage ledger (every invocation, stored with its
 * billed duration and memory). `berth cost` prints it beside the EC2 bill.
 *
 * ```json
 * {"from": "…", "to": "…", "requests": 1000, "gbSeconds": 60, "requestUSD": 0.0002,
 *  "durationUSD": 0.001000002, "usd": 0.001200002, "byFunction": {"billed": {…}}, "source": "…"}
 * ```
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock/clock.js';
import { parseTimeArgument, TimeArgumentError } from '../../cloud/cost.js';
import { LAMBDA_PRICE_SOURCE, lambdaUsage, type LambdaUsage, type UsageLedger } from './billing.js';

/** The Lambda bill of a window (times are RFC 3339, cluster time). */
export interface LambdaCostReport extends LambdaUsage {
  from: string;
  to: string;
  /** By function name, sorted. */
  byFunction: Record<string, LambdaUsage>;
  /** Where the prices come from. */
  source: string;
}

/** The bill of the invocations that started in [fromMs, toMs). */
export function lambdaCostReport(ledger: UsageLedger, fromMs: number, toMs: number): LambdaCostReport {
  const u = ledger.usage(fromMs, toMs);
  return { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), ...lambdaUsage(u.requests, u.mbMs), byFunction: ledger.byFunction(fromMs, toMs), source: LAMBDA_PRICE_SOURCE };
}

/** The route `GET /billing/v1/lambda`, with `berth cost`'s window parameters (`since`, or `from` and `to`). */
export function lambdaCostRoute(ledger: UsageLedger, clock: Clock): FastifyPluginAsync {
  return async (app) => {
    app.get('/billing/v1/lambda', async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      const now = clock.now();
      try {
        // The window ends just after now: an invocation that started at this instant is in it.
        const to = q.to ? parseTimeArgument(q.to, now) : now + 1;
        const from = q.since ? parseTimeArgument(q.since, now) : q.from ? parseTimeArgument(q.from, now) : 0;
        if (from > to) throw new TimeArgumentError(`the window starts (${new Date(from).toISOString()}) after it ends (${new Date(to).toISOString()})`);
        return lambdaCostReport(ledger, from, to);
      } catch (e) {
        if (e instanceof TimeArgumentError) return reply.code(400).send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: 'BadRequest', code: 400 });
        throw e;
      }
    });
  };
}
