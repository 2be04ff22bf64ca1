/**
 * SQS: `sqs.berth.dev/v1 Queue` objects and the SQS API on the API server's port, over one
 * SqsEngine whose messages live in the storage Backend.
 */
import type { ApiServer } from '../../apiserver/index.js';
import { age, col, type TablePrinter } from '../../apiserver/tables.js';
import type { Client } from '../../client/client.js';
import type { Clock } from '../../clock/clock.js';
import { parseTime } from '../../clock/clock.js';
import type { KubeObject } from '../../api/types.js';
import type { AwsRouter } from '../protocol/router.js';
import { SqsApi, SQS_XMLNS, sqsInputFromQuery, sqsOutputToXml } from './api.js';
import { SqsEngine } from './engine.js';
import { queueArn, queueHooks, SQS_GROUP, SQS_RESOURCES, type Queue } from './types.js';

export * from './types.js';
export * from './engine.js';
export { SqsApi, systemAttributes, selectAttributes } from './api.js';
export { md5Hex, md5OfAttributes, type MessageAttributeValue } from './md5.js';

/** NAME TYPE MESSAGES IN-FLIGHT DELAYED VISIBILITY AGE; wide: ARN DLQ. Counts are live. */
export function queueTable(engine: SqsEngine): TablePrinter {
  return {
    columns: [
      col('Type', 'Standard or FIFO.'),
      col('Messages', 'ApproximateNumberOfMessages: visible now.', 0, 'integer'),
      col('In-Flight', 'ApproximateNumberOfMessagesNotVisible: received, not deleted.', 0, 'integer'),
      col('Delayed', 'ApproximateNumberOfMessagesDelayed.', 0, 'integer'),
      col('Visibility', 'VisibilityTimeout.'),
      col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
      col('ARN', 'The queue ARN.', 1),
      col('DLQ', 'The dead-letter queue and maxReceiveCount.', 1),
    ],
    cells: (o: KubeObject, now: number) => {
      const q = o as Queue;
      const name = q.metadata.name!;
      const c = engine.tryCounts(name);
      const fifo = q.spec?.fifoQueue ?? name.endsWith('.fifo');
      const r = q.spec?.redrivePolicy;
      return [
        fifo ? 'FIFO' : 'Standard',
        c?.visible ?? 0,
        c?.notVisible ?? 0,
        c?.delayed ?? 0,
        `${q.spec?.visibilityTimeout ?? 30}s`,
        age(o, now),
        queueArn(name),
        r ? `${r.deadLetterTargetArn.split(':').at(-1)} (${r.maxReceiveCount})` : '<none>',
      ];
    },
  };
}

/**
 * Registers the Queue kind, loads the queues and their messages, keeps the engine in step with
 * Queue objects (created, changed or deleted by kubectl or the AWS API) and adds the SQS
 * protocols to the router.
 */
export async function installSqs(api: ApiServer, client: Client, clock: Clock, router: AwsRouter): Promise<SqsEngine> {
  for (const r of SQS_RESOURCES) if (!api.registry.get(r.group, r.version, r.resource)) api.registry.add(r);
  api.store.setHooks(SQS_GROUP, 'Queue', queueHooks);
  const engine = new SqsEngine({ backend: api.store.backend, clock });
  api.tables.set(SQS_GROUP, 'Queue', queueTable(engine));
  const info = SQS_RESOURCES[0]!;
  const existing = (await api.store.list(info, undefined)).items as Queue[];
  await engine.load(existing.map((q) => ({ name: q.metadata.name!, spec: q.spec ?? {}, created: createdMs(q, clock) })));
  api.store.onCommit(async (e) => {
    if (e.resource.group !== SQS_GROUP || e.resource.kind !== 'Queue') return;
    const q = e.object as Queue;
    if (e.type === 'DELETED') await engine.removeQueue(q.metadata.name!);
    else engine.upsertQueue(q.metadata.name!, q.spec ?? {}, createdMs(q, clock));
  });
  const sqsApi = new SqsApi(engine, client);
  router.addJson('AmazonSQS', 'com.amazonaws.sqs', sqsApi.handle);
  router.addQuery('sqs', '2012-11-05', SQS_XMLNS, async (action, params, ctx) => sqsOutputToXml(action, await sqsApi.handle(action, sqsInputFromQuery(action, params), ctx)));
  return engine;
}

function createdMs(q: KubeObject, clock: Clock): number {
  const t = parseTime(q.metadata.creationTimestamp);
  return Number.isNaN(t) ? clock.now() : t;
}
