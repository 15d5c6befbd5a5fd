// What container-vm needs from the browser, checked before anything starts, so that a browser
// lacking something gets one error naming exactly that, and what the user can do.
//   page:           cross-origin isolation and SharedArrayBuffer (the channel between workers), OPFS
//   storage worker: FileSystemFileHandle.createSyncAccessHandle (synchronous file I/O in OPFS)
//   L1 backend:     JSPI (WebAssembly.Suspending / promising), checked where L1 loads (src/l1)
// Atomics.waitAsync is not needed: src/channel/wait-async.ts stands in where it is missing.

import { SUPPORTED_BROWSERS as BROWSERS, VmError } from './errors.js';

/** The first thing the page lacks, or null. */
export function pageSupportError(): VmError | null {
  if (!globalThis.crossOriginIsolated) {
    return new VmError('not-isolated',
      'SharedArrayBuffer is unavailable because the page is not cross-origin isolated: serve it (and its workers) with the headers ' +
      '"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp", ' +
      'or, on a host that cannot send headers, load container-vm-sw.js (the service-worker option) before the element.');
  }
  if (typeof SharedArrayBuffer === 'undefined') {
    return new VmError('unsupported-browser',
      'This browser offers no SharedArrayBuffer although the page is cross-origin isolated; container-vm needs it to pass ' +
      `messages between its workers. Use ${BROWSERS}, or turn SharedArrayBuffer on in this browser's settings.`);
  }
  return storageSupportError();
}

/** OPFS itself, checked on the page and again in the storage worker. */
export function storageSupportError(): VmError | null {
  if (typeof navigator.storage?.getDirectory !== 'function') {
    return new VmError('no-opfs',
      'This browser has no Origin Private File System (navigator.storage.getDirectory), where the share is stored. ' +
      `Use ${BROWSERS}; if this is a private window, open the page in a normal one (some browsers turn OPFS off there).`);
  }
  return null;
}

const NO_SYNC_ACCESS =
  'This browser\'s Origin Private File System cannot open files for synchronous access in a worker ' +
  '(FileSystemFileHandle.createSyncAccessHandle), which container-vm\'s storage worker needs';

/** In the storage worker: what it lacks to serve a share, or null. */
export function storageWorkerSupportError(): VmError | null {
  const handle = (globalThis as { FileSystemFileHandle?: { prototype: object } }).FileSystemFileHandle;
  if (!handle || typeof (handle.prototype as { createSyncAccessHandle?: unknown }).createSyncAccessHandle !== 'function') {
    return new VmError('unsupported-browser', `${NO_SYNC_ACCESS}. Use ${BROWSERS}.`);
  }
  return storageSupportError();
}

/** createSyncAccessHandle exists but the browser's storage refuses it (WebKitGTK: NotSupportedError). */
export function syncAccessRefused(e: unknown): VmError | null {
  if ((e as { name?: string } | null)?.name !== 'NotSupportedError') return null;
  return new VmError('unsupported-browser', `${NO_SYNC_ACCESS}: it failed with "${(e as Error).message}". Use ${BROWSERS}.`);
}

/**
 * container-vm-sw.js, loaded before the element on a page that is not isolated yet, is about to
 * reload it isolated: the promise settles only if that reload will not happen after all.
 */
export function isolationReload(): Promise<void> | null {
  if (globalThis.crossOriginIsolated) return null;
  return (globalThis as { containerVmIsolationReload?: Promise<void> }).containerVmIsolationReload ?? null;
}
