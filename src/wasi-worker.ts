// Entry point of the wasi engine's module worker, beside container-vm.js in build/src and dist/
// (the element finds it with new URL('./wasi-worker.js', import.meta.url)).

import { runWasi } from './engines/wasi-engine.js';
import { ToWasiEngine } from './engines/wasi-protocol.js';

self.onmessage = (e: MessageEvent<ToWasiEngine>) => {
  if (e.data.type === 'start') void runWasi(e.data, (msg, transfer) => self.postMessage(msg, { transfer: transfer ?? [] }));
};
