// The real storage worker, except that L1's sah_write import throws when asked to write exactly
// TRAP_WRITE_BYTES bytes. The exception unwinds through the wasm module in the middle of a
// Twrite, as a trap would: the test checks that the failure is reported and the share survives.

import { TRAP_WRITE_BYTES } from './trap-protocol.js';
// Imported statically, so its onmessage is set before the host's first message arrives; the
// patch below is in place long before it instantiates L1 (at 'open').
import '../../../src/storage-worker.js';

const instantiate = WebAssembly.instantiate.bind(WebAssembly) as (bytes: BufferSource, imports: WebAssembly.Imports) => Promise<WebAssembly.WebAssemblyInstantiatedSource>;
(WebAssembly as { instantiate: unknown }).instantiate = (bytes: BufferSource, imports: WebAssembly.Imports) => {
  const opfs = imports.opfs as Record<string, (...args: number[]) => number>;
  const write = opfs.sah_write!;
  opfs.sah_write = (h, ptr, len, at) => {
    if (len === TRAP_WRITE_BYTES) throw new WebAssembly.RuntimeError('unreachable (injected by the test)');
    return write(h, ptr, len, at);
  };
  return instantiate(bytes, imports);
};
