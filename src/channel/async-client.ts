// The non-blocking side of the channel: several requests in flight, one per slot, each answered
// when the server gets to it. The page's file API (ShareFs) and transfers use this.

import { ChannelEndpoint, ChannelError, Slot, SlotState, ringDoorbell, slotsOf } from './layout.js';
import { waitAsync } from './wait-async.js';

export class AsyncChannelClient {
  private readonly free: Slot[];
  private readonly waiting: ((slot: Slot) => void)[] = [];
  private readonly doorbell: Int32Array;
  readonly maxMessage: number;

  constructor(endpoint: ChannelEndpoint) {
    this.free = slotsOf(endpoint);
    this.doorbell = new Int32Array(endpoint.doorbell);
    this.maxMessage = endpoint.slotBytes;
  }

  /**
   * Sends one message. `encode` writes it into a free shared slot and returns its length;
   * `decode` reads the reply while the slot is still held (so it may copy straight out of it).
   */
  async call<T>(encode: (out: Uint8Array) => number, decode: (reply: Uint8Array) => T): Promise<T> {
    const slot = this.free.pop() ?? await new Promise<Slot>((resolve) => this.waiting.push(resolve));
    try {
      const { control, data } = slot;
      const length = encode(data);
      Atomics.store(control, 1, length);
      Atomics.store(control, 0, SlotState.Request);
      ringDoorbell(this.doorbell);
      for (let s = Atomics.load(control, 0); s !== SlotState.Response; s = Atomics.load(control, 0)) {
        const w = waitAsync(control, 0, s);
        if (w.async) await w.value;
      }
      const replyLength = Atomics.load(control, 1);
      if (replyLength === 0) throw new ChannelError('the storage worker could not answer the message');
      return decode(data.subarray(0, replyLength));
    } finally {
      Atomics.store(slot.control, 0, SlotState.Idle);
      const next = this.waiting.shift();
      if (next) next(slot); else this.free.push(slot);
    }
  }
}
