// The 9P2000.L client over the channel, in two drivers of one core (op.ts, file.ts): P9Client
// sends without blocking (the page's `fs`, transfers, tests), SyncP9Client blocks in a worker (S1).
// Both encode straight into the shared slot and raise FsError with the server's errno.

import { AsyncChannelClient } from '../channel/async-client.js';
import { SyncChannelClient } from '../channel/sync-client.js';
import { decodeMessage, encodeMessage } from '../wire/codec.js';
import { Errno, FsError } from '../wire/errno.js';
import { IO_OVERHEAD, MessageType, NOFID, NOTAG, Reply, Request, RequestType, VERSION_9P2000_L } from '../wire/messages.js';
import { P9File, releasing } from './file.js';
import { FidTable, Op, Step, call, map, runAsync, runBlocking } from './op.js';

export type Mode = 'sync' | 'async';
/** What a call gives: the value itself on the blocking client, a promise of it on the other. */
export type Result<M extends Mode, T> = M extends 'sync' ? T : Promise<T>;

/**
 * The fields of the reply in `bytes` to a request of `type`; an Rlerror is thrown as FsError. Its
 * data is copied out unless `copy` is false: the slot carries the next message once the caller is done.
 */
export function replyTo<T extends RequestType>(bytes: Uint8Array, type: T, copy = true): Reply<T> {
  const m = decodeMessage(bytes);
  if (m.type === MessageType.Rlerror) throw new FsError(m.fields.ecode);
  if (m.type !== type + 1) throw new FsError(Errno.EPROTO, `expected reply type ${type + 1}, got ${m.type}`);
  if (copy && 'data' in m.fields) m.fields.data = m.fields.data.slice();
  // The message is the reply to `type` (checked above), so these are its fields.
  return m.fields as Reply<T>;
}

/** A 9P session: its fid numbers, message size and tags, and the operations every file shares. */
export abstract class Client<M extends Mode> {
  /** The message size agreed by version(). */
  msize = 0;
  readonly fids = new FidTable();
  private tag = 0;

  /** @param maxMessage the largest message the channel carries */
  constructor(readonly maxMessage: number) {}

  /** Sends one request and returns its reply's fields; an Rlerror is thrown as FsError. */
  abstract send(step: Step): Result<M, unknown>;

  /** Runs an operation (op.ts), sending each of its requests with send(). */
  abstract run<R>(op: Op<R>): Result<M, R>;

  /** The most data one Tread or Twrite carries. */
  get ioSize(): number { return this.msize - IO_OVERHEAD; }

  /** Sends a request of `type` with its fields; returns the reply's fields. */
  rpc<T extends RequestType>(type: T, fields: Request<T>): Result<M, Reply<T>> {
    // As call() does, without an operation to run: the most frequent requests take this path.
    return this.send({ type, fields } as Step) as Result<M, Reply<T>>;
  }

  /** Tversion: starts the session afresh (every fid is gone) with at most `msize`-byte messages. */
  version(msize = this.maxMessage, version = VERSION_9P2000_L): Result<M, Reply<MessageType.Tversion>> {
    return this.run(negotiate(this, msize, version));
  }

  /** A new fid on the share's root, for user `uid`. */
  attach(uid = 0, uname = 'root', aname = ''): Result<M, P9File<M>> {
    return this.run(attach(this, uid, uname, aname));
  }

  /** version() then attach(): the share's root. */
  connect(uid = 0): Result<M, P9File<M>> {
    return this.run(connect(this, uid));
  }

  /** Tclunk; the fid's number is taken again only once the server has let it go. */
  clunk(fid: number): Result<M, void> {
    return this.run(releasing(this, fid, map(call(MessageType.Tclunk, { fid }), () => undefined)));
  }

  /** The tag of the next request (any but NOTAG, which Tversion alone may carry). */
  protected nextTag(): number {
    this.tag = (this.tag + 1) % NOTAG;
    return this.tag;
  }
}

function* negotiate<M extends Mode>(client: Client<M>, msize: number, version: string): Op<Reply<MessageType.Tversion>> {
  const r = yield* call(MessageType.Tversion, { msize, version });
  client.msize = r.msize;
  return r;
}

function* connect<M extends Mode>(client: Client<M>, uid: number): Op<P9File<M>> {
  yield* negotiate(client, client.maxMessage, VERSION_9P2000_L);
  return yield* attach(client, uid, 'root', '');
}

function* attach<M extends Mode>(client: Client<M>, uid: number, uname: string, aname: string): Op<P9File<M>> {
  const fid = client.fids.take();
  try {
    const { qid } = yield* call(MessageType.Tattach, { fid, afid: NOFID, uname, aname, nUname: uid });
    return new P9File(client, fid, qid);
  } catch (e) {
    client.fids.give(fid);
    throw e;
  }
}

/** The asynchronous client: several requests in flight, on the page or in any worker. */
export class P9Client extends Client<'async'> {
  constructor(private readonly channel: AsyncChannelClient) {
    super(channel.maxMessage);
  }

  send(step: Step): Promise<unknown> {
    const tag = this.nextTag();
    return this.channel.call(
      (out) => encodeMessage<RequestType>(step.type, tag, step.fields, out).length,
      (reply) => replyTo(reply, step.type),
    );
  }

  run<R>(op: Op<R>): Promise<R> {
    return runAsync(op, (step) => this.send(step));
  }

  /** Sends raw bytes (tests use it for malformed messages) and returns the raw reply. */
  raw(bytes: Uint8Array): Promise<Uint8Array> {
    return this.channel.call((out) => { out.set(bytes); return bytes.length; }, (reply) => reply.slice());
  }
}

/** The blocking client: the same session answered synchronously (in a worker only: Atomics.wait). */
export class SyncP9Client extends Client<'sync'> {
  /** A fid whose Tclunk was posted and is not answered yet: its number is not given back before. */
  private clunking: number | null = null;

  constructor(private readonly channel: SyncChannelClient) {
    super(channel.maxMessage);
  }

  send(step: Step): unknown {
    const tag = this.nextTag();
    return this.channel.call(
      (out) => encodeMessage<RequestType>(step.type, tag, step.fields, out).length,
      (reply) => replyTo(reply, step.type),
    );
  }

  run<R>(op: Op<R>): R {
    return runBlocking(op, (step) => this.send(step));
  }

  /** Tread straight into `dest` (for example WebAssembly memory): one copy from the shared slot. */
  readInto(fid: number, offset: number, dest: Uint8Array): number {
    const tag = this.nextTag();
    return this.channel.call(
      (out) => encodeMessage(MessageType.Tread, tag, { fid, offset, count: Math.min(dest.length, this.ioSize) }, out).length,
      (reply) => {
        const { data } = replyTo(reply, MessageType.Tread, false);
        dest.set(data);
        return data.length;
      },
    );
  }

  /**
   * With a second slot on the connection, the Tclunk goes out without waiting for its answer (a
   * stat is then two round trips instead of three); the number is reused once it is answered.
   */
  override clunk(fid: number): void {
    this.settleClunk();
    const tag = this.nextTag();
    if (this.channel.post((out) => encodeMessage(MessageType.Tclunk, tag, { fid }, out).length)) {
      this.clunking = fid;
      return;
    }
    super.clunk(fid);
  }

  private settleClunk(): void {
    if (this.clunking === null) return;
    this.channel.settle();
    this.fids.give(this.clunking);
    this.clunking = null;
  }

  /** How many requests batch() sends at once (0: the connection has no slots for batches). */
  get batchSize(): number { return this.channel.batchSize; }

  /**
   * One request of `type` per entry of `list`, sent batchSize at a time (about one round trip
   * each); returns each reply's fields, or the FsError it carried.
   */
  batch<T extends RequestType>(type: T, list: Request<T>[]): (Reply<T> | FsError)[] {
    const out: (Reply<T> | FsError)[] = [];
    for (let i = 0; i < list.length; i += this.batchSize) {
      const part = list.slice(i, i + this.batchSize).map((fields) => {
        const tag = this.nextTag();
        return (o: Uint8Array) => encodeMessage<RequestType>(type, tag, fields, o).length;
      });
      out.push(...this.channel.batch(part, (reply) => {
        try {
          return replyTo(reply, type);
        } catch (e) {
          if (e instanceof FsError) return e;
          throw e;
        }
      }));
    }
    return out;
  }
}
