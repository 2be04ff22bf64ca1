/**
 * Kubeconfig files (https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/):
 * berth writes one for its server, and the CLI reads `--kubeconfig`, then `$KUBECONFIG`, then
 * `~/.berth/kubeconfig`, as the issue asks (kubectl's own default `~/.kube/config` is left alone).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import type { HttpTransportOptions } from './http.js';

/** Thrown when a kubeconfig cannot be found or read; `message` says which file and why. */
export class KubeconfigError extends Error {
  readonly code = 'KubeconfigInvalid';
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user?: string; namespace?: string } }[];
  clusters?: { name: string; cluster: { server: string; 'insecure-skip-tls-verify'?: boolean; 'certificate-authority-data'?: string; 'certificate-authority'?: string } }[];
  users?: { name: string; user: { token?: string; 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
}

export interface ResolvedKubeconfig {
  path: string;
  context: string;
  namespace: string;
  transport: HttpTransportOptions;
}

/** The kubeconfig path to use: the flag, then the first of `$KUBECONFIG`, then `~/.berth/kubeconfig`. */
export function kubeconfigPath(flag?: string): string {
  if (flag) return flag;
  const env = process.env.KUBECONFIG?.split(':').find(Boolean);
  if (env) return env;
  return join(homedir(), '.berth', 'kubeconfig');
}

/** Reads a kubeconfig and resolves its current context (or `context`). Throws KubeconfigError. */
export function loadKubeconfig(path: string, context?: string): ResolvedKubeconfig {
  if (!existsSync(path)) {
    throw new KubeconfigError(`no kubeconfig at ${path}: start a server with 'berth server' (it writes ~/.berth/kubeconfig), or pass --kubeconfig`);
  }
  let doc: KubeconfigFile;
  try {
    doc = YAML.parse(readFileSync(path, 'utf8')) as KubeconfigFile;
  } catch (e) {
    throw new KubeconfigError(`${path}: not a valid kubeconfig: ${(e as Error).message}`);
  }
  // An empty file parses to null, a stray scalar to a string: neither has contexts to read.
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new KubeconfigError(`${path}: not a valid kubeconfig: ${doc === null ? 'the file is empty' : 'expected a mapping with clusters, contexts and users'}`);
  }
  const ctxName = context ?? doc['current-context'];
  const ctx = doc.contexts?.find((c) => c.name === ctxName);
  if (!ctx) throw new KubeconfigError(`${path}: context "${ctxName ?? ''}" not found`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.context.cluster);
  if (!cluster) throw new KubeconfigError(`${path}: cluster "${ctx.context.cluster}" not found`);
  const user = doc.users?.find((u) => u.name === ctx.context.user)?.user ?? {};
  const b64 = (s?: string): string | undefined => (s ? Buffer.from(s, 'base64').toString('utf8') : undefined);
  const ca = b64(cluster.cluster['certificate-authority-data']) ?? (cluster.cluster['certificate-authority'] ? readFileSync(cluster.cluster['certificate-authority'], 'utf8') : undefined);
  const cert = b64(user['client-certificate-data']);
  const key = b64(user['client-key-data']);
  return {
    path,
    context: ctx.name,
    namespace: ctx.context.namespace ?? 'default',
    transport: {
      server: cluster.cluster.server,
      ...(user.token ? { token: user.token } : {}),
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(cluster.cluster['insecure-skip-tls-verify'] ? { insecureSkipTlsVerify: true } : {}),
    },
  };
}

/** The kubeconfig berth writes for a server at `url`. Plain http needs `insecure-skip-tls-verify` for client-node. */
export function renderKubeconfig(url: string, name = 'berth', token?: string, caPem?: string): string {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': name,
    clusters: [{ name, cluster: { server: url, ...(caPem ? { 'certificate-authority-data': Buffer.from(caPem).toString('base64') } : url.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {}) } }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: 'default' } }],
    users: [{ name, user: token ? { token } : {} }],
    preferences: {},
  };
  return YAML.stringify(doc);
}
