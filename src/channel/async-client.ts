// The non-blocking side of the channel: several requests in flight, one per slot, each answered
// when the server gets to it. The page's file API (ShareFs, through P9Client) and transfers use it.

import { ChannelEndpoint } from './layout.js';
import { ChannelError, Slot, ringDoorbell, slotsOf } from './slot.js';

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
      slot.request(encode(slot.data));
      ringDoorbell(this.doorbell);
      await slot.waitAsync();
      const reply = slot.reply();
      if (!reply) throw new ChannelError('the storage worker could not answer the message');
      return decode(reply);
    } finally {
      slot.release();
      const next = this.waiting.shift();
      if (next) next(slot); else this.free.push(slot);
    }
  }
}
