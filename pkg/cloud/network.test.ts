import t from 'tap';
import { allocateIp, allocatePodCidr, ipToNumber, numberToIp, parseCidr, parseProviderId, privateDnsName, providerId, regionZones, zoneSubnet } from './network.js';

t.test('one /20 per zone in 10.0.0.0/16', async (t) => {
  t.same(regionZones(), ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1e', 'us-east-1f']);
  t.equal(zoneSubnet('us-east-1a'), '10.0.0.0/20');
  t.equal(zoneSubnet('us-east-1b'), '10.0.16.0/20');
  t.equal(zoneSubnet('us-east-1f'), '10.0.80.0/20');
  t.equal(zoneSubnet('eu-west-1a'), undefined);
});

t.test('addresses skip the four AWS reserves and the broadcast', async (t) => {
  t.equal(allocateIp('us-east-1a', new Set()), '10.0.0.4');
  t.equal(allocateIp('us-east-1b', new Set(['10.0.16.4', '10.0.16.5'])), '10.0.16.6');
  // A /20 holds 4096 addresses; 4096 − 4 − 1 = 4091 usable, 10.0.0.4 … 10.0.15.254.
  const used = new Set<string>();
  for (let n = ipToNumber('10.0.0.4'); n <= ipToNumber('10.0.15.254'); n++) used.add(numberToIp(n));
  t.equal(used.size, 4091);
  t.equal(allocateIp('us-east-1a', used), undefined, 'full subnet');
});

t.test('names and provider IDs', async (t) => {
  t.equal(privateDnsName('10.0.1.23'), 'ip-10-0-1-23.ec2.internal');
  t.equal(providerId('us-east-1a', 'i-0123456789abcdef0'), 'aws:///us-east-1a/i-0123456789abcdef0');
  t.same(parseProviderId('aws:///us-east-1a/i-0123456789abcdef0'), { zone: 'us-east-1a', instanceId: 'i-0123456789abcdef0' });
  t.equal(parseProviderId('kind://docker/n1'), undefined);
  t.equal(parseProviderId(undefined), undefined);
});

t.test('pod CIDRs: a /24 each', async (t) => {
  t.equal(allocatePodCidr(new Set()), '10.244.0.0/24');
  t.equal(allocatePodCidr(new Set(['10.244.0.0/24', '10.244.2.0/24'])), '10.244.1.0/24');
  const all = new Set(Array.from({ length: 256 }, (_, i) => `10.244.${i}.0/24`));
  t.equal(allocatePodCidr(all), undefined, '256 nodes fill a /16');
  t.equal(allocatePodCidr(all, '10.244.0.0/15'), '10.245.0.0/24');
  t.throws(() => parseCidr('10.244.0.1/16'), { code: 'InvalidCidr' });
  t.throws(() => ipToNumber('10.300.0.1'), { code: 'InvalidCidr' });
});
