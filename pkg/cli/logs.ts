/**
 * `berth logs POD [-c CONTAINER] [-f] [--previous] [--tail N] [--timestamps]`, and `KIND/NAME`
 * for a workload (its first pod, as kubectl picks one), read through the API server's
 * `pods/<name>/log` subresource from whichever runtime runs the pod; `function/NAME` reads a
 * Lambda function's invocation logs (START, output, END, REPORT) from `functions/<name>/log`.
 */
import { selectorFromLabelSelector } from '../api/labels.js';
import type { KubeObject, LabelSelector, Pod } from '../api/types.js';
import { functionLogPath, LAMBDA_GROUP } from '../aws/lambda/index.js';
import { Kinds } from '../client/client.js';
import { CliError } from './errors.js';
import type { Session } from './session.js';
import type { IO } from './types.js';

export interface LogsOptions {
  container?: string;
  follow?: boolean;
  previous?: boolean;
  tail?: string;
  timestamps?: boolean;
  sinceSeconds?: string;
}

/** The pod a `logs` argument names: a pod name, `pod/NAME`, or `KIND/NAME` of something with a selector. */
async function podFor(s: Session, arg: string): Promise<Pod> {
  const slash = arg.indexOf('/');
  if (slash < 0) return s.client.get<Pod>(Kinds.Pod, arg, s.namespace);
  const kind = arg.slice(0, slash);
  const name = arg.slice(slash + 1);
  const r = await s.client.resolve(kind);
  if (r.kind === 'Pod' && r.group === '') return s.client.get<Pod>(Kinds.Pod, name, s.namespace);
  const owner = (await s.transport.get(r, r.namespaced ? s.namespace : undefined, name)) as KubeObject;
  const sel = (owner.spec as { selector?: LabelSelector } | undefined)?.selector;
  if (!sel) throw new CliError(`cannot get logs from ${r.kind} ${name}: it selects no pods`);
  const selector = selectorFromLabelSelector(sel).toString();
  const pods = (await s.client.list<Pod>(Kinds.Pod, { namespace: s.namespace, labelSelector: selector })).items.sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
  if (!pods.length) throw new CliError(`no pods found for ${kind}/${name}`);
  return pods[0]!;
}

/** The log path of a Lambda function (`function/NAME`), or undefined for any other argument. */
async function functionLogFor(s: Session, arg: string): Promise<string | undefined> {
  const slash = arg.indexOf('/');
  if (slash < 0) return undefined;
  const r = await s.client.resolve(arg.slice(0, slash));
  return r.group === LAMBDA_GROUP && r.kind === 'Function' ? functionLogPath(arg.slice(slash + 1)) : undefined;
}

export async function runLogs(s: Session, io: IO, args: string[], opts: LogsOptions): Promise<void> {
  if (args.length !== 1) throw new CliError('expected one POD or KIND/NAME; for example: berth logs web-abc12 -c nginx');
  const fnPath = await functionLogFor(s, args[0]!);
  const pod = fnPath ? undefined : await podFor(s, args[0]!);
  const tail = opts.tail !== undefined ? Number(opts.tail) : undefined;
  if (tail !== undefined && (!Number.isInteger(tail) || tail < -1)) throw new CliError(`invalid argument "${opts.tail}" for "--tail" flag: must be an integer`);
  const since = opts.sinceSeconds !== undefined ? Number(opts.sinceSeconds) : undefined;
  const query = {
    ...(opts.container ? { container: opts.container } : {}),
    ...(opts.previous ? { previous: 'true' } : {}),
    ...(opts.timestamps ? { timestamps: 'true' } : {}),
    ...(tail !== undefined && tail >= 0 ? { tailLines: tail } : {}),
    ...(since !== undefined ? { sinceSeconds: since } : {}),
  };
  const path = fnPath ?? `/api/v1/namespaces/${encodeURIComponent(pod!.metadata.namespace!)}/pods/${encodeURIComponent(pod!.metadata.name!)}/log`;
  if (!opts.follow) {
    io.stdout((await s.transport.call('GET', path, { query, text: true })) as string);
    return;
  }
  const ac = new AbortController();
  io.signal?.addEventListener('abort', () => ac.abort(), { once: true });
  for await (const chunk of await s.transport.stream(path, { ...query, follow: 'true' }, ac.signal)) io.stdout(chunk);
}
