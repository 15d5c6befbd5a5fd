// Unpacks a zip into the share through the storage worker. The archive is read from its central
// directory (the authoritative list: local headers may lack sizes), so Unix modes, symlinks and
// mtimes written by Info-ZIP, fflate or our own exportZip come back as they were. Entries whose
// names would escape the destination (absolute, or with ".." parts) are refused, not skipped.

import { inflateSync } from 'fflate';
import { VmError } from '../errors.js';
import { readAll } from '../streams.js';
import { ShareFs } from '../client/share-fs.js';
import { ImportResult, TransferProgress, emptyImportResult, joinPath } from './progress.js';

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const OS_UNIX = 3;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeader: number;
  /** st_mode when the archive recorded one (made on Unix), else null. */
  mode: number | null;
  mtimeMs: number;
}

function badZip(why: string): VmError {
  return new VmError('bad-zip', `The zip file could not be read: ${why}.`);
}

/** Downloads `url`, reporting bytes as they arrive. */
export async function fetchWithProgress(url: string, onProgress?: TransferProgress): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new VmError('zip-unreachable', `Could not fetch ${url} (${(e as Error).message}). Check the URL and that its server allows this origin (CORS, and Cross-Origin-Resource-Policy under COEP).`);
  }
  if (!response.ok) throw new VmError('zip-unreachable', `Could not fetch ${url}: HTTP ${response.status} ${response.statusText}.`);
  const total = Number(response.headers.get('content-length') ?? 0);
  return readAll(response.body!, (loaded) => onProgress?.(loaded, total));
}

/** The central directory's entries. */
export function readZipDirectory(zip: Uint8Array): ZipEntry[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  // The end-of-central-directory record is the last 22 bytes, before a comment of up to 64 KiB.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD_SIGNATURE) { eocd = i; break; }
  }
  if (eocd < 0) throw badZip('it has no end-of-central-directory record (not a zip, or truncated)');
  const count = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  if (count === 0xffff || at === 0xffffffff) throw badZip('it is a ZIP64 archive (over 4 GiB or 65,535 entries), which is not supported');
  const decoder = new TextDecoder();
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || view.getUint32(at, true) !== CENTRAL_SIGNATURE) throw badZip('its central directory is damaged');
    const madeBy = view.getUint16(at + 4, true) >> 8;
    const flags = view.getUint16(at + 8, true);
    if (flags & 1) throw badZip('it is encrypted');
    const dosTime = view.getUint16(at + 12, true);
    const dosDate = view.getUint16(at + 14, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const external = view.getUint32(at + 38, true);
    const unixMode = external >>> 16;
    entries.push({
      name: decoder.decode(zip.subarray(at + 46, at + 46 + nameLength)),
      method: view.getUint16(at + 10, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localHeader: view.getUint32(at + 42, true),
      mode: madeBy === OS_UNIX && unixMode !== 0 ? unixMode : null,
      // DOS times are local time with 2-second steps, as zip tools write them.
      mtimeMs: new Date(1980 + (dosDate >> 9), ((dosDate >> 5) & 15) - 1, dosDate & 31, dosTime >> 11, (dosTime >> 5) & 63, (dosTime & 31) * 2).getTime(),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** An entry's contents, uncompressed. */
export function zipEntryData(zip: Uint8Array, entry: ZipEntry): Uint8Array {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const at = entry.localHeader;
  if (at + 30 > zip.length || view.getUint32(at, true) !== LOCAL_SIGNATURE) throw badZip(`the local header of ${entry.name} is damaged`);
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const raw = zip.subarray(start, start + entry.compressedSize);
  if (raw.length !== entry.compressedSize) throw badZip(`${entry.name} is truncated`);
  if (entry.method === 0) return raw;
  if (entry.method === 8) return inflateSync(raw, { out: new Uint8Array(entry.size) });
  throw badZip(`${entry.name} uses compression method ${entry.method} (only stored and deflated entries are supported)`);
}

/** The entry's path under the destination, or an error if it would land outside it. */
function safeName(name: string): string {
  const parts = name.split('/');
  if (name.startsWith('/') || parts.includes('..') || name.includes('\\')) {
    throw badZip(`it holds an entry named "${name}", which would be written outside the destination`);
  }
  return joinPath(...parts);
}

/** Writes every entry of `zip` under `dest` in the share. */
export async function unpackZip(fs: ShareFs, zip: Uint8Array, dest: string, onProgress?: TransferProgress): Promise<ImportResult> {
  const entries = readZipDirectory(zip);
  const names = entries.map((e) => safeName(e.name));
  const total = entries.reduce((n, e) => n + e.size, 0);
  const result = emptyImportResult();
  let loaded = 0;
  await fs.mkdirs(dest);
  for (const [i, entry] of entries.entries()) {
    const path = joinPath(dest, names[i]!);
    if (!names[i]) continue;
    const type = entry.mode !== null ? entry.mode & S_IFMT : entry.name.endsWith('/') ? S_IFDIR : 0;
    const perm = entry.mode !== null ? entry.mode & 0o7777 : type === S_IFDIR ? 0o755 : 0o644;
    await fs.mkdirs(joinPath(...path.split('/').slice(0, -1)));
    if (type === S_IFDIR) {
      await fs.mkdirs(path, perm);
      result.directories++;
      continue;
    }
    const data = zipEntryData(zip, entry);
    if (type === S_IFLNK) {
      if (await fs.exists(path)) await fs.remove(path);
      await fs.symlink(new TextDecoder().decode(data), path);
      result.symlinks++;
    } else {
      await fs.writeStream(path, new Blob([data as BlobPart]).stream(), { mode: perm, mtimeMs: entry.mtimeMs });
      await fs.chmod(path, perm);
      result.files++;
      result.bytes += data.length;
    }
    loaded += entry.size;
    onProgress?.(loaded, total);
  }
  return result;
}
