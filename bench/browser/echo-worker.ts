// The floor's server side: a worker that answers a raw SharedArrayBuffer channel with no 9P and
// no store in between. It holds a FileSystemSyncAccessHandle so it can also serve reads and
// writes, which is the least any storage worker could do for a read or write over shared memory.
// `mode: 'wait'` blocks in Atomics.wait (the floor); `mode: 'waitAsync'` waits the way the real
// channel server must (it has to keep its event loop free for OPFS promises), to show that cost
// (through src/channel/wait-async.ts: Atomics.waitAsync, or its helper-worker fallback);
// `mode: 'spin'` polls for up to 50 µs after each answer before Atomics.wait, as the channel does.

import { MiB, RAW_HEADER_BYTES, RAW_ROOT, RawOp, RawState, SPIN_MS, opfsDir, pollFor } from './protocol.js';
import { waitAsync } from '../../src/channel/wait-async.js';

interface Start {
  sab: SharedArrayBuffer;
  mode: 'wait' | 'waitAsync' | 'spin';
  /** File in the raw root to serve reads and writes from. */
  file: string;
}

self.onmessage = async (e: MessageEvent<Start>) => {
  const { sab, mode, file } = e.data;
  const ctrl = new Int32Array(sab, 0, 4);
  const data = new Uint8Array(sab, RAW_HEADER_BYTES);
  const source = new Uint8Array(MiB).fill(0x5a);
  const handle = await (await (await opfsDir(RAW_ROOT)).getFileHandle(file)).createSyncAccessHandle();
  self.postMessage('ready');

  // Returns false on Stop.
  const serve = (): boolean => {
    const op = ctrl[1]!, n = ctrl[2]!, at = ctrl[3]!;
    switch (op) {
      case RawOp.Fill: data.set(source.subarray(0, n)); break;
      case RawOp.Read: handle.read(data.subarray(0, n), { at }); break;
      case RawOp.Write: handle.write(data.subarray(0, n), { at }); break;
    }
    Atomics.store(ctrl, 0, RawState.Response);
    Atomics.notify(ctrl, 0);
    return op !== RawOp.Stop;
  };

  if (mode !== 'waitAsync') {
    for (;;) {
      if (mode === 'spin') pollFor(SPIN_MS, () => Atomics.load(ctrl, 0) === RawState.Request);
      for (let s = Atomics.load(ctrl, 0); s !== RawState.Request; s = Atomics.load(ctrl, 0)) Atomics.wait(ctrl, 0, s);
      if (!serve()) break;
    }
  } else {
    for (;;) {
      for (let s = Atomics.load(ctrl, 0); s !== RawState.Request; s = Atomics.load(ctrl, 0)) {
        const w = waitAsync(ctrl, 0, s);
        if (w.async) await w.value;
      }
      if (!serve()) break;
    }
  }
  handle.close();
  self.postMessage('stopped');
};
