// One slot of a connection and the handshake that passes a message through it, for every client
// (blocking, pipelined, v86's) and the server alike; and how a waiter decides to poll or sleep.
//
// A slot is state[i32] length[i32] reserved[8] skew[5] data[slotBytes] padding to a multiple of 8.
// A client writes a T-message into an idle slot, sets Request and rings the doorbell; the server
// answers in the same slot, sets Response and wakes the slot's waiter.

import type { ChannelEndpoint } from './layout.js';
import { waitAsync as atomicsWaitAsync } from './wait-async.js';

export const enum SlotState { Idle = 0, Request = 1, Busy = 2, Response = 3 }

/** A slot's control words: state[i32] length[i32] reserved[8]. */
const CONTROL_BYTES = 16;
/**
 * The message starts this far past the control words so that an Rread's data (byte 11 of the
 * message) is 8-byte aligned. V8 copies between a SharedArrayBuffer and an ordinary buffer word
 * by word only when both sides are aligned alike, and byte by byte otherwise: copying a 1 MiB
 * read out of the slot took ~200 µs misaligned against ~30 µs aligned (bench/, BENCHMARKS.md).
 */
const MESSAGE_SKEW = 5;
/** Bytes of a slot before its message: control words and skew, rounded up to keep slots 8-byte aligned. */
const SLOT_HEADER_BYTES = 24;

export function slotStride(slotBytes: number): number {
  return SLOT_HEADER_BYTES + Math.ceil(slotBytes / 8) * 8;
}

/**
 * One slot and its handshake. The client writes a message into `data`, calls request() and rings
 * the doorbell, waits (wait() or waitAsync()), reads reply() and calls release(). The server finds
 * the slot requested, take()s the message, writes its answer into `data` and calls respond().
 */
export class Slot {
  readonly control: Int32Array;
  readonly data: Uint8Array;

  constructor(buffer: SharedArrayBuffer, index: number, slotBytes: number) {
    const offset = index * slotStride(slotBytes);
    this.control = new Int32Array(buffer, offset, 2);
    this.data = new Uint8Array(buffer, offset + CONTROL_BYTES + MESSAGE_SKEW, slotBytes);
  }

  get state(): SlotState { return Atomics.load(this.control, 0); }

  // ---- the client's side ----

  /** Hands the `length`-byte message written into `data` to the server (the caller rings the doorbell). */
  request(length: number): void {
    Atomics.store(this.control, 1, length);
    Atomics.store(this.control, 0, SlotState.Request);
  }

  get answered(): boolean { return Atomics.load(this.control, 0) === SlotState.Response; }

  /**
   * Blocks (Atomics.wait, so only off the main thread) until the answer is in or `timeoutMs` has
   * passed, polling first when `spin` allows; true once the answer is in.
   */
  wait(spin: SpinPolicy | null = null, timeoutMs = Infinity): boolean {
    const { control } = this;
    if (spin?.poll(() => this.answered)) return true;
    if (timeoutMs === Infinity) {
      for (let s = Atomics.load(control, 0); s !== SlotState.Response; s = Atomics.load(control, 0)) Atomics.wait(control, 0, s);
      return true;
    }
    const deadline = performance.now() + timeoutMs;
    for (let s = Atomics.load(control, 0); s !== SlotState.Response; s = Atomics.load(control, 0)) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(control, 0, s, left);
    }
    return true;
  }

  /** Resolves once the answer is in, leaving the thread free meanwhile. */
  async waitAsync(): Promise<void> {
    const { control } = this;
    for (let s = Atomics.load(control, 0); s !== SlotState.Response; s = Atomics.load(control, 0)) {
      const w = atomicsWaitAsync(control, 0, s);
      if (w.async) await w.value;
    }
  }

  /** The answer, valid until release(); null when the server could not answer the message at all. */
  reply(): Uint8Array | null {
    const length = Atomics.load(this.control, 1);
    return length > 0 ? this.data.subarray(0, length) : null;
  }

  /** Frees the slot for the next message. */
  release(): void {
    Atomics.store(this.control, 0, SlotState.Idle);
  }

  // ---- the server's side ----

  get requested(): boolean { return Atomics.load(this.control, 0) === SlotState.Request; }

  /** Marks the slot busy and returns the message in it; null when its length cannot be right. */
  take(): Uint8Array | null {
    Atomics.store(this.control, 0, SlotState.Busy);
    const length = Atomics.load(this.control, 1);
    return length < 0 || length > this.data.length ? null : this.data.subarray(0, length);
  }

  /** Publishes the `length`-byte answer written into `data` (0: none could be made) and wakes the client. */
  respond(length: number): void {
    Atomics.store(this.control, 1, length);
    Atomics.store(this.control, 0, SlotState.Response);
    Atomics.notify(this.control, 0);
  }
}

export function slotsOf(endpoint: Pick<ChannelEndpoint, 'connection' | 'slots' | 'slotBytes'>): Slot[] {
  return Array.from({ length: endpoint.slots }, (_, i) => new Slot(endpoint.connection, i, endpoint.slotBytes));
}

export function ringDoorbell(doorbell: Int32Array): void {
  Atomics.add(doorbell, 0, 1);
  Atomics.notify(doorbell, 0);
}

/**
 * Whether to poll a shared word before sleeping on it, learned from how polling went lately.
 * Polling pays when the other side answers within the window (a futex sleep and wake-up costs
 * 5-20 µs in a VM, far more than a read of an open file), and wastes the window when it does not:
 * slow OPFS calls, or more busy threads than cores, where the poller even takes the core the
 * other side needs. So every miss doubles the number of calls that skip polling (up to 64), and
 * a hit resets it. Measurements in BENCHMARKS.md.
 */
export class SpinPolicy {
  private skip = 0;
  private backoff = 1;

  constructor(private readonly windowMs: number) {}

  /** Polls `ready` for up to the window, unless backing off; true once it is ready. */
  poll(ready: () => boolean): boolean {
    if (this.skip > 0) {
      this.skip--;
      return false;
    }
    const end = performance.now() + this.windowMs;
    do {
      if (ready()) {
        this.backoff = 1;
        return true;
      }
    } while (performance.now() < end);
    this.skip = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 64);
    return false;
  }
}

/** Raised when the server could not answer a message at all (it was too short to carry a tag). */
export class ChannelError extends Error {}
