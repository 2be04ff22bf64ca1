/**
 * `berth scale`: sets replicas through the `scale` subresource, as kubectl does, so it works the
 * same for Deployments, ReplicaSets, StatefulSets, Auto Scaling groups and custom resources.
 * `--current-replicas` makes the write conditional on the count (and resourceVersion) it read.
 */
import type { KubeObject } from '../api/types.js';
import { resolveArgs } from './args.js';
import { CliError } from './errors.js';
import { kindPrefix, qualifiedResource } from './printers.js';
import type { Session } from './session.js';
import type { IO } from './types.js';

export interface ScaleOptions {
  replicas?: string;
  currentReplicas?: string;
}

function count(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new CliError(`invalid argument "${v}" for "${flag}" flag: must be an integer`);
  return n;
}

export async function runScale(s: Session, io: IO, args: string[], opts: ScaleOptions): Promise<void> {
  const replicas = count('--replicas', opts.replicas);
  if (replicas === undefined || replicas < 0) throw new CliError('The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0');
  const current = count('--current-replicas', opts.currentReplicas) ?? -1;
  const reqs = await resolveArgs(s.client, args, 'You must provide a resource to scale, as KIND/NAME or KIND NAME.');
  const t = s.client.transport;
  for (const q of reqs) {
    if (!q.names.length) throw new CliError('resource(s) were provided, but no name was specified');
    if (!q.r.subresources.includes('scale')) throw new CliError(`${qualifiedResource(q.r)} cannot be scaled: the server has no scale subresource for them`);
    const ns = q.r.namespaced ? s.namespace : undefined;
    for (const name of q.names) {
      const scale = (await t.get(q.r, ns, name, 'scale')) as KubeObject & { spec?: { replicas?: number } };
      const have = scale.spec?.replicas ?? 0;
      if (current >= 0 && have !== current) throw new CliError(`Expected replicas to be ${current}, was ${have}`);
      const next: KubeObject = { ...scale, spec: { ...(scale.spec ?? {}), replicas } };
      // Unconditional unless the caller pinned the current count.
      if (current < 0) next.metadata = { ...scale.metadata, resourceVersion: '' };
      await t.update(q.r, ns, name, next, { subresource: 'scale' });
      io.stdout(`${kindPrefix(q.r)}/${name} scaled\n`);
    }
  }
}
