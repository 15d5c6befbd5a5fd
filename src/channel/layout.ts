// The SharedArrayBuffer layout shared by the channel's clients and its server.
//
// A connection is one SharedArrayBuffer cut into slots. A slot carries one 9P message at a time:
//   state[i32] length[i32] reserved[8] skew[5] data[slotBytes] padding to a multiple of 8
// A client writes a T-message into an idle slot, sets REQUEST and rings the doorbell (a counter
// in a second, small SharedArrayBuffer that every connection to one storage worker shares, so
// the server waits on one word). The server answers in the same slot, sets RESPONSE and wakes
// the slot's waiter. A connection is one 9P session.

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
export const SLOT_HEADER_BYTES = 24;

function slotStride(slotBytes: number): number {
  return SLOT_HEADER_BYTES + Math.ceil(slotBytes / 8) * 8;
}

/** Default largest message: a 1 MiB read or write plus its 9P header fits in one slot. */
export const DEFAULT_MAX_MESSAGE = 1024 * 1024 + 4096;

/** Everything a client needs to talk to a storage worker; structured-cloneable to any worker. */
export interface ChannelEndpoint {
  connectionId: number;
  connection: SharedArrayBuffer;
  doorbell: SharedArrayBuffer;
  slots: number;
  slotBytes: number;
}

export class Slot {
  readonly control: Int32Array;
  readonly data: Uint8Array;

  constructor(buffer: SharedArrayBuffer, index: number, slotBytes: number) {
    const offset = index * slotStride(slotBytes);
    this.control = new Int32Array(buffer, offset, 2);
    this.data = new Uint8Array(buffer, offset + CONTROL_BYTES + MESSAGE_SKEW, slotBytes);
  }

  get state(): SlotState { return Atomics.load(this.control, 0); }
  get length(): number { return Atomics.load(this.control, 1); }
}

export function connectionBytes(slots: number, slotBytes: number): number {
  return slots * slotStride(slotBytes);
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
