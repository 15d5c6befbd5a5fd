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
  | 'engine-failed';      // the emulator failed

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
