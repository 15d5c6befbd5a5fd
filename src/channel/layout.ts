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
export const CONTROL_BYTES = 16;
/**
 * The message starts this far past the control words so that an Rread's data (byte 11 of the
 * message) is 8-byte aligned. V8 copies between a SharedArrayBuffer and an ordinary buffer word
 * by word only when both sides are aligned alike, and byte by byte otherwise: copying a 1 MiB
 * read out of the slot took ~200 µs misaligned against ~30 µs aligned (bench/, BENCHMARKS.md).
 */
export const MESSAGE_SKEW = 5;
/** Bytes of a slot before its message: control words and skew, rounded up to keep slots 8-byte aligned. */
export const SLOT_HEADER_BYTES = 24;

export function slotStride(slotBytes: number): number {
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

export function connectionBytes(slots: number, slotBytes: number): number {
  return slots * slotStride(slotBytes);
}
