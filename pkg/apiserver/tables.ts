/**
 * Server-side printing (`meta.k8s.io/v1 Table`), which `kubectl get` asks for: per kind, the
 * columns Kubernetes 1.32 prints (pkg/printers/internalversion/printers.go), wide-only columns at
 * priority 1. Components add tables for their own kinds with `TableRegistry.set`.
 */
import { humanDuration, parseTime } from '../clock/clock.js';
import { formatLabelSelector } from '../api/labels.js';
import { getCondition } from '../api/meta.js';
import type { ResourceInfo } from '../api/resources.js';
import type { Container, KubeObject, LabelSelector, Pod } from '../api/types.js';

export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

/** How one kind prints: its columns after NAME, and the cells for one object. */
export interface TablePrinter {
  columns: ColumnDefinition[];
  /** Cells after the name, one per column, computed at `now` (ms). */
  cells(obj: KubeObject, now: number): (string | number | boolean)[];
}

export interface TableRow {
  cells: (string | number | boolean)[];
  object: KubeObject;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: ColumnDefinition[];
  rows: TableRow[];
}

/** `col('Ready', 'The ready count')`; `col('IP', '…', 1)` for a wide-only column. */
export function col(name: string, description = '', priority = 0, type: ColumnDefinition['type'] = 'string', format = ''): ColumnDefinition {
  return { name, type, format, description, priority };
}

const NAME_COL: ColumnDefinition = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 };
const AGE_COL = col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

/** `kubectl get`'s AGE: time since creation, as HumanDuration prints it. */
export function age(obj: KubeObject, now: number): string {
  const t = parseTime(obj.metadata.creationTimestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

function containersAndImages(containers: Container[] | undefined): [string, string] {
  const cs = containers ?? [];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(',')];
}

/** A Pod's STATUS column, as kubectl computes it (printPod). */
export function podStatusReason(pod: Pod): string {
  const status = pod.status ?? {};
  let reason: string = status.reason || status.phase || 'Unknown';
  const initStatuses = status.initContainerStatuses ?? [];
  const initCount = pod.spec.initContainers?.length ?? 0;
  let initializing = false;
  const sidecars = new Set((pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  for (let i = 0; i < initStatuses.length; i++) {
    const s = initStatuses[i]!;
    const term = s.state?.terminated as { exitCode?: number; reason?: string; signal?: number } | undefined;
    const wait = s.state?.waiting as { reason?: string } | undefined;
    if (term && term.exitCode === 0) continue;
    if (sidecars.has(s.name) && s.started) continue; // a running sidecar
    if (term) {
      reason = term.reason ? `Init:${term.reason}` : term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
    } else if (wait?.reason && wait.reason !== 'PodInitializing') {
      reason = `Init:${wait.reason}`;
    } else {
      reason = `Init:${i}/${initCount}`;
    }
    initializing = true;
    break; // kubectl reports the first init container that has not finished
  }
  if (!initializing || reason === 'Unknown') {
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const s = statuses[i]!;
      const wait = s.state?.waiting as { reason?: string } | undefined;
      const term = s.state?.terminated as { exitCode?: number; reason?: string; signal?: number } | undefined;
      if (wait?.reason) reason = wait.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (s.ready && s.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      reason = getCondition(status.conditions, 'Ready')?.status === 'True' ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata.deletionTimestamp && status.reason !== 'NodeLost') reason = 'Terminating';
  return reason;
}

function podRestarts(pod: Pod, now: number): string {
  let restarts = 0;
  let last = 0;
  for (const s of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    restarts += s.restartCount ?? 0;
    const finished = parseTime((s.lastState?.terminated as { finishedAt?: string } | undefined)?.finishedAt);
    if (!Number.isNaN(finished) && finished > last) last = finished;
  }
  return restarts > 0 && last > 0 ? `${restarts} (${humanDuration(now - last)} ago)` : String(restarts);
}

function podReady(pod: Pod): string {
  const total = pod.spec.containers?.length ?? 0;
  const ready = (pod.status?.containerStatuses ?? []).filter((s) => s.ready).length;
  return `${ready}/${total}`;
}

function servicePorts(svc: KubeObject): string {
  const ports = ((svc.spec as { ports?: { port: number; nodePort?: number; protocol?: string }[] })?.ports ?? []).map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`));
  return ports.length ? ports.join(',') : '<none>';
}

function externalIp(svc: KubeObject): string {
  const spec = svc.spec as { type?: string; externalIPs?: string[]; externalName?: string };
  const ingress = ((svc.status as { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } })?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '');
  switch (spec.type) {
    case 'LoadBalancer': {
      const all = [...ingress, ...(spec.externalIPs ?? [])].filter(Boolean);
      return all.length ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '<none>';
    default:
      return spec.externalIPs?.length ? spec.externalIPs.join(',') : '<none>';
  }
}

function nodeStatus(node: KubeObject): string {
  const conds = (node.status as { conditions?: { type: string; status: string }[] })?.conditions ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if ((node.spec as { unschedulable?: boolean })?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(node: KubeObject): string {
  const roles: string[] = [];
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.push(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role') roles.push(v);
  }
  return roles.length ? roles.sort().join(',') : '<none>';
}

function nodeAddress(node: KubeObject, type: string): string {
  const a = ((node.status as { addresses?: { type: string; address: string }[] })?.addresses ?? []).find((x) => x.type === type);
  return a?.address ?? '<none>';
}

type Spec = { replicas?: number; selector?: LabelSelector; template?: { spec?: { containers?: Container[] } } };
type Status = Record<string, number | undefined>;

const workloadWide = (o: KubeObject): string[] => {
  const spec = o.spec as Spec;
  const [c, i] = containersAndImages(spec.template?.spec?.containers);
  return [c, i, formatLabelSelector(spec.selector)];
};

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** The printers of built-in kinds, keyed `group/Kind`. */
export const BUILTIN_TABLES: [string, TablePrinter][] = [
  [
    '/Pod',
    {
      columns: [
        col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
        col('Status', 'The aggregate status of the containers in this pod.'),
        col('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
        AGE_COL,
        col('IP', 'IP address allocated to the pod.', 1),
        col('Node', 'Name of the node the pod is assigned to.', 1),
        col('Nominated Node', 'Name of the node where the pod is nominated to run.', 1),
        col('Readiness Gates', 'The readiness gates of the pod.', 1),
      ],
      cells: (o, now) => {
        const pod = o as Pod;
        const gates = (pod.spec.readinessGates as { conditionType: string }[] | undefined) ?? [];
        const gateText = gates.length ? `${gates.filter((g) => getCondition(pod.status?.conditions, g.conditionType)?.status === 'True').length}/${gates.length}` : '<none>';
        return [podReady(pod), podStatusReason(pod), podRestarts(pod, now), age(o, now), pod.status?.podIP ?? '<none>', pod.spec.nodeName ?? '<none>', pod.status?.nominatedNodeName ?? '<none>', gateText];
      },
    },
  ],
  [
    '/Node',
    {
      columns: [
        col('Status', 'The status of the node'),
        col('Roles', 'The roles of the node'),
        AGE_COL,
        col('Version', 'Kubelet Version reported by the node.'),
        col('Internal-IP', 'List of internal IPs for the node.', 1),
        col('External-IP', 'List of external IPs for the node.', 1),
        col('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1),
        col('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
        col('Container-Runtime', 'Container Runtime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1),
      ],
      cells: (o, now) => {
        const info = (o.status as { nodeInfo?: Record<string, string> })?.nodeInfo ?? {};
        return [nodeStatus(o), nodeRoles(o), age(o, now), info.kubeletVersion ?? '', nodeAddress(o, 'InternalIP'), nodeAddress(o, 'ExternalIP'), info.osImage ?? '<unknown>', info.kernelVersion ?? '<unknown>', info.containerRuntimeVersion ?? '<unknown>'];
      },
    },
  ],
  [
    'apps/Deployment',
    {
      columns: [
        col('Ready', 'Number of the pod with ready state'),
        col('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', 0, 'integer'),
        col('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', 0, 'integer'),
        AGE_COL,
        col('Containers', 'Names of each container in the template.', 1),
        col('Images', 'Images referenced by each container in the template.', 1),
        col('Selector', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', 1),
      ],
      cells: (o, now) => {
        const s = (o.status ?? {}) as Status;
        return [`${num(s.readyReplicas)}/${num((o.spec as Spec).replicas)}`, num(s.updatedReplicas), num(s.availableReplicas), age(o, now), ...workloadWide(o)];
      },
    },
  ],
  [
    'apps/ReplicaSet',
    {
      columns: [
        col('Desired', 'Number of desired pods. This is a pointer to distinguish between explicit zero and not specified.', 0, 'integer'),
        col('Current', 'Replicas is the most recently observed number of replicas.', 0, 'integer'),
        col('Ready', 'The number of ready replicas for this replica set.', 0, 'integer'),
        AGE_COL,
        col('Containers', 'Names of each container in the template.', 1),
        col('Images', 'Images referenced by each container in the template.', 1),
        col('Selector', 'Selector is a label query over pods that should match the replica count.', 1),
      ],
      cells: (o, now) => {
        const s = (o.status ?? {}) as Status;
        return [num((o.spec as Spec).replicas), num(s.replicas), num(s.readyReplicas), age(o, now), ...workloadWide(o)];
      },
    },
  ],
  [
    'apps/StatefulSet',
    {
      columns: [col('Ready', 'Number of the pod with ready state'), AGE_COL, col('Containers', 'Names of each container in the template.', 1), col('Images', 'Images referenced by each container in the template.', 1)],
      cells: (o, now) => {
        const s = (o.status ?? {}) as Status;
        return [`${num(s.readyReplicas)}/${num((o.spec as Spec).replicas ?? 1)}`, age(o, now), ...workloadWide(o).slice(0, 2)];
      },
    },
  ],
  [
    'apps/DaemonSet',
    {
      columns: [
        col('Desired', 'The total number of nodes that should be running the daemon pod.', 0, 'integer'),
        col('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', 0, 'integer'),
        col('Ready', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.', 0, 'integer'),
        col('Up-to-date', 'The total number of nodes that are running updated daemon pod', 0, 'integer'),
        col('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)', 0, 'integer'),
        col('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node\'s labels for the pod to be scheduled on that node.'),
        AGE_COL,
        col('Containers', 'Names of each container in the template.', 1),
        col('Images', 'Images referenced by each container in the template.', 1),
        col('Selector', 'A label query over pods that are managed by the daemon set.', 1),
      ],
      cells: (o, now) => {
        const s = (o.status ?? {}) as Status;
        const ns = (o.spec as { template?: { spec?: { nodeSelector?: Record<string, string> } } }).template?.spec?.nodeSelector;
        const nsText = ns && Object.keys(ns).length ? Object.entries(ns).map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
        return [num(s.desiredNumberScheduled), num(s.currentNumberScheduled), num(s.numberReady), num(s.updatedNumberScheduled), num(s.numberAvailable), nsText, age(o, now), ...workloadWide(o)];
      },
    },
  ],
  [
    'batch/Job',
    {
      columns: [
        col('Status', 'Status of the job.'),
        col('Completions', 'The completion status of the job.'),
        col('Duration', 'Time required to complete the job.'),
        AGE_COL,
        col('Containers', 'Names of each container in the template.', 1),
        col('Images', 'Images referenced by each container in the template.', 1),
        col('Selector', 'A label query over pods that should match the pod count.', 1),
      ],
      cells: (o, now) => {
        const spec = o.spec as { completions?: number; parallelism?: number };
        const st = (o.status ?? {}) as { succeeded?: number; startTime?: string; completionTime?: string; conditions?: { type: string; status: string }[] };
        const conds = st.conditions ?? [];
        const has = (t: string): boolean => conds.some((c) => c.type === t && c.status === 'True');
        const status = has('Complete') ? 'Complete' : has('Failed') ? 'Failed' : has('Suspended') ? 'Suspended' : has('FailureTarget') ? 'FailureTarget' : o.metadata.deletionTimestamp ? 'Terminating' : 'Running';
        const completions = spec.completions !== undefined ? `${num(st.succeeded)}/${spec.completions}` : `${num(st.succeeded)}/1 of ${spec.parallelism ?? 1}`;
        const start = parseTime(st.startTime);
        const end = parseTime(st.completionTime);
        const duration = Number.isNaN(start) ? '' : humanDuration((Number.isNaN(end) ? now : end) - start);
        return [status, completions, duration, age(o, now), ...workloadWide(o)];
      },
    },
  ],
  [
    'batch/CronJob',
    {
      columns: [
        col('Schedule', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'),
        col('Timezone', 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.'),
        col('Suspend', 'This flag tells the controller to suspend subsequent executions.', 0, 'boolean'),
        col('Active', 'A list of pointers to currently running jobs.', 0, 'integer'),
        col('Last Schedule', 'Information when was the last time the job was successfully scheduled.'),
        AGE_COL,
        col('Containers', 'Names of each container in the template.', 1),
        col('Images', 'Images referenced by each container in the template.', 1),
        col('Selector', 'A label query over pods that should match the pod count.', 1),
      ],
      cells: (o, now) => {
        const spec = o.spec as { schedule?: string; timeZone?: string; suspend?: boolean; jobTemplate?: { spec?: Spec } };
        const st = (o.status ?? {}) as { active?: unknown[]; lastScheduleTime?: string };
        const last = parseTime(st.lastScheduleTime);
        const [c, i] = containersAndImages(spec.jobTemplate?.spec?.template?.spec?.containers);
        return [spec.schedule ?? '', spec.timeZone ?? '<none>', Boolean(spec.suspend), st.active?.length ?? 0, Number.isNaN(last) ? '<none>' : humanDuration(now - last), age(o, now), c, i, formatLabelSelector(spec.jobTemplate?.spec?.selector)];
      },
    },
  ],
  [
    '/Service',
    {
      columns: [
        col('Type', 'The type of the service.'),
        col('Cluster-IP', 'The IP address of the service.'),
        col('External-IP', 'The external IP address of the service.'),
        col('Port(s)', 'The ports the service exposes.'),
        AGE_COL,
        col('Selector', 'Route service traffic to pods with label keys and values matching this selector.', 1),
      ],
      cells: (o, now) => {
        const spec = o.spec as { type?: string; clusterIP?: string; selector?: Record<string, string> };
        const sel = spec.selector && Object.keys(spec.selector).length ? Object.entries(spec.selector).map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
        return [spec.type ?? 'ClusterIP', spec.clusterIP || '<none>', externalIp(o), servicePorts(o), age(o, now), sel];
      },
    },
  ],
  [
    '/Endpoints',
    {
      columns: [col('Endpoints', 'Endpoints of the service'), AGE_COL],
      cells: (o, now) => {
        const subsets = (o.subsets as { addresses?: { ip: string }[]; ports?: { port: number }[] }[] | undefined) ?? [];
        const list: string[] = [];
        for (const s of subsets) for (const a of s.addresses ?? []) for (const p of s.ports ?? [{ port: 0 }]) list.push(p.port ? `${a.ip}:${p.port}` : a.ip);
        const text = list.length === 0 ? '<none>' : list.length > 3 ? `${list.slice(0, 3).join(',')} + ${list.length - 3} more...` : list.join(',');
        return [text, age(o, now)];
      },
    },
  ],
  ['/Namespace', { columns: [col('Status', 'The status of the namespace'), AGE_COL], cells: (o, now) => [(o.status as { phase?: string })?.phase ?? 'Active', age(o, now)] }],
  [
    '/ConfigMap',
    {
      columns: [col('Data', 'Number of data in configmap', 0, 'integer'), AGE_COL],
      cells: (o, now) => [Object.keys((o.data as object) ?? {}).length + Object.keys((o.binaryData as object) ?? {}).length, age(o, now)],
    },
  ],
  [
    '/Secret',
    {
      columns: [col('Type', 'The type of the secret'), col('Data', 'The number of data in the secret', 0, 'integer'), AGE_COL],
      cells: (o, now) => [String(o.type ?? 'Opaque'), Object.keys((o.data as object) ?? {}).length, age(o, now)],
    },
  ],
  ['/ServiceAccount', { columns: [col('Secrets', 'Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount', 0, 'integer'), AGE_COL], cells: (o, now) => [((o.secrets as unknown[]) ?? []).length, age(o, now)] }],
  [
    '/Event',
    {
      columns: [
        col('Last Seen', 'Time when last this event was observed.'),
        col('Type', 'Type of this event (Normal, Warning), new types could be added in the future.'),
        col('Reason', 'This should be a short, machine understandable string that gives the reason for this event being generated.'),
        col('Object', 'The object that this event is about.'),
        col('Subobject', 'The subobject that this event is about.', 1),
        col('Source', "The component reporting this event. Should be a short machine understandable string.", 1),
        col('Message', 'A human-readable description of the status of this operation.'),
        col('First Seen', 'The time at which the event was first recorded.', 1),
        col('Count', 'The number of times this event has occurred.', 1, 'integer'),
        col('Name', 'The name of the event', 1),
      ],
      cells: (o, now) => {
        const e = o as KubeObject & { involvedObject?: { kind?: string; name?: string; fieldPath?: string }; type?: string; reason?: string; message?: string; count?: number; firstTimestamp?: string; lastTimestamp?: string; eventTime?: string; source?: { component?: string; host?: string } };
        const last = parseTime(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp);
        const first = parseTime(e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp);
        const src = e.source?.component ? (e.source.host ? `${e.source.component}, ${e.source.host}` : e.source.component) : (e.reportingComponent as string | undefined) ?? '';
        return [
          Number.isNaN(last) ? '<unknown>' : humanDuration(now - last),
          e.type ?? '',
          e.reason ?? '',
          `${(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`,
          e.involvedObject?.fieldPath ?? '',
          src,
          (e.message ?? '').trim(),
          Number.isNaN(first) ? '<unknown>' : humanDuration(now - first),
          e.count ?? 1,
          e.metadata.name ?? '',
        ];
      },
    },
  ],
  [
    'autoscaling/HorizontalPodAutoscaler',
    {
      columns: [
        col('Reference', 'Reference to target resource'),
        col('Targets', 'Targets of the metrics'),
        col('MinPods', 'Minimum number of pods', 0),
        col('MaxPods', 'Maximum number of pods', 0, 'integer'),
        col('Replicas', 'Current replicas', 0, 'integer'),
        AGE_COL,
      ],
      cells: (o, now) => {
        const spec = o.spec as { scaleTargetRef?: { kind?: string; name?: string }; minReplicas?: number; maxReplicas?: number; metrics?: { type: string; resource?: { name: string; target?: { averageUtilization?: number; averageValue?: string } } }[] };
        const st = (o.status ?? {}) as { currentReplicas?: number; currentMetrics?: { resource?: { current?: { averageUtilization?: number } } }[] };
        const targets = (spec.metrics ?? [])
          .map((m, i) => {
            const cur = st.currentMetrics?.[i]?.resource?.current?.averageUtilization;
            const t = m.resource?.target?.averageUtilization;
            if (m.type === 'Resource' && t !== undefined) return `${m.resource?.name}: ${cur !== undefined ? `${cur}%` : '<unknown>'}/${t}%`;
            return '<unknown>/<unknown>';
          })
          .join(', ');
        return [`${spec.scaleTargetRef?.kind ?? ''}/${spec.scaleTargetRef?.name ?? ''}`, targets || '<none>', String(spec.minReplicas ?? 1), spec.maxReplicas ?? 0, st.currentReplicas ?? 0, age(o, now)];
      },
    },
  ],
  [
    'policy/PodDisruptionBudget',
    {
      columns: [col('Min Available', 'The minimum number of pods that must be available.'), col('Max Unavailable', 'The maximum number of pods that may be unavailable.'), col('Allowed Disruptions', 'Calculated number of pods that may be disrupted at this time.', 0, 'integer'), AGE_COL],
      cells: (o, now) => {
        const spec = o.spec as { minAvailable?: unknown; maxUnavailable?: unknown };
        return [spec.minAvailable !== undefined ? String(spec.minAvailable) : 'N/A', spec.maxUnavailable !== undefined ? String(spec.maxUnavailable) : 'N/A', num((o.status as Status)?.disruptionsAllowed), age(o, now)];
      },
    },
  ],
  [
    'scheduling.k8s.io/PriorityClass',
    {
      columns: [col('Value', 'The value of this priority class.', 0, 'integer'), col('Global-Default', 'The global default of this priority class.', 0, 'boolean'), col('PreemptionPolicy', 'The preemption policy of this priority class.'), AGE_COL],
      cells: (o, now) => [num(o.value), Boolean(o.globalDefault), String(o.preemptionPolicy ?? 'PreemptLowerPriority'), age(o, now)],
    },
  ],
  ['coordination.k8s.io/Lease', { columns: [col('Holder', 'The holder of the lease.'), AGE_COL], cells: (o, now) => [String((o.spec as { holderIdentity?: string })?.holderIdentity ?? ''), age(o, now)] }],
  [
    'apiextensions.k8s.io/CustomResourceDefinition',
    {
      columns: [col('Created At', 'CreationTimestamp is a timestamp representing the server time when this object was created.', 0, 'date')],
      cells: (o) => [o.metadata.creationTimestamp ?? ''],
    },
  ],
];

/** Tables by `group/Kind`, plus printer columns from CRDs; the generic NAME, AGE otherwise. */
export class TableRegistry {
  private readonly printers = new Map<string, TablePrinter>(BUILTIN_TABLES);

  set(group: string, kind: string, p: TablePrinter): void {
    this.printers.set(`${group}/${kind}`, p);
  }

  delete(group: string, kind: string): void {
    this.printers.delete(`${group}/${kind}`);
  }

  get(r: ResourceInfo): TablePrinter {
    return this.printers.get(`${r.group}/${r.kind}`) ?? { columns: [AGE_COL], cells: (o, now) => [age(o, now)] };
  }

  /**
   * Converts objects to a Table. `includeObject`: `None`, `Metadata` (default: a
   * PartialObjectMetadata per row) or `Object`.
   */
  toTable(r: ResourceInfo, items: KubeObject[], now: number, includeObject = 'Metadata', meta: Table['metadata'] = {}): Table {
    const p = this.get(r);
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: meta,
      columnDefinitions: [NAME_COL, ...p.columns],
      rows: items.map((o) => ({ cells: [o.metadata.name ?? '', ...p.cells(o, now)], object: rowObject(o, includeObject) })),
    };
  }
}

function rowObject(o: KubeObject, includeObject: string): KubeObject {
  if (includeObject === 'Object') return o;
  if (includeObject === 'None') return undefined as unknown as KubeObject;
  const { managedFields: _mf, ...metadata } = o.metadata;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata };
}

/** A printer for a CustomResourceDefinition's `additionalPrinterColumns` (JSONPath `.spec.x` forms). */
export function crdPrinter(columns: { name: string; type: string; jsonPath: string; description?: string; priority?: number; format?: string }[]): TablePrinter {
  const hasAge = columns.some((c) => c.jsonPath === '.metadata.creationTimestamp');
  const defs = columns.map((c) => col(c.name, c.description ?? '', c.priority ?? 0, (['integer', 'number', 'boolean', 'date'].includes(c.type) ? c.type : 'string') as ColumnDefinition['type'], c.format ?? ''));
  return {
    columns: hasAge ? defs : [...defs, AGE_COL],
    cells: (o, now) => {
      const cells = columns.map((c) => {
        const v = simpleJsonPath(o, c.jsonPath);
        if (c.type === 'date' && typeof v === 'string') {
          const t = parseTime(v);
          return Number.isNaN(t) ? v : humanDuration(now - t);
        }
        if (v === undefined || v === null) return '';
        return typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);
      });
      return hasAge ? cells : [...cells, age(o, now)];
    },
  };
}

/** Evaluates a simple JSONPath (`.spec.color`, `.status.conditions[0].type`). */
export function simpleJsonPath(obj: unknown, path: string): unknown {
  const parts = path.replace(/^\$?\./, '').split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== '');
  let cur: unknown = obj;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}
