// Copies files and folders from the user's machine into the share: what was dropped on the
// element, picked with an <input type=file>, or handed over as File System Access handles.
// Files stream in chunk by chunk through the storage worker and keep their mtime.

import { ShareFs } from '../client/share-fs.js';
import { ImportResult, TransferProgress, emptyImportResult, joinPath } from './progress.js';

/** Anything the element's importFiles() accepts. */
export type ImportSource = DataTransfer | FileList | Iterable<File> | FileSystemHandle | Iterable<FileSystemHandle>;

/** One thing to copy: a file with its path relative to the destination, or a folder to create. */
export type ImportItem = { path: string; file: File } | { path: string; directory: true };

interface LegacyEntry {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  file?(ok: (f: File) => void, fail: (e: unknown) => void): void;
  createReader?(): { readEntries(ok: (entries: LegacyEntry[]) => void, fail: (e: unknown) => void): void };
}

/**
 * Turns a DataTransfer into handles or entries right away: its items are only readable during the
 * drop event, so this must run before the handler's first await.
 */
export function captureDrop(data: DataTransfer): Promise<ImportItem[]> {
  const items = Array.from(data.items).filter((i) => i.kind === 'file');
  const pending = items.map((item): Promise<ImportItem[]> => {
    const withHandle = item as DataTransferItem & { getAsFileSystemHandle?: () => Promise<FileSystemHandle | null> };
    if (withHandle.getAsFileSystemHandle) {
      const file = item.getAsFile();
      return withHandle.getAsFileSystemHandle().then((h) => (h ? itemsFromHandle(h, '') : file ? [{ path: file.name, file }] : []));
    }
    const entry = (item as DataTransferItem & { webkitGetAsEntry?: () => LegacyEntry | null }).webkitGetAsEntry?.();
    if (entry) return itemsFromEntry(entry, '');
    const file = item.getAsFile();
    return Promise.resolve(file ? [{ path: file.name, file }] : []);
  });
  return Promise.all(pending).then((lists) => lists.flat());
}

async function itemsFromHandle(handle: FileSystemHandle, parent: string): Promise<ImportItem[]> {
  const path = joinPath(parent, handle.name);
  if (handle.kind === 'file') return [{ path, file: await (handle as FileSystemFileHandle).getFile() }];
  const out: ImportItem[] = [{ path, directory: true }];
  for await (const child of (handle as FileSystemDirectoryHandle).values()) out.push(...(await itemsFromHandle(child, path)));
  return out;
}

async function itemsFromEntry(entry: LegacyEntry, parent: string): Promise<ImportItem[]> {
  const path = joinPath(parent, entry.name);
  if (entry.isFile) return [{ path, file: await new Promise<File>((ok, fail) => entry.file!(ok, fail)) }];
  const out: ImportItem[] = [{ path, directory: true }];
  const reader = entry.createReader!();
  // readEntries hands back at most 100 entries a call, and an empty list at the end.
  for (;;) {
    const batch = await new Promise<LegacyEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) break;
    for (const child of batch) out.push(...(await itemsFromEntry(child, path)));
  }
  return out;
}

/** The items of any accepted source (a DataTransfer should go through captureDrop during its event). */
export async function collectItems(source: ImportSource | ImportItem[]): Promise<ImportItem[]> {
  if (typeof DataTransfer !== 'undefined' && source instanceof DataTransfer) return captureDrop(source);
  if (typeof FileSystemHandle !== 'undefined' && source instanceof FileSystemHandle) return itemsFromHandle(source, '');
  const out: ImportItem[] = [];
  for (const x of source as Iterable<File | FileSystemHandle | ImportItem>) {
    if (typeof FileSystemHandle !== 'undefined' && x instanceof FileSystemHandle) out.push(...(await itemsFromHandle(x, '')));
    // A file from <input webkitdirectory> carries its folder path.
    else if (x instanceof File) out.push({ path: joinPath(x.webkitRelativePath || x.name), file: x });
    else out.push(x as ImportItem);
  }
  return out;
}

/** Copies the items into the share under `dest`, creating folders as needed. */
export async function importItems(fs: ShareFs, items: ImportItem[], dest: string, onProgress?: TransferProgress): Promise<ImportResult> {
  const total = items.reduce((n, i) => n + ('file' in i ? i.file.size : 0), 0);
  const result = emptyImportResult();
  const made = new Set<string>();
  const ensureDir = async (path: string) => {
    if (!path || made.has(path)) return;
    await fs.mkdirs(path);
    made.add(path);
  };
  let loaded = 0;
  for (const item of items) {
    const path = joinPath(dest, item.path);
    if ('directory' in item) {
      await ensureDir(path);
      result.directories++;
      continue;
    }
    await ensureDir(joinPath(...path.split('/').slice(0, -1)));
    const before = loaded;
    await fs.writeStream(path, item.file.stream(), {
      mtimeMs: item.file.lastModified,
      onBytes: (n) => { loaded = before + n; onProgress?.(loaded, total); },
    });
    result.files++;
    result.bytes += item.file.size;
  }
  onProgress?.(total, total);
  return result;
}
