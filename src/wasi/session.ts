// One 9P session on the storage worker for S1: the blocking client, fid numbers and walks.

import { ChannelEndpoint } from '../channel/layout.js';
import { SyncChannelClient } from '../channel/sync-client.js';
import { Attr, SyncP9Client } from '../p9/client.js';
import { Qid } from '../p9/codec.js';
import { Errno, FsError } from '../p9/errno.js';
import { IO_OVERHEAD, MAXWELEM, MessageType, NOFID, QidType } from '../p9/messages.js';

export interface Walked { fid: number; qid: Qid | null }

export class P9Session {
  readonly rootFid: number;
  private nextFid = 1;
  private readonly freeFids: number[] = [];
  /** A fid whose Tclunk was posted and not yet answered: not reusable until it is. */
  private clunking: number | null = null;

  private constructor(readonly client: SyncP9Client) {
    client.version();
    this.rootFid = this.takeFid();
    client.rpc(MessageType.Tattach, { fid: this.rootFid, afid: NOFID, uname: 'root', aname: '', nUname: 0 });
  }

  /** Connects over a channel endpoint (from StorageHost.connect). Blocks: call it in a worker. */
  static connect(endpoint: ChannelEndpoint): P9Session {
    return new P9Session(new SyncP9Client(new SyncChannelClient(endpoint)));
  }

  /** The most data one Tread or Twrite carries. */
  get ioSize(): number { return this.client.msize - IO_OVERHEAD; }

  private takeFid(): number { return this.freeFids.pop() ?? this.nextFid++; }

  /**
   * Walks from `from` along `names` into a new fid. The qid is the last element's (null for an
   * empty walk, which clones `from`). Throws ENOENT (or the server's errno) unless all of it walks.
   */
  walk(from: number, names: readonly string[]): Walked {
    const fid = this.takeFid();
    try {
      let at = from;
      let qid: Qid | null = null;
      let i = 0;
      // Twalk carries at most MAXWELEM names: longer paths walk on from the new fid.
      do {
        const part = names.slice(i, i + MAXWELEM);
        const qids = this.client.rpc(MessageType.Twalk, { fid: at, newfid: fid, names: part }).qids as Qid[];
        if (qids.length !== part.length) {
          // A walk that stops at a non-directory is ENOTDIR, as path resolution reports it.
          const last = qids[qids.length - 1];
          throw new FsError(last && !(last.type & QidType.Dir) ? Errno.ENOTDIR : Errno.ENOENT, names.join('/'));
        }
        if (part.length) qid = qids[qids.length - 1]!;
        at = fid;
        i += MAXWELEM;
      } while (i < names.length);
      return { fid, qid };
    } catch (e) {
      // After the first chunk the fid is bound (a partial walk of fid onto itself leaves it where it was).
      if (names.length > MAXWELEM) this.clunkQuiet(fid);
      this.freeFids.push(fid);
      throw e;
    }
  }

  /**
   * Releases a fid. With a second slot on the connection the Tclunk goes out without waiting for its
   * answer (a stat is then two round trips instead of three); the fid is reused once it is answered.
   */
  clunk(fid: number): void {
    this.settleClunk();
    if (this.client.postClunk(fid)) {
      this.clunking = fid;
      return;
    }
    try {
      this.client.rpc(MessageType.Tclunk, { fid });
    } finally {
      this.freeFids.push(fid);
    }
  }

  private settleClunk(): void {
    if (this.clunking === null) return;
    this.client.settleClunk();
    this.freeFids.push(this.clunking);
    this.clunking = null;
  }

  private clunkQuiet(fid: number): void {
    try { this.client.rpc(MessageType.Tclunk, { fid }); } catch { /* the fid was not bound */ }
  }

  /** Runs `fn` on a fid walked along `names`, clunking it afterwards. */
  at<T>(from: number, names: readonly string[], fn: (w: Walked) => T): T {
    const w = this.walk(from, names);
    try {
      return fn(w);
    } finally {
      this.clunk(w.fid);
    }
  }

  getattr(fid: number): Attr {
    return this.client.rpc(MessageType.Tgetattr, { fid, requestMask: 0x3fff }) as unknown as Attr;
  }

  setattr(fid: number, valid: number, a: { size?: number; atime?: [number, number]; mtime?: [number, number] }): void {
    this.client.rpc(MessageType.Tsetattr, {
      fid, valid, mode: 0, uid: 0, gid: 0, size: a.size ?? 0,
      atimeSec: a.atime?.[0] ?? 0, atimeNsec: a.atime?.[1] ?? 0, mtimeSec: a.mtime?.[0] ?? 0, mtimeNsec: a.mtime?.[1] ?? 0,
    });
  }
}
