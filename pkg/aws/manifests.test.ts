/**
 * Issue 10's Kubernetes-style face: Queues, a Topic, its Subscriptions, a Function and an
 * EventSourceMapping applied as one manifest (the objects `kubectl apply` creates, through the
 * same store, hooks and validation) make a working pipeline with no AWS API call: a publish
 * reaches the subscriber whose filter policy matches (raw), every message reaches the other queue,
 * and the mapping feeds that queue to the function, which drains it. A bad manifest is refused
 * with the field path.
 */
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../api/types.js';
import { awsCluster } from './awscluster.testutil.js';

const MANIFEST = `
apiVersion: sqs.berth.dev/v1
kind: Queue
metadata: {name: alerts-eu}
---
apiVersion: sqs.berth.dev/v1
kind: Queue
metadata: {name: alerts-all}
spec: {visibilityTimeout: 60}
---
apiVersion: sns.berth.dev/v1
kind: Topic
metadata: {name: alerts}
---
apiVersion: sns.berth.dev/v1
kind: Subscription
metadata: {name: alerts-eu}
spec:
  topicArn: arn:aws:sns:us-east-1:000000000000:alerts
  protocol: sqs
  endpoint: arn:aws:sqs:us-east-1:000000000000:alerts-eu
  filterPolicy: {region: [{prefix: eu-}]}
  rawMessageDelivery: true
---
apiVersion: sns.berth.dev/v1
kind: Subscription
metadata: {name: alerts-all}
spec:
  topicArn: arn:aws:sns:us-east-1:000000000000:alerts
  protocol: sqs
  endpoint: arn:aws:sqs:us-east-1:000000000000:alerts-all
---
apiVersion: lambda.berth.dev/v1
kind: Function
metadata:
  name: pager
  annotations: {sim.berth.dev/duration-ms: "40"}
spec:
  handler: index.handler
  memorySize: 256
  code: {inline: "exports.handler = async () => null;"}
---
apiVersion: lambda.berth.dev/v1
kind: EventSourceMapping
metadata: {name: pager-from-alerts}
spec:
  functionName: pager
  eventSourceArn: arn:aws:sqs:us-east-1:000000000000:alerts-all
  batchSize: 1
`;

t.test('Queue, Topic, Subscription, Function and EventSourceMapping from one manifest', async (t) => {
  const c = await awsCluster();
  t.teardown(() => c.stop());
  const { cp, aws } = c;
  for (const doc of parseAllDocuments(MANIFEST)) await cp.client.create(doc.toJS() as KubeObject);
  const until = async (ok: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 1500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    if (!ok()) throw new Error(`timed out waiting for ${what}`);
  };
  // The engines learn of the objects through their informers.
  await until(() => aws.sqs.has('alerts-eu') && aws.sqs.has('alerts-all') && aws.lambda.has('pager') && aws.sns.hasTopic('alerts') && aws.sns.subscriptions('alerts').length === 2, 'the queues, the function, the topic and its subscriptions');
  const attrs = (region: string) => ({ region: { DataType: 'String', StringValue: region } });
  await aws.sns.publish('alerts', { message: 'disk full on eu-1', attributes: attrs('eu-west-1') });
  await aws.sns.publish('alerts', { message: 'disk full on us-1', attributes: attrs('us-east-1') });

  // Only the eu message passed the filter; raw delivery: the body as published, no envelope.
  await until(() => aws.sqs.counts('alerts-eu').visible === 1, 'the eu message');
  const eu = await aws.sqs.receive('alerts-eu', { max: 10 });
  t.same(eu.map((m) => m.body), ['disk full on eu-1']);
  t.same(eu[0]!.attrs?.region, { DataType: 'String', StringValue: 'eu-west-1' }, 'raw delivery carries the attributes as message attributes');
  // Both reached alerts-all, and the mapping gave each to the function (batch size 1) and deleted it.
  await until(() => aws.lambda.ledger.size === 2, 'two invocations');
  await until(() => {
    const c = aws.sqs.counts('alerts-all');
    return c.visible + c.notVisible === 0;
  }, 'alerts-all drained');
  t.equal(aws.lambda.ledger.size, 2, 'one invocation a message');
  t.equal(aws.lambda.mappingResult((await cp.client.get<KubeObject>({ apiVersion: 'lambda.berth.dev/v1', kind: 'EventSourceMapping' }, 'pager-from-alerts')).metadata.uid!), 'OK');

  // A subscription naming a protocol SNS has no delivery for here: refused with its field path.
  await t.rejects(
    cp.client.create({ apiVersion: 'sns.berth.dev/v1', kind: 'Subscription', metadata: { name: 'bad' }, spec: { topicArn: 'arn:aws:sns:us-east-1:000000000000:alerts', protocol: 'http', endpoint: 'ftp://x' } } as KubeObject),
    { code: 422, message: /spec\.endpoint/ },
  );
});
