/**
 * berth's AWS messaging and serverless services — SQS, SNS and Lambda — as Kubernetes-style
 * objects (`sqs.berth.dev/v1 Queue`, `sns.berth.dev/v1 Topic` and `Subscription`,
 * `lambda.berth.dev/v1 Function` and `EventSourceMapping`) and as the AWS APIs on the API
 * server's own port, so the `aws` CLI and SDKs work with `--endpoint-url http://127.0.0.1:PORT`.
 * Both faces share one store: what the CLI creates, kubectl lists, and the reverse.
 *
 * ```ts
 * const api = await createApiServer({ backend, clock });
 * const mgr = new Manager({ client: new Client(api.transport), clock });
 * const aws = await installAws(api, mgr);        // before api.http()
 * ```
 */
import type { ApiServer } from '../apiserver/index.js';
import type { Manager } from '../runtime/manager.js';
import { AwsRouter } from './protocol/router.js';
import { installLambda } from './lambda/index.js';
import type { LambdaEngine } from './lambda/engine.js';
import { installSns } from './sns/index.js';
import type { SnsEngine } from './sns/engine.js';
import { installSqs } from './sqs/index.js';
import type { SqsEngine } from './sqs/engine.js';

export * from './sqs/index.js';
export * from './sns/index.js';
export * from './lambda/index.js';
export { AwsRouter, credentialScope, type AwsRequestContext } from './protocol/router.js';
export { AwsError } from './protocol/errors.js';
export { ACCOUNT_ID, REGION, arn, parseArn } from './protocol/arn.js';

export interface AwsOptions {
  /** Lambda's account concurrency limit (default 1,000: Lambda quotas). */
  lambdaConcurrencyLimit?: number;
  /** An idle Lambda execution environment is reclaimed after this many ms of cluster time (default 5 minutes). */
  lambdaIdleTimeoutMs?: number;
}

/** What installAws set up, for tests, simulations and other components. */
export interface AwsHandle {
  router: AwsRouter;
  sqs: SqsEngine;
  lambda: LambdaEngine;
  sns: SnsEngine;
}

/** Installs SQS, SNS and Lambda on an API server and a manager. */
export async function installAws(api: ApiServer, mgr: Manager, opts: AwsOptions = {}): Promise<AwsHandle> {
  const router = new AwsRouter();
  const sqs = await installSqs(api, mgr.client, mgr.clock, router);
  const lambda = await installLambda(api, mgr.client, mgr.clock, router, sqs, {
    ...(opts.lambdaConcurrencyLimit !== undefined ? { concurrencyLimit: opts.lambdaConcurrencyLimit } : {}),
    ...(opts.lambdaIdleTimeoutMs !== undefined ? { idleTimeoutMs: opts.lambdaIdleTimeoutMs } : {}),
  });
  const sns = await installSns(api, mgr.client, mgr.clock, router, sqs, lambda);
  api.routes.push(router.plugin());
  // Stopping the manager ends long polls, pollers, worker processes and timers.
  mgr.add({
    name: 'aws',
    start: (signal) =>
      new Promise<void>((resolve) =>
        signal.addEventListener(
          'abort',
          () => {
            sns.close();
            lambda.close();
            sqs.close();
            resolve();
          },
          { once: true },
        ),
      ),
  });
  return { router, sqs, lambda, sns };
}
