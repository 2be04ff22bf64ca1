/** `berth version`: this CLI's version (package.json) and the server's (`/version`). */
import { readFileSync } from 'node:fs';
import type { Session } from './session.js';
import type { IO } from './types.js';

/** `v0.1.0`, from the package.json two levels above `dist/pkg/cli` (or beside the sources). */
export function clientVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'berth' && pkg.version) return `v${pkg.version}`;
    } catch {
      // try the next place
    }
  }
  return 'v0.0.0-unknown';
}

export async function runVersion(io: IO, open: () => Session, opts: { client?: boolean }): Promise<void> {
  io.stdout(`Client Version: ${clientVersion()}\n`);
  if (opts.client) return;
  const s = open();
  const v = (await s.transport.call('GET', '/version')) as { gitVersion?: string };
  io.stdout(`Server Version: ${v?.gitVersion ?? 'unknown'}\n`);
}
