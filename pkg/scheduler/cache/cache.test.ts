import t from 'tap';
import { makeNode, makePod } from '../../testing/builders.js';
import { SchedulerCache } from './cache.js';

const node = (name: string) => makeNode(name).capacity({ cpu: '4', memory: '16Gi' }).obj();

t.test('assumed pods count at once, are confirmed by the informer, and forgotten on a failed bind', async (t) => {
  const cache = new SchedulerCache();
  cache.setNode(node('n1'));
  const pod = makePod('p').req({ cpu: '1' }).node('n1').obj();
  cache.assumePod(pod);
  t.equal(cache.usage('n1')!.cpu, 1000, 'assumed: counted');
  t.ok(cache.isAssumed('default/p'));
  cache.addPod(pod);
  t.notOk(cache.isAssumed('default/p'), 'confirmed');
  t.equal(cache.usage('n1')!.cpu, 1000, 'counted once');
  cache.forgetPod('default/p');
  t.equal(cache.usage('n1')!.pods, 1, 'a confirmed pod is not forgotten');

  cache.assumePod(makePod('q').req({ cpu: '2' }).node('n1').obj());
  t.equal(cache.usage('n1')!.cpu, 3000);
  cache.forgetPod('default/q');
  t.equal(cache.usage('n1')!.cpu, 1000, 'forgotten: the room is free again');
  t.notOk(cache.removePod('default/q'), 'nothing left to remove');
});

t.test('an assumed pod bound elsewhere moves to where it was bound', async (t) => {
  const cache = new SchedulerCache();
  cache.setNode(node('n1'));
  cache.setNode(node('n2'));
  cache.assumePod(makePod('p').req({ cpu: '1' }).node('n1').obj());
  cache.addPod(makePod('p').req({ cpu: '1' }).node('n2').obj());
  t.equal(cache.usage('n1')!.pods, 0);
  t.equal(cache.usage('n2')!.cpu, 1000);
});

t.test('pods seen before their node, and nodes deleted before their pods', async (t) => {
  const cache = new SchedulerCache();
  cache.addPod(makePod('early').req({ cpu: '1' }).node('n1').obj());
  cache.setNode(node('n1'));
  t.equal(cache.usage('n1')!.cpu, 1000, 'adopted when the node appears');
  cache.removeNode('n1');
  t.equal(cache.usage('n1'), undefined);
  cache.setNode(node('n2'));
  t.equal(cache.usage('n2')!.pods, 0, "a new node in the freed slot does not inherit the old node's pods");
  cache.setNode(node('n1'));
  t.equal(cache.usage('n1')!.pods, 1, 'kept while the node was gone');
  t.ok(cache.removePod('default/early'));
  t.equal(cache.usage('n1')!.pods, 0);
});

t.test('replicas of one template share a pod class, bound or pending; a class is forgotten when unused', async (t) => {
  const cache = new SchedulerCache();
  cache.setNode(node('n1'));
  cache.setNode(node('n2'));
  const replica = (name: string, nodeName: string) => makePod(name).label('app', 'web').req({ cpu: '500m' }).node(nodeName).obj();
  cache.addPod(replica('a', 'n1'));
  cache.addPod(replica('b', 'n1'));
  cache.addPod(replica('c', 'n2'));
  const cls = cache.get('default/a')!.cls;
  t.equal(cache.get('default/c')!.cls, cls, 'one class across nodes');
  t.equal(cache.cluster.classes.intern(makePod('pending').label('app', 'web').req({ cpu: '500m' }).obj()), cls, 'and for a pending replica');
  t.same([...cls.placed].sort(), [[cache.cluster.indexOf('n1'), 2], [cache.cluster.indexOf('n2'), 1]]);
  for (const k of ['a', 'b', 'c']) cache.removePod(`default/${k}`);
  t.equal(cls.placed.size, 0);
  t.equal(cache.cluster.classes.size, 0, 'nothing refers to it any more');
});

t.test('node classes group nodes by labels (hostname aside), taints and cordon', async (t) => {
  const cache = new SchedulerCache();
  cache.setNode(makeNode('a').label('zone', 'x').obj());
  cache.setNode(makeNode('b').label('zone', 'x').obj());
  cache.setNode(makeNode('c').label('zone', 'y').obj());
  cache.setNode(makeNode('d').label('zone', 'x').unschedulable().obj());
  const c = cache.cluster;
  const cls = (n: string) => c.nodeClassOf[c.indexOf(n)];
  t.equal(cls('a'), cls('b'), 'same labels but the hostname');
  t.not(cls('a'), cls('c'), 'another zone');
  t.not(cls('a'), cls('d'), 'cordoned');
  t.same(Array.from(c.order, (i) => c.names[i]), ['a', 'b', 'c', 'd'], 'nodes in name order');
});
