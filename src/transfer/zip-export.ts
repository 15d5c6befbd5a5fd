// The share (or a folder of it) as a zip file, streamed: each file is read through the storage
// worker chunk by chunk and compressed as it arrives, so the share never sits whole in memory
// twice. Unix modes, symlinks (stored as their target, as Info-ZIP does) and mtimes are kept.

import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { ShareFs } from '../client/share-fs.js';
import { TransferProgress, joinPath } from './progress.js';

export interface ZipExportOptions {
  /** deflate (default, level 1: fast) or store (no compression, for data that does not shrink). */
  compression?: 'deflate' | 'store';
  onProgress?: TransferProgress;
}

/** PKZIP's "made by" OS number for Unix: readers then take the upper 16 bits of attrs as st_mode. */
const OS_UNIX = 3;

export async function exportZip(fs: ShareFs, path: string, options: ZipExportOptions = {}): Promise<Blob> {
  const entries = [];
  let total = 0;
  for await (const entry of fs.walkTree(path)) {
    entries.push(entry);
    if (entry.stat.type === 'file') total += entry.stat.size;
  }

  const parts: Uint8Array[] = [];
  let failure: Error | null = null;
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else parts.push(chunk);
  });
  let loaded = 0;
  for (const { path: rel, stat } of entries) {
    const attributes = { os: OS_UNIX, attrs: (stat.mode >>> 0) * 0x10000, mtime: new Date(stat.mtimeMs) };
    const full = joinPath(path, rel);
    if (stat.type === 'directory') {
      const dir = new ZipPassThrough(`${rel}/`);
      Object.assign(dir, attributes);
      zip.add(dir);
      dir.push(new Uint8Array(0), true);
    } else if (stat.type === 'symlink') {
      const link = new ZipPassThrough(rel);
      Object.assign(link, attributes);
      zip.add(link);
      link.push(new TextEncoder().encode(await fs.readlink(full)), true);
    } else if (stat.type === 'file') {
      const file = options.compression === 'store' ? new ZipPassThrough(rel) : new ZipDeflate(rel, { level: 1 });
      Object.assign(file, attributes);
      zip.add(file);
      const reader = (await fs.readStream(full)).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        file.push(value, false);
        loaded += value.length;
        options.onProgress?.(loaded, total);
      }
      file.push(new Uint8Array(0), true);
    }
    // Devices, fifos and sockets have no contents to carry: a zip cannot hold them.
    if (failure) throw failure;
  }
  zip.end();
  if (failure) throw failure;
  return new Blob(parts as BlobPart[], { type: 'application/zip' });
}
