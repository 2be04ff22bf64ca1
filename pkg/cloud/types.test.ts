import t from 'tap';
import { INSTANCE_ID_RE, newInstanceId, secureRandom } from './types.js';

t.test('instance ids from the system generator look like EC2 ids', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const x = secureRandom();
    t.ok(x >= 0 && x < 1, 'in [0, 1)');
    const id = newInstanceId();
    t.match(id, INSTANCE_ID_RE);
    seen.add(id);
  }
  t.equal(seen.size, 200, 'no repeats');
});

t.test('a seeded generator gives repeatable ids', async (t) => {
  const seq = (): (() => number) => {
    let n = 0;
    return () => ((n++ * 7919) % 1000) / 1000;
  };
  t.equal(newInstanceId(seq()), newInstanceId(seq()));
});
