// The blocking side of the channel, for code that must return synchronously (S1's WASI calls).
// Atomics.wait is only allowed off the main thread, so this runs in a worker.

import { ChannelEndpoint, ChannelError, Slot, SlotState, SpinPolicy, ringDoorbell, slotsOf } from './layout.js';

/** How long to poll for the answer before sleeping in Atomics.wait (when SpinPolicy allows). */
const SPIN_MS = 0.05;

export class SyncChannelClient {
  private readonly slot: Slot;
  /** A second slot, when the connection has one, for messages whose answer nobody waits for. */
  private readonly postSlot: Slot | null;
  /** The slots after those two, for batches of independent messages. */
  private readonly batchSlots: Slot[];
  private readonly doorbell: Int32Array;
  private readonly spin = new SpinPolicy(SPIN_MS);
  readonly maxMessage: number;

  constructor(endpoint: ChannelEndpoint) {
    const slots = slotsOf(endpoint);
    this.slot = slots[0]!;
    this.postSlot = slots[1] ?? null;
    this.batchSlots = slots.slice(2);
    this.doorbell = new Int32Array(endpoint.doorbell);
    this.maxMessage = endpoint.slotBytes;
  }

  /**
   * Sends one message and blocks for the answer. `encode` writes the T-message straight into
   * the shared slot and returns its length; `decode` reads the reply from the slot, which stays
   * valid only until `decode` returns.
   */
  /**
   * Sends a message on the second slot and returns without its answer (false when the connection
   * has one slot only: use call). The answer is collected by settle(), which the next post calls first.
   */
  post(encode: (out: Uint8Array) => number): boolean {
    if (!this.postSlot) return false;
    this.settle();
    const { control, data } = this.postSlot;
    Atomics.store(control, 1, encode(data));
    Atomics.store(control, 0, SlotState.Request);
    ringDoorbell(this.doorbell);
    return true;
  }

  /** Waits for the answer to the last post, if any; true when there was one to wait for. */
  settle(): boolean {
    if (!this.postSlot) return false;
    const { control } = this.postSlot;
    let s = Atomics.load(control, 0);
    if (s === SlotState.Idle) return false;
    for (; s !== SlotState.Response; s = Atomics.load(control, 0)) Atomics.wait(control, 0, s);
    Atomics.store(control, 0, SlotState.Idle);
    return true;
  }

  /** How many messages batch() sends at once: 0 when the connection has no slots beyond two. */
  get batchSize(): number { return this.batchSlots.length; }

  /**
   * Sends up to batchSize independent messages at once, one per slot, and blocks until all are
   * answered: the storage worker answers every waiting slot in one pass, so a batch costs about
   * one round trip. `decode` reads reply i from its slot (valid until it returns).
   */
  batch<T>(encodes: ((out: Uint8Array) => number)[], decode: (reply: Uint8Array, i: number) => T): T[] {
    if (encodes.length > this.batchSlots.length) throw new RangeError(`a batch of ${encodes.length} messages, for ${this.batchSlots.length} slots`);
    encodes.forEach((encode, i) => {
      const { control, data } = this.batchSlots[i]!;
      Atomics.store(control, 1, encode(data));
      Atomics.store(control, 0, SlotState.Request);
    });
    ringDoorbell(this.doorbell);
    // Every slot is waited for and freed, even after a failure, before anything is thrown.
    let failure: unknown = null;
    const out = encodes.map((_, i) => {
      const { control, data } = this.batchSlots[i]!;
      this.spin.poll(() => Atomics.load(control, 0) === SlotState.Response);
      for (let s = Atomics.load(control, 0); s !== SlotState.Response; s = Atomics.load(control, 0)) Atomics.wait(control, 0, s);
      const replyLength = Atomics.load(control, 1);
      try {
        if (replyLength === 0) throw new ChannelError('the storage worker could not answer the message');
        return decode(data.subarray(0, replyLength), i);
      } catch (e) {
        failure ??= e;
        return undefined as T;
      } finally {
        Atomics.store(control, 0, SlotState.Idle);
      }
    });
    if (failure) throw failure;
    return out;
  }

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
