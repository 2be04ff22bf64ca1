/**
 * Validation of built-in kinds, following Kubernetes's rules and wording
 * (k8s.io/apimachinery/pkg/util/validation, pkg/apis/core/validation, pkg/apis/apps/validation),
 * so kubectl prints the same `The Deployment "web" is invalid: …` lines.
 */
import { fieldDuplicate, fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from './errors.js';
import { selectorFromLabelSelector, SelectorError } from './labels.js';
import { isQuantity, parseQuantity, QUANTITY_FORMAT_ERROR, resourceAmount } from './quantity.js';
import { clone, deepEqual } from './meta.js';
import type { Container, KubeObject, LabelSelector, ObjectMeta, PodSpec, PodTemplateSpec } from './types.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

/** Messages for a name longer than `max` or not matching `re` (apimachinery's wording in `format`), or []. */
function nameErrors(v: string, max: number, re: RegExp, format: string): string[] {
  const errs: string[] = [];
  if (v.length > max) errs.push(`must be no more than ${max} characters`);
  if (!re.test(v)) errs.push(format);
  return errs;
}

/** Messages for an invalid RFC 1123 subdomain, or [] if valid. */
export function dnsSubdomainErrors(v: string): string[] {
  return nameErrors(v, 253, DNS1123_SUBDOMAIN, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
}

/** Messages for an invalid RFC 1123 label, or [] if valid. */
export function dnsLabelErrors(v: string): string[] {
  return nameErrors(v, 63, DNS1123_LABEL, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
}

/**
 * Messages for an invalid RFC 1035 label (a Service's name: it must start with a letter), or []
 * if valid (apimachinery's IsDNS1035Label).
 */
export function dns1035LabelErrors(v: string): string[] {
  return nameErrors(v, 63, DNS1035_LABEL, "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");
}

/** Messages for an invalid qualified name (a label or annotation key), or [] if valid. */
export function qualifiedNameErrors(v: string): string[] {
  const i = v.lastIndexOf('/');
  const prefix = i >= 0 ? v.slice(0, i) : undefined;
  const name = i >= 0 ? v.slice(i + 1) : v;
  const errs: string[] = [];
  if (prefix !== undefined) {
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const e of dnsSubdomainErrors(prefix)) errs.push(`prefix part ${e}`);
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  else if (!QUALIFIED_NAME.test(name)) {
    errs.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  }
  return errs;
}

/** Messages for an invalid label value, or [] if valid. */
export function labelValueErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push('must be no more than 63 characters');
  if (!LABEL_VALUE.test(v)) {
    errs.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
  }
  return errs;
}

export function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const out: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const e of qualifiedNameErrors(k)) out.push(fieldInvalid(path, k, e));
    if (typeof v !== 'string') out.push(fieldInvalid(`${path}`, v, 'label values must be strings'));
    else for (const e of labelValueErrors(v)) out.push(fieldInvalid(path, v, e));
  }
  return out;
}

export function validateAnnotations(annotations: Record<string, string> | undefined, path: string): FieldError[] {
  const out: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    for (const e of qualifiedNameErrors(k.toLowerCase())) out.push(fieldInvalid(path, k, e));
    if (typeof v !== 'string') out.push(fieldInvalid(`${path}.${k}`, v, 'annotation values must be strings'));
    size += k.length + String(v).length;
  }
  if (size > 256 * 1024) out.push({ type: 'FieldValueTooLong', field: path, detail: `Too long: may not be more than 262144 bytes` });
  return out;
}

/** Which name rule a kind's `metadata.name` follows (`dns1035`: Services, which start with a letter). */
export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path';

/** Validates `metadata`: the name by `rule`, labels, annotations, owner references. */
export function validateObjectMeta(meta: ObjectMeta | undefined, namespaced: boolean, rule: NameRule = 'subdomain'): FieldError[] {
  const out: FieldError[] = [];
  if (!meta) return [fieldRequired('metadata')];
  const name = meta.name;
  if (!name) {
    out.push(fieldRequired('metadata.name', 'name or generateName is required'));
  } else {
    const errs = rule === 'label' ? dnsLabelErrors(name) : rule === 'dns1035' ? dns1035LabelErrors(name) : rule === 'subdomain' ? dnsSubdomainErrors(name) : pathSegmentErrors(name);
    for (const e of errs) out.push(fieldInvalid('metadata.name', name, e));
  }
  if (namespaced && !meta.namespace) out.push(fieldRequired('metadata.namespace'));
  out.push(...validateLabels(meta.labels, 'metadata.labels'));
  out.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  (meta.ownerReferences ?? []).forEach((o, i) => {
    for (const f of ['apiVersion', 'kind', 'name', 'uid'] as const) {
      if (!o[f]) out.push(fieldRequired(`metadata.ownerReferences[${i}].${f}`));
    }
  });
  return out;
}

function pathSegmentErrors(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  if (name.includes('/') || name.includes('%')) return [`may not contain '/' or '%'`];
  return [];
}

function validateResourceList(list: Record<string, unknown> | undefined, path: string): FieldError[] {
  const out: FieldError[] = [];
  for (const [name, q] of Object.entries(list ?? {})) {
    // Kubernetes names a resource list entry by key: `resources.requests[cpu]`.
    const at = `${path}[${name}]`;
    if (!isQuantity(q)) {
      out.push(fieldInvalid(at, q, QUANTITY_FORMAT_ERROR));
      continue;
    }
    if (parseQuantity(q as string) < 0) out.push(fieldInvalid(at, q, 'must be greater than or equal to 0'));
    if (!['cpu', 'memory', 'ephemeral-storage', 'pods'].includes(name) && !name.startsWith('hugepages-')) {
      if (!name.includes('/')) out.push(fieldInvalid(at, name, 'must be a standard resource type or fully qualified'));
      else if (!Number.isInteger(parseQuantity(q as string))) out.push(fieldInvalid(at, q, 'must be an integer'));
    }
  }
  return out;
}

function validateResources(r: Container['resources'], path: string): FieldError[] {
  if (!r) return [];
  const out = [...validateResourceList(r.requests, `${path}.requests`), ...validateResourceList(r.limits, `${path}.limits`)];
  if (out.length) return out;
  for (const [name, q] of Object.entries(r.requests ?? {})) {
    const lim = r.limits?.[name];
    if (lim !== undefined && resourceAmount(name, q) > resourceAmount(name, lim)) {
      out.push(fieldInvalid(`${path}.requests`, q, `must be less than or equal to ${name} limit of ${lim}`));
    }
  }
  return out;
}

function validateContainers(list: Container[] | undefined, path: string, required: boolean, seen: Set<string>): FieldError[] {
  const out: FieldError[] = [];
  if (required && (!Array.isArray(list) || list.length === 0)) return [fieldRequired(path)];
  if (list !== undefined && !Array.isArray(list)) return [fieldInvalid(path, list, 'must be a list of containers')];
  (list ?? []).forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!c || typeof c !== 'object') {
      out.push(fieldInvalid(p, c, 'must be an object'));
      return;
    }
    if (!c.name) out.push(fieldRequired(`${p}.name`));
    else {
      for (const e of dnsLabelErrors(c.name)) out.push(fieldInvalid(`${p}.name`, c.name, e));
      if (seen.has(c.name)) out.push(fieldDuplicate(`${p}.name`, c.name));
      seen.add(c.name);
    }
    if (!c.image || typeof c.image !== 'string' || c.image.trim() === '') out.push(fieldRequired(`${p}.image`));
    const portNames = new Set<string>();
    (c.ports ?? []).forEach((port, j) => {
      const pp = `${p}.ports[${j}]`;
      if (!Number.isInteger(port.containerPort) || port.containerPort < 1 || port.containerPort > 65535) {
        out.push(fieldInvalid(`${pp}.containerPort`, port.containerPort, 'must be between 1 and 65535, inclusive'));
      }
      if (port.protocol && !['TCP', 'UDP', 'SCTP'].includes(port.protocol)) out.push(fieldNotSupported(`${pp}.protocol`, port.protocol, ['SCTP', 'TCP', 'UDP']));
      if (port.name) {
        if (portNames.has(port.name)) out.push(fieldDuplicate(`${pp}.name`, port.name));
        portNames.add(port.name);
        if (port.name.length > 15 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(port.name) || !/[a-z]/.test(port.name)) {
          out.push(fieldInvalid(`${pp}.name`, port.name, 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), must contain at least one letter (a-z), and must be no more than 15 characters'));
        }
      }
    });
    (c.env ?? []).forEach((e, j) => {
      if (!e.name) out.push(fieldRequired(`${p}.env[${j}].name`));
      else if (!ENV_VAR_NAME.test(e.name)) {
        out.push(fieldInvalid(`${p}.env[${j}].name`, e.name, "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit"));
      }
    });
    out.push(...validateResources(c.resources, `${p}.resources`));
    if (c.imagePullPolicy && !['Always', 'IfNotPresent', 'Never'].includes(c.imagePullPolicy)) {
      out.push(fieldNotSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']));
    }
  });
  return out;
}

/** Validates a PodSpec at `path` (`spec` for a Pod, `spec.template.spec` in a template). */
export function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
  if (!spec || typeof spec !== 'object') return [fieldRequired(path)];
  const seen = new Set<string>();
  const out = [...validateContainers(spec.containers, `${path}.containers`, true, seen), ...validateContainers(spec.initContainers, `${path}.initContainers`, false, seen)];
  if (spec.restartPolicy && !['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy)) {
    out.push(fieldNotSupported(`${path}.restartPolicy`, spec.restartPolicy, ['Always', 'OnFailure', 'Never']));
  }
  if (spec.terminationGracePeriodSeconds !== undefined && (!Number.isInteger(spec.terminationGracePeriodSeconds) || spec.terminationGracePeriodSeconds < 0)) {
    out.push(fieldInvalid(`${path}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, 'must be greater than or equal to 0'));
  }
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) {
    for (const e of qualifiedNameErrors(k)) out.push(fieldInvalid(`${path}.nodeSelector`, k, e));
    for (const e of labelValueErrors(String(v))) out.push(fieldInvalid(`${path}.nodeSelector`, v, e));
  }
  (spec.tolerations ?? []).forEach((t, i) => {
    const p = `${path}.tolerations[${i}]`;
    if (t.operator && !['Equal', 'Exists'].includes(t.operator)) out.push(fieldNotSupported(`${p}.operator`, t.operator, ['Equal', 'Exists']));
    if (t.operator === 'Exists' && t.value) out.push(fieldInvalid(`${p}.operator`, t.value, 'value must be empty when `operator` is \'Exists\''));
    if (!t.key && t.operator !== 'Exists') out.push(fieldInvalid(`${p}.operator`, t.operator ?? '', "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
    if (t.effect && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect)) {
      out.push(fieldNotSupported(`${p}.effect`, t.effect, ['NoExecute', 'NoSchedule', 'PreferNoSchedule']));
    }
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
      out.push(fieldInvalid(`${p}.effect`, t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
  });
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  (terms ?? []).forEach((term, i) => {
    (term.matchExpressions ?? []).forEach((e, j) => {
      const p = `${path}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[${i}].matchExpressions[${j}]`;
      if (!['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'].includes(e.operator)) out.push(fieldNotSupported(`${p}.operator`, e.operator, ['DoesNotExist', 'Exists', 'Gt', 'In', 'Lt', 'NotIn']));
      if ((e.operator === 'In' || e.operator === 'NotIn') && !(e.values ?? []).length) out.push(fieldRequired(`${p}.values`, 'must be specified when `operator` is \'In\' or \'NotIn\''));
      if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && (e.values ?? []).length) out.push(fieldInvalid(`${p}.values`, e.values, 'may not be specified when `operator` is \'Exists\' or \'DoesNotExist\''));
    });
  });
  if (spec.resources) out.push(...validateResources(spec.resources, `${path}.resources`));
  if (spec.overhead) out.push(...validateResourceList(spec.overhead, `${path}.overhead`));
  return out;
}

function validateSelector(sel: LabelSelector | undefined, path: string): FieldError[] {
  if (!sel) return [fieldRequired(path)];
  try {
    const s = selectorFromLabelSelector(sel);
    if (s.empty) return [fieldInvalid(path, sel, 'empty selector is invalid for deployment')];
  } catch (e) {
    return [fieldInvalid(path, sel, e instanceof SelectorError ? e.message : String(e))];
  }
  return [...validateLabels(sel.matchLabels, `${path}.matchLabels`)];
}

/** `map[string]string{"app":"web"}`, the way Go prints a label map in Kubernetes messages. */
function goMap(m: Record<string, string> | undefined): string {
  const entries = Object.keys(m ?? {})
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(m![k])}`);
  return `map[string]string{${entries.join(', ')}}`;
}

function validateTemplate(t: PodTemplateSpec | undefined, selector: LabelSelector | undefined, path: string, restartPolicies: string[]): FieldError[] {
  if (!t) return [fieldRequired(path)];
  const out: FieldError[] = [...validateLabels(t.metadata?.labels, `${path}.metadata.labels`)];
  if (selector) {
    try {
      const s = selectorFromLabelSelector(selector);
      if (!s.empty && !s.matches(t.metadata?.labels ?? {})) {
        out.push({ type: 'FieldValueInvalid', field: `${path}.metadata.labels`, detail: `Invalid value: ${goMap(t.metadata?.labels)}: \`selector\` does not match template \`labels\`` });
      }
    } catch {
      // reported by validateSelector
    }
  }
  out.push(...validatePodSpec(t.spec, `${path}.spec`));
  const rp = t.spec?.restartPolicy;
  if (rp && !restartPolicies.includes(rp)) out.push(fieldNotSupported(`${path}.spec.restartPolicy`, rp, restartPolicies));
  return out;
}

function validateReplicas(v: unknown, path: string): FieldError[] {
  if (v === undefined) return [];
  if (typeof v !== 'number' || !Number.isInteger(v)) return [fieldInvalid(path, v, 'must be an integer')];
  if (v < 0) return [fieldInvalid(path, v, 'must be greater than or equal to 0')];
  return [];
}

function intOrPercent(v: unknown, path: string): FieldError[] {
  if (v === undefined) return [];
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? [] : [fieldInvalid(path, v, 'must be greater than or equal to 0')];
  if (typeof v === 'string' && /^\d+%$/.test(v)) return [];
  return [fieldInvalid(path, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
}

export function validatePod(obj: KubeObject, old?: KubeObject): FieldError[] {
  const errs = [...validateObjectMeta(obj.metadata, true), ...validatePodSpec(obj.spec as PodSpec, 'spec')];
  if (old && !errs.length) errs.push(...validatePodUpdate(obj.spec as PodSpec, old.spec as PodSpec));
  return errs;
}

/**
 * What a Pod update may change (ValidatePodUpdate in pkg/apis/core/validation): container and
 * init container images, `activeDeadlineSeconds`, added tolerations, and removed scheduling
 * gates. The node is set only through the `binding` subresource.
 */
export function validatePodUpdate(spec: PodSpec, old: PodSpec): FieldError[] {
  const mutable = clone(old);
  spec.containers?.forEach((c, i) => {
    if (mutable.containers?.[i] && c?.image !== undefined) mutable.containers[i]!.image = c.image;
  });
  spec.initContainers?.forEach((c, i) => {
    if (mutable.initContainers?.[i] && c?.image !== undefined) mutable.initContainers[i]!.image = c.image;
  });
  if (spec.activeDeadlineSeconds !== undefined) mutable.activeDeadlineSeconds = spec.activeDeadlineSeconds;
  const oldTolerations = JSON.stringify(old.tolerations ?? []);
  const kept = (old.tolerations ?? []).every((t) => (spec.tolerations ?? []).some((n) => deepEqual(n, t)));
  if (kept) {
    if (spec.tolerations !== undefined) mutable.tolerations = spec.tolerations;
  } else if (oldTolerations !== JSON.stringify(spec.tolerations ?? [])) {
    mutable.tolerations = old.tolerations;
  }
  const gates = old.schedulingGates as { name: string }[] | undefined;
  if (gates && (spec.schedulingGates as { name: string }[] | undefined ?? []).every((g) => gates.some((o) => o.name === g.name))) mutable.schedulingGates = spec.schedulingGates;
  if (deepEqual(stripUndefined(mutable), stripUndefined(spec))) return [];
  return [
    {
      type: 'FieldValueForbidden',
      field: 'spec',
      detail:
        'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    },
  ];
}

function stripUndefined<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/**
 * `v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`:
 * a selector as Go's `%#v` prints it in Kubernetes's "field is immutable" messages.
 */
export function goLabelSelector(sel: LabelSelector | undefined): string {
  if (!sel) return 'null';
  const labels = Object.keys(sel.matchLabels ?? {}).length ? goMap(sel.matchLabels) : 'map[string]string(nil)';
  const exprs = (sel.matchExpressions ?? []).map(
    (e) => `v1.LabelSelectorRequirement{Key:${JSON.stringify(e.key)}, Operator:${JSON.stringify(e.operator)}, Values:${e.values ? `[]string{${e.values.map((v) => JSON.stringify(v)).join(', ')}}` : '[]string(nil)'}}`,
  );
  return `v1.LabelSelector{MatchLabels:${labels}, MatchExpressions:${exprs.length ? `[]v1.LabelSelectorRequirement{${exprs.join(', ')}}` : '[]v1.LabelSelectorRequirement(nil)'}}`;
}

/**
 * apps/v1 Deployments, ReplicaSets, StatefulSets and DaemonSets may not change `spec.selector`
 * after creation (pkg/apis/apps/validation ValidateDeploymentUpdate & co.:
 * `ValidateImmutableField(spec.selector)`); nil and empty maps and lists compare equal, as
 * apimachinery's semantic DeepEqual has them.
 */
export function validateSelectorUnchanged(obj: KubeObject, old: KubeObject | undefined): FieldError[] {
  if (!old) return [];
  const norm = (s: LabelSelector | undefined): unknown => ({
    matchLabels: Object.keys(s?.matchLabels ?? {}).length ? s!.matchLabels : {},
    matchExpressions: (s?.matchExpressions ?? []).map((e) => ({ key: e.key, operator: e.operator, values: e.values ?? [] })),
  });
  const sel = (obj.spec as { selector?: LabelSelector } | undefined)?.selector;
  const was = (old.spec as { selector?: LabelSelector } | undefined)?.selector;
  if (deepEqual(norm(sel), norm(was))) return [];
  return [{ type: 'FieldValueInvalid', field: 'spec.selector', detail: `Invalid value: ${goLabelSelector(sel)}: field is immutable` }];
}

export function validateDeployment(obj: KubeObject, old?: KubeObject): FieldError[] {
  const spec = obj.spec as { replicas?: number; selector?: LabelSelector; template?: PodTemplateSpec; strategy?: { type?: string; rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown } }; minReadySeconds?: number; revisionHistoryLimit?: number; progressDeadlineSeconds?: number } | undefined;
  const out = validateObjectMeta(obj.metadata, true);
  if (!spec) return [...out, fieldRequired('spec')];
  out.push(...validateReplicas(spec.replicas, 'spec.replicas'), ...validateSelector(spec.selector, 'spec.selector'), ...validateTemplate(spec.template, spec.selector, 'spec.template', ['Always']));
  const st = spec.strategy;
  if (st?.type && !['RollingUpdate', 'Recreate'].includes(st.type)) out.push(fieldNotSupported('spec.strategy.type', st.type, ['Recreate', 'RollingUpdate']));
  if (st?.type === 'Recreate' && st.rollingUpdate) out.push({ type: 'FieldValueForbidden', field: 'spec.strategy.rollingUpdate', detail: "Forbidden: may not be specified when strategy `type` is 'Recreate'" });
  if (st?.rollingUpdate) {
    out.push(...intOrPercent(st.rollingUpdate.maxSurge, 'spec.strategy.rollingUpdate.maxSurge'), ...intOrPercent(st.rollingUpdate.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable'));
    const zero = (v: unknown): boolean => v === 0 || v === '0%';
    if (zero(st.rollingUpdate.maxSurge) && zero(st.rollingUpdate.maxUnavailable)) {
      out.push(fieldInvalid('spec.strategy.rollingUpdate.maxUnavailable', st.rollingUpdate.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
    }
  }
  for (const f of ['minReadySeconds', 'revisionHistoryLimit', 'progressDeadlineSeconds'] as const) {
    const v = spec[f];
    if (v !== undefined && (typeof v !== 'number' || v < 0)) out.push(fieldInvalid(`spec.${f}`, v, 'must be greater than or equal to 0'));
  }
  out.push(...validateSelectorUnchanged(obj, old));
  return out;
}

export function validateReplicaSet(obj: KubeObject, old?: KubeObject): FieldError[] {
  const spec = obj.spec as { replicas?: number; selector?: LabelSelector; template?: PodTemplateSpec } | undefined;
  const out = validateObjectMeta(obj.metadata, true);
  if (!spec) return [...out, fieldRequired('spec')];
  return [...out, ...validateReplicas(spec.replicas, 'spec.replicas'), ...validateSelector(spec.selector, 'spec.selector'), ...validateTemplate(spec.template, spec.selector, 'spec.template', ['Always']), ...validateSelectorUnchanged(obj, old)];
}

/** StatefulSet, DaemonSet: a selector matching a template that restarts Always. */
export function validateTemplatedWorkload(obj: KubeObject, old?: KubeObject): FieldError[] {
  const spec = obj.spec as { replicas?: number; selector?: LabelSelector; template?: PodTemplateSpec } | undefined;
  const out = validateObjectMeta(obj.metadata, true);
  if (!spec) return [...out, fieldRequired('spec')];
  return [...out, ...validateReplicas(spec.replicas, 'spec.replicas'), ...validateSelector(spec.selector, 'spec.selector'), ...validateTemplate(spec.template, spec.selector, 'spec.template', ['Always']), ...validateSelectorUnchanged(obj, old)];
}

export function validateJob(obj: KubeObject): FieldError[] {
  const spec = obj.spec as { template?: PodTemplateSpec; selector?: LabelSelector; backoffLimit?: number; completions?: number; parallelism?: number } | undefined;
  const out = validateObjectMeta(obj.metadata, true);
  if (!spec) return [...out, fieldRequired('spec')];
  if (!spec.template) return [...out, fieldRequired('spec.template')];
  out.push(...validateTemplate(spec.template, spec.selector, 'spec.template', ['OnFailure', 'Never']));
  if (!spec.template.spec?.restartPolicy || spec.template.spec.restartPolicy === 'Always') {
    out.push(fieldRequired('spec.template.spec.restartPolicy', 'valid values: "OnFailure", "Never"'));
  }
  for (const f of ['backoffLimit', 'completions', 'parallelism'] as const) out.push(...validateReplicas(spec[f], `spec.${f}`));
  return out;
}

export function validateService(obj: KubeObject): FieldError[] {
  // Service names are RFC 1035 labels (ValidateServiceName in pkg/apis/core/validation).
  const out = validateObjectMeta(obj.metadata, true, 'dns1035');
  const spec = obj.spec as { type?: string; ports?: { port?: number; name?: string; protocol?: string; targetPort?: unknown; nodePort?: number }[]; clusterIP?: string; selector?: Record<string, string> } | undefined;
  if (!spec) return [...out, fieldRequired('spec')];
  const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
  if (spec.type && !types.includes(spec.type)) out.push(fieldNotSupported('spec.type', spec.type, types));
  const headless = spec.clusterIP === 'None';
  if (spec.type !== 'ExternalName' && !headless && !(spec.ports ?? []).length) out.push(fieldRequired('spec.ports'));
  const names = new Set<string>();
  (spec.ports ?? []).forEach((p, i) => {
    if (!Number.isInteger(p.port) || p.port! < 1 || p.port! > 65535) out.push(fieldInvalid(`spec.ports[${i}].port`, p.port ?? 0, 'must be between 1 and 65535, inclusive'));
    if ((spec.ports ?? []).length > 1 && !p.name) out.push(fieldRequired(`spec.ports[${i}].name`));
    if (p.name) {
      if (names.has(p.name)) out.push(fieldDuplicate(`spec.ports[${i}].name`, p.name));
      names.add(p.name);
    }
    if (p.protocol && !['TCP', 'UDP', 'SCTP'].includes(p.protocol)) out.push(fieldNotSupported(`spec.ports[${i}].protocol`, p.protocol, ['SCTP', 'TCP', 'UDP']));
  });
  out.push(...validateLabels(spec.selector, 'spec.selector'));
  // Session affinity (Kubernetes' ValidateService): None or ClientIP, a timeout in (0, 86400] s only with ClientIP.
  const sa = (obj.spec as { sessionAffinity?: string; sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: unknown } } }).sessionAffinity;
  const saCfg = (obj.spec as { sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: unknown } } }).sessionAffinityConfig;
  if (sa !== undefined && sa !== 'None' && sa !== 'ClientIP') out.push(fieldNotSupported('spec.sessionAffinity', sa, ['ClientIP', 'None']));
  if (sa === 'ClientIP') {
    const to = saCfg?.clientIP?.timeoutSeconds;
    if (to !== undefined && (typeof to !== 'number' || !Number.isInteger(to) || to <= 0 || to > 86400)) out.push(fieldInvalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', to, 'must be greater than 0 and less than 86400'));
  } else if (saCfg !== undefined && saCfg !== null) out.push(fieldInvalid('spec.sessionAffinityConfig', saCfg, `must not be set when \`sessionAffinity\` is ${sa ?? 'None'}`));
  return out;
}

export function validateConfigMap(obj: KubeObject): FieldError[] {
  const out = validateObjectMeta(obj.metadata, true);
  for (const field of ['data', 'binaryData'] as const) {
    for (const [k, v] of Object.entries((obj[field] as Record<string, unknown>) ?? {})) {
      if (!CONFIG_KEY.test(k) || k.length > 253) out.push(fieldInvalid(`${field}[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
      if (typeof v !== 'string') out.push(fieldInvalid(`${field}[${k}]`, v, 'must be a string'));
    }
  }
  return out;
}

export function validateSecret(obj: KubeObject): FieldError[] {
  const out = validateObjectMeta(obj.metadata, true);
  for (const [k, v] of Object.entries((obj.data as Record<string, unknown>) ?? {})) {
    if (!CONFIG_KEY.test(k)) out.push(fieldInvalid(`data[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) out.push(fieldInvalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
  }
  return out;
}

export function validateNamespace(obj: KubeObject): FieldError[] {
  return validateObjectMeta(obj.metadata, false, 'label');
}

export function validateNode(obj: KubeObject): FieldError[] {
  const out = validateObjectMeta(obj.metadata, false);
  const taints = (obj.spec as { taints?: { key?: string; effect?: string }[] } | undefined)?.taints ?? [];
  taints.forEach((t, i) => {
    if (!t.key) out.push(fieldRequired(`spec.taints[${i}].key`));
    if (!t.effect || !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect)) out.push(fieldNotSupported(`spec.taints[${i}].effect`, t.effect ?? '', ['NoExecute', 'NoSchedule', 'PreferNoSchedule']));
  });
  return out;
}

/** Validates that `name` is a C identifier (used by some berth kinds for keys). */
export function isCIdentifier(name: string): boolean {
  return C_IDENTIFIER.test(name);
}
