/** `berth api-resources`: the kinds the server serves, as kubectl lists them. */
import { groupVersion } from '../api/resources.js';
import type { Session } from './session.js';
import { GET_TABS, TabWriter } from './tabwriter.js';
import type { IO } from './types.js';

export async function runApiResources(s: Session, io: IO, opts: { namespaced?: boolean }): Promise<void> {
  const all = (await s.client.resources()).all();
  // One version per group: the first discovery lists (the preferred one).
  const preferred = new Map<string, string>();
  for (const r of all) if (!preferred.has(r.group)) preferred.set(r.group, r.version);
  const rows = all
    .filter((r) => r.version === preferred.get(r.group))
    .filter((r) => opts.namespaced === undefined || r.namespaced === opts.namespaced)
    .sort((a, b) => (a.group === b.group ? cmp(a.resource, b.resource) : a.group === '' ? -1 : b.group === '' ? 1 : cmp(a.group, b.group)));
  const tw = new TabWriter(GET_TABS);
  tw.write('NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND\n');
  for (const r of rows) tw.write(`${r.resource}\t${r.shortNames.join(',')}\t${groupVersion(r)}\t${r.namespaced}\t${r.kind}\n`);
  io.stdout(tw.flush());
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
