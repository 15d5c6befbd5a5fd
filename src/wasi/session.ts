// One 9P session on the storage worker for S1: the blocking client, fid numbers and walks, and what
// S1 keeps between requests to spare round trips. Every request wakes the storage worker's thread
// and then this one, which costs tens of microseconds on a busy machine, while an emulator such as
// TinyEMU reads and writes 8 KiB at a time and looks a path up several times per guest system call.
// So, within rules that keep the share coherent (docs/container2wasm.md):
//   - consecutive writes to one file are gathered and sent as one Twrite: before any other request
//     of this session, when the program sleeps or exits, and at the latest WRITE_DELAY_MS after the
//     first (checked at each clock read and poll). A failure of gathered writes is reported by the
//     file's next write, fsync or close;
//   - attributes of looked-up paths (path_filestat_get, and those of a directory's entries, fetched
//     in batches when it is listed) and data read ahead of sequential reads are used for at most
//     REMEMBER_MS, and not at all after anything this session changed, or after the program slept
//     (the page may have changed the share meanwhile).

import { ChannelEndpoint } from '../channel/layout.js';
import { SyncChannelClient } from '../channel/sync-client.js';
import { Attr, SyncP9Client } from '../client/client.js';
import { Fields, Qid, decodeMessage, encodeMessage } from '../wire/codec.js';
import { Errno, FsError } from '../wire/errno.js';
import { IO_OVERHEAD, MAXWELEM, MessageType, NOFID, OpenFlag, QidType } from '../wire/messages.js';

export interface Walked { fid: number; qid: Qid | null }

/** How long S1 uses what it remembered (FUSE's default attribute and entry timeout). */
export const REMEMBER_MS = 1000;
/** How long S1 keeps writes gathered while the program runs on. */
export const WRITE_DELAY_MS = 100;
/** The most paths remembered at once. */
const MAX_MEMORIES = 65536;
/** The most bytes gathered for one Twrite. */
const GATHER_BYTES = 256 * 1024;

/** Requests that change the share (Tlopen does when it truncates). */
const CHANGES = new Set<MessageType>([
  MessageType.Tlcreate, MessageType.Tsymlink, MessageType.Tmknod, MessageType.Trename, MessageType.Tsetattr,
  MessageType.Txattrcreate, MessageType.Tlink, MessageType.Tmkdir, MessageType.Trenameat, MessageType.Tunlinkat,
  MessageType.Twrite, MessageType.Tremove,
]);

/** Who gathered writes belong to: a failure to send them is handed back to it. */
export interface WriteOwner { failedWrite: unknown }

interface Gathered { fid: number; offset: number; length: number; since: number; owner: WriteOwner }

export class P9Session {
  readonly rootFid: number;
  private nextFid = 1;
  private readonly freeFids: number[] = [];
  /** A fid whose Tclunk was posted and not yet answered: not reusable until it is. */
  private clunking: number | null = null;
  /** Bumped by every change this session makes and when the program sleeps: older memories are void. */
  private generation = 0;
  private readonly memories = new Map<string, { generation: number; at: number; value: unknown }>();
  private gathered: Gathered | null = null;
  private readonly gatherBuffer: Uint8Array;

  private constructor(readonly client: SyncP9Client, private readonly channel: SyncChannelClient) {
    client.version();
    this.gatherBuffer = new Uint8Array(Math.min(GATHER_BYTES, this.ioSize));
    this.rootFid = this.takeFid();
    client.rpc(MessageType.Tattach, { fid: this.rootFid, afid: NOFID, uname: 'root', aname: '', nUname: 0 });
  }

  /** Connects over a channel endpoint (from StorageHost.connect). Blocks: call it in a worker. */
  static connect(endpoint: ChannelEndpoint): P9Session {
    const channel = new SyncChannelClient(endpoint);
    return new P9Session(new SyncP9Client(channel), channel);
  }

  /** The most data one Tread or Twrite carries. */
  get ioSize(): number { return this.client.msize - IO_OVERHEAD; }

  /** A stamp for what is read now: valid(stamp) says whether it may still be used. */
  get stamp(): { generation: number; at: number } { return { generation: this.generation, at: performance.now() }; }

  valid(stamp: { generation: number; at: number }): boolean {
    return stamp.generation === this.generation && performance.now() - stamp.at < REMEMBER_MS;
  }

  /** Sends a request (gathered writes first, so that it sees them). */
  rpc(type: MessageType, fields: Fields): Fields {
    this.sendGathered();
    if (CHANGES.has(type) || (type === MessageType.Tlopen && (fields.flags as number) & OpenFlag.Truncate)) this.changed();
    return this.client.rpc(type, fields);
  }

  /** Tread straight into `dest`; returns the count. */
  readInto(fid: number, offset: number, dest: Uint8Array): number {
    this.sendGathered();
    return this.client.readInto(fid, offset, dest);
  }

  /**
   * Writes `src` at `offset` of the open `fid`: gathered when it continues the writes gathered for
   * that fid, else sent (after what was gathered). Returns the count.
   */
  write(fid: number, offset: number, src: Uint8Array, owner: WriteOwner): number {
    const g = this.gathered;
    if (g && g.fid === fid && offset === g.offset + g.length && g.length + src.length <= this.gatherBuffer.length) {
      this.gatherBuffer.set(src, g.length);
      g.length += src.length;
      return src.length;
    }
    this.sendGathered();
    this.changed();
    if (src.length > this.gatherBuffer.length / 2) return this.writeNow(fid, offset, src);
    this.gatherBuffer.set(src);
    this.gathered = { fid, offset, length: src.length, since: performance.now(), owner };
    return src.length;
  }

  private writeNow(fid: number, offset: number, src: Uint8Array): number {
    const step = this.ioSize;
    let done = 0;
    do {
      const n = this.client.rpc(MessageType.Twrite, { fid, offset: offset + done, data: src.subarray(done, done + step) }).count as number;
      done += n;
      if (n === 0) break;
    } while (done < src.length);
    return done;
  }

  /** Sends the gathered writes; a failure (or a short write) goes to their owner. */
  sendGathered(): void {
    const g = this.gathered;
    if (!g) return;
    this.gathered = null;
    try {
      if (this.writeNow(g.fid, g.offset, this.gatherBuffer.subarray(0, g.length)) < g.length) throw new FsError(Errno.ENOSPC, 'short write');
    } catch (e) {
      g.owner.failedWrite ??= e;
    }
  }

  /** Called at every clock read and poll: sends writes gathered longer than WRITE_DELAY_MS ago. */
  tick(): void {
    if (this.gathered && performance.now() - this.gathered.since >= WRITE_DELAY_MS) this.sendGathered();
  }

  /** The program is about to sleep, or exits: send what was gathered, forget what was remembered. */
  settle(): void {
    this.sendGathered();
    this.changed();
  }

  private changed(): void {
    this.generation++;
    this.memories.clear();
  }

  /** What was remembered under `key`, while valid. */
  recall<T>(key: string): T | undefined {
    const m = this.memories.get(key);
    return m && this.valid(m) ? m.value as T : undefined;
  }

  remember(key: string, value: unknown): void {
    // Bounded: a listing of a huge tree must not grow it without end.
    if (this.memories.size >= MAX_MEMORIES) this.memories.clear();
    this.memories.set(key, { ...this.stamp, value });
  }

  private takeFid(): number { return this.freeFids.pop() ?? this.nextFid++; }

  /**
   * Sends one message of `type` per entry of `list` in batches (channel.batch: one round trip each);
   * returns each reply's fields, or the FsError it carried.
   */
  private rpcAll(type: MessageType, list: Fields[]): (Fields | FsError)[] {
    const out: (Fields | FsError)[] = [];
    for (let i = 0; i < list.length; i += this.channel.batchSize) {
      const part = list.slice(i, i + this.channel.batchSize);
      out.push(...this.channel.batch(part.map((f, j) => (o: Uint8Array) => encodeMessage(type, j + 1, f, o).length), (reply) => {
        const m = decodeMessage(reply);
        if (m.type === MessageType.Rlerror) return new FsError(m.fields.ecode as number);
        if (m.type !== type + 1) return new FsError(Errno.EPROTO, `expected reply type ${type + 1}, got ${m.type}`);
        return m.fields;
      }));
    }
    return out;
  }

  /**
   * The attributes of the entries `names` of the directory `dirFid` (or the error of each), in three
   * batched round trips per batch of names (walk, getattr, clunk) instead of two round trips per
   * name; null when the connection has no slots for batches.
   */
  statMany(dirFid: number, names: string[]): (Attr | FsError)[] | null {
    if (this.channel.batchSize === 0) return null;
    this.sendGathered();
    const fids = names.map(() => this.takeFid());
    const walks = this.rpcAll(MessageType.Twalk, names.map((name, i) => ({ fid: dirFid, newfid: fids[i], names: [name] })));
    const walked = fids.filter((fid, i) => {
      const w = walks[i]!;
      if (w instanceof FsError || (w.qids as Qid[]).length !== 1) {
        this.freeFids.push(fid);
        return false;
      }
      return true;
    });
    const attrs = this.rpcAll(MessageType.Tgetattr, walked.map((fid) => ({ fid, requestMask: 0x3fff })));
    this.rpcAll(MessageType.Tclunk, walked.map((fid) => ({ fid })));
    this.freeFids.push(...walked);
    let next = 0;
    return walks.map((w) => {
      if (w instanceof FsError) return w;
      if ((w.qids as Qid[]).length !== 1) return new FsError(Errno.ENOENT);
      return attrs[next++] as Attr | FsError;
    });
  }

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
        const qids = this.rpc(MessageType.Twalk, { fid: at, newfid: fid, names: part }).qids as Qid[];
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
    this.sendGathered();
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
    return this.rpc(MessageType.Tgetattr, { fid, requestMask: 0x3fff }) as unknown as Attr;
  }

  setattr(fid: number, valid: number, a: { size?: number; atime?: [number, number]; mtime?: [number, number] }): void {
    this.rpc(MessageType.Tsetattr, {
      fid, valid, mode: 0, uid: 0, gid: 0, size: a.size ?? 0,
      atimeSec: a.atime?.[0] ?? 0, atimeNsec: a.atime?.[1] ?? 0, mtimeSec: a.mtime?.[0] ?? 0, mtimeNsec: a.mtime?.[1] ?? 0,
    });
  }
}
