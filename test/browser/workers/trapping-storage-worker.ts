// The real storage worker, except that L1's sah_write import throws when asked to write exactly
// TRAP_WRITE_BYTES bytes. The exception unwinds through the wasm module in the middle of a
// Twrite, as a trap would: the test checks that the failure is reported and the share survives.

import { TRAP_WRITE_BYTES } from './trap-protocol.js';
// Imported statically, so its onmessage is set before the host's first message arrives; the
// patch below is in place long before it instantiates L1 (at 'open').
import '../../../src/storage-worker.js';

function withTrap(imports: WebAssembly.Imports): WebAssembly.Imports {
  const opfs = imports.opfs as Record<string, (...args: number[]) => number>;
  const write = opfs.sah_write!;
  opfs.sah_write = (h, ptr, len, at) => {
    if (len === TRAP_WRITE_BYTES) throw new WebAssembly.RuntimeError('unreachable (injected by the test)');
    return write(h, ptr, len, at);
  };
  return imports;
}

type Instantiate = (source: unknown, imports: WebAssembly.Imports) => Promise<unknown>;
const wasm = WebAssembly as unknown as Record<'instantiate' | 'instantiateStreaming', Instantiate>;
for (const name of ['instantiate', 'instantiateStreaming'] as const) {
  const original = wasm[name].bind(WebAssembly);
  wasm[name] = (source, imports) => original(source, withTrap(imports));
}
