// The wasi engine's image cache in OPFS (/emulator/cache, beside the shares): a reload starts
// without downloading the image again. A start with a cached copy compiles it from OPFS at once,
// without waiting for the network, and the page revalidates it meanwhile (ETag / Last-Modified of
// the .wasm, or of a chunk manifest and every chunk): a changed image replaces the cached copy and
// runs from the next start on. Without a cached copy, the start downloads the image and compiles
// it as it arrives, each piece written to OPFS on its way to the compiler.
//
// Memory: images are hundreds of megabytes, so they are never held whole by this code: bytes flow
// from the network or from OPFS into WebAssembly.compileStreaming in pieces, and the compiled
// module's own copy (which V8 keeps) is the only full one.

import { VmError } from '../errors.js';
import { Progress, Validators, downloadImage, revalidate } from './image-source.js';

interface CacheEntry { version: 2; url: string; size: number; validators: Validators[] }

export interface LoadedModule { module: WebAssembly.Module; cached: boolean }

/** Bytes per read of the cached copy: large enough for few calls, small next to any image. */
const READ_PIECE = 4 * 1024 * 1024;

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
    const entry = JSON.parse(await file.text()) as Partial<CacheEntry>;
    // Entries of earlier versions are not trusted: the image is fetched again.
    return entry.version === 2 && Array.isArray(entry.validators) && typeof entry.size === 'number' ? entry as CacheEntry : null;
  } catch {
    return null;
  }
}

async function removeEntry(dir: FileSystemDirectoryHandle, key: string): Promise<void> {
  await dir.removeEntry(`${key}.json`).catch(() => undefined);
}

/** The cached copy's file, when its entry is there and says it is complete (checked without reading it). */
async function cachedCopy(url: string): Promise<{ file: FileSystemFileHandle; entry: CacheEntry } | null> {
  try {
    const dir = await cacheDir();
    const key = await keyFor(url);
    const entry = await readEntry(dir, key);
    if (!entry) return null;
    const file = await dir.getFileHandle(`${key}.wasm`);
    return (await file.getFile()).size === entry.size ? { file, entry } : null;
  } catch {
    return null;
  }
}

/** The handle of the cached copy of `url`, or null (the benchmark reads it alone, as a floor). */
export async function cachedImageFile(url: string): Promise<FileSystemFileHandle | null> {
  return (await cachedCopy(url))?.file ?? null;
}

/** Where downloaded bytes go: a sync access handle in a worker (fast), a writable stream on the page. */
interface CacheWriter {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

async function openWriter(file: FileSystemFileHandle): Promise<CacheWriter> {
  if ('createSyncAccessHandle' in file) {
    try {
      const sync = await file.createSyncAccessHandle();
      sync.truncate(0);
      let at = 0;
      return {
        async write(bytes) {
          for (let done = 0; done < bytes.length;) done += sync.write(bytes.subarray(done), { at: at + done });
          at += bytes.length;
        },
        async close() { sync.flush(); sync.close(); },
        async abort() { sync.close(); },
      };
    } catch {
      // Another tab holds the file: the writable below waits its turn instead.
    }
  }
  // A writable writes to a swap file and replaces the cached copy only on close.
  const writable = await file.createWritable();
  return { write: (b) => writable.write(b as Uint8Array<ArrayBuffer>), close: () => writable.close(), abort: () => writable.abort() };
}

/**
 * Passes the download's bytes on while writing them to the cache as the copy of `url`. Entry out,
 * image, entry in: an entry never describes a half-written or different image. A cache that cannot
 * be written (a full quota, another tab) only costs the next start a download.
 */
async function* cacheWhileReading(url: string, bytes: AsyncGenerator<Uint8Array>, validators: Validators[]): AsyncGenerator<Uint8Array, void, undefined> {
  let writer: CacheWriter | null = null;
  let dir: FileSystemDirectoryHandle | null = null;
  let key = '';
  const giveUp = (e: unknown) => {
    console.warn(`container-vm: could not cache ${url} in OPFS:`, e);
    void writer?.abort().catch(() => undefined);
    writer = null;
  };
  try {
    dir = await cacheDir();
    key = await keyFor(url);
    await removeEntry(dir, key);
    writer = await openWriter(await dir.getFileHandle(`${key}.wasm`, { create: true }));
  } catch (e) {
    giveUp(e);
  }
  let size = 0;
  let finished = false;
  try {
    for await (const piece of bytes) {
      if (writer) await writer.write(piece).catch(giveUp);
      size += piece.length;
      yield piece;
    }
    finished = true;
  } finally {
    // Reached on completion, on an error, and when the consumer stops early (the compiler failed).
    const w = writer as CacheWriter | null;
    if (w && !finished) await w.abort().catch(() => undefined);
    if (w && finished) {
      try {
        await w.close();
        const entry: CacheEntry = { version: 2, url, size, validators };
        const json = await (await dir!.getFileHandle(`${key}.json`, { create: true })).createWritable();
        await json.write(JSON.stringify(entry));
        await json.close();
      } catch (e) {
        giveUp(e);
      }
    }
  }
}

/**
 * A stream that pulls from `pieces` as the reader asks (the compiler sets the pace). `failed` keeps
 * what the source threw: the compiler reports a failed stream with an error of its own.
 */
function streamOf(pieces: AsyncGenerator<Uint8Array>, failed: { error?: unknown }): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await pieces.next();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (e) {
        failed.error = e;
        throw e;
      }
    },
    async cancel() {
      await pieces.return(undefined);
    },
  }, { highWaterMark: 0 });
}

/** The cached copy's bytes, piece by piece: through a read-only sync access handle in a worker, else the File. */
async function* readPieces(file: FileSystemFileHandle): AsyncGenerator<Uint8Array, void, undefined> {
  let sync: FileSystemSyncAccessHandle | null = null;
  if ('createSyncAccessHandle' in file) {
    // Refused while the page is replacing the file (a writable is open): then the File is read.
    sync = await file.createSyncAccessHandle({ mode: 'read-only' }).catch(() => null);
  }
  if (!sync) {
    const reader = (await file.getFile()).stream().getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) yield r.value;
    return;
  }
  try {
    const size = sync.getSize();
    for (let at = 0; at < size;) {
      const piece = new Uint8Array(Math.min(READ_PIECE, size - at));
      const n = sync.read(piece, { at });
      if (n === 0) throw new Error('the cached copy is shorter than it was');
      at += n;
      yield n === piece.length ? piece : piece.subarray(0, n);
    }
  } finally {
    sync.close();
  }
}

/** Compiles the module as its bytes arrive; a failure of the source is thrown as the source threw it. */
async function compile(pieces: AsyncGenerator<Uint8Array>): Promise<WebAssembly.Module> {
  const failed: { error?: unknown } = {};
  try {
    return await WebAssembly.compileStreaming(new Response(streamOf(pieces, failed), { headers: { 'Content-Type': 'application/wasm' } }));
  } catch (e) {
    throw failed.error ?? e;
  }
}

/** The cached copy of `url`, compiled, or null when there is none (or it is damaged). */
export async function compileCached(url: string): Promise<WebAssembly.Module | null> {
  const hit = await cachedCopy(url);
  if (!hit) return null;
  try {
    return await compile(readPieces(hit.file));
  } catch {
    return null;
  }
}

/** Downloads `url`, caching it and compiling it as it arrives. */
export async function downloadAndCompile(url: string, progress: Progress): Promise<WebAssembly.Module> {
  const download = await downloadImage(url, progress);
  try {
    return await compile(cacheWhileReading(url, download.bytes, download.validators));
  } catch (e) {
    if (e instanceof VmError) throw e;
    // Not a module: it must not stay in the cache.
    await removeEntry(await cacheDir(), await keyFor(url)).catch(() => undefined);
    throw new VmError('bad-image', `${url} is not a WebAssembly module: ${e instanceof Error ? e.message : e}`);
  }
}

/**
 * Revalidates the cached copy of `url` (conditional GETs) and, when the image changed or nothing
 * is cached, downloads it into the cache. Returns whether it downloaded. `progress` follows the download.
 */
export async function refreshImage(url: string, progress: Progress): Promise<boolean> {
  const hit = await cachedCopy(url);
  const changed = hit ? await revalidate(hit.entry.validators) : true;
  if (changed === null) return false;
  const download = await downloadImage(url, progress, changed === true ? undefined : changed);
  for await (const piece of cacheWhileReading(url, download.bytes, download.validators)) void piece;
  return true;
}

/**
 * The image at `url`, compiled: the cached copy when there is one (`cached`: the caller should then
 * revalidate it with refreshImage), else downloaded, cached and compiled as it arrives.
 */
export async function loadModule(url: string, progress: Progress): Promise<LoadedModule> {
  const hit = await compileCached(url);
  if (hit) return { module: hit, cached: true };
  return { module: await downloadAndCompile(url, progress), cached: false };
}
