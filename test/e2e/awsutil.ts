/**
 * Helpers for the AWS end-to-end tests: the real `aws` CLI (v1) and boto3 scripts against a
 * started server, with dummy credentials, as LocalStack and moto users run them.
 */
import { spawn } from 'node:child_process';
import { run, type Result } from './harness.js';

export const CREDS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: 'us-east-1' };
export const ACCOUNT = '000000000000';

/** The aws CLI against an endpoint; stdout parsed as JSON when there is any. */
export function aws(url: string, args: string[]): Result & { json: Record<string, unknown> } {
  const r = run('aws', ['--endpoint-url', url, '--output', 'json', ...args], undefined, CREDS);
  let json: Record<string, unknown> = {};
  try {
    if (r.stdout.trim()) json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { ...r, json };
}

/** The aws CLI without blocking the event loop (to run against two endpoints at once). */
export function awsAsync(url: string, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    const p = spawn('aws', ['--endpoint-url', url, '--output', 'json', ...args], { env: { ...process.env, ...CREDS } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The AWS error code the CLI printed: `An error occurred (Code) when calling …`. */
export function errorCode(r: Result): string | undefined {
  return /An error occurred \(([^)]+)\)/.exec(r.stderr)?.[1];
}

/** Runs a Python (boto3) script with BERTH_URL set, without blocking the event loop; `onLine` sees stdout lines as they come. */
export function python(script: string, url: string, onLine?: (l: string) => void): Promise<Result> {
  return new Promise((resolve) => {
    const p = spawn('python3', ['-c', script], { env: { ...process.env, ...CREDS, BERTH_URL: url } });
    let stdout = '';
    let stderr = '';
    let buf = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine?.(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The last line a script printed, as JSON. */
export function lastJson<T>(r: Result): T {
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
}

/** boto3 clients for BERTH_URL and a helper zipping one `index.js`. */
export const BOTO = `
import boto3, os, io, json, time, zipfile
kw = dict(endpoint_url=os.environ['BERTH_URL'])
sqs = boto3.client('sqs', **kw); lam = boto3.client('lambda', **kw); sns = boto3.client('sns', **kw)
def zipped(src):
    b = io.BytesIO(); z = zipfile.ZipFile(b, 'w'); z.writestr('index.js', src); z.close(); return b.getvalue()
`;
