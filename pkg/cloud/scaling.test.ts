import t from 'tap';
import { launchZones, msToNextBillingHour, terminationOrder, type Member } from './scaling.js';

const Z = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const MIN = 60_000;

function m(id: string, zone: string, launchMin: number, outdated = false): Member {
  return { instanceId: id, zone: `us-east-1${zone}`, launchTime: launchMin * MIN, outdated };
}

t.test('launches go to the zone with the fewest, ties by zone order', async (t) => {
  t.same(launchZones(Z, [], 5), ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1a', 'us-east-1b']);
  t.same(launchZones(Z, [{ zone: 'us-east-1a' }, { zone: 'us-east-1a' }, { zone: 'us-east-1b' }], 2), ['us-east-1c', 'us-east-1b'], 'a:2 b:1 c:0 → c, then b (b:1 ties c:1, b first)');
  t.same(launchZones(Z, [{ zone: 'us-east-1d' }], 1), ['us-east-1a'], 'instances outside the zones do not count');
  t.same(launchZones(Z, [], 0), []);
});

t.test('billing hour', async (t) => {
  t.equal(msToNextBillingHour(0, 10 * MIN), 50 * MIN);
  t.equal(msToNextBillingHour(0, 70 * MIN), 50 * MIN, 'the second hour ends at 120 min');
  t.equal(msToNextBillingHour(NaN, 5 * MIN), 60 * MIN, 'not launched yet: a full hour');
});

t.test('Default termination policy', async (t) => {
  const now = 100 * MIN;
  // Zones: a has 3, b 2, c 1.
  const members = [m('i-a1', 'a', 0), m('i-a2', 'a', 30), m('i-a3', 'a', 90), m('i-b1', 'b', 10), m('i-b2', 'b', 50), m('i-c1', 'c', 20)];
  // In zone a at 100 min: a1 ran 100 → 20 min to its next hour; a2 ran 70 → 50 min; a3 ran 10 → 50 min.
  // a1 is closest to its billing hour. Then a:2 b:2 c:1 → b (later zone on a tie): b1 ran 90 → 30 min; b2 ran 50 → 10 min → b2.
  // Then a:2 b:1 c:1 → a: a2 and a3 both 50 min → newest, a3.
  t.same(
    terminationOrder(Z, members, 3, now).map((x) => x.instanceId),
    ['i-a1', 'i-b2', 'i-a3'],
  );
});

t.test('outdated launch template before billing hour; zones no longer in the group first', async (t) => {
  const now = 100 * MIN;
  const members = [m('i-a1', 'a', 0), m('i-a2', 'a', 30, true), m('i-b1', 'b', 10), m('i-d1', 'd', 50)];
  // d is not in the group's zones: it goes first even with one instance. Then a (2) — a2 is outdated.
  t.same(
    terminationOrder(Z, members, 2, now).map((x) => x.instanceId),
    ['i-d1', 'i-a2'],
  );
});

t.test('all equal: newest, then highest id', async (t) => {
  const members = [m('i-01', 'a', 0), m('i-02', 'a', 0), m('i-03', 'a', 0)];
  t.same(
    terminationOrder(['us-east-1a'], members, 2, 5 * MIN).map((x) => x.instanceId),
    ['i-03', 'i-02'],
  );
  t.same(terminationOrder(Z, [], 2, 0), [], 'nothing to pick');
});
