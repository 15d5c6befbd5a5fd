// A connection between clients and a storage worker: one SharedArrayBuffer cut into slots, each
// carrying one 9P message at a time (slot.ts: what a slot holds, and the handshake that passes a
// message through it), and a doorbell: a counter in a second, small SharedArrayBuffer that every
// connection to one storage worker shares, so that the server waits on one word. A connection is
// one 9P session.

import { slotStride } from './slot.js';

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
