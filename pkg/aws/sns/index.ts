/**
 * SNS: `sns.berth.dev/v1 Topic` and `Subscription` objects and the SNS API on the API server's
 * port, over one SnsEngine that delivers to SQS, Lambda and http(s).
 */
import type { ApiServer } from '../../apiserver/index.js';
import { age, col, type TablePrinter } from '../../apiserver/tables.js';
import type { KubeObject } from '../../api/types.js';
import type { Client } from '../../client/client.js';
import type { Clock } from '../../clock/clock.js';
import type { LambdaEngine } from '../lambda/engine.js';
import type { AwsRouter } from '../protocol/router.js';
import type { SqsEngine } from '../sqs/engine.js';
import { SnsApi, SNS_XMLNS } from './api.js';
import { SnsEngine } from './engine.js';
import { SNS_GROUP, SNS_RESOURCES, subscriptionArn, subscriptionHooks, topicArn, topicHooks, type Subscription, type Topic } from './types.js';

export * from './types.js';
export * from './filter.js';
export { SnsEngine, retryDelaySeconds, AWS_MANAGED_RETRY, HTTP_DEFAULT_RETRY, type RetryPolicy, type PublishInput, type Notification } from './engine.js';
export { SnsApi, SNS_XMLNS } from './api.js';

/** NAME TYPE SUBSCRIPTIONS AGE; wide: ARN. */
export function topicTable(engine: SnsEngine): TablePrinter {
  return {
    columns: [col('Type', 'Standard or FIFO.'), col('Subscriptions', 'Confirmed subscriptions.', 0, 'integer'), col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.'), col('ARN', 'The topic ARN.', 1)],
    cells: (o: KubeObject, now: number) => {
      const t = o as Topic;
      const name = t.metadata.name!;
      return [(t.spec?.fifoTopic ?? name.endsWith('.fifo')) ? 'FIFO' : 'Standard', engine.subscriptions(name).filter((s) => !SnsEngine.pending(s)).length, age(o, now), topicArn(name)];
    },
  };
}

/** NAME TOPIC PROTOCOL ENDPOINT STATUS AGE; wide: ARN FILTER. */
export const subscriptionTable: TablePrinter = {
  columns: [
    col('Topic', 'The topic.'),
    col('Protocol', 'sqs, lambda, http or https.'),
    col('Endpoint', 'Where messages go.'),
    col('Status', 'Confirmed or PendingConfirmation.'),
    col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
    col('ARN', 'The subscription ARN.', 1),
    col('Filter', 'The filter policy.', 1),
  ],
  cells: (o: KubeObject, now: number) => {
    const s = o as Subscription;
    return [s.spec?.topicArn?.split(':').at(-1) ?? '', s.spec?.protocol ?? '', s.spec?.endpoint ?? '', SnsEngine.pending(s) ? 'PendingConfirmation' : 'Confirmed', age(o, now), subscriptionArn(s), s.spec?.filterPolicy ? JSON.stringify(s.spec.filterPolicy) : '<none>'];
  },
};

/** Registers the kinds, loads topics and subscriptions, keeps the engine in step, adds the SNS protocol. */
export async function installSns(api: ApiServer, client: Client, clock: Clock, router: AwsRouter, sqs: SqsEngine, lambda: LambdaEngine): Promise<SnsEngine> {
  for (const r of SNS_RESOURCES) if (!api.registry.get(r.group, r.version, r.resource)) api.registry.add(r);
  api.store.setHooks(SNS_GROUP, 'Topic', topicHooks);
  api.store.setHooks(SNS_GROUP, 'Subscription', subscriptionHooks);
  const engine = new SnsEngine({ clock, client, sqs, lambda, baseUrl: () => router.address ?? 'http://127.0.0.1' });
  api.tables.set(SNS_GROUP, 'Topic', topicTable(engine));
  api.tables.set(SNS_GROUP, 'Subscription', subscriptionTable);
  for (const t of (await api.store.list(SNS_RESOURCES[0]!, undefined)).items) engine.upsertTopic(t as Topic);
  for (const s of (await api.store.list(SNS_RESOURCES[1]!, undefined)).items) engine.upsertSubscription(s as Subscription);
  api.store.onCommit((e) => {
    if (e.resource.group !== SNS_GROUP) return;
    if (e.resource.kind === 'Topic') {
      if (e.type === 'DELETED') engine.removeTopic(e.object.metadata.name!);
      else engine.upsertTopic(e.object as Topic);
    } else if (e.resource.kind === 'Subscription') {
      if (e.type === 'DELETED') engine.removeSubscription(e.object.metadata.uid!);
      else engine.upsertSubscription(e.object as Subscription);
    }
  });
  lambda.publishToTopic = async (topic, message, attributes) => {
    await engine.publish(topic, { message, ...(attributes ? { attributes } : {}) });
  };
  const snsApi = new SnsApi(engine, client);
  router.addQuery('sns', '2010-03-31', SNS_XMLNS, snsApi.handle, ['ConfirmSubscription', 'Unsubscribe']);
  return engine;
}
