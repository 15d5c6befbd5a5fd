// Errors the element reports in its `error` event: a stable code and a message saying what to do.

export type VmErrorCode =
  | 'not-isolated'        // no SharedArrayBuffer: COOP/COEP headers missing
  | 'no-opfs'             // the browser has no Origin Private File System
  | 'image-unreachable'   // src could not be fetched
  | 'bad-image'           // src is not an image this element understands
  | 'engine-unavailable'  // the engine for this image is not available
  | 'backend-unavailable' // the chosen 9P server backend is not available
  | 'storage-failed'      // the storage worker failed
  | 'bad-arguments'       // the args or env attribute cannot be split into words
  | 'share-busy'          // another tab or element has this opfs-root open (Web Lock held)
  | 'quota-exceeded'      // the origin's storage quota is full: a write got ENOSPC
  | 'snapshot-failed'     // saving or resuming a VM snapshot failed
  | 'engine-failed'       // the emulator failed
  | 'transfer-failed'     // copying files into or out of the share failed
  | 'zip-unreachable'     // importZip could not fetch its URL
  | 'bad-zip';            // importZip got something that is not a zip it can read

export class VmError extends Error {
  constructor(readonly code: VmErrorCode | string, message: string) {
    super(message);
  }
}

export function toVmError(e: unknown, fallback: VmErrorCode): VmError {
  if (e instanceof VmError) return e;
  const code = (e as { code?: string } | null)?.code;
  return new VmError(code ?? fallback, e instanceof Error ? e.message : String(e));
}
