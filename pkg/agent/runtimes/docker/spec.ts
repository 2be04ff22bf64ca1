/**
 * From a Pod's container spec to a Docker container: the environment as the kubelet builds it
 * (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables: `envFrom`, then `env` with `$(VAR)`
 * expansion and `valueFrom` ConfigMap/Secret keys, fields and resources), command and args as
 * Kubernetes defines them against the image's ENTRYPOINT and CMD
 * (https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/),
 * resources as Docker's cgroup settings, and the labels that tie the container to its pod.
 * Pure functions; the ConfigMaps and Secrets come through a lookup.
 */
import type Dockerode from 'dockerode';
import { milliValue, parseQuantity, value } from '../../../api/quantity.js';
import type { Container, EnvVar, Pod } from '../../../api/types.js';
import { portEnv, DOCKER_POD_IP, type PortMapping } from './ports.js';

/** Container labels: the kubelet's own (pkg/kubelet/types/labels.go), and berth's. */
export const LABELS = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  /** Which run of the container this is: 0 for the first, then 1, 2… (the status's restartCount). */
  restartCount: 'io.kubernetes.container.restartCount',
  /** The Node whose pod it is: an agent adopts and cleans up only its nodes' containers. */
  node: 'node.berth.dev/node',
  /**
   * That Node's uid. Node names repeat across clusters (the simulated VPC hands out the same
   * addresses, so two `berth server`s on one Docker engine both have `ip-10-0-0-4.ec2.internal`):
   * the clean-up of a node removes only containers carrying its uid, never another cluster's.
   */
  nodeUid: 'node.berth.dev/node-uid',
} as const;

/**
 * Thrown when a container cannot be configured (`CreateContainerConfigError`): a missing
 * ConfigMap or Secret, or key, that is not optional. `message` is the kubelet's wording.
 */
export class ContainerConfigError extends Error {
  readonly code = 'CreateContainerConfigError';
  constructor(message: string) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

/** A ConfigMap's or Secret's data, decoded to text (Secrets' base64 undone); undefined when it does not exist. */
export type ConfigLookup = (kind: 'ConfigMap' | 'Secret', namespace: string, name: string) => Promise<Record<string, string> | undefined>;

interface KeyRef {
  name?: string;
  key: string;
  optional?: boolean;
}
interface SourceRef {
  name?: string;
  optional?: boolean;
}
interface EnvFromSource {
  prefix?: string;
  configMapRef?: SourceRef;
  secretRef?: SourceRef;
}

/** An environment variable name Kubernetes accepts (C identifier-ish: letters, digits, `_`, `-`, `.`; not starting with a digit). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * Expands `$(VAR)` references in `s` with `vars` as Kubernetes does
 * (third_party/forked/golang/expansion): `$$` is a literal `$`, an unknown `$(VAR)` stays as it
 * is, and a `$` not followed by `(` or `$` stays.
 */
export function expand(s: string, vars: Map<string, string>): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch !== '$' || i + 1 >= s.length) {
      out += ch;
      continue;
    }
    const next = s[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const end = s.indexOf(')', i + 2);
      if (end < 0) {
        out += s.slice(i);
        break;
      }
      const name = s.slice(i + 2, end);
      out += vars.has(name) ? vars.get(name)! : `$(${name})`;
      i = end;
    } else out += ch;
  }
  return out;
}

/** The value of a downward API `fieldPath` (https://kubernetes.io/docs/concepts/workloads/pods/downward-api/). */
export function fieldValue(pod: Pod, path: string, hostIP: string | undefined): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations);
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return (pod.spec.serviceAccountName as string | undefined) ?? 'default';
    case 'status.hostIP':
    case 'status.hostIPs':
      return hostIP ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return DOCKER_POD_IP;
    default:
      throw new ContainerConfigError(`unsupported fieldPath: ${path}`);
  }
}

/** `key="value"` lines, sorted, as the downward API writes maps. */
function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

/** A `resourceFieldRef` value: the container's limit (else request; a missing cpu/memory limit is the node's allocatable), divided by the divisor, rounded up. */
export function resourceFieldValue(pod: Pod, ref: { containerName?: string; resource: string; divisor?: string | number }, self: Container, allocatable: Record<string, string | number> | undefined): string {
  const c = ref.containerName ? [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((x) => x.name === ref.containerName) : self;
  if (!c) throw new ContainerConfigError(`resourceFieldRef: container "${ref.containerName}" not found`);
  const [kind, name] = ref.resource.split('.') as [string, string];
  const set = kind === 'limits' ? c.resources?.limits : c.resources?.requests;
  let q = set?.[name] ?? (kind === 'limits' ? allocatable?.[name] : undefined) ?? 0;
  const divisor = parseQuantity(ref.divisor ?? 1);
  if (!(divisor > 0)) throw new ContainerConfigError(`resourceFieldRef: invalid divisor ${ref.divisor}`);
  q = parseQuantity(q) / divisor;
  return String(Math.ceil(q - 1e-9));
}

/**
 * The container's environment, in the kubelet's order: the port variables and `HOSTNAME`, then
 * `envFrom` sources, then `env` (later entries win, and `$(VAR)` sees what came before).
 * Throws ContainerConfigError for a missing ConfigMap, Secret or key that is not optional.
 */
export async function containerEnv(pod: Pod, c: Container, opts: { ports: PortMapping[]; lookup: ConfigLookup; hostIP: string | undefined; allocatable?: Record<string, string | number> }): Promise<Map<string, string>> {
  const ns = pod.metadata.namespace ?? 'default';
  const vars = new Map<string, string>();
  // Inside a pod, HOSTNAME is the pod's hostname; with host networking Docker would give the host's.
  vars.set('HOSTNAME', (pod.spec.hostname as string | undefined) ?? pod.metadata.name ?? '');
  for (const [k, v] of Object.entries(portEnv(c.name, opts.ports))) vars.set(k, v);
  const cache = new Map<string, Record<string, string> | undefined>();
  const get = async (kind: 'ConfigMap' | 'Secret', name: string): Promise<Record<string, string> | undefined> => {
    const k = `${kind}/${name}`;
    if (!cache.has(k)) cache.set(k, await opts.lookup(kind, ns, name));
    return cache.get(k);
  };
  for (const src of (c.envFrom as EnvFromSource[] | undefined) ?? []) {
    const kind = src.configMapRef ? 'ConfigMap' : src.secretRef ? 'Secret' : undefined;
    const ref = src.configMapRef ?? src.secretRef;
    if (!kind || !ref) continue;
    const data = await get(kind, ref.name ?? '');
    if (!data) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${kind.toLowerCase()} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(data)) {
      const name = `${src.prefix ?? ''}${k}`;
      if (ENV_NAME.test(name)) vars.set(name, v);
    }
  }
  for (const e of (c.env as EnvVar[] | undefined) ?? []) {
    if (e.valueFrom === undefined) {
      vars.set(e.name, expand(e.value ?? '', vars));
      continue;
    }
    const from = e.valueFrom as { fieldRef?: { fieldPath: string }; resourceFieldRef?: { containerName?: string; resource: string; divisor?: string }; configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef };
    if (from.fieldRef) vars.set(e.name, fieldValue(pod, from.fieldRef.fieldPath, opts.hostIP));
    else if (from.resourceFieldRef) vars.set(e.name, resourceFieldValue(pod, from.resourceFieldRef, c, opts.allocatable));
    else {
      const kind = from.configMapKeyRef ? 'ConfigMap' : 'Secret';
      const ref = (from.configMapKeyRef ?? from.secretKeyRef)!;
      const data = await get(kind, ref.name ?? '');
      if (!data) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`${kind.toLowerCase()} "${ref.name}" not found`);
      }
      if (!(ref.key in data)) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`couldn't find key ${ref.key} in ${kind} ${ns}/${ref.name}`);
      }
      vars.set(e.name, data[ref.key]!);
    }
  }
  return vars;
}

/** cpu millicores → Docker CpuShares, as the kubelet converts requests (MilliCPUToShares: 1024 per core, at least 2). */
export function cpuShares(millicores: number): number {
  return Math.max(2, Math.floor((millicores * 1024) / 1000));
}

/**
 * Docker's resource settings for a container: `limits.cpu` → `NanoCpus` (1 core = 1e9),
 * `limits.memory` → `Memory` in bytes with no swap on top (`MemorySwap` = `Memory`, as the
 * kubelet runs without swap), and requests as reservations: `requests.memory` →
 * `MemoryReservation`, `requests.cpu` → `CpuShares`.
 */
export function resourceConfig(c: Container): Pick<Dockerode.HostConfig, 'NanoCpus' | 'Memory' | 'MemorySwap' | 'MemoryReservation' | 'CpuShares'> {
  const limits = c.resources?.limits ?? {};
  const requests = { ...limits, ...(c.resources?.requests ?? {}) };
  const out: Pick<Dockerode.HostConfig, 'NanoCpus' | 'Memory' | 'MemorySwap' | 'MemoryReservation' | 'CpuShares'> = {};
  if (limits.cpu !== undefined) out.NanoCpus = milliValue(limits.cpu) * 1_000_000;
  if (limits.memory !== undefined) {
    out.Memory = value(limits.memory);
    out.MemorySwap = out.Memory;
  }
  if (requests.memory !== undefined) out.MemoryReservation = value(requests.memory);
  if (requests.cpu !== undefined) out.CpuShares = cpuShares(milliValue(requests.cpu));
  return out;
}

/** The Docker name of one run of a container, as dockershim named them: `k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`. */
export function dockerName(pod: Pod, c: Container, attempt: number): string {
  return `k8s_${c.name}_${pod.metadata.name}_${pod.metadata.namespace}_${pod.metadata.uid}_${attempt}`;
}

export interface CreateInput {
  pod: Pod;
  container: Container;
  nodeName: string;
  /** The Node's `metadata.uid` (label `node.berth.dev/node-uid`). */
  nodeUid: string;
  attempt: number;
  env: Map<string, string>;
  /** Bind mounts of the pod's volumes (`volumes.ts`). */
  mounts: Dockerode.MountSettings[];
}

/**
 * Docker's create options for one run of a container. Kubernetes's `command` replaces the
 * image's ENTRYPOINT and then the image's CMD is not used; `args` replaces CMD. `$(VAR)` in
 * command and args expands from the environment. Networking is the host's; Docker restarts
 * nothing (the agent applies the pod's restart policy).
 */
export function createOptions(input: CreateInput): Dockerode.ContainerCreateOptions {
  const { pod, container: c, env } = input;
  const sc = (c.securityContext ?? {}) as { runAsUser?: number; runAsGroup?: number; privileged?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { add?: string[]; drop?: string[] } };
  const podSc = (pod.spec.securityContext ?? {}) as { runAsUser?: number; runAsGroup?: number };
  const user = sc.runAsUser ?? podSc.runAsUser;
  const group = sc.runAsGroup ?? podSc.runAsGroup;
  const hostConfig: Dockerode.HostConfig = {
    NetworkMode: 'host',
    RestartPolicy: { Name: 'no' },
    Mounts: input.mounts,
    ...resourceConfig(c),
    ...(sc.privileged ? { Privileged: true } : {}),
    ...(sc.readOnlyRootFilesystem ? { ReadonlyRootfs: true } : {}),
    ...(sc.capabilities?.add?.length ? { CapAdd: sc.capabilities.add } : {}),
    ...(sc.capabilities?.drop?.length ? { CapDrop: sc.capabilities.drop } : {}),
  };
  return {
    name: dockerName(pod, c, input.attempt),
    Image: c.image,
    ...(c.command ? { Entrypoint: c.command.map((s) => expand(s, env)) } : {}),
    ...(c.args ? { Cmd: c.args.map((s) => expand(s, env)) } : c.command ? { Cmd: [] } : {}),
    Env: [...env].map(([k, v]) => `${k}=${v}`),
    ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
    ...(user !== undefined ? { User: group !== undefined ? `${user}:${group}` : String(user) } : {}),
    ...(c.tty ? { Tty: true } : {}),
    ...(c.stdin ? { OpenStdin: true, StdinOnce: !!c.stdinOnce, AttachStdin: true } : {}),
    Labels: {
      [LABELS.podName]: pod.metadata.name!,
      [LABELS.podNamespace]: pod.metadata.namespace!,
      [LABELS.podUid]: pod.metadata.uid!,
      [LABELS.containerName]: c.name,
      [LABELS.restartCount]: String(input.attempt),
      [LABELS.node]: input.nodeName,
      [LABELS.nodeUid]: input.nodeUid,
    },
    HostConfig: hostConfig,
  };
}
