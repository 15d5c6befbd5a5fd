// The v86 engine, run inside a module worker (src/v86-worker.ts): an x86 PC booting the guest's
// kernel, its serial console bridged to the element's terminal, and its virtio-9p device (mount
// tag host9p) answered by the storage worker through the channel (Share9p below: several requests
// in flight, each answered synchronously when the storage worker is quick).

import { V86 } from 'v86';
import { ChannelEndpoint } from '../channel/layout.js';
import { Slot, ringDoorbell, slotsOf } from '../channel/slot.js';
import { FromV86Engine, NetworkConfig, ToV86Engine, V86Image } from './v86-protocol.js';
import { NinePTarget, RootMux } from './root-mux.js';
import { attachNetwork, networkOptions } from './v86-network.js';
import { V86Timing } from './v86-timing.js';

/** Serial output is gathered for this long before it is posted, so a screenful is one message. */
const OUTPUT_FLUSH_MS = 8;

/**
 * How long handle9p blocks this worker for the storage worker's answer before letting it come
 * asynchronously. The guest's 9P client waits for the answer anyway; answering within the guest's
 * virtqueue notification (as v86's own in-memory filesystem does for most messages) skips this
 * worker's event-loop hops: the Atomics.waitAsync task, then v86 waking from the guest's HLT
 * (another task). Under load those hops cost milliseconds per message (bench/node/guest.ts).
 * Slow OPFS calls still go asynchronous.
 */
const SYNC_ANSWER_MS = 20;

/**
 * The guest's virtio-9p requests to the storage worker over the channel: one slot per request in
 * flight, waited for synchronously for up to SYNC_ANSWER_MS, then asynchronously.
 */
class Share9p implements NinePTarget {
  private readonly free: Slot[];
  private readonly queued: (() => void)[] = [];
  private readonly doorbell: Int32Array;
  private inFlight = 0;
  private drainWaiters: (() => void)[] = [];

  constructor(endpoint: ChannelEndpoint, private readonly fail: (message: string) => void) {
    this.free = slotsOf(endpoint);
    this.doorbell = new Int32Array(endpoint.doorbell);
  }

  /** Resolves once every request handed over has been answered (call with the emulator stopped). */
  drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private done(): void {
    if (--this.inFlight > 0) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  handle(request: Uint8Array, reply: (r: Uint8Array) => void): void {
    this.inFlight++;
    const slot = this.free.pop();
    // More requests in flight than slots: v86 hands over a copy, so it can wait for a slot.
    if (!slot) this.queued.push(() => this.send(this.free.pop()!, request, reply));
    else this.send(slot, request, reply);
  }

  private send(slot: Slot, request: Uint8Array, reply: (r: Uint8Array) => void): void {
    if (request.length > slot.data.length) {
      this.free.push(slot);
      this.done();
      this.fail(`9P request failed: a ${request.length}-byte message does not fit the channel's ${slot.data.length}-byte slots`);
      return;
    }
    slot.data.set(request);
    slot.request(request.length);
    ringDoorbell(this.doorbell);
    if (slot.wait(null, SYNC_ANSWER_MS)) this.answer(slot, reply);
    else void slot.waitAsync().then(() => this.answer(slot, reply));
  }

  private answer(slot: Slot, reply: (r: Uint8Array) => void): void {
    try {
      // v86 copies the reply into guest memory before returning, so it can be a view of the slot.
      const answer = slot.reply();
      if (answer) reply(answer);
      else this.fail('9P request failed: the storage worker could not answer the message');
    } finally {
      slot.release();
      this.free.push(slot);
      this.done();
      this.queued.shift()?.();
    }
  }
}

export class V86Engine {
  private emulator: V86 | null = null;
  private timing: V86Timing | null = null;
  private share: NinePTarget | null = null;
  /** The machine may run: loaded (and restored), not paused for the page, not stopped for a save. */
  private loaded = false;
  private paused = false;
  private saving = false;
  /** Stops and runs of the machine, one after another (v86's stop() waits for the slice to end). */
  private transitions: Promise<void> = Promise.resolve();
  private output: number[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private agentOutput: number[] = [];
  private readonly encoder = new TextEncoder();

  constructor(private readonly post: (msg: FromV86Engine, transfer?: Transferable[]) => void) {}

  handle(msg: ToV86Engine): void {
    switch (msg.type) {
      case 'start': {
        const fail = (message: string) => this.post({ type: 'error', code: 'storage-failed', message });
        const share = new Share9p(msg.share, fail);
        this.share = msg.root ? new RootMux(new Share9p(msg.root.endpoint, fail), share, new TextEncoder().encode(msg.root.launch)) : share;
        this.start(msg.image, msg.wasmUrl, this.share, msg.initialState, msg.network);
        break;
      }
      case 'input': this.emulator?.serial0_send(msg.data); break;
      case 'agent': this.emulator?.serial_send_bytes(1, this.encoder.encode(`${msg.line}\n`)); break;
      case 'pause': this.paused = true; void this.settle(); break;
      case 'resume': this.paused = false; void this.settle(); break;
      case 'pause-and-save': void this.pauseAndSave(); break;
      case 'continue': this.saving = false; void this.settle(); break;
      case 'stop': this.stop(); break;
    }
  }

  /**
   * A snapshot is only consistent with the storage worker's session when no 9P request is in
   * flight: the guest would wait forever for an answer to a request the new session never saw.
   */
  private async pauseAndSave(): Promise<void> {
    const emulator = this.emulator;
    if (!emulator || !this.share) return;
    try {
      this.saving = true;
      await this.settle();
      await this.share.drained();
      // Paused for the page too: the state keeps the clock where the guest last saw it.
      if (this.paused) this.timing?.holdClock();
      const state = await emulator.save_state();
      this.post({ type: 'paused', state }, [state]);
    } catch (e) {
      this.saving = false;
      void this.settle();
      this.post({ type: 'error', code: 'snapshot-failed', message: `could not save the VM state: ${e instanceof Error ? e.message : e}` });
    }
  }

  /**
   * Stops or runs the machine as `paused` and `saving` say. Paused for the page, the guest's clock
   * stands still until it runs again (the element's guest agent then sets it); a save's pause is
   * short and the clock runs on through it.
   */
  private settle(): Promise<void> {
    this.transitions = this.transitions.then(async () => {
      const emulator = this.emulator;
      if (!emulator || !this.loaded) return;
      try {
        if (this.paused || this.saving) {
          await emulator.stop();
          if (this.paused) this.timing?.holdClock();
        } else if (!emulator.is_running()) {
          this.timing?.releaseClock();
          await emulator.run();
        }
      } catch (e) {
        this.post({ type: 'error', code: 'engine-failed', message: `the emulator failed: ${e instanceof Error ? e.message : e}` });
      }
    });
    return this.transitions;
  }

  private start(image: V86Image, wasmUrl: string, share: NinePTarget, initialState?: ArrayBuffer, network?: NetworkConfig): void {
    const emulator = new V86({
      wasm_path: wasmUrl,
      bios: { url: image.bios },
      ...(image.vgaBios ? { vga_bios: { url: image.vgaBios } } : {}),
      // A snapshot holds the booted kernel in its memory: no kernel or initrd to download.
      ...(initialState ? {} : {
        bzimage: { url: image.kernel },
        ...(image.initrd ? { initrd: { url: image.initrd } } : {}),
      }),
      cmdline: image.cmdline,
      memory_size: image.memory * 1024 * 1024,
      vga_memory_size: 2 * 1024 * 1024,
      // Run once loaded (below): after V86Timing took over, and unless the page is hidden.
      autostart: false,
      // COM2, for the guest agent (guest/rootfs/sbin/cvm-agent); COM1 is the console.
      uart1: true,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
      filesystem: {
        handle9p: (request: Uint8Array, reply: (r: Uint8Array) => void) => share.handle(request, reply),
      },
      ...(network ? networkOptions(network) : {}),
    } as ConstructorParameters<typeof V86>[0]);
    this.emulator = emulator;
    if (network) attachNetwork(emulator, network, (message) => this.post({ type: 'error', code: 'network-unavailable', message }));
    emulator.add_listener('emulator-loaded', async () => {
      this.timing = V86Timing.install(emulator, (e) => {
        this.post({ type: 'error', code: 'engine-failed', message: `the emulator failed: ${e instanceof Error ? e.message : e}` });
      });
      // Restored here rather than through v86's initial_state option, whose failure (a state from
      // another v86 version, say) would go unreported and leave the VM hanging.
      if (initialState) {
        try {
          await emulator.restore_state(initialState);
        } catch (e) {
          this.post({ type: 'error', code: 'snapshot-failed', message: `could not restore the snapshot: ${e instanceof Error ? e.message : e}` });
          return;
        }
      }
      this.loaded = true;
      void this.settle();
    });
    emulator.add_listener('download-progress', (e: { file_name: string; loaded: number; total: number; lengthComputable: boolean }) => {
      this.post({ type: 'progress', what: e.file_name, loaded: e.loaded, total: e.lengthComputable ? e.total : 0 });
    });
    emulator.add_listener('download-error', (e: { file_name: string }) => {
      this.post({ type: 'error', code: 'image-unreachable', message: `could not download ${e.file_name}: check the URL in the image manifest` });
    });
    // v86 fires emulator-started again when it runs on after pauseAndSave: report the first only.
    let started = false;
    emulator.add_listener('emulator-started', () => {
      if (!started) this.post({ type: 'started' });
      started = true;
    });
    emulator.add_listener('serial0-output-byte', (byte: number) => {
      this.output.push(byte);
      if (this.flushTimer !== null) return;
      this.flushTimer = setTimeout(() => this.flush(), OUTPUT_FLUSH_MS);
      // Someone may be watching the console: the guest's timers keep their precision.
      this.timing?.active();
    });
    // The agent speaks in short lines: each goes to the page as soon as it is complete.
    emulator.add_listener('serial1-output-byte', (byte: number) => {
      this.agentOutput.push(byte);
      if (byte !== 0x0a) return;
      const data = Uint8Array.from(this.agentOutput);
      this.agentOutput = [];
      this.post({ type: 'agent', data }, [data.buffer]);
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
