/**
 * The connection a command works through: the kubeconfig (flag, then `$KUBECONFIG`, then
 * `~/.berth/kubeconfig`), its context, the namespace (`-n`, then the context's, then `default`),
 * and a Client over the HTTP transport.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../client/client.js';
import { HttpTransport } from '../client/http.js';
import { loadKubeconfig, type ResolvedKubeconfig } from '../client/kubeconfig.js';
import type { IO } from './types.js';

/** The global flags every command accepts. */
export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface Session {
  client: Client;
  transport: HttpTransport;
  config: ResolvedKubeconfig;
  /** The namespace to work in. */
  namespace: string;
  /** True if the user passed `-n` (apply then refuses objects of another namespace). */
  namespaceExplicit: boolean;
}

/** The kubeconfig path: the flag, then the first entry of `$KUBECONFIG`, then `~/.berth/kubeconfig`. */
export function resolveKubeconfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return flag;
  const fromEnv = env.KUBECONFIG?.split(':').find(Boolean);
  if (fromEnv) return fromEnv;
  return join(env.HOME || homedir(), '.berth', 'kubeconfig');
}

/** Opens a session. Throws KubeconfigError when the kubeconfig is missing or broken. */
export function openSession(g: GlobalOptions, io: IO): Session {
  const env = io.env ?? process.env;
  const config = loadKubeconfig(resolveKubeconfigPath(g.kubeconfig, env), g.context);
  const transport = new HttpTransport(config.transport);
  return {
    client: new Client(transport),
    transport,
    config,
    namespace: g.namespace || config.namespace || 'default',
    namespaceExplicit: !!g.namespace,
  };
}
