// A streaming tar reader: ustar, GNU (long names and links, base-256 sizes) and PAX headers,
// which is what image builders write (Docker, buildah, umoci, mmdebstrap, GNU tar). Entries come
// one at a time with their contents read whole: a layer's files are small next to the layer.

export type TarType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarEntry {
  /** Relative, normalised: no leading "./" or "/", no trailing "/", never "." or "..". "" is the root. */
  path: string;
  type: TarType;
  /** Permission bits, with setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch (PAX headers may give fractions). */
  mtime: number;
  /** Symlink target as written; for a hard link, the normalised path of the entry it links to. */
  linkname: string;
  devmajor: number;
  devminor: number;
  data: Uint8Array<ArrayBuffer>;
}

export class TarError extends Error {}

const TYPES: Record<string, TarType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'directory', '6': 'fifo',
};

/** Bytes from a stream, taken in exact amounts. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  private available = 0;
  private done = false;

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  /** Exactly `n` bytes, or null at a clean end of the stream (nothing left). */
  async take(n: number): Promise<Uint8Array<ArrayBuffer> | null> {
    while (this.available < n && !this.done) {
      const { done, value } = await this.reader.read();
      if (done) this.done = true;
      else if (value.length > 0) { this.chunks.push(value); this.available += value.length; }
    }
    if (this.available === 0 && n > 0) return null;
    if (this.available < n) throw new TarError('the archive ends in the middle of an entry');
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const head = this.chunks[0]!;
      const used = Math.min(head.length, n - at);
      out.set(head.subarray(0, used), at);
      at += used;
      if (used === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(used);
    }
    this.available -= n;
    return out;
  }
}

const decoder = new TextDecoder();
function text(block: Uint8Array, at: number, length: number): string {
  const field = block.subarray(at, at + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

/** A numeric field: octal text, or GNU base-256 (high bit of the first byte set). */
function number(block: Uint8Array, at: number, length: number): number {
  if (block[at]! & 0x80) {
    let n = block[at]! & 0x7f;
    for (let i = 1; i < length; i++) n = n * 256 + block[at + i]!;
    return n;
  }
  const s = text(block, at, length).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** Paths as a layer names them, made relative; ".." anywhere would reach outside the root. */
export function normalisePath(raw: string): string {
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new TarError(`the entry ${JSON.stringify(raw)} points outside the image's root`);
  return parts.join('/');
}

function checksumOk(block: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return sum === number(block, 148, 8);
}

/** PAX extended header records: "<length> <key>=<value>\n" each. */
function paxRecords(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = parseInt(decoder.decode(data.subarray(at, space)), 10);
    if (!(length > 0)) throw new TarError('a PAX header record has no length');
    const record = decoder.decode(data.subarray(space + 1, at + length - 1));
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/** The entries of a tar stream, in order. */
export async function* readTar(stream: ReadableStream<Uint8Array>): AsyncGenerator<TarEntry, void, undefined> {
  const reader = stream.getReader();
  const queue = new ByteQueue(reader);
  let longName: string | null = null;
  let longLink: string | null = null;
  let pax = new Map<string, string>();
  try {
    for (;;) {
      const block = await queue.take(512);
      if (!block || block.every((b) => b === 0)) return;
      if (!checksumOk(block)) throw new TarError('a header block has a bad checksum: this is not a tar archive, or it is damaged');
      const flag = String.fromCharCode(block[156]!);
      const size = pax.has('size') ? Number(pax.get('size')) : number(block, 124, 12);
      const data = (await queue.take(size)) ?? new Uint8Array(0);
      if (size % 512) await queue.take(512 - (size % 512));
      if (flag === 'L') { longName = text(data, 0, data.length); continue; }
      if (flag === 'K') { longLink = text(data, 0, data.length); continue; }
      if (flag === 'x') { pax = paxRecords(data); continue; }
      if (flag === 'g') continue;
      const type = TYPES[flag];
      if (!type) throw new TarError(`the entry ${text(block, 0, 100)} has a type (${JSON.stringify(flag)}) that has no place in an image layer`);
      // POSIX ustar splits long names into prefix and name; old GNU headers use those bytes otherwise.
      const ustar = text(block, 257, 6) === 'ustar' && block[262] === 0;
      const prefix = ustar ? text(block, 345, 155) : '';
      const name = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${text(block, 0, 100)}` : text(block, 0, 100));
      const link = pax.get('linkpath') ?? longLink ?? text(block, 157, 100);
      const entry: TarEntry = {
        path: normalisePath(name),
        type,
        mode: number(block, 100, 8) & 0o7777,
        uid: pax.has('uid') ? Number(pax.get('uid')) : number(block, 108, 8),
        gid: pax.has('gid') ? Number(pax.get('gid')) : number(block, 116, 8),
        mtime: pax.has('mtime') ? Number(pax.get('mtime')) : number(block, 136, 12),
        linkname: type === 'hardlink' ? normalisePath(link) : link,
        devmajor: number(block, 329, 8),
        devminor: number(block, 337, 8),
        data: type === 'file' ? data : new Uint8Array(0),
      };
      longName = longLink = null;
      pax = new Map();
      yield entry;
    }
  } finally {
    reader.releaseLock();
  }
}
