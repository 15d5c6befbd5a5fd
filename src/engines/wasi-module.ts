// What the wasi engine can run: a WASI command module (it exports `_start` and its memory) whose
// imports all come from `wasi_snapshot_preview1`, the one interface the engine provides.
// Anything else gets `bad-image` saying what it is and what would run, before instantiation
// would fail with a bare LinkError.

import { VmError } from '../errors.js';

const PROVIDED = 'wasi_snapshot_preview1';

export function checkWasiCommand(module: WebAssembly.Module, src: string): void {
  const name = new URL(src).pathname.split('/').pop() || src;
  const foreign = WebAssembly.Module.imports(module).filter((i) => i.module !== PROVIDED);
  if (foreign.length > 0) {
    const modules = [...new Set(foreign.map((i) => i.module))];
    const sample = foreign.slice(0, 3).map((i) => `${i.module}.${i.name}`).join(', ');
    throw new VmError('bad-image',
      `${name} imports from ${modules.map((m) => `"${m}"`).join(', ')} (${sample}${foreign.length > 3 ? ', …' : ''}), but the wasi engine ` +
      `provides only "${PROVIDED}". It needs a host made for it (a JavaScript runtime such as ruby.wasm's or Pyodide's, or WASI preview 2): ` +
      'use a plain WASI command module, such as a container2wasm image.');
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get('_start') !== 'function') {
    const reactor = exports.get('_initialize') === 'function';
    throw new VmError('bad-image',
      `${name} is not a WASI command module: it exports no _start function${reactor ? ' (it is a reactor: a library with _initialize)' : ''}. ` +
      'The wasi engine runs programs: build it as a command (a main function), as container2wasm images are.');
  }
  if (exports.get('memory') !== 'memory') {
    throw new VmError('bad-image', `${name} exports no memory named "memory", which a WASI host needs to pass data to it.`);
  }
}
