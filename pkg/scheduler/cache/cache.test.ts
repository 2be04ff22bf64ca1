import t from 'tap';
import { makeNode, makePod } from '../../testing/builders.js';
import { SchedulerCache } from './cache.js';
import { Snapshot } from './snapshot.js';

const node = (name: string) => makeNode(name).capacity({ cpu: '4', memory: '16Gi' }).obj();

t.test('assumed pods count at once, are confirmed by the informer, and forgotten on a failed bind', async (t) => {
  const cache = new SchedulerCache();
  cache.setNode(node('n1'));
  const pod = makePod('p').req({ cpu: '1' }).node('n1').obj();
  cache.assumePod(pod);
  t.equal(cache.nodeInfo('n1')!.requested.cpu, 1000, 'assumed: counted');
  t.ok(cache.isAssumed('default/p'));
  cache.addPod(pod);
  t.notOk(cache.isAssumed('default/p'), 'confirmed');
  t.equal(cache.nodeInfo('n1')!.requested.cpu, 1000, 'counted once');
  cache.forgetPod('default/p');
  t.equal(cache.nodeInfo('n1')!.podCount, 1, 'a confirmed pod is not forgotten');

  cache.assumePod(makePod('q').req({ cpu: '2' }).node('n1').obj());
  t.equal(cache.nodeInfo('n1')!.requested.cpu, 3000);
  cache.forgetPod('default/q');
  t.equal(cache.nodeInfo('n1')!.requested.cpu, 1000, 'forgotten: the room is free again');
  t.notOk(cache.removePod('default/q'), 'nothing left to remove');
});

t.test('an assumed pod bound elsewhere moves to where it was bound', async (t) => {
  const cache = new SchedulerCache();
  cache.setNode(node('n1'));
  cache.setNode(node('n2'));
  cache.assumePod(makePod('p').req({ cpu: '1' }).node('n1').obj());
  cache.addPod(makePod('p').req({ cpu: '1' }).node('n2').obj());
  t.equal(cache.nodeInfo('n1')!.podCount, 0);
  t.equal(cache.nodeInfo('n2')!.requested.cpu, 1000);
});

t.test('pods seen before their node, and nodes deleted before their pods', async (t) => {
  const cache = new SchedulerCache();
  cache.addPod(makePod('early').req({ cpu: '1' }).node('n1').obj());
  cache.setNode(node('n1'));
  t.equal(cache.nodeInfo('n1')!.requested.cpu, 1000, 'adopted when the node appears');
  cache.removeNode('n1');
  t.equal(cache.nodeInfo('n1'), undefined);
  cache.setNode(node('n1'));
  t.equal(cache.nodeInfo('n1')!.podCount, 1, 'kept while the node was gone');
  t.ok(cache.removePod('default/early'));
  t.equal(cache.nodeInfo('n1')!.podCount, 0);
});

t.test('the snapshot is refreshed for changed nodes only, sorted by name, and does not move under a cycle', async (t) => {
  const cache = new SchedulerCache();
  const snap = new Snapshot();
  cache.setNode(node('b'));
  cache.setNode(node('a'));
  cache.setNode(node('c'));
  cache.updateSnapshot(snap);
  t.same(snap.nodes.map((n) => n.name), ['a', 'b', 'c']);
  const a = snap.get('a');
  const before = snap.get('b')!;
  cache.assumePod(makePod('p').req({ cpu: '1' }).node('b').obj());
  t.equal(before.requested.cpu, undefined, 'the snapshot holds clones');
  cache.updateSnapshot(snap);
  t.equal(snap.get('b')!.requested.cpu, 1000, 'b refreshed');
  t.equal(snap.nodes[1], snap.get('b'), 'in place');
  t.equal(snap.get('a'), a, 'a untouched: not cloned again');
  cache.removeNode('a');
  cache.updateSnapshot(snap);
  t.same(snap.nodes.map((n) => n.name), ['b', 'c']);
});
