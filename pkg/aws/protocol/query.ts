/**
 * The AWS query protocol (SNS, and SQS for older clients): requests are form-encoded
 * `Action=Publish&Version=2010-03-31&…` with flattened members (`Attributes.entry.1.key`,
 * `Tags.member.1.Key`, `MessageAttribute.1.Name`), answers are XML
 * (`<PublishResponse><PublishResult>…</PublishResult><ResponseMetadata>…</ResponseMetadata></PublishResponse>`).
 * https://smithy.io/2.0/aws/protocols/aws-query-protocol.html
 */

type Tree = { [k: string]: Tree | string };

/**
 * Parses a query string into nested values: `a.member.1.b=x` → `{a: [{b: 'x'}]}`,
 * `a.entry.1.key=k&a.entry.1.value=v` → `{a: {k: 'v'}}`. Maps whose entries use `Name`/`Value`
 * (SNS MessageAttributes) become `{name: value}` too. Numbered lists without `member`
 * (SQS's flattened `MessageAttribute.1.Name`) become arrays.
 */
export function parseQuery(body: string): Record<string, unknown> {
  const root: Tree = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const parts = k.split('.');
    let node = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i]!;
      let next = node[p];
      if (next === undefined || typeof next === 'string') {
        next = {};
        node[p] = next;
      }
      node = next;
    }
    node[parts.at(-1)!] = v;
  }
  return normalize(root) as Record<string, unknown>;
}

function isIndexed(t: Tree): boolean {
  const keys = Object.keys(t);
  return keys.length > 0 && keys.every((k) => /^\d+$/.test(k));
}

function normalize(v: Tree | string): unknown {
  if (typeof v === 'string') return v;
  const keys = Object.keys(v);
  if (keys.length === 1 && (keys[0] === 'member' || keys[0] === 'entry') && typeof v[keys[0]] === 'object') {
    const inner = v[keys[0]] as Tree;
    if (isIndexed(inner)) {
      const items = Object.keys(inner)
        .sort((a, b) => Number(a) - Number(b))
        .map((k) => normalize(inner[k]!));
      if (keys[0] === 'member') return items;
      return entriesToMap(items);
    }
  }
  if (isIndexed(v)) {
    const items = keys.sort((a, b) => Number(a) - Number(b)).map((k) => normalize(v[k]!));
    return items;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = normalize(v[k]!);
  return out;
}

function entriesToMap(items: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const it of items) {
    if (!it || typeof it !== 'object') continue;
    const e = it as Record<string, unknown>;
    const key = (e.key ?? e.Name ?? e.Key) as string | undefined;
    if (key === undefined) continue;
    out[key] = e.value ?? e.Value;
  }
  return out;
}

/**
 * SQS's flattened lists of name/value pairs: `Attribute.1.Name=X&Attribute.1.Value=Y` (parsed
 * to an array) → `{X: 'Y'}`; a map passes through.
 */
export function pairsToMap(v: unknown, nameKey = 'Name', valueKey = 'Value'): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    const out: Record<string, unknown> = {};
    for (const e of v as Record<string, unknown>[]) if (e && typeof e[nameKey] === 'string') out[e[nameKey] as string] = e[valueKey];
    return out;
  }
  return v as Record<string, unknown>;
}

/** Escapes text for XML content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * An XML value as the query protocol writes it: objects are elements per key; arrays are
 * `<member>` lists, or repeated elements under `flat` names (SQS's flattened lists); a
 * `Map` is `<entry><key/><value/></entry>` (or with `entryNames` such as Name/Value).
 */
export type XmlValue = string | number | boolean | undefined | null | XmlValue[] | XmlMap | { [k: string]: XmlValue };

/** A map serialised as `<entry>` elements (SNS) or flattened pairs (SQS `Attribute`). */
export class XmlMap {
  constructor(
    readonly entries: Record<string, XmlValue>,
    readonly opts: { key?: string; value?: string; flatName?: string } = {},
  ) {}
}

/** A list written as repeated elements named `name` instead of `<member>` (flattened). */
export class XmlFlat {
  constructor(
    readonly name: string,
    readonly items: XmlValue[],
  ) {}
}

export function toXml(v: XmlValue | XmlFlat): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return xmlEscape(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof XmlFlat) return v.items.map((i) => `<${v.name}>${toXml(i)}</${v.name}>`).join('');
  if (Array.isArray(v)) return v.map((i) => `<member>${toXml(i)}</member>`).join('');
  if (v instanceof XmlMap) {
    const k = v.opts.key ?? 'key';
    const val = v.opts.value ?? 'value';
    const wrap = v.opts.flatName ?? 'entry';
    return Object.entries(v.entries)
      .map(([name, x]) => `<${wrap}><${k}>${xmlEscape(name)}</${k}><${val}>${toXml(x)}</${val}></${wrap}>`)
      .join('');
  }
  let out = '';
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined || x === null) continue;
    if ((x as unknown) instanceof XmlFlat || ((x as unknown) instanceof XmlMap && (x as XmlMap).opts.flatName)) out += toXml(x as XmlValue);
    else out += `<${k}>${toXml(x)}</${k}>`;
  }
  return out;
}

/** A whole query-protocol answer: `<{Action}Response xmlns=…><{Action}Result>…</…><ResponseMetadata>…`. */
export function queryResponse(action: string, xmlns: string, result: Record<string, XmlValue | XmlFlat> | undefined, requestId: string): string {
  const body = result === undefined ? '' : `<${action}Result>${toXml(result as XmlValue)}</${action}Result>`;
  return `<?xml version="1.0"?>\n<${action}Response xmlns="${xmlns}">${body}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

/** A query-protocol error: `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`. */
export function queryError(xmlns: string, code: string, message: string, fault: 'Sender' | 'Receiver', requestId: string): string {
  return `<?xml version="1.0"?>\n<ErrorResponse xmlns="${xmlns}"><Error><Type>${fault}</Type><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}
