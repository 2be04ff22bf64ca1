/**
 * The Informer's list-and-watch loop on 410 Expired: the first expiry re-lists at once (the
 * list's resourceVersion is fresh, so the next watch normally succeeds); a server that keeps
 * answering 410 gets exponential back-off, not a tight re-list loop (client-node 1.4's informer
 * re-lists after every 410 with no delay). Resuming and re-listing against the real server are
 * covered by test/clientnode and by every controller test.
 */
import t from 'tap';
import { StatusError } from '../api/errors.js';
import { eventually } from '../testing/api.js';
import { Client, Kinds } from './client.js';
import { Informer } from './informer.js';
import type { Transport } from './types.js';

t.test('a server that answers every watch with 410 gets a re-list at once, then back-off', async (t) => {
  let lists = 0;
  const transport = {
    async list() {
      lists++;
      return { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: '7' }, items: [] };
    },
    async watch() {
      throw new StatusError(410, 'Expired', 'too old resource version: 7 (9)');
    },
  } as unknown as Transport;
  const inf = new Informer(new Client(transport), Kinds.ConfigMap);
  const ac = new AbortController();
  const running = inf.start(ac.signal);
  await eventually(() => lists >= 2, 'the re-list after the first 410', 30_000);
  // One second of real time: a tight loop would list thousands of times; back-off (0.8 s, then
  // 1.6 s, …) allows a handful at most.
  await new Promise((r) => setTimeout(r, 1000));
  ac.abort();
  await running;
  t.ok(lists <= 4, `${lists} lists in about a second`);
});
