/**
 * Task definitions as ECS validates and defaults them, and the Pod a task of one runs as.
 *
 * Rules, from the ECS API reference and developer guide:
 * - RegisterTaskDefinition, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html
 *   (family 1–255 letters, digits, `_` and `-`; task `cpu` as CPU units or `"1 vCPU"`, `memory` as
 *   MiB or `"1 GB"`, converted to units/MiB on registration; networkMode bridge | host | awsvpc |
 *   none; requiresCompatibilities EC2 | FARGATE | EXTERNAL).
 * - ContainerDefinition, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html
 *   (`memory` is the hard limit and `memoryReservation` the soft limit, both MiB; with both,
 *   memory must be greater than memoryReservation; with no task-level memory, every container
 *   needs one of them; the Docker 20.10 daemon needs at least 6 MiB; `essential` defaults to
 *   true and a task needs at least one essential container; the total reserved by the containers
 *   must not exceed the task-level values).
 * - PortMapping, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html
 *   (protocol tcp | udp, default tcp; with awsvpc or host, hostPort is omitted or equal to containerPort).
 * - Fargate, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html
 *   and task-cpu-memory-error.html: awsvpc only, task-level cpu and memory required and one of the
 *   valid combinations (data/fargate.json: 256 CPU units with 512, 1024 or 2048 MiB … 16384 with 32–120 GiB).
 * - "Containers per task definition": 10 (ECS service quotas).
 */
import type { FieldError } from '../api/errors.js';
import { fieldDuplicate, fieldInvalid, fieldNotSupported, fieldRequired } from '../api/errors.js';
import type { Container, Pod } from '../api/types.js';
import { fargateSizes } from '../fargate/fargate.js';
import {
  LAUNCH_TYPES,
  NETWORK_MODES,
  type ContainerDefinition,
  type LaunchType,
  type NetworkMode,
  type TaskDefinitionSpec,
} from './types.js';

/** RegisterTaskDefinition's request keys (the AWS CLI refuses any other). */
export const TASK_DEFINITION_KEYS = [
  'family', 'taskRoleArn', 'executionRoleArn', 'networkMode', 'containerDefinitions', 'volumes', 'placementConstraints',
  'requiresCompatibilities', 'cpu', 'memory', 'tags', 'pidMode', 'ipcMode', 'proxyConfiguration', 'inferenceAccelerators',
  'ephemeralStorage', 'runtimePlatform', 'enableFaultInjection',
];
/** ContainerDefinition's keys. */
export const CONTAINER_DEFINITION_KEYS = [
  'name', 'image', 'repositoryCredentials', 'cpu', 'memory', 'memoryReservation', 'links', 'portMappings', 'essential',
  'restartPolicy', 'entryPoint', 'command', 'environment', 'environmentFiles', 'mountPoints', 'volumesFrom', 'linuxParameters',
  'secrets', 'dependsOn', 'startTimeout', 'stopTimeout', 'versionConsistency', 'hostname', 'user', 'workingDirectory',
  'disableNetworking', 'privileged', 'readonlyRootFilesystem', 'dnsServers', 'dnsSearchDomains', 'extraHosts',
  'dockerSecurityOptions', 'interactive', 'pseudoTerminal', 'dockerLabels', 'ulimits', 'logConfiguration', 'healthCheck',
  'systemControls', 'resourceRequirements', 'firelensConfiguration', 'credentialSpecs',
];
export const PORT_MAPPING_KEYS = ['containerPort', 'hostPort', 'protocol', 'name', 'appProtocol', 'containerPortRange'];

/** The most containers a task definition holds (ECS service quota). */
export const MAX_CONTAINERS = 10;
/** The least memory a container may have, MiB (Docker 20.10+). */
export const MIN_CONTAINER_MEMORY_MIB = 6;
/** Task-level CPU units on EC2: 128 (0.125 vCPU) to 196608 (192 vCPU). */
export const TASK_CPU_RANGE = { min: 128, max: 196608 };

const FAMILY_RE = /^[A-Za-z0-9_-]{1,255}$/;

/**
 * Unknown keys in a request object, as the AWS CLI's parameter validation names them:
 * `Unknown parameter in containerDefinitions[0]: "foo", must be one of: name, image, …`. Returns messages.
 */
export function unknownKeys(obj: unknown, allowed: readonly string[], where: string): string[] {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return [];
  return Object.keys(obj)
    .filter((k) => !allowed.includes(k))
    .map((k) => `Unknown parameter in ${where || 'input'}: "${k}", must be one of: ${allowed.join(', ')}`);
}

/** Every unknown key of a RegisterTaskDefinition request (top level, containers, port mappings). */
export function unknownTaskDefinitionKeys(spec: Record<string, unknown>): string[] {
  const out = unknownKeys(spec, TASK_DEFINITION_KEYS, '');
  const cds = Array.isArray(spec.containerDefinitions) ? (spec.containerDefinitions as Record<string, unknown>[]) : [];
  cds.forEach((c, i) => {
    out.push(...unknownKeys(c, CONTAINER_DEFINITION_KEYS, `containerDefinitions[${i}]`));
    const pms = c && Array.isArray(c.portMappings) ? (c.portMappings as unknown[]) : [];
    pms.forEach((p, j) => out.push(...unknownKeys(p, PORT_MAPPING_KEYS, `containerDefinitions[${i}].portMappings[${j}]`)));
  });
  return out;
}

/**
 * Task-level CPU units from the API's forms: `"256"`, `256`, `"1 vCPU"`, `"0.25 vcpu"` (× 1024).
 * Returns undefined when absent, NaN when unreadable.
 */
export function parseTaskCpu(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return NaN;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$/i.exec(v);
  if (!m) return NaN;
  return m[2] ? Math.round(Number(m[1]) * 1024) : Number(m[1]);
}

/** Task-level memory in MiB from `"512"`, `512`, `"1 GB"`, `"0.5GB"` (× 1024). Undefined when absent, NaN when unreadable. */
export function parseTaskMemory(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return NaN;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(gb)?\s*$/i.exec(v);
  if (!m) return NaN;
  return m[2] ? Math.round(Number(m[1]) * 1024) : Number(m[1]);
}

/** The network mode in effect: the definition's, else `bridge` (ECS's default on Linux EC2). */
export function networkModeOf(spec: TaskDefinitionSpec): NetworkMode {
  return spec.networkMode ?? 'bridge';
}

/** True if `cpu` units with `memory` MiB is one of Fargate's task sizes. */
export function isFargateTaskSize(cpu: number, memory: number): boolean {
  return fargateSizes().some((s) => s.vcpu * 1024 === cpu && s.memoryGB * 1024 === memory);
}

/** The valid Fargate memory values (MiB) for `cpu` units, for error messages. */
export function fargateMemoryChoices(cpu: number): number[] {
  return fargateSizes()
    .filter((s) => s.vcpu * 1024 === cpu)
    .map((s) => s.memoryGB * 1024);
}

/**
 * Fills in what ECS fills in on registration, in place: task cpu/memory converted to units/MiB
 * strings, `essential: true`, port mappings' `protocol: tcp` and `hostPort` (the containerPort
 * with awsvpc or host, 0 — dynamic — with bridge), container `cpu: 0`.
 */
export function defaultTaskDefinitionSpec(spec: TaskDefinitionSpec): void {
  if (!spec || typeof spec !== 'object') return;
  const cpu = parseTaskCpu(spec.cpu);
  if (cpu !== undefined && Number.isFinite(cpu)) spec.cpu = String(cpu);
  const mem = parseTaskMemory(spec.memory);
  if (mem !== undefined && Number.isFinite(mem)) spec.memory = String(mem);
  const mode = networkModeOf(spec);
  for (const c of Array.isArray(spec.containerDefinitions) ? spec.containerDefinitions : []) {
    if (!c || typeof c !== 'object') continue;
    if (c.essential === undefined) c.essential = true;
    if (c.cpu === undefined) c.cpu = 0;
    for (const p of Array.isArray(c.portMappings) ? c.portMappings : []) {
      if (!p || typeof p !== 'object') continue;
      if (p.protocol === undefined) p.protocol = 'tcp';
      if (p.hostPort === undefined && typeof p.containerPort === 'number') p.hostPort = mode === 'bridge' ? 0 : p.containerPort;
    }
  }
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Every field error of a RegisterTaskDefinition request, with paths as ECS names them
 * (`containerDefinitions[0].portMappings[0].protocol`), prefixed by `prefix` (`spec.` for the object).
 */
export function validateTaskDefinitionSpec(spec: TaskDefinitionSpec, prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  const P = (p: string): string => `${prefix}${p}`;
  if (!spec || typeof spec !== 'object') return [fieldRequired(P('family'))];
  if (typeof spec.family !== 'string' || !spec.family) out.push(fieldRequired(P('family')));
  else if (!FAMILY_RE.test(spec.family)) out.push(fieldInvalid(P('family'), spec.family, 'up to 255 letters (upper and lower case), numbers, underscores and hyphens'));

  const mode = spec.networkMode;
  if (mode !== undefined && !NETWORK_MODES.includes(mode)) out.push(fieldNotSupported(P('networkMode'), mode, [...NETWORK_MODES]));
  const compat = spec.requiresCompatibilities;
  if (compat !== undefined) {
    if (!Array.isArray(compat)) out.push(fieldInvalid(P('requiresCompatibilities'), compat, 'must be a list of EC2, FARGATE or EXTERNAL'));
    else compat.forEach((c, i) => void (!LAUNCH_TYPES.includes(c) && out.push(fieldNotSupported(P(`requiresCompatibilities[${i}]`), c, [...LAUNCH_TYPES]))));
  }
  const cpu = parseTaskCpu(spec.cpu);
  const mem = parseTaskMemory(spec.memory);
  if (cpu !== undefined && (!Number.isFinite(cpu) || !Number.isInteger(cpu))) out.push(fieldInvalid(P('cpu'), spec.cpu, 'CPU units as an integer ("256") or vCPUs ("1 vCPU")'));
  else if (cpu !== undefined && (cpu < TASK_CPU_RANGE.min || cpu > TASK_CPU_RANGE.max)) out.push(fieldInvalid(P('cpu'), spec.cpu, `must be between ${TASK_CPU_RANGE.min} and ${TASK_CPU_RANGE.max} CPU units`));
  if (mem !== undefined && (!Number.isFinite(mem) || !Number.isInteger(mem) || mem <= 0)) out.push(fieldInvalid(P('memory'), spec.memory, 'MiB as a positive integer ("512") or GB ("1 GB")'));

  const fargate = Array.isArray(compat) && compat.includes('FARGATE');
  if (fargate) {
    if ((mode ?? 'bridge') !== 'awsvpc') out.push(fieldInvalid(P('networkMode'), mode ?? 'bridge', 'Fargate requires the awsvpc network mode'));
    if (cpu === undefined) out.push(fieldRequired(P('cpu'), 'Fargate requires task-level cpu'));
    if (mem === undefined) out.push(fieldRequired(P('memory'), 'Fargate requires task-level memory'));
    if (cpu !== undefined && mem !== undefined && Number.isFinite(cpu) && Number.isFinite(mem) && !isFargateTaskSize(cpu, mem)) {
      const choices = fargateMemoryChoices(cpu);
      out.push(
        fieldInvalid(
          P('memory'),
          spec.memory,
          choices.length
            ? `not a valid Fargate size with cpu ${cpu}: with ${cpu} CPU units memory must be one of ${choices.join(', ')} MiB`
            : `cpu ${cpu} is not a Fargate size: use 256, 512, 1024, 2048, 4096, 8192 or 16384 CPU units`,
        ),
      );
    }
  }

  const cds = spec.containerDefinitions;
  if (!Array.isArray(cds) || cds.length === 0) {
    out.push(fieldRequired(P('containerDefinitions'), 'a task definition needs at least one container'));
    return out;
  }
  if (cds.length > MAX_CONTAINERS) out.push(fieldInvalid(P('containerDefinitions'), `${cds.length} containers`, `must have at most ${MAX_CONTAINERS} items`));
  const names = new Set<string>();
  const hostPorts = new Set<string>();
  let sumCpu = 0;
  let sumMem = 0;
  let essential = 0;
  cds.forEach((c: ContainerDefinition, i) => {
    const cp = (f: string): string => P(`containerDefinitions[${i}]${f ? `.${f}` : ''}`);
    if (!c || typeof c !== 'object') return void out.push(fieldInvalid(cp(''), c, 'must be an object'));
    if (typeof c.name !== 'string' || !c.name) out.push(fieldRequired(cp('name')));
    else if (!FAMILY_RE.test(c.name)) out.push(fieldInvalid(cp('name'), c.name, 'up to 255 letters, numbers, underscores and hyphens'));
    else if (names.has(c.name)) out.push(fieldDuplicate(cp('name'), c.name));
    else names.add(c.name);
    if (typeof c.image !== 'string' || !c.image) out.push(fieldRequired(cp('image')));
    if (c.essential !== false) essential++;
    if (c.cpu !== undefined && (!isInt(c.cpu) || c.cpu < 0)) out.push(fieldInvalid(cp('cpu'), c.cpu, 'CPU units: an integer of at least 0'));
    else sumCpu += c.cpu ?? 0;
    for (const f of ['memory', 'memoryReservation'] as const) {
      const v = c[f];
      if (v !== undefined && (!isInt(v) || v < MIN_CONTAINER_MEMORY_MIB)) out.push(fieldInvalid(cp(f), v, `MiB: an integer of at least ${MIN_CONTAINER_MEMORY_MIB} (the least Docker gives a container)`));
    }
    if (isInt(c.memory) && isInt(c.memoryReservation) && c.memory < c.memoryReservation) out.push(fieldInvalid(cp('memory'), c.memory, `must be greater than or equal to memoryReservation (${c.memoryReservation})`));
    if (c.memory === undefined && c.memoryReservation === undefined && mem === undefined) out.push(fieldRequired(cp('memory'), `at least one of 'memory' or 'memoryReservation' must be specified for container '${c.name ?? i}' when the task has no task-level memory`));
    if (mem !== undefined && isInt(c.memory) && c.memory > mem) out.push(fieldInvalid(cp('memory'), c.memory, `must not exceed the task memory (${mem} MiB)`));
    sumMem += isInt(c.memoryReservation) ? c.memoryReservation : isInt(c.memory) ? c.memory : 0;
    if (c.portMappings !== undefined && !Array.isArray(c.portMappings)) out.push(fieldInvalid(cp('portMappings'), c.portMappings, 'must be a list'));
    (Array.isArray(c.portMappings) ? c.portMappings : []).forEach((p, j) => {
      const pp = (f: string): string => cp(`portMappings[${j}].${f}`);
      if (!p || typeof p !== 'object') return void out.push(fieldInvalid(cp(`portMappings[${j}]`), p, 'must be an object'));
      if (p.containerPortRange === undefined) {
        if (p.containerPort === undefined) out.push(fieldRequired(pp('containerPort')));
        else if (!isInt(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) out.push(fieldInvalid(pp('containerPort'), p.containerPort, 'must be between 1 and 65535'));
      }
      if (p.protocol !== undefined && p.protocol !== 'tcp' && p.protocol !== 'udp') out.push(fieldNotSupported(pp('protocol'), p.protocol, ['tcp', 'udp']));
      if (p.hostPort !== undefined && (!isInt(p.hostPort) || p.hostPort < 0 || p.hostPort > 65535)) out.push(fieldInvalid(pp('hostPort'), p.hostPort, 'must be between 0 and 65535'));
      const m = mode ?? 'bridge';
      if ((m === 'awsvpc' || m === 'host') && isInt(p.hostPort) && isInt(p.containerPort) && p.hostPort !== 0 && p.hostPort !== p.containerPort) {
        out.push(fieldInvalid(pp('hostPort'), p.hostPort, `with the ${m} network mode, hostPort must be omitted or equal to containerPort (${p.containerPort})`));
      }
      const hp = m === 'bridge' ? p.hostPort : (p.hostPort ?? p.containerPort);
      if (isInt(hp) && hp > 0) {
        const key = `${hp}/${p.protocol ?? 'tcp'}`;
        if (hostPorts.has(key)) out.push(fieldDuplicate(pp('hostPort'), hp));
        hostPorts.add(key);
      }
    });
  });
  if (essential === 0) out.push(fieldInvalid(P('containerDefinitions'), '', 'a task definition must have at least one essential container'));
  if (cpu !== undefined && Number.isFinite(cpu) && sumCpu > cpu) out.push(fieldInvalid(P('containerDefinitions'), `${sumCpu} CPU units`, `the containers' cpu must not exceed the task cpu (${cpu})`));
  if (mem !== undefined && Number.isFinite(mem) && sumMem > mem) out.push(fieldInvalid(P('containerDefinitions'), `${sumMem} MiB`, `the containers' memory reservations must not exceed the task memory (${mem} MiB)`));
  return out;
}

/**
 * The launch types a (valid) definition can run on, as DescribeTaskDefinition's
 * `compatibilities`: EC2 always, FARGATE too when it uses awsvpc and a valid Fargate size.
 */
export function compatibilitiesOf(spec: TaskDefinitionSpec): LaunchType[] {
  const out: LaunchType[] = ['EC2'];
  const cpu = parseTaskCpu(spec.cpu);
  const mem = parseTaskMemory(spec.memory);
  if (spec.networkMode === 'awsvpc' && cpu !== undefined && mem !== undefined && isFargateTaskSize(cpu, mem)) out.push('FARGATE');
  if (spec.requiresCompatibilities?.includes('EXTERNAL')) out.push('EXTERNAL');
  return out;
}

/** What one task of a definition reserves: CPU units, memory MiB (each container's and the task total), and host ports. */
export interface TaskReservation {
  /** Per container, in containerDefinitions order: CPU units and memory MiB requested, memory hard limit MiB. */
  containers: { name: string; cpu: number; memory: number; limit?: number }[];
  cpu: number;
  memory: number;
  hostPorts: { port: number; protocol: 'tcp' | 'udp' }[];
}

/**
 * What a task reserves, as ECS's placement counts it: each container its `cpu` and its
 * `memoryReservation` if set, else `memory`. When the definition has task-level cpu (memory), the
 * task reserves that: what the containers leave of it is spread evenly over the containers with
 * no value of their own (memory: over those without a hard limit too), or added to the first
 * container that can take it; if every container has a hard limit below it, the task reserves
 * only the containers' sum. Host ports: fixed `hostPort`s in bridge mode, the container ports
 * in host mode (awsvpc tasks have their own network interface and hold no host port).
 */
export function taskReservation(spec: TaskDefinitionSpec): TaskReservation {
  const cds = spec.containerDefinitions ?? [];
  const containers = cds.map((c) => ({ name: c.name, cpu: c.cpu ?? 0, memory: c.memoryReservation ?? c.memory ?? 0, ...(c.memory !== undefined ? { limit: c.memory } : {}) }));
  const taskCpu = parseTaskCpu(spec.cpu);
  const taskMem = parseTaskMemory(spec.memory);
  const spread = (key: 'cpu' | 'memory', total: number | undefined): void => {
    if (total === undefined || !Number.isFinite(total) || !containers.length) return;
    const used = containers.reduce((n, c) => n + c[key], 0);
    let left = total - used;
    if (left <= 0) return;
    const room = (c: (typeof containers)[number]): number => (key === 'memory' && c.limit !== undefined ? Math.max(0, c.limit - c.memory) : Infinity);
    const empty = containers.filter((c) => c[key] === 0 && room(c) > 0);
    if (empty.length) {
      const share = Math.floor(left / empty.length);
      empty.forEach((c, i) => {
        const add = Math.min(room(c), i === 0 ? left - share * (empty.length - 1) : share);
        c[key] += add;
      });
      return;
    }
    for (const c of containers) {
      const add = Math.min(room(c), left);
      c[key] += add;
      left -= add;
      if (left <= 0) break;
    }
  };
  spread('cpu', taskCpu);
  spread('memory', taskMem);
  const mode = networkModeOf(spec);
  const hostPorts: TaskReservation['hostPorts'] = [];
  if (mode === 'bridge' || mode === 'host') {
    for (const c of cds) {
      for (const p of c.portMappings ?? []) {
        const hp = mode === 'host' ? (p.hostPort || p.containerPort) : p.hostPort;
        if (hp) hostPorts.push({ port: hp, protocol: p.protocol ?? 'tcp' });
      }
    }
  }
  return { containers, cpu: containers.reduce((n, c) => n + c.cpu, 0), memory: containers.reduce((n, c) => n + c.memory, 0), hostPorts };
}

/** Millicores for CPU units: ceil(units × 1000 / 1024). */
export function unitsToMillicores(units: number): number {
  return Math.ceil((units * 1000) / 1024);
}

/**
 * The Pod spec's containers for a task: image, ECS `entryPoint` → `command`, ECS `command` →
 * `args`, `environment` → `env`, `workingDirectory` → `workingDir`, port mappings → `ports`
 * (a fixed hostPort in bridge mode, the container port in host mode), and resources from
 * `taskReservation` (requests: cpu in millicores, memory MiB; limits: memory's hard limit).
 */
export function podContainers(spec: TaskDefinitionSpec): Container[] {
  const r = taskReservation(spec);
  const mode = networkModeOf(spec);
  return (spec.containerDefinitions ?? []).map((c, i) => {
    const res = r.containers[i]!;
    const requests: Record<string, string> = {};
    if (res.cpu > 0) requests.cpu = `${unitsToMillicores(res.cpu)}m`;
    if (res.memory > 0) requests.memory = `${res.memory}Mi`;
    const limits: Record<string, string> = {};
    if (res.limit !== undefined) limits.memory = `${res.limit}Mi`;
    const ports = (c.portMappings ?? [])
      .filter((p) => typeof p.containerPort === 'number')
      .map((p) => {
        const hp = mode === 'host' ? p.hostPort || p.containerPort : mode === 'bridge' ? p.hostPort : undefined;
        return { containerPort: p.containerPort!, protocol: (p.protocol ?? 'tcp').toUpperCase(), ...(hp ? { hostPort: hp } : {}), ...(p.name && /^[a-z0-9-]{1,15}$/.test(p.name) ? { name: p.name } : {}) };
      });
    const wd = (c as { workingDirectory?: string }).workingDirectory;
    return {
      name: c.name.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63).replace(/^-+|-+$/g, '') || `c${i}`,
      image: c.image,
      ...(c.entryPoint?.length ? { command: c.entryPoint } : {}),
      ...(c.command?.length ? { args: c.command } : {}),
      ...(c.environment?.length ? { env: c.environment.map((e) => ({ name: e.name, value: e.value ?? '' })) } : {}),
      ...(wd ? { workingDir: wd } : {}),
      ...(ports.length ? { ports } : {}),
      resources: { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) },
    } as Container;
  });
}

/** The Pod container name berth gives ECS container `name` (DNS-label form). */
export function podContainerName(spec: TaskDefinitionSpec, ecsName: string): string | undefined {
  const i = (spec.containerDefinitions ?? []).findIndex((c) => c.name === ecsName);
  if (i < 0) return undefined;
  return podContainers(spec)[i]!.name;
}

export type { Pod };
