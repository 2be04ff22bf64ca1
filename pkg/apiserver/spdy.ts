/**
 * Just enough SPDY/3.1 (https://www.chromium.org/spdy/spdy-protocol/spdy-protocol-draft3-1/) for
 * the server side of Kubernetes's streaming protocols over an upgraded connection, as kubectl
 * 1.27–1.29 speak them for `exec` (client-go's SPDY executor over moby/spdystream): the client
 * opens one stream per standard stream (SYN_STREAM with a `streamtype` header), the server
 * acknowledges each (SYN_REPLY) and both sides send DATA frames, FIN closing a direction.
 *
 * Header blocks are zlib streams with the SPDY/3 dictionary. The client's are inflated from the
 * start of the connection each time (they are tiny and few); the server's are written as stored
 * (uncompressed) deflate blocks, which any zlib reader accepts.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { constants, inflateSync } from 'node:zlib';

/**
 * The SPDY/3 header compression dictionary (draft 3, section 2.6.10.1): 4-byte big-endian
 * length-prefixed header names and values, then a run of status codes, reason phrases, dates and
 * media types.
 */
const DICTIONARY_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language', 'accept-ranges', 'age', 'allow', 'authorization',
  'cache-control', 'connection', 'content-base', 'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type',
  'date', 'etag', 'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'location',
  'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer', 'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'user-agent', 'vary', 'via', 'warning', 'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
];
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found' +
  '500 Internal Server Error501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ' +
  'Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,' +
  'text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

export const SPDY_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.map((w) => {
    const b = Buffer.alloc(4 + w.length);
    b.writeUInt32BE(w.length, 0);
    b.write(w, 4, 'latin1');
    return b;
  }),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);

/** RFC 1950 Adler-32. */
export function adler32(buf: Buffer): number {
  let a = 1;
  let b = 0;
  for (const x of buf) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

const TYPE = { SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9 } as const;
const FLAG_FIN = 1;

/** One stream the client opened. Emits `data` (Buffer) and `end`. */
export class SpdyStream extends EventEmitter {
  private finished = false;
  constructor(
    readonly id: number,
    /** The stream's headers, lower-case names. */
    readonly headers: Record<string, string>,
    private readonly session: SpdySession,
  ) {
    super();
  }

  write(data: Uint8Array): void {
    if (this.finished || !data.length) return;
    for (let off = 0; off < data.length; off += 0xffffff) this.session.sendData(this.id, Buffer.from(data.subarray(off, off + 0xffffff)), false);
  }

  /** Closes the server's direction (FIN). */
  end(data?: Uint8Array): void {
    if (this.finished) return;
    if (data?.length) this.write(data);
    this.finished = true;
    this.session.sendData(this.id, Buffer.alloc(0), true);
  }
}

/**
 * The server side of a SPDY session on an upgraded socket. Emits `stream` (SpdyStream) for each
 * stream the client opens, and `close`.
 */
export class SpdySession extends EventEmitter {
  private buf: Buffer = Buffer.alloc(0);
  private readonly streams = new Map<number, SpdyStream>();
  private headerHistory: Buffer = Buffer.alloc(0);
  private inflated = 0;
  private wroteZlibHeader = false;
  private closed = false;

  constructor(private readonly socket: Duplex) {
    super();
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => this.onClose());
    socket.on('error', () => this.onClose());
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.emit('end');
    this.emit('close');
  }

  /** Ends the session: GOAWAY, then the socket. */
  close(): void {
    if (this.closed) return;
    const f = Buffer.alloc(16);
    f.writeUInt16BE(0x8003, 0);
    f.writeUInt16BE(TYPE.GOAWAY, 2);
    f.writeUInt32BE(8, 4);
    f.writeUInt32BE(0, 8);
    f.writeUInt32BE(0, 12);
    this.socket.write(f);
    this.socket.end();
    this.onClose();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 8) {
      const len = this.buf.readUIntBE(5, 3);
      if (this.buf.length < 8 + len) return;
      const frame = this.buf.subarray(0, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      try {
        this.onFrame(frame);
      } catch {
        this.close();
        return;
      }
    }
  }

  private onFrame(f: Buffer): void {
    const flags = f[4]!;
    if (!(f[0]! & 0x80)) {
      const id = f.readUInt32BE(0) & 0x7fffffff;
      const s = this.streams.get(id);
      if (!s) return;
      const data = f.subarray(8);
      if (data.length) s.emit('data', Buffer.from(data));
      if (flags & FLAG_FIN) s.emit('end');
      return;
    }
    const type = f.readUInt16BE(2);
    switch (type) {
      case TYPE.SYN_STREAM: {
        const id = f.readUInt32BE(8) & 0x7fffffff;
        const headers = this.readHeaders(f.subarray(18));
        const s = new SpdyStream(id, headers, this);
        this.streams.set(id, s);
        this.sendReply(id);
        this.emit('stream', s);
        if (flags & FLAG_FIN) s.emit('end');
        return;
      }
      case TYPE.HEADERS:
        this.readHeaders(f.subarray(12));
        return;
      case TYPE.RST_STREAM: {
        const s = this.streams.get(f.readUInt32BE(8) & 0x7fffffff);
        s?.emit('end');
        return;
      }
      case TYPE.PING:
        this.socket.write(Buffer.from(f));
        return;
      case TYPE.GOAWAY:
        this.close();
        return;
      default:
        // SETTINGS and WINDOW_UPDATE: the streams here are small enough for the default windows.
        return;
    }
  }

  /** Inflates one client header block (the zlib context spans the session) into name → value. */
  private readHeaders(block: Buffer): Record<string, string> {
    this.headerHistory = Buffer.concat([this.headerHistory, block]);
    const all = inflateSync(this.headerHistory, { dictionary: SPDY_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH });
    const nv = all.subarray(this.inflated);
    this.inflated = all.length;
    const out: Record<string, string> = {};
    const n = nv.readUInt32BE(0);
    let off = 4;
    for (let i = 0; i < n; i++) {
      const nl = nv.readUInt32BE(off);
      const name = nv.toString('latin1', off + 4, off + 4 + nl);
      off += 4 + nl;
      const vl = nv.readUInt32BE(off);
      out[name.toLowerCase()] = nv.toString('utf8', off + 4, off + 4 + vl);
      off += 4 + vl;
    }
    return out;
  }

  /** A header block (no headers) as a stored deflate block, after the zlib header on the first. */
  private headerBlock(): Buffer {
    const nv = Buffer.alloc(4); // zero name/value pairs
    // The block, then an empty stored block, as zlib's Z_SYNC_FLUSH ends one: a reader flushes
    // what it has decoded on reaching it (Go's flate does not before).
    const stored = Buffer.alloc(5 + nv.length + 5);
    stored[0] = 0; // BFINAL=0, BTYPE=00 (stored)
    stored.writeUInt16LE(nv.length, 1);
    stored.writeUInt16LE(~nv.length & 0xffff, 3);
    nv.copy(stored, 5);
    stored.set([0x00, 0x00, 0x00, 0xff, 0xff], 5 + nv.length);
    if (this.wroteZlibHeader) return stored;
    this.wroteZlibHeader = true;
    // CMF 0x78 (deflate, 32K window); FLG 0x20: FDICT set, FCHECK 0 (0x7820 is a multiple of 31).
    const head = Buffer.alloc(6);
    head[0] = 0x78;
    head[1] = 0x20;
    head.writeUInt32BE(adler32(SPDY_DICTIONARY), 2);
    return Buffer.concat([head, stored]);
  }

  private sendReply(id: number): void {
    const block = this.headerBlock();
    const f = Buffer.alloc(12);
    f.writeUInt16BE(0x8003, 0);
    f.writeUInt16BE(TYPE.SYN_REPLY, 2);
    f.writeUIntBE(4 + block.length, 5, 3);
    f.writeUInt32BE(id & 0x7fffffff, 8);
    this.socket.write(Buffer.concat([f, block]));
  }

  sendData(id: number, data: Buffer, fin: boolean): void {
    if (this.closed) return;
    const f = Buffer.alloc(8);
    f.writeUInt32BE(id & 0x7fffffff, 0);
    f[4] = fin ? FLAG_FIN : 0;
    f.writeUIntBE(data.length, 5, 3);
    this.socket.write(data.length ? Buffer.concat([f, data]) : f);
  }
}
