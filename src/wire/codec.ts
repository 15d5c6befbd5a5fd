// Encode and decode 9P2000.L messages from the layouts in messages.ts. Works on views of
// SharedArrayBuffers as well as ordinary buffers, and never copies `data` fields: a decoded
// Twrite's data is a view into the request buffer.

import { Body, FieldKind, HEADER_SIZE, Layout, Message, Qid, WireType, layouts } from './messages.js';

export type { Qid } from './messages.js';

/** A message body as the codec walks it: its layout says what each value is. */
type Values = Record<string, unknown>;

/** The message could not be parsed. `tag` is set when the header was readable, so the sender can be answered. */
export class MalformedMessage extends Error {
  constructor(message: string, readonly tag: number | undefined) {
    super(message);
  }
}

const QID_SIZE = 13;
const TWO_32 = 0x1_0000_0000;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** UTF-8 text of bytes that may live in a SharedArrayBuffer (TextDecoder refuses those). */
export function decodeUtf8(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) { ascii = false; break; }
  }
  if (ascii) {
    // Names are short and almost always ASCII: build the string without a copy.
    let s = '';
    for (let i = 0; i < bytes.length; i += 4096) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
    }
    return s;
  }
  return utf8Decoder.decode(bytes.buffer instanceof SharedArrayBuffer ? bytes.slice() : bytes);
}

/** Writes UTF-8 at `at` and returns the byte count; TextEncoder.encodeInto refuses shared buffers. */
export function encodeUtf8Into(s: string, out: Uint8Array, at: number): number {
  let ascii = true;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) { ascii = false; break; }
  if (ascii) {
    if (at + s.length > out.length) throw new RangeError('string does not fit');
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
    return s.length;
  }
  const bytes = utf8Encoder.encode(s);
  out.set(bytes, at);
  return bytes.length;
}

export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

/** Reads little-endian fields from a byte range; throws MalformedMessage past the end. */
export class Reader {
  private readonly view: DataView;
  pos: number;

  constructor(readonly bytes: Uint8Array, private readonly tag?: number, start = 0) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new MalformedMessage('message ends inside a field', this.tag);
  }

  u8(): number { this.need(1); return this.view.getUint8(this.pos++); }
  u16(): number { this.need(2); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  /** u64 as a number; values past 2^53 lose precision but stay larger than any real size or offset. */
  u64(): number {
    this.need(8);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }
  str(): string {
    const n = this.u16();
    this.need(n);
    const bytes = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return decodeUtf8(bytes);
    } catch {
      throw new MalformedMessage('string is not valid UTF-8', this.tag);
    }
  }
  qid(): Qid { return { type: this.u8(), version: this.u32(), path: this.u64() }; }
  data(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const d = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return d;
  }
  get remaining(): number { return this.bytes.length - this.pos; }
}

/** Writes little-endian fields into a caller-owned buffer. The caller sizes the buffer. */
export class Writer {
  readonly view: DataView;

  constructor(readonly bytes: Uint8Array, public pos = 0) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(v: number): void { this.view.setUint8(this.pos, v); this.pos += 1; }
  u16(v: number): void { this.view.setUint16(this.pos, v, true); this.pos += 2; }
  u32(v: number): void { this.view.setUint32(this.pos, v >>> 0, true); this.pos += 4; }
  u64(v: number): void {
    const x = Math.max(0, Math.floor(v));
    this.view.setUint32(this.pos, x % TWO_32, true);
    this.view.setUint32(this.pos + 4, Math.floor(x / TWO_32) >>> 0, true);
    this.pos += 8;
  }
  str(s: string): void {
    const at = this.pos;
    this.pos += 2;
    const written = encodeUtf8Into(s, this.bytes, this.pos);
    this.view.setUint16(at, written, true);
    this.pos += written;
  }
  qid(q: Qid): void { this.u8(q.type); this.u32(q.version); this.u64(q.path); }
  data(d: Uint8Array): void { this.u32(d.length); this.bytes.set(d, this.pos); this.pos += d.length; }
}

function fieldSize(kind: FieldKind, value: unknown): number {
  switch (kind) {
    case 'u8': return 1;
    case 'u16': return 2;
    case 'u32': return 4;
    case 'u64': return 8;
    case 's': return 2 + utf8Length(value as string);
    case 'qid': return QID_SIZE;
    case 's*': return 2 + (value as string[]).reduce((n, s) => n + 2 + utf8Length(s), 0);
    case 'qid*': return 2 + QID_SIZE * (value as Qid[]).length;
    case 'data': return 4 + (value as Uint8Array).length;
  }
}

function readField(r: Reader, kind: FieldKind): unknown {
  switch (kind) {
    case 'u8': return r.u8();
    case 'u16': return r.u16();
    case 'u32': return r.u32();
    case 'u64': return r.u64();
    case 's': return r.str();
    case 'qid': return r.qid();
    case 's*': { const n = r.u16(); const a: string[] = []; for (let i = 0; i < n; i++) a.push(r.str()); return a; }
    case 'qid*': { const n = r.u16(); const a: Qid[] = []; for (let i = 0; i < n; i++) a.push(r.qid()); return a; }
    case 'data': return r.data();
  }
}

function writeField(w: Writer, kind: FieldKind, value: unknown): void {
  switch (kind) {
    case 'u8': w.u8(value as number); break;
    case 'u16': w.u16(value as number); break;
    case 'u32': w.u32(value as number); break;
    case 'u64': w.u64(value as number); break;
    case 's': w.str(value as string); break;
    case 'qid': w.qid(value as Qid); break;
    case 's*': { const a = value as string[]; w.u16(a.length); for (const s of a) w.str(s); break; }
    case 'qid*': { const a = value as Qid[]; w.u16(a.length); for (const q of a) w.qid(q); break; }
    case 'data': w.data(value as Uint8Array); break;
  }
}

function layoutOf(type: WireType): Layout {
  const layout = layouts[type];
  if (!layout) throw new Error(`no layout for 9P message type ${type}`);
  return layout;
}

/** Size in bytes of the whole message, header included. */
export function messageSize<M extends WireType>(type: M, fields: Body<M>): number {
  const values = fields as Values;
  let n = HEADER_SIZE;
  for (const [name, kind] of layoutOf(type)) n += fieldSize(kind, values[name]);
  return n;
}

/** Encodes into `out` (allocated when omitted) and returns the message's bytes. */
export function encodeMessage<M extends WireType>(type: M, tag: number, fields: Body<M>, out?: Uint8Array): Uint8Array {
  const values = fields as Values;
  const size = messageSize(type, fields);
  const bytes = out ? out.subarray(0, size) : new Uint8Array(size);
  if (bytes.length < size) throw new RangeError(`9P message of ${size} bytes does not fit in ${out!.length}`);
  const w = new Writer(bytes);
  w.u32(size);
  w.u8(type);
  w.u16(tag);
  for (const [name, kind] of layoutOf(type)) writeField(w, kind, values[name]);
  return bytes;
}

/** Reads size[4] type[1] tag[2]; throws MalformedMessage when they are missing or inconsistent. */
export function readHeader(bytes: Uint8Array): { size: number; type: number; tag: number } {
  if (bytes.length < HEADER_SIZE) throw new MalformedMessage(`message of ${bytes.length} bytes is shorter than a header`, undefined);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const size = view.getUint32(0, true);
  const type = view.getUint8(4);
  const tag = view.getUint16(5, true);
  if (size !== bytes.length) throw new MalformedMessage(`size field says ${size} bytes, message has ${bytes.length}`, tag);
  return { size, type, tag };
}

/**
 * Decodes a whole message. Trailing fields that older kernels omit (Tfsync's datasync) are
 * read as 0; any other shortfall or leftover byte makes the message malformed.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  const { type, tag } = readHeader(bytes);
  const layout = layouts[type];
  if (!layout) throw new MalformedMessage(`unknown message type ${type}`, tag);
  const r = new Reader(bytes, tag, HEADER_SIZE);
  const fields: Values = {};
  for (const [name, kind] of layout) {
    if (r.remaining === 0 && name === 'datasync') { fields[name] = 0; continue; }
    fields[name] = readField(r, kind);
  }
  if (r.remaining !== 0) throw new MalformedMessage(`${r.remaining} unexpected bytes after the last field`, tag);
  // The layout of `type` made the fields, so they have its shape.
  return { type, tag, fields } as Message;
}

/** One Treaddir entry: qid[13] offset[8] type[1] name[s]. */
export interface DirEntry {
  qid: Qid;
  offset: number;
  type: number;
  name: string;
}

export function direntSize(name: string): number {
  return QID_SIZE + 8 + 1 + 2 + utf8Length(name);
}

export function decodeDirEntries(data: Uint8Array): DirEntry[] {
  const r = new Reader(data);
  const out: DirEntry[] = [];
  while (r.remaining > 0) out.push({ qid: r.qid(), offset: r.u64(), type: r.u8(), name: r.str() });
  return out;
}
