/**
 * Lambda: `lambda.berth.dev/v1 Function` and `EventSourceMapping` objects, the Lambda API on
 * the API server's port, and the LambdaEngine that runs functions in worker processes.
 */
import type { ApiServer } from '../../apiserver/index.js';
import { age, col, type TablePrinter } from '../../apiserver/tables.js';
import type { KubeObject } from '../../api/types.js';
import type { Client } from '../../client/client.js';
import type { Clock } from '../../clock/clock.js';
import type { AwsRouter } from '../protocol/router.js';
import type { SqsEngine } from '../sqs/engine.js';
import { LambdaApi } from './api.js';
import { CodeStore } from './code.js';
import { lambdaCostRoute } from './cost.js';
import { LambdaEngine } from './engine.js';
import { eventSourceMappingHooks, functionHooks, LAMBDA_GROUP, LAMBDA_RESOURCES, type EventSourceMapping, type LambdaFunction } from './types.js';

export * from './types.js';
export * from './billing.js';
export { LambdaEngine, batchItemFailures, sqsRecord, INVOCATION_PREFIX, EVENT_PREFIX, type InvocationRecord, type InvocationResult, type LogLine, type LambdaEngineOptions } from './engine.js';
export { CodeStore, CodeError, looksLikeEsm, type LoadedCode } from './code.js';
export { simulatedBehaviour, heapLimitMb, SIM_DURATION, SIM_ERROR, SIM_INIT, SIM_LOG_LINES, SIM_RESPONSE } from './runtime.js';
export { LambdaApi, POLICY_ANNOTATION, functionLogPath } from './api.js';
export { lambdaCostReport, lambdaCostRoute, type LambdaCostReport } from './cost.js';

/** NAME RUNTIME MEMORY TIMEOUT ENVIRONMENTS IN-FLIGHT AGE; wide: HANDLER RESERVED PROVISIONED. */
export function functionTable(engine: LambdaEngine): TablePrinter {
  return {
    columns: [
      col('Runtime', 'The runtime.'),
      col('Memory', 'Memory, MB.'),
      col('Timeout', 'Timeout.'),
      col('Environments', 'Execution environments: warm (idle) / all.'),
      col('In-Flight', 'Invocations running now.', 0, 'integer'),
      col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
      col('Handler', 'The handler.', 1),
      col('Reserved', 'Reserved concurrency.', 1),
      col('Provisioned', 'Provisioned concurrency.', 1),
    ],
    cells: (o: KubeObject, now: number) => {
      const f = o as LambdaFunction;
      const e = engine.environments(f.metadata.name!);
      return [
        f.spec?.runtime ?? 'nodejs20.x',
        `${f.spec?.memorySize ?? 128}MB`,
        `${f.spec?.timeout ?? 3}s`,
        `${e.idle}/${e.total}`,
        e.inflight,
        age(o, now),
        f.spec?.handler ?? '',
        f.spec?.reservedConcurrentExecutions ?? '<none>',
        f.spec?.provisionedConcurrentExecutions ?? '<none>',
      ];
    },
  };
}

/** NAME FUNCTION SOURCE BATCH STATE AGE; wide: UUID LAST-RESULT. */
export function eventSourceMappingTable(engine: LambdaEngine): TablePrinter {
  return {
    columns: [
      col('Function', 'The function invoked.'),
      col('Source', 'The event source.'),
      col('Batch', 'Batch size.', 0, 'integer'),
      col('State', 'Enabled or Disabled.'),
      col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
      col('UUID', "Lambda's id of the mapping.", 1),
      col('Last-Result', 'LastProcessingResult.', 1),
    ],
    cells: (o: KubeObject, now: number) => {
      const m = o as EventSourceMapping;
      return [
        m.spec?.functionName ?? '',
        m.spec?.eventSourceArn ?? '',
        m.spec?.batchSize ?? 10,
        m.spec?.enabled === false ? 'Disabled' : 'Enabled',
        age(o, now),
        m.metadata.uid ?? '',
        engine.mappingResult(m.metadata.uid ?? ''),
      ];
    },
  };
}

export interface LambdaInstallOptions {
  concurrencyLimit?: number;
  idleTimeoutMs?: number;
}

/**
 * Registers the kinds, loads functions, mappings, pending events and usage, keeps the engine in
 * step with the objects, and adds the Lambda routes to the router.
 */
export async function installLambda(api: ApiServer, client: Client, clock: Clock, router: AwsRouter, sqs: SqsEngine, opts: LambdaInstallOptions = {}): Promise<LambdaEngine> {
  for (const r of LAMBDA_RESOURCES) if (!api.registry.get(r.group, r.version, r.resource)) api.registry.add(r);
  api.store.setHooks(LAMBDA_GROUP, 'Function', functionHooks);
  api.store.setHooks(LAMBDA_GROUP, 'EventSourceMapping', eventSourceMappingHooks);
  const code = new CodeStore(api.store.backend);
  const engine = new LambdaEngine({
    backend: api.store.backend,
    clock,
    sqs,
    code,
    ...(opts.concurrencyLimit !== undefined ? { concurrencyLimit: opts.concurrencyLimit } : {}),
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    endpoint: () => router.address,
  });
  api.tables.set(LAMBDA_GROUP, 'Function', functionTable(engine));
  api.tables.set(LAMBDA_GROUP, 'EventSourceMapping', eventSourceMappingTable(engine));
  const fns = (await api.store.list(LAMBDA_RESOURCES[0]!, undefined)).items as LambdaFunction[];
  const esms = (await api.store.list(LAMBDA_RESOURCES[1]!, undefined)).items as EventSourceMapping[];
  await code.gc(new Set(fns.map((f) => f.spec?.code?.zipSha256).filter((x): x is string => !!x)));
  await engine.load(fns, esms);
  api.store.onCommit(async (e) => {
    if (e.resource.group !== LAMBDA_GROUP) return;
    if (e.resource.kind === 'Function') {
      const f = e.object as LambdaFunction;
      if (e.type === 'DELETED') await engine.removeFunction(f.metadata.name!);
      else engine.upsertFunction(f);
    } else if (e.resource.kind === 'EventSourceMapping') {
      const m = e.object as EventSourceMapping;
      if (e.type === 'DELETED') engine.removeMapping(m.metadata.uid!);
      else engine.upsertMapping(m);
    }
  });
  const lambdaApi = new LambdaApi(engine, client, code, clock);
  router.addPlugin(async (app) => lambdaApi.routes(app));
  router.addPlugin(lambdaCostRoute(engine.ledger, clock));
  return engine;
}
