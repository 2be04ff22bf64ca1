/**
 * RBAC authorization as Kubernetes evaluates it
 * (https://kubernetes.io/docs/reference/access-authn-authz/rbac/): a request is allowed when some
 * rule of a Role or ClusterRole, bound to the user, one of their groups or their service account
 * by a RoleBinding (in the request's namespace) or a ClusterRoleBinding (everywhere), matches its
 * verb, API group, resource[/subresource] and name — or, for a non-resource path, its URL. Members
 * of `system:masters` are allowed everything, as kube-apiserver's privileged group.
 * Not modelled: ClusterRole `aggregationRule` (aggregated roles are read as written) and the
 * `escalate`/`bind` checks on writing roles.
 */

/** Who is asking: a user name, an optional uid, and groups (`system:authenticated` included). */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
}

/** What a request does, as kube-apiserver's RequestInfo. */
export interface RequestAttributes {
  /** get, list, watch, create, update, patch, delete, deletecollection — or the HTTP verb in lower case for a non-resource path. */
  verb: string;
  resourceRequest: boolean;
  /** For a non-resource request: the URL path. */
  path?: string;
  apiGroup?: string;
  apiVersion?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** One rule of a Role or ClusterRole (rbac.authorization.k8s.io/v1 PolicyRule). */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
  apiGroup?: string;
}

/** The RBAC objects a decision reads; `namespace` is set on Roles and RoleBindings. */
export interface RbacObjects {
  roles: { metadata: { name?: string; namespace?: string }; rules?: PolicyRule[] }[];
  clusterRoles: { metadata: { name?: string }; rules?: PolicyRule[] }[];
  roleBindings: { metadata: { namespace?: string }; roleRef: { kind: string; name: string }; subjects?: Subject[] }[];
  clusterRoleBindings: { roleRef: { kind: string; name: string }; subjects?: Subject[] }[];
}

export const MASTERS_GROUP = 'system:masters';

function subjectMatches(s: Subject, user: UserInfo): boolean {
  if (s.kind === 'User') return s.name === user.name;
  if (s.kind === 'Group') return user.groups.includes(s.name);
  if (s.kind === 'ServiceAccount') return user.name === `system:serviceaccount:${s.namespace ?? ''}:${s.name}`;
  return false;
}

/** Whether one rule allows the request (rbac/v1 helpers: VerbMatches, APIGroupMatches, ResourceMatches, ResourceNameMatches, NonResourceURLMatches). */
export function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (!rule.verbs.includes('*') && !rule.verbs.includes(a.verb)) return false;
  if (!a.resourceRequest) {
    return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && (a.path ?? '').startsWith(u.slice(0, -1))));
  }
  const groups = rule.apiGroups ?? [];
  if (!groups.includes('*') && !groups.includes(a.apiGroup ?? '')) return false;
  const want = a.subresource ? `${a.resource}/${a.subresource}` : a.resource!;
  const resources = rule.resources ?? [];
  const resourceOk = resources.some((r) => r === '*' || r === want || (a.subresource && r === `*/${a.subresource}`));
  if (!resourceOk) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) return a.name !== undefined && rule.resourceNames.includes(a.name);
  return true;
}

/** The decision and, when allowed, the binding that allowed it (Kubernetes puts it in the audit annotation). */
export interface Decision {
  allowed: boolean;
  reason: string;
}

/** Decides one request against the RBAC objects. Pure: the caller reads the objects. */
export function authorize(user: UserInfo, a: RequestAttributes, rbac: RbacObjects): Decision {
  if (user.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: `member of ${MASTERS_GROUP}` };
  const clusterRole = (name: string) => rbac.clusterRoles.find((r) => r.metadata.name === name);
  for (const b of rbac.clusterRoleBindings) {
    if (b.roleRef.kind !== 'ClusterRole' || !(b.subjects ?? []).some((s) => subjectMatches(s, user))) continue;
    const role = clusterRole(b.roleRef.name);
    if ((role?.rules ?? []).some((r) => ruleAllows(r, a))) return { allowed: true, reason: `RBAC: allowed by ClusterRoleBinding to ClusterRole "${b.roleRef.name}"` };
  }
  if (a.resourceRequest && a.namespace) {
    for (const b of rbac.roleBindings) {
      if (b.metadata.namespace !== a.namespace || !(b.subjects ?? []).some((s) => subjectMatches(s, user))) continue;
      const role = b.roleRef.kind === 'ClusterRole' ? clusterRole(b.roleRef.name) : rbac.roles.find((r) => r.metadata.namespace === a.namespace && r.metadata.name === b.roleRef.name);
      if ((role?.rules ?? []).some((r) => ruleAllows(r, a))) return { allowed: true, reason: `RBAC: allowed by RoleBinding to ${b.roleRef.kind} "${b.roleRef.name}" in namespace "${a.namespace}"` };
    }
  }
  return { allowed: false, reason: '' };
}

/** The message kube-apiserver gives a forbidden request. */
export function forbiddenMessage(user: UserInfo, a: RequestAttributes): string {
  if (!a.resourceRequest) return `forbidden: User "${user.name}" cannot ${a.verb} path "${a.path}"`;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource!;
  const what = a.name ? `${res} "${a.name}"` : res;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : a.resource === 'namespaces' ? '' : ' at the cluster scope';
  return `${what} is forbidden: User "${user.name}" cannot ${a.verb} resource "${res}" in API group "${a.apiGroup ?? ''}"${where}`;
}

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];

/**
 * Kubernetes's bootstrap policy, the part a user relies on
 * (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#default-roles-and-role-bindings):
 * `cluster-admin`, `admin`, `edit`, `view`, and the discovery roles every authenticated user has.
 * `view` reads everything but Secrets; `edit` writes workloads, config and Secrets; `admin` adds
 * Roles and RoleBindings in its namespace. Created at start when RBAC is on and absent.
 */
export function bootstrapPolicy(): { clusterRoles: { name: string; rules: PolicyRule[] }[]; clusterRoleBindings: { name: string; role: string; subjects: Subject[] }[] } {
  const workloads: PolicyRule[] = [
    { apiGroups: [''], resources: ['pods', 'pods/log', 'pods/status', 'services', 'endpoints', 'configmaps', 'persistentvolumeclaims', 'replicationcontrollers', 'serviceaccounts', 'events', 'limitranges', 'resourcequotas'], verbs: READ },
    { apiGroups: ['apps'], resources: ['deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale', 'daemonsets', 'controllerrevisions'], verbs: READ },
    { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: READ },
    { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: READ },
    { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: READ },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs: READ },
    { apiGroups: [''], resources: ['namespaces'], verbs: READ },
  ];
  const view = workloads;
  const edit: PolicyRule[] = [
    ...workloads,
    { apiGroups: [''], resources: ['pods', 'pods/exec', 'pods/attach', 'pods/portforward', 'pods/eviction', 'services', 'endpoints', 'configmaps', 'secrets', 'persistentvolumeclaims', 'serviceaccounts'], verbs: WRITE },
    { apiGroups: [''], resources: ['secrets'], verbs: READ },
    { apiGroups: ['apps'], resources: ['deployments', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale', 'daemonsets'], verbs: WRITE },
    { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: WRITE },
    { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: WRITE },
    { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: WRITE },
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs: WRITE },
  ];
  const admin: PolicyRule[] = [...edit, { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...READ, ...WRITE] }];
  const basic: PolicyRule[] = [
    { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
    { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
  ];
  const discovery: PolicyRule[] = [{ nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*', '/version', '/version/', '/healthz', '/livez', '/readyz'], verbs: ['get'] }];
  const publicInfo: PolicyRule[] = [{ nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] }];
  const authenticated: Subject = { kind: 'Group', name: 'system:authenticated', apiGroup: 'rbac.authorization.k8s.io' };
  return {
    clusterRoles: [
      { name: 'cluster-admin', rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }] },
      { name: 'admin', rules: admin },
      { name: 'edit', rules: edit },
      { name: 'view', rules: view },
      { name: 'system:basic-user', rules: basic },
      { name: 'system:discovery', rules: discovery },
      { name: 'system:public-info-viewer', rules: publicInfo },
    ],
    clusterRoleBindings: [
      { name: 'cluster-admin', role: 'cluster-admin', subjects: [{ kind: 'Group', name: MASTERS_GROUP, apiGroup: 'rbac.authorization.k8s.io' }] },
      { name: 'system:basic-user', role: 'system:basic-user', subjects: [authenticated] },
      { name: 'system:discovery', role: 'system:discovery', subjects: [authenticated] },
      { name: 'system:public-info-viewer', role: 'system:public-info-viewer', subjects: [authenticated, { kind: 'Group', name: 'system:unauthenticated', apiGroup: 'rbac.authorization.k8s.io' }] },
    ],
  };
}
