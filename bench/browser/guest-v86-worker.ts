// The guest benchmark's reference VM: v86 in a module worker, exactly as src/engines/v86-engine.ts
// sets it up (same image, memory, command line, serial batching), except that its virtio-9p device
// is served by v86's own in-memory filesystem (`filesystem: {}`) instead of our storage worker.

import { V86 } from 'v86';
import type { V86Image } from '../../src/engines/v86-protocol.js';

export type ToGuestV86 =
  | { type: 'start'; image: V86Image; wasmUrl: string }
  | { type: 'input'; data: string }
  | { type: 'stop' };

export type FromGuestV86 =
  | { type: 'output'; data: Uint8Array }
  | { type: 'stopped' };

/** As in the engine: serial output gathered this long is one message. */
const OUTPUT_FLUSH_MS = 8;

const post = (msg: FromGuestV86, transfer: Transferable[] = []) => self.postMessage(msg, { transfer });

let emulator: V86 | null = null;
let output: number[] = [];
let flushTimer: ReturnType<typeof setTimeout> | null = null;

function flush(): void {
  flushTimer = null;
  if (!output.length) return;
  const data = Uint8Array.from(output);
  output = [];
  post({ type: 'output', data }, [data.buffer]);
}

function start(image: V86Image, wasmUrl: string): void {
  emulator = new V86({
    wasm_path: wasmUrl,
    bios: { url: image.bios },
    bzimage: { url: image.kernel },
    ...(image.initrd ? { initrd: { url: image.initrd } } : {}),
    cmdline: image.cmdline,
    memory_size: image.memory * 1024 * 1024,
    vga_memory_size: 2 * 1024 * 1024,
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
    // No basefs/baseurl: an empty filesystem kept in this worker's memory (v86's lib/9p.js).
    filesystem: {},
  } as ConstructorParameters<typeof V86>[0]);
  emulator.add_listener('serial0-output-byte', (byte: number) => {
    output.push(byte);
    flushTimer ??= setTimeout(flush, OUTPUT_FLUSH_MS);
  });
}

self.onmessage = (e: MessageEvent<ToGuestV86>) => {
  const msg = e.data;
  switch (msg.type) {
    case 'start': start(msg.image, msg.wasmUrl); break;
    case 'input': emulator?.serial0_send(msg.data); break;
    case 'stop': {
      const em = emulator;
      emulator = null;
      void (em ? em.destroy() : Promise.resolve()).finally(() => post({ type: 'stopped' }));
      break;
    }
  }
};
