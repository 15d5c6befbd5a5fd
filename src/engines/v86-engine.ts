// The v86 engine, run inside a module worker (src/v86-worker.ts): an x86 PC booting the guest's
// kernel, its serial console bridged to the element's terminal, and its virtio-9p device (mount
// tag host9p) answered by the storage worker through the channel's pipelined client.

import { V86 } from 'v86';
import { AsyncChannelClient } from '../channel/async-client.js';
import { FromV86Engine, ToV86Engine, V86Image } from './v86-protocol.js';

/** Serial output is gathered for this long before it is posted, so a screenful is one message. */
const OUTPUT_FLUSH_MS = 8;

export class V86Engine {
  private emulator: V86 | null = null;
  private output: number[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly post: (msg: FromV86Engine, transfer?: Transferable[]) => void) {}

  handle(msg: ToV86Engine): void {
    switch (msg.type) {
      case 'start': this.start(msg.image, msg.wasmUrl, new AsyncChannelClient(msg.share)); break;
      case 'input': this.emulator?.serial0_send(msg.data); break;
      case 'stop': this.stop(); break;
    }
  }

  private start(image: V86Image, wasmUrl: string, share: AsyncChannelClient): void {
    const emulator = new V86({
      wasm_path: wasmUrl,
      bios: { url: image.bios },
      ...(image.vgaBios ? { vga_bios: { url: image.vgaBios } } : {}),
      bzimage: { url: image.kernel },
      ...(image.initrd ? { initrd: { url: image.initrd } } : {}),
      cmdline: image.cmdline,
      memory_size: image.memory * 1024 * 1024,
      vga_memory_size: 2 * 1024 * 1024,
      autostart: true,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
      filesystem: {
        // v86 copies the reply into guest memory before returning, so the reply can be handed
        // over as a view of the shared slot: no copy on our side.
        handle9p: (request: Uint8Array, reply: (r: Uint8Array) => void) => {
          share.call((out) => { out.set(request); return request.length; }, reply).catch((e: unknown) => {
            this.post({ type: 'error', code: 'storage-failed', message: `9P request failed: ${e instanceof Error ? e.message : e}` });
          });
        },
      },
    } as ConstructorParameters<typeof V86>[0]);
    this.emulator = emulator;
    emulator.add_listener('download-progress', (e: { file_name: string; loaded: number; total: number; lengthComputable: boolean }) => {
      this.post({ type: 'progress', what: e.file_name, loaded: e.loaded, total: e.lengthComputable ? e.total : 0 });
    });
    emulator.add_listener('download-error', (e: { file_name: string }) => {
      this.post({ type: 'error', code: 'image-unreachable', message: `could not download ${e.file_name}: check the URL in the image manifest` });
    });
    emulator.add_listener('emulator-started', () => this.post({ type: 'started' }));
    emulator.add_listener('serial0-output-byte', (byte: number) => {
      this.output.push(byte);
      this.flushTimer ??= setTimeout(() => this.flush(), OUTPUT_FLUSH_MS);
    });
  }

  private flush(): void {
    this.flushTimer = null;
    if (!this.output.length) return;
    const data = Uint8Array.from(this.output);
    this.output = [];
    this.post({ type: 'output', data }, [data.buffer]);
  }

  private stop(): void {
    const emulator = this.emulator;
    this.emulator = null;
    this.flush();
    void emulator?.destroy().finally(() => this.post({ type: 'stopped' }));
    if (!emulator) this.post({ type: 'stopped' });
  }
}
