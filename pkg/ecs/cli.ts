/**
 * `berth ecs …`: the ECS API's verbs as the AWS CLI names them, with its flags (kebab-case of the
 * API's keys) and `--cli-input-json` (`file://path` or inline JSON; flags given as well override
 * its keys, as the AWS CLI does). List flags take several values (`--tasks a b`), structure flags
 * the AWS CLI shorthand (`capacityProvider=FARGATE,weight=1,base=1`, one item per value) or JSON.
 * Output is the AWS CLI's JSON (4-space indent). Services and tasks live in the namespace `-n`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli/errors.js';
import type { Session } from '../cli/session.js';
import type { IO } from '../cli/types.js';
import * as ecs from './api.js';

type Json = Record<string, unknown>;
/** program.ts's command wrapper: runs a body with a session and reports failures as one line. */
export type Act = (body: (s: () => Session, args: string[], opts: Record<string, unknown>) => Promise<void>) => (...params: unknown[]) => Promise<void>;

/** Keys whose shorthand values stay strings even when they look like numbers. */
const STRING_KEYS = new Set(['field', 'expression', 'capacityProvider', 'containerName', 'targetGroupArn', 'loadBalancerName', 'name', 'cpu', 'memory', 'autoScalingGroupArn', 'type', 'status']);

function scalar(key: string, v: string): unknown {
  if (STRING_KEYS.has(key)) return v;
  if (/^-?\d+$/.test(v)) return Number(v);
  if (v === 'true' || v === 'false') return v === 'true';
  return v;
}

/** Splits `a=1,b={c=2,d=3},e="x, y"` at top-level commas. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let cur = '';
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = '';
      else cur += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      continue;
    }
    if (ch === '{' || ch === '[') depth++;
    if (ch === '}' || ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/** One AWS CLI shorthand structure: `key=value,key2={k=v}` → object. Throws CliError. */
export function parseShorthand(text: string, flag: string): Json {
  const out: Json = {};
  for (const part of splitTop(text.trim())) {
    const i = part.indexOf('=');
    if (i <= 0) throw new CliError(`invalid ${flag} "${text}": expected key=value pairs separated by commas, or JSON`);
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    out[k] = v.startsWith('{') && v.endsWith('}') ? parseShorthand(v.slice(1, -1), flag) : scalar(k, v);
  }
  return out;
}

/** A structure flag: JSON, or shorthand. */
function structure(v: string, flag: string): Json {
  const t = v.trim();
  if (t.startsWith('{')) return json(t, flag) as Json;
  return parseShorthand(t, flag);
}

/** A list-of-structures flag: one JSON array, JSON objects, or shorthand items. */
function structures(vs: string[] | undefined, flag: string): Json[] | undefined {
  if (!vs) return undefined;
  if (vs.length === 1 && vs[0]!.trim().startsWith('[')) return json(vs[0]!, flag) as Json[];
  return vs.map((v) => structure(v, flag));
}

function json(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`invalid JSON in ${flag}: ${(e as Error).message}`);
  }
}

/** `--cli-input-json file://td.json` (or inline JSON) → the object and the file it came from. */
export function readCliInput(v: string | undefined): { input: Json; file?: string } {
  if (v === undefined) return { input: {} };
  if (v.startsWith('file://')) {
    const path = v.slice('file://'.length);
    let text: string;
    try {
      text = readFileSync(resolve(path), 'utf8');
    } catch (e) {
      throw new CliError(`Error parsing parameter 'cli-input-json': Unable to load paramfile ${v}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch (e) {
      throw new CliError(`${path}: Error parsing parameter 'cli-input-json': Invalid JSON: ${(e as Error).message}`);
    }
    if (!input || typeof input !== 'object' || Array.isArray(input)) throw new CliError(`${path}: the input must be a JSON object`);
    return { input: input as Json, file: path };
  }
  const input = json(v, '--cli-input-json');
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new CliError('--cli-input-json: the input must be a JSON object');
  return { input: input as Json };
}

function intFlag(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new CliError(`invalid ${flag} "${String(v)}": an integer`);
  return n;
}

function print(io: IO, v: unknown): void {
  io.stdout(`${JSON.stringify(v, null, 4)}\n`);
}

interface FlagSpec {
  flag: string;
  key: string;
  kind: 'string' | 'int' | 'bool' | 'list' | 'structure' | 'structures' | 'json';
  help: string;
}

const F = (flag: string, key: string, kind: FlagSpec['kind'], help = ''): FlagSpec => ({ flag, key, kind, help });
const CLUSTER = F('--cluster', 'cluster', 'string', 'the cluster name or ARN (default: default)');
const STRATEGY = F('--capacity-provider-strategy', 'capacityProviderStrategy', 'structures', 'capacityProvider=NAME,weight=N,base=N … (one item per value) or JSON');
const PSTRATEGY = F('--placement-strategy', 'placementStrategy', 'structures', 'type=spread,field=attribute:ecs.availability-zone type=binpack,field=memory … or JSON');
const PCONSTRAINTS = F('--placement-constraints', 'placementConstraints', 'structures', 'type=distinctInstance "type=memberOf,expression=attribute:ecs.instance-type =~ t3.*" … or JSON');

/** Builds the request from `--cli-input-json` and the flags (flags win). */
function request(o: Record<string, unknown>, flags: FlagSpec[]): { input: Json; file?: string } {
  const { input, file } = readCliInput(o.cliInputJson as string | undefined);
  const out: Json = { ...input };
  for (const f of flags) {
    const prop = f.flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = o[prop];
    if (v === undefined) continue;
    switch (f.kind) {
      case 'string':
        out[f.key] = v;
        break;
      case 'int':
        out[f.key] = intFlag(v, f.flag);
        break;
      case 'bool':
        out[f.key] = v === true;
        break;
      case 'list':
        out[f.key] = (v as string[]).flatMap((x) => x.split(',')).filter(Boolean);
        break;
      case 'structure':
        out[f.key] = structure(v as string, f.flag);
        break;
      case 'structures':
        out[f.key] = structures(v as string[], f.flag);
        break;
      case 'json':
        out[f.key] = json(v as string, f.flag);
        break;
    }
  }
  return file !== undefined ? { input: out, file } : { input: out };
}

interface Verb {
  name: string;
  help: string;
  flags: FlagSpec[];
  run: (s: Session, input: Json, file: string | undefined) => Promise<unknown>;
}

const VERBS: Verb[] = [
  {
    name: 'register-task-definition',
    help: 'register a task definition: the next revision of its family',
    flags: [F('--family', 'family', 'string'), F('--container-definitions', 'containerDefinitions', 'json', 'JSON list'), F('--network-mode', 'networkMode', 'string'), F('--requires-compatibilities', 'requiresCompatibilities', 'list'), F('--cpu', 'cpu', 'string', 'CPU units or "1 vCPU"'), F('--memory', 'memory', 'string', 'MiB or "2 GB"')],
    run: (s, i, f) => ecs.registerTaskDefinition(s.client, i, f),
  },
  {
    name: 'describe-task-definition',
    help: 'a task definition: family (latest ACTIVE revision), family:revision or ARN',
    flags: [F('--task-definition', 'taskDefinition', 'string')],
    run: async (s, i) => ({ taskDefinition: ecs.taskDefinitionJson(await ecs.resolveTaskDefinition(s.client, String(i.taskDefinition ?? ''), 'DescribeTaskDefinition')) }),
  },
  { name: 'deregister-task-definition', help: 'make a revision INACTIVE', flags: [F('--task-definition', 'taskDefinition', 'string', 'family:revision or ARN')], run: (s, i) => ecs.deregisterTaskDefinition(s.client, i) },
  {
    name: 'create-cluster',
    help: 'create a cluster',
    flags: [F('--cluster-name', 'clusterName', 'string'), F('--capacity-providers', 'capacityProviders', 'list'), F('--default-capacity-provider-strategy', 'defaultCapacityProviderStrategy', 'structures')],
    run: (s, i) => ecs.createCluster(s.client, i),
  },
  { name: 'list-clusters', help: 'list cluster ARNs', flags: [], run: (s, i) => ecs.listClusters(s.client, i) },
  { name: 'delete-cluster', help: 'delete a cluster with no services, container instances or tasks', flags: [CLUSTER], run: (s, i) => ecs.deleteCluster(s.client, i) },
  { name: 'describe-clusters', help: 'describe clusters', flags: [F('--clusters', 'clusters', 'list')], run: (s, i) => ecs.describeClusters(s.client, i) },
  {
    name: 'put-cluster-capacity-providers',
    help: "set a cluster's capacity providers and default strategy",
    flags: [CLUSTER, F('--capacity-providers', 'capacityProviders', 'list'), F('--default-capacity-provider-strategy', 'defaultCapacityProviderStrategy', 'structures')],
    run: (s, i) => ecs.putClusterCapacityProviders(s.client, i),
  },
  {
    name: 'create-capacity-provider',
    help: 'an Auto Scaling group capacity provider (managed scaling)',
    flags: [F('--name', 'name', 'string'), F('--auto-scaling-group-provider', 'autoScalingGroupProvider', 'structure', 'autoScalingGroupArn=NAME,managedScaling={status=ENABLED,targetCapacity=100} or JSON')],
    run: (s, i) => ecs.createCapacityProvider(s.client, i),
  },
  { name: 'describe-capacity-providers', help: 'capacity providers (FARGATE and FARGATE_SPOT always exist)', flags: [F('--capacity-providers', 'capacityProviders', 'list')], run: (s, i) => ecs.describeCapacityProviders(s.client, i) },
  {
    name: 'create-service',
    help: 'create a service',
    flags: [CLUSTER, F('--service-name', 'serviceName', 'string'), F('--task-definition', 'taskDefinition', 'string'), F('--desired-count', 'desiredCount', 'int'), F('--launch-type', 'launchType', 'string'), STRATEGY, PSTRATEGY, PCONSTRAINTS, F('--deployment-configuration', 'deploymentConfiguration', 'structure'), F('--load-balancers', 'loadBalancers', 'structures', 'targetGroupArn=ARN,containerName=C,containerPort=80 …')],
    run: (s, i, f) => ecs.createService(s.client, s.namespace, i, f),
  },
  {
    name: 'update-service',
    help: 'change desired count, task definition, strategy…; --force-new-deployment',
    flags: [CLUSTER, F('--service', 'service', 'string'), F('--desired-count', 'desiredCount', 'int'), F('--task-definition', 'taskDefinition', 'string'), F('--force-new-deployment', 'forceNewDeployment', 'bool'), STRATEGY, PSTRATEGY, PCONSTRAINTS, F('--deployment-configuration', 'deploymentConfiguration', 'structure')],
    run: (s, i) => ecs.updateService(s.client, s.namespace, i),
  },
  { name: 'delete-service', help: 'delete a service (scaled to 0, or --force)', flags: [CLUSTER, F('--service', 'service', 'string'), F('--force', 'force', 'bool')], run: (s, i) => ecs.deleteService(s.client, s.namespace, i) },
  { name: 'describe-services', help: 'describe services', flags: [CLUSTER, F('--services', 'services', 'list')], run: (s, i) => ecs.describeServices(s.client, s.namespace, i) },
  { name: 'list-services', help: 'list services', flags: [CLUSTER], run: (s, i) => ecs.listServices(s.client, s.namespace, i) },
  {
    name: 'run-task',
    help: 'run tasks',
    flags: [CLUSTER, F('--task-definition', 'taskDefinition', 'string'), F('--count', 'count', 'int'), F('--launch-type', 'launchType', 'string'), STRATEGY, PSTRATEGY, PCONSTRAINTS, F('--group', 'group', 'string'), F('--started-by', 'startedBy', 'string')],
    run: (s, i, f) => ecs.runTask(s.client, s.namespace, i, f),
  },
  { name: 'stop-task', help: 'stop a task', flags: [CLUSTER, F('--task', 'task', 'string'), F('--reason', 'reason', 'string')], run: (s, i) => ecs.stopTask(s.client, s.namespace, i) },
  {
    name: 'list-tasks',
    help: 'list task ARNs',
    flags: [CLUSTER, F('--service-name', 'serviceName', 'string'), F('--family', 'family', 'string'), F('--desired-status', 'desiredStatus', 'string'), F('--started-by', 'startedBy', 'string'), F('--container-instance', 'containerInstance', 'string'), F('--launch-type', 'launchType', 'string')],
    run: (s, i) => ecs.listTasks(s.client, s.namespace, i),
  },
  { name: 'describe-tasks', help: 'describe tasks', flags: [CLUSTER, F('--tasks', 'tasks', 'list')], run: (s, i) => ecs.describeTasks(s.client, s.namespace, i) },
  { name: 'list-container-instances', help: 'list container instance ARNs', flags: [CLUSTER, F('--status', 'status', 'string')], run: (s, i) => ecs.listContainerInstances(s.client, i) },
  { name: 'describe-container-instances', help: 'describe container instances', flags: [CLUSTER, F('--container-instances', 'containerInstances', 'list')], run: (s, i) => ecs.describeContainerInstances(s.client, i) },
  { name: 'update-container-instances-state', help: 'ACTIVE or DRAINING', flags: [CLUSTER, F('--container-instances', 'containerInstances', 'list'), F('--status', 'status', 'string')], run: (s, i) => ecs.updateContainerInstancesState(s.client, i) },
];

/** Adds the `ecs` verbs to `ecs` (the `berth ecs` command), each run through program.ts's `act`. */
export function addEcsCommands(ecsCmd: Command, act: Act, io: IO): void {
  for (const v of VERBS) {
    const c = ecsCmd.command(v.name).description(v.help).option('--cli-input-json <json>', 'the request as JSON: file://path or inline');
    for (const f of v.flags) {
      const arg = f.kind === 'bool' ? '' : f.kind === 'list' || f.kind === 'structures' ? ' <values...>' : ' <value>';
      c.option(`${f.flag}${arg}`, f.help);
    }
    c.action(
      act(async (s, _args, o) => {
        const { input, file } = request(o, v.flags);
        print(io, await v.run(s(), input, file));
      }),
    );
  }
}
