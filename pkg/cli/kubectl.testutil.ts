/**
 * Running the real kubectl against a test server, to check that berth prints what it prints.
 * kubectl is gcloud's dispatcher on the project machines; it picks kubectl 1.32 from the
 * server's `/version`.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { CliEnv, RunResult } from './testenv.js';

/** True if a `kubectl` binary runs. */
export async function kubectlAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('kubectl', ['version', '--client'], { timeout: 20_000 }, (err) => resolve(!err));
  });
}

/** Runs kubectl (asynchronously: the server under test lives in this process). */
export function kubectl(env: CliEnv, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      ['--kubeconfig', env.kubeconfig, '--cache-dir', join(env.dir, 'kubectl-cache'), ...args],
      { env: { ...process.env, HOME: env.dir, TZ: process.env.TZ ?? 'UTC' }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
