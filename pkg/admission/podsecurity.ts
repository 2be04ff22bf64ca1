/**
 * PodSecurity admission: the Pod Security Standards enforced per namespace by the
 * `pod-security.kubernetes.io/enforce` label (`privileged`, `baseline` or `restricted`; the
 * `enforce-version` label only names the version in the message, every version is checked with
 * the latest rules). A pod that fails a check is refused with 403 Forbidden and the reasons
 * kube-apiserver gives, e.g.
 * `pods "p" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), …`.
 * Invalid level or version labels on a Namespace are refused with 422. The `warn` and `audit`
 * labels (and their `-version`s) check the same rules and report instead of refusing: a
 * `Warning: would violate PodSecurity "restricted:latest": …` header that kubectl prints, and the
 * `pod-security.kubernetes.io/audit-violations` annotation on the request's audit event. Pod
 * templates of workload kinds (Deployment, Job, …) are only warned about and audited, as upstream.
 *
 * Rules from https://kubernetes.io/docs/concepts/security/pod-security-standards/ and
 * https://kubernetes.io/docs/concepts/security/pod-security-admission/ (checks in the order the
 * admission controller reports them: baseline checks, then restricted ones, each by check id).
 * Not done: Windows-only checks (hostProcess), AppArmor annotations, exemptions (users,
 * namespaces, runtime classes), and the warnings listing existing pods when a Namespace's
 * `enforce` label is tightened.
 */
import { fieldInvalid, forbidden, invalid } from '../api/errors.js';
import { deepEqual } from '../api/meta.js';
import type { KubeObject } from '../api/types.js';
import type { AdmissionPlugin, AdmissionRequest, ObjectStore } from '../apiserver/store.js';

export const PSS_ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
export const PSS_ENFORCE_VERSION_LABEL = 'pod-security.kubernetes.io/enforce-version';
const MODES = ['enforce', 'warn', 'audit'] as const;

export type PssLevel = 'privileged' | 'baseline' | 'restricted';
const LEVELS: PssLevel[] = ['privileged', 'baseline', 'restricted'];

interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  appArmorProfile?: { type?: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string; level?: string };
  sysctls?: { name: string; value: string }[];
}
interface Container {
  name: string;
  securityContext?: SecurityContext;
  ports?: { hostPort?: number }[];
}
interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext;
  volumes?: ({ name: string } & Record<string, unknown>)[];
  initContainers?: Container[];
  containers?: Container[];
  ephemeralContainers?: Container[];
}

/** One failed check: the reason and its detail, as the API server words them. */
export interface PssViolation {
  reason: string;
  detail: string;
}

/** Capabilities a baseline pod may add (the container runtime's defaults). */
const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
/** The sysctls a baseline pod may set (the "safe" set, as of Kubernetes 1.29). */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
/** The volume types a restricted pod may use. */
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

const quoted = (xs: string[]): string => xs.map((x) => `"${x}"`).join(', ');
/** `container "a"` or `containers "a", "b"`. */
const containersPhrase = (names: string[]): string => `${names.length === 1 ? 'container' : 'containers'} ${quoted(names)}`;
const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];

function allContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

/** The baseline checks, in the order kube-apiserver reports them. */
function baseline(spec: PodSpec): PssViolation[] {
  const out: PssViolation[] = [];
  const cs = allContainers(spec);
  const psc = spec.securityContext ?? {};

  // appArmorProfile
  const unconfined = cs.filter((c) => c.securityContext?.appArmorProfile?.type === 'Unconfined').map((c) => c.name);
  if (psc.appArmorProfile?.type === 'Unconfined' || unconfined.length) {
    const parts = [...(psc.appArmorProfile?.type === 'Unconfined' ? ['pod'] : []), ...(unconfined.length ? [containersPhrase(unconfined)] : [])];
    out.push({ reason: 'forbidden AppArmor profile', detail: `${parts.join(' and ')} must not set securityContext.appArmorProfile.type to "Unconfined"` });
  }
  // capabilities_baseline
  const addBad = cs.map((c) => ({ name: c.name, caps: (c.securityContext?.capabilities?.add ?? []).filter((x) => !BASELINE_CAPABILITIES.has(x)) })).filter((x) => x.caps.length);
  if (addBad.length) {
    out.push({ reason: 'non-default capabilities', detail: `${containersPhrase(addBad.map((x) => x.name))} must not include ${quoted(uniq(addBad.flatMap((x) => x.caps)))} in securityContext.capabilities.add` });
  }
  // hostNamespaces
  const hostNs = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((k) => spec[k] === true);
  if (hostNs.length) out.push({ reason: 'host namespaces', detail: hostNs.map((k) => `${k}=true`).join(', ') });
  // hostPathVolumes
  const hostPaths = (spec.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => v.name);
  if (hostPaths.length) out.push({ reason: 'hostPath volumes', detail: `${hostPaths.length === 1 ? 'volume' : 'volumes'} ${quoted(hostPaths)}` });
  // hostPorts
  const withPorts = cs.filter((c) => (c.ports ?? []).some((p) => p.hostPort));
  if (withPorts.length) {
    const ports = uniq(withPorts.flatMap((c) => (c.ports ?? []).map((p) => p.hostPort).filter((p): p is number => !!p)));
    out.push({ reason: 'hostPort', detail: `${containersPhrase(withPorts.map((c) => c.name))} ${withPorts.length === 1 ? 'uses' : 'use'} ${ports.length === 1 ? 'hostPort' : 'hostPorts'} ${ports.join(', ')}` });
  }
  // privileged
  const privileged = cs.filter((c) => c.securityContext?.privileged === true).map((c) => c.name);
  if (privileged.length) out.push({ reason: 'privileged', detail: `${containersPhrase(privileged)} must not set securityContext.privileged=true` });
  // procMount
  const unmasked = cs.filter((c) => c.securityContext?.procMount !== undefined && c.securityContext.procMount !== 'Default').map((c) => c.name);
  if (unmasked.length) out.push({ reason: 'procMount', detail: `${containersPhrase(unmasked)} must not set securityContext.procMount to ${quoted(uniq(cs.filter((c) => unmasked.includes(c.name)).map((c) => c.securityContext!.procMount!)))}` });
  // seLinuxOptions
  const seLinux = (o: SecurityContext['seLinuxOptions']): string[] => {
    if (!o) return [];
    const bad: string[] = [];
    if (!SELINUX_TYPES.has(o.type ?? '')) bad.push(`type "${o.type}"`);
    if (o.user) bad.push('user may not be set');
    if (o.role) bad.push('role may not be set');
    return bad;
  };
  const seParts: string[] = [];
  if (seLinux(psc.seLinuxOptions).length) seParts.push(`pod set forbidden securityContext.seLinuxOptions: ${seLinux(psc.seLinuxOptions).join('; ')}`);
  const seBad = cs.filter((c) => seLinux(c.securityContext?.seLinuxOptions).length);
  if (seBad.length) seParts.push(`${containersPhrase(seBad.map((c) => c.name))} set forbidden securityContext.seLinuxOptions: ${uniq(seBad.flatMap((c) => seLinux(c.securityContext?.seLinuxOptions))).join('; ')}`);
  if (seParts.length) out.push({ reason: 'seLinuxOptions', detail: seParts.join('; ') });
  // seccompProfile_baseline
  const seccompParts: string[] = [];
  if (psc.seccompProfile?.type === 'Unconfined') seccompParts.push('pod must not set securityContext.seccompProfile.type to "Unconfined"');
  const seccompBad = cs.filter((c) => c.securityContext?.seccompProfile?.type === 'Unconfined').map((c) => c.name);
  if (seccompBad.length) seccompParts.push(`${containersPhrase(seccompBad)} must not set securityContext.seccompProfile.type to "Unconfined"`);
  if (seccompParts.length) out.push({ reason: 'seccompProfile', detail: seccompParts.join('; ') });
  // sysctls
  const sysctls = (psc.sysctls ?? []).map((s) => s.name).filter((n) => !SAFE_SYSCTLS.has(n));
  if (sysctls.length) out.push({ reason: 'forbidden sysctls', detail: sysctls.join(', ') });
  return out;
}

/** The checks the restricted level adds, in the order kube-apiserver reports them. */
function restricted(spec: PodSpec): PssViolation[] {
  const out: PssViolation[] = [];
  const cs = allContainers(spec);
  const psc = spec.securityContext ?? {};

  // allowPrivilegeEscalation
  const escalating = cs.filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name);
  if (escalating.length) out.push({ reason: 'allowPrivilegeEscalation != false', detail: `${containersPhrase(escalating)} must set securityContext.allowPrivilegeEscalation=false` });
  // capabilities_restricted
  const capParts: string[] = [];
  const noDrop = cs.filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL')).map((c) => c.name);
  if (noDrop.length) capParts.push(`${containersPhrase(noDrop)} must set securityContext.capabilities.drop=["ALL"]`);
  const adds = cs.map((c) => ({ name: c.name, caps: (c.securityContext?.capabilities?.add ?? []).filter((x) => x !== 'NET_BIND_SERVICE') })).filter((x) => x.caps.length);
  if (adds.length) capParts.push(`${containersPhrase(adds.map((x) => x.name))} must not include ${quoted(uniq(adds.flatMap((x) => x.caps)))} in securityContext.capabilities.add`);
  if (capParts.length) out.push({ reason: 'unrestricted capabilities', detail: capParts.join('; ') });
  // restrictedVolumes
  const badVolumes = (spec.volumes ?? []).map((v) => ({ name: v.name, type: Object.keys(v).find((k) => k !== 'name') ?? '' })).filter((v) => v.type && !RESTRICTED_VOLUMES.has(v.type));
  if (badVolumes.length) {
    const types = uniq(badVolumes.map((v) => v.type));
    out.push({
      reason: 'restricted volume types',
      detail: `${badVolumes.length === 1 ? 'volume' : 'volumes'} ${quoted(badVolumes.map((v) => v.name))} ${badVolumes.length === 1 ? 'uses' : 'use'} restricted volume ${types.length === 1 ? 'type' : 'types'} ${quoted(types)}`,
    });
  }
  // runAsNonRoot
  const nonRootParts: string[] = [];
  if (psc.runAsNonRoot === false) nonRootParts.push('pod must not set securityContext.runAsNonRoot=false');
  const explicitFalse = cs.filter((c) => c.securityContext?.runAsNonRoot === false).map((c) => c.name);
  if (explicitFalse.length) nonRootParts.push(`${containersPhrase(explicitFalse)} must not set securityContext.runAsNonRoot=false`);
  if (psc.runAsNonRoot !== true) {
    const unset = cs.filter((c) => c.securityContext?.runAsNonRoot === undefined).map((c) => c.name);
    if (unset.length) nonRootParts.push(`pod or ${containersPhrase(unset)} must set securityContext.runAsNonRoot=true`);
  }
  if (nonRootParts.length) out.push({ reason: 'runAsNonRoot != true', detail: nonRootParts.join('; ') });
  // runAsUser
  const rootParts: string[] = [];
  if (psc.runAsUser === 0) rootParts.push('pod must not set runAsUser=0');
  const rootContainers = cs.filter((c) => c.securityContext?.runAsUser === 0).map((c) => c.name);
  if (rootContainers.length) rootParts.push(`${containersPhrase(rootContainers)} must not set runAsUser=0`);
  if (rootParts.length) out.push({ reason: 'runAsUser=0', detail: rootParts.join('; ') });
  // seccompProfile_restricted
  const okSeccomp = (t: string | undefined): boolean => t === 'RuntimeDefault' || t === 'Localhost';
  const seccompParts: string[] = [];
  const podSeccomp = psc.seccompProfile?.type;
  if (podSeccomp !== undefined && !okSeccomp(podSeccomp)) seccompParts.push(`pod must not set securityContext.seccompProfile.type to "${podSeccomp}"`);
  const containerBad = cs.filter((c) => c.securityContext?.seccompProfile?.type !== undefined && !okSeccomp(c.securityContext.seccompProfile.type)).map((c) => c.name);
  if (containerBad.length) seccompParts.push(`${containersPhrase(containerBad)} must not set securityContext.seccompProfile.type to ${quoted(uniq(cs.filter((c) => containerBad.includes(c.name)).map((c) => c.securityContext!.seccompProfile!.type!)))}`);
  if (!okSeccomp(podSeccomp)) {
    const unset = cs.filter((c) => c.securityContext?.seccompProfile?.type === undefined).map((c) => c.name);
    if (unset.length) seccompParts.push(`pod or ${containersPhrase(unset)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
  }
  if (seccompParts.length) out.push({ reason: 'seccompProfile', detail: seccompParts.join('; ') });
  return out;
}

/**
 * The checks a pod spec fails at `level` (none for `privileged`), each `{reason, detail}`, in
 * the order kube-apiserver lists them. At `restricted`, the restricted capabilities and seccomp
 * checks replace their baseline versions (they are stricter), as in pod-security-admission.
 */
export function podSecurityViolations(spec: PodSpec, level: PssLevel): PssViolation[] {
  if (level === 'privileged') return [];
  const base = baseline(spec);
  if (level === 'baseline') return base;
  const overridden = new Set(['non-default capabilities', 'seccompProfile']);
  return [...base.filter((v) => !overridden.has(v.reason)), ...restricted(spec)];
}

/** `violates PodSecurity "restricted:latest": reason (detail), …` */
export function formatViolations(level: PssLevel, version: string, violations: PssViolation[]): string {
  return `violates PodSecurity "${level}:${version}": ${violations.map((v) => `${v.reason} (${v.detail})`).join(', ')}`;
}

/** The policy of a namespace's labels: the enforced level (default `privileged`) and version (default `latest`). */
export function enforcedPolicy(ns: KubeObject | undefined): { level: PssLevel; version: string } {
  return modePolicy(ns, 'enforce');
}

/** The level and version a namespace's labels set for one mode (`pod-security.kubernetes.io/<mode>[-version]`). */
export function modePolicy(ns: KubeObject | undefined, mode: PssMode): { level: PssLevel; version: string } {
  const labels = ns?.metadata.labels ?? {};
  const level = labels[`pod-security.kubernetes.io/${mode}`] as PssLevel | undefined;
  return { level: level && LEVELS.includes(level) ? level : 'privileged', version: labels[`pod-security.kubernetes.io/${mode}-version`] ?? 'latest' };
}

export type PssMode = (typeof MODES)[number];

/**
 * The audit annotation naming the level and version a pod request was held to, e.g.
 * `restricted:latest` (https://kubernetes.io/docs/reference/labels-annotations-taints/audit-annotations/).
 */
export const PSS_ENFORCE_POLICY_ANNOTATION = 'pod-security.kubernetes.io/enforce-policy';

/** The audit annotation naming what a request would violate at the namespace's `audit` level (pod-security-admission's AuditViolationsAnnotationKey). */
export const PSS_AUDIT_VIOLATIONS_ANNOTATION = 'pod-security.kubernetes.io/audit-violations';

/**
 * The pod spec a workload kind's object carries, as pod-security-admission's
 * DefaultPodSpecExtractor finds it: `spec.template` (PodTemplate: `template`) of the pod
 * controllers, `spec.jobTemplate.spec.template` of a CronJob. Undefined for other kinds.
 */
export function workloadPodSpec(group: string, kind: string, obj: KubeObject): PodSpec | undefined {
  const o = obj as unknown as { spec?: { template?: { spec?: PodSpec }; jobTemplate?: { spec?: { template?: { spec?: PodSpec } } } }; template?: { spec?: PodSpec } };
  const k = `${group}/${kind}`;
  if (k === '/PodTemplate') return o.template?.spec ?? {};
  if (['/ReplicationController', 'apps/ReplicaSet', 'apps/Deployment', 'apps/StatefulSet', 'apps/DaemonSet', 'batch/Job'].includes(k)) return o.spec?.template?.spec ?? {};
  if (k === 'batch/CronJob') return o.spec?.jobTemplate?.spec?.template?.spec ?? {};
  return undefined;
}

/**
 * Whether a pod update changes anything PodSecurity looks at: pod-security-admission's
 * isSignificantPodUpdate (the security fields of a pod spec are immutable, so only the
 * container lists, their images and the seccomp annotations can change). Others are not evaluated.
 */
function isSignificantPodUpdate(pod: KubeObject, old: KubeObject): boolean {
  const a = pod.metadata.annotations ?? {};
  const b = old.metadata.annotations ?? {};
  const seccomp = 'seccomp.security.alpha.kubernetes.io/pod';
  if (a[seccomp] !== b[seccomp]) return true;
  const spec = (pod.spec ?? {}) as PodSpec & { containers?: { image?: string }[] };
  const oldSpec = (old.spec ?? {}) as PodSpec;
  const significant = (c: Container & { image?: string }, o: (Container & { image?: string }) | undefined): boolean => {
    if (!o || c.image !== o.image) return true;
    const key = `container.seccomp.security.alpha.kubernetes.io/${c.name}`;
    return a[key] !== b[key];
  };
  for (const list of ['containers', 'initContainers'] as const) {
    const cs = spec[list] ?? [];
    const os = oldSpec[list] ?? [];
    if (cs.length !== os.length) return true;
    if (cs.some((c, i) => significant(c, os[i]))) return true;
  }
  const oldEph = new Map((oldSpec.ephemeralContainers ?? []).map((c) => [c.name, c]));
  return (spec.ephemeralContainers ?? []).some((c) => significant(c, oldEph.get(c.name)));
}

/**
 * PodSecurity as an admission plugin (pod-security-admission's `Admission.Validate`): validates
 * Namespace labels; for Pods (create, and updates that change images or containers) enforces the
 * namespace's `enforce` level with 403 Forbidden, adds `would violate PodSecurity "<level>:<version>": …`
 * as a warning at its `warn` level (only when the request is not refused) and as the
 * `pod-security.kubernetes.io/audit-violations` audit annotation at its `audit` level. For the
 * workload kinds with pod templates (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
 * ReplicationController, PodTemplate) it warns and audits but never refuses, as upstream.
 */
export class PodSecurityAdmission implements AdmissionPlugin {
  readonly name = 'PodSecurity';

  constructor(private readonly store: ObjectStore) {}

  async validate(req: AdmissionRequest): Promise<void> {
    if (!req.object || req.subresource) return;
    const { group, kind } = req.resource;
    if (group === '' && kind === 'Namespace') {
      if (req.operation === 'CREATE' || req.operation === 'UPDATE') validateNamespaceLabels(req.object);
      if (req.operation === 'UPDATE' && req.oldObject && req.warnings) req.warnings.push(...(await this.existingPodWarnings(req.object, req.oldObject)));
      return;
    }
    if (!req.namespace || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return;
    const isPod = group === '' && kind === 'Pod';
    const spec = isPod ? ((req.object.spec ?? {}) as PodSpec) : workloadPodSpec(group, kind, req.object);
    if (!spec) return;
    if (req.operation === 'UPDATE' && req.oldObject) {
      if (isPod && !isSignificantPodUpdate(req.object, req.oldObject)) return;
      // A workload whose pod template did not change is not evaluated again.
      if (!isPod && deepEqual(spec, workloadPodSpec(group, kind, req.oldObject))) return;
    }
    const info = this.store.registry.get('', 'v1', 'namespaces')!;
    const ns = await req.store.cachedGet(info, undefined, req.namespace);
    if (!ns) return; // a missing namespace is the namespace lifecycle's error, not this plugin's
    const check = (mode: PssMode): { policy: string; violations: PssViolation[] } => {
      const { level, version } = modePolicy(ns, mode);
      return { policy: `${level}:${version}`, violations: podSecurityViolations(spec, level) };
    };
    const detail = (violations: PssViolation[]): string => violations.map((v) => `${v.reason} (${v.detail})`).join(', ');
    const audit = check('audit');
    if (audit.violations.length && req.auditAnnotations) req.auditAnnotations[PSS_AUDIT_VIOLATIONS_ANNOTATION] = `would violate PodSecurity "${audit.policy}": ${detail(audit.violations)}`;
    if (isPod) {
      const { level, version } = modePolicy(ns, 'enforce');
      // Every evaluated pod request records the level it was held to, refused or not.
      if (req.auditAnnotations) req.auditAnnotations[PSS_ENFORCE_POLICY_ANNOTATION] = `${level}:${version}`;
      const violations = podSecurityViolations(spec, level);
      if (violations.length) throw forbidden('pods', req.name, formatViolations(level, version, violations));
    }
    const warn = check('warn');
    if (warn.violations.length) {
      const text = `would violate PodSecurity "${warn.policy}": ${detail(warn.violations)}`;
      if (req.warnings && !req.warnings.includes(text)) req.warnings.push(text);
    }
  }

  /**
   * When a Namespace's `enforce` level or version changes to something stricter than privileged,
   * the warnings kube-apiserver gives about the pods already there
   * (pod-security-admission's EvaluatePodsInNamespace): `existing pods in namespace "ns" violate
   * the new PodSecurity enforce level "restricted:latest"`, then one warning per distinct set of
   * failed checks, `<first pod name> (and N other pods): reason, reason`, sorted.
   */
  private async existingPodWarnings(ns: KubeObject, old: KubeObject): Promise<string[]> {
    const next = modePolicy(ns, 'enforce');
    const prev = modePolicy(old, 'enforce');
    if (next.level === 'privileged' || (next.level === prev.level && next.version === prev.version)) return [];
    const pods = await this.store.list(this.store.registry.get('', 'v1', 'pods')!, ns.metadata.name);
    const byReason = new Map<string, { name: string; count: number }>();
    for (const pod of pods.items) {
      const violations = podSecurityViolations((pod.spec ?? {}) as PodSpec, next.level);
      if (!violations.length) continue;
      const reason = violations.map((v) => v.reason).join(', ');
      const c = byReason.get(reason);
      const name = pod.metadata.name!;
      if (!c) byReason.set(reason, { name, count: 1 });
      else {
        c.count++;
        if (byName(name, c.name) < 0) c.name = name;
      }
    }
    if (!byReason.size) return [];
    const perPod = [...byReason].map(([reason, c]) => `${c.name}${c.count === 2 ? ' (and 1 other pod)' : c.count > 2 ? ` (and ${c.count - 1} other pods)` : ''}: ${reason}`).sort(byName);
    return [`existing pods in namespace "${ns.metadata.name}" violate the new PodSecurity enforce level "${next.level}:${next.version}"`, ...perPod];
  }
}

/** Pod names sorted as Go sorts strings (by UTF-16 code unit here; names are ASCII). */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A Namespace's pod-security labels must name a level (`privileged|baseline|restricted`) and a version (`latest` or `v1.N`). */
function validateNamespaceLabels(ns: KubeObject): void {
  const labels = ns.metadata.labels ?? {};
  const errors = [];
  for (const mode of MODES) {
    const level = labels[`pod-security.kubernetes.io/${mode}`];
    if (level !== undefined && !LEVELS.includes(level as PssLevel)) {
      errors.push(fieldInvalid(`metadata.labels[pod-security.kubernetes.io/${mode}]`, level, `must be one of ${LEVELS.join(', ')}`));
    }
    const version = labels[`pod-security.kubernetes.io/${mode}-version`];
    if (version !== undefined && version !== 'latest' && !/^v1\.(0|[1-9]\d*)$/.test(version)) {
      errors.push(fieldInvalid(`metadata.labels[pod-security.kubernetes.io/${mode}-version]`, version, 'must be "latest" or "v1.x"'));
    }
  }
  if (errors.length) throw invalid('Namespace', ns.metadata.name!, errors);
}
