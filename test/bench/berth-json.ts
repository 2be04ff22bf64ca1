/**
 * Runs one `berth bench …` command in a process of its own (so its peak RSS and its V8 state are
 * its own) and returns the JSON it wrote with `--json`. Throws if the command fails.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BERTH = resolve(dirname(fileURLToPath(import.meta.url)), '../../cmd/berth/main.js');

/** `berth bench <args…> --json FILE` in a child process; the parsed FILE. */
export function berthBenchJson<T = Record<string, unknown>>(args: string[]): T {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-run-'));
  try {
    const file = join(dir, 'result.json');
    execFileSync(process.execPath, [BERTH, 'bench', ...args, '--json', file], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 26 });
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
