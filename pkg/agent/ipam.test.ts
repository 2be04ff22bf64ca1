import t from 'tap';
import { cidrContains, PodCidrAllocator, PodCidrError } from './ipam.js';

t.test('a /24 gives .2 to .254, round-robin, and reuses freed addresses after a full turn', async (t) => {
  const a = new PodCidrAllocator('10.244.3.0/24');
  t.equal(a.capacity, 253); // 256 − network − gateway (.1) − broadcast
  t.equal(a.allocate('p1'), '10.244.3.2');
  t.equal(a.allocate('p2'), '10.244.3.3');
  t.equal(a.allocate('p1'), '10.244.3.2', 'a pod keeps its address');
  a.release('p1');
  t.equal(a.allocate('p3'), '10.244.3.4', 'host-local goes on from the last one handed out');
  for (let i = 0; i < 250; i++) a.allocate(`fill${i}`);
  t.equal(a.used, 253 - 1);
  t.equal(a.allocate('late'), '10.244.3.2', 'the freed address comes round again');
  t.equal(a.allocate('none'), undefined, 'full');
  t.notOk(a.canAllocate('none'));
  t.ok(a.canAllocate('late'), 'a holder can always have its own');
});

t.test('adopt records addresses pods already have', async (t) => {
  const a = new PodCidrAllocator('10.244.3.0/29'); // .2 to .6
  t.equal(a.capacity, 5);
  t.ok(a.adopt('old', '10.244.3.2'));
  t.notOk(a.adopt('other', '10.244.3.2'), 'taken');
  t.notOk(a.adopt('x', '10.244.4.2'), 'outside the range');
  t.notOk(a.adopt('x', '10.244.3.7'), 'the broadcast address');
  t.equal(a.allocate('new'), '10.244.3.3');
  t.equal(a.addressOf('old'), '10.244.3.2');
});

t.test('bad ranges', async (t) => {
  for (const bad of ['10.244.3.0', '10.244.3.0/31', 'fd00::/64', '300.1.1.0/24', '10.0.0.0/7']) {
    t.throws(() => new PodCidrAllocator(bad), PodCidrError, bad);
  }
  t.equal(new PodCidrAllocator('10.244.3.77/24').allocate('p'), '10.244.3.2', 'host bits are ignored');
  t.ok(cidrContains('10.244.3.0/24', '10.244.3.200'));
  t.notOk(cidrContains('10.244.3.0/24', '10.244.4.1'));
});
