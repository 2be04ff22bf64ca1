/**
 * The digests SQS returns so clients can check what it stored (botocore checks them):
 * MD5 of the body, and of the message attributes encoded as the SQS Developer Guide's
 * "Calculating the MD5 message digest for message attributes" says: sorted by name, each as
 * length-prefixed (4-byte big-endian) name, data type, a transport byte (1 string/number,
 * 2 binary), and length-prefixed value.
 */
import { createHash } from 'node:crypto';

/** A message attribute as SQS stores it (binary values base64). */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  /** Base64. */
  BinaryValue?: string;
}

export function md5Hex(s: string | Buffer): string {
  return createHash('md5').update(s).digest('hex');
}

function lengthPrefixed(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** MD5OfMessageAttributes; undefined when there are none. */
export function md5OfAttributes(attrs: Record<string, MessageAttributeValue> | undefined): string | undefined {
  if (!attrs) return undefined;
  const names = Object.keys(attrs).sort();
  if (!names.length) return undefined;
  const parts: Buffer[] = [];
  for (const name of names) {
    const a = attrs[name]!;
    parts.push(lengthPrefixed(Buffer.from(name, 'utf8')));
    parts.push(lengthPrefixed(Buffer.from(a.DataType, 'utf8')));
    if (a.DataType.startsWith('Binary')) {
      parts.push(Buffer.from([2]));
      parts.push(lengthPrefixed(Buffer.from(a.BinaryValue ?? '', 'base64')));
    } else {
      parts.push(Buffer.from([1]));
      parts.push(lengthPrefixed(Buffer.from(a.StringValue ?? '', 'utf8')));
    }
  }
  return md5Hex(Buffer.concat(parts));
}

/** Size SQS counts against MaximumMessageSize: body plus attribute names, types and values, in bytes. */
export function messageSize(body: string, attrs: Record<string, MessageAttributeValue> | undefined): number {
  let n = Buffer.byteLength(body, 'utf8');
  for (const [name, a] of Object.entries(attrs ?? {})) {
    n += Buffer.byteLength(name) + Buffer.byteLength(a.DataType) + (a.BinaryValue !== undefined ? Buffer.from(a.BinaryValue, 'base64').length : Buffer.byteLength(a.StringValue ?? ''));
  }
  return n;
}
