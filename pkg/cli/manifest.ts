/**
 * Reading manifests: files, directories (`.yaml`, `.yml`, `.json` in name order, recursive with
 * `-R`) and stdin (`-`), each a stream of YAML documents (JSON and KYAML flow style are YAML too).
 * Every document keeps its parsed tree and line counter, so an error from the server about
 * `spec.template.spec.containers[0].image` can point at the line that holds it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Document, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Node as YamlNode } from 'yaml';
import type { KubeObject } from '../api/types.js';
import { CliError } from './errors.js';
import type { IO } from './types.js';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** One object from a manifest, with where it came from. */
export interface ManifestDoc {
  /** The file as the user named it (`STDIN` for `-`). */
  file: string;
  /** 1-based line where the object begins. */
  line: number;
  obj: KubeObject;
  /** Resolves a field path (`spec.containers[0].image`) to its 1-based line, if present. */
  lineOf(fieldPath: string): number | undefined;
}

/** Thrown for a YAML syntax error: `FILE:LINE:COL: <what>`. Nothing has been applied. */
export class ManifestSyntaxError extends CliError {
  constructor(
    readonly file: string,
    readonly lineNo: number,
    readonly col: number,
    what: string,
  ) {
    super(`${file}:${lineNo}:${col}: ${what}`);
    this.name = 'ManifestSyntaxError';
  }
}

/** The files `-f` names: a file, or a directory's manifests in name order (recursing with `-R`). */
export function expandPath(path: string, recursive: boolean): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new CliError(`the path "${path}" does not exist`);
  }
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  for (const name of readdirSync(path).sort()) {
    const full = join(path, name);
    const s = statSync(full);
    if (s.isDirectory()) {
      if (recursive) out.push(...expandPath(full, true));
    } else if (MANIFEST_EXTENSIONS.has(extname(name).toLowerCase())) {
      out.push(full);
    }
  }
  return out;
}

/** Reads every `-f` argument. Throws ManifestSyntaxError on the first file with a syntax error. */
export async function readManifests(paths: string[], recursive: boolean, io: IO): Promise<ManifestDoc[]> {
  const out: ManifestDoc[] = [];
  let stdinRead = false;
  for (const p of paths) {
    if (p === '-') {
      if (stdinRead) continue;
      stdinRead = true;
      out.push(...parseManifest('STDIN', await io.stdin()));
      continue;
    }
    for (const f of expandPath(p, recursive)) out.push(...parseManifest(f, readFileSync(f, 'utf8')));
  }
  return out;
}

/**
 * Parses one file's documents. Comment-only and empty documents are skipped; a `kind: List`
 * contributes its items. Throws ManifestSyntaxError.
 */
export function parseManifest(file: string, text: string): ManifestDoc[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, merge: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  for (const d of list) {
    const e = d.errors[0];
    if (e) {
      const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
      throw new ManifestSyntaxError(file, pos.line, pos.col, cleanMessage(e.message));
    }
  }
  const out: ManifestDoc[] = [];
  for (const d of list) {
    if (d.contents === null) continue;
    const value: unknown = d.toJS({ maxAliasCount: 1000 });
    if (value === null || value === undefined) continue;
    const line = startLine(d.contents, lc);
    if (isKubeList(value)) {
      value.items.forEach((item, i) => {
        const node = d.getIn(['items', i], true) as YamlNode | undefined;
        out.push(docOf(file, node ? startLine(node, lc) : line, item as KubeObject, d, lc, ['items', i]));
      });
      continue;
    }
    out.push(docOf(file, line, value as KubeObject, d, lc, []));
  }
  return out;
}

function isKubeList(v: unknown): v is { items: unknown[] } {
  if (!v || typeof v !== 'object') return false;
  const o = v as { apiVersion?: unknown; kind?: unknown; items?: unknown };
  if (typeof o.kind !== 'string' || !Array.isArray(o.items)) return false;
  return o.kind === 'List' || (o.apiVersion === 'v1' && o.kind.endsWith('List'));
}

function docOf(file: string, line: number, obj: KubeObject, doc: Document, lc: LineCounter, prefix: (string | number)[]): ManifestDoc {
  return {
    file,
    line,
    obj,
    lineOf: (fieldPath) => {
      const root = prefix.length ? (doc.getIn(prefix, true) as YamlNode | undefined) : (doc.contents as YamlNode | null);
      if (!root) return undefined;
      const pos = findField(root, fieldPath);
      return pos === undefined ? undefined : lc.linePos(pos).line;
    },
  };
}

function startLine(node: YamlNode, lc: LineCounter): number {
  return node.range ? lc.linePos(node.range[0]).line : 1;
}

/** yaml's message without its own ` at line L, column C:` and the source excerpt. */
function cleanMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').trim();
}

/**
 * The source offset of a field path in a YAML tree: `spec.template.spec.containers[0].image`,
 * `metadata.labels[app.kubernetes.io/name]`, or a key with dots written after a dot
 * (`resources.requests.example.com/dongle`: the longest key that fits is taken). For a map
 * entry it is the key's position; undefined if the path is not in the document.
 */
export function findField(root: YamlNode, path: string): number | undefined {
  let node: unknown = root;
  let rest = path;
  let pos: number | undefined = root.range?.[0];
  while (rest.length) {
    if (rest.startsWith('.')) rest = rest.slice(1);
    if (rest.startsWith('[')) {
      const end = rest.indexOf(']');
      if (end < 0) return undefined;
      const inner = rest.slice(1, end);
      rest = rest.slice(end + 1);
      if (isSeq(node) && /^\d+$/.test(inner)) {
        const item = node.items[Number(inner)] as YamlNode | undefined;
        if (!item) return undefined;
        node = item;
        pos = item.range?.[0] ?? pos;
        continue;
      }
      if (isMap(node)) {
        const hit = mapEntry(node, inner);
        if (!hit) return undefined;
        node = hit.value;
        pos = hit.pos ?? pos;
        continue;
      }
      return undefined;
    }
    if (!isMap(node)) return undefined;
    // The longest key that is the whole rest or a prefix followed by `.` or `[`.
    let best: { key: string; value: unknown; pos?: number } | undefined;
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
      if (rest === k || rest.startsWith(`${k}.`) || rest.startsWith(`${k}[`)) {
        if (!best || k.length > best.key.length) best = { key: k, value: item.value, ...(isScalar(item.key) && item.key.range ? { pos: item.key.range[0] } : {}) };
      }
    }
    if (!best) return undefined;
    rest = rest.slice(best.key.length);
    node = best.value;
    pos = best.pos ?? pos;
  }
  return pos;
}

function mapEntry(node: unknown, key: string): { value: unknown; pos?: number } | undefined {
  if (!isMap(node)) return undefined;
  for (const item of node.items) {
    if (!isPair(item)) continue;
    const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
    if (k === key) return { value: item.value, ...(isScalar(item.key) && item.key.range ? { pos: item.key.range[0] } : {}) };
  }
  return undefined;
}
