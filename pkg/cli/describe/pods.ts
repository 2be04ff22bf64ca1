/** Pods, their containers and volumes, and pod templates (kubectl's describePod and friends). */
import { qosClass } from '../../api/defaults.js';
import type { Container, ContainerStatus, Event, KubeObject, LabelSelector, Pod } from '../../api/types.js';
import { canonical, milliValue, qtyOrZero, unitValue } from '../quantity.js';
import { cmp, controllerOf, describeEvents, formatLabelSelector, printAnnotationsMultiline, printLabelsMultiline, printTolerationsMultiline, rfc1123z, since, type PrefixWriter } from './common.js';

export function describePod(w: PrefixWriter, pod: Pod, events: Event[] | undefined, now: number): void {
  const spec = pod.spec ?? ({ containers: [] } as Pod['spec']);
  const status = pod.status ?? {};
  w.write(0, `Name:\t${pod.metadata.name}\n`);
  w.write(0, `Namespace:\t${pod.metadata.namespace ?? ''}\n`);
  if (spec.priority !== undefined) w.write(0, `Priority:\t${spec.priority}\n`);
  if (spec.priorityClassName) w.write(0, `Priority Class Name:\t${spec.priorityClassName}\n`);
  if (spec.runtimeClassName) w.write(0, `Runtime Class Name:\t${String(spec.runtimeClassName)}\n`);
  if (spec.serviceAccountName) w.write(0, `Service Account:\t${String(spec.serviceAccountName)}\n`);
  w.write(0, spec.nodeName ? `Node:\t${spec.nodeName}/${status.hostIP ?? ''}\n` : 'Node:\t<none>\n');
  if (status.startTime) w.write(0, `Start Time:\t${rfc1123z(status.startTime)}\n`);
  printLabelsMultiline(w, 'Labels', pod.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', pod.metadata.annotations);
  if (pod.metadata.deletionTimestamp && status.phase !== 'Failed' && status.phase !== 'Succeeded') {
    w.write(0, `Status:\tTerminating (lasts ${since(pod.metadata.deletionTimestamp, now)})\n`);
    w.write(0, `Termination Grace Period:\t${pod.metadata.deletionGracePeriodSeconds ?? 0}s\n`);
  } else {
    w.write(0, `Status:\t${status.phase ?? ''}\n`);
  }
  if (status.reason) w.write(0, `Reason:\t${status.reason}\n`);
  if (status.message) w.write(0, `Message:\t${status.message}\n`);
  w.write(0, `IP:\t${status.podIP ?? ''}\n`);
  if (!status.podIPs?.length) w.write(0, 'IPs:\t<none>\n');
  else {
    w.write(0, 'IPs:\n');
    for (const ip of status.podIPs) w.write(1, `IP:\t${ip.ip}\n`);
  }
  const controlledBy = controllerOf(pod);
  if (controlledBy) w.write(0, `Controlled By:\t${controlledBy}\n`);
  if (status.nominatedNodeName) w.write(0, `NominatedNodeName:\t${status.nominatedNodeName}\n`);
  if (spec.resources) {
    w.write(0, 'Resources:\n');
    describeResources(w, spec.resources, 1);
  }
  if (spec.initContainers?.length) describeContainers(w, 'Init Containers', spec.initContainers, status.initContainerStatuses, pod, '');
  describeContainers(w, 'Containers', spec.containers ?? [], status.containerStatuses, pod, '');
  const gates = (spec.readinessGates as { conditionType: string }[] | undefined) ?? [];
  if (gates.length) {
    w.write(0, 'Readiness Gates:\n  Type\tStatus\n');
    for (const g of gates) w.write(1, `${g.conditionType} \t${status.conditions?.find((c) => c.type === g.conditionType)?.status ?? '<none>'} \n`);
  }
  if (status.conditions?.length) {
    w.write(0, 'Conditions:\n  Type\tStatus\n');
    for (const c of status.conditions) w.write(1, `${c.type} \t${c.status} \n`);
  }
  describeVolumes(w, spec.volumes as Volume[] | undefined, '');
  w.write(0, `QoS Class:\t${status.qosClass ?? safeQos(pod)}\n`);
  printLabelsMultiline(w, 'Node-Selectors', spec.nodeSelector);
  printTolerationsMultiline(w, 'Tolerations', spec.tolerations);
  describeTopologySpread(w, spec.topologySpreadConstraints, '');
  describeEvents(w, events, now);
}

function safeQos(pod: Pod): string {
  try {
    return qosClass(pod.spec);
  } catch {
    return '';
  }
}

export function describeContainers(w: PrefixWriter, label: string, containers: Container[], statuses: ContainerStatus[] | undefined, pod: Pod | undefined, space: string): void {
  const byName = new Map((statuses ?? []).map((s) => [s.name, s] as const));
  w.write(0, `${space}${label}:${containers.length ? '' : ' <none>'}\n`);
  for (const c of containers) {
    const st = byName.get(c.name);
    w.write(1, `${space ? ' ' : ''}${c.name}:\n`);
    if (st) w.write(2, `Container ID:\t${st.containerID ?? ''}\n`);
    w.write(2, `Image:\t${c.image ?? ''}\n`);
    if (st) w.write(2, `Image ID:\t${st.imageID ?? ''}\n`);
    // (kubectl 1.33+ adds the port's name in parentheses; 1.32 does not.)
    const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? ''}`).join(', ');
    w.write(2, ports.includes(',') ? `Ports:\t${ports}\n` : `Port:\t${ports || '<none>'}\n`);
    const hostPorts = (c.ports ?? []).map((p) => `${p.hostPort ?? 0}/${p.protocol ?? ''}`).join(', ');
    w.write(2, hostPorts.includes(',') ? `Host Ports:\t${hostPorts}\n` : `Host Port:\t${hostPorts || '<none>'}\n`);
    if (c.command?.length) {
      w.write(2, 'Command:\n');
      for (const cmd of c.command) for (const line of String(cmd).split('\n')) w.write(3, `${line}\n`);
    }
    if (c.args?.length) {
      w.write(2, 'Args:\n');
      for (const a of c.args) for (const line of String(a).split('\n')) w.write(3, `${line}\n`);
    }
    if (st) {
      describeState(w, 'State', st.state);
      if (st.lastState?.terminated) describeState(w, 'Last State', st.lastState);
      w.write(2, `Ready:\t${st.ready ? 'True' : 'False'}\n`);
      w.write(2, `Restart Count:\t${st.restartCount ?? 0}\n`);
    }
    if (c.resources) describeResources(w, c.resources, 2);
    for (const [title, probe] of [
      ['Liveness', c.livenessProbe],
      ['Readiness', c.readinessProbe],
      ['Startup', c.startupProbe],
    ] as const) {
      if (probe) w.write(2, `${title}:\t${describeProbe(probe as Probe)}\n`);
    }
    const envFrom = (c.envFrom as EnvFrom[] | undefined) ?? [];
    if (envFrom.length) {
      w.write(2, 'Environment Variables from:\n');
      for (const e of envFrom) {
        const from = e.configMapRef ? 'ConfigMap' : e.secretRef ? 'Secret' : '';
        const ref = e.configMapRef ?? e.secretRef;
        const optional = ref?.optional === true;
        w.write(3, e.prefix ? `${ref?.name ?? ''}\t${from} with prefix '${e.prefix}'\tOptional: ${optional}\n` : `${ref?.name ?? ''}\t${from}\tOptional: ${optional}\n`);
      }
    }
    w.write(2, `Environment:${c.env?.length ? '' : '\t<none>'}\n`);
    for (const e of c.env ?? []) {
      const vf = e.valueFrom as EnvValueFrom | undefined;
      if (!vf) {
        String(e.value ?? '')
          .split('\n')
          .forEach((line, i) => w.write(3, i === 0 ? `${e.name}:\t${line}\n` : `\t${line}\n`));
        continue;
      }
      if (vf.fieldRef) w.write(3, `${e.name}:\t${pod && vf.fieldRef.apiVersion ? fieldRefValue(pod, vf.fieldRef.fieldPath) : ''} (${vf.fieldRef.apiVersion ?? ''}:${vf.fieldRef.fieldPath})\n`);
      else if (vf.resourceFieldRef) w.write(3, `${e.name}:\t${resourceFieldValue(c, vf.resourceFieldRef.resource)} (${vf.resourceFieldRef.resource})\n`);
      else if (vf.secretKeyRef) w.write(3, `${e.name}:\t<set to the key '${vf.secretKeyRef.key}' in secret '${vf.secretKeyRef.name ?? ''}'>\tOptional: ${vf.secretKeyRef.optional === true}\n`);
      else if (vf.configMapKeyRef) w.write(3, `${e.name}:\t<set to the key '${vf.configMapKeyRef.key}' of config map '${vf.configMapKeyRef.name ?? ''}'>\tOptional: ${vf.configMapKeyRef.optional === true}\n`);
    }
    const mounts = [...((c.volumeMounts as VolumeMount[] | undefined) ?? [])].sort((a, b) => cmp(a.mountPath, b.mountPath));
    w.write(2, `Mounts:${mounts.length ? '' : '\t<none>'}\n`);
    for (const m of mounts) {
      const flags = [m.readOnly ? 'ro' : 'rw', ...(m.subPath ? [`path=${JSON.stringify(m.subPath)}`] : [])];
      w.write(3, `${m.mountPath} from ${m.name} (${flags.join(',')})\n`);
    }
    const devices = [...((c.volumeDevices as { devicePath: string; name: string }[] | undefined) ?? [])].sort((a, b) => cmp(a.devicePath, b.devicePath));
    if (devices.length) {
      w.write(2, 'Devices:\n');
      for (const d of devices) w.write(3, `${d.devicePath} from ${d.name}\n`);
    }
  }
}

interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}
interface EnvFrom {
  prefix?: string;
  configMapRef?: { name?: string; optional?: boolean };
  secretRef?: { name?: string; optional?: boolean };
}
interface EnvValueFrom {
  fieldRef?: { apiVersion?: string; fieldPath: string };
  resourceFieldRef?: { resource: string; containerName?: string };
  secretKeyRef?: { name?: string; key: string; optional?: boolean };
  configMapKeyRef?: { name?: string; key: string; optional?: boolean };
}
interface Probe {
  exec?: { command?: string[] };
  httpGet?: { path?: string; port?: number | string; host?: string; scheme?: string };
  tcpSocket?: { port?: number | string; host?: string };
  grpc?: { port?: number; service?: string };
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

function describeProbe(p: Probe): string {
  const attrs = `delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 0}s period=${p.periodSeconds ?? 0}s #success=${p.successThreshold ?? 0} #failure=${p.failureThreshold ?? 0}`;
  if (p.exec) return `exec [${(p.exec.command ?? []).join(' ')}] ${attrs}`;
  if (p.httpGet) {
    const scheme = (p.httpGet.scheme ?? '').toLowerCase();
    const port = p.httpGet.port === undefined ? '' : String(p.httpGet.port);
    const host = port ? `${p.httpGet.host ?? ''}:${port}` : (p.httpGet.host ?? '');
    return `http-get ${scheme ? `${scheme}:` : ''}//${host}${p.httpGet.path ?? ''} ${attrs}`;
  }
  if (p.tcpSocket) return `tcp-socket ${p.tcpSocket.host ?? ''}:${p.tcpSocket.port ?? ''} ${attrs}`;
  if (p.grpc) return `grpc <pod>:${p.grpc.port ?? 0} ${p.grpc.service ?? ''} ${attrs}`;
  return `unknown ${attrs}`;
}

/** What kubectl resolves for a fieldRef env var: metadata fields only (fieldpath.ExtractFieldPathAsString). */
function fieldRefValue(pod: Pod, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  if (m) return (pod.metadata[m[1] as 'labels' | 'annotations'] ?? {})[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
    case 'metadata.annotations': {
      const map = pod.metadata[path === 'metadata.labels' ? 'labels' : 'annotations'] ?? {};
      return Object.keys(map)
        .sort()
        .map((k) => `${k}="${map[k]}"`)
        .join('\n');
    }
    default:
      return '';
  }
}

function resourceFieldValue(c: Container, resource: string): string {
  const [kind, name] = resource.split('.') as ['limits' | 'requests', string];
  const v = c.resources?.[kind]?.[name];
  if (v === undefined) return kind === 'limits' && (name === 'cpu' || name === 'memory') ? 'node allocatable' : '0';
  return name === 'cpu' ? String(Math.ceil(milliValue(qtyOrZero(v)) / 1000)) : String(unitValue(qtyOrZero(v)));
}

function describeState(w: PrefixWriter, name: string, state: Record<string, Record<string, unknown>> | undefined): void {
  const s = state ?? {};
  if (s.running) {
    w.write(2, `${name}:\tRunning\n`);
    w.write(3, `Started:\t${rfc1123z(s.running.startedAt as string | undefined)}\n`);
  } else if (s.waiting) {
    w.write(2, `${name}:\tWaiting\n`);
    if (s.waiting.reason) w.write(3, `Reason:\t${String(s.waiting.reason)}\n`);
  } else if (s.terminated) {
    const t = s.terminated;
    w.write(2, `${name}:\tTerminated\n`);
    if (t.reason) w.write(3, `Reason:\t${String(t.reason)}\n`);
    if (t.message) w.write(3, `Message:\t${String(t.message)}\n`);
    w.write(3, `Exit Code:\t${Number(t.exitCode ?? 0)}\n`);
    if (Number(t.signal ?? 0) > 0) w.write(3, `Signal:\t${Number(t.signal)}\n`);
    w.write(3, `Started:\t${rfc1123z(t.startedAt as string | undefined)}\n`);
    w.write(3, `Finished:\t${rfc1123z(t.finishedAt as string | undefined)}\n`);
  } else {
    w.write(2, `${name}:\tWaiting\n`);
  }
}

export function describeResources(w: PrefixWriter, res: { limits?: Record<string, string | number>; requests?: Record<string, string | number> }, level: number): void {
  const limits = Object.keys(res.limits ?? {}).sort();
  if (limits.length) w.write(level, 'Limits:\n');
  for (const k of limits) w.write(level + 1, `${k}:\t${canonical(res.limits![k])}\n`);
  const requests = Object.keys(res.requests ?? {}).sort();
  if (requests.length) w.write(level, 'Requests:\n');
  for (const k of requests) w.write(level + 1, `${k}:\t${canonical(res.requests![k])}\n`);
}

interface Volume {
  name: string;
  [source: string]: unknown;
}

export function describeVolumes(w: PrefixWriter, volumes: Volume[] | undefined, space: string): void {
  if (!volumes?.length) {
    w.write(0, `${space}Volumes:\t<none>\n`);
    return;
  }
  w.write(0, `${space}Volumes:\n`);
  for (const v of volumes) {
    w.write(1, `${space ? ' ' : ''}${v.name}:\n`);
    const src = v as Record<string, Record<string, unknown> | undefined>;
    if (src.hostPath) w.write(2, `Type:\tHostPath (bare host directory volume)\n    Path:\t${String(src.hostPath.path ?? '')}\n    HostPathType:\t${String(src.hostPath.type ?? '<none>')}\n`);
    else if (src.emptyDir) w.write(2, `Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t${String(src.emptyDir.medium ?? '')}\n    SizeLimit:\t${src.emptyDir.sizeLimit ? canonical(src.emptyDir.sizeLimit as string) : '<unset>'}\n`);
    else if (src.secret) w.write(2, `Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t${String(src.secret.secretName ?? '')}\n    Optional:\t${src.secret.optional === true}\n`);
    else if (src.configMap) w.write(2, `Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t${String(src.configMap.name ?? '')}\n    Optional:\t${src.configMap.optional === true}\n`);
    else if (src.persistentVolumeClaim) w.write(2, `Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t${String(src.persistentVolumeClaim.claimName ?? '')}\n    ReadOnly:\t${src.persistentVolumeClaim.readOnly === true}\n`);
    else if (src.projected) {
      w.write(2, 'Type:\tProjected (a volume that contains injected data from multiple sources)\n');
      for (const source of (src.projected.sources as Record<string, Record<string, unknown>>[] | undefined) ?? []) {
        // kubectl 1.32 prints the optional flags as Go pointers: <nil> when unset.
        const optional = (o: unknown): string => (o === undefined || o === null ? '<nil>' : String(o));
        if (source.secret) w.write(2, `SecretName:\t${String(source.secret.name ?? '')}\n    SecretOptionalName:\t${optional(source.secret.optional)}\n`);
        else if (source.downwardAPI) w.write(2, 'DownwardAPI:\ttrue\n');
        else if (source.configMap) w.write(2, `ConfigMapName:\t${String(source.configMap.name ?? '')}\n    ConfigMapOptional:\t${optional(source.configMap.optional)}\n`);
        else if (source.serviceAccountToken) w.write(2, `TokenExpirationSeconds:\t${Number(source.serviceAccountToken.expirationSeconds ?? 0)}\n`);
      }
    } else w.write(1, '<unknown>\n');
  }
}

function describeTopologySpread(w: PrefixWriter, tscs: Record<string, unknown>[] | undefined, space: string): void {
  if (!tscs?.length) return;
  const sorted = [...tscs].sort((a, b) => cmp(String(a.topologyKey ?? ''), String(b.topologyKey ?? '')));
  w.write(0, `${space}Topology Spread Constraints:\t`);
  sorted.forEach((t, i) => {
    if (i) w.write(0, `${space}\t`);
    const sel = t.labelSelector ? ` for selector ${formatLabelSelector(t.labelSelector as LabelSelector)}` : '';
    w.write(0, `${String(t.topologyKey ?? '')}:${String(t.whenUnsatisfiable ?? '')} when max skew ${Number(t.maxSkew ?? 0)} is exceeded${sel}\n`);
  });
}

export function describePodTemplate(w: PrefixWriter, template: { metadata?: KubeObject['metadata']; spec?: Pod['spec'] } | undefined): void {
  w.write(0, 'Pod Template:\n');
  if (!template) {
    w.write(1, '<unset>');
    return;
  }
  const spec = template.spec ?? ({ containers: [] } as Pod['spec']);
  printLabelsMultiline(w, '  Labels', template.metadata?.labels);
  if (Object.keys(template.metadata?.annotations ?? {}).length) printAnnotationsMultiline(w, '  Annotations', template.metadata?.annotations);
  if (spec.serviceAccountName) w.write(1, `Service Account:\t${String(spec.serviceAccountName)}\n`);
  if (spec.initContainers?.length) describeContainers(w, 'Init Containers', spec.initContainers, undefined, undefined, '  ');
  describeContainers(w, 'Containers', spec.containers ?? [], undefined, undefined, '  ');
  describeVolumes(w, spec.volumes as Volume[] | undefined, '  ');
  describeTopologySpread(w, spec.topologySpreadConstraints, '  ');
  if (spec.priorityClassName) w.write(1, `Priority Class Name:\t${spec.priorityClassName}\n`);
  printLabelsMultiline(w, '  Node-Selectors', spec.nodeSelector);
  printTolerationsMultiline(w, '  Tolerations', spec.tolerations);
}
