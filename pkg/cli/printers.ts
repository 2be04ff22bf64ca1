/**
 * Output formats, as kubectl prints them: the server-side Table (`get`, `get -o wide`), JSON and
 * YAML (keys sorted, as Go prints a decoded object; 4-space JSON), and `-o name`.
 */
import YAML from 'yaml';
import type { ResourceInfo } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import { GET_TABS, TabWriter } from './tabwriter.js';

/** A `meta.k8s.io/v1 Table` as the server sends it. */
export interface ServerTable {
  kind: 'Table';
  apiVersion: string;
  metadata?: { resourceVersion?: string; continue?: string };
  columnDefinitions: { name: string; type: string; format: string; description?: string; priority: number }[];
  rows: { cells: unknown[]; object?: KubeObject }[];
}

/** `deployment.apps`, `pod`: how kubectl names a kind before `/name`. */
export function kindPrefix(r: Pick<ResourceInfo, 'kind' | 'group'>): string {
  return r.group ? `${r.kind.toLowerCase()}.${r.group}` : r.kind.toLowerCase();
}

/** `deployments.apps`, `pods`: the resource as API messages name it. */
export function qualifiedResource(r: Pick<ResourceInfo, 'resource' | 'group'>): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

/** `app=web,tier=db` (sorted), or `<none>`: `labels.FormatLabels`. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${labels![k]}`).join(',') : '<none>';
}

export interface TableOptions {
  wide?: boolean;
  /** Add a NAMESPACE column first (`-A`). */
  withNamespace?: boolean;
  /** Add a LABELS column last (`--show-labels`). */
  showLabels?: boolean;
  /** Print no header line (`--no-headers`). */
  noHeaders?: boolean;
  /** Prefix names with `kind.group/` (several kinds, or `get all`). */
  kindPrefix?: string;
}

/**
 * Prints server Tables the way kubectl's HumanReadablePrinter does, through one tab writer whose
 * widths are remembered (so watch rows line up). Headers are printed once per set of columns, and
 * not at all for a table with no rows.
 */
export class TablePrinter {
  private readonly tw = new TabWriter(GET_TABS);
  private lastColumns = '';

  constructor(private readonly opts: TableOptions) {}

  /** Lays out `table` and returns the text (empty for a table without rows). */
  print(table: ServerTable): string {
    const cols = table.columnDefinitions ?? [];
    const key = JSON.stringify(cols);
    const printHeaders = key !== this.lastColumns && cols.length > 0 && !this.opts.noHeaders;
    if (table.rows.length === 0) return '';
    if (printHeaders) this.lastColumns = key;
    const visible = cols.map((c, i) => ({ c, i })).filter(({ c }) => this.opts.wide || !c.priority);
    const nameIdx = cols.findIndex((c) => c.format === 'name' && c.type === 'string');
    if (printHeaders) {
      const headers = visible.map(({ c }) => c.name.toUpperCase());
      if (this.opts.withNamespace) headers.unshift('NAMESPACE');
      if (this.opts.showLabels) headers.push('LABELS');
      this.tw.write(`${headers.join('\t')}\n`);
    }
    for (const row of table.rows) {
      const cells = visible.map(({ i }) => {
        const text = cellText(row.cells[i]);
        return i === nameIdx && this.opts.kindPrefix ? `${this.opts.kindPrefix}/${text}` : text;
      });
      const meta = row.object?.metadata;
      if (this.opts.withNamespace) cells.unshift(meta?.namespace ?? '');
      if (this.opts.showLabels) cells.push(formatLabels(meta?.labels));
      this.tw.write(`${cells.join('\t')}\n`);
    }
    return this.tw.flush();
  }
}

/** A cell as Go's `fmt.Sprint` shows it; a string is cut at its first line break (`...`). */
function cellText(cell: unknown): string {
  if (cell === undefined || cell === null) return '';
  if (typeof cell === 'string') {
    const i = cell.search(/[\f\n\r]/);
    return i >= 0 ? `${cell.slice(0, i)}...` : cell;
  }
  if (typeof cell === 'object') return JSON.stringify(cell);
  return String(cell);
}

/** A copy with object keys sorted, recursively (how Go prints a decoded object). */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** Drops `metadata.managedFields` (kubectl hides them unless `--show-managed-fields`). */
export function hideManagedFields(obj: KubeObject): KubeObject {
  if (!obj?.metadata || !('managedFields' in obj.metadata)) return obj;
  const { managedFields: _mf, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** `-o json`: sorted keys, 4-space indentation, a trailing newline. */
export function toJson(v: unknown): string {
  return `${JSON.stringify(sortKeys(v), null, 4)}\n`;
}

/**
 * `-o yaml` as sigs.k8s.io/yaml (go-yaml v2) writes it: sorted keys, sequences not indented under
 * their key, `|` blocks for multi-line strings, and double quotes for strings YAML 1.1 would read
 * as something else (`"1"`, `"yes"`, timestamps); other strings that cannot be plain get single
 * quotes.
 */
export function toYaml(v: unknown): string {
  const doc = new YAML.Document(sortKeys(v), { version: '1.1' });
  YAML.visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && resolvesToNonString(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ indentSeq: false, blockQuote: 'literal', singleQuote: true, lineWidth: 80 });
}

/**
 * Plain scalars go-yaml v2 resolves to something other than a string (YAML 1.1: null, booleans
 * such as `yes`/`on`/`n`, integers in every base, floats, sexagesimals, timestamps, `<<`): it
 * writes such strings double-quoted. Written out rather than taken from the yaml library's 1.1
 * schema, whose tag list other code in the process may have changed.
 */
const NON_STRING_PLAIN: RegExp[] = [
  /^(|~|null|Null|NULL)$/,
  /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^[-+]?(0|[1-9][0-9_]*)$/,
  /^[-+]?0b[01_]+$/,
  /^[-+]?0[0-7_]+$/,
  /^[-+]?0x[0-9a-fA-F_]+$/,
  /^[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+$/,
  /^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$/,
  /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*$/,
  /^[-+]?\.(inf|Inf|INF)$/,
  /^\.(nan|NaN|NAN)$/,
  /^\d{4}-\d\d?-\d\d?(([Tt]|[ \t]+)\d\d?:\d\d:\d\d(\.\d*)?([ \t]*(Z|[-+]\d\d?(:\d\d)?))?)?$/,
  /^<<$/,
];

function resolvesToNonString(s: string): boolean {
  return NON_STRING_PLAIN.some((re) => re.test(s));
}

/** The List kubectl prints for several objects in JSON or YAML. */
export function asList(items: KubeObject[]): Record<string, unknown> {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}
