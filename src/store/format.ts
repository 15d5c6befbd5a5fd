// The on-OPFS encoding of metadata: entries, journal records and directory tables.
// docs/storage-format.md is the specification; L1 implements the same bytes.

import { Reader, decodeUtf8 } from '../wire/codec.js';

export const enum NodeKind {
  File = 1, Dir = 2, Symlink = 3, Fifo = 4, CharDev = 5, BlockDev = 6, Socket = 7,
}

/** POSIX attributes OPFS cannot keep. Times are seconds and nanoseconds since the epoch. */
export interface Meta {
  kind: NodeKind;
  /** Permission bits and setuid/setgid/sticky (mode & 0o7777); the type comes from `kind`. */
  perm: number;
  uid: number;
  gid: number;
  rdev: number;
  atimeSec: number; atimeNsec: number;
  mtimeSec: number; mtimeNsec: number;
  ctimeSec: number; ctimeNsec: number;
  /** Names the directory's table in the metadata area; 0 for the share root and for non-directories. */
  dirId: number;
  /** Symlink target; empty for other kinds. */
  target: string;
  xattrs: Map<string, Uint8Array> | null;
}

const S_IFMT_BY_KIND: Record<NodeKind, number> = {
  [NodeKind.File]: 0o100000, [NodeKind.Dir]: 0o040000, [NodeKind.Symlink]: 0o120000,
  [NodeKind.Fifo]: 0o010000, [NodeKind.CharDev]: 0o020000, [NodeKind.BlockDev]: 0o060000,
  [NodeKind.Socket]: 0o140000,
};

export function modeOf(meta: Meta): number {
  return S_IFMT_BY_KIND[meta.kind] | (meta.perm & 0o7777);
}

/** The node kind encoded in a full st_mode, or undefined for an unknown type. */
export function kindOfMode(mode: number): NodeKind | undefined {
  const fmt = mode & 0o170000;
  for (const [kind, bits] of Object.entries(S_IFMT_BY_KIND)) if (bits === fmt) return Number(kind) as NodeKind;
  return undefined;
}

/** Kinds that exist only as metadata; files and directories are real OPFS entries. */
export function isMetadataOnly(kind: NodeKind): boolean {
  return kind !== NodeKind.File && kind !== NodeKind.Dir;
}

export function nowTime(): [sec: number, nsec: number] {
  const ms = performance.timeOrigin + performance.now();
  const sec = Math.floor(ms / 1000);
  return [sec, Math.floor((ms - sec * 1000) * 1e6) % 1e9];
}

export function defaultMeta(kind: NodeKind, mtimeMs?: number): Meta {
  let [sec, nsec] = nowTime();
  if (mtimeMs !== undefined) { sec = Math.floor(mtimeMs / 1000); nsec = (mtimeMs % 1000) * 1e6; }
  return {
    kind, perm: kind === NodeKind.Dir ? 0o755 : 0o644, uid: 0, gid: 0, rdev: 0,
    atimeSec: sec, atimeNsec: nsec, mtimeSec: sec, mtimeNsec: nsec, ctimeSec: sec, ctimeNsec: nsec,
    dirId: 0, target: '', xattrs: null,
  };
}

// ---- bytes ----

const TWO_32 = 0x1_0000_0000;
const encoder = new TextEncoder();

/** An append-only byte buffer that grows as needed. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.room(1); this.view.setUint8(this.length, v); this.length += 1; }
  u16(v: number): void { this.room(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.room(4); this.view.setUint32(this.length, v >>> 0, true); this.length += 4; }
  u64(v: number): void {
    this.room(8);
    this.view.setUint32(this.length, v % TWO_32, true);
    this.view.setUint32(this.length + 4, Math.floor(v / TWO_32), true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void { this.room(b.length); this.buf.set(b, this.length); this.length += b.length; }
  str(s: string): void { const b = encoder.encode(s); this.u16(b.length); this.bytes(b); }
  setU32(at: number, v: number): void { this.view.setUint32(at, v >>> 0, true); }
  result(): Uint8Array { return this.buf.subarray(0, this.length); }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zlib computes it). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---- entries ----

export function writeMeta(w: ByteWriter, m: Meta): void {
  w.u8(m.kind); w.u32(m.perm); w.u32(m.uid); w.u32(m.gid); w.u64(m.rdev);
  w.u64(m.atimeSec); w.u32(m.atimeNsec);
  w.u64(m.mtimeSec); w.u32(m.mtimeNsec);
  w.u64(m.ctimeSec); w.u32(m.ctimeNsec);
  w.u64(m.dirId);
  w.str(m.target);
  const xattrs = m.xattrs ? [...m.xattrs] : [];
  w.u16(xattrs.length);
  for (const [name, value] of xattrs) { w.str(name); w.u32(value.length); w.bytes(value); }
}

export function readMeta(r: Reader): Meta {
  const kind = r.u8() as NodeKind;
  if (kind < NodeKind.File || kind > NodeKind.Socket) throw new Error(`bad node kind ${kind}`);
  const m: Meta = {
    kind, perm: r.u32(), uid: r.u32(), gid: r.u32(), rdev: r.u64(),
    atimeSec: r.u64(), atimeNsec: r.u32(), mtimeSec: r.u64(), mtimeNsec: r.u32(),
    ctimeSec: r.u64(), ctimeNsec: r.u32(), dirId: r.u64(), target: r.str(), xattrs: null,
  };
  const n = r.u16();
  if (n > 0) {
    m.xattrs = new Map();
    for (let i = 0; i < n; i++) { const name = r.str(); m.xattrs.set(name, r.data().slice()); }
  }
  return m;
}

// ---- journal ----

export const JOURNAL_MAGIC = encoder.encode('CVMJRNL1');
export const TABLE_MAGIC = encoder.encode('CVMTBL01');

export const enum OpCode { Put = 1, Delete = 2, MoveBegin = 3, MoveEnd = 4 }

/** One metadata change. Put and Delete carry absolute state, so replaying them twice is harmless. */
export type JournalOp =
  | { op: OpCode.Put; dirId: number; name: string; meta: Meta }
  | { op: OpCode.Delete; dirId: number; name: string }
  /** A directory rename in progress: OPFS moves its files one by one, so a crash can stop it halfway. */
  | {
    op: OpCode.MoveBegin; srcPath: string; dstPath: string;
    srcDirId: number; srcName: string; dstDirId: number; dstName: string; meta: Meta;
  }
  | { op: OpCode.MoveEnd };

function writeOp(w: ByteWriter, op: JournalOp): void {
  w.u8(op.op);
  switch (op.op) {
    case OpCode.Put: w.u64(op.dirId); w.str(op.name); writeMeta(w, op.meta); break;
    case OpCode.Delete: w.u64(op.dirId); w.str(op.name); break;
    case OpCode.MoveBegin:
      w.str(op.srcPath); w.str(op.dstPath);
      w.u64(op.srcDirId); w.str(op.srcName); w.u64(op.dstDirId); w.str(op.dstName); writeMeta(w, op.meta);
      break;
    case OpCode.MoveEnd: break;
  }
}

function readOp(r: Reader): JournalOp {
  const op = r.u8();
  switch (op) {
    case OpCode.Put: return { op, dirId: r.u64(), name: r.str(), meta: readMeta(r) };
    case OpCode.Delete: return { op, dirId: r.u64(), name: r.str() };
    case OpCode.MoveBegin: return {
      op, srcPath: r.str(), dstPath: r.str(),
      srcDirId: r.u64(), srcName: r.str(), dstDirId: r.u64(), dstName: r.str(), meta: readMeta(r),
    };
    case OpCode.MoveEnd: return { op };
    default: throw new Error(`bad journal op ${op}`);
  }
}

/** A record is length[4] crc32[4] ops...; all its ops apply together or not at all. */
export function encodeRecord(ops: readonly JournalOp[]): Uint8Array {
  const w = new ByteWriter();
  w.u32(0); w.u32(0);
  for (const op of ops) writeOp(w, op);
  const bytes = w.result();
  w.setU32(0, bytes.length - 8);
  w.setU32(4, crc32(bytes.subarray(8)));
  return bytes;
}

/**
 * Decodes records from the journal's bytes after the magic. Stops at the first record that is
 * torn (runs past the end) or fails its checksum; `validLength` is where the good prefix ends.
 */
export function decodeRecords(bytes: Uint8Array): { records: JournalOp[][]; validLength: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: JournalOp[][] = [];
  let pos = 0;
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos, true);
    const crc = view.getUint32(pos + 4, true);
    if (len === 0 || pos + 8 + len > bytes.length) break;
    const payload = bytes.subarray(pos + 8, pos + 8 + len);
    if (crc32(payload) !== crc) break;
    try {
      const r = new Reader(payload);
      const ops: JournalOp[] = [];
      while (r.remaining > 0) ops.push(readOp(r));
      records.push(ops);
    } catch {
      break;
    }
    pos += 8 + len;
  }
  return { records, validLength: pos };
}

// ---- directory tables ----

/** magic[8] crc32[4] count[4] (name[s] meta)*count; the crc covers everything after itself. */
export function encodeTable(entries: ReadonlyMap<string, Meta>): Uint8Array {
  const w = new ByteWriter();
  w.bytes(TABLE_MAGIC); w.u32(0); w.u32(entries.size);
  for (const [name, meta] of entries) { w.str(name); writeMeta(w, meta); }
  const bytes = w.result();
  w.setU32(8, crc32(bytes.subarray(12)));
  return bytes;
}

/** The table's entries, or null when the bytes are not an intact table. */
export function decodeTable(bytes: Uint8Array): Map<string, Meta> | null {
  if (bytes.length < 16 || decodeUtf8(bytes.subarray(0, 8)) !== 'CVMTBL01') return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (crc32(bytes.subarray(12)) !== view.getUint32(8, true)) return null;
  try {
    const r = new Reader(bytes, undefined, 12);
    const n = r.u32();
    const out = new Map<string, Meta>();
    for (let i = 0; i < n; i++) { const name = r.str(); out.set(name, readMeta(r)); }
    return out;
  } catch {
    return null;
  }
}
