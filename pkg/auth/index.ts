/**
 * Access control for the API server, as kube-apiserver does it
 * (https://kubernetes.io/docs/reference/access-authn-authz/): authentication by bearer token
 * (`--token-auth-file`, a CSV of `token,user,uid,"group1,group2"`) or by a client certificate
 * signed by `--client-ca-file` (CN is the user, O the groups); authorization by RBAC on every
 * verb (./rbac.ts); `kubectl auth can-i` and `kubectl auth whoami` answered for the caller; and an
 * audit log of writes at the Metadata level (who, what, when, the response code — never a body,
 * so Secrets are never logged).
 */
import { appendFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditAnnotationsOf, parseResourcePath } from '../apiserver/app.js';
import { decodeProtobufObject } from '../apiserver/protobuf.js';
import { authorize, forbiddenMessage, MASTERS_GROUP, ruleAllows, type PolicyRule, type RbacObjects, type RequestAttributes, type UserInfo } from './rbac.js';

export * from './rbac.js';

/** Thrown for an unreadable or malformed token file; the message names the file and line. */
export class TokenFileError extends Error {
  readonly code = 'TokenFile';
}

/**
 * Parses kube-apiserver's static token file: one `token,user,uid[,"g1,g2"]` per line, at least
 * three columns (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#static-token-file).
 * Blank lines and `#` comments are skipped. Throws TokenFileError naming `file:line`.
 */
export function parseTokenFile(text: string, file = 'token file'): Map<string, UserInfo> {
  const out = new Map<string, UserInfo>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const cols: string[] = [];
    let cur = '';
    let quoted = false;
    for (const ch of line) {
      if (ch === '"') quoted = !quoted;
      else if (ch === ',' && !quoted) {
        cols.push(cur.trim());
        cur = '';
      } else cur += ch;
    }
    cols.push(cur.trim());
    if (quoted) throw new TokenFileError(`${file}:${i + 1}: unterminated quote`);
    if (cols.length < 3 || !cols[0] || !cols[1]) throw new TokenFileError(`${file}:${i + 1}: want token,user,uid[,"group1,group2"], got ${cols.length} column(s)`);
    if (out.has(cols[0])) throw new TokenFileError(`${file}:${i + 1}: duplicate token for user "${cols[1]}"`);
    const groups = (cols[3] ?? '').split(',').map((g) => g.trim()).filter(Boolean);
    out.set(cols[0], { name: cols[1], ...(cols[2] ? { uid: cols[2] } : {}), groups: [...groups, 'system:authenticated'] });
  });
  return out;
}

/** The request attributes RBAC decides on, from the method and URL (kube-apiserver's RequestInfoFactory). */
export function requestAttributes(method: string, url: string): RequestAttributes {
  const p = parseResourcePath(url);
  const path = url.split('?')[0]!;
  if (!p || !p.resource) return { verb: method.toLowerCase() === 'head' ? 'get' : method.toLowerCase(), resourceRequest: false, path };
  const query = new URLSearchParams(url.split('?')[1] ?? '');
  const watch = p.watchPrefix || ['1', 'true'].includes(query.get('watch') ?? '');
  let verb: string;
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
      verb = watch ? 'watch' : p.name ? 'get' : 'list';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = p.name ? 'delete' : 'deletecollection';
      break;
    default:
      verb = method.toLowerCase();
  }
  // exec, attach and port-forward are `create` whichever way they arrive (GET for WebSocket, POST for SPDY).
  if (p.subresource && ['exec', 'attach', 'portforward'].includes(p.subresource)) verb = 'create';
  return {
    verb,
    resourceRequest: true,
    apiGroup: p.group,
    apiVersion: p.version,
    resource: p.resource,
    ...(p.subresource ? { subresource: p.subresource } : {}),
    ...(p.namespace ? { namespace: p.namespace } : {}),
    ...(p.name ? { name: p.name } : {}),
  };
}

/** How the API server checks who is calling and what they may do. */
export interface AccessControlOptions {
  /** Bearer tokens (from `--token-auth-file`, plus the admin token berth writes to its kubeconfig). */
  tokens: Map<string, UserInfo>;
  /**
   * No authentication configured (a loopback-only server): a caller without credentials is the
   * cluster admin (`system:admin` in `system:masters`). Default false: such a caller gets 401.
   */
  open?: boolean;
  /** Accept client certificates the TLS layer verified against `--client-ca-file`. */
  clientCertificates: boolean;
  /** Reads the RBAC objects (Roles, ClusterRoles and their bindings) as the store has them now. */
  readRbac: () => Promise<RbacObjects>;
  /** `--audit-log-path`: writes are appended here as audit.k8s.io/v1 Event JSON lines. */
  auditLogPath?: string;
  /** Milliseconds to reuse one read of the RBAC objects (default 500). */
  rbacCacheMs?: number;
}

const OPEN_ADMIN: UserInfo = { name: 'system:admin', groups: [MASTERS_GROUP, 'system:authenticated'] };
const UNAUTHENTICATED: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

/** The paths anyone may read without credentials (kube-apiserver's `system:public-info-viewer`). */
const PUBLIC = new Set(['/healthz', '/livez', '/readyz', '/version']);

/** Access control bound to one API server: authenticate, authorize, review, audit. */
export class AccessControl {
  private cache: { at: number; rbac: RbacObjects } | undefined;

  constructor(private readonly opts: AccessControlOptions) {}

  /** The caller of a request, or undefined when it presented no valid credentials. */
  authenticate(req: IncomingMessage): UserInfo | undefined {
    const h = req.headers.authorization;
    if (h && /^bearer\s+/i.test(h)) return this.opts.tokens.get(h.replace(/^bearer\s+/i, '').trim());
    if (this.opts.clientCertificates) {
      const socket = req.socket as TLSSocket;
      if (socket.authorized && typeof socket.getPeerCertificate === 'function') {
        const cert = socket.getPeerCertificate();
        const cn = cert?.subject?.CN;
        if (cn) {
          const o = cert.subject.O;
          const groups = Array.isArray(o) ? o : o ? [o] : [];
          return { name: Array.isArray(cn) ? cn[0]! : cn, groups: [...groups, 'system:authenticated'] };
        }
      }
    }
    return this.opts.open ? OPEN_ADMIN : undefined;
  }

  private async rbac(): Promise<RbacObjects> {
    const now = Date.now();
    if (this.cache && now - this.cache.at < (this.opts.rbacCacheMs ?? 500)) return this.cache.rbac;
    const rbac = await this.opts.readRbac();
    this.cache = { at: now, rbac };
    return rbac;
  }

  /** RBAC's decision for `user` doing `a`. */
  async allowed(user: UserInfo, a: RequestAttributes): Promise<{ allowed: boolean; reason: string }> {
    if (user.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: `member of ${MASTERS_GROUP}` };
    return authorize(user, a, await this.rbac());
  }

  /**
   * Checks an HTTP request: undefined when it may go on, else the status and Status body to
   * answer (401 Unauthorized, 403 Forbidden). Also used for connection upgrades (exec).
   */
  async check(req: IncomingMessage): Promise<{ user: UserInfo; attrs: RequestAttributes; deny?: { code: number; body: object } }> {
    const attrs = requestAttributes(req.method ?? 'GET', req.url ?? '/');
    const user = this.authenticate(req);
    if (!user) {
      if (!attrs.resourceRequest && PUBLIC.has(attrs.path ?? '') && attrs.verb === 'get') return { user: UNAUTHENTICATED, attrs };
      return { user: UNAUTHENTICATED, attrs, deny: { code: 401, body: status(401, 'Unauthorized', 'Unauthorized') } };
    }
    const d = await this.allowed(user, attrs);
    if (!d.allowed) {
      const details = attrs.resourceRequest ? { ...(attrs.name ? { name: attrs.name } : {}), ...(attrs.apiGroup ? { group: attrs.apiGroup } : {}), kind: attrs.resource } : undefined;
      return { user, attrs, deny: { code: 403, body: status(403, 'Forbidden', forbiddenMessage(user, attrs), details) } };
    }
    return { user, attrs };
  }

  /** Adds the hooks to a fastify app: every request is authenticated and authorized before its handler. */
  install(app: FastifyInstance): void {
    app.decorateRequest('berthUser', null);
    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const r = await this.check(req.raw);
      (req as unknown as { berthUser: UserInfo; berthAttrs: RequestAttributes }).berthUser = r.user;
      (req as unknown as { berthAttrs: RequestAttributes }).berthAttrs = r.attrs;
      if (r.deny) return reply.code(r.deny.code).type('application/json').send(JSON.stringify(r.deny.body));
    });
    // The self-reviews answer for the caller, so they are decided here, where the caller is known.
    app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
      const attrs = (req as unknown as { berthAttrs?: RequestAttributes }).berthAttrs;
      const user = (req as unknown as { berthUser?: UserInfo }).berthUser;
      if (!attrs?.resourceRequest || attrs.verb !== 'create' || !user) return;
      const review = attrs.resource;
      if (review !== 'selfsubjectaccessreviews' && review !== 'selfsubjectrulesreviews' && review !== 'selfsubjectreviews') return;
      let body: { spec?: Record<string, unknown>; apiVersion?: string; kind?: string; metadata?: object };
      try {
        // kubectl 1.32+ sends the reviews as Kubernetes protobuf.
        body = Buffer.isBuffer(req.body) ? (decodeProtobufObject(req.body) as typeof body) : typeof req.body === 'string' ? JSON.parse(req.body) : (req.body as typeof body);
      } catch {
        return reply.code(400).type('application/json').send(JSON.stringify(status(400, 'BadRequest', 'the review is not valid JSON')));
      }
      const out = { apiVersion: body?.apiVersion ?? `${attrs.apiGroup}/${attrs.apiVersion}`, kind: body?.kind, metadata: { creationTimestamp: null }, ...(body?.spec ? { spec: body.spec } : {}) } as Record<string, unknown>;
      if (review === 'selfsubjectreviews') {
        out.kind = 'SelfSubjectReview';
        out.status = { userInfo: { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups } };
      } else if (review === 'selfsubjectaccessreviews') {
        out.kind = 'SelfSubjectAccessReview';
        const ra = body?.spec?.resourceAttributes as Record<string, string> | undefined;
        const na = body?.spec?.nonResourceAttributes as Record<string, string> | undefined;
        if (!ra && !na) return reply.code(400).type('application/json').send(JSON.stringify(status(400, 'BadRequest', 'SelfSubjectAccessReview: exactly one of spec.resourceAttributes or spec.nonResourceAttributes must be set')));
        const asked: RequestAttributes = ra
          ? { verb: ra.verb ?? '', resourceRequest: true, apiGroup: ra.group ?? '', resource: ra.resource ?? '', ...(ra.subresource ? { subresource: ra.subresource } : {}), ...(ra.namespace ? { namespace: ra.namespace } : {}), ...(ra.name ? { name: ra.name } : {}) }
          : { verb: na!.verb ?? '', resourceRequest: false, path: na!.path ?? '' };
        const d = await this.allowed(user, asked);
        out.status = { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) };
      } else {
        out.kind = 'SelfSubjectRulesReview';
        const ns = (body?.spec?.namespace as string | undefined) ?? '';
        out.status = { ...(await this.rulesFor(user, ns)), incomplete: false };
      }
      return reply.code(201).type('application/json').send(JSON.stringify(out));
    });
    if (this.opts.auditLogPath) {
      const path = this.opts.auditLogPath;
      app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
        const attrs = (req as unknown as { berthAttrs?: RequestAttributes }).berthAttrs;
        const user = (req as unknown as { berthUser?: UserInfo }).berthUser;
        if (!attrs?.resourceRequest || ['get', 'list', 'watch'].includes(attrs.verb)) return;
        this.audit(path, req.raw, user ?? UNAUTHENTICATED, attrs, reply.statusCode, auditAnnotationsOf(req));
      });
    }
  }

  /**
   * Appends one audit.k8s.io/v1 Event at the Metadata level (no request or response body), with
   * the `annotations` admission added (e.g. `pod-security.kubernetes.io/audit-violations`).
   */
  audit(path: string, req: IncomingMessage, user: UserInfo, attrs: RequestAttributes, code: number, annotations?: Record<string, string>): void {
    const now = new Date().toISOString();
    const ev = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: randomUUID(),
      stage: 'ResponseComplete',
      requestURI: req.url,
      verb: attrs.verb,
      user: { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups },
      sourceIPs: [req.socket.remoteAddress ?? ''],
      userAgent: req.headers['user-agent'] ?? '',
      objectRef: {
        resource: attrs.resource,
        ...(attrs.namespace ? { namespace: attrs.namespace } : {}),
        ...(attrs.name ? { name: attrs.name } : {}),
        apiGroup: attrs.apiGroup,
        apiVersion: attrs.apiVersion,
        ...(attrs.subresource ? { subresource: attrs.subresource } : {}),
      },
      responseStatus: { metadata: {}, code },
      requestReceivedTimestamp: now,
      stageTimestamp: now,
      ...(annotations ? { annotations } : {}),
    };
    appendFileSync(path, JSON.stringify(ev) + '\n');
  }

  /** What `kubectl auth can-i --list` shows: the rules that apply to `user` in `namespace`. */
  private async rulesFor(user: UserInfo, namespace: string): Promise<{ resourceRules: object[]; nonResourceRules: object[] }> {
    if (user.groups.includes(MASTERS_GROUP)) return { resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }] };
    const rbac = await this.rbac();
    const rules: PolicyRule[] = [];
    const matches = (subjects: { kind: string; name: string; namespace?: string }[] | undefined) =>
      (subjects ?? []).some((s) => (s.kind === 'User' && s.name === user.name) || (s.kind === 'Group' && user.groups.includes(s.name)) || (s.kind === 'ServiceAccount' && user.name === `system:serviceaccount:${s.namespace}:${s.name}`));
    for (const b of rbac.clusterRoleBindings) if (matches(b.subjects)) rules.push(...(rbac.clusterRoles.find((r) => r.metadata.name === b.roleRef.name)?.rules ?? []));
    for (const b of rbac.roleBindings) {
      if (b.metadata.namespace !== namespace || !matches(b.subjects)) continue;
      const role = b.roleRef.kind === 'ClusterRole' ? rbac.clusterRoles.find((r) => r.metadata.name === b.roleRef.name) : rbac.roles.find((r) => r.metadata.namespace === namespace && r.metadata.name === b.roleRef.name);
      rules.push(...(role?.rules ?? []));
    }
    return {
      resourceRules: rules.filter((r) => r.resources).map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources, ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}) })),
      nonResourceRules: rules.filter((r) => r.nonResourceURLs).map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
    };
  }
}

/** A metav1.Status for an error answered before the API handlers. */
function status(code: number, reason: string, message: string, details?: object): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

export { ruleAllows };
