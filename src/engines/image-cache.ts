// The wasi engine's image cache in OPFS (/emulator/cache, beside the shares): a reload starts
// without downloading the image again. Every start revalidates with the server (ETag /
// Last-Modified); a changed image replaces the cached copy, and an unreachable server falls back to it.

import { VmError } from '../errors.js';

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

async function readCached(dir: FileSystemDirectoryHandle, key: string, entry: CacheEntry): Promise<ArrayBuffer | null> {
  try {
    const bytes = await (await (await dir.getFileHandle(`${key}.wasm`)).getFile()).arrayBuffer();
    return bytes.byteLength === entry.size ? bytes : null;
  } catch {
    return null;
  }
}

async function writeFile(dir: FileSystemDirectoryHandle, name: string, bytes: Uint8Array): Promise<void> {
  const handle = await (await dir.getFileHandle(name, { create: true })).createSyncAccessHandle();
  try {
    handle.truncate(0);
    handle.write(bytes, { at: 0 });
    handle.flush();
  } finally {
    handle.close();
  }
}

async function download(response: Response, progress: Progress): Promise<Uint8Array<ArrayBuffer>> {
  const total = Number(response.headers.get('Content-Length') ?? 0);
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = response.body!.getReader();
  progress(0, total);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    progress(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

function badImage(url: string, e: unknown): VmError {
  return new VmError('bad-image', `${url} is not a WebAssembly module: ${e instanceof Error ? e.message : e}`);
}

/**
 * The image at `url`, compiled: from the cache when the server says it has not changed (HTTP 304).
 * The cached copy is read and compiled while the server is asked, so a hit costs about the slower of
 * the two rather than their sum.
 */
export async function loadModule(url: string, progress: Progress): Promise<LoadedModule> {
  const dir = await cacheDir();
  const key = await keyFor(url);
  const entry = await readEntry(dir, key);
  const cachedModule: Promise<WebAssembly.Module | null> = entry
    ? readCached(dir, key, entry).then((b) => (b ? WebAssembly.compile(b) : null)).catch(() => null)
    : Promise.resolve(null);
  // no-store keeps the HTTP cache out (the OPFS copy is the cache); it would also send
  // "Cache-Control: no-cache", which servers built on the `fresh` module (koa, express) read as
  // "never answer 304". max-age=0 asks for revalidation all the same.
  const plain: Record<string, string> = { 'Cache-Control': 'max-age=0' };
  const conditional = { ...plain };
  if (entry?.etag) conditional['If-None-Match'] = entry.etag;
  if (entry?.lastModified) conditional['If-Modified-Since'] = entry.lastModified;
  let response: Response;
  try {
    response = await fetch(url, { headers: conditional, cache: 'no-store' });
    if (response.status === 304) {
      const module = await cachedModule;
      if (module) return { module, cached: true };
      // The entry said we had it, but the copy is gone or damaged: ask for the whole image.
      response = await fetch(url, { headers: plain, cache: 'no-store' });
    }
  } catch (e) {
    const module = await cachedModule;
    if (module) return { module, cached: true };
    throw new VmError('image-unreachable', `could not fetch the image ${url}: ${e instanceof Error ? e.message : e}. Check the src attribute and that the server is reachable.`);
  }
  if (!response.ok) {
    const module = response.status >= 500 ? await cachedModule : null;
    if (module) return { module, cached: true };
    throw new VmError('image-unreachable', `the image ${url} answered HTTP ${response.status}. Check the src attribute.`);
  }
  const bytes = await download(response, progress);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (e) {
    throw badImage(url, e);
  }
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
  return { module, cached: false };
}
