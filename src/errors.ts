// Errors the element reports in its `error` event: a stable code and a message saying what to do.

export type VmErrorCode =
  | 'not-isolated'        // no SharedArrayBuffer: COOP/COEP headers missing
  | 'unsupported-browser' // the browser lacks something else the element needs (named in the message)
  | 'no-opfs'             // the browser has no Origin Private File System
  | 'assets-unreachable'  // the element's own workers or wasm files could not be loaded
  | 'image-unreachable'   // src could not be fetched
  | 'bad-image'           // src is not an image this element understands
  | 'engine-unavailable'  // the engine for this image is not available
  | 'backend-unavailable' // the chosen 9P server backend is not available
  | 'storage-failed'      // the storage worker failed
  | 'bad-arguments'       // an attribute is not valid: args or env that cannot be split into words, network, cors-proxy
  | 'share-busy'          // another tab or element has this opfs-root open (Web Lock held)
  | 'quota-exceeded'      // the origin's storage quota is full: a write got ENOSPC
  | 'snapshot-failed'     // saving or resuming a VM snapshot failed
  | 'network-unavailable' // the network relay cannot be reached or went away; the VM runs on without a network
  | 'engine-failed'       // the emulator failed
  | 'transfer-failed'     // copying files into or out of the share failed
  | 'zip-unreachable'     // importZip could not fetch its URL
  | 'bad-zip';            // importZip got something that is not a zip it can read

export class VmError extends Error {
  /** Set once an `error` event carried this error, so that callers further up do not fire it again. */
  reported = false;

  constructor(readonly code: VmErrorCode | string, message: string) {
    super(message);
  }
}

/** What error messages recommend: the browsers the tests run in. */
export const SUPPORTED_BROWSERS = 'a current Chromium (150 or later) or Firefox (ESR 140 or later)';

/** DOMExceptions with a code of their own, and what the user can do about them. */
const DOM_EXCEPTIONS: Record<string, { code: VmErrorCode; hint: string }> = {
  QuotaExceededError: { code: 'quota-exceeded', hint: 'This site\'s storage quota is full: delete files from the share or free storage for this site.' },
  NotSupportedError: { code: 'unsupported-browser', hint: `This browser does not support something container-vm needs: use ${SUPPORTED_BROWSERS}.` },
};

/**
 * A VmError for anything thrown: its own string `code` when it has one, else `fallback`. A
 * DOMException's numeric `code` (a legacy number, 9 or 11) never becomes the element's code.
 */
export function toVmError(e: unknown, fallback: VmErrorCode): VmError {
  if (e instanceof VmError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (typeof DOMException !== 'undefined' && e instanceof DOMException) {
    const known = DOM_EXCEPTIONS[e.name];
    return new VmError(known?.code ?? fallback, known ? `${e.name}: ${message.replace(/\.?$/, '.')} ${known.hint}` : `${e.name}: ${message}`);
  }
  const code = (e as { code?: unknown } | null)?.code;
  return new VmError(typeof code === 'string' ? code : fallback, message);
}
