// The storage worker's side of the channel: an async loop that waits on the doorbell with
// Atomics.waitAsync (so OPFS promises keep running), answers every waiting slot of every
// connection in turn, and gives the server quiet moments to make metadata durable.

import { NinePServer, SessionState } from '../storage/server-api.js';
import { encodeMessage, readHeader } from '../wire/codec.js';
import { HEADER_SIZE, MessageType, NOTAG } from '../wire/messages.js';
import { Errno, errnoFromDomError } from '../wire/errno.js';
import { ChannelEndpoint } from './layout.js';
import { Slot, SpinPolicy, ringDoorbell, slotsOf } from './slot.js';
import { waitAsync } from './wait-async.js';

/** Quiet time after the last request before idle work (journal flush, compaction) runs. */
const IDLE_DELAY_MS = 50;
/** Under constant load, idle work still runs at least this often. */
const IDLE_MAX_INTERVAL_MS = 1000;
/**
 * After answering, poll the doorbell this long before waiting (when SpinPolicy allows). A
 * blocking client sends its next request microseconds after its answer; catching it here skips
 * Atomics.waitAsync's wake-up, a task on the event loop. Only right after work, so an idle share
 * costs no CPU.
 */
const SPIN_AFTER_WORK_MS = 0.05;

interface Connection {
  session: number;
  slots: Slot[];
}

export class ChannelServer {
  readonly doorbell = new SharedArrayBuffer(16);
  private readonly bell = new Int32Array(this.doorbell);
  private readonly connections = new Map<number, Connection>();
  private readonly spin = new SpinPolicy(SPIN_AFTER_WORK_MS);
  private stopped = false;
  private finished: Promise<void> | null = null;

  /** `onNoSpace` hears of every ENOSPC (a full storage quota) the server answers or its idle work hits. */
  constructor(private readonly server: NinePServer, private readonly onNoSpace: () => void = () => undefined) {}

  addConnection(endpoint: ChannelEndpoint): void {
    const session = this.server.openSession(endpoint.slotBytes);
    this.connections.set(endpoint.connectionId, { session, slots: slotsOf(endpoint) });
  }

  exportSession(connectionId: number): Promise<SessionState> {
    return this.server.exportSession(this.connection(connectionId).session);
  }

  importSession(connectionId: number, state: SessionState): Promise<void> {
    return this.server.importSession(this.connection(connectionId).session, state);
  }

  private connection(connectionId: number): Connection {
    const c = this.connections.get(connectionId);
    if (!c) throw new Error(`no connection ${connectionId}`);
    return c;
  }

  async removeConnection(connectionId: number): Promise<void> {
    const c = this.connections.get(connectionId);
    if (!c) return;
    this.connections.delete(connectionId);
    await this.server.closeSession(c.session);
  }

  start(): void {
    this.finished ??= this.loop();
  }

  /** Stops after the request in progress and closes the server (flushing everything). */
  async stop(): Promise<void> {
    this.stopped = true;
    ringDoorbell(this.bell);
    await this.finished;
    await this.server.close();
  }

  private async loop(): Promise<void> {
    let lastIdle = performance.now();
    let workSinceIdle = false;
    let justAnswered = false;
    while (!this.stopped) {
      const seen = Atomics.load(this.bell, 0);
      let answered = 0;
      for (const c of this.connections.values()) {
        for (const slot of c.slots) {
          if (!slot.requested) continue;
          const request = slot.take();
          if (!request) this.publish(slot, 0);
          else if (!this.answerNow(c.session, slot, request)) await this.answer(c.session, slot, request);
          answered++;
        }
      }
      if (answered > 0) {
        workSinceIdle = justAnswered = true;
        if (performance.now() - lastIdle > IDLE_MAX_INTERVAL_MS) {
          await this.idle();
          lastIdle = performance.now();
        }
        continue;
      }
      if (justAnswered) {
        justAnswered = false;
        if (this.spin.poll(() => Atomics.load(this.bell, 0) !== seen)) continue;
      }
      const wait = waitAsync(this.bell, 0, seen, workSinceIdle ? IDLE_DELAY_MS : Infinity);
      const outcome = wait.async ? await wait.value : wait.value;
      if (outcome === 'timed-out') {
        await this.idle();
        lastIdle = performance.now();
        workSinceIdle = false;
      }
    }
  }

  /** Idle work that fails (a compaction over a full quota) is retried at the next idle moment. */
  private async idle(): Promise<void> {
    try {
      await this.server.idle();
    } catch (e) {
      if (errnoFromDomError(e) === Errno.ENOSPC) this.onNoSpace();
      else console.error('container-vm storage worker: idle work failed:', e);
    }
  }

  /** Answers without awaiting when the server can (handleNow); false when `answer` must. */
  private answerNow(session: number, slot: Slot, request: Uint8Array): boolean {
    if (!this.server.handleNow) return false;
    let replyLength: number;
    try {
      replyLength = this.server.handleNow(session, request, slot.data);
    } catch (e) {
      console.error('container-vm storage worker:', e);
      replyLength = errorReply(slot.data, request);
    }
    if (replyLength < 0) return false;
    this.publish(slot, replyLength);
    return true;
  }

  private async answer(session: number, slot: Slot, request: Uint8Array): Promise<void> {
    let replyLength: number;
    try {
      replyLength = await this.server.handle(session, request, slot.data);
    } catch (e) {
      // A server bug must not take the channel down: answer EIO and keep serving.
      console.error('container-vm storage worker:', e);
      replyLength = errorReply(slot.data, request);
    }
    this.publish(slot, replyLength);
  }

  /** Hands the answer in `slot` to its client, and tells of a full quota. */
  private publish(slot: Slot, replyLength: number): void {
    // Checked before responding: once answered, the client may reuse the slot.
    const noSpace = isNoSpaceReply(slot.data, replyLength);
    slot.respond(replyLength);
    if (noSpace) this.onNoSpace();
  }
}

/** Rlerror (size[4] type[1] tag[2] ecode[4]) with ENOSPC. */
function isNoSpaceReply(data: Uint8Array, length: number): boolean {
  if (length < HEADER_SIZE + 4 || data[4] !== MessageType.Rlerror) return false;
  return new DataView(data.buffer, data.byteOffset + HEADER_SIZE, 4).getUint32(0, true) === Errno.ENOSPC;
}

/** Rlerror EIO for `request`, written over it in `data`. */
function errorReply(data: Uint8Array, request: Uint8Array): number {
  let tag = NOTAG;
  try { tag = readHeader(request).tag; } catch { /* answer with NOTAG */ }
  return encodeMessage(MessageType.Rlerror, tag, { ecode: Errno.EIO }, data).length;
}
