// Entry point of the v86 engine's module worker. It sits beside container-vm.js (and the storage
// worker) in build/src and in dist/, so the element finds it with new URL('./v86-worker.js', import.meta.url).

import { V86Engine } from './engines/v86-engine.js';
import { ToV86Engine } from './engines/v86-protocol.js';

const engine = new V86Engine((msg, transfer) => self.postMessage(msg, { transfer: transfer ?? [] }));
self.onmessage = (e: MessageEvent<ToV86Engine>) => engine.handle(e.data);
