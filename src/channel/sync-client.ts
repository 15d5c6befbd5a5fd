// The blocking side of the channel, for code that must return synchronously (S1's WASI calls).
// Atomics.wait is only allowed off the main thread, so this runs in a worker.

import { ChannelEndpoint } from './layout.js';
import { ChannelError, Slot, SpinPolicy, ringDoorbell, slotsOf } from './slot.js';
import { MessageType } from '../wire/messages.js';

/** How long to poll for the answer before sleeping in Atomics.wait (when SpinPolicy allows). */
const SPIN_MS = 0.05;
/**
 * Reads and writes of open files poll longer: a raw 4 KiB write takes 20-40 µs here with a long
 * tail, so a 50 µs window missed most writes and both sides paid their futex wake-ups
 * (~20-30 µs each). 4 KiB write at an offset, 50 µs → 150 µs: 57.7 → 28.5 and 61.1 → 49.8 µs in
 * two A/B pairs (BENCHMARKS.md, "Polling per message type").
 */
const SPIN_IO_MS = 0.15;
const IO_TYPES: ReadonlySet<number> = new Set([MessageType.Tread, MessageType.Twrite]);

export class SyncChannelClient {
  private readonly slot: Slot;
  /** A second slot, when the connection has one, for messages whose answer nobody waits for. */
  private readonly postSlot: Slot | null;
  /** The slots after those two, for batches of independent messages. */
  private readonly batchSlots: Slot[];
  private readonly doorbell: Int32Array;
  /**
   * One policy per message type: slow messages (creates, renames, fsync: OPFS calls of
   * milliseconds) back off on their own without pushing the fast ones into sleeping.
   */
  private readonly spins = new Map<number, SpinPolicy>();
  /** Whether a message posted on postSlot awaits collection by settle(). */
  private posted = false;
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
  call<T>(encode: (out: Uint8Array) => number, decode: (reply: Uint8Array) => T): T {
    const { slot } = this;
    slot.request(encode(slot.data));
    ringDoorbell(this.doorbell);
    // Fast answers (reads, writes, getattr of open files) come back in a few µs: poll first.
    slot.wait(this.spinFor(slot.data));
    try {
      return decode(answerOf(slot));
    } finally {
      slot.release();
    }
  }

  /**
   * Sends a message on the second slot and returns without its answer (false when the connection
   * has one slot only: use call). The answer is collected by settle(), which the next post calls first.
   */
  post(encode: (out: Uint8Array) => number): boolean {
    const slot = this.postSlot;
    if (!slot) return false;
    this.settle();
    slot.request(encode(slot.data));
    ringDoorbell(this.doorbell);
    this.posted = true;
    return true;
  }

  /** Waits for the answer to the last post, if any; true when there was one to wait for. */
  settle(): boolean {
    if (!this.posted) return false;
    this.posted = false;
    this.postSlot!.wait();
    this.postSlot!.release();
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
    if (encodes.length === 0) return [];
    encodes.forEach((encode, i) => {
      const slot = this.batchSlots[i]!;
      slot.request(encode(slot.data));
    });
    const spin = this.spinFor(this.batchSlots[0]!.data);
    ringDoorbell(this.doorbell);
    // Every slot is waited for and freed, even after a failure, before anything is thrown.
    let failure: unknown = null;
    const out = encodes.map((_, i) => {
      const slot = this.batchSlots[i]!;
      slot.wait(spin);
      try {
        return decode(answerOf(slot), i);
      } catch (e) {
        failure ??= e;
        return undefined as T;
      } finally {
        slot.release();
      }
    });
    if (failure) throw failure;
    return out;
  }

  /** The polling policy for the message in `request` (a 9P message: size[4] type[1] ...). */
  private spinFor(request: Uint8Array): SpinPolicy {
    const type = request[4]!;
    let spin = this.spins.get(type);
    if (!spin) {
      spin = new SpinPolicy(IO_TYPES.has(type) ? SPIN_IO_MS : SPIN_MS);
      this.spins.set(type, spin);
    }
    return spin;
  }
}

function answerOf(slot: Slot): Uint8Array {
  const reply = slot.reply();
  if (!reply) throw new ChannelError('the storage worker could not answer the message');
  return reply;
}
