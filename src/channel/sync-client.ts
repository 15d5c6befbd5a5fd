// The blocking side of the channel, for code that must return synchronously (S1's WASI calls).
// Atomics.wait is only allowed off the main thread, so this runs in a worker.

import { ChannelEndpoint, ChannelError, Slot, SlotState, SpinPolicy, ringDoorbell, slotsOf } from './layout.js';

/** How long to poll for the answer before sleeping in Atomics.wait (when SpinPolicy allows). */
const SPIN_MS = 0.05;

export class SyncChannelClient {
  private readonly slot: Slot;
  private readonly doorbell: Int32Array;
  private readonly spin = new SpinPolicy(SPIN_MS);
  readonly maxMessage: number;

  constructor(endpoint: ChannelEndpoint) {
    this.slot = slotsOf(endpoint)[0]!;
    this.doorbell = new Int32Array(endpoint.doorbell);
    this.maxMessage = endpoint.slotBytes;
  }

  /**
   * Sends one message and blocks for the answer. `encode` writes the T-message straight into
   * the shared slot and returns its length; `decode` reads the reply from the slot, which stays
   * valid only until `decode` returns.
   */
  call<T>(encode: (out: Uint8Array) => number, decode: (reply: Uint8Array) => T): T {
    const { control, data } = this.slot;
    const length = encode(data);
    Atomics.store(control, 1, length);
    Atomics.store(control, 0, SlotState.Request);
    ringDoorbell(this.doorbell);
    // Fast answers (reads, writes, getattr of open files) come back in a few µs: poll first.
    this.spin.poll(() => Atomics.load(control, 0) === SlotState.Response);
    for (let s = Atomics.load(control, 0); s !== SlotState.Response; s = Atomics.load(control, 0)) {
      Atomics.wait(control, 0, s);
    }
    const replyLength = Atomics.load(control, 1);
    try {
      if (replyLength === 0) throw new ChannelError('the storage worker could not answer the message');
      return decode(data.subarray(0, replyLength));
    } finally {
      Atomics.store(control, 0, SlotState.Idle);
    }
  }
}
