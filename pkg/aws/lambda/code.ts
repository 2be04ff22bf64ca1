/**
 * Where a function's code comes from, made into a folder an execution environment loads from:
 * inline source (written as `index.js`, or `index.mjs` when it uses ES module syntax), a file
 * or folder on the server's machine, or a zip archive uploaded through the Lambda API. Zip
 * archives are kept in the store (`/berth/lambda/code/<sha256>`, base64), so they survive a
 * restart with the Function that names them; they are unpacked (fflate) into a temporary folder
 * per server process.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { unzipSync } from 'fflate';
import type { Backend } from '../../storage/types.js';
import { AwsError } from '../protocol/errors.js';
import type { FunctionCode } from './types.js';

export const CODE_PREFIX = '/berth/lambda/code/';

/** A function's code, ready to load. */
export interface LoadedCode {
  /** The folder the handler's module path is relative to (LAMBDA_TASK_ROOT). */
  dir: string;
  /** SHA-256 of the code, base64 (as Lambda reports CodeSha256). */
  sha256: string;
  /** Bytes. */
  size: number;
}

/** Thrown when code cannot be read or unpacked; the message says what and where. */
export class CodeError extends Error {
  readonly code = 'CodeUnavailable';
}

const sha = (b: Buffer | string): Buffer => createHash('sha256').update(b).digest();

/** True if JavaScript source uses ES module syntax (import/export at the top level). */
export function looksLikeEsm(src: string): boolean {
  return /^\s*export\s+(default|const|let|var|async|function|class|\{)/m.test(src) || /^\s*import\s+[\w{*'"]/m.test(src);
}

export class CodeStore {
  private readonly root: string;
  private readonly cache = new Map<string, LoadedCode>();

  constructor(
    private readonly backend: Backend,
    root?: string,
  ) {
    this.root = root ?? join(tmpdir(), `berth-lambda-${process.pid}`);
  }

  /**
   * Checks and stores a zip archive; returns its SHA-256 (hex, the store key; and base64, what
   * Lambda reports) and size. Throws AwsError InvalidParameterValueException for a bad archive.
   */
  async putZip(zip: Buffer): Promise<{ hex: string; base64: string; size: number }> {
    try {
      unzipSync(new Uint8Array(zip));
    } catch (e) {
      throw new AwsError('InvalidParameterValueException', `Could not unzip uploaded file. Please check your file, then try to upload again. (${(e as Error).message})`, 400);
    }
    const digest = sha(zip);
    const hex = digest.toString('hex');
    const key = CODE_PREFIX + hex;
    if (!(await this.backend.get(key))) await this.backend.create(key, zip.toString('base64')).catch(() => undefined);
    return { hex, base64: digest.toString('base64'), size: zip.length };
  }

  /** The zip archive stored under a SHA-256, or undefined. */
  async getZip(hex: string): Promise<Buffer | undefined> {
    const kv = await this.backend.get(CODE_PREFIX + hex);
    return kv ? Buffer.from(kv.value, 'base64') : undefined;
  }

  /** Deletes stored archives no Function names. */
  async gc(referenced: Set<string>): Promise<void> {
    const page = await this.backend.list(CODE_PREFIX);
    for (const kv of page.items) if (!referenced.has(kv.key.slice(CODE_PREFIX.length))) await this.backend.delete(kv.key).catch(() => undefined);
  }

  /** Makes the code a folder. Throws CodeError. */
  async load(code: FunctionCode): Promise<LoadedCode> {
    if (code.inline !== undefined) {
      const digest = sha(code.inline);
      const hex = digest.toString('hex');
      const hit = this.cache.get(`inline:${hex}`);
      if (hit) return hit;
      const dir = join(this.root, `inline-${hex.slice(0, 16)}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, looksLikeEsm(code.inline) ? 'index.mjs' : 'index.js'), code.inline);
      const out = { dir, sha256: digest.toString('base64'), size: Buffer.byteLength(code.inline) };
      this.cache.set(`inline:${hex}`, out);
      return out;
    }
    if (code.file !== undefined) {
      let buf: Buffer;
      try {
        buf = readFileSync(code.file);
      } catch (e) {
        throw new CodeError(`cannot read the function's code file ${code.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      return { dir: dirname(code.file), sha256: sha(buf).toString('base64'), size: buf.length };
    }
    if (code.folder !== undefined) {
      const h = createHash('sha256');
      let size = 0;
      try {
        for (const f of walk(code.folder)) {
          const b = readFileSync(f);
          h.update(relative(code.folder, f)).update(b);
          size += b.length;
        }
      } catch (e) {
        throw new CodeError(`cannot read the function's code folder ${code.folder}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      return { dir: code.folder, sha256: h.digest('base64'), size };
    }
    if (code.zipSha256 !== undefined) {
      const hit = this.cache.get(`zip:${code.zipSha256}`);
      if (hit) return hit;
      const zip = await this.getZip(code.zipSha256);
      if (!zip) throw new CodeError(`the function's zip archive ${code.zipSha256} is not in the store`);
      const dir = join(this.root, `zip-${code.zipSha256.slice(0, 16)}`);
      rmSync(dir, { recursive: true, force: true });
      const files = unzipSync(new Uint8Array(zip));
      for (const [name, data] of Object.entries(files)) {
        const target = normalize(join(dir, name));
        if (!target.startsWith(dir + sep)) throw new CodeError(`the zip archive has an entry outside its folder: ${name}`);
        if (name.endsWith('/')) {
          mkdirSync(target, { recursive: true });
          continue;
        }
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, data);
      }
      const out = { dir, sha256: Buffer.from(code.zipSha256, 'hex').toString('base64'), size: zip.length };
      this.cache.set(`zip:${code.zipSha256}`, out);
      return out;
    }
    throw new CodeError('the function has no code: give one of inline, file, folder or zipSha256');
  }

  /** Removes the unpacked folders. */
  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}
