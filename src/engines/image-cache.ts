// The wasi engine's image cache in OPFS (/emulator/cache, beside the shares): a reload starts
// without downloading the image again. A start with a cached copy runs it at once, without waiting
// for the network, and the page revalidates it meanwhile (ETag / Last-Modified): a changed image
// replaces the cached copy and runs from the next start on. Without a cached copy, the start
// downloads the image (with progress) and caches it.

import { VmError } from '../errors.js';
import { readAll } from '../streams.js';

interface CacheEntry { url: string; etag: string | null; lastModified: string | null; size: number }

export interface LoadedModule { module: WebAssembly.Module; cached: boolean }

type Progress = (loaded: number, total: number) => void;

async function cacheDir(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  const emulator = await root.getDirectoryHandle('emulator', { create: true });
  return emulator.getDirectoryHandle('cache', { create: true });
}

async function keyFor(url: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(url));
  return Array.from(new Uint8Array(digest).subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function readEntry(dir: FileSystemDirectoryHandle, key: string): Promise<CacheEntry | null> {
  try {
    const file = await (await dir.getFileHandle(`${key}.json`)).getFile();
    return JSON.parse(await file.text()) as CacheEntry;
  } catch {
    return null;
  }
}

/** Whether the cached copy is there and as big as its entry says (without reading it). */
async function cachedCopyIsWhole(dir: FileSystemDirectoryHandle, key: string, entry: CacheEntry): Promise<boolean> {
  try {
    return (await (await dir.getFileHandle(`${key}.wasm`)).getFile()).size === entry.size;
  } catch {
    return false;
  }
}

/** Writes through a writable stream: it works on the page and in workers, and replaces the file on close. */
async function writeFile(dir: FileSystemDirectoryHandle, name: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
  const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
  await writable.write(bytes);
  await writable.close();
}

async function download(response: Response, progress: Progress): Promise<Uint8Array<ArrayBuffer>> {
  const total = Number(response.headers.get('Content-Length') ?? 0);
  progress(0, total);
  return readAll(response.body!, (loaded) => progress(loaded, total));
}

/** The cached copy of `url`, or null when there is none or it is not the size its entry says. */
export async function cachedBytes(url: string): Promise<Uint8Array<ArrayBuffer> | null> {
  try {
    const dir = await cacheDir();
    const key = await keyFor(url);
    const entry = await readEntry(dir, key);
    if (!entry) return null;
    const bytes = await readWhole(await dir.getFileHandle(`${key}.wasm`));
    return bytes.length === entry.size ? bytes : null;
  } catch {
    return null;
  }
}

/**
 * A file's bytes. In a worker a read-only sync access handle reads 8 MiB in about a millisecond,
 * where File.arrayBuffer() (or streaming it into the compiler) takes 12 ms here; while the page
 * is replacing the file (a writable is open) the handle is refused, and the File path is used.
 */
async function readWhole(handle: FileSystemFileHandle): Promise<Uint8Array<ArrayBuffer>> {
  if ('createSyncAccessHandle' in handle) {
    try {
      const sync = await handle.createSyncAccessHandle({ mode: 'read-only' });
      try {
        const out = new Uint8Array(sync.getSize());
        if (sync.read(out, { at: 0 }) === out.length) return out;
      } finally {
        sync.close();
      }
    } catch {
      // Fall through to the File.
    }
  }
  return new Uint8Array(await (await handle.getFile()).arrayBuffer());
}

/** The cached copy of `url`, compiled, or null when there is none (or it is damaged). */
export async function cachedModule(url: string): Promise<WebAssembly.Module | null> {
  try {
    const bytes = await cachedBytes(url);
    return bytes && await WebAssembly.compile(bytes);
  } catch {
    return null;
  }
}

/**
 * Asks the server whether `url` changed since it was cached (a conditional GET; an unconditional one
 * when nothing is cached) and, when it did, downloads it and replaces the cached copy. Returns the new
 * bytes, or null when the cached copy is current (`force`: download whatever is cached). `progress`
 * follows the download.
 */
export async function refreshImage(url: string, progress: Progress, force = false): Promise<Uint8Array<ArrayBuffer> | null> {
  const dir = await cacheDir();
  const key = await keyFor(url);
  const entry = await readEntry(dir, key);
  const cached = !force && entry !== null && await cachedCopyIsWhole(dir, key, entry);
  // no-store keeps the HTTP cache out (the OPFS copy is the cache); it would also send
  // "Cache-Control: no-cache", which servers built on the `fresh` module (koa, express) read as
  // "never answer 304". max-age=0 asks for revalidation all the same.
  const headers: Record<string, string> = { 'Cache-Control': 'max-age=0' };
  if (cached && entry.etag) headers['If-None-Match'] = entry.etag;
  if (cached && entry.lastModified) headers['If-Modified-Since'] = entry.lastModified;
  let response: Response;
  try {
    response = await fetch(url, { headers, cache: 'no-store' });
  } catch (e) {
    throw new VmError('image-unreachable', `could not fetch the image ${url}: ${e instanceof Error ? e.message : e}. Check the src attribute and that the server is reachable.`);
  }
  if (response.status === 304 && cached) return null;
  if (!response.ok) throw new VmError('image-unreachable', `the image ${url} answered HTTP ${response.status}. Check the src attribute.`);
  const bytes = await download(response, progress);
  const fresh: CacheEntry = { url, etag: response.headers.get('ETag'), lastModified: response.headers.get('Last-Modified'), size: bytes.length };
  try {
    // Entry out, image, entry in: an entry never describes a half-written or different image.
    await dir.removeEntry(`${key}.json`).catch(() => undefined);
    await writeFile(dir, `${key}.wasm`, bytes);
    await writeFile(dir, `${key}.json`, new TextEncoder().encode(JSON.stringify(fresh)));
  } catch (e) {
    // A full quota or a second tab holding the file only costs the next start a download.
    console.warn(`container-vm: could not cache ${url} in OPFS:`, e);
  }
  return bytes;
}

/**
 * The image at `url`, compiled: the cached copy when there is one (`cached`: the caller should then
 * revalidate it with refreshImage), else downloaded and cached.
 */
export async function loadModule(url: string, progress: Progress): Promise<LoadedModule> {
  const hit = await cachedModule(url);
  if (hit) return { module: hit, cached: true };
  const bytes = (await refreshImage(url, progress, true))!;
  try {
    return { module: await WebAssembly.compile(bytes), cached: false };
  } catch (e) {
    throw new VmError('bad-image', `${url} is not a WebAssembly module: ${e instanceof Error ? e.message : e}`);
  }
}
